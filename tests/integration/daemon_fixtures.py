"""Fixtures and helpers for the okta-jitd integration tests (test_daemon_*.py).

A test gets a `JitEnv`: a fake Okta seeded with local-user logins
(ojt-alice@example.com, ...), a config, a running `okta-jitd --foreground`
listening on a socket in a world-traversable directory, and helpers to run
the CLI as root or as one of the session's local users, to read the ledger
(SQLite) and to speak the raw socket protocol.

Import into a test module with `from daemon_fixtures import *`.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import CLIENT_ID, binary, default_seed, write_private_key  # noqa: E402
from pg_fixtures import pg_server  # noqa: E402,F401 - jit_factory asks for it by name

# ---------------------------------------------------------------- constants

USERS = ["ojt-alice", "ojt-bob", "ojt-olivia", "ojt-carol", "ojt-mallory"]

ALICE = "00ualice0000000001"
BOB = "00ubob000000000002"
CAROL = "00ucarol0000000003"
OLIVIA = "00uowner0000000004"
MALLORY = "00umallory00000007"

G_PRODDB = "00gproddb000000001"
G_WEB = "00gweb00000000002"
G_OPS = "00gops00000000005"
G_STAGE = "00gstage000000007"

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG, EXIT_OKTA, EXIT_DAEMON, EXIT_DENIED = 0, 1, 2, 3, 4, 5, 6

JIT_FLOWS = """
[flow web]
groups = web-sudo
requesters = ops-oncall
default_duration = 30m
max_duration = 2h
approval = auto
reason = optional

[flow prod-db]
groups = prod-db-ssh
requesters = ops-oncall
default_duration = 1h
max_duration = 4h
approval = owners
reason = required

[flow staging]
groups = staging-ssh
default_duration = 1h
max_duration = 2h
approval = auto
reason = optional
standing = allow
"""

# proto.h
PING, CHECK, SESSION_OPEN, SESSION_CLOSE, REQUEST, APPROVE, DENY, REVOKE, EXTEND, LIST, STATUS, AUDIT, BREAKGLASS, KEYS = \
    range(1, 15)
P_OK, P_ERROR = 100, 101
T_SINCE = 11
T_USER, T_GROUP, T_DURATION, T_REASON, T_ID, T_CODE, T_MESSAGE, T_DECISION = 1, 2, 7, 8, 9, 21, 22, 20
MAX_REQUEST = 16384


# ---------------------------------------------------------------- seed/config

def jit_seed(key):
    """default_seed with the logins of the local test users (ids kept) and
    one more ACTIVE user, mallory, who is in no group."""
    seed = default_seed([("k1", key)])
    rename = {"alice@example.com", "bob@example.com", "carol@example.com", "olivia@example.com"}
    for u in seed["users"]:
        if u["login"] in rename:
            u["login"] = "ojt-" + u["login"]
            u["email"] = u["login"]
    seed["users"].append({"id": MALLORY, "login": "ojt-mallory@example.com", "status": "ACTIVE",
                          "firstName": "Mallory", "lastName": "M", "email": "ojt-mallory@example.com"})
    return seed


def write_jit_config(workdir, okta, key, sock, ledger, timeout="10s", daemon_extra=None,
                     flows=JIT_FLOWS, owner="user:ojt-olivia@example.com", okta_section=True):
    """A config like conftest.make_config, with the socket where we say.
    okta_section=False: no [okta] section and no key file (a gate, which
    holds no Okta credential)."""
    lines = []
    if okta_section:
        key_path = os.path.join(workdir, "okta.key")
        write_private_key(key_path, key)
        lines = ["[okta]",
                 "org_url = %s" % okta.url,
                 "client_id = %s" % CLIENT_ID,
                 "private_key = %s" % key_path,
                 "key_id = k1",
                 "ca_file = %s" % okta.ca,
                 "timeout = %s" % timeout,
                 ""]
    lines += ["[integration]",
             "name = test-integration",
             "access_details = Ask in #access; approvers are the group owners.",
             "owner = %s" % owner,
             "",
             "[users]",
             "login_format = %u@example.com",
             "",
             "[daemon]",
             "socket = %s" % sock,
             "ledger = %s" % ledger]
    # An add whose outcome was unknown is rechecked 2 s after its removal
    # here (2 min by default), so that tests settle quickly.
    extra = {"recheck_after": "2s"}
    extra.update(daemon_extra or {})
    for k, v in extra.items():
        lines.append("%s = %s" % (k, v))
    text = "\n".join(lines) + "\n" + flows
    path = os.path.join(workdir, "okta-jit.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


# ---------------------------------------------------------------- raw protocol

def tlv(tag, value):
    if isinstance(value, str):
        value = value.encode()
    return struct.pack(">BH", tag, len(value)) + value


def frame(ftype, payload=b"", magic=b"OJIT", version=1, reserved=b"\0\0", length=None):
    if length is None:
        length = len(payload)
    return magic + bytes([version, ftype]) + reserved + struct.pack(">I", length) + payload


def parse_reply(data):
    """(type, [(tag, value)]) from one whole frame."""
    assert data[:4] == b"OJIT" and data[4] == 1, data[:12]
    ftype = data[5]
    (n,) = struct.unpack(">I", data[8:12])
    p = data[12:12 + n]
    fields, off = [], 0
    while off < len(p):
        tag, ln = struct.unpack(">BH", p[off:off + 3])
        fields.append((tag, p[off + 3:off + 3 + ln].decode("utf-8", "replace")))
        off += 3 + ln
    return ftype, fields


def recv_frame(s, timeout=10.0):
    """One reply frame, or None when the daemon closed the connection."""
    s.settimeout(timeout)
    buf = b""
    while True:
        if len(buf) >= 12:
            (n,) = struct.unpack(">I", buf[8:12])
            if len(buf) >= 12 + n:
                return parse_reply(buf[:12 + n])
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return None if not buf else ("partial", buf)
        buf += chunk


def raw_exchange(sock_path, data, timeout=10.0, shutdown_write=False):
    """Send data on a fresh connection; return the reply frame or None if the
    daemon closed the connection without answering."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sock_path)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return None
        if shutdown_write:
            s.shutdown(socket.SHUT_WR)
        return recv_frame(s, timeout)
    finally:
        s.close()


