"""Self-test of fake_okta.py, using only http.client/ssl and cryptography.

Run:  /usr/bin/python3 -m pytest -q tests/okta_server/
"""

import base64
import email.utils
import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_okta.py")
PY = "/usr/bin/python3"
TOKEN_PATH = "/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# ---------------------------------------------------------------- JOSE helpers

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(key, alg, header, claims, der=False):
    header = dict(header, alg=alg)
    si = (b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())).encode()
    h = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}.get(alg[2:])
    if alg.startswith("RS"):
        sig = key.sign(si, padding.PKCS1v15(), h)
    elif alg.startswith("ES"):
        der_sig = key.sign(si, ec.ECDSA(h))
        if der:
            sig = der_sig
        else:
            r, s = asym_utils.decode_dss_signature(der_sig)
            n = (key.curve.key_size + 7) // 8
            sig = r.to_bytes(n, "big") + s.to_bytes(n, "big")
    elif alg == "none":
        sig = b""
    else:
        sig = b"x" * 32
    return si.decode() + "." + b64u(sig)


def pub_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_jwk(key):
    pub = key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        nums = pub.public_numbers()
        return {"kty": "RSA", "n": b64u(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
                "e": b64u(nums.e.to_bytes(3, "big"))}
    nums = pub.public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
            "y": b64u(nums.y.to_bytes(32, "big"))}


def thumbprint(jwk):
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    return b64u(hashlib.sha256(json.dumps({m: jwk[m] for m in members}, sort_keys=True,
                                          separators=(",", ":")).encode()).digest())


WEB_CLIENT = "0oaWEBAPP"
WEB_SECRET = "web-secret-0123456789"
WEB_REDIRECT = "https://jit.example.com/callback"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_KEY2 = ec.generate_private_key(ec.SECP256R1())
DPOP_KEY = ec.generate_private_key(ec.SECP256R1())


# ---------------------------------------------------------------- server fixture

def make_seed():
    users = [
        {"id": "00u1", "login": "alice@example.com", "firstName": "Alice", "lastName": "A"},
        {"id": "00u2", "login": "bob@example.com", "firstName": "Bob", "lastName": "B"},
        {"id": "00u3", "login": "carol@example.com"},
        {"id": "00u4", "login": "dave@example.com"},
        {"id": "00u5", "login": "erin@example.com", "status": "DEPROVISIONED"},
        {"id": "00u6", "login": 'we"ird\\name@example.com'},
        {"id": "00u7", "login": "a@b.com"},
    ]
    groups = [
        {"id": "00g1", "name": "prod-db-ssh", "description": "prod",
         "owners": [{"type": "USER", "id": "00u2"}, {"type": "GROUP", "id": "00g9"}]},
        {"id": "00g2", "name": "prod-web", "type": "OKTA_GROUP"},
        {"id": "00g3", "name": "imported", "type": "APP_GROUP"},
        {"id": "00g4", "name": "Everyone", "type": "BUILT_IN"},
        {"id": "00g9", "name": "db-owners"},
    ]
    memberships = [["00g1", u] for u in ("00u1", "00u2", "00u3", "00u4", "00u5")] + [["00g2", "00u1"]]
    return {
        "clients": [
            {"client_id": "0oaRSA", "keys": [{"kid": "r1", "public_key_pem": pub_pem(RSA_KEY)}],
             "scopes": ["okta.groups.manage", "okta.users.read"], "admin_role": "ORG_ADMIN"},
            {"client_id": "0oaEC", "keys": [{"kid": "e1", "public_key_pem": pub_pem(EC_KEY)}],
             "scopes": ["okta.groups.read", "okta.users.read"]},
            {"client_id": "0oaTWO", "keys": [{"kid": "a", "public_key_pem": pub_pem(EC_KEY)},
                                             {"kid": "b", "public_key_pem": pub_pem(EC_KEY2)}],
             "scopes": ["okta.groups.read"]},
            {"client_id": "0oaDPOP", "keys": [{"kid": "d1", "public_key_pem": pub_pem(EC_KEY2)}],
             "scopes": ["okta.groups.manage", "okta.users.read"], "dpop_required": True},
            {"client_id": "0oaNOROLE", "keys": [{"public_key_pem": pub_pem(RSA_KEY)}],
             "scopes": ["okta.groups.manage", "okta.users.read"], "admin_role": None},
        ],
        "users": users, "groups": groups, "memberships": memberships,
        "page_size": 2, "token_lifetime": 3600,
        "web_apps": [{"client_id": WEB_CLIENT, "client_secret": WEB_SECRET, "redirect_uris": [WEB_REDIRECT]}],
    }


