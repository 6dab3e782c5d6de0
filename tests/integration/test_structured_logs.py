"""Structured logs and one way to name people (issue 22, items 2 and the
naming point).

Under systemd (stderr is the journal: JOURNAL_STREAM names it) okta-jitd
sends each audit and log line to the journal with its fields through
libsystemd's sd_journal_sendv. okta-jitd runs here in a mount namespace
of its own whose /run/systemd/journal/socket is a datagram socket this
test reads, so the entries are the ones libsystemd really sent, in the
journal's native protocol (parsed below); its /dev/log is another (the
syslog lines). `make systemd-check` reads the same fields back with
`journalctl -o json` under a real systemd (tests/systemd).

Without the journal the same facts are escaped key=value pairs
(helper/common/audit.c), which parse back whatever a user put in them.

A person is named the same way everywhere: the local name, with the
Okta login beside it (user=alice user_login=alice@example.com,
actor=olivia actor_login=olivia@example.com; "alice (alice@example.com)"
in human text): in the audit's syslog line and ledger row, the journal,
okta-jit audit and the webhook payloads."""
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from test_audit_lines import (SyslogCatcher, _namespaces_work, audit_lines, detached_pid,  # noqa: F401
                              parse_logfmt)
from webhook_receiver import webhook  # noqa: F401

ALICE_LOGIN = "ojt-alice@example.com"
OLIVIA_LOGIN = "ojt-olivia@example.com"
# What a user sent as a PAM item, to make a line read as someone else's.
FORGED = 'x" user=ojt-olivia user_login="root@example.com\nokta-jitd: audit event=approved\x1b[2J'
# A group name (no control characters: refused at the socket) that tries
# the same.
HOSTILE_GROUP = 'x" user=root user_login="root@example.com group=prod-db-ssh \\" actor=okta-jitd'


def parse_native(data):
    """The fields of one datagram of the journal's native protocol
    (systemd's JOURNAL_NATIVE_PROTOCOL): "NAME=value\\n", or for a value
    that holds a newline "NAME\\n" + 64-bit little-endian length + value
    + "\\n". Returns [(name, value)]; anything else fails."""
    out, i, n = [], 0, len(data)
    while i < n:
        j = i
        while j < n and data[j] not in (0x3d, 0x0a):  # '=' '\n'
            j += 1
        assert j < n, data[i:]
        name = data[i:j].decode()
        assert name and all(c.isupper() or c.isdigit() or c == "_" for c in name), name
        if data[j] == 0x3d:
            k = data.index(b"\n", j + 1)
            out.append((name, data[j + 1:k].decode("utf-8", "replace")))
            i = k + 1
        else:
            (length,) = struct.unpack("<Q", data[j + 1:j + 9])
            v = data[j + 9:j + 9 + length]
            assert data[j + 9 + length:j + 10 + length] == b"\n", data[j:]
            out.append((name, v.decode("utf-8", "replace")))
            i = j + 10 + length
    return out


class JournalCatcher:
    """A datagram socket standing in for journald's native socket."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ojit-journal-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "socket")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.settimeout(0.2)
        self.entries = []
        self.lock = threading.Lock()
        self.stopping = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            try:
                d = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.entries.append(parse_native(d))

    def all(self):
        with self.lock:
            return [dict(e) for e in self.entries]

    def raw(self):
        with self.lock:
            return list(self.entries)

    def close(self):
        self.stopping = True
        self.t.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def namespace_prefix(tmp_path, syslog_path, journal_path):
    """unshare(1) argv: a private mount namespace whose /dev/log and
    /run/systemd/journal/socket are the catchers' (overlays: the
    machine's own /dev and /run/systemd are untouched)."""
    dirs = []
    for n in ("dev-up", "dev-work", "run-up", "run-work"):
        p = str(tmp_path / n)
        os.makedirs(p)
        dirs.append(p)
    script = ('mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1,workdir=$2" /dev && ln -sfn "$5" /dev/log && '
              'mount -t overlay overlay -o "lowerdir=/run/systemd,upperdir=$3,workdir=$4" /run/systemd && '
              'mkdir -p /run/systemd/journal && ln -sfn "$6" /run/systemd/journal/socket && '
              'shift 6 && exec "$@"')
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + dirs + [syslog_path,
                                                                                          journal_path]


