"""Metrics (issue 22, item 1; helper/daemon/metrics*.c): okta-jitd keeps
counters and gauges in Prometheus' text exposition format and exposes them
without a network port: `okta-jit metrics` over the socket (root only) and
[daemon] metrics_file for node_exporter's textfile collector, replaced
atomically every metrics_interval.

The text is checked by Prometheus' own parser (`promtool check metrics`,
Debian's prometheus package) and by a strict parser here; each counter is
shown to move when its event happens, against the fake Okta (429s, a 401
that forces a token refresh, DELETEs that fail) and a failing webhook.
"""
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import threading
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from fleet_fixtures import FLOW_GROUPS, fleet  # noqa: F401
from pam_fixtures import driver_path, stack  # noqa: F401
from webhook_receiver import webhook  # noqa: F401

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
PUT_MEMBER = r"^/api/v1/groups/[^/]+/users/[^/]+$"


# ---------------------------------------------------------------- parsing

def parse(text):
    """A strict reader of the text format (version 0.0.4) as okta-jitd
    writes it: every family has exactly one HELP and one TYPE line, before
    its samples, which follow them without another family in between; no
    series twice; counters end in _total; label values unescaped. Returns
    {name: {"type": t, "help": h, "samples": {labels-tuple: value}}}."""
    assert text.endswith("\n"), "the text must end with a line feed"
    fams, order, current = {}, [], None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        assert line, "empty line: " + where
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert NAME.match(name) and help_, where
            assert name not in fams, "second HELP for " + where
            fams[name] = {"type": None, "help": help_, "samples": {}}
            order.append(name)
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == current and fams[name]["type"] is None, "TYPE out of place: " + where
            assert typ in ("counter", "gauge"), where
            if typ == "counter":
                assert name.endswith("_total"), "a counter's name ends in _total: " + where
            fams[name]["type"] = typ
            continue
        assert not line.startswith("#"), where
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)\Z", line)
        assert m, "not a sample: " + where
        name, labels_text, value = m.group(1), m.group(3), m.group(4)
        assert name == current and fams[name]["type"] is not None, "sample outside its family: " + where
        labels = []
        if labels_text is not None:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL.match(labels_text, pos)
                assert lm, "bad label at %d: %s" % (pos, where)
                v = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), lm.group(2))
                labels.append((lm.group(1), v))
                pos = lm.end()
                if pos < len(labels_text):
                    assert labels_text[pos] == ",", where
                    pos += 1
            assert len({k for k, _ in labels}) == len(labels), "label twice: " + where
        key = tuple(labels)
        assert key not in fams[name]["samples"], "series twice: " + where
        fams[name]["samples"][key] = float(value)
        if fams[name]["type"] == "counter":
            assert float(value) >= 0, where
    return fams


def value(fams, name, **labels):
    """The sample of name with exactly these labels; None when absent."""
    want = tuple(sorted(labels.items()))
    for key, v in fams.get(name, {}).get("samples", {}).items():
        if tuple(sorted(key)) == want:
            return v
    return None


def promtool(text):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    # promtool exits 0 when the text parses and breaks no lint rule
    assert p.returncode == 0, "promtool check metrics: %s%s\n---\n%s" % (p.stdout, p.stderr, text)


def scrape(env):
    r = env.cli("metrics", json_out=False)
    assert r.rc == EXIT_OK, r
    return r.out


def metrics(env):
    text = scrape(env)
    return parse(text)


# ---------------------------------------------------------------- format

# okta-jitd's metrics as DESIGN22 names them (okta-jitd(8), METRICS)
DOCUMENTED = {
    "okta_jit_up": "gauge", "okta_jit_build_info": "gauge", "okta_jit_start_time_seconds": "gauge",
    "okta_jit_checks_total": "counter", "okta_jit_check_grace_total": "counter",
    "okta_jit_okta_requests_total": "counter", "okta_jit_okta_rate_limited_total": "counter",
    "okta_jit_okta_token_refreshes_total": "counter", "okta_jit_grants_total": "counter",
    "okta_jit_removals_overdue": "gauge", "okta_jit_removal_failures_total": "counter",
    "okta_jit_snapshot_age_seconds": "gauge", "okta_jit_cache_entries": "gauge",
    "okta_jit_ledger_up": "gauge", "okta_jit_ledger_errors_total": "counter",
    "okta_jit_notify_backlog": "gauge", "okta_jit_notify_failures_total": "counter",
    "okta_jit_drift_members": "gauge", "okta_jit_sessions_ended_total": "counter",
}