def raw_ping(sock_path, timeout=2.0):
    try:
        r = raw_exchange(sock_path, frame(PING), timeout)
    except OSError:
        return False
    return r is not None and r[0] == P_OK


# The same, as a stand-alone script for running under another uid.
RAW_SCRIPT = r'''
import json, socket, struct, sys
req = json.load(sys.stdin)
out = []
for item in req["frames"]:
    data = bytes.fromhex(item["hex"])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(item.get("timeout", 10))
    res = {"closed": False, "type": None, "fields": []}
    try:
        s.connect(req["socket"])
        try:
            s.sendall(data)
            if item.get("shutdown"):
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        buf = b""
        while True:
            if len(buf) >= 12:
                n = struct.unpack(">I", buf[8:12])[0]
                if len(buf) >= 12 + n:
                    break
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                c = b""
            if not c:
                break
            buf += c
        if len(buf) < 12:
            res["closed"] = True
        else:
            res["type"] = buf[5]
            n = struct.unpack(">I", buf[8:12])[0]
            p, off = buf[12:12 + n], 0
            while off + 3 <= len(p):
                t, l = struct.unpack(">BH", p[off:off + 3])
                res["fields"].append([t, p[off + 3:off + 3 + l].decode("utf-8", "replace")])
                off += 3 + l
    except socket.timeout:
        res["timeout"] = True
    finally:
        s.close()
    out.append(res)
print(json.dumps(out))
'''


# ---------------------------------------------------------------- processes

class CliResult:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.elapsed = elapsed
        self.j = None
        try:
            self.j = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
        except ValueError:
            self.j = None

    @property
    def grant(self):
        return (self.j or {}).get("grant") or {}

    def __repr__(self):
        return "CliResult(rc=%r, out=%r, err=%r)" % (self.rc, self.out[-1500:], self.err[-1500:])


