"""Issue 20 items 2 and 3: what happens to a user or a group in Okta
reaches the grants (helper/daemon/lifecycle.c, check_groups.c, doctor.c).

A granter's sweep reads every cache_ttl each user with an active grant or a
pending request, and each group of such a grant, by Okta id. Tests run with
cache_ttl = 1s and wait for events (ledger rows, audit records, the fake
Okta's memberships and request log), never for a fixed time."""
import subprocess
import time

from daemon_fixtures import *  # noqa: F401,F403
from fleet_fixtures import *  # noqa: F401,F403
from pam_fixtures import driver_path, stack  # noqa: F401

FAST = {"cache_ttl": "1s"}


def sweeps_of(jit, path):
    return len(jit.okta_requests("GET", path))


def wait_sweeps(jit, path, n=2, timeout=15):
    """Wait until the daemon has read path from Okta n more times: so many
    sweeps have seen the change."""
    start = sweeps_of(jit, path)
    wait_for(lambda: sweeps_of(jit, path) >= start + n, timeout, what="%d sweeps reading %s" % (n, path))


def revoked_by_okta(jit, gid):
    rows = [a for a in jit.audit(gid, "revoked") if a["actor"] == "okta"]
    return rows[-1] if rows else None


def doctor(jit):
    p = subprocess.run([jit.cli_path, "--config", jit.conf, "doctor"], capture_output=True, text=True,
                       timeout=90, errors="replace")
    return p.returncode, p.stdout + p.stderr


# ---------------------------------------------------------------- item 2: users

def test_suspended_user_loses_grants_and_pending_requests(jit_factory):
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    assert g["state"] == "active" and ALICE in jit.members(G_WEB), g
    p = jit.request("prod-db-ssh", dur="1h", reason="INC-7", as_user="ojt-alice").grant
    assert p["state"] == "pending", p
    assert jit.cli("check", "web-sudo", "--user", "ojt-alice").j["decision"] == "allow"

    jit.okta.control("users", {"op": "update", "id": ALICE, "status": "SUSPENDED"})

    wait_for(lambda: jit.grant(g["id"])["state"] == "revoked", 15, what="the grant revoked by the sweep")
    wait_for(lambda: ALICE not in jit.members(G_WEB), 15, what="the Okta membership removed")
    wait_for(lambda: jit.grant(g["id"])["op"] == "", 10, what="the removal settled")
    a = revoked_by_okta(jit, g["id"])
    assert a is not None and "reason=okta-user-SUSPENDED" in a["detail"] and "was=active" in a["detail"], a
    # the pending request is cancelled: nothing owed to Okta
    wait_for(lambda: jit.grant(p["id"])["state"] == "revoked", 10, what="the pending request cancelled")
    row = jit.grant(p["id"])
    assert row["op"] == "", row
    a = revoked_by_okta(jit, p["id"])
    assert a is not None and "reason=okta-user-SUSPENDED" in a["detail"] and "was=pending" in a["detail"], a
    assert "removed" in jit.events(g["id"])
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny", c


TERMINATE_FLOWS = JIT_FLOWS.replace("[flow web]\n", "[flow web]\non_expiry = terminate\n", 1)


