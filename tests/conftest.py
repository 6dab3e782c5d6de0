"""Shared pytest fixtures: the local Okta server, keys, configs, binaries.

Tests run with Debian's /usr/bin/python3 (python3-pytest and
python3-cryptography); `make check` sets OJIT_BUILD to the build folder.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import ssl

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("OJIT_BUILD", os.path.join(ROOT, "build"))
FAKE_OKTA = os.path.join(HERE, "okta_server", "fake_okta.py")
CLIENT_ID = "0oaTESTCLIENT1"

# tests/systemd boots a container with systemd in it: `make systemd-check`
# runs it (and sets OJIT_SYSTEMD_CHECK=1), `make check` does not collect it.
collect_ignore = [] if os.environ.get("OJIT_SYSTEMD_CHECK") == "1" else ["systemd"]


# With OJIT_INSTALLED=1 the product binaries are the installed ones (the
# packaging gate runs the end-to-end tests against an installed .deb);
# test tools always come from the build folder.
INSTALLED = {
    "okta-jit": "/usr/bin/okta-jit",
    "okta-jitd": "/usr/sbin/okta-jitd",
    "pam_okta_jit.so": os.path.join(
        subprocess.run(["pkg-config", "--variable=libdir", "pam"], capture_output=True,
                       text=True).stdout.strip() or "/usr/lib/x86_64-linux-gnu",
        "security", "pam_okta_jit.so"),
    # where libnss-okta-jit puts it: the multiarch folder (pam's libdir)
    "libnss_okta_jit.so.2": os.path.join(
        subprocess.run(["pkg-config", "--variable=libdir", "pam"], capture_output=True,
                       text=True).stdout.strip() or "/usr/lib/x86_64-linux-gnu", "libnss_okta_jit.so.2"),
}


def binary(name):
    if os.environ.get("OJIT_INSTALLED") == "1" and name in INSTALLED:
        path = INSTALLED[name]
        if not os.path.exists(path):
            pytest.fail("%s is not installed" % path)
        return path
    path = os.path.join(BUILD, name)
    if not os.path.exists(path):
        pytest.fail("%s is not built; run `make check`" % path)
    return path


def gen_key(kind="rsa"):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(kind)


def write_private_key(path, key, traditional=False, mode=0o600):
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if traditional \
        else serialization.PrivateFormat.PKCS8
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, mode)
    return path


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def default_seed(keys):
    """Users, groups and the one API Services client. keys: [(kid, key)]."""
    users = [
        {"id": "00ualice0000000001", "login": "alice@example.com", "status": "ACTIVE",
         "firstName": "Alice", "lastName": "Admin", "email": "alice@example.com"},
        {"id": "00ubob000000000002", "login": "bob@example.com", "status": "ACTIVE",
         "firstName": "Bob", "lastName": "Builder", "email": "bob@example.com"},
        {"id": "00ucarol0000000003", "login": "carol@example.com", "status": "SUSPENDED",
         "firstName": "Carol", "lastName": "C", "email": "carol@example.com"},
        {"id": "00uowner0000000004", "login": "olivia@example.com", "status": "ACTIVE",
         "firstName": "Olivia", "lastName": "Owner", "email": "olivia@example.com"},
        {"id": "00uslash0000000005", "login": "svc/deploy@example.com", "status": "ACTIVE",
         "firstName": "Svc", "lastName": "Deploy", "email": "deploy@example.com"},
        {"id": "00uquote0000000006", "login": "o\"brien@example.com", "status": "ACTIVE",
         "firstName": "Pat", "lastName": "OBrien", "email": "obrien@example.com"},
    ]
    groups = [
        {"id": "00gproddb000000001", "name": "prod-db-ssh", "type": "OKTA_GROUP",
         "description": "SSH to the production databases",
         "owners": [{"type": "USER", "id": "00uowner0000000004"}]},
        {"id": "00gweb00000000002", "name": "web-sudo", "type": "OKTA_GROUP",
         "description": "sudo on web servers", "owners": []},
        {"id": "00gapp00000000003", "name": "salesforce-users", "type": "APP_GROUP",
         "description": "imported"},
        {"id": "00gevery0000000004", "name": "Everyone", "type": "BUILT_IN",
         "description": "all users"},
        {"id": "00gops00000000005", "name": "ops-oncall", "type": "OKTA_GROUP",
         "description": "requesters"},
        {"id": "00gaudit000000006", "name": "audit-readers", "type": "OKTA_GROUP"},
        {"id": "00gstage000000007", "name": "staging-ssh", "type": "OKTA_GROUP"},
    ]
    return {
        "clients": [{
            "client_id": CLIENT_ID,
            "keys": [{"kid": kid, "public_key_pem": public_pem(k)} for kid, k in keys],
            "scopes": ["okta.groups.manage", "okta.users.read"],
            "admin_role": "ORG_ADMIN",
            "dpop_required": False,
        }],
        "users": users,
        "groups": groups,
        "memberships": [["00gops00000000005", "00ualice0000000001"],
                        ["00gops00000000005", "00ubob000000000002"]],
        "page_size": 2,
        "rate_limit": {"limit": 1000, "window_seconds": 60},
        "token_lifetime": 3600,
    }


class OktaServer:
    """A running tests/okta_server/fake_okta.py."""

    def __init__(self, workdir, seed, cert_mode="good"):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.seed_path = os.path.join(workdir, "seed.json")
        with open(self.seed_path, "w") as f:
            json.dump(seed, f)
        self.log = open(os.path.join(workdir, "server.log"), "w")
        port_file = os.path.join(workdir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", FAKE_OKTA, "--workdir", workdir, "--seed", self.seed_path,
             "--port", "0", "--cert-mode", cert_mode],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("fake Okta did not start: " + open(self.log.name).read()[-2000:])
            time.sleep(0.05)
        self.port = int(open(port_file).read().strip())
        self.url = "https://127.0.0.1:%d" % self.port
        self.ca = os.path.join(workdir, "ca.pem")
        self._ctx = ssl.create_default_context(cafile=self.ca)

    def control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/__control/" + path, data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self._ctx, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def state(self):
        return self.control("state")

    def requests(self):
        return self.control("requests")

    def clear_requests(self):
        return self.control("requests/clear", {})

    def faults(self, *rules):
        return self.control("faults", {"faults": list(rules)})

    def configure(self, **kw):
        return self.control("config", kw)

    def members(self, gid):
        return sorted(u for g, u in self.state()["memberships"] if g == gid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def rsa_key():
    """One RSA key for the whole session: making one costs ~0.2 s and most
    of the ~650 tests ask for it. Sharing it changes nothing a test sees: a
    key object is immutable, and each test still has its own fake Okta
    (trusting the key) and its own key file. A test that needs a second,
    different key calls gen_key()."""
    return gen_key("rsa")


@pytest.fixture
def okta_factory(tmp_path):
    servers = []

    def make(seed, cert_mode="good", name="okta"):
        s = OktaServer(str(tmp_path / name), seed, cert_mode)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def okta(okta_factory, rsa_key):
    """A fake Okta that trusts rsa_key under kid 'k1'."""
    return okta_factory(default_seed([("k1", rsa_key)]))


FLOWS = """
[flow prod-db]
groups = prod-db-ssh
requesters = ops-oncall
default_duration = 1h
max_duration = 4h
approval = owners
reason = required