def start_server(tmp, cert_mode="good", seed=None):
    os.makedirs(tmp, exist_ok=True)
    seed_path = os.path.join(tmp, "seed.json")
    with open(seed_path, "w") as f:
        json.dump(seed or make_seed(), f)
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen([PY, SERVER, "--workdir", tmp, "--seed", seed_path, "--port", "0",
                             "--cert-mode", cert_mode], stderr=log, stdout=log)
    port_file = os.path.join(tmp, "port")
    for _ in range(200):
        if os.path.exists(port_file):
            break
        if proc.poll() is not None:
            raise RuntimeError("server died: " + open(os.path.join(tmp, "server.log")).read())
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("server did not start")
    return proc, int(open(port_file).read())


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Fake:
    def __init__(self, tmp, port, proc):
        self.tmp, self.port, self.proc = tmp, port, proc
        self.ctx = ssl.create_default_context(cafile=os.path.join(tmp, "ca.pem"))
        self.host = "127.0.0.1:%d" % port
        self.token_url = "https://%s%s" % (self.host, TOKEN_PATH)

    def conn(self, timeout=10, host="127.0.0.1"):
        return http.client.HTTPSConnection(host, self.port, context=self.ctx, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=10):
        c = conn or self.conn(timeout)
        hdrs = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if body is None and method in ("PUT", "POST"):
            body = b""
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r, data

    def ctl(self, method, what, body=None):
        r, data = self.request(method, "/__control/" + what, body)
        assert r.status == 200, data
        return json.loads(data)

    # -- tokens
    def assertion(self, client_id="0oaRSA", key=RSA_KEY, alg="RS256", kid="r1", aud=None, exp_in=300,
                  iat_delta=0, jti=None, der=False, extra=None, header_extra=None):
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": aud or self.token_url,
                  "iat": now + iat_delta, "exp": now + exp_in, "jti": jti or str(uuid.uuid4())}
        claims.update(extra or {})
        header = {"typ": "JWT"}
        if kid is not None:
            header["kid"] = kid
        header.update(header_extra or {})
        return sign_jwt(key, alg, header, claims, der=der)

    def token_request(self, assertion, scope="okta.groups.manage okta.users.read", dpop=None, form=None):
        f = {"grant_type": "client_credentials", "scope": scope,
             "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        if form is not None:
            f = form
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if dpop:
            hdrs["DPoP"] = dpop
        r, data = self.request("POST", TOKEN_PATH, urllib.parse.urlencode(f), hdrs)
        return r, json.loads(data) if data else None

    def token(self, scope="okta.groups.manage okta.users.read", **kw):
        r, body = self.token_request(self.assertion(**kw), scope)
        assert r.status == 200, body
        return body["access_token"]

    def api(self, method, path, token, headers=None, **kw):
        h = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        h.update(headers or {})
        return self.request(method, path, headers=h, **kw)


@pytest.fixture(scope="session")
def fake(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("fake_okta"))
    proc, port = start_server(tmp)
    yield Fake(tmp, port, proc)
    stop_server(proc)


@pytest.fixture(autouse=True)
def _reset(request):
    if "fake" in request.fixturenames:
        f = request.getfixturevalue("fake")
        f.ctl("POST", "reset", {})


def dpop_proof(key, htm, htu, nonce=None, ath=None, jti=None, typ="dpop+jwt", iat_delta=0, jwk=None):
    claims = {"htm": htm, "htu": htu, "iat": int(time.time()) + iat_delta, "jti": jti or str(uuid.uuid4())}
    if nonce:
        claims["nonce"] = nonce
    if ath:
        claims["ath"] = ath
    return sign_jwt(key, "ES256", {"typ": typ, "jwk": jwk or public_jwk(key)}, claims)


def ath_of(token):
    return b64u(hashlib.sha256(token.encode()).digest())


def links(resp):
    """Parse all Link headers (combined or separate) into {rel: url}."""
    out = {}
    for value in resp.headers.get_all("Link") or []:
        for part in value.split(", <"):
            part = part if part.startswith("<") else "<" + part
            url, rel = part.split(">; rel=")
            out[rel.strip('"')] = url[1:]
    return out


# ---------------------------------------------------------------- token endpoint

def test_token_rs256_success(fake):
    r, body = fake.token_request(fake.assertion())
    assert r.status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "okta.groups.manage okta.users.read"
    assert r.headers["Cache-Control"] == "no-store"
    for h in ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "Date", "X-Okta-Request-Id"):
        assert r.headers[h]


def test_token_es256_success_and_localhost_aud(fake):
    r, body = fake.token_request(fake.assertion("0oaEC", EC_KEY, "ES256", "e1"), "okta.groups.read")
    assert r.status == 200, body
    # via Host: localhost:PORT the aud must be the localhost URL
    c = fake.conn(host="localhost")
    a = fake.assertion("0oaEC", EC_KEY, "ES256", "e1", aud="https://localhost:%d%s" % (fake.port, TOKEN_PATH))
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "okta.users.read",
                                   "client_assertion_type": ASSERTION_TYPE, "client_assertion": a})
    r, data = fake.request("POST", TOKEN_PATH, form, {"Content-Type": "application/x-www-form-urlencoded"}, conn=c)
    assert r.status == 200, data


def test_token_bad_signature(fake):
    a = fake.assertion()
    h, p, s = a.split(".")
    bad = h + "." + p + "." + s[:-4] + ("AAAA" if s[-4:] != "AAAA" else "BBBB")
    r, body = fake.token_request(bad)
    assert r.status == 401
    assert body == {"error": "invalid_client", "error_description": "The client_assertion signature is invalid."}
    # signed with another key
    r, body = fake.token_request(fake.assertion("0oaEC", EC_KEY2, "ES256", "e1"), "okta.users.read")
    assert r.status == 401 and body["error_description"] == "The client_assertion signature is invalid."


def test_token_es256_der_signature_rejected(fake):
    r, body = fake.token_request(fake.assertion("0oaEC", EC_KEY, "ES256", "e1", der=True), "okta.users.read")
    assert r.status == 401 and body["error"] == "invalid_client"


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_token_alg_none_hs_rejected(fake, alg):
    r, body = fake.token_request(fake.assertion(alg=alg))
    assert r.status == 401 and body["error"] == "invalid_client"


def test_token_wrong_aud(fake):
    for aud in ("https://127.0.0.1:%d/oauth2/default/v1/token" % fake.port,
                "https://localhost:%d%s" % (fake.port, TOKEN_PATH),  # Host header is 127.0.0.1
                "https://127.0.0.1:%d%s/" % (fake.port, TOKEN_PATH)):
        r, body = fake.token_request(fake.assertion(aud=aud))
        assert r.status == 401 and body["error"] == "invalid_client", aud


def test_token_expired_and_too_long(fake):
    r, body = fake.token_request(fake.assertion(exp_in=-5))
    assert r.status == 401 and "expired" in body["error_description"]
    r, body = fake.token_request(fake.assertion(exp_in=3600 + 300))
    assert r.status == 401 and "too far" in body["error_description"]
    r, body = fake.token_request(fake.assertion(iat_delta=600))
    assert r.status == 401 and "future" in body["error_description"]
    r, body = fake.token_request(fake.assertion(exp_in=3600))
    assert r.status == 200


