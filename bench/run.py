#!/usr/bin/python3
"""okta-jit benchmarks (issue 8): `make bench` runs this and writes
docs/benchmarks.md. Every figure is measured in this run, each next to its
baseline. Environment knobs (defaults keep the run under ~10 minutes):
BENCH_MEM_USERS (10000), BENCH_EXPIRY_GRANTS (10000, as issue 8 asks; the
groups bucket's limit makes that at least 100 s), BENCH_EXPIRY_WINDOW
(seconds of the fake's groups rate-limit window, 6 = time-scaled 10x),
BENCH_OUT (docs/benchmarks.md), BENCH_JSON (build/bench/results.json)."""
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("OJIT_BUILD", os.path.join(ROOT, "build"))

from conftest import CLIENT_ID, OktaServer, gen_key, public_pem, write_private_key  # noqa: E402
from daemon_fixtures import Daemon, write_jit_config  # noqa: E402

BUILD = os.environ["OJIT_BUILD"]
BB = os.path.join(BUILD, "bench")
MOD = os.path.join(BUILD, "pam_okta_jit.so")
GROUP, GID = "bench-ssh", "00gbench0000000001"
FLOWS = """
[flow bench]
groups = bench-ssh
default_duration = 1h
max_duration = 24h
approval = auto
reason = optional
"""
# Cold gate: each sample asks a group no check has asked before (its
# member list must come from Okta), COLD_PER_ROUND groups a round, 3 rounds.
COLD_PER_ROUND = 40
COLD_GROUPS = [("cold-%03d" % i, "00gcold%011d" % i) for i in range(3 * COLD_PER_ROUND)]
FLOWS += "".join("""
[flow cold%03d]
groups = %s
default_duration = 1h
max_duration = 24h
approval = auto
reason = optional
""" % (i, name) for i, (name, _) in enumerate(COLD_GROUPS))
OTHER = "other"
MEM_USERS = int(os.environ.get("BENCH_MEM_USERS", "10000"))
EXP_GRANTS = int(os.environ.get("BENCH_EXPIRY_GRANTS", "10000"))
EXP_WINDOW = int(os.environ.get("BENCH_EXPIRY_WINDOW", "6"))
R = {}


def log(*a):
    print("[bench]", *a, flush=True)


def uid(i):
    return "00ubench%010d" % i


def uname(i):
    return "bu%05d" % i


def seed(key, n, rate=None):
    users = [{"id": uid(i), "login": uname(i) + "@example.com", "status": "ACTIVE",
              "firstName": "B%d" % i, "lastName": "User"} for i in range(n)]
    s = {"clients": [{"client_id": CLIENT_ID, "keys": [{"kid": "k1", "public_key_pem": public_pem(key)}],
                      "scopes": ["okta.groups.manage", "okta.users.read"], "admin_role": "ORG_ADMIN"}],
         "users": users,
         "groups": [{"id": GID, "name": GROUP, "type": "OKTA_GROUP"},
                    {"id": "00gother00000000002", "name": OTHER, "type": "OKTA_GROUP"}]
                   + [{"id": g, "name": name, "type": "OKTA_GROUP"} for name, g in COLD_GROUPS],
         "memberships": [[GID, uid(i)] for i in range(n)] + [[g, uid(1)] for _, g in COLD_GROUPS],
         "rate_limit": rate or {"limit": 1000000, "window_seconds": 60},
         "token_lifetime": 3600}
    return s


