"""The Okta client (helper/okta/: okta_call.c, okta_token.c, okta_http.c, jwt.c) driven through
build/tests/okta_driver against the fake Okta over real HTTPS.

Each test checks what reached the fake (its request log and state), not
only the driver's exit code."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import CLIENT_ID, default_seed, gen_key, make_config  # noqa: F401
from helpers import (add_membership, add_users, api_requests, binary, by_method, driver,
                     insecure_control, run, set_config_line, token_requests)

BOB = "00ubob000000000002"
ALICE = "00ualice0000000001"
OLIVIA = "00uowner0000000004"
PROD_DB = "00gproddb000000001"
WEB_SUDO = "00gweb00000000002"
APP_GROUP = "00gapp00000000003"
BUILT_IN = "00gevery0000000004"


@pytest.fixture
def cfg(tmp_path, okta, rsa_key):
    return make_config(tmp_path, okta, rsa_key)


def assert_ok(r):
    assert r.rc == 0, r
    assert r.kind is None, r


def assert_error(r, kind, text=None):
    assert r.rc == 1, r
    assert r.kind == kind, r
    if text is not None:
        assert text in r.message, r


def statuses(reqs):
    return [r["status"] for r in reqs]


# --------------------------------------------------------------------------
# Token
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_token_issued_for_rsa_and_ec_keys(tmp_path, okta_factory, kind):
    key = gen_key(kind)
    okta = okta_factory(default_seed([("k1", key)]))
    r = driver(make_config(tmp_path, okta, key), "token")
    assert_ok(r)
    assert "type=Bearer" in r.out
    assert "okta.groups.manage" in r.out and "okta.users.read" in r.out
    assert okta.state()["tokens_issued"] == 1
    assert statuses(token_requests(okta.requests())) == [200]


def test_token_sends_configured_kid_when_app_has_two_keys(tmp_path, okta_factory, rsa_key):
    # With two keys registered the fake only accepts an assertion whose
    # header names the right kid.
    okta = okta_factory(default_seed([("k1", gen_key("rsa")), ("k2", rsa_key)]))
    r = driver(make_config(tmp_path, okta, rsa_key, kid="k2"), "token")
    assert_ok(r)
    assert okta.state()["tokens_issued"] == 1


def test_token_without_kid_refused_when_app_has_two_keys(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(default_seed([("k1", gen_key("rsa")), ("k2", rsa_key)]))
    r = driver(make_config(tmp_path, okta, rsa_key, kid=None), "token")
    assert_error(r, "token", "kid")
    assert okta.state()["tokens_issued"] == 0
    # invalid_client is a setup problem: no retry.
    assert statuses(token_requests(okta.requests())) == [401]


def test_one_token_request_for_many_concurrent_calls(cfg, okta):
    r = driver(cfg, "concurrent", "32", "bob@example.com")
    assert_ok(r)
    assert "ok=32 of 32" in r.out
    assert r.stats["token_requests"] == 1
    assert r.stats["api_calls"] == 32
    assert okta.state()["tokens_issued"] == 1
    reqs = okta.requests()
    assert len(token_requests(reqs)) == 1
    assert len(api_requests(reqs, "/api/v1/users/")) == 32


def test_failed_token_fetch_is_shared_not_repeated_by_every_waiter(tmp_path, okta):
    # A key Okta does not know: every concurrent caller waits for the one
    # token request in flight and shares its failure instead of each asking
    # again (Okta allows 4 token requests per second).
    from conftest import gen_key
    cfg = make_config(tmp_path, okta, gen_key("rsa"))
    r = driver(cfg, "concurrent", "8", "bob@example.com")
    assert r.rc == 1
    assert "ok=0 of 8" in r.out
    assert r.stats["token_requests"] <= 2, r.stats
    assert len(token_requests(okta.requests())) <= 2


def test_401_mid_flight_refreshes_token_once_and_succeeds(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "method": "GET", "action": "status", "status": 401,
                 "count": 1})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert r.out.split()[0] == BOB
    reqs = okta.requests()
    assert statuses(token_requests(reqs)) == [200, 200]
    assert statuses(api_requests(reqs)) == [401, 200]
    assert okta.state()["tokens_issued"] == 2
    assert r.stats["token_requests"] == 2


def test_token_revoked_mid_flight_is_replaced_once(cfg, okta):
    # A paged call: page one is served with the first token; the second page
    # is held (delay fault) while the test revokes every token, so it meets
    # a real 401 E0000011 and the client must fetch one new token.
    ids = add_users(okta, 3)
    for u in ids:
        add_membership(okta, PROD_DB, u)
    okta.clear_requests()
    okta.faults({"path": r"after=", "method": "GET", "action": "delay", "seconds": 1.5, "count": 1})
    proc = subprocess.Popen([binary("tests/okta_driver"), cfg, "members", "prod-db-ssh"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            page_one_done = any("/users?limit" in q["path"] for q in okta.requests())
            if page_one_done and okta.state()["inflight"] >= 1:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the driver never reached the second page")
        okta.configure(revoke_all_tokens=True)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out + err
    assert sorted(l.split()[0] for l in out.splitlines()) == sorted(ids)
    reqs = okta.requests()
    assert statuses(token_requests(reqs)) == [200, 200]
    pages = [q for q in reqs if q["path"].startswith("/api/v1/groups/%s/users" % PROD_DB)]
    assert statuses(pages) == [200, 401, 200]  # 3 members, page_size 2
    assert pages[2]["path"] == pages[1]["path"]  # the same page asked again
    assert okta.state()["tokens_issued"] == 2


def test_persistent_401_refreshes_exactly_once_then_fails(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "method": "GET", "action": "status", "status": 401,
                 "count": -1})
    r = driver(cfg, "user", "bob@example.com")
    assert_error(r, "unauthorized")
    reqs = okta.requests()
    assert len(token_requests(reqs)) == 2
    assert statuses(api_requests(reqs)) == [401, 401]


def test_token_endpoint_503_twice_then_success_uses_fresh_assertions(cfg, okta):
    okta.faults({"path": r"^/oauth2/v1/token$", "action": "status", "status": 503, "count": 2})
    r = driver(cfg, "token")
    assert_ok(r)
    toks = token_requests(okta.requests())
    assert statuses(toks) == [503, 503, 200]
    assert okta.state()["tokens_issued"] == 1


def test_token_retry_after_timeout_uses_new_jti(tmp_path, okta, rsa_key):
    # The first token request is processed by the fake (its jti recorded and
    # a token issued) only after the client has timed out. The retry must
    # carry a new jti: a reused one is answered 401 "already been used".
    cfg = make_config(tmp_path, okta, rsa_key)
    set_config_line(cfg, "timeout", "1s")
    okta.faults({"path": r"^/oauth2/v1/token$", "action": "delay", "seconds": 1.5, "count": 1})
    r = driver(cfg, "token")
    assert_ok(r)
    time.sleep(0.8)  # let the delayed first request finish on the fake
    toks = token_requests(okta.requests())
    assert len(toks) == 2
    assert 401 not in statuses(toks), toks
    assert okta.state()["tokens_issued"] == 2


def test_user_agent_names_okta_jit(cfg, okta):
    r = driver(cfg, "members", "prod-db-ssh")
    assert_ok(r)
    reqs = okta.requests()
    assert len(reqs) >= 3
    for q in reqs:
        assert q["user_agent"] and "okta-jit/" in q["user_agent"], q


# --------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------

def test_user_by_login(cfg, okta):
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert r.out.split() == [BOB, "bob@example.com", "ACTIVE"]
    api = api_requests(okta.requests())
    assert [q["path"] for q in api] == ["/api/v1/users/bob%40example.com"]
    assert api[0]["auth_scheme"] == "Bearer"


def test_user_with_slash_goes_through_search(cfg, okta):
    r = driver(cfg, "user", "svc/deploy@example.com")
    assert_ok(r)
    assert r.out.split()[0] == "00uslash0000000005"
    api = api_requests(okta.requests())
    assert len(api) == 1
    assert api[0]["path"].startswith("/api/v1/users?")
    assert "search=profile.login" in api[0]["path"]


def test_user_with_double_quote_found(cfg, okta):
    r = driver(cfg, "user", 'o"brien@example.com')
    assert_ok(r)
    assert r.out.split()[0] == "00uquote0000000006"


def test_unknown_login_is_not_found(cfg, okta):
    r = driver(cfg, "user", "nobody@example.com")
    assert_error(r, "not_found")
    assert statuses(api_requests(okta.requests())) == [404]


def test_login_shortname_does_not_match(cfg, okta):
    # The fake (like Okta) answers GET /users/alice with alice@example.com.
    r = driver(cfg, "user", "alice")
    assert_error(r, "not_found", "must match exactly")
    assert statuses(api_requests(okta.requests())) == [200]
    assert ALICE not in r.out.replace("alice@example.com", "")


def test_user_groups_across_pages(cfg, okta):
    gids = [PROD_DB, WEB_SUDO, APP_GROUP, "00gaudit000000006", "00gstage000000007"]
    for g in gids:
        add_membership(okta, g, OLIVIA)
    okta.clear_requests()
    r = driver(cfg, "user-groups", "olivia@example.com")
    assert_ok(r)
    assert sorted(l.split()[0] for l in r.out.splitlines()) == sorted(gids)
    pages = [q for q in api_requests(okta.requests()) if "/groups" in q["path"]]
    assert len(pages) == 3  # page_size 2
    assert all("after=" in q["path"] for q in pages[1:])
    assert "after=" not in pages[0]["path"]


def test_group_by_exact_name(cfg, okta):
    r = driver(cfg, "group", "prod-db-ssh")
    assert_ok(r)
    assert r.out.split() == [PROD_DB, "OKTA_GROUP", "prod-db-ssh"]


def test_group_name_prefix_is_not_a_match(cfg, okta):
    r = driver(cfg, "group", "prod-db")
    assert_error(r, "not_found")


def test_duplicate_group_name_is_ambiguous(tmp_path, okta_factory, rsa_key):
    seed = default_seed([("k1", rsa_key)])
    seed["groups"].append({"id": "00gproddb000000099", "name": "prod-db-ssh", "type": "OKTA_GROUP"})
    okta = okta_factory(seed)
    r = driver(make_config(tmp_path, okta, rsa_key), "group", "prod-db-ssh")
    assert_error(r, "ambiguous")


def test_members_across_pages(cfg, okta):
    ids = add_users(okta, 5)
    for u in ids:
        add_membership(okta, PROD_DB, u)
    okta.clear_requests()
    r = driver(cfg, "members", "prod-db-ssh")
    assert_ok(r)
    assert sorted(l.split()[0] for l in r.out.splitlines()) == sorted(ids)
    pages = [q for q in api_requests(okta.requests()) if q["path"].startswith("/api/v1/groups/%s/users" % PROD_DB)]
    assert len(pages) == 3
    assert all("after=" in q["path"] for q in pages[1:])


def test_owners(cfg, okta):
    r = driver(cfg, "owners", "prod-db-ssh")
    assert_ok(r)
    assert r.out.splitlines() == ["%s USER Olivia Owner" % OLIVIA]


def test_add_member_puts_with_content_length_zero(cfg, okta):
    assert BOB not in okta.members(PROD_DB)
    r = driver(cfg, "add", "prod-db-ssh", "bob@example.com")
    assert_ok(r)
    assert r.out.strip() == "ok add %s %s" % (PROD_DB, BOB)
    assert BOB in okta.members(PROD_DB)
    puts = by_method(okta.requests(), "PUT")
    assert len(puts) == 1
    assert puts[0]["path"] == "/api/v1/groups/%s/users/%s" % (PROD_DB, BOB)
    assert puts[0]["content_length"] == "0"
    assert puts[0]["status"] == 204


def test_add_member_is_idempotent(cfg, okta):
    assert_ok(driver(cfg, "add", "prod-db-ssh", "bob@example.com"))
    assert_ok(driver(cfg, "add", "prod-db-ssh", "bob@example.com"))
    assert okta.members(PROD_DB) == [BOB]
    assert statuses(by_method(okta.requests(), "PUT")) == [204, 204]


def test_remove_member(cfg, okta):
    add_membership(okta, PROD_DB, BOB)
    r = driver(cfg, "remove", "prod-db-ssh", "bob@example.com")
    assert_ok(r)
    assert BOB not in okta.members(PROD_DB)
    dels = by_method(okta.requests(), "DELETE")
    assert [q["path"] for q in dels] == ["/api/v1/groups/%s/users/%s" % (PROD_DB, BOB)]


def test_remove_non_member_is_ok(cfg, okta):
    assert BOB not in okta.members(WEB_SUDO)
    r = driver(cfg, "remove", "web-sudo", "bob@example.com")
    assert_ok(r)
    assert BOB not in okta.members(WEB_SUDO)


@pytest.mark.parametrize("group,gid", [("salesforce-users", APP_GROUP), ("Everyone", BUILT_IN)])
@pytest.mark.parametrize("op", ["add", "remove"])
def test_membership_change_refused_for_non_okta_groups(cfg, okta, group, gid, op):
    before = okta.members(gid)
    r = driver(cfg, op, group, "bob@example.com")
    assert_error(r, "refused")
    assert by_method(okta.requests(), "PUT", "DELETE") == []
    assert okta.members(gid) == before


# --------------------------------------------------------------------------
# Rate limits and faults
# --------------------------------------------------------------------------

def test_429_waits_for_reset_and_sends_retry_headers(cfg, okta):
    reset = int(time.time()) + 2
    okta.faults({"path": r"^/api/v1/users/", "action": "status", "status": 429, "count": 1,
                 "headers": {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
                             "X-Rate-Limit-Reset": str(reset)}})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert r.stats["rate_limited"] == 1
    api = api_requests(okta.requests())
    assert statuses(api) == [429, 200]
    first, retry = api
    assert retry["retry_for"] == first["request_id"]
    assert retry["retry_count"] is not None and int(retry["retry_count"]) >= 1
    assert first["retry_for"] is None
    # Not before the reset Okta named.
    assert retry["t"] >= reset, (retry["t"], reset)


def test_429_without_headers_is_retried_with_backoff(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "status", "status": 429, "count": 1,
                 "rate_limit_headers": False})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    api = api_requests(okta.requests())
    assert statuses(api) == [429, 200]
    assert api[1]["t"] - api[0]["t"] >= 0.1


def test_concurrency_429_is_retried(cfg, okta):
    reset = int(time.time()) + 1
    okta.faults({"path": r"^/api/v1/users/", "action": "status", "status": 429, "count": 1,
                 "headers": {"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0",
                             "X-Rate-Limit-Reset": str(reset)}})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert statuses(api_requests(okta.requests())) == [429, 200]


def wake(cfg, okta, after, hold_bob=False):
    """okta_driver wake: alice's lookup runs in a thread; once the fake has
    logged `after` of her requests, the faults are cleared and bob is
    looked up. With hold_bob, bob's lookup is started at once and held by
    the fake until then (so that its answer follows alice's last request
    by no more than the test's two control calls). Returns (stdout, alice's
    requests, bob's requests)."""
    if hold_bob:
        okta.faults({"path": r"^/api/v1/users/bob", "action": "hold", "name": "bob", "seconds": 60})
    p = subprocess.Popen([binary("tests/okta_driver"), cfg, "wake", "alice@example.com", "bob@example.com"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if hold_bob:
            p.stdin.write("go\n")
            p.stdin.flush()
        deadline = time.time() + 30
        while len(api_requests(okta.requests(), "/api/v1/users/alice")) < after:
            assert time.time() < deadline and p.poll() is None, p.poll()
            time.sleep(0.02)
        okta.control("faults/clear", {})
        if hold_bob:
            okta.control("release", {"name": "bob"})
        else:
            p.stdin.write("go\n")
            p.stdin.flush()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, (out, err)
    reqs = api_requests(okta.requests())
    return (out, [q for q in reqs if q["path"].startswith("/api/v1/users/alice")],
            [q for q in reqs if q["path"].startswith("/api/v1/users/bob")])


def test_a_backoff_ends_once_okta_answers_another_call(cfg, okta):
    # alice's lookup meets 429s with no reset named: okta-jit's own backoff,
    # 2-4 s after the third. Once bob's lookup gets an answer, Okta is back:
    # alice's call retries then, not when its backoff would have ended (a
    # login waiting on that fetch would be refused meanwhile).
    okta.faults({"path": r"^/api/v1/users/alice", "action": "status", "status": 429, "count": -1,
                 "rate_limit_headers": False})
    out, alice, bob = wake(cfg, okta, 3, hold_bob=True)
    assert out.splitlines() == ["bob@example.com found", "alice@example.com found"], out
    assert statuses(alice) == [429, 429, 429, 200]
    assert statuses(bob) == [200]
    # Without the wake, the fourth try comes at least 2 s after the third.
    # With it, right after bob's answer (which the test sends, held until
    # then, as soon as it sees the third try): the wake's own latency is
    # bounded from bob's answer, with room for a loaded machine.
    assert bob[0]["t_end"] <= alice[3]["t"]
    assert alice[3]["t"] - bob[0]["t_end"] < 1.0, (alice[2]["t"], bob[0]["t_end"], alice[3]["t"])


def test_a_wait_okta_named_is_kept_even_when_okta_answers_another_call(cfg, okta):
    # A Retry-After Okta sent is Okta's word: another call's answer does not
    # cut that wait short (only okta-jit's own backoffs end early).
    okta.faults({"path": r"^/api/v1/users/alice", "action": "status", "status": 429, "count": 1,
                 "rate_limit_headers": False, "headers": {"Retry-After": "3"}})
    out, alice, bob = wake(cfg, okta, 1)
    assert statuses(alice) == [429, 200] and statuses(bob) == [200]
    assert bob[0]["t"] < alice[1]["t"]
    # Retry-After has one-second resolution; the fake logs arrival times.
    assert alice[1]["t"] - alice[0]["t"] >= 2.9, (alice[0]["t"], bob[0]["t"], alice[1]["t"])


def test_persistent_429_gives_up_with_rate_limit(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "status", "status": 429, "count": -1,
                 "rate_limit_headers": False, "headers": {"Retry-After": "1"}})
    r = driver(cfg, "user", "bob@example.com")
    assert_error(r, "rate_limit")
    api = api_requests(okta.requests())
    assert 2 <= len(api) <= 4
    assert set(statuses(api)) == {429}
    assert "hint:" in r.out


def test_paces_before_running_out_of_rate_limit(cfg, okta):
    # 12 members on one page each: 13+ sequential calls in the groups
    # bucket against a limit of 10. A short window keeps the test fast;
    # with pacing the client waits for the reset instead of hitting 429.
    ids = add_users(okta, 12)
    for u in ids:
        add_membership(okta, WEB_SUDO, u)
    okta.configure(page_size=1, rate_limit={"limit": 10, "window_seconds": 3})
    okta.clear_requests()
    r = driver(cfg, "members", "web-sudo")
    assert_ok(r)
    assert len(r.out.splitlines()) == 12
    groups = [q for q in okta.requests() if q["bucket"] == "groups"]
    assert len(groups) > 10
    assert 429 not in statuses(okta.requests())
    assert r.stats["rate_limited"] == 0
    assert r.elapsed < 30


def test_5xx_burst_then_success(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "status", "status": 503, "count": 2})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert statuses(api_requests(okta.requests())) == [503, 503, 200]


def test_persistent_500_gives_up_with_server(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "status", "status": 500, "count": -1})
    r = driver(cfg, "user", "bob@example.com")
    assert_error(r, "server")
    api = api_requests(okta.requests())
    assert 2 <= len(api) <= 4
    assert set(statuses(api)) == {500}


