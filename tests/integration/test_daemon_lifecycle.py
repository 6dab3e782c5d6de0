"""okta-jitd grant lifecycle end to end: request, approve/deny, extend,
revoke, expiry - checked against the fake Okta's memberships, the ledger
and the audit trail (helper/daemon/grants*.c, helper/daemon/daemon*.c, helper/cli/client.c)."""
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403


def pytest_generate_tests(metafunc):
    run_on_both_ledgers(metafunc)  # noqa: F405 - every grant test on SQLite and on PostgreSQL


def test_auto_approval_lifecycle_to_expiry(jit):
    r = jit.request("web-sudo", dur="4s", as_user="ojt-alice")
    g = r.grant
    assert r.j["ok"] is True and g["state"] == "active", r
    assert g["user"] == "ojt-alice" and g["group"] == "web-sudo"
    gid = g["id"]
    assert ALICE in jit.members(G_WEB)
    row = jit.grant(gid)
    assert row["state"] == "active" and row["op"] == "" and row["was_member"] == 0
    assert row["requester"] == "ojt-alice" and row["approver"] == "auto"
    assert 3 <= row["end_at"] - row["start_at"] <= 4

    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
    assert c.j["id"] == gid and 0 <= c.j["time_left"] <= 4

    wait_for(lambda: ALICE not in jit.members(G_WEB), 15, what="membership removed at the end")
    wait_for(lambda: jit.grant(gid)["op"] == "" and jit.grant(gid)["state"] == "expired", 5)
    # the audit row follows the ledger update that settles the removal
    wait_for(lambda: "removed" in jit.events(gid), 5, what="removed audited")
    ev = jit.events(gid)
    for e in ("requested", "approved", "granted", "expired", "removed"):
        assert e in ev, ev
    assert ev.index("requested") < ev.index("approved") < ev.index("granted") < ev.index("expired") \
        < ev.index("removed")
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_DENIED and c.j["decision"] == "deny" and c.j["code"] == "no_grant", c


