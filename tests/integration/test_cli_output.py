"""The CLI as an operator reads it (issue 22): tables that never cut a
login or a group name, fit the terminal (a real pty, TIOCGWINSZ and
COLUMNS) and stay whole lines when piped; `audit --follow`, as text and as
JSON lines, ended by SIGINT or by a reader that went away; the `schema`
of every --json document; colours only on a colour terminal and never
with NO_COLOR; the exit codes and JSON OUTPUT of okta-jit(1); the bash
completion, sourced in a real bash."""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios

import pytest

from daemon_fixtures import *  # noqa: F401,F403

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAN = os.path.join(ROOT, "man", "okta-jit.1")
COMPLETION = os.path.join(ROOT, "packaging", "bash-completion", "okta-jit")

# 40 characters each: the issue's `okta-jit-demo-alice` showed as `okta-jit-dem`
LONG_USER = "okta-jit-demo-alice-with-a-long-name-x40"
LONG_GROUP = "okta-jit-demo-production-db-admins-gr-40"
LONG_UID = "00ulongname0000040"
LONG_GID = "00glonggroup000040"
LONG_FLOWS = JIT_FLOWS + """
[flow long]
groups = %s
requesters = ops-oncall
default_duration = 30m
max_duration = 2h
approval = auto
reason = optional
""" % LONG_GROUP
SGR = re.compile(r"\x1b\[[0-9;]*m")


def pytest_generate_tests(metafunc):
    # --follow's polls on SQLite and on PostgreSQL (where row ids become
    # visible in commit order); the output tests need one ledger only
    if metafunc.function.__name__.startswith("test_audit_follow") or "refusal_counts" in metafunc.function.__name__:
        run_on_both_ledgers(metafunc)  # noqa: F405


def test_names_are_forty_characters():
    assert len(LONG_USER) == 40 and len(LONG_GROUP) == 40


@pytest.fixture
def longjit(jit_factory):
    """okta-jitd with a flow whose group, and a requester whose login,
    have 40-character names, and one grant of it."""
    env = jit_factory(flows=LONG_FLOWS, start=False)
    env.okta.control("users", {"op": "add", "id": LONG_UID, "login": LONG_USER + "@example.com",
                               "status": "ACTIVE", "firstName": "Long", "lastName": "Name",
                               "email": LONG_USER + "@example.com"})
    env.okta.control("groups", {"op": "add", "id": LONG_GID, "name": LONG_GROUP, "type": "OKTA_GROUP"})
    env.okta.control("membership", {"op": "add", "group": G_OPS, "user": LONG_UID})
    env.daemon.start()
    r = env.request(LONG_GROUP, user=LONG_USER, dur="30m", reason="INC-4711 " + "the database is on fire " * 8)
    env.gid = r.grant["id"]
    return env


