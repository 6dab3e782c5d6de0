"""Issue 19 item 4: the request page shows the flows I may use.

okta-jitd answers FLOWS (type 15) with the flows the caller may request,
by REQUEST's own requesters check; okta-jit-web's request page shows those
and nothing else. Here flow `dba` (prod-db-ssh) is open to the Okta group
audit-readers, of which alice is a member and bob is not; flow `open`
(staging-ssh) has no requesters, so it is open to both.
"""
import re
import urllib.parse

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, BOB, P_ERROR, P_OK, T_CODE, T_GROUP, T_DURATION, T_MESSAGE, T_USER, raw_exchange, \
    frame, tlv
from web_fixtures import WebStack

FLOWS = 15
T_STATE, T_RECORD, T_DETAILS, T_FLOW, T_MAX_DURATION, T_REASON_REQUIRED = 24, 29, 26, 36, 39, 40
T_ID_TOKEN, T_REQUESTERS = 42, 46
G_AUDIT = "00gaudit000000006"  # the Okta group audit-readers (tests/conftest.py)

DBA_FLOW = """
[flow dba]
groups = prod-db-ssh
requesters = audit-readers
default_duration = 1h
max_duration = 4h
approval = owners
reason = required
"""
OPEN_FLOW = """
[flow open]
groups = staging-ssh
default_duration = 30m
max_duration = 2h
approval = auto
reason = optional
"""


def make_stack(tmp_path, okta_factory, rsa_key, cli_copy, flows):
    s = WebStack(str(tmp_path / "web"), okta_factory, rsa_key, cli_copy, flows=flows)
    s.okta.control("membership", {"op": "add", "group": G_AUDIT, "user": ALICE})
    return s.start()


