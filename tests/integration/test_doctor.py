"""`okta-jit doctor` and `okta-jit groups` (helper/cli/doctor.c, helper/cli/okta-jit.c)
against the fake Okta over real HTTPS."""
import json
import os
import re
import shutil

import pytest

from conftest import FLOWS, default_seed, gen_key, make_config
from helpers import (api_requests, binary, cli, config_line_number, run, set_config_line,
                     token_requests)

STEP_RE = re.compile(r"^(PASS|FAIL|SKIP|WARN)  (\S+)\s+(.*)$")

# Valgrind cannot run an ASan binary: `make asan-check` sets OJIT_SANITIZED=1.
SANITIZED = os.environ.get("OJIT_SANITIZED") == "1"


def steps(out):
    """[(result, step, message)] from doctor's text output."""
    found = []
    for line in out.splitlines():
        m = STEP_RE.match(line)
        if m:
            found.append(m.groups())
    return found


def results(out, name):
    return [r for r, s, _ in steps(out) if s == name]


def failed_steps(out):
    return [(s, msg) for r, s, msg in steps(out) if r == "FAIL"]


def fixes(out):
    return [l.strip()[len("fix: "):] for l in out.splitlines() if l.strip().startswith("fix: ")]


@pytest.fixture
def cfg(tmp_path, okta, rsa_key):
    return make_config(tmp_path, okta, rsa_key)


def doctor(cfg, *extra):
    return cli(cfg, "doctor", *extra)


# --------------------------------------------------------------------------
# doctor
# --------------------------------------------------------------------------

def test_doctor_all_pass_on_good_setup(cfg, okta):
    r = doctor(cfg)
    assert r.rc == 0, r
    st = steps(r.out)
    names = [s for _, s, _ in st]
    for want in ("config", "key", "token", "scope", "user", "owner", "group", "owners", "dpop"):
        assert want in names, r
    assert {res for res, _, _ in st} == {"PASS"}, r
    assert names.count("group") == 2  # prod-db-ssh and web-sudo
    assert "doctor: all steps passed" in r.out
    assert okta.state()["tokens_issued"] == 1
    assert len(token_requests(okta.requests())) == 1


