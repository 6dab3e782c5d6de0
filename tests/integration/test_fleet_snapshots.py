"""The granters' snapshots of the gated groups (issue 17): what a check needs
from Okta about each group (its members, with their Okta ids, logins and
status) kept in the shared PostgreSQL ledger by the granters, one listing
per group per cache_ttl for the whole fleet, at once after a granter's own
membership change, taken over when the granter refreshing dies, and
written with the reason when Okta has no member list for a group.

Two granters on this machine share one database and one fake Okta (the
`fleet` fixture of fleet_fixtures.py)."""
import re
import time

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, G_OPS, G_STAGE, G_WEB, wait_for
from pg_fixtures import pg_server  # noqa: F401
from fleet_fixtures import fleet  # noqa: F401 - the fixture

# every group the granters keep: the flows' and the standing ones
FLOW_GROUPS = ("prod-db-ssh", "staging-ssh", "web-sudo")
STANDING = ("audit-readers", "ops-oncall")
CAROL = "00ucarol0000000003"  # SUSPENDED in the seed


def snapshots(fleet):
    """grp -> the row of the ledger's snapshots table."""
    return {r["grp"]: r for r in fleet.rows("SELECT * FROM snapshots ORDER BY grp")}


def parse_members(text):
    """The member text: one "OKTA_ID TAB STATUS TAB LOGIN" a line."""
    out = set()
    for line in (text or "").split("\n"):
        if line == "":
            continue
        f = line.split("\t")
        assert len(f) == 3, "malformed member line %r" % line
        out.add(tuple(f))
    assert text in ("", None) or text.endswith("\n"), repr(text)
    return out


def okta_members(fleet, name):
    """What the fake Okta holds for the group named name: its id, and
    its members as (id, status, login)."""
    st = fleet.okta.state()
    gid = [g["id"] for g in st["groups"] if g["name"] == name]
    assert len(gid) == 1, (name, gid)
    users = {u["id"]: u for u in st["users"]}
    out = {(u, users[u]["status"], users[u]["login"]) for g, u in st["memberships"] if g == gid[0]}
    return gid[0], out


def listings(fleet, gid=None):
    """The member listings Okta was asked for (first pages only: a listing
    of more members than a page has more requests with after=)."""
    pat = re.compile(r"^/api/v1/groups/(%s)/users\?" % (re.escape(gid) if gid else "[^/?]+"))
    return [q for q in fleet.okta.requests() if q["method"] == "GET" and pat.match(q["path"])
            and "after=" not in q["path"]]


def all_fresh(fleet, names, ttl):
    rows = snapshots(fleet)
    now = time.time()
    return all(n in rows and now - rows[n]["taken_at"] < ttl + 2 for n in names)


def test_two_granters_keep_every_groups_snapshot_listing_each_once_per_ttl(fleet):
    ttl = 2
    extra = {"cache_ttl": "%ds" % ttl, "snapshot_groups": ", ".join(STANDING)}
    # carol (SUSPENDED) and alice (ACTIVE) are members of staging-ssh: both
    # are listed, each with Okta's status
    for u in (CAROL, ALICE):
        fleet.okta.control("membership", {"op": "add", "group": G_STAGE, "user": u})
    a = fleet.host("granter-a", extra=extra)
    b = fleet.host("granter-b", extra=extra)
    names = FLOW_GROUPS + STANDING
    wait_for(lambda: set(snapshots(fleet)) >= set(names), 15, what="a snapshot of every group")
    rows = snapshots(fleet)
    for n in names:
        r = rows[n]
        gid, want = okta_members(fleet, n)
        assert r["state"] == "ok" and r["group_id"] == gid, r
        assert parse_members(r["members"]) == want, (n, r["members"], want)
        assert r["nmembers"] == len(want) and r["gen"] >= 1 and r["host"], r
    assert (CAROL, "SUSPENDED", "ojt-carol@example.com") in parse_members(rows["staging-ssh"]["members"])
    assert parse_members(rows["ops-oncall"]["members"]) == okta_members(fleet, "ops-oncall")[1]
    assert len(parse_members(rows["ops-oncall"]["members"])) == 2
    # a listing is slow (0.3 s a page): two granters listing the same group
    # at once would overlap
    fleet.okta.faults({"method": "GET", "path": r"^/api/v1/groups/[^/]+/users\?", "action": "delay",
                       "seconds": 0.3, "count": -1})
    fleet.okta.clear_requests()
    gens = {n: rows[n]["gen"] for n in names}
    t0 = time.time()
    time.sleep(3 * ttl)
    window = time.time() - t0
    got = listings(fleet)
    per_ttl = len(got) / (window / ttl)
    print("%d groups, 2 granters: %.2f listings per cache_ttl" % (len(names), per_ttl))
    # one listing per group per cache_ttl for the fleet: 5 a ttl, not 10
    assert len(names) * 0.5 <= per_ttl <= len(names) * 1.4, (len(got), window, [q["path"] for q in got])
    # each group was listed again, never by both granters at once
    rows = snapshots(fleet)
    for n in names:
        assert rows[n]["gen"] > gens[n], (n, rows[n], gens[n])
        gid = rows[n]["group_id"]
        mine = sorted(listings(fleet, gid), key=lambda q: q["t"])
        for x, y in zip(mine, mine[1:]):
            assert y["t"] >= x["t_end"] - 0.05, (n, x, y)
    assert a.daemon.alive() and b.daemon.alive()


