#!/usr/bin/python3
"""okta-jit fleet benchmark (issue 17): `make bench` runs it after
bench/run.py, `make bench-fleet` alone.

One PostgreSQL (a cluster of its own, as tests/integration/pg_fixtures.py
makes it), one fake Okta per design (tests/okta_server/fake_okta.py: it
logs every request and answers 429 past its limits), 2 granters and
FLEET_GATES gate daemons on this machine, each with its own config, socket
and PAM socket. The same scenarios run twice in one run, against:

* today's design: okta-jitd built from commit FLEET_BASELINE (c2bee88, the
  last commit before issue 17) in a temporary `git worktree`; its gates hold
  an Okta key of their own (scope okta.users.read, as that commit's
  docs/fleet.md says) and read the ledger on every check;
* the new design: this tree's okta-jitd; its gates hold no Okta key at all.

Scenarios: a sweep of steady load over 1, 10, 25, 50 gates (Okta calls per
minute against the number of gates, check latency, PostgreSQL statements
per check), an idle window (what a gate costs PostgreSQL with no logins),
the "Ansible burst" (one user checked through every gate within one second,
FLEET_ROUNDS times, a new user each round), and a revocation watched on
every gate. CHECKs go to each gate's PAM socket as root (bench/fleet_load.c).

Writes $(BUILD)/bench/fleet.json, a section of docs/benchmarks.md and the
"## Numbers" section at the end of docs/fleet.md. Skips (exit 0, with a
message) without PostgreSQL or root. Knobs (environment): FLEET_GATES (50),
FLEET_SWEEP ("1,10,25,50"), FLEET_WINDOW (20 s a sweep step), FLEET_RATE
(10 checks/s per gate), FLEET_USERS_PER_STEP (20), FLEET_ROUNDS (5),
FLEET_CACHE_TTL (20 s), FLEET_OKTA_CONCURRENCY (Okta's 75 simultaneous
requests scaled to the bench fleet: 75 * FLEET_GATES / 1000, at least 2),
FLEET_OKTA_LATENCY_MS (100: Okta's own answer time, added to every API
call), FLEET_IDLE (20 s), FLEET_DESIGNS ("today,new"), FLEET_BASELINE
(c2bee88), FLEET_NEW_BUILD / FLEET_NEW_FLEET_MD (another build folder and
docs/fleet.md as the new design), FLEET_JSON, FLEET_NO_DOCS=1 (write only
the json), FLEET_MD_ONLY=1 (docs from an existing json)."""
import concurrent.futures
import glob
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("OJIT_BUILD", os.path.join(ROOT, "build"))
BUILD = os.environ["OJIT_BUILD"]
BB = os.path.join(BUILD, "bench")
JSON_OUT = os.environ.get("FLEET_JSON", os.path.join(BB, "fleet.json"))
BENCH_MD = os.environ.get("FLEET_BENCH_MD", os.path.join(ROOT, "docs", "benchmarks.md"))
FLEET_MD = os.environ.get("FLEET_FLEET_MD", os.path.join(ROOT, "docs", "fleet.md"))

GATES = int(os.environ.get("FLEET_GATES", "50"))
SWEEP = sorted({n for n in (int(x) for x in os.environ.get("FLEET_SWEEP", "1,10,25,50").split(",")) if n <= GATES}
               | {GATES})
WINDOW = int(os.environ.get("FLEET_WINDOW", "20"))
RATE = int(os.environ.get("FLEET_RATE", "10"))
USERS_PER_STEP = int(os.environ.get("FLEET_USERS_PER_STEP", "20"))
ROUNDS = int(os.environ.get("FLEET_ROUNDS", "5"))
CACHE_TTL = int(os.environ.get("FLEET_CACHE_TTL", "20"))
IDLE = int(os.environ.get("FLEET_IDLE", "20"))
CONCURRENCY = int(os.environ.get("FLEET_OKTA_CONCURRENCY", str(max(2, round(75 * GATES / 1000)))))
LATENCY_MS = int(os.environ.get("FLEET_OKTA_LATENCY_MS", "100"))
DESIGNS = [d for d in os.environ.get("FLEET_DESIGNS", "today,new").split(",") if d]
BASELINE = os.environ.get("FLEET_BASELINE", "c2bee88")

GROUP, GID = "fleet-ssh", "00gfleet0000000001"
GATE_CLIENT = "0oaGATECLIENT1"
FLOWS = """
[flow fleet]
groups = %s
default_duration = 1h
max_duration = 24h
approval = auto
reason = optional
""" % GROUP
R = {}


def log(*a):
    print("[bench-fleet]", *a, flush=True)


def skip(why):
    print("[bench-fleet] skipped: " + why, flush=True)
    sys.exit(0)


# ------------------------------------------------------------------ users

def uid(i):
    return "00ufleet%010d" % i


def uname(i):
    return "fu%04d" % i


# Users 0..: the probe, the revoked user, one per burst round, then
# USERS_PER_STEP per sweep step; each is an Okta member of GROUP with an
# active grant in the ledger.
PROBE, REVOKED = 0, 1
BURST0 = 2
STEP0 = BURST0 + ROUNDS
NUSERS = STEP0 + USERS_PER_STEP * (len(SWEEP) + 1)  # the sweep, then the limited step


def step_users(k):
    return [uname(STEP0 + k * USERS_PER_STEP + j) for j in range(USERS_PER_STEP)]


# ------------------------------------------------------------------ today's design