def test_hang_times_out_within_bound(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "hang", "seconds": 20, "count": 1})
    r = driver(cfg, "user", "bob@example.com", timeout=60)
    assert r.elapsed < 30, r
    if r.rc == 0:
        assert r.out.split()[0] == BOB
        assert len(api_requests(okta.requests())) >= 2
    else:
        assert_error(r, "timeout")


def test_connection_reset_is_retried(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "reset", "count": 1})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert statuses(api_requests(okta.requests())) == ["reset", 200]


def test_malformed_json_is_bad_response(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "malformed", "count": 1})
    r = driver(cfg, "user", "bob@example.com")
    assert_error(r, "bad_response", "not valid JSON")


def test_truncated_body_is_an_error_not_a_crash(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "truncated", "count": -1})
    r = driver(cfg, "user", "bob@example.com")
    assert r.rc == 1, r
    assert r.kind is not None, r
    assert "00uTRUNCATED" not in r.out
    assert 1 <= len(api_requests(okta.requests())) <= 4


def test_truncated_body_once_then_success(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "truncated", "count": 1})
    r = driver(cfg, "user", "bob@example.com")
    assert_ok(r)
    assert r.out.split()[0] == BOB


def test_oversized_response_is_bad_response_too_large(cfg, okta):
    okta.faults({"path": r"^/api/v1/groups/%s/users" % PROD_DB, "action": "oversized",
                 "bytes": 20 * 1024 * 1024, "count": -1})
    r = driver(cfg, "members", "prod-db-ssh")
    assert_error(r, "bad_response", "too large")
    # A reply too large stays too large: no point asking again.
    assert len([q for q in api_requests(okta.requests()) if q["fault"] == "oversized"]) == 1


