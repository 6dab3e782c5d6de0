"""okta-jit-web's HTTP edge (issue 19), on its own: what it refuses before
a session exists or okta-jitd is asked anything. The pages behind sign-in,
okta-jitd's verification of the ID token and the browser story need the
fake Okta's sign-in endpoints and okta-jitd's web socket (the rest of
issue 19); the pure parts have C unit tests (tests/unit/web/test_web.c).

Every test runs the real binary on a loopback port and talks HTTP(S) to it."""
import datetime
import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import binary, run  # noqa: E402

ORG = "https://org.example"
# okta-jit-web reads okta-jit.conf with okta-jitd's reader (config_load):
# the whole file, okta-jitd's required keys included.
HEAD = ("[okta]\norg_url = %s\nclient_id = 0oaAPI\nprivate_key = /etc/okta-jit/keys/okta.pem\n"
        "[integration]\nname = web-test\n" % ORG)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_secret(tmp_path):
    p = tmp_path / "web-client-secret"
    p.write_text("s3cret-web\n")
    os.chmod(p, 0o600)
    return str(p)


def web_conf(tmp_path, port, url=None, extra=""):
    url = url or "http://127.0.0.1:%d" % port
    p = tmp_path / "okta-jit.conf"
    p.write_text(HEAD + "\n[web]\nurl = %s\nclient_id = 0oaWEBAPP\n"
                 "listen = 127.0.0.1:%d\nsocket = %s\n%s\n"
                 "[flow prod-db]\ngroups = prod-db-ssh\nmax_duration = 4h\nreason = required\n"
                 % (url, port, tmp_path / "web.sock", extra))
    return str(p)


