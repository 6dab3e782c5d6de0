"""okta-jitd's and okta-jit-web's systemd units under a real systemd
(`make systemd-check`; `make check` does not collect this folder).

A Debian 12 root file system (tests/systemd/rootfs.sh, cached under
/var/tmp/okta-jit-systemd) is booted with systemd-nspawn, systemd as its
PID 1, on the host's network, with a volatile overlay so that nothing of
a run is kept. The built binaries and packaging/systemd/*.service go in
where the packages put them, with a config that points at the tests' fake
Okta on the host's loopback; then the units are started by systemctl and
checked from the outside: both active, okta-jit-web a dynamic user in
the okta-jit-web group, okta-jitd's web socket 0660 root:okta-jit-web, a
sign-in through the fake Okta and a request and its approval through the
pages (so the web service reaches okta-jitd's socket, and okta-jitd
reaches Okta, from inside their sandboxes), the exposure systemd-analyze
gives the web unit, and its log lines in the journal.
"""
import html
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

import pytest

if os.environ.get("OJIT_SYSTEMD_CHECK") != "1":
    pytest.skip("boots a container: run by `make systemd-check`", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)
from conftest import CLIENT_ID, OktaServer, binary, default_seed, gen_key, write_private_key  # noqa: E402

CACHE = os.environ.get("OJIT_SYSTEMD_CACHE", "/var/tmp/okta-jit-systemd")
UNITS = os.path.join(ROOT, "packaging", "systemd")
WEB_CLIENT = "0oaWEBSYSTEMD01"
WEB_SECRET = "systemd-check-secret-8c1f0e"
WEB_URL = "https://jit.example.com"  # the public address, as behind a proxy
ALICE_LOGIN = "ojt-alice@example.com"
OLIVIA_LOGIN = "ojt-olivia@example.com"
G_PRODDB = "00gproddb000000001"
ALICE = "00ualice0000000001"
# The exposure `systemd-analyze security` gives okta-jit-web (0 best, 10
# worst); the unit aims for "OK" (below 2), the bound is a guard against a
# hardening line that systemd ignored or that was lost.
WEB_EXPOSURE_MAX = 2.0
REPORT = []