@pytest.fixture
def stack(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    s = make_stack(tmp_path, okta_factory, rsa_key, cli_copy, DBA_FLOW + OPEN_FLOW)
    yield s
    s.close()


@pytest.fixture
def dba_only(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    s = make_stack(tmp_path, okta_factory, rsa_key, cli_copy, DBA_FLOW)
    yield s
    s.close()


def flows(stack, okta_id):
    token = stack.okta.control("id_token", {"user": okta_id, "aud": "0oaWEBJIT0001"})["id_token"]
    r = raw_exchange(stack.web_sock, frame(FLOWS, tlv(T_ID_TOKEN, token)), shutdown_write=True)
    assert r is not None and r[0] in (P_OK, P_ERROR), r
    return r[0], r[1]


def records(fields):
    out, cur = {}, None
    for t, v in fields:
        if t == T_RECORD:
            cur = {"groups": []}
        elif cur is not None and t == T_FLOW:
            out[v] = cur
        elif cur is not None and t == T_GROUP:
            cur["groups"].append(v)
        elif cur is not None:
            cur.setdefault(t, v)
    return out


def request_form_flows(body):
    """The flows the request page offers a form for."""
    return sorted(re.findall(r'<h2>([^<]*)</h2><form method="post" action="/request">', body))


def test_flows_answer_and_page_show_only_what_the_user_may_request(stack):
    # okta-jitd's answer on the web socket
    t, f = flows(stack, ALICE)
    got = records(f)
    assert t == P_OK and sorted(got) == ["dba", "open"], f
    dba = got["dba"]
    assert dba[T_STATE] == "allowed" and dba["groups"] == ["prod-db-ssh"] and dba[T_DURATION] == "3600" and \
        dba[T_MAX_DURATION] == "14400" and dba[T_REASON_REQUIRED] == "1", dba
    assert any(tg == T_DETAILS and "Ask in #access" in v for tg, v in f), f
    t, f = flows(stack, BOB)
    got = records(f)
    assert t == P_OK and sorted(got) == ["open"] and got["open"]["groups"] == ["staging-ssh"], f
    assert "dba" not in str(f) and "prod-db-ssh" not in str(f), f  # nothing of the refused flow but whom to ask
    assert [v for tg, v in f if tg == T_REQUESTERS] == ["audit-readers"], f

    # the pages
    a = stack.browser().sign_in("ojt-alice@example.com", "/request")
    st, _, body = a.get("/request?group=prod-db-ssh")
    assert st == 200 and request_form_flows(body) == ["dba", "open"], body[:3000]
    form = body.split('<h2>dba</h2>', 1)[1].split("</form>", 1)[0]
    assert '<option value="prod-db-ssh" selected>' in form and '<option value="1h" selected>' in form, form
    assert '<option value="4h">4h (the most)</option>' in form and '"8h"' not in form and "(required)" in form, form
    b = stack.browser().sign_in("ojt-bob@example.com", "/request")
    st, _, body = b.get("/request")
    assert st == 200 and request_form_flows(body) == ["open"], body[:3000]
    assert "prod-db-ssh" not in body and ">dba<" not in body, body[:3000]

    # bob's POST for the flow he was not shown is still refused by okta-jitd
    csrf = body.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    before = stack.env.grants()
    st, _, resp = b.request("POST", "/request", urllib.parse.urlencode(
        {"csrf": csrf, "group": "prod-db-ssh", "duration": "1h", "reason": "let me in"}))
    assert st == 403 and "not in any group allowed to request" in resp, (st, resp[:2000])
    assert stack.env.grants() == before
    # and his own FLOWS through the CLI on the public socket says the same
    r = stack.env.cli("flows", user="ojt-bob")
    assert r.rc == 0 and [x["flow"] for x in r.j["flows"]] == ["open"] and \
        r.j["requesters_elsewhere"] == ["audit-readers"], r
    r = stack.env.cli("flows", user="ojt-bob", json_out=False)
    assert r.rc == 0 and r.out == "open: for 30m (at most 2h), reason optional; groups: staging-ssh\n" \
        "other flows: ask to join the Okta group audit-readers\n", r.out
    r = stack.env.cli("flows", user="ojt-alice")
    assert r.rc == 0 and [x["flow"] for x in r.j["flows"]] == ["dba", "open"], r
    assert r.j["flows"][0]["groups"] == ["prod-db-ssh"] and r.j["flows"][0]["max_duration"] == 14400, r
    # only root names another user
    r = stack.env.cli("flows", "--user", "ojt-alice", user="ojt-bob")
    assert r.rc != 0 and r.j["code"] == "forbidden", r


@pytest.fixture
def ambiguous(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    """A second Okta group named audit-readers: which one dba's requesters
    means cannot be told (REQUEST fails closed on it)."""
    s = WebStack(str(tmp_path / "web"), okta_factory, rsa_key, cli_copy, flows=DBA_FLOW + OPEN_FLOW)
    s.okta.control("membership", {"op": "add", "group": G_AUDIT, "user": ALICE})
    s.okta.control("groups", {"op": "add", "id": "00gaudit2000000099", "name": "audit-readers",
                              "type": "OKTA_GROUP"})
    yield s.start()
    s.close()


def test_a_requesters_group_that_cannot_be_read_says_cannot_tell(ambiguous):
    for who in (ALICE, BOB):
        t, f = flows(ambiguous, who)
        got = records(f)
        assert t == P_OK and sorted(got) == ["dba", "open"], f
        # dba neither offered (no groups, no durations) nor refused
        assert got["dba"][T_STATE] == "unknown" and got["dba"]["groups"] == [] and \
            "configuration error" in got["dba"][T_MESSAGE] and T_DURATION not in got["dba"], got
        assert got["open"][T_STATE] == "allowed", got
    b = ambiguous.browser().sign_in("ojt-alice@example.com", "/request")
    st, _, body = b.get("/request")
    assert st == 200 and request_form_flows(body) == ["open"], body[:3000]
    assert "<h2>dba</h2><p class=\"err\">Cannot tell now whether you may request this" in body and \
        "prod-db-ssh" not in body, body[:3000]


def test_okta_failing_on_the_users_groups_is_an_error_not_a_list(stack):
    stack.okta.control("faults", {"faults": [{"action": "status", "status": 503,
                                              "path": "/api/v1/users/[^/]+/groups", "count": 1000}]})
    try:
        t, f = flows(stack, BOB)
        assert t == P_ERROR and dict(f).get(T_CODE) == "okta" and not records(f), f
        b = stack.browser().sign_in("ojt-bob@example.com", "/request")
        st, _, body = b.get("/request")
        assert st == 503 and "<form method=\"post\" action=\"/request\"" not in body, (st, body[:2000])
    finally:
        stack.okta.control("faults/clear", {})


def test_a_user_who_may_request_nothing_is_told_whom_to_ask(dba_only):
    b = dba_only.browser().sign_in("ojt-bob@example.com", "/request")
    st, _, body = b.get("/request")
    assert st == 200 and request_form_flows(body) == [], body[:3000]
    assert '<p id="none">You may not request access through any flow here. Ask to be added to the Okta group ' \
        '<strong>audit-readers</strong>' in body, body[:3000]
    a = dba_only.browser().sign_in("ojt-alice@example.com", "/request")
    st, _, body = a.get("/request")
    assert st == 200 and request_form_flows(body) == ["dba"], body[:3000]
