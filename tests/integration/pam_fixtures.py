"""Fixtures and helpers for the PAM module tests (test_pam_*.py).

Built on daemon_fixtures (fake Okta + okta-jitd + ledger helpers, the
session's ojt-* users). Adds:

* `PamDriver` / `run_driver`: build/tests/pam_driver against a stack file in
  a private folder (pam_start_confdir), its output parsed;
* `FakeDaemon`: a Python stand-in for okta-jitd on a Unix socket that
  answers what a test tells it (silence, garbage, chosen frames) and counts
  connections;
* `local_group`: a local group (break-glass) removed afterwards;
* `e2e_user` and `pam_jit_factory`: a local user with a home and a shell
  (ojt-pamNNN, NNN from this run's pid) whose Okta login exists in the
  fake, for sshd and sudo;
* `etc_files`: files put under /etc (pam.d, sudoers.d) that are always
  removed.

Import into a test module with `from pam_fixtures import *`.
"""
import os
import pwd
import grp
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (G_OPS, JIT_FLOWS, JitEnv, binary, frame, jit_seed,  # noqa: F401
                             tlv, wait_for)

PAM_MODULE = None  # set lazily (binary() fails the test when not built)

# Names carry this run's pid: two test runs at once never share a user, a
# group or a file under /etc.
RUN_ID = os.getpid() % 100000
E2E_USER = "ojt-pam%d" % RUN_ID
E2E_UID_OKTA = "00upamu00000000010"
BG_GROUP = "ojt-pambg%d" % RUN_ID

T_SESSION_TAG, T_TIME_LEFT_TAG, T_STATE_TAG, T_HINT_TAG, T_APPROVERS_TAG, T_DETAILS_TAG = 28, 37, 24, 27, 25, 26


def module_path():
    return binary("pam_okta_jit.so")


def driver_path():
    return binary("tests/pam_driver")


# ---------------------------------------------------------------- the driver

STEP_RE = re.compile(r"^STEP (\w+) = (-?\d+) (\w+)", re.M)


class PamResult:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.elapsed = elapsed
        self.steps = {}
        self.order = []
        for m in STEP_RE.finditer(self.out):
            self.steps[m.group(1)] = m.group(3)
            self.order.append((m.group(1), m.group(3)))
        self.infos = self._msgs("INFO")
        self.errors = self._msgs("ERROR")
        self.prompts = self._msgs("PROMPT")
        m = re.search(r"fdcount before=(\d+) after=(\d+)", self.out)
        self.fds = (int(m.group(1)), int(m.group(2))) if m else None

    def _msgs(self, kind):
        """Messages of one kind; continuation lines ("KIND+ ...") joined."""
        out = []
        for line in self.out.splitlines():
            if line.startswith(kind + ": "):
                out.append(line[len(kind) + 2:])
            elif line.startswith(kind + "+ ") and out:
                out[-1] += "\n" + line[len(kind) + 2:]
        return out

    @property
    def error_text(self):
        return "\n".join(self.errors)

    @property
    def info_text(self):
        return "\n".join(self.infos)

    def __getitem__(self, step):
        return self.steps.get(step)

    def __repr__(self):
        return "PamResult(rc=%r, elapsed=%.2f, out=%r, err=%r)" % (self.rc, self.elapsed, self.out[-3000:],
                                                                     self.err[-1500:])


class PamStack:
    """A private PAM configuration folder holding one service file."""

    def __init__(self, confdir, service="ojit-test"):
        self.confdir = confdir
        self.service = service
        os.makedirs(confdir, exist_ok=True)

    def write(self, text):
        text = text.replace("@MOD@", module_path())
        with open(os.path.join(self.confdir, self.service), "w") as f:
            f.write(text.strip() + "\n")
        return self

    def account(self, args, control="required", extra=""):
        """account <control> pam_okta_jit.so <args> (+ extra lines)."""
        return self.write("account %s @MOD@ %s\n%s" % (control, args, extra))

    def run(self, user, *steps, answers=(), timeout=120, prefix=(), rhost=None, tty=None, ruser=None):
        """ruser: PAM_RUSER, the invoking user as sudo and su set it (the
        driver runs as root, so request=prompt files only with it)."""
        argv = list(prefix) + [driver_path(), self.confdir, self.service, user] + [str(s) for s in steps]
        for a in answers:
            argv += ["--answer", a]
        if rhost:
            argv += ["--rhost", rhost]
        if tty:
            argv += ["--tty", tty]
        if ruser:
            argv += ["--ruser", ruser]
        t0 = time.time()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, errors="replace", cwd="/")
        return PamResult(p, time.time() - t0)


@pytest.fixture
def stack(tmp_path):
    return PamStack(str(tmp_path / "pam.d"))


# ---------------------------------------------------------------- fake daemon

