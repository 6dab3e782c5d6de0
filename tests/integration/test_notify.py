"""okta-jitd webhook notifications ([notify NAME], helper/daemon/notify.c) end to
end: every grant event is POSTed once, signed, with the ledger's facts; a
receiver that is down, slow or failing delays no grant; undelivered
notifications are dropped after max_age; hostile text is escaped in JSON
and in Slack messages.

The receiver is tests/integration/webhook_receiver.py; its own self-tests
are the test_receiver_* tests at the end.

These run on the SQLite ledger only (jit_factory's default backend).
"""
import json
import os
import pwd
import re
import secrets
import socket
import ssl
import time
import urllib.error
import urllib.request

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from webhook_receiver import WebhookReceiver, port_refuses, signature, webhook  # noqa: F401

ALL_EVENTS = ("requested", "approved", "denied", "granted", "expiring", "expired", "revoked", "failed")

# Control characters are refused in a reason (grants_actions.c check_reason), so the
# "newline" is a backslash followed by n: JSON must escape the backslash.
HOSTILE_REASON = '"quotes" \\ backslash <!channel> <https://evil.example|click> & done\\nnewline'


# ---------------------------------------------------------------- helpers

def notify_env(jit_factory, webhook, tmp_path, fmt="json", events=None, extra=None, name="jit"):
    """An okta-jitd with one [notify hook] section pointing at webhook.
    Returns (jit, secret)."""
    secret = "whsec-" + secrets.token_hex(24)
    secret_file = str(tmp_path / ("%s-webhook.secret" % name))
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    os.chmod(secret_file, 0o600)
    lines = ["", "[notify hook]",
             "url = %s" % webhook.url,
             "secret_file = %s" % secret_file,
             "format = %s" % fmt,
             "ca_file = %s" % webhook.ca]
    if events is not None:
        lines.append("events = %s" % ",".join(events))
    for k, v in (extra or {}).items():
        lines.append("%s = %s" % (k, v))
    jit = jit_factory(name=name, flows=JIT_FLOWS + "\n".join(lines) + "\n")
    return jit, secret


def ev_of(e):
    return e["headers"].get("x-oktajit-event")


def did_of(e):
    return e["headers"].get("x-oktajit-delivery")


def gid_of(e):
    j = e["json"]
    return j.get("grant_id") if isinstance(j, dict) else None


def ok_entries(webhook, event=None, gid=None):
    out = []
    for e in webhook.delivered():
        if event is not None and ev_of(e) != event:
            continue
        if gid is not None and gid_of(e) != gid:
            continue
        out.append(e)
    return out


def wait_delivered(webhook, wanted, timeout=30.0):
    """Wait until every (event, grant id) of wanted was answered 2xx."""
    def done(_entries):
        have = {(ev_of(e), gid_of(e)) for e in webhook.delivered()}
        return all(w in have for w in wanted)
    webhook.wait(done, timeout, what="deliveries of %r" % (sorted(wanted, key=str),))


def assert_once_each(webhook, secret):
    """Every request is signed; each (event, grant) has exactly one delivery
    id; each delivery id was answered 2xx exactly once and carries the same
    event and grant on every attempt."""
    by_key = {}
    for did, entries in webhook.by_delivery().items():
        assert did is not None and did.isdigit(), entries[0]["headers"]
        oks = [e for e in entries if e["mode"] == "ok"]
        assert len(oks) <= 1, "delivery %s answered 2xx %d times" % (did, len(oks))
        keys = {(ev_of(e), gid_of(e)) for e in entries}
        assert len(keys) == 1, "delivery %s changed its event/grant across attempts: %r" % (did, keys)
        for e in entries:
            assert webhook.verify(e, secret), e["headers"]
        by_key.setdefault(keys.pop(), set()).add(did)
    dup = {k: v for k, v in by_key.items() if len(v) != 1}
    assert not dup, "an event was queued more than once: %r" % dup
    return {k: v.pop() for k, v in by_key.items()}