class Env:
    def __init__(self, name, key, nusers, rate=None, extra=None):
        self.dir = tempfile.mkdtemp(prefix="ojit-bench-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.okta = OktaServer(os.path.join(self.dir, "okta"), seed(key, nusers, rate))
        self.sock = os.path.join(self.dir, "okta-jitd.sock")
        self.ledger = os.path.join(self.dir, "ledger.db")
        de = {"cache_ttl": "10m"}
        de.update(extra or {})
        self.conf = write_jit_config(self.dir, self.okta, key, self.sock, self.ledger, daemon_extra=de,
                                     flows=FLOWS)
        self.daemon = Daemon(self.conf, self.sock, os.path.join(self.dir, "daemon.log"))
        self.daemon.start()

    def insert_grants(self, users, end_at, groups=((GROUP, GID),)):
        """Active grants written straight into the ledger (daemon stopped):
        each user in users, in each (name, id) of groups, ending at end_at(i)."""
        now = int(time.time())
        con = sqlite3.connect(self.ledger)
        con.executemany(
            "INSERT INTO grants (kind, user, okta_login, okta_user_id, grp, group_id, flow, requester,"
            " reason, approver, state, op, was_member, duration, requested_at, decided_at, start_at,"
            " end_at, updated_at) VALUES ('grant',?,?,?,?,?,'bench',?,'bench','auto','active','',0,?,?,?,?,?,?)",
            [(uname(i), uname(i) + "@example.com", uid(i), name, g, uname(i), e - now, now, now, now, e, now)
             for i, e in ((i, end_at(i)) for i in users) for name, g in groups])
        con.commit()
        con.close()

    def rss_kb(self):
        with open("/proc/%d/status" % self.daemon.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def close(self):
        self.daemon.stop()
        self.okta.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def tool(*argv, timeout=900):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s %s" % (argv[0], p.stdout[-2000:], p.stderr[-2000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def load(env, clients, secs_or_count, users, groups=GROUP):
    return tool(os.path.join(BB, "load"), env.sock, groups, clients, secs_or_count, *[uname(i) for i in users])


def stacks(env, key_path):
    confdir = os.path.join(env.dir, "pam.d")
    os.makedirs(confdir, exist_ok=True)
    files = {
        "bench-permit": "account required pam_permit.so\n",
        "bench-jit": "account required %s group=%s socket=%s\naccount required pam_permit.so\n"
                     % (MOD, GROUP, env.sock),
        "bench-diy": "account required pam_exec.so quiet %s %s %s %s k1 %s %s\naccount required pam_permit.so\n"
                     % (os.path.join(ROOT, "bench", "diy_okta_check.sh"), env.okta.url, CLIENT_ID, key_path,
                        env.okta.ca, GROUP),
    }
    for name, text in files.items():
        with open(os.path.join(confdir, name), "w") as f:
            f.write(text)
    return confdir


def pam_bench(confdir, service, user, n, *extra):
    return tool(os.path.join(BB, "pam_bench"), confdir, service, user, n, *extra)


def callgrind_ir(confdir, service, user, n):
    out = os.path.join(BB, "callgrind.%s.out" % service)
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        os.path.join(BB, "pam_bench"), confdir, service, user, str(n)],
                       capture_output=True, text=True, timeout=900)
    for line in open(out):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError("no callgrind summary: " + p.stderr[-1000:])


def token(env, key):
    """An access token, fetched the way the daemon does (private_key_jwt)."""
    import base64
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    aud = env.okta.url + "/oauth2/v1/token"
    h = b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    c = b64(json.dumps({"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": aud, "iat": now, "exp": now + 300,
                        "jti": uuid.uuid4().hex}).encode())
    sig = key.sign(("%s.%s" % (h, c)).encode(), padding.PKCS1v15(), hashes.SHA256())
    body = urllib.parse.urlencode({
        "grant_type": "client_credentials", "scope": "okta.users.read okta.groups.manage",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "%s.%s.%s" % (h, c, b64(sig))}).encode()
    req = urllib.request.Request(aud, data=body, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, context=env.okta._ctx, timeout=10) as r:
        return json.loads(r.read())["access_token"]


def med(xs):
    return statistics.median(xs)


# ------------------------------------------------------------------ phases

