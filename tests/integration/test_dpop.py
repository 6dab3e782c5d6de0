"""DPoP (RFC 9449) end to end: `[okta] dpop = auto | on | off`, proofs on the
token endpoint (with the nonce handshake) and on every API call, nonce
rotation, the resource server's nonce, the DPoP key being separate from the
client-assertion key, doctor's report and the daemon's grant lifecycle with
DPoP-bound tokens.

The fake Okta (tests/okta_server/fake_okta.py) verifies every proof for real
(typ, alg, jwk, signature, jti, htm, htu, iat, ath, jkt binding, nonce); the
tests here check what reached it. A few malformed proofs the fake's
self-test does not cover are sent directly from python at the end."""
import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import ssl
import threading
import time
import urllib.parse
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                              encode_dss_signature)

from conftest import CLIENT_ID, default_seed, gen_key, make_config
from daemon_fixtures import (ALICE, BOB, EXIT_OK, G_WEB, jit_factory, ledger_backend, local_users,  # noqa: F401
                             cli_copy, wait_for)
from helpers import api_requests, by_method, cli, driver, token_requests

HINT = "Require Demonstrating Proof of Possession"
STEP_RE = re.compile(r"^(PASS|FAIL|SKIP|WARN)  (\S+)\s+(.*)$")


# ---------------------------------------------------------------- helpers

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jws_parts(jwt):
    h, p, s = jwt.split(".")
    return json.loads(b64u_dec(h)), json.loads(b64u_dec(p)), (h + "." + p).encode(), b64u_dec(s)


def ec_jwk(key):
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}


def thumbprint(jwk):
    """RFC 7638 for an EC JWK, computed here."""
    canon = '{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' % (jwk["crv"], jwk["x"], jwk["y"])
    return b64u(hashlib.sha256(canon.encode()).digest())


def ath_of(token):
    return b64u(hashlib.sha256(token.encode()).digest())


def sign_es256(key, header, claims):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    der = key.sign((h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return h + "." + p + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def sign_rs256(key, header, claims):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    sig = key.sign((h + "." + p).encode(), padding.PKCS1v15(), hashes.SHA256())
    return h + "." + p + "." + b64u(sig)


def verify_es256_jwk(jwt):
    """Verify a proof's signature with the public key in its own jwk header."""
    header, _, signing_input, sig = jws_parts(jwt)
    jwk = header["jwk"]
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(jwk["x"]), "big"),
                                        int.from_bytes(b64u_dec(jwk["y"]), "big"),
                                        ec.SECP256R1()).public_key()
    assert len(sig) == 64
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    pub.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))  # raises if bad


def dpop_seed(key, required=True, lifetime=3600):
    seed = default_seed([("k1", key)])
    seed["clients"][0]["dpop_required"] = required
    seed["token_lifetime"] = lifetime
    return seed


def tok_statuses(reqs):
    return [(r["status"], r["dpop"]) for r in token_requests(reqs)]


def assert_all_api_dpop(reqs, min_calls=1):
    api = api_requests(reqs)
    assert len(api) >= min_calls, reqs
    for r in api:
        assert r["auth_scheme"] == "DPoP" and r["dpop"] is True, r
    return api


def assert_no_dpop_anywhere(reqs):
    for r in reqs:
        assert r["dpop"] is False, r
    for r in api_requests(reqs):
        assert r["auth_scheme"] == "Bearer", r


def doctor_steps(out, name):
    found = []
    for line in out.splitlines():
        m = STEP_RE.match(line)
        if m and m.group(2) == name:
            found.append((m.group(1), m.group(3)))
    return found


# ---------------------------------------------------------------- dpop = auto / on / off