def check_entry(jit, entry, secret, event, gid, row, fmt="json"):
    """One delivered notification against the spec and a ledger row
    (taken right after the event happened)."""
    h = entry["headers"]
    assert entry["method"] == "POST" and entry["path"] == "/hook", entry
    assert h.get("content-type", "").split(";")[0].strip() == "application/json", h
    assert h.get("x-oktajit-event") == event, h
    did = h.get("x-oktajit-delivery", "")
    assert did.isdigit(), h
    ts = h.get("x-oktajit-timestamp", "")
    assert ts.isdigit() and abs(int(ts) - entry["at"]) <= 5, (ts, entry["at"])
    assert re.fullmatch(r"v1=[0-9a-f]{64}", h.get("x-oktajit-signature", "")), h
    assert WebhookReceiver.verify(entry, secret), h
    assert not WebhookReceiver.verify(entry, secret + "x")
    j = entry["json"]
    assert isinstance(j, dict), entry["body"]
    if fmt == "slack":
        assert isinstance(j.get("text"), str) and j["text"], j
        return j
    for k in ("event", "grant_id", "user", "group", "reason", "requester", "approvers", "state",
              "start", "end", "integration", "host", "at", "delivery_id"):
        assert k in j, (k, j)
    assert j["event"] == event
    assert j["grant_id"] == gid and isinstance(j["grant_id"], int)
    assert j["delivery_id"] == int(did)
    assert j["user"] == row["user"]
    assert j["group"] == row["grp"]
    assert j["reason"] == row["reason"]
    assert j["requester"] == row["requester"]
    assert isinstance(j["approvers"], str)
    assert j["integration"] == "test-integration"
    assert j["host"] == socket.gethostname()
    assert isinstance(j["at"], int) and row["requested_at"] - 1 <= j["at"] <= time.time() + 1, j
    assert isinstance(j["start"], int) and isinstance(j["end"], int)
    if event in ("requested", "approved"):
        # the grant may not have started yet when these are queued
        assert j["start"] in (0, row["start_at"]) and j["end"] in (0, row["end_at"]), (j, row)
        assert j["state"] in ("pending", "approved", "active"), j
    elif event == "denied":
        assert j["state"] == "denied" and j["start"] == 0 and j["end"] == 0, j
    else:
        assert j["start"] == row["start_at"] and j["end"] == row["end_at"], (j, row)
        assert j["start"] > 0 and j["end"] >= j["start"], j
        want = {"granted": "active", "expiring": "active", "expired": "expired", "revoked": "revoked",
                "failed": "failed"}[event]
        assert j["state"] == want, j
    return j


def the_one(webhook, event, gid):
    got = ok_entries(webhook, event, gid)
    assert len(got) == 1, (event, gid, [(ev_of(e), did_of(e)) for e in got])
    return got[0]


# ---------------------------------------------------------------- every event

