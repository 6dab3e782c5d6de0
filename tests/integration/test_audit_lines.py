"""Audit lines as syslog, the journal, `okta-jit audit` and the ledger see
them (issue 15, items 5 and 10).

okta-jitd runs in a mount namespace of its own whose /dev/log is a
datagram socket this test reads (the machine's /dev is untouched), so the
syslog lines are the ones glibc's syslog() really sent."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading

import pytest

from daemon_fixtures import *  # noqa: F401,F403

T_SERVICE, T_RHOST, T_TTY = 3, 4, 5  # proto.h

# What a user sent as SERVICE to make an audit line read as an approval.
FORGED = 'x" event=approved actor="ojt-olivia" user="ojt-alice'
# The same trick with a backslash (to eat an escape), a newline (a second
# line) and a control character.
FORGED2 = 'y\\" event=approved id=9\nokta-jitd: audit event=approved\x1b[2J'


def parse_logfmt(line):
    """[(key, value)] of a key=value line; a quoted value is unescaped
    (\\" \\\\ \\xNN). A bare word is a key with value None. An unclosed
    quote fails."""
    out, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        j = i
        while j < n and line[j] not in " =":
            j += 1
        key, value = line[i:j], None
        if j < n and line[j] == "=":
            j += 1
            if j < n and line[j] == '"':
                j += 1
                val = []
                while j < n and line[j] != '"':
                    if line[j] == "\\":
                        assert j + 1 < n, line
                        if line[j + 1] == "x":
                            val.append(chr(int(line[j + 2:j + 4], 16)))
                            j += 4
                        else:
                            val.append(line[j + 1])
                            j += 2
                        continue
                    val.append(line[j])
                    j += 1
                assert j < n, "unclosed quote in %r" % line
                j += 1
                value = "".join(val)
            else:
                k = j
                while j < n and line[j] != " ":
                    j += 1
                value = line[k:j]
        out.append((key, value))
        i = j
    return out


def audit_lines(text):
    """The audit lines in syslog messages or a daemon log: what follows
    "audit " at the start of a message."""
    out = []
    for ln in text.splitlines():
        k = ln.find("audit event=")
        if k >= 0:
            out.append(ln[k + len("audit "):])
    return out


class SyslogCatcher:
    """A datagram socket standing in for /dev/log; collects messages."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ojit-log-")
        os.chmod(self.dir, 0o755)
        self.path = os.path.join(self.dir, "log")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.stopping = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stopping:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append(d.decode("utf-8", "replace"))

    def text(self):
        with self.lock:
            # "<PRI>Mmm dd hh:mm:ss ident[pid]: message": keep the message
            return "\n".join(m.split(": ", 1)[1] if ": " in m else m for m in self.msgs)

    def close(self):
        self.stopping = True
        self.t.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _namespaces_work():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    return p.returncode == 0


@pytest.fixture
def logged_jit(jit_factory, tmp_path):
    """okta-jitd (not yet started) whose /dev/log is a SyslogCatcher: a
    private mount namespace with an overlay on /dev holding the link."""
    if not _namespaces_work():
        pytest.skip("needs root and unshare(1) for a private /dev/log")
    catcher = SyslogCatcher()
    env = jit_factory(start=False)
    up, work = str(tmp_path / "dev-up"), str(tmp_path / "dev-work")
    os.makedirs(up)
    os.makedirs(work)
    env.daemon.prefix = [
        "unshare", "-m", "--propagation", "private", "sh", "-c",
        'mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1,workdir=$2" /dev && ln -sfn "$3" /dev/log '
        '&& shift 3 && exec "$@"', "sh", up, work, catcher.path]
    env.syslog = catcher
    yield env
    env.daemon.stop()
    try:  # a detached one the test could not stop
        os.kill(detached_pid(env.daemon.exe, env.daemon.conf), signal.SIGTERM)
    except (AssertionError, OSError):
        pass
    catcher.close()