def test_token_jti_replay(fake):
    a = fake.assertion()
    r, _ = fake.token_request(a)
    assert r.status == 200
    r, body = fake.token_request(a)
    assert r.status == 401
    assert body["error_description"] == "The client_assertion token has already been used."
    # consumed even when the first use failed on scope
    a = fake.assertion()
    r, body = fake.token_request(a, "okta.users.manage")
    assert r.status == 400 and body["error"] == "invalid_scope"
    r, body = fake.token_request(a)
    assert r.status == 401 and "already been used" in body["error_description"]
    # jti is required
    a = sign_jwt(RSA_KEY, "RS256", {"kid": "r1"}, {"iss": "0oaRSA", "sub": "0oaRSA", "aud": fake.token_url,
                                                    "exp": int(time.time()) + 60})
    r, body = fake.token_request(a)
    assert r.status == 401


def test_token_kid_rules(fake):
    kw = dict(client_id="0oaTWO", key=EC_KEY2, alg="ES256")
    r, body = fake.token_request(fake.assertion(kid=None, **kw), "okta.groups.read")
    assert r.status == 401 and body["error_description"] == "The client_assertion JWT kid is invalid."
    r, body = fake.token_request(fake.assertion(kid="zzz", **kw), "okta.groups.read")
    assert r.status == 401 and body["error_description"] == "The client_assertion JWT kid is invalid."
    r, body = fake.token_request(fake.assertion(kid="b", **kw), "okta.groups.read")
    assert r.status == 200, body
    # one key: kid optional, but must match when given
    r, body = fake.token_request(fake.assertion(kid=None))
    assert r.status == 200
    r, body = fake.token_request(fake.assertion(kid="nope"))
    assert r.status == 401


def test_client_keys_rotation_control(fake):
    """Issue 21: the app's keys change at run time as an admin rotates,
    and accepted assertions are counted by kid."""
    new = ec.generate_private_key(ec.SECP256R1())
    r, body = fake.token_request(fake.assertion(key=new, alg="ES256", kid="r2"))
    assert r.status == 401  # not on the app yet
    out = fake.ctl("POST", "client_keys", {"op": "add", "client_id": "0oaRSA", "kid": "r2",
                                           "jwk": dict(public_jwk(new), kid="r2", alg="ES256", use="sig")})
    assert out["kids"] == ["r1", "r2"]
    # two keys: each signs under its own kid, none without one
    assert fake.token(key=new, alg="ES256", kid="r2")
    assert fake.token(kid="r1")
    r, body = fake.token_request(fake.assertion(kid=None))
    assert r.status == 401 and body["error_description"] == "The client_assertion JWT kid is invalid."
    kids = fake.ctl("GET", "state")["assertion_kids"]
    assert kids.get("r1", 0) >= 1 and kids.get("r2", 0) >= 1
    assert fake.ctl("POST", "client_keys", {"op": "remove", "client_id": "0oaRSA", "kid": "r1"})["kids"] == ["r2"]
    r, body = fake.token_request(fake.assertion(kid="r1"))
    assert r.status == 401
    # the last key stays; a kid is unique
    r, data = fake.request("POST", "/__control/client_keys", {"op": "remove", "client_id": "0oaRSA", "kid": "r2"})
    assert r.status == 400
    r, data = fake.request("POST", "/__control/client_keys",
                           {"op": "add", "client_id": "0oaRSA", "kid": "r2", "public_key_pem": pub_pem(RSA_KEY)})
    assert r.status == 400
    # private members are refused, as at Okta
    jwk = dict(public_jwk(new), kid="r3", d="AAAA")
    r, data = fake.request("POST", "/__control/client_keys", {"op": "add", "client_id": "0oaRSA", "kid": "r3",
                                                              "jwk": jwk})
    assert r.status == 400


def test_token_scope_and_form_errors(fake):
    r, body = fake.token_request(fake.assertion(), "okta.users.read okta.users.manage")
    assert r.status == 400 and body["error"] == "invalid_scope"
    assert "okta.users.manage" in body["error_description"]
    r, body = fake.token_request(fake.assertion(), "")
    assert r.status == 400 and body == {"error": "invalid_scope", "error_description": "No scopes were requested."}
    r, body = fake.token_request(None, form={"grant_type": "password", "scope": "okta.users.read"})
    assert r.status == 400 and body["error"] == "unsupported_grant_type"
    r, body = fake.token_request(None, form={"grant_type": "client_credentials", "scope": "okta.users.read"})
    assert r.status == 401 and body == {"error": "invalid_client", "error_description": "No client credentials found"}
    r, body = fake.token_request(fake.assertion(client_id="0oaUNKNOWN"))
    assert r.status == 401
    r, data = fake.request("POST", TOKEN_PATH, b"{}", {"Content-Type": "application/json"})
    assert r.status == 400


# ---------------------------------------------------------------- API basics

def test_api_auth_scope_role(fake):
    tok = fake.token()
    r, data = fake.api("GET", "/api/v1/users/00u1", tok)
    assert r.status == 200
    u = json.loads(data)
    assert u["id"] == "00u1" and u["profile"]["login"] == "alice@example.com" and u["status"] == "ACTIVE"
    r, data = fake.api("GET", "/api/v1/users/00u1", "bogus")
    assert r.status == 401 and json.loads(data)["errorCode"] == "E0000011"
    # read-only token cannot PUT
    ro = fake.token("okta.groups.read okta.users.read", client_id="0oaEC", key=EC_KEY, alg="ES256", kid="e1")
    r, data = fake.api("PUT", "/api/v1/groups/00g2/users/00u2", ro)
    assert r.status == 403 and data == b""
    www = r.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in www and 'resource="/api/v1/groups/00g2/users/00u2"' in www
    # groups.read-only scope token cannot read users
    r, data = fake.api("GET", "/api/v1/users/00u1", fake.token("okta.groups.read", client_id="0oaTWO",
                                                                key=EC_KEY, alg="ES256", kid="a"))
    assert r.status == 403 and data == b""
    # no admin role
    tok = fake.token(client_id="0oaNOROLE", kid=None)
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 403 and json.loads(data)["errorCode"] == "E0000006"
    # revoke
    tok = fake.token()
    fake.ctl("POST", "config", {"revoke_all_tokens": True})
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 401