def test_doctor_key_not_registered_fails_token_with_hint(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(default_seed([("k1", gen_key("rsa"))]))
    r = doctor(make_config(tmp_path, okta, rsa_key))
    assert r.rc == 1, r
    assert results(r.out, "token") == ["FAIL"]
    assert results(r.out, "scopes") == ["SKIP"]
    hint = " ".join(fixes(r.out))
    assert "Client ID" in hint and "public key" in hint, r
    assert okta.state()["tokens_issued"] == 0
    # invalid_client is not retried; nothing past the token endpoint is tried.
    assert len(token_requests(okta.requests())) == 1
    assert api_requests(okta.requests()) == []


def test_doctor_wrong_kid_with_two_keys_names_kid(tmp_path, okta_factory, rsa_key):
    okta = okta_factory(default_seed([("k1", gen_key("rsa")), ("k2", rsa_key)]))
    r = doctor(make_config(tmp_path, okta, rsa_key, kid="k9"))
    assert r.rc == 1, r
    fails = failed_steps(r.out)
    assert [s for s, _ in fails] == ["token"], r
    assert "kid" in fails[0][1], r


def test_doctor_missing_scope_points_to_okta_api_scopes(cfg, okta):
    okta.configure(scopes=["okta.users.read"])
    r = doctor(cfg)
    assert r.rc == 1, r
    assert results(r.out, "token") == ["FAIL"]
    assert any("Okta API Scopes" in f for f in fixes(r.out)), r


def test_doctor_dpop_required_names_the_setting(tmp_path, okta, rsa_key):
    # dpop = off: the requirement is reported with the setting that fixes it
    cfg = make_config(tmp_path, okta, rsa_key, extra_okta="dpop = off")
    okta.configure(dpop_required=True)
    r = doctor(cfg)
    assert r.rc == 1, r
    assert results(r.out, "token") == ["FAIL"]
    assert any("Require Demonstrating Proof of Possession" in f for f in fixes(r.out)), r


def test_doctor_no_admin_role_names_organization_administrator(cfg, okta):
    okta.configure(admin_role="NONE")
    r = doctor(cfg)
    assert r.rc == 1, r
    assert results(r.out, "token") == ["PASS"]
    assert results(r.out, "user") == ["FAIL"], r
    assert any("Organization Administrator" in f for f in fixes(r.out)), r
    assert 403 in [q["status"] for q in api_requests(okta.requests())]


MISSING_GROUP_FLOW = """
[flow ghost]
groups = no-such-group
requesters = ops-oncall
default_duration = 1h
max_duration = 4h
approval = auto
reason = optional
"""

APP_GROUP_FLOW = """
[flow crm]
groups = salesforce-users
requesters = ops-oncall
default_duration = 1h
max_duration = 4h
approval = auto
reason = optional
"""


def test_doctor_flow_with_missing_group_fails(tmp_path, okta, rsa_key):
    r = doctor(make_config(tmp_path, okta, rsa_key, flows=FLOWS + MISSING_GROUP_FLOW))
    assert r.rc == 1, r
    fails = failed_steps(r.out)
    assert len(fails) == 1, r
    assert fails[0][0] == "group" and "no-such-group" in fails[0][1] and "does not exist" in fails[0][1]
    # the other flows' groups are still checked
    assert results(r.out, "group").count("PASS") == 2


def test_doctor_flow_with_app_group_fails(tmp_path, okta, rsa_key):
    r = doctor(make_config(tmp_path, okta, rsa_key, flows=FLOWS + APP_GROUP_FLOW))
    assert r.rc == 1, r
    fails = failed_steps(r.out)
    assert len(fails) == 1, r
    assert fails[0][0] == "group" and "APP_GROUP" in fails[0][1], r


def test_doctor_broken_config_names_file_line_and_key(tmp_path, okta, rsa_key):
    cfg = make_config(tmp_path, okta, rsa_key)
    set_config_line(cfg, "org_url", "http://x")
    line = config_line_number(cfg, "org_url")
    r = doctor(cfg)
    assert r.rc == 1, r
    assert results(r.out, "config") == ["FAIL"]
    assert "%s:%d:" % (cfg, line) in r.out, r
    assert "org_url" in r.out
    assert results(r.out, "token") == ["SKIP"]
    assert okta.requests() == []


def test_doctor_config_errors_are_readable(tmp_path, okta, rsa_key):
    # Several config errors, each must reach the admin intact: the error
    # list is multi-line, and the line breaks must not turn into '?'.
    cfg = make_config(tmp_path, okta, rsa_key)
    set_config_line(cfg, "org_url", "http://x")
    set_config_line(cfg, "timeout", "99h")
    r = doctor(cfg)
    assert r.rc == 1, r
    assert "?" not in r.out, r
    assert "%s:%d:" % (cfg, config_line_number(cfg, "org_url")) in r.out
    assert "%s:%d:" % (cfg, config_line_number(cfg, "timeout")) in r.out


def test_doctor_key_mode_0644_says_chmod_600(tmp_path, okta, rsa_key):
    cfg = make_config(tmp_path, okta, rsa_key)
    os.chmod(str(tmp_path / "okta.key"), 0o644)
    r = doctor(cfg)
    assert r.rc == 1, r
    assert results(r.out, "key") == ["FAIL"]
    assert "chmod 600" in r.out, r
    assert results(r.out, "token") == ["SKIP"]
    assert okta.requests() == []


def test_doctor_json_good_setup(cfg, okta):
    r = cli(cfg, "--json", "doctor")
    assert r.rc == 0, r
    doc = json.loads(r.out)
    assert doc["ok"] is True and doc["schema"] == 1  # issue 22: the --json schema's version
    assert doc["steps"] and all(s["result"] == "PASS" for s in doc["steps"])
    assert {"config", "key", "token", "user", "group"} <= {s["step"] for s in doc["steps"]}


def test_doctor_json_failure(cfg, okta):
    okta.configure(scopes=["okta.users.read"])
    r = cli(cfg, "--json", "doctor")
    assert r.rc == 1, r
    doc = json.loads(r.out)
    assert doc["ok"] is False
    tok = [s for s in doc["steps"] if s["step"] == "token"]
    assert tok and tok[0]["result"] == "FAIL"
    assert "Okta API Scopes" in tok[0].get("fix", "")


def test_doctor_json_broken_config_is_valid_json(tmp_path, okta, rsa_key):
    cfg = make_config(tmp_path, okta, rsa_key)
    set_config_line(cfg, "org_url", "http://x")
    r = cli(cfg, "--json", "doctor")
    assert r.rc == 1, r
    doc = json.loads(r.out)
    assert doc["ok"] is False
    assert doc["steps"][0]["step"] == "config" and doc["steps"][0]["result"] == "FAIL"


def test_doctor_unknown_user_is_warn_not_fail(cfg, okta):
    r = doctor(cfg, "--user", "nobody@example.com")
    assert r.rc == 0, r
    assert results(r.out, "user") == ["WARN"], r
    assert failed_steps(r.out) == []


def test_doctor_explicit_user_is_read(cfg, okta):
    r = doctor(cfg, "--user", "bob@example.com")
    assert r.rc == 0, r
    assert results(r.out, "user") == ["PASS"]
    assert "00ubob000000000002" in r.out


# --------------------------------------------------------------------------
# groups
# --------------------------------------------------------------------------

OKTA_GROUPS = {"00gproddb000000001": ("prod-db-ssh", "prod-db"),
               "00gweb00000000002": ("web-sudo", "web"),
               "00gops00000000005": ("ops-oncall", "-"),
               "00gaudit000000006": ("audit-readers", "-"),
               "00gstage000000007": ("staging-ssh", "-")}


def test_groups_lists_only_okta_groups_across_pages(cfg, okta):
    r = cli(cfg, "groups")
    assert r.rc == 0, r
    rows = [l.split() for l in r.out.splitlines()[1:] if l.startswith("00g")]
    assert {row[0]: (row[1], row[2]) for row in rows} == OKTA_GROUPS
    assert len(rows) == len(OKTA_GROUPS)
    assert "salesforce-users" not in r.out and "Everyone" not in r.out
    assert "5 group(s)" in r.out
    pages = [q for q in api_requests(okta.requests()) if q["path"].startswith("/api/v1/groups?")]
    assert len(pages) == 3  # page_size 2
    assert all("after=" in q["path"] for q in pages[1:])


def test_groups_json(cfg, okta):
    r = cli(cfg, "--json", "groups")
    assert r.rc == 0, r
    # issue 22: an object with the schema's version, like every --json
    # document (it was the bare array)
    top = json.loads(r.out)
    assert top["schema"] == 1 and top["ok"] is True, top
    doc = top["groups"]
    assert {g["id"]: (g["name"], g["flow"] or "-") for g in doc} == OKTA_GROUPS
    assert all(g["type"] == "OKTA_GROUP" for g in doc)


def test_groups_search_narrows(cfg, okta):
    r = cli(cfg, "--json", "groups", "--search", "prod")
    assert r.rc == 0, r
    doc = json.loads(r.out)["groups"]
    assert [(g["name"], g["flow"]) for g in doc] == [("prod-db-ssh", "prod-db")]


def test_groups_okta_failure_exit_code(cfg, okta):
    okta.configure(admin_role="NONE")
    r = cli(cfg, "groups")
    assert r.rc == 4, r
    assert "Organization Administrator" in r.err


# --------------------------------------------------------------------------
# Valgrind (one run; deselect with -k "not valgrind")
# --------------------------------------------------------------------------

@pytest.mark.skipif(SANITIZED, reason="ASan build (OJIT_SANITIZED=1): valgrind cannot run it")
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_valgrind_doctor_no_definite_leaks(cfg, okta):
    p = run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
             "--error-exitcode=99", binary("okta-jit"), "--config", cfg, "doctor"], timeout=300)
    assert p.returncode != 99, p.stderr[-4000:]
    assert p.returncode == 0, p.stdout + p.stderr[-4000:]