def test_every_event_arrives_once_signed(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path)

    # auto flow: requested, approved, granted; then revoked
    r = jit.request("web-sudo", dur="1h", reason="deploy", as_user="ojt-alice")
    g_auto = r.grant["id"]
    assert r.grant["state"] == "active", r
    row_auto = jit.grant(g_auto)
    r = jit.cli("revoke", g_auto, user="ojt-alice")
    assert r.rc == EXIT_OK and r.grant["state"] == "revoked", r
    row_revoked = jit.grant(g_auto)

    # owners flow: requested by alice, approved by olivia
    r = jit.request("prod-db-ssh", dur="1h", reason="INC-1", as_user="ojt-alice")
    g_own = r.grant["id"]
    assert r.grant["state"] == "pending", r
    row_pending = jit.grant(g_own)
    wait_delivered(webhook, {("requested", g_own)})
    r = jit.cli("approve", g_own, user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "active", r
    row_own = jit.grant(g_own)

    # owners flow: requested by bob, denied by olivia
    r = jit.request("prod-db-ssh", dur="1h", reason="INC-2", as_user="ojt-bob")
    g_den = r.grant["id"]
    r = jit.cli("deny", g_den, "--reason", "not now", user="ojt-olivia")
    assert r.rc == EXIT_OK and r.grant["state"] == "denied", r
    row_den = jit.grant(g_den)

    # a short grant runs out
    r = jit.request("web-sudo", dur="3s", as_user="ojt-bob")
    g_short = r.grant["id"]
    assert r.grant["state"] == "active", r
    wait_for(lambda: jit.grant(g_short)["state"] == "expired" and jit.grant(g_short)["op"] == "", 20,
             what="short grant expired")
    row_short = jit.grant(g_short)

    wanted = {("requested", g_auto): row_auto, ("approved", g_auto): row_auto,
              ("granted", g_auto): row_auto, ("revoked", g_auto): row_revoked,
              ("requested", g_own): row_pending, ("approved", g_own): row_own,
              ("requested", g_den): row_den, ("denied", g_den): row_den,
              ("expired", g_short): row_short}
    wait_delivered(webhook, set(wanted), timeout=30)
    time.sleep(1.0)  # a duplicate would come right behind
    assert_once_each(webhook, secret)
    for (event, gid), row in wanted.items():
        check_entry(jit, the_one(webhook, event, gid), secret, event, gid, row)
    # an owners flow names who may approve
    assert the_one(webhook, "requested", g_own)["json"]["approvers"]
    assert not webhook.errors, webhook.errors


def test_expiring_comes_before_expired(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, extra={"expiring_before": "2s"})
    r = jit.request("web-sudo", dur="5s", as_user="ojt-alice")
    gid = r.grant["id"]
    assert r.grant["state"] == "active", r
    row_active = jit.grant(gid)
    wait_delivered(webhook, {("expiring", gid), ("expired", gid)}, timeout=30)
    row_expired = jit.grant(gid)
    assert row_expired["state"] == "expired"
    time.sleep(1.0)
    assert_once_each(webhook, secret)
    expiring = the_one(webhook, "expiring", gid)
    expired = the_one(webhook, "expired", gid)
    check_entry(jit, expiring, secret, "expiring", gid, row_active)
    check_entry(jit, expired, secret, "expired", gid, row_expired)
    assert expiring["at"] < expired["at"]
    assert expiring["json"]["at"] <= expired["json"]["at"]
    # sent about expiring_before ahead of the end, not at the start
    assert row_active["end_at"] - 2 - 2 <= expiring["json"]["at"] <= row_active["end_at"], \
        (expiring["json"], row_active)


def test_events_filter(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, events=["granted", "revoked"])
    gid = jit.request("web-sudo", dur="1h", as_user="ojt-alice").grant["id"]
    assert jit.cli("revoke", gid).rc == EXIT_OK
    wait_delivered(webhook, {("granted", gid), ("revoked", gid)})
    time.sleep(3.0)
    assert sorted(ev_of(e) for e in webhook.received()) == ["granted", "revoked"]
    assert_once_each(webhook, secret)


def test_failed_and_breakglass_are_told(jit_factory, webhook, tmp_path):
    # Okta refuses the membership (403): the grant fails, and the target hears it.
    jit, secret = notify_env(jit_factory, webhook, tmp_path, events=["failed", "breakglass"])
    jit.okta.faults({"method": "PUT", "path": "^/api/v1/groups/", "action": "status", "status": 403,
                     "count": -1})
    r = jit.request("web-sudo", dur="1h", as_user="ojt-alice", expect=None)
    assert r.rc != EXIT_OK, r
    gid = jit.grants()[-1]["id"]
    assert jit.grant(gid)["state"] == "failed"
    wait_delivered(webhook, {("failed", gid)})
    # a break-glass login reported by the PAM module (root) is told too
    st, f = breakglass_report(jit.sock, "ojt-bob")
    assert st == P_OK, f
    webhook.wait(lambda got: [e for e in got if ev_of(e) == "breakglass" and e["json"]["user"] == "ojt-bob"],
                 what="the breakglass notification")
    assert_once_each(webhook, secret)
    # only root may report one
    st, f = breakglass_report(jit.sock, "ojt-mallory", as_user="ojt-mallory")
    assert st == P_ERROR and f.get(21) == "forbidden", f
    # a name that cannot be a user's is refused: no audit line, nothing told
    for bad in ("ojt bob", "-oops", "a\nb", "x" * 300, "", "root\x7f"):
        st, f = breakglass_report(jit.sock, bad)
        assert st == P_ERROR and f.get(21) == "invalid", (bad, f)
    assert [a["user"] for a in jit.audit(event="breakglass")] == ["ojt-bob"]
    time.sleep(1.0)
    assert [e["json"]["user"] for e in webhook.received() if ev_of(e) == "breakglass"] == ["ojt-bob"]


def breakglass_report(sock, user, as_user=None):
    """Send BREAKGLASS as the PAM module does (as root, or as as_user);
    returns (reply type, {CODE: ...})."""
    import subprocess
    import sys
    req = frame(BREAKGLASS, tlv(1, user) + tlv(8, "ojt-breakglass") + tlv(3, "sshd"))
    code = ("import socket, struct\n"
            "s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(%r)\n"
            "s.sendall(bytes.fromhex(%r)); s.shutdown(socket.SHUT_WR)\n"
            "d = b''\n"
            "while True:\n"
            "    c = s.recv(65536)\n"
            "    if not c: break\n"
            "    d += c\n"
            "p, code = d[12:], ''\n"
            "while len(p) >= 3:\n"
            "    t, n = p[0], struct.unpack('>H', p[1:3])[0]\n"
            "    if t == 21: code = p[3:3 + n].decode()\n"
            "    p = p[3 + n:]\n"
            "print(d[5]); print(code)\n" % (sock, req.hex()))
    argv = [sys.executable, "-c", code]
    if as_user:
        argv = as_user_prefix(as_user) + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    return int(lines[0]), {21: lines[1]}


def test_the_secret_from_a_systemd_credential(jit_factory, webhook, tmp_path):
    # no secret_file: okta-jitd reads $CREDENTIALS_DIRECTORY/notify-NAME
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o700)
    secret = "whsec-" + secrets.token_hex(24)
    path = creds / "notify-hook"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT, 0o400)
    os.write(fd, (secret + "\n").encode())
    os.close(fd)
    section = "\n[notify hook]\nurl = %s\nca_file = %s\nevents = granted\n" % (webhook.url, webhook.ca)
    jit = jit_factory(name="cred", flows=JIT_FLOWS + section, start=False)
    old = os.environ.get("CREDENTIALS_DIRECTORY")
    os.environ["CREDENTIALS_DIRECTORY"] = str(creds)
    try:
        jit.daemon.start()
    finally:
        if old is None:
            del os.environ["CREDENTIALS_DIRECTORY"]
        else:
            os.environ["CREDENTIALS_DIRECTORY"] = old
    gid = jit.request("web-sudo", dur="1h", as_user="ojt-alice").grant["id"]
    wait_delivered(webhook, {("granted", gid)})
    assert_once_each(webhook, secret)


