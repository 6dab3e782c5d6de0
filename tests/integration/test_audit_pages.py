"""AUDIT in pages (issue 22, found by engineer C): okta-jitd answered the
newest 10,000 audit rows in one reply, of 8 fields each, and a reply holds
at most 8,192 fields (PROTO_MAX_FIELDS) and 1 MiB: past about 1,000
records `okta-jit audit` failed, exit 5 ("no answer from okta-jitd:
malformed field"), and so did `audit --json` and `audit --follow --since`
reaching that far back. Now AUDIT is paged as LIST is (CURSOR, LIMIT;
docs/protocol.md "AUDIT pages"), oldest first, and the CLI reads every
page.

The rows are written straight into the ledger's audit table (SQLite:
python's sqlite3; PostgreSQL: one psql INSERT from generate_series), the
columns okta-jitd's own INSERT writes (ledger_*_audit_add), between rows
okta-jitd writes itself for two real grants: 1,200 rows need three pages
of 500. One row in ten holds the longest values a row keeps (actor and
group 256 bytes, user 64, detail 1,023), so a page's bytes are tested
too: the old single reply of 1,200 such rows was also over 1 MiB."""
import json
import os
import re
import signal
import subprocess
import time

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import AUDIT, P_ERROR, P_OK, T_CODE, T_SINCE, T_USER, frame, raw_exchange, tlv

N = 1200
T_RECORD, T_DETAIL, T_CURSOR, T_LIMIT = 29, 35, 44, 45
MARK = re.compile(r"\bn=(\d+)\b")
PROTO_MAX_FIELDS = 8192
PROTO_MAX_PAYLOAD = 1024 * 1024


def pytest_generate_tests(metafunc):
    run_on_both_ledgers(metafunc)  # noqa: F405


def seeded_row(i, now):
    """Row i: oldest first, all within the last ten minutes; the detail
    carries n=i (each row's mark); every tenth one at its longest."""
    at = now - 600 + i * 400 // N
    if i % 10 == 0:
        return (at, "refused", 0, ("seed-actor-%04d-" % i).ljust(256, "a"), ("u%04d" % i).ljust(64, "u"),
                ("seed-group-%04d-" % i).ljust(256, "g"), ("n=%d " % i).ljust(1023, "d"))
    return (at, "refused", 0, "ojt-carol", "ojt-carol", "web-sudo", "reason=seed n=%d" % i)


def seed_audit(env, n):
    now = int(time.time())
    rows = [seeded_row(i, now) for i in range(n)]
    cols = "(at, event, grant_id, actor, \"user\", grp, detail)"
    if env.pgl is None:
        db = env._db()
        try:
            db.executemany("INSERT INTO audit %s VALUES (?,?,?,?,?,?,?)" % cols, rows)
            db.commit()
        finally:
            db.close()
        return
    # one statement, the same values as seeded_row's
    sql = ("INSERT INTO audit {cols} SELECT {now} - 600 + i * 400 / {n}, 'refused', 0,"
           " CASE WHEN i % 10 = 0 THEN rpad('seed-actor-' || lpad(i::text, 4, '0') || '-', 256, 'a')"
           " ELSE 'ojt-carol' END,"
           " CASE WHEN i % 10 = 0 THEN rpad('u' || lpad(i::text, 4, '0'), 64, 'u') ELSE 'ojt-carol' END,"
           " CASE WHEN i % 10 = 0 THEN rpad('seed-group-' || lpad(i::text, 4, '0') || '-', 256, 'g')"
           " ELSE 'web-sudo' END,"
           " CASE WHEN i % 10 = 0 THEN rpad('n=' || i || ' ', 1023, 'd') ELSE 'reason=seed n=' || i END"
           " FROM generate_series(0, {last}) AS i ORDER BY i").format(cols=cols, now=now, n=n, last=n - 1)
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", env.pgl.uri, "-c", sql],
                       capture_output=True, text=True, timeout=60, env=dict(os.environ, PGPASSWORD=env.pgl.pg.password))
    assert r.returncode == 0, r.stderr
    got = [x["detail"] for x in env.pgl.rows("SELECT detail FROM audit WHERE event = 'refused' ORDER BY id")]
    assert got == [x[6] for x in rows], "psql's rows are not seeded_row's"