@pytest.mark.parametrize("value,says", [
    ("postgresql://okta_jit:s3cret@db.example/okta_jit", "holds a password"),
    ("postgresql://db.example/okta_jit?user=okta_jit&pass%77ord=s3cret", "holds a password"),
    ("mysql://db.example/okta_jit", "postgresql://"),
    ("ledger.db", "absolute path"),
    ("sqlite:relative.db", "absolute path"),
])
def test_doctor_refuses_a_bad_ledger_setting(tmp_path, okta, rsa_key, value, says):
    cfg = make_config(tmp_path, okta, rsa_key)
    set_config_line(cfg, "ledger", value)
    line = config_line_number(cfg, "ledger")
    r = doctor(cfg)
    assert r.rc == 1, r
    assert "%s:%d: [daemon] ledger" % (cfg, line) in r.out and says in r.out, r
    assert "s3cret" not in r.out + r.err, "the password was echoed"


def test_doctor_role_gate_needs_a_shared_ledger_and_reads_only(tmp_path, okta, rsa_key):
    cfg = make_config(tmp_path, okta, rsa_key)
    text = open(cfg).read().replace("[daemon]\n", "[daemon]\nrole = gate\n", 1)
    open(cfg, "w").write(text)
    r = doctor(cfg)
    assert r.rc == 1 and "[daemon] role" in r.out and "postgresql://" in r.out, r
    text = open(cfg).read().replace("role = gate", "role = sometimes")
    open(cfg, "w").write(text)
    r = doctor(cfg)
    assert r.rc == 1 and "must be granter or gate" in r.out, r
    text = open(cfg).read().replace("role = sometimes", "role = granter")
    open(cfg, "w").write(text)
    r = doctor(cfg)
    assert results(r.out, "role") == ["PASS"] and "granter" in r.out, r