def test_user_lookup_forms(fake):
    tok = fake.token()
    for ident in ("00u1", "alice@example.com", "alice%40example.com", "alice", "ALICE@example.com"):
        r, data = fake.api("GET", "/api/v1/users/" + ident, tok)
        assert r.status == 200 and json.loads(data)["id"] == "00u1", ident
    r, data = fake.api("GET", "/api/v1/users/nobody", tok)
    body = json.loads(data)
    assert r.status == 404 and body["errorCode"] == "E0000007"
    assert body["errorSummary"] == "Not found: Resource not found: nobody (User)"


def test_users_search_escaped_quote(fake):
    tok = fake.token()
    login = 'we"ird\\name@example.com'
    expr = 'profile.login eq %s' % json.dumps(login)
    r, data = fake.api("GET", "/api/v1/users?search=" + urllib.parse.quote(expr, safe=""), tok)
    assert r.status == 200, data
    assert [u["id"] for u in json.loads(data)] == ["00u6"]
    # case-insensitive values, and/or
    expr = 'profile.login eq "BOB@example.com" or id eq "00u1"'
    r, data = fake.api("GET", "/api/v1/users?limit=10&search=" + urllib.parse.quote(expr), tok)
    assert sorted(u["id"] for u in json.loads(data)) == ["00u1", "00u2"]
    # search includes DEPROVISIONED users
    r, data = fake.api("GET", "/api/v1/users?search=" + urllib.parse.quote('status eq "DEPROVISIONED"'), tok)
    assert [u["id"] for u in json.loads(data)] == ["00u5"]
    for bad in ('profile.login eq bob', 'profile.login eq "x', 'Profile.login eq "x"', 'profile.login ne "x"', ''):
        r, data = fake.api("GET", "/api/v1/users?search=" + urllib.parse.quote(bad), tok)
        assert r.status == 400 and json.loads(data)["errorCode"] == "E0000031", bad


def test_groups_list_search_q(fake):
    tok = fake.token()
    r, data = fake.api("GET", "/api/v1/groups?q=PROD", tok)
    assert r.status == 200 and sorted(g["id"] for g in json.loads(data)) == ["00g1", "00g2"]
    assert "next" not in links(r)
    expr = urllib.parse.quote('type eq "APP_GROUP"')
    r, data = fake.api("GET", "/api/v1/groups?search=" + expr, tok)
    assert [g["id"] for g in json.loads(data)] == ["00g3"]
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
    g = json.loads(data)
    assert g["profile"]["name"] == "prod-db-ssh" and g["type"] == "OKTA_GROUP"
    r, data = fake.api("GET", "/api/v1/groups/00gX", tok)
    assert r.status == 404 and json.loads(data)["errorCode"] == "E0000007"


def test_owners_and_user_groups(fake):
    tok = fake.token()
    r, data = fake.api("GET", "/api/v1/groups/00g1/owners?limit=10", tok)
    owners = json.loads(data)
    assert r.status == 200 and [(o["id"], o["type"]) for o in owners] == [("00g9", "GROUP"), ("00u2", "USER")]
    assert owners[0]["displayName"] == "db-owners" and owners[1]["displayName"] == "Bob B"
    r, data = fake.api("GET", "/api/v1/users/00u1/groups?limit=10", tok)
    assert sorted(g["id"] for g in json.loads(data)) == ["00g1", "00g2"]


def test_paging_three_pages(fake):
    tok = fake.token()
    seen, url, pages, styles = [], "/api/v1/groups/00g1/users", 0, set()
    conn = fake.conn()
    while url:
        r, data = fake.api("GET", url, tok, conn=conn)
        assert r.status == 200, data
        pages += 1
        seen += [u["id"] for u in json.loads(data)]
        lk = links(r)
        assert "self" in lk
        styles.add(len(r.headers.get_all("Link")))
        nxt = lk.get("next")
        if nxt:
            assert nxt.startswith("https://127.0.0.1:%d/api/v1/groups/00g1/users?" % fake.port)
            url = nxt[len("https://127.0.0.1:%d" % fake.port):]
        else:
            url = None
    conn.close()
    assert pages == 3 and seen == ["00u1", "00u2", "00u3", "00u4", "00u5"]
    assert styles == {1, 2}  # both the combined and the separate-header form were used
    # a smaller client limit is honoured
    r, data = fake.api("GET", "/api/v1/groups/00g1/users?limit=1", tok)
    assert len(json.loads(data)) == 1 and "limit=1" in links(r)["next"]
    # invalid cursor / limit
    r, data = fake.api("GET", "/api/v1/groups/00g1/users?after=garbage", tok)
    assert r.status == 400
    r, data = fake.api("GET", "/api/v1/groups/00g1/users?limit=abc", tok)
    assert r.status == 400


# ---------------------------------------------------------------- memberships

def test_membership_put_delete(fake):
    tok = fake.token()
    r, data = fake.api("PUT", "/api/v1/groups/00g2/users/00u2", tok)
    assert r.status == 204 and data == b""
    r, _ = fake.api("PUT", "/api/v1/groups/00g2/users/00u2", tok)
    assert r.status == 204
    assert ["00g2", "00u2"] in fake.ctl("GET", "state")["memberships"]
    r, _ = fake.api("DELETE", "/api/v1/groups/00g2/users/00u2", tok)
    assert r.status == 204
    r, _ = fake.api("DELETE", "/api/v1/groups/00g2/users/00u2", tok)
    assert r.status == 204
    assert ["00g2", "00u2"] not in fake.ctl("GET", "state")["memberships"]
    r, data = fake.api("PUT", "/api/v1/groups/00g2/users/00uNOPE", tok)
    assert r.status == 404 and json.loads(data)["errorCode"] == "E0000007"
    r, data = fake.api("PUT", "/api/v1/groups/00gNOPE/users/00u1", tok)
    assert r.status == 404


@pytest.mark.parametrize("gid", ["00g3", "00g4"])
def test_membership_app_group_forbidden(fake, gid):
    tok = fake.token()
    r, data = fake.api("PUT", "/api/v1/groups/%s/users/00u1" % gid, tok)
    assert r.status == 403 and json.loads(data)["errorCode"] == "E0000006"


def test_put_without_content_length_411(fake):
    tok = fake.token()
    c = fake.conn()
    c.putrequest("PUT", "/api/v1/groups/00g2/users/00u2")
    c.putheader("Authorization", "Bearer " + tok)
    c.endheaders()
    r = c.getresponse()
    r.read()
    assert r.status == 411
    c.close()