@pytest.mark.parametrize("flaw", ["other_owner", "group_readable", "symlink", "empty_first_line"])
def test_a_secret_file_that_is_not_roots_alone_signs_nothing(jit_factory, webhook, tmp_path, flaw):
    """secret_file owned by another user, readable by others, a symlink, or
    with an empty first line: okta-jitd says so at start naming the file,
    grants go on, and nothing is sent unsigned or signed with it."""
    secret = "whsec-" + secrets.token_hex(24)
    real = tmp_path / "hook.secret"
    real.write_text(("\n" if flaw == "empty_first_line" else "") + secret + "\n")
    os.chmod(str(real), 0o644 if flaw == "group_readable" else 0o600)
    path = real
    if flaw == "other_owner":
        nobody = pwd.getpwnam("nobody")
        os.chown(str(real), nobody.pw_uid, nobody.pw_gid)
    elif flaw == "symlink":
        path = tmp_path / "hook.secret.link"
        os.symlink(str(real), str(path))
    section = ("\n[notify hook]\nurl = %s\nsecret_file = %s\nca_file = %s\nevents = granted\n"
               % (webhook.url, path, webhook.ca))
    jit = jit_factory(name="badsecret", flows=JIT_FLOWS + section)
    want = {"other_owner": "must be a regular file owned by root with mode 0600 or 0400",
            "group_readable": "must be a regular file owned by root with mode 0600 or 0400",
            "symlink": "cannot open secret_file %s" % path,
            "empty_first_line": "has an empty first line"}[flaw]
    wait_for(lambda: want in jit.daemon.log(), 10, what="the secret_file error in the log")
    assert str(path) in jit.daemon.log()
    assert secret not in jit.daemon.log()
    r = jit.request("web-sudo", dur="1h", as_user="ojt-alice")
    assert r.grant["state"] == "active", r
    time.sleep(2.0)
    assert webhook.received() == []


# ---------------------------------------------------------------- receiver trouble

@pytest.mark.parametrize("mode", ["down", "slow", "fail500"])
def test_receiver_trouble_delays_nothing(jit_factory, webhook, tmp_path, mode):
    jit, secret = notify_env(jit_factory, webhook, tmp_path)
    webhook.set_mode(mode)
    if mode == "down":
        assert port_refuses("127.0.0.1", webhook.port)

    r = jit.request("web-sudo", dur="1h", as_user="ojt-alice")
    # right after the CLI returns: granted, in the ledger and in Okta
    if mode == "down":
        assert webhook.received() == []
    assert r.grant["state"] == "active", r
    gid = r.grant["id"]
    assert jit.grant(gid)["state"] == "active"
    assert ALICE in jit.members(G_WEB)
    c = jit.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c

    r = jit.cli("revoke", gid)
    assert r.rc == EXIT_OK and r.grant["state"] == "revoked", r
    assert ALICE not in jit.members(G_WEB)

    # the receiver really was tried and failed before it recovers
    if mode == "down":
        time.sleep(3.0)
        assert webhook.received() == []
    else:
        webhook.wait(lambda es: any(e["mode"] == mode for e in es), 20, what="a %s attempt" % mode)
        assert not webhook.delivered()
    webhook.set_mode("ok")

    wanted = {("requested", gid), ("approved", gid), ("granted", gid), ("revoked", gid)}
    wait_delivered(webhook, wanted, timeout=60)
    time.sleep(1.0)
    ids = assert_once_each(webhook, secret)
    assert set(ids) == wanted, ids
    for event, g in wanted:
        the_one(webhook, event, g)
    if mode != "down":
        # the failed attempt was retried under the same delivery id
        failed = [e for e in webhook.received() if e["mode"] == mode]
        assert failed
        assert all(did_of(e) in ids.values() for e in failed)


