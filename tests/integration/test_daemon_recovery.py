"""Crash safety and Okta failures: the ledger's intent rows are settled after
kill -9, removals are retried until Okta agrees, grants that ended while the
daemon was down are removed at start-up, stale requests expire."""
import signal
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from helpers import add_membership


def pytest_generate_tests(metafunc):
    run_on_both_ledgers(metafunc)  # noqa: F405 - every grant test on SQLite and on PostgreSQL

PUT_MEMBER = "^/api/v1/groups/[^/]+/users/[^/?]+$"


def wait_hanging(jit, timeout=15):
    """The fake logs a hung request only once it ends; while it hangs the
    rule is spent (faults_pending 0) and the request is in flight."""
    def hanging():
        st = jit.okta.state()
        return st["faults_pending"] == 0 and st["inflight"] >= 1
    return wait_for(hanging, timeout, interval=0.02, what="a request hanging at the fake Okta")


def test_kill9_during_add_is_settled_at_restart(jit_factory):
    jit = jit_factory(timeout="30s")
    jit.okta.faults({"method": "PUT", "path": PUT_MEMBER, "action": "hang", "seconds": 60, "count": 1})
    p = jit.cli_popen("request", "web-sudo", "--for", "2m", user="ojt-alice")
    wait_hanging(jit)
    jit.daemon.kill9()
    out, _ = p.communicate(timeout=10)
    assert p.returncode == EXIT_DAEMON
    row = jit.grants()[0]
    assert row["state"] == "approved" and row["op"] == "add", row
    assert ALICE not in jit.members(G_WEB)

    jit.okta.control("faults/clear", {})
    jit.daemon.start()
    wait_for(lambda: jit.grant(row["id"])["op"] == "", 15, what="intent settled")
    row = jit.grant(row["id"])
    assert row["state"] == "active" and row["op"] == ""
    assert ALICE in jit.members(G_WEB)
    assert "granted" in jit.events(row["id"])
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_OK, c
    # The dead daemon's PUT may yet be applied by Okta: the grant's removal
    # will be looked at again.
    assert row["add_unsure"] == 1, row
    r = jit.cli("revoke", row["id"], user="ojt-alice")
    assert r.rc == EXIT_OK, r
    removed = jit.audit(row["id"], "removed")
    assert len(removed) == 1 and "recheck_in=2s" in removed[0]["detail"], removed
    wait_for(lambda: jit.grant(row["id"])["op"] == "", 15, what="the recheck settled")
    assert ALICE not in jit.members(G_WEB)


def test_stop_while_okta_hangs_ends_promptly_and_is_settled_at_restart(jit_factory):
    """SIGTERM while a grant's Okta call hangs (and a check's fetch waits
    on a hung Okta): okta-jitd gives requests 5 s, then aborts what still
    waits on Okta, and exits; the owed add stays in the ledger and is
    finished at the next start."""
    jit = jit_factory(timeout="60s")
    jit.okta.faults({"method": "PUT", "path": PUT_MEMBER, "action": "hang", "seconds": 120, "count": 1})
    p = jit.cli_popen("request", "web-sudo", "--for", "2m", user="ojt-alice")
    wait_hanging(jit)
    jit.okta.faults({"method": "GET", "path": "^/api/v1/users/", "action": "hang", "seconds": 120, "count": 4})
    c = jit.cli_popen("check", "staging-ssh", user="ojt-olivia")
    wait_for(lambda: jit.okta.state()["inflight"] >= 3, 15, interval=0.02, what="Okta calls hanging")
    t0 = time.time()
    jit.daemon.stop()
    took = time.time() - t0
    assert jit.daemon.proc.returncode == 0, (jit.daemon.proc.returncode, jit.daemon.log()[-2000:])
    print("stopped in %.1f s" % took)
    assert took < 8, took  # 5 s for requests, then the abort: no wait on the hang
    p.communicate(timeout=10)
    c.communicate(timeout=10)
    row = jit.grants()[0]
    assert row["state"] == "approved" and row["op"] == "add", row

    jit.okta.control("faults/clear", {})
    jit.daemon.start()
    wait_for(lambda: jit.grant(row["id"])["op"] == "", 15, what="intent settled")
    assert jit.grant(row["id"])["state"] == "active"
    assert ALICE in jit.members(G_WEB)