def phase_main(key, key_path):
    env = Env("main", key, 400)
    try:
        env.daemon.stop()
        env.insert_grants(range(400), lambda i: int(time.time()) + 86400)
        env.insert_grants([1], lambda i: int(time.time()) + 86400, groups=COLD_GROUPS)
        env.daemon.start()
        st0 = env.okta.state()
        env.okta.clear_requests()

        # 4. Okta calls: 1,000 logins by 100 users within cache_ttl, cold cache.
        log("okta calls: 1000 checks by 100 users, 64 at once")
        r4 = load(env, 64, -1000, range(100))
        reqs = env.okta.requests()
        st1 = env.okta.state()
        api = [q for q in reqs if q["path"].startswith("/api/v1/")]
        R["calls"] = {"checks": r4["checks"], "allowed": r4["allowed"], "users": 100,
                      "api_calls": len(api),
                      "user_gets": sum(1 for q in api if q["path"].split("?")[0].count("/") == 4),
                      "group_gets": sum(1 for q in api if q["path"].split("?")[0].endswith("/groups")),
                      "roster_gets": sum(1 for q in api if q["path"].split("?")[0].startswith("/api/v1/groups/")
                                         and q["path"].split("?")[0].endswith("/users")),
                      "token_requests": sum(1 for q in reqs if q["path"].startswith("/oauth2/")),
                      "tokens_issued": st1["tokens_issued"] - st0["tokens_issued"]}
        log(R["calls"])

        confdir = stacks(env, key_path)
        # 1. Warm gate, alternated to share the machine's state.
        log("warm gate")
        jit, permit = [], []
        for _ in range(3):
            permit.append(pam_bench(confdir, "bench-permit", uname(1), 20000))
            jit.append(pam_bench(confdir, "bench-jit", uname(1), 20000))
        assert all(j["fails"] == 0 for j in jit), jit
        R["warm"] = {k: {"p50_us": med([x["p50_us"] for x in v]), "p99_us": med([x["p99_us"] for x in v]),
                         "mean_us": med([x["mean_us"] for x in v])} for k, v in (("jit", jit), ("permit", permit))}
        R["warm"]["added_p50_us"] = R["warm"]["jit"]["p50_us"] - R["warm"]["permit"]["p50_us"]
        R["warm"]["added_p99_us"] = R["warm"]["jit"]["p99_us"] - R["warm"]["permit"]["p99_us"]
        if shutil.which("valgrind"):
            n = 2000
            ij, ip = callgrind_ir(confdir, "bench-jit", uname(1), n), callgrind_ir(confdir, "bench-permit", uname(1), n)
            R["warm"]["ir_per_call_jit"] = ij / n
            R["warm"]["ir_per_call_permit"] = ip / n
            R["warm"]["ir_added_per_call"] = (ij - ip) / n
        log(R["warm"])

        # 2. Throughput: 64 clients, a new connection per check, warm cache.
        log("throughput")
        runs = [load(env, 64, 10, range(100)) for _ in range(3)]
        R["throughput"] = {"checks_per_s": med([x["checks_per_s"] for x in runs]),
                           "p50_us": med([x["p50_us"] for x in runs]), "p99_us": med([x["p99_us"] for x in runs]),
                           "errors": sum(x["errors"] for x in runs), "denied": sum(x["denied"] for x in runs)}
        log(R["throughput"])

        # 3. Cold gate against the raw HTTPS round trip. A granter answers a
        # group's members from its member list: a check needs Okta when the
        # group's list is not cached (one GET of the list); each sample asks
        # a group never asked before. Users not on a list (refusals, and
        # every check on a gate) are looked up one by one (two GETs at once):
        # measured too, as "per-user", with users never asked before.
        log("cold gate")
        tok = token(env, key)
        load(env, 1, -1, [0], groups=OTHER)  # the "other" list, cached; user 0 is not on it
        st0 = env.okta.state()
        cold, raw, paced, peruser, raw_user = [], [], [], [], []
        for k in range(3):
            gid0 = COLD_GROUPS[k * COLD_PER_ROUND][1]
            raw.append(tool(os.path.join(BB, "rtt"), env.okta.url + "/api/v1/groups/%s/users?limit=1000" % gid0,
                            env.okta.ca, tok, 200))
            names = [name for name, _ in COLD_GROUPS[k * COLD_PER_ROUND:(k + 1) * COLD_PER_ROUND]]
            cold.append(load(env, 1, -COLD_PER_ROUND, [1], groups=",".join(names)))
            # The same raw GET, each after the idle time a cold check has
            # around its own GET (the IPC, okta-jitd's work, the client),
            # so that the fake and the CPUs idle between requests as they
            # do in the cold loop.
            gap = max(0, int(cold[-1]["p50_us"] - raw[-1]["p50_us"]))
            paced.append(tool(os.path.join(BB, "rtt"), env.okta.url + "/api/v1/groups/%s/users?limit=1000" % gid0,
                              env.okta.ca, tok, 200, gap))
            paced[-1]["gap_us"] = gap
            raw_user.append(tool(os.path.join(BB, "rtt"), env.okta.url + "/api/v1/users/" + uid(5), env.okta.ca,
                                 tok, 200))
            peruser.append(load(env, 1, -100, range(100 + 100 * k, 200 + 100 * k), groups=OTHER))
        st1 = env.okta.state()
        rtt_runs = len(raw) + len(paced) + len(raw_user)  # each rtt run opens one connection
        R["cold"] = {"p50_us": med([x["p50_us"] for x in cold]), "p99_us": med([x["p99_us"] for x in cold]),
                     "raw_p50_us": med([x["p50_us"] for x in raw]), "raw_p99_us": med([x["p99_us"] for x in raw]),
                     "paced_p50_us": med([x["p50_us"] for x in paced]), "paced_gap_us": med([x["gap_us"] for x in paced]),
                     "checks": sum(x["checks"] for x in cold), "allowed": sum(x["allowed"] for x in cold),
                     "peruser_p50_us": med([x["p50_us"] for x in peruser]),
                     "peruser_p99_us": med([x["p99_us"] for x in peruser]),
                     "peruser_checks": sum(x["checks"] for x in peruser),
                     "peruser_denied": sum(x["denied"] for x in peruser),
                     "raw_user_p50_us": med([x["p50_us"] for x in raw_user]),
                     "new_connections": st1["connections"] - st0["connections"] - rtt_runs,
                     "new_tls_handshakes": st1["tls_handshakes"] - st0["tls_handshakes"] - rtt_runs}
        R["cold"]["ratio_p50"] = R["cold"]["p50_us"] / R["cold"]["raw_p50_us"]
        R["cold"]["paced_ratio_p50"] = R["cold"]["p50_us"] / R["cold"]["paced_p50_us"]
        R["cold"]["peruser_ratio_p50"] = R["cold"]["peruser_p50_us"] / R["cold"]["raw_user_p50_us"]
        assert R["cold"]["allowed"] == R["cold"]["checks"], R["cold"]
        log(R["cold"])

        # 7. The DIY pam_exec script, through the same libpam loop.
        log("diy pam_exec")
        diy = pam_bench(confdir, "bench-diy", uname(1), 30)
        R["diy"] = {"p50_us": diy["p50_us"], "p99_us": diy["p99_us"], "fails": diy["fails"]}
        log(R["diy"])

        # 6b. PAM module heap over 100,000 cycles.
        log("pam heap")
        R["pam_heap"] = pam_bench(confdir, "bench-jit", uname(1), 100000, "--heap")
        log(R["pam_heap"])
    finally:
        env.close()


