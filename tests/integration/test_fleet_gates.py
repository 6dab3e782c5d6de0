"""Gates that hold no Okta credential (issue 17): a gate's okta-jitd has no
[okta] section and no key, keeps the grants that are not over and each
group's snapshot (the member list a granter read from Okta) in memory,
follows the ledger through PostgreSQL's LISTEN/NOTIFY, and answers every
check from that memory. The snapshots are written here straight into the
ledger (as a granter does: the snapshots table), so that each test says
exactly what the gate has to work with."""
import os
import socket
import threading
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, BOB, CAROL, CHECK, G_OPS, G_STAGE, G_WEB, MALLORY, OLIVIA, P_OK, T_CODE,
                             T_DECISION, T_GROUP, T_USER, frame, recv_frame, tlv, wait_for)
from pam_fixtures import stack  # noqa: F401
from pg_fixtures import pg_server  # noqa: F401
from fleet_fixtures import fleet  # noqa: F401 - the fleet fixture (a database, a fake Okta, hosts)

LOGINS = {ALICE: "ojt-alice@example.com", BOB: "ojt-bob@example.com", CAROL: "ojt-carol@example.com",
          OLIVIA: "ojt-olivia@example.com", MALLORY: "ojt-mallory@example.com"}


def put_snapshot(fleet, grp, group_id, members=None, text=None, taken_at=None, state="ok", nmembers=None,
                 host="test-granter", key=None, sig=None):
    """Write grp's snapshot as a granter would (members: [(okta id, status)]
    with the seed's logins), or with the member text given as is; signed
    with the fleet's key (or key; sig: this signature as is)."""
    if text is None:
        text = "".join("%s\t%s\t%s\n" % (uid, status, LOGINS[uid]) for uid, status in (members or []))
        if nmembers is None:
            nmembers = len(members or [])
    taken_at = int(time.time()) if taken_at is None else taken_at
    assert "$m$" not in text
    if sig is None:
        sig = fleet.snapshot_sig(grp, group_id, taken_at, state, nmembers or 0, text, key=key)
    fleet.sql(
        "INSERT INTO snapshots (grp, group_id, taken_at, gen, nmembers, host, state, members, sig) VALUES"
        " ('%s', '%s', %d, 1, %d, '%s', '%s', $m$%s$m$, '%s') ON CONFLICT (grp) DO UPDATE SET"
        " group_id = EXCLUDED.group_id, taken_at = EXCLUDED.taken_at, gen = snapshots.gen + 1,"
        " nmembers = EXCLUDED.nmembers, host = EXCLUDED.host, state = EXCLUDED.state, members = EXCLUDED.members,"
        " sig = EXCLUDED.sig"
        % (grp, group_id, taken_at, nmembers or 0, host, state.replace("'", "''"), text, sig))