def test_wrong_types_are_bad_response(cfg, okta):
    okta.faults({"path": r"^/api/v1/users/", "action": "wrong_type", "count": 1})
    r = driver(cfg, "user", "bob@example.com")
    assert_error(r, "bad_response")


def test_wrong_types_in_token_answer_are_bad_response(cfg, okta):
    okta.faults({"path": r"^/oauth2/v1/token$", "action": "wrong_type", "count": 1})
    r = driver(cfg, "token")
    assert_error(r, "bad_response")


def _one_user_page(next_url):
    user = {"id": BOB, "status": "ACTIVE", "profile": {"login": "bob@example.com"}}
    return {"action": "status", "status": 200, "count": 1, "body": [user],
            "headers": {"Link": '<%s>; rel="next"' % next_url},
            "path": r"^/api/v1/groups/%s/users" % PROD_DB}


def test_next_link_to_another_server_is_refused(tmp_path, cfg, okta, okta_factory, rsa_key):
    other = okta_factory(default_seed([("k1", rsa_key)]), name="other")
    okta.faults(_one_user_page(other.url + "/api/v1/groups/%s/users?after=x" % PROD_DB))
    r = driver(cfg, "members", "prod-db-ssh")
    assert_error(r, "bad_response", "outside the org")
    assert other.requests() == []


