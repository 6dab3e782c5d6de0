"""Crash consistency under churn (issue 7): clients request (auto and
owner-approved flows), approve, revoke and extend grants of 2-6 s from
several threads while okta-jitd is killed with SIGKILL at random moments -
some of them while Okta calls hang, so kills land between the ledger's
intent and its outcome - and restarted each time. Afterwards, with the
daemon running and Okta healthy, the ledger and the fake Okta must agree:

  * every request a client saw acknowledged with an id is in the ledger;
  * no row is left with op != '' (an owed add or removal);
  * every active grant's membership exists in Okta;
  * no membership is left in Okta for a user whose grants all ended.

CI runs OJIT_CHURN_KILLS (default 40) kills within ~3 minutes; `make soak`
runs 200 and more. The figures go to OJIT_CHURN_REPORT (JSON) when set."""
import json
import os
import random
import signal
import socket
import threading
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (G_PRODDB, G_STAGE, G_WEB, P_OK, frame, recv_frame, tlv, wait_for)

T_SERVICE = 3
KILLS = int(os.environ.get("OJIT_CHURN_KILLS", "40"))
BOUND = float(os.environ.get("OJIT_CHURN_SECONDS", "150"))  # churn phase, at most
WORKERS = 6
MEMBER_PATH = "^/api/v1/groups/[^/]+/users/[^/?]+$"
REMOVAL_BOUND = 3.0  # seconds from a grant's end to its removal from Okta, at most, here

# (local user, group, Okta group id, flow needs an owner's approval)
PAIRS = [("ojt-alice", "web-sudo", G_WEB, False), ("ojt-bob", "web-sudo", G_WEB, False),
         ("ojt-alice", "prod-db-ssh", G_PRODDB, True), ("ojt-bob", "prod-db-ssh", G_PRODDB, True),
         ("ojt-olivia", "staging-ssh", G_STAGE, False), ("ojt-mallory", "staging-ssh", G_STAGE, False)]
OKTA_ID = {"ojt-alice": ALICE, "ojt-bob": BOB, "ojt-olivia": OLIVIA, "ojt-mallory": MALLORY}


def call(sock, ftype, fields, timeout=15):
    """One request on a fresh connection: ('ok'|'error', {tag: value}) or
    ('lost', None) when the daemon died or was not there."""
    payload = b"".join(tlv(t, v) for t, v in fields)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(sock)
        s.sendall(frame(ftype, payload))
        r = recv_frame(s, timeout)
    except OSError:
        return "lost", None
    finally:
        s.close()
    if r is None or r[0] == "partial":
        return "lost", None
    return ("ok" if r[0] == P_OK else "error"), dict(r[1])


class Churn:
    def __init__(self, jit):
        self.jit = jit
        self.lock = threading.Lock()
        self.acked = set()      # ids the clients saw
        self.counts = {k: 0 for k in ("requests", "acked", "approvals", "revocations", "extensions",
                                      "lost_replies", "errors", "kills", "kills_during_hang")}
        self.stop = threading.Event()

    def bump(self, k, n=1):
        with self.lock:
            self.counts[k] += n

    def worker(self, seed):
        rnd = random.Random(seed)
        sock = self.jit.sock
        while not self.stop.is_set():
            user, group, _, owner = rnd.choice(PAIRS)
            op = rnd.random()
            ids = list(self.acked)
            if op < 0.55 or not ids:
                self.bump("requests")
                st, f = call(sock, REQUEST, [(T_GROUP, group), (T_USER, user), (T_SERVICE, "churn"),
                                             (T_DURATION, str(rnd.randint(2, 6))), (T_REASON, "churn")])
                if st == "ok" and f.get(T_ID):
                    with self.lock:
                        self.acked.add(int(f[T_ID]))
                    self.bump("acked")
                    if owner:
                        self.bump("approvals")
                        call(sock, APPROVE, [(T_ID, f[T_ID])])
            elif op < 0.75:
                self.bump("revocations")
                st, f = call(sock, REVOKE, [(T_ID, str(rnd.choice(ids)))])
            else:
                self.bump("extensions")
                st, f = call(sock, EXTEND, [(T_ID, str(rnd.choice(ids))), (T_DURATION, "3"),
                                            (T_REASON, "more")])
                if st == "ok" and f.get(T_ID):
                    with self.lock:
                        self.acked.add(int(f[T_ID]))
            if st == "lost":
                self.bump("lost_replies")
                time.sleep(0.05)
            elif st == "error":
                self.bump("errors")
            time.sleep(rnd.random() * 0.05)

    def killer(self, kills, deadline):
        rnd = random.Random(7)
        d = self.jit.daemon
        while self.counts["kills"] < kills and time.time() < deadline:
            time.sleep(rnd.uniform(0.05, 0.6))
            hang = rnd.random() < 0.3
            if hang:
                # Okta membership calls hang for a while: the kill lands
                # between the ledger's intent and Okta's answer.
                # (hang, not delay: a delayed request is applied by the
                # fake after its client died - see docs/reliability.md)
                self.jit.okta.faults({"method": rnd.choice(["PUT", "DELETE"]), "path": MEMBER_PATH,
                                      "action": "hang", "seconds": 5, "count": 2})
                time.sleep(rnd.uniform(0.2, 1.0))
            d.kill9()
            self.bump("kills")
            if hang:
                self.bump("kills_during_hang")
                self.jit.okta.control("faults/clear", {})
            for attempt in range(5):
                try:
                    d.start()
                    break
                except RuntimeError:
                    if attempt == 4:
                        raise
                    time.sleep(0.5)
        self.stop.set()


