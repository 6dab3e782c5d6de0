"""Who may do what over okta-jitd's socket (SO_PEERCRED), who may request
which group, who may approve, hostile user names, and standing
memberships."""
import subprocess

import pytest

from daemon_fixtures import *  # noqa: F401,F403

# Who may approve is decided from Okta and the configuration alone: these
# run on SQLite only.
LEDGER_NEUTRAL = {"test_gid_0_does_not_make_a_caller_root", "test_a_group_type_owner_approves_through_its_members",
                  "test_integration_owner_approves_owner_flows_and_groups_without_owners",
                  "test_two_local_accounts_of_one_okta_person_do_not_approve_each_other"}


def pytest_generate_tests(metafunc):
    if metafunc.function.__name__ in LEDGER_NEUTRAL:
        metafunc.parametrize("ledger_backend", ["sqlite"], indirect=True)
        return
    run_on_both_ledgers(metafunc)  # noqa: F405 - every grant test on SQLite and on PostgreSQL


def test_non_root_may_not_act_for_others(jit):
    # request for someone else
    r = jit.cli("request", "web-sudo", "--for", "5m", "--user", "ojt-bob", user="ojt-alice")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert jit.grants() == []
    ref = jit.audit(event="refused")
    assert ref and ref[-1]["actor"] == "ojt-alice" and ref[-1]["user"] == "ojt-bob"
    assert "request-for-other" in ref[-1]["detail"]
    assert BOB not in jit.members(G_WEB)

    # check for someone else
    r = jit.cli("check", "web-sudo", "--user", "ojt-bob", user="ojt-alice")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert "check-for-other" in jit.audit(event="refused")[-1]["detail"]

    # the audit trail
    r = jit.cli("audit", user="ojt-alice")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert "audit-not-allowed" in jit.audit(event="refused")[-1]["detail"]

    # list --user other is ignored for non-root: alice sees only her own
    jit.request("web-sudo", dur="5m", user="ojt-bob")
    r = jit.cli("list", "--all", "--user", "ojt-bob", user="ojt-alice")
    assert r.rc == EXIT_OK and r.j["grants"] == [], r


def test_root_may_act_for_anyone_but_not_approve_its_own(jit):
    r = jit.request("web-sudo", dur="5m", user="ojt-bob")
    assert r.grant["state"] == "active" and r.grant["user"] == "ojt-bob", r
    assert BOB in jit.members(G_WEB)
    assert jit.grant(r.grant["id"])["requester"] == "root"
    c = jit.cli("check", "web-sudo", "--user", "ojt-bob")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c

    # a request root filed: root may not approve it, the owner may
    gid = jit.request("prod-db-ssh", dur="5m", reason="INC-9", user="ojt-alice").grant["id"]
    r = jit.cli("approve", gid)
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden" and "own request" in r.j["message"], r
    assert jit.audit(gid, "refused")[-1]["actor"] == "root"
    assert jit.grant(gid)["state"] == "pending" and ALICE not in jit.members(G_PRODDB)

    # a request bob filed himself: root approves it
    gid2 = jit.request("prod-db-ssh", dur="5m", reason="INC-10", as_user="ojt-bob").grant["id"]
    r = jit.cli("approve", gid2)
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r
    assert jit.grant(gid2)["approver"] == "root"
    assert BOB in jit.members(G_PRODDB)

    r = jit.cli("revoke", gid2)
    assert r.rc == EXIT_OK, r
    assert BOB not in jit.members(G_PRODDB)


def cli_with_ids(jit, setpriv, *args):
    """The CLI run under setpriv's uid/gid options."""
    p = subprocess.run(["setpriv"] + setpriv + ["--clear-groups", jit.cli_path, "--socket", jit.sock, "--json"] +
                       [str(a) for a in args], capture_output=True, text=True, timeout=60, cwd="/")
    return CliResult(p, 0.0)


def test_gid_0_does_not_make_a_caller_root(jit):
    # okta-jitd authorises by the peer's uid: alice with gid 0 is alice
    as_alice_gid0 = ["--reuid=ojt-alice", "--regid=0"]
    r = cli_with_ids(jit, as_alice_gid0, "audit")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    r = cli_with_ids(jit, as_alice_gid0, "request", "web-sudo", "--for", "5m", "--user", "ojt-bob")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    r = cli_with_ids(jit, as_alice_gid0, "check", "web-sudo", "--user", "ojt-bob")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert jit.grants() == [] and BOB not in jit.members(G_WEB)
    assert jit.audit(event="refused")[-1]["actor"] == "ojt-alice"
    # and uid 0 with another gid is root
    r = cli_with_ids(jit, ["--regid=ojt-bob"], "audit")
    assert r.rc == EXIT_OK, r


