"""Issue 18, okta-jitd's side of the NSS half: from the requesters groups'
snapshots it writes the NSS cache (read back here with the module's own
reader, build/tests/nss_cache_dump) and answers the KEYS request that
`okta-jit keys` (sshd's AuthorizedKeysCommand) makes.

The Okta users here have no local account (nss-*@example.com); the
session's local test users (ojt-alice, ...) are local, so the Okta users
of those logins are never offered: local accounts win."""
import grp
import hashlib
import json
import os
import subprocess
import time

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, EXIT_DENIED, EXIT_OK, EXIT_USAGE, G_OPS, G_WEB, JIT_FLOWS, wait_for
from fleet_fixtures import *  # noqa: F401,F403

DUMP = os.path.join(os.environ.get("OJIT_BUILD", ""), "tests", "nss_cache_dump")
UID_MIN, UID_MAX = 1000, 60000

KEY_DANA = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPpkj9BrBJXDQShkDmK5aBTP4UWDsKIeRatjd+o3Txw4 dana@laptop")
KEY_ERIN = ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAABAgMEBQYHCAkKCwwNDg8QERIT"
            "FBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=")
KEY_OPTS = "command=\"/bin/sh\" " + KEY_DANA
KEY_BADTYPE = "ssh-ed25519 " + KEY_ERIN.split(" ")[1]  # an ECDSA blob under another name

# Okta users with no local account (ids: 00u + 15)
DANA, ERIN, FRANK, GINA, HANK, IVAN, JUDY, KATE, LENA, MIKE = (
    "00unssdana0000001", "00unsserin0000002", "00unssfrank000003", "00unssgina0000004", "00unsshank0000005",
    "00unssivan0000006", "00unssjudy0000007", "00unsskate0000008", "00unsslena0000009", "00unssmike0000010")
NINA = "00unssnina0000011"


def nss_section(cache, groups="web-sudo", keys_user="ojt-carol"):
    return """
[nss]
uid_attribute = unixUid
uid_range = %d-%d
gecos_attribute = displayName
keys_attribute = sshPublicKeys
groups = %s
keys_user = %s
home = /home/okta/%%u
shell = /bin/sh
cache = %s
""" % (UID_MIN, UID_MAX, groups, keys_user, cache)


LOCAL_GROUP, LOCAL_GID = "ojt-nss-local", 59990


def local_uid():
    """A local group's GID inside uid_range (the session's test users sit
    below 1000): an Okta UID equal to it is a local id."""
    return grp.getgrnam(LOCAL_GROUP).gr_gid


@pytest.fixture(scope="module", autouse=True)
def local_group():
    made = False
    try:
        grp.getgrnam(LOCAL_GROUP)
    except KeyError:
        subprocess.run(["groupadd", "-g", str(LOCAL_GID), LOCAL_GROUP], check=True, capture_output=True)
        made = True
    yield
    if made:
        subprocess.run(["groupdel", LOCAL_GROUP], capture_output=True)


def derived(okta_id):
    v = int.from_bytes(hashlib.sha256(okta_id.encode()).digest()[:8], "big")
    return UID_MIN + v % (UID_MAX - UID_MIN + 1)


def add_user(okta, uid, login, status="ACTIVE", **profile):
    okta.control("users", {"op": "add", "id": uid, "login": login, "email": login, "status": status,
                           "profile_extra": profile})
    okta.control("membership", {"op": "add", "group": G_OPS, "user": uid})


def populate(okta):
    add_user(okta, DANA, "nss-dana@example.com", unixUid=50500, displayName="Dana: Ops\u00e9",
             sshPublicKeys=[KEY_DANA, KEY_OPTS, KEY_BADTYPE])
    add_user(okta, ERIN, "nss-erin@example.com", sshPublicKeys=KEY_ERIN)      # no UID: derived
    add_user(okta, FRANK, "Frank Smith@example.com")                          # no valid local name
    add_user(okta, GINA, "nss-gina@example.com", unixUid=50777)              # the same UID ...
    add_user(okta, HANK, "nss-hank@example.com", unixUid=50777)              # ... as gina
    add_user(okta, IVAN, "nss-ivan@example.com", unixUid=5)                   # below uid_range
    add_user(okta, JUDY, "nss-judy@example.com", unixUid=-7)                  # negative
    add_user(okta, KATE, "nss-kate@example.com", unixUid=local_uid())       # a local user's UID
    add_user(okta, LENA, "nss-lena@example.com", status="SUSPENDED")          # not ACTIVE
    add_user(okta, MIKE, "nss-mike@example.com", sshPublicKeys=[KEY_DANA] * 10000)  # offered, keys refused
    add_user(okta, NINA, "nss-nina@example.com", unixUid="0; root")           # not an integer


