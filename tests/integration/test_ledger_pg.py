"""The PostgreSQL ledger backend (helper/ledger/ledger_pg*.c) against a real
PostgreSQL (pg_fixtures), driven through build/tests/ledger_driver, which
calls a backend's operations (ledger_backend.h) one JSON line at a time:

  * the same sequence of operations gives the same answers, row for row,
    on a SQLite file and on PostgreSQL: inserts, compare-and-set conflicts,
    active and ended grants, list filters and order, due work, audit
    filters, sessions;
  * claims: one owner among daemons (and among the threads of one), taken
    over when the owner is SIGKILLed or its connection is cut;
  * sessions are per host: another host's (a UTS namespace) are not ours;
  * the password file must be root's and private, and is named when it
    is refused; no error or log line carries the password;
  * a database of a newer schema is refused; daemons starting at once on
    a fresh database migrate it once; a version 3 database gains the
    notification queue;
  * the notification queue: the same answers on both backends for add,
    due, update and exists, and a payload comes back byte for byte;
  * a database that goes away fails calls within a bounded time, and the
    connection comes back by itself when it returns; a statement waiting
    on a lock gives up after lock_timeout."""
import hashlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import binary  # noqa: E402
from pg_fixtures import pg_server  # noqa: E402,F401

T = 1_700_000_000  # the tests' "now": fixed, so both backends see the same times
OK, NOTFOUND, CONFLICT, ERR = 0, 1, 2, -1
SCHEMA_VERSION = 11
PAYLOAD_MAX = 8192  # NOTIFY_PAYLOAD_MAX: a payload holds up to 8191 bytes


