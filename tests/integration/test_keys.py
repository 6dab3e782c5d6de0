"""Issue 21: the Okta connector key in a TPM (a real software TPM, swtpm,
through OpenSSL's tpm2 provider), behind a PKCS#11 URI, in a systemd
credential; doctor's key steps; rotation without downtime; a TPM that
goes away mid-run. The fake Okta checks every client assertion's
signature against the app's registered public keys."""
import base64
import json
import os
import re
import stat
import subprocess
import threading
import time

import pytest

from conftest import CLIENT_ID, default_seed, gen_key, make_config, public_pem, write_private_key
from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, BOB, EXIT_OK, G_WEB, RAW_SCRIPT, frame, wait_for
from helpers import binary, cli, run, set_config_line
from tpm_fixtures import swtpm  # noqa: F401

STEP_RE = re.compile(r"^(PASS|FAIL|SKIP|WARN)  (\S+)\s+(.*)$")


def steps(out):
    return [m.groups() for m in (STEP_RE.match(l) for l in out.splitlines()) if m]


def step(out, name):
    found = [(r, msg) for r, s, msg in steps(out) if s == name]
    assert found, "no %s step in:\n%s" % (name, out)
    return found[0]


def use_key(cfg_path, spec, kid, tcti=None, extra=()):
    """Point [okta] private_key / key_id of a config at spec."""
    set_config_line(cfg_path, "private_key", spec)
    set_config_line(cfg_path, "key_id", kid)
    with open(cfg_path) as f:
        text = f.read()
    add = []
    if tcti:
        add.append("tpm2_tcti = %s" % tcti)
    add += list(extra)
    if add:
        text = text.replace("[okta]\n", "[okta]\n" + "\n".join(add) + "\n", 1)
    with open(cfg_path, "w") as f:
        f.write(text)


def seed_with(kid, pem):
    seed = default_seed([("k1", gen_key("ec"))])
    seed["clients"][0]["keys"] = [{"kid": kid, "public_key_pem": pem}]
    return seed


# --------------------------------------------------------------- TPM keys

@pytest.mark.parametrize("alg", ["ecc256:ecdsa-sha256", "rsa2048:rsassa-sha256"])
def test_doctor_with_a_tpm_handle_key(tmp_path, okta_factory, swtpm, alg):
    spec = swtpm.persistent_key(alg=alg)
    okta = okta_factory(seed_with("tpm1", swtpm.public_pem(spec[len("tpm2:"):])))
    cfg = make_config(tmp_path, okta, gen_key("ec"))
    use_key(cfg, spec, "tpm1", tcti=swtpm.tcti)
    r = cli(cfg, "doctor")
    assert r.rc == 0, r
    res, msg = step(r.out, "key")
    assert res == "PASS" and "TPM at persistent handle 0x81000002" in msg, r.out
    assert ("a RSA key" if alg.startswith("rsa") else "a EC P-256 key") in msg
    assert step(r.out, "key-age") == ("PASS", "%s: the key's age is unknown (a TPM handle, a PKCS#11 object or a "
                                      "credential has no date here); rotate it by your policy" % spec)
    res, msg = step(r.out, "key-export")
    assert res == "PASS" and "cannot be exported" in msg, r.out
    assert step(r.out, "token")[0] == "PASS"
    assert okta.state()["assertion_kids"].get("tpm1", 0) >= 1


def tss2_key(swtpm, path):
    """A TPM key made by the tpm2 provider, its TSS2 blob written to path
    (useless without this TPM)."""
    swtpm.tool("openssl", "genpkey", "-provider", "tpm2", "-provider", "default", "-propquery",
               "?provider=tpm2", "-algorithm", "EC", "-pkeyopt", "group:P-256", "-out", path)
    os.chmod(path, 0o600)
    return path