def run_raw_as(jit, user, frames):
    req = {"socket": jit.sock, "frames": [{"hex": d.hex(), "timeout": 8, "shutdown": True} for d in frames]}
    p = subprocess.run(as_user_prefix(user) + ["/usr/bin/python3", "-c", RAW_SCRIPT], input=json.dumps(req),
                       capture_output=True, text=True, timeout=60, cwd="/")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def wait_lines(jit, pred, what):
    return wait_for(lambda: pred(audit_lines(jit.syslog.text())), 15, what=what)


def assert_one_event(line, event):
    kv = parse_logfmt(line)
    events = [v for k, v in kv if k == "event"]
    assert events == [event], (events, line)
    return dict(kv)


def test_forged_pam_items_and_reasons_stay_values(logged_jit):
    """15.5: a SERVICE (from a user, or from root) and a reason that try to
    end their value and add event=approved are each one escaped value: in
    syslog, on stderr, in the ledger and in `okta-jit audit`."""
    jit = logged_jit
    jit.daemon.start()
    # a user's own CHECK that carries PAM items
    out = run_raw_as(jit, "ojt-alice", [
        frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_SERVICE, FORGED) + tlv(T_RHOST, FORGED2)
              + tlv(T_TTY, FORGED))])
    assert out[0]["type"] == P_OK, out
    # root's (the PAM module's) CHECK, the same text as SERVICE
    for svc in (FORGED, FORGED2):
        res = raw_exchange(jit.sock, frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_USER, "ojt-bob")
                                           + tlv(T_SERVICE, svc)), shutdown_write=True)
        assert res[0] == P_OK, res
    # a reason (a user's text) and a deny note
    r = jit.request("prod-db-ssh", dur="1h", reason=FORGED, as_user="ojt-alice")
    gid = r.grant["id"]
    d = jit.cli("deny", gid, "--reason", FORGED.replace('"', "'") + '"', user="ojt-olivia")
    assert d.rc == 0, d

    lines = wait_lines(jit, lambda ls: len([x for x in ls if "event=denied" in x]) >= 1, "the denied line")
    lines = audit_lines(jit.syslog.text())
    assert len(lines) >= 5, lines
    for ln in lines:
        assert "\n" not in ln and "\x1b" not in ln, ln
        kv = parse_logfmt(ln)
        assert [k for k, _ in kv].count("event") == 1, ln
    refused = [ln for ln in lines if ln.startswith("event=check_refused ")]
    assert len(refused) == 3, lines
    # the user's PAM items are ignored: only root's (the module's) count
    # (records are written after their replies: found by actor, not order)
    events = [assert_one_event(ln, "check_refused") for ln in refused]
    mine = [e for e in events if e["actor"] == "ojt-alice"]
    assert len(mine) == 1, refused
    alice = mine[0]
    assert alice["user"] == "ojt-alice" and alice["service"] == "", refused
    assert "rhost" not in alice and "tty" not in alice
    bob = [e for e in events if e["actor"] != "ojt-alice"]
    assert len(bob) == 2 and all(b["user"] == "ojt-bob" for b in bob), refused
    # (in either order: a refused check's record is written after its reply,
    # so the second connection's may reach syslog first)
    assert sorted(b["service"] for b in bob) == sorted([FORGED, FORGED2]), refused
    req = [ln for ln in lines if ln.startswith("event=requested ")]
    assert len(req) == 1 and assert_one_event(req[0], "requested")["reason"] == FORGED, req
    den = [ln for ln in lines if ln.startswith("event=denied ")]
    assert assert_one_event(den[0], "denied")["note"] == FORGED.replace('"', "'") + '"', den
    assert not [ln for ln in lines if ln.startswith("event=approved")], lines

    # stderr (okta-jitd --foreground by hand) carries the same lines
    assert sorted(audit_lines(jit.daemon.log())) == sorted(lines), (audit_lines(jit.daemon.log()), lines)

    # the ledger's detail is the line's tail, and `okta-jit audit` shows it
    rows = jit.audit()
    for row in rows:
        kv = parse_logfmt(row["detail"])
        assert "event" not in [k for k, _ in kv], row
        assert any(ln.endswith(" " + row["detail"]) for ln in lines), (row, lines)
    cli = jit.cli("audit")
    assert cli.rc == 0, cli
    got = sorted((e["event"], e["detail"]) for e in cli.j["events"])
    assert got == sorted((row["event"], row["detail"]) for row in rows), (got, rows)