def grant_seed_grant(env):
    """A grant okta-jitd audits, N seeded rows, another grant: (first, last)."""
    a = env.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    seed_audit(env, N)
    b = env.request("web-sudo", dur="10m", as_user="ojt-bob").grant["id"]
    return a, b


def marks(texts):
    return [int(MARK.search(t).group(1)) for t in texts if t and MARK.search(t)]


def call(env, fields):
    r = raw_exchange(env.sock, frame(AUDIT, fields), shutdown_write=True)
    assert r is not None and r[0] in (P_OK, P_ERROR), r
    return r


def test_audit_over_a_thousand_records_text_and_json(jit):
    first, last = grant_seed_grant(jit)
    before = {r["id"] for r in jit.audit()}
    # the whole trail as one table, oldest first, each row once
    r = jit.cli("audit", json_out=False, timeout=120)
    assert r.rc == EXIT_OK, (r.rc, r.err[-500:])  # noqa: F405
    lines = r.out.splitlines()
    assert lines[0].split() == ["AT", "EVENT", "GRANT", "ACTOR", "USER", "GROUP", "DETAIL"], lines[0][:200]
    assert marks(lines) == list(range(N)), "rows missing, doubled or out of order"
    granted = [i for i, ln in enumerate(lines) if " granted " in ln]
    seeded = [i for i, ln in enumerate(lines) if MARK.search(ln)]
    assert len(granted) == 2 and granted[0] < seeded[0] and seeded[-1] < granted[1], (granted, seeded[:1])
    assert str(first) in lines[granted[0]] and str(last) in lines[granted[1]]
    # the longest values whole (names are never cut; piped, nothing is)
    assert ("seed-group-0010-".ljust(256, "g")) in r.out and ("n=10 ".ljust(1023, "d")) in r.out
    # --json: one document, every row of the ledger, each with its row id
    r = jit.cli("audit", timeout=120)
    assert r.rc == EXIT_OK and r.j["ok"] is True and r.j["schema"] == 1, (r.rc, r.err[-500:])  # noqa: F405
    ev = r.j["events"]
    ids = [e["audit_id"] for e in ev]
    assert ids == sorted(set(ids)), "rows doubled or out of order"
    after = {x["id"] for x in jit.audit()}
    assert before <= set(ids) <= after, (len(before), len(ids), len(after))
    assert marks(e["detail"] for e in ev) == list(range(N))
    assert all("cursor" not in e for e in ev)
    assert {(e["event"], e["id"]) for e in ev} >= {("granted", first), ("granted", last)}
    # filters apply to every page: the 1,080 short rows are ojt-carol's
    r = jit.cli("audit", "--user", "ojt-carol", "--since", "1h", timeout=120)
    assert r.rc == EXIT_OK, r.err[-500:]
    assert marks(e["detail"] for e in r.j["events"]) == [i for i in range(N) if i % 10], "--user over pages"


