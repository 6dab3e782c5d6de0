"""A fleet on one PostgreSQL ledger (issue 9): two granters and a gate on
this machine, each okta-jitd with its own socket and config, one database
from Debian's PostgreSQL on loopback, one fake Okta. At the end of each
test the ledger and the Okta server agree.

Since issue 17 the gates hold no Okta credential (their config has no
[okta] section: fleet_fixtures.Fleet.host) and answer from the snapshots the
granters keep in the ledger, told of every change by LISTEN/NOTIFY."""
import os
import subprocess
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, BOB, G_OPS, G_WEB, JIT_FLOWS, MALLORY, wait_for
from fleet_fixtures import fleet, pg_server, removed_events  # noqa: F401
from pam_fixtures import driver_path, stack  # noqa: F401


def gate_check(gate, group, user, decision, timeout=10):
    """The gate's answer for user and group once it is decision. The gate
    learns of another host's write by a notice: within a second, so wait for
    it (generously) rather than race it."""
    def ok():
        c = gate.cli("check", group, "--user", user)
        return c.j is not None and c.j.get("decision") == decision and c
    return wait_for(ok, timeout, interval=0.05, what="%s: %s %s for %s" % (gate.workdir, decision, group, user))


def test_a_grant_made_on_one_host_gates_everywhere(fleet):
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    g = fleet.host("gate", role="gate")
    # the gate answers from the granters' snapshots: a standing group is
    # answered as soon as one is written; a time-bound one without a grant
    # is refused
    fleet.wait_gate_ready(g)
    c = g.cli("check", "staging-ssh", "--user", "ojt-alice")
    assert c.j["decision"] in ("allow", "deny") and "unavailable" not in c.j["code"], c
    c = g.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    assert ALICE in fleet.okta.members(G_WEB)
    gate_check(g, "web-sudo", "ojt-alice", "allow")
    for host in (a, b, g):
        c = host.cli("check", "web-sudo", "--user", "ojt-alice")
        assert c.rc == EXIT_OK and c.j["decision"] == "allow" and c.j["id"] == gid, (host.workdir, c)
    # revoked on the other granter: refused everywhere (the gate within a
    # second: test_fleet_scale.py measures it)
    r = b.cli("revoke", str(gid), user="ojt-alice")
    assert r.rc == EXIT_OK, r
    gate_check(g, "web-sudo", "ojt-alice", "deny", timeout=5)
    for host in (a, b, g):
        c = host.cli("check", "web-sudo", "--user", "ojt-alice")
        assert c.rc == EXIT_DENIED, (host.workdir, c)
    wait_for(lambda: ALICE not in fleet.okta.members(G_WEB), 20, what="alice removed from Okta")
    assert removed_events(fleet).get(gid) == 1
    # other hosts write the shared ledger: no granter keeps an answer board;
    # the gate does, voided by what its memory of the ledger hears of
    for host in (a, b):
        assert os.path.exists(host.pam_sock) and not os.path.exists(host.pam_sock + ".answers"), host.workdir
    assert os.path.exists(g.pam_sock + ".answers"), g.workdir


def test_a_gate_changes_nothing(fleet):
    a = fleet.host("granter-a")
    g = fleet.host("gate", role="gate")
    with open(g.conf) as f:
        conf = f.read()
    assert "[okta]" not in conf and "private_key" not in conf and "client_id" not in conf, conf
    r = g.request("web-sudo", dur="10m", as_user="ojt-alice", expect=None)
    assert r.rc != EXIT_OK and "role = gate" in (r.out + r.err), r
    assert ALICE not in fleet.okta.members(G_WEB)
    assert fleet.grants() == []
    for cmd in (["approve", "1"], ["deny", "1"], ["revoke", "1"], ["extend", "1", "--for", "1h"]):
        r = g.cli(*cmd)
        assert r.rc != EXIT_OK and "role = gate" in (r.out + r.err), (cmd, r)
    # it still answers checks, with no Okta credential at all: with the
    # only granter stopped, nothing in the fleet talks to Okta
    fleet.wait_gate_ready(g)
    a.daemon.stop()
    fleet.okta.clear_requests()
    c = g.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    c = g.cli("check", "staging-ssh", "--user", "ojt-olivia")
    assert c.j["decision"] in ("allow", "deny") and "unavailable" not in c.j["code"], c
    c = g.cli("check", "staging-ssh", "--user", "ojt-mallory")
    assert c.rc == EXIT_DENIED and c.j["code"] == "not_member", c
    assert fleet.okta.requests() == [], "the gate called Okta"


