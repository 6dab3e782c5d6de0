"""Malformed frames on okta-jitd's socket, as root and as an unprivileged
user: each bad frame closes that connection (or gets an ERROR frame), the
daemon keeps serving, and nothing is granted."""
import json
import os
import socket
import subprocess
import time


from daemon_fixtures import *  # noqa: F401,F403

BAD_FRAMES = {
    "garbage": os.urandom(16) + b"\x00" * 48,
    "bad_magic": b"OJIX" + bytes([1, PING, 0, 0]) + b"\0\0\0\0",
    "version_2": frame(PING, version=2),
    "version_0": frame(PING, version=0),
    "reserved_nonzero": frame(PING, reserved=b"\0\1"),
    "reserved_nonzero_hi": frame(PING, reserved=b"\x80\0"),
    "length_10MB": frame(REQUEST, b"", length=10 * 1024 * 1024),
    "length_just_over_max": frame(REQUEST, b"", length=MAX_REQUEST + 1),
    "tag_0": frame(CHECK, tlv(0, "web-sudo")),
    "tag_250": frame(CHECK, tlv(250, "web-sudo")),
    "tag_53": frame(CHECK, tlv(53, "web-sudo")),  # the first unknown tag (43 is WEB_URL; 44, 45: LIST's CURSOR, LIMIT; 46: FLOWS' REQUESTERS; 47-50: DRIFT's, issue 20; 51, 52: KEY_ROTATE's, issue 21)
    "field_len_past_end": frame(CHECK, struct.pack(">BH", T_GROUP, 200) + b"web-sudo"),
    "field_header_cut": frame(CHECK, tlv(T_GROUP, "web-sudo") + b"\x02\x00"),
    "nul_in_value": frame(CHECK, tlv(T_GROUP, "web\0sudo")),
    "nul_in_user": frame(REQUEST, tlv(T_GROUP, "web-sudo") + tlv(T_USER, "ojt-alice\0root")
                         + tlv(T_DURATION, "60")),
    "type_99": frame(99),
    "type_0": frame(0),
    "type_100_reply": frame(P_OK),
}

# frames the daemon parses and answers with an ERROR frame
ERROR_FRAMES = {
    "empty_check": frame(CHECK),
    "request_no_group": frame(REQUEST, tlv(T_DURATION, "60")),
    "request_bad_duration": frame(REQUEST, tlv(T_GROUP, "web-sudo") + tlv(T_DURATION, "-5")),
    "request_huge_duration": frame(REQUEST, tlv(T_GROUP, "web-sudo") + tlv(T_DURATION, "99999999999999999999")),
    "approve_no_id": frame(APPROVE),
    "approve_bad_id": frame(APPROVE, tlv(T_ID, "1; DROP TABLE grants")),
    "revoke_id_zero": frame(REVOKE, tlv(T_ID, "0")),
    "extend_negative": frame(EXTEND, tlv(T_ID, "1") + tlv(T_DURATION, "-1")),
    "list_bad_state": frame(LIST, tlv(24, "active') OR 1=1 --")),
}

# legal for root (the PAM module), refused for anyone else
SESSION_OPEN_FRAME = frame(SESSION_OPEN, tlv(T_USER, "ojt-alice") + tlv(T_GROUP, "web-sudo") + tlv(6, "123"))


def assert_closed_or_error(name, res):
    assert res is None or res[0] == P_ERROR, "%s: daemon answered %r" % (name, res)


def test_bad_frames_as_root(jit):
    for name, data in BAD_FRAMES.items():
        res = raw_exchange(jit.sock, data, timeout=8)
        assert res is None, "%s: expected the connection to be closed, got %r" % (name, res)
        assert jit.daemon.alive(), name
        assert raw_ping(jit.sock), "no ping after " + name
    assert jit.ping()
    assert jit.grants() == []
    assert jit.members(G_WEB) == []
    assert "bad or no request" in jit.daemon.log()


def test_error_frames_as_root(jit):
    for name, data in ERROR_FRAMES.items():
        res = raw_exchange(jit.sock, data, timeout=8)
        assert res is not None and res[0] == P_ERROR, "%s: %r" % (name, res)
        codes = [v for t, v in res[1] if t == T_CODE]
        assert codes and codes[0] in ("invalid", "forbidden", "not_found"), (name, res)
        assert raw_ping(jit.sock), "no ping after " + name
    assert jit.grants() == []


