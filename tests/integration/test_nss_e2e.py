"""End to end for the NSS half (issue 18) with the real glibc NSS, the real
sshd, ssh and sudo, and the real okta-jitd: an Okta user with no local
account and a key only in her Okta profile.

Everything that must see the module runs in one private mount namespace
(`NssHost`: `unshare -m`, then `nsenter` for each command), which carries,
as bind mounts over the machine's files (never edited):

* /etc/nsswitch.conf: `passwd: files okta_jit`, `group: files okta_jit`;
* /etc/ld.so.cache: built by `ldconfig -X -f CONF -C CACHE` with a folder
  holding build/libnss_okta_jit.so.2, so that glibc's dlopen by name finds
  the module in setuid sudo too (which ignores LD_LIBRARY_PATH);
* /var/cache: a private folder holding okta-jit/, where the daemon writes
  the cache (setuid sudo ignores OKTA_JIT_NSS_CACHE; the module reads the
  fixed path /var/cache/okta-jit/nss.cache). The whole of /var/cache, so
  that no mount point has to be made on the machine;
* /etc/passwd: the machine's plus the keys user ojt-keysNNN (sshd's
  AuthorizedKeysCommandUser), so no account is added to the machine;
* /etc/sudoers: `%okta-web-sudo ALL=(ALL) NOPASSWD: ALL` and root's line;
* /etc/pam.d: a copy of the machine's, with an sshd stack that has
  pam_okta_jit (account, session) and pam_mkhomedir (session);
* /home, /var/log/{wtmp,btmp,lastlog}: private, so the home made at the
  first login and the login records stay in the test's folder;
* /run: a tmpfs (sshd's privilege separation folder; the keys command
  copied where sshd accepts it: every folder on its path root's and not
  writable by others, which /tmp is not).
"""
import json
import pwd
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from pam_fixtures import *  # noqa: F401,F403
from pam_fixtures import RUN_ID, JIT_FLOWS, JitEnv, binary, jit_seed, module_path, wait_for, G_OPS  # noqa: F401

NORA = "ojt-nora%d" % RUN_ID            # the Okta user: no local account
NORA_ID = "00unora000000000%02d" % (RUN_ID % 100)
NORA_UID = 1900000000 + RUN_ID
KEYS_USER = "ojt-keys%d" % RUN_ID
SUDO_GROUP = "okta-web-sudo"
NSSWITCH = "passwd: files okta_jit\ngroup: files okta_jit\nshadow: files\nhosts: files\n"