def reply_frame(ftype, fields, magic=b"OJIT", version=1, length=None):
    payload = b"".join(tlv(t, v) for t, v in fields)
    return frame(ftype, payload, magic=magic, version=version, length=length)


class FakeDaemon:
    """A Unix-socket server standing in for okta-jitd.

    behaviour(conn, data) is called with each accepted connection after the
    first bytes are read; it sends whatever it likes. The built-in modes:
    'silent' (never answer), 'close' (close at once), or a bytes object to
    send as is. `connections` counts accepted connections; in 'silent' mode
    `held_for` lists, per connection, the seconds from its accept to the
    client's close (the client's own timeout, without its start-up)."""

    def __init__(self, sockdir, mode="silent", name="fake.sock"):
        self.path = os.path.join(sockdir, name)
        self.mode = mode
        self.connections = 0
        self.received = []
        self.held_for = []
        self._stop = False
        self._held = []
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        os.chmod(self.path, 0o666)
        self.srv.listen(64)
        self.srv.settimeout(0.02)  # how soon close() is seen: each test closes its fakes
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self._stop:
            try:
                c, _ = self.srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(c, time.monotonic()), daemon=True).start()

    def _serve(self, c, accepted):
        try:
            c.settimeout(5)
            data = b""
            try:
                while len(data) < 12 or len(data) < 12 + struct.unpack(">I", data[8:12])[0]:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, OSError):
                pass
            self.received.append(data)
            mode = self.mode
            if callable(mode):
                mode(c, data)
            elif mode == "silent":
                self._held.append(c)  # keep it open, say nothing
                try:
                    c.settimeout(120)
                    while c.recv(4096):
                        pass
                    self.held_for.append(time.monotonic() - accepted)
                except OSError:
                    pass
                return
            elif mode == "close":
                pass
            else:
                try:
                    c.sendall(mode)
                    time.sleep(0.3)  # let the client read before the close
                except OSError:
                    pass
            c.close()
        except Exception:  # a test double never takes the test down
            try:
                c.close()
            except OSError:
                pass

    def close(self):
        self._stop = True
        try:
            self.srv.close()
        except OSError:
            pass
        for c in self._held:
            try:
                c.close()
            except OSError:
                pass
        self.thread.join(2)
        try:
            os.unlink(self.path)
        except OSError:
            pass


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="ojit-pamsock-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake_daemon(sockdir):
    fakes = []

    def make(mode="silent", name=None):
        f = FakeDaemon(sockdir, mode, name or "fake%d.sock" % len(fakes))
        fakes.append(f)
        return f

    yield make
    for f in fakes:
        f.close()


# ---------------------------------------------------------------- local users and groups

def _run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True)


@pytest.fixture
def local_group(local_users):
    """local_group(name, members) creates a local group (deleted at the end)."""
    made = []

    def make(name=BG_GROUP, members=()):
        _run("groupdel", name)
        r = _run("groupadd", name)
        assert r.returncode == 0, r.stderr
        made.append(name)
        for m in members:
            r = _run("usermod", "-aG", name, m)
            assert r.returncode == 0, r.stderr
        return name

    try:
        yield make
    finally:
        for name in made:
            _run("groupdel", name)


@pytest.fixture(scope="module")
def e2e_user():
    """ojt-pamNNN: a local user with a home and /bin/sh, for sshd and sudo."""
    try:
        pwd.getpwnam(E2E_USER)
        pytest.fail("local user %s exists already (a leftover? userdel -r %s)" % (E2E_USER, E2E_USER))
    except KeyError:
        pass
    r = _run("useradd", "-m", "-s", "/bin/sh", "--user-group", E2E_USER)
    assert r.returncode == 0, r.stderr
    try:
        yield E2E_USER
    finally:
        _run("userdel", "-r", "-f", E2E_USER)
        _run("groupdel", E2E_USER)
        for p in ("/run/sudo/ts/" + E2E_USER, "/var/lib/sudo/lectured/" + E2E_USER):
            try:
                os.unlink(p)
            except OSError:
                pass


UTMP_SIZE = 384      # struct utmp, glibc x86_64/aarch64
UTMP_USER = (44, 76)  # ut_user
LASTLOG_SIZE = 292   # struct lastlog
LOGIN_FILES = ("/var/log/wtmp", "/var/log/btmp")