# ---------------------------------------------------------------- DPoP

def test_dpop_flow(fake):
    a = lambda: fake.assertion("0oaDPOP", EC_KEY2, "ES256", "d1")  # noqa: E731
    r, body = fake.token_request(a())
    assert r.status == 400 and body == {"error": "invalid_dpop_proof",
                                        "error_description": "The DPoP proof JWT header is missing."}
    r, body = fake.token_request(a(), dpop=dpop_proof(DPOP_KEY, "POST", fake.token_url))
    assert r.status == 400 and body["error"] == "use_dpop_nonce"
    nonce = r.headers["DPoP-Nonce"]
    assert nonce == fake.ctl("GET", "state")["dpop_nonce"]
    r, body = fake.token_request(a(), dpop=dpop_proof(DPOP_KEY, "POST", fake.token_url, nonce="stale"))
    assert r.status == 400 and body["error"] == "use_dpop_nonce"
    # proof signed with the client-assertion key is refused
    r, body = fake.token_request(a(), dpop=dpop_proof(EC_KEY2, "POST", fake.token_url, nonce=nonce))
    assert r.status == 400 and body["error"] == "invalid_dpop_proof"
    # private jwk member
    jwk = dict(public_jwk(DPOP_KEY), d="AAAA")
    r, body = fake.token_request(a(), dpop=dpop_proof(DPOP_KEY, "POST", fake.token_url, nonce=nonce, jwk=jwk))
    assert r.status == 400 and body["error"] == "invalid_dpop_proof"
    # wrong typ
    r, body = fake.token_request(a(), dpop=dpop_proof(DPOP_KEY, "POST", fake.token_url, nonce=nonce, typ="JWT"))
    assert r.status == 400 and body["error"] == "invalid_dpop_proof"
    proof = dpop_proof(DPOP_KEY, "POST", fake.token_url, nonce=nonce)
    r, body = fake.token_request(a(), dpop=proof)
    assert r.status == 200, body
    assert body["token_type"] == "DPoP"
    tok = body["access_token"]
    # proof replay at the token endpoint
    r, body = fake.token_request(a(), dpop=proof)
    assert r.status == 400 and body["error"] == "invalid_dpop_proof"

    path = "/api/v1/users/a%40b.com"
    htu = "https://%s/api/v1/users/a@b.com" % fake.host  # percent-decoded path
    good = {"Authorization": "DPoP " + tok, "DPoP": dpop_proof(DPOP_KEY, "GET", htu, ath=ath_of(tok))}
    r, data = fake.request("GET", path, headers=good)
    assert r.status == 200, r.headers
    assert json.loads(data)["id"] == "00u7"
    req = [x for x in fake.ctl("GET", "requests") if x["path"] == path][-1]
    assert req["dpop"] is True and req["auth_scheme"] == "DPoP"
    # bad ath
    h = {"Authorization": "DPoP " + tok, "DPoP": dpop_proof(DPOP_KEY, "GET", htu, ath=ath_of("other"))}
    r, data = fake.request("GET", path, headers=h)
    assert r.status == 400 and data == b""
    assert 'error="invalid_dpop_proof"' in r.headers["WWW-Authenticate"] and "'ath'" in r.headers["WWW-Authenticate"]
    # bad htu: percent-encoded form
    h = {"Authorization": "DPoP " + tok,
         "DPoP": dpop_proof(DPOP_KEY, "GET", "https://%s%s" % (fake.host, path), ath=ath_of(tok))}
    r, data = fake.request("GET", path, headers=h)
    assert r.status == 400 and "'htu'" in r.headers["WWW-Authenticate"]
    # htu with query string
    h = {"Authorization": "DPoP " + tok, "DPoP": dpop_proof(DPOP_KEY, "GET", htu + "?x=1", ath=ath_of(tok))}
    r, _ = fake.request("GET", path + "?x=1", headers=h)
    assert r.status == 400
    # replayed API proof
    r, _ = fake.request("GET", path, headers=good)
    assert r.status == 400 and "'jti'" in r.headers["WWW-Authenticate"]
    # DPoP token as Bearer -> 401
    r, data = fake.api("GET", path, tok)
    assert r.status == 401
    # Bearer token under DPoP scheme -> 401
    btok = fake.token()
    h = {"Authorization": "DPoP " + btok, "DPoP": dpop_proof(DPOP_KEY, "GET", htu, ath=ath_of(btok))}
    r, _ = fake.request("GET", path, headers=h)
    assert r.status == 401
    # different key than the bound one
    h = {"Authorization": "DPoP " + tok, "DPoP": dpop_proof(EC_KEY, "GET", htu, ath=ath_of(tok))}
    r, _ = fake.request("GET", path, headers=h)
    assert r.status == 400
    # API nonce requirement
    fake.ctl("POST", "config", {"dpop_api_nonce_required": True})
    h = {"Authorization": "DPoP " + tok, "DPoP": dpop_proof(DPOP_KEY, "GET", htu, ath=ath_of(tok))}
    r, _ = fake.request("GET", path, headers=h)
    assert r.status == 400 and 'error="use_dpop_nonce"' in r.headers["WWW-Authenticate"]
    n2 = r.headers["DPoP-Nonce"]
    h = {"Authorization": "DPoP " + tok, "DPoP": dpop_proof(DPOP_KEY, "GET", htu, ath=ath_of(tok), nonce=n2)}
    r, _ = fake.request("GET", path, headers=h)
    assert r.status == 200
    # nonce rotation makes the old one stale
    fake.ctl("POST", "config", {"rotate_dpop_nonce": True})
    r, body = fake.token_request(a(), dpop=dpop_proof(DPOP_KEY, "POST", fake.token_url, nonce=nonce))
    assert r.status == 400 and body["error"] == "use_dpop_nonce" and r.headers["DPoP-Nonce"] != nonce


# ---------------------------------------------------------------- rate limits

