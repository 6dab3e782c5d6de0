#!/usr/bin/python3
"""Load test for okta-jitd (issue 7).

Starts a fake Okta with rate limits (per bucket LIMIT/min, plus a
concurrency limit) seeded with USERS users, an okta-jitd against it, and
gives half the users an active grant (some of them ending during the run).
Then CLIENTS threads, for DURATION seconds, each open a new connection per
CHECK (as the PAM module does) and now and then REQUEST a grant. Reports
(JSON on stdout, and to --report): checks/s, p50/p99 latency, errors,
wrong refusals (a check for a user whose grant was active through the whole
run that did not answer allow), the 429s the fake sent, and the daemon's
RSS sampled every second (start, end, max).

    OJIT_BUILD=build /usr/bin/python3 tests/load/load.py --duration 60
"""
import argparse
import json
import os
import random
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, "integration"))

from conftest import OktaServer, default_seed, gen_key  # noqa: E402
from daemon_fixtures import (Daemon, G_OPS, G_WEB, JIT_FLOWS, P_OK, frame, recv_frame, tlv,  # noqa: E402
                             write_jit_config)

CHECK, REQUEST = 2, 5
T_USER, T_GROUP, T_SERVICE, T_DURATION, T_REASON, T_ID, T_DECISION, T_CODE = 1, 2, 3, 7, 8, 9, 20, 21


def uid(i):
    return "00uload%011d" % i


def login(i):
    return "ojt-load%03d" % i