def test_audit_pages_on_the_wire(jit):
    """What the CLI relies on: at most LIMIT records, the page's CURSOR
    first (the last record's row id) while more follow, none on the last
    page; each record's CURSOR is its row id; every reply within the
    protocol's bounds."""
    grant_seed_grant(jit)
    total = len(jit.audit())
    cursor, got, pages = None, [], 0
    while True:
        fields = tlv(T_LIMIT, "500") + (tlv(T_CURSOR, cursor) if cursor is not None else b"")
        t, f = call(jit, fields)
        assert t == P_OK, f
        assert len(f) <= PROTO_MAX_FIELDS and sum(3 + len(v.encode()) for _, v in f) <= PROTO_MAX_PAYLOAD
        recs = [i for i, (tag, _) in enumerate(f) if tag == T_RECORD]
        assert len(recs) <= 500
        ids = []
        for k, at in enumerate(recs):
            end = recs[k + 1] if k + 1 < len(recs) else len(f)
            ids.append(int(next(v for tag, v in f[at:end] if tag == T_CURSOR)))
        got += ids
        pages += 1
        if f[0][0] != T_CURSOR:
            assert len(recs) < 500 or len(got) == total, "a full page without a CURSOR"
            break
        assert f[0][1] == str(ids[-1]), (f[0], ids[-1])
        cursor = f[0][1]
    assert pages == 3 and got == sorted(set(got)) and len(got) == total, (pages, len(got), total)
    # the default page is 200; LIMIT 1-500, CURSOR 0 or more, else invalid
    t, f = call(jit, b"")
    assert t == P_OK and f[0][0] == T_CURSOR and len([1 for tag, _ in f if tag == T_RECORD]) == 200
    t, f = call(jit, tlv(T_CURSOR, "0") + tlv(T_LIMIT, "3"))
    assert t == P_OK and f[0] == (T_CURSOR, str(got[2])), f[:2]
    for bad in (tlv(T_LIMIT, "501"), tlv(T_LIMIT, "0"), tlv(T_CURSOR, "-1"), tlv(T_CURSOR, "x")):
        t, f = call(jit, bad)
        assert t == P_ERROR and dict(f)[T_CODE] == "invalid", (bad, f)
    # a filter and SINCE hold on a later page too
    seeded = [r for r in jit.audit(event="refused") if MARK.search(r["detail"])]
    t, f = call(jit, tlv(T_USER, "ojt-carol") + tlv(T_SINCE, "0") + tlv(T_LIMIT, "500") + tlv(T_CURSOR, cursor))
    want = [i for i, r in enumerate(seeded) if i % 10 and r["id"] > int(cursor)]
    assert t == P_OK and want and marks(v for tag, v in f if tag == T_DETAIL) == want


def _follow_until(p, pred, limit):
    got = []
    for _ in range(limit):
        line = p.stdout.readline()
        assert line, "okta-jit audit --follow ended early: %r" % (p.stderr.read()[-800:],)
        got.append(json.loads(line))
        if pred(got):
            return got
    raise AssertionError("not seen in %d lines" % limit)


def test_audit_follow_since_over_a_thousand_records(jit):
    first, last = grant_seed_grant(jit)
    p = jit.cli_popen("audit", "--follow", "--since", "1h")
    got = _follow_until(p, lambda g: any(d["event"] == "granted" and d["id"] == last for d in g), N + 50)
    assert marks(d["detail"] for d in got) == list(range(N))
    # and it goes on following: a grant revoked now
    assert jit.cli("revoke", first).rc == EXIT_OK  # noqa: F405
    got += _follow_until(p, lambda g: any(d["event"] == "revoked" and d["id"] == first for d in g), 50)
    ids = [d["audit_id"] for d in got]
    assert len(ids) == len(set(ids)), "a row printed twice"
    # every row up to the revocation's (what follows it, its removal from
    # the Okta group, may not be printed yet)
    upto = max(d["audit_id"] for d in got if d["event"] == "revoked")
    assert {r["id"] for r in jit.audit() if r["id"] <= upto} <= set(ids)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == EXIT_OK and err == "", (p.returncode, err[-800:])  # noqa: F405
    # as a table: one header, every seeded row once
    argv = jit.cli_argv(["audit", "--follow", "--since", "1h"], json_out=False)
    q = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    jit.popens.append(q)
    lines = [q.stdout.readline()]
    while not (" revoked " in lines[-1] and str(first) in lines[-1]):
        lines.append(q.stdout.readline())
        assert lines[-1], "follow ended early: %r" % q.stderr.read()[-800:]
    q.send_signal(signal.SIGINT)
    q.communicate(timeout=60)
    assert q.returncode == EXIT_OK
    assert lines[0].split()[:2] == ["AT", "EVENT"] and sum(1 for ln in lines if ln.startswith("AT ")) == 1
    assert marks(lines) == list(range(N))