[flow web]
groups = web-sudo
requesters = ops-oncall
default_duration = 30m
max_duration = 2h
approval = auto
reason = optional
"""


def make_config(tmp_path, okta_server, key, kid="k1", extra_okta="", flows=FLOWS,
                extra="", ca_file=True, name="okta-jit.conf", key_name="okta.key"):
    """Write a key file and a config that points at okta_server."""
    key_path = str(tmp_path / key_name)
    write_private_key(key_path, key)
    lines = ["[okta]",
             "org_url = %s" % okta_server.url,
             "client_id = %s" % CLIENT_ID,
             "private_key = %s" % key_path]
    if kid:
        lines.append("key_id = %s" % kid)
    if ca_file:
        lines.append("ca_file = %s" % okta_server.ca)
    lines.append("timeout = 3s")
    if extra_okta:
        lines.append(extra_okta)
    lines += ["", "[integration]", "name = test-integration",
              "access_details = Ask in #access; approvers are the group owners.",
              "owner = user:olivia@example.com", "", "[users]",
              "login_format = %u@example.com", "", "[daemon]",
              "socket = %s" % (tmp_path / "okta-jitd.sock"),
              "ledger = %s" % (tmp_path / "ledger.db"), ""]
    text = "\n".join(lines) + flows + extra
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(args, timeout=120, env=None, input=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=e,
                          input=input)
