#!/usr/bin/python3
"""fake_okta.py - a strict, Okta-compatible HTTPS server for okta-jit tests.

Run with Debian's interpreter (it needs python3-cryptography):

    /usr/bin/python3 tests/okta_server/fake_okta.py --workdir DIR --seed SEED.json \
        [--port 0] [--host 127.0.0.1] [--cert-mode good|untrusted|wronghost]

Everything (CLI, seed format, Okta behaviour, control API, choices made where
Okta's documentation is silent) is documented in README.md next to this file.

Layout of this file:
  1. JOSE helpers (base64url, strict JSON, JWS verification, JWK, thumbprints)
  2. Throw-away PKI (CA + server certificates)
  3. Seed loading / Okta object rendering
  4. Search-expression parser (users / groups / owners `search` and `filter`)
  5. FakeOkta: all server state behind one lock (tokens, rate limits, faults...)
  6. HTTP handler: Okta endpoints, token endpoint, control API, fault actions
  7. Server class and main()
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import html
import ipaddress
import json
import os
import re
import secrets
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import socketserver

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# --------------------------------------------------------------------------
# 1. JOSE helpers
# --------------------------------------------------------------------------

_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    """Strict base64url (RFC 7515 section 2): no padding, no other alphabet."""
    if not isinstance(s, str) or not _B64URL_RE.match(s) or len(s) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _no_duplicate_members(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate JSON member %r" % k)
        out[k] = v
    return out


def strict_json_loads(data):
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    return json.loads(data, object_pairs_hook=_no_duplicate_members)


class JwsError(Exception):
    pass


def parse_compact_jws(token):
    """Return (header, claims, signature, signing_input) or raise JwsError."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise JwsError("not a JWS compact serialization")
    h64, p64, s64 = token.split(".")
    try:
        header = strict_json_loads(b64url_decode(h64))
        claims = strict_json_loads(b64url_decode(p64))
        sig = b64url_decode(s64)
    except (ValueError, UnicodeDecodeError) as e:
        raise JwsError("malformed JWT: %s" % e)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwsError("JWT header and payload must be JSON objects")
    return header, claims, sig, (h64 + "." + p64).encode("ascii")


# alg -> (key type, hash, EC curve name)
ALGS = {
    "RS256": ("RSA", hashes.SHA256, None),
    "RS384": ("RSA", hashes.SHA384, None),
    "RS512": ("RSA", hashes.SHA512, None),
    "ES256": ("EC", hashes.SHA256, "secp256r1"),
    "ES384": ("EC", hashes.SHA384, "secp384r1"),
    "ES512": ("EC", hashes.SHA512, "secp521r1"),
}
EC_COORD_BYTES = {"secp256r1": 32, "secp384r1": 48, "secp521r1": 66}
JWK_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
JWK_CURVE_NAMES = {"P-256": "secp256r1", "P-384": "secp384r1", "P-521": "secp521r1"}
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
DPOP_ALGS_HEADER = 'algs="RS256 RS384 RS512 ES256 ES384 ES512"'


def jws_verify(alg, key, signing_input, sig):
    """Verify a JWS signature. Returns None when valid, else a reason string.

    ECDSA signatures must be the raw R||S form of RFC 7518 section 3.4;
    DER-encoded signatures are rejected (their length never matches)."""
    spec = ALGS.get(alg)
    if spec is None:
        return "unsupported alg"
    kty, hcls, curve = spec
    try:
        if kty == "RSA":
            if not isinstance(key, rsa.RSAPublicKey):
                return "alg %s does not match the key type" % alg
            if len(sig) != (key.key_size + 7) // 8:
                return "RSA signature has the wrong length"
            key.verify(sig, signing_input, padding.PKCS1v15(), hcls())
        else:
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
                return "alg %s does not match the key type/curve" % alg
            n = EC_COORD_BYTES[curve]
            if len(sig) != 2 * n:
                return "ECDSA signature must be raw R||S of %d bytes (got %d bytes)" % (2 * n, len(sig))
            r = int.from_bytes(sig[:n], "big")
            s = int.from_bytes(sig[n:], "big")
            key.verify(asym_utils.encode_dss_signature(r, s), signing_input, ec.ECDSA(hcls()))
    except InvalidSignature:
        return "signature does not verify"
    return None


def jwk_to_public_key(jwk):
    """Build a public key from a JWK; refuse private members and weak keys."""
    if not isinstance(jwk, dict):
        raise ValueError("jwk is not a JSON object")
    bad = [m for m in PRIVATE_JWK_MEMBERS if m in jwk]
    if bad:
        raise ValueError("jwk contains private key members (%s)" % ",".join(bad))
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            n = int.from_bytes(b64url_decode(jwk["n"]), "big")
            e = int.from_bytes(b64url_decode(jwk["e"]), "big")
            if n.bit_length() < 2048:
                raise ValueError("RSA key is shorter than 2048 bits")
            return rsa.RSAPublicNumbers(e, n).public_key()
        if kty == "EC":
            crv = jwk.get("crv")
            if crv not in JWK_CURVES:
                raise ValueError("unsupported crv")
            size = EC_COORD_BYTES[JWK_CURVE_NAMES[crv]]
            xb, yb = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
            if len(xb) != size or len(yb) != size:
                raise ValueError("EC coordinates have the wrong length")
            return ec.EllipticCurvePublicNumbers(
                int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), JWK_CURVES[crv]()).public_key()
    except (KeyError, TypeError) as e:
        raise ValueError("jwk is missing a member: %s" % e)
    raise ValueError("unsupported kty %r" % (kty,))