def test_metrics_text_parses_with_promtool_and_names_every_metric(jit):
    r = jit.cli("check", "web-sudo", user="ojt-alice")  # some traffic first
    assert r.rc == EXIT_DENIED, r
    text = scrape(jit)
    promtool(text)
    fams = parse(text)
    assert {n: f["type"] for n, f in fams.items()} == DOCUMENTED
    assert value(fams, "okta_jit_up") == 1
    info = fams["okta_jit_build_info"]["samples"]
    assert len(info) == 1
    labels = dict(next(iter(info)))
    assert labels["role"] == "granter" and re.match(r"\d+\.\d+", labels["version"]), labels
    assert abs(value(fams, "okta_jit_start_time_seconds") - time.time()) < 300
    assert value(fams, "okta_jit_ledger_up") == 1
    assert value(fams, "okta_jit_removals_overdue") == 0
    assert value(fams, "okta_jit_notify_backlog") == 0
    # every label value comes from a fixed set: never a user's name
    assert "ojt-alice" not in text and "@example.com" not in text
    # the man page documents each metric (a table row per name)
    man = open(os.path.join(os.path.dirname(__file__), "..", "..", "man", "okta-jitd.8")).read()
    for name in DOCUMENTED:
        assert re.search(r"^\.B %s$" % re.escape(name), man, re.M), "okta-jitd(8) METRICS lacks " + name


def test_metrics_are_root_only(jit):
    r = jit.cli("metrics", user="ojt-alice", json_out=False)
    assert r.rc == EXIT_DENIED, r
    assert "only root" in r.err
    assert "okta_jit" not in r.out
    refused = jit.audit(event="refused")
    assert any("reason=metrics-not-allowed" in a["detail"] for a in refused), refused
    j = jit.cli("metrics")
    assert j.rc == EXIT_OK and j.j["ok"] is True and j.j["schema"] == 1 and "okta_jit_up 1" in j.j["metrics"], j
    assert list(j.j) == ["schema", "ok", "metrics"], j.j
    parse(j.j["metrics"])


# ---------------------------------------------------------------- counters move

def test_checks_counted_by_decision_and_code(jit):
    before = metrics(jit)
    assert jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_DENIED
    assert jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_DENIED
    mid = metrics(jit)
    deny = value(mid, "okta_jit_checks_total", decision="deny", code="no_grant")
    assert deny == (value(before, "okta_jit_checks_total", decision="deny", code="no_grant") or 0) + 2
    assert value(mid, "okta_jit_checks_total", decision="allow", code="allow") is None
    jit.request("web-sudo", dur="5m", as_user="ojt-alice")
    assert jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_OK
    after = metrics(jit)
    assert value(after, "okta_jit_checks_total", decision="allow", code="allow") == 1
    assert value(after, "okta_jit_checks_total", decision="deny", code="no_grant") == deny
    # the allow asked Okta about alice: her answer is cached
    assert value(after, "okta_jit_cache_entries") >= 1


def test_check_grace_counted(jit_factory):
    """Okta fails after alice's allow was cached: checks answered from the
    cache during outage_grace count as grace, one for each check_grace
    record in the audit trail; Okta's 5xx answers show by kind."""
    jit = jit_factory(daemon_extra={"cache_ttl": "1s", "outage_grace": "30s"})
    jit.request("web-sudo", dur="5m", as_user="ojt-alice")
    assert jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_OK
    assert value(metrics(jit), "okta_jit_check_grace_total") == 0
    jit.okta.faults({"path": r"^/api/v1/(users|groups/[^/]+/users(\?|$))", "action": "status", "status": 500,
                     "count": -1})
    wait_for(lambda: jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_OK
             and jit.audit(event="check_grace"), 30, interval=0.5, what="a check answered from grace")
    fams = metrics(jit)
    assert value(fams, "okta_jit_check_grace_total") == len(jit.audit(event="check_grace")) >= 1
    assert value(fams, "okta_jit_okta_requests_total", kind="users", status_class="5xx") + \
        value(fams, "okta_jit_okta_requests_total", kind="groups", status_class="5xx") >= 1


