"""Issue 19, okta-jitd's side of the web pages:

* AUDIT on the web socket reads ONE grant's trail (ID), for the grant's own
  person (by Okta id) or someone who may approve it (APPROVE's check);
  anyone else gets a refusal that says nothing of the grant, and it is
  audited.
* LIST records of pending requests carry who (else) may approve them
  (APPROVERS), never naming the reader nor the request's own user.
* LIST pages (CURSOR, LIMIT): more than 1,000 pending requests are listed
  completely by `okta-jit list --pending` and by okta-jit-web's approvals
  page, signed in through the fake Okta.
* AUDIT pages (issue 22): a grant's trail of more than 1,000 events is
  read page by page on the web socket and shown whole on the grant's
  page (up to 2,000 events, then it says it is cut).
"""
import re
import sqlite3
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, AUDIT, BOB, LIST, OLIVIA, P_ERROR, P_OK, REQUEST, T_CODE, T_DURATION, T_GROUP,
                             T_ID, T_MESSAGE, T_REASON, T_USER, frame, raw_exchange, tlv)
from web_fixtures import WebStack, seed_pending

T_STATE, T_APPROVERS, T_RECORD, T_EVENT = 24, 25, 29, 33
T_ID_TOKEN, T_CURSOR, T_LIMIT = 42, 44, 45