@pytest.mark.parametrize("suffix", [".evil.example", "@evil.example", "0"])
def test_next_link_with_org_prefix_but_other_host_is_refused(cfg, okta, suffix):
    okta.faults(_one_user_page(okta.url + suffix + "/api/v1/groups/%s/users?after=x" % PROD_DB))
    r = driver(cfg, "members", "prod-db-ssh")
    assert_error(r, "bad_response", "outside the org")
    pages = [q for q in okta.requests() if q["path"].startswith("/api/v1/groups/%s/users" % PROD_DB)]
    assert len(pages) == 1


# --------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cert_mode", ["untrusted", "wronghost"])
def test_bad_server_certificate_is_tls_error(tmp_path, okta_factory, rsa_key, cert_mode):
    okta = okta_factory(default_seed([("k1", rsa_key)]), cert_mode=cert_mode)
    r = driver(make_config(tmp_path, okta, rsa_key), "user", "bob@example.com")
    assert_error(r, "tls")
    assert insecure_control(okta, "requests") == []
    state = insecure_control(okta, "state")
    assert state["tokens_issued"] == 0
    assert state["connections"] >= 1  # it did connect, and stopped at the certificate


def test_no_ca_file_means_fake_ca_is_not_trusted(tmp_path, okta, rsa_key):
    r = driver(make_config(tmp_path, okta, rsa_key, ca_file=False), "user", "bob@example.com")
    assert_error(r, "tls")
    assert okta.requests() == []
    assert okta.state()["tokens_issued"] == 0