def jwk_thumbprint(jwk):
    """RFC 7638 SHA-256 JWK thumbprint, base64url."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canon = json.dumps({m: jwk[m] for m in members}, sort_keys=True,
                       separators=(",", ":"), ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canon.encode("utf-8")).digest())


def spki(key):
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------
# 2. Throw-away PKI
# --------------------------------------------------------------------------

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_usage(ca):
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                         crl_sign=ca, encipher_only=False, decipher_only=False)


def make_ca(cn):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, dns_names, ips):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    san = [x509.DNSName(d) for d in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder()
            .subject_name(_name(dns_names[0])).issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_atomic(path, data):
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def build_tls_context(workdir, cert_mode):
    """Write ca.pem / other-ca.pem / server.pem / server-key.pem; return an SSLContext."""
    ca_key, ca_cert = make_ca("fake-okta test CA")
    _other_key, other_cert = make_ca("fake-okta unrelated CA")
    if cert_mode == "good":
        skey, scert = make_server_cert(ca_key, ca_cert, ["localhost"], ["127.0.0.1"])
    elif cert_mode == "wronghost":
        skey, scert = make_server_cert(ca_key, ca_cert, ["wrong.example"], [])
    elif cert_mode == "untrusted":
        # Signed by a third CA that is never written anywhere.
        rogue_key, rogue_cert = make_ca("fake-okta rogue CA")
        skey, scert = make_server_cert(rogue_key, rogue_cert, ["localhost"], ["127.0.0.1"])
    else:
        raise ValueError("bad cert mode")
    _write_atomic(os.path.join(workdir, "ca.pem"), _pem_cert(ca_cert))
    _write_atomic(os.path.join(workdir, "other-ca.pem"), _pem_cert(other_cert))
    cert_path = os.path.join(workdir, "server.pem")
    key_path = os.path.join(workdir, "server-key.pem")
    _write_atomic(cert_path, _pem_cert(scert))
    _write_atomic(key_path, _pem_key(skey))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# --------------------------------------------------------------------------
# 3. Seed loading and Okta object rendering
# --------------------------------------------------------------------------

DEFAULT_TS = "2024-01-15T10:00:00.000Z"
USER_STATUSES = {"ACTIVE", "DEPROVISIONED", "LOCKED_OUT", "PASSWORD_EXPIRED", "PROVISIONED",
                 "RECOVERY", "STAGED", "SUSPENDED"}
GROUP_TYPES = {"OKTA_GROUP", "APP_GROUP", "BUILT_IN"}
ADMIN_ROLES = {"SUPER_ADMIN", "ORG_ADMIN", "USER_ADMIN", "GROUP_MEMBERSHIP_ADMIN",
               "READ_ONLY_ADMIN", "CUSTOM", "APP_ADMIN", "HELP_DESK_ADMIN"}
# Roles that may read users/groups and change memberships in this fake.
ROLES_READ = ADMIN_ROLES
ROLES_WRITE = {"SUPER_ADMIN", "ORG_ADMIN", "USER_ADMIN", "GROUP_MEMBERSHIP_ADMIN", "CUSTOM"}


class SeedError(Exception):
    pass


def iso_now(t):
    return datetime.datetime.utcfromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % int((t % 1) * 1000)


def load_client(c):
    if not isinstance(c, dict) or not isinstance(c.get("client_id"), str) or not c["client_id"]:
        raise SeedError("each client needs a non-empty string client_id")
    keys = []
    for k in c.get("keys") or []:
        if not isinstance(k, dict):
            raise SeedError("client key must be an object")
        try:
            if k.get("public_key_pem"):
                pub = serialization.load_pem_public_key(k["public_key_pem"].encode())
            elif k.get("jwk"):
                pub = jwk_to_public_key(k["jwk"])
            else:
                raise SeedError("client key needs public_key_pem or jwk")
        except ValueError as e:
            raise SeedError("client %s: bad key: %s" % (c["client_id"], e))
        if not isinstance(pub, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            raise SeedError("client key must be RSA or EC")
        keys.append({"kid": k.get("kid"), "key": pub, "spki": spki(pub)})
    if not keys:
        raise SeedError("client %s has no keys" % c["client_id"])
    role = c.get("admin_role", "ORG_ADMIN")
    if role == "NONE":
        role = None
    if role is not None and role not in ADMIN_ROLES:
        raise SeedError("unknown admin_role %r" % role)
    return {
        "client_id": c["client_id"],
        "keys": keys,
        "scopes": list(c.get("scopes", ["okta.users.read", "okta.groups.manage"])),
        "admin_role": role,
        "admin_group_ids": c.get("admin_group_ids"),
        "dpop_required": bool(c.get("dpop_required", False)),
    }


def load_web_app(w):
    """An Okta Web app (OIDC, authorization code + PKCE, client secret)."""
    if not isinstance(w, dict) or not isinstance(w.get("client_id"), str) or not w["client_id"]:
        raise SeedError("each web app needs a string client_id")
    if not isinstance(w.get("client_secret"), str) or len(w["client_secret"]) < 8:
        raise SeedError("web app %s needs a client_secret of 8 characters or more" % w["client_id"])
    uris = w.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
        raise SeedError("web app %s needs redirect_uris" % w["client_id"])
    return {"client_id": w["client_id"], "client_secret": w["client_secret"], "redirect_uris": list(uris),
            "id_token_lifetime": int(w.get("id_token_lifetime", 3600))}


def load_user(u, old=None):
    if not isinstance(u, dict) or not isinstance(u.get("id"), str) or not u["id"]:
        raise SeedError("each user needs a string id")
    base = dict(old) if old else {}
    for k in ("login", "status", "firstName", "lastName", "email", "created", "lastUpdated",
              "profile_extra"):
        if k in u:
            base[k] = u[k]
    base["id"] = u["id"]
    base.setdefault("login", u["id"] + "@example.com")
    base.setdefault("status", "ACTIVE")
    base.setdefault("firstName", base["login"].split("@")[0])
    base.setdefault("lastName", "User")
    base.setdefault("email", base["login"])
    base.setdefault("created", DEFAULT_TS)
    base.setdefault("lastUpdated", base["created"])
    for k in ("login", "firstName", "lastName", "email"):
        if not isinstance(base[k], str):
            raise SeedError("user %s: %s must be a string" % (u["id"], k))
    if base["status"] not in USER_STATUSES:
        raise SeedError("user %s: unknown status %r" % (u["id"], base["status"]))
    return base


def load_group(g, old=None):
    if not isinstance(g, dict) or not isinstance(g.get("id"), str) or not g["id"]:
        raise SeedError("each group needs a string id")
    base = dict(old) if old else {}
    for k in ("name", "type", "description", "owners", "created", "lastUpdated"):
        if k in g:
            base[k] = g[k]
    base["id"] = g["id"]
    base.setdefault("name", g["id"])
    base.setdefault("type", "OKTA_GROUP")
    base.setdefault("description", None)
    base.setdefault("owners", [])
    base.setdefault("created", DEFAULT_TS)
    base.setdefault("lastUpdated", base["created"])
    base.setdefault("lastMembershipUpdated", base["created"])
    if base["type"] not in GROUP_TYPES:
        raise SeedError("group %s: unknown type %r" % (g["id"], base["type"]))
    for o in base["owners"]:
        if not isinstance(o, dict) or o.get("type") not in ("USER", "GROUP") or not isinstance(o.get("id"), str):
            raise SeedError("group %s: owners entries need type USER|GROUP and id" % g["id"])
    return base


def render_user(u, base):
    profile = {"firstName": u["firstName"], "lastName": u["lastName"], "mobilePhone": None,
               "secondEmail": None, "login": u["login"], "email": u["email"]}
    if isinstance(u.get("profile_extra"), dict):
        profile.update(u["profile_extra"])
    return {
        "id": u["id"],
        "status": u["status"],
        "created": u["created"],
        "activated": None if u["status"] in ("STAGED",) else u["created"],
        "statusChanged": u.get("statusChanged", u["created"]),
        "lastLogin": None,
        "lastUpdated": u["lastUpdated"],
        "passwordChanged": None,
        "type": {"id": "oty1fakeoktadefault0"},
        "profile": profile,
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": "%s/api/v1/users/%s" % (base, u["id"])}},
    }


def render_group(g, base):
    oc = ["okta:windows_security_principal"] if g["type"] == "APP_GROUP" else ["okta:user_group"]
    return {
        "id": g["id"],
        "created": g["created"],
        "lastUpdated": g["lastUpdated"],
        "lastMembershipUpdated": g["lastMembershipUpdated"],
        "objectClass": oc,
        "type": g["type"],
        "profile": {"name": g["name"], "description": g["description"]},
        "_links": {
            "logo": [{"name": "medium", "href": base + "/assets/img/logos/groups/okta-medium.png",
                      "type": "image/png"}],
            "users": {"href": "%s/api/v1/groups/%s/users" % (base, g["id"])},
            "apps": {"href": "%s/api/v1/groups/%s/apps" % (base, g["id"])},
        },
    }


# Issue 20 item 3: group rules, in the shape of Okta's GroupRule object
# (type group_rule, status ACTIVE|INACTIVE|INVALID, conditions.expression,
# actions.assignUserToGroups.groupIds).
GROUP_RULE_STATUSES = {"ACTIVE", "INACTIVE", "INVALID"}


def load_group_rule(r, old=None):
    if not isinstance(r, dict) or not isinstance(r.get("id"), str) or not r["id"]:
        raise SeedError("each group rule needs a string id")
    base = dict(old) if old else {}
    for k in ("name", "status", "groupIds", "expression", "created", "lastUpdated"):
        if k in r:
            base[k] = r[k]
    base["id"] = r["id"]
    base.setdefault("name", r["id"])
    base.setdefault("status", "ACTIVE")
    base.setdefault("groupIds", [])
    base.setdefault("expression", 'user.department=="Engineering"')
    base.setdefault("created", DEFAULT_TS)
    base.setdefault("lastUpdated", base["created"])
    if base["status"] not in GROUP_RULE_STATUSES:
        raise SeedError("group rule %s: unknown status %r" % (r["id"], base["status"]))
    if not isinstance(base["groupIds"], list) or not all(isinstance(g, str) for g in base["groupIds"]):
        raise SeedError("group rule %s: groupIds must be a list of strings" % r["id"])
    return base


def render_group_rule(r, base):
    return {
        "type": "group_rule",
        "id": r["id"],
        "status": r["status"],
        "name": r["name"],
        "created": r["created"],
        "lastUpdated": r["lastUpdated"],
        "conditions": {
            "people": {"users": {"exclude": []}, "groups": {"exclude": []}},
            "expression": {"value": r["expression"], "type": "urn:okta:expression:1.0"},
        },
        "actions": {"assignUserToGroups": {"groupIds": list(r["groupIds"])}},
    }


# --------------------------------------------------------------------------
# 4. Search / filter expressions
# --------------------------------------------------------------------------

class SearchError(Exception):
    pass


_TOKEN_RE = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_.]*)|(\"))")
_JSON_DEC = json.JSONDecoder()


def _tokenize(expr):
    toks, i = [], 0
    while True:
        while i < len(expr) and expr[i] in " \t":
            i += 1
        if i >= len(expr):
            return toks
        m = _TOKEN_RE.match(expr, i)
        if not m:
            raise SearchError("unexpected character at %d" % i)
        if m.group(1):
            toks.append(("(", None))
            i = m.end()
        elif m.group(2):
            toks.append((")", None))
            i = m.end()
        elif m.group(3):
            toks.append(("word", m.group(3)))
            i = m.end()
        else:
            start = m.end() - 1
            try:
                val, end = _JSON_DEC.raw_decode(expr, start)
            except ValueError:
                raise SearchError("bad string literal at %d" % start)
            toks.append(("str", val))
            i = end


def parse_expression(expr, attrs, ops, co_attrs=()):
    """Parse `attr op "json string" (and|or ...)` with parentheses; 'and' binds
    tighter than 'or'. Returns a nested tuple AST."""
    if not isinstance(expr, str) or not expr.strip():
        raise SearchError("empty expression")
    toks = _tokenize(expr)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None)

    def take():
        t = peek()
        pos[0] += 1
        return t

    def primary():
        kind, val = take()
        if kind == "(":
            node = disj()
            if take()[0] != ")":
                raise SearchError("missing )")
            return node
        if kind != "word":
            raise SearchError("attribute expected")
        if val not in attrs:
            raise SearchError("unsupported attribute %s" % val)
        okind, op = take()
        if okind != "word" or op.lower() not in ops:
            raise SearchError("unsupported operator")
        op = op.lower()
        if op == "co" and val not in co_attrs:
            raise SearchError("co not supported for %s" % val)
        vkind, lit = take()
        if vkind != "str":
            raise SearchError("string literal expected")
        return ("cmp", val, op, lit)

    def conj():
        node = primary()
        while peek()[0] == "word" and peek()[1].lower() == "and":
            take()
            node = ("and", node, primary())
        return node

    def disj():
        node = conj()
        while peek()[0] == "word" and peek()[1].lower() == "or":
            take()
            node = ("or", node, conj())
        return node

    ast = disj()
    if pos[0] != len(toks):
        raise SearchError("trailing input")
    return ast


def eval_expression(ast, getter, case_insensitive):
    kind = ast[0]
    if kind == "and":
        return eval_expression(ast[1], getter, case_insensitive) and eval_expression(ast[2], getter, case_insensitive)
    if kind == "or":
        return eval_expression(ast[1], getter, case_insensitive) or eval_expression(ast[2], getter, case_insensitive)
    _, attr, op, lit = ast
    val = getter(attr)
    if val is None:
        return False
    if case_insensitive:
        val, lit = val.casefold(), lit.casefold()
    if op == "eq":
        return val == lit
    if op == "sw":
        return val.startswith(lit)
    if op == "co":
        return lit in val
    return False


USER_ATTRS = {"id": "id", "status": "status", "profile.login": "login", "profile.email": "email",
              "profile.firstName": "firstName", "profile.lastName": "lastName"}
USER_CO = {"profile.login", "profile.email", "profile.firstName", "profile.lastName"}
GROUP_ATTRS = {"id": "id", "type": "type", "profile.name": "name", "profile.description": "description"}
GROUP_CO = {"profile.name", "profile.description"}
GROUP_FILTER_ATTRS = {"id": "id", "type": "type"}
OWNER_ATTRS = {"id": "id", "type": "type"}


# --------------------------------------------------------------------------
# 5. Server state
# --------------------------------------------------------------------------

class Reply(Exception):
    """A complete HTTP answer, raised from anywhere in request handling."""

    def __init__(self, status, body=None, headers=None, close=False, content_type="application/json"):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []
        self.close = close
        self.content_type = content_type


def okta_error(status, code, summary, causes=None, headers=None, close=False):
    body = {"errorCode": code, "errorSummary": summary, "errorLink": code,
            "errorId": "oae" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y"),
            "errorCauses": [{"errorSummary": c} for c in (causes or [])]}
    return Reply(status, body, headers=headers, close=close)


def oauth_error(status, error, description, headers=None):
    h = [("Cache-Control", "no-store"), ("Pragma", "no-cache")] + list(headers or [])
    return Reply(status, {"error": error, "error_description": description}, headers=h)


def err_not_found(ident, kind):
    return okta_error(404, "E0000007", "Not found: Resource not found: %s (%s)" % (ident, kind))


def err_forbidden():
    return okta_error(403, "E0000006", "You do not have permission to perform the requested action")


def err_invalid_token():
    return okta_error(401, "E0000011", "Invalid token provided")


def err_rate_limited(headers=None):
    return okta_error(429, "E0000047", "API call exceeded rate limit due to too many requests.",
                      headers=headers)


def err_validation(cause):
    return okta_error(400, "E0000001", "Api validation failed: %s" % cause.split(":")[0], [cause])


DEFAULT_ERROR_FOR_STATUS = {
    400: ("E0000001", "Api validation failed"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
    502: ("E0000009", "Internal Server Error"),
    503: ("E0000010", "Service is in read only mode"),
    504: ("E0000009", "Internal Server Error"),
}

FAULT_ACTIONS = {"status", "delay", "hold", "hang", "reset", "malformed", "truncated", "oversized", "wrong_type"}
CONFIG_KEYS = {"client_id", "dpop_required", "dpop_api_nonce_required", "rotate_dpop_nonce",
               "dpop_nonce", "page_size", "scopes", "admin_role", "admin_group_ids", "rate_limit",
               "concurrency_limit", "clock_offset", "clock_skew", "dpop_iat_window",
               "revoke_all_tokens", "token_lifetime", "link_style"}


class FakeOkta:
    """All mutable server state, guarded by self.lock."""

    def __init__(self, seed):
        self.lock = threading.RLock()
        self.seed = seed
        self.port = None
        self.cursor_key = secrets.token_bytes(32)
        self._log_lock = threading.Lock()
        # ID-token signing keys (made at first use, kept across resets):
        # id_keys are published at /oauth2/v1/keys, the first signs;
        # forge_key is never published (forged-token tests).
        self.id_keys = []
        self.forge_key = None
        self.reset()

    # -- lifecycle -------------------------------------------------------
    def reset(self):
        seed = self.seed
        clients = seed.get("clients")
        if not isinstance(clients, list) or not clients:
            raise SeedError("seed needs a non-empty 'clients' list")
        with self.lock:
            self.clients = {}
            self.client_order = []
            for c in clients:
                cl = load_client(c)
                if cl["client_id"] in self.clients:
                    raise SeedError("duplicate client_id")
                self.clients[cl["client_id"]] = cl
                self.client_order.append(cl["client_id"])
            self.users = {}
            for u in seed.get("users", []):
                uu = load_user(u)
                if uu["id"] in self.users:
                    raise SeedError("duplicate user id %s" % uu["id"])
                self.users[uu["id"]] = uu
            self.groups = {}
            for g in seed.get("groups", []):
                gg = load_group(g)
                if gg["id"] in self.groups:
                    raise SeedError("duplicate group id %s" % gg["id"])
                self.groups[gg["id"]] = gg
            # Issue 20 item 3: group rules (GET /api/v1/groups/rules).
            self.group_rules = {}
            for r in seed.get("group_rules", []):
                rr = load_group_rule(r)
                self.group_rules[rr["id"]] = rr
            self.memberships = set()
            for m in seed.get("memberships", []):
                if not (isinstance(m, list) and len(m) == 2):
                    raise SeedError("memberships entries are [groupId, userId]")
                if m[0] not in self.groups or m[1] not in self.users:
                    raise SeedError("membership %r references an unknown group/user" % (m,))
                self.memberships.add((m[0], m[1]))
            rl = seed.get("rate_limit") or {}
            self.cfg = {
                "page_size": seed.get("page_size"),
                "rate_limit": {"limit": rl.get("limit", 10000),
                               "window_seconds": rl.get("window_seconds", 60),
                               "per_bucket": dict(rl.get("per_bucket", {}))},
                "token_lifetime": int(seed.get("token_lifetime", 3600)),
                "clock_offset": 0.0,
                "clock_skew": 60,
                "dpop_iat_window": 60,
                "dpop_required": None,
                "dpop_api_nonce_required": False,
                "concurrency_limit": None,
                "link_style": "alternate",
            }
            self.tokens = {}
            self.tokens_issued = 0
            # client assertions accepted, per kid (key rotation tests)
            self.assertion_kids = {}
            # OIDC sign-in (issue 19): the Okta Web apps, and the codes
            # handed out by /oauth2/v1/authorize and not yet redeemed.
            self.web_apps = {}
            for w in seed.get("web_apps", []):
                wa = load_web_app(w)
                if wa["client_id"] in self.web_apps or wa["client_id"] in self.clients:
                    raise SeedError("duplicate client_id %s" % wa["client_id"])
                self.web_apps[wa["client_id"]] = wa
            self.auth_codes = {}
            self.id_tokens_issued = 0
            self.assertion_jtis = {}
            self.dpop_jtis = {}
            self.dpop_nonce = secrets.token_urlsafe(24)
            self.faults = []
            self.releases = {}  # "hold" faults: name -> threading.Event
            self.requests = []
            self.buckets = {}
            self.inflight = 0
            self.link_counter = 0
            self.connections = 0
            self.tls_handshakes = 0
            self.tls_failures = 0

    def now(self):
        return time.time() + self.cfg["clock_offset"]

    def log(self, line):
        with self._log_lock:
            sys.stderr.write("[fake_okta] %s\n" % line)
            sys.stderr.flush()

    # -- rate limiting -------------------------------------------------------
    def _bucket_params(self, name):
        rl = self.cfg["rate_limit"]
        pb = rl.get("per_bucket", {}).get(name, {})
        return int(pb.get("limit", rl.get("limit", 10000))), int(pb.get("window_seconds", rl.get("window_seconds", 60)))

    def rate_take(self, name, consume=True):
        """Returns (allowed, headers)."""
        with self.lock:
            now = self.now()
            limit, win = self._bucket_params(name)
            b = self.buckets.get(name)
            if b is None or now >= b["reset"]:
                b = {"count": 0, "reset": int(now) + win}
                self.buckets[name] = b
            allowed = True
            if consume:
                if b["count"] >= limit:
                    allowed = False
                else:
                    b["count"] += 1
            remaining = max(0, limit - b["count"])
            return allowed, [("X-Rate-Limit-Limit", str(limit)),
                             ("X-Rate-Limit-Remaining", str(remaining)),
                             ("X-Rate-Limit-Reset", str(b["reset"]))]

    # -- faults --------------------------------------------------------------
    def add_faults(self, rules):
        parsed = []
        for r in rules:
            if not isinstance(r, dict):
                raise ValueError("fault rule must be an object")
            action = r.get("action")
            if action not in FAULT_ACTIONS:
                raise ValueError("unknown fault action %r" % (action,))
            rule = dict(r)
            rule["method"] = r["method"].upper() if r.get("method") else None
            rule["re"] = re.compile(r["path"]) if r.get("path") else None
            rule["count"] = int(r.get("count", 1))
            if action == "status" and not isinstance(r.get("status", 500), int):
                raise ValueError("status must be an integer")
            parsed.append(rule)
        with self.lock:
            self.faults.extend(parsed)

    def match_fault(self, method, path_q):
        with self.lock:
            for rule in self.faults:
                if rule["count"] == 0:
                    continue
                if rule["method"] and rule["method"] != method:
                    continue
                if rule["re"] and not rule["re"].search(path_q):
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                self.faults = [f for f in self.faults if f["count"] != 0]
                return rule
        return None

    # -- jti bookkeeping -----------------------------------------------------
    def use_jti(self, store, key, keep_until):
        """Record a jti; return False if it was already used."""
        with self.lock:
            if key in store:
                return False
            store[key] = keep_until
            if len(store) > 50000:
                now = self.now()
                for k in [k for k, v in store.items() if v < now]:
                    del store[k]
            return True

    # -- clients / tokens --------------------------------------------------
    def pick_client(self, client_id=None):
        if client_id is None:
            return self.clients[self.client_order[0]]
        c = self.clients.get(client_id)
        if c is None:
            raise ValueError("unknown client_id %r" % client_id)
        return c

    def issue_token(self, client_id, scopes, jkt):
        tok = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[tok] = {"client_id": client_id, "scopes": list(scopes),
                                "expires_at": self.now() + self.cfg["token_lifetime"], "jkt": jkt}
            self.tokens_issued += 1
            return tok, self.cfg["token_lifetime"]

    # -- OIDC sign-in (issue 19) -------------------------------------------------
    def _ensure_id_keys(self):
        with self.lock:
            if not self.id_keys:
                self.id_keys.append({"kid": "fakeoidc-" + secrets.token_hex(4),
                                     "key": rsa.generate_private_key(public_exponent=65537, key_size=2048)})
            if self.forge_key is None:
                self.forge_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self):
        self._ensure_id_keys()
        out = []
        with self.lock:
            for k in self.id_keys:
                nums = k["key"].public_key().public_numbers()
                out.append({"kty": "RSA", "alg": "RS256", "kid": k["kid"], "use": "sig",
                            "e": b64url_encode(nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")),
                            "n": b64url_encode(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big"))})
        return {"keys": out}

    def rotate_id_key(self, retire_old):
        """A new signing key (first in the list); the old ones stay published
        unless retire_old."""
        self._ensure_id_keys()
        new = {"kid": "fakeoidc-" + secrets.token_hex(4),
               "key": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        with self.lock:
            self.id_keys = [new] + ([] if retire_old else self.id_keys)
            return new["kid"]

    def sign_id_token(self, claims, alg="RS256", key="org", kid=None, header_extra=None):
        """A compact JWS. alg RS256 (key "org": the published signing key,
        "forged": a key never published), "none" (no signature) or HS256
        keyed with the published key's PEM (alg confusion)."""
        self._ensure_id_keys()
        with self.lock:
            org = self.id_keys[0]
            forge = self.forge_key
        header = {"alg": alg, "kid": org["kid"] if kid is None else kid}
        if kid is False:
            del header["kid"]
        header.update(header_extra or {})
        signing_input = (b64url_encode(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url_encode(json.dumps(claims, separators=(",", ":")).encode())).encode()
        if alg == "none":
            sig = b""
        elif alg == "HS256":
            pem = org["key"].public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
            sig = hmac.new(pem, signing_input, hashlib.sha256).digest()
        elif alg == "RS256":
            k = forge if key == "forged" else org["key"]
            sig = k.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise ValueError("alg must be RS256, HS256 or none")
        return signing_input.decode() + "." + b64url_encode(sig)

    def id_token_claims(self, issuer, client_id, user, nonce=None, lifetime=3600, now=None):
        now = int(self.now() if now is None else now)
        c = {"sub": user["id"], "ver": 1, "iss": issuer, "aud": client_id, "iat": now, "exp": now + lifetime,
             "jti": "ID." + secrets.token_urlsafe(24), "amr": ["pwd"], "idp": "00ofakeoktaorg00001",
             "auth_time": now, "preferred_username": user["login"],
             "name": "%s %s" % (user["firstName"], user["lastName"]), "email": user["email"]}
        if nonce is not None:
            c["nonce"] = nonce
        return c

    # -- control: config -----------------------------------------------------
    def apply_config(self, c):
        unknown = set(c) - CONFIG_KEYS
        if unknown:
            raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
        with self.lock:
            client = self.pick_client(c.get("client_id"))
            if "dpop_required" in c:
                v = c["dpop_required"]
                if "client_id" in c:
                    client["dpop_required"] = bool(v)
                else:
                    self.cfg["dpop_required"] = None if v is None else bool(v)
            if "dpop_api_nonce_required" in c:
                self.cfg["dpop_api_nonce_required"] = bool(c["dpop_api_nonce_required"])
            if c.get("rotate_dpop_nonce"):
                self.dpop_nonce = secrets.token_urlsafe(24)
            if "dpop_nonce" in c:
                if not isinstance(c["dpop_nonce"], str) or not c["dpop_nonce"]:
                    raise ValueError("dpop_nonce must be a non-empty string")
                self.dpop_nonce = c["dpop_nonce"]
            if "page_size" in c:
                ps = c["page_size"]
                if ps is not None and (not isinstance(ps, int) or ps < 1):
                    raise ValueError("page_size must be a positive integer or null")
                self.cfg["page_size"] = ps
            if "scopes" in c:
                if not isinstance(c["scopes"], list) or not all(isinstance(s, str) for s in c["scopes"]):
                    raise ValueError("scopes must be a list of strings")
                client["scopes"] = list(c["scopes"])
            if "admin_role" in c:
                role = c["admin_role"]
                if role == "NONE":
                    role = None
                if role is not None and role not in ADMIN_ROLES:
                    raise ValueError("unknown admin_role")
                client["admin_role"] = role
            if "admin_group_ids" in c:
                client["admin_group_ids"] = c["admin_group_ids"]
            if "rate_limit" in c:
                rl = c["rate_limit"]
                if not isinstance(rl, dict):
                    raise ValueError("rate_limit must be an object")
                self.cfg["rate_limit"] = {"limit": int(rl.get("limit", 10000)),
                                          "window_seconds": int(rl.get("window_seconds", 60)),
                                          "per_bucket": dict(rl.get("per_bucket", {}))}
                self.buckets = {}
            if "concurrency_limit" in c:
                cl = c["concurrency_limit"]
                if cl is not None and (not isinstance(cl, int) or cl < 1):
                    raise ValueError("concurrency_limit must be a positive integer or null")
                self.cfg["concurrency_limit"] = cl
            for k in ("clock_offset", "clock_skew", "dpop_iat_window"):
                if k in c:
                    if not is_number(c[k]):
                        raise ValueError("%s must be a number" % k)
                    self.cfg[k] = float(c[k])
            if c.get("revoke_all_tokens"):
                self.tokens = {}
            if "token_lifetime" in c:
                if not isinstance(c["token_lifetime"], int) or c["token_lifetime"] < 1:
                    raise ValueError("token_lifetime must be a positive integer")
                self.cfg["token_lifetime"] = c["token_lifetime"]
            if "link_style" in c:
                if c["link_style"] not in ("alternate", "combined", "separate"):
                    raise ValueError("link_style must be alternate|combined|separate")
                self.cfg["link_style"] = c["link_style"]
            return self.config_view()

    def config_view(self):
        with self.lock:
            v = {k: v for k, v in self.cfg.items()}
            v["clients"] = [{"client_id": c["client_id"], "scopes": c["scopes"],
                             "admin_role": c["admin_role"] or "NONE",
                             "admin_group_ids": c["admin_group_ids"],
                             "dpop_required": c["dpop_required"],
                             "kids": [k["kid"] for k in c["keys"]]}
                            for c in (self.clients[i] for i in self.client_order)]
            v["dpop_nonce"] = self.dpop_nonce
            return v

    def state_view(self):
        with self.lock:
            return {
                "users": [dict(self.users[k]) for k in sorted(self.users)],
                "groups": [dict(self.groups[k]) for k in sorted(self.groups)],
                "memberships": sorted([list(m) for m in self.memberships]),
                "group_rules": [dict(self.group_rules[k]) for k in sorted(self.group_rules)],
                "tokens_issued": self.tokens_issued,
                "assertion_kids": dict(self.assertion_kids),
                "tokens_active": sum(1 for t in self.tokens.values() if t["expires_at"] > self.now()),
                "connections": self.connections,
                "tls_handshakes": self.tls_handshakes,
                "tls_handshake_failures": self.tls_failures,
                "dpop_nonce": self.dpop_nonce,
                "faults_pending": len(self.faults),
                "inflight": self.inflight,
                "config": self.config_view(),
            }

    # -- cursors -------------------------------------------------------------
    def make_cursor(self, list_key, last_id):
        mac = hmac.new(self.cursor_key, (list_key + "\0" + last_id).encode(), hashlib.sha256).digest()[:9]
        return b64url_encode(last_id.encode()) + "." + b64url_encode(mac)

    def read_cursor(self, list_key, cursor):
        try:
            a, b = cursor.split(".")
            last_id = b64url_decode(a).decode("utf-8")
            mac = b64url_decode(b)
        except (ValueError, UnicodeDecodeError):
            return None
        want = hmac.new(self.cursor_key, (list_key + "\0" + last_id).encode(), hashlib.sha256).digest()[:9]
        return last_id if hmac.compare_digest(mac, want) else None

    # -- lookups -------------------------------------------------------------
    def find_user(self, ident):
        with self.lock:
            if ident in self.users:
                return self.users[ident]
            low = ident.casefold()
            for u in self.users.values():
                if u["login"].casefold() == low:
                    return u
            if "@" not in ident:
                hits = [u for u in self.users.values() if u["login"].split("@")[0].casefold() == low]
                if len(hits) == 1:
                    return hits[0]
            return None


# --------------------------------------------------------------------------
# 6. HTTP handler
# --------------------------------------------------------------------------

MAX_BODY = 1 << 20
LIST_DEFAULTS = {  # endpoint -> (default limit, max limit); from Okta's API reference
    "users": (200, 200),
    "user_groups": (10000, 10000),
    "groups": (10000, 10000),
    "group_users": (1000, 10000),
    "group_owners": (1000, 10000),
    "group_rules": (50, 200),  # issue 20 item 3
}
SCOPES_USERS_READ = {"okta.users.read", "okta.users.manage"}
SCOPES_GROUPS_READ = {"okta.groups.read", "okta.groups.manage"}
SCOPES_GROUPS_MANAGE = {"okta.groups.manage"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Ctx:
    """Per-request bookkeeping for one Okta request."""

    def __init__(self, method, raw_path, path, query):
        self.t = time.time()
        self.method = method
        self.raw_path = raw_path
        self.path = path
        self.query = query
        self.status = None
        self.bucket = None
        self.rl_headers = []
        self.auth_scheme = None
        self.dpop = False
        self.request_id = secrets.token_urlsafe(18).replace("-", "A").replace("_", "B")
        self.fault = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-okta/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive timeout (seconds)

    # -- plumbing ------------------------------------------------------------
    @property
    def app(self):
        return self.server.app

    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, fmt, *args):
        self.app.log("%s %s" % (self.address_string(), fmt % args))

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.app.now() if timestamp is None else timestamp, usegmt=True)

    def do_GET(self):
        self._entry()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _host(self):
        return self.headers.get("Host") or "127.0.0.1:%d" % self.app.port

    def _base(self):
        return "https://" + self._host()

    def _send(self, status, body=b"", headers=(), content_type="application/json", close=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        elif body is None:
            body = b""
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body and content_type:
            self.send_header("Content-Type", content_type)
        if status not in (204, 304):  # RFC 9110: no Content-Length on 204
            self.send_header("Content-Length", str(len(body)))
        else:
            body = b""
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self._sent = True

    def _read_body(self):
        """Returns (body, framed). framed=False when the request had neither
        Content-Length nor Transfer-Encoding."""
        te = self.headers.get_all("Transfer-Encoding") or []
        cl = self.headers.get_all("Content-Length") or []
        if te and cl:
            raise okta_error(400, "E0000003", "The request body was not well-formed.", close=True)
        if te:
            if len(te) != 1 or te[0].strip().lower() != "chunked":
                raise okta_error(400, "E0000003", "The request body was not well-formed.", close=True)
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise okta_error(400, "E0000003", "The request body was not well-formed.", close=True)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise okta_error(413, "E0000003", "The request body was not well-formed.", close=True)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks), True
        if cl:
            if len(set(v.strip() for v in cl)) != 1 or not cl[0].strip().isdigit():
                raise okta_error(400, "E0000003", "The request body was not well-formed.", close=True)
            n = int(cl[0])
            if n > MAX_BODY:
                raise okta_error(413, "E0000003", "The request body was not well-formed.", close=True)
            body = self.rfile.read(n) if n else b""
            if len(body) != n:
                self.close_connection = True
            return body, True
        return b"", False

    # -- entry point ---------------------------------------------------------
    def _entry(self):
        self._sent = False
        try:
            split = urllib.parse.urlsplit(self.path)
        except ValueError:
            return self._send(400, {"error": "bad request target"}, close=True)
        path, query = split.path, split.query
        if path.startswith("/__control/"):
            return self._control(path)
        app = self.app
        ctx = Ctx(self.command, self.path, path, query)
        auth = (self.headers.get("Authorization") or "").split(None, 1)
        if auth:
            ctx.auth_scheme = {"bearer": "Bearer", "dpop": "DPoP"}.get(auth[0].lower(), auth[0])
        ctx.dpop = bool(self.headers.get_all("DPoP"))
        self.ctx = ctx
        with app.lock:
            app.inflight += 1
            inflight = app.inflight
        try:
            try:
                self._okta(ctx, inflight)
            except Reply as r:
                self._reply(ctx, r)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout, OSError) as e:
            ctx.status = ctx.status or "aborted"
            self.close_connection = True
            app.log("connection error: %r" % (e,))
        except Exception:
            app.log("INTERNAL ERROR\n" + traceback.format_exc())
            if not self._sent:
                try:
                    self._reply(ctx, okta_error(500, "E0000009", "Internal Server Error", close=True))
                except OSError:
                    pass
            self.close_connection = True
        finally:
            with app.lock:
                app.inflight -= 1
            self._record(ctx)

    def _record(self, ctx):
        h = self.headers
        rf, rc = h.get("X-Okta-Retry-For"), h.get("X-Okta-Retry-Count")
        entry = {
            "t": ctx.t, "t_end": time.time(), "method": ctx.method, "path": ctx.raw_path, "status": ctx.status,
            "auth_scheme": ctx.auth_scheme, "retry_for": rf, "retry_count": rc,
            "user_agent": h.get("User-Agent"), "content_length": h.get("Content-Length"),
            "dpop": ctx.dpop, "request_id": ctx.request_id, "bucket": ctx.bucket,
            "fault": ctx.fault,
        }
        with self.app.lock:
            self.app.requests.append(entry)
            if len(self.app.requests) > 200000:
                del self.app.requests[:100000]
        self.app.log("%s %s %s -> %s bucket=%s auth=%s dpop=%s retry_for=%s retry_count=%s ua=%r %.1fms%s" % (
            self.client_address[0], ctx.method, ctx.raw_path, ctx.status, ctx.bucket, ctx.auth_scheme,
            ctx.dpop, rf or "-", rc or "-", h.get("User-Agent"), (time.time() - ctx.t) * 1000,
            " fault=" + ctx.fault if ctx.fault else ""))

    def _common_headers(self, ctx):
        return [("X-Okta-Request-Id", ctx.request_id)] + list(ctx.rl_headers)

    def _reply(self, ctx, r):
        ctx.status = r.status
        headers = self._common_headers(ctx) + list(r.headers)
        self._send(r.status, r.body, headers, content_type=r.content_type if r.body not in (None, b"", "") else None,
                   close=r.close)

    def _bucket_for(self, path):
        if path.startswith("/oauth2/") or path.startswith("/.well-known/"):
            return "token"
        if path == "/api/v1/users" or path.startswith("/api/v1/users/"):
            return "users"
        if path == "/api/v1/groups" or path.startswith("/api/v1/groups/"):
            return "groups"
        return "other"

    # -- Okta request pipeline -----------------------------------------------
    def _okta(self, ctx, inflight):
        app = self.app
        ctx.bucket = self._bucket_for(ctx.path)
        body, framed = self._read_body()
        if ctx.method in ("POST", "PUT") and not framed:
            # Okta: PUT/POST without a body must send Content-Length: 0, else 411.
            _, ctx.rl_headers = app.rate_take(ctx.bucket, consume=False)
            raise Reply(411, "<html><head><title>411 Length Required</title></head><body>"
                             "<h1>411 Length Required</h1></body></html>\n",
                        content_type="text/html", close=True)
        limit = app.cfg["concurrency_limit"]
        if limit is not None and inflight > limit:
            raise err_rate_limited(headers=[("X-Rate-Limit-Limit", "0"), ("X-Rate-Limit-Remaining", "0"),
                                            ("X-Rate-Limit-Reset", str(int(app.now()) + 1))])
        rule = app.match_fault(ctx.method, ctx.raw_path)
        if rule is not None:
            ctx.fault = rule["action"]
            if rule["action"] not in ("delay", "hold") and ctx.method == "POST" and ctx.path == "/oauth2/v1/token":
                # A token request that a fault answers still reached Okta:
                # its assertion's jti is used up (a reused one is refused
                # here as it would be by the real token endpoint), so a
                # client that retries must sign a fresh assertion.
                self._burn_assertion_jti(body)
            if self._apply_fault(ctx, rule):
                return
        allowed, ctx.rl_headers = app.rate_take(ctx.bucket)
        if not allowed:
            raise err_rate_limited()
        self._route(ctx, body)

    def _route(self, ctx, body):
        segs_raw = ctx.path.split("/")[1:]
        try:
            segs = [urllib.parse.unquote(s, errors="strict") for s in segs_raw]
        except UnicodeDecodeError:
            raise okta_error(400, "E0000003", "The request was not valid: bad path encoding")
        m = ctx.method
        if segs == ["oauth2", "v1", "token"]:
            if m != "POST":
                raise self._method_not_allowed(["POST"])
            return self._token(ctx, body)
        if segs == [".well-known", "oauth-authorization-server"] and m == "GET":
            return self._metadata(ctx)
        if segs == [".well-known", "openid-configuration"] and m == "GET":
            return self._oidc_metadata(ctx)
        if segs == ["oauth2", "v1", "keys"]:
            if m != "GET":
                raise self._method_not_allowed(["GET"])
            raise Reply(200, self.app.jwks(), headers=[("Cache-Control", "max-age=3600, must-revalidate")])
        if segs == ["oauth2", "v1", "authorize"]:
            if m == "GET":
                return self._authorize_form(ctx)
            if m == "POST":
                return self._authorize_post(ctx, body)
            raise self._method_not_allowed(["GET", "POST"])
        if len(segs) < 3 or segs[:2] != ["api", "v1"]:
            raise okta_error(404, "E0000008", "The requested path was not found")
        rest = segs[2:]
        n = len(rest)
        if rest[0] == "users":
            if n == 1:
                return self._api(ctx, ["GET"], SCOPES_USERS_READ, False, self._list_users)
            if n == 2:
                return self._api(ctx, ["GET"], SCOPES_USERS_READ, False, self._get_user, rest[1])
            if n == 3 and rest[2] == "groups":
                return self._api(ctx, ["GET"], SCOPES_USERS_READ, False, self._user_groups, rest[1])
        elif rest[0] == "groups":
            # Issue 20 item 3: /api/v1/groups/rules before /groups/{id}
            if n >= 2 and rest[1] == "rules":
                if n == 2:
                    return self._api(ctx, ["GET"], SCOPES_GROUPS_READ, False, self._list_group_rules)
                if n == 3:
                    return self._api(ctx, ["GET"], SCOPES_GROUPS_READ, False, self._get_group_rule, rest[2])
                raise okta_error(404, "E0000008", "The requested path was not found")
            if n == 1:
                return self._api(ctx, ["GET"], SCOPES_GROUPS_READ, False, self._list_groups)
            if n == 2:
                return self._api(ctx, ["GET"], SCOPES_GROUPS_READ, False, self._get_group, rest[1])
            if n == 3 and rest[2] == "users":
                return self._api(ctx, ["GET"], SCOPES_GROUPS_READ, False, self._group_users, rest[1])
            if n == 3 and rest[2] == "owners":
                return self._api(ctx, ["GET"], SCOPES_GROUPS_READ, False, self._group_owners, rest[1])
            if n == 4 and rest[2] == "users":
                scopes = SCOPES_GROUPS_MANAGE if m in ("PUT", "DELETE") else SCOPES_GROUPS_READ
                return self._api(ctx, ["PUT", "DELETE"], scopes, True, self._membership,
                                 rest[1], rest[3], body)
        raise okta_error(404, "E0000008", "The requested path was not found")

    def _method_not_allowed(self, allowed):
        return okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method",
                          headers=[("Allow", ", ".join(allowed))])

    def _api(self, ctx, methods, scopes, write, fn, *args):
        if ctx.method not in methods:
            raise self._method_not_allowed(methods)
        tok = self._authenticate(ctx)
        if not (set(tok["scopes"]) & scopes):
            desc = "The access token provided does not contain the required scopes."
            raise Reply(403, b"", headers=[("WWW-Authenticate",
                        'Bearer realm="IdP", error="insufficient_scope", error_description="%s", resource="%s"'
                        % (desc, ctx.path))])
        with self.app.lock:
            client = self.app.clients.get(tok["client_id"])
            role = client["admin_role"] if client else None
            admin_groups = client.get("admin_group_ids") if client else None
        if role is None or role not in ROLES_READ or (write and role not in ROLES_WRITE):
            raise err_forbidden()
        if write and admin_groups is not None and role in ("USER_ADMIN", "GROUP_MEMBERSHIP_ADMIN") \
                and args and args[0] not in admin_groups:
            raise err_forbidden()
        return fn(ctx, *args)

    # -- API authentication ----------------------------------------------------
    def _authenticate(self, ctx):
        app = self.app
        auths = self.headers.get_all("Authorization") or []
        if len(auths) != 1:
            raise err_invalid_token()
        parts = auths[0].strip().split(None, 1)
        if len(parts) != 2:
            raise err_invalid_token()
        scheme, token = parts[0].lower(), parts[1].strip()
        ctx.auth_scheme = {"bearer": "Bearer", "dpop": "DPoP"}.get(scheme, parts[0])
        with app.lock:
            rec = app.tokens.get(token)
            rec = dict(rec) if rec else None
            now = app.now()
        if rec is None or rec["expires_at"] <= now:
            raise err_invalid_token()
        if scheme == "bearer":
            if rec["jkt"] is not None:
                raise err_invalid_token()
            return rec
        if scheme != "dpop" or rec["jkt"] is None:
            raise err_invalid_token()
        proofs = self.headers.get_all("DPoP") or []
        ctx.dpop = bool(proofs)

        def fail(desc, error="invalid_dpop_proof", extra=()):
            raise Reply(400, b"", headers=[("WWW-Authenticate", 'DPoP %s, error="%s", error_description="%s"'
                                            % (DPOP_ALGS_HEADER, error, desc))] + list(extra))
        if len(proofs) != 1:
            fail("The DPoP proof JWT header is missing." if not proofs else "Multiple DPoP proofs were sent.")
        ath = b64url_encode(hashlib.sha256(token.encode("ascii", "replace")).digest())
        htu = self._base() + urllib.parse.unquote(ctx.path)
        err = self._check_dpop(proofs[0], ctx.method, htu, ath=ath, jkt=rec["jkt"],
                               require_nonce=app.cfg["dpop_api_nonce_required"])
        if err:
            error, desc = err
            if error == "use_dpop_nonce":
                fail("Resource server requires nonce in DPoP proof.", error,
                     [("DPoP-Nonce", app.dpop_nonce)])
            fail(desc)
        return rec

    def _check_dpop(self, proof, htm, htu, ath=None, jkt=None, require_nonce=False, forbidden_keys=()):
        """RFC 9449 proof validation. Returns None or (error, description)."""
        app = self.app
        bad = "invalid_dpop_proof"
        try:
            header, claims, sig, signing_input = parse_compact_jws(proof)
        except JwsError:
            return bad, "The DPoP proof JWT is malformed."
        if header.get("typ") != "dpop+jwt":
            return bad, "'typ' header in the DPoP proof JWT is invalid."
        alg = header.get("alg")
        if alg not in ALGS:
            return bad, "'alg' header in the DPoP proof JWT is invalid."
        try:
            key = jwk_to_public_key(header.get("jwk"))
        except ValueError as e:
            return bad, "'jwk' header in the DPoP proof JWT is invalid: %s." % str(e).replace('"', "'")
        if jws_verify(alg, key, signing_input, sig) is not None:
            return bad, "The DPoP proof JWT signature is invalid."
        if spki(key) in forbidden_keys:
            return bad, "The DPoP proof JWT must not be signed with the client authentication key."
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            return bad, "'jti' claim in the DPoP proof JWT is missing."
        if not app.use_jti(app.dpop_jtis, jti, app.now() + 2 * app.cfg["dpop_iat_window"] + 600):
            return bad, "'jti' claim in the DPoP proof JWT has already been used."
        if claims.get("htm") != htm:
            return bad, "'htm' claim in the DPoP proof JWT is invalid."
        if claims.get("htu") != htu:
            return bad, "'htu' claim in the DPoP proof JWT is invalid."
        iat = claims.get("iat")
        if not is_number(iat) or abs(iat - app.now()) > app.cfg["dpop_iat_window"]:
            return bad, "'iat' claim in the DPoP proof JWT is invalid."
        if ath is not None and claims.get("ath") != ath:
            return bad, "'ath' claim in the DPoP proof JWT is invalid."
        thumb = jwk_thumbprint(header["jwk"])
        if jkt is not None and thumb != jkt:
            return bad, "The DPoP proof JWT key does not match the access token binding (cnf.jkt)."
        if require_nonce and claims.get("nonce") != app.dpop_nonce:
            return "use_dpop_nonce", "Authorization server requires nonce in DPoP proof."
        self._dpop_thumb = thumb
        return None

    # -- token endpoint --------------------------------------------------------
    def _burn_assertion_jti(self, body):
        """Record the jti of the client assertion in a token request's
        form body (its signature is checked later, by _token, for requests
        that reach it); raise 401 invalid_client if it was used before."""
        app = self.app
        try:
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            _, claims, _, _ = parse_compact_jws(form.get("client_assertion", ""))
        except (ValueError, UnicodeDecodeError, JwsError):
            return
        if not isinstance(claims, dict):
            return
        iss, jti, exp = claims.get("iss"), claims.get("jti"), claims.get("exp")
        if not isinstance(iss, str) or not isinstance(jti, str) or not jti:
            return
        keep = (exp if is_number(exp) else app.now()) + 3600 + app.cfg["clock_skew"]
        if not app.use_jti(app.assertion_jtis, (iss, jti), keep):
            raise oauth_error(401, "invalid_client", "The client_assertion token has already been used.")

    def _token(self, ctx, body):
        app = self.app
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise oauth_error(400, "invalid_request",
                              "The request Content-Type must be application/x-www-form-urlencoded.")
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                           strict_parsing=bool(body), errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise oauth_error(400, "invalid_request", "The request body could not be parsed.")
        form = {}
        for k, v in pairs:
            if k in form:
                raise oauth_error(400, "invalid_request", "Duplicate parameter '%s'." % k)
            form[k] = v
        grant = form.get("grant_type")
        if not grant:
            raise oauth_error(400, "invalid_request", "The request is missing the 'grant_type' parameter.")
        if grant == "authorization_code":
            return self._token_code(ctx, form)
        if grant != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type",
                              "The authorization grant type '%s' is not supported by the authorization "
                              "server. Configured grant types: [authorization_code, client_credentials]." % grant)
        scope_str = form.get("scope", "")
        requested = [s for s in scope_str.split(" ") if s]
        if not requested:
            raise oauth_error(400, "invalid_scope", "No scopes were requested.")
        if "client_secret" in form or self.headers.get("Authorization"):
            raise oauth_error(400, "invalid_request",
                              "Can't supply multiple client credentials. Use one of the following: "
                              "credentials in the Authorization header, credentials in the post body, "
                              "or a client_assertion in the post body.")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise oauth_error(401, "invalid_client", "No client credentials found")
        if "client_id" in form:
            pass  # optional for private_key_jwt; checked against iss below
        client, key_spkis = self._verify_assertion(form["client_assertion"], form.get("client_id"))
        # scopes
        not_allowed = [s for s in requested if s not in client["scopes"]]
        if not_allowed:
            raise oauth_error(400, "invalid_scope",
                              "The following scopes are not allowed: %s" % ", ".join(not_allowed))
        # DPoP
        with app.lock:
            required = app.cfg["dpop_required"] if app.cfg["dpop_required"] is not None else client["dpop_required"]
        proofs = self.headers.get_all("DPoP") or []
        ctx.dpop = bool(proofs)
        jkt = None
        if required or proofs:
            if not proofs:
                raise oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
            if len(proofs) > 1:
                raise oauth_error(400, "invalid_dpop_proof", "Multiple DPoP proofs were sent.")
            htu = self._base() + "/oauth2/v1/token"
            err = self._check_dpop(proofs[0], "POST", htu, require_nonce=True, forbidden_keys=key_spkis)
            if err:
                error, desc = err
                extra = [("DPoP-Nonce", app.dpop_nonce)] if error == "use_dpop_nonce" else []
                raise oauth_error(400, error, desc, headers=extra)
            jkt = self._dpop_thumb
        token, lifetime = app.issue_token(client["client_id"], requested, jkt)
        raise Reply(200, {"token_type": "DPoP" if jkt else "Bearer", "expires_in": lifetime,
                          "access_token": token, "scope": " ".join(requested)},
                    headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _verify_assertion(self, assertion, form_client_id):
        app = self.app
        inv = lambda d: oauth_error(401, "invalid_client", d)  # noqa: E731
        try:
            header, claims, sig, signing_input = parse_compact_jws(assertion)
        except JwsError:
            raise inv("The client_assertion is not a well-formed JWT.")
        alg = header.get("alg")
        if alg not in ALGS:
            raise inv("The client_assertion JWT alg '%s' is not supported." % (alg,))
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(iss, str) or not iss:
            raise inv("The client_assertion token must contain an 'iss' claim.")
        if sub != iss:
            raise inv("The client_assertion 'sub' claim must match the 'iss' claim.")
        if form_client_id is not None and form_client_id != iss:
            raise inv("The client_id does not match the client_assertion 'iss' claim.")
        with app.lock:
            client = app.clients.get(iss)
        if client is None:
            raise inv("The client_assertion 'iss' claim does not identify a known client.")
        kid = header.get("kid")
        keys = client["keys"]
        if len(keys) > 1:
            match = [k for k in keys if kid is not None and k["kid"] == kid]
        else:
            match = keys if (kid is None or keys[0]["kid"] == kid) else []
        if not match:
            raise inv("The client_assertion JWT kid is invalid.")
        key = match[0]
        if jws_verify(alg, key["key"], signing_input, sig) is not None:
            raise inv("The client_assertion signature is invalid.")
        with app.lock:
            app.assertion_kids[key["kid"] or ""] = app.assertion_kids.get(key["kid"] or "", 0) + 1
        now = app.now()
        skew = app.cfg["clock_skew"]
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise inv("The client_assertion token must contain a 'jti' claim.")
        exp = claims.get("exp")
        keep = (exp if is_number(exp) else now) + 3600 + skew
        if not app.use_jti(app.assertion_jtis, (client["client_id"], jti), keep):
            raise inv("The client_assertion token has already been used.")
        aud = claims.get("aud")
        host = self.headers.get("Host") or ""
        expected = None
        if host in ("127.0.0.1:%d" % app.port, "localhost:%d" % app.port):
            expected = "https://%s/oauth2/v1/token" % host
        aud_ok = expected is not None and (aud == expected or
                                           (isinstance(aud, list) and len(aud) == 1 and aud[0] == expected))
        if not aud_ok:
            raise inv("The audience claim for client_assertion must be the endpoint invoked for the request.")
        if not is_number(exp):
            raise inv("The client_assertion token must contain an 'exp' claim.")
        if exp <= now:
            raise inv("The client_assertion token is expired.")
        if exp > now + 3600 + skew:
            raise inv("The client_assertion token has an expiration too far in the future.")
        iat = claims.get("iat")
        if iat is not None and (not is_number(iat) or iat > now + skew):
            raise inv("The client_assertion token was issued in the future ('iat').")
        nbf = claims.get("nbf")
        if nbf is not None and (not is_number(nbf) or nbf > now + skew):
            raise inv("The client_assertion token is not valid yet ('nbf').")
        return client, {k["spki"] for k in keys}

    def _metadata(self, ctx):
        base = self._base()
        raise Reply(200, {
            "issuer": base, "token_endpoint": base + "/oauth2/v1/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": sorted(ALGS),
            "dpop_signing_alg_values_supported": sorted(ALGS),
        })

    # -- OIDC sign-in (issue 19) ---------------------------------------------------
    def _oidc_metadata(self, ctx):
        base = self._base()
        raise Reply(200, {
            "issuer": base,
            "authorization_endpoint": base + "/oauth2/v1/authorize",
            "token_endpoint": base + "/oauth2/v1/token",
            "jwks_uri": base + "/oauth2/v1/keys",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp",
                                 "nonce", "name", "email", "preferred_username"],
        })

    def _html(self, status, title, body_html, headers=()):
        page = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"
                "<body><h1>%s</h1>%s</body></html>\n") % (html.escape(title), html.escape(title), body_html)
        raise Reply(status, page.encode(), headers=list(headers), content_type="text/html; charset=utf-8")

    @staticmethod
    def _single_params(pairs):
        out = {}
        for k, v in pairs:
            if k in out:
                return None, k
            out[k] = v
        return out, None

    def _authorize_check(self, params):
        """The app and redirect_uri are checked first, and a failure there is
        shown, never redirected (RFC 6749 4.1.2.1); any other problem
        redirects back with error and state. Returns (app, redirect_error)."""
        app = self.app
        with app.lock:
            wa = app.web_apps.get(params.get("client_id", ""))
        if wa is None:
            self._html(400, "Sign-in error", "<p>invalid_client: unknown client_id</p>")
        if params.get("redirect_uri") not in wa["redirect_uris"]:
            self._html(400, "Sign-in error", "<p>invalid_request: redirect_uri is not registered for this app</p>")
        if params.get("response_type") != "code":
            return wa, ("unsupported_response_type", "response_type must be code")
        scopes = (params.get("scope") or "").split(" ")
        if "openid" not in scopes:
            return wa, ("invalid_scope", "the openid scope is required")
        if not params.get("state") or len(params["state"]) > 1024:
            return wa, ("invalid_request", "state is required")
        if params.get("code_challenge_method") != "S256" or \
                not re.fullmatch(r"[A-Za-z0-9_-]{43}", params.get("code_challenge") or ""):
            return wa, ("invalid_request", "PKCE is required: code_challenge (S256) and code_challenge_method=S256")
        if len(params.get("nonce") or "") > 1024:
            return wa, ("invalid_request", "nonce too long")
        return wa, None

    @staticmethod
    def _redirect_to(uri, pairs):
        return uri + ("&" if "?" in uri else "?") + urllib.parse.urlencode(pairs)

    AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
                        "code_challenge", "code_challenge_method")

    def _authorize_form(self, ctx):
        try:
            pairs = urllib.parse.parse_qsl(ctx.query, keep_blank_values=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            self._html(400, "Sign-in error", "<p>invalid_request: bad query string</p>")
        params, dup = self._single_params(pairs)
        if params is None:
            self._html(400, "Sign-in error", "<p>invalid_request: %s given twice</p>" % html.escape(dup))
        wa, err = self._authorize_check(params)
        if err is not None:
            raise Reply(302, b"", headers=[("Location", self._redirect_to(
                params["redirect_uri"], [("error", err[0]), ("error_description", err[1]),
                                         ("state", params.get("state", ""))]))])
        with self.app.lock:
            users = sorted(self.app.users.values(), key=lambda u: u["login"])
        hidden = "".join('<input type="hidden" name="%s" value="%s">' % (k, html.escape(params[k], quote=True))
                         for k in self.AUTHORIZE_PARAMS if k in params)
        radios = "".join('<p><label><input type="radio" name="login" value="%s"> %s</label></p>'
                         % (html.escape(u["login"], quote=True), html.escape(u["login"]))
                         for u in users if u["status"] == "ACTIVE")
        self._html(200, "Sign in to the fake Okta",
                   '<form method="post" action="/oauth2/v1/authorize">%s%s'
                   '<p><button type="submit" id="signin">Sign in</button></p></form>' % (hidden, radios),
                   headers=[("Cache-Control", "no-store")])

    def _authorize_post(self, ctx, body):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            self._html(400, "Sign-in error", "<p>invalid_request: a form is expected</p>")
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            self._html(400, "Sign-in error", "<p>invalid_request: bad form</p>")
        params, dup = self._single_params(pairs)
        if params is None:
            self._html(400, "Sign-in error", "<p>invalid_request: %s given twice</p>" % html.escape(dup))
        wa, err = self._authorize_check(params)
        if err is not None:
            raise Reply(302, b"", headers=[("Location", self._redirect_to(
                params["redirect_uri"], [("error", err[0]), ("error_description", err[1]),
                                         ("state", params.get("state", ""))]))])
        app = self.app
        login = params.get("login", "")
        with app.lock:
            user = next((u for u in app.users.values() if u["login"].lower() == login.lower()), None)
            if user is None or user["status"] != "ACTIVE":
                user = None
            else:
                code = secrets.token_urlsafe(32)
                app.auth_codes[code] = {
                    "client_id": wa["client_id"], "redirect_uri": params["redirect_uri"],
                    "code_challenge": params["code_challenge"], "nonce": params.get("nonce"),
                    "user_id": user["id"], "scope": params.get("scope", ""),
                    "expires_at": app.now() + 60, "used": False}
        if user is None:
            self._html(403, "Sign-in failed", "<p>no active user with that login</p>")
        raise Reply(302, b"", headers=[("Location", self._redirect_to(
            params["redirect_uri"], [("code", code), ("state", params["state"])])),
            ("Cache-Control", "no-store")])

    def _web_client_auth(self, form):
        """client_secret_basic or client_secret_post (exactly one)."""
        app = self.app
        auths = self.headers.get_all("Authorization") or []
        basic = None
        if auths:
            parts = auths[0].split(None, 1)
            if len(auths) != 1 or len(parts) != 2 or parts[0].lower() != "basic":
                raise oauth_error(401, "invalid_client", "Client authentication failed.")
            try:
                raw = base64.b64decode(parts[1].strip(), validate=True).decode("utf-8")
                cid, sec = raw.split(":", 1)
                basic = (urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(sec))
            except (ValueError, UnicodeDecodeError):
                raise oauth_error(401, "invalid_client", "Client authentication failed.")
        if basic is not None and "client_secret" in form:
            raise oauth_error(400, "invalid_request",
                              "Can't supply multiple client credentials. Use one of the following: "
                              "credentials in the Authorization header, credentials in the post body, "
                              "or a client_assertion in the post body.")
        if basic is not None:
            cid, sec = basic
            if "client_id" in form and form["client_id"] != cid:
                raise oauth_error(401, "invalid_client", "Client authentication failed.")
        elif "client_secret" in form:
            cid, sec = form.get("client_id", ""), form["client_secret"]
        else:
            raise oauth_error(401, "invalid_client", "No client credentials found")
        with app.lock:
            wa = app.web_apps.get(cid)
        if wa is None or not hmac.compare_digest(wa["client_secret"].encode(), sec.encode()):
            raise oauth_error(401, "invalid_client", "The client secret supplied for a confidential client is invalid.")
        return wa

    def _token_code(self, ctx, form):
        app = self.app
        wa = self._web_client_auth(form)
        code, redirect_uri, verifier = form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
        if not code or not redirect_uri:
            raise oauth_error(400, "invalid_request", "code and redirect_uri are required.")
        if not verifier or not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier):
            raise oauth_error(400, "invalid_request", "PKCE verification failed: code_verifier is missing or malformed.")
        with app.lock:
            rec = app.auth_codes.get(code)
            if rec is not None:
                used = rec["used"]
                rec["used"] = True  # one use, whatever follows
        if rec is None or used or rec["expires_at"] < app.now():
            raise oauth_error(400, "invalid_grant", "The authorization code is invalid or has expired.")
        if rec["client_id"] != wa["client_id"] or rec["redirect_uri"] != redirect_uri:
            raise oauth_error(400, "invalid_grant", "The authorization code is invalid or has expired.")
        challenge = b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())
        if not hmac.compare_digest(challenge, rec["code_challenge"]):
            raise oauth_error(400, "invalid_grant", "PKCE verification failed.")
        with app.lock:
            user = app.users.get(rec["user_id"])
        if user is None or user["status"] != "ACTIVE":
            raise oauth_error(400, "invalid_grant", "The user is no longer active.")
        claims = app.id_token_claims(self._base(), wa["client_id"], user, rec["nonce"], wa["id_token_lifetime"])
        id_token = app.sign_id_token(claims)
        with app.lock:
            app.id_tokens_issued += 1
        raise Reply(200, {"token_type": "Bearer", "expires_in": wa["id_token_lifetime"],
                          "access_token": secrets.token_urlsafe(48), "scope": rec["scope"],
                          "id_token": id_token},
                    headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    # -- pagination ------------------------------------------------------------
    def _params(self, ctx):
        try:
            pairs = urllib.parse.parse_qsl(ctx.query, keep_blank_values=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise okta_error(400, "E0000003", "The request was not valid: bad query string")
        out = {}
        for k, v in pairs:
            out.setdefault(k, v)
        return out, pairs

    def _paginate(self, ctx, kind, items, params, pairs, render, paged=True):
        """items: list of dicts with 'id'. Raises the 200 Reply."""
        app = self.app
        default, maximum = LIST_DEFAULTS[kind]
        lim_s = params.get("limit")
        if lim_s is not None:
            if not re.fullmatch(r"[0-9]{1,9}", lim_s) or int(lim_s) < 1:
                raise err_validation("limit: must be a positive integer")
            limit = min(int(lim_s), maximum)
        else:
            limit = default
        with app.lock:
            ps = app.cfg["page_size"]
        eff = min(limit, ps) if (ps and paged) else limit
        items = sorted(items, key=lambda x: x["id"])
        after = params.get("after")
        if after is not None and paged:
            last = app.read_cursor(ctx.path, after)
            if last is None:
                raise err_validation("after: the pagination cursor is invalid")
            items = [i for i in items if i["id"] > last]
        page = items[:eff]
        base = self._base()
        self_url = base + ctx.raw_path
        links = []
        next_url = None
        if paged and len(items) > eff and page:
            q = [(k, v) for k, v in pairs if k not in ("limit", "after")]
            q.append(("limit", lim_s if lim_s is not None else str(eff)))
            q.append(("after", app.make_cursor(ctx.path, page[-1]["id"])))
            next_url = base + ctx.path + "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote, safe="")
        if next_url is None:
            links.append(("Link", '<%s>; rel="self"' % self_url))
        else:
            with app.lock:
                style = app.cfg["link_style"]
                app.link_counter += 1
                n = app.link_counter
            if style == "alternate":
                style = "combined" if n % 2 else "separate"
            if style == "combined":
                links.append(("Link", '<%s>; rel="self", <%s>; rel="next"' % (self_url, next_url)))
            else:
                links.append(("Link", '<%s>; rel="self"' % self_url))
                links.append(("Link", '<%s>; rel="next"' % next_url))
        raise Reply(200, [render(i, base) for i in page], headers=links)

    def _search(self, params, key, attrs, co_attrs, ops, ci):
        expr = params.get(key)
        if expr is None:
            return None
        try:
            ast = parse_expression(expr, attrs, ops, co_attrs)
        except SearchError as e:
            raise okta_error(400, "E0000031", "Invalid search criteria.", [str(e)])
        return lambda obj: eval_expression(ast, lambda a: obj.get(attrs[a]), ci)

    # -- resources -------------------------------------------------------------
    def _list_users(self, ctx):
        params, pairs = self._params(ctx)
        with self.app.lock:
            users = [dict(u) for u in self.app.users.values()]
        s = self._search(params, "search", USER_ATTRS, USER_CO, ("eq", "sw", "co"), True)
        f = self._search(params, "filter", USER_ATTRS, (), ("eq",), False)
        q = params.get("q")
        paged = True
        if s:
            users = [u for u in users if s(u)]
        else:
            users = [u for u in users if u["status"] != "DEPROVISIONED"]
        if f:
            users = [u for u in users if f(u)]
        if q is not None:
            ql = q.casefold()
            users = [u for u in users if any(u[k].casefold().startswith(ql)
                                             for k in ("firstName", "lastName", "email"))]
            paged = False
        return self._paginate(ctx, "users", users, params, pairs, render_user, paged)

    def _get_user(self, ctx, ident):
        u = self.app.find_user(ident) if "/" not in ident else None
        if u is None:
            raise err_not_found(ident, "User")
        raise Reply(200, render_user(u, self._base()))

    def _user_groups(self, ctx, ident):
        app = self.app
        u = app.find_user(ident) if "/" not in ident else None
        if u is None:
            raise err_not_found(ident, "User")
        params, pairs = self._params(ctx)
        with app.lock:
            groups = [dict(app.groups[g]) for (g, uid) in app.memberships if uid == u["id"]]
        return self._paginate(ctx, "user_groups", groups, params, pairs, render_group)

    def _list_groups(self, ctx):
        params, pairs = self._params(ctx)
        with self.app.lock:
            groups = [dict(g) for g in self.app.groups.values()]
        s = self._search(params, "search", GROUP_ATTRS, GROUP_CO, ("eq", "sw", "co"), True)
        f = self._search(params, "filter", GROUP_FILTER_ATTRS, (), ("eq",), False)
        paged = True
        if s:
            groups = [g for g in groups if s(g)]
        if f:
            groups = [g for g in groups if f(g)]
        q = params.get("q")
        if q is not None:
            ql = q.casefold()
            groups = [g for g in groups if g["name"].casefold().startswith(ql)]
            paged = False
            if "limit" not in params:
                params = dict(params, limit="300")
        return self._paginate(ctx, "groups", groups, params, pairs, render_group, paged)

    def _group(self, gid):
        with self.app.lock:
            g = self.app.groups.get(gid)
            return dict(g) if g else None

    def _get_group(self, ctx, gid):
        g = self._group(gid)
        if g is None:
            raise err_not_found(gid, "UserGroup")
        raise Reply(200, render_group(g, self._base()))

    def _group_users(self, ctx, gid):
        app = self.app
        if self._group(gid) is None:
            raise err_not_found(gid, "UserGroup")
        params, pairs = self._params(ctx)
        with app.lock:
            users = [dict(app.users[u]) for (g, u) in app.memberships if g == gid]
        return self._paginate(ctx, "group_users", users, params, pairs, render_user)

    def _group_owners(self, ctx, gid):
        app = self.app
        g = self._group(gid)
        if g is None:
            raise err_not_found(gid, "UserGroup")
        params, pairs = self._params(ctx)
        s = self._search(params, "search", OWNER_ATTRS, (), ("eq",), True)
        owners = []
        with app.lock:
            for o in g["owners"]:
                if o["type"] == "USER":
                    u = app.users.get(o["id"])
                    dn = o.get("displayName") or ("%s %s" % (u["firstName"], u["lastName"]) if u else o["id"])
                else:
                    gg = app.groups.get(o["id"])
                    dn = o.get("displayName") or (gg["name"] if gg else o["id"])
                owners.append({"id": o["id"], "type": o["type"], "displayName": dn,
                               "lastUpdated": o.get("lastUpdated", g["lastUpdated"]),
                               "originId": o.get("originId"), "originType": o.get("originType", "OKTA_DIRECTORY"),
                               "resolved": o.get("resolved", True)})
        if s:
            owners = [o for o in owners if s(o)]
        return self._paginate(ctx, "group_owners", owners, params, pairs, lambda o, base: o)

    # Issue 20 item 3: group rules. Okta lists every rule of the org, 50 a
    # page by default and at most 200 (limit), with an after cursor.
    def _list_group_rules(self, ctx):
        params, pairs = self._params(ctx)
        with self.app.lock:
            rules = [dict(r) for r in self.app.group_rules.values()]
        search = params.get("search")
        if search is not None:
            rules = [r for r in rules if r["name"].startswith(search)]
        return self._paginate(ctx, "group_rules", rules, params, pairs, render_group_rule)

    def _get_group_rule(self, ctx, rid):
        with self.app.lock:
            r = self.app.group_rules.get(rid)
            r = dict(r) if r else None
        if r is None:
            raise err_not_found(rid, "GroupRule")
        raise Reply(200, render_group_rule(r, self._base()))

    def _membership(self, ctx, gid, uid, body):
        app = self.app
        if body:
            raise okta_error(400, "E0000003", "The request body was not well-formed.")
        g = self._group(gid)
        if g is None:
            raise err_not_found(gid, "UserGroup")
        if g["type"] != "OKTA_GROUP":
            raise err_forbidden()
        with app.lock:
            if uid not in app.users:
                raise err_not_found(uid, "User")
            key = (gid, uid)
            changed = (key not in app.memberships) if ctx.method == "PUT" else (key in app.memberships)
            if ctx.method == "PUT":
                app.memberships.add(key)
            else:
                app.memberships.discard(key)
            if changed:
                app.groups[gid]["lastMembershipUpdated"] = iso_now(app.now())
        raise Reply(204, b"")

    # -- fault injection -------------------------------------------------------
    def _apply_fault(self, ctx, rule):
        """Returns True when the request is fully handled (or dropped)."""
        app = self.app
        action = rule["action"]
        _, rl = app.rate_take(ctx.bucket, consume=False)
        if action == "delay":
            time.sleep(float(rule.get("seconds", 1.0)))
            return False
        if action == "hold":
            # like delay, but until the test says (POST /__control/release
            # {"name": NAME}) or `seconds` pass: tests wait on events, not clocks
            self._release_event(str(rule.get("name", ""))).wait(float(rule.get("seconds", 60)))
            return False
        if action == "hang":
            self._hang(float(rule.get("seconds", 600)))
            ctx.status = "hang"
            return True
        if action == "reset":
            ctx.status = "reset"
            self._abort_connection()
            return True
        hdrs = [("X-Okta-Request-Id", ctx.request_id)]
        if action == "status":
            status = int(rule.get("status", 500))
            if rule.get("rate_limit_headers", True):
                if status == 429:
                    rl = [(k, "0") if k == "X-Rate-Limit-Remaining" else (k, v) for k, v in rl]
                hdrs += rl
            extra = rule.get("headers") or {}
            hdrs = [(k, v) for k, v in hdrs if k.lower() not in {x.lower() for x in extra}]
            hdrs += [(k, str(v)) for k, v in extra.items() if v is not None]
            if "body" in rule:
                body = rule["body"]
            elif status in (204, 304) or status < 200:
                body = b""
            else:
                code, summary = DEFAULT_ERROR_FOR_STATUS.get(status, ("E0000009", "Internal Server Error"))
                body = okta_error(status, code, summary).body
            ctype = None
            for k, v in extra.items():
                if k.lower() == "content-type":
                    ctype = v
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            ctx.status = status
            self._send(status, body, hdrs, content_type=None if ctype else "application/json")
            return True
        hdrs += rl
        if action == "malformed":
            ctx.status = 200
            self._send(200, '{"id": "00uMALFORMED", "status": "ACTIVE", <this is not json>', hdrs)
            return True
        if action == "wrong_type":
            ctx.status = 200
            p = ctx.path
            if p.startswith("/oauth2/"):
                body = {"token_type": 7, "expires_in": "soon", "access_token": 12345, "scope": ["okta.users.read"]}
            elif re.fullmatch(r"/api/v1/(users|groups)(/[^/]+/(groups|users|owners))?", p):
                body = [{"id": 12345, "profile": "not-an-object", "type": 7, "_links": []}]
            else:
                body = {"id": 12345, "profile": ["not", "an", "object"], "type": 7, "_links": "nope"}
            self._send(200, body, hdrs)
            return True
        if action == "truncated":
            ctx.status = 200
            partial = b'[{"id":"00uTRUNCATED","status":"ACTIVE","profile":{"login":"trunc'
            self.send_response(200)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(partial) + int(rule.get("missing", 4096))))
            self.end_headers()
            self.wfile.write(partial)
            self._sent = True
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if action == "oversized":
            ctx.status = 200
            self._stream_oversized(int(rule.get("bytes", 20 * 1024 * 1024)), hdrs)
            return True
        return False

    def _release_event(self, name):
        with self.app.lock:
            ev = self.app.releases.get(name)
            if ev is None:
                ev = self.app.releases[name] = threading.Event()
            return ev

    def _hang(self, seconds):
        """Never answer; return when the peer closes or `seconds` elapse."""
        self.close_connection = True
        deadline = time.time() + seconds
        sock = self.connection
        while time.time() < deadline:
            try:
                r, _, _ = select.select([sock], [], [], min(0.2, max(0.0, deadline - time.time())))
                if r:
                    sock.settimeout(0.5)
                    data = sock.recv(4096)
                    if not data:
                        break
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            except (OSError, ValueError):
                break
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _abort_connection(self):
        self.close_connection = True
        self._sent = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            os.close(self.connection.detach())
        except OSError:
            pass

    def _stream_oversized(self, size, hdrs):
        elem = json.dumps({"id": "00uOVERSIZED", "status": "ACTIVE", "profile": {
            "login": "big@example.com", "email": "big@example.com", "firstName": "Big", "lastName": "X" * 800}})
        elem_b = elem.encode()
        n = max(1, (size - 2 + 1) // (len(elem_b) + 1))
        total = 2 + n * len(elem_b) + (n - 1)
        self.send_response(200)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        self._sent = True
        buf = bytearray(b"[")
        for i in range(n):
            if i:
                buf += b","
            buf += elem_b
            if len(buf) >= 65536:
                self.wfile.write(bytes(buf))
                buf = bytearray()
        buf += b"]"
        self.wfile.write(bytes(buf))

    # -- control API -----------------------------------------------------------
    def _control_id_token(self, data):
        """Mint an ID token for any user with chosen claims (tests of forged,
        expired and other-audience tokens): user (id or login; or sub alone),
        aud (default: the first web app), iss (default: this server's issuer),
        iat, exp (default iat + 3600), nonce, alg (RS256|HS256|none), key
        (org|forged), kid (false: none), claims (merged; null removes one),
        header (extra header members)."""
        app = self.app
        with app.lock:
            ident = data.get("user")
            user = None
            if ident is not None:
                user = app.users.get(ident) or next(
                    (u for u in app.users.values() if u["login"].lower() == str(ident).lower()), None)
                if user is None:
                    raise LookupError("unknown user %r" % (ident,))
            default_aud = next(iter(app.web_apps), None)
        if user is None:
            if not isinstance(data.get("sub"), str):
                raise ValueError("name a user, or give sub")
            user = {"id": data["sub"], "login": data["sub"], "firstName": "", "lastName": "", "email": ""}
        aud = data.get("aud", default_aud)
        if aud is None:
            raise ValueError("no web app in the seed: give aud")
        iat = int(data.get("iat", app.now()))
        claims = app.id_token_claims(data.get("iss", self._base()), aud, user, data.get("nonce"), now=iat)
        claims["exp"] = int(data.get("exp", iat + 3600))
        for k, v in (data.get("claims") or {}).items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        tok = app.sign_id_token(claims, alg=data.get("alg", "RS256"), key=data.get("key", "org"),
                                kid=data.get("kid"), header_extra=data.get("header"))
        return {"id_token": tok, "claims": claims}

    def _control(self, path):
        app = self.app
        m = self.command
        try:
            body, _ = self._read_body()
        except Reply as r:
            return self._send(r.status, r.body, close=True)
        data = {}
        if m == "POST" and body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                return self._send(400, {"error": "body is not JSON"})
            if not isinstance(data, dict):
                return self._send(400, {"error": "body must be a JSON object"})
        app.log("control %s %s" % (m, path))
        try:
            out = self._control_dispatch(m, path[len("/__control/"):].rstrip("/"), data)
        except LookupError as e:
            return self._send(404, {"error": str(e)})
        except (ValueError, TypeError, re.error, SeedError) as e:
            return self._send(400, {"error": str(e)})
        return self._send(200, out)

    def _control_dispatch(self, m, what, data):
        app = self.app
        if m == "GET" and what == "state":
            return app.state_view()
        if m == "GET" and what == "config":
            return app.config_view()
        if m == "GET" and what == "requests":
            with app.lock:
                return list(app.requests)
        if m == "POST" and what == "requests/clear":
            with app.lock:
                app.requests = []
            return {"ok": True}
        if m == "GET" and what == "faults":
            with app.lock:
                return [{k: v for k, v in f.items() if k != "re"} for f in app.faults]
        if m == "POST" and what == "faults":
            rules = data.get("faults")
            if not isinstance(rules, list):
                raise ValueError("body must be {\"faults\": [rule, ...]}")
            app.add_faults(rules)
            return {"ok": True, "pending": len(app.faults)}
        if m == "POST" and what == "faults/clear":
            with app.lock:
                app.faults = []
            return {"ok": True}
        if m == "POST" and what == "release":
            self._release_event(str(data.get("name", ""))).set()
            return {"ok": True}
        if m == "POST" and what == "config":
            return app.apply_config(data)
        if m == "POST" and what == "reset":
            app.reset()
            return {"ok": True}
        if m == "POST" and what == "id_token":
            return self._control_id_token(data)
        if m == "POST" and what == "oidc_keys":
            if data.get("op") != "rotate":
                raise ValueError("op must be rotate")
            return {"ok": True, "kid": app.rotate_id_key(bool(data.get("retire_old", False)))}
        if m == "POST" and what == "client_keys":
            # The app's PUBLIC KEYS, as an admin edits them while rotating:
            # add a key (kid + public_key_pem or jwk), remove one by kid.
            op, kid = data.get("op"), data.get("kid")
            if op not in ("add", "remove") or not isinstance(kid, str) or not kid:
                raise ValueError("body must be {op: add|remove, kid, public_key_pem|jwk}")
            with app.lock:
                client = app.pick_client(data.get("client_id"))
                if op == "add":
                    if any(k["kid"] == kid for k in client["keys"]):
                        raise ValueError("kid %r exists" % kid)
                    new = load_client({"client_id": client["client_id"],
                                       "keys": [{"kid": kid, "public_key_pem": data.get("public_key_pem"),
                                                 "jwk": data.get("jwk")}]})["keys"][0]
                    client["keys"] = client["keys"] + [new]
                else:
                    left = [k for k in client["keys"] if k["kid"] != kid]
                    if len(left) == len(client["keys"]):
                        raise LookupError("no key %r" % kid)
                    if not left:
                        raise ValueError("an app keeps at least one key")
                    client["keys"] = left
                return {"ok": True, "kids": [k["kid"] for k in client["keys"]]}
        if m == "POST" and what == "membership":
            op, gid, uid = data.get("op"), data.get("group"), data.get("user")
            if op not in ("add", "remove"):
                raise ValueError("op must be add|remove")
            with app.lock:
                if gid not in app.groups:
                    raise LookupError("unknown group %r" % (gid,))
                if uid not in app.users:
                    raise LookupError("unknown user %r" % (uid,))
                if op == "add":
                    app.memberships.add((gid, uid))
                else:
                    app.memberships.discard((gid, uid))
                app.groups[gid]["lastMembershipUpdated"] = iso_now(app.now())
            return {"ok": True}
        if m == "POST" and what == "users":
            op = data.get("op")
            user = {k: v for k, v in data.items() if k != "op"}
            with app.lock:
                if op == "add":
                    if user.get("id") in app.users:
                        raise ValueError("user exists")
                    u = load_user(user)
                elif op == "update":
                    if user.get("id") not in app.users:
                        raise LookupError("unknown user %r" % (user.get("id"),))
                    old = app.users[user["id"]]
                    u = load_user(user, old)
                    ts = iso_now(app.now())
                    u["lastUpdated"] = ts
                    if u["status"] != old["status"]:
                        u["statusChanged"] = ts
                elif op == "delete":
                    # Issue 20 item 2: a user deleted in Okta is gone: 404
                    # by id and login, out of every group.
                    if user.get("id") not in app.users:
                        raise LookupError("unknown user %r" % (user.get("id"),))
                    del app.users[user["id"]]
                    app.memberships = {(g, u) for (g, u) in app.memberships if u != user["id"]}
                    return {"ok": True}
                else:
                    raise ValueError("op must be add|update|delete")
                app.users[u["id"]] = u
            return {"ok": True, "user": u}
        if m == "POST" and what == "groups":
            op = data.get("op")
            grp = {k: v for k, v in data.items() if k != "op"}
            with app.lock:
                if op == "add":
                    if grp.get("id") in app.groups:
                        raise ValueError("group exists")
                    g = load_group(grp)
                elif op == "update":
                    if grp.get("id") not in app.groups:
                        raise LookupError("unknown group %r" % (grp.get("id"),))
                    g = load_group(grp, app.groups[grp["id"]])
                    g["lastUpdated"] = iso_now(app.now())
                elif op == "delete":
                    # Issue 20 item 3: a group deleted in Okta: 404 by id,
                    # gone from searches, its memberships with it.
                    if grp.get("id") not in app.groups:
                        raise LookupError("unknown group %r" % (grp.get("id"),))
                    del app.groups[grp["id"]]
                    app.memberships = {(g, u) for (g, u) in app.memberships if g != grp["id"]}
                    return {"ok": True}
                else:
                    raise ValueError("op must be add|update|delete")
                app.groups[g["id"]] = g
            return {"ok": True, "group": g}
        if m == "POST" and what == "group_rules":
            # Issue 20 item 3: add, update or delete a group rule.
            op = data.get("op")
            rule = {k: v for k, v in data.items() if k != "op"}
            with app.lock:
                if op == "add":
                    if rule.get("id") in app.group_rules:
                        raise ValueError("group rule exists")
                    r = load_group_rule(rule)
                elif op == "update":
                    if rule.get("id") not in app.group_rules:
                        raise LookupError("unknown group rule %r" % (rule.get("id"),))
                    r = load_group_rule(rule, app.group_rules[rule["id"]])
                    r["lastUpdated"] = iso_now(app.now())
                elif op == "delete":
                    if app.group_rules.pop(rule.get("id"), None) is None:
                        raise LookupError("unknown group rule %r" % (rule.get("id"),))
                    return {"ok": True}
                else:
                    raise ValueError("op must be add|update|delete")
                app.group_rules[r["id"]] = r
            return {"ok": True, "rule": r}
        raise LookupError("no control endpoint %s /__control/%s" % (m, what))


# --------------------------------------------------------------------------
# 7. Server
# --------------------------------------------------------------------------

class FakeOktaServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, addr, app, ssl_ctx):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def server_bind(self):
        # Skip HTTPServer.server_bind's getfqdn() (slow without DNS).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def get_request(self):
        sock, addr = self.socket.accept()
        # Headers and body go out in separate writes: without TCP_NODELAY,
        # Nagle plus the client's delayed ACK adds ~40 ms to every answer,
        # which no real Okta front end does.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.app.lock:
            self.app.connections += 1
        return self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the per-connection thread, never in the accept loop.
        try:
            request.settimeout(10)
            request.do_handshake()
        except (ssl.SSLError, OSError) as e:
            with self.app.lock:
                self.app.tls_failures += 1
            self.app.log("TLS handshake with %s failed: %s" % (client_address[0], e))
            return
        with self.app.lock:
            self.app.tls_handshakes += 1
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        self.app.log("unhandled error from %s:\n%s" % (client_address, traceback.format_exc()))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Strict fake Okta org for okta-jit tests")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--cert-mode", choices=("good", "untrusted", "wronghost"), default="good")
    args = ap.parse_args(argv)

    os.makedirs(args.workdir, exist_ok=True)
    try:
        with open(args.seed, "rb") as f:
            seed = json.load(f)
        if not isinstance(seed, dict):
            raise SeedError("seed must be a JSON object")
        app = FakeOkta(seed)
    except (OSError, ValueError, SeedError, KeyError, TypeError) as e:
        sys.stderr.write("fake_okta: bad seed %s: %s\n" % (args.seed, e))
        return 2
    ctx = build_tls_context(args.workdir, args.cert_mode)
    server = FakeOktaServer((args.host, args.port), app, ctx)
    app.port = server.server_address[1]

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    _write_atomic(os.path.join(args.workdir, "port"), ("%d\n" % app.port).encode())
    app.log("listening on https://%s:%d (cert-mode %s)" % (args.host, app.port, args.cert_mode))
    try:
        # shutdown() (SIGTERM) is seen at the next poll: every test stops one
        # or more fakes, and 0.2 s made that ~0.2 s per fake (~2 min a suite)
        server.serve_forever(poll_interval=0.02)
    finally:
        server.server_close()
        app.log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