def test_owner_approval_and_refusals(jit):
    r = jit.request("prod-db-ssh", dur="10m", reason="INC-1", as_user="ojt-bob")
    g = r.grant
    assert g["state"] == "pending", r
    assert "owners" in g["approvers"], r
    gid = g["id"]
    assert BOB not in jit.members(G_PRODDB)
    assert jit.grant(gid)["reason"] == "INC-1"

    # bob approves his own request
    r = jit.cli("approve", gid, user="ojt-bob")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert "own request" in r.j["message"]
    refused = jit.audit(gid, "refused")
    assert refused and refused[-1]["actor"] == "ojt-bob" and "approve-not-allowed" in refused[-1]["detail"]

    # alice is in ops-oncall but not an owner
    r = jit.cli("approve", gid, user="ojt-alice")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert "not an owner" in r.j["message"]
    assert [a["actor"] for a in jit.audit(gid, "refused")] == ["ojt-bob", "ojt-alice"]
    assert jit.grant(gid)["state"] == "pending"
    assert BOB not in jit.members(G_PRODDB)

    # olivia owns prod-db-ssh
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r
    assert BOB in jit.members(G_PRODDB)
    row = jit.grant(gid)
    assert row["state"] == "active" and row["approver"] == "ojt-olivia@example.com" and row["op"] == ""
    assert jit.cli("check", "prod-db-ssh", user="ojt-bob").rc == EXIT_OK

    # approving again is a conflict, not a second grant
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_FAIL and r.j["code"] == "conflict", r

    # deny path
    r = jit.request("prod-db-ssh", dur="10m", reason="INC-2", as_user="ojt-alice")
    gid2 = r.grant["id"]
    r = jit.cli("deny", gid2, "--reason", "not now", user="ojt-bob")
    assert r.rc == EXIT_DENIED, r
    assert jit.grant(gid2)["state"] == "pending"
    r = jit.cli("deny", gid2, "--reason", "not now", user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "denied", r
    assert ALICE not in jit.members(G_PRODDB)
    row = jit.grant(gid2)
    assert row["state"] == "denied" and row["op"] == ""
    assert "denied" in jit.events(gid2)
    r = jit.cli("approve", gid2, user="ojt-olivia")
    assert r.rc == EXIT_FAIL and r.j["code"] == "conflict", r
    assert ALICE not in jit.members(G_PRODDB)


def test_extend_auto_flow(jit):
    g = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant
    end0 = jit.grant(g["id"])["end_at"]
    r = jit.cli("extend", g["id"], "--for", "5m", user="ojt-alice")
    assert r.rc == EXIT_OK, r
    assert r.grant["end"] == end0 + 300
    assert jit.grant(g["id"])["end_at"] == end0 + 300
    assert "extended" in jit.events(g["id"])

    # 2h more would go past the flow's maximum (2h from now)
    r = jit.cli("extend", g["id"], "--for", "2h", user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "invalid", r
    assert jit.grant(g["id"])["end_at"] == end0 + 300

    # somebody else may not extend alice's grant
    r = jit.cli("extend", g["id"], "--for", "1m", user="ojt-bob")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert jit.grant(g["id"])["end_at"] == end0 + 300


def test_extend_owners_flow_needs_approval(jit):
    gid = jit.request("prod-db-ssh", dur="10m", reason="INC-3", as_user="ojt-bob").grant["id"]
    assert jit.cli("approve", gid, user="ojt-olivia").rc == EXIT_OK
    end0 = jit.grant(gid)["end_at"]

    r = jit.cli("extend", gid, "--for", "20m", "--reason", "still on it", user="ojt-bob")
    assert r.rc == EXIT_OK, r
    ext = r.grant
    assert ext["state"] == "pending-extension" and ext["id"] != gid and ext.get("extends") == gid, r
    assert jit.grant(gid)["end_at"] == end0
    erow = jit.grant(ext["id"])
    assert erow["kind"] == "extend" and erow["parent_id"] == gid and erow["state"] == "pending"

    r = jit.cli("approve", ext["id"], user="ojt-bob")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert jit.grant(gid)["end_at"] == end0

    r = jit.cli("approve", ext["id"], user="ojt-olivia")
    assert r.rc == EXIT_OK, r
    assert jit.grant(gid)["end_at"] == end0 + 1200
    assert jit.grant(gid)["state"] == "active"
    assert jit.grant(ext["id"])["state"] == "approved"
    assert BOB in jit.members(G_PRODDB)
    assert "extended" in jit.events(gid)


def test_extensions_approved_one_after_another_stop_at_the_flows_maximum(jit):
    # prod-db allows 4 h. Each of two 3 h extensions of a 1 h grant is within
    # the limit when asked for (the grant still ends in 1 h); approved one
    # after the other they would make 7 h: approval caps the end at 4 h from
    # the moment of approval.
    gid = jit.request("prod-db-ssh", dur="1h", reason="INC-4", as_user="ojt-bob").grant["id"]
    assert jit.cli("approve", gid, user="ojt-olivia").rc == EXIT_OK
    exts = []
    for why in ("first", "second"):
        r = jit.cli("extend", gid, "--for", "3h", "--reason", why, user="ojt-bob")
        assert r.rc == EXIT_OK and r.grant["state"] == "pending-extension", r
        exts.append(r.grant["id"])
    before = int(time.time())
    for e in exts:
        r = jit.cli("approve", e, user="ojt-olivia")
        assert r.rc == EXIT_OK, r
    after = int(time.time())
    end = jit.grant(gid)["end_at"]
    assert before + 4 * 3600 <= end <= after + 4 * 3600, (end - before, end - after)
    assert jit.grant(gid)["state"] == "active"
    c = jit.cli("check", "prod-db-ssh", user="ojt-bob")
    assert c.rc == EXIT_OK and c.j["time_left"] <= 4 * 3600, c


def test_revoke_own_other_and_root(jit):
    ga = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    gb = jit.request("web-sudo", dur="10m", as_user="ojt-bob").grant["id"]
    assert ALICE in jit.members(G_WEB) and BOB in jit.members(G_WEB)

    # bob tries alice's grant
    r = jit.cli("revoke", ga, user="ojt-bob")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    ref = jit.audit(ga, "refused")
    assert ref and ref[-1]["actor"] == "ojt-bob" and "revoke-not-allowed" in ref[-1]["detail"]
    assert ALICE in jit.members(G_WEB) and jit.grant(ga)["state"] == "active"

    # alice revokes her own: removed at once (before the CLI returns)
    r = jit.cli("revoke", ga, user="ojt-alice")
    assert r.rc == EXIT_OK and r.grant["state"] == "revoked", r
    assert ALICE not in jit.members(G_WEB)
    row = jit.grant(ga)
    assert row["state"] == "revoked" and row["op"] == ""
    assert row["end_at"] <= int(time.time())
    assert ["revoked", "removed"] == [e for e in jit.events(ga) if e in ("revoked", "removed")]
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_DENIED, c

    # revoking twice is a conflict
    r = jit.cli("revoke", ga, user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "conflict", r

    # root revokes anyone
    r = jit.cli("revoke", gb)
    assert r.rc == EXIT_OK and r.grant["state"] == "revoked", r
    assert BOB not in jit.members(G_WEB)
    assert jit.audit(gb, "revoked")[-1]["actor"] == "root"


def test_revoking_an_applied_extension_request(jit):
    gid = jit.request("prod-db-ssh", dur="10m", reason="INC-4", as_user="ojt-bob").grant["id"]
    assert jit.cli("approve", gid, user="ojt-olivia").rc == EXIT_OK
    ext = jit.cli("extend", gid, "--for", "5m", "--reason", "more", user="ojt-bob").grant["id"]
    assert jit.cli("approve", ext, user="ojt-olivia").rc == EXIT_OK
    r = jit.cli("revoke", ext, user="ojt-bob")
    # An applied extension is part of its grant: the revoke is refused and
    # names the grant to revoke; ledger and Okta stay as they were.
    assert r.rc == EXIT_FAIL and r.j["code"] == "conflict", r
    assert "revoke grant %s" % gid in r.j["message"], r
    assert jit.grant(gid)["state"] == "active"
    assert BOB in jit.members(G_PRODDB)
    assert jit.cli("check", "prod-db-ssh", user="ojt-bob").rc == EXIT_OK


def test_revoking_a_pending_extension_keeps_the_grant(jit):
    gid = jit.request("prod-db-ssh", dur="10m", reason="INC-4", as_user="ojt-bob").grant["id"]
    assert jit.cli("approve", gid, user="ojt-olivia").rc == EXIT_OK
    ext = jit.cli("extend", gid, "--for", "5m", "--reason", "more", user="ojt-bob").grant["id"]
    r = jit.cli("revoke", ext, user="ojt-bob")
    assert r.rc == EXIT_OK, r
    assert jit.grant(ext)["state"] == "revoked" and jit.grant(ext)["op"] == ""
    assert jit.grant(gid)["state"] == "active"
    assert BOB in jit.members(G_PRODDB)
    assert not jit.okta_requests("DELETE")
    r = jit.cli("approve", ext, user="ojt-olivia")
    assert r.rc == EXIT_FAIL and r.j["code"] == "conflict", r