# $1 is the host's folder; prints "ready" once every mount is in place.
_SETUP = r"""
set -e
d=$1
mount --bind "$d/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$d/ld.so.cache" /etc/ld.so.cache
mount --bind "$d/passwd" /etc/passwd
mount --bind "$d/sudoers" /etc/sudoers
mount --bind "$d/pam.d" /etc/pam.d
mount --bind "$d/varcache" /var/cache
mount --bind "$d/home" /home
for f in wtmp btmp lastlog; do
    if [ -e /var/log/$f ]; then mount --bind "$d/log/$f" /var/log/$f; fi
done
mount -t tmpfs -o mode=0755 ojit-run /run
mkdir -m 0755 /run/sshd /run/ojit
cp "$d/okta-jit" /run/ojit/okta-jit
chmod 0755 /run/ojit/okta-jit
echo ready
exec sleep 86400
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_system_uid(passwd_text):
    used = {int(l.split(":")[2]) for l in passwd_text.splitlines() if l.count(":") >= 6}
    for uid in range(999, 100, -1):
        if uid not in used:
            return uid
    raise AssertionError("no free system uid")


class NssHost:
    """The private mount namespace described above, held open by a sleeping
    process; run() executes a command inside it."""

    def __init__(self, module, cli):
        for tool in ("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/sudo", "/usr/sbin/ldconfig", "/usr/bin/nsenter"):
            if not os.path.exists(tool):
                pytest.skip("%s is not installed (packaging/install-deps.sh)" % tool)
        self.dir = d = tempfile.mkdtemp(prefix="ojit-nsshost-")
        os.chmod(d, 0o755)
        self.holder = None
        self.sshd = None
        with open(os.path.join(d, "nsswitch.conf"), "w") as f:
            f.write(NSSWITCH)
        lib = os.path.join(d, "lib")
        os.mkdir(lib, 0o755)
        shutil.copy(module, os.path.join(lib, "libnss_okta_jit.so.2"))
        os.chmod(os.path.join(lib, "libnss_okta_jit.so.2"), 0o644)
        with open(os.path.join(d, "ld.so.conf"), "w") as f:
            f.write("include /etc/ld.so.conf.d/*.conf\n%s\n" % lib)
        # -X: no links made anywhere; -C: the cache goes to the test's file
        r = subprocess.run(["ldconfig", "-X", "-f", os.path.join(d, "ld.so.conf"), "-C",
                            os.path.join(d, "ld.so.cache")], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        passwd = open("/etc/passwd").read()
        self.keys_uid = free_system_uid(passwd)
        with open(os.path.join(d, "passwd"), "w") as f:
            f.write(passwd + "%s:x:%d:65534:okta-jit keys lookup (test):/nonexistent:/usr/sbin/nologin\n"
                    % (KEYS_USER, self.keys_uid))
        os.chmod(os.path.join(d, "passwd"), 0o644)
        sudoers = os.path.join(d, "sudoers")
        with open(sudoers, "w") as f:
            f.write("Defaults env_reset\nDefaults !lecture\nDefaults !fqdn\n"
                    "root ALL=(ALL:ALL) ALL\n%%%s ALL=(ALL) NOPASSWD: ALL\n" % SUDO_GROUP)
        os.chmod(sudoers, 0o440)
        r = subprocess.run(["visudo", "-cf", sudoers], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        shutil.copytree("/etc/pam.d", os.path.join(d, "pam.d"), symlinks=True)
        for sub in ("varcache", "varcache/okta-jit", "home", "log"):
            os.mkdir(os.path.join(d, sub), 0o755)
        for f in ("wtmp", "btmp", "lastlog"):
            open(os.path.join(d, "log", f), "w").close()
        shutil.copy2(cli, os.path.join(d, "okta-jit"))
        self.cache_dir = os.path.join(d, "varcache", "okta-jit")
        self.cache = os.path.join(self.cache_dir, "nss.cache")
        self.home = os.path.join(d, "home")
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", _SETUP,
                                        "sh", d], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            self.holder.wait(10)
            raise AssertionError("namespace setup failed: %s" % self.holder.stderr.read())
        self.prefix = ["nsenter", "-t", str(self.holder.pid), "-m", "--"]
        self.keys_command = "/run/ojit/okta-jit"

    def run(self, *argv, user=None, timeout=30, input=None):
        """argv in the namespace; user: (uid, gid) run with setpriv, groups
        from initgroups(3) through NSS."""
        pre = list(self.prefix)
        if user is not None:
            pre += ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1], "--init-groups", "--reset-env"]
        t0 = time.time()
        p = subprocess.run(pre + [str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                           errors="replace", cwd="/", **({"input": input} if input is not None
                                                          else {"stdin": subprocess.DEVNULL}))
        p.elapsed = time.time() - t0
        return p

    def getent(self, db, key):
        p = self.run("getent", db, key)
        return p.stdout if p.returncode == 0 else None

    # ---- sshd
    def start_sshd(self, user, keys_command, pam_lines, authorized_keys_file="none"):
        d = self.dir
        self.hostkey = os.path.join(d, "hostkey")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey], check=True)
        with open(os.path.join(d, "pam.d", "sshd"), "w") as f:
            f.write("# okta-jit NSS end-to-end test stack (private mount namespace)\n" + pam_lines)
        self.port = free_port()
        self.sshd_config = os.path.join(d, "sshd_config")
        lines = ["Port %d" % self.port, "ListenAddress 127.0.0.1", "HostKey %s" % self.hostkey,
                 "PidFile %s" % os.path.join(d, "sshd.pid"), "UsePAM yes", "PubkeyAuthentication yes",
                 "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                 "AuthenticationMethods publickey", "AuthorizedKeysFile %s" % authorized_keys_file, "StrictModes no",
                 "AllowUsers %s" % user, "PermitRootLogin no", "PrintMotd no", "PrintLastLog no", "UseDNS no",
                 "X11Forwarding no", "LogLevel VERBOSE"]
        if keys_command:
            lines += ["AuthorizedKeysCommand %s" % keys_command, "AuthorizedKeysCommandUser %s" % KEYS_USER]
        with open(self.sshd_config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = self.run("/usr/sbin/sshd", "-t", "-f", self.sshd_config)
        assert r.returncode == 0, r.stderr
        self.sshd_log = os.path.join(d, "sshd.log")
        logf = open(self.sshd_log, "w")
        self.sshd = subprocess.Popen(self.prefix + ["/usr/sbin/sshd", "-D", "-e", "-f", self.sshd_config],
                                     stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                assert self.sshd.poll() is None, self.read_sshd_log()
                time.sleep(0.05)
        raise AssertionError("sshd did not listen: " + self.read_sshd_log())

    def read_sshd_log(self):
        try:
            return open(self.sshd_log, errors="replace").read()
        except (OSError, AttributeError):
            return ""

    def ssh(self, user, key, command, timeout=30):
        argv = ["ssh", "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
                "-p", str(self.port), "%s@127.0.0.1" % user, command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, errors="replace",
                              stdin=subprocess.DEVNULL)

    def close(self):
        for p in (self.sshd, self.holder):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def user_key(workdir):
    key = os.path.join(workdir, "nora_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "nora@laptop", "-f", key], check=True)
    return key, open(key + ".pub").read().strip()


# ---------------------------------------------------------------- the harness alone

def test_harness_glibc_sshd_sudo_and_mkhomedir_with_a_written_cache(tmp_path):
    """The namespace without okta-jitd: a cache written by the real writer
    (build/tests/nss_cache_tool) names NORA and her membership of
    okta-web-sudo until `end`; sshd (key in a file), pam_mkhomedir and
    setuid sudo see her through glibc, and sudo stops at the end."""
    tool = binary("tests/nss_cache_tool")
    host = NssHost(binary("libnss_okta_jit.so.2"), binary("okta-jit"))
    try:
        key, pub = user_key(host.dir)
        ak = os.path.join(host.dir, "ak")
        os.mkdir(ak, 0o755)
        with open(os.path.join(ak, NORA), "w") as f:
            f.write(pub + "\n")
        gid = 1900500000
        end = int(time.time()) + 8
        spec = {"users": [{"name": NORA, "uid": NORA_UID, "gid": NORA_UID, "gecos": "Nora Okta",
                           "dir": "/home/" + NORA, "shell": "/bin/sh"}],
                "groups": [{"name": NORA, "gid": NORA_UID, "members": []},
                           {"name": SUDO_GROUP, "gid": gid, "members": [{"user": NORA, "end_at": end}]}],
                "enumerate": False, "written_at": int(time.time())}
        r = subprocess.run([tool, "write", host.cache], input=json.dumps(spec), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        # "*", not "x": pam_unix's account check (sudo, sshd through
        # common-account) takes "x" for a shadowed account, finds no shadow
        # entry and refuses (as sssd and libnss_oslogin do)
        assert host.getent("passwd", NORA) == "%s:*:%d:%d:Nora Okta:/home/%s:/bin/sh\n" % (
            NORA, NORA_UID, NORA_UID, NORA)
        assert host.getent("group", SUDO_GROUP) == "%s:x:%d:%s\n" % (SUDO_GROUP, gid, NORA)
        host.start_sshd(NORA, None, "auth required pam_deny.so\n@include common-account\n"
                        "session required pam_mkhomedir.so umask=0077\nsession required pam_permit.so\n",
                        authorized_keys_file="%s/%%u" % ak)
        p = host.ssh(NORA, key, "id -un; pwd; sudo -n id -u")
        assert p.returncode == 0, (p.stdout, p.stderr, host.read_sshd_log()[-2000:])
        assert p.stdout.split() == [NORA, "/home/" + NORA, "0"], p.stdout
        st = os.stat(os.path.join(host.home, NORA))
        assert (st.st_uid, st.st_gid) == (NORA_UID, NORA_UID)
        assert not os.path.exists("/home/" + NORA)  # the machine's /home is untouched
        wait_for(lambda: time.time() > end + 0.5, 15, what="the end")
        p = host.run("sudo", "-n", "id", "-u", user=(NORA_UID, NORA_UID))
        assert p.returncode != 0 and p.stdout.strip() != "0", (p.stdout, p.stderr)
        assert host.getent("group", SUDO_GROUP) == "%s:x:%d:\n" % (SUDO_GROUP, gid)
    finally:
        host.close()


# ---------------------------------------------------------------- with okta-jitd

# web-sudo's flow serves its requesters' keys (ssh_keys = requesters): Nora's
# key opens sshd's door before any grant, and pam_okta_jit's account check
# refuses her with the hint. The other flows are the usual ones.
E2E_FLOWS = JIT_FLOWS.replace("[flow web]\ngroups = web-sudo\n", "[flow web]\ngroups = web-sudo\nssh_keys = requesters\n")
assert "ssh_keys = requesters" in E2E_FLOWS
NSS_SECTION = """
[nss]
uid_attribute = unixUid
uid_range = 1900000000-1999999999
gecos_attribute = displayName
keys_attribute = sshPublicKeys
shell = /bin/sh
groups = web-sudo
keys_user = %(keys_user)s
cache = %(cache)s
"""


def sshd_pam(sock):
    return ("auth required pam_deny.so\n"
            "@include common-account\n"
            "account required %(m)s group=web-sudo socket=%(s)s\n"
            "session required pam_mkhomedir.so umask=0077\n"
            "session optional %(m)s group=web-sudo socket=%(s)s\n"
            "session required pam_permit.so\n" % {"m": module_path(), "s": sock})


def make_world(flows, tmp_path, okta_factory, rsa_key, cli_copy):
    """(host, env, key): the namespace, okta-jitd inside it ([nss] on, a
    single host), sshd inside it with `okta-jit keys %u` as its
    AuthorizedKeysCommand, and Nora in Okta (ops-oncall, ACTIVE) with her
    UID, name and public key in her profile."""
    host = NssHost(binary("libnss_okta_jit.so.2"), cli_copy)
    env = None
    try:
        key, pub = user_key(host.dir)
        seed = jit_seed(rsa_key)
        seed["users"].append({"id": NORA_ID, "login": NORA + "@example.com", "status": "ACTIVE",
                              "firstName": "Nora", "lastName": "Okta", "email": NORA + "@example.com"})
        seed["memberships"].append([G_OPS, NORA_ID])
        okta = okta_factory(seed, name="nss-okta")
        okta.control("users", {"op": "update", "id": NORA_ID,
                               "profile_extra": {"unixUid": NORA_UID, "displayName": "Nora Okta",
                                                 "sshPublicKeys": [pub]}})
        workdir = str(tmp_path / "jit")
        os.makedirs(workdir)
        env = JitEnv(workdir, okta, rsa_key, cli_copy,
                     flows=flows + NSS_SECTION % {"keys_user": KEYS_USER, "cache": host.cache})
        env.daemon.prefix = host.prefix
        env.daemon.start()
        host.start_sshd(NORA, "%s --socket %s keys %%u" % (host.keys_command, env.sock), sshd_pam(env.sock))
        host.pub = pub
        yield host, env, key
    finally:
        if env is not None:
            env.close()
        host.close()


@pytest.fixture
def world(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    yield from make_world(E2E_FLOWS, tmp_path, okta_factory, rsa_key, cli_copy)


@pytest.fixture
def world_keys_per_grant(tmp_path, okta_factory, rsa_key, local_users, cli_copy):
    """The usual flows: web-sudo's keys only during a grant (ssh_keys = grant)."""
    yield from make_world(JIT_FLOWS, tmp_path, okta_factory, rsa_key, cli_copy)


