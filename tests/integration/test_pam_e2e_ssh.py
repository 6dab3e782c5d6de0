"""End to end with the real sshd and ssh: a copy of Debian's sshd named
ojit-sshd-testNNN (so its PAM service is /etc/pam.d/ojit-sshd-testNNN, never
/etc/pam.d/sshd) on a loopback port, public-key authentication, and
pam_okta_jit.so in the account and session phases against a real okta-jitd.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from pam_fixtures import *  # noqa: F401,F403

SERVICE = "ojit-sshd-test%d" % RUN_ID
PAM_FILE = "/etc/pam.d/" + SERVICE

# The web flow ends sessions when the grant ends, with a short warning.
SSH_FLOWS = JIT_FLOWS.replace("[flow web]\ngroups = web-sudo\n",
                              "[flow web]\ngroups = web-sudo\non_expiry = terminate\nwarn_before = 3s\n")
assert "on_expiry = terminate" in SSH_FLOWS


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SshServer:
    def __init__(self, user):
        self.user = user
        self.dir = tempfile.mkdtemp(prefix="ojit-sshd-")
        os.chmod(self.dir, 0o755)
        self.proc = None
        self.pam_written = False
        self.made_privsep = False

    def setup(self):
        d = self.dir
        self.sshd = os.path.join(d, SERVICE)
        shutil.copy2("/usr/sbin/sshd", self.sshd)
        self.hostkey = os.path.join(d, "hostkey")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey], check=True)
        self.key = os.path.join(d, "userkey")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key], check=True)
        akdir = os.path.join(d, "ak")
        os.mkdir(akdir, 0o755)
        shutil.copy(self.key + ".pub", os.path.join(akdir, self.user))
        os.chmod(os.path.join(akdir, self.user), 0o644)
        self.port = free_port()
        self.config = os.path.join(d, "sshd_config")
        self.log = os.path.join(d, "sshd.log")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port,
                "ListenAddress 127.0.0.1",
                "HostKey %s" % self.hostkey,
                "PidFile %s" % os.path.join(d, "sshd.pid"),
                "UsePAM yes",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "AuthenticationMethods publickey",
                "AuthorizedKeysFile %s/%%u" % akdir,
                "StrictModes no",
                "AllowUsers %s" % self.user,
                "PermitRootLogin no",
                "PrintMotd no",
                "PrintLastLog no",
                "UseDNS no",
                "X11Forwarding no",
                "LogLevel VERBOSE",
                "",
            ]))
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", 0o755)
            self.made_privsep = True

    def write_pam(self, sock):
        assert not os.path.exists(PAM_FILE) or self.pam_written, "refusing to overwrite " + PAM_FILE
        mod = module_path()
        with open(PAM_FILE, "w") as f:
            f.write("# okta-jit test stack (removed by the test)\n"
                    "auth required pam_deny.so\n"
                    "account required %(m)s group=web-sudo socket=%(s)s\n"
                    "account required pam_permit.so\n"
                    "session optional %(m)s group=web-sudo socket=%(s)s\n"
                    "session required pam_permit.so\n" % {"m": mod, "s": sock})
        self.pam_written = True

    def start(self):
        r = subprocess.run([self.sshd, "-t", "-f", self.config], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([self.sshd, "-D", "-e", "-f", self.config], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.read_log()
                time.sleep(0.05)
        raise AssertionError("sshd did not listen: " + self.read_log())

    def read_log(self):
        try:
            return open(self.log, errors="replace").read()
        except OSError:
            return ""

    def ssh_argv(self, command, tty=False):
        return ["ssh"] + (["-tt"] if tty else []) + ["-i", self.key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                "-p", str(self.port), "%s@127.0.0.1" % self.user, command]

    def ssh(self, command="echo ok", timeout=30, tty=False, input=None):
        t0 = time.time()
        argv = self.ssh_argv(command, tty)
        if command is None:
            argv.pop()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, errors="replace",
                           **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))
        p.elapsed = time.time() - t0
        return p

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.pam_written:
            try:
                os.unlink(PAM_FILE)
            except OSError:
                pass
        if self.made_privsep:
            shutil.rmtree("/run/sshd", ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def sshd(e2e_user):
    for tool in ("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"):
        if not os.path.exists(tool):
            pytest.skip("%s is not installed (packaging/install-deps.sh)" % tool)
    if os.path.exists(PAM_FILE):
        pytest.fail("%s exists already; not touching it" % PAM_FILE)
    srv = SshServer(e2e_user)
    records = LoginRecords(e2e_user)
    try:
        srv.setup()
        srv.write_pam("/nonexistent.sock")
        srv.start()
        yield srv
    finally:
        srv.close()
        records.restore()
        assert not os.path.exists(PAM_FILE)


@pytest.fixture
def env(pam_jit_factory, sshd):
    e = pam_jit_factory(flows=SSH_FLOWS)
    sshd.write_pam(e.sock)
    yield e
    sshd.write_pam("/nonexistent.sock")


def grant_for(env, dur):
    r = env.request("web-sudo", user=E2E_USER, dur=dur)
    assert r.grant["state"] == "active", r
    return r.grant["id"]


def test_refused_without_a_grant_and_told_why(sshd, env):
    p = sshd.ssh()
    assert p.returncode == 255 and "ok" not in p.stdout, (p.returncode, p.stdout, p.stderr)
    assert "okta-jit" in p.stderr, p.stderr
    assert "okta-jit request web-sudo" in p.stderr, p.stderr
    refused = env.audit(event="check_refused")
    assert refused and refused[-1]["user"] == E2E_USER, refused
    assert "service=%s" % SERVICE in refused[-1]["detail"].split(), refused


def test_allowed_during_a_grant_then_refused_after_expiry(sshd, env):
    gid = grant_for(env, "8s")
    p = sshd.ssh()
    assert p.returncode == 0 and p.stdout.strip() == "ok", (p.returncode, p.stdout, p.stderr, sshd.read_log()[-2000:])
    # sshd shows the session's PAM messages at a terminal login (with a pty)
    p = sshd.ssh(None, tty=True, input="echo o''k; exit\n")
    assert p.returncode == 0 and "ok" in p.stdout, (p.returncode, p.stdout, p.stderr)
    assert re.search(r"okta-jit: your access through 'web-sudo' ends in \d+s \(grant %d\)" % gid,
                     p.stdout + p.stderr), (p.stdout, p.stderr)
    # the session was recorded and closed
    db = env._db()
    rows = [dict(r) for r in db.execute("SELECT * FROM sessions")]
    db.close()
    assert len(rows) == 2 and all(r["grant_id"] == gid and r["service"] == SERVICE for r in rows), rows
    assert all(r["pid"] > 1 and r["pid_start"] > 0 for r in rows), rows
    wait_for(lambda: all(r[0] > 0 for r in env._db().execute("SELECT closed_at FROM sessions")), 10,
             what="the sessions to be closed")
    # after the end
    wait_for(lambda: env.grant(gid)["state"] == "expired", 20, what="grant expiry")
    p = sshd.ssh()
    assert p.returncode == 255 and "ok" not in p.stdout, (p.stdout, p.stderr)
    assert "okta-jit" in p.stderr and "needs an active grant" in p.stderr, p.stderr


def test_daemon_down_fails_secure(sshd, env):
    grant_for(env, "5m")
    env.daemon.stop()
    p = sshd.ssh()
    assert p.returncode == 255 and "ok" not in p.stdout, (p.stdout, p.stderr)
    assert "access cannot be checked right now" in p.stderr, p.stderr


def login_and_sleep(sshd, seconds=60):
    """An interactive login shell (a pty: what the daemon warns on) that
    would run for `seconds`; returns (stdout, stderr, time taken)."""
    argv = sshd.ssh_argv(None, tty=True)[:-1]
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the terminal echoes the input: the quotes keep the echo apart
        out, err = p.communicate("echo star''ted; sleep %d; echo fini''shed\n" % seconds, timeout=seconds - 15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("the session outlived its grant: %r %r" % (out, err))
    return out, err, time.time() - t0


def test_open_session_is_ended_at_the_grant_end(sshd, env):
    gid = grant_for(env, "7s")
    end = env.grant(gid)["end_at"]
    out, err, took = login_and_sleep(sshd)
    assert "started" in out and "finished" not in out, (out, err)
    assert time.time() <= end + 10, "ended %.1fs after the grant's end" % (time.time() - end)
    assert time.time() >= end - 1, "ended before the grant's end"
    assert "closed by remote host" in err, err
    # the daemon audits once the signalled process is gone
    ended = wait_for(lambda: env.audit(gid, "session_ended"), 10, what="session_ended")
    assert ended and ended[-1]["user"] == E2E_USER and "how=signal" in ended[-1]["detail"], env.audit(gid)
    db = env._db()
    rows = [dict(r) for r in db.execute("SELECT * FROM sessions")]
    db.close()
    assert rows and all(r["closed_at"] > 0 for r in rows), rows


def test_open_session_is_warned_before_the_grant_end(sshd, env):
    gid = grant_for(env, "9s")
    out, err, took = login_and_sleep(sshd)
    assert "session_warned" in env.events(gid), env.events(gid)
    assert re.search(r"okta-jit: your access through 'web-sudo' \(grant %d\) ends in \ds\. "
                     r"This session will be closed then\." % gid, out), out


@pytest.fixture
def env_keep(pam_jit_factory, sshd):
    e = pam_jit_factory(flows=JIT_FLOWS.replace("[flow web]\ngroups = web-sudo\n",
                                                "[flow web]\ngroups = web-sudo\non_expiry = keep\n"))
    sshd.write_pam(e.sock)
    yield e
    sshd.write_pam("/nonexistent.sock")


def test_on_expiry_keep_leaves_an_open_session_but_refuses_new_logins(sshd, env_keep):
    env = env_keep
    gid = grant_for(env, "4s")
    end = env.grant(gid)["end_at"]
    argv = sshd.ssh_argv(None, tty=True)[:-1]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the shell outlives the grant by several seconds and finishes by itself
    out, err = p.communicate("echo star''ted; sleep 10; echo fini''shed; exit\n", timeout=40)
    assert time.time() > end + 4
    assert "started" in out and "finished" in out, (out, err)
    assert not env.audit(gid, "session_ended"), env.audit(gid)
    # the grant did end: Okta membership gone and a new login is refused
    wait_for(lambda: env.grant(gid)["state"] == "expired" and env.grant(gid)["op"] == "", 15, what="expired")
    r = sshd.ssh("echo ok")
    assert r.returncode != 0 and "ok" not in r.stdout, r