@pytest.fixture
def stack(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    s = WebStack(str(tmp_path / "web"), okta_factory, rsa_key, cli_copy)
    yield s.start()
    s.close()


def mint(stack, user):
    return stack.okta.control("id_token", {"user": user, "aud": "0oaWEBJIT0001"})["id_token"]


def call(sock, ftype, fields, token=None):
    """(type, [(tag, value), ...]) in the order okta-jitd sent them."""
    payload = (tlv(T_ID_TOKEN, token) if token is not None else b"") + fields
    r = raw_exchange(sock, frame(ftype, payload), shutdown_write=True)
    assert r is not None and r[0] in (P_OK, P_ERROR), r
    return r[0], r[1]


def records(fields):
    out, cur = [], None
    for t, v in fields:
        if t == T_RECORD:
            cur = {}
            out.append(cur)
        elif cur is not None:
            cur.setdefault(t, v)
    return out


def first(fields, tag):
    return next((v for t, v in fields if t == tag), None)


def pending_request(stack):
    """alice asks for prod-db-ssh (olivia, its owner in Okta, approves)."""
    t, f = call(stack.web_sock, REQUEST, tlv(T_GROUP, "prod-db-ssh") + tlv(T_DURATION, "1h") +
                tlv(T_REASON, "incident 7"), mint(stack, ALICE))
    assert t == P_OK, f
    return int(first(f, T_ID))


def test_a_grants_trail_for_its_own_user_and_its_approver(stack):
    gid = pending_request(stack)
    # another grant's events must not show in this one's trail
    t, f = call(stack.web_sock, REQUEST, tlv(T_GROUP, "web-sudo") + tlv(T_REASON, "other"), mint(stack, BOB))
    assert t == P_OK, f
    other = int(first(f, T_ID))
    for who in (ALICE, OLIVIA):
        t, f = call(stack.web_sock, AUDIT, tlv(T_ID, str(gid)), mint(stack, who))
        assert t == P_OK, (who, f)
        rows = records(f)
        assert rows and all(int(r[T_ID]) == gid for r in rows), (who, rows)
        assert "requested" in [r[T_EVENT] for r in rows], rows
    assert other != gid and stack.env.audit(other)


def test_a_grants_trail_is_refused_to_anyone_else_and_audited(stack):
    gid = pending_request(stack)
    bob = mint(stack, BOB)  # an ACTIVE user, neither alice nor an owner of prod-db-ssh
    t, f = call(stack.web_sock, AUDIT, tlv(T_ID, str(gid)), bob)
    assert t == P_ERROR and first(f, T_CODE) == "forbidden", f
    assert not records(f) and not [v for t, v in f if t == T_EVENT], f
    refusal = first(f, T_MESSAGE)
    # a grant that does not exist is refused in the same words
    t, f = call(stack.web_sock, AUDIT, tlv(T_ID, str(gid + 1000)), bob)
    assert t == P_ERROR and first(f, T_CODE) == "forbidden" and first(f, T_MESSAGE) == refusal, f
    rows = [a for a in stack.env.audit(event="refused") if "reason=audit-not-allowed" in a["detail"]]
    assert rows and rows[0]["actor"] == "ojt-bob" and rows[0]["grant_id"] == gid and \
        "channel=web" in rows[0]["detail"], rows
    # the whole trail or a user's is not served on the web socket at all
    for fields in (b"", tlv(T_USER, "ojt-alice"), tlv(T_ID, str(gid)) + tlv(T_USER, "ojt-alice")):
        t, f = call(stack.web_sock, AUDIT, fields, bob)
        assert t == P_ERROR and first(f, T_CODE) == "invalid" and not records(f), f
    # and the grant's page through okta-jit-web shows bob nothing of it
    st, _, body = stack.browser().sign_in("ojt-bob@example.com").get("/grants/%d" % gid)
    assert st == 404 and "incident 7" not in body, (st, body[:800])


def test_list_records_say_who_else_may_approve(stack):
    gid = pending_request(stack)
    # alice (the requester) reads: olivia, by her login
    t, f = call(stack.web_sock, LIST, b"", mint(stack, ALICE))
    mine = [r for r in records(f) if int(r[T_ID]) == gid]
    assert t == P_OK and mine and "ojt-olivia@example.com" in mine[0][T_APPROVERS], mine
    # olivia (the approver) reads it among hers: nobody else, never herself
    t, f = call(stack.web_sock, LIST, tlv(T_STATE, "approvable"), mint(stack, OLIVIA))
    hers = [r for r in records(f) if int(r[T_ID]) == gid]
    assert t == P_OK and hers, f
    assert "olivia" not in hers[0][T_APPROVERS] and "alice" not in hers[0][T_APPROVERS] and \
        "nobody else" in hers[0][T_APPROVERS], hers
    # the same on the pages
    b = stack.browser().sign_in("ojt-olivia@example.com", "/approvals")
    st, _, body = b.get("/approvals")
    assert st == 200 and "Who else may approve: the owners of prod-db-ssh in Okta: nobody else" in body, body[:3000]
    st, _, body = b.get("/grants/%d" % gid)
    assert st == 200 and "Who else may approve" in body and "Audit trail" in body, body[:3000]
    assert "<td>requested</td>" in body and "Not shown" not in body, body
    a = stack.browser().sign_in("ojt-alice@example.com")
    st, _, body = a.get("/grants/%d" % gid)
    assert st == 200 and "Who may approve: the owners of prod-db-ssh in Okta: ojt-olivia@example.com" in body, \
        body[:3000]
    assert "<td>requested</td>" in body, body
    # issue 22: who did it, by the local name with the Okta login beside it
    assert "<td>requested</td><td>ojt-alice (ojt-alice@example.com)</td>" in body, body


def test_over_a_thousand_pending_requests_are_listed_whole(stack):
    env = stack.env
    ids = set(seed_pending(env, 1100))
    # okta-jitd pages: at most LIMIT records, then a CURSOR to go on from
    t, f = call(env.sock, LIST, tlv(T_STATE, "approvable") + tlv(T_LIMIT, "500"))
    assert t == P_OK and len(records(f)) == 500 and f[0][0] == T_CURSOR, f[:3]
    t, f = call(env.sock, LIST, tlv(T_STATE, "approvable") + tlv(T_LIMIT, "501"))
    assert t == P_ERROR and first(f, T_CODE) == "invalid", f
    # the CLI follows the cursor to the end, as root and as the approver
    for user in (None, "ojt-olivia"):
        r = env.cli("list", "--pending", user=user, timeout=120)
        assert r.rc == 0, r
        got = [g["id"] for g in r.j["grants"]]
        assert len(got) == len(set(got)) and set(got) == ids, (user, len(got))
    # the approvals page shows every one
    b = stack.browser().sign_in("ojt-olivia@example.com", "/approvals")
    st, _, body = b.get("/approvals")
    assert st == 200, body[:500]
    shown = set(int(x) for x in re.findall(r'<a href="/grants/(\d+)">', body))
    assert shown == ids and '<p class="muted" id="count">1100 waiting.</p>' in body, (len(shown), body[-500:])
    assert "ticket &lt;b&gt;7&lt;/b&gt;" in body and "<b>7</b>" not in body


def seed_trail(env, gid, first, n):
    """n events of grant gid straight into the SQLite ledger's audit table
    (the columns okta-jitd's INSERT writes), marked n=first..."""
    now = int(time.time())
    db = sqlite3.connect(env.ledger_path, timeout=30)
    try:
        db.executemany("INSERT INTO audit (at, event, grant_id, actor, \"user\", grp, detail) VALUES (?,?,?,?,?,?,?)",
                       [(now, "check_grace", gid, "pam", "ojt-alice", "prod-db-ssh", "why=seed n=%d" % i)
                        for i in range(first, first + n)])
        db.commit()
    finally:
        db.close()


def test_a_grants_trail_of_over_a_thousand_events_in_pages(stack):
    gid = pending_request(stack)
    seed_trail(stack.env, gid, 0, 1100)
    alice = mint(stack, ALICE)
    # the web socket pages as the root socket does: LIMIT records, the
    # page's CURSOR first, the next page above it
    t, f = call(stack.web_sock, AUDIT, tlv(T_ID, str(gid)) + tlv(T_LIMIT, "500"), alice)
    assert t == P_OK and f[0][0] == T_CURSOR and len(records(f)) == 500, f[:3]
    t, g = call(stack.web_sock, AUDIT, tlv(T_ID, str(gid)) + tlv(T_LIMIT, "500") + tlv(T_CURSOR, f[0][1]), alice)
    assert t == P_OK and len(records(g)) == 500 and int(records(g)[0][T_CURSOR]) > int(f[0][1]), g[:3]
    t, f = call(stack.web_sock, AUDIT, tlv(T_ID, str(gid)) + tlv(T_LIMIT, "501"), alice)
    assert t == P_ERROR and first(f, T_CODE) == "invalid", f
    # the grant's page shows every event, oldest first (it showed the
    # newest 1,000 of one reply before)
    b = stack.browser().sign_in("ojt-alice@example.com")
    st, _, body = b.get("/grants/%d" % gid)
    assert st == 200, body[:500]
    assert [int(x) for x in re.findall(r"why=seed n=(\d+)<", body)] == list(range(1100))
    assert "<td>requested</td>" in body and 'id="trail-cut"' not in body
    # past four pages it stops and says so
    seed_trail(stack.env, gid, 1100, 1000)
    st, _, body = b.get("/grants/%d" % gid)
    assert st == 200 and [int(x) for x in re.findall(r"why=seed n=(\d+)<", body)] == list(range(1999))
    assert '<p class="muted" id="trail-cut">The first 2000 events;' in body, body[-600:]