def test_truncated_payload_then_close(jit):
    full = frame(CHECK, tlv(T_GROUP, "web-sudo"))
    for cut in (3, 11, 12, 14, len(full) - 1):
        res = raw_exchange(jit.sock, full[:cut], timeout=8, shutdown_write=True)
        assert res is None, (cut, res)
        assert raw_ping(jit.sock)
    # and a peer that sends half a frame and just waits is dropped after
    # the daemon's I/O timeout, not held forever
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(jit.sock)
    s.sendall(full[:14])
    t0 = time.time()
    s.settimeout(15)
    assert s.recv(100) == b""
    assert time.time() - t0 < 12
    s.close()
    assert jit.ping()


def test_oversized_request_is_refused(jit):
    # the CLI will not build it
    r = jit.cli("request", "web-sudo", "--for", "5m", "--reason", "x" * 20000, user="ojt-alice")
    assert r.rc == EXIT_USAGE and "too long" in r.err, r
    # sent raw, the daemon closes without reading it
    payload = tlv(T_GROUP, "web-sudo") + tlv(T_REASON, "x" * 20000)
    res = raw_exchange(jit.sock, frame(REQUEST, payload), timeout=8)
    assert res is None, res
    # a reason that fits the frame but not the flow's limit
    r = jit.cli("request", "web-sudo", "--for", "5m", "--reason", "x" * 600, user="ojt-alice")
    assert r.rc == EXIT_FAIL and r.j["code"] == "invalid", r
    assert jit.grants() == [] and jit.ping()


def test_several_requests_on_one_connection(jit):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(jit.sock)
    try:
        for _ in range(3):
            s.sendall(frame(PING))
            res = recv_frame(s)
            assert res[0] == P_OK and (T_USER, "root") in res[1]
        s.sendall(frame(PING, version=2))
        assert recv_frame(s) is None
    finally:
        s.close()


def run_raw_as(jit, user, frames):
    req = {"socket": jit.sock,
           "frames": [{"hex": d.hex(), "timeout": 8, "shutdown": sd} for d, sd in frames]}
    p = subprocess.run(as_user_prefix(user) + ["/usr/bin/python3", "-c", RAW_SCRIPT], input=json.dumps(req),
                       capture_output=True, text=True, timeout=120, cwd="/")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_bad_frames_as_user(jit):
    names = list(BAD_FRAMES) + list(ERROR_FRAMES) + ["session_open_user"]
    frames = [(BAD_FRAMES.get(n, ERROR_FRAMES.get(n, SESSION_OPEN_FRAME)), False) for n in names]
    frames.append((frame(PING), False))
    out = run_raw_as(jit, "ojt-mallory", frames)
    for name, res in zip(names, out):
        assert not res.get("timeout"), name
        assert res["closed"] or res["type"] == P_ERROR, (name, res)
    ping = out[-1]
    assert ping["type"] == P_OK and [T_USER, "ojt-mallory"] in ping["fields"], ping
    # the user's session open/close is refused (only root records sessions)
    sess = out[names.index("session_open_user")]
    assert sess["type"] == P_ERROR and [T_CODE, "forbidden"] in sess["fields"], sess
    assert jit.daemon.alive() and jit.ping()
    assert jit.grants() == []


def test_raw_request_for_other_user_as_user(jit):
    """The T_USER field cannot be used to act as someone else."""
    frames = [(frame(REQUEST, tlv(T_GROUP, "web-sudo") + tlv(T_DURATION, "60") + tlv(T_USER, "ojt-alice")), False),
              (frame(CHECK, tlv(T_GROUP, "web-sudo") + tlv(T_USER, "root")), False),
              (frame(AUDIT), False)]
    out = run_raw_as(jit, "ojt-mallory", frames)
    for res in out:
        assert res["type"] == P_ERROR and [T_CODE, "forbidden"] in res["fields"], res
    assert jit.grants() == [] and ALICE not in jit.members(G_WEB)
    assert len(jit.audit(event="refused")) == 3


def test_many_connections_at_once(jit):
    socks = []
    try:
        for _ in range(50):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(jit.sock)
            socks.append(s)
        for s in socks:
            s.sendall(frame(PING))
        for s in socks:
            res = recv_frame(s)
            assert res and res[0] == P_OK
    finally:
        for s in socks:
            s.close()
    assert jit.ping()