def nora_cli(host, env, *args):
    return host.run(host.keys_command, "--socket", env.sock, *args, user=(NORA_UID, NORA_UID), timeout=60)


def sudo_group_line(host):
    return host.getent("group", SUDO_GROUP)


def test_okta_user_without_a_local_account_requests_logs_in_with_her_okta_key_and_sudoes(world):
    host, env, key = world
    passwd_line = "%s:*:%d:%d:Nora Okta:/home/%s:/bin/sh\n" % (NORA, NORA_UID, NORA_UID, NORA)
    # ---- before any grant: she exists (a requester), in no JIT group
    got = wait_for(lambda: host.getent("passwd", NORA), 30, what="okta-jitd's cache to name Nora")
    assert got == passwd_line, got
    assert host.getent("passwd", str(NORA_UID)) == passwd_line
    assert host.run("id", NORA).stdout == "uid=%d(%s) gid=%d(%s) groups=%d(%s)\n" % ((NORA_UID, NORA) * 3)
    line = sudo_group_line(host)
    m = re.match(r"^%s:[^:]*:(\d+):\n$" % SUDO_GROUP, line or "")
    assert m, line  # the group is there, with no member
    sudo_gid = int(m.group(1))
    assert 1900000000 <= sudo_gid <= 1999999999
    # local users win: ojt-alice is an Okta requester too, and local
    alice = host.getent("passwd", "ojt-alice")
    assert alice and alice.split(":")[2] == str(pwd.getpwnam("ojt-alice").pw_uid), alice
    assert not os.path.exists(os.path.join(host.home, NORA))
    # sshd's keys command, as the keys user: her key from Okta
    keys = host.run(host.keys_command, "--socket", env.sock, "keys", NORA, user=(host.keys_uid, 65534))
    assert keys.returncode == 0 and host.pub.split()[1] in keys.stdout, (keys.stdout, keys.stderr)
    assert len(keys.stdout.splitlines()) == 1
    # ---- refused with the request hint
    p = host.ssh(NORA, key, "echo ok")
    assert p.returncode == 255 and "ok" not in p.stdout, (p.stdout, p.stderr, host.read_sshd_log()[-3000:])
    assert "okta-jit request web-sudo" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(host.home, NORA))
    # ---- she requests (as herself: her uid comes from the module)
    r = nora_cli(host, env, "--json", "request", "web-sudo", "--for", "10s", "--reason", "INC-18 deploy")
    assert r.returncode == 0, (r.stdout, r.stderr, env.daemon.log()[-3000:])
    rows = env.grants()
    assert len(rows) == 1 and rows[0]["user"] == NORA and rows[0]["state"] == "active", rows
    gid = rows[0]["id"]
    member = "%s:x:%d:%s\n" % (SUDO_GROUP, sudo_gid, NORA)
    wait_for(lambda: sudo_group_line(host) == member, 15, what="the cache to list her grant")
    assert host.run("id", "-Gn", NORA).stdout.split() == [NORA, SUDO_GROUP]
    # ---- logs in with her Okta key, gets a home, sudo through %okta-web-sudo
    p = host.ssh(NORA, key, "id -un; id -Gn; pwd; sudo -n id -u")
    assert p.returncode == 0, (p.stdout, p.stderr, host.read_sshd_log()[-3000:])
    out = p.stdout.splitlines()
    assert out[0] == NORA and SUDO_GROUP in out[1].split() and out[2] == "/home/" + NORA and out[3] == "0", out
    st = os.stat(os.path.join(host.home, NORA))
    assert (st.st_uid, st.st_gid) == (NORA_UID, NORA_UID)
    # ---- after the grant's end: no member, no login, no sudo
    end = env.grant(gid)["end_at"]
    wait_for(lambda: time.time() >= end + 1, 40, what="the grant's end")
    assert sudo_group_line(host) == "%s:x:%d:\n" % (SUDO_GROUP, sudo_gid)
    assert host.run("id", "-Gn", NORA).stdout.split() == [NORA]
    p = host.run("sudo", "-n", "id", "-u", user=(NORA_UID, NORA_UID))
    assert p.returncode != 0 and p.stdout.strip() != "0", (p.stdout, p.stderr)
    p = host.ssh(NORA, key, "echo ok")
    assert p.returncode == 255 and "ok" not in p.stdout, (p.stdout, p.stderr)
    assert "needs an active grant" in p.stderr, p.stderr
    assert host.getent("passwd", NORA) == passwd_line  # still a requester here