def phase_scale(key):
    per = {"groups": {"limit": 600, "window_seconds": EXP_WINDOW}}
    rate = {"limit": 1000000, "window_seconds": 60, "per_bucket": per}
    n = max(MEM_USERS, EXP_GRANTS)
    log("scale env: %d users" % n)
    env = Env("scale", key, n, rate=rate, extra={"cache_max": str(n + 100)} if False else None)
    try:
        env.daemon.stop()
        env.insert_grants(range(MEM_USERS), lambda i: int(time.time()) + 86400)
        env.daemon.start()
        rss0 = env.rss_kb()
        env.okta.clear_requests()
        t0 = time.time()
        r = load(env, 64, -MEM_USERS, range(MEM_USERS))
        roster_s = time.time() - t0
        roster_calls = len([q for q in env.okta.requests() if q["path"].startswith("/api/v1/")])
        rss_roster = env.rss_kb()
        # and every user's own answer cached: checks for a group they are
        # not on the list of, each looked up one by one
        env.okta.clear_requests()
        t0 = time.time()
        r2 = load(env, 64, -MEM_USERS, range(MEM_USERS), groups=OTHER)
        per_s = time.time() - t0
        per_calls = len([q for q in env.okta.requests() if q["path"].startswith("/api/v1/")])
        R["memory"] = {"users": MEM_USERS, "grants": MEM_USERS, "rss_kb_start": rss0, "rss_kb_roster": rss_roster,
                       "rss_kb_warm": env.rss_kb(), "roster_checks": r["checks"], "allowed": r["allowed"],
                       "roster_s": roster_s, "roster_okta_calls": roster_calls,
                       "peruser_checks": r2["checks"], "peruser_denied": r2["denied"], "peruser_s": per_s,
                       "peruser_okta_calls": per_calls, "okta_calls_per_s": per_calls / per_s}
        log(R["memory"])

        # 5. Expiry at scale: the same grants now end within one minute.
        env.daemon.stop()
        con = sqlite3.connect(env.ledger)
        con.execute("DELETE FROM grants")
        con.commit()
        con.close()
        base = (int(time.time()) // 60) * 60 + 60
        if base - time.time() < 15:
            base += 60
        env.insert_grants(range(EXP_GRANTS), lambda i: base + (i % 30))
        env.okta.configure(rate_limit=rate)
        env.okta.clear_requests()
        env.daemon.start()
        log("expiry: %d grants end between %s and +30 s" % (EXP_GRANTS, time.strftime("%H:%M:%S", time.localtime(base))))
        last_end = base + 29
        deadline = time.time() + 900
        while time.time() < deadline:
            left = sum(1 for g, u in env.okta.state()["memberships"] if g == GID and u < uid(EXP_GRANTS))
            if left == 0:
                break
            time.sleep(1)
        done = time.time()
        reqs = env.okta.requests()
        dels = [q for q in reqs if q["method"] == "DELETE"]
        r429 = [q for q in reqs if q["status"] == 429]
        R["expiry"] = {"grants": EXP_GRANTS, "limit": "600 per %d s (groups bucket)" % EXP_WINDOW,
                       "left": left, "seconds_after_last_end": done - last_end,
                       "seconds_after_first_end": done - base, "deletes": len(dels), "http_429": len(r429),
                       "limit_floor_s": EXP_GRANTS / 600.0 * EXP_WINDOW,
                       "removals_per_s": len(dels) / max(1e-3, max(q["t"] for q in dels) - min(q["t"] for q in dels))
                       if dels else 0}
        log(R["expiry"])
    finally:
        env.close()


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 1048576, 1),
            "kernel": platform.release(),
            "curl": subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split("\n")[0]}