def test_rate_limit_429(fake):
    fake.ctl("POST", "config", {"rate_limit": {"limit": 3, "window_seconds": 60,
                                               "per_bucket": {"token": {"limit": 100}}}})
    tok = fake.token()
    remaining = []
    for _ in range(3):
        r, _ = fake.api("GET", "/api/v1/groups/00g1", tok)
        assert r.status == 200
        remaining.append(int(r.headers["X-Rate-Limit-Remaining"]))
    assert remaining == [2, 1, 0]
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok, headers={"X-Okta-Retry-For": "abc",
                                                                    "X-Okta-Retry-Count": "1"})
    assert r.status == 429
    body = json.loads(data)
    assert body["errorCode"] == "E0000047"
    assert r.headers["X-Rate-Limit-Limit"] == "3" and r.headers["X-Rate-Limit-Remaining"] == "0"
    assert int(r.headers["X-Rate-Limit-Reset"]) > time.time()
    # separate bucket for users
    r, _ = fake.api("GET", "/api/v1/users/00u1", tok)
    assert r.status == 200
    reqs = fake.ctl("GET", "requests")
    assert reqs[-2]["retry_for"] == "abc" and reqs[-2]["retry_count"] == "1" and reqs[-2]["status"] == 429


def test_concurrency_limit(fake):
    tok = fake.token()
    fake.ctl("POST", "config", {"concurrency_limit": 1})
    fake.ctl("POST", "faults", {"faults": [{"path": "^/api/v1/groups/00g1$", "action": "delay", "seconds": 1.0}]})
    t = threading.Thread(target=fake.api, args=("GET", "/api/v1/groups/00g1", tok))
    t.start()
    time.sleep(0.4)
    r, data = fake.api("GET", "/api/v1/groups/00g2", tok)
    t.join()
    assert r.status == 429 and r.headers["X-Rate-Limit-Limit"] == "0" and r.headers["X-Rate-Limit-Remaining"] == "0"


# ---------------------------------------------------------------- faults

def add_fault(fake, **rule):
    fake.ctl("POST", "faults", {"faults": [rule]})


def test_fault_status(fake):
    tok = fake.token()
    add_fault(fake, method="GET", path="/api/v1/groups/00g1$", action="status", status=503, count=2)
    for _ in range(2):
        r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
        assert r.status == 503 and json.loads(data)["errorCode"]
    r, _ = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 200
    add_fault(fake, action="status", status=429, headers={"X-Rate-Limit-Reset": None})
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 429 and "X-Rate-Limit-Reset" not in r.headers and json.loads(data)["errorCode"] == "E0000047"
    add_fault(fake, action="status", status=500, body="oops", headers={"Content-Type": "text/plain"})
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 500 and data == b"oops" and r.headers["Content-Type"] == "text/plain"


def test_fault_delay(fake):
    tok = fake.token()
    add_fault(fake, action="delay", seconds=0.5)
    t = time.time()
    r, _ = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 200 and time.time() - t >= 0.5


def test_fault_hang(fake):
    tok = fake.token()
    add_fault(fake, action="hang", seconds=30)
    with pytest.raises((socket.timeout, TimeoutError)):
        fake.api("GET", "/api/v1/groups/00g1", tok, timeout=0.7)
    r, _ = fake.api("GET", "/api/v1/groups/00g1", tok)  # other connections unaffected
    assert r.status == 200


def test_fault_reset(fake):
    tok = fake.token()
    add_fault(fake, action="reset")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected, ssl.SSLError, OSError)):
        fake.api("GET", "/api/v1/groups/00g1", tok)


def test_fault_malformed_and_wrong_type(fake):
    tok = fake.token()
    add_fault(fake, action="malformed")
    r, data = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(data)
    add_fault(fake, action="wrong_type", path="/users")
    r, data = fake.api("GET", "/api/v1/groups/00g1/users", tok)
    body = json.loads(data)
    assert isinstance(body, list) and isinstance(body[0]["id"], int) and "status" not in body[0]
    add_fault(fake, action="wrong_type", path="/oauth2/")
    r, body = fake.token_request(fake.assertion())
    assert r.status == 200 and not isinstance(body["access_token"], str)


def test_fault_truncated(fake):
    tok = fake.token()
    add_fault(fake, action="truncated")
    with pytest.raises((http.client.IncompleteRead, ConnectionError, ssl.SSLError)):
        fake.api("GET", "/api/v1/groups/00g1/users", tok)


