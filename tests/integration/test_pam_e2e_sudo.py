"""End to end with the real sudo: a sudoers.d drop-in points the test user's
sudo at its own PAM service (Defaults pam_service=ojit-sudo-testNNN, never
/etc/pam.d/sudo), and sudo runs as that user in a pseudo-terminal so the
module's request=prompt questions are answered like a person would."""
import os
import pty
import re
import select
import signal
import subprocess
import tempfile
import time

import pytest

from pam_fixtures import *  # noqa: F401,F403

SERVICE = "ojit-sudo-test%d" % RUN_ID
PAM_FILE = "/etc/pam.d/" + SERVICE
SUDOERS = "/etc/sudoers.d/ojit-test%d" % RUN_ID


def pam_text(sock, group="web-sudo", prompt=True):
    mod = module_path()
    return ("# okta-jit test stack (removed by the test)\n"
            "auth required %(m)s group=%(g)s socket=%(s)s%(p)s\n"
            "auth required pam_permit.so\n"
            "account required %(m)s group=%(g)s socket=%(s)s\n"
            "account required pam_permit.so\n"
            "session required pam_permit.so\n"
            % {"m": mod, "g": group, "s": sock, "p": " request=prompt" if prompt else ""})


@pytest.fixture
def sudo_setup(e2e_user, etc_files, pam_jit_factory):
    for tool in ("/usr/bin/sudo", "/usr/sbin/visudo"):
        if not os.path.exists(tool):
            pytest.skip("%s is not installed (packaging/install-deps.sh)" % tool)
    for p in (PAM_FILE, SUDOERS):
        if os.path.exists(p):
            pytest.fail("%s exists already; not touching it" % p)
    text = ("# okta-jit tests (removed by the test)\n"
            "Defaults:%(u)s pam_service=%(svc)s\n"
            "Defaults:%(u)s lecture=never\n"
            "Defaults:%(u)s timestamp_timeout=0\n"
            "%(u)s ALL=(ALL) ALL\n" % {"u": e2e_user, "svc": SERVICE})
    # a sudoers file that does not parse would break sudo for everyone:
    # check it before it goes in
    with tempfile.NamedTemporaryFile("w", suffix=".sudoers", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run(["visudo", "-cf", f.name], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        os.unlink(f.name)
    env = pam_jit_factory()
    etc_files(PAM_FILE, pam_text(env.sock))
    etc_files(SUDOERS, text, 0o440)
    r = subprocess.run(["visudo", "-c"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    env.set_stack = lambda **kw: etc_files(PAM_FILE, pam_text(env.sock, **kw))
    yield env
    # etc_files removes both files, e2e_user the user and sudo's timestamp


def run_in_pty(argv, answers, timeout=30):
    """Run argv with a pseudo-terminal as its controlling terminal; when the
    output shows a prompt (a key of answers, in order), type the answer.
    Returns (exit status, all output as text)."""
    answers = list(answers)
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    seen = 0
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            while answers and answers[0][0].encode() in out[seen:]:
                pat, ans = answers.pop(0)
                seen = out.index(pat.encode(), seen) + len(pat)
                os.write(fd, ans.encode() + b"\n")
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace").replace("\r\n", "\n")


def sudo_as(user, answers=(), timeout=30):
    argv = ["setpriv", "--reuid=%s" % user, "--regid=%s" % user, "--init-groups", "--reset-env",
            "/bin/sh", "-c", "cd /; sudo -k; sudo id -u"]
    return run_in_pty(argv, answers, timeout)


def test_refused_without_a_grant_and_told_why(sudo_setup, e2e_user):
    sudo_setup.set_stack(prompt=False)
    rc, out = sudo_as(e2e_user)
    assert rc != 0, out
    assert not re.search(r"^0$", out, re.M), out
    assert "okta-jit" in out and "needs an active grant for Okta group 'web-sudo'" in out, out
    assert "okta-jit request web-sudo --for 30m" in out, out
    assert "Reason for access" not in out, out
    refused = sudo_setup.audit(event="check_refused")
    assert refused and refused[-1]["user"] == e2e_user, refused
    assert "service=%s" % SERVICE in refused[-1]["detail"].split(), refused
    assert sudo_setup.grants() == []


def test_prompt_files_an_auto_grant_and_sudo_runs_then_refused_after_expiry(sudo_setup, e2e_user):
    rc, out = sudo_as(e2e_user, [("Reason for access to web-sudo", "INC-42 deploy"), ("Duration", "6s")])
    assert rc == 0, out
    assert re.search(r"^0$", out, re.M), out  # id -u as root
    rows = sudo_setup.grants()
    assert len(rows) == 1, rows
    g = rows[0]
    assert "okta-jit: grant %d is active." % g["id"] in out, out
    assert g["user"] == e2e_user and g["requester"] == e2e_user and g["reason"] == "INC-42 deploy", g
    assert g["duration"] == 6 and g["state"] == "active", g
    assert "via=pam" in sudo_setup.audit(g["id"], "requested")[-1]["detail"]
    # during the grant: no question, straight through
    rc, out = sudo_as(e2e_user)
    assert rc == 0 and re.search(r"^0$", out, re.M), out
    assert "Reason for access" not in out, out
    # after the end: asked again; an empty reason files nothing and sudo refuses
    wait_for(lambda: sudo_setup.grant(g["id"])["state"] == "expired", 20, what="grant expiry")
    rc, out = sudo_as(e2e_user, [("Reason for access to web-sudo", "")])
    assert rc != 0 and not re.search(r"^0$", out, re.M), out
    assert "okta-jit" in out and "needs an active grant" in out, out
    assert len(sudo_setup.grants()) == 1


def test_owners_flow_is_refused_naming_the_approval(sudo_setup, e2e_user):
    sudo_setup.set_stack(group="prod-db-ssh")
    rc, out = sudo_as(e2e_user, [("Reason for access to prod-db-ssh", "INC-43 db"), ("Duration", "1h")])
    assert rc != 0 and not re.search(r"^0$", out, re.M), out
    rows = sudo_setup.grants()
    assert len(rows) == 1 and rows[0]["state"] == "pending", rows
    assert rows[0]["requester"] == e2e_user and rows[0]["reason"] == "INC-43 db", rows
    assert re.search(r"okta-jit: request %d is waiting for approval by [^\n]*olivia" % rows[0]["id"], out), out
    assert "your request %d is pending" % rows[0]["id"] in out, out