class LoginRecords:
    """sshd writes login accounting for the test user (wtmp, btmp,
    lastlog). Remember how they were and, at the end, take out what was
    added for that user (records of anyone else are kept)."""

    def __init__(self, user):
        self.user = user.encode()
        self.uid = pwd.getpwnam(user).pw_uid
        self.sizes = {}
        for f in LOGIN_FILES:
            try:
                self.sizes[f] = os.path.getsize(f)
            except OSError:
                self.sizes[f] = None
        self.ll_size = None
        self.ll_slot = None
        try:
            self.ll_size = os.path.getsize("/var/log/lastlog")
            with open("/var/log/lastlog", "rb") as fh:
                fh.seek(self.uid * LASTLOG_SIZE)
                self.ll_slot = fh.read(LASTLOG_SIZE)
        except OSError:
            pass

    def restore(self):
        for f, size in self.sizes.items():
            if size is None or not os.path.exists(f):
                continue
            with open(f, "r+b") as fh:
                fh.seek(size - size % UTMP_SIZE)
                tail = fh.read()
                keep = b"".join(tail[i:i + UTMP_SIZE] for i in range(0, len(tail), UTMP_SIZE)
                                if tail[i + UTMP_USER[0]:i + UTMP_USER[1]].rstrip(b"\0") != self.user)
                if keep != tail:
                    fh.seek(size - size % UTMP_SIZE)
                    fh.write(keep)
                    fh.truncate()
        if self.ll_size is not None and os.path.exists("/var/log/lastlog"):
            with open("/var/log/lastlog", "r+b") as fh:
                if self.ll_size <= self.uid * LASTLOG_SIZE:
                    fh.truncate(self.ll_size)
                else:
                    fh.seek(self.uid * LASTLOG_SIZE)
                    fh.write(self.ll_slot)


def pam_seed(key):
    """jit_seed plus E2E_USER (ACTIVE, in ops-oncall: may request)."""
    seed = jit_seed(key)
    seed["users"].append({"id": E2E_UID_OKTA, "login": E2E_USER + "@example.com", "status": "ACTIVE",
                          "firstName": "Pam", "lastName": "User", "email": E2E_USER + "@example.com"})
    seed["memberships"].append([G_OPS, E2E_UID_OKTA])
    return seed


@pytest.fixture
def pam_jit_factory(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    """Like daemon_fixtures.jit_factory, with pam_seed (E2E_USER exists in Okta)."""
    envs = []

    def make(name="jit", flows=JIT_FLOWS, daemon_extra=None, start=True):
        workdir = str(tmp_path / name)
        os.makedirs(workdir, exist_ok=True)
        okta = okta_factory(pam_seed(rsa_key), name=name + "-okta")
        env = JitEnv(workdir, okta, rsa_key, cli_copy, daemon_extra=daemon_extra, flows=flows)
        envs.append(env)
        if start:
            env.daemon.start()
        return env

    try:
        yield make
    finally:
        for env in envs:
            env.close()


# ---------------------------------------------------------------- files in /etc

# ---------------------------------------------------------------- syslog

# Runs "$@" in a mount namespace of its own whose /dev is a tmpfs holding
# the real /dev's entries (bind-mounted) and, at /dev/log, the socket given
# as $1: syslog(3) in that process writes to the test, and nothing changes
# for any other process on the machine (which may have no /dev/log at all).
_PRIVATE_DEVLOG = r"""
set -e
sock=$1; shift
old=$sock.dev
mkdir -p "$old"
mount --rbind /dev "$old"
mount -t tmpfs -o mode=0755 ojit-dev /dev
for e in "$old"/* "$old"/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n=/dev/${e##*/}
    if [ -L "$e" ]; then cp -P "$e" "$n"
    elif [ -d "$e" ]; then mkdir "$n" && mount --rbind "$e" "$n"
    else : > "$n" && mount --bind "$e" "$n"
    fi
done
: > /dev/log
mount --bind "$sock" /dev/log
exec "$@"
"""


class SyslogCapture:
    """A datagram socket standing in for /dev/log for the processes run
    with `prefix` (e.g. stack.run(..., prefix=cap.prefix)). messages()
    returns [(priority, text)] received so far."""

    def __init__(self, workdir):
        self.path = os.path.join(workdir, "devlog.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.setblocking(False)
        self.prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _PRIVATE_DEVLOG, "sh",
                       self.path]
        self._got = []

    def messages(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            m = re.match(rb"<(\d+)>(.*)", data, re.S)
            if m:
                self._got.append((int(m.group(1)), m.group(2).decode("utf-8", "replace")))
        return list(self._got)

    def close(self):
        self.sock.close()


@pytest.fixture
def syslog_capture(tmp_path):
    cap = SyslogCapture(str(tmp_path))
    yield cap
    cap.close()


@pytest.fixture
def etc_files():
    """etc_files(path, text, mode): write a file under /etc that is removed
    at the end, whatever happens. Refuses to overwrite an existing file."""
    made = []

    def put(path, text, mode=0o644):
        assert path.startswith("/etc/") and "ojit" in os.path.basename(path), path
        assert str(RUN_ID) in os.path.basename(path), path
        assert not os.path.exists(path) or path in made, "refusing to overwrite %s" % path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        if path not in made:
            made.append(path)
        return path

    try:
        yield put
    finally:
        for p in made:
            try:
                os.unlink(p)
            except OSError:
                pass


__all__ = [n for n in dir() if not n.startswith("_")]