def notify_lines(webhook, tmp_path):
    secret_file = str(tmp_path / "webhook.secret")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("whsec-" + secrets.token_hex(24) + "\n")
    return "\n".join(["", "[notify hook]", "url = %s" % webhook.url, "secret_file = %s" % secret_file,
                      "format = json", "ca_file = %s" % webhook.ca]) + "\n"


@pytest.fixture
def journal_jit(jit_factory, tmp_path, webhook):  # noqa: F811
    """okta-jitd (not yet started) in a namespace with both catchers, a
    webhook target, and the journal_stream() helper to make its stderr
    the journal (as systemd's StandardError=journal does)."""
    if not _namespaces_work() or not os.path.isdir("/run/systemd"):
        pytest.skip("needs root, unshare(1) and /run/systemd for a private journal socket")
    syslog, journal = SyslogCatcher(), JournalCatcher()
    env = jit_factory(start=False, flows=JIT_FLOWS + notify_lines(webhook, tmp_path))  # noqa: F405
    env.daemon.prefix = namespace_prefix(tmp_path, syslog.path, journal.path)
    env.syslog, env.journal, env.webhook = syslog, journal, webhook

    def journal_stream():
        if not os.path.exists(env.daemon.logpath):
            open(env.daemon.logpath, "a").close()
        st = os.stat(env.daemon.logpath)  # Daemon.start appends its stderr to this file
        env.daemon.env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    env.journal_stream = journal_stream
    yield env
    env.daemon.stop()
    syslog.close()
    journal.close()


def owners_grant(jit):
    """ojt-alice asks for prod-db-ssh (owners flow), ojt-olivia approves."""
    r = jit.request("prod-db-ssh", dur="1h", reason=FORGED.replace("\n", " ").replace("\x1b", ""),
                    as_user="ojt-alice")
    gid = r.grant["id"]
    assert r.grant["state"] == "pending", r
    a = jit.cli("approve", gid, user="ojt-olivia")
    assert a.rc == EXIT_OK and a.grant["state"] == "active", a  # noqa: F405
    return gid


