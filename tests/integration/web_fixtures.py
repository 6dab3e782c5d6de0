"""A real okta-jitd (with [web]) and a real okta-jit-web beside it, the fake
Okta with an OIDC Web app, and a plain-HTTP "browser" that signs in through
the fake Okta's authorize form (issue 19). Used by test_web_audit_list.py
and by bench/web.py (`make bench-web`).

The ledger can be filled fast with pending requests (seed_pending): rows
written straight into SQLite, as the fleet and bench tests seed the ledger,
each a request of its own user for prod-db-ssh, which olivia owns in Okta
(so she may approve every one)."""
import http.client
import os
import socket
import ssl
import subprocess
import sqlite3
import time
import urllib.parse

from conftest import binary
from daemon_fixtures import G_PRODDB, JIT_FLOWS, JitEnv, jit_seed

WEB_CLIENT = "0oaWEBJIT0001"
WEB_SECRET = "s3cret-web-app-0001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebStack:
    """fake Okta + okta-jitd + okta-jit-web, all real processes."""

    def __init__(self, workdir, okta_factory, key, cli_path, flows=JIT_FLOWS, daemon_extra=None):
        os.makedirs(workdir, exist_ok=True)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        seed = jit_seed(key)
        seed["web_apps"] = [{"client_id": WEB_CLIENT, "client_secret": WEB_SECRET,
                             "redirect_uris": [self.url + "/callback"]}]
        self.okta = okta_factory(seed, name=os.path.basename(workdir) + "-okta")
        self.env = JitEnv(workdir, self.okta, key, cli_path, daemon_extra=daemon_extra, flows=flows)
        self.web_sock = os.path.join(self.env.sockdir, "web.sock")
        with open(self.env.conf, "a") as f:
            f.write("\n[web]\nclient_id = %s\nsocket = %s\n" % (WEB_CLIENT, self.web_sock))
        # okta-jit-web's own copy: okta-jitd takes only an https:// [web]
        # url, okta-jit-web also plain http on loopback (as here)
        self.web_conf = os.path.join(workdir, "okta-jit-web.conf")
        with open(self.env.conf) as f, open(self.web_conf, "w") as w:
            w.write(f.read() + "url = %s\nlisten = 127.0.0.1:%d\n" % (self.url, self.port))
        self.secret = os.path.join(workdir, "web-client-secret")
        with open(self.secret, "w") as f:
            f.write(WEB_SECRET + "\n")
        os.chmod(self.secret, 0o600)
        self.web_log = os.path.join(workdir, "okta-jit-web.log")
        self.proc = None

    def start(self):
        self.env.daemon.start()
        assert os.path.exists(self.web_sock), self.env.daemon.log()[-2000:]
        self._log = open(self.web_log, "w")
        self.proc = subprocess.Popen([binary("okta-jit-web"), "--config", self.web_conf,
                                      "--client-secret", self.secret],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("okta-jit-web did not start:\n" + open(self.web_log).read())
            time.sleep(0.05)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._log.close()
        self.env.close()

    def browser(self):
        return Browser(self)


class Browser:
    """Cookies and plain HTTP, as a browser without JavaScript."""

    def __init__(self, stack):
        self.stack = stack
        self.cookies = {}
        self.conn = None

    def _keep(self, r):
        for k, v in r.getheaders():
            if k.lower() != "set-cookie":
                continue
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if value == "" or "Max-Age=0" in v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def request(self, method, path, body=None, headers=None, keep_alive=False):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if body is not None:
            h.setdefault("Content-Type", "application/x-www-form-urlencoded")
            h.setdefault("Origin", self.stack.url)
        c = self.conn if keep_alive and self.conn is not None else \
            http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=60)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read().decode(errors="replace")
        self._keep(r)
        if keep_alive:
            self.conn = c
        else:
            c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def get(self, path, keep_alive=False):
        return self.request("GET", path, keep_alive=keep_alive)

    def sign_in(self, login, next_path="/"):
        """The authorization code flow: okta-jit-web's /signin, the fake
        Okta's authorize form posted as `login`, then /callback."""
        st, h, _ = self.get("/signin?next=" + urllib.parse.quote(next_path, safe=""))
        assert st in (302, 303) and "location" in h, (st, h)
        auth = urllib.parse.urlsplit(h["location"])
        params = dict(urllib.parse.parse_qsl(auth.query))
        params["login"] = login
        okta = self.stack.okta
        c = http.client.HTTPSConnection(auth.hostname, auth.port, timeout=10,
                                        context=ssl.create_default_context(cafile=okta.ca))
        c.request("POST", auth.path, body=urllib.parse.urlencode(params),
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        loc = r.getheader("Location")
        c.close()
        assert r.status == 302 and loc and loc.startswith(self.stack.url + "/callback?"), (r.status, loc)
        st, h, body = self.get(loc[len(self.stack.url):])
        assert st == 303, (st, body[:500], open(self.stack.web_log).read()[-2000:])
        return self


def seed_pending(env, n, group="prod-db-ssh", group_id=G_PRODDB, flow="prod-db", prefix="ojt-req"):
    """n pending requests, each of its own user (not a local account:
    nothing here logs in), straight into the SQLite ledger. Returns their
    ids, oldest first."""
    now = int(time.time())
    db = sqlite3.connect(env.ledger_path, timeout=30)
    try:
        first = db.execute("SELECT COALESCE(MAX(id), 0) FROM grants").fetchone()[0] + 1
        rows = [("%s%04d" % (prefix, i), "%s%04d@example.com" % (prefix, i), "00ureq%012d" % i, group, group_id, flow,
                 "%s%04d" % (prefix, i), "ticket <b>%d</b>" % i, "pending", 3600, now - n + i, now + 86400, now)
                for i in range(n)]
        db.executemany(
            "INSERT INTO grants (\"user\", okta_login, okta_user_id, grp, group_id, flow, requester, reason, state,"
            " duration, requested_at, pending_expires_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.commit()
        return list(range(first, first + n))
    finally:
        db.close()