def as_user_prefix(user):
    if user is None or user == "root":
        return []
    return ["setpriv", "--reuid=%s" % user, "--regid=%s" % user, "--init-groups"]


class Daemon:
    def __init__(self, conf, sock, logpath, exe=None):
        self.exe = exe or binary("okta-jitd")
        self.conf = conf
        self.sock = sock
        self.logpath = logpath
        self.proc = None
        self.starts = 0
        self.prefix = []  # argv run before okta-jitd (a wrapper that execs it)
        self.env = None   # its environment (None: the test's)

    def start(self, timeout=20):
        self.starts += 1
        log = open(self.logpath, "a")
        log.write("\n===== start %d =====\n" % self.starts)
        log.flush()
        self.proc = subprocess.Popen(self.prefix + [self.exe, "--config", self.conf, "--foreground"],
                                     stdout=log, stderr=subprocess.STDOUT, cwd="/", env=self.env)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("okta-jitd exited with %s:\n%s" % (self.proc.returncode, self.log()[-3000:]))
            # A killed daemon leaves its socket file; only a ping proves the new one is up.
            if os.path.exists(self.sock) and raw_ping(self.sock, 1.0):
                return
            time.sleep(0.05)
        raise RuntimeError("okta-jitd did not answer a ping:\n" + self.log()[-3000:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def log(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _sql_literal(v):
    if isinstance(v, bool) or v is None:
        raise TypeError("no literal for %r" % (v,))
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


class PgLedger:
    """A database of its own on the test PostgreSQL (pg_fixtures.pg_server)
    for one okta-jitd, read with psql as the daemon's role."""

    def __init__(self, pg, workdir):
        self.pg = pg
        self.db = "t_" + uuid.uuid4().hex[:12]
        pg.psql("CREATE DATABASE %s OWNER okta_jit" % self.db)
        port = [p[5:] for p in pg.conninfo.split() if p.startswith("port=")][0]
        self.uri = "postgresql://okta_jit@127.0.0.1:%s/%s?sslmode=disable" % (port, self.db)
        self.pwfile = os.path.join(workdir, "ledger-password")
        pg.write_password_file(self.pwfile)

    def rows(self, query, params=()):
        parts = query.split("?")
        assert len(parts) == len(params) + 1, (query, params)
        sql = parts[0] + "".join(_sql_literal(v) + rest for v, rest in zip(params, parts[1:]))
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.uri, "-c",
                            "SELECT COALESCE(json_agg(t), '[]') FROM (%s) t" % sql],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PGPASSWORD=self.pg.password))
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout.strip())

    def drop(self):
        try:
            self.pg.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db)
        except Exception:  # noqa: BLE001 - best effort
            pass