def test_journal_entries_carry_the_fields(journal_jit):
    """22.2: under systemd each audit record is one journal entry with
    its fields (OKTA_JIT_EVENT, GRANT_ID, OKTA_JIT_USER/LOGIN,
    OKTA_JIT_GROUP, OKTA_JIT_ACTOR/ACTOR_LOGIN, OKTA_REQUEST_ID,
    OKTA_JIT_ERROR_CODE); a grant's entries are found by GRANT_ID=N; the
    line is not sent a second time through syslog or stderr; okta-jitd's
    own log lines reach the journal with their level."""
    jit = journal_jit
    jit.journal_stream()
    jit.daemon.start()
    gid = owners_grant(jit)
    put = [q for q in jit.okta.requests() if q["method"] == "PUT"
           and q["path"] == "/api/v1/groups/%s/users/%s" % (G_PRODDB, ALICE)]  # noqa: F405
    assert len(put) == 1, put
    # a refused check whose PAM item (root's: the module's) is hostile
    res = raw_exchange(jit.sock, frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_USER, "ojt-bob")  # noqa: F405
                                       + tlv(3, FORGED)), shutdown_write=True)
    assert res[0] == P_OK, res  # noqa: F405

    def mine(entries):
        return [e for e in entries if e.get("GRANT_ID") == str(gid)]
    wait_for(lambda: {"requested", "approved", "granted"} <= {e.get("OKTA_JIT_EVENT") for e in mine(  # noqa: F405
        jit.journal.all())}, 15, what="the grant's journal entries")
    jit.settle_audit()
    entries = jit.journal.all()
    by_event = {e["OKTA_JIT_EVENT"]: e for e in mine(entries)}
    for ev in ("requested", "approved", "granted"):
        e = by_event[ev]
        assert e["MESSAGE"].startswith("audit event=%s id=%d " % (ev, gid)), e
        assert e["PRIORITY"] == "5" and e["SYSLOG_FACILITY"] == "10" and e["SYSLOG_IDENTIFIER"] == "okta-jitd", e
        assert e["OKTA_JIT_USER"] == "ojt-alice" and e["OKTA_JIT_LOGIN"] == ALICE_LOGIN, e
        assert e["OKTA_JIT_GROUP"] == "prod-db-ssh", e
        # the MESSAGE is the key=value line, and says the same
        kv = dict(parse_logfmt(e["MESSAGE"][len("audit "):]))
        assert kv["user"] == "ojt-alice" and kv["user_login"] == ALICE_LOGIN and kv["id"] == str(gid), kv
    assert by_event["requested"]["OKTA_JIT_ACTOR"] == "ojt-alice"
    assert by_event["requested"]["OKTA_JIT_ACTOR_LOGIN"] == ALICE_LOGIN
    # the approver: the local name, the Okta login beside it
    assert by_event["approved"]["OKTA_JIT_ACTOR"] == "ojt-olivia", by_event["approved"]
    assert by_event["approved"]["OKTA_JIT_ACTOR_LOGIN"] == OLIVIA_LOGIN, by_event["approved"]
    assert by_event["granted"]["OKTA_REQUEST_ID"] == put[0]["request_id"], (by_event["granted"], put)
    # a system actor has no login
    refused = [e for e in entries if e.get("OKTA_JIT_EVENT") == "check_refused"]
    assert len(refused) == 1, refused
    r = refused[0]
    assert r["OKTA_JIT_ACTOR"] == "pam" and "OKTA_JIT_ACTOR_LOGIN" not in r, r
    assert r["OKTA_JIT_USER"] == "ojt-bob" and r["OKTA_JIT_ERROR_CODE"] == "no_grant", r
    assert "GRANT_ID" not in r, r
    # the hostile service is one escaped value of the MESSAGE, which is one line
    assert "\n" not in r["MESSAGE"] and "\x1b" not in r["MESSAGE"], r
    kv = parse_logfmt(r["MESSAGE"][len("audit "):])
    assert [k for k, _ in kv].count("user") == 1 and dict(kv)["service"] == FORGED, kv
    # a hostile group name is the field's whole value
    r = jit.request(HOSTILE_GROUP, dur="1h", as_user="ojt-alice", expect=None)
    assert r.rc != EXIT_OK, r  # noqa: F405
    nf = wait_for(lambda: [e for e in jit.journal.all() if e.get("OKTA_JIT_EVENT") == "refused"  # noqa: F405
                           and e.get("OKTA_JIT_ERROR_CODE") == "no-flow"], 15, what="the refusal's entry")
    assert nf[0]["OKTA_JIT_GROUP"] == HOSTILE_GROUP and nf[0]["OKTA_JIT_USER"] == "ojt-alice", nf
    assert dict(parse_logfmt(nf[0]["MESSAGE"][len("audit "):]))["group"] == HOSTILE_GROUP, nf
    entries = jit.journal.all()
    # every entry is in the journal once: not through syslog, not on stderr
    assert not audit_lines(jit.syslog.text()), jit.syslog.text()
    assert not audit_lines(jit.daemon.log()), jit.daemon.log()
    assert len([e for e in entries if e.get("OKTA_JIT_EVENT") == "approved"]) == 1
    # an error line carries its facts too: a webhook that fails
    jit.webhook.set_mode("fail500")
    gid2 = jit.request("web-sudo", dur="1h", as_user="ojt-bob").grant["id"]
    bad = wait_for(lambda: [e for e in jit.journal.all() if e.get("OKTA_JIT_ERROR_CODE") == "notify_failed"  # noqa
                            and e.get("GRANT_ID") == str(gid2)], 20, what="the failed delivery's entry")
    assert bad[0]["PRIORITY"] == "4" and bad[0]["CODE_FUNC"] and "not delivered" in bad[0]["MESSAGE"], bad
    assert bad[0]["OKTA_JIT_EVENT"] in ("requested", "approved", "granted"), bad
    entries = jit.journal.all()
    # okta-jitd's own lines: in the journal with a level and a function,
    # and no longer on stderr
    own = [e for e in entries if "OKTA_JIT_EVENT" not in e]
    assert own and all(e["SYSLOG_IDENTIFIER"] == "okta-jitd" and e["PRIORITY"] in "01234567" for e in own), own
    assert not [ln for ln in jit.daemon.log().splitlines() if ln.startswith("<") and ">okta-jitd: " in ln], \
        jit.daemon.log()[-2000:]