def test_expiry_with_two_granters_removes_each_grant_once(fleet):
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    users = ["ojt-alice", "ojt-bob", "ojt-olivia", "ojt-mallory"]
    ids = []
    for i, u in enumerate(users):
        host = a if i % 2 == 0 else b
        ids.append(host.request("staging-ssh", dur="%ds" % (3 + i), as_user=u).grant["id"])
    wait_for(lambda: all(fleet.grant(i)["state"] == "expired" and fleet.grant(i)["op"] == "" for i in ids), 40,
             what="every grant expired and settled")
    removed = removed_events(fleet)
    for i in ids:
        assert removed.get(i) == 1, (i, removed)
    # both granters sweep; neither removed a grant twice, and every
    # membership is gone: in Okta, and for a gate, which answers from the
    # snapshot a granter took after its removal (staging-ssh lets standing
    # members in: a snapshot that still listed them would let them pass)
    assert fleet.okta.members(G_STAGE) == []
    g = fleet.host("gate", role="gate")
    for u in users:
        c = gate_check(g, "staging-ssh", u, "deny")
        assert c.rc == EXIT_DENIED and c.j["code"] == "not_member", c


def test_a_granter_killed_mid_removal_is_finished_by_another(fleet):
    a = fleet.host("granter-a")
    b = fleet.host("granter-b", start=False)
    gid = a.request("web-sudo", dur="3s", as_user="ojt-bob").grant["id"]
    # Okta hangs on the removal while a is the only granter
    fleet.okta.faults({"method": "DELETE", "path": "^/api/v1/groups/", "action": "hang", "seconds": 30,
                       "count": -1})
    wait_for(lambda: any(q["method"] == "DELETE" for q in fleet.okta.requests()), 30,
             what="a started the removal")
    a.daemon.kill9()
    fleet.okta.control("faults/clear", {})
    b.daemon.start()
    wait_for(lambda: fleet.grant(gid)["op"] == "" and BOB not in fleet.okta.members(G_WEB), 60,
             what="b finished the removal a started")
    assert fleet.grant(gid)["state"] == "expired"
    # the gate refuses from the end whatever Okta says
    c = b.cli("check", "web-sudo", "--user", "ojt-bob")
    assert c.rc == EXIT_DENIED, c


def test_database_stopped_and_restarted_during_churn(fleet):
    a = fleet.host("granter-a")
    g = fleet.host("gate", role="gate", extra={"outage_grace": "5m"})
    alice = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    bob = a.request("web-sudo", dur="6s", as_user="ojt-bob").grant["id"]
    for u in ("ojt-alice", "ojt-bob"):
        c = gate_check(g, "web-sudo", u, "allow")
        assert c.rc == EXIT_OK, c
    bob_end = fleet.grant(bob)["end_at"]
    fleet.pg.stop()
    try:
        # granters refuse new grants, clearly
        r = a.request("staging-ssh", dur="5m", as_user="ojt-olivia", expect=None)
        assert r.rc != EXIT_OK and "ledger" in (r.out + r.err), r
        # the gate answers what it read, within outage_grace
        c = g.cli("check", "web-sudo", "--user", "ojt-alice")
        assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
        # never past a grant's end
        wait_for(lambda: time.time() > bob_end + 0.5, 20)
        c = g.cli("check", "web-sudo", "--user", "ojt-bob")
        assert c.rc == EXIT_DENIED, c
        # what it never read it cannot allow: a grant made meanwhile cannot
        # be ruled out
        c = g.cli("check", "web-sudo", "--user", "ojt-carol")
        assert c.j["decision"] == "unavailable" and c.j["code"] == "ledger_unavailable", c
    finally:
        fleet.pg.start()
    # back: bob's grant is settled and removed, alice's stands, requests work
    wait_for(lambda: fleet.grant(bob)["state"] == "expired" and fleet.grant(bob)["op"] == "", 60,
             what="bob's expiry recorded after the database came back")
    wait_for(lambda: BOB not in fleet.okta.members(G_WEB), 30, what="bob removed from Okta")
    assert fleet.grant(alice)["state"] == "active" and ALICE in fleet.okta.members(G_WEB)
    r = a.request("staging-ssh", dur="5m", as_user="ojt-olivia")
    assert r.rc == EXIT_OK, r
    # the gate listens again: it hears of grants made after the outage
    gate_check(g, "staging-ssh", "ojt-olivia", "allow")
    gate_check(g, "web-sudo", "ojt-bob", "deny")
    gid = a.request("web-sudo", dur="10m", as_user="ojt-bob").grant["id"]
    c = gate_check(g, "web-sudo", "ojt-bob", "allow")
    assert c.j["id"] == gid, c


