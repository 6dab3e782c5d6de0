"""Drift (issue 20, item 1; helper/daemon/drift.c): each flow's Okta group
holds exactly the grants and the declared standing members. A member with
neither is drift: audited and told once per episode, shown by `okta-jit
drift`, and with `drift = remove` taken out of the group - never a member
a grant holds, added a moment ago or still owes its removal to, nor a
declared standing one. Okta's 429/5xx are retried and nothing is removed
twice; a removal Okta refuses is reported, retried and never lost; in a
fleet one granter sweeps a group at a time.

SQLite ledger unless said (jit_factory's default); the fleet test runs on
PostgreSQL. cache_ttl = 1s here: a sweep per group every second.
"""
import json
import os
import subprocess
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from fleet_fixtures import fleet  # noqa: F401

AUDITREADERS = "00gaudit000000006"

FAST = {"cache_ttl": "1s"}


def flows(drift="report", standing=None):
    """JIT_FLOWS with web-sudo's flow sweeping for drift."""
    extra = "drift = %s\n" % drift
    if standing:
        extra += "standing = %s\n" % standing
    return JIT_FLOWS.replace("[flow web]\ngroups = web-sudo\n", "[flow web]\ngroups = web-sudo\n" + extra, 1)


def admin_add(env, gid, uid):
    env.okta.control("membership", {"op": "add", "group": gid, "user": uid})


def admin_remove(env, gid, uid):
    env.okta.control("membership", {"op": "remove", "group": gid, "user": uid})


def listings(env, gid=G_WEB):
    return [r for r in env.okta.requests()
            if r["method"] == "GET" and r["path"].startswith("/api/v1/groups/%s/users" % gid)]


def sweeps(env, n, gid=G_WEB, timeout=20):
    """Wait for n more listings of gid (n more sweeps)."""
    start = len(listings(env, gid))
    wait_for(lambda: len(listings(env, gid)) >= start + n, timeout, what="%d more sweeps of %s" % (n, gid))


def deletes(env, uid, gid=G_WEB, status=None):
    return [r for r in env.okta.requests()
            if r["method"] == "DELETE" and r["path"] == "/api/v1/groups/%s/users/%s" % (gid, uid)
            and (status is None or r["status"] == status)]


def drift_events(env, event="drift", login=None):
    out = env.audit(event=event)
    if login is not None:
        out = [a for a in out if "login=%s" % login in a["detail"] or "login=\"%s\"" % login in a["detail"]]
    return out


def drift_rows(env):
    r = env.cli("drift")
    assert r.rc == 0, r
    return json.loads(r.out)["drift"]


