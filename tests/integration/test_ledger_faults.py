"""Disk full and read-only ledger (issue 7). The ledger lives on a small
tmpfs (mounted for the test, always unmounted) that is then filled, or
the daemon is started on a ledger it cannot write:

  * new grants are refused with code "ledger" and a message naming it;
  * checks still answer from what the ledger holds: an active grant
    allows, a user without one is refused;
  * a grant that ends while the disk is full is refused at its end and
    still removed from Okta; once space returns its row settles."""
import errno
import os
import subprocess
import tempfile
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, BOB, G_WEB, JitEnv, jit_seed, wait_for, write_jit_config)


@pytest.fixture
def small_fs():
    d = tempfile.mkdtemp(prefix="ojit-ledgerfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d], capture_output=True)
        os.rmdir(d)


def fill(path):
    """Fill the file system holding path; return the filler's name."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    finally:
        os.close(fd)
    return filler


class Ext4:
    """A small ext4 file system on a loop device, mounted errors=remount-ro,
    so that a file system error turns it read-only under an open ledger,
    as a failing disk does. The error is raised through ext4's own
    /sys/fs/ext4/DEV/trigger_fs_error."""

    def __init__(self, base):
        self.image = os.path.join(base, "ledger-ext4.img")
        self.dir = tempfile.mkdtemp(prefix="ojit-ledgerext4-")
        self.mounted = False

    def make(self):
        with open(self.image, "wb") as f:
            f.truncate(32 << 20)
        r = subprocess.run(["mkfs.ext4", "-q", "-F", self.image], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("mkfs.ext4 failed: %s" % r.stderr.strip())
        self.mount()

    def mount(self):
        r = subprocess.run(["mount", "-o", "loop,errors=remount-ro", self.image, self.dir],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("cannot loop-mount an ext4 image here: %s" % r.stderr.strip())
        self.mounted = True
        os.chmod(self.dir, 0o700)
        src = subprocess.run(["findmnt", "-n", "-o", "SOURCE", self.dir], capture_output=True,
                             text=True).stdout.strip()
        self.trigger = "/sys/fs/ext4/%s/trigger_fs_error" % os.path.basename(src)
        if not os.path.exists(self.trigger):
            pytest.skip("this kernel has no %s" % self.trigger)

    def fail(self):
        """Raise an ext4 error: the file system goes read-only at once."""
        with open(self.trigger, "w") as f:
            f.write("okta-jit test: ledger disk failed")
        wait_for(lambda: "emergency_ro" in self.options() or self.options().startswith("ro"), 10,
                 what="the file system turned read-only")

    def options(self):
        return subprocess.run(["findmnt", "-n", "-o", "OPTIONS", self.dir], capture_output=True,
                              text=True).stdout.strip()

    def repair(self):
        """Unmount, fsck, mount again: what an operator does after the error."""
        self.umount()
        r = subprocess.run(["e2fsck", "-f", "-y", self.image], capture_output=True, text=True)
        assert r.returncode in (0, 1), r.stdout + r.stderr
        self.mount()

    def umount(self):
        if self.mounted:
            subprocess.run(["umount", self.dir], capture_output=True)
            if subprocess.run(["mountpoint", "-q", self.dir]).returncode == 0:
                subprocess.run(["umount", "-l", self.dir], capture_output=True)
            self.mounted = False


@pytest.fixture
def ext4_fs(tmp_path):
    fs = Ext4(str(tmp_path))
    try:
        fs.make()
        yield fs
    finally:
        fs.umount()
        os.rmdir(fs.dir)


def _ledger_env(tmp_path, okta_factory, rsa_key, cli_copy, fsdir):
    envs = []

    def make():
        workdir = str(tmp_path / "jit")
        os.makedirs(workdir, exist_ok=True)
        okta = okta_factory(jit_seed(rsa_key), name="okta")
        env = JitEnv(workdir, okta, rsa_key, cli_copy, timeout="3s")
        env.ledger_path = os.path.join(fsdir, "ledger.db")
        env.conf = write_jit_config(workdir, okta, rsa_key, env.sock, env.ledger_path, timeout="3s",
                                    daemon_extra={"cache_ttl": "1s"})
        env.daemon.conf = env.conf
        env.fs = fsdir
        envs.append(env)
        env.daemon.start()
        return env

    return make, envs


@pytest.fixture
def ledger_env(tmp_path, okta_factory, rsa_key, local_users, cli_copy, small_fs):
    make, envs = _ledger_env(tmp_path, okta_factory, rsa_key, cli_copy, small_fs)
    yield make
    for env in envs:
        env.close()


@pytest.fixture
def ext4_env(tmp_path, okta_factory, rsa_key, local_users, cli_copy, ext4_fs):
    make, envs = _ledger_env(tmp_path, okta_factory, rsa_key, cli_copy, ext4_fs.dir)
    yield make
    for env in envs:
        env.close()


def test_disk_full(ledger_env):
    jit = ledger_env()
    a = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    b = jit.request("web-sudo", dur="8s", as_user="ojt-bob").grant["id"]
    b_end = jit.grant(b)["end_at"]
    rows_before = len(jit.grants())
    filler = fill(jit.fs)
    t0 = time.time()
    # New grants are refused, clearly. (SQLite may still fit a write or
    # two into space its files already hold; it runs out at once.)
    refused = None
    for user in ("ojt-olivia", "ojt-mallory"):
        r = jit.request("staging-ssh", dur="5m", as_user=user, expect=None)
        if r.rc != EXIT_OK:
            refused = r
            break
    assert refused is not None, "a full disk never refused a grant"
    assert refused.rc != EXIT_OK and "ledger" in (refused.err + refused.out), refused
    st, f = call_raw(jit.sock, [(T_GROUP, "staging-ssh"), (T_USER, "ojt-olivia"), (T_DURATION, "300")])
    if st == "error":
        assert f.get(T_CODE) == "ledger", f
        assert "ledger" in f.get(T_MESSAGE, ""), f
    # checks answer from what the ledger holds
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
    c = jit.cli("check", "web-sudo", "--user", "ojt-mallory")
    assert c.rc == EXIT_DENIED and c.j["decision"] == "deny", c
    # bob's grant ends while the disk is full: refused, and out of Okta
    wait_for(lambda: time.time() > b_end + 0.3, 20)
    c = jit.cli("check", "web-sudo", "--user", "ojt-bob")
    assert c.rc == EXIT_DENIED and c.j["decision"] == "deny", c
    wait_for(lambda: BOB not in jit.members(G_WEB), 20, what="bob removed from Okta while the disk is full")
    assert ALICE in jit.members(G_WEB)
    assert jit.daemon.alive()
    full_for = time.time() - t0
    # space returns: the row settles, nothing was lost
    os.unlink(filler)
    wait_for(lambda: jit.grant(b)["state"] == "expired" and jit.grant(b)["op"] == "", 20,
             what="bob's row settled once space returned")
    assert jit.grant(a)["state"] == "active"
    assert len(jit.grants()) >= rows_before
    r = jit.request("staging-ssh", dur="5m", as_user="ojt-mallory", expect=None)
    assert r.rc in (EXIT_OK,) or "exists" in r.out + r.err, r
    assert jit.daemon.alive()
    print("LEDGER disk-full for %.1fs: new grants refused, checks answered, removal done" % full_for)


def call_raw(sock, fields):
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(20)
        s.connect(sock)
        s.sendall(frame(REQUEST, b"".join(tlv(t, v) for t, v in fields)))
        r = recv_frame(s, 20)
    finally:
        s.close()
    return ("ok" if r[0] == P_OK else "error"), dict(r[1])


T_USER, T_GROUP, T_DURATION, T_CODE, T_MESSAGE = 1, 2, 7, 21, 22


def test_read_only_ledger_is_refused_at_start(ledger_env):
    """A ledger the daemon cannot write is refused at start-up with a
    message naming it, rather than served half-working."""
    jit = ledger_env()
    jit.request("web-sudo", dur="10m", as_user="ojt-alice")
    jit.daemon.stop()
    r = subprocess.run(["mount", "-o", "remount,ro", jit.fs], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    try:
        with pytest.raises(RuntimeError) as ei:
            jit.daemon.start(timeout=10)
        assert jit.ledger_path in str(ei.value) or "ledger" in str(ei.value), str(ei.value)[-2000:]
    finally:
        subprocess.run(["mount", "-o", "remount,rw", jit.fs], capture_output=True)
    jit.daemon.start()
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_OK, c


def test_ledger_turns_read_only_while_running(ext4_env, ext4_fs):
    """The ledger's file system fails under a running daemon (ext4 error,
    errors=remount-ro): new grants are refused with a clear error, checks
    answer from what the ledger holds, a grant that ends is still removed
    from Okta; after the operator repairs the disk and restarts okta-jitd
    nothing is lost and the ended grant's row settles."""
    jit = ext4_env()
    a = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    b = jit.request("web-sudo", dur="8s", as_user="ojt-bob").grant["id"]
    b_end = jit.grant(b)["end_at"]
    assert BOB in jit.members(G_WEB)
    ext4_fs.fail()
    t0 = time.time()
    r = jit.request("staging-ssh", dur="5m", as_user="ojt-olivia", expect=None)
    assert r.rc != EXIT_OK and "ledger" in (r.err + r.out), r
    st, f = call_raw(jit.sock, [(T_GROUP, "staging-ssh"), (T_USER, "ojt-mallory"), (T_DURATION, "300")])
    assert st == "error" and f.get(T_CODE) == "ledger", f
    assert "cannot be written" in f.get(T_MESSAGE, ""), f
    c = jit.cli("check", "web-sudo", "--user", "ojt-alice")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
    c = jit.cli("check", "web-sudo", "--user", "ojt-mallory")
    assert c.rc == EXIT_DENIED and c.j["decision"] == "deny", c
    # bob's grant ends while the ledger is read-only: refused, out of Okta
    wait_for(lambda: time.time() > b_end + 0.3, 20)
    c = jit.cli("check", "web-sudo", "--user", "ojt-bob")
    assert c.rc == EXIT_DENIED and c.j["decision"] == "deny", c
    wait_for(lambda: BOB not in jit.members(G_WEB), 20, what="bob removed from Okta while the ledger is read-only")
    assert ALICE in jit.members(G_WEB)
    assert jit.daemon.alive(), jit.daemon.log()[-3000:]
    ro_for = time.time() - t0
    # the operator repairs the disk and restarts the daemon
    jit.daemon.stop()
    ext4_fs.repair()
    jit.daemon.start()
    wait_for(lambda: jit.grant(b)["state"] == "expired" and jit.grant(b)["op"] == "", 20,
             what="bob's row settled after the repair")
    assert jit.grant(a)["state"] == "active"
    assert ALICE in jit.members(G_WEB) and BOB not in jit.members(G_WEB)
    r = jit.request("staging-ssh", dur="5m", as_user="ojt-mallory")
    assert r.rc == EXIT_OK, r
    print("LEDGER read-only for %.1fs: new grants refused, checks answered, removal done" % ro_for)