@pytest.mark.parametrize("section,says", [
    ("[notify hook]\nurl = http://hooks.example/x\nsecret_file = /etc/okta-jit/hook.secret\n",
     "[notify hook] url: must be an https:// URL"),
    ("[notify hook]\nurl = https://hooks.example/x\nsecret_file = /etc/okta-jit/hook.secret\nevents = granted, exploded\n",
     "[notify hook] events: unknown event 'exploded'"),
    ("[notify hook]\nsecret_file = /etc/okta-jit/hook.secret\n", "[notify hook] url: required key missing"),
    ("[notify hook]\nurl = https://hooks.example/x\nsecret_file = hook.secret\n",
     "[notify hook] secret_file: must be an absolute path"),
    ("[notify hook]\nurl = https://hooks.example/x\nsecret_file = /s\nformat = teams\n",
     "[notify hook] format: must be json or slack"),
    ("[notify bad name!]\nurl = https://hooks.example/x\n", "notify name 'bad name!'"),
])
def test_doctor_refuses_a_bad_notify_section(tmp_path, okta, rsa_key, section, says):
    cfg = make_config(tmp_path, okta, rsa_key, extra="\n" + section)
    r = doctor(cfg)
    assert r.rc == 1, r
    assert says in r.out and cfg + ":" in r.out, r.out


def test_doctor_reports_an_ambiguous_group_name(tmp_path, okta, rsa_key):
    # An imported APP_GROUP bears the name of the flows' requesters group
    # (and another one, of the integration owner's group): which group a name
    # means is then a configuration error, named by doctor. Old doctor never
    # looked at requesters at all.
    okta.control("groups", {"op": "add", "id": "00gadops000000021", "name": "ops-oncall", "type": "APP_GROUP"})
    cfg = make_config(tmp_path, okta, rsa_key)
    r = doctor(cfg)
    assert r.rc == 1, r
    fails = failed_steps(r.out)
    assert fails and all(s == "requesters" for s, _ in fails), r
    assert "'ops-oncall' is ambiguous" in fails[0][1] and "2 Okta groups" in fails[0][1], r
    assert any("exactly one" in f for f in fixes(r.out)), r
    # a same-named APP_GROUP beside a gated OKTA_GROUP is not ambiguous (the
    # gate uses the OKTA_GROUP's id) but is pointed out
    okta.control("groups", {"op": "add", "id": "00gadweb000000022", "name": "web-sudo", "type": "APP_GROUP"})
    r = doctor(cfg)
    warned = [m for res, s, m in steps(r.out) if res == "WARN" and s == "group"]
    assert warned and "web-sudo" in warned[0] and "00gweb00000000002" in warned[0], r
    # two OKTA_GROUPs of a flow's group name: a configuration error too
    okta.control("groups", {"op": "add", "id": "00gweb2000000023", "name": "web-sudo", "type": "OKTA_GROUP"})
    r = doctor(cfg)
    assert ("group", ) in [(s, ) for s, m in failed_steps(r.out) if "'web-sudo' is ambiguous" in m], r