def test_drift_reported_once_and_listed(jit_factory, tmp_path):
    """A member an admin added in Okta without a grant is drift: audited
    once, queued once for the notify targets, listed by `okta-jit drift`
    (with --json); with the default drift = report it stays in the group."""
    secret = tmp_path / "hook.secret"
    fd = os.open(str(secret), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("whsec-0123456789abcdef0123456789abcdef\n")
    hook = "\n[notify hook]\nurl = https://127.0.0.1:9/hook\nsecret_file = %s\nevents = drift\n" % secret
    env = jit_factory(daemon_extra=FAST, flows=JIT_FLOWS + hook)
    admin_add(env, G_WEB, MALLORY)
    ev = wait_for(lambda: drift_events(env, login="ojt-mallory@example.com"), 20, what="a drift audit record")
    assert ev[0]["actor"] == "okta-jitd" and ev[0]["grp"] == "web-sudo" and ev[0]["user"] == "ojt-mallory"
    assert "action=report" in ev[0]["detail"] and MALLORY in ev[0]["detail"], ev
    sweeps(env, 3)
    assert len(drift_events(env, login="ojt-mallory@example.com")) == 1, "drift audited once per episode"
    assert MALLORY in env.members(G_WEB), "drift = report removes nothing"
    assert not deletes(env, MALLORY)
    rows = drift_rows(env)
    row = [r for r in rows if r.get("okta_id") == MALLORY]
    assert row and row[0]["state"] == "reported" and row[0]["group"] == "web-sudo", rows
    assert row[0]["login"] == "ojt-mallory@example.com" and row[0]["action"] == "report"
    assert row[0]["flow"] == "web" and row[0]["start"] <= row[0]["at"]
    # the standing = allow flow is never swept, and says so
    assert any(r["group"] == "staging-ssh" and r["state"] == "not-checked" for r in rows), rows
    # plain text too
    t = env.cli("drift", json_out=False)
    assert t.rc == 0 and "ojt-mallory@example.com" in t.out and "reported" in t.out, t
    # notify: one "drift" queued for the target, whatever the sweeps
    db = env._db()
    try:
        n = db.execute("SELECT COUNT(*) FROM notifications WHERE event = 'drift'").fetchone()[0]
    finally:
        db.close()
    assert n == 1, n
    # root only
    r = env.cli("drift", user="ojt-alice")
    assert r.rc != 0 and "root" in (r.out + r.err), r
    # the member leaves: the episode is over; a return is a new one
    admin_remove(env, G_WEB, MALLORY)
    wait_for(lambda: not [r for r in drift_rows(env) if r.get("okta_id") == MALLORY], 20,
             what="the drift row gone with the member")
    admin_add(env, G_WEB, MALLORY)
    wait_for(lambda: len(drift_events(env, login="ojt-mallory@example.com")) == 2, 20, what="a second episode")


def test_drift_remove_spares_grants_and_standing(jit_factory):
    """drift = remove takes out the member with neither a grant nor a
    standing place, and nobody else: not a grant holder, not a standing
    user (user:LOGIN), not a member of a standing group (group:NAME)."""
    env = jit_factory(daemon_extra=FAST,
                      flows=flows("remove", "user:ojt-olivia@example.com, group:audit-readers"))
    r = env.request("web-sudo", dur="10m", as_user="ojt-alice")
    gid = r.grant["id"]
    wait_for(lambda: env.grant(gid)["state"] == "active", 20, what="alice's grant active")
    admin_add(env, G_WEB, OLIVIA)             # a declared standing user
    admin_add(env, AUDITREADERS, BOB)          # a member of the standing group...
    admin_add(env, G_WEB, BOB)                 # ...in the JIT group
    admin_add(env, G_WEB, MALLORY)             # drift
    wait_for(lambda: MALLORY not in env.members(G_WEB), 20, what="mallory removed")
    sweeps(env, 3)
    members = env.members(G_WEB)
    assert ALICE in members and OLIVIA in members and BOB in members, members
    for uid in (ALICE, OLIVIA, BOB):
        assert not deletes(env, uid), uid
    dele = deletes(env, MALLORY, status=204)
    assert len(dele) == 1
    ev = drift_events(env)
    assert [e["user"] for e in ev] == ["ojt-mallory"] and "action=remove" in ev[0]["detail"], ev
    removed = drift_events(env, "drift_removed")
    assert len(removed) == 1
    # Okta's own record of the DELETE (item 5): its X-Okta-Request-Id
    assert "okta_request_id=%s" % dele[0]["request_id"] in removed[0]["detail"].split(), (removed, dele)
    row = [r for r in drift_rows(env) if r.get("okta_id") == MALLORY]
    assert row and row[0]["state"] == "removed", row
    # the grant's own end is untouched by the sweep: one removal, by the grant
    assert env.events(gid).count("removed") == 0


def test_drift_grant_made_during_the_listing_is_not_drift(jit_factory):
    """A grant added while a sweep's listing is under way: the listing
    shows the member, the ledger read after it shows the grant - never
    removed, never reported (the ledger is read after Okta, and again
    under the claim before any removal)."""
    env = jit_factory(daemon_extra=FAST, flows=flows("remove"))
    sweeps(env, 1)
    env.okta.faults({"method": "GET", "path": "^/api/v1/groups/%s/users" % G_WEB, "count": 1,
                     "action": "hold", "name": "listing", "seconds": 30})
    # (a held request is logged when it ends: the fake's in-flight count shows it)
    wait_for(lambda: env.okta.state()["inflight"] >= 1 and not env.okta.control("faults"), 20,
             what="a listing held")
    r = env.request("web-sudo", dur="10m", as_user="ojt-alice")
    gid = r.grant["id"]
    assert env.grant(gid)["state"] == "active"
    env.okta.control("release", {"name": "listing"})
    sweeps(env, 3)
    assert ALICE in env.members(G_WEB)
    assert not deletes(env, ALICE)
    assert not drift_events(env), drift_events(env)


def test_drift_member_added_during_a_grants_removal(jit_factory):
    """A grant ends and Okta fails its removal for a while (the removal
    stays owed): the sweep leaves that membership to the grant - no drift
    report, no second removal - while a member an admin adds meanwhile is
    drift of its own (grant_id 0), not the old grant's. Once the grant's
    removal goes through, a re-add by an admin is a new drift episode."""
    env = jit_factory(daemon_extra=FAST, flows=flows("remove"))
    r = env.request("web-sudo", dur="3s", as_user="ojt-alice")
    gid = r.grant["id"]
    env.okta.faults({"method": "DELETE", "path": "^/api/v1/groups/%s/users/%s$" % (G_WEB, ALICE), "count": -1,
                     "action": "status", "status": 503})
    wait_for(lambda: env.grant(gid)["state"] == "expired" and env.grant(gid)["op"] == "remove", 20,
             what="the grant ended, its removal owed")
    wait_for(lambda: len(deletes(env, ALICE)) >= 1, 20, what="the grant's removal failing")
    admin_add(env, G_WEB, MALLORY)
    wait_for(lambda: MALLORY not in env.members(G_WEB), 20, what="mallory (drift) removed")
    sweeps(env, 3)
    assert ALICE in env.members(G_WEB), "the grant's removal is still failing"
    assert [e["user"] for e in drift_events(env)] == ["ojt-mallory"], drift_events(env)
    assert all(e["grant_id"] == 0 for e in drift_events(env) + drift_events(env, "drift_removed"))
    assert not [rw for rw in drift_rows(env) if rw.get("okta_id") == ALICE]
    # every DELETE of alice so far is the grant's (failed) removal
    assert not deletes(env, ALICE, status=204)
    env.okta.control("faults/clear", {})
    wait_for(lambda: ALICE not in env.members(G_WEB), 30, what="the grant's removal through")
    assert env.events(gid).count("removed") == 1
    assert len(deletes(env, ALICE, status=204)) == 1
    # an admin puts alice back after her grant: drift of its own
    admin_add(env, G_WEB, ALICE)
    wait_for(lambda: ALICE not in env.members(G_WEB), 30, what="alice's re-add removed as drift")
    ev = drift_events(env, login="ojt-alice@example.com")
    assert len(ev) == 1 and ev[0]["grant_id"] == 0, ev


def test_drift_okta_429_and_5xx_retried_nothing_removed_twice(jit_factory):
    """Okta answers 429 and 503 to the sweep's listing and 503 to the
    removal: the client retries, the member is removed once, audited once."""
    env = jit_factory(daemon_extra=FAST, flows=flows("remove"))
    sweeps(env, 1)
    env.okta.faults(
        {"method": "GET", "path": "^/api/v1/groups/%s/users" % G_WEB, "count": 1, "action": "status",
         "status": 429, "headers": {"X-Rate-Limit-Reset": str(int(time.time()) + 1)}},
        {"method": "GET", "path": "^/api/v1/groups/%s/users" % G_WEB, "count": 1, "action": "status",
         "status": 503},
        {"method": "DELETE", "path": "^/api/v1/groups/%s/users/%s$" % (G_WEB, MALLORY), "count": 1,
         "action": "status", "status": 503})
    admin_add(env, G_WEB, MALLORY)
    wait_for(lambda: MALLORY not in env.members(G_WEB), 30, what="mallory removed")
    sweeps(env, 3)
    assert [r["status"] for r in deletes(env, MALLORY)] == [503, 204], deletes(env, MALLORY)
    assert len(drift_events(env)) == 1
    assert len(drift_events(env, "drift_removed")) == 1
    assert not drift_events(env, "drift_remove_failed")
    statuses = [r["status"] for r in listings(env)]
    assert 429 in statuses and 503 in statuses, statuses


def test_drift_removal_refused_is_retried_never_lost(jit_factory):
    """Okta refuses the removal (403, three times): the drift is reported,
    kept in the ledger as failed with its attempts, tried again at each
    sweep, and removed once Okta allows it."""
    env = jit_factory(daemon_extra=FAST, flows=flows("remove"))
    env.okta.faults({"method": "DELETE", "path": "^/api/v1/groups/%s/users/%s$" % (G_WEB, MALLORY), "count": 3,
                     "action": "status", "status": 403})
    admin_add(env, G_WEB, MALLORY)
    failed = wait_for(lambda: [r for r in drift_rows(env) if r.get("okta_id") == MALLORY
                               and r["state"] == "failed"], 20, what="the refused removal recorded")
    assert failed[0]["attempts"] >= 1 and failed[0].get("detail"), failed
    wait_for(lambda: MALLORY not in env.members(G_WEB), 30, what="the removal retried until it went through")
    assert [r["status"] for r in deletes(env, MALLORY)] == [403, 403, 403, 204]
    assert len(drift_events(env)) == 1
    fails = drift_events(env, "drift_remove_failed")
    assert [f["detail"].count("attempt=") for f in fails] == [1, 1, 1], fails
    assert len(drift_events(env, "drift_removed")) == 1
    row = [r for r in drift_rows(env) if r.get("okta_id") == MALLORY]
    assert row[0]["state"] == "removed" and row[0]["attempts"] == 3, row


def test_drift_fleet_one_granter_at_a_time(fleet):  # noqa: F811
    """Two granters on one PostgreSQL ledger sweep the same groups: one at
    a time (the ledger's claim on the group's sweep), so a drift is audited
    once - reported (prod-db-ssh, drift = report) or removed (web-sudo,
    drift = remove) - and removed once, and both list the fleet's table."""
    extra = {"cache_ttl": "1s"}
    a = fleet.host("g1", extra=extra, flows=flows("remove"))
    b = fleet.host("g2", extra=extra, flows=flows("remove"))
    fleet.okta.clear_requests()
    admin_add(a, G_PRODDB, MALLORY)
    admin_add(a, G_WEB, MALLORY)
    wait_for(lambda: MALLORY not in fleet.okta.members(G_WEB), 30, what="mallory removed")
    sweeps(a, 6, gid=G_PRODDB)  # several more sweeps by both granters
    ev = fleet.audit(event="drift")
    assert sorted(e["grp"] for e in ev) == ["prod-db-ssh", "web-sudo"], ev
    assert len(fleet.audit(event="drift_removed")) == 1
    assert len(deletes(a, MALLORY)) == 1
    assert MALLORY in fleet.okta.members(G_PRODDB)
    for env in (a, b):
        r = env.cli("drift")
        assert r.rc == 0, r
        rows = sorted((x["group"], x["state"]) for x in json.loads(r.out)["drift"] if x.get("okta_id") == MALLORY)
        assert rows == [("prod-db-ssh", "reported"), ("web-sudo", "removed")], rows


def member_claim_keys(user, grp):
    """The two int4 keys of ledger_claim_member(user, grp) on PostgreSQL
    (helper/ledger/ledger.c member_key, ledger_pg_grants.c claim_keys)."""
    m64 = (1 << 64) - 1
    h = 14695981039346656037
    for c in user.encode():
        h = ((h ^ c) * 1099511628211) & m64
    h = (h * 1099511628211) & m64
    for c in grp.encode():
        h = ((h ^ c) * 1099511628211) & m64
    u = (-(h >> 1) - 1) & m64

    def i32(v):
        return v - (1 << 32) if v >= 1 << 31 else v
    return i32((u >> 32) ^ 0x6f6a6974), i32(u & 0xffffffff)


def test_drift_sweep_waits_for_the_groups_claim(fleet):  # noqa: F811
    """While another granter holds a group's sweep claim (here: a session
    that took the same PostgreSQL advisory lock), this granter does not
    sweep that group - other groups go on - and sweeps it once the claim
    is let go."""
    a = fleet.host("g1", extra={"cache_ttl": "1s"}, flows=flows("report"))
    k1, k2 = member_claim_keys("*drift*", "web-sudo")
    holder = subprocess.Popen(
        [os.path.join(fleet.pg.bindir, "psql"), "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(fleet.pg.port),
         "-U", "postgres", "-d", fleet.db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PGPASSWORD=fleet.pg.superuser_password))
    try:
        holder.stdin.write("SELECT pg_try_advisory_lock(%d, %d);\n" % (k1, k2))
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "t"
        admin_add(a, G_PRODDB, MALLORY)
        admin_add(a, G_WEB, MALLORY)
        wait_for(lambda: [e for e in fleet.audit(event="drift") if e["grp"] == "prod-db-ssh"], 30,
                 what="prod-db-ssh swept")
        sweeps(a, 3, gid=G_PRODDB)
        assert not [e for e in fleet.audit(event="drift") if e["grp"] == "web-sudo"], fleet.audit(event="drift")
    finally:
        holder.stdin.close()
        holder.wait(10)
    wait_for(lambda: [e for e in fleet.audit(event="drift") if e["grp"] == "web-sudo"], 30,
             what="web-sudo swept once the claim is free")


def decision(env, group, user):
    c = env.cli("check", group, "--user", user)
    assert c.j is not None, c
    return c.j.get("decision"), c.j.get("code")


STANDING = "user:ojt-olivia@example.com, group:audit-readers"


def test_declared_standing_members_pass_checks(jit_factory):
    """standing = user:LOGIN, group:NAME: a declared standing member of the
    JIT group passes the gate without a grant (as every member does under
    standing = allow); a member who is neither standing nor granted does
    not, and a standing member who is not in the JIT group does not."""
    env = jit_factory(daemon_extra=FAST, flows=flows("report", STANDING))
    admin_add(env, G_WEB, OLIVIA)          # standing by login
    admin_add(env, AUDITREADERS, BOB)      # standing by group...
    admin_add(env, G_WEB, BOB)             # ...and in the JIT group
    admin_add(env, G_WEB, MALLORY)         # neither
    admin_add(env, AUDITREADERS, ALICE)    # standing, not in the JIT group
    assert decision(env, "web-sudo", "ojt-olivia")[0] == "allow"
    assert decision(env, "web-sudo", "ojt-bob")[0] == "allow"
    assert decision(env, "web-sudo", "ojt-mallory") == ("deny", "no_grant")
    assert decision(env, "web-sudo", "ojt-alice")[0] == "deny"
    # a standing group member who leaves the standing group stops passing
    admin_remove(env, AUDITREADERS, BOB)
    wait_for(lambda: decision(env, "web-sudo", "ojt-bob")[0] == "deny", 10, what="bob refused once not standing")
    # and only the undeclared member is drift
    wait_for(lambda: drift_events(env), 20, what="a drift record")
    sweeps(env, 2)
    assert sorted(e["user"] for e in drift_events(env)) == ["ojt-bob", "ojt-mallory"], drift_events(env)
    # Okta's users API down: whether carol (no grant, never checked) is a
    # standing member cannot be known; she is refused as without a grant,
    # never "unavailable" (which a PAM failmode = open would let in)
    env.okta.faults({"method": "GET", "path": "^/api/v1/users", "count": -1, "action": "status", "status": 503})
    assert decision(env, "web-sudo", "ojt-carol") == ("deny", "no_grant")


def test_declared_standing_members_pass_a_gates_checks(fleet):  # noqa: F811
    """The same on a gate of a fleet, which holds no Okta credential: the
    granters keep a snapshot of each declared standing group."""
    flw = flows("report", STANDING)
    fleet.host("granter", extra={"cache_ttl": "1s"}, flows=flw)
    admin_add(fleet.hosts["granter"], G_WEB, OLIVIA)
    admin_add(fleet.hosts["granter"], AUDITREADERS, BOB)
    admin_add(fleet.hosts["granter"], G_WEB, BOB)
    admin_add(fleet.hosts["granter"], G_WEB, MALLORY)
    gate = fleet.host("gate", role="gate", extra={"cache_ttl": "1s"}, flows=flw)
    fleet.wait_gate_ready(gate)
    wait_for(lambda: decision(gate, "web-sudo", "ojt-bob")[0] == "allow", 20, what="bob (standing group) allowed")
    assert decision(gate, "web-sudo", "ojt-olivia")[0] == "allow"
    assert decision(gate, "web-sudo", "ojt-mallory")[0] == "deny"
    assert "audit-readers" in fleet.snapshots()
    r = gate.cli("drift")
    assert r.rc != 0 and r.j.get("code") == "role", r


def test_doctor_names_drift_and_standing(jit_factory):
    """doctor says what each flow does with drift, and fails a declared
    standing group Okta does not have (it would make nobody standing)."""
    env = jit_factory(flows=flows("remove", "group:no-such-group, group:audit-readers"), start=False)
    import subprocess
    p = subprocess.run([env.cli_path, "--config", env.conf, "--json", "doctor"], capture_output=True, text=True,
                       timeout=60)
    doc = json.loads(p.stdout)
    steps = [(s["result"], s["step"], s.get("message", "") + " " + s.get("detail", "")) for s in doc["steps"]]
    assert ("FAIL", "standing") in [(r, s) for r, s, _ in steps], steps
    assert any(r == "FAIL" and s == "standing" and "no-such-group" in m for r, s, m in steps), steps
    assert any(r == "PASS" and s == "standing" and "audit-readers" in m for r, s, m in steps), steps
    assert any(r == "PASS" and s == "drift" and "[flow web] drift = remove" in m for r, s, m in steps), steps
    assert any(r == "PASS" and s == "drift" and "[flow staging] standing = allow" in m for r, s, m in steps), steps
