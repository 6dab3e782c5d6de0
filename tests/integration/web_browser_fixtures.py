"""The browser tests' stack (issue 19): Debian's chromium, headless, driven
by selenium through chromedriver, against the real parts: the fake Okta
(its OIDC sign-in form, a seed Web app), okta-jitd on SQLite with a
[notify] webhook (JSON, "requested") and [web] url, and okta-jit-web on a
loopback port (plain HTTP: [web] url http://127.0.0.1:PORT, which both
okta-jitd and the web service allow on loopback alone).

Used by test_web_browser.py (the attacks, runs under asan-check too) and
test_web_e2e_browser.py (the story with the real sshd). Import with
`from web_browser_fixtures import *`.
"""
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

import pytest

from pam_fixtures import *  # noqa: F401,F403
from daemon_fixtures import binary
from pam_fixtures import E2E_USER, JIT_FLOWS, JitEnv, pam_seed, wait_for
from webhook_receiver import webhook  # noqa: F401

webdriver = pytest.importorskip("selenium.webdriver", reason="python3-selenium (packaging/install-deps.sh)")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WEB_CLIENT = "0oaWEBJIT0001"
WEB_SECRET = "s3cret-web-app-e2e"
OLIVIA_LOGIN = "ojt-olivia@example.com"
BOB_LOGIN = "ojt-bob@example.com"
ALICE_LOGIN = E2E_USER + "@example.com"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Fake Okta, okta-jitd ([notify hook] to the receiver, [web]) and
    okta-jit-web, all on loopback."""

    def __init__(self, workdir, okta_factory, rsa_key, cli_copy, webhook):
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        seed = pam_seed(rsa_key)
        seed["web_apps"] = [{"client_id": WEB_CLIENT, "client_secret": WEB_SECRET,
                             "redirect_uris": [self.url + "/callback"]}]
        self.okta = okta_factory(seed, name="web-okta")
        self.env = JitEnv(workdir, self.okta, rsa_key, cli_copy, flows=JIT_FLOWS)
        secret_file = os.path.join(workdir, "hook.secret")
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("whsec-browser-e2e\n")
        self.web_sock = os.path.join(self.env.sockdir, "web.sock")
        with open(self.env.conf, "a") as f:
            f.write("\n[notify hook]\nurl = %s\nsecret_file = %s\nformat = json\nca_file = %s\n"
                    "events = requested\n"
                    "\n[web]\nurl = %s\nclient_id = %s\nlisten = 127.0.0.1:%d\nsocket = %s\n"
                    % (webhook.url, secret_file, webhook.ca, self.url, WEB_CLIENT, self.port, self.web_sock))
        self.env.daemon.start()
        assert os.path.exists(self.web_sock), self.env.daemon.log()[-2000:]
        client_secret = os.path.join(workdir, "web-client-secret")
        fd = os.open(client_secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(WEB_SECRET + "\n")
        self.web_log = os.path.join(workdir, "okta-jit-web.log")
        self._log = open(self.web_log, "w")
        self.web = subprocess.Popen([binary("okta-jit-web"), "--config", self.env.conf, "--client-secret", client_secret],
                                    stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                assert self.web.poll() is None and time.monotonic() < deadline, self.web_logged()
                time.sleep(0.05)

    def web_logged(self):
        with open(self.web_log) as f:
            return f.read()

    def close(self):
        if self.web.poll() is None:
            self.web.terminate()
            self.web.wait(10)
        self._log.close()
        self.env.close()


@pytest.fixture
def stack(tmp_path, okta_factory, rsa_key, local_users, cli_copy, webhook):  # noqa: F811
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(exe):
            pytest.skip("%s is not installed (packaging/install-deps.sh)" % exe)
    s = Stack(str(tmp_path / "stack"), okta_factory, rsa_key, cli_copy, webhook)
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (packaging/install-deps.sh)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=820,900", "--ignore-certificate-errors", "--no-first-run",
              "--disable-extensions", "--disable-background-networking"):
        opts.add_argument(a)
    home = os.path.join("/tmp", "ojit-chromium-%d" % os.getpid())
    opts.add_argument("--user-data-dir=" + home)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------- browser steps

def sign_in(b, stack, login, path="/"):
    """A fresh browser session: open path, go through Okta's form as login,
    land back on path."""
    b.delete_all_cookies()  # 127.0.0.1, every port: the web and Okta alike
    b.get(stack.url + path)
    assert b.current_url.startswith(stack.okta.url + "/oauth2/v1/authorize"), b.current_url
    b.find_element(By.CSS_SELECTOR, 'input[name="login"][value="%s"]' % login).click()
    b.find_element(By.ID, "signin").click()
    want = urllib.parse.urlsplit(stack.url + path).path

    def landed():
        # through /callback and its redirect: retried while the page changes
        try:
            return (urllib.parse.urlsplit(b.current_url).path == want and
                    b.execute_script("return document.readyState") == "complete" and
                    login in b.find_element(By.CSS_SELECTOR, "nav .who").text)
        except WebDriverException:
            return False
    try:
        wait_for(landed, 15, what="back from Okta at %s" % path)
    except AssertionError:
        raise AssertionError("sign-in as %s did not land on %s: %s\n%s" % (login, path, b.current_url,
                                                                          b.page_source[:2000]))


def submit(b, button):
    """Click a form's button (or a link) and wait for the page that answers it."""
    from selenium.webdriver.support.ui import WebDriverWait
    old = b.find_element(By.TAG_NAME, "html")
    button.click()

    def old_page_gone(_):
        # EC.staleness_of catches only StaleElementReferenceException;
        # chromium may instead answer "Node with given id does not belong
        # to the document" (a plain WebDriverException) for the same fact.
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True
    WebDriverWait(b, 20).until(old_page_gone)
    WebDriverWait(b, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def heading(b):
    """The page's h1 once the page is there ("" while it changes)."""
    try:
        if b.execute_script("return document.readyState") != "complete":
            return ""
        return b.find_element(By.TAG_NAME, "h1").text
    except WebDriverException:
        return ""


def card_of(b, gid):
    for c in b.find_elements(By.CSS_SELECTOR, "div.card"):
        if c.find_element(By.CSS_SELECTOR, "a").text == "#%d" % gid:
            return c
    raise AssertionError("no card for grant %d on %s:\n%s" % (gid, b.current_url, b.page_source[:3000]))


def request_access(b, group, reason, duration=None):
    submit(b, b.find_element(By.LINK_TEXT, "Request access"))
    forms = [f for f in b.find_elements(By.CSS_SELECTOR, 'form[action="/request"]')
             if group in f.find_element(By.NAME, "group").text]
    assert forms, b.page_source[:3000]
    f = forms[0]
    from selenium.webdriver.support.ui import Select
    Select(f.find_element(By.NAME, "group")).select_by_value(group)
    if duration is not None:
        Select(f.find_element(By.NAME, "duration")).select_by_value(duration)
    f.find_element(By.NAME, "reason").send_keys(reason)
    submit(b, f.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    h1 = b.find_element(By.TAG_NAME, "h1").text
    assert h1 == "Requested", (h1, b.page_source[:3000])


def my_grant_id(stack, user, group, state=None):
    rows = [g for g in stack.env.grants() if g["user"] == user and g["grp"] == group
            and (state is None or g["state"] == state)]
    assert len(rows) == 1, stack.env.grants()
    return rows[0]["id"]