# --------------------------------------------------------------------------
# doctor and the NSS half (issue 18): nsswitch.conf, sshd, the keys user and
# the cache, read in a private mount namespace that carries the test's own
# /etc/nsswitch.conf and /etc/ssh/sshd_config (the machine's are never
# touched). doctor only reads them and names the lines to add.
# --------------------------------------------------------------------------

# $1 nsswitch.conf, $2 sshd_config to bind over the machine's; a tmpfs on
# /run gives sshd -T its privilege separation folder.
_NS_SCRIPT = r"""
set -e
mount --bind "$1" /etc/nsswitch.conf
mount --bind "$2" /etc/ssh/sshd_config
mount -t tmpfs -o mode=0755 ojit-run /run
mkdir -m 0755 /run/sshd
shift 2
exec "$@"
"""

NSS_STEPS = ("nsswitch", "sshd", "keys-user", "nss-cache")


def nss_doctor(tmp_path, cfg, nsswitch, sshd_lines):
    hostkey = tmp_path / "hostkey"
    if not hostkey.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey)])
    (tmp_path / "nsswitch.conf").write_text(nsswitch)
    (tmp_path / "sshd_config").write_text("HostKey %s\n%s" % (hostkey, "".join(l + "\n" for l in sshd_lines)))
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _NS_SCRIPT, "sh",
            str(tmp_path / "nsswitch.conf"), str(tmp_path / "sshd_config"),
            binary("okta-jit"), "--config", cfg, "doctor"]
    from helpers import _timed
    return _timed(argv)


def nss_steps(out):
    return [(r, s, m) for r, s, m in steps(out) if s in NSS_STEPS]


def nss_config(tmp_path, okta, rsa_key, keys_user="nobody", cache=None, keys=True):
    cache = cache or str(tmp_path / "nss.cache")
    extra = ("\n[nss]\n%sgroups = web-sudo\nkeys_user = %s\ncache = %s\n"
             % ("keys_attribute = sshPublicKeys\n" if keys else "", keys_user, cache))
    return make_config(tmp_path, okta, rsa_key, extra=extra), cache


def write_cache(path, mode=0o644):
    with open(path, "wb") as f:
        f.write(b"cache")
    os.chmod(path, mode)


SSHD_OK = ["AuthorizedKeysCommand /usr/bin/okta-jit keys %u", "AuthorizedKeysCommandUser nobody"]


def test_doctor_nss_says_the_exact_lines_to_add(tmp_path, okta, rsa_key):
    # Debian's default nsswitch.conf and an sshd without the keys command:
    # every NSS step fails and names the line that fixes it. Old doctor
    # knew no [nss] and said nothing of the host's setup.
    cfg, cache = nss_config(tmp_path, okta, rsa_key, keys_user="ojt-nokeys-user")
    r = nss_doctor(tmp_path, cfg, "passwd:         files systemd\ngroup:          files systemd\n"
                   "shadow:         files\nhosts:          files dns\n", ["PasswordAuthentication no"])
    assert r.rc == 1, r
    got = nss_steps(r.out)
    assert [(res, s) for res, s, _ in got] == [("FAIL", "nsswitch"), ("FAIL", "nsswitch"), ("FAIL", "sshd"),
                                               ("FAIL", "keys-user"), ("FAIL", "nss-cache")], r
    fx = fixes(r.out)
    assert "in /etc/nsswitch.conf write the line 'passwd: files okta_jit systemd'" in fx, r
    assert "in /etc/nsswitch.conf write the line 'group: files okta_jit systemd'" in fx, r
    assert any("'AuthorizedKeysCommand /usr/bin/okta-jit keys %u'" in f and
               "'AuthorizedKeysCommandUser ojt-nokeys-user'" in f for f in fx), r
    assert "AuthorizedKeysCommand is 'none'" in got[2][2], r
    assert "'ojt-nokeys-user' is not a local account" in got[3][2], r
    assert cache in got[4][2] and "No such file" in got[4][2], r
    # nothing was edited (and the machine's files were never in reach)
    assert (tmp_path / "nsswitch.conf").read_text().startswith("passwd:         files systemd\n")