def test_suspended_users_session_is_ended_per_the_flow(jit_factory, stack):  # noqa: F811
    """on_expiry = terminate: the session opened under the grant (through
    the real PAM module) is ended once the sweep revokes the grant."""
    jit = jit_factory(daemon_extra=FAST, flows=TERMINATE_FLOWS)
    gid = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant["id"]
    stack.write("account required @MOD@ group=web-sudo socket=%s\n"
                "session required @MOD@ group=web-sudo socket=%s\n" % (jit.sock, jit.sock))
    real = subprocess.Popen([driver_path(), stack.confdir, stack.service, "ojt-alice", "acct", "open", "wait"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        out = ""
        while "WAITING" not in out:
            line = real.stdout.readline()
            assert line, out
            out += line
        assert "STEP open = 0 PAM_SUCCESS" in out, out
        jit.okta.control("users", {"op": "update", "id": ALICE, "status": "DEPROVISIONED"})
        wait_for(lambda: real.poll() is not None, 20, what="the session ended after the revocation")
        wait_for(lambda: jit.audit(gid, "session_ended"), 10, what="session_ended audited")
        assert "reason=okta-user-DEPROVISIONED" in revoked_by_okta(jit, gid)["detail"]
    finally:
        if real.poll() is None:
            real.kill()
            real.wait()


def test_deleted_user_loses_grants(jit_factory):
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    assert g["state"] == "active", g
    jit.okta.control("users", {"op": "delete", "id": ALICE})
    wait_for(lambda: jit.grant(g["id"])["state"] == "revoked", 15, what="the grant revoked by the sweep")
    a = revoked_by_okta(jit, g["id"])
    assert a is not None and "reason=okta-user-deleted" in a["detail"], a
    # DELETE of a gone user's membership: 404 is what was wanted
    wait_for(lambda: jit.grant(g["id"])["op"] == "", 10, what="the removal settled")


def test_okta_errors_never_end_a_grant(jit_factory):
    """A user or group Okta fails to answer for (503, a malformed body, 403,
    429) is no deleted one: the grant stays, and the next sweep decides."""
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    upath, gpath = "^/api/v1/users/%s$" % ALICE, "^/api/v1/groups/%s$" % G_WEB
    jit.okta.faults({"method": "GET", "path": upath, "count": 2, "action": "status", "status": 503},
                    {"method": "GET", "path": upath, "count": 1, "action": "malformed"},
                    {"method": "GET", "path": upath, "count": 1, "action": "status", "status": 403},
                    {"method": "GET", "path": upath, "count": 1, "action": "status", "status": 429,
                     "headers": {"X-Rate-Limit-Reset": None}},
                    {"method": "GET", "path": gpath, "count": 2, "action": "status", "status": 503},
                    {"method": "GET", "path": gpath, "count": 1, "action": "wrong_type"})
    def spent():
        row = jit.grant(g["id"])
        assert row["state"] == "active", (row, jit.audit(g["id"]))
        return not jit.okta.control("faults")
    wait_for(spent, 60, interval=0.3, what="every fault spent")
    wait_sweeps(jit, "/api/v1/users/" + ALICE, 1)
    row = jit.grant(g["id"])
    assert row["state"] == "active" and row["op"] == "", row
    assert revoked_by_okta(jit, g["id"]) is None
    assert ALICE in jit.members(G_WEB)


def test_revoke_on_is_configurable(jit_factory):
    """revoke_on = PASSWORD_EXPIRED: a LOCKED_OUT user keeps the grant (the
    check still refuses while Okta says LOCKED_OUT); PASSWORD_EXPIRED ends it."""
    jit = jit_factory(daemon_extra=dict(FAST, revoke_on="PASSWORD_EXPIRED"))
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    jit.okta.control("users", {"op": "update", "id": ALICE, "status": "LOCKED_OUT"})
    wait_sweeps(jit, "/api/v1/users/" + ALICE, 3)
    assert jit.grant(g["id"])["state"] == "active"
    # (a check may serve its cached answer once more while it is refreshed:
    # item 4's bound, not this one)
    wait_for(lambda: jit.cli("check", "web-sudo", "--user", "ojt-alice").j["code"] == "user_inactive", 15,
             what="the check refuses the LOCKED_OUT user")
    assert jit.grant(g["id"])["state"] == "active"
    jit.okta.control("users", {"op": "update", "id": ALICE, "status": "PASSWORD_EXPIRED"})
    wait_for(lambda: jit.grant(g["id"])["state"] == "revoked", 15, what="revoked on PASSWORD_EXPIRED")
    assert "reason=okta-user-PASSWORD_EXPIRED" in revoked_by_okta(jit, g["id"])["detail"]


def test_revoke_on_refuses_unknown_and_active_statuses(jit_factory):
    for bad, says in (("ACTIVE", "'ACTIVE' is not an Okta user status that can end grants"),
                      ("SLEEPING", "'SLEEPING' is not an Okta user status"),
                      ("SUSPENDED,,LOCKED_OUT", "empty entry in list")):
        jit = jit_factory(name="bad%d" % len(bad), daemon_extra={"revoke_on": bad}, start=False)
        p = subprocess.run([jit.cli_path, "--config", jit.conf, "doctor"], capture_output=True, text=True,
                           timeout=60, errors="replace")
        out = p.stdout + p.stderr
        assert p.returncode != 0 and "[daemon] revoke_on: " + says in out, out


def test_login_change_keeps_the_grant(jit_factory):
    """Grants are by Okta id: alice's login becomes ojt-mallory@example.com
    (that Okta user is gone), and the grant follows to the local name
    login_format gives (ojt-mallory): it stays active and passes the check."""
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    jit.okta.control("users", {"op": "delete", "id": MALLORY})
    jit.okta.control("users", {"op": "update", "id": ALICE, "login": "ojt-mallory@example.com"})
    wait_for(lambda: jit.grant(g["id"])["user"] == "ojt-mallory", 15, what="the row follows the login")
    row = jit.grant(g["id"])
    assert row["state"] == "active" and row["okta_user_id"] == ALICE, row
    assert row["okta_login"] == "ojt-mallory@example.com", row
    assert ALICE in jit.members(G_WEB)
    lc = jit.audit(g["id"], "login_changed")
    assert lc and lc[-1]["actor"] == "okta" and "old_user=ojt-alice" in lc[-1]["detail"], lc
    c = jit.cli("check", "web-sudo", "--user", "ojt-mallory")
    assert c.j["decision"] == "allow" and c.j["id"] == g["id"], c
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny", c
    assert revoked_by_okta(jit, g["id"]) is None


# ---------------------------------------------------------------- item 3: groups

def test_deleted_group_ends_grants_and_refuses_checks(jit_factory):
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    jit.okta.control("groups", {"op": "delete", "id": G_WEB})
    wait_for(lambda: jit.grant(g["id"])["state"] == "revoked", 15, what="the grant revoked by the sweep")
    row = jit.grant(g["id"])
    assert row["op"] == "", row  # the membership went with the group
    a = revoked_by_okta(jit, g["id"])
    assert a is not None and "reason=okta-group-deleted" in a["detail"], a
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny" and c.j["code"] == "group_deleted", c
    assert "was deleted in Okta" in c.j["message"], c
    r = jit.request("web-sudo", dur="10m", as_user="ojt-bob", expect=None)
    assert r.rc != 0 and r.j["code"] == "group_deleted" and "deleted in Okta" in r.j["message"], r
    rc, out = doctor(jit)
    assert rc != 0 and "was deleted in Okta" in out and "create a new OKTA_GROUP" in out, out


def test_group_turned_into_app_group_ends_grants(jit_factory):
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    jit.okta.control("groups", {"op": "update", "id": G_WEB, "type": "APP_GROUP"})
    wait_for(lambda: jit.grant(g["id"])["state"] == "revoked", 15, what="the grant revoked by the sweep")
    a = revoked_by_okta(jit, g["id"])
    assert a is not None and "reason=okta-group-type-APP_GROUP" in a["detail"], a
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny" and c.j["code"] == "group_wrong_type", c
    rc, out = doctor(jit)
    assert rc != 0 and "APP_GROUP" in out, out


def test_renamed_group_keeps_working_by_id(jit_factory):
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    jit.okta.control("groups", {"op": "update", "id": G_WEB, "name": "web-sudo-v2"})
    # checks resolve the name again (cache_ttl 1 s), find it gone and keep
    # the id: every check meanwhile allows
    def renamed_seen():
        c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
        assert c.j["decision"] == "allow", c
        return "renamed in Okta to 'web-sudo-v2'" in jit.daemon.log()
    wait_for(renamed_seen, 15, interval=0.3, what="the rename noticed")
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "allow" and c.j["id"] == g["id"], c
    assert jit.grant(g["id"])["state"] == "active"
    b = jit.request("web-sudo", dur="10m", as_user="ojt-bob").grant
    assert b["state"] == "active" and BOB in jit.members(G_WEB), b
    rc, out = doctor(jit)
    assert "renamed in Okta to 'web-sudo-v2'" in out, out
    # after a restart (a local SQLite ledger): the grant rows' id
    jit.daemon.stop()
    jit.daemon.start()
    wait_for(lambda: jit.cli("check", "web-sudo", "--user", "ojt-alice").j["decision"] == "allow", 15,
             what="allowed after a restart")
    assert jit.grant(g["id"])["state"] == "active"


def test_renamed_group_whose_old_name_is_taken_still_loses_the_membership(jit_factory):
    """A gated group renamed in Okta, and a new group made under its old
    name: a grant's end still takes the member out of the group its grant
    added them to (the renamed one, by id) - never an expired grant's
    membership left behind because the name now resolves elsewhere."""
    jit = jit_factory(daemon_extra=FAST)
    g = jit.request("web-sudo", dur="30m", as_user="ojt-alice").grant
    assert ALICE in jit.members(G_WEB)
    jit.okta.control("groups", {"op": "update", "id": G_WEB, "name": "web-sudo-old"})
    jit.okta.control("groups", {"op": "add", "id": "00gwebsudonew00001", "name": "web-sudo",
                                "type": "OKTA_GROUP"})
    # the check cache sees the new group under the name (cache_ttl 1 s)
    time.sleep(2.5)
    assert jit.cli("revoke", str(g["id"])).rc == EXIT_OK  # noqa: F405
    wait_for(lambda: ALICE not in jit.members(G_WEB), 15, what="alice out of the renamed group")
    dele = [r for r in jit.okta_requests("DELETE") if r["path"] == "/api/v1/groups/%s/users/%s" % (G_WEB, ALICE)]
    assert len(dele) == 1, dele
    assert not jit.audit(g["id"], "refused"), jit.audit(g["id"])


def test_doctor_warns_about_an_active_group_rule(jit_factory):
    jit = jit_factory(daemon_extra=FAST, start=False)
    jit.okta.control("group_rules", {"op": "add", "id": "0prinactive00000001", "name": "old-rule",
                                     "status": "INACTIVE", "groupIds": [G_WEB]})
    rc, out = doctor(jit)
    assert "PASS  group-rules" in out and "WARN  group-rules" not in out, out
    jit.okta.control("group_rules", {"op": "add", "id": "0prengineers0000001", "name": "engineers",
                                     "status": "ACTIVE", "groupIds": [G_OPS, G_WEB]})
    rc, out = doctor(jit)
    assert "WARN  group-rules" in out and "'engineers'" in out and "'web-sudo'" in out, out
    assert "Deactivate the rule".lower() in out.lower(), out
    assert any(r["path"].startswith("/api/v1/groups/rules") for r in jit.okta_requests("GET"))


# ---------------------------------------------------------------- a fleet

def test_fleet_two_granters_end_a_suspended_users_grant_once(fleet):  # noqa: F811
    """Two granters on one PostgreSQL ledger sweep one at a time: the
    suspended user's grant is revoked once (one audit record, actor okta),
    its membership removed once, and the gate refuses at once."""
    a = fleet.host("granter-a", extra={"cache_ttl": "1s"})
    b = fleet.host("granter-b", extra={"cache_ttl": "1s"})
    g = fleet.host("gate", role="gate", extra={"cache_ttl": "1s"})
    fleet.wait_gate_ready(g)
    gid = a.request("web-sudo", dur="30m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: g.cli("check", "web-sudo", "--user", "ojt-alice").j["decision"] == "allow", 15,
             what="the gate allows the grant")
    fleet.okta.control("users", {"op": "update", "id": ALICE, "status": "SUSPENDED"})
    wait_for(lambda: fleet.grant(gid)["state"] == "revoked", 15, what="revoked by a granter's sweep")
    wait_for(lambda: fleet.grant(gid)["op"] == "", 15, what="the removal settled")
    assert ALICE not in fleet.okta.members(G_WEB)
    c = g.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny", c
    # both granters keep sweeping: still one revocation, one removal
    def group_reads():
        return len([r for r in fleet.okta.requests() if r["method"] == "GET"
                    and r["path"].startswith("/api/v1/groups/" + G_WEB)])
    n = group_reads()
    wait_for(lambda: group_reads() >= n + 2, 20, what="more snapshot listings")
    revoked = [x for x in fleet.audit(gid, "revoked")]
    assert len(revoked) == 1 and revoked[0]["actor"] == "okta", revoked
    deletes = [r for r in fleet.okta.requests() if r["method"] == "DELETE"
               and r["path"] == "/api/v1/groups/%s/users/%s" % (G_WEB, ALICE)]
    assert len(deletes) == 1, deletes
    assert b.daemon.alive() and a.daemon.alive()


def test_fleet_gate_refuses_a_deleted_group_by_name(fleet):  # noqa: F811
    """The granter's snapshot of a group deleted in Okta says so: the gate
    refuses with group_deleted, not with an unexplained no_grant."""
    a = fleet.host("granter-a", extra={"cache_ttl": "1s"})
    g = fleet.host("gate", role="gate", extra={"cache_ttl": "1s"})
    fleet.wait_gate_ready(g)
    gid = a.request("web-sudo", dur="30m", as_user="ojt-alice").grant["id"]
    fleet.okta.control("groups", {"op": "delete", "id": G_WEB})
    wait_for(lambda: fleet.grant(gid)["state"] == "revoked", 15, what="revoked by the sweep")
    wait_for(lambda: g.cli("check", "web-sudo", "--user", "ojt-alice").j["code"] == "group_deleted", 15,
             what="the gate refuses with group_deleted")
    c = g.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny" and "deleted in Okta" in c.j["message"], c
    c = a.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.j["decision"] == "deny" and c.j["code"] == "group_deleted", c


def test_fleet_a_forged_row_is_not_signed_through_a_login_change(fleet):  # noqa: F811
    """A database writer inserts an unsigned active row for Okta user alice
    under another local name and an old login. The sweep sees alice's login
    differ; renaming the row would sign it with the fleet key (and the gates
    would take it for a granter's). It is left as it is."""
    import time
    a = fleet.host("granter-a", extra={"cache_ttl": "1s"})
    now = int(time.time())
    fleet.sql("INSERT INTO grants (kind, \"user\", okta_login, okta_user_id, grp, group_id, flow, requester,"
              " reason, approver, state, op, was_member, duration, requested_at, decided_at, start_at, end_at,"
              " updated_at, next_attempt_at) VALUES ('grant', 'ojt-mallory', 'old-alice@example.com', '%s',"
              " 'web-sudo', '%s', 'web', 'ojt-mallory', 'forged', 'ojt-olivia', 'active', '', 1, 3600, %d, %d,"
              " %d, %d, %d, %d)" % (ALICE, G_WEB, now, now, now, now + 3600, now, now + 3600))
    row = fleet.grants("okta_login = 'old-alice@example.com'")[0]

    def user_reads():
        return len([r for r in fleet.okta.requests() if r["method"] == "GET"
                    and r["path"] == "/api/v1/users/" + ALICE])
    n = user_reads()
    wait_for(lambda: user_reads() >= n + 3, 20, what="three sweeps reading alice")
    after = fleet.grant(row["id"])
    assert after["user"] == "ojt-mallory" and after["sig"] == "" and after["okta_login"] == "old-alice@example.com", \
        after
    assert not fleet.audit(row["id"], "login_changed")
    assert "not signed with this fleet's key" in a.daemon.log()