def test_a_grant_updates_its_groups_snapshot_at_once(fleet):
    # cache_ttl 30 s: what changes within seconds is the granter's own doing
    a = fleet.host("granter-a")
    fleet.host("granter-b")
    wait_for(lambda: "web-sudo" in snapshots(fleet), 15, what="web-sudo's snapshot")
    wait_for(lambda: set(snapshots(fleet)) >= set(FLOW_GROUPS), 15, what="every snapshot")
    gens = {n: r["gen"] for n, r in snapshots(fleet).items()}
    before = snapshots(fleet)["web-sudo"]
    assert ALICE not in {m[0] for m in parse_members(before["members"])}
    t0 = time.time()
    a.request("web-sudo", dur="10m", as_user="ojt-alice")
    wait_for(lambda: (ALICE, "ACTIVE", "ojt-alice@example.com") in
             parse_members(snapshots(fleet)["web-sudo"]["members"]), 5, what="alice in web-sudo's snapshot")
    print("the grant's snapshot within %.2fs of the request's start" % (time.time() - t0))
    after = snapshots(fleet)["web-sudo"]
    assert after["gen"] > before["gen"] and after["taken_at"] >= int(t0), (before, after)
    # the other groups were not listed again for it
    others = snapshots(fleet)
    assert [others[n]["gen"] for n in ("prod-db-ssh", "staging-ssh")] == \
        [gens[n] for n in ("prod-db-ssh", "staging-ssh")], (gens, others)


def test_a_granter_killed_while_refreshing_is_taken_over(fleet):
    ttl = 3
    extra = {"cache_ttl": "%ds" % ttl}
    a = fleet.host("granter-a", extra=extra)
    b = fleet.host("granter-b", extra=extra, start=False)
    wait_for(lambda: all_fresh(fleet, FLOW_GROUPS, ttl), 15, what="a's first snapshots")
    # a's next listing of web-sudo hangs in Okta (until released)
    fleet.okta.faults({"method": "GET", "path": r"^/api/v1/groups/%s/users\?" % G_WEB, "action": "hold",
                       "name": "snap", "seconds": 60, "count": 1})
    try:
        wait_for(lambda: fleet.okta.state()["faults_pending"] == 0, 3 * ttl, what="a listing web-sudo")
        held = snapshots(fleet)["web-sudo"]
        b.daemon.start()
        # b finds web-sudo due and claimed by a (and tries again every
        # second); a's Okta call would time out after 5 s
        time.sleep(1.0)
        assert snapshots(fleet)["web-sudo"]["gen"] == held["gen"], "nobody may refresh it while a holds it"
        a.daemon.kill9()
        t_kill = time.time()
        wait_for(lambda: snapshots(fleet)["web-sudo"]["gen"] > held["gen"], 10, what="b took web-sudo over")
        took = time.time() - t_kill
        print("taken over %.2fs after the kill" % took)
        row = snapshots(fleet)["web-sudo"]
        assert row["state"] == "ok" and row["taken_at"] >= int(t_kill), row
        assert parse_members(row["members"]) == okta_members(fleet, "web-sudo")[1]
        assert took < 5, took
        log = b.daemon.log()
        assert re.search(r"snapshot of group 'web-sudo': the refresh another granter began did not finish.*"
                         r"taking it over", log), log[-3000:]
        # and b keeps every group fresh on its own
        wait_for(lambda: all_fresh(fleet, FLOW_GROUPS, ttl), 3 * ttl, what="b keeps them fresh")
    finally:
        fleet.okta.control("release", {"name": "snap"})