def note(line):
    REPORT.append(line)
    print("systemd-check: " + line, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    """systemd-nspawn -b of the cached root file system; run() is nsenter."""

    def __init__(self, rootfs, stage, logpath):
        self.name = "ojit-sd-%d" % os.getpid()
        self.log = open(logpath, "w")
        self.logpath = logpath
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-q", "-b", "-D", rootfs, "--register=no", "--keep-unit",
             "--volatile=overlay", "--machine=" + self.name, "--bind-ro=%s:/mnt/ojit" % stage],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = None
        try:
            self._boot()
        except BaseException:
            self.stop()
            raise

    def _init_pid(self):
        """The container's PID 1: nspawn's child once it runs systemd
        (before that, a short-lived helper child is there too)."""
        out = subprocess.run(["ps", "--ppid", str(self.proc.pid), "-o", "pid=,comm="],
                             capture_output=True, text=True).stdout
        kids = [k.split() for k in out.splitlines() if k.split()[1:] == ["systemd"]]
        return int(kids[0][0]) if kids else None

    def _boot(self):
        deadline = time.monotonic() + 60
        while self.pid is None:
            self.pid = self._init_pid()
            if self.pid is not None:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("systemd-nspawn did not start:\n" + self.boot_log())
            time.sleep(0.1)
        # systemd in the container: wait for the boot to finish
        while True:
            r = self.run("systemctl is-system-running --wait", check=False, timeout=60)
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("container did not boot (%r %r):\n%s" % (state, r.stderr, self.boot_log()))
            time.sleep(0.2)
        self.state = state

    def boot_log(self):
        self.log.flush()
        with open(self.logpath, errors="replace") as f:
            return f.read()[-4000:]

    def run(self, cmd, check=True, timeout=60):
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-a", "/bin/sh", "-c", cmd],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("in the container: %s\nexit %d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
        return r

    def stop(self):
        """Halt the container; whatever way fails, the next one is tried,
        so that no container outlives the run."""
        steps = [lambda pid: subprocess.run(["nsenter", "-t", str(pid), "-a", "systemctl", "poweroff"],
                                            capture_output=True, timeout=30),
                 lambda pid: self.proc.terminate(),  # nspawn asks the container to halt
                 lambda pid: pid and os.kill(pid, signal.SIGKILL)]  # PID 1 ends the PID namespace
        for step in steps:
            if self.proc.poll() is not None:
                break
            try:
                step(self._init_pid())
                self.proc.wait(30)
            except (OSError, subprocess.SubprocessError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def seed():
    """The fake Okta of the integration tests (local-user logins) plus the
    Web app okta-jit-web signs in through."""
    key = gen_key("rsa")
    s = default_seed([("k1", key)])
    for u in s["users"]:
        if u["login"] in ("alice@example.com", "bob@example.com", "carol@example.com", "olivia@example.com"):
            u["login"] = u["email"] = "ojt-" + u["login"]
    s["web_apps"] = [{"client_id": WEB_CLIENT, "client_secret": WEB_SECRET,
                      "redirect_uris": [WEB_URL + "/callback"], "id_token_lifetime": 3600}]
    return key, s


def config(okta_port, web_port):
    return """[okta]
org_url = https://127.0.0.1:%d
client_id = %s
private_key = /etc/okta-jit/keys/okta.key
key_id = k1
ca_file = /etc/okta-jit/okta-ca.pem
timeout = 10s

[integration]
name = systemd-check
access_details = Ask in #access; approvers are the group owners.
owner = user:%s

[users]
login_format = %%u@example.com

[web]
url = %s
client_id = %s
listen = 127.0.0.1:%d

[flow prod-db]
groups = prod-db-ssh
requesters = ops-oncall
default_duration = 1h
max_duration = 4h
approval = owners
reason = required
""" % (okta_port, CLIENT_ID, OLIVIA_LOGIN, WEB_URL, WEB_CLIENT, web_port)


# Where the packages put them (debian/okta-jit.install, dh_installsystemd).
INSTALL = """set -e
install -m 0755 /mnt/ojit/okta-jitd /mnt/ojit/okta-jit-web /usr/sbin/
install -m 0755 /mnt/ojit/okta-jit /usr/bin/
install -m 0644 /mnt/ojit/okta-jitd.service /mnt/ojit/okta-jit-web.service /lib/systemd/system/
# the group the web unit's SupplementaryGroups= names (the package makes it)
groupadd --system okta-jit-web
install -d -m 0755 /etc/okta-jit
install -d -m 0700 /etc/okta-jit/keys
install -m 0600 /mnt/ojit/okta.key /etc/okta-jit/keys/okta.key
install -m 0640 /mnt/ojit/okta-jit.conf /etc/okta-jit/okta-jit.conf
install -m 0600 /mnt/ojit/web-client-secret /etc/okta-jit/web-client-secret
install -m 0644 /mnt/ojit/okta-ca.pem /etc/okta-jit/okta-ca.pem
systemctl daemon-reload
"""


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("systemd")
    r = subprocess.run(["sh", os.path.join(HERE, "rootfs.sh"), CACHE], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    rootfs = r.stdout.strip().splitlines()[-1]
    note("root file system %s ready in %.1f s" % (rootfs, time.monotonic() - t0))

    key, s = seed()
    okta = OktaServer(str(tmp / "okta"), s)
    web_port = free_port()
    stage = tempfile.mkdtemp(prefix="ojit-systemd-stage-")
    box = None
    try:
        for name in ("okta-jitd", "okta-jit-web", "okta-jit"):
            shutil.copy(binary(name), os.path.join(stage, name))
        for unit in ("okta-jitd.service", "okta-jit-web.service"):
            shutil.copy(os.path.join(UNITS, unit), os.path.join(stage, unit))
        shutil.copy(okta.ca, os.path.join(stage, "okta-ca.pem"))
        write_private_key(os.path.join(stage, "okta.key"), key)
        with open(os.path.join(stage, "okta-jit.conf"), "w") as f:
            f.write(config(okta.port, web_port))
        with open(os.path.join(stage, "web-client-secret"), "w") as f:
            f.write(WEB_SECRET + "\n")
        os.chmod(stage, 0o755)

        t1 = time.monotonic()
        box = Container(rootfs, stage, str(tmp / "boot.log"))
        note("booted in %.1f s (%s)" % (time.monotonic() - t1, box.state))
        missing = box.run("ldd /mnt/ojit/okta-jitd /mnt/ojit/okta-jit-web /mnt/ojit/okta-jit | grep 'not found' || true")
        assert missing.stdout.strip() == "", "libraries missing from the root file system:\n" + missing.stdout
        box.run(INSTALL)
        box.okta = okta
        box.logdir = str(tmp)
        box.web_port = web_port
        yield box
    finally:
        if box is not None:
            # the container's whole journal, for a look after the run
            try:
                with open(str(tmp / "journal.log"), "w") as f:
                    f.write(box.run("journalctl --no-pager -o short-monotonic", check=False).stdout)
                note("the container's journal: %s" % (tmp / "journal.log"))
            except (OSError, subprocess.SubprocessError):
                pass
            box.stop()
        okta.stop()
        shutil.rmtree(stage, ignore_errors=True)
        note("whole run %.1f s" % (time.monotonic() - t0))


def unit_state(box, unit):
    r = box.run("systemctl show -p ActiveState,SubState,MainPID,Result %s" % unit)
    return dict(line.split("=", 1) for line in r.stdout.split())


def unit_log(box, unit):
    full = box.run("journalctl --no-pager -o short-monotonic -u %s" % unit, check=False).stdout
    with open(os.path.join(box.logdir, unit + ".log"), "w") as f:
        f.write(full)
    return "\n".join(full.splitlines()[-40:]) + "\n(all of it: %s)" % f.name


def proc_status(box, pid):
    st = {}
    for line in box.run("cat /proc/%s/status" % pid).stdout.splitlines():
        k, _, v = line.partition(":")
        st[k] = v.split()
    return st


class Browser:
    """Just enough of a browser: a cookie jar, okta-jit-web on its loopback
    port (the address a proxy would forward to) and the fake Okta's sign-in
    form."""

    def __init__(self, box):
        self.box = box
        self.jar = {}
        self.okta_ctx = ssl.create_default_context(cafile=box.okta.ca)

    def _cookies(self, r):
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, value = v.split(";")[0].partition("=")
                if value:
                    self.jar[name.strip()] = value
                else:
                    self.jar.pop(name.strip(), None)

    def web(self, method, path, form=None):
        c = http.client.HTTPConnection("127.0.0.1", self.box.web_port, timeout=30)
        h = {}
        if self.jar:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
            h["Origin"] = WEB_URL
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        self._cookies(r)
        return r, data

    def okta(self, method, url, form=None):
        u = urllib.parse.urlparse(url)
        assert (u.hostname, u.port) == ("127.0.0.1", self.box.okta.port), url
        c = http.client.HTTPSConnection("127.0.0.1", u.port, timeout=30, context=self.okta_ctx)
        body = urllib.parse.urlencode(form) if form is not None else None
        h = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        c.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        return r, data

    def sign_in(self, login):
        r, body = self.web("GET", "/signin")
        assert r.status == 302, (r.status, body)
        authorize = r.getheader("Location")
        r, body = self.okta("GET", authorize)
        assert r.status == 200, (r.status, body)
        form = {k: html.unescape(v) for k, v in
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body)}
        form["login"] = login
        r, body = self.okta("POST", authorize.split("?")[0], form)
        assert r.status == 302, (r.status, body)
        back = urllib.parse.urlparse(r.getheader("Location"))
        assert "%s://%s%s" % (back.scheme, back.netloc, back.path) == WEB_URL + "/callback"
        r, body = self.web("GET", "/callback?" + back.query)
        assert r.status == 303, (r.status, body, unit_log(self.box, "okta-jit-web"))

    def csrf(self, page):
        m = re.search(r'name="csrf" value="([^"]+)"', page)
        assert m, page[:2000]
        return html.unescape(m.group(1))


@pytest.fixture(scope="module")
def units(box):
    """systemctl start of both units, and both serving: okta-jitd's web
    socket there, okta-jit-web's /healthz answering."""
    t0 = time.monotonic()
    r = box.run("systemctl start okta-jitd okta-jit-web", check=False, timeout=90)
    jitd = unit_state(box, "okta-jitd")
    assert r.returncode == 0 and jitd["ActiveState"] == "active", (r.stderr, jitd, unit_log(box, "okta-jitd"))
    deadline = time.monotonic() + 30
    while box.run("test -S /run/okta-jit/web.sock", check=False).returncode != 0:
        assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
        time.sleep(0.2)
    web = unit_state(box, "okta-jit-web")
    assert web["ActiveState"] == "active", (web, unit_log(box, "okta-jit-web"))
    # /healthz on its listen address (the host's loopback: the container
    # shares the host's network)
    b = Browser(box)
    while True:
        try:
            r, body = b.web("GET", "/healthz")
            if r.status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, unit_log(box, "okta-jit-web")
        time.sleep(0.2)
    assert body.strip() == "ok", body
    note("both units active and answering in %.1f s" % (time.monotonic() - t0))
    return jitd, unit_state(box, "okta-jit-web")


def test_units_start_and_run_sandboxed(box, units):
    jitd, web = units
    # okta-jitd's web socket: 0660 root:okta-jit-web
    mode = box.run("stat -c '%a %U %G' /run/okta-jit/web.sock").stdout.split()
    assert mode == ["660", "root", "okta-jit-web"], mode
    # beside the public socket (0666) and the PAM module's (0600), in the
    # RuntimeDirectory= (0755)
    modes = box.run("stat -c '%n %a %U' /run/okta-jit /run/okta-jit/okta-jitd.sock /run/okta-jit/pam.sock").stdout
    assert modes.split("\n")[:3] == ["/run/okta-jit 755 root", "/run/okta-jit/okta-jitd.sock 666 root",
                                      "/run/okta-jit/pam.sock 600 root"], modes

    # okta-jit-web: a dynamic user, not root, with the okta-jit-web group
    st = proc_status(box, web["MainPID"])
    gid = box.run("getent group okta-jit-web").stdout.split(":")[2]
    uid = st["Uid"][0]
    assert int(uid) != 0 and len(set(st["Uid"])) == 1, st["Uid"]
    assert gid in st["Groups"], (gid, st["Groups"])
    assert st["CapEff"] == ["0000000000000000"] and st["NoNewPrivs"] == ["1"], st
    assert st["Seccomp"] == ["2"], st
    # systemd's range for dynamic users (61184-65519), and no such user on disk
    assert 61184 <= int(uid) <= 65519, uid
    assert box.run("grep -c ':%s:' /etc/passwd" % uid, check=False).stdout.strip() == "0"
    note("okta-jit-web runs as dynamic uid %s, groups %s (okta-jit-web is %s), CapEff 0, NoNewPrivs, seccomp"
         % (uid, " ".join(st["Groups"]), gid))
    jst = proc_status(box, jitd["MainPID"])
    assert jst["Uid"][0] == "0" and jst["CapEff"] != ["0000000000000000"], jst
    # no core file ever holds the Okta key or the client secret (LimitCORE=0
    # and the processes' own limit), and okta-jit-web is not dumpable: a
    # process of its own uid cannot read its memory or environment
    for pid in (jitd["MainPID"], web["MainPID"]):
        lim = box.run("grep '^Max core file size' /proc/%s/limits" % pid).stdout.split()
        assert lim[4:6] == ["0", "0"], lim
    r = box.run("setpriv --reuid=%s --regid=%s --clear-groups cat /proc/%s/environ" % (uid, gid, web["MainPID"]),
                check=False)
    assert r.returncode != 0 and "Permission denied" in r.stderr, (r.returncode, r.stdout[:200], r.stderr)


def test_sign_in_request_and_approve_through_the_sandboxed_units(box, units):
    # alice signs in through the fake Okta and asks for prod-db-ssh: the
    # web service reaches okta-jitd's web socket (group okta-jit-web) with
    # her ID token, okta-jitd verifies it against Okta's keys
    alice = Browser(box)
    alice.sign_in(ALICE_LOGIN)
    r, page = alice.web("GET", "/request?group=prod-db-ssh")
    assert r.status == 200, (r.status, page)
    r, page = alice.web("POST", "/request", {"csrf": alice.csrf(page), "group": "prod-db-ssh",
                                             "duration": "1h", "reason": "systemd-check"})
    assert r.status in (200, 303), (r.status, page, unit_log(box, "okta-jit-web"), unit_log(box, "okta-jitd"))
    # olivia, the group's owner, sees it waiting and approves it
    olivia = Browser(box)
    olivia.sign_in(OLIVIA_LOGIN)
    r, page = olivia.web("GET", "/approvals")
    assert r.status == 200, (r.status, page, unit_log(box, "okta-jit-web"))
    assert "systemd-check" in page and "ojt-alice" in page, page
    m = re.search(r'action="/grants/(\d+)/approve"', page)
    assert m, page
    r, page = olivia.web("POST", "/grants/%s/approve" % m.group(1), {"csrf": olivia.csrf(page), "reason": "ok"})
    assert r.status in (200, 303), (r.status, page, unit_log(box, "okta-jitd"))
    # ... and okta-jitd, in its own sandbox, made the change in Okta
    deadline = time.monotonic() + 20
    while ALICE not in box.okta.members(G_PRODDB):
        assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
        time.sleep(0.2)
    # the CLI, as root in the container, sees the grant active
    r = box.run("okta-jit --json list --all", check=False)
    assert r.returncode == 0 and '"active"' in r.stdout, (r.stdout, r.stderr)
    note("sign-in, request and approval through the pages: alice is in prod-db-ssh")


def test_the_journal_carries_the_audit_fields(box, units):
    """Issue 22: okta-jitd's audit records are journal entries with their
    fields; `journalctl GRANT_ID=N` finds one grant's, and a person is
    the local name with the Okta login beside it."""
    r = box.run("okta-jit --json list --all", check=False)
    grants = [g for g in json.loads(r.stdout)["grants"] if g["group"] == "prod-db-ssh" and g["state"] == "active"]
    assert grants, r.stdout
    gid = grants[0]["id"]
    deadline = time.monotonic() + 15
    while True:
        r = box.run("journalctl --no-pager -o json -u okta-jitd.service GRANT_ID=%d" % gid)
        entries = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        by_event = {e.get("OKTA_JIT_EVENT"): e for e in entries}
        if {"requested", "approved", "granted"} <= set(by_event):
            break
        assert time.monotonic() < deadline, entries
        time.sleep(0.2)
    assert all(e["GRANT_ID"] == str(gid) and e["_TRANSPORT"] == "journal" for e in entries), entries
    for ev in ("requested", "approved", "granted"):
        e = by_event[ev]
        assert e["MESSAGE"].startswith("audit event=%s id=%d " % (ev, gid)), e
        assert e["PRIORITY"] == "5" and e["SYSLOG_FACILITY"] == "10" and e["SYSLOG_IDENTIFIER"] == "okta-jitd", e
        assert e["OKTA_JIT_USER"] == "ojt-alice" and e["OKTA_JIT_LOGIN"] == ALICE_LOGIN, e
        assert e["OKTA_JIT_GROUP"] == "prod-db-ssh", e
    appr = by_event["approved"]
    assert appr["OKTA_JIT_ACTOR"] == "ojt-olivia" and appr["OKTA_JIT_ACTOR_LOGIN"] == OLIVIA_LOGIN, appr
    assert by_event["granted"].get("OKTA_REQUEST_ID"), by_event["granted"]
    # the field filter works on its own too, and each record is there once
    r = box.run("journalctl --no-pager -o json -u okta-jitd.service OKTA_JIT_EVENT=approved GRANT_ID=%d" % gid)
    assert len([ln for ln in r.stdout.splitlines() if ln.strip()]) == 1, r.stdout
    note("journal: grant %d's records by GRANT_ID, e.g. approved by %s (%s)"
         % (gid, appr["OKTA_JIT_ACTOR"], appr["OKTA_JIT_ACTOR_LOGIN"]))


def test_systemd_analyze_security_of_the_web_unit(box, units):
    r = box.run("systemd-analyze security --no-pager okta-jit-web.service", check=False, timeout=60)
    m = re.search(r"Overall exposure level for okta-jit-web.service: ([0-9.]+) (\S+)", r.stdout)
    assert m, (r.returncode, r.stdout[-3000:], r.stderr)
    exposure = float(m.group(1))
    with open(os.path.join(box.logdir, "security-okta-jit-web.txt"), "w") as f:
        f.write(r.stdout)
    j = box.run("systemd-analyze security --no-pager okta-jitd.service", check=False, timeout=60)
    mj = re.search(r"Overall exposure level for okta-jitd.service: ([0-9.]+) (\S+)", j.stdout)
    note("systemd-analyze security (real, in the container): okta-jit-web %s %s, okta-jitd %s"
         % (m.group(1), m.group(2), "%s %s" % mj.groups() if mj else "?"))
    assert exposure <= WEB_EXPOSURE_MAX, r.stdout


def test_systemd_analyze_verify_finds_nothing_in_the_units(box, units):
    # --man=no: the root file system has no man pages (Documentation=)
    r = box.run("systemd-analyze verify --man=no /lib/systemd/system/okta-jitd.service "
                "/lib/systemd/system/okta-jit-web.service", check=False, timeout=60)
    assert r.returncode == 0 and "okta-jit" not in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_the_journal_carries_the_web_units_log(box, units):
    b = Browser(box)
    b.sign_in(ALICE_LOGIN)
    # a POST with a wrong CSRF token: refused, logged as a warning
    r, _ = b.web("POST", "/request", {"csrf": "x", "group": "prod-db-ssh", "duration": "1h", "reason": "r"})
    assert r.status == 403
    signed_in = "%s (%s) signed in from 127.0.0.1" % (ALICE_LOGIN, ALICE)
    # journald reads the stream on its own time: wait for both lines. Its
    # own lines, not systemd's about the unit: the identifier journald
    # gives the stream (_COMM can still be systemd's "(-jit-web)" for
    # the first lines after the exec).
    deadline = time.monotonic() + 15
    while True:
        r = box.run("journalctl --no-pager -o json -u okta-jit-web.service")
        entries = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        # issue 22: its lines come through the journal's native protocol
        # (sd_journal_sendv), with their fields
        mine = [e for e in entries if e.get("_SYSTEMD_UNIT") == "okta-jit-web.service"
                and e.get("SYSLOG_IDENTIFIER") == "okta-jit-web" and e.get("_TRANSPORT") == "journal"]
        text = "\n".join(str(e.get("MESSAGE")) for e in mine)
        if signed_in in text and "refused: CSRF" in text:
            break
        assert time.monotonic() < deadline, (text, entries[-10:])
        time.sleep(0.2)
    # okta-jit-web sees JOURNAL_STREAM and gives each line its level
    # (PRIORITY): the journal keeps a warning a warning
    refused = [e for e in mine if "refused: CSRF" in str(e.get("MESSAGE"))]
    assert refused and refused[-1]["PRIORITY"] == "4", refused
    assert [e for e in mine if "signed in" in str(e.get("MESSAGE")) and e["PRIORITY"] == "6"], mine
    # the client secret never reaches the log
    everything = box.run("journalctl --no-pager -o cat").stdout
    assert WEB_SECRET not in everything
    note("journal: %d lines of okta-jit-web, e.g. %r" % (len(mine), str(mine[-1].get("MESSAGE"))[:120]))


def test_units_stop_cleanly_and_the_web_unit_waits_for_its_secret(box, units):
    box.run("systemctl stop okta-jit-web okta-jitd", timeout=90)
    for unit in ("okta-jit-web", "okta-jitd"):
        st = unit_state(box, unit)
        assert st["ActiveState"] == "inactive" and st["Result"] == "success", (st, unit_log(box, unit))
    assert box.run("test -e /run/okta-jit", check=False).returncode != 0  # RuntimeDirectory= removed
    # no client secret: the web unit is skipped (ConditionPathExists=), not failed
    box.run("mv /etc/okta-jit/web-client-secret /etc/okta-jit/web-client-secret.off && "
            "systemctl start okta-jit-web")
    st = unit_state(box, "okta-jit-web")
    cond = box.run("systemctl show -p ConditionResult okta-jit-web").stdout.strip()
    assert st["ActiveState"] == "inactive" and cond == "ConditionResult=no", (st, cond)
    box.run("mv /etc/okta-jit/web-client-secret.off /etc/okta-jit/web-client-secret")


# Issue 21: the Okta key as an encrypted systemd credential, as
# docs/packaging.md shows it: sealed with systemd-creds to the host's key
# (a TPM-bound seal is the same command with --with-key=tpm2 on a host
# with a TPM), passed by LoadCredentialEncrypted=, named credential:NAME.
CREDENTIAL_DROPIN = """[Unit]
ConditionDirectoryNotEmpty=
[Service]
LoadCredentialEncrypted=okta-key:/etc/credstore.encrypted/okta-key
"""


def test_the_key_from_an_encrypted_credential(box, units):
    okta = box.okta
    box.run("systemctl stop okta-jit-web okta-jitd", timeout=90)
    box.run("install -d -m 0700 /etc/credstore.encrypted && "
            "systemd-creds encrypt --with-key=host --name=okta-key /etc/okta-jit/keys/okta.key "
            "/etc/credstore.encrypted/okta-key && "
            "mv /etc/okta-jit/keys/okta.key /root/okta.key.plain && "
            "sed -i 's|^private_key = .*|private_key = credential:okta-key|' /etc/okta-jit/okta-jit.conf && "
            "install -d /etc/systemd/system/okta-jitd.service.d && "
            "printf '%s' '" + CREDENTIAL_DROPIN + "' > /etc/systemd/system/okta-jitd.service.d/key.conf && "
            "systemctl daemon-reload")
    assert box.run("test -e /etc/okta-jit/keys/okta.key", check=False).returncode != 0
    before = okta.state()["assertion_kids"].get("k1", 0)
    r = box.run("systemctl start okta-jitd", check=False, timeout=90)
    st = unit_state(box, "okta-jitd")
    assert r.returncode == 0 and st["ActiveState"] == "active", (r.stderr, st, unit_log(box, "okta-jitd"))
    deadline = time.monotonic() + 20
    while "from the systemd credential okta-key" not in box.run("journalctl --no-pager -u okta-jitd -n 20",
                                                               check=False).stdout:
        assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
        time.sleep(0.2)
    # a check needs Okta, so a token: signed with the key from the credential
    box.run("okta-jit --json check prod-db-ssh", check=False, timeout=60)
    deadline = time.monotonic() + 20
    while okta.state()["assertion_kids"].get("k1", 0) <= before:
        assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
        time.sleep(0.2)
    note("okta-jitd signed with the key from LoadCredentialEncrypted=")

    # A credential that cannot be decrypted: the unit does not start (never
    # a failure at the first login), and the journal says why.
    box.run("systemctl stop okta-jitd && head -c 600 /dev/urandom | base64 > /etc/credstore.encrypted/okta-key")
    box.run("systemctl start okta-jitd", check=False, timeout=90)
    deadline = time.monotonic() + 20
    while "status=243/CREDENTIALS" not in box.run("journalctl --no-pager -u okta-jitd -n 20", check=False).stdout:
        assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
        time.sleep(0.2)
    st = unit_state(box, "okta-jitd")
    assert st["ActiveState"] != "active" and st["Result"] == "exit-code", (st, unit_log(box, "okta-jitd"))
    assert "Failed to set up credentials" in unit_log(box, "okta-jitd")
    box.run("systemctl stop okta-jitd; systemctl reset-failed okta-jitd", check=False)


# Issue 21: the Okta key in a TPM, used by okta-jitd under its unit
# (the sandbox: MemoryDenyWriteExecute=, SystemCallFilter=, ProtectSystem=
# ...) through OpenSSL's tpm2 provider. The TPM is swtpm on the host's
# loopback (the container shares the host's network); the drop-in is the
# one docs/packaging.md gives for a TPM key.
TPM_DROPIN = """[Unit]
ConditionDirectoryNotEmpty=
[Service]
PrivateDevices=no
DevicePolicy=closed
DeviceAllow=/dev/tpmrm0 rw
DeviceAllow=char-pts rw
"""


def test_the_key_in_a_tpm_under_the_unit(box, units, tmp_path):
    sys.path.insert(0, os.path.join(TESTS, "integration"))
    from tpm_fixtures import SwTpm, tpm_missing  # noqa: E402
    missing = tpm_missing()
    assert not missing, "packaging/install-deps.sh installs %s" % ", ".join(missing)
    tpm = SwTpm(str(tmp_path / "swtpm"))
    try:
        spec = tpm.persistent_key()
        box.okta.control("client_keys", {"op": "add", "kid": "tpm1",
                                         "public_key_pem": tpm.public_pem(spec[len("tpm2:"):])})
        box.run("systemctl stop okta-jitd; systemctl reset-failed okta-jitd; "
                "rm -f /etc/systemd/system/okta-jitd.service.d/key.conf", check=False, timeout=90)
        box.run("sed -i -e 's|^private_key = .*|private_key = %s\\ntpm2_tcti = %s|' -e 's|^key_id = .*|key_id = tpm1|' "
                "/etc/okta-jit/okta-jit.conf && install -d /etc/systemd/system/okta-jitd.service.d && "
                "printf '%%s' '%s' > /etc/systemd/system/okta-jitd.service.d/tpm.conf && systemctl daemon-reload"
                % (spec, tpm.tcti, TPM_DROPIN))
        conf = box.run("cat /etc/okta-jit/okta-jit.conf").stdout
        assert "private_key = %s\ntpm2_tcti = %s\n" % (spec, tpm.tcti) in conf, conf
        before = box.okta.state()["assertion_kids"].get("tpm1", 0)
        r = box.run("systemctl start okta-jitd", check=False, timeout=90)
        assert r.returncode == 0, (r.stderr, unit_log(box, "okta-jitd"))
        deadline = time.monotonic() + 20
        while "TPM at persistent handle 0x81000002" not in box.run("journalctl --no-pager -u okta-jitd -n 20",
                                                                   check=False).stdout:
            assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
            time.sleep(0.2)
        assert unit_state(box, "okta-jitd")["ActiveState"] == "active", unit_log(box, "okta-jitd")
        box.run("okta-jit --json check prod-db-ssh", check=False, timeout=60)
        deadline = time.monotonic() + 20
        while box.okta.state()["assertion_kids"].get("tpm1", 0) <= before:
            assert time.monotonic() < deadline, unit_log(box, "okta-jitd")
            time.sleep(0.2)
        note("okta-jitd signed with the TPM key from inside its sandbox")
    finally:
        box.run("systemctl stop okta-jitd; systemctl reset-failed okta-jitd", check=False, timeout=90)
        tpm.stop()