# ---------------------------------------------------------------- one target's trouble is its own

def targets_env(jit_factory, tmp_path, receivers, extra=None, name="jit"):
    """An okta-jitd with one [notify NAME] section per (NAME, receiver).
    Returns (jit, {NAME: secret})."""
    sections, keys = [], {}
    for tname, rx in receivers:
        secret = "whsec-" + secrets.token_hex(24)
        secret_file = str(tmp_path / ("%s-%s.secret" % (name, tname)))
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        keys[tname] = secret
        sections += ["", "[notify %s]" % tname, "url = %s" % rx.url, "secret_file = %s" % secret_file,
                     "ca_file = %s" % rx.ca]
        sections += ["%s = %s" % kv for kv in (extra or {}).items()]
    return jit_factory(name=name, flows=JIT_FLOWS + "\n".join(sections) + "\n"), keys


def queued(jit, gid):
    """(target, event) of every notification row of grant gid, in queue order."""
    db = jit._db()
    try:
        return [(r["target"], r["event"]) for r in
                db.execute("SELECT target, event FROM notifications WHERE grant_id = ? ORDER BY id", (gid,))]
    finally:
        db.close()


@pytest.fixture
def stuck_webhook(tmp_path):
    rx = WebhookReceiver(str(tmp_path / "stuck-webhook")).start()
    rx.set_mode("hang")
    yield rx
    rx.stop()


def test_a_hanging_target_delays_no_other_target(jit_factory, webhook, stuck_webhook, tmp_path):
    """Issue 15 item 9: a receiver that holds every POST until okta-jitd's
    5 s timeout. The other target hears approved, granted, expiring and
    expired as they happen (one thread used to send both, so each held POST
    cost the good target 5 s and the expiring scan never ran in time)."""
    jit, keys = targets_env(jit_factory, tmp_path, [("stuck", stuck_webhook), ("good", webhook)],
                            extra={"expiring_before": "3s"})
    r = jit.request("web-sudo", dur="6s", as_user="ojt-alice")
    gid = r.grant["id"]
    assert r.grant["state"] == "active", r
    row_active = jit.grant(gid)

    # the stuck target is tried and holds its first POST; its second comes
    # only once okta-jitd gave up on the first (the 5 s timeout)
    stuck_webhook.wait(lambda got: len(got) >= 2, 30, what="a second attempt at the hanging target")
    second_stuck = stuck_webhook.received()[1]["at"]
    wait_delivered(webhook, {("requested", gid), ("approved", gid), ("granted", gid)}, timeout=20)
    for event in ("requested", "approved", "granted"):
        e = the_one(webhook, event, gid)
        assert e["at"] < second_stuck, \
            "%s reached the good target only after the hanging target's first timeout" % event

    # expiring (3 s before the end) and expired reach it too, in that order
    wait_delivered(webhook, {("expiring", gid), ("expired", gid)}, timeout=20)
    time.sleep(1.0)  # a duplicate would come right behind
    assert_once_each(webhook, keys["good"])
    mine = [e for e in webhook.delivered() if gid_of(e) == gid]
    assert [ev_of(e) for e in mine] == ["requested", "approved", "granted", "expiring", "expired"], \
        [ev_of(e) for e in mine]
    expiring = the_one(webhook, "expiring", gid)
    check_entry(jit, expiring, keys["good"], "expiring", gid, row_active)
    assert expiring["json"]["late"] is False, expiring["json"]
    assert expiring["at"] < row_active["end_at"] + 1, (expiring["at"], row_active)
    # the hanging target was queued every event too: its rows wait for it
    assert [ev for t, ev in queued(jit, gid) if t == "stuck"] == \
        ["requested", "approved", "granted", "expiring", "expired"], queued(jit, gid)
    assert stuck_webhook.delivered() == []