def raw_check(sock, user, group, timeout=5.0):
    """One CHECK on the gate's socket, as root (the PAM module's view):
    (decision, code)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock)
        s.sendall(frame(CHECK, tlv(T_USER, user) + tlv(T_GROUP, group)))
        r = recv_frame(s, timeout)
    finally:
        s.close()
    assert r is not None and r[0] == P_OK, r
    f = dict(r[1])
    return f.get(T_DECISION), f.get(T_CODE)


def check(host, user, group):
    c = host.cli("check", group, "--user", user)
    assert c.j is not None, c
    return c


def gate(fleet, name="gate", extra=None, start=True):
    g = fleet.host(name, role="gate", extra=extra, start=start)
    with open(g.conf) as f:
        conf = f.read()
    assert "[okta]" not in conf and "private_key" not in conf, conf
    assert not os.path.exists(os.path.join(g.workdir, "okta.key"))
    return g


def granter_round_done(fleet, groups=("web-sudo", "staging-ssh", "prod-db-ssh")):
    """The granters' first snapshot round has ended (what a test writes
    after it is not overwritten until cache_ttl, or the granter's own
    membership change)."""
    want = set(groups)
    wait_for(lambda: want <= {r["grp"] for r in fleet.rows("SELECT grp FROM snapshots WHERE host <> 'test-granter'")},
             20, what="the granter's first snapshot round")


def granter_listed(fleet, grp, okta_id, timeout=10):
    """Wait for a granter's own listing of grp that names okta_id (a
    granter lists a group again at once after its own membership change;
    that write voids the gates' board entries, so a test that reads the
    board waits for it first)."""
    def listed():
        rows = fleet.rows("SELECT host, members FROM snapshots WHERE grp = '%s'" % grp)
        return rows and rows[0]["host"] != "test-granter" and okta_id in rows[0]["members"]
    wait_for(listed, timeout, what="the granter's listing of %s naming %s" % (grp, okta_id))


def test_a_gate_with_no_okta_credential_answers_from_the_ledger_and_snapshots(fleet):
    a = fleet.host("granter-a")
    granter_round_done(fleet)
    put_snapshot(fleet, "staging-ssh", G_STAGE, [(OLIVIA, "ACTIVE"), (CAROL, "SUSPENDED")])
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    g = gate(fleet)
    fleet.okta.clear_requests()
    # a standing group: the snapshot's word
    c = check(g, "ojt-olivia", "staging-ssh")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
    c = check(g, "ojt-carol", "staging-ssh")
    assert c.rc == EXIT_DENIED and c.j["code"] == "user_inactive", c
    c = check(g, "ojt-bob", "staging-ssh")
    assert c.rc == EXIT_DENIED and c.j["code"] == "not_member", c
    # a time-bound group: no grant, no entry
    c = check(g, "ojt-alice", "web-sudo")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    # the snapshot predates the grant's activation: the granter's word
    # (Okta confirmed the add) stands until a later listing says otherwise
    c = wait_for(lambda: (lambda c: c.rc == EXIT_OK and c)(check(g, "ojt-alice", "web-sudo")), 5,
                 what="the gate allows alice's new grant")
    assert c.j["decision"] == "allow" and c.j["id"] == gid, c
    # from here the test alone writes the snapshots (the granter would list
    # web-sudo again after its own membership change)
    wait_for(lambda: fleet.rows("SELECT host FROM snapshots WHERE grp = 'web-sudo'")[0]["host"] != "test-granter",
             10, what="the granter's listing after the add")
    a.daemon.stop()
    # a listing taken after the activation that lacks her is Okta's word
    time.sleep(1.1)
    put_snapshot(fleet, "web-sudo", G_WEB, [(BOB, "ACTIVE")], taken_at=int(time.time()) + 1)
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").j["code"] == "not_member", 5,
             what="a later listing without alice refuses her")
    # listed, but under another Okta id than the grant's: refused
    text = "%s\tACTIVE\tojt-alice@example.com\n" % MALLORY
    put_snapshot(fleet, "web-sudo", G_WEB, text=text, nmembers=1, taken_at=int(time.time()) + 1)
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_DENIED, 5, what="another id refused")
    # the group's id is not the grant's: refused
    put_snapshot(fleet, "web-sudo", "00gother0000000099", [(ALICE, "ACTIVE")], taken_at=int(time.time()) + 1)
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_DENIED, 5, what="another group id refused")
    # the right listing: allowed
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")], taken_at=int(time.time()) + 1)
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 5, what="the right listing allows")
    # a group the granter found no list for: refused with its reason
    put_snapshot(fleet, "staging-ssh", "", [], state="ambiguous: 2 OKTA_GROUPs named staging-ssh")
    c = wait_for(lambda: (lambda c: c.rc == EXIT_DENIED and c)(check(g, "ojt-olivia", "staging-ssh")), 5,
                 what="an ambiguous group refused")
    assert c.j["code"] == "ambiguous_group" and "ambiguous" in c.j["message"], c
    # the gate asked Okta nothing (it cannot: it holds no credential)
    assert "role = gate: the [okta] credential" not in g.daemon.log()
    gate_reqs = [q for q in fleet.okta.requests() if "/api/v1/users/ojt-olivia" in q["path"]]
    assert gate_reqs == [], gate_reqs


def test_a_revocation_on_a_granter_is_refused_by_the_gate_within_a_second(fleet):
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    g = gate(fleet)
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: raw_check(g.sock, "ojt-alice", "web-sudo")[0] == "allow", 5, what="the gate allows")
    seen = {}
    stop = threading.Event()

    def poll():
        n = 0
        while not stop.is_set():
            d, code = raw_check(g.sock, "ojt-alice", "web-sudo")
            n += 1
            if d != "allow":
                seen["at"], seen["code"], seen["n"] = time.time(), code, n
                return
    t = threading.Thread(target=poll)
    t.start()
    try:
        t0 = time.time()
        r = b.cli("revoke", str(gid), user="ojt-alice")
        t1 = time.time()
        assert r.rc == EXIT_OK, r
        t.join(10)
    finally:
        stop.set()
        t.join(10)
    assert "at" in seen, "the gate never refused after the revocation"
    row = fleet.grant(gid)
    assert row["state"] == "revoked", row
    delay = seen["at"] - t0
    print("GATE revocation: refused %.3f s after the revoke began (the revoke returned after %.3f s; "
          "%d checks polled; code %s)" % (delay, t1 - t0, seen["n"], seen["code"]))
    assert seen["code"] in ("no_grant", "pending"), seen
    # the bound the issue asks (1 s), with room for a loaded machine
    assert delay < 3.0, delay


BAD_SNAPSHOTS = [
    ("not an okta id", "not-an-id\tACTIVE\tojt-bob@example.com\n", 1),
    ("unknown status", "%s\tHACKED\tojt-bob@example.com\n" % BOB, 1),
    ("control character in the login", "%s\tACTIVE\tojt-bob\x1b@example.com\n" % BOB, 1),
    ("count mismatch", "%s\tACTIVE\tojt-bob@example.com\n" % BOB, 2),
    ("no line end", "%s\tACTIVE\tojt-bob@example.com" % BOB, 1),
    ("four fields", "%s\tACTIVE\tojt-bob@example.com\textra\n" % BOB, 1),
    ("login listed twice", "%s\tACTIVE\tojt-bob@example.com\n%s\tACTIVE\tOJT-BOB@example.com\n" % (BOB, ALICE), 2),
]


def test_a_snapshot_the_gate_cannot_parse_answers_unavailable(fleet):
    """Each bad snapshot is of a standing group of its own (in no flow, so
    no granter keeps it): bad-0, bad-1, ..."""
    fleet.host("granter-a")
    for i, (what, text, nmembers) in enumerate(BAD_SNAPSHOTS):
        put_snapshot(fleet, "bad-%d" % i, G_OPS, text=text, nmembers=nmembers)
    g = gate(fleet)
    for i, (what, text, nmembers) in enumerate(BAD_SNAPSHOTS):
        c = check(g, "ojt-bob", "bad-%d" % i)
        assert c.j["decision"] == "unavailable" and c.j["code"] == "snapshot_unavailable", (what, c)
        assert "bad-%d" % i in c.j["message"], (what, c)
        wait_for(lambda: "snapshot unusable group=bad-%d " % i in g.daemon.log(), 5, what="the log line: " + what)
    # once, not once per check
    for i in range(len(BAD_SNAPSHOTS)):
        check(g, "ojt-bob", "bad-%d" % i)
    log = g.daemon.log()
    for i in range(len(BAD_SNAPSHOTS)):
        assert log.count("snapshot unusable group=bad-%d " % i) == 1, log[-3000:]
    # a good one written again: used at once
    put_snapshot(fleet, "bad-0", G_OPS, [(ALICE, "ACTIVE"), (BOB, "ACTIVE")])
    wait_for(lambda: check(g, "ojt-bob", "bad-0").rc == EXIT_OK, 5, what="the good snapshot used")


def test_a_gate_started_before_any_snapshot_answers_unavailable_then_allows(fleet):
    fleet.host("granter-a")
    g = gate(fleet)
    c = check(g, "ojt-bob", "ops-oncall")
    assert c.j["decision"] == "unavailable" and c.j["code"] == "snapshot_unavailable", c
    wait_for(lambda: "check answered unavailable group=ops-oncall code=snapshot_unavailable" in g.daemon.log(), 5,
             what="the log line")
    put_snapshot(fleet, "ops-oncall", G_OPS, [(ALICE, "ACTIVE"), (BOB, "ACTIVE")])
    wait_for(lambda: check(g, "ojt-bob", "ops-oncall").rc == EXIT_OK, 5, what="allowed once the snapshot is there")
    c = check(g, "ojt-olivia", "ops-oncall")
    assert c.rc == EXIT_DENIED and c.j["code"] == "not_member", c
    # a snapshot deleted from the ledger (by hand: no granter deletes one)
    # is forgotten on its notice, not at the next full read 10 s later
    t0 = time.time()
    fleet.pg.psql("DELETE FROM snapshots WHERE grp = 'ops-oncall'", db=fleet.db)
    wait_for(lambda: raw_check(g.sock, "ojt-bob", "ops-oncall") == ("unavailable", "snapshot_unavailable"), 5,
             interval=0.02, what="unavailable once the snapshot is deleted")
    print("GATE deleted snapshot: unavailable after %.3f s" % (time.time() - t0))
    assert time.time() - t0 < 5


def test_a_stale_snapshot_is_not_used(fleet):
    fleet.host("granter-a")
    g = gate(fleet, extra={"outage_grace": "2m"})
    put_snapshot(fleet, "ops-oncall", G_OPS, [(BOB, "ACTIVE")], taken_at=int(time.time()) - 90)
    c = wait_for(lambda: (lambda c: c.rc == EXIT_OK and c)(check(g, "ojt-bob", "ops-oncall")), 5,
                 what="older than 2 x cache_ttl: answered from grace")
    assert fleet.audit(event="check_grace"), "the grace answer was not audited"
    put_snapshot(fleet, "ops-oncall", G_OPS, [(BOB, "ACTIVE")], taken_at=int(time.time()) - 121)
    c = wait_for(lambda: (lambda c: c.j["decision"] == "unavailable" and c)(check(g, "ojt-bob", "ops-oncall")), 5,
                 what="older than outage_grace: unavailable")
    assert c.j["code"] == "snapshot_unavailable" and "old" in c.j["message"], c


def _terminate_listener(fleet):
    """End the gate's backends, its listener among them (the database
    drops them): how many."""
    rows = fleet.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
                         " AND usename = 'okta_jit_gate'" % fleet.db)
    return len(rows)


def test_the_database_going_away(fleet):
    a = fleet.host("granter-a")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    g = gate(fleet, extra={"outage_grace": "8s"})
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 5, what="allowed")
    # the listener's connection is cut: it reconnects and reads everything
    # again (a listing taken after the grant names her: one that did not
    # would be Okta's word against the grant)
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")])
    assert _terminate_listener(fleet) >= 1
    wait_for(lambda: "connection to the shared ledger lost" in g.daemon.log(), 10, what="the loss logged")
    assert check(g, "ojt-alice", "web-sudo").rc == EXIT_OK
    r = a.cli("revoke", str(gid), user="ojt-alice")
    assert r.rc == EXIT_OK, r
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_DENIED, 5, what="the revocation seen after")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 5, what="allowed again")
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")])
    time.sleep(1)
    taken_at = fleet.rows("SELECT taken_at FROM snapshots WHERE grp = 'web-sudo'")[0]["taken_at"]
    fleet.pg.stop()
    stopped = time.time()
    try:
        # from memory, as grace: allowed (audited), the never-seen refused
        # as unavailable
        c = check(g, "ojt-alice", "web-sudo")
        assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
        c = check(g, "ojt-bob", "web-sudo")
        assert c.j["decision"] == "unavailable" and c.j["code"] == "ledger_unavailable", c
        # past outage_grace (8 s) since the last good read (the listener
        # wakes every half second while it is connected), or since the
        # snapshot was taken, whichever comes first: unavailable; an answer
        # given before that is the memory's
        not_before = min(stopped - 2, taken_at) + 8
        answers = []
        while True:
            t0 = time.time()
            c = check(g, "ojt-alice", "web-sudo")
            answers.append((t0, time.time(), c.j["decision"], c.j["code"]))
            if c.j["decision"] == "unavailable":
                break
            assert time.time() - stopped < 20, ("still allowed 20 s after the ledger stopped", answers)
            time.sleep(0.2)
        assert c.j["code"] in ("ledger_unavailable", "snapshot_unavailable"), c
        assert answers[-1][1] >= not_before, ("unavailable before outage_grace", not_before, answers)
        assert all(d == "allow" for _, _, d, _ in answers[:-1]), answers
    finally:
        fleet.pg.start()
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")])
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 20, what="recovered after the restart")
    assert fleet.grant(gid)["state"] == "active"


def test_the_answer_board_on_a_gate(fleet, stack):  # noqa: F811
    from test_pam_module import frozen
    a = fleet.host("granter-a")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    g = gate(fleet)
    board = g.pam_sock + ".answers"
    assert os.path.exists(board) and os.stat(board).st_mode & 0o777 == 0o600
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    granter_listed(fleet, "web-sudo", ALICE)
    line = "group=web-sudo socket=%s timeout_ms=400" % g.pam_sock
    wait_for(lambda: stack.account(line).run("ojt-alice", "acct")["acct"] == "PAM_SUCCESS", 5,
             what="allowed through the gate")
    with frozen(g):
        r = stack.account(line).run("ojt-alice", "acct")
        assert r["acct"] == "PAM_SUCCESS", r  # from the board: no round trip
        r = stack.account(line).run("ojt-bob", "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # not on the board: asks, no answer
    # revoked on the granter: the gate's memory hears of it and voids the entry
    assert a.cli("revoke", str(gid), user="ojt-alice").rc == EXIT_OK
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_DENIED, 5, what="the gate refuses")
    with frozen(g):
        r = stack.account(line).run("ojt-alice", "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    r = stack.account(line).run("ojt-alice", "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    # a new grant is on the board again; a snapshot change voids it
    a.request("web-sudo", dur="10m", as_user="ojt-alice")
    wait_for(lambda: stack.account(line).run("ojt-alice", "acct")["acct"] == "PAM_SUCCESS", 5, what="allowed")
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")])
    time.sleep(1.5)
    with frozen(g):
        r = stack.account(line).run("ojt-alice", "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r


def test_a_grant_made_on_a_killed_granter_is_removed_by_another_at_its_end(fleet):
    """Issue 17 item 3: the surviving granter hears of the grant through the
    database's notice and ends it on time, not at its next idle wake-up
    (60 s)."""
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    time.sleep(1)  # b listens
    gid = a.request("web-sudo", dur="6s", as_user="ojt-bob").grant["id"]
    end = fleet.grant(gid)["end_at"]
    a.daemon.kill9()
    wait_for(lambda: BOB not in fleet.okta.members(G_WEB), 30, interval=0.05, what="bob removed by b")
    late = time.time() - end
    print("GRANTER removal by the survivor: %.2f s after the grant's end" % late)
    assert late < 5.0, late
    wait_for(lambda: fleet.grant(gid)["state"] == "expired", 10, what="expired")


def test_doctor_on_a_gate(fleet):
    # the granter makes the schema; the snapshots are this test's own
    # (a running granter keeps every flow group's: snapshots.c)
    fleet.host("granter-a").daemon.stop()
    fleet.sql("DELETE FROM snapshots")
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")])
    put_snapshot(fleet, "staging-ssh", G_STAGE, [], taken_at=int(time.time()) - 3600)
    g = gate(fleet, start=False)
    r = g.cli("--config", g.conf, "doctor", json_out=False)
    out = r.out
    assert "PASS  credential" in out and "no Okta credential" in out, out
    assert "PASS  ledger" in out and "PASS  notices" in out, out
    assert "group 'web-sudo': 1 members" in out, out
    assert "snapshot of group 'staging-ssh' is" in out and "FAIL  snapshot" in out, out
    assert "no snapshot of group 'prod-db-ssh'" in out, out
    assert "token" not in out and "scope" not in out, out  # no Okta step
    assert r.rc == 1, r
    # a credential left in a gate's configuration is flagged
    with open(g.conf) as f:
        text = f.read()
    with open(g.conf, "w") as f:
        f.write("[okta]\norg_url = https://example.okta.com\nclient_id = x\nprivate_key = /nonexistent.pem\n\n"
                + text)
    r = g.cli("--config", g.conf, "doctor", json_out=False)
    assert "WARN  credential" in r.out and "never uses it" in r.out, r
    # and the daemon ignores it, with a warning
    g.daemon.start()
    wait_for(lambda: "the [okta] credential" in g.daemon.log() and "is ignored" in g.daemon.log(), 5,
             what="the warning")


def test_a_lost_notice_costs_seconds_not_correctness(fleet):
    """A write the gate is never told of (the trigger switched off around
    it, as a lost notice) is still seen by the full read every 10 s."""
    a = fleet.host("granter-a")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    g = gate(fleet)
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 5, what="allowed")
    fleet.pg.psql("ALTER TABLE grants DISABLE TRIGGER grants_notify; UPDATE grants SET state = 'revoked',"
                  " updated_at = %d WHERE id = %d; ALTER TABLE grants ENABLE TRIGGER grants_notify"
                  % (int(time.time()), gid), db=fleet.db)
    t0 = time.time()
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_DENIED, 25, interval=0.2,
             what="the unannounced revocation seen by the periodic read")
    print("GATE unannounced revocation seen after %.1f s" % (time.time() - t0))


def test_a_gate_check_makes_no_database_round_trip(fleet):
    """Every statement the gates' role runs is logged while this test runs:
    a hundred checks on the gate add none (before issue 17, each check read
    the grant from the database)."""
    a = fleet.host("granter-a")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    fleet.give_gate_rights()
    fleet.pg.psql("ALTER ROLE okta_jit_gate SET log_statement = 'all'", db="postgres")
    try:
        g = gate(fleet)
        a.request("web-sudo", dur="10m", as_user="ojt-alice")
        wait_for(lambda: raw_check(g.sock, "ojt-alice", "web-sudo")[0] == "allow", 5, what="allowed")

        def gate_statements():
            with open(fleet.pg.logfile, errors="replace") as f:
                return sum(1 for line in f if "statement:" in line or "execute" in line)
        # the gate's own reads are logged (its first full read at least)
        assert gate_statements() > 0
        before = gate_statements()
        t0 = time.time()
        for _ in range(100):
            assert raw_check(g.sock, "ojt-alice", "web-sudo")[0] == "allow"
        spent = time.time() - t0
        time.sleep(0.5)
        after = gate_statements()
    finally:
        fleet.pg.psql("ALTER ROLE okta_jit_gate RESET log_statement", db="postgres")
    # the periodic full read (every 10 s) may fall in the window: a few
    # statements, never one per check
    print("GATE 100 checks in %.3f s: %d statements logged meanwhile" % (spent, after - before))
    assert after - before < 20, after - before


def test_a_gate_board_answer_ends_with_the_grant(fleet, stack):  # noqa: F811
    from test_pam_module import frozen
    a = fleet.host("granter-a")
    put_snapshot(fleet, "web-sudo", G_WEB, [])
    g = gate(fleet)
    gid = a.request("web-sudo", dur="4s", as_user="ojt-alice").grant["id"]
    end = fleet.grant(gid)["end_at"]
    granter_listed(fleet, "web-sudo", ALICE, timeout=3)
    line = "group=web-sudo socket=%s timeout_ms=400" % g.pam_sock
    wait_for(lambda: stack.account(line).run("ojt-alice", "acct")["acct"] == "PAM_SUCCESS", 3, what="allowed")
    with frozen(g):
        assert stack.account(line).run("ojt-alice", "acct")["acct"] == "PAM_SUCCESS"
        while time.time() < end + 0.2:
            time.sleep(0.1)
        r = stack.account(line).run("ojt-alice", "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # past the grant's end: asks
    r = stack.account(line).run("ojt-alice", "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
