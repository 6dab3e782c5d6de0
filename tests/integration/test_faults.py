"""Fault matrix (issue 7): every kind of Okta failure, driven through the
real PAM module (build/tests/pam_driver, private confdir) against a real
okta-jitd and the fake Okta.

For each fault, with [okta] timeout = 2s, cache_ttl = 1s and a short
outage_grace:
  * alice holds an active grant: let in from the cache within outage_grace,
    then refused (failmode=secure) or ignored (failmode=safe) once grace is
    over - or simply let in when the fault is one okta-jitd recovers from
    by itself (a revoked token, a rate limit that resets);
  * mallory has no grant: never let in;
  * bob's grant ends during the fault: refused from its end on, and his
    membership is gone from Okta once the fault is cleared;
  * every PAM call returns within a generous bound, the daemon never dies,
    and the ledger keeps every row.
"""
import json
import os
import socket
import sys
import threading
import time
import traceback

import pytest

from pam_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, BOB, G_WEB, JitEnv, jit_seed, wait_for)  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from conftest import FAKE_OKTA, OktaServer, gen_key  # noqa: E402

ALICE_U, BOB_U, MALLORY_U = "ojt-alice", "ojt-bob", "ojt-mallory"
PAM_TIMEOUT_MS = 30000
# One PAM call: okta-jitd's bounded retries (4 attempts x 2 s + backoff,
# or a rate-limit wait) plus libpam; far below PAM_TIMEOUT_MS.
CALL_BOUND = 25.0
FAST_BOUND = 5.0

IGNORE_PROBE = """
account [ignore=1 success=ok default=die] @MOD@ %s
account [default=die] pam_deny.so
account required pam_permit.so
"""


def rule(**kw):
    kw.setdefault("count", -1)
    return kw


# kind -> (fault rules or a callable(env), outcome, outage_grace seconds)
# outcome "outage": Okta is unusable; "works": okta-jitd gets through.
FAULTS = {
    "5xx-burst": ([rule(action="status", status=503)], "outage", 6),
    "500-burst": ([rule(action="status", status=500)], "outage", 6),
    "429-with-reset": ([rule(action="status", status=429)], "outage", 14),
    "429-without-reset": ([rule(action="status", status=429, headers={"X-Rate-Limit-Reset": None})],
                          "outage", 14),
    "429-concurrency": ("concurrency", "outage", 14),
    "slow-past-timeout": ([rule(action="delay", seconds=4)], "outage", 14),
    "hang": ([rule(action="hang", seconds=30)], "outage", 14),
    "connection-reset": ([rule(action="reset")], "outage", 6),
    "malformed-json": ([rule(action="malformed")], "outage", 6),
    "truncated-json": ([rule(action="truncated", missing=4096)], "outage", 6),
    "oversized-json": ([rule(action="oversized", bytes=3 * 1024 * 1024)], "outage", 8),
    "wrong-type-json": ([rule(action="wrong_type")], "outage", 6),
    "tls-untrusted": ("untrusted", "outage", 6),
    "tls-wronghost": ("wronghost", "outage", 6),
    "token-revoked-401": ("revoke", "works", 6),
    "clock-okta-ahead-5m": ("skew+300", "works", 6),
    "clock-okta-behind-5m": ("skew-300", "works", 6),
}


# ---------------------------------------------------------------- TLS switch

LAUNCHER = r'''
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
import fake_okta
proxy_port = int(sys.argv[2])
real_port_file = sys.argv[3]
Base = fake_okta.FakeOktaServer
class Advertised(Base):
    def server_bind(self):
        Base.server_bind(self)
        real = self.socket.getsockname()[1]
        with open(real_port_file + ".tmp", "w") as f:
            f.write("%d\n" % real)
        os.replace(real_port_file + ".tmp", real_port_file)
        # Clients reach this server through the test's TCP switch; the Host
        # header (and the assertion's aud) name the switch's port.
        self.server_address = (self.server_address[0], proxy_port)
fake_okta.FakeOktaServer = Advertised
sys.exit(fake_okta.main(sys.argv[4:]))
'''