def test_kill9_during_remove_is_settled_at_restart(jit_factory):
    jit = jit_factory(timeout="30s")
    gid = jit.request("web-sudo", dur="2m", as_user="ojt-alice").grant["id"]
    assert ALICE in jit.members(G_WEB)
    jit.okta.faults({"method": "DELETE", "path": PUT_MEMBER, "action": "hang", "seconds": 60, "count": 1})
    p = jit.cli_popen("revoke", gid, user="ojt-alice")
    wait_hanging(jit)
    jit.daemon.kill9()
    p.communicate(timeout=10)
    row = jit.grant(gid)
    assert row["state"] == "revoked" and row["op"] == "remove", row
    assert ALICE in jit.members(G_WEB)
    # the grant no longer counts, even before Okta agrees
    jit.okta.control("faults/clear", {})
    jit.daemon.start()
    wait_for(lambda: ALICE not in jit.members(G_WEB), 15, what="membership removed after restart")
    wait_for(lambda: jit.grant(gid)["op"] == "", 5)
    assert jit.grant(gid)["state"] == "revoked"
    assert "removed" in jit.events(gid)


def test_okta_errors_during_expiry_are_retried(jit):
    gid = jit.request("web-sudo", dur="3s", as_user="ojt-alice").grant["id"]
    # The HTTP layer itself retries a 5xx up to 4 times per call; 6 failures
    # make the first removal attempt fail as a whole, so the ledger's
    # retry-with-backoff has to finish the job.
    jit.okta.faults({"method": "DELETE", "path": PUT_MEMBER, "action": "status", "status": 500, "count": 6})
    wait_for(lambda: jit.grant(gid)["state"] == "expired", 10, what="expiry")
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_DENIED, c
    wait_for(lambda: ALICE not in jit.members(G_WEB), 30, what="removal after Okta recovers")
    wait_for(lambda: jit.grant(gid)["op"] == "", 5)
    ev = jit.events(gid)
    assert "okta_error" in ev and "removed" in ev, ev
    assert ev.index("expired") < ev.index("okta_error") < ev.index("removed")
    assert ev[-1] == "removed"
    err = jit.audit(gid, "okta_error")[0]
    assert "op=remove" in err["detail"] and "HTTP 500" in err["detail"]
    assert jit.grant(gid)["op_attempts"] == 0
    assert len(jit.okta_requests("DELETE")) == 7


def test_okta_errors_during_revocation_are_retried(jit):
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    jit.okta.faults({"method": "DELETE", "path": PUT_MEMBER, "action": "status", "status": 500, "count": 6})
    r = jit.cli("revoke", gid, user="ojt-alice")
    assert r.rc == EXIT_OK and r.grant["state"] == "revoked", r
    row = jit.grant(gid)
    assert row["op"] == "remove" and row["op_attempts"] == 1 and row["last_error"], row
    assert "next_in=2s" in jit.audit(gid, "okta_error")[0]["detail"]
    # not allowed in any more, whatever Okta says
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_DENIED, c
    # retry due 2 s after the failure (+ the HTTP layer's own ~2 s of retries)
    wait_for(lambda: ALICE not in jit.members(G_WEB), 15, what="removal after Okta recovers")
    wait_for(lambda: jit.grant(gid)["op"] == "", 5)
    ev = jit.events(gid)
    assert ev.index("revoked") < ev.index("okta_error") < ev.index("removed")


def test_okta_errors_during_revocation_count3(jit):
    """3 failures are absorbed by the HTTP layer's own retries."""
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    jit.okta.faults({"method": "DELETE", "path": PUT_MEMBER, "action": "status", "status": 500, "count": 3})
    r = jit.cli("revoke", gid, user="ojt-alice")
    assert r.rc == EXIT_OK, r
    wait_for(lambda: ALICE not in jit.members(G_WEB), 30)
    wait_for(lambda: jit.grant(gid)["op"] == "", 5)
    assert len(jit.okta_requests("DELETE")) == 4
    assert jit.events(gid)[-1] == "removed"


def unsure_add(jit):
    """A grant whose first PUT got no answer (the connection reset on every
    try): it is made on a later try, but Okta might still apply the first
    one late. Returns the grant's id, active."""
    jit.okta.faults({"method": "PUT", "path": PUT_MEMBER, "action": "reset", "count": -1})
    r = jit.request("web-sudo", dur="5m", as_user="ojt-alice", expect=None)
    gid = jit.grants()[-1]["id"]
    row = jit.grant(gid)
    assert row["state"] == "approved" and row["op"] == "add" and row["add_unsure"] == 1, (row, r)
    jit.okta.control("faults/clear", {})
    wait_for(lambda: jit.grant(gid)["state"] == "active", 20, what="the add made on a later try")
    assert ALICE in jit.members(G_WEB)
    assert jit.grant(gid)["add_unsure"] == 1
    return gid


def test_a_late_add_after_the_removal_is_found_and_removed(jit_factory):
    jit = jit_factory(daemon_extra={"recheck_after": "3s"})
    gid = unsure_add(jit)
    r = jit.cli("revoke", gid, user="ojt-alice")
    assert r.rc == EXIT_OK, r
    row = jit.grant(gid)
    assert row["state"] == "revoked" and row["op"] == "remove" and row["add_unsure"] == 2, row
    assert ALICE not in jit.members(G_WEB)
    assert "recheck_in=3s" in jit.audit(gid, "removed")[0]["detail"]
    # Okta applies the first PUT now, after the removal.
    add_membership(jit.okta, G_WEB, ALICE)
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_DENIED, c  # the ledger says revoked, whatever Okta holds
    wait_for(lambda: ALICE not in jit.members(G_WEB), 20, what="the late membership removed")
    wait_for(lambda: jit.grant(gid)["op"] == "", 5, what="the recheck settled")
    row = jit.grant(gid)
    assert row["state"] == "revoked" and row["add_unsure"] == 0 and row["op_attempts"] == 0, row
    removed = jit.audit(gid, "removed")
    assert len(removed) == 2 and "late_add=1" in removed[1]["detail"], removed
    assert len(jit.okta_requests("DELETE")) == 2
    assert "Okta applied an add after its removal" in jit.daemon.log()


def test_a_recheck_that_finds_no_late_add_changes_nothing(jit_factory):
    jit = jit_factory(daemon_extra={"recheck_after": "2s"})
    gid = unsure_add(jit)
    assert jit.cli("revoke", gid, user="ojt-alice").rc == EXIT_OK
    wait_for(lambda: jit.grant(gid)["op"] == "", 15, what="the recheck settled")
    assert jit.grant(gid)["add_unsure"] == 0
    assert ALICE not in jit.members(G_WEB)
    assert len(jit.okta_requests("DELETE")) == 1  # looked at, not removed twice
    assert [a["event"] for a in jit.audit(gid)].count("removed") == 1


def test_a_recheck_that_cannot_reach_okta_is_retried(jit_factory):
    jit = jit_factory(daemon_extra={"recheck_after": "2s"})
    gid = unsure_add(jit)
    assert jit.cli("revoke", gid, user="ojt-alice").rc == EXIT_OK
    add_membership(jit.okta, G_WEB, ALICE)
    jit.okta.faults({"method": "GET", "path": "^/api/v1/users/[^/]+/groups", "action": "status", "status": 503,
                     "count": 4})
    wait_for(lambda: [a for a in jit.audit(gid, "okta_error") if "op=recheck" in a["detail"]], 15,
             what="the recheck's failure audited")
    assert jit.grant(gid)["op"] == "remove" and jit.grant(gid)["op_attempts"] >= 1
    wait_for(lambda: ALICE not in jit.members(G_WEB), 20, what="the late membership removed on a retry")
    wait_for(lambda: jit.grant(gid)["op"] == "", 5)


def test_a_clean_add_is_removed_once_with_no_recheck(jit):
    gid = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    assert jit.grant(gid)["add_unsure"] == 0
    assert jit.cli("revoke", gid, user="ojt-alice").rc == EXIT_OK
    row = jit.grant(gid)
    assert row["op"] == "" and row["add_unsure"] == 0, row
    assert "recheck" not in jit.audit(gid, "removed")[0]["detail"]
    assert len(jit.okta_requests("DELETE")) == 1


