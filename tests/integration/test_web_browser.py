"""Issue 19 in a real browser (web_browser_fixtures: chromium headless,
the fake Okta, okta-jitd, okta-jit-web), what people must not be able to
do from one, each with nothing changed:

* HTML and script in a reason are text on every page that shows it
  (alice's grants, the grant's page, olivia's approvals);
* a non-owner who opens the approve URL does not see the request, and
  his POST of approve (with his own valid CSRF token) is refused;
* a page on another origin that POSTs approve while olivia is signed in
  (her cookie goes along: 127.0.0.1 on another port is the same site) is
  refused by the Origin check.

The story with the real sshd is test_web_e2e_browser.py.
"""
import http.server
import threading

from web_browser_fixtures import *  # noqa: F401,F403
from web_browser_fixtures import (BOB_LOGIN, OLIVIA_LOGIN, By, card_of, heading, my_grant_id, request_access,
                                  sign_in, wait_for)

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> & "q"'


def no_live_markup(b):
    """The hostile reason became no element and ran nothing."""
    assert b.find_elements(By.TAG_NAME, "script") == [], b.page_source[:3000]
    assert b.find_elements(By.TAG_NAME, "img") == [], b.page_source[:3000]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in b.page_source, b.page_source[:3000]


def test_html_in_a_reason_is_text_on_every_page(stack, browser):
    b, env = browser, stack.env
    sign_in(b, stack, "ojt-alice@example.com", "/")
    request_access(b, "prod-db-ssh", HOSTILE)
    gid = my_grant_id(stack, "ojt-alice", "prod-db-ssh", "pending")
    assert env.grant(gid)["reason"] == HOSTILE
    for path in ("/", "/grants/%d" % gid):  # alice's grants, the grant's page
        b.get(stack.url + path)
        assert HOSTILE in card_of(b, gid).text
        no_live_markup(b)
    sign_in(b, stack, OLIVIA_LOGIN, "/approvals")  # olivia's approvals, the grant's page
    for path in ("/approvals", "/grants/%d" % gid):
        b.get(stack.url + path)
        assert HOSTILE in card_of(b, gid).text
        no_live_markup(b)


def test_a_non_owner_cannot_approve_and_a_cross_site_post_is_refused(stack, browser, tmp_path):
    b, env = browser, stack.env
    sign_in(b, stack, "ojt-alice@example.com", "/")
    request_access(b, "prod-db-ssh", "INC-12")
    gid = my_grant_id(stack, "ojt-alice", "prod-db-ssh", "pending")

    # bob (ops-oncall, not an owner) opens the approve link: not his to see
    sign_in(b, stack, BOB_LOGIN, "/grants/%d" % gid)
    assert "Not found" in b.find_element(By.TAG_NAME, "h1").text, b.page_source[:2000]
    assert b.find_elements(By.CSS_SELECTOR, 'form[action$="/approve"]') == []
    # ... and posts approve anyway, with his own session's CSRF token
    b.get(stack.url + "/request")
    token = b.find_element(By.CSS_SELECTOR, 'input[name="csrf"]').get_attribute("value")
    assert token
    b.execute_script(
        "var f=document.createElement('form');f.method='post';f.action=arguments[0];"
        "[['csrf',arguments[1]],['reason','me too']].forEach(function(p){var i=document.createElement('input');"
        "i.type='hidden';i.name=p[0];i.value=p[1];f.appendChild(i)});document.body.appendChild(f);f.submit();",
        "/grants/%d/approve" % gid, token)
    wait_for(lambda: "/approve" in b.current_url and heading(b) == "Refused", 10, what="the approve POST refused")
    assert "is not an owner of group 'prod-db-ssh'" in b.find_element(By.CSS_SELECTOR, "p.err").text
    assert env.grant(gid)["state"] == "pending" and env.grant(gid)["approver"] in ("", None)

    # olivia, signed in, visits a page on another origin that posts approve
    # to the web service (without her CSRF token; her cookie goes along:
    # 127.0.0.1 on another port is the same site)
    sign_in(b, stack, OLIVIA_LOGIN, "/approvals")
    card_of(b, gid)
    evil = ('<!DOCTYPE html><html><body><form id="f" method="post" action="%s/grants/%d/approve">'
            '<input type="hidden" name="reason" value="xsrf"></form>'
            '<script>document.getElementById("f").submit()</script></body></html>' % (stack.url, gid))

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = evil.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        b.get("http://127.0.0.1:%d/" % srv.server_address[1])
        wait_for(lambda: b.current_url.startswith(stack.url) and heading(b), 10, what="the cross-site POST")
    finally:
        srv.shutdown()
        srv.server_close()
    assert heading(b) != "Approved", b.page_source[:2000]
    assert "POST /grants/%d/approve from 127.0.0.1 refused: Origin/Referer" % gid in stack.web_logged()
    # nothing changed: still pending, never approved
    g = env.grant(gid)
    assert g["state"] == "pending" and g["approver"] in ("", None), g
    assert not [a for a in env.audit(gid) if a["event"] in ("approved", "granted")], env.audit(gid)
