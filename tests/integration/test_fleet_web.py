"""Issue 19 item 6: the web service runs beside any granter, and several
share the ledger. Two granters on one PostgreSQL ledger, each okta-jitd
with its own web socket (the one okta-jit-web talks to): alice requests
prod-db-ssh through granter A's, olivia (an owner) approves through
granter B's; the grant is active once, and Okta gets alice's membership
once. A gate takes no web requests: its config may not have [web] (it
changes nothing in Okta) and its public socket refuses an ID token.

The ID tokens are the fake Okta's own (POST /__control/id_token), signed
with its published key, as okta-jit-web would forward them after sign-in."""
import os

import pytest

from daemon_fixtures import *  # noqa: F401,F403
from daemon_fixtures import (ALICE, APPROVE, G_PRODDB, OLIVIA, P_ERROR, P_OK, REQUEST, T_CODE, T_DURATION,
                             T_GROUP, T_ID, T_REASON, frame, raw_exchange, tlv)
from fleet_fixtures import fleet, pg_server  # noqa: F401

T_ID_TOKEN = 42
WEB_CLIENT = "0oaWEBJIT0001"


def web_host(fleet, name):  # noqa: F811
    """A granter of the fleet with [web]: its web socket beside its own."""
    h = fleet.host(name, start=False)
    h.web_sock = os.path.join(h.sockdir, "web.sock")
    with open(h.conf, "a") as f:
        f.write("\n[web]\nclient_id = %s\nurl = https://%s.example.com\nsocket = %s\n" % (WEB_CLIENT, name, h.web_sock))
    h.daemon.start()
    assert os.path.exists(h.web_sock), h.daemon.log()[-2000:]
    return h


def mint(fleet, user):  # noqa: F811
    return fleet.okta.control("id_token", {"user": user, "aud": WEB_CLIENT})["id_token"]


def web_call(sock, ftype, token, fields=b""):
    r = raw_exchange(sock, frame(ftype, tlv(T_ID_TOKEN, token) + fields), shutdown_write=True)
    assert r is not None and r[0] in (P_OK, P_ERROR), r
    return r[0], dict((t, v) for t, v in reversed(r[1]))


def membership_puts(okta, group, user):
    path = "/api/v1/groups/%s/users/%s" % (group, user)
    return [r for r in okta.requests() if r["method"] == "PUT" and r["path"].split("?")[0] == path]


def test_web_requests_and_approvals_through_two_granters_share_one_ledger(fleet):  # noqa: F811
    a = web_host(fleet, "granter-a")
    b = web_host(fleet, "granter-b")
    t, f = web_call(a.web_sock, REQUEST, mint(fleet, ALICE),
                    tlv(T_GROUP, "prod-db-ssh") + tlv(T_DURATION, "1h") + tlv(T_REASON, "incident 42"))
    assert t == P_OK, f
    gid = int(f[T_ID])
    g = fleet.grant(gid)
    assert g["state"] == "pending" and g["user"] == "ojt-alice" and g["okta_user_id"] == ALICE, g
    # granter B reads the same ledger: olivia's approval there makes it active
    t, f = web_call(b.web_sock, APPROVE, mint(fleet, OLIVIA), tlv(T_ID, str(gid)) + tlv(T_REASON, "ok"))
    assert t == P_OK, f
    g = fleet.grant(gid)
    assert g["state"] == "active" and g["approver"] == "ojt-olivia@example.com", g
    assert ALICE in fleet.okta.members(G_PRODDB)
    # one grant, one membership added in Okta, by one granter
    assert [x["id"] for x in fleet.grants()] == [gid]
    assert len(membership_puts(fleet.okta, G_PRODDB, ALICE)) == 1
    events = [x["event"] for x in fleet.audit(gid)]
    assert events.count("approved") == 1 and events.count("requested") == 1, events
    for ev in ("requested", "approved"):
        [line] = [x for x in fleet.audit(gid) if x["event"] == ev]
        assert "channel=web" in line["detail"], line
    # both granters answer for the grant
    for h in (a, b):
        c = h.cli("check", "prod-db-ssh", "--user", "ojt-alice")
        assert c.j["decision"] == "allow" and c.j["id"] == gid, (h.workdir, c)
    # and a second approval (on A this time) changes nothing
    t, f = web_call(a.web_sock, APPROVE, mint(fleet, OLIVIA), tlv(T_ID, str(gid)))
    assert t == P_ERROR, f
    assert len(membership_puts(fleet.okta, G_PRODDB, ALICE)) == 1


def test_a_gate_takes_no_web_requests(fleet):  # noqa: F811
    web_host(fleet, "granter-a")
    g = fleet.host("gate", role="gate", start=False)
    with open(g.conf) as f:
        plain = f.read()
    with open(g.conf, "a") as f:
        f.write("\n[web]\nclient_id = %s\nsocket = %s\n" % (WEB_CLIENT, os.path.join(g.sockdir, "web.sock")))
    with pytest.raises(RuntimeError) as e:
        g.daemon.start(timeout=10)
    assert "[web] client_id: a gate changes nothing in Okta" in str(e.value), str(e.value)[-2000:]
    assert not os.path.exists(os.path.join(g.sockdir, "web.sock"))
    # the gate as configured (no [web]): its public socket refuses an ID token
    with open(g.conf, "w") as f:
        f.write(plain)
    g.daemon.start()
    r = raw_exchange(g.sock, frame(REQUEST, tlv(T_ID_TOKEN, mint(fleet, ALICE)) + tlv(T_GROUP, "prod-db-ssh")
                                   + tlv(T_DURATION, "1h") + tlv(T_REASON, "x")), shutdown_write=True)
    assert r is not None and r[0] == P_ERROR, r
    assert dict(r[1])[T_CODE] in ("invalid", "forbidden"), r
    assert fleet.grants() == [] and ALICE not in fleet.okta.members(G_PRODDB)
    assert membership_puts(fleet.okta, G_PRODDB, ALICE) == []