def test_a_new_grant_during_a_recheck_owns_the_membership(jit_factory):
    jit = jit_factory(daemon_extra={"recheck_after": "4s"})
    old = unsure_add(jit)
    assert jit.cli("revoke", old, user="ojt-alice").rc == EXIT_OK
    add_membership(jit.okta, G_WEB, ALICE)  # the late add lands
    new = jit.request("web-sudo", dur="5m", as_user="ojt-alice").grant["id"]
    # the membership is found in place, but it is the old grant's leftover,
    # not a standing one: the new grant will remove it at its end
    assert jit.grant(new)["was_member"] == 0
    wait_for(lambda: jit.grant(old)["op"] == "", 15, what="the old grant's recheck settled")
    assert ALICE in jit.members(G_WEB)  # kept: the new grant holds it
    assert jit.cli("check", "web-sudo", user="ojt-alice").rc == EXIT_OK
    assert jit.cli("revoke", new, user="ojt-alice").rc == EXIT_OK
    wait_for(lambda: ALICE not in jit.members(G_WEB), 15, what="removed at the new grant's end")


def test_a_recheck_leaves_a_membership_another_grant_owns(jit_factory):
    """The recheck is due while a newer grant of the same user and group has
    ended but is not swept yet (okta-jitd was stopped): the membership is
    that grant's, removed at its expiry - not a late add of the old grant."""
    jit = jit_factory(daemon_extra={"recheck_after": "3s"})
    old = unsure_add(jit)
    assert jit.cli("revoke", old, user="ojt-alice").rc == EXIT_OK
    new = jit.request("web-sudo", dur="2s", as_user="ojt-alice").grant["id"]
    assert ALICE in jit.members(G_WEB)
    jit.daemon.proc.send_signal(signal.SIGSTOP)
    try:
        end = max(jit.grant(old)["next_attempt_at"], jit.grant(new)["end_at"])
        wait_for(lambda: time.time() > end + 1, 15, what="the recheck and the new grant's end both due")
    finally:
        jit.daemon.proc.send_signal(signal.SIGCONT)  # one sweep meets the old grant (lower id) first
    wait_for(lambda: jit.grant(new)["state"] == "expired" and jit.grant(new)["op"] == "", 15,
             what="the new grant expired and removed")
    wait_for(lambda: jit.grant(old)["op"] == "", 5)
    assert ALICE not in jit.members(G_WEB)
    assert not [a for a in jit.audit(old) if "late_add" in a["detail"]], jit.audit(old)
    assert [a["event"] for a in jit.audit(old)].count("removed") == 1
    assert "removed" in jit.events(new)
    assert len(jit.okta_requests("DELETE")) == 2  # the old grant's, then the new one's


def test_expired_while_daemon_was_down(jit):
    gid = jit.request("web-sudo", dur="5s", as_user="ojt-alice").grant["id"]
    end = jit.grant(gid)["end_at"]
    assert ALICE in jit.members(G_WEB)
    jit.daemon.stop(signal.SIGTERM)
    assert jit.daemon.proc.returncode == 0
    assert time.time() < end, "okta-jitd took too long to stop for this test"
    wait_for(lambda: time.time() > end + 1.5, 10)
    assert ALICE in jit.members(G_WEB)
    assert jit.grant(gid)["state"] == "active"
    jit.daemon.start()
    wait_for(lambda: ALICE not in jit.members(G_WEB), 10, what="removal at start-up")
    wait_for(lambda: jit.grant(gid)["op"] == "", 5)
    row = jit.grant(gid)
    assert row["state"] == "expired"
    ev = jit.events(gid)
    assert ev[-2:] == ["expired", "removed"], ev


def test_pending_request_expires(jit_factory):
    jit = jit_factory(daemon_extra={"pending_ttl": "2s"})
    gid = jit.request("prod-db-ssh", dur="10m", reason="INC-5", as_user="ojt-bob").grant["id"]
    assert jit.grant(gid)["state"] == "pending"
    wait_for(lambda: jit.grant(gid)["state"] == "expired", 6, what="pending request expired")
    assert "request_expired" in jit.events(gid)
    r = jit.cli("approve", gid, user="ojt-olivia")
    assert r.rc == EXIT_FAIL and r.j["code"] == "conflict", r
    assert jit.grant(gid)["state"] == "expired"
    assert BOB not in jit.members(G_PRODDB)
    # and a new request is possible
    r = jit.request("prod-db-ssh", dur="10m", reason="INC-5b", as_user="ojt-bob")
    assert r.grant["state"] == "pending"