def tpm_jit(jit_factory, swtpm, spec, kid="tpm1", pub=None, dpop=False, start=True, daemon_extra=None):
    """okta-jitd whose Okta key is spec, in swtpm; the fake Okta's app
    holds only that key's public half."""
    env = jit_factory(start=False, daemon_extra=daemon_extra)
    pem = pub or swtpm.public_pem(spec[len("tpm2:"):] if spec.startswith("tpm2:") else spec)
    env.okta.control("client_keys", {"op": "add", "kid": kid, "public_key_pem": pem})
    env.okta.control("client_keys", {"op": "remove", "kid": "k1"})
    os.unlink(os.path.join(env.workdir, "okta.key"))
    use_key(env.conf, spec, kid, tcti=swtpm.tcti, extra=["dpop = on"] if dpop else [])
    if start:
        env.daemon.start()
    return env


def test_grant_lifecycle_and_dpop_with_a_tss2_key_file(jit_factory, swtpm, tmp_path):
    key = tss2_key(swtpm, str(tmp_path / "okta.tss2"))
    env = tpm_jit(jit_factory, swtpm, key, dpop=True, start=False)
    env.okta.configure(dpop_required=True)
    r = run([env.cli_path, "--config", env.conf, "doctor"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "loaded from the key file %s" % key in r.stdout and "cannot be exported" in r.stdout, r.stdout
    env.daemon.start()
    assert "Okta key: a EC P-256 key in the TPM" in env.daemon.log()
    g = env.request("web-sudo", dur="3s", as_user="ojt-alice").grant
    assert g["state"] == "active", g
    assert ALICE in env.members(G_WEB)
    c = env.cli("check", "web-sudo", user="ojt-alice")
    assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
    wait_for(lambda: ALICE not in env.members(G_WEB), 15, what="membership removed at the end")
    wait_for(lambda: env.grant(g["id"])["state"] == "expired", 5)
    st = env.okta.state()
    assert st["assertion_kids"].get("tpm1", 0) >= 1, st["assertion_kids"]
    # every API call carried a DPoP proof: the token was DPoP-bound
    api = [q for q in env.okta_requests() if q["path"].startswith("/api/v1/")]
    assert api and all(q["auth_scheme"] == "DPoP" for q in api), api[:3]


def test_a_handle_that_comes_to_hold_another_key_is_not_signed_with(jit_factory, swtpm):
    spec = swtpm.persistent_key()
    env = tpm_jit(jit_factory, swtpm, spec, start=False)
    env.okta.configure(token_lifetime=3)
    env.daemon.start()
    assert env.request("web-sudo", dur="1m", as_user="ojt-alice").grant["state"] == "active"
    # someone makes another key at the same handle while okta-jitd runs
    swtpm.tool("tpm2_evictcontrol", "-Q", "-C", "o", "-c", "0x81000002")
    swtpm.persistent_key(name_alg="sha384")
    time.sleep(3.5)
    r = env.request("web-sudo", dur="1m", as_user="ojt-bob", expect=None)
    assert r.rc == 4 and "now holds another key than at start" in r.j["message"], r
    before = env.okta.state()["assertion_kids"].get("tpm1", 0)
    assert "now holds another key than at start: restart okta-jitd after changing it" in env.daemon.log()
    # nothing was signed with the new key and sent to Okta
    reqs = [q for q in env.okta_requests() if q["path"].startswith("/oauth2/v1/token")]
    assert all(q["status"] == 200 for q in reqs), reqs
    assert env.okta.state()["assertion_kids"].get("tpm1", 0) == before


def test_grant_with_a_tpm_handle_key(jit_factory, swtpm):
    spec = swtpm.persistent_key(handle="0x81000003")
    env = tpm_jit(jit_factory, swtpm, spec)
    g = env.request("web-sudo", dur="1m", as_user="ojt-bob").grant
    assert g["state"] == "active", g
    assert BOB in env.members(G_WEB)
    log = env.daemon.log()
    assert "TPM at persistent handle 0x81000003" in log, log[-2000:]
    # the private half never came out: the provider cannot hand it over
    assert "BEGIN PRIVATE KEY" not in log


def test_doctor_warns_about_an_old_key_and_a_folder_others_may_write(tmp_path, okta, rsa_key):
    cfg = make_config(tmp_path, okta, rsa_key)
    key = str(tmp_path / "okta.key")
    r = cli(cfg, "doctor")
    assert r.rc == 0 and step(r.out, "key-age")[0] == "PASS" and step(r.out, "key-file")[0] == "PASS", r.out
    res, msg = step(r.out, "key-export")
    assert res == "PASS" and "can be exported" in msg and "okta-jit key new --tpm" in msg
    old = time.time() - 400 * 86400
    os.utime(key, (old, old))
    os.chmod(str(tmp_path), 0o777)
    try:
        r = cli(cfg, "doctor")
    finally:
        os.chmod(str(tmp_path), 0o755)
    res, msg = step(r.out, "key-age")
    assert res == "WARN" and "is 400 days old, more than [okta] key_max_age (365 days)" in msg, r.out
    res, msg = step(r.out, "key-file")
    assert res == "WARN" and "writable by others than root" in msg and "they can replace the key" in msg, r.out
    assert r.rc == 0  # warnings, not failures
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("[okta]\n", "[okta]\nkey_max_age = 30d\n", 1))
    young = time.time() - 20 * 86400
    os.utime(key, (young, young))
    assert step(cli(cfg, "doctor").out, "key-age")[0] == "PASS"
    young = time.time() - 40 * 86400
    os.utime(key, (young, young))
    assert "is 40 days old, more than [okta] key_max_age (30 days)" in step(cli(cfg, "doctor").out, "key-age")[1]


def test_key_show_prints_the_public_jwk_okta_holds(tmp_path, okta, rsa_key):
    cfg = make_config(tmp_path, okta, rsa_key)
    r = run([binary("okta-jit"), "--config", cfg, "--json", "key", "show"])
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["kid"] == "k1" and j["jwk"]["kty"] == "RSA" and "d" not in j["jwk"] and "p" not in j["jwk"]
    # the same public key the app holds: Okta's JWKS form of rsa_key
    n = rsa_key.public_key().public_numbers().n
    got = int.from_bytes(base64.urlsafe_b64decode(j["jwk"]["n"] + "=" * (-len(j["jwk"]["n"]) % 4)), "big")
    assert got == n
    r = run([binary("okta-jit"), "--config", cfg, "key", "show", "--next"])
    assert r.returncode == 3 and "next_private_key is not set" in r.stderr, r.stderr


# --------------------------------------------------------------- bad input: at start and in doctor

def start_fails(env):
    with pytest.raises(RuntimeError) as e:
        env.daemon.start(timeout=15)
    return str(e.value)


def test_pkcs11_uri_without_a_provider_fails_at_start_and_in_doctor(jit_factory):
    env = jit_factory(start=False)
    uri = "pkcs11:token=okta;object=okta-jit;type=private"
    set_config_line(env.conf, "private_key", uri)
    msg = start_fails(env)
    assert "[okta] private_key" in msg and "no PKCS#11 provider installed" in msg, msg
    assert env.conf in msg
    r = run([env.cli_path, "--config", env.conf, "doctor"])
    assert r.returncode != 0
    res, text = step(r.stdout, "key")
    assert res == "FAIL" and "no PKCS#11 provider installed" in text, r.stdout
    assert "pkcs11-provider" in r.stdout


def test_a_tpm_handle_that_names_nothing_fails_at_start_and_in_doctor(jit_factory, swtpm):
    env = tpm_jit(jit_factory, swtpm, "tpm2:handle:0x81000009", pub=public_pem(gen_key("ec")), start=False)
    msg = start_fails(env)
    assert "[okta] private_key: tpm2:handle:0x81000009 names no key in the TPM" in msg, msg
    assert "tpm2_getcap handles-persistent" in msg
    r = run([env.cli_path, "--config", env.conf, "doctor"])
    res, text = step(r.stdout, "key")
    assert res == "FAIL" and "names no key in the TPM" in text, r.stdout


def test_no_tpm_at_the_tcti_fails_at_start(jit_factory, swtpm):
    spec = swtpm.persistent_key()
    env = tpm_jit(jit_factory, swtpm, spec, start=False)
    swtpm.stop()
    msg = start_fails(env)
    assert "[okta] private_key: tpm2:handle:0x81000002" in msg and "is the TPM there?" in msg, msg


def test_a_tpm_key_okta_does_not_know_under_key_id_fails_in_doctor(jit_factory, swtpm):
    spec = swtpm.persistent_key()
    # the app holds another key under kid tpm1
    env = tpm_jit(jit_factory, swtpm, spec, pub=public_pem(gen_key("ec")), start=False)
    r = run([env.cli_path, "--config", env.conf, "doctor"])
    assert r.returncode != 0
    assert step(r.stdout, "key")[0] == "PASS"
    res, text = step(r.stdout, "token")
    assert res == "FAIL" and "signature is invalid" in text, r.stdout
    assert "key_id" in r.stdout


@pytest.mark.parametrize("spec, why", [
    ("tpm2:handle:0x01000002", "names no TPM key"),
    ("tpm2:0x81000002", "names no TPM key"),
    ("pkcs11:", "not a PKCS#11 URI"),
    ("credential:../etc/shadow", "a credential name is"),
    ("file.pem", "absolute path"),
])
def test_malformed_key_specs_name_the_line_and_the_forms(tmp_path, okta, spec, why):
    cfg = make_config(tmp_path, okta, gen_key("ec"))
    set_config_line(cfg, "private_key", spec)
    r = cli(cfg, "doctor")
    assert r.rc != 0
    assert re.search(r"%s:\d+: \[okta\] private_key: " % re.escape(cfg), r.out + r.err), r
    assert why in r.out + r.err, r


# --------------------------------------------------------------- systemd credentials
# The real LoadCredentialEncrypted= is tested under systemd (tests/systemd,
# make systemd-check); here the daemon's side: the credential directory as
# systemd lays it out, and its absence.

def test_credential_key_fails_at_start_without_the_credential(jit_factory):
    env = jit_factory(start=False)
    set_config_line(env.conf, "private_key", "credential:okta-key")
    env.daemon.env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    msg = start_fails(env)
    assert "[okta] private_key: credential:okta-key" in msg and "CREDENTIALS_DIRECTORY" in msg, msg
    assert "LoadCredentialEncrypted=okta-key:/etc/credstore.encrypted/okta-key" in msg, msg
    # the unit passes other credentials, not this one
    creds = os.path.join(env.workdir, "creds")
    os.makedirs(creds, mode=0o700)
    env.daemon.env["CREDENTIALS_DIRECTORY"] = creds
    msg = start_fails(env)
    assert "the unit passes no credential 'okta-key'" in msg, msg


@pytest.mark.skipif(not os.access("/usr/bin/systemd-creds", os.X_OK), reason="needs systemd-creds (systemd 250+)")
def test_doctor_decrypts_the_sealed_credential_and_says_when_it_cannot(tmp_path, okta, rsa_key):
    """Doctor runs outside the unit: it decrypts /etc/credstore.encrypted/NAME
    itself with systemd-creds, as LoadCredentialEncrypted= does at start."""
    name = "ojit-test-%s" % os.urandom(4).hex()
    store = "/etc/credstore.encrypted"
    made_store = not os.path.isdir(store)
    sealed = os.path.join(store, name)
    cfg = make_config(tmp_path, okta, rsa_key)
    plain = str(tmp_path / "okta.key")
    set_config_line(cfg, "private_key", "credential:" + name)
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    try:
        os.makedirs(store, mode=0o700, exist_ok=True)
        r = subprocess.run(["systemd-creds", "encrypt", "--with-key=host", "--name=" + name, plain, sealed],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        os.unlink(plain)
        d = subprocess.run([binary("okta-jit"), "--config", cfg, "doctor"], capture_output=True, text=True,
                           timeout=60, env=env)
        assert d.returncode == 0, d.stdout
        assert step(d.stdout, "key-sealed")[0] == "PASS"
        res, msg = step(d.stdout, "key")
        assert res == "PASS" and "systemd credential %s" % name in msg, d.stdout
        assert step(d.stdout, "token")[0] == "PASS"
        # sealed for another host (or damaged): doctor says it cannot be
        # decrypted, as the unit would not start
        with open(sealed, "w") as f:
            f.write(base64.b64encode(os.urandom(400)).decode() + "\n")
        d = subprocess.run([binary("okta-jit"), "--config", cfg, "doctor"], capture_output=True, text=True,
                           timeout=60, env=env)
        assert d.returncode != 0
        res, msg = step(d.stdout, "key")
        assert res == "FAIL" and "%s cannot be decrypted on this host" % sealed in msg, d.stdout
        assert "seal the key again on this host" in d.stdout
        assert step(d.stdout, "token")[0] == "SKIP"
    finally:
        if os.path.exists(sealed):
            os.unlink(sealed)
        if made_store:
            os.rmdir(store)


def test_credential_key_signs_and_grants(jit_factory, rsa_key):
    env = jit_factory(start=False)
    creds = os.path.join(env.workdir, "creds")
    os.makedirs(creds, mode=0o700)
    # what systemd writes: the decrypted credential, mode 0400, root's
    write_private_key(os.path.join(creds, "okta-key"), rsa_key, mode=0o400)
    os.unlink(os.path.join(env.workdir, "okta.key"))
    set_config_line(env.conf, "private_key", "credential:okta-key")
    env.daemon.env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
    env.daemon.start()
    assert "from the systemd credential okta-key" in env.daemon.log()
    g = env.request("web-sudo", dur="1m", as_user="ojt-alice").grant
    assert g["state"] == "active" and ALICE in env.members(G_WEB), g
    r = run([env.cli_path, "--config", env.conf, "doctor"], env={"CREDENTIALS_DIRECTORY": creds})
    res, text = step(r.stdout, "key")
    assert res == "PASS" and "systemd credential okta-key" in text, r.stdout
    assert "can be exported" in step(r.stdout, "key-export")[1]


# --------------------------------------------------------------- rotation

def okta_jit(env, *args):
    return run([env.cli_path, "--config", env.conf, "--socket", env.sock] + list(args))


def add_okta_lines(conf, *lines):
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("[okta]\n", "[okta]\n" + "".join(l + "\n" for l in lines), 1))


def new_key(env, tmp_path, kind):
    out = str(tmp_path / ("next.tss2" if kind == "tpm" else "next.pem"))
    args = ["--json", "key", "new", "--out", out] + (["--tpm"] if kind == "tpm" else [])
    r = okta_jit(env, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    made = json.loads(r.stdout)
    assert made["private_key"] == out and made["jwk"]["kid"] == made["kid"]
    assert set(made["jwk"]) >= {"kty", "crv", "x", "y", "kid"} and "d" not in made["jwk"]
    st = os.stat(out)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
    with open(out) as f:
        head = f.readline()
    assert head.startswith("-----BEGIN TSS2 PRIVATE KEY-----" if kind == "tpm" else "-----BEGIN PRIVATE KEY-----")
    return made


@pytest.mark.parametrize("kind", ["file", "tpm"])
def test_rotation_under_load_loses_no_check_and_no_grant(jit_factory, tmp_path, swtpm, kind):
    env = jit_factory(start=False)
    add_okta_lines(env.conf, "tpm2_tcti = %s" % swtpm.tcti)
    made = new_key(env, tmp_path, kind)
    # the admin adds the new public key to the app, beside the old one
    env.okta.control("client_keys", {"op": "add", "kid": made["kid"], "jwk": made["jwk"]})
    add_okta_lines(env.conf, "next_private_key = %s" % made["private_key"], "next_key_id = %s" % made["kid"])
    r = okta_jit(env, "doctor")
    assert r.returncode == 0, r.stdout
    assert step(r.stdout, "next-key")[0] == "PASS" and step(r.stdout, "next-key-okta")[0] == "PASS", r.stdout
    # short-lived tokens: several token requests fall inside the load
    env.okta.configure(token_lifetime=3)
    env.daemon.start()

    errors, done = [], {"grants": 0, "checks": 0}
    stop = threading.Event()

    def granter(user):
        while not stop.is_set():
            # as root, for the user: the per-user request rate is not the
            # point here, Okta's token is
            r = env.request("web-sudo", user=user, dur="1m", expect=None)
            if r.rc != EXIT_OK or r.grant.get("state") != "active":
                errors.append(("request", user, r))
                return
            v = env.cli("revoke", r.grant["id"])
            if v.rc != EXIT_OK:
                errors.append(("revoke", user, v))
                return
            done["grants"] += 1
            time.sleep(0.2)

    def checker():
        while not stop.is_set():
            c = env.cli("check", "web-sudo", user="ojt-olivia")
            # a definite answer every time: olivia holds no grant
            if c.rc != 6 or (c.j or {}).get("decision") != "deny":
                errors.append(("check", c))
                return
            done["checks"] += 1
            time.sleep(0.2)  # within okta-jitd's 10 requests a second per user

    threads = [threading.Thread(target=granter, args=(u,)) for u in ("ojt-alice", "ojt-bob")]
    threads.append(threading.Thread(target=checker))
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        r = okta_jit(env, "key", "rotate")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "okta-jitd switched to it" in r.stdout and "can be removed from the Okta app now" in r.stdout, r.stdout
        # the old key leaves the app, and every token now comes from the new one
        env.okta.control("client_keys", {"op": "remove", "kid": "k1"})
        env.okta.configure(revoke_all_tokens=True)
        time.sleep(5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not errors, errors[:3]
    assert done["grants"] >= 4 and done["checks"] >= 4, done
    kids = env.okta.state()["assertion_kids"]
    assert kids.get("k1", 0) >= 1 and kids.get(made["kid"], 0) >= 2, kids
    assert "rotated the Okta key: assertions are now signed with kid %s" % made["kid"] in env.daemon.log()
    assert "key-rotated" in [a["event"] for a in env.audit()]
    # the file says what okta-jitd does: a restart keeps the new key
    with open(env.conf) as f:
        text = f.read()
    assert "private_key = %s\n" % made["private_key"] in text and "key_id = %s\n" % made["kid"] in text
    assert "next_private_key" not in text and "next_key_id" not in text
    assert "# okta-jit key rotate, " in text
    env.daemon.stop()
    env.daemon.start()
    g = env.request("web-sudo", dur="1m", as_user="ojt-alice").grant
    assert g["state"] == "active", g


def test_rotate_refuses_a_next_key_okta_does_not_take(jit_factory, tmp_path, swtpm):
    env = jit_factory(start=False)
    made = new_key(env, tmp_path, "file")
    add_okta_lines(env.conf, "next_private_key = %s" % made["private_key"], "next_key_id = %s" % made["kid"])
    env.daemon.start()
    with open(env.conf) as f:
        before = f.read()
    r = okta_jit(env, "key", "rotate")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Okta refuses the next key (kid %s)" % made["kid"] in r.stderr and "nothing was changed" in r.stderr
    with open(env.conf) as f:
        assert f.read() == before
    # doctor says the same, and how to fix it
    d = okta_jit(env, "doctor")
    res, text = step(d.stdout, "next-key-okta")
    assert res == "FAIL" and "okta-jit key show --next" in d.stdout, d.stdout
    # and okta-jitd still signs with the old key
    g = env.request("web-sudo", dur="1m", as_user="ojt-alice").grant
    assert g["state"] == "active"
    assert made["kid"] not in env.okta.state()["assertion_kids"]


def test_rotate_with_okta_jitd_stopped_rewrites_the_config_for_its_next_start(jit_factory, tmp_path):
    env = jit_factory(start=False)
    made = new_key(env, tmp_path, "file")
    env.okta.control("client_keys", {"op": "add", "kid": made["kid"], "jwk": made["jwk"]})
    add_okta_lines(env.conf, "next_private_key = %s" % made["private_key"], "next_key_id = %s" % made["kid"])
    os.chmod(env.conf, 0o640)
    r = okta_jit(env, "key", "rotate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "okta-jitd is not running: it will use kid %s when it starts" % made["kid"] in r.stdout, r.stdout
    assert stat.S_IMODE(os.stat(env.conf).st_mode) == 0o640  # mode kept
    env.okta.control("client_keys", {"op": "remove", "kid": "k1"})
    env.daemon.start()
    assert env.request("web-sudo", dur="1m", as_user="ojt-alice").grant["state"] == "active"
    assert env.okta.state()["assertion_kids"].get(made["kid"], 0) >= 2  # rotate's test + the daemon's


@pytest.mark.skipif(not os.access("/usr/bin/systemd-creds", os.X_OK), reason="needs systemd-creds (systemd 250+)")
def test_rotate_to_a_sealed_credential_key(jit_factory, tmp_path):
    """The next key is a systemd credential: okta-jitd gets it from its unit
    ($CREDENTIALS_DIRECTORY, laid out here as systemd does), the root shell
    that runs doctor and key rotate from the sealed file."""
    env = jit_factory(start=False)
    made = new_key(env, tmp_path, "file")
    name = "ojit-test-%s" % os.urandom(4).hex()
    store = "/etc/credstore.encrypted"
    made_store = not os.path.isdir(store)
    sealed = os.path.join(store, name)
    creds = os.path.join(env.workdir, "creds")
    try:
        os.makedirs(store, mode=0o700, exist_ok=True)
        r = subprocess.run(["systemd-creds", "encrypt", "--with-key=host", "--name=" + name, made["private_key"],
                            sealed], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        os.unlink(made["private_key"])
        os.makedirs(creds, mode=0o700)
        r = subprocess.run(["systemd-creds", "decrypt", "--name=" + name, sealed, os.path.join(creds, name)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        os.chmod(os.path.join(creds, name), 0o400)
        env.okta.control("client_keys", {"op": "add", "kid": made["kid"], "jwk": made["jwk"]})
        add_okta_lines(env.conf, "next_private_key = credential:%s" % name, "next_key_id = %s" % made["kid"])
        env.daemon.env = dict(os.environ, CREDENTIALS_DIRECTORY=creds)
        env.daemon.start()
        shell = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
        d = subprocess.run([env.cli_path, "--config", env.conf, "doctor"], capture_output=True, text=True,
                           timeout=60, env=shell)
        assert d.returncode == 0, d.stdout
        assert step(d.stdout, "next-key")[0] == "PASS" and step(d.stdout, "next-key-okta")[0] == "PASS", d.stdout
        r = subprocess.run([env.cli_path, "--config", env.conf, "--socket", env.sock, "key", "rotate"],
                           capture_output=True, text=True, timeout=60, env=shell)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "okta-jitd switched to it" in r.stdout, r.stdout
        env.okta.control("client_keys", {"op": "remove", "kid": "k1"})
        env.okta.configure(revoke_all_tokens=True)
        assert env.request("web-sudo", dur="1m", as_user="ojt-alice").grant["state"] == "active"
        assert env.okta.state()["assertion_kids"].get(made["kid"], 0) >= 3  # doctor, rotate x2, the grant
        with open(env.conf) as f:
            assert "private_key = credential:%s\n" % name in f.read()
    finally:
        if os.path.exists(sealed):
            os.unlink(sealed)
        if made_store and os.path.isdir(store):
            os.rmdir(store)


def test_key_rotate_is_root_only_on_the_socket(jit_factory, tmp_path):
    env = jit_factory(start=False)
    made = new_key(env, tmp_path, "file")
    env.okta.control("client_keys", {"op": "add", "kid": made["kid"], "jwk": made["jwk"]})
    add_okta_lines(env.conf, "next_private_key = %s" % made["private_key"], "next_key_id = %s" % made["kid"])
    env.daemon.start()
    # type 17 (KEY_ROTATE) from an ordinary user: refused, key unchanged
    req = json.dumps({"socket": env.sock, "frames": [{"hex": frame(17).hex()}]})
    p = subprocess.run(["setpriv", "--reuid=ojt-mallory", "--regid=ojt-mallory", "--init-groups",
                        "/usr/bin/python3", "-c", RAW_SCRIPT], input=req, capture_output=True, text=True,
                       timeout=30)
    out = json.loads(p.stdout)
    assert out[0]["type"] == 101, out
    assert ["21", "forbidden"] in [[str(t), v] for t, v in out[0]["fields"]], out
    assert made["kid"] not in env.okta.state()["assertion_kids"]


# --------------------------------------------------------------- the TPM goes away mid-run

def test_a_tpm_that_goes_away_mid_run(jit_factory, swtpm):
    spec = swtpm.persistent_key()
    env = tpm_jit(jit_factory, swtpm, spec, daemon_extra={"cache_ttl": "2s"}, start=False)
    env.okta.configure(token_lifetime=3)
    env.daemon.start()
    g = env.request("web-sudo", dur="5m", as_user="ojt-alice").grant
    short = env.request("web-sudo", dur="5s", as_user="ojt-bob").grant
    assert g["state"] == "active" and short["state"] == "active"
    assert ALICE in env.members(G_WEB) and BOB in env.members(G_WEB)
    assert env.cli("check", "web-sudo", user="ojt-alice").j["decision"] == "allow"
    # a standing group: answered from Okta's membership, then the cache
    before = env.cli("check", "staging-ssh", user="ojt-alice")
    assert before.rc == 6 and before.j["decision"] == "deny", before

    swtpm.stop()
    time.sleep(3.5)  # the token is gone: the next Okta call needs a signature
    # a new request cannot be filed without Okta: it says why, at once
    r = env.request("prod-db-ssh", dur="10m", reason="INC-9", as_user="ojt-alice", expect=None)
    assert r.rc == 4 and "cannot sign the client assertion with %s" % spec in r.j["message"], r
    assert "is the TPM there?" in r.j["message"], r
    wait_for(lambda: "cannot sign a client assertion" in env.daemon.log(), 10, what="the log line")
    log = env.daemon.log()
    assert "the Okta key %s cannot sign a client assertion" % spec in log, log[-3000:]
    assert "checks answer from the cache" in log and "grants wait and are retried" in log
    assert log.count("cannot sign a client assertion") == 1  # said once, not at every try
    # checks answer from the cache (outage_grace), never an error
    for _ in range(3):
        c = env.cli("check", "web-sudo", user="ojt-alice")
        assert c.rc == EXIT_OK and c.j["decision"] == "allow", c
        c = env.cli("check", "staging-ssh", user="ojt-alice")
        assert c.rc == 6 and c.j["decision"] == "deny" and c.j["code"] == before.j["code"], c
        time.sleep(1)
    # bob's grant ended and alice's is revoked: both end here at once, and
    # their removals from the Okta group wait for the key
    wait_for(lambda: env.grant(short["id"])["state"] == "expired", 10, what="bob's grant ends")
    v = env.cli("revoke", g["id"])
    assert v.rc == EXIT_OK, v
    assert env.cli("check", "web-sudo", user="ojt-alice").rc == 6
    assert env.cli("check", "web-sudo", user="ojt-bob").rc == 6
    assert ALICE in env.members(G_WEB) and BOB in env.members(G_WEB)  # Okta not told yet: no token

    swtpm.start()  # the same TPM (its state kept the persistent key)
    wait_for(lambda: ALICE not in env.members(G_WEB) and BOB not in env.members(G_WEB), 60,
             what="the removals once the TPM is back")
    wait_for(lambda: env.grant(g["id"])["op"] == "" and env.grant(short["id"])["op"] == "", 10)
    assert "signs again; token requests resume" in env.daemon.log()


def test_okta_jitd_never_writes_its_key_to_a_core_file(jit_factory):
    """The connector key is in okta-jitd's memory (a file key): a crash
    must never write it to a core file. Started with core dumps allowed,
    okta-jitd turns them off, soft and hard limit (so no child raises it
    again), before it reads the key."""
    import resource
    old = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (old[1], old[1]))
    try:
        jit = jit_factory()
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, old)
    assert old[1] != 0, "the test needs a hard core limit above 0"
    with open("/proc/%d/limits" % jit.daemon.proc.pid) as f:
        lim = [l.split() for l in f if l.startswith("Max core file size")][0]
    assert lim[4:6] == ["0", "0"], lim