def write_md(path):
    m, w, t, c, k, d = R["machine"], R["warm"], R["throughput"], R["cold"], R["calls"], R["diy"]
    h = R["pam_heap"]
    lines = [
        "# Benchmarks", "",
        "Written by `make bench` (`bench/run.py`) on %s. Every figure below comes from this one run;"
        % time.strftime("%Y-%m-%d %H:%M"),
        "each is set next to its baseline measured side by side in the same run. Medians of 3 runs where",
        "a row says so; p50/p99 are per call.", "",
        "## Machine", "",
        "| nproc | CPU | memory | kernel |", "|---|---|---|---|",
        "| %d | %s | %.1f GiB | %s |" % (m["nproc"], m["cpu"], m["mem_gib"], m["kernel"]), "",
        "The load generators, the fake Okta (Python) and okta-jitd share these cores.", "",
        "## Method", "",
        "* **Warm gate**: `bench/pam_bench.c` runs `pam_start_confdir`, `pam_acct_mgmt`, `pam_end` in one process",
        "  (20,000 cycles, 3 rounds alternated) with `account required pam_okta_jit.so` + `pam_permit.so`,",
        "  against `pam_permit.so` alone. The user holds an active grant and okta-jitd's cache is warm.",
        "  Instruction counts: `valgrind --tool=callgrind` over 2,000 cycles of each stack (client side: libpam",
        "  + module; the daemon's work is in the throughput row).",
        "* **Throughput**: `bench/load.c`, 64 threads, a new Unix-socket connection per CHECK (as the PAM module),",
        "  100 users with grants, warm cache, 10 s, 3 runs.",
        "* **Cold gate**: okta-jitd (a granter) answers from each gated group's member list, fetched once per",
        "  cache_ttl. A cold check is one whose group list is not cached: each sample asks a group never asked",
        "  before (%d per round, 3 rounds, one at a time; okta-jitd GETs `/api/v1/groups/{id}/users`), against" % COLD_PER_ROUND,
        "  `bench/rtt.c`: one libcurl handle reused, the same GET on the same fake, back to back. *Paced*: the same",
        "  rtt run with a sleep before each GET as long as the cold check's p50 minus the raw p50 of that round, so",
        "  that the fake and the CPUs idle between GETs as they do around a cold check's GET (shown for context;",
        "  the target is judged against the back-to-back figure). *Per-user*: a user not on the",
        "  list (a refusal; every check on a gate) is looked up by two GETs at once (`/users/{login}` and its",
        "  `/groups`), 100 new users per round, against the raw GET `/api/v1/users/{id}`. Handshakes and",
        "  connections from the fake's `/__control/state` before/after (the rtt tool's own connections are",
        "  subtracted).",
        "* **Okta calls**: a fresh daemon (cold cache), 1,000 CHECKs by 100 users, 64 at once, within cache_ttl;",
        "  counted in the fake's `/__control/requests` and `tokens_issued`.",
        "* **Expiry at scale**: grants inserted into the ledger with sqlite3 while okta-jitd is stopped (state",
        "  active, op '', end_at spread over 30 s of one minute), memberships seeded in the fake, groups bucket",
        "  rate-limited; time from the ends until the fake holds none of the memberships; 429s counted.",
        "* **Memory**: okta-jitd VmRSS after %d users with %d grants are checked once (answered from the group's"
        % (R["memory"]["users"], R["memory"]["grants"]),
        "  list of members), then once more for a group they are not on (each user's own answer cached); PAM module:",
        "  `mallinfo2()` in-use bytes and VmRSS/VmData before/after 100,000 cycles (after 1,000 warm-up cycles).",
        "* **DIY**: `bench/diy_okta_check.sh` under `pam_exec.so`: openssl signs a private_key_jwt assertion,",
        "  curl fetches a token and the user's groups on every login (30 logins).", "",
        "## Results", "",
        "| # | what | measured | baseline (same run) | ratio / added | target |", "|---|---|---|---|---|---|",
        "| 1 | warm gate p50 | %.1f µs | pam_permit %.1f µs | %+.1f µs | |" % (
            w["jit"]["p50_us"], w["permit"]["p50_us"], w["added_p50_us"]),
        "| 1 | warm gate p99 | %.1f µs | pam_permit %.1f µs | **%+.1f µs** | ≤ 50 µs added |" % (
            w["jit"]["p99_us"], w["permit"]["p99_us"], w["added_p99_us"]),
    ]
    if "ir_added_per_call" in w:
        lines.append("| 1 | warm gate instructions (callgrind) | %.0f Ir/call | pam_permit %.0f Ir/call | +%.0f Ir/call | |"
                     % (w["ir_per_call_jit"], w["ir_per_call_permit"], w["ir_added_per_call"]))
    lines += [
        "| 2 | throughput, 64 clients | **%.0f checks/s**, p50 %.0f µs, p99 %.0f µs | %d errors, %d refused | | ≥ 20,000/s on 2 cores |"
        % (t["checks_per_s"], t["p50_us"], t["p99_us"], t["errors"], t["denied"]),
        "| 3 | cold gate (cache miss) p50 | %.0f µs (p99 %.0f) | raw HTTPS RTT %.0f µs (p99 %.0f) | **%.2f×** | ≤ 1.2× |"
        % (c["p50_us"], c["p99_us"], c["raw_p50_us"], c["raw_p99_us"], c["ratio_p50"]),
    ]
    if "paced_p50_us" in c:
        lines.append("| 3 | cold gate p50, against the raw GET paced as in the cold loop | %.0f µs | raw HTTPS RTT %.0f µs"
                     " after %.0f µs idle | %.2f× | (context) |"
                     % (c["p50_us"], c["paced_p50_us"], c["paced_gap_us"], c["paced_ratio_p50"]))
    lines += [
        "| 3 | cold gate, per-user lookup (refusals; gates) p50 | %.0f µs (p99 %.0f) | raw HTTPS RTT %.0f µs | %.2f× | |"
        % (c["peruser_p50_us"], c["peruser_p99_us"], c["raw_user_p50_us"], c["peruser_ratio_p50"]),
        "| 3 | new TLS handshakes / connections during %d cold checks | %d / %d | | | 0 after the first |"
        % (c["checks"] + c["peruser_checks"], c["new_tls_handshakes"], c["new_connections"]),
        "| 4 | Okta API calls for 1,000 logins by 100 users | %d (%d member-list GETs, %d user GETs, %d user-groups GETs) | 100 users | %.2f per user | ≤ 1 per user per cache_ttl |"
        % (k["api_calls"], k.get("roster_gets", 0), k["user_gets"], k["group_gets"], k["api_calls"] / 100.0),
        "| 4 | token requests in that run | %d (tokens issued %d) | | | ≤ 1 per hour |" % (k["token_requests"], k["tokens_issued"]),
    ]
    if "expiry" in R:
        e = R["expiry"]
        lines.append("| 5 | %d grants ending in one minute, %s | last removal %.0f s after the last end (%.0f s after the first) | rate-limit floor %.0f s | %d DELETEs, %d × 429 | zero 429 storms |"
                     % (e["grants"], e["limit"], e["seconds_after_last_end"], e["seconds_after_first_end"],
                        e["limit_floor_s"], e["deletes"], e["http_429"]))
    mm = R["memory"]
    lines += [
        "| 6 | okta-jitd RSS, %d users + %d grants, answered from the member list (%d Okta calls) | %.1f MiB | at start %.1f MiB | %+.1f MiB | |"
        % (mm["users"], mm["grants"], mm.get("roster_okta_calls", -1), mm.get("rss_kb_roster", 0) / 1024,
           mm["rss_kb_start"] / 1024, (mm.get("rss_kb_roster", 0) - mm["rss_kb_start"]) / 1024),
        "| 6 | okta-jitd RSS, and each of the %d users' own answer cached (%d Okta calls) | %.1f MiB | at start %.1f MiB | %+.1f MiB | |"
        % (mm["users"], mm.get("peruser_okta_calls", -1), mm["rss_kb_warm"] / 1024, mm["rss_kb_start"] / 1024,
           (mm["rss_kb_warm"] - mm["rss_kb_start"]) / 1024),
        "| 6 | PAM heap in use over %d cycles | %d → %d bytes | VmRSS %d → %d kB, VmData %d → %d kB | %+d bytes | no growth |"
        % (h["cycles"], h["heap_in_use_before"], h["heap_in_use_after"], h["vmrss_kb_before"], h["vmrss_kb_after"],
           h["vmdata_kb_before"], h["vmdata_kb_after"], h["heap_in_use_after"] - h["heap_in_use_before"]),
        "| 7 | DIY pam_exec + curl, per login | p50 %.0f µs, p99 %.0f µs | | warm gate %.0f× faster, cold gate %.0f× faster | |"
        % (d["p50_us"], d["p99_us"], d["p50_us"] / w["jit"]["p50_us"], d["p50_us"] / c["p50_us"]),
        "",
    ]
    lines += R.get("notes_md", [])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--md-only":
        R.update(json.load(open(os.environ.get("BENCH_JSON", os.path.join(BB, "results.json")))))
        notes = os.path.join(ROOT, "bench", "notes.md")
        if os.path.exists(notes):
            R["notes_md"] = open(notes).read().splitlines()
        write_md(os.environ.get("BENCH_OUT", os.path.join(ROOT, "docs", "benchmarks.md")))
        return
    if os.geteuid() != 0:
        sys.exit("bench: run as root (the PAM module trusts only a root-owned socket)")
    os.makedirs(BB, exist_ok=True)
    R["machine"] = machine()
    work = tempfile.mkdtemp(prefix="ojit-bench-key-")
    key = gen_key("rsa")
    key_path = write_private_key(os.path.join(work, "okta.key"), key)
    os.chmod(work, 0o755)
    t0 = time.time()
    try:
        phase_main(key, key_path)
        if os.environ.get("BENCH_SKIP_SCALE") != "1":
            phase_scale(key)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    R["seconds"] = time.time() - t0
    notes = os.path.join(ROOT, "bench", "notes.md")
    if os.path.exists(notes):
        R["notes_md"] = open(notes).read().splitlines()
    with open(os.environ.get("BENCH_JSON", os.path.join(BB, "results.json")), "w") as f:
        json.dump(R, f, indent=1)
    if "memory" in R:
        write_md(os.environ.get("BENCH_OUT", os.path.join(ROOT, "docs", "benchmarks.md")))
    log("done in %.0f s" % R["seconds"])


if __name__ == "__main__":
    main()
