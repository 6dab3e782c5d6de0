"""A local user cannot wedge okta-jitd, and a second okta-jitd cannot take
its sockets over (issue 15, items 1 and 8).

* The PAM module talks to a socket of its own (pam.sock, 0600 root) served
  by connection threads of its own; on the public socket each non-root uid
  may hold DAEMON_USER_MAX_CONNS connections and make DAEMON_USER_RATE
  requests a second, and an idle non-root connection is closed after
  DAEMON_USER_IDLE_MS.
* test_flood_never_changes_a_pam_decision: one unprivileged user holds and
  churns ~2,000 connections (PINGing holders, slow writers, request
  floods) while the real module checks logins through libpam under
  failmode=secure and failmode=safe: every check is answered, and right.
  It prints the checks' latency (docs/reliability.md has the figures).
* A second okta-jitd on a live daemon's socket (either one) exits with a
  clear message and leaves the first serving; a stale socket is replaced.
"""
import json
import os
import pwd
import socket
import subprocess
import sys
import time

import pytest

from pam_fixtures import *  # noqa: F401,F403

ALICE_U = "ojt-alice"
BOB_U = "ojt-bob"
FLOODER = "ojt-olivia"

USER_MAX_CONNS = 16  # daemon.h DAEMON_USER_MAX_CONNS
USER_BURST = 20      # DAEMON_USER_BURST


def grant(jit, user=ALICE_U, group="web-sudo", dur="10m"):
    r = jit.request(group, user=user, dur=dur)
    assert r.grant["state"] == "active", r
    return r.grant["id"]


def as_uid(user, nofile=8192):
    """preexec_fn: this child becomes user (no supplementary groups), with
    room for its connections."""
    pw = pwd.getpwnam(user)

    def drop():
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


# ---------------------------------------------------------------- the flood

# Runs as the unprivileged user. For `seconds`, keeps `conns` connections
# open to the public socket (replacing each one the daemon closes):
#   holders (70%)   PING every 2 s: under any idle limit, held for good;
#   slow (15%)      write a CHECK one byte a second;
#   floods (15%)    pipeline 20 CHECKs (own user, real and junk groups)
#                   each time the last batch is answered.
# Prints RAMPED once `conns` connections were attempted (or the daemon's
# backlog is full), then a JSON line
# of counts at the end.
FLOOD = r'''
import errno, json, os, selectors, socket, struct, sys, time
a = json.loads(sys.argv[1])
path, N, until = a["socket"], a["conns"], time.monotonic() + a["seconds"]
def frame(t, p=b""):
    return b"OJIT" + bytes([1, t]) + b"\0\0" + struct.pack(">I", len(p)) + p
def tlv(tag, v):
    v = v.encode()
    return struct.pack(">BH", tag, len(v)) + v
PING = frame(1)
SLOW = frame(2, tlv(1, a["user"]) + tlv(2, "web-sudo"))
def batch(k):
    return b"".join(frame(2, tlv(1, a["user"]) + tlv(2, "web-sudo" if i % 2 else "junk-%d-%d" % (k, i)))
                    for i in range(20))
st = dict(attempts=0, connected=0, backlog_full=0, connect_errors=0, closed_by_daemon=0, replies=0,
          busy=0, requests=0, max_open=0)
sel = selectors.DefaultSelector()
conns = {}
ramped = False
k = 0
def kind(i):
    return "flood" if i % 20 < 3 else "slow" if i % 20 < 6 else "hold"
def drop(s):
    sel.unregister(s)
    conns.pop(s, None)
    s.close()
def send(s, data):
    try:
        s.send(data, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    except BlockingIOError:
        pass
    except OSError:
        st["closed_by_daemon"] += 1
        drop(s)
        return False
    return True
def act(s, c, now):
    global k
    if c["kind"] == "hold":
        c["next"] = now + 2
        if send(s, PING):
            st["requests"] += 1
    elif c["kind"] == "slow":
        c["next"] = now + 1
        if c["sent"] < len(SLOW) and send(s, SLOW[c["sent"]:c["sent"] + 1]):
            c["sent"] += 1
    elif c["out"] == 0:
        c["next"] = now + 0.05
        k += 1
        if send(s, batch(k)):
            c["out"] = 20
            st["requests"] += 20
while time.monotonic() < until:
    now = time.monotonic()
    while len(conns) < N and time.monotonic() < until:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        st["attempts"] += 1
        try:
            s.connect(path)
        except BlockingIOError:
            st["backlog_full"] += 1
            s.close()
            break
        except OSError:
            st["connect_errors"] += 1
            s.close()
            break
        k += 1
        c = {"kind": kind(k), "next": now, "sent": 0, "out": 0}
        conns[s] = c
        sel.register(s, selectors.EVENT_READ)
        st["connected"] += 1
        act(s, c, now)
    st["max_open"] = max(st["max_open"], len(conns))
    if not ramped and (st["attempts"] >= N or st["backlog_full"] > 0):
        ramped = True
        print("RAMPED", flush=True)
    for s, c in list(conns.items()):
        if c["next"] <= now:
            act(s, c, now)
    for key, _ in sel.select(0.02):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            st["closed_by_daemon"] += 1
            drop(s)
            continue
        n = data.count(b"OJIT\x01")
        st["replies"] += n
        st["busy"] += data.count(b"busy")
        if s in conns and conns[s]["kind"] == "flood":
            conns[s]["out"] = max(0, conns[s]["out"] - n)
print(json.dumps(st), flush=True)
'''