def test_expiring_is_queued_late_when_no_scan_saw_it_due(jit_factory, webhook, tmp_path):
    """okta-jitd was down the whole time a grant's expiring warning was due
    (a stuck sender did the same to the old scan): the warning is still
    queued, marked late, ahead of expired."""
    jit, secret = notify_env(jit_factory, webhook, tmp_path, extra={"expiring_before": "2s"})
    r = jit.request("web-sudo", dur="6s", as_user="ojt-alice")
    gid = r.grant["id"]
    assert r.grant["state"] == "active", r
    row_active = jit.grant(gid)
    jit.daemon.stop()
    assert ("hook", "expiring") not in queued(jit, gid), "okta-jitd took 4 s to stop; the test needs less"
    # down past the grant's end
    time.sleep(max(0.0, row_active["end_at"] + 1.5 - time.time()))
    jit.daemon.start()
    wait_delivered(webhook, {("expiring", gid), ("expired", gid)}, timeout=20)
    time.sleep(1.0)
    assert_once_each(webhook, secret)
    expiring, expired = the_one(webhook, "expiring", gid), the_one(webhook, "expired", gid)
    assert expiring["json"]["late"] is True, expiring["json"]
    assert "late" not in expired["json"]
    assert int(did_of(expiring)) < int(did_of(expired)) and expiring["at"] <= expired["at"]
    assert expiring["json"]["end"] == row_active["end_at"]
    assert [ev for t, ev in queued(jit, gid)] == ["requested", "approved", "granted", "expiring", "expired"]


def test_a_row_for_a_target_this_host_lacks_is_dropped(jit_factory, webhook, tmp_path):
    """A fleet member with another config queued a row for a target this
    host has not got: no sender thread reads it, the scan thread drops it
    with an audit line, and the known target's rows go out as before."""
    jit, secret = notify_env(jit_factory, webhook, tmp_path, events=["granted"])
    jit.daemon.stop()
    db = jit._db()
    try:
        now = int(time.time())
        db.execute("INSERT INTO notifications (target, event, grant_id, payload, created_at, next_attempt_at)"
                   " VALUES ('gone', 'granted', 0, '{}', ?, ?)", (now, now))
        db.commit()
    finally:
        db.close()
    jit.daemon.start()
    wait_for(lambda: jit.audit(event="notify_dropped"), 20, what="the row for target gone dropped")
    assert "target=gone" in jit.audit(event="notify_dropped")[0]["detail"]
    gid = jit.request("web-sudo", dur="1h", as_user="ojt-alice").grant["id"]
    wait_delivered(webhook, {("granted", gid)})
    assert_once_each(webhook, secret)


# ---------------------------------------------------------------- max_age

def test_max_age_drops_undelivered(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, extra={"max_age": "3s"})
    webhook.set_mode("down")
    r = jit.request("web-sudo", dur="1h", as_user="ojt-alice")
    assert r.grant["state"] == "active", r
    gid = r.grant["id"]
    dropped = wait_for(lambda: jit.audit(event="notify_dropped"), 30, interval=0.5,
                       what="an audit line event=notify_dropped")
    assert dropped
    # all three of requested/approved/granted go the same way
    wait_for(lambda: len(jit.audit(event="notify_dropped")) >= 3, 30, interval=0.5,
             what="every notification dropped")
    assert all(a["grant_id"] in (0, gid) for a in jit.audit(event="notify_dropped"))
    webhook.set_mode("ok")
    # longer than the next backoff step would have been
    time.sleep(12.0)
    assert webhook.received() == [], [(ev_of(e), did_of(e)) for e in webhook.received()]
    assert jit.grant(gid)["state"] == "active"


# ---------------------------------------------------------------- hostile data

def test_hostile_reason_json_round_trips(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, fmt="json")
    r = jit.request("web-sudo", dur="1h", reason=HOSTILE_REASON, as_user="ojt-alice")
    gid = r.grant["id"]
    assert jit.grant(gid)["reason"] == HOSTILE_REASON
    wait_delivered(webhook, {("requested", gid), ("approved", gid), ("granted", gid)})
    for event in ("requested", "approved", "granted"):
        e = the_one(webhook, event, gid)
        j = json.loads(e["body"].decode("utf-8"))
        assert j["reason"] == HOSTILE_REASON, j
        check_entry(jit, e, secret, event, gid, jit.grant(gid))


def test_hostile_reason_escaped_in_slack(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, fmt="slack")
    r = jit.request("web-sudo", dur="1h", reason=HOSTILE_REASON, as_user="ojt-alice")
    gid = r.grant["id"]
    wait_delivered_slack(webhook, {"requested", "approved", "granted"})
    for e in webhook.delivered():
        assert webhook.verify(e, secret), e["headers"]
        j = json.loads(e["body"].decode("utf-8"))  # valid JSON
        assert isinstance(j, dict) and isinstance(j.get("text"), str), j
        text = j["text"]
        assert "<!channel>" not in text and "<https://evil" not in text, text
        assert "&lt;!channel&gt;" in text, text
        assert "&lt;https://evil.example|click&gt;" in text, text
        assert "&amp; done" in text, text
        assert '"quotes" \\ backslash' in text, text
        # no raw & left un-escaped from the reason
        assert "& done" not in text, text
    assert "ojt-alice" in webhook.delivered()[0]["json"]["text"]
    assert str(gid) in webhook.delivered()[0]["json"]["text"]