def test_a_group_okta_has_no_member_list_for_is_written_with_the_reason(fleet):
    # two OKTA_GROUPs named "twins": which one is meant cannot be told
    for gid in ("00gtwin0000000001", "00gtwin0000000002"):
        fleet.okta.control("groups", {"op": "add", "id": gid, "name": "twins", "type": "OKTA_GROUP"})
    a = fleet.host("granter-a", extra={"snapshot_groups": "no-such-group, twins, ops-oncall"})
    wait_for(lambda: {"no-such-group", "twins", "ops-oncall"} <= set(snapshots(fleet)), 15,
             what="the three snapshots")
    rows = snapshots(fleet)
    r = rows["no-such-group"]
    assert r["state"].startswith("unknown group:") and "no-such-group" in r["state"], r
    assert r["members"] in ("", None) and r["nmembers"] == 0 and r["group_id"] in ("", None), r
    r = rows["twins"]
    assert r["state"].startswith("ambiguous:"), r
    assert r["members"] in ("", None) and r["nmembers"] == 0 and r["group_id"] in ("", None), r
    # the others are unaffected
    assert rows["ops-oncall"]["state"] == "ok" and rows["ops-oncall"]["group_id"] == G_OPS
    log = a.daemon.log()
    assert "snapshot of group 'no-such-group' has no member list: unknown group:" in log, log[-3000:]
    assert "snapshot of group 'twins' has no member list: ambiguous:" in log, log[-3000:]
    # in the audit trail too, once each
    audited = sorted((x["grp"], x["detail"][:22]) for x in fleet.audit(event="snapshot_state"))
    assert audited == [("no-such-group", 'state="unknown group: '), ("twins", 'state="ambiguous: 2 Ok')], \
        fleet.audit(event="snapshot_state")


def test_an_okta_failure_keeps_the_old_snapshot_and_says_so(fleet):
    ttl = 2
    a = fleet.host("granter-a", extra={"cache_ttl": "%ds" % ttl})
    wait_for(lambda: "ops-oncall" not in snapshots(fleet) and all_fresh(fleet, FLOW_GROUPS, ttl), 15,
             what="the first snapshots")
    before = snapshots(fleet)["staging-ssh"]
    fleet.okta.faults({"method": "GET", "path": r"^/api/v1/groups/%s/users\?" % G_STAGE, "action": "status",
                       "status": 403, "count": -1})
    wait_for(lambda: "snapshot of group 'staging-ssh' not refreshed (Okta, attempt 1)" in a.daemon.log(),
             3 * ttl + 5, what="the failure logged")
    time.sleep(ttl)
    row = snapshots(fleet)["staging-ssh"]
    assert row["gen"] == before["gen"] and row["members"] == before["members"], (before, row)
    assert row["taken_at"] == before["taken_at"], row
    line = [x for x in a.daemon.log().splitlines() if "not refreshed (Okta, attempt 1)" in x][0]
    assert "the gates stop using it at" in line and "HTTP 403" in line, line
    # the others go on
    assert snapshots(fleet)["web-sudo"]["gen"] > 1
    fleet.okta.control("faults/clear", {})
    wait_for(lambda: snapshots(fleet)["staging-ssh"]["gen"] > before["gen"], 10, what="refreshed again")
    assert "snapshot of group 'staging-ssh' refreshed again after" in a.daemon.log()


def test_a_listing_that_lost_its_claim_does_not_overwrite_a_newer_snapshot(fleet):
    """A granter's claim dies with its database session (here: ended by the
    server mid-listing); another granter lists the group and writes it; the
    first one's older listing, when it ends, must not replace the newer."""
    ttl = 3
    extra = {"cache_ttl": "%ds" % ttl}
    a = fleet.host("granter-a", extra=extra, start=False)
    # a's listing is held below: Okta's answer may take 30 s here, not 5
    with open(a.conf) as f:
        text = f.read()
    with open(a.conf, "w") as f:
        f.write(text.replace("\ntimeout = 5s\n", "\ntimeout = 30s\n", 1))
    a.daemon.start()
    b = fleet.host("granter-b", extra=extra, start=False)
    wait_for(lambda: all_fresh(fleet, FLOW_GROUPS, ttl), 15, what="a's first snapshots")
    fleet.okta.faults({"method": "GET", "path": r"^/api/v1/groups/%s/users\?" % G_WEB, "action": "hold",
                       "name": "lost", "seconds": 60, "count": 1})
    try:
        wait_for(lambda: fleet.okta.state()["faults_pending"] == 0, 3 * ttl, what="a listing web-sudo")
        held = snapshots(fleet)["web-sudo"]
        time.sleep(1.2)  # b's listing begins in a later second than a's
        # a's database session ends, and its claim with it
        fleet.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
                      " AND pid <> pg_backend_pid()" % fleet.db, db=fleet.db)
        b.daemon.start()
        wait_for(lambda: snapshots(fleet)["web-sudo"]["gen"] > held["gen"], 10, what="b's listing written")
        newer = snapshots(fleet)["web-sudo"]
    finally:
        fleet.okta.control("release", {"name": "lost"})
    # a's listing ends: set aside (logged), or written over the newer one
    set_aside = "snapshot of group 'web-sudo': a newer one"
    wait_for(lambda: set_aside in a.daemon.log() or snapshots(fleet)["web-sudo"]["taken_at"] < newer["taken_at"],
             15, what="a's listing ended")
    row = snapshots(fleet)["web-sudo"]
    assert row["taken_at"] >= newer["taken_at"] > held["taken_at"], (held, newer, row)
    assert set_aside in a.daemon.log()
    assert a.daemon.alive() and b.daemon.alive()