def test_audit_line_reaches_the_journal_once(logged_jit):
    """15.10: under systemd stderr is the journal (JOURNAL_STREAM names
    it) and syslog reaches the journal too: each audit line goes out
    once, through syslog."""
    jit = logged_jit
    st = os.stat(jit.daemon.logpath) if os.path.exists(jit.daemon.logpath) else None
    if st is None:
        open(jit.daemon.logpath, "a").close()
        st = os.stat(jit.daemon.logpath)
    # the daemon's stderr is this file, opened for append by Daemon.start
    jit.daemon.env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    jit.daemon.start()
    res = raw_exchange(jit.sock, frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_USER, "ojt-bob")
                                       + tlv(T_SERVICE, "sshd")), shutdown_write=True)
    assert res[0] == P_OK, res
    wait_lines(jit, lambda ls: [x for x in ls if x.startswith("event=check_refused ")], "the syslog line")
    jit.settle_audit()  # answered once the check's record (and any copy) is written
    copies = [ln for ln in audit_lines(jit.syslog.text()) + audit_lines(jit.daemon.log())
              if ln.startswith("event=check_refused ")]
    assert len(copies) == 1, (copies, jit.daemon.log()[-2000:])
    # its own lines on stderr carry their level for journald (<N>,
    # sd-daemon(3)): else the journal files every one at info
    own = [ln for ln in jit.daemon.log().splitlines() if "okta-jitd: " in ln]
    assert own and all(ln[:1] == "<" and ln[1:2] in "01234567" and ln[2:14] == ">okta-jitd: " for ln in own), own
    # without JOURNAL_STREAM (okta-jitd --foreground in a terminal) the
    # line is also shown on stderr
    jit.daemon.stop()
    jit.daemon.env = None
    jit.daemon.start()
    res = raw_exchange(jit.sock, frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_USER, "ojt-carol")
                                       + tlv(T_SERVICE, "sshd")), shutdown_write=True)
    assert res[0] == P_OK, res
    wait_for(lambda: [ln for ln in audit_lines(jit.daemon.log()) if "user=ojt-carol" in ln], 15,
             what="the stderr copy")
    assert len([ln for ln in audit_lines(jit.syslog.text()) if "user=ojt-carol" in ln]) == 1


def detached_pid(exe, conf):
    """The okta-jitd this test started, by its command line (SO_PEERCRED
    names the process that listened: the parent, gone since)."""
    want = [exe, "--config", conf]
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")[:-1]
        except OSError:
            continue
        if argv == want:
            return int(d)
    raise AssertionError("the detached okta-jitd is not running")


def test_detached_daemon_sends_each_audit_line_to_syslog_once(logged_jit):
    """15.10, without --foreground: okta-jitd logs to syslog, and the audit
    line was sent there twice (once as the audit record, once as a log
    line)."""
    jit = logged_jit
    p = subprocess.run(jit.daemon.prefix + [jit.daemon.exe, "--config", jit.daemon.conf], capture_output=True,
                       text=True, timeout=30, cwd="/")
    assert p.returncode == 0, p
    wait_for(lambda: os.path.exists(jit.sock) and raw_ping(jit.sock, 1.0), 20, what="the detached okta-jitd")
    pid = detached_pid(jit.daemon.exe, jit.daemon.conf)
    try:
        res = raw_exchange(jit.sock, frame(CHECK, tlv(T_GROUP, "prod-db-ssh") + tlv(T_USER, "ojt-bob")
                                           + tlv(T_SERVICE, "sshd")), shutdown_write=True)
        assert res[0] == P_OK, res
        wait_lines(jit, lambda ls: [x for x in ls if x.startswith("event=check_refused ")], "the syslog line")
        jit.settle_audit()  # answered once the check's record (and any copy) is written
        copies = [ln for ln in audit_lines(jit.syslog.text()) if ln.startswith("event=check_refused ")]
        assert len(copies) == 1, jit.syslog.text()
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 15, what="okta-jitd to stop")
