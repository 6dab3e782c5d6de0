"""pam_okta_jit.so through the real libpam (pam_start_confdir on a private
stack), against a real okta-jitd and fake Okta, or against a Python
stand-in daemon that says what a test wants: every option, every return
code, the user's messages, the session record, request=prompt, hostile
input, timeouts, trust in the socket, leaks."""
import os
import pwd
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from pam_fixtures import *  # noqa: F401,F403

ALICE_U = "ojt-alice"
BOB_U = "ojt-bob"


def acct_line(sock, extra=""):
    return "group=web-sudo socket=%s %s" % (sock, extra)


# An account stack that tells PAM_IGNORE from everything else: IGNORE jumps
# over pam_deny to pam_permit (PAM_SUCCESS); the module's SUCCESS runs into
# pam_deny (PAM_AUTH_ERR); any failure ends the stack with its own code.
IGNORE_PROBE = """
account [ignore=1 success=ok default=die] @MOD@ %s
account [default=die] pam_deny.so
account required pam_permit.so
"""


def grant(jit, user=ALICE_U, group="web-sudo", dur="5m"):
    r = jit.request(group, user=user, dur=dur)
    assert r.grant["state"] == "active", r
    return r.grant["id"]


# ---------------------------------------------------------------- account: the gate

def test_allowed_during_a_grant(jit, stack):
    gid = grant(jit)
    r = stack.account(acct_line(jit.sock)).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    assert r.errors == [] and r.infos == [], r  # silent unless debug
    r = stack.account(acct_line(jit.sock, "debug")).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    assert "granted (grant %s)" % gid in r.info_text, r
    # bob has no grant for the same group
    r = stack.account(acct_line(jit.sock)).run(BOB_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r


def test_no_grant_is_refused_with_reason_hint_approvers_and_details(jit, stack):
    r = stack.account(acct_line(jit.sock)).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    text = r.error_text
    assert "needs an active grant for Okta group 'web-sudo'" in text, r
    assert "Request access: okta-jit request web-sudo --for 30m" in text, r
    assert "\nApprovers: " in text, r
    assert "Ask in #access; approvers are the group owners." in text, r  # access_details
    assert "in a browser" not in text, r  # no [web] url, no page named
    refused = jit.audit(event="check_refused")
    assert refused and refused[-1]["user"] == ALICE_U and refused[-1]["actor"] == "pam", refused
    assert "service=ojit-test" in refused[-1]["detail"].split(), refused

    # the owners flow: reason required in the hint, the group owner as approver
    r = stack.account("group=prod-db-ssh socket=%s" % jit.sock).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert 'okta-jit request prod-db-ssh --for 1h --reason "why you need it"' in r.error_text, r
    approvers = [l for l in r.error_text.splitlines() if l.startswith("Approvers: ")]
    assert approvers and "olivia" in approvers[0], r


def test_refusal_names_the_web_page_when_web_url_is_set(jit_factory, stack):
    jit = jit_factory(start=False)
    with open(jit.conf, "a") as f:
        f.write("\n[web]\nurl = https://jit.example.com/\nclient_id = 0oaWEBJIT0001\nsocket = %s\n"
                % os.path.join(jit.sockdir, "web.sock"))
    jit.daemon.start()
    r = stack.account("group=prod-db-ssh socket=%s" % jit.sock).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    lines = r.error_text.splitlines()
    i = lines.index('Request access: okta-jit request prod-db-ssh --for 1h --reason "why you need it"')
    assert lines[i + 1] == "or in a browser: https://jit.example.com/request?group=prod-db-ssh", r
    # okta-jit check says the same (text), and names it web_url (JSON)
    c = jit.cli("check", "prod-db-ssh", "--user", ALICE_U, json_out=False)
    assert "or in a browser: https://jit.example.com/request?group=prod-db-ssh\n" in c.out, c
    c = jit.cli("check", "prod-db-ssh", "--user", ALICE_U)
    assert c.j and c.j.get("web_url") == "https://jit.example.com/request?group=prod-db-ssh", c
    # without [web] url: the command alone (test above)


def test_pending_request_is_named_in_the_refusal(jit, stack):
    r = jit.request("prod-db-ssh", user=ALICE_U, dur="1h", reason="INC-1")
    assert r.grant["state"] == "pending", r
    r2 = stack.account("group=prod-db-ssh socket=%s" % jit.sock).run(ALICE_U, "acct")
    assert r2["acct"] == "PAM_PERM_DENIED", r2
    assert "your request %s is pending" % r.grant["id"] in r2.error_text, r2


def test_user_not_in_okta_and_inactive_user(jit, stack):
    # ojt-carol is SUSPENDED in Okta; a standing (non time-bound) group asks Okta
    r = stack.account("group=staging-ssh socket=%s" % jit.sock).run("ojt-carol", "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert "SUSPENDED" in r.error_text, r
    r = stack.account("group=staging-ssh socket=%s" % jit.sock).run("nosuchuser", "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert "no Okta user" in r.error_text, r


def test_multiple_groups_any_one_passes(jit, stack):
    grant(jit, group="web-sudo")
    r = stack.account("group=prod-db-ssh socket=%s" % jit.sock).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    for groups in ("group=prod-db-ssh group=web-sudo", "group=web-sudo group=prod-db-ssh",
                   "group=staging-ssh group=prod-db-ssh group=web-sudo"):
        r = stack.account("%s socket=%s debug" % (groups, jit.sock)).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_SUCCESS", (groups, r)
        assert "'web-sudo'" in r.info_text, r
    # sixteen groups are allowed (the last one passes)
    many = " ".join("group=g%d" % i for i in range(15)) + " group=web-sudo"
    r = stack.account("%s socket=%s" % (many, jit.sock)).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r


# ---------------------------------------------------------------- the answer board

def board(jit):
    """The board lives beside the PAM socket (the module looks for
    SOCKET.answers next to the socket it talks to)."""
    return jit.pam_sock + ".answers"


def frozen(jit):
    """okta-jitd stopped with SIGSTOP: a module that asks it gets no answer
    (timeout_ms=400), one that reads the board needs none."""
    class Frozen:
        def __enter__(self):
            jit.daemon.proc.send_signal(signal.SIGSTOP)
            # A group stop is begun by the one thread that takes the signal;
            # the others stop when it runs. On a busy machine a worker can
            # still answer meanwhile: wait until every thread is stopped.
            pid = jit.daemon.proc.pid
            deadline = time.time() + 10
            while time.time() < deadline:
                states = []
                for t in os.listdir("/proc/%d/task" % pid):
                    try:
                        with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                            states.append(f.read().rsplit(")", 1)[1].split()[0])
                    except OSError:
                        pass
                if states and all(st in ("T", "t") for st in states):
                    return
                time.sleep(0.005)
            raise AssertionError("okta-jitd's threads did not all stop: %s" % states)

        def __exit__(self, *a):
            jit.daemon.proc.send_signal(signal.SIGCONT)
    return Frozen()


def test_a_recent_allow_is_answered_from_the_board(jit, stack):
    gid = grant(jit, dur="10m")
    st = os.stat(board(jit))
    assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o600, oct(st.st_mode)
    line = acct_line(jit.pam_sock, "timeout_ms=400")
    assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"  # asks: now on the board
    with frozen(jit):
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_SUCCESS", r  # no round trip
        r = stack.account(line).run(BOB_U, "acct")  # nothing on the board for bob: asks, no answer
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
        r = stack.account("group=prod-db-ssh socket=%s timeout_ms=400" % jit.pam_sock).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # another group: asks
        r = stack.account(acct_line(jit.pam_sock, "timeout_ms=400 answers=off")).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # answers=off: always asks
    # a revocation voids the board before okta-jitd answers the revoker
    assert jit.cli("revoke", str(gid), user=ALICE_U).rc == EXIT_OK
    with frozen(jit):
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r


def test_board_answers_end_with_the_grant_and_a_grant_write(jit, stack):
    line = acct_line(jit.pam_sock, "timeout_ms=400")
    gid = grant(jit, dur="3s")
    end = jit.grant(gid)["end_at"]
    assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"
    with frozen(jit):
        assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"
        while time.time() < end + 0.2:
            time.sleep(0.1)
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # past the grant's end: asks
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    # a grant written for alice and the group (here an extension) voids her
    # answer; one written for bob leaves it. (First the ended grant is
    # settled: its own writes would void her answer too.)
    old = gid
    wait_for(lambda: jit.grant(old)["state"] == "expired" and jit.grant(old)["op"] == "", 15,
             what="the 3 s grant settled")
    gid = grant(jit, dur="10m")
    assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"
    grant(jit, user=BOB_U, dur="10m")
    with frozen(jit):
        assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"
    r = jit.cli("extend", str(gid), "--for", "5m", "--reason", "more", user=ALICE_U)
    assert r.rc == EXIT_OK, r
    with frozen(jit):
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r


@pytest.mark.parametrize("tamper", ["mode", "mode-0602", "mode-0606", "owner", "symlink", "truncated"])
def test_a_board_not_safely_roots_is_ignored(jit, stack, tamper):
    line = acct_line(jit.pam_sock, "timeout_ms=400")
    grant(jit, dur="10m")
    assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"
    path = board(jit)
    if tamper == "mode":
        os.chmod(path, 0o644)
    elif tamper.startswith("mode-"):
        os.chmod(path, int(tamper[5:], 8))  # others may write it
    elif tamper == "owner":
        os.chown(path, pwd.getpwnam(BOB_U).pw_uid, -1)
    elif tamper == "symlink":
        os.rename(path, path + ".real")
        os.symlink(path + ".real", path)
    else:
        with open(path, "r+b") as f:
            f.truncate(4096)
    with frozen(jit):
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", (tamper, r)


def test_a_board_allow_from_the_member_list_ends_with_the_grant(jit, stack):
    # A granter lets a login in from the group's member list (roster) when
    # that list is fresher than the user's own answer. Such an allow goes on
    # the board until the grant's end, not for the list's cache_ttl (30 s).
    gid = grant(jit, dur="4s")
    end = jit.grant(gid)["end_at"]
    members_path = "/api/v1/groups/%s/users" % G_WEB
    assert not jit.okta_requests("GET", members_path)
    c = jit.cli("check", "web-sudo", "--user", ALICE_U)  # as root: starts the roster's fetch
    assert c.rc == EXIT_OK, c
    wait_for(lambda: jit.okta_requests("GET", members_path), 10, what="web-sudo's member list fetched")
    time.sleep(0.2)  # the fetch's answer stored
    c = jit.cli("check", "web-sudo", "--user", ALICE_U)  # from the roster: on the board
    assert c.rc == EXIT_OK and c.j["id"] == gid, c
    line = acct_line(jit.pam_sock, "timeout_ms=400")
    with frozen(jit):
        assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"  # from the board
        while time.time() < end + 0.2:
            time.sleep(0.1)
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # past the grant's end: asks
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r


def test_clean_stop_removes_the_board_and_a_restart_starts_empty(jit, stack):
    line = acct_line(jit.pam_sock, "timeout_ms=400")
    grant(jit, dur="10m")
    assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"
    jit.daemon.stop()
    assert not os.path.exists(board(jit))
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    jit.daemon.start()
    with frozen(jit):
        r = stack.account(line).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r  # a new, empty board
    assert stack.account(line).run(ALICE_U, "acct")["acct"] == "PAM_SUCCESS"


# ---------------------------------------------------------------- no answer: failmode

def test_daemon_stopped_failsecure_is_the_default(jit, stack):
    jit.daemon.stop()
    for extra in ("", "failmode=secure", "failmode=safe failmode=secure"):
        r = stack.account(acct_line(jit.sock, extra)).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", (extra, r)
        assert "access cannot be checked right now" in r.error_text, r
    # failsecure holds even when a later module would allow
    r = stack.account(acct_line(jit.sock), extra="account required pam_permit.so").run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    # and the socket file gone altogether
    if os.path.exists(jit.sock):
        os.unlink(jit.sock)
    r = stack.account(acct_line(jit.sock)).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r


def test_daemon_stopped_failsafe_ignores(jit, stack):
    jit.daemon.stop()
    line = acct_line(jit.sock, "failmode=safe")
    # the module itself returns PAM_IGNORE ...
    r = stack.write(IGNORE_PROBE % line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    assert r.errors == [], r
    # ... so alone in the stack the result is PAM_PERM_DENIED (nothing said yes)
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    # and the rest of the stack decides
    r = stack.account(line, extra="account required pam_permit.so").run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    r = stack.account(line, extra="account required pam_deny.so").run(ALICE_U, "acct")
    assert r["acct"] != "PAM_SUCCESS", r


def test_failsafe_never_turns_a_refusal_into_a_pass(jit, stack):
    # the daemon is up and says no: failmode=safe does not matter
    line = acct_line(jit.sock, "failmode=safe")
    r = stack.account(line, extra="account required pam_permit.so").run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    # and a grant still passes under the probe (module SUCCESS runs into pam_deny)
    grant(jit)
    r = stack.write(IGNORE_PROBE % line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTH_ERR", r


# ---------------------------------------------------------------- break-glass

def test_breakglass_member_passes_with_daemon_down_and_up(jit, stack, local_group):
    bg = local_group(BG_GROUP, members=[ALICE_U])
    line = acct_line(jit.sock, "breakglass=%s" % bg)
    # daemon up, no grant
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    assert any("break-glass" in i for i in r.infos), r
    # okta-jitd was not asked (no refusal recorded for alice), only told
    assert [a for a in jit.audit(event="check_refused") if a["user"] == ALICE_U] == []
    told = [a for a in jit.audit(event="breakglass") if a["user"] == ALICE_U]
    assert len(told) == 1 and bg in told[0]["detail"] and told[0]["actor"] == "pam", told
    # issue 22: a break-glass account is local: no Okta login beside it
    assert "user_login=" not in told[0]["detail"], told
    # a non-member is still gated
    r = stack.account(line).run(BOB_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert not any("break-glass" in i for i in r.infos), r
    # daemon down
    jit.daemon.stop()
    r = stack.account(line).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    assert any("break-glass" in i and "audited" in i for i in r.infos), r
    r = stack.account(line).run(BOB_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r


def test_breakglass_is_written_to_syslog_with_the_daemon_down(stack, sockdir, local_group, syslog_capture):
    # With okta-jitd down the module's syslog line is the only record of a
    # break-glass login: LOG_ALERT, naming the user and the group.
    bg = local_group(BG_GROUP, members=[ALICE_U])
    line = acct_line(os.path.join(sockdir, "no-daemon.sock"), "breakglass=%s" % bg)
    r = stack.account(line).run(ALICE_U, "acct", prefix=syslog_capture.prefix)
    assert r["acct"] == "PAM_SUCCESS", r
    logged = [(p, m) for p, m in syslog_capture.messages() if "breakglass: user=%s " % ALICE_U in m]
    assert len(logged) == 1, syslog_capture.messages()
    prio, msg = logged[0]
    assert prio & 7 == 1 and bg in msg, logged  # LOG_ALERT
    # a non-member: refused (failsecure, logged too), no break-glass line
    r = stack.account(line).run(BOB_U, "acct", prefix=syslog_capture.prefix)
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    msgs = [m for _, m in syslog_capture.messages()]
    assert any("failsecure: user=%s" % BOB_U in m for m in msgs), msgs
    assert not any("breakglass: user=%s" % BOB_U in m for m in msgs), msgs


def test_breakglass_by_primary_group_and_missing_group(jit, stack):
    jit.daemon.stop()
    # ojt-bob's primary group is ojt-bob (useradd --user-group)
    r = stack.account(acct_line(jit.sock, "breakglass=ojt-bob")).run(BOB_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    assert any("break-glass" in i for i in r.infos), r
    r = stack.account(acct_line(jit.sock, "breakglass=ojt-bob")).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    # a break-glass group that does not exist lets nobody through
    r = stack.account(acct_line(jit.sock, "breakglass=ojt-no-such-group")).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r


# ---------------------------------------------------------------- options

BAD_OPTIONS = [
    "group=",
    "group=web-sudo timeout_ms=0",
    "group=web-sudo timeout_ms=abc",
    "group=web-sudo timeout_ms=-5",
    "group=web-sudo timeout_ms=60001",
    "group=web-sudo timeout_ms=5x",
    "group=web-sudo answers=maybe",
    "group=web-sudo answers=",
    "group=web-sudo timeout_ms=",
    "group=web-sudo failmode=maybe",
    "group=web-sudo failmode=",
    "group=web-sudo socket=relative/okta.sock",
    "group=web-sudo socket=",
    "group=web-sudo socket=/" + "x" * 120,
    "group=web-sudo request=maybe",
    "group=web-sudo breakglass=",
    "group=web-sudo breakglass=-wheel",
    "group=web-sudo debug=1",
    "group=web-sudo frobnicate",
    "group=web-sudo GROUP=x",
    " ".join("group=g%d" % i for i in range(17)),
    "",  # no group= at all
    "failmode=safe",  # no group= at all, even failing safe
]


@pytest.mark.parametrize("opts", BAD_OPTIONS)
def test_malformed_options_are_a_service_error(opts, stack, fake_daemon):
    fake = fake_daemon(reply_frame(P_OK, [(T_DECISION, "allow"), (T_GROUP, "web-sudo")]))
    if "socket=" not in opts:
        opts += " socket=%s" % fake.path
    stack.write("""
auth required @MOD@ %(o)s request=prompt
auth required pam_permit.so
account required @MOD@ %(o)s
account required pam_permit.so
session required @MOD@ %(o)s
""" % {"o": opts})
    r = stack.run(ALICE_U, "auth", "acct", "open", "close", answers=["x", "5m"])
    assert r.rc == 0, r
    for step in ("auth", "acct", "open", "close"):
        assert r[step] == "PAM_SERVICE_ERR", (step, r)
    assert r.prompts == [], r
    assert fake.connections == 0, "the daemon was consulted despite a bad option"


def test_well_formed_options_are_accepted(stack, fake_daemon):
    fake = fake_daemon(reply_frame(P_OK, [(T_DECISION, "allow"), (T_CODE, "allow"), (T_GROUP, "web-sudo"),
                                          (T_MESSAGE, "ok from fake")]))
    for opts in ("group=web-sudo", "group=web-sudo failmode=secure timeout_ms=2000 request=off",
                 "group=web-sudo timeout_ms=60000 failmode=safe breakglass=ojt-nosuch debug",
                 "group=web-sudo request=prompt", "group=Everyone [group=two words]"):
        r = stack.account("%s socket=%s" % (opts, fake.path)).run(ALICE_U, "acct")
        assert r["acct"] == "PAM_SUCCESS", (opts, r)
    assert fake.connections == 5


# ---------------------------------------------------------------- the request on the wire

def parse_fields(data):
    n = struct.unpack(">I", data[8:12])[0]
    p, off, out = data[12:12 + n], 0, []
    while off < len(p):
        t, ln = struct.unpack(">BH", p[off:off + 3])
        out.append((t, p[off + 3:off + 3 + ln].decode()))
        off += 3 + ln
    return data[5], out


def test_check_request_carries_user_groups_service_rhost_tty(stack, fake_daemon):
    fake = fake_daemon(reply_frame(P_OK, [(T_DECISION, "deny"), (T_CODE, "no_grant"), (T_MESSAGE, "no")]))
    r = stack.account("group=web-sudo group=prod-db-ssh socket=%s" % fake.path).run(
        ALICE_U, "acct", rhost="10.1.2.3", tty="ssh")
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert len(fake.received) == 1
    ftype, fields = parse_fields(fake.received[0])
    assert ftype == CHECK
    assert fields[:3] == [(T_USER, ALICE_U), (T_GROUP, "web-sudo"), (T_GROUP, "prod-db-ssh")], fields
    assert (3, "ojit-test") in fields and (4, "10.1.2.3") in fields and (5, "ssh") in fields, fields


# ---------------------------------------------------------------- hostile user names

HOSTILE_USERS = ['a"b', "../x", "x" * 300, "x" * 65, "-x", ".x", "a b", "a\nb", "root;id", "a/b",
                 "\u00fcser", "a$b", "$x"]


@pytest.mark.parametrize("user", HOSTILE_USERS, ids=lambda u: repr(u)[:20])
def test_hostile_user_names_are_unknown_without_asking_the_daemon(user, stack, fake_daemon):
    fake = fake_daemon(reply_frame(P_OK, [(T_DECISION, "allow"), (T_GROUP, "web-sudo")]))
    stack.write("""
auth required @MOD@ group=web-sudo socket=%(s)s request=prompt
account required @MOD@ group=web-sudo socket=%(s)s
session required @MOD@ group=web-sudo socket=%(s)s
""" % {"s": fake.path})
    r = stack.run(user, "auth", "acct", "open", answers=["INC-1", "5m"])
    assert r.rc == 0, r
    assert r["auth"] == "PAM_USER_UNKNOWN", r
    assert r["acct"] == "PAM_USER_UNKNOWN", r
    assert r["open"] == "PAM_SESSION_ERR", r
    assert r.prompts == [], r
    assert fake.connections == 0


def test_longest_valid_user_name_is_asked(stack, fake_daemon):
    fake = fake_daemon(reply_frame(P_OK, [(T_DECISION, "allow"), (T_GROUP, "web-sudo")]))
    for user in ("x" * 64, "svc.deploy@corp", "machine$", "a-b_c.d"):
        r = stack.account("group=web-sudo socket=%s" % fake.path).run(user, "acct")
        assert r["acct"] == "PAM_SUCCESS", (user, r)
    assert fake.connections == 4


# ---------------------------------------------------------------- timeouts

def held_for(fake):
    """Seconds the module kept its one connection to a silent fake."""
    wait_for(lambda: fake.held_for, 10, interval=0.02, what="the module's close")
    assert fake.connections == 1 and len(fake.held_for) == 1, (fake.connections, fake.held_for)
    return fake.held_for[0]


# Bounds for a loaded machine: a run never ends before its timeout (the
# whole run's time, which only grows under load, is the lower bound); how
# long the module waited is measured by the fake, from its accept to the
# module's close (no process start-up in it), and only has to tell 300 ms
# from the default 3 s.
@pytest.mark.parametrize("timeout_ms", [300, None])
def test_timeout_ms_is_honoured_against_a_silent_daemon(timeout_ms, stack, fake_daemon):
    fake = fake_daemon("silent")
    opts = "group=web-sudo socket=%s" % fake.path
    if timeout_ms is not None:
        opts += " timeout_ms=%d" % timeout_ms
    r = stack.account(opts).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    expect = (timeout_ms or 3000) / 1000.0
    assert r.elapsed >= expect * 0.9, "ended after %.2fs for timeout_ms=%s" % (r.elapsed, timeout_ms)
    held = held_for(fake)
    bound = 2.5 if timeout_ms == 300 else expect + 5.0
    assert held < bound, "waited %.2fs for timeout_ms=%s" % (held, timeout_ms)


def test_silent_daemon_failsafe_ignores_in_time(stack, fake_daemon):
    fake = fake_daemon("silent")
    r = stack.write(IGNORE_PROBE % "group=web-sudo socket=%s timeout_ms=300 failmode=safe" % fake.path).run(
        ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r  # the module said PAM_IGNORE
    assert held_for(fake) < 2.5, r  # its own 300 ms, not the default 3 s


# ---------------------------------------------------------------- garbage from the "daemon"

def _ok(*fields):
    return reply_frame(P_OK, list(fields))


GARBAGE = {
    "random-bytes": bytes(range(7, 250, 3)) * 3,
    "wrong-magic": reply_frame(P_OK, [(T_DECISION, "allow")], magic=b"XJIT"),
    "wrong-version": reply_frame(P_OK, [(T_DECISION, "allow")], version=2),
    "reserved-bytes": b"OJIT\x01\x64\x00\x01" + struct.pack(">I", 0),
    "huge-length": b"OJIT\x01\x64\x00\x00\xff\xff\xff\xff" + b"A" * 64,
    "over-64k-length": b"OJIT\x01\x64\x00\x00" + struct.pack(">I", 65537) + b"\x14\x00\x05allow",
    "truncated-payload": b"OJIT\x01\x64\x00\x00" + struct.pack(">I", 100) + tlv(T_DECISION, "allow"),
    "short-header": b"OJIT\x01\x64",
    "field-past-end": b"OJIT\x01\x64\x00\x00" + struct.pack(">I", 4) + b"\x14\x00\x05a",
    "nul-in-value": _ok((T_DECISION, "allow\0")),
    "unknown-tag": _ok((99, "x"), (T_DECISION, "allow")),
    "tag-zero": _ok((0, "x"), (T_DECISION, "allow")),
    "ok-without-decision": _ok((T_CODE, "allow"), (T_MESSAGE, "granted"), (T_GROUP, "web-sudo")),
    "decision-maybe": _ok((T_DECISION, "maybe"), (T_GROUP, "web-sudo")),
    "decision-unavailable": _ok((T_DECISION, "unavailable"), (T_CODE, "okta_unavailable")),
    "decision-empty": _ok((T_DECISION, ""), (T_GROUP, "web-sudo")),
    "error-reply-with-allow": reply_frame(P_ERROR, [(T_DECISION, "allow"), (T_CODE, "invalid")]),
    "request-type-reply": reply_frame(CHECK, [(T_DECISION, "allow")]),
    "unknown-type": reply_frame(55, [(T_DECISION, "allow")]),
    "close-at-once": "close",
    "empty-ok": _ok(),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_from_the_daemon_fails_secure_without_crashing(name, stack, fake_daemon):
    fake = fake_daemon(GARBAGE[name])
    r = stack.account("group=web-sudo socket=%s timeout_ms=1500" % fake.path).run(ALICE_U, "acct", "acct")
    assert r.rc == 0, r  # no crash
    assert [s for s in r.order] == [("acct", "PAM_AUTHINFO_UNAVAIL")] * 2, r
    assert "cannot be checked right now" in r.error_text, r
    # failmode=safe: the module steps aside
    r = stack.write(IGNORE_PROBE % ("group=web-sudo socket=%s timeout_ms=1500 failmode=safe" % fake.path)).run(
        ALICE_U, "acct")
    assert r.rc == 0 and r["acct"] == "PAM_SUCCESS", r


def test_valid_frames_from_a_fake_are_understood(stack, fake_daemon):
    """Positive control for the garbage test: the same fake speaks well."""
    allow = fake_daemon(_ok((T_DECISION, "allow"), (T_CODE, "allow"), (T_GROUP, "web-sudo")))
    r = stack.account("group=web-sudo socket=%s" % allow.path).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r
    # control characters in the daemon's text never reach the terminal raw
    deny = fake_daemon(_ok((T_DECISION, "deny"), (T_CODE, "no_grant"),
                           (T_MESSAGE, "no\x1b[2J\x07 access\r\nroot# "),
                           (T_HINT_TAG, "okta-jit request x\x1b]0;pwned\x07"),
                           (T_APPROVERS_TAG, "eve\x08\x08\x08bob"), (T_DETAILS_TAG, "details\x7f")))
    r = stack.account("group=web-sudo socket=%s" % deny.path).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_PERM_DENIED", r
    raw = r.out.encode()
    for c in (b"\x1b", b"\x07", b"\x08", b"\x7f", b"\r"):
        assert c not in raw, (c, r.out)
    assert "no?[2J? access??root# " in r.error_text, r
    assert "Request access: okta-jit request x?]0;pwned?" in r.error_text, r


def test_oversized_texts_from_the_daemon_are_cut_not_overflowed(stack, fake_daemon):
    big = "M" * 12000  # five of them: just under the module's 64 KiB reply cap
    deny = fake_daemon(_ok((T_DECISION, "deny"), (T_CODE, "no_grant"), (T_MESSAGE, big), (T_HINT_TAG, big),
                           (T_APPROVERS_TAG, big), (T_DETAILS_TAG, big), (T_GROUP, big)))
    r = stack.write("""
auth required @MOD@ group=web-sudo socket=%(s)s request=prompt
account required @MOD@ group=web-sudo socket=%(s)s
""" % {"s": deny.path}).run(ALICE_U, "auth", "acct", answers=[""], ruser=ALICE_U)
    assert r.rc == 0, r
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert 500 < len(r.error_text) < 1100, len(r.error_text)
    assert r.prompts and len(r.prompts[0]) < 256, r.prompts


# ---------------------------------------------------------------- trust in the socket

def test_socket_not_owned_by_root_is_not_trusted(stack, fake_daemon):
    fake = fake_daemon(_ok((T_DECISION, "allow"), (T_GROUP, "web-sudo")))
    nobody = pwd.getpwnam("nobody")
    os.chown(fake.path, nobody.pw_uid, nobody.pw_gid)
    r = stack.account("group=web-sudo socket=%s" % fake.path).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    assert fake.connections == 0, "connected to a socket root does not own"


def test_symlink_or_regular_file_is_not_trusted(stack, fake_daemon, sockdir):
    fake = fake_daemon(_ok((T_DECISION, "allow"), (T_GROUP, "web-sudo")))
    link = os.path.join(sockdir, "link.sock")
    os.symlink(fake.path, link)
    r = stack.account("group=web-sudo socket=%s" % link).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    plain = os.path.join(sockdir, "plain")
    open(plain, "w").close()
    r = stack.account("group=web-sudo socket=%s" % plain).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    assert fake.connections == 0


PEER_SCRIPT = r'''
import os, socket, struct, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(8)
print("READY", flush=True)
s.settimeout(20)
n = 0
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    n += 1
    print("CONN", n, flush=True)
    v = b"allow"
    p = bytes([20]) + struct.pack(">H", len(v)) + v
    try:
        c.sendall(b"OJIT\x01\x64\x00\x00" + struct.pack(">I", len(p)) + p)
    except OSError:
        pass
    time.sleep(0.2)
    c.close()
'''


def test_peer_not_root_is_not_trusted_even_if_the_file_is_roots(stack, tmp_path):
    """A non-root process listening on a socket file that is (made) root's:
    the kernel-checked peer credentials refuse it."""
    d = tempfile.mkdtemp(prefix="ojit-peer-")
    try:
        nobody = pwd.getpwnam("nobody")
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
        path = os.path.join(d, "s.sock")
        script = os.path.join(d, "peer.py")
        with open(script, "w") as f:
            f.write(PEER_SCRIPT)
        os.chmod(script, 0o644)
        p = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              sys.executable, script, path], stdout=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline().strip() == "READY"
            os.chown(path, 0, 0)
            os.chown(d, 0, 0)
            r = stack.account("group=web-sudo socket=%s" % path).run(ALICE_U, "acct")
            assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
            # it did connect (the file passed), then refused the peer. The
            # module reads the peer's credentials before the peer accepts, so
            # wait for the peer to get round to accepting before it is killed.
            seen = ""
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and "CONN 1" not in seen:
                ready, _, _ = select.select([p.stdout], [], [], deadline - time.monotonic())
                if not ready:
                    break
                line = p.stdout.readline()
                if not line:
                    break
                seen += line
        finally:
            p.kill()
            p.communicate()
        assert "CONN 1" in seen, seen
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- session

SESSION_STACK = """
account required @MOD@ group=web-sudo socket=%(s)s
session required @MOD@ group=web-sudo socket=%(s)s
"""


def test_session_open_during_a_grant_records_and_close_marks_it(jit, stack):
    gid = grant(jit, dur="2h")
    stack.write(SESSION_STACK % {"s": jit.sock})
    argv = [driver_path(), stack.confdir, stack.service, ALICE_U, "acct", "open", "wait", "close", "wait",
            "--tty", "/dev/pts/77", "--rhost", "192.0.2.9"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        out = ""
        while "WAITING" not in out:
            line = p.stdout.readline()
            assert line, out
            out += line
        assert "STEP acct = 0 PAM_SUCCESS" in out and "STEP open = 0 PAM_SUCCESS" in out, out
        assert "ends in 1h59m (grant %s)" % gid in out or "ends in 2h00m (grant %s)" % gid in out, out
        db = jit._db()
        rows = [dict(r) for r in db.execute("SELECT * FROM sessions")]
        db.close()
        assert len(rows) == 1, rows
        s = rows[0]
        assert s["user"] == ALICE_U and s["grant_id"] == gid and s["pid"] == p.pid, s
        assert s["service"] == "ojit-test" and s["tty"] == "/dev/pts/77" and s["closed_at"] == 0, s
        assert s["pid_start"] > 0, s
        p.stdin.write("\n")
        p.stdin.flush()
        while out.count("WAITING") < 2:
            line = p.stdout.readline()
            assert line, out
            out += line
        assert "STEP close = 0 PAM_SUCCESS" in out, out
        db = jit._db()
        s = dict(db.execute("SELECT * FROM sessions").fetchone())
        db.close()
        assert s["closed_at"] >= s["opened_at"] > 0, s
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _logind_session_of(pid):
    """The session-N.scope of pid's cgroup, as sd_pid_get_session reads it."""
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().splitlines()
    for want in ("0::", "name=systemd:"):
        for line in lines:
            parts = line.split(":", 2)
            if len(parts) == 3 and (line.startswith("0::") if want == "0::" else parts[1] == "name=systemd"):
                units = [u for u in parts[2].split("/") if u and not u.endswith(".slice")]
                if units and units[0].startswith("session-") and units[0].endswith(".scope"):
                    return units[0][len("session-"):-len(".scope")]
                return ""
    return ""


def test_session_id_is_the_process_cgroups_not_the_pam_environment(jit, stack):
    """issue 15.6: XDG_SESSION_ID in the PAM environment (which a user can
    set in some stacks) named another user's session, and the grant's end
    would have run `loginctl terminate-session` on it. The daemon records
    the logind session of the calling process's cgroup, and the caller's
    pid as the kernel gives it."""
    gid = grant(jit, dur="2h")
    stack.write(SESSION_STACK % {"s": jit.sock})
    argv = [driver_path(), stack.confdir, stack.service, ALICE_U, "acct", "open", "wait", "close",
            "--env", "XDG_SESSION_ID=c999"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        out = ""
        while "WAITING" not in out:
            line = p.stdout.readline()
            assert line, out
            out += line
        assert "STEP open = 0 PAM_SUCCESS" in out, out
        db = jit._db()
        rows = [dict(r) for r in db.execute("SELECT * FROM sessions")]
        db.close()
        assert len(rows) == 1 and rows[0]["grant_id"] == gid, rows
        s = rows[0]
        assert s["logind_id"] != "c999", s
        assert s["logind_id"] == _logind_session_of(p.pid), s
        assert s["pid"] == p.pid, s
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_session_without_account_phase_asks_itself(jit, stack):
    """su -l style: no account step in this handle; open asks the daemon."""
    stack.write(SESSION_STACK % {"s": jit.sock})
    # no grant: the module steps aside and nothing is recorded
    r = stack.write("session [ignore=1 success=ok default=die] @MOD@ group=web-sudo socket=%s\n"
                    "session [default=die] pam_deny.so\nsession required pam_permit.so\n" % jit.sock
                    ).run(ALICE_U, "open", "close")
    assert r["open"] == "PAM_SUCCESS", r  # via the IGNORE jump
    gid = grant(jit)
    r = stack.write(SESSION_STACK % {"s": jit.sock}).run(ALICE_U, "open", "close")
    assert r["open"] == "PAM_SUCCESS" and r["close"] == "PAM_SUCCESS", r
    assert "(grant %s)" % gid in r.info_text, r
    db = jit._db()
    rows = [dict(x) for x in db.execute("SELECT * FROM sessions")]
    db.close()
    assert len(rows) == 1 and rows[0]["grant_id"] == gid and rows[0]["closed_at"] > 0, rows


def test_session_with_daemon_down_does_not_block(jit, stack):
    grant(jit)
    stack.write(SESSION_STACK % {"s": jit.sock} + "session required pam_permit.so\n")
    jit.daemon.stop()
    r = stack.run(ALICE_U, "open", "close")
    assert r["open"] == "PAM_SUCCESS" and r["close"] == "PAM_SUCCESS", r


# ---------------------------------------------------------------- auth request=prompt

PROMPT_STACK = """
auth required @MOD@ group=%(g)s socket=%(s)s request=prompt
auth required pam_permit.so
account required @MOD@ group=%(g)s socket=%(s)s
"""


def test_prompt_files_an_auto_request_and_the_account_passes(jit, stack):
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(
        ALICE_U, "auth", "acct", answers=["INC-7", "5m"], ruser=ALICE_U)
    assert r["auth"] == "PAM_SUCCESS", r  # the module ignores, pam_permit passes
    assert len(r.prompts) == 2, r
    assert r.prompts[0].startswith("Reason for access to web-sudo"), r
    assert r.prompts[1].startswith("Duration"), r
    rows = jit.grants()
    assert len(rows) == 1, rows
    g = rows[0]
    assert "okta-jit: grant %d is active." % g["id"] in r.infos, r
    assert r["acct"] == "PAM_SUCCESS", r
    assert g["user"] == ALICE_U and g["requester"] == ALICE_U and g["reason"] == "INC-7", g
    assert g["duration"] == 300 and g["state"] == "active", g
    assert ALICE in jit.members(G_WEB)
    # a user who now holds a grant is not asked again
    r = stack.run(ALICE_U, "auth", "acct", answers=["again", "5m"], ruser=ALICE_U)
    assert r.prompts == [] and r["acct"] == "PAM_SUCCESS", r
    assert len(jit.grants()) == 1


def test_prompt_default_duration(jit, stack):
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(ALICE_U, "auth", "acct",
                                                                         answers=["INC-8", ""], ruser=ALICE_U)
    assert r["acct"] == "PAM_SUCCESS", r
    assert jit.grants()[0]["duration"] == 30 * 60, jit.grants()


def test_prompt_on_the_owners_flow_waits_for_approval(jit, stack):
    r = stack.write(PROMPT_STACK % {"g": "prod-db-ssh", "s": jit.sock}).run(
        ALICE_U, "auth", "acct", answers=["INC-9 db repair", "2h"], ruser=ALICE_U)
    rows = jit.grants()
    assert len(rows) == 1 and rows[0]["state"] == "pending", rows
    assert rows[0]["requester"] == ALICE_U and rows[0]["reason"] == "INC-9 db repair", rows
    assert any("request %d is waiting for approval by" % rows[0]["id"] in i and "olivia" in i
               for i in r.infos), r
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert "pending" in r.error_text, r
    # once the owner approves, the account passes
    a = jit.cli("approve", rows[0]["id"], user="ojt-olivia")
    assert a.rc == 0, a
    r = stack.run(ALICE_U, "acct")
    assert r["acct"] == "PAM_SUCCESS", r


def test_prompt_empty_reason_files_nothing(jit, stack):
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(ALICE_U, "auth", "acct", answers=[""],
                                                                         ruser=ALICE_U)
    assert len(r.prompts) == 1, r  # no duration question after an empty reason
    assert r["auth"] == "PAM_SUCCESS" and r["acct"] == "PAM_PERM_DENIED", r
    assert jit.grants() == []
    assert jit.audit(event="requested") == []


@pytest.mark.parametrize("dur,text", [("forever", "bad duration"), ("3h", "at most 2h")])
def test_prompt_bad_duration_is_refused_and_said(jit, stack, dur, text):
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(ALICE_U, "auth", "acct",
                                                                         answers=["INC-1", dur], ruser=ALICE_U)
    assert any(e.startswith("okta-jit: request refused:") and text in e for e in r.errors), r
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert [g for g in jit.grants() if g["state"] in ("active", "pending")] == []


def test_prompt_refused_for_a_non_requester(jit, stack):
    # ojt-mallory is ACTIVE in Okta but not in ops-oncall, the flow's requesters
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run("ojt-mallory", "auth", "acct",
                                                                         answers=["INC-1", "5m"], ruser="ojt-mallory")
    assert any(e.startswith("okta-jit: request refused:") for e in r.errors), r
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert jit.grants() == []


@pytest.mark.parametrize("ruser", [None, BOB_U])
def test_prompt_files_nothing_for_a_user_who_is_not_the_caller(jit, stack, ruser):
    """15.7: before authentication PAM_USER is whatever the caller typed
    (sshd keyboard-interactive, login, su). Here the process is root's (as
    sshd is) and PAM_RUSER is unset (as under sshd) or names someone else
    (su run by ojt-bob): no question is asked and nothing is filed in
    ojt-alice's name, though her flow would have approved it at once."""
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(
        ALICE_U, "auth", "acct", answers=["INC-7", "5m"], rhost="203.0.113.9", ruser=ruser)
    assert r["auth"] == "PAM_SUCCESS", r  # the module ignores, pam_permit passes
    assert r.prompts == [], r
    assert r["acct"] == "PAM_PERM_DENIED", r
    assert jit.grants() == [], jit.grants()
    assert jit.audit(event="requested") == []
    assert ALICE not in jit.members(G_WEB)


def test_prompt_files_for_the_caller_by_real_uid_or_ruser(jit, stack):
    """The same stack files when the caller is the user: PAM_RUSER names
    her (sudo sets it), or the process runs with her real uid."""
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(
        ALICE_U, "auth", answers=["INC-7", "5m"], ruser=ALICE_U)
    assert len(r.prompts) == 2, r
    rows = jit.grants()
    assert len(rows) == 1 and rows[0]["user"] == ALICE_U and rows[0]["requester"] == ALICE_U, rows
    # ojt-bob at his own keyboard, no PAM_RUSER: his real uid is his
    confdir = tempfile.mkdtemp(prefix="ojit-pamconf-")
    try:
        os.chmod(confdir, 0o755)
        own = PamStack(confdir).write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock})
        os.chmod(os.path.join(confdir, own.service), 0o644)
        r = own.run(BOB_U, "auth", answers=["INC-8", "5m"], prefix=as_user_prefix(BOB_U))
        assert len(r.prompts) == 2, r
        rows = [g for g in jit.grants() if g["user"] == BOB_U]
        assert len(rows) == 1 and rows[0]["requester"] == BOB_U and rows[0]["reason"] == "INC-8", rows
    finally:
        shutil.rmtree(confdir, ignore_errors=True)


def test_request_off_never_prompts(jit, stack):
    for opt in ("", "request=off", "request=prompt request=off"):
        r = stack.write("auth required @MOD@ group=web-sudo socket=%s %s\nauth required pam_permit.so\n"
                        % (jit.sock, opt)).run(ALICE_U, "auth", answers=["INC-1", "5m"])
        assert r["auth"] == "PAM_SUCCESS" and r.prompts == [], (opt, r)
    assert jit.grants() == []


def test_prompt_with_daemon_down_does_not_block_auth(jit, stack):
    jit.daemon.stop()
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(ALICE_U, "auth", "acct",
                                                                         answers=["INC-1", "5m"])
    assert r["auth"] == "PAM_SUCCESS" and r.prompts == [], r
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r


# ---------------------------------------------------------------- leaks

# Valgrind cannot run an ASan binary: `make asan-check` sets OJIT_SANITIZED=1.
SANITIZED = os.environ.get("OJIT_SANITIZED") == "1"
VALGRIND = ["valgrind", "--quiet", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--error-exitcode=99", "--track-fds=no"]


@pytest.mark.skipif(SANITIZED, reason="ASan build (OJIT_SANITIZED=1): valgrind cannot run it")
def test_no_leaks_or_invalid_accesses_under_valgrind(jit, stack, fake_daemon):
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed")
    grant(jit, dur="2h")
    # allowed, 1000 times
    stack.write(SESSION_STACK % {"s": jit.sock} + "auth required @MOD@ group=web-sudo socket=%s request=prompt\n"
                % jit.sock)
    r = stack.run(ALICE_U, "cycles", "1000", "auth", "acct", "open", "close", prefix=VALGRIND, timeout=300)
    assert r.rc == 0, r
    assert "STEP cycles = 0 PAM_SUCCESS (1000 cycles" in r.out, r
    assert r["open"] == "PAM_SUCCESS" and r["close"] == "PAM_SUCCESS", r
    # refused with the full explanation, and the prompt path
    stack.write(PROMPT_STACK % {"g": "prod-db-ssh", "s": jit.sock})
    r = stack.run(ALICE_U, "cycles", "100", "auth", "acct", answers=["INC-1", "1h"], ruser=ALICE_U, prefix=VALGRIND,
                  timeout=300)
    assert r.rc == 0, r
    assert "STEP cycles = 6 PAM_PERM_DENIED (100 cycles, 100 messages)" in r.out, r
    assert r["acct"] == "PAM_PERM_DENIED" and len(r.prompts) == 2, r
    # the garbage paths and failsecure
    for mode in ("ok-without-decision", "truncated-payload", "huge-length", "error-reply-with-allow"):
        fake = fake_daemon(GARBAGE[mode])
        stack.account("group=web-sudo socket=%s timeout_ms=2000" % fake.path)
        r = stack.run(ALICE_U, "cycles", "20", prefix=VALGRIND, timeout=300)
        assert r.rc == 0, (mode, r)
        assert "STEP cycles = 9 PAM_AUTHINFO_UNAVAIL" in r.out, (mode, r)
    jit.daemon.stop()
    stack.account(acct_line(jit.sock))
    r = stack.run(ALICE_U, "cycles", "300", prefix=VALGRIND, timeout=300)
    assert r.rc == 0 and "STEP cycles = 9 PAM_AUTHINFO_UNAVAIL (300 cycles" in r.out, r


def test_no_fd_leak_over_many_cycles(jit, stack, fake_daemon, local_group):
    grant(jit, dur="2h")
    bg = local_group(BG_GROUP, members=[BOB_U])
    cases = [
        (acct_line(jit.sock), ALICE_U, "PAM_SUCCESS"),
        ("group=prod-db-ssh socket=%s" % jit.sock, ALICE_U, "PAM_PERM_DENIED"),
        (acct_line(jit.sock, "breakglass=%s" % bg), BOB_U, "PAM_SUCCESS"),
        ("group=web-sudo socket=%s timeout_ms=1000" % fake_daemon(GARBAGE["random-bytes"]).path, ALICE_U,
         "PAM_AUTHINFO_UNAVAIL"),
        ("group=web-sudo socket=%s/nope.sock" % os.path.dirname(jit.sock), ALICE_U, "PAM_AUTHINFO_UNAVAIL"),
        ("group=web-sudo bogus", ALICE_U, "PAM_SERVICE_ERR"),
    ]
    for opts, user, want in cases:
        r = stack.account(opts).run(user, "cycles", "300", timeout=120)
        assert "STEP cycles = " in r.out and want in r.out, (opts, r)
        assert r.fds is not None and r.fds[0] == r.fds[1], (opts, r.fds, r)


def test_second_prompt_while_a_request_is_pending(jit, stack):
    stack.write(PROMPT_STACK % {"g": "prod-db-ssh", "s": jit.sock})
    r = stack.run(ALICE_U, "auth", answers=["INC-1", "1h"], ruser=ALICE_U)
    assert any("waiting for approval" in i for i in r.infos), r
    r = stack.run(ALICE_U, "auth", "acct", answers=["INC-2", "1h"], ruser=ALICE_U)
    # a pending request is not asked for again: no prompt, and the refusal
    # names the request that waits
    assert "PROMPT:" not in r.out, r
    assert any("your request 1 is pending" in e for e in r.errors), r
    assert r["acct"] == "PAM_PERM_DENIED", r
    rows = jit.grants()
    assert len(rows) == 1 and rows[0]["reason"] == "INC-1", rows


def test_oversized_reason_files_nothing_and_does_not_crash(jit, stack):
    r = stack.write(PROMPT_STACK % {"g": "web-sudo", "s": jit.sock}).run(ALICE_U, "auth", "acct",
                                                                         answers=["R" * 70000, "5m"], ruser=ALICE_U)
    assert r.rc == 0, r
    assert r["auth"] == "PAM_SUCCESS" and r["acct"] == "PAM_PERM_DENIED", r
    assert any("reason is too long" in e for e in r.errors), r
    assert jit.grants() == []


def test_works_with_stdin_closed(stack, fake_daemon):
    """Inside sshd/sudo fd 0-2 may be closed: the module's socket must not
    take one of them (nor write its request there)."""
    fake = fake_daemon(_ok((T_DECISION, "allow"), (T_CODE, "allow"), (T_GROUP, "web-sudo")))
    stack.account("group=web-sudo socket=%s" % fake.path)
    p = subprocess.run(["/bin/sh", "-c", 'exec 0<&- "$@"', "sh", driver_path(), stack.confdir, stack.service,
                        ALICE_U, "acct", "acct"], capture_output=True, text=True, timeout=30)
    assert p.stdout.count("STEP acct = 0 PAM_SUCCESS") == 2, p.stdout + p.stderr
    assert fake.connections == 2 and all(d.startswith(b"OJIT") for d in fake.received), fake.received


def test_busy_daemon_is_waited_for_within_timeout(stack, sockdir):
    path = os.path.join(sockdir, "busy.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(0)
    held = []
    try:
        # fill the backlog: the daemon is busy for a moment
        for _ in range(8):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(path)
            except BlockingIOError:
                c.close()
                break
            held.append(c)
        else:
            pytest.skip("could not fill the listen backlog")

        answer = _ok((T_DECISION, "allow"), (T_CODE, "allow"), (T_GROUP, "web-sudo"))

        def serve():
            time.sleep(0.7)  # then catch up: accept everyone, answer each
            srv.settimeout(0.3)
            end = time.time() + 5
            while time.time() < end:
                try:
                    c, _ = srv.accept()
                except (socket.timeout, OSError):
                    continue
                c.settimeout(0.3)
                try:
                    if c.recv(65536):
                        c.sendall(answer)
                except OSError:
                    pass
                held.append(c)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        r = stack.account("group=web-sudo socket=%s timeout_ms=3000" % path).run(ALICE_U, "acct")
        t.join(6)
        assert r["acct"] == "PAM_SUCCESS", r
    finally:
        for c in held:
            c.close()
        srv.close()


def test_unavailable_answer_is_not_reported_as_a_silent_daemon(stack, fake_daemon):
    fake = fake_daemon(_ok((T_DECISION, "unavailable"), (T_CODE, "okta_unavailable"),
                           (T_MESSAGE, "okta-jit cannot reach Okta to check access: timeout")))
    r = stack.account("group=web-sudo socket=%s" % fake.path).run(ALICE_U, "acct")
    assert r["acct"] == "PAM_AUTHINFO_UNAVAIL", r
    assert "did not answer" not in r.error_text, r
