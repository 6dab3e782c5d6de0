"""Issue 19's story end to end in a real browser (web_browser_fixtures:
chromium headless, the fake Okta, okta-jitd with a webhook and [web] url,
okta-jit-web) and the real sshd with pam_okta_jit.so (test_pam_e2e_ssh's
harness, its PAM stack asking for prod-db-ssh).

alice (the local user ojt-pamNNN, Okta login ojt-pamNNN@example.com, in
ops-oncall) is refused by sshd with the web page named; she signs in and
asks for prod-db-ssh with a reason; olivia, the group's owner, gets the
webhook notification, follows its link, signs in and approves; alice's SSH
login then passes; alice ends the grant from her page and her SSH login is
refused.

OJIT_SCREENSHOT=PATH saves olivia's approvals page there (README's
docs/img/approvals.png is taken that way: `OJIT_SCREENSHOT=$PWD/docs/img/approvals.png
python3 -m pytest tests/integration/test_web_e2e_browser.py`); every run
saves it beside the test's files.

"e2e" in the name: left out of asan-check (sshd cannot load an ASan-built
PAM module); the attacks in test_web_browser.py run there.
"""
import os
import shutil

import pytest

from web_browser_fixtures import *  # noqa: F401,F403
from web_browser_fixtures import (ALICE_LOGIN, OLIVIA_LOGIN, By, card_of, my_grant_id, request_access, sign_in,
                                  submit, wait_for)
from daemon_fixtures import G_PRODDB
from pam_fixtures import E2E_UID_OKTA, E2E_USER, LoginRecords, module_path
from test_pam_e2e_ssh import PAM_FILE, SshServer


def ssh_passes(sshd):
    p = sshd.ssh()
    return p.returncode == 0 and p.stdout.strip() == "ok", p


class ProdDbSsh(SshServer):
    """test_pam_e2e_ssh's sshd, its PAM stack asking for prod-db-ssh."""

    def write_pam(self, sock):
        assert not os.path.exists(PAM_FILE) or self.pam_written, "refusing to overwrite " + PAM_FILE
        with open(PAM_FILE, "w") as f:
            f.write("# okta-jit test stack (removed by the test)\n"
                    "auth required pam_deny.so\n"
                    "account required %(m)s group=prod-db-ssh socket=%(s)s\n"
                    "account required pam_permit.so\n"
                    "session required pam_permit.so\n" % {"m": module_path(), "s": sock})
        self.pam_written = True


@pytest.fixture
def sshd(e2e_user):
    for tool in ("/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"):
        if not os.path.exists(tool):
            pytest.skip("%s is not installed (packaging/install-deps.sh)" % tool)
    if os.path.exists(PAM_FILE):
        pytest.fail("%s exists already; not touching it" % PAM_FILE)
    srv = ProdDbSsh(e2e_user)
    records = LoginRecords(e2e_user)
    try:
        srv.setup()
        srv.write_pam("/nonexistent.sock")
        srv.start()
        yield srv
    finally:
        srv.close()
        records.restore()
        assert not os.path.exists(PAM_FILE)


# ---------------------------------------------------------------- the story

def test_story_request_notify_approve_ssh_revoke(stack, browser, sshd, webhook, tmp_path):  # noqa: F811
    b, env = browser, stack.env
    sshd.write_pam(env.sock)
    p = sshd.ssh()
    assert p.returncode == 255 and "ok" not in p.stdout, p
    # the refusal names the web page beside the command
    assert "or in a browser: %s/request?group=prod-db-ssh" % stack.url in p.stderr, p.stderr

    # alice asks for prod-db-ssh with a reason
    sign_in(b, stack, ALICE_LOGIN, "/")
    request_access(b, "prod-db-ssh", "INC-4711: failover drill on the replica", duration="1h")
    assert "pending" in b.page_source, b.page_source[:3000]
    gid = my_grant_id(stack, E2E_USER, "prod-db-ssh", "pending")
    req = [a for a in env.audit(gid) if a["event"] == "requested"]
    assert req and req[0]["actor"] == E2E_USER and "channel=web" in req[0]["detail"], env.audit(gid)

    # olivia gets the notification and follows its link
    webhook.wait(lambda es: any(e["json"].get("grant_id") == gid for e in webhook.delivered()), 30,
                 what="the requested notification")
    note = [e["json"] for e in webhook.delivered() if e["json"].get("grant_id") == gid][0]
    assert note["event"] == "requested" and note["url"] == "%s/grants/%d" % (stack.url, gid), note
    sign_in(b, stack, OLIVIA_LOGIN, "/grants/%d" % gid)
    card = card_of(b, gid)
    assert "INC-4711: failover drill on the replica" in card.text and E2E_USER in card.text, card.text

    # her approvals page, for the README
    submit(b, b.find_element(By.LINK_TEXT, "Waiting for me"))
    card_of(b, gid)
    shot = str(tmp_path / "approvals.png")
    assert b.save_screenshot(shot)
    if os.environ.get("OJIT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["OJIT_SCREENSHOT"])
    with open(shot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    # approve from the grant's page, with a reason
    b.get(note["url"])
    card = card_of(b, gid)
    form = card.find_element(By.CSS_SELECTOR, 'form[action="/grants/%d/approve"]' % gid)
    form.find_element(By.NAME, "reason").send_keys("ok for the drill")
    submit(b, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Approved" in b.find_element(By.TAG_NAME, "h1").text, b.page_source[:3000]
    g = wait_for(lambda: env.grant(gid) if env.grant(gid)["state"] == "active" else None, 20,
                 what="the grant to become active")
    assert g["approver"] in ("ojt-olivia", OLIVIA_LOGIN), g
    assert E2E_UID_OKTA in env.members(G_PRODDB)
    appr = [a for a in env.audit(gid) if a["event"] == "approved"]
    assert appr and appr[0]["actor"] in ("ojt-olivia", OLIVIA_LOGIN) and "channel=web" in appr[0]["detail"], env.audit(gid)

    # alice's SSH login passes
    ok, p = ssh_passes(sshd)
    assert ok, (p.returncode, p.stdout, p.stderr, sshd.read_log()[-2000:])

    # alice ends it from her page; SSH is refused again
    sign_in(b, stack, ALICE_LOGIN, "/")
    card = card_of(b, gid)
    assert "left" in card.text, card.text  # time left shown
    submit(b, card.find_element(By.CSS_SELECTOR, 'form[action="/grants/%d/revoke"] button' % gid))
    assert "Ended" in b.find_element(By.TAG_NAME, "h1").text, b.page_source[:3000]
    wait_for(lambda: env.grant(gid)["state"] == "revoked", 20, what="the grant to be revoked")
    rev = [a for a in env.audit(gid) if a["event"] == "revoked"]
    assert rev and rev[0]["actor"] == E2E_USER and "channel=web" in rev[0]["detail"], env.audit(gid)
    p = sshd.ssh()
    assert p.returncode == 255 and "ok" not in p.stdout, (p.returncode, p.stdout, p.stderr)
    assert E2E_UID_OKTA not in env.members(G_PRODDB)