def dump(path):
    assert os.path.exists(DUMP), "build the test tools: make unit-tests"
    r = subprocess.run([DUMP, str(path)], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def users_of(cache):
    d = dump(cache)
    return None if d is None else {u["name"]: u for u in d["users"]}


def group_of(cache, name):
    d = dump(cache)
    for g in (d or {}).get("groups", []):
        if g["name"] == name:
            return g
    return None


def keys(jit, user, as_user=None):
    return jit.cli("keys", user, user=as_user, json_out=False, timeout=20)


@pytest.fixture
def nss_jit(jit_factory, tmp_path):
    cache = tmp_path / "nss.cache"

    def make(flows=JIT_FLOWS, daemon_extra=None, **kw):
        jit = jit_factory(flows=flows + nss_section(cache, **kw), start=False, daemon_extra=daemon_extra)
        populate(jit.okta)
        jit.daemon.start()
        jit.cache = cache
        wait_for(lambda: (users_of(cache) or {}).get("nss-dana"), 20, what="the cache with dana")
        return jit
    return make


def test_the_cache_holds_exactly_the_okta_users_this_host_offers(nss_jit):
    jit = nss_jit()
    users = users_of(jit.cache)
    # exactly these: every other one is refused, with a log line each
    assert sorted(users) == ["nss-dana", "nss-erin", "nss-mike"], users
    d, e = users["nss-dana"], users["nss-erin"]
    assert (d["uid"], d["gid"]) == (50500, 50500)  # the profile's UID
    assert (e["uid"], e["gid"]) == (derived(ERIN),) * 2  # derived from the Okta id
    assert d["gecos"] == "Dana  Ops\u00e9" and e["gecos"] == ""
    assert d["dir"] == "/home/okta/nss-dana" and d["shell"] == "/bin/sh"
    groups = {g["name"]: g for g in dump(jit.cache)["groups"]}
    # a user private group each, and the JIT group (gid from the Okta id)
    assert groups["nss-dana"]["gid"] == 50500 and groups["nss-dana"]["members"] == []
    assert groups["nss-erin"]["gid"] == derived(ERIN)
    assert groups["okta-web-sudo"] == {"name": "okta-web-sudo", "gid": derived(G_WEB), "members": []}
    assert sorted(groups) == ["nss-dana", "nss-erin", "nss-mike", "okta-web-sudo"]
    log = jit.daemon.log()
    assert "Okta user %s (login Frank Smith@example.com) maps to no valid local name" % FRANK in log
    assert "UID 50777 is also another Okta user's" in log and "nss-gina" in log and "nss-hank" in log
    assert "user nss-ivan (Okta %s): profile UID 5 is outside uid_range" % IVAN in log
    assert "user nss-judy (Okta %s): profile UID -7 is negative" % JUDY in log
    assert "user nss-nina (Okta %s): profile UID refused: not an integer; not offered" % NINA in log
    assert "user nss-kate (Okta %s): UID %d is a local account's or group's" % (KATE, local_uid()) in log
    # local accounts win: the Okta user of ojt-alice's login is not offered
    assert "user ojt-alice (Okta %s): a local account or group has that name" % ALICE in log
    assert "nss-lena" not in log and "nss-lena" not in users
    # refused keys are logged, the good one kept (below)
    assert "user nss-dana (Okta %s): SSH key refused: the key has options" % DANA in log
    assert "user nss-dana (Okta %s): SSH key refused: the key's blob is of another type" % DANA in log
    assert "user nss-mike (Okta %s): SSH keys refused: 10000 entries (at most 64)" % MIKE in log
    # the file is root's and world-readable, as the module demands
    st = os.stat(jit.cache)
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o644


def test_a_local_account_made_later_wins_and_refusals_are_logged_once(nss_jit):
    jit = nss_jit()
    assert "nss-erin" in users_of(jit.cache)
    # a local group named as an Okta user appears: /etc/group's mtime moves,
    # the cache is written again without her
    subprocess.run(["groupadd", "nss-erin"], check=True, capture_output=True)
    try:
        wait_for(lambda: "nss-erin" not in users_of(jit.cache), 15, what="erin gone")
        assert "nss-dana" in users_of(jit.cache)
    finally:
        subprocess.run(["groupdel", "nss-erin"], capture_output=True)
    wait_for(lambda: "nss-erin" in users_of(jit.cache), 15, what="erin back")
    log = jit.daemon.log()
    assert "user nss-erin (Okta %s): a local account or group has that name" % ERIN in log
    # three builds, each refusal logged once
    assert log.count("profile UID 5 is outside uid_range") == 1, log[-3000:]
    assert log.count("maps to no valid local name") == 1
    assert log.count("SSH keys refused: 10000 entries") == 1


def test_group_membership_follows_a_grant_and_ends_at_its_end(nss_jit):
    jit = nss_jit()
    r = jit.request("web-sudo", user="nss-dana", dur="6s")
    end = r.grant["end"]
    g = wait_for(lambda: (group_of(jit.cache, "okta-web-sudo") or {}).get("members"), 10, what="dana a member")
    assert g == [{"user": "nss-dana", "end_at": end}]
    # the grant ends: the daemon writes the group again without her
    wait_for(lambda: group_of(jit.cache, "okta-web-sudo")["members"] == [], 30, what="dana gone")
    assert time.time() >= end


def test_keys_only_while_a_grant_is_active(nss_jit):
    jit = nss_jit()
    r = keys(jit, "nss-dana")
    assert r.rc == EXIT_OK and r.out == "", r  # requester, no grant: nothing
    jit.request("web-sudo", user="nss-dana", dur="1h")
    r = keys(jit, "nss-dana")
    assert r.rc == EXIT_OK and r.out == KEY_DANA + "\n", r  # the valid key only
    # the keys user gets the same; nothing for a user with no keys or none offered
    r = keys(jit, "nss-dana", as_user="ojt-carol")
    assert r.rc == EXIT_OK and r.out == KEY_DANA + "\n", r
    assert keys(jit, "nss-erin", as_user="ojt-carol").out == ""
    assert keys(jit, "nss-ivan", as_user="ojt-carol").out == ""
    assert keys(jit, "nss-mike", as_user="ojt-carol").out == ""
    ev = [a for a in jit.audit(event="keys") if a["user"] == "nss-dana"]
    assert ev and "keys=1" in ev[-1]["detail"] and ev[-1]["actor"] == "ojt-carol", ev


def test_keys_request_authorisation(nss_jit):
    jit = nss_jit(flows=JIT_FLOWS.replace("[flow web]\n", "[flow web]\nssh_keys = requesters\n"))
    assert keys(jit, "nss-erin", as_user="ojt-carol").out == KEY_ERIN + "\n"
    # any other non-root user is refused, and audited
    r = keys(jit, "nss-erin", as_user="ojt-bob")
    assert r.rc == EXIT_DENIED and r.out == "", r
    # the keys user may ask for nothing else
    r = jit.cli("status", user="ojt-carol")
    assert r.rc == EXIT_DENIED and "keys_user may only ask for SSH keys" in r.j["message"], r
    r = jit.cli("ping", user="ojt-carol", json_out=False)
    assert r.rc == EXIT_DENIED, r
    refused = [a["detail"] for a in jit.audit(event="refused")]
    assert any("reason=keys-not-allowed" in d for d in refused), refused
    assert any("reason=keys-user-other-request" in d for d in refused), refused
    # hostile user names never reach the daemon
    for name in ["../etc/passwd", "-x", "a\nb", "a" * 70, "", "a b"]:
        r = keys(jit, name, as_user="ojt-carol")
        assert r.rc == EXIT_USAGE and r.out == "", (name, r)


def test_keys_with_ssh_keys_requesters_need_no_grant(nss_jit):
    jit = nss_jit(flows=JIT_FLOWS.replace("[flow web]\n", "[flow web]\nssh_keys = requesters\n"))
    r = keys(jit, "nss-dana")
    assert r.rc == EXIT_OK and r.out == KEY_DANA + "\n", r
    assert jit.grants() == []


def test_users_and_keys_outlive_okta_for_outage_grace_only(nss_jit):
    jit = nss_jit(flows=JIT_FLOWS.replace("[flow web]\n", "[flow web]\nssh_keys = requesters\n"),
                  daemon_extra={"cache_ttl": "2s", "outage_grace": "8s"})
    assert keys(jit, "nss-dana").out == KEY_DANA + "\n"
    # Okta stops listing the requesters group: the snapshot ages
    jit.okta.faults({"path": "^/api/v1/groups/%s/users" % G_OPS, "action": "status", "status": 503, "count": -1})
    t0 = time.time()
    # within outage_grace, from memory: users and keys stay
    assert "nss-dana" in users_of(jit.cache) and keys(jit, "nss-dana").out == KEY_DANA + "\n"
    # past it, neither
    wait_for(lambda: "nss-dana" not in users_of(jit.cache), 30, what="dana dropped with the old snapshot")
    assert time.time() - t0 > 2
    assert keys(jit, "nss-dana").out == ""
    assert sorted(users_of(jit.cache)) == []


@pytest.fixture
def nss_fleet(fleet, tmp_path):
    """A granter (with the Okta credential) and a gate (none) of one fleet,
    each with [nss]; the gate's cache in a file of its own."""
    populate(fleet.okta)
    caches = {n: tmp_path / ("%s.cache" % n) for n in ("g1", "gate")}

    def flows(name):
        return JIT_FLOWS + nss_section(caches[name])
    granter = fleet.host("g1", flows=flows("g1"))
    gate = fleet.host("gate", role="gate", flows=flows("gate"))
    granter.cache, gate.cache = caches["g1"], caches["gate"]
    return fleet, granter, gate


def test_a_gate_serves_the_same_users_groups_and_keys_without_okta(nss_fleet):
    fleet, granter, gate = nss_fleet
    assert not os.path.exists(os.path.join(fleet.base, "gate", "okta.key"))
    want = wait_for(lambda: users_of(granter.cache) if "nss-dana" in (users_of(granter.cache) or {}) else None,
                    30, what="the granter's cache")
    got = wait_for(lambda: users_of(gate.cache) if "nss-dana" in (users_of(gate.cache) or {}) else None,
                   30, what="the gate's cache")
    assert got == want and sorted(got) == ["nss-dana", "nss-erin", "nss-mike"]
    assert keys(gate, "nss-dana").out == ""
    granter.request("web-sudo", user="nss-dana", dur="1h")
    g = wait_for(lambda: (group_of(gate.cache, "okta-web-sudo") or {}).get("members"), 20,
                 what="dana a member on the gate")
    assert [m["user"] for m in g] == ["nss-dana"]
    assert group_of(gate.cache, "okta-web-sudo")["gid"] == derived(G_WEB)
    r = wait_for(lambda: keys(gate, "nss-dana", as_user="ojt-carol").out or None, 20, what="keys on the gate")
    assert r == KEY_DANA + "\n"


def test_keys_request_with_a_hostile_user_name_on_the_socket(nss_jit):
    """The daemon itself refuses a KEYS request whose user name is not a
    valid local name (sent raw as root, past the CLI's own check): an error
    reply, no key, and the daemon still answers."""
    from daemon_fixtures import P_ERROR, T_USER, frame, raw_exchange, tlv
    jit = nss_jit(flows=JIT_FLOWS.replace("[flow web]\n", "[flow web]\nssh_keys = requesters\n"))
    assert keys(jit, "nss-dana").out == KEY_DANA + "\n"
    for name in [b"../etc/passwd", b"-x", b"a\nb", b"a" * 300, b"", b"\xff\xfe"]:
        reply = raw_exchange(jit.sock, frame(KEYS, tlv(T_USER, name)))
        assert reply is not None and reply[0] == P_ERROR, (name, reply)
        assert KEY_DANA.split()[1] not in repr(reply), (name, reply)
    # a NUL in a value breaks the frame (docs/protocol.md): no answer at all
    assert raw_exchange(jit.sock, frame(KEYS, tlv(T_USER, b"nss-dana\x00x"))) is None
    assert keys(jit, "nss-dana").out == KEY_DANA + "\n"
