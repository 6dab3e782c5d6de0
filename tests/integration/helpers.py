"""Helpers shared by the integration tests: run the driver and the CLI,
read the fake Okta's request log, talk to a fake whose certificate the
conftest client would refuse.

The fixtures themselves live in tests/conftest.py; this file only adds
plain functions on top of them."""
import json
import os
import re
import ssl
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import binary, run  # noqa: E402

STATS_RE = re.compile(r"stats api_calls=(\d+) token_requests=(\d+) retries=(\d+) rate_limited=(\d+)")
ERROR_RE = re.compile(r"^error kind=(\w+): (.*)$", re.M)
TOKEN_PATH = "/oauth2/v1/token"


class Result:
    """One finished run of okta_driver or okta-jit."""

    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.elapsed = elapsed
        m = STATS_RE.search(proc.stderr)
        self.stats = None
        if m:
            self.stats = dict(zip(("api_calls", "token_requests", "retries", "rate_limited"),
                                  (int(x) for x in m.groups())))
        m = ERROR_RE.search(proc.stdout)
        self.kind = m.group(1) if m else None
        self.message = m.group(2) if m else None

    def __repr__(self):
        return "<rc=%r elapsed=%.2fs\n--- stdout\n%s--- stderr\n%s>" % (
            self.rc, self.elapsed, self.out, self.err)


def _timed(args, timeout=120, env=None):
    t0 = time.monotonic()
    p = run(args, timeout=timeout, env=env)
    return Result(p, time.monotonic() - t0)


def driver(cfg, *args, env=None, timeout=120):
    """okta_driver CONFIG COMMAND ARGS..."""
    return _timed([binary("tests/okta_driver"), cfg] + list(args), timeout=timeout, env=env)


def cli(cfg, *args, env=None, timeout=120):
    """okta-jit --config CONFIG ARGS..."""
    return _timed([binary("okta-jit"), "--config", cfg] + list(args), timeout=timeout, env=env)


def token_requests(reqs):
    return [r for r in reqs if r["path"].split("?")[0] == TOKEN_PATH]


def api_requests(reqs, prefix="/api/v1/"):
    return [r for r in reqs if r["path"].startswith(prefix)]


def by_method(reqs, *methods):
    return [r for r in reqs if r["method"] in methods]


def set_config_line(cfg_path, key, value):
    """Replace the value of `key = ...` in a config written by make_config."""
    with open(cfg_path) as f:
        text = f.read()
    new, n = re.subn(r"(?m)^%s = .*$" % re.escape(key), "%s = %s" % (key, value), text, count=1)
    assert n == 1, "no line %r in %s" % (key, cfg_path)
    with open(cfg_path, "w") as f:
        f.write(new)


def config_line_number(cfg_path, key):
    with open(cfg_path) as f:
        for i, line in enumerate(f, 1):
            if line.startswith(key + " ="):
                return i
    raise AssertionError("no line %r in %s" % (key, cfg_path))


def insecure_control(server, path, body=None):
    """The control API of a fake whose certificate does not verify
    (cert_mode untrusted / wronghost): the test itself must still read the
    request log, so it skips verification that the code under test must not."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + "/__control/" + path, data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def add_users(server, n, prefix="member"):
    """Add n ACTIVE users through the control API; return their ids."""
    ids = []
    for i in range(n):
        uid = "00u%s%07d" % (prefix[:6], i)
        uid = uid + "0" * (18 - len(uid))
        server.control("users", {"op": "add", "id": uid, "login": "%s%d@example.com" % (prefix, i),
                                 "status": "ACTIVE", "firstName": "M", "lastName": str(i),
                                 "email": "%s%d@example.com" % (prefix, i)})
        ids.append(uid)
    return ids


def add_membership(server, gid, uid):
    server.control("membership", {"op": "add", "group": gid, "user": uid})
