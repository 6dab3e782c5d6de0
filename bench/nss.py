#!/usr/bin/env python3
"""`make bench-nss` (issue 18): getpwnam through libnss_okta_jit.so.2 against
`files`, with 10 and 100,000 users in the cache, and the memory the module
adds to a process. Each figure is measured by build/bench/nss_bench in a
private mount namespace whose /etc/nsswitch.conf (a bind mount) is the one
the row names; the caches are written by the real writer
(build/tests/nss_cache_tool gen). Writes the section "## Issue 18: NSS
lookups" of docs/benchmarks.md (BENCH_MD) and build/bench/nss.json. Root."""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("OJIT_BUILD", os.path.join(ROOT, "build"))
MODULE = os.path.join(BUILD, "libnss_okta_jit.so.2")
BENCH = os.path.join(BUILD, "bench", "nss_bench")
TOOL = os.path.join(BUILD, "tests", "nss_cache_tool")
BENCH_MD = os.environ.get("BENCH_MD", os.path.join(ROOT, "docs", "benchmarks.md"))
N = int(os.environ.get("NSS_BENCH_CALLS", "20000"))
BIND = 'mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"'
HEADER = "## Issue 18: NSS lookups (libnss_okta_jit)"


def run_in(conf, args, cache):
    env = dict(os.environ, LD_LIBRARY_PATH=BUILD, OKTA_JIT_NSS_CACHE=cache)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", BIND, "sh", conf, BENCH]
                       + args, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode != 0:
        sys.exit("nss_bench %s: %s" % (" ".join(args), r.stderr))
    return json.loads(r.stdout)


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


def last_local_user():
    name = None
    with open("/etc/passwd") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name = line.split(":")[0]
    return name