def test_fault_oversized(fake):
    tok = fake.token()
    add_fault(fake, action="oversized", bytes=2_000_000)
    r, data = fake.api("GET", "/api/v1/groups/00g1/users", tok)
    assert r.status == 200 and int(r.headers["Content-Length"]) == len(data)
    assert 1_900_000 < len(data) <= 2_000_000
    assert isinstance(json.loads(data), list)
    # client gives up early: server must survive
    add_fault(fake, action="oversized")
    c = fake.conn()
    c.request("GET", "/api/v1/groups/00g1/users", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    assert int(r.headers["Content-Length"]) > 19_000_000
    r.read(1000)
    c.close()
    r, _ = fake.api("GET", "/api/v1/groups/00g1", tok)
    assert r.status == 200


# ---------------------------------------------------------------- misc / control

def test_connection_reuse_counters(fake):
    s0 = fake.ctl("GET", "state")
    tok = fake.token()
    c = fake.conn()
    for _ in range(5):
        r, _ = fake.api("GET", "/api/v1/groups/00g1", tok, conn=c)
        assert r.status == 200
    c.close()
    s1 = fake.ctl("GET", "state")
    # token request + 5 reused + one state call
    assert s1["connections"] - s0["connections"] == 3
    assert s1["tls_handshakes"] - s0["tls_handshakes"] == 3


def test_control_membership_users_clock(fake):
    fake.ctl("POST", "membership", {"op": "add", "group": "00g2", "user": "00u3"})
    fake.ctl("POST", "users", {"op": "update", "id": "00u3", "status": "SUSPENDED"})
    tok = fake.token()
    r, data = fake.api("GET", "/api/v1/groups/00g2/users?limit=10", tok)
    assert {u["id"]: u["status"] for u in json.loads(data)} == {"00u1": "ACTIVE", "00u3": "SUSPENDED"}
    fake.ctl("POST", "users", {"op": "add", "id": "00u9", "login": "zed@example.com"})
    r, data = fake.api("GET", "/api/v1/users/zed", tok)
    assert r.status == 200
    fake.ctl("POST", "config", {"clock_offset": 7200})
    r, _ = fake.api("GET", "/api/v1/users/zed", tok)
    assert r.status == 401  # token expired in the server's shifted clock
    assert email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp() > time.time() + 7000
    r, body = fake.token_request(fake.assertion())  # our exp is in the server's past
    assert r.status == 401


def test_unknown_path_and_method(fake):
    tok = fake.token()
    r, data = fake.api("GET", "/api/v1/nothing", tok)
    assert r.status == 404 and json.loads(data)["errorCode"] == "E0000008"
    r, data = fake.api("POST", "/api/v1/groups/00g1", tok)
    assert r.status == 405 and json.loads(data)["errorCode"] == "E0000022"
    r, data = fake.request("GET", TOKEN_PATH)
    assert r.status == 405


# ---------------------------------------------------------------- TLS modes

@pytest.mark.parametrize("mode", ["untrusted", "wronghost"])
def test_cert_modes(tmp_path, mode):
    proc, port = start_server(str(tmp_path), cert_mode=mode)
    try:
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            c.request("GET", "/__control/state")
        # the other CA never validates anything
        ctx2 = ssl.create_default_context(cafile=str(tmp_path / "other-ca.pem"))
        c = http.client.HTTPSConnection("localhost", port, context=ctx2, timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            c.request("GET", "/__control/state")
    finally:
        stop_server(proc)


def test_good_cert_other_ca_fails(fake):
    ctx2 = ssl.create_default_context(cafile=os.path.join(fake.tmp, "other-ca.pem"))
    c = http.client.HTTPSConnection("127.0.0.1", fake.port, context=ctx2, timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        c.request("GET", "/__control/state")
    r, _ = fake.request("GET", "/__control/state")  # server still fine
    assert r.status == 200


def test_load_many_concurrent(fake):
    tok = fake.token()
    errors, n = [], 200

    def worker():
        try:
            c = fake.conn(timeout=30)
            for _ in range(3):
                r, _ = fake.api("GET", "/api/v1/groups/00g1", tok, conn=c)
                if r.status != 200:
                    errors.append(r.status)
            c.close()
        except Exception as e:  # pragma: no cover
            errors.append(repr(e))
    threads = [threading.Thread(target=worker) for _ in range(n)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert time.time() - t0 < 30


# ---------------------------------------------------------------- OIDC sign-in (issue 19)

def pkce_pair():
    verifier = b64u(os.urandom(32))
    return verifier, b64u(hashlib.sha256(verifier.encode()).digest())


def jwt_parts(tok):
    h, c, sig = tok.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(h))), json.loads(base64.urlsafe_b64decode(pad(c))),
            base64.urlsafe_b64decode(pad(sig)), (h + "." + c).encode())


def rsa_verify_with_jwks(fake, tok):
    """True when tok's RS256 signature verifies against the published key of its kid."""
    r, data = fake.request("GET", "/oauth2/v1/keys")
    assert r.status == 200
    header, _, sig, si = jwt_parts(tok)
    for k in json.loads(data)["keys"]:
        if k["kid"] == header.get("kid"):
            n = int.from_bytes(base64.urlsafe_b64decode(k["n"] + "=" * (-len(k["n"]) % 4)), "big")
            e = int.from_bytes(base64.urlsafe_b64decode(k["e"] + "=" * (-len(k["e"]) % 4)), "big")
            pub = rsa.RSAPublicNumbers(e, n).public_key()
            try:
                pub.verify(sig, si, padding.PKCS1v15(), hashes.SHA256())
                return True
            except Exception:
                return False
    return False


def authorize_query(challenge, state="st-1", nonce="n-1", **over):
    q = {"client_id": WEB_CLIENT, "redirect_uri": WEB_REDIRECT, "response_type": "code",
         "scope": "openid profile email", "state": state, "nonce": nonce,
         "code_challenge": challenge, "code_challenge_method": "S256"}
    q.update(over)
    return {k: v for k, v in q.items() if v is not None}


def sign_in(fake, login="alice@example.com", **over):
    """GET the login form, POST the choice: (status, Location query, body)."""
    verifier, challenge = pkce_pair()
    q = authorize_query(challenge, **over)
    r, page = fake.request("GET", "/oauth2/v1/authorize?" + urllib.parse.urlencode(q))
    if r.status != 200:
        return r.status, urllib.parse.parse_qs(urllib.parse.urlsplit(r.getheader("Location") or "").query), page, None
    form = dict(q, login=login)
    r, page = fake.request("POST", "/oauth2/v1/authorize", urllib.parse.urlencode(form),
                           {"Content-Type": "application/x-www-form-urlencoded"})
    loc = r.getheader("Location") or ""
    return r.status, urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query), page, verifier