def assert_ledger_and_okta_agree(fleet, groups=(("web-sudo", G_WEB), ("staging-ssh", G_STAGE))):
    """Every active grant's user is a member; no one else is a member of a
    time-bound group (none of these users is a standing member)."""
    ids = {"ojt-alice": ALICE, "ojt-bob": BOB, "ojt-olivia": OLIVIA, "ojt-mallory": MALLORY}
    now = int(time.time())
    for name, gid in groups:
        active = {r["user"] for r in fleet.grants("grp = '%s' AND kind = 'grant' AND state = 'active' AND op = ''"
                                                  " AND end_at > %d" % (name, now + 2))}
        members = set(fleet.okta.members(gid))
        for user, uid in ids.items():
            if user in active:
                assert uid in members, (name, user, "active grant but not a member")
            elif not fleet.grants("\"user\" = '%s' AND grp = '%s' AND state = 'active'" % (user, name)):
                assert uid not in members, (name, user, "a member with no active grant")
        owed = fleet.grants("op != ''")
        assert owed == [], owed


def test_churn_through_a_database_restart(fleet):
    """Requests and revocations run on two granters while PostgreSQL is
    stopped and started again; afterwards every owed Okta change is made
    and the ledger and Okta agree."""
    import threading
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    stop = threading.Event()
    counts = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def churn(host, users):
        k = 0
        while not stop.is_set():
            u = users[k % len(users)]
            k += 1
            r = host.cli("request", "staging-ssh", "--for", "%ds" % (2 + k % 4), user=u)
            with lock:
                counts["ok" if r.rc == EXIT_OK else "refused"] += 1
            if r.rc == EXIT_OK and k % 3 == 0:
                host.cli("revoke", str(r.grant["id"]), user=u)
            time.sleep(0.2)

    threads = [threading.Thread(target=churn, args=(a, ["ojt-alice", "ojt-bob"])),
               threading.Thread(target=churn, args=(b, ["ojt-olivia", "ojt-mallory"]))]
    for t in threads:
        t.start()
    try:
        time.sleep(4)
        fleet.pg.stop()
        time.sleep(4)
        fleet.pg.start()
        time.sleep(6)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert counts["ok"] > 4 and counts["refused"] > 0, counts
    # the last grants end within 6 s; both granters settle everything
    wait_for(lambda: not fleet.grants("op != '' OR (state = 'active' AND end_at <= %d)" % int(time.time())), 60,
             what="every owed Okta change made")
    time.sleep(7)
    wait_for(lambda: not fleet.grants("op != '' OR state = 'active'"), 60, what="every grant ended and settled")
    assert_ledger_and_okta_agree(fleet)
    # Each ended grant was removed; twice only if a granter's claim was
    # lost with its connection when the database went away (docs/fleet.md).
    removed = removed_events(fleet)
    ended = [g["id"] for g in fleet.grants("state IN ('expired','revoked') AND was_member = 0")]
    assert ended and all(removed.get(i, 0) in (1, 2) for i in ended), (ended, removed)
    print("FLEET churn: %d grants, %d requests refused (the database was down for 4 s), %d removed twice" %
          (counts["ok"], counts["refused"], sum(1 for n in removed.values() if n > 1)))


