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


@pytest.fixture
def ledger_env(tmp_path, okta_factory, rsa_key, local_users, cli_copy, small_fs):
    envs = []

    def make():
        workdir = str(tmp_path / "jit")
        os.makedirs(workdir, exist_ok=True)
        okta = okta_factory(jit_seed(rsa_key), name="okta")
        env = JitEnv(workdir, okta, rsa_key, cli_copy, timeout="3s")
        env.ledger_path = os.path.join(small_fs, "ledger.db")
        env.conf = write_jit_config(workdir, okta, rsa_key, env.sock, env.ledger_path, timeout="3s",
                                    daemon_extra={"cache_ttl": "1s"})
        env.daemon.conf = env.conf
        env.fs = small_fs
        envs.append(env)
        env.daemon.start()
        return env

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