class Driver:
    """One ledger_driver process: one open backend, one connection."""

    def __init__(self, args, logdir, prefix=(), name="driver"):
        self.log_path = os.path.join(str(logdir), "%s-%d.log" % (name, time.monotonic_ns()))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(list(prefix) + [binary("tests/ledger_driver")] + list(args),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        self.hello = self._next(60)

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("ledger_driver gave no answer in %ss; log:\n%s" % (timeout, self.stderr()))
        if line is None:
            raise AssertionError("ledger_driver exited (%r); log:\n%s" % (self.proc.wait(10), self.stderr()))
        return json.loads(line)

    @property
    def opened(self):
        return self.hello.get("open") is True

    def __call__(self, op, timeout=60, **kw):
        kw["op"] = op
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        r = self._next(timeout)
        assert "bad_request" not in r, r
        return r

    def stderr(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def pg(pg_server):
    """The server with a fresh, empty okta_jit database."""
    if not pg_server.running:
        pg_server.start()
    pg_server.recreate("okta_jit")
    return pg_server


@pytest.fixture
def pwfile(pg, tmp_path):
    return pg.write_password_file(str(tmp_path / "ledger-password"))


@pytest.fixture
def drivers(tmp_path):
    started = []

    def start(*args, prefix=(), name="driver", must_open=True):
        d = Driver(args, tmp_path, prefix=prefix, name=name)
        started.append(d)
        if must_open:
            assert d.opened, (d.hello, d.stderr())
        return d

    yield start
    for d in started:
        d.close()


@pytest.fixture
def open_pg(pg, pwfile, drivers):
    def start(conninfo=None, name="pg", **kw):
        return drivers("pg", conninfo or pg.conninfo, pwfile, name=name, **kw)
    return start


@pytest.fixture
def open_backend(tmp_path, open_pg, drivers):
    def start(kind):
        if kind == "sqlite":
            return drivers("sqlite", str(tmp_path / "ledger.db"), name="sqlite")
        return open_pg()
    return start


def grant(**kw):
    g = {"kind": "grant", "user": "alice", "okta_login": "alice@example.com", "okta_user_id": "00ualice",
         "grp": "web-sudo", "group_id": "00gweb", "flow": "web", "requester": "alice", "reason": "deploy",
         "approver": "", "state": "active", "op": "", "was_member": 0, "duration": 3600,
         "requested_at": T - 100, "pending_expires_at": 0, "decided_at": T - 90, "start_at": T - 90,
         "end_at": T + 100, "updated_at": 0, "op_attempts": 0, "next_attempt_at": 0, "last_error": "",
         "add_unsure": 0}
    g.update(kw)
    return g


GRANTS = [
    grant(),                                                       # 1 alice web, ends T+100
    grant(end_at=T + 50),                                          # 2 alice web, ends earlier
    grant(user="bob", requester="bob", state="pending", end_at=0, start_at=0, decided_at=0,
          pending_expires_at=T + 10),                              # 3 bob web, pending
    grant(grp="prod-db-ssh", state="approved", op="add", next_attempt_at=T + 5, end_at=T + 3600,
          op_attempts=2, last_error="okta: 503"),                  # 4 alice db, owes an add
    grant(user="bob", requester="bob", grp="prod-db-ssh", state="expired", op="remove",
          next_attempt_at=T + 20, end_at=T - 10, add_unsure=1),    # 5 bob db, owes a removal
    grant(kind="extend", parent_id=1, end_at=T + 200),             # 6 extends 1: never "active" itself
    grant(user="carol", requester="olivia", grp="ops", state="denied", end_at=0,
          approver="olivia@example.com"),                          # 7 denied
    grant(user="x' OR '1'='1", requester="x", was_member=1, end_at=T + 30,
          reason="quotes ' \" ; -- \\ and é ✓ \u00a0 tab\there"),  # 8 odd text
    grant(user="dave", requester="dave", state="pending", end_at=0, pending_expires_at=T - 1),  # 9 pending, expired
    grant(user="erin", requester="erin", end_at=T + 7),            # 10 active, ends first
]


def script(d):
    """The same sequence on any backend; returns every answer."""
    out = []

    def call(op, **kw):
        r = d(op, **kw)
        out.append((op, kw, r))
        return r

    for g in GRANTS:
        assert call("insert", grant=g)["rc"] == OK
    for i in list(range(1, len(GRANTS) + 1)) + [999]:
        call("get", id=i)
    for now in (T, T + 49, T + 60, T + 99, T + 100, T + 1000):
        call("active", user="alice", grp="web-sudo", now=now)
        call("active_end", user="alice", grp="web-sudo", now=now)
    call("active_end", user="nobody", grp="web-sudo", now=T)
    call("active_end", user="u" * 65, grp="web-sudo", now=T)
    call("active", user="x' OR '1'='1", grp="web-sudo", now=T)
    call("active", user="alice", grp="prod-db-ssh", now=T)
    for user, grp in (("bob", "web-sudo"), ("alice", "prod-db-ssh"), ("carol", "ops"), ("dave", "web-sudo")):
        call("pending", user=user, grp=grp)
    for kw in ({}, {"user": "alice"}, {"user": "nobody"}, {"states": "active,pending"}, {"states": ""},
               {"states": "active,"}, {"states": "approved"}, {"user": "bob", "states": "expired,pending"},
               {"user": "x' OR '1'='1"}, {"states": "active' OR '1'='1"}):
        call("list", limit=100, **kw)
    call("list", limit=2)
    call("list", limit=0)
    call("list", limit=100, stop_after=3)
    # a page below an id (LIST's CURSOR, issue 19)
    call("list", limit=100, before_id=6)
    call("list", limit=2, before_id=9, states="active,pending")
    for now in (T - 100, T, T + 5, T + 7, T + 10, T + 20, T + 100, T + 10**6):
        call("due", now=now)
    call("next_due")
    # okta-jitd's metrics (issue 22): removals owed, notifications waiting
    for ended_before in (T - 11, T - 10, T + 99, T + 100, T + 10**6):
        call("counts", ended_before=ended_before)
    # compare-and-set
    g3 = d("get", id=3)["grant"]
    g3.update(state="approved", approver="olivia@example.com", decided_at=T + 1)
    call("update", grant=g3, expected="pending")
    call("update", grant=g3, expected="pending")  # it is approved now
    call("get", id=3)
    call("update", grant=dict(g3, id=999), expected="approved")
    g6 = d("get", id=6)["grant"]
    call("update", grant=dict(g6, parent_id=0, state="revoked"), expected="active")
    call("get", id=6)
    g1 = d("get", id=1)["grant"]
    call("update", grant=dict(g1, state="expired", op="remove", next_attempt_at=T + 100), expected="active")
    call("active", user="alice", grp="web-sudo", now=T)
    call("active_end", user="alice", grp="web-sudo", now=T)
    call("next_due")
    call("due", now=T + 100)
    # audit: "at" is the wall clock, so "since" is relative to it
    for ev in (("request", 1, "alice", "alice", "web-sudo", "reason=deploy"),
               ("approve", 3, "olivia@example.com", "bob", "web-sudo", ""),
               ("expired", 5, "okta-jitd", "bob", "prod-db-ssh", "end=1"),
               ("note", 0, None, None, None, None),
               ("odd", 8, "x", "x' OR '1'='1", "web-sudo", "é ✓ \" '")):
        call("audit_add", event=ev[0], grant_id=ev[1], actor=ev[2], user=ev[3], grp=ev[4], detail=ev[5])
    for kw in ({}, {"user": "bob"}, {"grp": "web-sudo"}, {"user": "bob", "grp": "web-sudo"}, {"user": ""},
               {"since": 4102444800}):  # 2100: after every line (one value for both runs)
        call("audit_list", limit=100, **kw)
    call("audit_list", limit=2)
    call("audit_list", limit=100, stop_after=2)
    # a page above a row id (AUDIT's CURSOR, issue 22): the oldest rows first
    for kw in ({"limit": 2, "after_id": 2}, {"limit": 100, "after_id": 4}, {"limit": 100, "after_id": 5},
               {"limit": 100, "after_id": 1, "user": "bob"}, {"limit": 100, "after_id": 2, "user": "bob"}):
        call("audit_list", **kw)
    call("audit_list", limit=100, grant_id=3, after_id=2)
    call("audit_list", limit=100, grant_id=3, after_id=1)
    for gid in (3, 5, 999):  # one grant's trail (AUDIT ID, issue 19)
        call("audit_list", limit=100, grant_id=gid)
    # sessions
    for gid, user, pid in ((1, "alice", 100), (1, "alice", 101), (4, "bob", 102)):
        call("session_open", session={"grant_id": gid, "user": user, "pid": pid, "service": "sshd",
                                      "tty": "pts/%d" % pid, "opened_at": T + pid, "logind_id": "c%d" % pid,
                                      "pid_start": 5000 + pid})
    call("sessions", grant_id=0)
    call("sessions", grant_id=1)
    call("session_close", id=1, now=T + 500)
    call("session_close", id=1, now=T + 501)
    call("session_close", id=999, now=T + 501)
    call("session_warned", id=2, now=T + 400)
    call("session_warned", id=999, now=T + 400)
    call("sessions", grant_id=0)
    call("sessions", grant_id=4)
    # snapshots (issue 17): insert, replace (gen + 1), heads without members
    call("snapshot_get", grp="web-sudo")
    call("snapshot_put", grp="web-sudo", group_id="00gweb", taken_at=T, nmembers=2, host="g1",
         members="00u1\tACTIVE\talice@example.com\n00u2\tSUSPENDED\tbob@example.com\n")
    call("snapshot_put", grp="db-admin", group_id="", taken_at=T, nmembers=0, host="g1",
         state="unknown group: no OKTA_GROUP named db-admin", members="")
    call("snapshot_put", grp="web-sudo", group_id="00gweb", taken_at=T + 30, nmembers=1, host="g2",
         members="00u1\tACTIVE\talice@example.com\n")
    call("snapshot_get", grp="web-sudo")
    call("snapshot_get", grp="db-admin")
    call("snapshot_heads")
    call("schema_version")
    # a callback that reads the ledger again must not deadlock
    call("list", limit=100, reenter=True)
    # refused by the schema (CHECK): an error on both, nothing written
    call("insert", grant=grant(state="bogus"))
    call("update", grant=dict(d("get", id=2)["grant"], op="sideways"), expected="active")
    call("get", id=2)
    return out


def normalized(answers):
    """Drop what depends on the wall clock or the backend's wording."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if k not in ("updated_at", "at", "error")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v
    return [(op, clean(kw), clean(r)) for op, kw, r in answers]  # (a request may carry a row read back)


def test_same_answers_on_sqlite_and_postgresql(open_backend):
    lite = open_backend("sqlite")
    pgd = open_backend("pg")
    assert lite.hello["schema_version"] == pgd.hello["schema_version"] == SCHEMA_VERSION
    assert pgd.hello["backend"] == "postgresql"
    a = script(lite)
    b = script(pgd)
    for x, y in zip(normalized(a), normalized(b)):
        assert x == y, "sqlite and postgresql differ on %s %s:\n  sqlite: %s\n  pg:     %s" % (
            x[0], x[1], x[2], y[2])
    assert len(a) == len(b)
    answers = {}
    for op, kw, r in b:
        answers.setdefault((op, json.dumps(kw, sort_keys=True)), []).append(r)

    def ans(op, nth=0, **kw):
        """The nth answer to the same request (they change as the ledger does)."""
        return answers[(op, json.dumps(kw, sort_keys=True))][nth]

    # the script tests what it means to
    assert ans("get", id=999)["rc"] == NOTFOUND
    # 5 owes its removal since T - 10; 10, 2, 1 and the extension 6 are
    # active until T + 7, 50, 100, 200 (not swept yet); 8 was a member
    # before its grant, 4 owes an add; no notification is queued yet
    assert [ans("counts", ended_before=t)["removals_overdue"] for t in (T - 11, T - 10, T + 99, T + 100, T + 10**6)] \
        == [0, 1, 3, 4, 5]
    assert ans("counts", ended_before=T + 10**6)["notify_backlog"] == 0
    assert ans("active", user="alice", grp="web-sudo", now=T)["grant"]["id"] == 1
    assert ans("active", user="alice", grp="web-sudo", now=T + 60)["grant"]["id"] == 1
    assert ans("active", user="alice", grp="web-sudo", now=T + 100)["rc"] == NOTFOUND
    assert ans("active_end", user="alice", grp="web-sudo", now=T + 1000) == {"id": 1, "end_at": T + 100,
                                                                            "group_id": "00gweb", "rc": NOTFOUND}
    none = {"id": 0, "end_at": 0, "group_id": "", "rc": NOTFOUND}
    assert ans("active_end", user="nobody", grp="web-sudo", now=T) == none
    assert ans("active_end", user="u" * 65, grp="web-sudo", now=T) == none
    assert ans("active", user="x' OR '1'='1", grp="web-sudo", now=T)["grant"]["reason"] == GRANTS[7]["reason"]
    assert ans("pending", user="alice", grp="prod-db-ssh")["grant"]["id"] == 4
    assert ans("pending", user="carol", grp="ops")["rc"] == NOTFOUND
    assert [g["id"] for g in ans("list", limit=100)["rows"]] == list(range(10, 0, -1))
    assert [g["id"] for g in ans("list", limit=100, states="active,pending")["rows"]] == [10, 9, 8, 6, 3, 2, 1]
    assert ans("list", limit=100, states="active' OR '1'='1")["rows"] == []
    assert [g["id"] for g in ans("list", limit=2)["rows"]] == [10, 9]
    assert ans("list", limit=0)["rows"] == []
    assert [g["id"] for g in ans("list", limit=100, before_id=6)["rows"]] == [5, 4, 3, 2, 1]
    assert [g["id"] for g in ans("list", limit=2, before_id=9, states="active,pending")["rows"]] == [8, 6]
    assert [g["id"] for g in ans("due", now=T + 20)["rows"]] == [3, 4, 5, 9, 10]
    assert ans("list", limit=100, reenter=True)["reenter_bad"] == 0
    updates = [r["rc"] for op, kw, r in b if op == "update"]
    assert updates == [OK, CONFLICT, CONFLICT, OK, OK, ERR], updates
    assert ans("get", id=3)["grant"]["state"] == "pending"
    assert ans("get", nth=1, id=3)["grant"]["state"] == "approved"
    assert ans("get", id=6)["grant"]["parent_id"] == 1
    assert ans("get", nth=1, id=6)["grant"]["parent_id"] == 0
    # once 1 has ended, 2 is alice's active grant
    assert ans("active", nth=1, user="alice", grp="web-sudo", now=T)["grant"]["id"] == 2
    assert ans("get", id=2) == ans("get", nth=1, id=2), "a refused update changed the row"
    assert [r["rc"] for op, kw, r in b if op == "session_close"] == [OK, NOTFOUND, NOTFOUND]
    audit = ans("audit_list", limit=100)["rows"]
    assert [e["event"] for e in audit] == ["request", "approve", "expired", "note", "odd"]
    assert [e["event"] for e in ans("audit_list", limit=2)["rows"]] == ["request", "approve"]
    assert [e["id"] for e in audit] == sorted(e["id"] for e in audit)
    ids = [e["id"] for e in audit]
    assert ids == list(range(ids[0], ids[0] + 5)), ids  # a fresh ledger: 1..5 on both
    assert [e["event"] for e in ans("audit_list", limit=2, after_id=2)["rows"]] == ["expired", "note"]
    assert [e["event"] for e in ans("audit_list", limit=100, after_id=4)["rows"]] == ["odd"]
    assert ans("audit_list", limit=100, after_id=5)["rows"] == []
    assert [e["event"] for e in ans("audit_list", limit=100, after_id=1, user="bob")["rows"]] == ["approve", "expired"]
    assert [e["event"] for e in ans("audit_list", limit=100, after_id=2, user="bob")["rows"]] == ["expired"]
    assert [e["event"] for e in ans("audit_list", limit=100, grant_id=3, after_id=1)["rows"]] == ["approve"]
    assert ans("audit_list", limit=100, grant_id=3, after_id=2)["rows"] == []
    assert [e["event"] for e in ans("audit_list", limit=100, user="bob")["rows"]] == ["approve", "expired"]
    assert [e["event"] for e in ans("audit_list", limit=100, user="")["rows"]] == ["note"]
    assert [e["event"] for e in ans("audit_list", limit=100, grant_id=3)["rows"]] == ["approve"]
    assert [e["event"] for e in ans("audit_list", limit=100, grant_id=5)["rows"]] == ["expired"]
    assert ans("audit_list", limit=100, grant_id=999)["rows"] == []
    assert ans("schema_version")["v"] == SCHEMA_VERSION
    assert [r for op, kw, r in b if op == "insert"][-1]["rc"] == ERR


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_threads_share_one_connection(open_backend, kind):
    d = open_backend(kind)
    r = d("hammer", threads=8, count=40, timeout=120)
    assert r["ok"] == 320, r
    assert len(d("list", limit=1000)["rows"]) == 320


def test_pg_stores_what_the_schema_says(open_pg, pg):
    d = open_pg()
    gid = d("insert", grant=grant(reason="é ✓"))["id"]
    rows = pg.psql('SELECT "user", reason, parent_id, end_at FROM grants WHERE id = %d' % gid)
    assert rows == [("alice", "é ✓", None, str(T + 100))]
    assert pg.psql("SELECT version FROM okta_jit_schema") == [(str(SCHEMA_VERSION),)]
    cols = pg.psql("SELECT column_name, data_type FROM information_schema.columns "
                   "WHERE table_name = 'sessions' ORDER BY ordinal_position")
    assert ("host", "text") in cols and ("opened_at", "bigint") in cols and ("id", "bigint") in cols


# ---------------------------------------------------------------- notifications

def note(**kw):
    n = {"target": "slack", "event": "grant.active", "grant_id": 1, "payload": '{"text": "hi"}',
         "created_at": T, "next_attempt_at": T, "attempts": 0, "last_error": "", "sent_at": 0, "dropped_at": 0}
    n.update(kw)
    return n


# quotes, newlines, backslashes, what SQL or printf would take for their own,
# and UTF-8 of two, three and four bytes
ODD_PAYLOAD = ('{"text": "it\'s \\"quoted\\"\\n", "raw": "line1\nline2\r\n\ttab",'
               ' "bs": "C:\\\\path\\\\ \\\\x00 \\\\u0041", "sql": "\'; DROP TABLE notifications; --",'
               ' "fmt": "%s %d $1 ?1 :name", "utf8": "é ñ ü — ✓ 日本語 \u00a0 🚀 𝄞"}\n')
# exactly the most a payload holds, ending in a two-byte character
BIG_PAYLOAD = "x" * (PAYLOAD_MAX - 1 - 2 * 40) + "é" * 40

NOTES = [
    note(),                                                               # 1 due at T
    note(target="pager", next_attempt_at=T + 10),                         # 2 due at T+10
    note(event="grant.expired", grant_id=2, next_attempt_at=T - 5),       # 3 due first, queued later
    note(event="odd", grant_id=3, payload=ODD_PAYLOAD),                   # 4 due at T
    note(grant_id=4, next_attempt_at=T + 100),                            # 5 due at T+100
    note(target="big", event="grant.denied", grant_id=5, payload=BIG_PAYLOAD,
         next_attempt_at=T + 10**5),                                      # 6 the largest payload
]


def notify_script(d):
    """The queue's sequence on any backend; returns every answer."""
    out = []

    def call(op, **kw):
        r = d(op, **kw)
        out.append((op, kw, r))
        return r

    for n in NOTES:
        call("notify_add", notification=n)

    def due_checks():
        for now in (T - 10, T, T + 10, T + 60, T + 100, T + 10**6):
            call("notify_due", now=now, limit=100)
        call("notify_due", now=T, limit=2)
        call("notify_due", now=T + 10, limit=0)
        call("notify_due", now=T + 10**6, limit=100, stop_after=1)
        # one target's rows alone, and a cursor past the rows already seen
        for target in ("slack", "pager", "big", "nosuch", "x' OR '1'='1"):
            call("notify_due", now=T + 10**6, limit=100, target=target)
        call("notify_due", now=T + 10**6, limit=100, after=3)
        call("notify_due", now=T + 10**6, limit=1, target="slack", after=1)

    def exists_checks():
        for target, event, gid in (("slack", "grant.active", 1), ("pager", "grant.active", 1),
                                   ("slack", "grant.active", 2), ("pager", "grant.expired", 1),
                                   ("slack", "grant.expired", 2), ("slack", "odd", 3), ("big", "grant.denied", 5),
                                   ("slack", "grant.active", 4), ("slack", "grant.active", 99),
                                   ("Slack", "grant.active", 1), ("x' OR '1'='1", "grant.active", 1),
                                   ("", "", 0)):
            call("notify_exists", target=target, event=event, grant_id=gid)

    due_checks()
    exists_checks()
    call("counts", ended_before=0)  # the metrics' backlog: waiting, whatever their time
    # 1 sent, 3 dropped, 4 failed once and waits for its retry, 999 is not there
    call("notify_update", notification=dict(NOTES[0], id=1, attempts=1, sent_at=T + 1))
    call("notify_update", notification=dict(NOTES[2], id=3, attempts=5, last_error="http 410 Gone",
                                            dropped_at=T + 2))
    call("notify_update", notification=dict(NOTES[3], id=4, attempts=1, next_attempt_at=T + 60,
                                            last_error="timeout: 'hooks.example.com' ✓"))
    call("notify_update", notification=dict(NOTES[0], id=999, attempts=1, sent_at=T + 1))
    due_checks()
    exists_checks()
    call("counts", ended_before=0)
    # a second failure of 4, then it goes through; 5 is given up on
    call("notify_update", notification=dict(NOTES[3], id=4, attempts=2, next_attempt_at=T + 120,
                                            last_error="http 502"))
    call("notify_update", notification=dict(NOTES[3], id=4, attempts=3, next_attempt_at=T + 120,
                                            last_error="", sent_at=T + 121))
    call("notify_update", notification=dict(NOTES[4], id=5, attempts=9, last_error="http 500",
                                            dropped_at=T + 130))
    due_checks()
    exists_checks()
    # another event for the same grant and target is queued on its own
    call("notify_add", notification=note(event="grant.expired", created_at=T + 200, next_attempt_at=T + 200))
    call("notify_exists", target="slack", event="grant.expired", grant_id=1)
    call("notify_due", now=T + 10**6, limit=100)
    # a callback that calls the ledger again must not deadlock
    call("notify_due", now=T + 10**6, limit=100, reenter=True)
    call("counts", ended_before=0)
    call("schema_version")
    return out


def ids(r):
    return [n["id"] for n in r["rows"]]


def test_the_notification_queue_is_the_same_on_sqlite_and_postgresql(open_backend):
    lite = open_backend("sqlite")
    pgd = open_backend("pg")
    a = notify_script(lite)
    b = notify_script(pgd)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x == y, "sqlite and postgresql differ on %s %s:\n  sqlite: %s\n  pg:     %s" % (
            x[0], x[1], x[2], y[2])
    # and the answers are the right ones (the same on both, so read one)
    adds = [r for op, kw, r in b if op == "notify_add"]
    assert [r["rc"] for r in adds] == [OK] * (len(NOTES) + 1)
    assert [r["id"] for r in adds] == list(range(1, len(NOTES) + 2))
    dues = [(kw, r) for op, kw, r in b if op == "notify_due"]
    assert all(r["rc"] == OK for kw, r in dues)

    def due(round_, now, limit=100, **extra):
        want = dict({"now": now, "limit": limit}, **extra)
        return [r for kw, r in dues if kw == want][round_]

    # before any update: waiting rows whose time has come, oldest (lowest id) first
    assert ids(due(0, T - 10)) == []
    assert ids(due(0, T)) == [1, 3, 4]
    assert ids(due(0, T, limit=2)) == [1, 3]
    assert ids(due(0, T + 10, limit=0)) == []
    assert ids(due(0, T + 10)) == [1, 2, 3, 4]
    assert ids(due(0, T + 10**6)) == [1, 2, 3, 4, 5, 6]
    assert ids(due(0, T + 10**6, stop_after=1)) == [1]
    assert ids(due(0, T + 10**6, target="slack")) == [1, 3, 4, 5]
    assert ids(due(0, T + 10**6, target="pager")) == [2]
    assert ids(due(0, T + 10**6, target="big")) == [6]
    assert ids(due(0, T + 10**6, target="nosuch")) == []
    assert ids(due(0, T + 10**6, target="x' OR '1'='1")) == []
    assert ids(due(0, T + 10**6, after=3)) == [4, 5, 6]
    assert ids(due(0, T + 10**6, limit=1, target="slack", after=1)) == [3]
    assert ids(due(1, T + 10**6, target="slack")) == [4, 5]
    first = due(0, T + 10**6)["rows"]
    for want, got in zip(NOTES, first):
        assert {k: got[k] for k in want} == want, got["id"]
    assert first[3]["payload"] == ODD_PAYLOAD
    assert first[5]["payload"] == BIG_PAYLOAD and len(BIG_PAYLOAD.encode()) == PAYLOAD_MAX - 1
    # after 1 sent, 3 dropped, 4 put off to T+60: never due again once sent or dropped
    assert ids(due(1, T)) == []
    assert ids(due(1, T + 10)) == [2]
    assert ids(due(1, T + 60)) == [2, 4]
    assert ids(due(1, T + 10**6)) == [2, 4, 5, 6]
    four = due(1, T + 60)["rows"][1]
    assert (four["attempts"], four["next_attempt_at"], four["last_error"], four["sent_at"], four["dropped_at"]) == (
        1, T + 60, "timeout: 'hooks.example.com' ✓", 0, 0)
    assert four["payload"] == ODD_PAYLOAD and four["created_at"] == T, "an update touched more than it writes"
    # after 4 sent and 5 dropped
    assert ids(due(2, T + 10**6)) == [2, 6]
    assert ids(due(3, T + 10**6)) == [2, 6, 7]
    updates = [r["rc"] for op, kw, r in b if op == "notify_update"]
    assert updates == [OK, OK, OK, NOTFOUND, OK, OK, OK], updates
    exists = [(kw["target"], kw["event"], kw["grant_id"], r["rc"]) for op, kw, r in b if op == "notify_exists"]
    queued = {("slack", "grant.active", 1), ("pager", "grant.active", 1), ("slack", "grant.expired", 2),
              ("slack", "odd", 3), ("big", "grant.denied", 5), ("slack", "grant.active", 4)}
    for target, event, gid, rc in exists[:-1]:
        # sent or dropped, a row still counts as queued
        assert rc == (OK if (target, event, gid) in queued else NOTFOUND), (target, event, gid, rc)
    assert exists[-1] == ("slack", "grant.expired", 1, OK)
    assert due(0, T + 10**6, reenter=True)["reenter_bad"] == 0
    # okta-jitd's notify backlog (issue 22): 6 queued; 1 sent and 3 dropped;
    # then 4 sent, 5 dropped and 7 queued
    assert [(r["rc"], r["notify_backlog"], r["removals_overdue"]) for op, kw, r in b if op == "counts"] == \
        [(OK, 6, 0), (OK, 4, 0), (OK, 3, 0)]
    assert [r for op, kw, r in b if op == "schema_version"][-1]["v"] == SCHEMA_VERSION


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_payload_longer_than_the_struct_is_cut_on_read(kind, open_backend, pg, tmp_path):
    d = open_backend(kind)
    big = "".join(chr(ord("a") + i % 26) for i in range(3 * PAYLOAD_MAX))
    if kind == "sqlite":
        db = sqlite3.connect(str(tmp_path / "ledger.db"))
        db.execute("INSERT INTO notifications (target, event, grant_id, payload, created_at) VALUES (?,?,?,?,?)",
                   ("slack", "grant.active", 1, big, T))
        db.commit()
        db.close()
    else:
        pg.psql("INSERT INTO notifications (target, event, grant_id, payload, created_at)"
                " VALUES ('slack', 'grant.active', 1, '%s', %d)" % (big, T))
    rows = d("notify_due", now=T, limit=10)["rows"]
    assert [n["payload"] for n in rows] == [big[:PAYLOAD_MAX - 1]]
    assert d("notify_exists", target="slack", event="grant.active", grant_id=1)["rc"] == OK


def test_pg_stores_the_payload_as_given(open_pg, pg):
    d = open_pg()
    nid = d("notify_add", notification=note(payload=ODD_PAYLOAD))["id"]
    # compared in the server (psql's text output would turn \r\n into \n)
    assert pg.psql("SELECT payload = %s, md5(payload), octet_length(payload) FROM notifications WHERE id = %d"
                   % ("$odd$" + ODD_PAYLOAD + "$odd$", nid)) == [
        ("t", hashlib.md5(ODD_PAYLOAD.encode()).hexdigest(), str(len(ODD_PAYLOAD.encode())))]


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_version_3_ledger_gains_the_notification_queue(kind, pg, pwfile, tmp_path, drivers):
    path = str(tmp_path / "ledger.db")
    args = ("sqlite", path) if kind == "sqlite" else ("pg", pg.conninfo, pwfile)
    d = drivers(*args)
    gid = d("insert", grant=grant())["id"]
    d.close()
    # back to what version 3 was: migration 4 only added the table and its
    # indexes, 5 an index (made only if missing), 6 a column, 7 a table,
    # 8 (PostgreSQL) a trigger function and its triggers, 9 a column on
    # grants (and one on snapshots), 10 an index (made only if missing), 11
    # a table (drift, issue 20)
    if kind == "sqlite":
        db = sqlite3.connect(path)
        db.execute("DROP TABLE drift")
        db.execute("ALTER TABLE grants DROP COLUMN sig")
        db.execute("DROP TABLE snapshots")
        db.execute("DROP TABLE notifications")
        db.execute("ALTER TABLE grants DROP COLUMN add_unsure")
        db.execute("PRAGMA user_version = 3")
        db.commit()
        assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'notifications%'").fetchall() == []
        db.close()
    else:
        pg.psql("DROP TABLE drift; DROP TABLE snapshots; DROP FUNCTION okta_jit_notify() CASCADE;"
                " DROP TABLE notifications; ALTER TABLE grants DROP COLUMN add_unsure, DROP COLUMN sig;"
                " UPDATE okta_jit_schema SET version = 3")
    d = drivers(*args)
    assert d.hello["schema_version"] == SCHEMA_VERSION == 11, d.hello
    assert d("get", id=gid)["grant"]["user"] == "alice", "the migration lost a grant"
    assert d("notify_exists", target="slack", event="grant.active", grant_id=gid)["rc"] == NOTFOUND
    assert d("notify_add", notification=note(grant_id=gid))["id"] == 1
    assert ids(d("notify_due", now=T, limit=10)) == [1]
    assert d("notify_exists", target="slack", event="grant.active", grant_id=gid)["rc"] == OK
    want_cols = ["id", "target", "event", "grant_id", "payload", "created_at", "next_attempt_at", "attempts",
                 "last_error", "sent_at", "dropped_at"]
    if kind == "sqlite":
        db = sqlite3.connect(path)
        cols = [r[1] for r in db.execute("PRAGMA table_info(notifications)")]
        indexes = sorted(r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notifications'"))
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.close()
    else:
        cols = [r[0] for r in pg.psql("SELECT column_name FROM information_schema.columns"
                                      " WHERE table_name = 'notifications' ORDER BY ordinal_position")]
        indexes = sorted(r[0] for r in pg.psql("SELECT indexname FROM pg_indexes WHERE tablename = 'notifications'"
                                               " AND indexname <> 'notifications_pkey'"))
        version = int(pg.psql("SELECT version FROM okta_jit_schema")[0][0])
        assert pg.psql("SELECT tableowner FROM pg_tables WHERE tablename = 'notifications'") == [("okta_jit",)]
    assert cols == want_cols
    assert indexes == ["notifications_due", "notifications_grant"]
    assert version == SCHEMA_VERSION
    # migration 5: the gate's read is served by one index, in order
    if kind == "sqlite":
        db = sqlite3.connect(path)
        gindexes = sorted(r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'grants'"))
        plan = [r[3] for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT id, end_at, group_id FROM grants WHERE \"user\" = ? AND grp = ?"
            " AND kind = 'grant' AND state = 'active' AND op = '' AND end_at > ? ORDER BY end_at DESC, id DESC"
            " LIMIT 1", ("alice", "web-sudo", -2 ** 63))]
        db.close()
        assert plan == ["SEARCH grants USING INDEX grants_active (user=? AND grp=? AND state=? AND op=? AND end_at>?)"
                        ], plan
    else:
        gindexes = sorted(r[0] for r in pg.psql("SELECT indexname FROM pg_indexes WHERE tablename = 'grants'"
                                                " AND indexname <> 'grants_pkey'"))
    assert gindexes == ["grants_active", "grants_state"], gindexes
    assert d("active_end", user="alice", grp="web-sudo", now=T) == {"id": gid, "end_at": T + 100,
                                                                   "group_id": "00gweb", "rc": OK}
    # migration 6: rows made before it read as adds whose outcome was known
    assert d("get", id=gid)["grant"]["add_unsure"] == 0
    if kind == "sqlite":
        db = sqlite3.connect(path)
        gcols = [r[1] for r in db.execute("PRAGMA table_info(grants)")]
        db.close()
    else:
        gcols = [r[0] for r in pg.psql("SELECT column_name FROM information_schema.columns"
                                       " WHERE table_name = 'grants' ORDER BY ordinal_position")]
    # migration 9 adds sig after it
    assert gcols[-2:] == ["add_unsure", "sig"], gcols


# ---------------------------------------------------------------- snapshots, notices

@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_snapshots_replace_and_bump_their_generation(open_backend, kind):
    d = open_backend(kind)
    assert d("snapshot_get", grp="web-sudo")["rc"] == NOTFOUND
    r = d("snapshot_put", grp="web-sudo", group_id="00gweb", taken_at=T, nmembers=1, host="g1",
          members="00u1\tACTIVE\talice@example.com\n")
    assert r["rc"] == OK and r["gen"] == 1, r
    r = d("snapshot_put", grp="web-sudo", group_id="00gweb", taken_at=T + 30, nmembers=0, host="g2", members="")
    assert r["gen"] == 2, r
    got = d("snapshot_get", grp="web-sudo")
    assert got["head"] == {"grp": "web-sudo", "group_id": "00gweb", "taken_at": T + 30, "gen": 2, "nmembers": 0,
                           "host": "g2", "state": "ok", "sig": ""}, got
    assert got["members"] == ""
    assert [h["grp"] for h in d("snapshot_heads")["rows"]] == ["web-sudo"]


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_the_ledger_stores_a_rows_signature_as_given(open_backend, kind):
    """The fleet signatures (daemon/fleet_sig.c) are the daemon's: the ledger
    stores sig as given, and a signed grant keeps the updated_at its signer
    put in it (the signature covers it); an unsigned one gets the ledger's
    clock, as before."""
    d = open_backend(kind)
    sig = "ab" * 64
    gid = d("insert", grant=grant(updated_at=T - 50))["id"]
    got = d("get", id=gid)["grant"]
    assert got["sig"] == "" and got["updated_at"] > T, got
    assert d("update", grant=dict(got, sig=sig, updated_at=T + 5), expected="active")["rc"] == OK
    got = d("get", id=gid)["grant"]
    assert got["sig"] == sig and got["updated_at"] == T + 5, got
    assert [r["sig"] for r in d("list", states="active", limit=10)["rows"]] == [sig]
    assert d("update", grant=dict(got, sig="", updated_at=T + 5), expected="active")["rc"] == OK
    got = d("get", id=gid)["grant"]
    assert got["sig"] == "" and got["updated_at"] > T + 5, got
    d("snapshot_put", grp="web-sudo", group_id="00gweb", taken_at=T, nmembers=0, host="g1", members="", sig=sig)
    assert d("snapshot_get", grp="web-sudo")["head"]["sig"] == sig
    assert d("snapshot_heads")["rows"][0]["sig"] == sig


def test_notices_reach_every_listener_from_any_writer(open_pg, pg):
    """A grant row or snapshot written by one daemon, or by hand in SQL,
    is announced to every listening connection at commit."""
    writer = open_pg(name="writer")
    l1 = open_pg(name="l1")
    l2 = open_pg(name="l2")
    assert l1("listen")["rc"] == OK and l2("listen")["rc"] == OK
    assert l1("wait_changes", timeout_ms=100)["n"] == 0
    gid = writer("insert", grant=grant())["id"]
    writer("snapshot_put", grp="web-sudo", group_id="00gweb", taken_at=T, nmembers=0, host="g1", members="")
    pg.psql("UPDATE grants SET state = 'revoked' WHERE id = %d" % gid)
    # a row deleted by hand is announced too (a gate must forget it)
    pg.psql("DELETE FROM snapshots WHERE grp = 'web-sudo'")
    for lst in (l1, l2):
        seen = []
        deadline = time.time() + 10
        while len(seen) < 4 and time.time() < deadline:
            seen += lst("wait_changes", timeout_ms=1000)["rows"]
        assert seen == [{"kind": "g", "id": gid, "grp": ""}, {"kind": "s", "id": 0, "grp": "web-sudo"},
                        {"kind": "g", "id": gid, "grp": ""}, {"kind": "s", "id": 0, "grp": "web-sudo"}], seen


def test_a_listener_whose_connection_was_cut_is_told(open_pg, pg):
    """Notices sent while a listener's session was gone are lost: the wait
    says so, and listening again works."""
    l1 = open_pg(pg.conninfo + " application_name=listener_a", name="l1")
    w = open_pg(name="w")
    assert l1("listen")["rc"] == OK
    pg.psql("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name = 'listener_a'")
    w("insert", grant=grant())
    r = l1("wait_changes", timeout_ms=3000)
    assert r["rc"] == ERR and r["n"] == -1, r
    # a read in between reconnects the session: still not listening
    assert l1("get", id=1)["rc"] == OK
    assert l1("wait_changes", timeout_ms=100)["rc"] == ERR
    assert l1("listen")["rc"] == OK
    gid = w("insert", grant=grant())["id"]
    deadline = time.time() + 10
    seen = []
    while not seen and time.time() < deadline:
        seen = l1("wait_changes", timeout_ms=1000)["rows"]
    assert seen == [{"kind": "g", "id": gid, "grp": ""}], seen


def test_sqlite_has_no_notices(open_backend):
    d = open_backend("sqlite")
    assert d("listen")["rc"] == ERR
    assert "shared" in d("last_error")["error"]


# ---------------------------------------------------------------- claims

def test_claims_are_exclusive_between_daemons(open_pg, pg):
    a = open_pg(name="a")
    b = open_pg(name="b")
    assert a("claim", id=5)["r"] == 1
    assert a("claim", id=5)["r"] == 0, "a second thread of the same daemon must not get it either"
    assert b("claim", id=5)["r"] == 0
    assert b("claim", id=6)["r"] == 1
    # all 64 bits of the id count: 2^32 + 5 is another grant than 5
    assert b("claim", id=2**32 + 5)["r"] == 1
    a("unclaim", id=5)
    assert b("claim", id=5)["r"] == 1
    assert a("claim", id=5)["r"] == 0
    b("unclaim", id=5)
    assert a("claim", id=5)["r"] == 1
    assert len(pg.psql("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted")) == 3
    # the owner dies: its claims go with its connection
    a.kill()
    deadline = time.time() + 15
    while b("claim", id=5)["r"] != 1:
        assert time.time() < deadline, "the claim of a SIGKILLed daemon was never released"
        time.sleep(0.2)


def test_a_cut_connection_loses_claims_and_comes_back(open_pg, pg):
    a = open_pg(pg.conninfo + " application_name=driver_a", name="a")
    b = open_pg(name="b")
    assert pg.psql("SELECT application_name FROM pg_stat_activity WHERE usename = 'okta_jit' "
                   "ORDER BY application_name") == [("driver_a",), ("okta-jitd",)]
    assert a("claim", id=7)["r"] == 1
    assert a("reconnects")["n"] == 0
    assert pg.psql("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                   "WHERE application_name = 'driver_a'") == [("t",)]
    assert b("claim", id=7)["r"] == 1, "a's claim outlived its connection"
    # a notices the hang-up before it sends anything: even a write goes through
    r = a("insert", grant=grant())
    assert r["rc"] == OK, r
    assert a("reconnects")["n"] == 1
    assert a("claim", id=7)["r"] == 0
    a("unclaim", id=7)  # a stale claim: nothing to release
    assert b("claim", id=7)["r"] == 0, "b must still hold 7"
    b("unclaim", id=7)
    assert a("claim", id=7)["r"] == 1


# ---------------------------------------------------------------- hosts

def test_sessions_are_per_host(open_pg, pg, pwfile, drivers):
    probe = subprocess.run(["unshare", "--uts", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a UTS namespace here: %s" % probe.stderr.decode().strip())
    here = open_pg(name="here")
    there = drivers("pg", pg.conninfo, pwfile, name="there",
                    prefix=["unshare", "--uts", "sh", "-c", 'hostname ojit-other-host && exec "$@"', "sh"])
    s = {"grant_id": 1, "user": "alice", "pid": 42, "service": "sshd", "tty": "pts/1", "opened_at": T}
    mine = here("session_open", session=s)["id"]
    theirs = there("session_open", session=dict(s, pid=43))["id"]
    assert [x["id"] for x in here("sessions", grant_id=0)["rows"]] == [mine]
    assert [x["id"] for x in there("sessions", grant_id=1)["rows"]] == [theirs]
    hosts = dict(pg.psql("SELECT id, host FROM sessions ORDER BY id"))
    assert hosts[str(theirs)] == "ojit-other-host"
    assert hosts[str(mine)] == os.uname().nodename


# ---------------------------------------------------------------- password file

@pytest.mark.parametrize("case", ["group-readable", "not-root", "symlink", "missing", "empty", "directory"])
def test_a_loose_password_file_is_refused_and_named(pg, tmp_path, drivers, case):
    path = str(tmp_path / "pw")
    if case == "group-readable":
        pg.write_password_file(path, mode=0o640)
        want = "permissions 0640"
    elif case == "not-root":
        pg.write_password_file(path, uid=65534)
        want = "owned by uid 65534"
    elif case == "symlink":
        pg.write_password_file(str(tmp_path / "real"))
        os.symlink(str(tmp_path / "real"), path)
        want = "symbolic link"
    elif case == "missing":
        want = "cannot open"
    elif case == "empty":
        pg.write_password_file(path, content="\n")
        want = "empty"
    else:
        os.mkdir(path, 0o700)
        want = "not a regular file"
    d = drivers("pg", pg.conninfo, path, must_open=False)
    assert not d.opened
    assert path in d.hello["error"] and want in d.hello["error"], d.hello
    assert d.close() == 2


def test_the_password_never_shows(pg, tmp_path, drivers):
    # the right password, with CRLF and a second line: the first line counts
    good = pg.write_password_file(str(tmp_path / "good"), content=pg.password + "\r\nsomething else\n")
    d = drivers("pg", pg.conninfo, good)
    assert d("schema_version")["v"] == SCHEMA_VERSION
    # a wrong password: refused by the server, and not repeated
    secret = "Wr0ng-s3cret-%d" % os.getpid()
    bad = pg.write_password_file(str(tmp_path / "bad"), content=secret + "\n")
    d = drivers("pg", pg.conninfo, bad, must_open=False)
    assert not d.opened and "password authentication failed" in d.hello["error"], d.hello
    assert "okta_jit" in d.hello["error"] and "127.0.0.1" in d.hello["error"]
    d.close()
    assert secret not in d.hello["error"] and secret not in d.stderr()
    # a password inside the conninfo, a server that is not there
    d = drivers("pg", "host=127.0.0.1 port=1 dbname=okta_jit user=okta_jit password=%s" % secret,
                must_open=False)
    assert not d.opened and "cannot connect to the ledger database" in d.hello["error"], d.hello
    d.close()
    assert secret not in d.hello["error"] and secret not in d.stderr()
    # and a conninfo libpq cannot parse says no more than that (libpq
    # would quote the password, or the whole URI)
    for bad in ("host=127.0.0.1 password %s" % secret, "postgresql://okta_jit:%s@[::1/okta_jit" % secret,
                "postgresql://okta_jit:%s%%zz@127.0.0.1/okta_jit" % secret):
        d = drivers("pg", bad, must_open=False)
        assert not d.opened and "invalid ledger database connection string" in d.hello["error"], d.hello
        d.close()
        assert secret not in d.hello["error"] and secret not in d.stderr()
    # one without a password says what is wrong
    d = drivers("pg", "host=127.0.0.1 bogus_option=1", must_open=False)
    assert not d.opened and "bogus_option" in d.hello["error"], d.hello


def test_a_uri_works_too(pg, pwfile, drivers):
    d = drivers("pg", pg.uri("okta_jit"), pwfile)
    assert d("insert", grant=grant())["rc"] == OK


# ---------------------------------------------------------------- schema

@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_newer_database_is_refused(kind, pg, pwfile, tmp_path, drivers):
    args = ("sqlite", str(tmp_path / "ledger.db")) if kind == "sqlite" else ("pg", pg.conninfo, pwfile)
    drivers(*args).close()
    if kind == "sqlite":
        db = sqlite3.connect(str(tmp_path / "ledger.db"))
        db.execute("PRAGMA user_version = 99")
        db.commit()
        db.close()
    else:
        pg.psql("UPDATE okta_jit_schema SET version = 99")
    d = drivers(*args, must_open=False)
    assert not d.opened and "99" in d.hello["error"] and "newer" in d.hello["error"], d.hello


def test_a_schema_table_of_two_rows_is_refused(pg, pwfile, drivers):
    drivers("pg", pg.conninfo, pwfile).close()
    pg.psql("INSERT INTO okta_jit_schema VALUES (3)")
    d = drivers("pg", pg.conninfo, pwfile, must_open=False)
    assert not d.opened and "okta_jit_schema" in d.hello["error"], d.hello


def test_daemons_starting_at_once_migrate_once(pg, pwfile, tmp_path):
    procs = [subprocess.Popen([binary("tests/ledger_driver"), "pg", pg.conninfo, pwfile],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    hellos = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        hellos.append((json.loads(out.splitlines()[0]), err))
    for h, err in hellos:
        assert h["open"] and h["schema_version"] == SCHEMA_VERSION, (h, err)
    assert pg.psql("SELECT version FROM okta_jit_schema") == [(str(SCHEMA_VERSION),)]
    assert pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [("7",)]


# ---------------------------------------------------------------- outages

def test_a_database_that_goes_away_and_comes_back(open_pg, pg):
    d = open_pg()
    gid = d("insert", grant=grant())["id"]
    assert d("claim", id=gid)["r"] == 1
    pg.stop()
    try:
        t0 = time.monotonic()
        r = d("get", id=gid)
        assert r["rc"] == ERR and "ledger database unreachable" in r["error"], r
        assert time.monotonic() - t0 < 12, "a call took %.1fs" % (time.monotonic() - t0)
        # the next calls fail at once for a moment instead of queueing behind reconnects
        t0 = time.monotonic()
        for op, kw in (("get", {"id": gid}), ("insert", {"grant": grant()}), ("list", {"limit": 10}),
                       ("audit_add", {"event": "x", "grant_id": 0}), ("claim", {"id": 9})):
            r = d(op, **kw)
            assert r.get("rc") == ERR or r.get("r") == -1, (op, r)
        # an unreadable ledger is not "nothing due": the scheduler asks again soon
        assert d("next_due")["t"] == -1
        assert time.monotonic() - t0 < 12
        r = d("last_error")
        assert "unreachable" in r["error"], r
    finally:
        pg.start()
    deadline = time.time() + 20
    while d("get", id=gid)["rc"] != OK:
        assert time.time() < deadline, "the ledger never reconnected: %s" % d("last_error")
        time.sleep(0.3)
    assert d("reconnects")["n"] >= 1
    assert d("insert", grant=grant())["rc"] == OK
    # the claim died with the old connection: unclaim must not trip, claim works again
    d("unclaim", id=gid)
    assert d("claim", id=gid)["r"] == 1


def test_a_database_that_is_not_there_at_start(pg, pwfile, drivers):
    t0 = time.monotonic()
    d = drivers("pg", "host=127.0.0.1 port=1 dbname=okta_jit user=okta_jit", pwfile, must_open=False)
    assert not d.opened and "cannot connect to the ledger database \"okta_jit\" on 127.0.0.1:1" in d.hello["error"]
    assert time.monotonic() - t0 < 10


def test_a_statement_waiting_on_a_lock_gives_up(open_pg, pg):
    d = open_pg()
    gid = d("insert", grant=grant())["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = pg.superuser_password
    holder = subprocess.Popen([os.path.join(pg.bindir, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(pg.port),
                               "-U", "postgres", "-d", "okta_jit"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              text=True, env=env)
    try:
        holder.stdin.write("BEGIN; LOCK TABLE grants IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);\n")
        holder.stdin.flush()
        deadline = time.time() + 20
        while not pg.psql("SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                          "WHERE c.relname = 'grants' AND l.mode = 'AccessExclusiveLock' AND l.granted"):
            assert time.time() < deadline, "psql never took the lock"
            time.sleep(0.1)
        t0 = time.monotonic()
        r = d("get", id=gid)
        took = time.monotonic() - t0
        assert r["rc"] == ERR and "lock timeout" in r["error"], r
        assert 4 < took < 9, took
        # the connection is fine: other tables answer
        assert d("audit_add", event="x", grant_id=0)["rc"] == OK
    finally:
        holder.kill()
        holder.wait(10)
        # its server process sleeps on, holding the lock, until told
        pg.psql("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE usename = 'postgres' AND pid <> pg_backend_pid() AND query LIKE '%pg_sleep%'")
    assert d("get", id=gid)["rc"] == OK


def test_a_server_that_hangs(open_pg, pg):
    """A server process that stops answering (SIGSTOP: no statement_timeout,
    and the kernel still acknowledges every packet) costs one call its
    bounded wait, then the next call gets a new connection."""
    d = open_pg(pg.conninfo + " application_name=hung_a", name="a")
    gid = d("insert", grant=grant())["id"]
    pid = int(pg.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'hung_a'")[0][0])
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = d("get", id=gid, timeout=90)
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r["rc"] == ERR and "no answer in 15 s" in r["error"], r
    assert 14 < took < 20, took
    assert d("get", id=gid)["rc"] == OK
    assert d("reconnects")["n"] == 1


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_old_sent_and_dropped_notifications_are_pruned(open_backend, kind):
    """prune deletes rows sent or dropped before the cut, never a waiting
    row, and says how many it deleted; the same on both backends."""
    d = open_backend(kind)
    rows = [note(grant_id=i) for i in range(1, 6)]
    got = [d("notify_add", notification=n)["id"] for n in rows]
    # 1 sent long ago, 2 dropped long ago, 3 sent just now, 4 waiting, 5 waiting and failed before
    updates = {got[0]: dict(sent_at=T - 100), got[1]: dict(dropped_at=T - 100), got[2]: dict(sent_at=T),
               got[4]: dict(attempts=3, last_error="HTTP 500")}
    for gid, change in updates.items():
        n = dict(rows[got.index(gid)], id=gid, **change)
        assert d("notify_update", notification=n)["rc"] == OK
    r = d("notify_prune", before=T - 10)
    assert r["rc"] == 2, r
    assert d("notify_prune", before=T - 10)["rc"] == 0
    left = ids(d("notify_due", now=T + 10**6, limit=100))
    assert left == [got[3], got[4]], left
    for gid, want in ((got[0], NOTFOUND), (got[1], NOTFOUND), (got[2], OK), (got[3], OK)):
        n = rows[got.index(gid)]
        assert d("notify_exists", target=n["target"], event=n["event"], grant_id=n["grant_id"])["rc"] == want, gid


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_drift_rows_put_list_and_delete_alike(open_backend, kind):
    """The drift table (schema 11, issue 20): one row per group id and Okta
    user id, replaced whole by a put, listed by group and login (all groups
    without one), deleted by its key (a missing row is no error); the same
    answers from both backends."""
    d = open_backend(kind)
    row = {"group_id": "00gweb", "okta_user_id": "00umal", "grp": "web-sudo", "login": "mal@example.com",
           "first_seen": T, "last_seen": T, "state": "reported", "attempts": 0, "last_error": "", "host": "g1"}
    assert d("drift_put", **row)["rc"] == OK
    assert d("drift_put", **dict(row, okta_user_id="00uann", login="ann@example.com"))["rc"] == OK
    assert d("drift_put", **dict(row, group_id="00gdb", grp="prod-db", login="zed@example.com"))["rc"] == OK
    assert d("drift_put", **dict(row, last_seen=T + 9, state="failed", attempts=2,
                                 last_error="403 E0000006", host="g2"))["rc"] == OK
    rows = d("drift_list")["rows"]
    assert [(r["grp"], r["login"]) for r in rows] == [("prod-db", "zed@example.com"), ("web-sudo", "ann@example.com"),
                                                      ("web-sudo", "mal@example.com")], rows
    assert rows[2] == dict(row, last_seen=T + 9, state="failed", attempts=2, last_error="403 E0000006", host="g2")
    assert [r["login"] for r in d("drift_list", grp="web-sudo")["rows"]] == ["ann@example.com", "mal@example.com"]
    assert d("drift_del", group_id="00gweb", okta_user_id="00umal")["rc"] == OK
    assert d("drift_del", group_id="00gweb", okta_user_id="00umal")["rc"] == OK
    assert [r["login"] for r in d("drift_list", grp="web-sudo")["rows"]] == ["ann@example.com"]