def call(sock, ftype, fields, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(frame(ftype, b"".join(tlv(t, v) for t, v in fields)))
        r = recv_frame(s, timeout)
    finally:
        s.close()
    if r is None or r[0] == "partial":
        raise OSError("connection closed")
    return r[0], dict(r[1])


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--limit", type=int, default=1200, help="Okta rate limit per bucket per minute")
    ap.add_argument("--concurrency", type=int, default=20, help="Okta concurrency limit")
    ap.add_argument("--timeout", type=float, default=10.0, help="client timeout per check (s)")
    ap.add_argument("--request-timeout", type=float, default=90.0,
                    help="client timeout per grant request (s): a request may wait while the client paces "
                         "itself under Okta's rate limit, as the CLI does")
    ap.add_argument("--report")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args(argv)

    build = os.environ.get("OJIT_BUILD", os.path.join(os.path.dirname(TESTS), "build"))
    work = tempfile.mkdtemp(prefix="ojit-load-")
    sockdir = tempfile.mkdtemp(prefix="ojit-loadsock-")
    key = gen_key("rsa")
    seed = default_seed([("k1", key)])
    for i in range(a.users):
        seed["users"].append({"id": uid(i), "login": login(i) + "@example.com", "status": "ACTIVE"})
        seed["memberships"].append([G_OPS, uid(i)])
    seed["page_size"] = None
    bucket = {"limit": a.limit, "window_seconds": 60}
    seed["rate_limit"] = {"limit": a.limit, "window_seconds": 60,
                          "per_bucket": {"token": bucket, "users": bucket, "groups": bucket, "other": bucket}}
    okta = OktaServer(os.path.join(work, "okta"), seed)
    sock = os.path.join(sockdir, "jitd.sock")
    conf = write_jit_config(work, okta, key, sock, os.path.join(work, "ledger.db"), timeout="5s",
                            daemon_extra={"cache_ttl": "30s", "outage_grace": "5m"}, flows=JIT_FLOWS)
    daemon = Daemon(conf, sock, os.path.join(work, "okta-jitd.log"), exe=os.path.join(build, "okta-jitd"))
    result = {}
    try:
        daemon.start()
        # The population: users 0..N/2-1 hold a grant; every tenth of them
        # ends during the run. The rest hold none (some request one).
        half = a.users // 2
        steady, ending = set(), set()
        t_setup = time.time()
        for i in range(half):
            ends_early = i % 10 == 0
            dur = max(5, int(a.duration / 2)) if ends_early else int(a.duration * 3 + 600)
            ft, f = call(sock, REQUEST, [(T_GROUP, "web-sudo"), (T_USER, login(i)), (T_SERVICE, "load"),
                                         (T_DURATION, str(dur))], 60)
            assert ft == P_OK, f
            (ending if ends_early else steady).add(login(i))
        setup_s = time.time() - t_setup
        okta.configure(concurrency_limit=a.concurrency)
        okta.clear_requests()
        stop = threading.Event()
        lock = threading.Lock()
        lat, errors, wrong, decisions = [], [], [], {}
        requested = set()
        request_errors = []
        counts = {"checks": 0, "requests": 0, "request_ok": 0}
        rss = []

        def sampler():
            while not stop.is_set():
                v = rss_kb(daemon.proc.pid)
                if v:
                    rss.append((round(time.time() - t0, 1), v))
                stop.wait(1.0)

        def client(n):
            rnd = random.Random(n)
            while not stop.is_set():
                i = rnd.randrange(a.users)
                user = login(i)
                if i >= half and rnd.random() < 0.01 and user not in requested:
                    with lock:
                        requested.add(user)
                        counts["requests"] += 1
                    try:
                        ft, f = call(sock, REQUEST, [(T_GROUP, "web-sudo"), (T_USER, user), (T_SERVICE, "load"),
                                                     (T_DURATION, "600")], a.request_timeout)
                        with lock:
                            if ft == P_OK:
                                counts["request_ok"] += 1
                            else:
                                request_errors.append("%s: %s %s" % (user, f.get(T_CODE), f.get(22, "")[:200]))
                    except OSError as e:
                        with lock:
                            errors.append("request %s: %s" % (user, e))
                    continue
                t = time.monotonic()
                try:
                    ft, f = call(sock, CHECK, [(T_USER, user), (T_GROUP, "web-sudo"), (T_SERVICE, "load")],
                                 a.timeout)
                except OSError as e:
                    with lock:
                        errors.append("check %s: %s" % (user, e))
                        if user in steady:
                            wrong.append((user, "no answer", str(e)))
                    continue
                dt = time.monotonic() - t
                d = f.get(T_DECISION, "error") if ft == P_OK else "error"
                with lock:
                    counts["checks"] += 1
                    lat.append(dt)
                    decisions[d] = decisions.get(d, 0) + 1
                    if user in steady and d != "allow":
                        wrong.append((user, d, f.get(T_CODE)))
                    if ft != P_OK:
                        errors.append("check %s: %r" % (user, f))

        t0 = time.time()
        threads = [threading.Thread(target=sampler, daemon=True)]
        threads += [threading.Thread(target=client, args=(n,), daemon=True) for n in range(a.clients)]
        for t in threads:
            t.start()
        time.sleep(a.duration)
        stop.set()
        elapsed = time.time() - t0
        with lock:
            checks_in_time = counts["checks"]
        for t in threads:
            t.join(a.request_timeout + 5)
        drain = time.time() - t0 - elapsed
        reqs = okta.requests()
        n429 = sum(1 for r in reqs if r["status"] == 429)
        warm = [v for t, v in rss if t >= min(10.0, a.duration / 3)]
        result = {
            "duration_s": round(elapsed, 1), "clients": a.clients, "users": a.users,
            "okta_limit_per_min_per_bucket": a.limit, "okta_concurrency_limit": a.concurrency,
            "setup_grants": half, "setup_s": round(setup_s, 1),
            "checks": counts["checks"], "checks_per_s": round(checks_in_time / elapsed, 1),
            "drain_s": round(drain, 1),
            "p50_ms": round(pct(lat, 50) * 1000, 2) if lat else None,
            "p99_ms": round(pct(lat, 99) * 1000, 2) if lat else None,
            "max_ms": round(max(lat) * 1000, 2) if lat else None,
            "decisions": decisions, "errors": len(errors), "error_samples": errors[:5],
            "wrong_refusals": len(wrong), "wrong_samples": wrong[:5],
            "requests": counts["requests"], "requests_ok": counts["request_ok"],
            "request_refusals": request_errors[:5],
            "okta_requests": len(reqs), "okta_429": n429,
            "rss_kb_start": rss[0][1] if rss else None, "rss_kb_end": rss[-1][1] if rss else None,
            "rss_kb_max": max(v for _, v in rss) if rss else None,
            "rss_kb_after_warmup_min": min(warm) if warm else None,
            "rss_kb_after_warmup_max": max(warm) if warm else None,
            "rss_kb_every_5s": [v for t, v in rss][::5],
            "daemon_alive": daemon.alive(),
        }
    finally:
        daemon.stop()
        okta.stop()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sockdir, ignore_errors=True)
    print(json.dumps(result, indent=1))
    if a.report:
        with open(a.report, "w") as f:
            json.dump(result, f, indent=1)
    return result


def verdict(r, max_429=50, max_growth_kb=8192):
    """The assertions shared by `make load` and the CI test."""
    problems = []
    if not r.get("daemon_alive"):
        problems.append("okta-jitd died")
    if r["wrong_refusals"]:
        problems.append("%d checks refused a user with an active grant: %s" % (r["wrong_refusals"], r["wrong_samples"]))
    if r["errors"]:
        problems.append("%d errors: %s" % (r["errors"], r["error_samples"]))
    if r["okta_429"] > max_429:
        problems.append("429 storm: the fake Okta sent %d 429s" % r["okta_429"])
    if r["rss_kb_after_warmup_max"] - r["rss_kb_after_warmup_min"] > max_growth_kb:
        problems.append("RSS grew from %d to %d kB after warm-up" % (r["rss_kb_after_warmup_min"],
                                                                   r["rss_kb_after_warmup_max"]))
    return problems


if __name__ == "__main__":
    res = main()
    probs = verdict(res)
    for p in probs:
        print("FAIL: " + p, file=sys.stderr)
    sys.exit(1 if probs else 0)
