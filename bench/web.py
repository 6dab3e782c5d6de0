#!/usr/bin/python3
"""`make bench-web` (issue 19): the pending-approvals page of okta-jit-web.

A real okta-jitd (SQLite ledger) holding BENCH_WEB_PENDING (1,000) pending
requests for prod-db-ssh, each of its own user, all of which olivia (the
group's owner in the fake Okta) may approve; a real okta-jit-web beside it;
olivia signed in through the fake Okta's authorize form (the authorization
code flow with PKCE). Measured: GET /approvals (every request verified by
okta-jitd: ID token, the Okta user, LIST approvable paged, who else may
approve each), latency p50/p99 and requests per second one at a time and
with BENCH_WEB_CONC (4, 8) clients at once (each on its own keep-alive
connection and session), the page's size and record count, and the RSS of
okta-jit-web and okta-jitd (VmRSS now, VmHWM peak). Also `okta-jit list
--pending` (the CLI following LIST's cursor) over the same 1,000.

Writes the section "## Issue 19: the web approvals page" of
docs/benchmarks.md (BENCH_MD) and build/bench/web.json. Root (okta-jitd's
sockets and ledger are root's). Not part of `make check`."""
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("OJIT_BUILD", os.path.join(ROOT, "build"))

from conftest import OktaServer, gen_key  # noqa: E402
from web_fixtures import WebStack, seed_pending  # noqa: E402

BUILD = os.environ["OJIT_BUILD"]
BENCH_MD = os.environ.get("BENCH_MD", os.path.join(ROOT, "docs", "benchmarks.md"))
BENCH_JSON = os.environ.get("BENCH_JSON", os.path.join(BUILD, "bench", "web.json"))
PENDING = int(os.environ.get("BENCH_WEB_PENDING", "1000"))
SEQ = int(os.environ.get("BENCH_WEB_REQUESTS", "200"))
CONC = [int(x) for x in os.environ.get("BENCH_WEB_CONC", "4,8").split(",") if x]
SECONDS = float(os.environ.get("BENCH_WEB_SECONDS", "10"))
HEADER = "## Issue 19: the web approvals page (okta-jit-web)"


def replace_section(path, header, lines):
    """Replace the section from header up to the next '## ' header, or append it."""
    text = open(path).read() if os.path.exists(path) else ""
    block = header + "\n\n" + "\n".join(lines).rstrip("\n") + "\n"
    i = text.find("\n" + header + "\n")
    if i < 0:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", i + 1 + len(header))
        text = text[:i + 1] + block + (text[end:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text)


def mem(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])  # kB
    return out


def pct(v, p):
    s = sorted(v)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def one_page(b):
    t0 = time.perf_counter()
    st, _, body = b.get("/approvals", keep_alive=True)
    dt = time.perf_counter() - t0
    if st != 200:
        raise RuntimeError("GET /approvals: %d %s" % (st, body[:300]))
    return dt, body


def run_concurrent(stack, n):
    """n clients, each its own session and keep-alive connection, for
    SECONDS; every answer checked for the full count."""
    browsers = [stack.browser().sign_in("ojt-olivia@example.com", "/approvals") for _ in range(n)]
    lat, errors = [], []
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS
    want = '<p class="muted" id="count">%d waiting.</p>' % PENDING

    def worker(b):
        mine = []
        try:
            while time.monotonic() < stop:
                dt, body = one_page(b)
                if want not in body:
                    raise RuntimeError("a page without every request")
                mine.append(dt)
        except Exception as e:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(str(e)[:200])
        with lock:
            lat.extend(mine)

    t0 = time.monotonic()
    th = [threading.Thread(target=worker, args=(b,)) for b in browsers]
    for t in th:
        t.start()
    for t in th:
        t.join()
    wall = time.monotonic() - t0
    return {"clients": n, "requests": len(lat), "seconds": round(wall, 2), "rps": round(len(lat) / wall, 1),
            "p50_ms": round(pct(lat, 50) * 1000, 1), "p99_ms": round(pct(lat, 99) * 1000, 1),
            "errors": errors[:5], "nerrors": len(errors)}