G_DBOWNERS = "00gdbowners000008"


def test_a_group_type_owner_approves_through_its_members(jit):
    # prod-db-ssh's owner in Okta is a group, db-owners, whose member is
    # mallory: she approves; olivia (the integration owner) does not, since
    # the group has owners.
    jit.okta.control("groups", {"op": "add", "id": G_DBOWNERS, "name": "db-owners", "type": "OKTA_GROUP"})
    jit.okta.control("membership", {"op": "add", "group": G_DBOWNERS, "user": MALLORY})
    jit.okta.control("groups", {"op": "update", "id": G_PRODDB, "owners": [{"type": "GROUP", "id": G_DBOWNERS}]})
    gid = jit.request("prod-db-ssh", dur="5m", reason="INC-11", as_user="ojt-bob").grant["id"]
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden" and "not an owner" in r.j["message"], r
    assert jit.grant(gid)["state"] == "pending" and BOB not in jit.members(G_PRODDB)
    r = jit.cli("approve", gid, user="ojt-mallory")
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r
    assert jit.grant(gid)["approver"] == "ojt-mallory@example.com"
    assert BOB in jit.members(G_PRODDB)
    # asked through the group's owners API
    assert jit.okta_requests("GET", "/api/v1/groups/%s/owners" % G_PRODDB)


OWNER_FLOWS = """
[flow owner]
groups = web-sudo
default_duration = 30m
max_duration = 2h
approval = owner
reason = optional

[flow no-owners]
groups = staging-ssh
default_duration = 30m
max_duration = 2h
approval = owners
reason = optional
"""


def test_integration_owner_approves_owner_flows_and_groups_without_owners(jit_factory):
    jit = jit_factory(flows=OWNER_FLOWS)
    # approval = owner: the integration owner (olivia) and nobody else
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-bob").grant["id"]
    r = jit.cli("approve", gid, user="ojt-mallory")
    assert r.rc == EXIT_DENIED and "not the integration owner" in r.j["message"], r
    assert jit.grant(gid)["state"] == "pending"
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r
    # approval = owners on a group with no owners in Okta: the integration
    # owner decides
    gid = jit.request("staging-ssh", dur="5m", as_user="ojt-bob").grant["id"]
    r = jit.cli("approve", gid, user="ojt-mallory")
    assert r.rc == EXIT_DENIED and "not the integration owner" in r.j["message"], r
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r
    assert jit.grant(gid)["approver"] == "ojt-olivia@example.com"
    assert BOB in jit.members(G_STAGE)