def wait_delivered_slack(webhook, events, timeout=30.0):
    """Slack bodies carry no grant id field: wait on the event header."""
    webhook.wait(lambda _es: events <= {ev_of(e) for e in webhook.delivered()}, timeout,
                 what="slack deliveries of %r" % sorted(events))


def test_slack_requested_names_the_commands(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, fmt="slack")
    r = jit.request("prod-db-ssh", dur="1h", reason="INC-7", as_user="ojt-alice")
    gid = r.grant["id"]
    assert r.grant["state"] == "pending", r
    wait_delivered_slack(webhook, {"requested"})
    reqs = [e for e in webhook.delivered() if ev_of(e) == "requested"]
    assert len(reqs) == 1, reqs
    e = reqs[0]
    assert e["headers"].get("content-type", "").split(";")[0].strip() == "application/json"
    assert webhook.verify(e, secret)
    text = json.loads(e["body"])["text"]
    assert re.search(r"okta-jit approve %d(?!\d)" % gid, text), text
    assert re.search(r"okta-jit deny %d(?!\d)" % gid, text), text
    assert "prod-db-ssh" in text and "ojt-alice" in text and "INC-7" in text, text


def test_slack_names_people_with_their_logins(jit_factory, webhook, tmp_path):
    """Issue 22: a person is the local name with the Okta login beside it,
    the approver too (an Okta login alone before)."""
    jit, secret = notify_env(jit_factory, webhook, tmp_path, fmt="slack")
    r = jit.request("prod-db-ssh", dur="1h", reason="INC-8", as_user="ojt-alice")
    gid = r.grant["id"]
    assert jit.cli("approve", gid, user="ojt-olivia").rc == EXIT_OK
    wait_delivered_slack(webhook, {"requested", "approved"})
    appr = [json.loads(e["body"])["text"] for e in webhook.delivered() if ev_of(e) == "approved"]
    assert len(appr) == 1, appr
    text = appr[0]
    assert "grant %d: ojt-alice (ojt-alice@example.com) in `prod-db-ssh`" % gid in text, text
    assert "\nRequested by: ojt-alice (ojt-alice@example.com)" in text, text
    assert "\nDecided by: ojt-olivia (ojt-olivia@example.com)" in text, text
    assert "\nBy: ojt-olivia (ojt-olivia@example.com)" in text, text


# ---------------------------------------------------------------- links to the web pages

WEB_URL = "http://127.0.0.1:8443/"  # plain HTTP: loopback only (okta-jit.conf(5))


def web_extra(jit_factory, webhook, tmp_path, fmt):
    """notify_env plus [web] url: the notifications link to the grant's page."""
    jit, secret = notify_env(jit_factory, webhook, tmp_path, fmt=fmt)
    jit.daemon.stop()
    with open(jit.conf, "a") as f:
        f.write("\n[web]\nurl = %s\nclient_id = 0oaWEBJIT0001\nsocket = %s\n"
                % (WEB_URL, os.path.join(jit.sockdir, "web.sock")))
    jit.daemon.start()
    return jit, secret


def test_webhook_links_a_new_request_to_its_web_page(jit_factory, webhook, tmp_path):
    jit, secret = web_extra(jit_factory, webhook, tmp_path, "json")
    r = jit.request("prod-db-ssh", dur="1h", reason="INC-8", as_user="ojt-alice")
    gid = r.grant["id"]
    wait_delivered(webhook, {("requested", gid)})
    j = check_entry(jit, the_one(webhook, "requested", gid), secret, "requested", gid, jit.grant(gid))
    assert j["url"] == "http://127.0.0.1:8443/grants/%d" % gid, j


def test_slack_request_links_its_web_page(jit_factory, webhook, tmp_path):
    jit, secret = web_extra(jit_factory, webhook, tmp_path, "slack")
    gid = jit.request("prod-db-ssh", dur="1h", reason="INC-9", as_user="ojt-alice").grant["id"]
    wait_delivered_slack(webhook, {"requested"})
    text = [e for e in webhook.delivered() if ev_of(e) == "requested"][0]["json"]["text"]
    assert "\nIn a browser: <http://127.0.0.1:8443/grants/%d|grant %d>" % (gid, gid) in text, text
    assert re.search(r"okta-jit approve %d(?!\d)" % gid, text), text


