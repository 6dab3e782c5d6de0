"""Okta's own record (issue 20, item 5): every call okta-jit makes to Okta
names okta-jit and its version in User-Agent, and the audit record of each
membership change carries the X-Okta-Request-Id of the call that made it,
so an admin can find the same change in Okta's System Log."""
import re
import shlex
import subprocess

from daemon_fixtures import *  # noqa: F401,F403


def pytest_generate_tests(metafunc):
    run_on_both_ledgers(metafunc)  # noqa: F405


def version():
    out = subprocess.run([binary("okta-jitd"), "--version"], capture_output=True, text=True, timeout=10).stdout
    m = re.match(r"okta-jitd (\S+)$", out.strip())
    assert m, out
    return m.group(1)


def detail_kv(row):
    return dict(kv.split("=", 1) for kv in shlex.split(row["detail"]) if "=" in kv)


def membership_calls(jit, method, gid, uid):
    path = "/api/v1/groups/%s/users/%s" % (gid, uid)
    return [q for q in jit.okta.requests() if q["method"] == method and q["path"] == path]


def test_every_okta_call_names_okta_jit_and_its_version(jit):
    # token, user and group reads, a membership PUT and DELETE: all of them
    ua = "okta-jit/" + version()
    gid = jit.request("web-sudo", dur="1m", as_user="ojt-alice").grant["id"]
    assert jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_OK  # noqa: F405
    assert jit.cli("revoke", gid).rc == EXIT_OK  # noqa: F405
    wait_for(lambda: membership_calls(jit, "DELETE", G_WEB, ALICE), 10, what="the DELETE")  # noqa: F405
    reqs = jit.okta.requests()
    kinds = sorted({(q["method"], re.sub(r"[?].*", "", q["path"])) for q in reqs})
    assert any(q["path"].startswith("/oauth2/v1/token") for q in reqs), kinds
    assert any(q["method"] == "GET" and q["path"].startswith("/api/v1/users/") for q in reqs), kinds
    assert membership_calls(jit, "PUT", G_WEB, ALICE), kinds  # noqa: F405
    bad = [q for q in reqs if not (q["user_agent"] or "").startswith(ua)]
    assert not bad, bad


def test_membership_changes_record_okta_request_id(jit):
    gid = jit.request("web-sudo", dur="1m", as_user="ojt-alice").grant["id"]
    put = membership_calls(jit, "PUT", G_WEB, ALICE)  # noqa: F405
    assert len(put) == 1 and put[0]["status"] == 204, put
    granted = [a for a in jit.audit(gid, "granted")]
    assert len(granted) == 1, jit.audit(gid)
    assert detail_kv(granted[0]).get("okta_request_id") == put[0]["request_id"], (granted, put)

    assert jit.cli("revoke", gid).rc == EXIT_OK  # noqa: F405
    wait_for(lambda: jit.audit(gid, "removed"), 10, what="the removal's record")  # noqa: F405
    dele = membership_calls(jit, "DELETE", G_WEB, ALICE)  # noqa: F405
    assert len(dele) == 1 and dele[0]["status"] == 204, dele
    removed = jit.audit(gid, "removed")
    assert detail_kv(removed[-1]).get("okta_request_id") == dele[0]["request_id"], (removed, dele)
    # the id of a read is never taken for the change's
    reads = {q["request_id"] for q in jit.okta.requests() if q["method"] == "GET"}
    assert put[0]["request_id"] not in reads and dele[0]["request_id"] not in reads


def test_refused_and_retried_removal_records_each_answer(jit):
    # Okta refuses the first DELETE (403, with its own request id): the
    # okta_error record names that answer; the DELETE that succeeds on the
    # next attempt is the one the "removed" record names.
    gid = jit.request("web-sudo", dur="1m", as_user="ojt-alice").grant["id"]
    jit.okta.faults({"method": "DELETE", "path": "^/api/v1/groups/%s/users/%s$" % (G_WEB, ALICE),  # noqa: F405
                     "action": "status", "status": 403, "count": 1})
    assert jit.cli("revoke", gid).rc == EXIT_OK  # noqa: F405
    wait_for(lambda: jit.audit(gid, "okta_error"), 20, what="the refused removal's record")  # noqa: F405
    err = jit.audit(gid, "okta_error")[0]
    failed = [q for q in membership_calls(jit, "DELETE", G_WEB, ALICE) if q["status"] == 403]  # noqa: F405
    assert detail_kv(err).get("okta_request_id") in {q["request_id"] for q in failed}, (err, failed)
    wait_for(lambda: jit.audit(gid, "removed"), 60, interval=0.5, what="the removal, retried")  # noqa: F405
    ok = [q for q in membership_calls(jit, "DELETE", G_WEB, ALICE) if q["status"] == 204]  # noqa: F405
    assert len(ok) == 1, membership_calls(jit, "DELETE", G_WEB, ALICE)  # noqa: F405
    assert detail_kv(jit.audit(gid, "removed")[-1]).get("okta_request_id") == ok[0]["request_id"]


def test_request_id_that_fails_the_check_is_not_recorded(jit):
    # X-Okta-Request-Id is Okta's text (or a proxy's): one with characters
    # outside the URL-safe set, or too long, never reaches the audit trail.
    jit.okta.faults({"method": "PUT", "path": "^/api/v1/groups/%s/users/%s$" % (G_WEB, ALICE),  # noqa: F405
                     "action": "status", "status": 204, "body": "",
                     "headers": {"X-Okta-Request-Id": "abc def;evil=1"}, "count": 1})
    gid = jit.request("web-sudo", dur="1m", as_user="ojt-alice").grant["id"]
    granted = jit.audit(gid, "granted")
    assert len(granted) == 1 and detail_kv(granted[0]).get("okta_request_id") == "none", granted
    assert "evil" not in granted[0]["detail"], granted


def test_key_and_discovery_calls_name_okta_jit_too(jit_factory):
    # okta-jitd's web socket verifies an ID token against Okta's published
    # keys (discovery and JWKS): those calls carry the same User-Agent.
    from test_web_identity import mint, web_call, web_env
    ua = "okta-jit/" + version()
    env = web_env(jit_factory)
    env.okta.clear_requests()
    t, f = web_call(env, PING, mint(env, ALICE))  # noqa: F405
    assert t == P_OK, f  # noqa: F405
    reqs = env.okta.requests()
    keys = [q for q in reqs if "/keys" in q["path"] or "/.well-known/" in q["path"]]
    assert keys, sorted({q["path"] for q in reqs})
    bad = [q for q in reqs if not (q["user_agent"] or "").startswith(ua)]
    assert not bad, bad


def test_okta_jit_web_calls_name_okta_jit_too(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    # okta-jit-web's own calls (discovery, the code exchange at the token
    # endpoint, keys) and okta-jitd's behind it: one User-Agent.
    from web_fixtures import WebStack
    ua = "okta-jit/" + version()
    s = WebStack(str(tmp_path / "web"), okta_factory, rsa_key, cli_copy).start()
    try:
        s.okta.clear_requests()
        st, _, body = s.browser().sign_in("ojt-alice@example.com").get("/")
        assert st == 200, body[:500]
        reqs = s.okta.requests()
        assert any(q["path"].startswith("/oauth2/v1/token") for q in reqs), sorted({q["path"] for q in reqs})
        bad = [q for q in reqs if not q["path"].startswith("/oauth2/v1/authorize")
               and not (q["user_agent"] or "").startswith(ua)]
        assert not bad, bad
    finally:
        s.close()