def main():
    if os.geteuid() != 0:
        sys.exit("bench/web.py: run as root (okta-jitd's sockets and ledger)")
    work = tempfile.mkdtemp(prefix="ojit-bench-web-")
    oktas = []

    def okta_factory(seed, name="okta"):
        s = OktaServer(os.path.join(work, name), seed)
        oktas.append(s)
        return s

    os.makedirs(os.path.join(work, "jit"), exist_ok=True)
    stack = WebStack(os.path.join(work, "jit"), okta_factory, gen_key("rsa"), os.path.join(BUILD, "okta-jit"))
    res = {"pending": PENDING, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        stack.start()
        seed_pending(stack.env, PENDING)
        web_pid, jitd_pid = stack.proc.pid, stack.env.daemon.proc.pid
        res["mem_start_kb"] = {"okta-jit-web": mem(web_pid), "okta-jitd": mem(jitd_pid)}
        b = stack.browser().sign_in("ojt-olivia@example.com", "/approvals")
        # the first page (cold: okta-jitd reads the owners and olivia from Okta once)
        first_dt, body = one_page(b)
        shown = len(set(re.findall(r'<a href="/grants/(\d+)">', body)))
        if shown != PENDING:
            sys.exit("the approvals page shows %d of %d pending requests" % (shown, PENDING))
        res["page_bytes"] = len(body.encode())
        res["records_shown"] = shown
        res["first_ms"] = round(first_dt * 1000, 1)
        for _ in range(5):
            one_page(b)
        lat = []
        t0 = time.monotonic()
        for _ in range(SEQ):
            lat.append(one_page(b)[0])
        wall = time.monotonic() - t0
        res["sequential"] = {"requests": SEQ, "rps": round(SEQ / wall, 1), "p50_ms": round(pct(lat, 50) * 1000, 1),
                             "p99_ms": round(pct(lat, 99) * 1000, 1), "max_ms": round(max(lat) * 1000, 1)}
        # healthz: the service's own floor (no okta-jitd call)
        hl = []
        for _ in range(200):
            t = time.perf_counter()
            b.get("/healthz", keep_alive=True)
            hl.append(time.perf_counter() - t)
        res["healthz_p50_ms"] = round(pct(hl, 50) * 1000, 2)
        res["concurrent"] = [run_concurrent(stack, n) for n in CONC]
        # the CLI over the same listing (pages of 500 through the public socket)
        t = time.perf_counter()
        r = subprocess.run(stack.env.cli_argv(["list", "--pending"]), capture_output=True, text=True, timeout=120)
        cli_s = time.perf_counter() - t
        n = len(json.loads(r.stdout)["grants"]) if r.returncode == 0 else -1
        res["cli_list_pending"] = {"records": n, "ms": round(cli_s * 1000, 1)}
        res["mem_end_kb"] = {"okta-jit-web": mem(web_pid), "okta-jitd": mem(jitd_pid)}
        res["sessions"] = 1 + sum(CONC)
    finally:
        stack.close()
        for o in oktas:
            o.stop()
    os.makedirs(os.path.dirname(BENCH_JSON), exist_ok=True)
    with open(BENCH_JSON, "w") as f:
        json.dump(res, f, indent=2)
    write_md(res)
    print(json.dumps(res, indent=2))


def write_md(r):
    s, me = r["sequential"], r["mem_end_kb"]
    lines = [
        "Written by `make bench-web` (`bench/web.py`) on %s; %s cores, kernel %s. The fake Okta (Python), "
        "okta-jitd, okta-jit-web and the Python clients share these cores." % (r["when"], r["nproc"], r["kernel"]),
        "",
        "Method: a real okta-jitd (SQLite ledger) with %d pending requests for prod-db-ssh, each of its own user, "
        "written into the ledger; olivia owns the group in the fake Okta and may approve all of them. A real "
        "okta-jit-web beside it; olivia signs in through the fake Okta's authorize form (code flow, PKCE). Each "
        "GET /approvals makes okta-jit-web ask okta-jitd for LIST STATE=approvable page by page (500 a page, "
        "ID token verified on each), and okta-jitd checks each row with APPROVE's check and says who else may "
        "approve it; every page is checked to hold all %d. Clients: Python http.client, one keep-alive "
        "connection and one session each; concurrency runs %g s. RSS from /proc (VmRSS; VmHWM the peak)."
        % (r["pending"], r["pending"], SECONDS),
        "",
        "| what | measured |",
        "|---|---|",
        "| page | %d requests shown, %d bytes of HTML |" % (r["records_shown"], r["page_bytes"]),
        "| first page after sign-in (Okta read once for owners and the user) | %.1f ms |" % r["first_ms"],
        "| sequential, %d requests | p50 **%.1f ms**, p99 **%.1f ms** (max %.1f), **%.1f req/s** |"
        % (s["requests"], s["p50_ms"], s["p99_ms"], s["max_ms"], s["rps"]),
    ]
    for c in r["concurrent"]:
        lines.append("| %d clients at once, %d requests | p50 %.1f ms, p99 %.1f ms, **%.1f req/s**, %d errors |"
                     % (c["clients"], c["requests"], c["p50_ms"], c["p99_ms"], c["rps"], c["nerrors"]))
    lines += [
        "| GET /healthz (no okta-jitd call), p50 | %.2f ms |" % r["healthz_p50_ms"],
        "| okta-jit-web memory after the run (%d sessions) | VmRSS **%.1f MB**, peak %.1f MB (at start %.1f MB) |"
        % (r["sessions"], me["okta-jit-web"]["VmRSS"] / 1024.0, me["okta-jit-web"]["VmHWM"] / 1024.0,
           r["mem_start_kb"]["okta-jit-web"]["VmRSS"] / 1024.0),
        "| okta-jitd memory after the run | VmRSS %.1f MB, peak %.1f MB (at start %.1f MB) |"
        % (me["okta-jitd"]["VmRSS"] / 1024.0, me["okta-jitd"]["VmHWM"] / 1024.0,
           r["mem_start_kb"]["okta-jitd"]["VmRSS"] / 1024.0),
        "| `okta-jit list --pending` (root, JSON) over the same requests | %d records in %.1f ms |"
        % (r["cli_list_pending"]["records"], r["cli_list_pending"]["ms"]),
    ]
    replace_section(BENCH_MD, HEADER, lines)


if __name__ == "__main__":
    main()