def test_no_web_url_no_link(jit_factory, webhook, tmp_path):
    jit, secret = notify_env(jit_factory, webhook, tmp_path, fmt="json")
    gid = jit.request("prod-db-ssh", dur="1h", reason="INC-10", as_user="ojt-alice").grant["id"]
    wait_delivered(webhook, {("requested", gid)})
    j = the_one(webhook, "requested", gid)["json"]
    assert "url" not in j and "/grants/" not in json.dumps(j), j


# ---------------------------------------------------------------- the receiver itself

def _post(rx, body=b'{"x": 1}', headers=None, timeout=5.0, url=None):
    req = urllib.request.Request(url or rx.url, data=body, method="POST",
                                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    ctx = ssl.create_default_context(cafile=rx.ca)
    with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
        return r.status, r.read()


def test_receiver_modes(webhook):
    assert webhook.url.startswith("https://127.0.0.1:") and webhook.url.endswith("/hook")
    port = webhook.port
    assert _post(webhook)[0] == 204
    # the certificate is good for localhost too
    assert _post(webhook, url="https://localhost:%d/hook" % port)[0] == 204

    webhook.set_mode("fail500")
    with pytest.raises(urllib.error.HTTPError) as ei:
        _post(webhook, body=b'{"n": 2}')
    assert ei.value.code == 500

    webhook.set_mode("slow")
    t0 = time.time()
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        _post(webhook, body=b"not json", timeout=1.0)
    assert time.time() - t0 < 5

    webhook.set_mode("down")
    assert port_refuses("127.0.0.1", port)
    with pytest.raises(urllib.error.URLError) as ei:
        _post(webhook, body=b'{"n": 4}')
    assert isinstance(ei.value.reason, ConnectionRefusedError), ei.value

    webhook.set_mode("ok")
    assert webhook.port == port
    assert _post(webhook, body=b'{"n": 5}')[0] == 204

    got = webhook.received()
    assert [(e["mode"], e["status"]) for e in got] == \
        [("ok", 204), ("ok", 204), ("fail500", 500), ("slow", 200), ("ok", 204)]
    assert got[0]["json"] == {"x": 1} and got[2]["json"] == {"n": 2}
    assert got[3]["json"] is None and got[3]["body"] == b"not json"
    assert got[0]["headers"]["content-type"] == "application/json"
    assert all(e["method"] == "POST" and e["path"] == "/hook" for e in got)
    assert [e["mode"] for e in webhook.delivered()] == ["ok", "ok", "ok"]


def test_receiver_verify(webhook):
    secret = "s3cret-" + secrets.token_hex(8)
    body = json.dumps({"event": "granted", "reason": "<!channel> & \"x\""}).encode()
    ts = str(int(time.time()))
    good = signature(secret, ts, body)
    assert _post(webhook, body=body, headers={"X-OktaJit-Timestamp": ts, "X-OktaJit-Signature": good,
                                               "X-OktaJit-Event": "granted",
                                               "X-OktaJit-Delivery": "7"})[0] == 204
    _post(webhook, body=body, headers={"X-OktaJit-Timestamp": ts, "X-OktaJit-Signature": "v1=" + "0" * 64})
    _post(webhook, body=body, headers={"X-OktaJit-Timestamp": str(int(ts) + 1), "X-OktaJit-Signature": good})
    _post(webhook, body=body + b" ", headers={"X-OktaJit-Timestamp": ts, "X-OktaJit-Signature": good})
    _post(webhook, body=body)
    e_good, e_zero, e_ts, e_body, e_none = webhook.received()
    assert e_good["headers"]["x-oktajit-event"] == "granted" and did_of(e_good) == "7"
    assert webhook.verify(e_good, secret)
    assert webhook.verify(e_good, secret.encode())
    assert not webhook.verify(e_good, secret + "!")
    assert not webhook.verify(e_zero, secret)
    assert not webhook.verify(e_ts, secret)
    assert not webhook.verify(e_body, secret)
    assert not webhook.verify(e_none, secret)
    assert webhook.by_delivery()["7"] == [e_good]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_receiver_tls12_and_own_ca_only(webhook, tmp_path):
    # TLS 1.1 is refused
    ctx = ssl.create_default_context(cafile=webhook.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, OSError)):
        with socket.create_connection(("127.0.0.1", webhook.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                pass
    # another receiver's CA does not vouch for this one
    other = WebhookReceiver(str(tmp_path / "other")).start()
    try:
        with pytest.raises(urllib.error.URLError) as ei:
            req = urllib.request.Request(webhook.url, data=b"{}", method="POST")
            urllib.request.urlopen(req, context=ssl.create_default_context(cafile=other.ca), timeout=5)
        assert isinstance(ei.value.reason, ssl.SSLCertVerificationError), ei.value
    finally:
        other.stop()
    assert webhook.received() == []
