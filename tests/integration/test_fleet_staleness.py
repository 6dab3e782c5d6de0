"""Bounded staleness on a gate (issue 20, item 4): a gate answers from the
granters' snapshots, and no plain allow rests on one older than the
staleness bound, cache_ttl + refresh_timeout (at most 2 x cache_ttl, the
rule before: a minute with the default cache_ttl of 30 s). Older, within
outage_grace, it answers from grace (audited check_grace, never on the
answer board), as for an Okta that does not answer."""
import time

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, BOB, G_OPS, G_WEB, wait_for
from fleet_fixtures import fleet  # noqa: F401 - the fleet fixture
from pg_fixtures import pg_server  # noqa: F401
from test_fleet_gates import check, gate, granter_round_done, put_snapshot


def test_a_gate_snapshot_past_the_bound_answers_from_grace(fleet):
    # cache_ttl 30 s (the fleet's), refresh_timeout 2 s: the bound is 32 s
    a = fleet.host("granter-a")
    granter_round_done(fleet)
    a.daemon.stop()  # it would list the flows' groups again: the snapshots are this test's own
    g = gate(fleet, extra={"refresh_timeout": "2s", "outage_grace": "5m"})
    put_snapshot(fleet, "ops-oncall", G_OPS, [(BOB, "ACTIVE")], taken_at=int(time.time()) - 25)
    wait_for(lambda: check(g, "ojt-bob", "ops-oncall").rc == EXIT_OK, 5,  # noqa: F405
             what="allowed from a snapshot within the bound")
    assert not fleet.audit(event="check_grace")
    # 40 s old: past the bound, short of 2 x cache_ttl (60 s)
    put_snapshot(fleet, "ops-oncall", G_OPS, [(BOB, "ACTIVE")], taken_at=int(time.time()) - 40)
    wait_for(lambda: check(g, "ojt-bob", "ops-oncall").rc == EXIT_OK and fleet.audit(event="check_grace"), 5,  # noqa: F405
             what="answered from grace past the bound")
    grace = fleet.audit(event="check_grace")
    assert grace[-1]["user"] == "ojt-bob" and "staleness bound" in grace[-1]["detail"], grace
    # doctor says so too
    put_snapshot(fleet, "web-sudo", G_WEB, [(ALICE, "ACTIVE")], taken_at=int(time.time()) - 40)
    r = g.cli("--config", g.conf, "doctor", json_out=False)
    assert "WARN  snapshot" in r.out and "over 32s, the staleness bound" in r.out, r.out