def test_without_the_journal_lines_fall_back(journal_jit):
    """Not under systemd (no JOURNAL_STREAM): nothing goes to the journal
    socket, even where one exists; the audit line goes to syslog as
    before, with the person fields as key=value."""
    jit = journal_jit
    jit.daemon.start()
    gid = owners_grant(jit)
    lines = wait_for(lambda: [ln for ln in audit_lines(jit.syslog.text())  # noqa: F405
                              if ln.startswith("event=approved id=%d " % gid)], 15, what="the syslog line")
    kv = dict(parse_logfmt(lines[0]))
    assert kv["actor"] == "ojt-olivia" and kv["actor_login"] == OLIVIA_LOGIN, kv
    assert kv["user"] == "ojt-alice" and kv["user_login"] == ALICE_LOGIN, kv
    # a hostile group name is one value: no second user, login or actor
    r = jit.request(HOSTILE_GROUP, dur="1h", as_user="ojt-alice", expect=None)
    assert r.rc != EXIT_OK, r  # noqa: F405
    lines = wait_for(lambda: [ln for ln in audit_lines(jit.syslog.text())  # noqa: F405
                              if ln.startswith("event=refused ") and "no-flow" in ln], 15, what="the refusal")
    kv = parse_logfmt(lines[0])
    keys = [k for k, _ in kv]
    assert all(keys.count(k) == 1 for k in ("event", "user", "user_login", "actor", "actor_login", "group")), kv
    kv = dict(kv)
    assert kv["group"] == HOSTILE_GROUP and kv["user"] == "ojt-alice" and kv["user_login"] == ALICE_LOGIN, kv
    # an error line: its text, then its facts as pairs (stderr: --foreground)
    jit.webhook.set_mode("fail500")
    gid2 = jit.request("web-sudo", dur="1h", as_user="ojt-bob").grant["id"]
    tail = " grant_id=%d " % gid2
    bad = wait_for(lambda: [ln for ln in jit.daemon.log().splitlines() if "not delivered" in ln  # noqa: F405
                            and tail in ln], 20, what="the failed delivery's line")
    kv = dict(parse_logfmt(bad[0][bad[0].index(tail):]))
    assert kv["grant_id"] == str(gid2) and kv["error_code"] == "notify_failed", bad
    assert kv["event"] in ("requested", "approved", "granted"), bad
    assert jit.journal.raw() == [], jit.journal.raw()[:3]