def run_pty(argv, cols, env=None):
    """argv with stdout on a pseudo-terminal cols wide; (rc, lines)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # "\n" as written, not "\r\n"
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env, cwd="/")
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the slave side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    p.wait(timeout=60)
    return p.returncode, out.decode("utf-8", "replace").split("\n")


def term_env(**kw):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "TERM")}
    env["TERM"] = "xterm-256color"
    env.update(kw)
    return {k: v for k, v in env.items() if v is not None}


# ---------------------------------------------------------------- tables

def test_piped_tables_print_whole_names_one_record_a_line(longjit):
    env = longjit
    r = env.cli("list", "--all", json_out=False)
    assert r.rc == EXIT_OK, r
    rows = [ln for ln in r.out.splitlines() if ln.split()[:1] == [str(env.gid)]]
    assert len(rows) == 1, r.out
    assert rows[0].split()[1:4] == [LONG_USER, LONG_GROUP, "active"], r.out
    assert "\x1b" not in r.out
    # the audit trail: every name whole, the reason's whole text (piped:
    # nothing is elided, whatever COLUMNS says)
    a = subprocess.run(env.cli_argv(["audit"], json_out=False), capture_output=True, text=True, cwd="/",
                       env=dict(os.environ, COLUMNS="40"), timeout=60)
    assert a.returncode == EXIT_OK, a.stderr
    lines = [ln for ln in a.stdout.splitlines() if LONG_GROUP in ln]
    assert lines and all(LONG_USER in ln for ln in lines), a.stdout
    assert any(("the database is on fire " * 8).strip() in ln for ln in lines), a.stdout
    assert "..." not in a.stdout
    head = a.stdout.splitlines()[0].split()
    assert head == ["AT", "EVENT", "GRANT", "ACTOR", "USER", "GROUP", "DETAIL"], a.stdout


def test_tables_fit_the_terminal_by_eliding_free_text_only(jit):
    ga = jit.request("web-sudo", dur="10m", reason="INC-1 " + "a very long reason " * 10,
                     as_user="ojt-alice").grant["id"]
    # (the ACTOR and USER columns name each person "name (login)": about
    # 120 columns before DETAIL, which then gives way)
    for cols, pty_cols, how in ((150, 150, {}), (135, 200, {"COLUMNS": "135"}), (130, 130, {})):
        # TIOCGWINSZ, unless COLUMNS is set: then COLUMNS (90 on a pty of 200)
        rc, lines = run_pty(jit.cli_argv(["audit"], json_out=False), pty_cols, env=term_env(NO_COLOR="1", **how))
        assert rc == EXIT_OK, lines
        lines = [ln for ln in lines if ln]
        assert lines[0].split() == ["AT", "EVENT", "GRANT", "ACTOR", "USER", "GROUP", "DETAIL"], lines
        assert all(len(ln) <= cols for ln in lines), (cols, lines)
        req = [ln for ln in lines if " requested " in ln]
        # the reason gave way, marked "..."; the names did not
        assert len(req) == 1 and req[0].endswith("...") and ("a very long reason " * 10).strip() not in req[0], req
        assert req[0].split()[3:10] == ["requested", str(ga), "ojt-alice", "(ojt-alice@example.com)", "ojt-alice",
                                        "(ojt-alice@example.com)", "web-sudo"], req
    # the same trail piped: whole lines, the reason whole
    r = jit.cli("audit", json_out=False)
    assert ("a very long reason " * 10).strip() in r.out, r.out


def test_names_stay_whole_on_a_narrow_terminal(longjit):
    env = longjit
    # the grants table has no free text at all; the audit's names are never
    # cut, the line runs past the terminal's edge instead
    rc, lines = run_pty(env.cli_argv(["list", "--all"], json_out=False), 30, env=term_env(NO_COLOR="1"))
    assert rc == EXIT_OK
    row = [ln for ln in lines if ln.split()[:1] == [str(env.gid)]]
    assert row and row[0].split()[1:3] == [LONG_USER, LONG_GROUP], lines
    rc, lines = run_pty(env.cli_argv(["audit"], json_out=False), 60, env=term_env(NO_COLOR="1"))
    assert rc == EXIT_OK
    rows = [ln for ln in lines if ln.split()[3:4] == ["requested"]]
    # (the user is "name (login)", issue 22's one way to name a person)
    assert len(rows) == 1 and [rows[0].split()[i] for i in (6, 8)] == [LONG_USER, LONG_GROUP], lines
    assert rows[0].endswith("..."), rows


def test_colours_only_on_a_colour_terminal_never_with_no_color(longjit):
    env = longjit
    argv = env.cli_argv(["list", "--all"], json_out=False)
    rc, lines = run_pty(argv, 200, env=term_env())
    assert rc == EXIT_OK
    coloured = "\n".join(lines)
    assert "\x1b[32mactive\x1b[0m" in coloured, coloured
    # columns are padded by the text's width, not the escape codes'
    assert [SGR.sub("", ln) for ln in lines if str(env.gid) in ln][0].split()[1:4] == \
        [LONG_USER, LONG_GROUP, "active"]
    for extra in ({"NO_COLOR": ""}, {"NO_COLOR": "1"}, {"TERM": "dumb"}, {"TERM": None}):
        rc, lines = run_pty(argv, 200, env=term_env(**extra))
        assert rc == EXIT_OK and "\x1b" not in "\n".join(lines), (extra, lines)
    # piped: never
    p = subprocess.run(argv, capture_output=True, text=True, env=term_env(), cwd="/", timeout=60)
    assert p.returncode == EXIT_OK and "\x1b" not in p.stdout


# ---------------------------------------------------------------- --json

def test_every_json_document_carries_schema_1(longjit):
    env = longjit
    docs = {
        "status": env.cli("status", user="ojt-alice"),
        "list": env.cli("list", "--all"),
        "audit": env.cli("audit"),
        "flows": env.cli("flows", user="ojt-alice"),
        "check": env.cli("check", "web-sudo", user="ojt-alice"),
        "request": env.request("web-sudo", dur="10m", as_user="ojt-alice"),
        "version": env.cli("version"),
        "drift": env.cli("drift"),
        "error": env.cli("audit", user="ojt-alice"),
    }
    for name, r in docs.items():
        assert r.j is not None, (name, r)
        assert r.j.get("schema") == 1 and "ok" in r.j, (name, r.j)
    assert docs["error"].j["ok"] is False and docs["error"].rc == EXIT_DENIED
    # a plain audit's events carry the row id as --follow's lines do
    # (AUDIT is paged now: the field costs no records), never a "cursor"
    ev = docs["audit"].j["events"]
    assert ev and all(isinstance(e["audit_id"], int) and "cursor" not in e for e in ev), ev


# ---------------------------------------------------------------- --follow

def _read_json_lines_until(p, pred, limit=200):
    got = []
    for _ in range(limit):
        line = p.stdout.readline()
        assert line, "okta-jit audit --follow ended early: %r" % (p.stderr.read(),)
        doc = json.loads(line)
        got.append(doc)
        if pred(got):
            return got
    raise AssertionError("not seen in %d lines: %r" % (limit, got))


def test_audit_follow_json_lines_until_sigint(jit):
    before = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    p = jit.cli_popen("audit", "--follow", "--since", "1h")
    # what was there before it started (--since), then what happens after
    got = _read_json_lines_until(p, lambda g: any(d["event"] == "granted" and d["id"] == before for d in g))
    gid = jit.request("web-sudo", dur="10m", as_user="ojt-bob").grant["id"]
    got += _read_json_lines_until(p, lambda g: any(d["event"] == "granted" and d["id"] == gid for d in g))
    assert all(d["schema"] == 1 and isinstance(d["audit_id"], int) for d in got), got
    ids = [d["audit_id"] for d in got]
    assert len(ids) == len(set(ids)), "a row printed twice: %r" % ids
    assert {"requested", "granted"} <= {d["event"] for d in got if d["id"] == gid}
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == EXIT_OK, (p.returncode, err)
    assert err == "", err
    # nothing lost or doubled next to the trail itself
    trail = {r["id"] for r in jit.audit() if r["grant_id"] in (before, gid)}
    seen = {d["audit_id"] for d in got} | {json.loads(ln)["audit_id"] for ln in out.splitlines() if ln}
    assert trail <= seen


def test_audit_follow_text_stops_quietly_when_the_reader_goes(jit):
    """`okta-jit audit --follow | head -n 2`: the follower notices the
    reader is gone at its next write and ends, 0, without a word."""
    r, w = os.pipe()
    argv = jit.cli_argv(["audit", "--follow"], json_out=False)
    p = subprocess.Popen(argv, stdout=w, stderr=subprocess.PIPE, text=True, cwd="/")
    jit.popens.append(p)
    os.close(w)
    with os.fdopen(r) as reader:
        # without --since: only what happens from now on, under one header
        gid = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
        head = reader.readline()
        assert head.split() == ["AT", "EVENT", "GRANT", "ACTOR", "USER", "GROUP", "DETAIL"], head
        seen = []
        while not any(" granted " in ln for ln in seen):
            ln = reader.readline()
            assert ln, "follow ended early"
            seen.append(ln)
        assert all(str(gid) in ln for ln in seen), seen
    # the reader is gone; the next event makes the follower write
    jit.request("web-sudo", dur="10m", as_user="ojt-bob")
    err = p.stderr.read()
    p.wait(timeout=60)
    assert p.returncode == EXIT_OK and err == "", (p.returncode, err)


def test_audit_follow_keeps_following_across_a_daemon_restart(jit):
    p = jit.cli_popen("audit", "--follow")
    ga = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    _read_json_lines_until(p, lambda g: any(d["event"] == "granted" and d["id"] == ga for d in g))
    jit.daemon.stop()
    # said once on stderr, then quiet while okta-jitd is away
    assert p.stderr.readline().startswith("okta-jit: "), "no word that okta-jitd went away"
    assert p.stderr.readline() == "okta-jit audit: following again when okta-jitd answers\n"
    jit.daemon.start()
    gb = jit.request("web-sudo", dur="10m", as_user="ojt-bob").grant["id"]
    got = _read_json_lines_until(p, lambda g: any(d["event"] == "granted" and d["id"] == gb for d in g))
    assert ga not in [d["id"] for d in got], "a row printed again after the restart: %r" % got
    assert p.stderr.readline() == "okta-jit audit: okta-jitd answers again\n"
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == EXIT_OK


def test_doctor_colours_its_results_only_on_a_colour_terminal(jit):
    argv = jit.cli_argv(["--config", jit.conf, "doctor"], json_out=False)
    rc, lines = run_pty(argv, 120, env=term_env())
    text = "\n".join(lines)
    assert "\x1b[32mPASS\x1b[0m  " in text, text
    rc, lines = run_pty(argv, 120, env=term_env(NO_COLOR="1"))
    text = "\n".join(lines)
    assert "\x1b" not in text and "\nPASS  " in "\n" + text, text


def test_audit_follow_is_root_only_and_refused_at_once(jit):
    p = subprocess.run(jit.cli_argv(["audit", "--follow"], user="ojt-alice"), capture_output=True, text=True,
                       cwd="/", timeout=60)
    assert p.returncode == EXIT_DENIED, p
    p = subprocess.run(jit.cli_argv(["list", "--follow"]), capture_output=True, text=True, cwd="/", timeout=60)
    assert p.returncode == EXIT_USAGE, p


def test_a_follower_does_not_force_out_the_minutes_refusal_counts(jit):
    """Non-root refusals are written once a minute per key (the first at
    once, the rest as one `repeated=N` row); an audit read forces the
    count out, a follower's poll (each second) must not, or the rate
    would become one row a second."""
    p = jit.cli_popen("audit", "--follow")
    for _ in range(3):
        assert jit.cli("audit", user="ojt-carol").rc == EXIT_DENIED
    # the first refusal is written at once: the follower shows it
    _read_json_lines_until(p, lambda g: any(d["event"] == "refused" and d["actor"] == "ojt-carol" for d in g))
    # a grant made after the refusals, seen by the follower: it has polled
    # since all three; the two after the first are still counted, not
    # written (on the old code its poll wrote them as `repeated=2`)
    gid = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    _read_json_lines_until(p, lambda g: any(d["event"] == "granted" and d["id"] == gid for d in g))
    q = "SELECT actor, detail FROM audit WHERE event = 'refused'"
    if jit.pgl is not None:
        rows = [(r["actor"], r["detail"]) for r in jit.pgl.rows(q)]
    else:
        db = jit._db()
        try:
            rows = [tuple(r) for r in db.execute(q)]
        finally:
            db.close()
    assert rows == [("ojt-carol", rows[0][1])] and "repeated" not in rows[0][1], rows
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == EXIT_OK


# ---------------------------------------------------------------- man page

def _man_section(name):
    text = open(MAN).read()
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH )" % re.escape(name), text, re.S | re.M)
    assert m, "okta-jit(1) has no %s section" % name
    return m.group(1)


def test_man_page_lists_every_exit_code():
    header = open(os.path.join(ROOT, "helper", "cli", "client.h")).read()
    codes = dict((int(v), n) for n, v in re.findall(r"\b(EXIT_[A-Z]+)\s*=\s*(\d+)", header))
    assert len(codes) >= 7, codes
    section = _man_section("EXIT STATUS")
    listed = {int(v) for v in re.findall(r"^\.IP (\d+)\b", section, re.M)}
    assert listed == set(codes), "EXIT STATUS lists %r, client.h has %r" % (sorted(listed), codes)
    for v, n in codes.items():
        assert n in section, "%s (%d) not named in EXIT STATUS" % (n, v)


def test_man_page_documents_each_commands_json():
    section = _man_section("JSON OUTPUT")
    assert re.search(r"schema", section) and '"schema": 1' in section.replace("\\(dq", '"').replace("\\", "")
    for cmd in ("request", "approve", "deny", "revoke", "extend", "status", "list", "flows", "check",
                "audit", "drift", "groups", "doctor", "version"):
        assert re.search(r"^\.T[PQ]\n\.B %s\b" % cmd, section, re.M), "JSON OUTPUT says nothing of %s" % cmd
    doc = open(os.path.join(ROOT, "docs", "cli-json.md")).read()
    assert '"schema": 1' in doc and "audit --follow" in doc


# ---------------------------------------------------------------- completion

def complete(words, cword=None, path_dir=None, user=None, extra=""):
    """COMPREPLY of _okta_jit for words (the last one being completed)."""
    cword = len(words) - 1 if cword is None else cword
    script = """
[ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
. %s
%s
COMP_WORDS=(%s)
COMP_CWORD=%d
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_okta_jit okta-jit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%%s\\n' "${COMPREPLY[@]}"
exit 0
""" % (COMPLETION, extra, " ".join("'%s'" % w for w in words), cword)
    env = dict(os.environ)
    if path_dir:
        env["PATH"] = path_dir + ":" + env["PATH"]
    p = subprocess.run(as_user_prefix(user) + ["bash", "--norc", "-c", script], capture_output=True, text=True,
                       env=env, cwd="/", timeout=60)
    assert p.returncode == 0, p
    return sorted(w for w in p.stdout.splitlines() if w)


def test_completion_commands_and_flags():
    # every command `okta-jit --help` names is offered
    usage = subprocess.run([binary("okta-jit"), "--help"], capture_output=True, text=True, timeout=30).stdout
    commands = set(re.findall(r"^  ([a-z]+)\b", usage.split("options:")[0], re.M))
    assert {"request", "audit", "doctor", "groups", "version"} <= commands, usage
    assert commands <= set(complete(["okta-jit", ""])), (commands, complete(["okta-jit", ""]))
    assert complete(["okta-jit", "re"]) == ["request", "revoke"]
    assert complete(["okta-jit", "--j"]) == ["--json"]
    assert complete(["okta-jit", "audit", "--f"]) == ["--follow"]
    assert complete(["okta-jit", "--json", "list", "--"]) == ["--all", "--help", "--pending", "--user"]
    assert complete(["okta-jit", "request", "web-sudo", "--"]) == ["--for", "--help", "--reason", "--user"]
    assert "1h" in complete(["okta-jit", "request", "web-sudo", "--for", ""])


def test_completion_groups_and_ids_from_okta_jit(jit, cli_copy):
    bindir = os.path.dirname(cli_copy)
    sock = ["--socket", jit.sock]
    # root with the configuration: the flows' groups, no daemon asked
    got = complete(["okta-jit", "--config", jit.conf, "request", ""], path_dir=bindir)
    assert got == ["prod-db-ssh", "staging-ssh", "web-sudo"], got
    # a user: what okta-jitd's FLOWS lets her request
    got = complete(["okta-jit"] + sock + ["check", "w"], path_dir=bindir, user="ojt-alice")
    assert got == ["web-sudo"], got
    # grant ids: hers to revoke; the requests olivia may approve
    ga = jit.request("web-sudo", dur="10m", as_user="ojt-alice").grant["id"]
    gb = jit.request("prod-db-ssh", dur="10m", reason="INC-9", as_user="ojt-bob").grant["id"]
    assert complete(["okta-jit"] + sock + ["revoke", ""], path_dir=bindir, user="ojt-alice") == [str(ga)]
    assert complete(["okta-jit"] + sock + ["approve", ""], path_dir=bindir, user="ojt-olivia") == [str(gb)]
    assert complete(["okta-jit", "--config", jit.conf, "audit", "--group", "prod"], path_dir=bindir) == ["prod-db-ssh"]
    # no daemon: no words, no noise
    assert complete(["okta-jit", "--socket", "/nonexistent", "revoke", ""], path_dir=bindir) == []


def test_completion_script_passes_shellcheck():
    if not os.path.exists("/usr/bin/shellcheck"):
        pytest.skip("shellcheck not installed (packaging/install-deps.sh installs it)")
    p = subprocess.run(["shellcheck", "-s", "bash", COMPLETION], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout
