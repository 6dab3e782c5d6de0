"""Issue 18, the directory's source: with [nss], a granter (a single host
too) lists each flow's requesters group with the profile attributes the
NSS half needs (UID, GECOS, SSH keys) into the ledger's snapshots, each
field bounded and percent-encoded; a hostile attribute is refused there,
with its reason, and never written as a key."""
import urllib.parse

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import ALICE, BOB, JIT_FLOWS, wait_for

NSS = """
[nss]
uid_attribute = unixUid
keys_attribute = sshPublicKeys
groups = web-sudo
cache = %s
"""

KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"
KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbLZ3p1ZW3n4Ki6R7OUhmS5f4k1D6xH0Xc0n1lY7g6W"


def snapshot_lines(jit, grp):
    rows = jit._db().execute("SELECT state, members FROM snapshots WHERE grp = ?", (grp,)).fetchall()
    if not rows:
        return None
    state, members = rows[0]
    assert state == "ok", state
    out = {}
    for line in members.splitlines():
        f = line.split("\t")
        out[f[0]] = f
    return out


def decode(v):
    return urllib.parse.unquote(v)


def set_profile(okta, uid, **extra):
    okta.control("users", {"op": "update", "id": uid, "profile_extra": extra})


def test_requesters_are_listed_with_their_profile_on_a_single_host(jit_factory, tmp_path):
    jit = jit_factory(flows=JIT_FLOWS + NSS % (tmp_path / "nss.cache"), start=False)
    set_profile(jit.okta, ALICE, unixUid=70001, displayName="Alice: Admin\u00e9", sshPublicKeys=[KEY1, KEY2])
    set_profile(jit.okta, BOB, unixUid="not-a-uid", sshPublicKeys=["k"] * 10000)
    jit.daemon.start()
    lines = wait_for(lambda: snapshot_lines(jit, "ops-oncall"), 15, what="the requesters group listed")
    a, b = lines[ALICE], lines[BOB]
    assert len(a) == 6 and a[1] == "ACTIVE" and a[2] == "ojt-alice@example.com", a
    assert a[3] == "70001"
    # ':' would end a passwd field: made a space; UTF-8 kept, encoded
    assert decode(a[4]) == "Alice  Admin\u00e9", a[4]
    assert "%" in a[4] and ":" not in a[4]
    keys = [decode(k) for k in a[5].split(" ")]
    assert keys == [KEY1, KEY2], keys
    # hostile attributes: refused with the reason, nothing kept
    assert decode(b[3]) == "!not an integer", b
    assert decode(b[5]) == "!10000 entries (at most 64)", b
    # the gated groups are not listed on a single host (its checks ask Okta)
    assert snapshot_lines(jit, "web-sudo") is None


def test_key_attributes_that_are_not_text_are_refused(jit_factory, tmp_path):
    jit = jit_factory(flows=JIT_FLOWS + NSS % (tmp_path / "nss.cache"), start=False)
    set_profile(jit.okta, ALICE, sshPublicKeys={"key": KEY1}, unixUid=-5)
    set_profile(jit.okta, BOB, sshPublicKeys=KEY1 + "\n" + "x" * 20000, unixUid=1.5)
    jit.daemon.start()
    lines = wait_for(lambda: snapshot_lines(jit, "ops-oncall"), 15, what="the requesters group listed")
    assert decode(lines[ALICE][5]) == "!not text nor a list of text"
    assert lines[ALICE][3] == "-5"  # a number: the range is the directory's to judge
    assert decode(lines[BOB][5]) == "!an entry is longer than 16384 bytes"
    assert decode(lines[BOB][3]) == "!not an integer"


def test_without_nss_a_single_host_keeps_no_snapshot(jit_factory):
    jit = jit_factory()
    jit.request("web-sudo", as_user="ojt-alice")
    assert jit._db().execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0


def test_a_requesters_group_of_another_type_is_listed(jit_factory, tmp_path):
    """A flow's requesters may be any one group of that name (issue 16), an
    APP_GROUP imported from a directory among them: the directory lists it
    as a check resolves it, not only an OKTA_GROUP."""
    flows = JIT_FLOWS.replace("[flow staging]", "[flow sales]\ngroups = audit-readers\n"
                              "requesters = salesforce-users\n\n[flow staging]")
    jit = jit_factory(flows=flows + NSS % (tmp_path / "nss.cache"), start=False)
    jit.okta.control("membership", {"op": "add", "group": "00gapp00000000003", "user": ALICE})
    jit.daemon.start()
    rows = wait_for(lambda: jit._db().execute("SELECT state, members FROM snapshots WHERE grp = 'salesforce-users'")
                    .fetchall(), 15, what="the APP_GROUP of requesters listed")
    state, members = rows[0]
    assert state == "ok", state
    assert [line.split("\t")[0] for line in members.splitlines()] == [ALICE]