def test_crash_churn(jit_factory):
    jit = jit_factory(timeout="5s")
    churn = Churn(jit)
    t0 = time.time()
    threads = [threading.Thread(target=churn.worker, args=(i,), daemon=True) for i in range(WORKERS)]
    for t in threads:
        t.start()
    churn.killer(KILLS, t0 + BOUND)
    for t in threads:
        t.join(30)
    churn_s = time.time() - t0
    assert churn.counts["kills"] >= min(KILLS, 20), churn.counts
    jit.okta.control("faults/clear", {})
    if not jit.daemon.alive():
        jit.daemon.start()

    # Settle: the daemon running and Okta healthy, every owed change done.
    def settled():
        now = time.time()
        rows = jit.grants()
        return not [r for r in rows if r["op"] != "" or
                    (r["state"] == "active" and r["end_at"] <= now) or
                    r["state"] == "approved"]
    t1 = time.time()
    wait_for(settled, 90, interval=0.5, what="every owed Okta change settled")
    settle_s = time.time() - t1

    rows = jit.grants()
    by_id = {r["id"]: r for r in rows}
    lost = sorted(churn.acked - set(by_id))
    stuck = [r for r in rows if r["op"] != ""]
    now = time.time()
    members = {g: set(jit.members(g)) for g in (G_WEB, G_PRODDB, G_STAGE)}
    missing, lingering = [], []
    for user, group, gid, _ in PAIRS:
        mine = [r for r in rows if r["user"] == user and r["grp"] == group and r["kind"] == "grant"]
        active = [r for r in mine if r["state"] == "active" and r["end_at"] > now + 1]
        # Ended: settled by the daemon (state not active, op '' as checked
        # above), or past its end by more than the sweep's bound. A grant
        # that ended a moment ago is still owed its removal: the sweeper
        # runs on second boundaries (checks refuse from the end itself).
        ended = all(r["state"] != "active" or r["end_at"] <= now - REMOVAL_BOUND for r in mine)
        if active and OKTA_ID[user] not in members[gid]:
            missing.append((user, group, [r["id"] for r in active]))
        if ended and not any(r["was_member"] for r in mine) and OKTA_ID[user] in members[gid]:
            lingering.append((user, group, [(r["id"], r["state"], r["end_at"] - now) for r in mine][-4:]))
    # and once every grant has ended, Okta holds none of these memberships
    wait_for(lambda: all(r["state"] != "active" for r in jit.grants()), 60, interval=0.5,
             what="every grant ended")
    wait_for(settled, 60, interval=0.5, what="every removal settled")
    final = {g: jit.members(g) for g in (G_WEB, G_PRODDB, G_STAGE)}
    leftover = {g: sorted(u for u in m if u in OKTA_ID.values()) for g, m in final.items()}
    leftover = {g: m for g, m in leftover.items() if m}

    rows = jit.grants()
    report = dict(churn.counts)
    report.update({
        "churn_seconds": round(churn_s, 1), "settle_seconds": round(settle_s, 1),
        "daemon_starts": jit.daemon.starts,
        "ledger_rows": len(rows),
        "grants": len([r for r in rows if r["kind"] == "grant"]),
        "grants_activated": len([r for r in rows if r["kind"] == "grant" and r["start_at"] > 0]),
        "expired": len([r for r in rows if r["state"] == "expired"]),
        "revoked": len([r for r in rows if r["state"] == "revoked"]),
        "failed": len([r for r in rows if r["state"] == "failed"]),
        "extensions_applied": len([e for e in jit.audit(event="extended")]),
        "lost_grants": len(lost), "stuck_rows": len(stuck),
        "mismatches": len(missing) + len(lingering) + len(leftover),
    })
    print("CHURN " + json.dumps(report))
    out = os.environ.get("OJIT_CHURN_REPORT")
    if out:
        with open(out, "w") as f:
            json.dump(report, f, indent=1)
    assert not lost, "acknowledged grants missing from the ledger: %s" % lost
    assert not stuck, stuck[:5]
    assert not missing, "active grants without their Okta membership: %s" % missing
    assert not lingering, "memberships left after every grant ended: %s" % lingering
    assert not leftover, "memberships left in Okta at the end: %s" % leftover
    # The churn exercised every path: many grants activated, and some ran
    # to their end (most are revoked first: a fifth of the operations
    # revoke a random id; runs have ended with 9 to 20 expiries).
    assert report["grants_activated"] > 20 and report["expired"] >= 3, report