def test_tls_error_is_not_retried(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(default_seed([("k1", rsa_key)]), cert_mode="untrusted")
    r = driver(make_config(tmp_path, okta, rsa_key), "token")
    assert_error(r, "tls")
    assert insecure_control(okta, "state")["tls_handshake_failures"] == 1


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------

def test_proxy_environment_is_ignored(cfg, okta):
    env = {"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    r = driver(cfg, "user", "bob@example.com", env=env)
    assert_ok(r)
    assert r.out.split()[0] == BOB
    assert len(api_requests(okta.requests())) == 1


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

def test_overlong_login_refused_without_okta_call(cfg, okta):
    r = driver(cfg, "user", "a" * 288 + "@example.com")
    assert_error(r, "refused")
    assert okta.requests() == []


@pytest.mark.parametrize("login", ["bob\x01@example.com", "bob\t@example.com", "bob\x7f@example.com",
                                   "bob\n@example.com"])
def test_login_with_control_character_refused(cfg, okta, login):
    r = driver(cfg, "user", login)
    assert_error(r, "refused")
    assert okta.requests() == []


@pytest.mark.parametrize("login", ["bob%40example.com", "bob smith@example.com", "bób@example.com",
                                   "bob%@example.com", "%2e%2e", "../groups", "bob?x=1", "bob#frag",
                                   "\u00e9\u00e8\u4e2d@example.com", "bob\\@example.com"])
def test_odd_logins_not_found_without_crash(cfg, okta, login):
    r = driver(cfg, "user", login)
    assert_error(r, "not_found")
    # Nothing matched by accident: no other user came back under this login.
    assert BOB not in r.out


@pytest.mark.parametrize("login", ["100%real@example.com", "jos\u00e9 da silva@example.com",
                                   "\u5f20\u4f1f@example.com"])
def test_odd_logins_found(cfg, okta, login):
    okta.control("users", {"op": "add", "id": "00uodd00000000099", "login": login})
    r = driver(cfg, "user", login)
    assert_ok(r)
    assert r.out.split()[0] == "00uodd00000000099"


# --------------------------------------------------------------------------
# Valgrind (one run; deselect with -k "not valgrind")
# --------------------------------------------------------------------------

# Valgrind cannot run an ASan binary: `make asan-check` sets OJIT_SANITIZED=1.
SANITIZED = os.environ.get("OJIT_SANITIZED") == "1"


@pytest.mark.skipif(SANITIZED, reason="ASan build (OJIT_SANITIZED=1): valgrind cannot run it")
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_valgrind_driver_members_no_definite_leaks(cfg, okta):
    p = run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
             "--error-exitcode=99", binary("tests/okta_driver"), cfg, "members", "prod-db-ssh"],
            timeout=300)
    assert p.returncode != 99, p.stderr[-4000:]
    assert p.returncode == 0, p.stdout + p.stderr[-4000:]