def test_the_database_password_from_a_systemd_credential(fleet):
    """No ledger_password_file: okta-jitd reads the credential systemd
    passes (LoadCredential=ledger-password:...) from $CREDENTIALS_DIRECTORY."""
    creds = os.path.join(fleet.base, "credentials")
    os.makedirs(creds, mode=0o700)
    fleet.pg.write_password_file(os.path.join(creds, "ledger-password"))
    a = fleet.host("granter-cred", start=False, credential=True)
    old = os.environ.get("CREDENTIALS_DIRECTORY")
    os.environ["CREDENTIALS_DIRECTORY"] = creds
    try:
        a.daemon.start()
    finally:
        if old is None:
            del os.environ["CREDENTIALS_DIRECTORY"]
        else:
            os.environ["CREDENTIALS_DIRECTORY"] = old
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    assert fleet.grant(gid)["state"] == "active"
    # without it, the database refuses and okta-jitd says so at start
    b = fleet.host("granter-nopw", start=False, credential=True)
    with pytest.raises(RuntimeError) as ei:
        b.daemon.start(timeout=15)
    assert "ledger" in str(ei.value), str(ei.value)[-2000:]
    assert fleet.pg.password not in str(ei.value)


def test_a_new_grant_on_one_granter_during_a_removal_on_another_keeps_its_membership(fleet):
    """alice's grant is revoked on a while Okta is slow to apply the
    DELETE; meanwhile she asks b for a new grant. b must not find the
    membership still in place, take it as the new grant's and add nothing,
    only to have a's DELETE land afterwards (an active grant with no
    membership: alice locked out). Membership changes of one user and group
    are made one granter at a time."""
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    old = a.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    assert ALICE in fleet.okta.members(G_WEB)
    fleet.okta.faults({"method": "DELETE", "path": "^/api/v1/groups/", "action": "delay", "seconds": 4,
                       "count": 1})
    p = a.cli_popen("revoke", old, user="ojt-alice")

    def deleting():
        st = fleet.okta.state()
        return st["faults_pending"] == 0 and st["inflight"] >= 1
    wait_for(deleting, 15, interval=0.02, what="a's DELETE in flight at the fake")
    r = b.request("web-sudo", dur="5m", as_user="ojt-alice", expect=None)
    assert r.rc in (EXIT_OK, EXIT_OKTA), r
    new = fleet.grants("\"user\" = 'ojt-alice' AND id <> %d" % old)[0]["id"]
    p.communicate(timeout=30)
    assert p.returncode == EXIT_OK
    wait_for(lambda: fleet.grant(new)["state"] == "active" and fleet.grant(new)["op"] == "", 30,
             what="the new grant active and settled")
    assert fleet.grant(new)["was_member"] == 0
    wait_for(lambda: ALICE in fleet.okta.members(G_WEB), 10, what="alice a member for her new grant")
    time.sleep(1.5)  # nothing owed is left to take it away
    assert ALICE in fleet.okta.members(G_WEB)
    for host in (a, b):
        c = host.cli("check", "web-sudo", user="ojt-alice")
        assert c.rc == EXIT_OK, c
    assert fleet.grant(old)["state"] == "revoked" and fleet.grant(old)["op"] == ""
    assert b.cli("revoke", new, user="ojt-alice").rc == EXIT_OK
    wait_for(lambda: ALICE not in fleet.okta.members(G_WEB), 15, what="removed at the new grant's end")


# ---------------------------------------------------------------- issue 15.2

G_AUDIT = "00gaudit000000006"  # audit-readers: an OKTA_GROUP in no flow


def forge_grant(fleet, user, grp, group_id, okta_user_id, duration=600, state="approved", op="add", end=None,
                was_member=0):
    """A grant row written straight into the database, as someone with the
    database's password (or a gate with the old shared role) could."""
    now = int(time.time())
    end = now + duration if end is None else end
    return int(fleet.sql(
        "INSERT INTO grants (kind, \"user\", okta_login, okta_user_id, grp, group_id, flow, requester, reason,"
        " approver, state, op, was_member, duration, requested_at, decided_at, start_at, end_at, updated_at,"
        " next_attempt_at) VALUES ('grant', '%s', '%s@example.com', '%s', '%s', '%s', 'web', '%s', 'forged',"
        " 'ojt-olivia', '%s', '%s', %d, %d, %d, %d, %d, %d, %d, 0) RETURNING id"
        % (user, user, okta_user_id, grp, group_id, user, state, op, was_member, duration, now, now, now, end,
           now)
    ).splitlines()[0])


