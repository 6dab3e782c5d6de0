"""A database writer cannot let anyone into a gate (issue 17 follow-up).

Gates hold no Okta credential and answer from the shared ledger; since this
change they use only the grant rows and snapshots a granter signed with the
fleet's Ed25519 key ([daemon] fleet_signing_key), verified with the public
key(s) they hold ([daemon] fleet_verify_keys). Every test writes the
database here as its superuser (fleet.pg.psql): what anyone with the
granters' role's password, a superuser or the database's host can do."""
import os
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import G_STAGE, G_WEB, MALLORY, OLIVIA, wait_for
from fleet_fixtures import fleet, fleet_keypair, grant_bytes, pg_server, sign_with  # noqa: F401

MALLORY_LINE = "%s\tACTIVE\tojt-mallory@example.com\n" % MALLORY


def su(fleet, query):
    """query as the database's superuser."""
    return fleet.pg.psql(query, db=fleet.db)


def check(host, user, group):
    c = host.cli("check", group, "--user", user)
    assert c.j is not None, c
    return c


def granter_and_gate(fleet, gate_extra=None):
    a = fleet.host("granter-a")
    fleet.wait_snapshots()
    g = fleet.host("gate", role="gate", extra=gate_extra)
    return a, g


def wait_logged(host, text, timeout=10, while_=None):
    """Until host's log holds text; while_ runs on every round (an
    assertion that must hold meanwhile)."""
    def seen():
        if while_ is not None:
            while_()
        return text in host.daemon.log()
    return wait_for(seen, timeout, interval=0.1, what="%s logs %r" % (host.workdir, text))


def not_allowed(host, user, group):
    def f():
        c = check(host, user, group)
        assert c.j["decision"] != "allow", ("ALLOWED", user, group, c)
    return f


def test_rows_a_granter_signed_pass_on_a_gate(fleet):
    a, g = granter_and_gate(fleet)
    fleet.wait_gate_ready(g)
    snaps = fleet.snapshots()
    assert all(len(snaps[grp]["sig"]) == 128 for grp in ("web-sudo", "staging-ssh")), snaps
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    c = wait_for(lambda: (lambda c: c.rc == EXIT_OK and c)(check(g, "ojt-alice", "web-sudo")), 10,
                 what="the gate allows alice's signed grant")
    assert c.j["id"] == gid, c
    row = fleet.grant(gid)
    assert row["state"] == "active" and len(row["sig"]) == 128, row


def test_a_forged_grant_and_snapshot_do_not_let_mallory_in(fleet):
    """The attack: as the superuser, an active grant row for mallory and a
    snapshot of web-sudo that lists her. Before the fleet signatures the
    gate allowed her; now both rows are unsigned, and she is refused."""
    a, g = granter_and_gate(fleet)
    fleet.wait_gate_ready(g)
    c = check(g, "ojt-mallory", "web-sudo")
    assert c.rc == EXIT_DENIED and c.j["code"] == "no_grant", c
    a.daemon.stop()  # the granter would list web-sudo again after cache_ttl: not within this test
    signed = fleet.rows("SELECT * FROM snapshots WHERE grp = 'web-sudo'")[0]
    now = int(time.time())
    su(fleet, "INSERT INTO grants (kind, \"user\", okta_login, okta_user_id, grp, group_id, flow, requester,"
              " reason, approver, state, op, was_member, duration, requested_at, decided_at, start_at, end_at,"
              " updated_at, next_attempt_at) VALUES ('grant', 'ojt-mallory', 'ojt-mallory@example.com', '%s',"
              " 'web-sudo', '%s', 'web', 'ojt-mallory', 'forged', 'ojt-olivia', 'active', '', 0, 3600, %d, %d,"
              " %d, %d, %d, 0)" % (MALLORY, G_WEB, now, now, now, now + 3600, now))
    su(fleet, "UPDATE snapshots SET taken_at = %d, members = members || $m$%s$m$, nmembers = nmembers + 1"
              " WHERE grp = 'web-sudo'" % (now, MALLORY_LINE))
    # the gate hears of both rows (its log says it refused them), and
    # never allows mallory meanwhile
    wait_logged(g, "snapshot unusable group=web-sudo", while_=not_allowed(g, "ojt-mallory", "web-sudo"))
    c = check(g, "ojt-mallory", "web-sudo")
    assert c.rc == EXIT_DENIED and c.j["decision"] != "allow", c
    # the granter's signed snapshot put back (it does not list her): the
    # forged grant row alone is no grant either, though it is dated after
    # the listing (logged, rate-limited)
    su(fleet, "UPDATE snapshots SET taken_at = %d, nmembers = %d, members = $m$%s$m$%s WHERE grp = 'web-sudo'"
              % (signed["taken_at"], signed["nmembers"], signed["members"],
                 ", sig = '%s'" % signed["sig"] if "sig" in signed else ""))
    wait_logged(g, "user=ojt-mallory group=web-sudo is active in the ledger but no granter",
                while_=not_allowed(g, "ojt-mallory", "web-sudo"))
    c = check(g, "ojt-mallory", "web-sudo")
    assert c.rc == EXIT_DENIED and c.j["code"] in ("no_grant", "not_member"), c
    for _ in range(5):
        assert check(g, "ojt-mallory", "web-sudo").rc == EXIT_DENIED
    assert g.daemon.log().count("user=ojt-mallory group=web-sudo is active") == 1, g.daemon.log()