class Web:
    """okta-jit-web on a free loopback port; url defaults to plain HTTP there."""

    def __init__(self, tmp_path, url=None, extra="", tls=False, port=None):
        self.port = port or free_port()
        self.tls = tls
        self.conf = web_conf(tmp_path, self.port, url, extra)
        self.log_path = str(tmp_path / "web.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary("okta-jit-web"), "--config", self.conf,
                                      "--client-secret", write_secret(tmp_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.req("GET", "/healthz")[0].status == 200:
                    break
            except (OSError, ssl.SSLError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("okta-jit-web did not start:\n" + open(self.log_path).read())
            time.sleep(0.05)

    def req(self, method, path, body=None, headers=None):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode()
        c.close()
        return r, data

    def logged(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def web(tmp_path):
    w = Web(tmp_path)
    yield w
    w.stop()


def cookies_of(r):
    return [v for k, v in r.getheaders() if k.lower() == "set-cookie"]


def test_web_check_names_file_line_and_key(tmp_path):
    conf = web_conf(tmp_path, 8080, extra="listen_on = 0.0.0.0:80")
    r = run([binary("okta-jit-web"), "--config", conf, "--client-secret", write_secret(tmp_path), "--check"])
    assert r.returncode == 1
    assert "%s:13: [web] listen_on: unknown key" % conf in r.stderr, r.stderr


def test_web_reads_the_file_as_okta_jitd_does(tmp_path):
    """One reader (issue 19): a mistake anywhere in okta-jit.conf stops
    okta-jit-web as it stops okta-jitd, named by file, line and key; the
    web service's own keys are okta-jitd's too."""
    secret = write_secret(tmp_path)
    conf = web_conf(tmp_path, 8080, extra="session_idle = 10m\nmax_sessions = 64")
    r = run([binary("okta-jit-web"), "--config", conf, "--client-secret", secret, "--check"])
    assert r.returncode == 0, r.stderr
    with open(conf, "a") as f:
        f.write("[daemon]\ncache_tll = 30s\n")
    r = run([binary("okta-jit-web"), "--config", conf, "--client-secret", secret, "--check"])
    assert r.returncode == 1
    assert "%s:20: [daemon] cache_tll: unknown key" % conf in r.stderr, r.stderr
    # A gate changes nothing in Okta: the web service does not run there.
    p = tmp_path / "gate.conf"
    p.write_text("[integration]\nname = web-test\n[daemon]\nrole = gate\n"
                 "ledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
                 "fleet_verify_keys = /etc/okta-jit/fleet.pub\n"
                 "[web]\nurl = https://jit.example.com\nclient_id = 0oaWEBAPP\n")
    r = run([binary("okta-jit-web"), "--config", str(p), "--client-secret", secret, "--check"])
    assert r.returncode == 1
    assert "%s:8: [web] client_id: a gate changes nothing in Okta" % p in r.stderr, r.stderr
    # [web] url is the web service's alone to need.
    p = tmp_path / "nourl.conf"
    p.write_text(HEAD + "[web]\nclient_id = 0oaWEBAPP\n")
    r = run([binary("okta-jit-web"), "--config", str(p), "--client-secret", secret, "--check"])
    assert r.returncode == 1
    assert "%s:8: [web] url: required key missing" % p in r.stderr, r.stderr


def test_web_refuses_plain_http_off_loopback(tmp_path):
    p = tmp_path / "c.conf"
    p.write_text(HEAD + "[web]\nurl = https://jit.example.com\nclient_id = x\n"
                 "listen = 0.0.0.0:8080\n")
    r = run([binary("okta-jit-web"), "--config", str(p), "--client-secret", write_secret(tmp_path), "--check"])
    assert r.returncode == 1
    assert "plain HTTP only on a loopback address" in r.stderr, r.stderr


def test_web_refuses_a_readable_client_secret(tmp_path):
    conf = web_conf(tmp_path, 8080)
    secret = write_secret(tmp_path)
    os.chmod(secret, 0o644)
    r = run([binary("okta-jit-web"), "--config", conf, "--client-secret", secret, "--check"])
    assert r.returncode == 1
    assert "no group or other permissions" in r.stderr, r.stderr
    assert "s3cret" not in r.stderr + r.stdout


def test_web_sends_signed_out_browsers_to_okta_with_pkce_state_and_nonce(web):
    r, _ = web.req("GET", "/request?group=prod-db-ssh")
    assert r.status == 302
    assert r.getheader("Location") == "/signin?next=%2Frequest%3Fgroup%3Dprod-db-ssh"
    r, _ = web.req("GET", r.getheader("Location"))
    assert r.status == 302
    loc = urllib.parse.urlparse(r.getheader("Location"))
    assert "%s://%s%s" % (loc.scheme, loc.netloc, loc.path) == ORG + "/oauth2/v1/authorize"
    q = dict(urllib.parse.parse_qsl(loc.query))
    assert q["response_type"] == "code" and q["client_id"] == "0oaWEBAPP"
    assert q["redirect_uri"] == "http://127.0.0.1:%d/callback" % web.port
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) == 43 and len(q["nonce"]) == 43 and q["state"] != q["nonce"]
    assert "openid" in q["scope"].split()
    [c] = cookies_of(r)
    assert c.startswith("ojit-signin=") and "HttpOnly" in c and "SameSite=Lax" in c and "Max-Age=600" in c
    # Every page forbids scripts and framing.
    csp = r.getheader("Content-Security-Policy")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert r.getheader("X-Frame-Options") == "DENY"


def test_web_refuses_unknown_foreign_and_replayed_state(web):
    r, _ = web.req("GET", "/signin")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.getheader("Location")).query))["state"]
    binder = cookies_of(r)[0].split(";")[0]
    # Another browser (no binder cookie) cannot use it ...
    r, body = web.req("GET", "/callback?code=x&state=" + state)
    assert r.status == 400 and "Sign in again" in body
    # ... and that attempt used it up, so the right browser cannot either.
    r, _ = web.req("GET", "/callback?code=x&state=" + state, headers={"Cookie": binder})
    assert r.status == 400
    # A fresh one, taken once (Okta said no), then replayed.
    r, _ = web.req("GET", "/signin")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.getheader("Location")).query))["state"]
    binder = cookies_of(r)[0].split(";")[0]
    r, _ = web.req("GET", "/callback?error=access_denied&state=" + state, headers={"Cookie": binder})
    assert r.status == 403
    r, _ = web.req("GET", "/callback?error=access_denied&state=" + state, headers={"Cookie": binder})
    assert r.status == 400
    assert web.logged().count("unknown, used or expired state") == 3