def redeem(fake, code, verifier, auth="basic", secret=WEB_SECRET, redirect=WEB_REDIRECT):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier}
    hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth == "basic":
        hdrs["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (WEB_CLIENT, secret)).encode()).decode()
    elif auth == "post":
        form.update(client_id=WEB_CLIENT, client_secret=secret)
    elif auth == "both":
        hdrs["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (WEB_CLIENT, secret)).encode()).decode()
        form.update(client_id=WEB_CLIENT, client_secret=secret)
    r, data = fake.request("POST", TOKEN_PATH, urllib.parse.urlencode(form), hdrs)
    return r.status, json.loads(data)


def test_oidc_discovery_and_keys(fake):
    r, data = fake.request("GET", "/.well-known/openid-configuration")
    assert r.status == 200
    meta = json.loads(data)
    base = "https://" + fake.host
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == base + "/oauth2/v1/authorize"
    assert meta["jwks_uri"] == base + "/oauth2/v1/keys"
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    r, data = fake.request("GET", "/oauth2/v1/keys")
    keys = json.loads(data)["keys"]
    assert r.status == 200 and len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig" and keys[0]["kid"]
    assert "d" not in keys[0]  # the public half only


def test_oidc_code_flow_with_pkce(fake):
    status, q, page, verifier = sign_in(fake, login="Alice@Example.com", state="s-42", nonce="nonce-42")
    assert status == 302, page
    assert q["state"] == ["s-42"] and len(q["code"][0]) >= 32
    st, body = redeem(fake, q["code"][0], verifier)
    assert st == 200, body
    assert body["token_type"] == "Bearer" and body["id_token"]
    header, claims, _, _ = jwt_parts(body["id_token"])
    assert header["alg"] == "RS256"
    assert claims["iss"] == "https://" + fake.host and claims["aud"] == WEB_CLIENT
    assert claims["sub"] == "00u1" and claims["preferred_username"] == "alice@example.com"
    assert claims["nonce"] == "nonce-42" and claims["exp"] - claims["iat"] == 3600
    assert rsa_verify_with_jwks(fake, body["id_token"])
    # a code is good once
    st, body = redeem(fake, q["code"][0], verifier)
    assert st == 400 and body["error"] == "invalid_grant"


def test_oidc_login_form_lists_active_users(fake):
    _, challenge = pkce_pair()
    r, page = fake.request("GET", "/oauth2/v1/authorize?" + urllib.parse.urlencode(authorize_query(challenge)))
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/html")
    text = page.decode()
    assert 'value="alice@example.com"' in text and 'value="bob@example.com"' in text
    assert "erin@example.com" not in text  # DEPROVISIONED
    assert "we&quot;ird" in text  # escaped


def test_oidc_pkce_and_client_auth(fake):
    status, q, _, verifier = sign_in(fake)
    assert status == 302
    # a wrong verifier uses the code up
    st, body = redeem(fake, q["code"][0], pkce_pair()[0])
    assert st == 400 and body["error"] == "invalid_grant"
    st, body = redeem(fake, q["code"][0], verifier)
    assert st == 400 and body["error"] == "invalid_grant"
    # client_secret_post works; a wrong secret, none, or both are refused
    _, q, _, verifier = sign_in(fake)
    assert redeem(fake, q["code"][0], verifier, auth="post")[0] == 200
    _, q, _, verifier = sign_in(fake)
    st, body = redeem(fake, q["code"][0], verifier, secret="wrong-secret-000")
    assert st == 401 and body["error"] == "invalid_client"
    _, q, _, verifier = sign_in(fake)
    assert redeem(fake, q["code"][0], verifier, auth="none")[0] == 401
    _, q, _, verifier = sign_in(fake)
    assert redeem(fake, q["code"][0], verifier, auth="both")[0] == 400
    # another redirect_uri than the code's
    _, q, _, verifier = sign_in(fake)
    assert redeem(fake, q["code"][0], verifier, redirect="https://jit.example.com/other")[1]["error"] == "invalid_grant"


def test_oidc_authorize_refusals(fake):
    # unknown client or redirect: shown, never redirected
    st, q, page, _ = sign_in(fake, client_id="0oaNOPE")
    assert st == 400 and b"invalid_client" in page
    st, q, page, _ = sign_in(fake, redirect_uri="https://evil.example.com/cb")
    assert st == 400 and b"redirect_uri" in page
    # no PKCE, no state, no openid: redirected back with the error
    st, q, _, _ = sign_in(fake, code_challenge=None, code_challenge_method=None)
    assert st == 302 and q["error"] == ["invalid_request"] and q["state"] == ["st-1"]
    st, q, _, _ = sign_in(fake, code_challenge_method="plain")
    assert st == 302 and q["error"] == ["invalid_request"]
    st, q, _, _ = sign_in(fake, state=None)
    assert st == 302 and q["error"] == ["invalid_request"]
    st, q, _, _ = sign_in(fake, scope="profile")
    assert st == 302 and q["error"] == ["invalid_scope"]
    # an inactive or unknown user cannot sign in
    st, q, page, _ = sign_in(fake, login="erin@example.com")
    assert st == 403 and "code" not in q
    st, q, page, _ = sign_in(fake, login="nobody@example.com")
    assert st == 403


def test_oidc_control_mints_tokens(fake):
    good = fake.ctl("POST", "id_token", {"user": "bob@example.com", "nonce": "x"})
    assert rsa_verify_with_jwks(fake, good["id_token"])
    assert good["claims"]["sub"] == "00u2" and good["claims"]["aud"] == WEB_CLIENT
    forged = fake.ctl("POST", "id_token", {"user": "00u2", "key": "forged"})["id_token"]
    assert not rsa_verify_with_jwks(fake, forged)
    other = fake.ctl("POST", "id_token", {"user": "00u2", "aud": "0oaOTHER", "iat": 1000, "exp": 2000,
                                          "claims": {"nonce": None, "extra": "y"}})
    assert other["claims"]["aud"] == "0oaOTHER" and other["claims"]["exp"] == 2000
    assert "nonce" not in other["claims"] and other["claims"]["extra"] == "y"
    none = fake.ctl("POST", "id_token", {"user": "00u2", "alg": "none"})["id_token"]
    assert none.endswith(".") and jwt_parts(none)[0]["alg"] == "none"
    hs = fake.ctl("POST", "id_token", {"user": "00u2", "alg": "HS256"})["id_token"]
    assert jwt_parts(hs)[0]["alg"] == "HS256" and len(jwt_parts(hs)[2]) == 32
    r, _ = fake.request("POST", "/__control/id_token", {"user": "nobody"})
    assert r.status == 404


def test_oidc_key_rotation(fake):
    old = fake.ctl("POST", "id_token", {"user": "00u1"})["id_token"]
    kid = fake.ctl("POST", "oidc_keys", {"op": "rotate"})["kid"]
    new = fake.ctl("POST", "id_token", {"user": "00u1"})["id_token"]
    assert jwt_parts(new)[0]["kid"] == kid != jwt_parts(old)[0]["kid"]
    assert rsa_verify_with_jwks(fake, old) and rsa_verify_with_jwks(fake, new)
    fake.ctl("POST", "oidc_keys", {"op": "rotate", "retire_old": True})
    assert not rsa_verify_with_jwks(fake, old) and not rsa_verify_with_jwks(fake, new)
