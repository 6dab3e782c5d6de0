"""Issue 19: okta-jitd's web socket. Every request there carries the
signed-in user's Okta ID token (T_ID_TOKEN); okta-jitd verifies it against
the fake Okta's published keys, reads the user by id and acts as that
user. A forged, expired, other-audience, alg-none, HS256 or missing token,
or a sign-in older than [web] session_max, is refused and changes nothing;
olivia (the owner) approves alice's request through her token, and alice
cannot approve her own.

The tokens are minted by the fake Okta itself (POST /__control/id_token):
the good ones with its published signing key, the forged one with a key it
never publishes.
"""
import os
import time

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, APPROVE, AUDIT, BOB, CAROL, G_PRODDB, G_WEB, KEYS, LIST, OLIVIA, P_ERROR, P_OK,
                             PING, REQUEST, T_CODE, T_DURATION, T_GROUP, T_ID, T_MESSAGE, T_REASON, T_USER, frame,
                             raw_exchange, tlv)

T_ID_TOKEN = 42
WEB_CLIENT = "0oaWEBJIT0001"
WEB_SECTION = """
[web]
client_id = %s
session_max = 10m
socket = %s
"""


def web_env(jit_factory):
    """okta-jitd with [web]; its web socket beside the public one."""
    env = jit_factory(start=False)
    env.web_sock = os.path.join(env.sockdir, "web.sock")
    with open(env.conf) as f:
        text = f.read()
    with open(env.conf, "w") as f:
        f.write(text + WEB_SECTION % (WEB_CLIENT, env.web_sock))
    env.daemon.start()
    assert os.path.exists(env.web_sock), env.daemon.log()[-2000:]
    return env


def mint(env, user, **kw):
    body = dict(kw, user=user)
    body.setdefault("aud", WEB_CLIENT)
    return env.okta.control("id_token", body)["id_token"]


def web_call(env, ftype, token=None, fields=b""):
    payload = (tlv(T_ID_TOKEN, token) if token is not None else b"") + fields
    r = raw_exchange(env.web_sock, frame(ftype, payload), shutdown_write=True)
    assert r is not None and r[0] in (P_OK, P_ERROR), r
    return r[0], dict((t, v) for t, v in reversed(r[1]))  # first value of each tag


def request_fields(group, dur="10m", reason=None):
    f = tlv(T_GROUP, group) + tlv(T_DURATION, dur)
    if reason is not None:
        f += tlv(T_REASON, reason)
    return f


def test_web_socket_mode_and_a_valid_token_acts_as_its_user(jit_factory):
    env = web_env(jit_factory)
    st = os.stat(env.web_sock)
    assert st.st_mode & 0o777 == 0o660 and st.st_uid == 0
    tok = mint(env, ALICE)
    t, f = web_call(env, PING, tok)
    assert t == P_OK and f[T_USER] == "ojt-alice", f
    # web-sudo's flow approves itself: the grant is alice's, made as hers
    t, f = web_call(env, REQUEST, tok, request_fields("web-sudo", reason="deploy"))
    assert t == P_OK, f
    gid = int(f[T_ID])
    g = env.grant(gid)
    assert g["user"] == "ojt-alice" and g["requester"] == "ojt-alice" and g["okta_user_id"] == ALICE
    assert ALICE in env.members(G_WEB)
    requested = [a for a in env.audit(gid) if a["event"] == "requested"]
    assert requested and requested[0]["actor"] == "ojt-alice" and "channel=web" in requested[0]["detail"]
    t, f = web_call(env, LIST, tok)
    assert t == P_OK and f.get(T_USER) == "ojt-alice", f