def test_a_gate_role_cannot_write_grant_rows(fleet):
    """docs/fleet.md's gate role: a gate reads the ledger and writes its
    sessions and audit lines, never a grant row (nor a snapshot:
    test_fleet_scale.py)."""
    a = fleet.host("granter-a")
    g = fleet.host("gate", role="gate")
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    rc, _, err = fleet.gate_sql(
        "INSERT INTO grants (\"user\", grp, group_id, okta_user_id, requester, state, op, duration,"
        " requested_at, updated_at) VALUES ('ojt-mallory', 'web-sudo', '%s', '%s', 'ojt-mallory', 'approved',"
        " 'add', 600, 0, 0)" % (G_WEB, MALLORY))
    assert rc != 0 and "permission denied" in err, err
    for q in ("UPDATE grants SET end_at = end_at + 86400 WHERE id = %d" % gid,
              "DELETE FROM grants WHERE id = %d" % gid,
              "INSERT INTO notifications (target, event, payload, created_at) VALUES ('x', 'granted', '{}', 0)"):
        rc, _, err = fleet.gate_sql(q)
        assert rc != 0 and "permission denied" in err, (q, err)
    # and with that role the gate does its job: checks, audit lines
    c = gate_check(g, "web-sudo", "ojt-alice", "allow")
    assert c.rc == EXIT_OK and c.j["id"] == gid, c
    c = g.cli("check", "web-sudo", "--user", "ojt-bob")
    assert c.rc == EXIT_DENIED, c
    assert fleet.audit(event="check_refused"), "the gate wrote no audit line"


def test_forged_grant_rows_are_refused_and_never_sent_to_okta(fleet):
    """A row written into the database by someone other than a granter is
    checked against the granter's own configuration before any call that
    changes Okta: refused, audited, and no PUT or DELETE reaches Okta."""
    a = fleet.host("granter-a")  # creates the schema
    a.daemon.stop()
    fleet.okta.clear_requests()
    forged = {
        # group in no flow
        "no-flow": forge_grant(fleet, "ojt-alice", "audit-readers", G_AUDIT, ALICE),
        # a flow's group name with another group's id
        "group-id-mismatch": forge_grant(fleet, "ojt-alice", "web-sudo", G_AUDIT, ALICE),
        # bob's row carrying alice's Okta id
        "user-id-mismatch": forge_grant(fleet, "ojt-bob", "web-sudo", G_WEB, ALICE),
        # longer than the flow's max_duration (2h)
        "duration-over-max": forge_grant(fleet, "ojt-alice", "web-sudo", G_WEB, ALICE, duration=10 * 3600),
        # mallory is in no requesters group of flow web
        "not-a-requester": forge_grant(fleet, "ojt-mallory", "web-sudo", G_WEB, MALLORY),
        # an 'ended' row asking to remove bob's standing membership of a
        # group in no flow
        "no-flow-remove": forge_grant(fleet, "ojt-bob", "ops-oncall", G_OPS, BOB, state="expired", op="remove",
                                      end=int(time.time()) - 5),
        # an 'ended' row of a flow's group name with another group's id:
        # not taken for a group renamed in Okta (issue 20), whose removal
        # follows only a row a granter signed
        "group-id-mismatch-remove": forge_grant(fleet, "ojt-bob", "web-sudo", G_OPS, BOB, state="expired",
                                                op="remove", end=int(time.time()) - 5),
    }
    a.daemon.start()  # settles owed work at start
    wait_for(lambda: all(fleet.grant(i)["op"] == "" for i in forged.values()), 30,
             what="every forged row settled")
    for why, i in forged.items():
        row = fleet.grant(i)
        reason = why[:-len("-remove")] if why.endswith("-remove") else why
        assert row["state"] in ("failed", "expired") and "refused" in row["last_error"], (why, row)
        assert reason in row["last_error"], (why, row)
        refused = [x for x in fleet.audit(i, event="refused") if "reason=ledger-row-%s" % reason in x["detail"]]
        assert len(refused) == 1, (why, fleet.audit(i))
    changes = [q for q in fleet.okta.requests() if q["method"] in ("PUT", "DELETE", "POST")
               and "/api/v1/groups/" in q["path"]]
    assert changes == [], changes
    assert ALICE not in fleet.okta.members(G_AUDIT)
    assert BOB in fleet.okta.members(G_OPS)
    assert MALLORY not in fleet.okta.members(G_WEB) and ALICE not in fleet.okta.members(G_WEB)
    # a real request still goes through
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    assert fleet.grant(gid)["state"] == "active" and ALICE in fleet.okta.members(G_WEB)