def test_a_signed_grant_whose_end_is_moved_by_sql_is_refused(fleet):
    a, g = granter_and_gate(fleet)
    fleet.wait_gate_ready(g)
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 10, what="alice allowed")
    su(fleet, "UPDATE grants SET end_at = end_at + 86400 WHERE id = %d" % gid)
    c = wait_for(lambda: (lambda c: c.rc == EXIT_DENIED and c)(check(g, "ojt-alice", "web-sudo")), 10,
                 what="the edited row refused")
    assert c.j["code"] == "no_grant", c
    assert "grant id=%d user=ojt-alice group=web-sudo is active in the ledger but no granter" % gid \
        in g.daemon.log(), g.daemon.log()
    # signed again by a granter (as it stands): used again
    fleet.sign_grant(gid)
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 10, what="the re-signed row allowed")


def test_a_snapshot_whose_members_are_edited_by_sql_is_unusable(fleet):
    a, g = granter_and_gate(fleet)
    fleet.wait_gate_ready(g)
    c = check(g, "ojt-olivia", "staging-ssh")
    assert c.j["decision"] in ("allow", "deny"), c
    su(fleet, "UPDATE snapshots SET members = members || $m$%s$m$, nmembers = nmembers + 1"
              " WHERE grp = 'staging-ssh'" % MALLORY_LINE)
    c = wait_for(lambda: (lambda c: c.j["code"] == "snapshot_unavailable" and c)(
        check(g, "ojt-mallory", "staging-ssh")), 10, what="the edited snapshot unusable")
    assert c.j["decision"] == "unavailable", c
    assert check(g, "ojt-olivia", "staging-ssh").j["code"] == "snapshot_unavailable"
    assert "snapshot unusable group=staging-ssh" in g.daemon.log()


def test_a_gate_with_a_wrong_verify_key_uses_nothing(fleet):
    _, other_pub = fleet_keypair(fleet.base, "other")
    a, g = granter_and_gate(fleet, gate_extra={"fleet_verify_keys": other_pub})
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    assert fleet.grant(gid)["state"] == "active"
    c = wait_for(lambda: (lambda c: c.j["code"] == "snapshot_unavailable" and c)(
        check(g, "ojt-olivia", "staging-ssh")), 10, what="the gate reads the snapshots")
    c = check(g, "ojt-alice", "web-sudo")
    assert c.rc == EXIT_DENIED and c.j["decision"] != "allow", c


def test_two_verify_keys_accept_rows_signed_by_either(fleet):
    """Key rotation: the gates hold the old and the new public key while the
    granters move from one to the other."""
    new_priv, new_pub = fleet_keypair(fleet.base, "new")
    a, g = granter_and_gate(fleet, gate_extra={"fleet_verify_keys": "%s, %s" % (new_pub, fleet.verify_key)})
    # a grant signed with the old key (the granter's)
    gid = a.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    wait_for(lambda: check(g, "ojt-alice", "web-sudo").rc == EXIT_OK, 10, what="old key's grant allowed")
    # a snapshot signed with the new one (written as a granter moved to it)
    now = int(time.time())
    text = "%s\tACTIVE\tojt-olivia@example.com\n" % OLIVIA
    sig = fleet.snapshot_sig("staging-ssh", G_STAGE, now, "ok", 1, text, key=new_priv)
    a.daemon.stop()
    fleet.sql("UPDATE snapshots SET group_id = '%s', taken_at = %d, nmembers = 1, state = 'ok', members = $m$%s$m$,"
              " sig = '%s' WHERE grp = 'staging-ssh'" % (G_STAGE, now, text, sig))
    wait_for(lambda: check(g, "ojt-olivia", "staging-ssh").rc == EXIT_OK, 10, what="new key's snapshot used")
    assert check(g, "ojt-alice", "web-sudo").rc == EXIT_OK
    # and the grant re-signed with the new key passes too
    fleet.sign_grant(gid, key=new_priv)
    wait_for(lambda: fleet.grant(gid)["sig"] == sig_of(fleet, gid, new_priv), 5, what="re-signed")
    assert check(g, "ojt-alice", "web-sudo").rc == EXIT_OK
    assert "no granter of this fleet signed" not in g.daemon.log(), g.daemon.log()


def sig_of(fleet, gid, key):
    return sign_with(key, grant_bytes(fleet.grant(gid)))


def test_doctor_checks_the_fleet_keys(fleet):
    priv, pub = fleet_keypair(fleet.base, "doc")
    a = fleet.host("granter-a", start=False, extra={"fleet_signing_key": priv})
    fleet.host("granter-b")  # makes the schema
    g = fleet.host("gate", role="gate", start=False, extra={"fleet_verify_keys": pub})
    r = g.cli("--config", g.conf, "doctor", json_out=False)
    assert "PASS  fleet key" in r.out and "Ed25519 public key" in r.out, r
    os.chmod(pub, 0o666)
    r = g.cli("--config", g.conf, "doctor", json_out=False)
    assert "FAIL  fleet key" in r.out and "writable by group or others" in r.out and r.rc == 1, r
    r = a.cli("--config", a.conf, "doctor", json_out=False)
    assert "PASS  fleet key" in r.out and "this granter signs what it writes" in r.out, r
    os.chmod(priv, 0o644)
    r = a.cli("--config", a.conf, "doctor", json_out=False)
    assert "FAIL  fleet key" in r.out and "too open" in r.out and r.rc == 1, r
    # and the daemon does not start with it
    with pytest.raises(RuntimeError) as e:
        a.daemon.start()
    assert "[daemon] fleet key: %s" % priv in str(e.value) and "too open" in str(e.value), e.value