def test_group_rules_are_read_page_by_page(cfg, okta):
    """Issue 20 item 3: GET /api/v1/groups/rules, 200 a page (Okta's most),
    every page; each group id of actions.assignUserToGroups.groupIds is
    reported with its rule; a rule with no group is no line."""
    for i in range(230):
        okta.control("group_rules", {"op": "add", "id": "0pr%016d" % i, "name": "rule %d" % i,
                                     "status": "ACTIVE" if i % 2 else "INACTIVE",
                                     "groupIds": ["00g%015d" % i] if i != 7 else []})
    okta.control("group_rules", {"op": "update", "id": "0pr%016d" % 3, "groupIds": ["00gweb0000000002", "00gops00000000005"]})
    okta.clear_requests()
    r = driver(cfg, "rules")
    assert_ok(r)
    lines = r.out.splitlines()
    assert len(lines) == 230, lines[:5]
    assert "0pr%016d ACTIVE 00gweb0000000002 rule 3" % 3 in lines and \
        "0pr%016d ACTIVE 00gops00000000005 rule 3" % 3 in lines, lines
    assert not any(l.startswith("0pr%016d " % 7) for l in lines)
    assert "0pr%016d INACTIVE 00g%015d rule 8" % (8, 8) in lines
    reqs = [q for q in okta.requests() if q["path"].startswith("/api/v1/groups/rules")]
    # (the seed's page_size makes the fake's pages small: many pages)
    assert len(reqs) >= 2 and all("limit=200" in q["path"] for q in reqs), reqs
    assert "after=" not in reqs[0]["path"] and all("after=" in q["path"] for q in reqs[1:]), reqs