def test_grant_events_counted(jit):
    before = metrics(jit)
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    assert jit.cli("revoke", gid, user="ojt-alice").rc == EXIT_OK
    wait_for(lambda: jit.grant(gid)["op"] == "", 15, what="removal after revoke")
    after = metrics(jit)
    for ev in ("requested", "granted", "revoked"):
        assert value(after, "okta_jit_grants_total", event=ev) == value(before, "okta_jit_grants_total", event=ev) + 1, ev
    for ev in ("expired", "denied", "failed"):
        assert value(after, "okta_jit_grants_total", event=ev) == value(before, "okta_jit_grants_total", event=ev), ev


def test_session_ended_at_grant_end_counted(jit_factory, stack):  # noqa: F811
    """on_expiry = terminate: a session opened through the real PAM module
    under a short grant is ended when the grant expires; the expiry and the
    ended session are counted."""
    jit = jit_factory(flows=JIT_FLOWS.replace("[flow web]\n", "[flow web]\non_expiry = terminate\n", 1))
    before = metrics(jit)
    assert value(before, "okta_jit_sessions_ended_total") == 0
    gid = jit.request("web-sudo", dur="4s", as_user="ojt-alice").grant["id"]
    stack.write("account required @MOD@ group=web-sudo socket=%s\n"
                "session required @MOD@ group=web-sudo socket=%s\n" % (jit.sock, jit.sock))
    real = subprocess.Popen([driver_path(), stack.confdir, stack.service, "ojt-alice", "acct", "open", "wait"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        out = ""
        while "WAITING" not in out:
            line = real.stdout.readline()
            assert line, out
            out += line
        assert "STEP open = 0 PAM_SUCCESS" in out, out
        wait_for(lambda: real.poll() is not None, 30, what="the session ended at the grant's end")
        wait_for(lambda: jit.audit(gid, "session_ended"), 10, what="session_ended audited")
    finally:
        if real.poll() is None:
            real.kill()
            real.wait()
    after = metrics(jit)
    assert value(after, "okta_jit_sessions_ended_total") == len(jit.audit(event="session_ended")) == 1
    assert value(after, "okta_jit_grants_total", event="expired") == \
        value(before, "okta_jit_grants_total", event="expired") + 1
    # the PAM module's own check counted too
    assert value(after, "okta_jit_checks_total", decision="allow", code="allow") >= 1


def test_okta_429_and_token_refresh_counted(jit):
    jit.request("web-sudo", dur="5m", as_user="ojt-alice")  # a token, and the users endpoint
    before = metrics(jit)
    assert value(before, "okta_jit_okta_token_refreshes_total", result="ok") >= 1
    assert value(before, "okta_jit_okta_requests_total", kind="token", status_class="2xx") >= 1
    ok_users = value(before, "okta_jit_okta_requests_total", kind="users", status_class="2xx")
    assert ok_users >= 1
    # one 429 (reset in a second), then a 401 that makes the client fetch a
    # fresh token once
    jit.okta.faults(
        {"method": "GET", "path": "^/api/v1/users/", "count": 1, "action": "status", "status": 429,
         "headers": {"X-Rate-Limit-Reset": str(int(time.time()) + 1)}},
        {"method": "GET", "path": "^/api/v1/users/", "count": 1, "action": "status", "status": 401})
    jit.request("prod-db-ssh", dur="1h", reason="INC-1", as_user="ojt-bob")
    after = metrics(jit)
    assert value(after, "okta_jit_okta_rate_limited_total", kind="users") == \
        value(before, "okta_jit_okta_rate_limited_total", kind="users") + 1
    assert value(after, "okta_jit_okta_requests_total", kind="users", status_class="4xx") == \
        value(before, "okta_jit_okta_requests_total", kind="users", status_class="4xx") + 2
    assert value(after, "okta_jit_okta_token_refreshes_total", result="ok") == \
        value(before, "okta_jit_okta_token_refreshes_total", result="ok") + 1
    assert value(after, "okta_jit_okta_rate_limited_total", kind="groups") == \
        value(before, "okta_jit_okta_rate_limited_total", kind="groups")
    # what the fake saw, the metrics saw
    seen_429 = [r for r in jit.okta.requests() if r["status"] == 429]
    assert len(seen_429) == 1, seen_429


def test_overdue_removal_and_removal_failures(jit):
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    jit.okta.faults({"method": "DELETE", "path": PUT_MEMBER, "action": "status", "status": 500, "count": -1})
    assert jit.cli("revoke", gid, user="ojt-alice").rc == EXIT_OK
    wait_for(lambda: jit.grant(gid)["op_attempts"] >= 1, 30, what="a failed removal")
    fams = metrics(jit)
    assert value(fams, "okta_jit_removal_failures_total") >= 1
    # owed, but for less than 60 s: not overdue yet
    assert value(fams, "okta_jit_removals_overdue") == 0
    # the grant ended two minutes ago (the ledger is the record the gauge
    # reads; no test waits a minute)
    db = sqlite3.connect(jit.ledger_path, timeout=10)
    with db:
        db.execute("UPDATE grants SET end_at = end_at - 120 WHERE id = ?", (gid,))
    db.close()
    assert value(metrics(jit), "okta_jit_removals_overdue") == 1
    jit.okta.control("faults/clear", {})
    wait_for(lambda: jit.grant(gid)["op"] == "", 30, what="the removal once Okta allows it")
    assert value(metrics(jit), "okta_jit_removals_overdue") == 0


def test_notify_failures_and_backlog(jit_factory, webhook, tmp_path):  # noqa: F811
    secret_file = str(tmp_path / "hook.secret")
    with open(secret_file, "w") as f:
        f.write("whsec-" + "ab" * 24 + "\n")
    os.chmod(secret_file, 0o600)
    webhook.set_mode("fail500")
    hook = "\n[notify hook]\nurl = %s\nsecret_file = %s\nca_file = %s\nevents = requested\n" % (
        webhook.url, secret_file, webhook.ca)
    jit = jit_factory(flows=JIT_FLOWS + hook)
    before = metrics(jit)
    assert value(before, "okta_jit_notify_failures_total") == 0
    jit.request("web-sudo", dur="5m", as_user="ojt-alice")
    wait_for(lambda: value(metrics(jit), "okta_jit_notify_failures_total") >= 1, 20, what="a failed delivery")
    assert value(metrics(jit), "okta_jit_notify_backlog") == 1
    webhook.set_mode("ok")
    wait_for(lambda: value(metrics(jit), "okta_jit_notify_backlog") == 0, 30, what="the delivery once it works")


def test_ledger_errors_counted_by_area(jit):
    before = value(metrics(jit), "okta_jit_ledger_errors_total", op="drift")
    assert before == 0
    db = sqlite3.connect(jit.ledger_path, timeout=10)
    with db:
        db.execute("ALTER TABLE drift RENAME TO drift_away")
    db.close()
    fams = metrics(jit)
    assert value(fams, "okta_jit_ledger_errors_total", op="drift") >= 1
    # a gauge the ledger could not give is absent, never a reassuring 0
    assert value(fams, "okta_jit_drift_members") is None


def test_fleet_snapshot_ages_and_the_gates_view(fleet):  # noqa: F811
    """On a PostgreSQL ledger: the granter and the gate both show each
    flow group's snapshot age; the gate (no Okta credential, a role that
    reads grants and snapshots only) shows no Okta, removal, notification
    or drift numbers, and reads no table its role may not."""
    a = fleet.host("granter-a")
    g = fleet.host("gate", role="gate")
    fleet.wait_snapshots()
    fleet.wait_gate_ready(g)
    for host, role in ((a, "granter"), (g, "gate")):
        text = scrape(host)
        promtool(text)
        fams = parse(text)
        assert dict(next(iter(fams["okta_jit_build_info"]["samples"])))["role"] == role
        ages = {dict(k)["group"]: v for k, v in fams["okta_jit_snapshot_age_seconds"]["samples"].items()}
        assert set(ages) == set(FLOW_GROUPS), ages
        assert all(0 <= v < 120 for v in ages.values()), ages
        assert value(fams, "okta_jit_ledger_up") == 1
        assert sum(fams["okta_jit_ledger_errors_total"]["samples"].values()) == 0, fams["okta_jit_ledger_errors_total"]
    fams = metrics(g)
    for name in ("okta_jit_okta_requests_total", "okta_jit_okta_token_refreshes_total", "okta_jit_removals_overdue",
                 "okta_jit_notify_backlog", "okta_jit_drift_members"):
        assert fams[name]["samples"] == {}, name
    # the gate's own checks (wait_gate_ready asked it)
    assert sum(fams["okta_jit_checks_total"]["samples"].values()) >= 1


# ---------------------------------------------------------------- the textfile

def test_metrics_file_replaced_atomically(jit_factory, tmp_path):
    prom_dir = tmp_path / "textfile"
    prom_dir.mkdir()
    path = str(prom_dir / "okta-jit.prom")
    jit = jit_factory(daemon_extra={"metrics_file": path, "metrics_interval": "1s"})
    wait_for(lambda: os.path.exists(path), 15, what="the metrics file")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o644, oct(st.st_mode)
    promtool(open(path).read())
    # read it over and over while it is rewritten (a new inode each time):
    # every read is a whole, valid text
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            jit.cli("check", "web-sudo", user="ojt-alice")

    t = threading.Thread(target=traffic)
    t.start()
    inodes, reads = set(), 0
    try:
        deadline = time.time() + 30
        while len(inodes) < 4 and time.time() < deadline:
            with open(path) as f:
                inodes.add(os.fstat(f.fileno()).st_ino)
                text = f.read()
            fams = parse(text)
            assert set(fams) == set(DOCUMENTED)
            assert value(fams, "okta_jit_up") == 1
            reads += 1
    finally:
        stop.set()
        t.join()
    assert len(inodes) >= 4, "the file was not replaced every second"
    assert reads > len(inodes)
    # no temporary file is left beside it for the collector to read
    assert os.listdir(str(prom_dir)) == ["okta-jit.prom"]
    # a checked deny shows in the file too
    wait_for(lambda: (value(parse(open(path).read()), "okta_jit_checks_total", decision="deny", code="no_grant")
                      or 0) >= 1, 10, what="the checks in the file")
    # a stopped daemon's numbers do not linger as if current
    jit.daemon.stop()
    assert not os.path.exists(path)


def test_metrics_file_folder_missing_logged_once_then_written(jit_factory, tmp_path):
    """A folder that is not there yet does not stop okta-jitd: the failure is
    logged once (not every interval), and the file appears, with a line
    saying so, once the folder does."""
    folder = tmp_path / "later"
    path = str(folder / "okta-jit.prom")
    jit = jit_factory(daemon_extra={"metrics_file": path, "metrics_interval": "1s"})
    fails = lambda: [l for l in jit.daemon.log().splitlines() if "metrics_file" in l and "cannot create" in l]  # noqa: E731
    wait_for(lambda: fails(), 10, what="the failure logged")
    # several intervals pass (the writer tries once a second)
    for _ in range(3):
        time.sleep(1.1)
    assert len(fails()) == 1, fails()
    assert path in fails()[0]
    folder.mkdir()
    wait_for(lambda: os.path.exists(path), 10, what="the file once its folder exists")
    parse(open(path).read())
    wait_for(lambda: "written again" in jit.daemon.log(), 5, what="the recovery logged")


@pytest.mark.parametrize("key,val,why", [
    ("metrics_file", "relative/okta-jit.prom", "ending in .prom"),
    ("metrics_file", "/var/lib/node_exporter/okta-jit.txt", "ending in .prom"),
    ("metrics_interval", "0s", "greater than zero"),
    ("metrics_interval", "2h", "at most 1h"),
    ("metrics_interval", "soon", "not a duration"),
])
def test_metrics_config_errors_name_file_line_and_key(jit_factory, key, val, why):
    jit = jit_factory(daemon_extra={key: val}, start=False)
    lines = open(jit.conf).read().split("\n")
    line = next(i for i, l in enumerate(lines, 1) if l.startswith(key + " ="))
    p = subprocess.run([jit.daemon.exe, "--config", jit.conf, "--foreground"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert "%s:%d" % (jit.conf, line) in p.stderr and "[daemon] %s" % key in p.stderr and why in p.stderr, p.stderr