def baseline_binaries(rev):
    """okta-jitd and okta-jit of commit rev, built once in a temporary git
    worktree and kept in $(BUILD)/bench/baseline-SHA; its docs/fleet.md
    (the gates' GRANTs of that design) beside them."""
    sha = subprocess.run(["git", "-C", ROOT, "rev-parse", rev + "^{commit}"], capture_output=True, text=True,
                         check=True).stdout.strip()
    out = os.path.join(BB, "baseline-" + sha[:12])
    if all(os.path.exists(os.path.join(out, f)) for f in ("okta-jitd", "okta-jit", "fleet.md")):
        return out, sha
    os.makedirs(out, exist_ok=True)
    wt = tempfile.mkdtemp(prefix="ojit-baseline-")
    os.rmdir(wt)
    log("building today's design (okta-jitd of %s) in %s" % (sha[:12], wt))
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", wt, sha], check=True, capture_output=True)
    try:
        p = subprocess.run(["nice", "make", "-C", wt, "-j2", "build/okta-jitd", "build/okta-jit"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("baseline build failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
        for f in ("okta-jitd", "okta-jit"):
            shutil.copy2(os.path.join(wt, "build", f), os.path.join(out, f))
        shutil.copy2(os.path.join(wt, "docs", "fleet.md"), os.path.join(out, "fleet.md"))
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", wt], capture_output=True)
    return out, sha


# ------------------------------------------------------------------ PostgreSQL

def start_pg():
    import pg_fixtures

    class BenchPg(pg_fixtures.PgServer):
        """pg_fixtures' server with room for the fleet's connections and
        pg_stat_statements (statements per check)."""
        tuned = False

        def start(self):
            if not self.tuned:
                with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                    f.write("\n# bench/fleet.py\nmax_connections = %d\n"
                            "shared_preload_libraries = 'pg_stat_statements'\n"
                            "pg_stat_statements.track = all\n" % (40 + 3 * GATES))
                self.tuned = True
            super().start()

    pg = BenchPg(pg_fixtures._bindir())
    try:
        pg.init()
    except BaseException:
        pg.destroy()
        raise
    return pg


def gate_grants_sql(md_path, db):
    with open(md_path) as f:
        text = f.read()
    m = re.search(r"```sql\n-- okta-jit gate role\n(.*?)```", text, re.S)
    if not m:
        raise RuntimeError("%s has no ```sql block starting '-- okta-jit gate role'" % md_path)
    return m.group(1).replace("DATABASE okta_jit ", "DATABASE %s " % db)


# ------------------------------------------------------------------ Okta

def okta_seed(gkey, gatekey):
    from conftest import CLIENT_ID, public_pem
    users = [{"id": uid(i), "login": uname(i) + "@example.com", "status": "ACTIVE",
              "firstName": "F%d" % i, "lastName": "User", "email": uname(i) + "@example.com"}
             for i in range(NUSERS)]
    return {"clients": [{"client_id": CLIENT_ID, "keys": [{"kid": "k1", "public_key_pem": public_pem(gkey)}],
                         "scopes": ["okta.groups.manage", "okta.users.read"], "admin_role": "ORG_ADMIN"},
                        {"client_id": GATE_CLIENT, "keys": [{"kid": "g1", "public_key_pem": public_pem(gatekey)}],
                         "scopes": ["okta.users.read"], "admin_role": "READ_ONLY_ADMIN"}],
            "users": users,
            "groups": [{"id": GID, "name": GROUP, "type": "OKTA_GROUP"}],
            "memberships": [[GID, uid(i)] for i in range(NUSERS)],
            "rate_limit": {"limit": 1000000, "window_seconds": 60},
            "token_lifetime": 3600}


def api_stats(reqs, t0=None, t1=None):
    """Counts over the fake's request log (optionally within [t0, t1))."""
    sel = [q for q in reqs if (t0 is None or q["t"] >= t0) and (t1 is None or q["t"] < t1)]
    api = [q for q in sel if q["path"].startswith("/api/v1/")]
    tok = [q for q in sel if q["path"].startswith("/oauth2/")]
    ev = sorted([(q["t"], 1) for q in sel] + [(q["t_end"], -1) for q in sel])
    cur = peak = 0
    for _, d in ev:
        cur += d
        peak = max(peak, cur)
    return {"api_calls": len(api), "token_requests": len(tok),
            "http_429": sum(1 for q in sel if q["status"] == 429),
            "api_ok": sum(1 for q in api if isinstance(q["status"], int) and q["status"] < 300),
            "peak_simultaneous": peak,
            "user_gets": sum(1 for q in api if q["path"].startswith("/api/v1/users/")),
            "group_gets": sum(1 for q in api if q["path"].startswith("/api/v1/groups"))}


# ------------------------------------------------------------------ the fleet

class Host:
    def __init__(self, fleet, name, role, exe):
        from daemon_fixtures import Daemon
        self.name, self.role = name, role
        self.dir = os.path.join(fleet.base, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "s")
        self.pam_sock = os.path.join(self.dir, "pam.sock")
        self.conf = os.path.join(self.dir, "okta-jit.conf")
        with open(self.conf, "w") as f:
            f.write(fleet.config(self, role))
        self.daemon = Daemon(self.conf, self.sock, os.path.join(self.dir, "daemon.log"), exe=exe)

    def proc_status(self):
        out = {}
        try:
            with open("/proc/%d/status" % self.daemon.proc.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "Threads"):
                        out[k] = int(v.split()[0])
        except (OSError, AttributeError):
            pass
        return out


class Fleet:
    def __init__(self, design, exe_dir, pg, okta, keys, grants_md):
        self.design, self.pg, self.okta = design, pg, okta
        self.exe = os.path.join(exe_dir, "okta-jitd")
        self.base = tempfile.mkdtemp(prefix="ojf-%s-" % design, dir="/tmp")
        os.chmod(self.base, 0o755)
        self.keys = keys  # {"granter": path, "gate": path}
        self.db = "fleet_" + design
        pg.recreate(self.db)
        self.uri = "postgresql://okta_jit@127.0.0.1:%d/%s?sslmode=disable" % (pg.port, self.db)
        self.gate_uri = self.uri.replace("okta_jit@", "okta_jit_gate@", 1)
        self.pw = pg.write_password_file(os.path.join(self.base, "ledger-password"))
        self.gate_pw = pg.write_password_file(os.path.join(self.base, "ledger-password-gate"), gate=True)
        self.grants_md = grants_md
        self.granters, self.gates = [], []
        # the new design signs what gates use (docs/fleet.md, "Fleet signing
        # key"): granters hold the private key, gates the public one
        self.fleet_keys = None
        if design == "new":
            from fleet_fixtures import fleet_keypair
            self.fleet_keys = fleet_keypair(self.base)

    def config(self, host, role):
        from conftest import CLIENT_ID
        lines = []
        if role == "granter" or self.design == "today":
            client, key, kid = (CLIENT_ID, self.keys["granter"], "k1") if role == "granter" else \
                (GATE_CLIENT, self.keys["gate"], "g1")
            lines += ["[okta]", "org_url = %s" % self.okta.url, "client_id = %s" % client,
                      "private_key = %s" % key, "key_id = %s" % kid, "ca_file = %s" % self.okta.ca,
                      "timeout = 10s", ""]
        lines += ["[integration]", "name = fleet-bench", "access_details = Ask in #access.",
                  "owner = user:%s@example.com" % uname(PROBE), "",
                  "[users]", "login_format = %u@example.com", "",
                  "[daemon]", "socket = %s" % host.sock,
                  "ledger = %s" % (self.uri if role == "granter" else self.gate_uri),
                  "ledger_password_file = %s" % (self.pw if role == "granter" else self.gate_pw),
                  "role = %s" % role, "cache_ttl = %ds" % CACHE_TTL, "outage_grace = 5m"]
        if self.fleet_keys is not None:
            lines.append("fleet_signing_key = %s" % self.fleet_keys[0] if role == "granter" else
                         "fleet_verify_keys = %s" % self.fleet_keys[1])
        return "\n".join(lines) + "\n" + FLOWS

    def sql(self, q):
        return self.pg.psql(q, db=self.db)

    def start(self):
        for i in range(2):
            h = Host(self, "granter-%d" % i, "granter", self.exe)
            h.daemon.start(timeout=60)
            self.granters.append(h)
        # schema in place: the gates' rights, the grants
        text = gate_grants_sql(self.grants_md, self.db)
        if self.sql("SELECT to_regclass('snapshots') IS NOT NULL")[0][0] == "t" and "snapshots" not in text:
            text += "\nGRANT SELECT ON snapshots TO okta_jit_gate;\n"
            R.setdefault("notes", []).append("docs/fleet.md's gate GRANTs had no snapshots: added SELECT on it")
        self.sql(text)
        now = int(time.time())
        vals = ",".join("('grant','%s','%s@example.com','%s','%s','%s','fleet','%s','bench','auto','active',''," 
                        "0,86400,%d,%d,%d,%d,%d)" % (uname(i), uname(i), uid(i), GROUP, GID, uname(i),
                                                     now, now, now, now + 86400, now)
                        for i in range(NUSERS))
        self.sql("INSERT INTO grants (kind, \"user\", okta_login, okta_user_id, grp, group_id, flow, requester,"
                 " reason, approver, state, op, was_member, duration, requested_at, decided_at, start_at, end_at,"
                 " updated_at) VALUES " + vals)
        if self.fleet_keys is not None:
            self.sign_grants()
        self.gates = [Host(self, "g%03d" % i, "gate", self.exe) for i in range(GATES)]
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda h: h.daemon.start(timeout=120), self.gates))
        R[self.design]["gate_start_s"] = round(time.time() - t0, 1)

    def sign_grants(self):
        """The bench's grants are written straight into the ledger (no Okta
        add for each): signed here as a granter signs them."""
        from fleet_fixtures import grant_bytes, sign_with
        rows = json.loads(self.sql("SELECT COALESCE(json_agg(g), '[]') FROM grants g WHERE sig = ''")[0][0])
        vals = ",".join("(%d,'%s')" % (r["id"], sign_with(self.fleet_keys[0], grant_bytes(r))) for r in rows)
        if vals:
            self.sql("UPDATE grants SET sig = v.sig FROM (VALUES %s) v(id, sig) WHERE grants.id = v.id" % vals)

    def stop(self):
        hosts = self.gates + self.granters
        for h in hosts:
            if h.daemon.alive():
                h.daemon.proc.send_signal(signal.SIGTERM)
        for h in hosts:
            h.daemon.stop()

    def close(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
            try:
                self.pg.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db, db="postgres")
            except Exception:  # noqa: BLE001 - best effort
                pass

    # -- PostgreSQL counters
    def pg_conns(self):
        rows = self.pg.psql("SELECT usename, count(*) FROM pg_stat_activity WHERE datname = '%s' GROUP BY 1"
                            % self.db, db="postgres")
        return {u: int(n) for u, n in rows}

    def pg_statements(self):
        """Statements run so far, by role (pg_stat_statements)."""
        rows = self.pg.psql(
            "SELECT r.rolname, sum(s.calls) FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '%s' GROUP BY 1" % self.db, db="postgres")
        return {u: int(n) for u, n in rows}

    def pg_top(self, role, n=6):
        return [(q[:110], int(c)) for q, c in self.pg.psql(
            "SELECT regexp_replace(s.query, '\\s+', ' ', 'g'), s.calls FROM pg_stat_statements s"
            " JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = '%s' AND r.rolname = '%s' ORDER BY s.calls DESC LIMIT %d" % (self.db, role, n),
            db="postgres")]

    def snapshot_puts(self):
        """Snapshot writes so far (each bumps its row's gen): 0 in today's
        design, which has no snapshots."""
        if self.sql("SELECT to_regclass('snapshots') IS NOT NULL")[0][0] != "t":
            return 0
        return int(self.sql("SELECT COALESCE(sum(gen), 0) FROM snapshots")[0][0])

    def memory(self):
        st = [h.proc_status() for h in self.gates]
        gr = [h.proc_status() for h in self.granters]
        rss = [s.get("VmRSS", 0) for s in st]
        thr = [s.get("Threads", 0) for s in st]
        return {"gate_rss_kb_median": statistics.median(rss), "gate_rss_kb_max": max(rss),
                "gate_threads_median": statistics.median(thr), "gate_threads_max": max(thr),
                "gates_rss_mib_total": round(sum(rss) / 1024, 1),
                "granter_rss_kb": [s.get("VmRSS", 0) for s in gr], "granter_threads": [s.get("Threads", 0) for s in gr]}


def fleet_load(*argv, timeout=600):
    p = subprocess.run([os.path.join(BB, "fleet_load")] + [str(a) for a in argv], capture_output=True, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("fleet_load failed: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def codes(res):
    out = {}
    for g in res["gates"]:
        for c, n in g["codes"].items():
            out[c] = out.get(c, 0) + n
    return out


def refused(res):
    """Checks of users who hold an active grant and Okta membership that
    were not allowed (refused, unavailable, or no answer)."""
    return sum(g["denied"] + g["errors"] for g in res["gates"])


def okta_quiet(okta, timeout=30):
    """Wait until the fake has no request in progress (today's gates may
    still be retrying after a window), so that the next window counts only
    its own calls."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if okta.state().get("inflight", 0) == 0:
            break
        time.sleep(0.5)
    time.sleep(0.5)


def wait_ready(fleet, user=PROBE, timeout=120):
    """Every gate allows user (the new design: once the gate's mirror holds
    the grants and the group's snapshot), asked gently (spread over 2 s,
    then again where refused: today's gates meet Okta's limit otherwise)."""
    t0 = time.time()
    pending = [h.pam_sock for h in fleet.gates]
    while pending and time.time() - t0 < timeout:
        res = fleet_load("burst", GROUP, uname(user), 2000, *pending)
        pending = [g["sock"] for g in res["gates"] if g["allowed"] != 1]
        if pending:
            time.sleep(0.5)
    if pending:
        raise RuntimeError("%d gates never allowed the probe user: %s" % (len(pending), codes(res)))
    return round(time.time() - t0, 1)


def steady_step(design, D, fleet, okta, n, users, label="sweep"):
    """RATE checks/s on each of the first n gates for WINDOW s, users new
    to the gates: Okta calls, latency, PostgreSQL statements."""
    socks = [h.pam_sock for h in fleet.gates[:n]]
    okta_quiet(okta)
    okta.clear_requests()
    s0, t0 = fleet.pg_statements(), time.time()
    res = fleet_load("steady", GROUP, ",".join(users), RATE, WINDOW, *socks, timeout=WINDOW + 300)
    conns = fleet.pg_conns()
    time.sleep(1)
    s1, t1 = fleet.pg_statements(), time.time()
    ok = api_stats(okta.requests())
    p50s = [g["p50_us"] for g in res["gates"]]
    p99s = [g["p99_us"] for g in res["gates"]]
    row = {"gates": n, "checks": res["checks"], "wall_s": res["wall_s"],
           "okta": ok, "okta_calls_per_min": ok["api_calls"] * 60.0 / (t1 - t0),
           "okta_requests_per_min": (ok["api_calls"] + ok["token_requests"]) * 60.0 / (t1 - t0),
           "refused": refused(res), "codes": codes(res),
           "p50_us": res["p50_us"], "p99_us": res["p99_us"], "max_us": res["max_us"],
           "gate_p50_us_median": statistics.median(p50s), "gate_p50_us_max": max(p50s),
           "gate_p99_us_median": statistics.median(p99s), "gate_p99_us_max": max(p99s),
           "pg_conns": conns,
           "gate_statements": s1.get("okta_jit_gate", 0) - s0.get("okta_jit_gate", 0),
           "granter_statements": s1.get("okta_jit", 0) - s0.get("okta_jit", 0)}
    row["gate_statements_per_check"] = row["gate_statements"] / max(1, res["checks"])
    # net of what all the gates read with no logins at all (the new
    # design's periodic re-reads) over the same time
    row["gate_statements_per_check_net"] = max(0.0, row["gate_statements"] - D["idle"]["gate_statements_per_s"]
                                               * (t1 - t0)) / max(1, res["checks"])
    if n == GATES:
        row["per_gate"] = [{k: g[k] for k in ("checks", "p50_us", "p99_us", "max_us", "denied", "errors")}
                           for g in res["gates"]]
    log("%s %s n=%d: %d checks in %.1f s, okta %d calls (%.0f/min), 429s %d, peak %d at once, refused %d %s,"
        " p50 %.0f p99 %.0f µs, statements/check %.2f, conns %s" % (
            design, label, n, res["checks"], res["wall_s"], ok["api_calls"], row["okta_calls_per_min"],
            ok["http_429"], ok["peak_simultaneous"], row["refused"], row["codes"], res["p50_us"], res["p99_us"],
            row["gate_statements_per_check"], conns))
    return row


def run_design(design, exe_dir, pg, keys, grants_md):
    from conftest import OktaServer
    from daemon_fixtures import REVOKE, T_ID, frame, raw_exchange, tlv
    D = R[design] = {"exe": exe_dir}
    oktadir = tempfile.mkdtemp(prefix="ojf-okta-")
    okta = OktaServer(os.path.join(oktadir, "okta"), okta_seed(*keys["objs"]))
    okta.configure(concurrency_limit=CONCURRENCY)
    if LATENCY_MS > 0:
        # Okta's own answer time (the fake answers in ~1 ms): what makes
        # requests overlap, and a burst meet the concurrency limit
        okta.faults({"action": "delay", "seconds": LATENCY_MS / 1000.0, "path": "^/api/v1/", "count": -1})
    fleet = Fleet(design, exe_dir, pg, okta, keys, grants_md)
    try:
        log("%s: starting 2 granters and %d gates" % (design, GATES))
        fleet.start()
        D["ready_s"] = wait_ready(fleet)
        log("%s: all gates answer (started in %.1f s, ready %.1f s later)" % (design, D["gate_start_s"],
                                                                              D["ready_s"]))
        D["snapshot_puts0"], D["t_ready"] = fleet.snapshot_puts(), time.time()
        time.sleep(1)
        # -- idle: what a gate costs PostgreSQL with no logins
        okta.clear_requests()
        s0, t0 = fleet.pg_statements(), time.time()
        time.sleep(IDLE)
        s1, t1 = fleet.pg_statements(), time.time()
        D["idle"] = {"seconds": round(t1 - t0, 1),
                     "gate_statements_per_s": (s1.get("okta_jit_gate", 0) - s0.get("okta_jit_gate", 0)) / (t1 - t0),
                     "granter_statements_per_s": (s1.get("okta_jit", 0) - s0.get("okta_jit", 0)) / (t1 - t0),
                     "okta": api_stats(okta.requests())}
        D["idle"]["gate_statements_per_s_per_gate"] = D["idle"]["gate_statements_per_s"] / GATES
        log("%s idle:" % design, D["idle"])
        # -- the sweep: steady load on the first n gates, Okta unlimited
        # (every call a design wants is made and counted); then all gates
        # once more with Okta's (scaled) concurrency limit
        okta.configure(concurrency_limit=None)
        D["sweep"] = [steady_step(design, D, fleet, okta, n, step_users(k)) for k, n in enumerate(SWEEP)]
        okta.configure(concurrency_limit=CONCURRENCY)
        D["steady_limited"] = steady_step(design, D, fleet, okta, GATES, step_users(len(SWEEP)), "limited")
        D["pg_top_gate"] = fleet.pg_top("okta_jit_gate")
        D["memory"] = fleet.memory()
        log("%s memory:" % design, D["memory"])
        # -- the Ansible burst: one user through every gate within 1 s
        socks = [h.pam_sock for h in fleet.gates]
        D["burst"] = []
        time.sleep(2)
        for r in range(ROUNDS):
            okta_quiet(okta)
            okta.clear_requests()
            t0 = time.time()
            res = fleet_load("burst", GROUP, uname(BURST0 + r), 1000, *socks)
            time.sleep(1.5)  # Okta calls still running (retries) are counted too
            ok = api_stats(okta.requests())
            lat = sorted(g["p50_us"] for g in res["gates"])
            D["burst"].append({"round": r + 1, "checks": res["checks"], "wall_s": res["wall_s"],
                               "okta": ok, "refused": refused(res), "codes": codes(res),
                               "p50_us": res["p50_us"], "p99_us": res["p99_us"], "max_us": res["max_us"],
                               "slowest_gate_us": lat[-1]})
            log("%s burst %d: %d checks in %.2f s, okta %d calls + %d tokens, 429s %d, peak %d at once,"
                " refused %d %s, p50 %.0f p99 %.0f max %.0f µs" % (
                    design, r + 1, res["checks"], res["wall_s"], ok["api_calls"], ok["token_requests"],
                    ok["http_429"], ok["peak_simultaneous"], refused(res), codes(res), res["p50_us"],
                    res["p99_us"], res["max_us"]))
            time.sleep(max(0.0, 3.0 - (time.time() - t0)))
        D["memory_after_burst"] = fleet.memory()
        # -- revocation: the time until the last gate refuses
        gid = int(fleet.sql("SELECT id FROM grants WHERE \"user\" = '%s' AND state = 'active'"
                            % uname(REVOKED))[0][0])
        wait_ready(fleet, REVOKED)
        watch = subprocess.Popen([os.path.join(BB, "fleet_load"), "watch", GROUP, uname(REVOKED), "20", "30"] + socks,
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        t_sent = time.time()
        reply = raw_exchange(fleet.granters[0].sock, frame(REVOKE, tlv(T_ID, str(gid))), timeout=30)
        t_reply = time.time()
        out, _ = watch.communicate(timeout=60)
        w = json.loads(out.strip().splitlines()[-1])
        firsts = [g["first_deny_end"] for g in w["gates"] if g["first_deny_end"] > 0]
        D["revocation"] = {"reply_type": reply[0] if reply else None, "reply_s": round(t_reply - t_sent, 3),
                           "gates_refusing": len(firsts), "gates": GATES,
                           "codes": sorted({g["first_deny_code"] for g in w["gates"]}),
                           "last_gate_after_request_s": round(max(firsts) - t_sent, 3) if firsts else None,
                           "last_gate_after_reply_s": round(max(firsts) - t_reply, 3) if firsts else None,
                           "first_gate_after_request_s": round(min(firsts) - t_sent, 3) if firsts else None}
        log("%s revocation:" % design, D["revocation"])
        D["pg_conns_end"] = fleet.pg_conns()
        D["snapshot_puts"] = fleet.snapshot_puts() - D["snapshot_puts0"]
        D["snapshot_puts_per_min"] = D["snapshot_puts"] * 60.0 / (time.time() - D["t_ready"])
    except Exception as e:  # noqa: BLE001 - a design that cannot run is reported, the other still runs
        import traceback
        D["error"] = "%s: %s" % (type(e).__name__, str(e)[:1500])
        log("%s FAILED:" % design, traceback.format_exc()[-3000:])
        for h in (fleet.gates + fleet.granters)[:3]:
            log("%s log tail %s:" % (design, h.name), h.daemon.log()[-1500:])
    finally:
        fleet.close()
        okta.stop()
        shutil.rmtree(oktadir, ignore_errors=True)
    return D


# ------------------------------------------------------------------ on paper

def extrapolate():
    out = {}
    for d in DESIGNS:
        D = R.get(d, {})
        if "sweep" not in D:
            continue
        sw = D["sweep"]
        big = sw[-1]
        n = big["gates"]
        # Okta: calls a minute per gate at steady load (slope of the sweep)
        xs, ys = [r["gates"] for r in sw], [r["okta_calls_per_min"] for r in sw]
        flat = False
        if len(xs) > 1:
            mx, my = statistics.mean(xs), statistics.mean(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            icpt = my - slope * mx
            # no growth beyond noise over the sweep (10 % of the mean): flat,
            # taken as the mean rather than a noise slope stretched 200x
            if abs(slope) * (max(xs) - min(xs)) <= 0.1 * max(my, 1e-9):
                slope, icpt, flat = 0.0, my, True
        else:
            slope, icpt = ys[0] / xs[0], 0.0
        burst = D.get("burst") or []
        burst_calls = statistics.median([b["okta"]["api_calls"] for b in burst]) if burst else 0
        gconns = big["pg_conns"].get("okta_jit_gate", 0) / n
        rconns = big["pg_conns"].get("okta_jit", 0)
        e = {"okta_calls_per_min_slope_per_gate": slope, "okta_calls_per_min_intercept": icpt, "okta_flat": flat,
             "burst_okta_calls_per_gate": burst_calls / GATES, "pg_conns_per_gate": gconns,
             "pg_conns_granters": rconns,
             "idle_statements_per_s_per_gate": D["idle"]["gate_statements_per_s_per_gate"],
             "statements_per_check": big["gate_statements_per_check_net"]}
        for N in (1000, 10000):
            e[str(N)] = {"okta_calls_per_min": icpt + slope * N,
                         "burst_okta_calls": burst_calls / GATES * N,
                         "pg_conns": gconns * N + rconns,
                         "idle_statements_per_s": D["idle"]["gate_statements_per_s_per_gate"] * N,
                         # every snapshot write is one NOTIFY, delivered to
                         # each listening gate and granter (today: none)
                         "notify_deliveries_per_min": D.get("snapshot_puts_per_min", 0) * (N + 2)}
        out[d] = e
    R["extrapolation"] = out


# ------------------------------------------------------------------ docs

def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    pgv = subprocess.run([os.path.join(glob.glob("/usr/lib/postgresql/*/bin")[0], "postgres"), "--version"],
                         capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 1048576, 1),
            "kernel": platform.release(), "postgres": pgv,
            "head": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                   text=True).stdout.strip()}


def fmt_r(x):
    """A ratio: two decimals."""
    return "-" if x is None else "%.2f" % x


def fmt_n(x):
    if x is None:
        return "-"
    if isinstance(x, float) and x != int(x) and abs(x) < 10:
        return "%.2f" % x
    return "{:,}".format(int(round(x)))


def side(key, fn):
    return [fn(R[d]) if d in R and "error" not in R[d] and key in R[d] else "not run" for d in ("today", "new")]


def summary_md():
    """The findings in a few sentences, from the figures."""
    T, N = R.get("today", {}), R.get("new", {})
    L = []
    if "sweep" in T and "sweep" in N:
        t, n = T["sweep"], N["sweep"]
        flat = R.get("extrapolation", {}).get("new", {}).get("okta_flat")
        L.append("* **Okta calls against the gates%s.** Today's gates: %s calls/min with %d gate, %s"
                 " with %d gates (each gate asks for each user it has not seen within cache_ttl). New design: %s"
                 " calls/min at every size (%s), the granters' snapshot of the group once per cache_ttl."
                 % (": flat in the new design" if flat else "", fmt_n(t[0]["okta_calls_per_min"]), t[0]["gates"],
                    fmt_n(t[-1]["okta_calls_per_min"]),
                    t[-1]["gates"], "-".join(sorted({fmt_n(r["okta_calls_per_min"]) for r in n},
                                                    key=lambda x: float(x.replace(",", "")))),
                    ", ".join("%d gate%s: %s" % (r["gates"], "s" if r["gates"] > 1 else "",
                                                  fmt_n(r["okta_calls_per_min"])) for r in n)))
    if T.get("burst") and N.get("burst"):
        def med(D, f):
            return statistics.median([f(b) for b in D["burst"]])
        L.append("* **The Ansible burst** (one user through all %d gates within 1 s, Okta limited to %d requests at"
                 " once): today %s Okta calls, %s answered 429, %s of %d checks refused or unavailable a round"
                 " (medians of %d rounds); new design %s Okta calls, %s 429s, %s refused, check p99 %s µs."
                 % (GATES, CONCURRENCY, fmt_n(med(T, lambda b: b["okta"]["api_calls"])),
                    fmt_n(med(T, lambda b: b["okta"]["http_429"])), fmt_n(med(T, lambda b: b["refused"])), GATES,
                    ROUNDS, fmt_n(med(N, lambda b: b["okta"]["api_calls"])),
                    fmt_n(med(N, lambda b: b["okta"]["http_429"])), fmt_n(med(N, lambda b: b["refused"])),
                    fmt_n(med(N, lambda b: b["p99_us"]))))
    if "sweep" in T and "sweep" in N:
        t, n = T["sweep"][-1], N["sweep"][-1]
        L.append("* **PostgreSQL**: today %s statements per check (a read on every check), none at rest; new"
                 " design %s per check (answers from memory), %s statements/s per gate at rest (the periodic"
                 " re-read), %s connections per gate (today %s: the new gate keeps one more, for LISTEN)."
                 % (fmt_r(t["gate_statements_per_check_net"]), fmt_r(n["gate_statements_per_check_net"]),
                    fmt_r(N["idle"]["gate_statements_per_s_per_gate"]),
                    fmt_n(n["pg_conns"].get("okta_jit_gate", 0) / n["gates"] if n["gates"] == GATES else
                          n["pg_conns"].get("okta_jit_gate", 0) / GATES),
                    fmt_n(t["pg_conns"].get("okta_jit_gate", 0) / GATES)))
    if "revocation" in T and "revocation" in N:
        L.append("* **Revocation**: the last of %d gates refused %s s after the REVOKE was sent today (a ledger read"
                 " per check), %s s in the new design (NOTIFY to each gate's mirror)."
                 % (GATES, fmt_n(T["revocation"]["last_gate_after_request_s"]),
                    fmt_n(N["revocation"]["last_gate_after_request_s"])))
    if "memory_after_burst" in N:
        m = N["memory_after_burst"]
        L.append("* **Memory**: a new gate's okta-jitd %.1f MiB RSS, %s threads (today %s); %d gates %.0f MiB in all:"
                 " 50+ gates fit this 2-core, %.0f GiB machine many times over."
                 % (m["gate_rss_kb_median"] / 1024, fmt_n(m["gate_threads_median"]),
                    "%.1f MiB, %s threads" % (T["memory_after_burst"]["gate_rss_kb_median"] / 1024,
                                              fmt_n(T["memory_after_burst"]["gate_threads_median"]))
                    if "memory_after_burst" in T else "-", GATES, m["gates_rss_mib_total"], R["machine"]["mem_gib"]))
    return L + [""] if L else []


def results_md():
    """The comparison tables (markdown lines), shared by both documents."""
    L = summary_md()
    have = [d for d in ("today", "new") if d in R]
    for d in have:
        if "error" in R[d]:
            L += ["**%s did not run to the end**: `%s`" % ("Today's design" if d == "today" else "The new design",
                                                           R[d]["error"].replace("\n", " ")[:300]), ""]
    L += ["Steady load, Okta unlimited: Okta calls a minute against the number of gates (%d checks/s per gate,"
          " %d users per gate, each new to the gates; window %d s = cache_ttl):" % (RATE, USERS_PER_STEP, WINDOW), "",
          "| gates | today: Okta API calls/min | today: Okta requests at once (peak) | today: refused or unavailable"
          " | today: check p50 / p99 | new: Okta API calls/min | new: Okta requests at once (peak)"
          " | new: refused or unavailable | new: check p50 / p99 |",
          "|---|---|---|---|---|---|---|---|---|"]
    for i, n in enumerate(SWEEP):
        cells = []
        for d in ("today", "new"):
            sw = R.get(d, {}).get("sweep", [])
            if i < len(sw):
                r = sw[i]
                cells += [fmt_n(r["okta_calls_per_min"]), fmt_n(r["okta"]["peak_simultaneous"]),
                          "%s of %s" % (fmt_n(r["refused"]), fmt_n(r["checks"])),
                          "%s / %s µs" % (fmt_n(r["p50_us"]), fmt_n(r["p99_us"]))]
            else:
                cells += ["-"] * 4
        L.append("| %d | %s |" % (n, " | ".join(cells)))
    L += ["", "The Ansible burst: one user checked through all %d gates within one second, %d rounds (a new user"
          " each round; medians over the rounds, and the worst round):" % (GATES, ROUNDS), "",
          "| | today's design | new design |", "|---|---|---|"]

    def bmed(D, f):
        xs = [f(b) for b in D["burst"]]
        return "%s (worst %s)" % (fmt_n(statistics.median(xs)), fmt_n(max(xs)))
    rows = [("Okta API calls per burst", lambda b: b["okta"]["api_calls"]),
            ("token requests per burst", lambda b: b["okta"]["token_requests"]),
            ("Okta requests at once (peak)", lambda b: b["okta"]["peak_simultaneous"]),
            ("429 answers", lambda b: b["okta"]["http_429"]),
            ("refused or unavailable checks (of %d)" % GATES, lambda b: b["refused"]),
            ("check p50 (µs)", lambda b: b["p50_us"]), ("check p99 (µs)", lambda b: b["p99_us"]),
            ("slowest check (µs)", lambda b: b["max_us"])]
    for label, f in rows:
        L.append("| %s | %s |" % (label, " | ".join(side("burst", lambda D: bmed(D, f)))))
    L += ["", "Steady load on all %d gates (as above), each gate's own check latency, PostgreSQL, memory, revocation;"
          " the same load again with Okta's (scaled) concurrency limit:" % GATES,
          "", "| | today's design | new design |", "|---|---|---|"]

    def big(D):
        return D["sweep"][-1]

    def lim(D):
        return D["steady_limited"]
    rows = [
        ("checks (all gates, %d s)" % WINDOW, "sweep", lambda D: fmt_n(big(D)["checks"])),
        ("Okta API calls/min", "sweep", lambda D: fmt_n(big(D)["okta_calls_per_min"])),
        ("token requests", "sweep", lambda D: fmt_n(big(D)["okta"]["token_requests"])),
        ("each gate's p50: median / worst gate", "sweep",
         lambda D: "%s / %s µs" % (fmt_n(big(D)["gate_p50_us_median"]), fmt_n(big(D)["gate_p50_us_max"]))),
        ("each gate's p99: median / worst gate", "sweep",
         lambda D: "%s / %s µs" % (fmt_n(big(D)["gate_p99_us_median"]), fmt_n(big(D)["gate_p99_us_max"]))),
        ("PostgreSQL statements per check (gates' role, pg_stat_statements): all / net of idle re-reads", "sweep",
         lambda D: "%s / %s" % (fmt_r(big(D)["gate_statements_per_check"]),
                                fmt_r(big(D).get("gate_statements_per_check_net")))),
        ("PostgreSQL statements a second per idle gate", "idle",
         lambda D: fmt_r(D["idle"]["gate_statements_per_s_per_gate"])),
        ("PostgreSQL connections: gates' role / granters' role", "sweep",
         lambda D: "%s / %s" % (fmt_n(big(D)["pg_conns"].get("okta_jit_gate", 0)),
                                fmt_n(big(D)["pg_conns"].get("okta_jit", 0)))),
        ("gate okta-jitd RSS: median / max", "memory",
         lambda D: "%.1f / %.1f MiB" % (D["memory_after_burst"]["gate_rss_kb_median"] / 1024,
                                        D["memory_after_burst"]["gate_rss_kb_max"] / 1024)),
        ("gate threads: median / max", "memory",
         lambda D: "%s / %s" % (fmt_n(D["memory_after_burst"]["gate_threads_median"]),
                                fmt_n(D["memory_after_burst"]["gate_threads_max"]))),
        ("all %d gates' RSS" % GATES, "memory", lambda D: "%.0f MiB" % D["memory_after_burst"]["gates_rss_mib_total"]),
        ("with Okta's limit (%d at once): Okta API calls/min" % CONCURRENCY, "steady_limited",
         lambda D: fmt_n(lim(D)["okta_calls_per_min"])),
        ("with Okta's limit: 429 answers", "steady_limited", lambda D: fmt_n(lim(D)["okta"]["http_429"])),
        ("with Okta's limit: refused or unavailable checks", "steady_limited",
         lambda D: "%s of %s%s" % (fmt_n(lim(D)["refused"]), fmt_n(lim(D)["checks"]),
                                   "".join(" (%s: %d)" % kv for kv in sorted(lim(D)["codes"].items())
                                           if kv[0] != "allow"))),
        ("with Okta's limit: check p50 / p99; each gate's p99 median / worst", "steady_limited",
         lambda D: "%s / %s µs; %s / %s µs" % (fmt_n(lim(D)["p50_us"]), fmt_n(lim(D)["p99_us"]),
                                               fmt_n(lim(D)["gate_p99_us_median"]), fmt_n(lim(D)["gate_p99_us_max"]))),
        ("snapshot writes a minute (each one NOTIFY to every listener)", "revocation",
         lambda D: fmt_r(D.get("snapshot_puts_per_min", 0))),
        ("revocation (REVOKE on a granter) to the last gate refusing", "revocation",
         lambda D: "%.3f s after the request was sent; %d of %d gates refused (the REVOKE's own reply: %.3f s)" % (
             D["revocation"]["last_gate_after_request_s"], D["revocation"]["gates_refusing"],
             D["revocation"]["gates"], D["revocation"]["reply_s"])),
    ]
    for label, key, f in rows:
        L.append("| %s | %s |" % (label, " | ".join(side(key, f))))
    ex = R.get("extrapolation", {})
    if ex:
        L += ["", "On paper, from these measurements (linear in what was measured to grow; see the notes below):",
              "", ("| at | design | Okta API calls/min (steady load as above: %d users per gate per cache_ttl)"
                   " | Okta calls per Ansible burst | PostgreSQL connections | PostgreSQL statements/s with no logins"
                   " (re-reads) | NOTIFY deliveries/min from snapshot refreshes | statements per check |")
              % USERS_PER_STEP, "|---|---|---|---|---|---|---|---|"]
        for N in ("1000", "10000"):
            for d in ("today", "new"):
                if d in ex:
                    e = ex[d]
                    L.append("| %s gates | %s | %s | %s | %s | %s | %s | %s |" % (
                        fmt_n(int(N)), d, fmt_n(e[N]["okta_calls_per_min"]), fmt_n(e[N]["burst_okta_calls"]),
                        fmt_n(e[N]["pg_conns"]), fmt_n(e[N]["idle_statements_per_s"]),
                        fmt_n(e[N]["notify_deliveries_per_min"]), fmt_r(e["statements_per_check"])))
    return L


def method_md():
    m = R["machine"]
    return [
        "Command: `make bench-fleet` (also the last part of `make bench`); `bench/fleet.py`, CHECKs from"
        " `bench/fleet_load.c`. Run on %s, bench tree %s; the new design = okta-jitd of %s; today's design ="
        " okta-jitd built from %s." % (R.get("date", "?"), m["head"], R.get("new_tree", "this tree"),
                                       R.get("baseline_sha", BASELINE)[:12]), "",
        "Machine: %d CPUs (%s), %.1f GiB, Linux %s, %s. PostgreSQL, the fake Okta (Python), the 2 granters,"
        " the %d gates and the load generator all share these cores (and, during this run, other jobs)."
        % (m["nproc"], m["cpu"], m["mem_gib"], m["kernel"], m["postgres"], GATES), "",
        "Setup: one PostgreSQL cluster on loopback (pg_stat_statements on), one fake Okta per design, one group"
        " `%s` in a time-bound flow, %d users, each an Okta member with an active grant row (written into the"
        " ledger before the gates start). Each gate: its own config, socket and PAM socket, the gates' role of"
        " docs/fleet.md, cache_ttl %d s. Today's gates hold an Okta key of their own (an app with"
        " okta.users.read); the new gates have no [okta] section. The fake answers 429 past %d Okta requests at"
        " once (Okta's 75 for an Enterprise org, scaled by %d/1,000 gates) and takes %d ms to answer each API"
        " call (Okta's own answer time; the fake alone answers in about 1 ms); no per-minute limit is set, so"
        " every call a design makes is counted. CHECKs go to each gate's PAM socket as root, a new connection each,"
        " as the PAM module makes them (the module's answer board is not in this path)."
        % (GROUP, NUSERS, CACHE_TTL, CONCURRENCY, GATES, LATENCY_MS), ""]


def notes_md():
    return [
        "Notes on the figures:", "",
        "* Okta calls/min: every request to `/api/v1/` the fake logged in the window, 429s included, times"
        " 60 / window. Today's gates ask Okta for each user they have not seen within cache_ttl (two GETs,"
        " the user and their groups), so the cost is gates × users / cache_ttl; the new design's granters"
        " read each gated group once per cache_ttl (one claims it), whatever the number of gates.",
        "* Refused or unavailable: checks of users who hold an active grant and the Okta membership that were"
        " not allowed (any code, or no answer in 20 s).",
        "* Statements per check: `pg_stat_statements` calls by the gates' role over the window (so the new"
        " design's periodic re-reads are in it too), divided by the checks.",
        "* Revocation: a `REVOKE` frame to a granter as root while every gate is asked every 20 ms; the"
        " time is the reply of the first refused check on the last gate, from the moment the request was"
        " sent (an upper bound: the ledger row is written between the request and its reply).",
        "* With Okta's limit: a request past the limit is answered 429 at once; today's gates wait it out and"
        " retry, then answer unavailable (`okta_unavailable`, failmode decides): such checks took about 2 s,"
        " so fewer checks were sent in the window (4 connections a gate), and the Okta calls include the"
        " retries.",
        "* Okta calls per burst (new design): a round's window may hold one of the granters' own refreshes of"
        " the group's snapshot (2 calls: the group's id and its members); no gate asks Okta.",
        ("* On paper: Okta calls a minute are the sweep's least-squares line (calls/min against gates) at 1,000"
         " and 10,000 gates, or the sweep's mean where the line moves less than 10 %% of it across the sweep"
         " (the new design: the granters' calls, 2 per group per cache_ttl, %d s here, whatever the gates);"
         " Okta calls per burst are the burst's calls per gate times the gates; connections and idle"
         " statements are the measured figure per gate times the gates, plus the granters'. Each ledger write"
         " (a grant's change, a snapshot's refresh: groups × 60 / cache_ttl a minute) is one NOTIFY that"
         " PostgreSQL delivers to every listening gate and granter: at 10,000 gates, 10,000 deliveries per"
         " write. Each new gate holds a connection open for LISTEN besides its own (PostgreSQL's"
         " `max_connections` defaults to 100; a pooler must run in session mode for LISTEN), so 10,000 gates"
         " need a connection budget (or a fan-out tier) that this benchmark does not measure." % CACHE_TTL), ""]


def replace_section(path, header, lines, at_end=False):
    """Replace the section starting at header (up to the next '## ' header,
    or the end with at_end) in path, or append it."""
    text = open(path).read() if os.path.exists(path) else ""
    block = header + "\n\n" + "\n".join(lines).rstrip("\n") + "\n"
    i = text.find("\n" + header + "\n")
    if i < 0 and text.startswith(header + "\n"):
        i = -1
        start = 0
    else:
        start = i + 1 if i >= 0 else -1
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = len(text) if at_end else text.find("\n## ", start + len(header))
        end = len(text) if end < 0 else end + 1
        text = text[:start] + block + ("\n" + text[end:] if end < len(text) else "")
    with open(path, "w") as f:
        f.write(text)


def write_docs():
    res = results_md()
    replace_section(BENCH_MD, "## Issue 17: the fleet (PostgreSQL, 2 granters, %d gates)" % GATES,
                    method_md() + res + [""] + notes_md())
    replace_section(FLEET_MD, "## Numbers",
                    ["Measured by `make bench-fleet` (`bench/fleet.py`; method and machine in"
                     " docs/benchmarks.md, \"Issue 17: the fleet\"), %d gates and 2 granters on one machine,"
                     " today's design (okta-jitd of %s: each gate asks Okta and the database) against this"
                     " one, in the same run." % (GATES, R.get("baseline_sha", BASELINE)[:12]), ""] + res
                    + [""] + notes_md(), at_end=True)


# ------------------------------------------------------------------ main

def main():
    if os.environ.get("FLEET_MD_ONLY") == "1":
        global GATES, SWEEP, WINDOW, RATE, USERS_PER_STEP, ROUNDS, CACHE_TTL, CONCURRENCY, LATENCY_MS
        R.update(json.load(open(JSON_OUT)))
        c = R["config"]
        GATES, SWEEP, WINDOW, RATE = c["gates"], c["sweep"], c["window_s"], c["rate_per_gate"]
        USERS_PER_STEP, ROUNDS, CACHE_TTL = c["users_per_step"], c["rounds"], c["cache_ttl_s"]
        CONCURRENCY, LATENCY_MS = c["okta_concurrency_limit"], c.get("okta_latency_ms", LATENCY_MS)
        extrapolate()
        write_docs()
        return
    bindirs = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not bindirs:
        skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql,"
             " or run packaging/install-deps.sh")
    if os.geteuid() != 0:
        skip("run as root (PostgreSQL's initdb runs as the postgres user; the PAM sockets are root's)")
    import pwd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        skip("no postgres user (the postgresql package creates it)")
    if not os.path.exists(os.path.join(BB, "fleet_load")):
        sys.exit("bench-fleet: %s/fleet_load is not built: run `make bench-fleet`" % BB)
    os.makedirs(BB, exist_ok=True)
    t_start = time.time()
    R["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    R["machine"] = machine()
    R["config"] = {"gates": GATES, "sweep": SWEEP, "window_s": WINDOW, "rate_per_gate": RATE,
                   "users_per_step": USERS_PER_STEP, "rounds": ROUNDS, "cache_ttl_s": CACHE_TTL,
                   "okta_concurrency_limit": CONCURRENCY, "okta_latency_ms": LATENCY_MS}
    # FLEET_NEW_BUILD / FLEET_NEW_FLEET_MD: another tree's okta-jitd and
    # docs/fleet.md as the new design (default: this tree's)
    exe = {"new": os.environ.get("FLEET_NEW_BUILD", BUILD)}
    R["new_tree"] = os.environ.get("FLEET_NEW_DESC") or (
        "this tree (%s)" % R["machine"]["head"] if "FLEET_NEW_BUILD" not in os.environ else exe["new"])
    if "today" in DESIGNS:
        exe["today"], R["baseline_sha"] = baseline_binaries(BASELINE)
    from conftest import gen_key, write_private_key
    keydir = tempfile.mkdtemp(prefix="ojf-keys-")
    os.chmod(keydir, 0o755)
    gkey, gatekey = gen_key("rsa"), gen_key("rsa")
    keys = {"granter": write_private_key(os.path.join(keydir, "granter.key"), gkey),
            "gate": write_private_key(os.path.join(keydir, "gate.key"), gatekey), "objs": (gkey, gatekey)}
    log("PostgreSQL: starting a cluster of its own")
    pg = start_pg()
    try:
        pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db="postgres")
        for d in DESIGNS:
            md = os.path.join(exe["today"], "fleet.md") if d == "today" else \
                os.environ.get("FLEET_NEW_FLEET_MD", os.path.join(ROOT, "docs", "fleet.md"))
            run_design(d, exe[d], pg, keys, md)
    finally:
        pg.destroy()
        shutil.rmtree(keydir, ignore_errors=True)
    extrapolate()
    R["seconds"] = round(time.time() - t_start)
    for d in DESIGNS:
        R[d].pop("exe", None)
    with open(JSON_OUT, "w") as f:
        json.dump(R, f, indent=1)
    if os.environ.get("FLEET_NO_DOCS") != "1":
        write_docs()
    log("done in %d s; %s" % (R["seconds"], JSON_OUT))


if __name__ == "__main__":
    main()