class JitEnv:
    """A fake Okta + okta-jitd + helpers. Built by the jit_factory fixture.
    With pg (the pg_server fixture) the ledger is a PostgreSQL database of
    its own, else a SQLite file in workdir."""

    def __init__(self, workdir, okta, key, cli_path, daemon_extra=None, timeout="10s", flows=JIT_FLOWS, pg=None):
        self.workdir = workdir
        self.okta = okta
        self.cli_path = cli_path
        self.sockdir = tempfile.mkdtemp(prefix="ojit-sock-")
        os.chmod(self.sockdir, 0o755)
        self.sock = os.path.join(self.sockdir, "jitd.sock")
        # the PAM module's socket (root only): [daemon] pam_socket's
        # default, pam.sock beside the public socket
        self.pam_sock = os.path.join(self.sockdir, "pam.sock")
        self.ledger_path = os.path.join(workdir, "ledger.db")
        self.pgl = PgLedger(pg, workdir) if pg is not None else None
        ledger = self.ledger_path
        if self.pgl is not None:
            ledger = self.pgl.uri
            daemon_extra = dict(daemon_extra or {}, ledger_password_file=self.pgl.pwfile)
        self.conf = write_jit_config(workdir, okta, key, self.sock, ledger, timeout=timeout,
                                     daemon_extra=daemon_extra, flows=flows)
        self.daemon = Daemon(self.conf, self.sock, os.path.join(workdir, "okta-jitd.log"),
                             exe=os.path.join(os.path.dirname(cli_path), "okta-jitd"))
        self.popens = []

    # -- lifecycle
    def close(self):
        for p in self.popens:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.daemon.stop()
        if self.daemon.alive():
            self.daemon.kill9()
        shutil.rmtree(self.sockdir, ignore_errors=True)
        if self.pgl is not None:
            self.pgl.drop()

    # -- CLI
    def cli_argv(self, args, user=None, json_out=True):
        argv = as_user_prefix(user) + [self.cli_path, "--socket", self.sock]
        if json_out:
            argv.append("--json")
        return argv + [str(a) for a in args]

    def cli(self, *args, user=None, json_out=True, timeout=90):
        t0 = time.time()
        p = subprocess.run(self.cli_argv(args, user, json_out), capture_output=True, text=True,
                           timeout=timeout, cwd="/", errors="replace")
        return CliResult(p, time.time() - t0)

    def cli_popen(self, *args, user=None, json_out=True):
        p = subprocess.Popen(self.cli_argv(args, user, json_out), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd="/")
        self.popens.append(p)
        return p

    def ping(self):
        r = self.cli("ping", json_out=False, timeout=20)
        return r.rc == 0

    # -- ledger
    def _db(self):
        db = sqlite3.connect(self.ledger_path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def grants(self, where="1=1", params=()):
        if self.pgl is not None:
            return self.pgl.rows("SELECT * FROM grants WHERE %s ORDER BY id" % where, params)
        db = self._db()
        try:
            return [dict(r) for r in db.execute("SELECT * FROM grants WHERE %s ORDER BY id" % where, params)]
        finally:
            db.close()

    def grant(self, gid):
        rows = self.grants("id = ?", (int(gid),))
        assert rows, "no ledger row for grant %s" % gid
        return rows[0]

    def audit(self, grant_id=None, event=None):
        """Audit rows, read from the ledger itself. okta-jitd writes a
        check's record just after its reply (as `okta-jit audit` sees it);
        an AUDIT request waits for such records, so one is made first."""
        self.settle_audit()
        q, params = "1=1", []
        if grant_id is not None:
            q += " AND grant_id = ?"
            params.append(int(grant_id))
        if event is not None:
            q += " AND event = ?"
            params.append(event)
        if self.pgl is not None:
            return self.pgl.rows("SELECT * FROM audit WHERE %s ORDER BY id" % q, params)
        db = self._db()
        try:
            return [dict(r) for r in db.execute("SELECT * FROM audit WHERE %s ORDER BY id" % q, params)]
        finally:
            db.close()

    def settle_audit(self):
        if self.daemon.proc is None or self.daemon.proc.poll() is not None:
            return
        try:
            raw_exchange(self.sock, frame(AUDIT, tlv(T_SINCE, "4102444800")), shutdown_write=True)  # 2100: none
        except OSError:
            pass

    def events(self, grant_id):
        return [a["event"] for a in self.audit(grant_id)]

    # -- Okta
    def members(self, gid):
        return self.okta.members(gid)

    def okta_requests(self, method=None, contains=None):
        out = []
        for r in self.okta.requests():
            if method and r["method"] != method:
                continue
            if contains and contains not in r["path"]:
                continue
            out.append(r)
        return out

    # -- requests
    def request(self, group, user=None, dur="5s", reason=None, as_user=None, expect=EXIT_OK):
        args = ["request", group]
        if dur:
            args += ["--for", dur]
        if reason is not None:
            args += ["--reason", reason]
        if user is not None:
            args += ["--user", user]
        r = self.cli(*args, user=as_user)
        if expect is not None:
            assert r.rc == expect, r
        return r


def wait_for(pred, timeout=15.0, interval=0.1, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s (last: %r)" % (timeout, what, last))


# ---------------------------------------------------------------- fixtures

USERS_REGISTRY = "/tmp/ojit-test-users.sessions"


def _users_registry(update):
    """Under an flock: read the pids of the sessions using the test users,
    drop dead ones, apply update(pids) -> pids, write back; return them."""
    import fcntl
    fd = os.open(USERS_REGISTRY, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        pids = set()
        for line in f.read().split():
            try:
                pid = int(line)
                os.kill(pid, 0)
                pids.add(pid)
            except (ValueError, ProcessLookupError):
                pass
        pids = update(pids)
        f.seek(0)
        f.truncate()
        f.write("".join("%d\n" % p for p in sorted(pids)))
        f.flush()
        if not pids:
            for u in USERS:
                subprocess.run(["userdel", u], capture_output=True)
                subprocess.run(["groupdel", u], capture_output=True)
        else:
            for u in USERS:
                try:
                    pwd.getpwnam(u)
                except KeyError:
                    subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                                    "--shell", "/usr/sbin/nologin", u], check=True, capture_output=True)
        return pids


@pytest.fixture(scope="session")
def local_users():
    """Create the ojt-* system users; remove them when the last pytest
    session using them ends (several sessions may run at once, so the
    sessions register in a small flock-protected file)."""
    me = os.getpid()
    try:
        _users_registry(lambda pids: pids | {me})
        yield USERS
    finally:
        _users_registry(lambda pids: pids - {me})


@pytest.fixture(scope="session")
def cli_copy():
    """build/okta-jit (and okta-jitd) copied where every user can run them;
    also shields the session from a concurrent rebuild of build/."""
    d = tempfile.mkdtemp(prefix="ojit-cli-")
    os.chmod(d, 0o755)
    for name in ("okta-jit", "okta-jitd"):
        shutil.copy2(binary(name), os.path.join(d, name))
        os.chmod(os.path.join(d, name), 0o755)
    yield os.path.join(d, "okta-jit")
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def ledger_backend(request):
    """"sqlite" unless a module parametrizes it (see run_on_both_ledgers)."""
    return getattr(request, "param", "sqlite")


def run_on_both_ledgers(metafunc):
    """For a test module's pytest_generate_tests: every test that builds
    okta-jitd through jit/jit_factory runs on SQLite and on PostgreSQL."""
    if "ledger_backend" in metafunc.fixturenames:
        metafunc.parametrize("ledger_backend", ["sqlite", "pg"], indirect=True)


def settle_snapshots(env, flows, timeout=10.0):
    """A granter on PostgreSQL lists every flow's group in Okta at start
    for the gates' snapshots (issue 17, snapshots.c): let that first round
    end before the test counts or fails Okta calls (the next one is
    cache_ttl away)."""
    groups = {g.strip() for line in flows.splitlines() if line.replace(" ", "").startswith("groups=")
              for g in line.split("=", 1)[1].split(",") if g.strip()}
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(env.pgl.rows("SELECT grp FROM snapshots")) >= len(groups):
            return
        time.sleep(0.1)


@pytest.fixture
def jit_factory(request, tmp_path, okta_factory, rsa_key, local_users, cli_copy, ledger_backend):
    envs = []
    pg = request.getfixturevalue("pg_server") if ledger_backend == "pg" else None

    def make(name="jit", daemon_extra=None, timeout="10s", flows=JIT_FLOWS, start=True):
        workdir = str(tmp_path / name)
        os.makedirs(workdir, exist_ok=True)
        okta = okta_factory(jit_seed(rsa_key), name=name + "-okta")
        env = JitEnv(workdir, okta, rsa_key, cli_copy, daemon_extra=daemon_extra, timeout=timeout, flows=flows,
                     pg=pg)
        envs.append(env)
        if start:
            env.daemon.start()
            if env.pgl is not None:
                settle_snapshots(env, flows)
        return env

    yield make
    for env in envs:
        env.close()


@pytest.fixture
def jit(jit_factory):
    return jit_factory()


__all__ = [n for n in dir() if not n.startswith("_")]