def main():
    for p in (MODULE, BENCH, TOOL):
        if not os.path.exists(p):
            sys.exit("%s is not built (make bench-nss builds it)" % p)
    work = tempfile.mkdtemp(prefix="ojit-nssbench-")
    files_conf = os.path.join(work, "files.conf")
    jit_conf = os.path.join(work, "jit.conf")
    with open(files_conf, "w") as f:
        f.write("passwd: files\ngroup: files\n")
    with open(jit_conf, "w") as f:
        f.write("passwd: files okta_jit\ngroup: files okta_jit\n")
    caches = {}
    for n in (10, 100000):
        caches[n] = os.path.join(work, "nss-%d.cache" % n)
        subprocess.run([TOOL, "gen", caches[n], str(n)], check=True, capture_output=True)
    missing = os.path.join(work, "missing.cache")
    last = last_local_user()
    okta = "u0000005"
    rows = []

    def row(label, conf, args, cache):
        r = run_in(conf, args, cache)
        r["label"] = label
        rows.append(r)

    row("`files`: root (first line of /etc/passwd)", files_conf, ["lookup", "root", str(N)], missing)
    row("`files`: %s (last line of /etc/passwd)" % last, files_conf, ["lookup", last, str(N)], missing)
    row("`files`: unknown name", files_conf, ["lookup", "no-such-user", str(N)], missing)
    row("`files okta_jit`: root (the module is not asked)", jit_conf, ["lookup", "root", str(N)], caches[100000])
    for n in (10, 100000):
        row("`files okta_jit`: Okta user, %d users in the cache" % n, jit_conf, ["lookup", okta, str(N)],
            caches[n])
        row("`files okta_jit`: unknown name, %d users in the cache" % n, jit_conf,
            ["lookup", "no-such-user", str(N)], caches[n])
        row("module alone (`_nss_okta_jit_getpwnam_r`), %d users" % n, jit_conf,
            ["direct", MODULE, okta, str(N)], caches[n])
    row("`files okta_jit`: unknown name, no cache file (daemon never ran)", jit_conf,
        ["lookup", "no-such-user", str(N)], missing)
    mem = {
        "files": run_in(files_conf, ["mem-glibc", "root"], missing),
        "jit_local": run_in(jit_conf, ["mem-glibc", "root"], caches[100000]),
        "jit_okta_10": run_in(jit_conf, ["mem-glibc", okta], caches[10]),
        "jit_okta_100000": run_in(jit_conf, ["mem-glibc", okta], caches[100000]),
        "dlopen_10": run_in(jit_conf, ["mem-dlopen", MODULE, okta], caches[10]),
        "dlopen_100000": run_in(jit_conf, ["mem-dlopen", MODULE, okta], caches[100000]),
    }
    for r in rows:
        if "unknown" not in r["label"] and not r["found"]:
            sys.exit("%s: not found" % r["label"])
    sizes = {n: os.path.getsize(caches[n]) for n in caches}
    out = {"calls": N, "rows": rows, "mem": mem, "cache_bytes": sizes, "module_bytes": os.path.getsize(MODULE)}
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    with open(os.path.join(BUILD, "bench", "nss.json"), "w") as f:
        json.dump(out, f, indent=1)

    def d(m):
        return "%d → %d kB (%+d)" % (m["rss_kb_before"], m["rss_kb_after"], m["rss_kb_after"] - m["rss_kb_before"])

    def p(m):
        return "%d → %d kB (%+d)" % (m["pss_kb_before"], m["pss_kb_after"], m["pss_kb_after"] - m["pss_kb_before"])

    lines = [
        "Written by `make bench-nss` (`bench/nss.py`) on %s, same machine as above. `build/bench/nss_bench`"
        % time.strftime("%Y-%m-%d %H:%M"),
        "calls `getpwnam_r` %d times in one process and times each call alone; every row runs in a" % N,
        "private mount namespace whose /etc/nsswitch.conf is the row's (`passwd: files` or",
        "`passwd: files okta_jit`). The caches come from the real writer: %d bytes for 10 users," % sizes[10],
        "%d bytes for 100,000 (each user has a private group). The module maps the cache, searches" % sizes[100000],
        "it and unmaps it on every call (no state kept between calls), so a call's cost is mostly",
        "open + fstat + mmap + munmap + close.", "",
        "| lookup | p50 | p99 | found |", "|---|---:|---:|---|",
    ]
    for r in rows:
        lines.append("| %s | %.1f µs | %.1f µs | %s |" % (r["label"], r["p50_ns"] / 1000, r["p99_ns"] / 1000,
                                                        "yes" if r["found"] else "no"))
    lines += [
        "",
        "Memory (`/proc/self/smaps_rollup`, whole process, before and after the first lookup; the module",
        "is %d bytes on disk, unstripped):" % out["module_bytes"], "",
        "| process | RSS | PSS |", "|---|---|---|",
        "| `files`, first getpwnam (root) | %s | %s |" % (d(mem["files"]), p(mem["files"])),
        "| `files okta_jit`, first getpwnam of a local user | %s | %s |" % (d(mem["jit_local"]), p(mem["jit_local"])),
        "| `files okta_jit`, first getpwnam of an Okta user, 10 users | %s | %s |"
        % (d(mem["jit_okta_10"]), p(mem["jit_okta_10"])),
        "| `files okta_jit`, first getpwnam of an Okta user, 100,000 users | %s | %s |"
        % (d(mem["jit_okta_100000"]), p(mem["jit_okta_100000"])),
        "| dlopen(module) + first call, 10 users | %s | %s |" % (d(mem["dlopen_10"]), p(mem["dlopen_10"])),
        "| dlopen(module) + first call, 100,000 users | %s | %s |"
        % (d(mem["dlopen_100000"]), p(mem["dlopen_100000"])),
        "",
        "What the module adds is the difference between the `files okta_jit` Okta-user rows and the",
        "`files` row; the cache is unmapped before the call returns, so none of it stays resident in",
        "the process (a binary search touches about log2(n) pages of it while mapped).",
    ]
    replace_section(BENCH_MD, HEADER, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