class TcpSwitch:
    """A TCP forwarder on loopback: raw bytes (TLS end to end) to the good
    fake Okta, or - during a TLS fault - to a fake that presents a bad
    certificate. Switching cuts the connections in flight."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.target = None
        self.conns = []
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), 5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def switch(self, port):
        self.target = port
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def close(self):
        self.stopped = True
        self.lsock.close()
        self.switch(self.target)


class SwitchedOkta(OktaServer):
    """The good fake Okta behind a TcpSwitch: url names the switch; the
    control API is reached directly."""

    def __init__(self, workdir, seed, switch):
        import ssl
        import subprocess
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.seed_path = os.path.join(workdir, "seed.json")
        with open(self.seed_path, "w") as f:
            json.dump(seed, f)
        self.log = open(os.path.join(workdir, "server.log"), "w")
        real = os.path.join(workdir, "realport")
        launcher = os.path.join(workdir, "launch.py")
        with open(launcher, "w") as f:
            f.write(LAUNCHER)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", launcher, FAKE_OKTA, str(switch.port), real,
             "--workdir", workdir, "--seed", self.seed_path, "--port", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        port_file = os.path.join(workdir, "port")
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("fake Okta did not start: " + open(self.log.name).read()[-2000:])
            time.sleep(0.05)
        self.real_port = int(open(real).read())
        self.port = switch.port
        self.url = "https://127.0.0.1:%d" % switch.port
        self.ca = os.path.join(workdir, "ca.pem")
        self._ctx = ssl.create_default_context(cafile=self.ca)
        switch.switch(self.real_port)

    def control(self, path, body=None):
        import urllib.request
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("https://127.0.0.1:%d/__control/%s" % (self.real_port, path), data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self._ctx, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None


# ---------------------------------------------------------------- the test

def pam(stack, user, failmode="secure"):
    line = "group=web-sudo socket=%s timeout_ms=%d failmode=%s" % (stack.sock, PAM_TIMEOUT_MS, failmode)
    if failmode == "safe":
        stack.write(IGNORE_PROBE % line)
    else:
        stack.account(line)
    r = stack.run(user, "acct", timeout=PAM_TIMEOUT_MS / 1000 + 30)
    return r


class Env:
    """One fault case: its fake Okta (behind a TcpSwitch for TLS faults),
    okta-jitd and a private PAM stack."""

    def __init__(self, root, kind, grace, key, cli_copy):
        self.servers = []
        workdir = os.path.join(root, "jit")
        os.makedirs(workdir, exist_ok=True)
        seed = jit_seed(key)
        self.switch = self.bad = None
        if kind in ("tls-untrusted", "tls-wronghost"):
            self.switch = TcpSwitch()
            self.okta = SwitchedOkta(os.path.join(root, "okta"), seed, self.switch)
            self.bad = OktaServer(os.path.join(root, "bad-okta"), seed, kind[4:])
            self.servers.append(self.bad)
        else:
            self.okta = OktaServer(os.path.join(root, "okta"), seed)
        self.servers.append(self.okta)
        self.jit = JitEnv(workdir, self.okta, key, cli_copy, timeout="2s",
                          daemon_extra={"cache_ttl": "1s", "outage_grace": "%ds" % grace})
        self.stack = PamStack(os.path.join(root, "pam.d"))
        self.stack.sock = self.jit.sock
        self.jit.daemon.start()

    def close(self):
        self.jit.close()
        if self.switch is not None:
            self.switch.close()
        for s in self.servers:
            s.stop()


def start_fault(env, kind, spec):
    if isinstance(spec, list):
        env.okta.faults(*spec)
    elif spec == "concurrency":
        # What Okta sends when too many requests are in flight at once.
        env.okta.faults(rule(action="status", status=429, headers={
            "X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(int(time.time()) + 1)}))
    elif spec in ("untrusted", "wronghost"):
        env.switch.switch(env.bad.port)
    elif spec == "revoke":
        env.okta.configure(revoke_all_tokens=True)
    elif spec.startswith("skew"):
        env.okta.configure(clock_offset=int(spec[4:]))
        env.okta.configure(revoke_all_tokens=True)  # the next token is signed under the skew


def clear_fault(env, kind, spec):
    env.okta.control("faults/clear", {})
    if spec in ("untrusted", "wronghost"):
        env.switch.switch(env.okta.real_port)
    if isinstance(spec, str) and spec.startswith("skew"):
        env.okta.configure(clock_offset=0)


def run_kind(kind, e):
    spec, outcome, grace = FAULTS[kind]
    env, stack = e.jit, e.stack
    env.switch, env.bad = e.switch, e.bad
    if kind.startswith("429"):
        # Windows of a few seconds: a 429's reset is close, as in a burst.
        env.okta.configure(rate_limit={"limit": 1000, "window_seconds": 2})
    a = env.request("web-sudo", dur="10m", as_user=ALICE_U).grant["id"]
    bob_dur = 4
    b = env.request("web-sudo", dur="%ds" % bob_dur, as_user=BOB_U).grant["id"]
    bob_end = env.grant(b)["end_at"]
    rows_before = {r["id"]: r for r in env.grants()}
    assert ALICE in env.members(G_WEB) and BOB in env.members(G_WEB)
    # warm the cache
    for u in (ALICE_U, BOB_U):
        r = pam(stack, u)
        assert r["acct"] == "PAM_SUCCESS", r
    warmed = time.time()
    start_fault(env, kind, spec)
    elapsed = {}
    try:
        time.sleep(1.3)  # past cache_ttl: the next check asks Okta
        r = pam(stack, ALICE_U)
        elapsed["grant-in-fault"] = r.elapsed
        assert r["acct"] == "PAM_SUCCESS", r
        assert r.elapsed < CALL_BOUND, r
        r = pam(stack, MALLORY_U)
        elapsed["nogrant-in-fault"] = r.elapsed
        assert r["acct"] == "PAM_PERM_DENIED", r
        assert r.elapsed < FAST_BOUND, r  # the ledger refuses without Okta
        r = pam(stack, MALLORY_U, failmode="safe")
        assert r["acct"] == "PAM_PERM_DENIED", r  # the module refuses itself: never IGNORE
        # bob's grant ends during the fault: refused from its end on
        wait_for(lambda: time.time() > bob_end + 0.2, bob_dur + 30)
        r = pam(stack, BOB_U)
        assert r["acct"] == "PAM_PERM_DENIED", r
        assert r.elapsed < FAST_BOUND, r
        if outcome == "outage":
            # past outage_grace: failmode decides
            wait_for(lambda: time.time() > warmed + grace + 0.5, grace + 30)
            r = pam(stack, ALICE_U)
            elapsed["grant-past-grace"] = r.elapsed
            assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
            assert r.elapsed < CALL_BOUND, r
            r = pam(stack, ALICE_U, failmode="safe")
            assert r["acct"] == "PAM_SUCCESS", r  # IGNORE: the rest of the stack decides
            assert r.elapsed < CALL_BOUND, r
        else:
            wait_for(lambda: time.time() > warmed + grace + 0.5, grace + 30)
            r = pam(stack, ALICE_U)
            elapsed["grant-past-grace"] = r.elapsed
            assert r["acct"] == "PAM_SUCCESS", r
            assert r.elapsed < CALL_BOUND, r
        assert env.daemon.alive(), env.daemon.log()[-3000:]
    finally:
        clear_fault(env, kind, spec)
    t0 = time.time()
    # Okta back: bob's membership goes (retry backoff is at most 16 s here)
    wait_for(lambda: BOB not in env.members(G_WEB), 60, what="bob removed from Okta after the fault")
    elapsed["removal-after-clear"] = time.time() - t0
    wait_for(lambda: env.grant(b)["op"] == "", 20, what="bob's row settled")
    assert env.grant(b)["state"] == "expired"
    assert ALICE in env.members(G_WEB)
    # alice passes again: at once, or once the refresh that a background
    # Okta call (the lifecycle sweep's, issue 20) made wait on the last
    # 429's X-Rate-Limit-Reset has come back (one check waits at most 2 s)
    last = []
    wait_for(lambda: last.append(pam(stack, ALICE_U)) or last[-1]["acct"] == "PAM_SUCCESS", 30,
             what="alice's login once Okta is back")
    assert last[-1]["acct"] == "PAM_SUCCESS", last[-1]
    # no grant lost: every row is still there, alice's untouched
    rows_after = {r["id"]: r for r in env.grants()}
    assert set(rows_before) <= set(rows_after)
    ra = rows_after[a]
    assert ra["state"] == "active" and ra["op"] == "" and ra["end_at"] == rows_before[a]["end_at"], ra
    assert env.daemon.alive()
    assert "removed" in env.events(b)
    return elapsed


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, local_users, cli_copy):
    """Run every fault case at once (each against its own fake Okta and
    okta-jitd), so the matrix takes as long as its slowest case."""
    key = gen_key("rsa")
    root = str(tmp_path_factory.mktemp("faults"))
    results = {}

    def one(kind):
        e = None
        try:
            e = Env(os.path.join(root, kind), kind, FAULTS[kind][2], key, cli_copy)
            results[kind] = ("ok", run_kind(kind, e))
        except BaseException:  # reported by the kind's own test
            log = e.jit.daemon.log()[-3000:] if e is not None else ""
            results[kind] = ("fail", traceback.format_exc() + "\n--- okta-jitd log ---\n" + log)
        finally:
            if e is not None:
                e.close()

    t0 = time.time()
    threads = [threading.Thread(target=one, args=(k,)) for k in FAULTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.time() - t0
    out = os.environ.get("OJIT_FAULT_REPORT")
    if out:
        with open(out, "w") as f:
            json.dump({"total_seconds": round(total, 1),
                       "cases": {k: (v[1] if v[0] == "ok" else "FAILED") for k, v in results.items()}}, f, indent=1)
    for k, v in sorted(results.items()):
        if v[0] == "ok":
            print("FAULT %-22s %s" % (k, json.dumps({n: round(x, 2) for n, x in v[1].items()})))
    return results


@pytest.mark.parametrize("kind", list(FAULTS))
def test_fault(kind, matrix):
    status, detail = matrix[kind]
    if status != "ok":
        pytest.fail("fault %s:\n%s" % (kind, detail), pytrace=False)
    # every PAM call stayed within its bound (asserted in run_kind)
    assert detail["nogrant-in-fault"] < FAST_BOUND