def test_doctor_nss_passes_when_the_host_is_set_up(tmp_path, okta, rsa_key):
    cfg, cache = nss_config(tmp_path, okta, rsa_key)
    write_cache(cache)
    r = nss_doctor(tmp_path, cfg, "# comment\npasswd: files [NOTFOUND=continue] okta_jit systemd\n"
                   "group: compat okta_jit\n", SSHD_OK)
    got = nss_steps(r.out)
    assert [(res, s) for res, s, _ in got] == [("PASS", "nsswitch"), ("PASS", "nsswitch"), ("PASS", "sshd"),
                                               ("PASS", "keys-user"), ("PASS", "nss-cache")], r
    assert "sshd runs '/usr/bin/okta-jit keys %u' as nobody" in got[2][2], r
    assert r.rc == 0, r


def test_doctor_nss_local_users_must_come_first_and_the_cache_must_be_roots_0644(tmp_path, okta, rsa_key):
    cfg, cache = nss_config(tmp_path, okta, rsa_key)
    write_cache(cache, 0o666)
    r = nss_doctor(tmp_path, cfg, "passwd: okta_jit files\ngroup: files okta_jit\n",
                   ["AuthorizedKeysCommand /usr/bin/okta-jit keys %u", "AuthorizedKeysCommandUser root"])
    assert r.rc == 1, r
    got = {(res, s, m) for res, s, m in nss_steps(r.out)}
    msgs = {s: m for res, s, m in got if res == "FAIL"}
    assert "names okta_jit before files: local accounts must win" in msgs["nsswitch"], r
    assert "in /etc/nsswitch.conf write the line 'passwd: files okta_jit'" in fixes(r.out), r
    assert "AuthorizedKeysCommandUser is 'root', not 'nobody'" in msgs["sshd"], r
    assert "mode 0666" in msgs["nss-cache"] and "the module refuses it" in msgs["nss-cache"], r
    assert ("PASS", "nsswitch") in {(res, s) for res, s, _ in got}  # the group line is right
    # an old cache is a warning: is okta-jitd running?
    os.chmod(cache, 0o644)
    os.utime(cache, (1, 1))
    r = nss_doctor(tmp_path, cfg, "passwd: files okta_jit\ngroup: files okta_jit\n", SSHD_OK)
    got = [(res, s, m) for res, s, m in nss_steps(r.out) if s == "nss-cache"]
    assert got and got[0][0] == "WARN" and "okta-jitd rewrites it" in got[0][2], r
    assert r.rc == 0, r


def test_doctor_nss_no_keys_attribute_skips_sshd_and_no_nss_section_says_nothing(tmp_path, okta, rsa_key):
    cfg, cache = nss_config(tmp_path, okta, rsa_key, keys=False)
    write_cache(cache)
    r = nss_doctor(tmp_path, cfg, "passwd: files okta_jit\ngroup: files okta_jit\n", [])
    assert ("SKIP", "sshd") in [(res, s) for res, s, _ in nss_steps(r.out)], r
    assert r.rc == 0, r
    plain = make_config(tmp_path, okta, rsa_key, name="plain.conf")
    r = nss_doctor(tmp_path, plain, "passwd: files\ngroup: files\n", [])
    assert nss_steps(r.out) == [], r
    assert r.rc == 0, r