def test_daemon_down_local_lookups_stay_fast_and_okta_users_resolve_from_the_cache(world):
    host, env, key = world
    wait_for(lambda: host.getent("passwd", NORA), 30, what="okta-jitd's cache to name Nora")
    env.daemon.stop()
    assert not env.daemon.alive()
    for argv, want in ((["getent", "passwd", "root"], "root:x:0:0:"), (["id", "-un", "root"], "root"),
                       (["getent", "group", "root"], "root:x:0:"), (["getent", "passwd", NORA], NORA + ":*:")):
        p = host.run(*argv)
        assert p.returncode == 0 and p.stdout.startswith(want), (argv, p.stdout, p.stderr)
        # nothing waits on the daemon: far under a second (generous bound)
        assert p.elapsed < 2.0, (argv, p.elapsed)
    # and an unknown name is a plain "not found", at once
    p = host.run("getent", "passwd", "ojt-nobody-at-all")
    assert p.returncode == 2 and p.elapsed < 2.0, (p.returncode, p.elapsed)


def nora_keys(host, env):
    p = host.run(host.keys_command, "--socket", env.sock, "keys", NORA, user=(host.keys_uid, 65534))
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout


def test_with_ssh_keys_grant_her_okta_key_opens_the_door_only_during_a_grant(world_keys_per_grant):
    host, env, key = world_keys_per_grant
    wait_for(lambda: host.getent("passwd", NORA), 30, what="okta-jitd's cache to name Nora")
    # no grant: no key, so sshd refuses her before PAM
    assert nora_keys(host, env) == ""
    p = host.ssh(NORA, key, "echo ok")
    assert p.returncode == 255 and "Permission denied (publickey)" in p.stderr, p.stderr
    r = nora_cli(host, env, "--json", "request", "web-sudo", "--for", "6s")
    assert r.returncode == 0, (r.stdout, r.stderr)
    gid = env.grants()[0]["id"]
    assert host.pub.split()[1] in nora_keys(host, env)
    p = host.ssh(NORA, key, "echo ok")
    assert p.returncode == 0 and p.stdout == "ok\n", (p.stdout, p.stderr, host.read_sshd_log()[-3000:])
    # after the end: no key again (login, key and group all refused)
    end = env.grant(gid)["end_at"]
    wait_for(lambda: time.time() >= end + 1, 30, what="the grant's end")
    wait_for(lambda: nora_keys(host, env) == "", 15, what="the key withdrawn")
    p = host.ssh(NORA, key, "echo ok")
    assert p.returncode == 255 and "Permission denied (publickey)" in p.stderr, p.stderr
    assert host.run("id", "-Gn", NORA).stdout.split() == [NORA]