def test_two_local_accounts_of_one_okta_person_do_not_approve_each_other(jit):
    # Okta logins are matched without regard to case: the local names
    # OJT-OLIVIA and ojt-olivia are one Okta person, the owner of prod-db-ssh.
    jit.okta.control("membership", {"op": "add", "group": G_OPS, "user": OLIVIA})
    gid = jit.request("prod-db-ssh", dur="5m", reason="INC-12", user="OJT-OLIVIA").grant["id"]
    assert jit.grant(gid)["okta_user_id"] == OLIVIA
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden" and "own request" in r.j["message"], r
    assert jit.grant(gid)["state"] == "pending" and OLIVIA not in jit.members(G_PRODDB)
    # she approves somebody else's request
    other = jit.request("prod-db-ssh", dur="5m", reason="INC-13", as_user="ojt-bob").grant["id"]
    r = jit.cli("approve", other, user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r


def test_requesters_status_flows_and_limits(jit):
    # mallory is ACTIVE but not in ops-oncall
    r = jit.cli("request", "web-sudo", "--for", "5m", user="ojt-mallory")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden", r
    assert "not-a-requester" in jit.audit(event="refused")[-1]["detail"]
    # carol is SUSPENDED
    r = jit.cli("request", "web-sudo", "--for", "5m", user="ojt-carol")
    assert r.rc == EXIT_DENIED and r.j["code"] == "forbidden" and "SUSPENDED" in r.j["message"], r
    assert "user-SUSPENDED" in jit.audit(event="refused")[-1]["detail"]
    # no flow covers the group
    r = jit.cli("request", "audit-readers", "--for", "5m", user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "no_flow", r
    # longer than the flow's maximum (2h)
    r = jit.cli("request", "web-sudo", "--for", "3h", user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "invalid" and "at most" in r.j["message"], r
    # prod-db needs a reason
    r = jit.cli("request", "prod-db-ssh", "--for", "5m", user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "invalid" and "reason" in r.j["message"], r
    # a control character in the reason
    r = jit.cli("request", "prod-db-ssh", "--for", "5m", "--reason", "a\x1bb", user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "invalid", r
    assert jit.grants() == []
    assert jit.members(G_WEB) == [] and jit.members(G_PRODDB) == []
    # a second request while one is active
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    r = jit.cli("request", "web-sudo", "--for", "5m", user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "exists" and str(gid) in r.j["message"], r
    assert len(jit.grants()) == 1


HOSTILE = ['a"b', "a/b", "%s%n", "x\x01y", "a" * 300, "-rf", "", "../../etc/passwd", "ojt-alice\n"]


@pytest.mark.parametrize("name", HOSTILE, ids=lambda n: repr(n)[:20])
def test_hostile_user_names_from_root(jit, name):
    r = jit.cli("request", "web-sudo", "--for", "5m", "--user", name)
    assert r.rc == EXIT_FAIL and r.j["ok"] is False and r.j["code"] == "invalid", r
    c = jit.cli("check", "web-sudo", "--user", name)
    assert c.rc == EXIT_DENIED and c.j["decision"] == "deny" and c.j["code"] == "invalid", c
    assert jit.grants() == []
    assert jit.daemon.alive() and jit.ping()
    # nothing was asked of Okta about that name
    assert not [q for q in jit.okta_requests() if "/api/v1/users/" in q["path"] and "ojt-" not in q["path"]]


def test_unknown_local_user(jit):
    r = jit.cli("request", "web-sudo", "--for", "5m", "--user", "nosuchuser")
    assert r.rc == EXIT_FAIL and r.j["code"] == "not_found", r
    assert "nosuchuser@example.com" in r.j["message"]
    c = jit.cli("check", "staging-ssh", "--user", "nosuchuser")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_user", c
    assert jit.grants() == [] and jit.ping()


def test_standing_membership(jit):
    # bob added to web-sudo by an admin outside okta-jit
    jit.okta.control("membership", {"op": "add", "group": G_WEB, "user": BOB})
    c = jit.cli("check", "web-sudo", "--user", "ojt-bob")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    assert jit.audit(event="check_refused")[-1]["user"] == "ojt-bob"

    # staging (standing = allow) lets a standing member in, a non-member not
    c = jit.cli("check", "staging-ssh", "--user", "ojt-alice")
    assert c.rc == EXIT_DENIED and c.j["code"] == "not_member", c
    jit.okta.control("membership", {"op": "add", "group": G_STAGE, "user": BOB})
    c = jit.cli("check", "staging-ssh", "--user", "ojt-bob")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow" and "id" not in c.j, c
    c = jit.cli("check", "web-sudo", "staging-ssh", user="ojt-bob")
    assert c.rc == EXIT_OK and c.j["group"] == "staging-ssh", c

    # a grant on top of a standing membership must not take it away
    g = jit.request("web-sudo", dur="3s", as_user="ojt-bob").grant
    assert g["state"] == "active"
    row = jit.grant(g["id"])
    assert row["was_member"] == 1
    assert jit.cli("check", "web-sudo", user="ojt-bob").rc == EXIT_OK
    wait_for(lambda: jit.grant(g["id"])["state"] == "expired", 15, what="grant expired")
    # A positive control, not a fixed wait: alice's grant ends after bob's
    # and is taken out of Okta by the same scheduler; a DELETE owed for
    # bob's would have been sent before hers.
    jit.request("web-sudo", dur="1s", as_user="ojt-alice")
    wait_for(lambda: jit.okta_requests("DELETE", ALICE), 15, what="alice's membership removed at her grant's end")
    row = jit.grant(g["id"])
    assert row["op"] == ""
    assert BOB in jit.members(G_WEB), "the end of a grant removed a standing membership"
    assert "removed" not in jit.events(g["id"])
    assert not jit.okta_requests("DELETE", BOB)
    c = jit.cli("check", "web-sudo", user="ojt-bob")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c


def test_standing_member_revoke_keeps_membership(jit):
    jit.okta.control("membership", {"op": "add", "group": G_WEB, "user": ALICE})
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    assert jit.grant(gid)["was_member"] == 1
    r = jit.cli("revoke", gid, user="ojt-alice")
    assert r.rc == EXIT_OK, r
    row = jit.grant(gid)
    assert row["state"] == "revoked" and row["op"] == ""
    assert ALICE in jit.members(G_WEB)
    assert not jit.okta_requests("DELETE")