def test_people_are_named_the_same_way_everywhere(journal_jit):
    """The requester, the user and the approver: the local name with the
    Okta login beside it, alike in the syslog line, the ledger row,
    `okta-jit audit` (JSON and text) and the webhook payloads (the
    approver was an Okta login in the audit's actor and the payload's
    approver before issue 22)."""
    jit = journal_jit
    jit.daemon.start()
    gid = owners_grant(jit)
    # syslog
    lines = wait_for(lambda: [ln for ln in audit_lines(jit.syslog.text())  # noqa: F405
                              if ln.startswith("event=approved id=%d " % gid)], 15, what="the syslog line")
    sl = dict(parse_logfmt(lines[0]))
    # the ledger row: the same names, the logins in its detail
    row = [a for a in jit.audit(gid, "approved")]
    assert len(row) == 1 and row[0]["actor"] == "ojt-olivia" and row[0]["user"] == "ojt-alice", row
    det = dict(parse_logfmt(row[0]["detail"]))
    assert det["actor_login"] == OLIVIA_LOGIN and det["user_login"] == ALICE_LOGIN, det
    # okta-jit audit --json: the logins beside the names
    r = jit.cli("audit", "--user", "ojt-alice")
    assert r.rc == EXIT_OK, r  # noqa: F405
    cli = [e for e in r.j["events"] if e["event"] == "approved" and e["id"] == gid]
    assert len(cli) == 1, r.j
    c = cli[0]
    assert (c["actor"], c["actor_login"], c["user"], c["user_login"]) == \
        ("ojt-olivia", OLIVIA_LOGIN, "ojt-alice", ALICE_LOGIN), c
    # okta-jit audit (text): "name (login)"
    t = jit.cli("audit", "--user", "ojt-alice", json_out=False)
    assert t.rc == EXIT_OK, t  # noqa: F405
    appr = [ln for ln in t.out.splitlines() if ln.split()[3:5] == ["approved", str(gid)]]
    assert len(appr) == 1, t.out
    # the table's ACTOR, USER and GROUP columns
    assert appr[0].split()[5:10] == ["ojt-olivia", "(%s)" % OLIVIA_LOGIN, "ojt-alice", "(%s)" % ALICE_LOGIN,
                                     "prod-db-ssh"], appr
    assert "user_login=" not in appr[0] and "actor_login=" not in appr[0], appr
    # webhooks: requester, approver, actor, user each a name and a login
    wh = jit.webhook
    wh.wait(lambda _e: {"approved", "granted"} <= {e["headers"].get("x-oktajit-event") for e in wh.delivered()
                                                   if (e["json"] or {}).get("grant_id") == gid},
            30, what="the approved and granted payloads")
    pay = {e["headers"]["x-oktajit-event"]: e["json"] for e in wh.delivered() if e["json"].get("grant_id") == gid}
    p = pay["approved"]
    assert (p["user"], p["user_login"]) == ("ojt-alice", ALICE_LOGIN), p
    assert (p["requester"], p["requester_login"]) == ("ojt-alice", ALICE_LOGIN), p
    assert (p["approver"], p["approver_login"]) == ("ojt-olivia", OLIVIA_LOGIN), p
    assert (p["actor"], p["actor_login"]) == ("ojt-olivia", OLIVIA_LOGIN), p
    g = pay["granted"]
    assert (g["approver"], g["approver_login"]) == ("ojt-olivia", OLIVIA_LOGIN), g
    assert (g["actor"], g["actor_login"]) == ("ojt-olivia", OLIVIA_LOGIN), g  # granted: by its approver
    # one person, one pair of names, in all four
    assert (sl["actor"], sl["actor_login"]) == (c["actor"], c["actor_login"]) == (p["approver"],
                                                                                   p["approver_login"])
    # the grant row keeps the approver's Okta login (its stored meaning)
    assert jit.grant(gid)["approver"] == OLIVIA_LOGIN


def test_a_detached_daemon_under_systemd_uses_the_journal(journal_jit):
    """okta-jitd without --foreground in a service systemd started
    (INVOCATION_ID): the syslog target, yet its lines reach the journal
    with their fields, not through syslog."""
    jit = journal_jit
    env = dict(os.environ, INVOCATION_ID="0123456789abcdef0123456789abcdef")
    p = subprocess.run(jit.daemon.prefix + [jit.daemon.exe, "--config", jit.daemon.conf], capture_output=True,
                       text=True, timeout=30, cwd="/", env=env)
    assert p.returncode == 0, p
    wait_for(lambda: os.path.exists(jit.sock) and raw_ping(jit.sock, 1.0), 20,  # noqa: F405
             what="the detached okta-jitd")
    pid = detached_pid(jit.daemon.exe, jit.daemon.conf)
    try:
        res = raw_exchange(jit.sock, frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_USER, "ojt-bob")  # noqa: F405
                                           + tlv(3, "sshd")), shutdown_write=True)
        assert res[0] == P_OK, res  # noqa: F405
        wait_for(lambda: [e for e in jit.journal.all() if e.get("OKTA_JIT_EVENT") == "check_refused"], 15,  # noqa
                 what="the journal entry")
        jit.settle_audit()
        assert not audit_lines(jit.syslog.text()), jit.syslog.text()
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 15, what="okta-jitd to stop")  # noqa: F405