def test_bad_tokens_are_refused_and_change_nothing(jit_factory):
    env = web_env(jit_factory)
    now = int(time.time())
    bad = {
        "forged": mint(env, ALICE, key="forged"),
        "expired": mint(env, ALICE, iat=now - 7200, exp=now - 3600),
        "other_audience": mint(env, ALICE, aud="0oaSOMEOTHERAPP"),
        "other_issuer": mint(env, ALICE, iss="https://evil.example.com"),
        "alg_none": mint(env, ALICE, alg="none"),
        "alg_none_with_a_signature": mint(env, ALICE, alg="none") + "AAAA",
        "hs256_public_key": mint(env, ALICE, alg="HS256"),
        "too_old_sign_in": mint(env, ALICE, iat=now - 11 * 60, exp=now + 3600),  # session_max 10m
        "unknown_kid": mint(env, ALICE, kid="no-such-kid"),
        "garbage": "not.a.token",
    }
    # what the refusal says (each check stands on its own: alg none and
    # HS256 fail the header check before any signature is tried)
    why = {"forged": "signature", "expired": "expired", "other_audience": "another audience",
           "other_issuer": "issuer", "alg_none": "three parts", "alg_none_with_a_signature": "alg is not RS256",
           "hs256_public_key": "alg is not RS256",
           "too_old_sign_in": "session_max", "unknown_kid": "kid", "garbage": "base64url"}
    env.okta.clear_requests()
    for name, tok in bad.items():
        t, f = web_call(env, REQUEST, tok, request_fields("web-sudo", reason="x"))
        assert t == P_ERROR and f[T_CODE] == "unauthenticated", (name, f)
        assert why[name] in f[T_MESSAGE], (name, f)
        t, f = web_call(env, PING, tok)
        assert t == P_ERROR and f[T_CODE] == "unauthenticated", (name, f)
    # no token at all, and two tokens
    t, f = web_call(env, REQUEST, None, request_fields("web-sudo"))
    assert t == P_ERROR and f[T_CODE] == "unauthenticated", f
    good = mint(env, ALICE)
    t, f = web_call(env, REQUEST, good, tlv(T_ID_TOKEN, good) + request_fields("web-sudo"))
    assert t == P_ERROR and f[T_CODE] == "unauthenticated", f
    # nothing changed: no grant, no membership, no change sent to Okta
    assert env.grants() == []
    assert ALICE not in env.members(G_WEB)
    assert not [r for r in env.okta_requests() if r["method"] in ("PUT", "DELETE")]
    # every refusal is in the trail, at the bounded rate of refusals: the
    # first of the minute with its reason and channel, the rest counted
    rows = [a["detail"] for a in env.audit(event="refused") if a["actor"] == "okta-jit-web"]
    assert "reason=id-token-signature" in rows[0] and "channel=web" in rows[0], rows
    counted = sum(int(d.split("repeated=")[1].split()[0]) if "repeated=" in d else 1 for d in rows)
    assert counted == 2 * len(bad) + 2, rows


def test_inactive_user_and_requests_not_served_on_the_web_socket(jit_factory):
    env = web_env(jit_factory)
    t, f = web_call(env, PING, mint(env, CAROL))  # SUSPENDED in Okta
    assert t == P_ERROR and f[T_CODE] == "forbidden" and "SUSPENDED" in f[T_MESSAGE], f
    tok = mint(env, BOB)
    t, f = web_call(env, KEYS, tok, tlv(T_USER, "ojt-bob"))
    assert t == P_ERROR and f[T_CODE] == "forbidden", f
    # AUDIT there reads one grant's trail (test_web_audit_list.py), never
    # the whole trail or a user's
    for fields in (b"", tlv(T_USER, "ojt-bob"), tlv(T_GROUP, "prod-db-ssh")):
        t, f = web_call(env, AUDIT, tok, fields)
        assert t == P_ERROR and f[T_CODE] == "invalid" and len(f) == 2, f
    # a token means nothing on the public socket: refused, not ignored
    r = raw_exchange(env.sock, frame(PING, tlv(T_ID_TOKEN, tok)), shutdown_write=True)
    assert r[0] == P_ERROR and dict(r[1])[T_CODE] == "invalid", r
    # another user's name in the request does not make it theirs
    t, f = web_call(env, REQUEST, tok, request_fields("web-sudo") + tlv(T_USER, "ojt-alice"))
    assert t == P_ERROR and f[T_CODE] == "forbidden", f
    assert env.grants() == []


def test_owner_approves_through_a_token_and_nobody_approves_their_own(jit_factory):
    env = web_env(jit_factory)
    alice, olivia = mint(env, ALICE), mint(env, OLIVIA)
    t, f = web_call(env, REQUEST, alice, request_fields("prod-db-ssh", dur="1h", reason="incident 42"))
    assert t == P_OK, f
    gid = f[T_ID]
    assert env.grant(gid)["state"] == "pending"
    # alice, signed in, approving her own request: refused by Okta id
    t, f = web_call(env, APPROVE, alice, tlv(T_ID, gid))
    assert t == P_ERROR and f[T_CODE] == "forbidden" and "own request" in f[T_MESSAGE], f
    assert env.grant(gid)["state"] == "pending" and ALICE not in env.members(G_PRODDB)
    # a forged token naming olivia approves nothing
    t, f = web_call(env, APPROVE, mint(env, OLIVIA, key="forged"), tlv(T_ID, gid))
    assert t == P_ERROR and f[T_CODE] == "unauthenticated", f
    assert env.grant(gid)["state"] == "pending"
    # olivia owns prod-db-ssh in Okta: her approval through the web stands
    t, f = web_call(env, APPROVE, olivia, tlv(T_ID, gid) + tlv(T_REASON, "ok"))
    assert t == P_OK, f
    g = env.grant(gid)
    assert g["state"] == "active" and g["approver"] == "ojt-olivia@example.com"
    assert ALICE in env.members(G_PRODDB)
    approved = [a for a in env.audit(int(gid)) if a["event"] == "approved"]
    # issue 22: the approver by the local name, the Okta login beside it in the detail
    assert approved and approved[0]["actor"] == "ojt-olivia" and "channel=web" in approved[0]["detail"], \
        approved
    assert "actor_login=ojt-olivia@example.com" in approved[0]["detail"].split(), approved