def test_auto_switches_when_app_requires_dpop(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = auto")
    r = driver(cfg, "token")
    assert r.rc == 0 and r.kind is None, r
    assert "type=DPoP" in r.out, r
    # no proof -> 400 invalid_dpop_proof; proof without nonce -> 400
    # use_dpop_nonce; proof with the nonce -> 200
    assert tok_statuses(okta.requests()) == [(400, False), (400, True), (200, True)]
    assert r.stats["token_requests"] == 3, r
    assert okta.state()["tokens_issued"] == 1

    okta.clear_requests()
    # paged list (page_size 2, 3 members: the next link carries a query the
    # htu must drop)
    okta.control("membership", {"op": "add", "group": "00gops00000000005", "user": "00uowner0000000004"})
    r = driver(cfg, "members", "ops-oncall")
    assert r.rc == 0, r
    for login in ("alice@example.com", "bob@example.com", "olivia@example.com"):
        assert login in r.out, r
    reqs = okta.requests()
    assert tok_statuses(reqs) == [(400, False), (400, True), (200, True)]
    api = assert_all_api_dpop(reqs, 2)
    assert all(q["status"] == 200 for q in api), api
    assert any("after=" in q["path"] for q in api), api  # a next page was followed

    # a login that is percent-encoded in the path (htu is percent-decoded)
    okta.clear_requests()
    r = driver(cfg, "user", 'o"brien@example.com')
    assert r.rc == 0, r
    api = assert_all_api_dpop(okta.requests())
    assert all(q["status"] == 200 for q in api), api
    assert any("%" in q["path"] for q in api), api


def test_on_never_sends_a_request_without_proof(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = on")
    r = driver(cfg, "user", "alice@example.com")
    assert r.rc == 0, r
    reqs = okta.requests()
    assert tok_statuses(reqs) == [(400, True), (200, True)]  # only the nonce handshake
    assert all(q["dpop"] for q in reqs), reqs
    assert_all_api_dpop(reqs)


def test_on_with_app_not_requiring_dpop_still_binds(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key, required=False))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = on")
    r = driver(cfg, "token")
    assert r.rc == 0 and "type=DPoP" in r.out, r
    assert all(q["dpop"] for q in okta.requests())


def test_off_reports_the_setting_to_change(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = off")
    r = driver(cfg, "user", "alice@example.com")
    assert r.rc == 1 and r.kind == "dpop", r
    assert "invalid_dpop_proof" in r.message, r
    assert HINT in r.out, r
    reqs = okta.requests()
    assert tok_statuses(reqs) == [(400, False)]  # a setup problem: no retry
    assert api_requests(reqs) == []
    assert okta.state()["tokens_issued"] == 0


def test_auto_with_app_not_requiring_dpop_uses_bearer(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key, required=False))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = auto")
    r = driver(cfg, "user", "alice@example.com")
    assert r.rc == 0, r
    reqs = okta.requests()
    assert tok_statuses(reqs) == [(200, False)]
    assert_no_dpop_anywhere(reqs)
    assert len(api_requests(reqs)) >= 1


def test_default_is_auto(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    cfg = make_config(tmp_path, okta, rsa_key)  # no dpop line
    r = driver(cfg, "token")
    assert r.rc == 0 and "type=DPoP" in r.out, r
    assert tok_statuses(okta.requests()) == [(400, False), (400, True), (200, True)]


# ---------------------------------------------------------------- nonces

def test_resource_server_nonce(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    okta.configure(dpop_api_nonce_required=True)
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = auto")
    r = driver(cfg, "members", "ops-oncall")
    assert r.rc == 0, r
    assert "alice@example.com" in r.out, r
    api = assert_all_api_dpop(okta.requests(), 3)
    # the first call is answered use_dpop_nonce and retried with the nonce;
    # the nonce is remembered for the calls after it
    assert [q["status"] for q in api][:2] == [400, 200], api
    assert [q["status"] for q in api].count(400) == 1, api
    assert api[0]["path"] == api[1]["path"]


def test_api_invalid_dpop_proof_is_reported(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    okta.faults({"method": "GET", "path": "^/api/v1/users/", "count": -1, "action": "status", "status": 400,
                 "body": "", "headers": {"WWW-Authenticate": 'DPoP algs="ES256", error="invalid_dpop_proof", '
                                                             'error_description="\'htu\' claim is invalid."'}})
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = auto")
    r = driver(cfg, "user", "alice@example.com")
    assert r.rc == 1 and r.kind == "dpop", r
    assert "htu" in r.message, r
    api = api_requests(okta.requests())
    assert len(api) == 1 and api[0]["status"] == 400 and api[0]["dpop"], api  # not retried


def test_api_use_dpop_nonce_loop_is_bounded(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    okta.faults({"method": "GET", "path": "^/api/v1/users/", "count": -1, "action": "status", "status": 400,
                 "body": "", "headers": {"WWW-Authenticate": 'DPoP algs="ES256", error="use_dpop_nonce", '
                                                             'error_description="nonce"',
                                         "DPoP-Nonce": "always-new"}})
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = on")
    r = driver(cfg, "user", "alice@example.com")
    assert r.rc == 1 and r.kind == "dpop", r
    api = api_requests(okta.requests())
    assert 2 <= len(api) <= 4 and all(q["dpop"] for q in api), api


def test_token_use_dpop_nonce_loop_is_bounded(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    okta.faults({"method": "POST", "path": "^/oauth2/v1/token", "count": -1, "action": "status", "status": 400,
                 "body": {"error": "use_dpop_nonce", "error_description": "nonce"},
                 "headers": {"DPoP-Nonce": "always-new"}})
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = on")
    r = driver(cfg, "token")
    assert r.rc == 1 and r.kind == "dpop", r
    toks = token_requests(okta.requests())
    assert 2 <= len(toks) <= 4 and all(q["dpop"] for q in toks), toks


def test_refused_proof_hint_does_not_tell_to_enable_dpop(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    okta.configure(dpop_iat_window=-1)  # every proof's iat is out of the window
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = on")
    r = driver(cfg, "token")
    assert r.rc == 1 and r.kind == "dpop", r
    assert "'iat'" in r.message, r
    assert all(q["dpop"] for q in okta.requests())
    assert "set [okta] dpop = auto" not in r.out, r


# ---------------------------------------------------------------- the DPoP key

class _Capture(http.server.BaseHTTPRequestHandler):
    """A stand-in token endpoint / API that records what the client sends."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _reply(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body=b""):
        self.server.seen.append({"method": self.command, "path": self.path,
                                 "dpop": self.headers.get_all("DPoP") or [],
                                 "authorization": self.headers.get("Authorization"),
                                 "body": body.decode()})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._record(body)
        n = len(self.server.seen)
        if n == 1:
            self._reply(400, {"error": "use_dpop_nonce", "error_description": "nonce"},
                        [("DPoP-Nonce", "capture-nonce-1"), ("Cache-Control", "no-store")])
        else:
            self._reply(200, {"token_type": "DPoP", "expires_in": 3600, "access_token": "capture.token-1~x",
                              "scope": "okta.groups.manage okta.users.read"})

    def do_GET(self):
        self._record()
        self._reply(404, {"errorCode": "E0000007", "errorSummary": "Not found: Resource not found: x (User)",
                          "errorLink": "E0000007", "errorId": "oaeX", "errorCauses": []})


def test_dpop_key_is_not_the_client_assertion_key(tmp_path, okta_factory):
    """The fake does not expose the bound token's jkt, so the proofs are
    captured by a stand-in server (using the fake's certificate) and their
    jwk compared with the client's own EC key."""
    client_key = gen_key("ec")
    okta = okta_factory(dpop_seed(client_key))  # only for its CA and certificate
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    srv.seen = []
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(okta.workdir, "server.pem"), os.path.join(okta.workdir, "server-key.pem"))
    srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        class Where:
            url = "https://127.0.0.1:%d" % srv.server_address[1]
            ca = okta.ca
        cfg = make_config(tmp_path, Where, client_key, extra_okta="dpop = on")
        t0 = int(time.time())
        r = driver(cfg, "user", 'o"brien@example.com')
        assert r.rc == 1 and r.kind == "not_found", r
    finally:
        srv.shutdown()
        srv.server_close()
    seen = srv.seen
    assert [s["method"] for s in seen][:3] == ["POST", "POST", "GET"], seen
    token_url = Where.url + "/oauth2/v1/token"
    client_jwk = ec_jwk(client_key)
    proofs = []
    for s in seen[:3]:
        assert len(s["dpop"]) == 1, s
        proofs.append(s["dpop"][0])
        verify_es256_jwk(s["dpop"][0])
    heads = [jws_parts(p)[0] for p in proofs]
    claims = [jws_parts(p)[1] for p in proofs]
    for h in heads:
        assert h["typ"] == "dpop+jwt" and h["alg"] == "ES256"
        assert set(h["jwk"]) == {"kty", "crv", "x", "y"}, h
        # not the client-assertion key
        assert (h["jwk"]["x"], h["jwk"]["y"]) != (client_jwk["x"], client_jwk["y"])
        assert thumbprint(h["jwk"]) != thumbprint(client_jwk)
    # one key for the token request, its retry and the bound token's calls
    assert heads[0]["jwk"] == heads[1]["jwk"] == heads[2]["jwk"]
    # token requests: htm/htu, nonce only once Okta sent one
    for c in claims[:2]:
        assert c["htm"] == "POST" and c["htu"] == token_url and "ath" not in c
        assert abs(c["iat"] - t0) <= 10 and c["jti"]
    assert "nonce" not in claims[0]
    assert claims[1]["nonce"] == "capture-nonce-1"
    # a fresh client assertion on the nonce retry, signed by the client key
    assertions = [urllib.parse.parse_qs(s["body"])["client_assertion"][0] for s in seen[:2]]
    assert assertions[0] != assertions[1]
    assert jws_parts(assertions[0])[1]["jti"] != jws_parts(assertions[1])[1]["jti"]
    # the API call: DPoP scheme, htu percent-decoded without query, ath
    get = seen[2]
    assert get["authorization"] == "DPoP capture.token-1~x"
    c = claims[2]
    assert c["htm"] == "GET" and c["ath"] == ath_of("capture.token-1~x")
    want_htu = Where.url + urllib.parse.unquote(get["path"].split("?")[0])
    assert c["htu"] == want_htu, (c, get["path"])
    assert "?" not in c["htu"] and "%" not in c["htu"]
    assert "nonce" not in c  # the resource server never asked for one
    assert len({x["jti"] for x in claims}) == 3


# ---------------------------------------------------------------- concurrency and doctor

def test_concurrent_calls_share_one_dpop_token(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = auto")
    r = driver(cfg, "concurrent", "16", "bob@example.com")
    assert r.rc == 0 and "ok=16 of 16" in r.out, r
    reqs = okta.requests()
    assert okta.state()["tokens_issued"] == 1
    assert tok_statuses(reqs) == [(400, False), (400, True), (200, True)]
    api = assert_all_api_dpop(reqs, 16)
    assert all(q["status"] == 200 for q in api), api


@pytest.mark.parametrize("mode,required,want", [
    ("auto", True, ("DPoP in use", "invalid_dpop_proof")),
    ("on", True, ("DPoP in use", "dpop = on")),
    ("on", False, ("DPoP in use", "dpop = on")),
    ("auto", False, ("DPoP not in use",)),
])
def test_doctor_reports_dpop(tmp_path, okta_factory, rsa_key, mode, required, want):
    okta = okta_factory(dpop_seed(rsa_key, required=required))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = %s" % mode)
    r = cli(cfg, "doctor")
    assert r.rc == 0, r
    st = doctor_steps(r.out, "dpop")
    assert len(st) == 1 and st[0][0] == "PASS", r
    for w in want:
        assert w in st[0][1], r
    if want[0] == "DPoP in use":
        assert_all_api_dpop(okta.requests())
    else:
        assert_no_dpop_anywhere(okta.requests())


def test_doctor_dpop_off_names_the_okta_setting(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = off")
    r = cli(cfg, "doctor")
    assert r.rc == 1, r
    assert [s for s, _ in doctor_steps(r.out, "token")] == ["FAIL"], r
    assert HINT in r.out, r


# ---------------------------------------------------------------- the daemon

def _dpop_daemon(jit_factory, mode, lifetime=3600):
    env = jit_factory(start=False)
    env.okta.configure(dpop_required=True, token_lifetime=lifetime)
    with open(env.conf) as f:
        text = f.read()
    assert text.startswith("[okta]\n")
    with open(env.conf, "w") as f:
        f.write(text.replace("[okta]\n", "[okta]\ndpop = %s\n" % mode, 1))
    env.daemon.start()
    return env


def test_daemon_nonce_rotation_after_token_expiry(jit_factory):
    env = _dpop_daemon(jit_factory, "auto", lifetime=5)
    okta = env.okta
    okta.configure(dpop_api_nonce_required=True)
    r = env.request("web-sudo", user="ojt-alice", dur="10m")
    assert r.grant.get("state") == "active", r
    assert ALICE in env.members(G_WEB)
    before = tok_statuses(okta.requests())
    assert before[:3] == [(400, False), (400, True), (200, True)], before
    old_nonce = okta.state()["dpop_nonce"]

    t_rot = time.time()
    okta.configure(rotate_dpop_nonce=True)
    new_nonce = okta.state()["dpop_nonce"]
    assert new_nonce != old_nonce
    time.sleep(5.5)  # the token (5 s) has expired at the fake
    r = env.request("web-sudo", user="ojt-bob", dur="10m")
    assert r.grant.get("state") == "active", r
    assert BOB in env.members(G_WEB)

    reqs = okta.requests()
    after = [q for q in token_requests(reqs) if q["t"] >= t_rot]
    # the stale nonce is refused once, the new one is taken and remembered
    assert [(q["status"], q["dpop"]) for q in after[:2]] == [(400, True), (200, True)], after
    assert [q["status"] for q in after].count(400) == 1, after
    assert all(q["dpop"] for q in after), after
    api_after = assert_all_api_dpop([q for q in reqs if q["t"] >= t_rot])
    # the resource server's nonce went stale too: one use_dpop_nonce (two when
    # the user and their groups, asked at once through the check cache, both
    # met it), then the new nonce is used for every later call
    assert [q["status"] for q in api_after].count(400) in (1, 2), api_after
    assert [q["status"] for q in api_after][0] == 400, api_after
    puts = by_method([q for q in api_requests(reqs) if q["t"] >= t_rot], "PUT")
    assert puts and puts[-1]["status"] == 204 and puts[-1]["auth_scheme"] == "DPoP", puts


def test_daemon_grant_lifecycle_with_dpop_on(jit_factory):
    env = _dpop_daemon(jit_factory, "on")
    okta = env.okta
    r = env.request("web-sudo", user="ojt-alice", dur="10m")
    g = r.grant
    assert g.get("state") == "active", r
    assert ALICE in env.members(G_WEB)
    r = env.cli("revoke", g["id"])
    assert r.rc == EXIT_OK and r.grant["state"] == "revoked", r
    assert ALICE not in env.members(G_WEB)
    r = env.request("web-sudo", user="ojt-bob", dur="3s")
    gb = r.grant
    assert gb.get("state") == "active", r
    assert BOB in env.members(G_WEB)
    wait_for(lambda: BOB not in env.members(G_WEB), 20, what="bob removed at the end")
    wait_for(lambda: env.grant(gb["id"])["state"] == "expired", 10, what="grant expired")

    reqs = okta.requests()
    assert all(q["dpop"] for q in reqs), [q for q in reqs if not q["dpop"]]
    assert_all_api_dpop(reqs)
    member_path = "/api/v1/groups/%s/users/" % G_WEB
    changes = [q for q in by_method(api_requests(reqs), "PUT", "DELETE") if q["path"].startswith(member_path)]
    assert [q["method"] for q in changes].count("PUT") >= 2, changes
    assert [q["method"] for q in changes].count("DELETE") >= 2, changes
    for q in changes:
        assert q["auth_scheme"] == "DPoP" and q["dpop"] is True and q["status"] == 204, q
    assert okta.state()["tokens_issued"] == 1


# ---------------------------------------------------------------- malformed proofs (the fake)

class Raw:
    """Direct requests to the fake, for proofs the client would never send."""

    def __init__(self, okta, client_key):
        self.okta = okta
        self.key = client_key
        self.ctx = ssl.create_default_context(cafile=okta.ca)
        self.host = "127.0.0.1:%d" % okta.port
        self.token_url = "https://%s/oauth2/v1/token" % self.host

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.okta.port, context=self.ctx, timeout=10)
        h = dict(headers or {})
        if body is not None or method in ("POST", "PUT"):
            body = body or b""
            h["Content-Length"] = str(len(body))
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def assertion(self):
        now = int(time.time())
        return sign_rs256(self.key, {"alg": "RS256", "kid": "k1", "typ": "JWT"},
                          {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": self.token_url,
                           "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())})

    def token(self, proof):
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "scope": "okta.groups.manage okta.users.read",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion()}).encode()
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        if proof is not None:
            h["DPoP"] = proof
        resp, data = self.request("POST", "/oauth2/v1/token", form, h)
        return resp, json.loads(data) if data else None


def proof(key, htm, htu, nonce=None, ath=None, typ="dpop+jwt", iat=None, jwk=None, drop=(), alg="ES256"):
    claims = {"htm": htm, "htu": htu, "iat": int(time.time()) if iat is None else iat,
              "jti": str(uuid.uuid4())}
    if nonce:
        claims["nonce"] = nonce
    if ath:
        claims["ath"] = ath
    header = {"typ": typ, "alg": alg, "jwk": jwk or ec_jwk(key)}
    for k in drop:
        header.pop(k, None)
        claims.pop(k, None)
    return sign_es256(key, header, claims)


def bad_sig(jwt):
    h, p, s = jwt.split(".")
    sig = bytearray(b64u_dec(s))
    sig[10] ^= 0x01
    return h + "." + p + "." + b64u(bytes(sig))


@pytest.fixture
def raw(okta_factory, rsa_key):
    okta = okta_factory(dpop_seed(rsa_key))
    return Raw(okta, rsa_key)


def test_fake_refuses_malformed_token_proofs(raw):
    """Token-endpoint proof errors not in test_fake_okta_selftest.py:
    wrong htm, wrong htu, bad signature, missing typ, stale iat, another
    key's signature, an alg the key does not fit."""
    dkey = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    r, body = raw.token(proof(dkey, "POST", raw.token_url))
    assert r.status == 400 and body["error"] == "use_dpop_nonce"
    nonce = r.headers["DPoP-Nonce"]
    u = raw.token_url
    cases = {
        "htm": proof(dkey, "GET", u, nonce),
        "htu-path": proof(dkey, "POST", u.replace("/v1/token", "/v1/tokens"), nonce),
        "htu-query": proof(dkey, "POST", u + "?x=1", nonce),
        "htu-host": proof(dkey, "POST", u.replace("127.0.0.1", "localhost"), nonce),
        "signature": bad_sig(proof(dkey, "POST", u, nonce)),
        "typ-missing": proof(dkey, "POST", u, nonce, drop=("typ",)),
        "iat-stale": proof(dkey, "POST", u, nonce, iat=int(time.time()) - 600),
        "iat-missing": proof(dkey, "POST", u, nonce, drop=("iat",)),
        "jti-missing": proof(dkey, "POST", u, nonce, drop=("jti",)),
        "jwk-of-other-key": proof(dkey, "POST", u, nonce, jwk=ec_jwk(other)),
        "jwk-missing": proof(dkey, "POST", u, nonce, drop=("jwk",)),
        "alg-none": proof(dkey, "POST", u, nonce, alg="none"),
        "alg-mismatch": proof(dkey, "POST", u, nonce, alg="ES384"),
    }
    wrong = {}
    for name, p in cases.items():
        r, body = raw.token(p)
        if not (r.status == 400 and body and body.get("error") == "invalid_dpop_proof"):
            wrong[name] = (r.status, body)
    assert wrong == {}
    assert raw.okta.state()["tokens_issued"] == 0
    r, body = raw.token(proof(dkey, "POST", u, nonce))  # the control case
    assert r.status == 200 and body["token_type"] == "DPoP", body


def test_fake_refuses_malformed_api_proofs(raw):
    dkey = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    r, body = raw.token(proof(dkey, "POST", raw.token_url))
    nonce = r.headers["DPoP-Nonce"]
    r, body = raw.token(proof(dkey, "POST", raw.token_url, nonce))
    assert r.status == 200, body
    tok = body["access_token"]
    path = "/api/v1/users/alice%40example.com"
    htu = "https://%s/api/v1/users/alice@example.com" % raw.host
    a = ath_of(tok)
    priv = dict(ec_jwk(dkey), d=b64u(dkey.private_numbers().private_value.to_bytes(32, "big")))
    cases = {
        "htm": proof(dkey, "POST", htu, ath=a),
        "htu-other-path": proof(dkey, "GET", htu.replace("alice", "bob"), ath=a),
        "signature": bad_sig(proof(dkey, "GET", htu, ath=a)),
        "typ-missing": proof(dkey, "GET", htu, ath=a, drop=("typ",)),
        "typ-jwt": proof(dkey, "GET", htu, ath=a, typ="JWT"),
        "ath-missing": proof(dkey, "GET", htu),
        "iat-future": proof(dkey, "GET", htu, ath=a, iat=int(time.time()) + 600),
        "private-jwk": proof(dkey, "GET", htu, ath=a, jwk=priv),
        "unbound-key": proof(other, "GET", htu, ath=a),
    }
    wrong = {}
    for name, p in cases.items():
        resp, data = raw.request("GET", path, headers={"Authorization": "DPoP " + tok, "DPoP": p})
        wa = resp.headers.get("WWW-Authenticate") or ""
        if not (resp.status == 400 and data == b"" and 'error="invalid_dpop_proof"' in wa):
            wrong[name] = (resp.status, wa)
    assert wrong == {}
    resp, _ = raw.request("GET", path, headers={"Authorization": "DPoP " + tok,
                                                "DPoP": proof(dkey, "GET", htu, ath=a)})
    assert resp.status == 200
