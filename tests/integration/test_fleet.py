"""A fleet on one PostgreSQL ledger (issue 9): two granters and a gate on
this machine, each okta-jitd with its own socket and config, one database
from Debian's PostgreSQL on loopback, one fake Okta. At the end of each
test the ledger and the Okta server agree."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, BOB, G_WEB, JitEnv, jit_seed, wait_for, write_jit_config)
from pg_fixtures import pg_server  # noqa: F401


def _port(conninfo):
    for part in conninfo.split():
        if part.startswith("port="):
            return int(part[5:])
    raise AssertionError("no port in %r" % conninfo)


class Fleet:
    """A database of its own, a fake Okta, and daemons that share both."""

    def __init__(self, pg, okta, key, cli_path, base):
        self.pg, self.okta, self.key, self.cli_path, self.base = pg, okta, key, cli_path, base
        self.db = "fleet_" + uuid.uuid4().hex[:10]
        pg.psql("CREATE DATABASE %s OWNER okta_jit" % self.db)
        self.uri = "postgresql://okta_jit@127.0.0.1:%d/%s?sslmode=disable" % (_port(pg.conninfo), self.db)
        self.pwfile = os.path.join(base, "ledger-password")
        pg.write_password_file(self.pwfile)
        self.hosts = {}

    def host(self, name, role="granter", start=True, extra=None, credential=False):
        workdir = os.path.join(self.base, name)
        os.makedirs(workdir, exist_ok=True)
        env = JitEnv(workdir, self.okta, self.key, self.cli_path, timeout="5s")
        de = {"role": role, "cache_ttl": "30s"}
        if not credential:
            de["ledger_password_file"] = self.pwfile
        de.update(extra or {})
        env.conf = write_jit_config(workdir, self.okta, self.key, env.sock, self.uri, timeout="5s", daemon_extra=de)
        env.daemon.conf = env.conf
        # the ledger lives in PostgreSQL: read it there
        env.grants = self.grants
        env.grant = self.grant
        env.audit = self.audit
        env.events = lambda gid: [a["event"] for a in self.audit(gid)]
        self.hosts[name] = env
        if start:
            env.daemon.start()
        return env

    def sql(self, query):
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.uri, "-c", query],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PGPASSWORD=self.pg.password))
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def rows(self, query):
        out = self.sql("SELECT COALESCE(json_agg(t), '[]') FROM (%s) t" % query)
        return json.loads(out)

    def grants(self, where="1=1", params=()):
        assert not params, "use literal SQL here"
        return self.rows("SELECT * FROM grants WHERE %s ORDER BY id" % where)

    def grant(self, gid):
        rows = self.grants("id = %d" % int(gid))
        assert rows, "no ledger row for grant %s" % gid
        return rows[0]

    def audit(self, grant_id=None, event=None):
        q = "1=1"
        if grant_id is not None:
            q += " AND grant_id = %d" % int(grant_id)
        if event is not None:
            q += " AND event = '%s'" % event.replace("'", "''")
        return self.rows("SELECT * FROM audit WHERE %s ORDER BY id" % q)

    def close(self):
        for env in self.hosts.values():
            env.close()
        try:
            self.pg.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db)
        except Exception:  # noqa: BLE001 - best effort after a failed test
            pass


@pytest.fixture
def fleet(pg_server, okta_factory, rsa_key, local_users, cli_copy):
    base = tempfile.mkdtemp(prefix="ojit-fleet-")
    os.chmod(base, 0o755)
    okta = okta_factory(jit_seed(rsa_key), name="fleet-okta")
    f = Fleet(pg_server, okta, rsa_key, cli_copy, base)
    try:
        yield f
    finally:
        f.close()
        shutil.rmtree(base, ignore_errors=True)


def removed_events(fleet):
    """grant id -> number of 'removed' audit lines."""
    out = {}
    for a in fleet.audit(event="removed"):
        out[a["grant_id"]] = out.get(a["grant_id"], 0) + 1
    return out


def test_a_grant_made_on_one_host_gates_everywhere(fleet):
    a = fleet.host("granter-a")
    b = fleet.host("granter-b")
    g = fleet.host("gate", role="gate")
    # the gate's cache learns alice's Okta groups before her grant (a
    # standing group needs Okta; a time-bound one without a grant not)
    c = g.cli("check", "staging-ssh", "--user", "ojt-alice")
    assert c.j["decision"] in ("allow", "deny") and c.j["code"] != "okta_unavailable", c
    c = g.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    assert ALICE in fleet.okta.members(G_WEB)
    for host in (a, b, g):
        c = host.cli("check", "web-sudo", "--user", "ojt-alice")
        assert c.rc == EXIT_OK and c.j["decision"] == "allow" and c.j["id"] == gid, (host.workdir, c)
    # revoked on the other granter: refused everywhere at once
    r = b.cli("revoke", str(gid), user="ojt-alice")
    assert r.rc == EXIT_OK, r
    for host in (a, b, g):
        c = host.cli("check", "web-sudo", "--user", "ojt-alice")
        assert c.rc == EXIT_DENIED, (host.workdir, c)
    wait_for(lambda: ALICE not in fleet.okta.members(G_WEB), 20, what="alice removed from Okta")
    assert removed_events(fleet).get(gid) == 1
    # other hosts write the shared ledger: no host keeps an answer board
    for host in (a, b, g):
        assert os.path.exists(host.pam_sock) and not os.path.exists(host.pam_sock + ".answers"), host.workdir


def test_a_gate_changes_nothing(fleet):
    fleet.host("granter-a")
    g = fleet.host("gate", role="gate")
    r = g.request("web-sudo", dur="10m", as_user="ojt-alice", expect=None)
    assert r.rc != EXIT_OK and "role = gate" in (r.out + r.err), r
    assert ALICE not in fleet.okta.members(G_WEB)
    assert fleet.grants() == []
    for cmd in (["approve", "1"], ["deny", "1"], ["revoke", "1"], ["extend", "1", "--for", "1h"]):
        r = g.cli(*cmd)
        assert r.rc != EXIT_OK and "role = gate" in (r.out + r.err), (cmd, r)
    # it still answers checks, with a token that may only read users
    c = g.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    c = g.cli("check", "staging-ssh", "--user", "ojt-olivia")
    assert c.j["decision"] in ("allow", "deny") and c.j["code"] != "okta_unavailable", c


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
    # membership is gone: in Okta, and for a host that asks Okta afresh (the
    # granters' caches may know the memberships their grants made for
    # cache_ttl; staging-ssh lets standing members in)
    assert fleet.okta.members(G_STAGE) == []
    g = fleet.host("gate", role="gate")
    for u in users:
        c = g.cli("check", "staging-ssh", "--user", u)
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
        c = g.cli("check", "web-sudo", "--user", u)
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
        # what it never read it cannot allow
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