def test_a_forged_row_claiming_a_standing_membership_is_still_removed_at_its_end(fleet):
    """A row that passes every check but says the user was already a
    member (was_member = 1) would have had its membership added and never
    removed. A membership a granter adds is removed at the grant's end."""
    a = fleet.host("granter-a")
    a.daemon.stop()
    i = forge_grant(fleet, "ojt-alice", "web-sudo", G_WEB, ALICE, duration=4, was_member=1)
    a.daemon.start()
    wait_for(lambda: fleet.grant(i)["state"] in ("active", "expired"), 20, what="the row settled")
    wait_for(lambda: fleet.grant(i)["state"] == "expired" and fleet.grant(i)["op"] == "", 30,
             what="the grant ended and settled")
    assert fleet.grant(i)["was_member"] == 0, fleet.grant(i)
    wait_for(lambda: ALICE not in fleet.okta.members(G_WEB), 10, what="alice removed at the end")
    assert any(q["method"] == "DELETE" for q in fleet.okta.requests())


TERMINATE_FLOWS = JIT_FLOWS.replace("[flow web]\n", "[flow web]\non_expiry = terminate\n", 1)


def _pid_start(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def test_a_forged_session_row_is_not_acted_on(fleet, stack):  # noqa: F811
    """A session row this host's daemon did not record (another host, or a
    gate with database write, wrote it naming this host and a process
    here) is neither warned nor ended; the session the daemon recorded
    itself is ended at the grant's end."""
    a = fleet.host("granter-a", flows=TERMINATE_FLOWS)
    gid = a.request("web-sudo", dur="6s", as_user="ojt-alice").grant["id"]
    # the real session: recorded through the PAM module by the driver
    stack.write("account required @MOD@ group=web-sudo socket=%s\n"
                "session required @MOD@ group=web-sudo socket=%s\n" % (a.sock, a.sock))
    real = subprocess.Popen([driver_path(), stack.confdir, stack.service, "ojt-alice", "acct", "open", "wait"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    victim = subprocess.Popen(["sleep", "120"])
    try:
        out = ""
        while "WAITING" not in out:
            line = real.stdout.readline()
            assert line, out
            out += line
        assert "STEP open = 0 PAM_SUCCESS" in out, out
        host = fleet.sql("SELECT host FROM sessions WHERE pid = %d" % real.pid)
        assert host, "the real session was not recorded"
        forged = int(fleet.sql(
            "INSERT INTO sessions (grant_id, \"user\", pid, service, tty, opened_at, logind_id, pid_start, host)"
            " VALUES (%d, 'ojt-alice', %d, 'sshd', '', %d, '', %d, '%s') RETURNING id"
            % (gid, victim.pid, int(time.time()), _pid_start(victim.pid), host)).splitlines()[0])
        # the event: the grant ended and the real session was ended
        wait_for(lambda: real.poll() is not None, 40, what="the recorded session ended at the grant's end")
        wait_for(lambda: any("session=%d " % forged not in x["detail"] for x in fleet.audit(gid, "session_ended")),
                 10, what="session_ended audited")
        ended = [x["detail"] for x in fleet.audit(gid, "session_ended")]
        assert victim.poll() is None, "the forged session's process was signalled"
        assert not any("session=%d " % forged in d for d in ended), ended
        assert fleet.rows("SELECT closed_at FROM sessions WHERE id = %d" % forged)[0]["closed_at"] == 0
    finally:
        for p in (real, victim):
            if p.poll() is None:
                p.kill()
                p.wait()
