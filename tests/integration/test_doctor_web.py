"""`okta-jit doctor` on [web] (issue 19): the web service's setup, each
finding with its fix. A good setup (group okta-jit-web, the client secret
0600, okta-jitd running with its web socket 0660 root:okta-jit-web, the
org's keys reachable) passes every web step; a broken one (no url, a
readable secret, no group, the socket root's alone, the keys endpoint
failing) fails each with a message that says what is wrong.

The group okta-jit-web exists only inside a private mount namespace (an
/etc/group of the test's bind-mounted over the host's), for okta-jitd and
for doctor alike: the host's own groups are never changed."""
import os
import re

from daemon_fixtures import *  # noqa: F401,F403
from helpers import _timed, binary

STEP_RE = re.compile(r"^(PASS|FAIL|SKIP|WARN)  (\S+)\s+(.*)$")
WEB_STEPS = ("web", "web-secret", "web-group", "web-socket", "web-keys")
WEB_GID = 64917

_NS = r"""
set -e
mount --bind "$1" /etc/group
shift
exec "$@"
"""


def web_steps(out):
    """{step: (result, message + following lines)} for the web steps."""
    found, cur = {}, None
    for line in out.splitlines():
        m = STEP_RE.match(line)
        if m:
            cur = m.group(2) if m.group(2) in WEB_STEPS else None
            if cur:
                found[cur] = [m.group(1), m.group(3)]
        elif cur and line.startswith("      "):
            found[cur][1] += "\n" + line.strip()
    return {k: tuple(v) for k, v in found.items()}


def group_file(tmp_path, with_web_group):
    with open("/etc/group") as f:
        text = "".join(l for l in f if not l.startswith("okta-jit-web:"))
    if with_web_group:
        text += "okta-jit-web:x:%d:\n" % WEB_GID
    p = tmp_path / ("group-%s" % ("web" if with_web_group else "none"))
    p.write_text(text)
    return str(p)


def ns_prefix(groups):
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _NS, "sh", groups]


def web_setup(jit_factory, tmp_path, with_group, url=True, secret_mode=0o600):
    env = jit_factory(start=False)
    env.web_sock = os.path.join(env.sockdir, "web.sock")
    secret = tmp_path / "web-client-secret"
    secret.write_text("s3cret-web\n")
    os.chmod(secret, secret_mode)
    with open(env.conf, "a") as f:
        f.write("\n[web]\nclient_id = 0oaWEBJIT0001\n%ssocket = %s\nclient_secret_file = %s\n"
                % ("url = https://jit.example.com\n" if url else "", env.web_sock, secret))
    env.groups = group_file(tmp_path, with_group)
    env.daemon.prefix = ns_prefix(env.groups)
    env.daemon.start()
    assert os.path.exists(env.web_sock), env.daemon.log()[-2000:]
    return env


def doctor(env):
    return _timed(ns_prefix(env.groups) + [binary("okta-jit"), "--config", env.conf, "doctor"])


def test_doctor_web_good_setup_passes_every_web_step(jit_factory, tmp_path):
    env = web_setup(jit_factory, tmp_path, with_group=True)
    st = os.stat(env.web_sock)
    assert st.st_gid == WEB_GID and st.st_mode & 0o777 == 0o660
    r = doctor(env)
    got = web_steps(r.out)
    assert {k: v[0] for k, v in got.items()} == {s: "PASS" for s in WEB_STEPS}, r.out
    assert "url https://jit.example.com" in got["web"][1]
    assert "group okta-jit-web exists (gid %d)" % WEB_GID in got["web-group"][1]
    assert "signing key(s) for ID tokens" in got["web-keys"][1]
    assert any(x["path"].startswith("/oauth2/v1/keys") for x in env.okta.requests()), "keys not fetched"


def test_doctor_web_broken_setup_names_each_fault(jit_factory, tmp_path):
    env = web_setup(jit_factory, tmp_path, with_group=False, url=False, secret_mode=0o644)
    env.okta.faults({"path": "^/oauth2/v1/keys", "action": "status", "status": 503, "count": -1})
    r = doctor(env)
    assert r.rc == 1, r.out
    got = web_steps(r.out)
    assert {k: v[0] for k, v in got.items()} == {s: "FAIL" for s in WEB_STEPS}, r.out
    assert "[web] url: required key missing" in got["web"][1]
    assert "mode 0644" in got["web-secret"][1] and "readable by everyone" in got["web-secret"][1]
    assert "no group okta-jit-web" in got["web-group"][1]
    assert "group gid 0" in got["web-socket"][1] and "which does not exist" in got["web-socket"][1]
    assert "HTTP 503" in got["web-keys"][1]


def test_doctor_web_socket_skipped_while_okta_jitd_is_down(jit_factory, tmp_path):
    env = web_setup(jit_factory, tmp_path, with_group=True)
    env.daemon.stop()
    os.chmod(tmp_path / "web-client-secret", 0o640)
    got = web_steps(doctor(env).out)
    assert got["web-socket"][0] == "SKIP" and "does not answer" in got["web-socket"][1]
    assert got["web-secret"][0] == "FAIL" and "readable by its group" in got["web-secret"][1]