def test_web_refuses_cross_site_posts(web):
    me = "http://127.0.0.1:%d" % web.port
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {},
                    {"Referer": "https://evil.example/"}, {"Referer": me + ".evil.example/"}):
        r, body = web.req("POST", "/grants/1/approve", "csrf=x&reason=y", headers)
        assert r.status == 403 and "not sent from this site" in body, headers
    # From our own page, but with no session: refused, nothing asked of okta-jitd.
    r, body = web.req("POST", "/grants/1/approve", "csrf=x", {"Origin": me})
    assert r.status == 403 and "nothing was changed" in body


def test_web_refuses_an_oversized_form_with_413(web):
    me = "http://127.0.0.1:%d" % web.port
    r, _ = web.req("POST", "/request", "reason=" + "x" * (16384 - 6), {"Origin": me})
    assert r.status == 413
    # At the bound it is read (and refused for want of a session).
    r, _ = web.req("POST", "/request", "reason=" + "x" * (16384 - 7), {"Origin": me})
    assert r.status == 403


def test_web_answers_only_get_head_and_post(web):
    for method in ("DELETE", "PUT", "OPTIONS"):
        r, _ = web.req(method, "/")
        assert r.status == 405, method


def make_cert(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cp, kp = tmp_path / "tls.crt", tmp_path / "tls.key"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    os.chmod(kp, 0o600)
    return str(cp), str(kp)


def test_web_over_https_sets_secure_host_cookies(tmp_path):
    cert, key = make_cert(tmp_path)
    port = free_port()
    w = Web(tmp_path, url="https://127.0.0.1:%d" % port, extra="tls_cert = %s\ntls_key = %s" % (cert, key),
            tls=True, port=port)
    try:
        r, _ = w.req("GET", "/signin")
        [c] = cookies_of(r)
        # __Host-: no sibling host can set or shadow it; Secure: never over http.
        assert c.startswith("__Host-ojit-signin=") and "; Secure" in c and "Path=/" in c and "HttpOnly" in c
        assert "max-age" in (r.getheader("Strict-Transport-Security") or "")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.getheader("Location")).query))
        assert q["redirect_uri"] == "https://127.0.0.1:%d/callback" % port
    finally:
        w.stop()


def test_web_takes_forwarded_headers_only_from_the_trusted_proxy(tmp_path):
    # Plain HTTP on loopback behind a proxy at 127.0.0.1; the public url is https.
    w = Web(tmp_path, url="https://jit.example.com", extra="trusted_proxy = 127.0.0.1")
    try:
        # The proxy says the browser came over http: to the https address.
        r, _ = w.req("GET", "/approvals", headers={"X-Forwarded-Proto": "http"})
        assert r.status == 301 and r.getheader("Location") == "https://jit.example.com/approvals"
        # The proxy says https: served (signed out: to sign-in), with HSTS.
        r, _ = w.req("GET", "/approvals", headers={"X-Forwarded-Proto": "https"})
        assert r.status == 302 and r.getheader("Location").startswith("/signin")
        assert r.getheader("Strict-Transport-Security")
        # A broken header from the proxy is refused.
        r, _ = w.req("GET", "/approvals", headers={"X-Forwarded-For": "not-an-ip"})
        assert r.status == 400
        # The address logged is the one the proxy appended, not the client's claim.
        r, _ = w.req("POST", "/request", "csrf=x", {"Origin": "https://evil.example",
                                                   "X-Forwarded-For": "6.6.6.6, 198.51.100.9",
                                                   "X-Forwarded-Proto": "https"})
        assert r.status == 403
        assert "from 198.51.100.9 refused" in w.logged() and "6.6.6.6" not in w.logged()
    finally:
        w.stop()
    # The same headers from a peer that is not the proxy count for nothing.
    w = Web(tmp_path, url="https://jit.example.com", extra="trusted_proxy = 127.0.0.2")
    try:
        r, _ = w.req("GET", "/approvals", headers={"X-Forwarded-Proto": "http"})
        assert r.status == 302 and r.getheader("Location").startswith("/signin")
        assert r.getheader("Strict-Transport-Security") is None
        r, _ = w.req("GET", "/approvals", headers={"X-Forwarded-For": "not-an-ip"})
        assert r.status == 302
        w.req("POST", "/request", "csrf=x", {"Origin": "https://evil.example", "X-Forwarded-For": "198.51.100.9"})
        assert "from 127.0.0.1 refused" in w.logged() and "198.51.100.9" not in w.logged()
    finally:
        w.stop()