def start_flood(jit, conns=2000, seconds=15):
    p = subprocess.Popen([sys.executable, "-c", FLOOD,
                          json.dumps({"socket": jit.sock, "conns": conns, "seconds": seconds, "user": FLOODER})],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/",
                         preexec_fn=as_uid(FLOODER, conns + 1024))
    jit.popens.append(p)
    return p


def pctl(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def test_flood_never_changes_a_pam_decision(jit, tmp_path):
    """~2,000 connections from one unprivileged user: every PAM check is
    answered, correctly, under failmode=secure and failmode=safe."""
    grant(jit, user=ALICE_U, group="web-sudo")
    # The module's socket: pam.sock. (The code before issue 15 had one
    # socket, which the module used: then it is that one.)
    target = jit.pam_sock if os.path.exists(jit.pam_sock) else jit.sock
    confdir = str(tmp_path / "pam.d")
    opts = "group=web-sudo socket=%s answers=off" % target  # answers=off: every check asks okta-jitd
    secure = PamStack(confdir, "ojit-secure").write("account required @MOD@ %s failmode=secure" % opts)
    # failmode=safe with a permissive module after it: an unanswered check
    # would let bob in (the bypass the flood caused).
    safe = PamStack(confdir, "ojit-safe").write(
        "account required @MOD@ %s failmode=safe\naccount required pam_permit.so" % opts)
    want = {ALICE_U: "PAM_SUCCESS", BOB_U: "PAM_PERM_DENIED"}
    # warm: both answers known before the flood (Okta read once)
    for st in (secure, safe):
        for user, code in want.items():
            r = st.run(user, "acct")
            assert r["acct"] == code, (st.service, user, r)

    flood = start_flood(jit, conns=2000, seconds=14)
    wrong, lat, counts = [], [], {}
    try:
        line = flood.stdout.readline()
        assert line.strip() == "RAMPED", (line, flood.stderr.read() if flood.poll() is not None else "")
        deadline = time.time() + 9
        while time.time() < deadline and not wrong:
            for st in (secure, safe):
                for user, code in want.items():
                    r = st.run(user, "timed", 3, timeout=60)
                    for ln in r.out.splitlines():
                        if not ln.startswith("TIMED "):
                            continue
                        _, _, got, us = ln.split()
                        lat.append(int(us) / 1000.0)
                        counts[st.service] = counts.get(st.service, 0) + 1
                        if got != code:
                            wrong.append((st.service, user, got, int(us) // 1000))
        flood_ran_throughout = flood.poll() is None
    finally:
        out, err = flood.communicate(timeout=30)
    stats = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    print("\nFLOOD %s" % json.dumps(stats))
    if lat:
        print("FLOOD-LATENCY checks=%d p50=%.1fms p99=%.1fms max=%.1fms by_stack=%s" % (
            len(lat), pctl(lat, 0.5), pctl(lat, 0.99), max(lat), counts))
    assert not wrong, "checks answered wrongly during the flood (stack, user, got, ms): %s; flood %s" % (
        wrong[:10], stats)
    # the flood was at full force: thousands of connections and requests
    assert stats.get("attempts", 0) >= 2000 and stats.get("requests", 0) >= 1000, stats
    assert len(lat) >= 12 and counts.get("ojit-secure") and counts.get("ojit-safe"), (len(lat), counts)
    assert flood_ran_throughout, "the flood ended before the checks did: " + err[-2000:]
    assert jit.daemon.alive(), jit.daemon.log()[-3000:]


# ---------------------------------------------------------------- the sockets and the limits

def test_pam_socket_is_roots_alone(jit):
    st = os.lstat(jit.pam_sock)
    assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o600, oct(st.st_mode)
    assert raw_ping(jit.pam_sock)
    st = os.lstat(jit.sock)
    assert (st.st_mode & 0o777) == 0o666, oct(st.st_mode)
    # a local user cannot connect to it at all
    r = subprocess.run([sys.executable, "-c",
                        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
                        "try:\n s.connect(sys.argv[1]); print('connected')\n"
                        "except PermissionError: print('EACCES')\n", jit.pam_sock],
                       capture_output=True, text=True, preexec_fn=as_uid(FLOODER), timeout=20)
    assert r.stdout.strip() == "EACCES", r


# Runs as a user: holds `hold` connections without a word, reports which
# were refused (a "busy" answer or a close), pipelines `pings` PINGs on
# one more connection and counts the answers, then times how long a
# connection that made one request may stay idle.
LIMITS = r'''
import json, socket, struct, sys, time
a = json.loads(sys.argv[1])
PING = b"OJIT\x01\x01\x00\x00\x00\x00\x00\x00"
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a["socket"])
    return s
def read_all(s, t):
    s.settimeout(t)
    buf = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                return buf, True
            buf += c
    except socket.timeout:
        return buf, False
    except ConnectionResetError:
        return buf, True
out = {}
held = [conn() for _ in range(a["hold"])]
for s in held:
    s.setblocking(False)
refused = set()
t0 = time.monotonic()
# until the excess is refused (a held one would only be closed after 5 s)
while len(refused) < a["hold"] - a["share"] and time.monotonic() - t0 < 4:
    time.sleep(0.1)
    for i, s in enumerate(held):
        try:
            buf = s.recv(65536)
            if not buf or b"busy" in buf:
                refused.add(i)
        except BlockingIOError:
            pass
time.sleep(0.3)  # and no more than that
for i, s in enumerate(held):
    try:
        buf = s.recv(65536)
        if not buf or b"busy" in buf:
            refused.add(i)
    except BlockingIOError:
        pass
for s in held:
    s.setblocking(True)
out["refused"] = len(refused)
print(json.dumps(out), flush=True)
sys.stdin.readline()  # the test tries another user meanwhile
for s in held:
    s.close()
s = conn()
s.sendall(PING * a["pings"])
buf, closed = read_all(s, 5)
out["answered"] = buf.count(b"OJIT\x01\x64")
out["busy"] = buf.count(b"busy")
out["closed_after_burst"] = closed
s.close()
time.sleep(2.5)  # the bucket refills
s = conn()
s.sendall(PING)
buf, _ = read_all(s, 1)
t0 = time.monotonic()
buf, closed = read_all(s, 30)
out["idle_closed"] = closed
out["idle_s"] = time.monotonic() - t0
print(json.dumps(out), flush=True)
'''


def test_non_root_connections_and_requests_are_limited_per_uid(jit):
    p = subprocess.Popen([sys.executable, "-c", LIMITS,
                          json.dumps({"socket": jit.sock, "hold": USER_MAX_CONNS + 4, "share": USER_MAX_CONNS,
                                      "pings": USER_BURST + 15})],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=as_uid(FLOODER), cwd="/")
    jit.popens.append(p)
    first = json.loads(p.stdout.readline() or "{}")
    # olivia's connections beyond her share are refused at once ...
    assert first.get("refused") == 4, (first, p.stderr.read() if p.poll() is not None else "")
    # ... while another user and root are served as ever
    assert jit.cli("ping", user=BOB_U, json_out=False).rc == EXIT_OK
    assert raw_ping(jit.sock) and raw_ping(jit.pam_sock)
    # and a root connection idle as long as olivia's will be stays open
    root = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    root.connect(jit.sock)
    root.sendall(frame(PING))
    assert recv_frame(root)[0] == P_OK
    p.stdin.write("\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=60)
    assert out.strip(), err
    res = json.loads(out.strip().splitlines()[-1])
    # a burst is answered up to the bucket, then "busy" and the close
    assert USER_BURST <= res["answered"] < USER_BURST + 15, res
    assert res["busy"] == 1 and res["closed_after_burst"], res
    # an idle non-root connection is closed within seconds (5 s; 60 for root)
    assert res["idle_closed"] and res["idle_s"] < 20, res
    root.sendall(frame(PING))
    assert recv_frame(root)[0] == P_OK, "root's idle connection was closed"
    root.close()


# ---------------------------------------------------------------- a second daemon

def start_second(conf, wait=15):
    """Run another okta-jitd on conf: (exit code, stderr), the code None
    when it was still running after `wait` s (it took the socket over)."""
    p = subprocess.Popen([binary("okta-jitd"), "--config", conf, "--foreground"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd="/")
    try:
        out, _ = p.communicate(timeout=wait)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        p.terminate()
        out, _ = p.communicate(timeout=30)
        return None, out


def test_a_second_daemon_refuses_to_take_the_sockets_over(jit, tmp_path):
    ino = os.lstat(jit.sock).st_ino
    # the same configuration: the public socket is live
    rc, err = start_second(jit.conf)
    assert rc is not None and rc != 0, (rc, err)
    assert "another okta-jitd is already serving %s" % jit.sock in err, err
    assert os.lstat(jit.sock).st_ino == ino and raw_ping(jit.sock) and jit.ping()
    # another public socket, the same PAM socket (pam.sock beside it)
    ino_pam = os.lstat(jit.pam_sock).st_ino
    other = str(tmp_path / "other.conf")
    with open(jit.conf) as f:
        text = f.read().replace("socket = %s" % jit.sock, "socket = %s" % os.path.join(jit.sockdir, "two.sock"))
    with open(other, "w") as f:
        f.write(text)
    rc, err = start_second(other)
    assert rc is not None and rc != 0, (rc, err)
    assert "another okta-jitd is already serving %s" % jit.pam_sock in err, err
    assert not os.path.exists(os.path.join(jit.sockdir, "two.sock"))  # it cleans up what it made
    # the first still answers, on the same sockets
    assert (os.lstat(jit.sock).st_ino, os.lstat(jit.pam_sock).st_ino) == (ino, ino_pam)
    assert raw_ping(jit.sock) and raw_ping(jit.pam_sock)
    assert jit.ping()
    # a daemon killed outright leaves stale sockets: the next one replaces them
    jit.daemon.kill9()
    assert os.path.exists(jit.sock) and os.path.exists(jit.pam_sock)
    jit.daemon.start()
    assert raw_ping(jit.sock) and raw_ping(jit.pam_sock)
