"""A fleet on one PostgreSQL ledger, for test_fleet.py and test_fleet_scale.py:
granters and gates on this machine, each okta-jitd with its own socket and
config, one database of its own on the session's PostgreSQL (loopback),
one fake Okta.

As docs/fleet.md says a fleet runs (issue 17):
* granters connect as the role okta_jit (which owns the schema) and hold
  the Okta key;
* gates connect as okta_jit_gate with exactly the GRANTs of docs/fleet.md
  (read from the file) and have NO [okta] section at all: no client id, no
  key file, nothing that could reach Okta.
* the fleet signs (docs/fleet.md, "Fleet signing key"): granters hold the
  Ed25519 private key (fleet_signing_key), gates its public key
  (fleet_verify_keys). An `extra` value of None leaves a key out.

Import into a test module with `from fleet_fixtures import *` (after
`from daemon_fixtures import *`, whose fixtures `fleet` asks for).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import pytest

from daemon_fixtures import JitEnv, jit_seed, wait_for, write_jit_config
from pg_fixtures import pg_server  # noqa: F401 - `fleet` asks for it by name

__all__ = ["FLEET_MD", "FLOW_GROUPS", "Fleet", "fleet", "fleet_keypair", "gate_role_grants", "grant_bytes",
           "pg_server", "removed_events", "sign_with", "snapshot_bytes"]

FLEET_MD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "docs", "fleet.md")

# every [flow]'s group in daemon_fixtures.JIT_FLOWS: the granters keep a
# snapshot of each
FLOW_GROUPS = ("web-sudo", "prod-db-ssh", "staging-ssh")


def gate_role_grants(db):
    """The GRANTs docs/fleet.md gives the gates' role, for database db."""
    with open(FLEET_MD) as f:
        text = f.read()
    m = re.search(r"```sql\n-- okta-jit gate role\n(.*?)```", text, re.S)
    assert m, "docs/fleet.md has no ```sql block starting '-- okta-jit gate role'"
    return m.group(1).replace("DATABASE okta_jit ", "DATABASE %s " % db)


def fleet_keypair(base, name="fleet"):
    """An Ed25519 key pair made as docs/fleet.md says: (private, public) paths."""
    priv = os.path.join(base, name + "-signing.key")
    pub = os.path.join(base, name + "-verify.pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", priv], check=True, capture_output=True)
    os.chmod(priv, 0o600)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True, capture_output=True)
    os.chmod(pub, 0o644)
    return priv, pub


def _canon(tag, *fields):
    """helper/daemon/fleet_sig.c's canonical bytes: the tag and each field
    (integers in decimal) as an 8-byte big-endian length and its bytes."""
    out = b""
    for f in (tag,) + fields:
        f = (str(f) if isinstance(f, int) else f).encode()
        out += len(f).to_bytes(8, "big") + f
    return out


def snapshot_bytes(grp, group_id, taken_at, state, nmembers, members):
    return _canon("okta-jit snapshot v1", grp, group_id, int(taken_at), state, int(nmembers), members)


def grant_bytes(r):
    """r: a grants row as Fleet.grant returns it."""
    return _canon("okta-jit grant v1", int(r["id"]), r["kind"], int(r["parent_id"] or 0), r["user"],
                  r["okta_login"], r["okta_user_id"], r["grp"], r["group_id"], r["flow"], r["state"], r["op"],
                  int(r["start_at"]), int(r["end_at"]), int(r["updated_at"]))


def sign_with(key_path, data):
    """The hex Ed25519 signature of data by the private key at key_path."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    with open(key_path, "rb") as f:
        key = load_pem_private_key(f.read(), None)
    return key.sign(data).hex()


def _port(conninfo):
    for part in conninfo.split():
        if part.startswith("port="):
            return int(part[5:])
    raise AssertionError("no port in %r" % conninfo)


class Fleet:
    """A database of its own, a fake Okta, and daemons that share both."""

    def __init__(self, pg, okta, key, cli_path, base):
        self.pg, self.okta, self.key, self.cli_path, self.base = pg, okta, key, cli_path, base
        self.db = "fleet_" + uuid.uuid4().hex[:10]
        pg.psql("CREATE DATABASE %s OWNER okta_jit" % self.db)
        self.uri = "postgresql://okta_jit@127.0.0.1:%d/%s?sslmode=disable" % (_port(pg.conninfo), self.db)
        self.pwfile = os.path.join(base, "ledger-password")
        pg.write_password_file(self.pwfile)
        # gates connect as the least-privilege role of docs/fleet.md
        self.gate_uri = self.uri.replace("okta_jit@", "okta_jit_gate@", 1)
        self.gate_pwfile = os.path.join(base, "ledger-password-gate")
        pg.write_password_file(self.gate_pwfile, gate=True)
        self.gate_rights = False
        self.hosts = {}
        self.signing_key, self.verify_key = fleet_keypair(base)

    def give_gate_rights(self):
        """Once a granter has created the schema: the gates' role's rights."""
        if not self.gate_rights:
            assert self.sql("SELECT to_regclass('grants') IS NOT NULL") == "t", "start a granter first"
            self.pg.psql(gate_role_grants(self.db), db=self.db)
            self.gate_rights = True

    def gate_sql(self, query):
        """query as the gates' role: (returncode, stdout, stderr)."""
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.gate_uri,
                            "-c", query], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PGPASSWORD=self.pg.gate_password))
        return r.returncode, r.stdout.strip(), r.stderr

    def host(self, name, role="granter", start=True, extra=None, credential=False, flows=None, rights=True):
        """A host of the fleet. A gate's config has no [okta] section;
        rights=False: the gates' role is not given its rights here (they
        need a schema that a granter made)."""
        workdir = os.path.join(self.base, name)
        os.makedirs(workdir, exist_ok=True)
        env = JitEnv(workdir, self.okta, self.key, self.cli_path, timeout="5s")
        de = {"role": role, "cache_ttl": "30s"}
        if not credential:
            de["ledger_password_file"] = self.gate_pwfile if role == "gate" else self.pwfile
        # OJIT_TEST_NO_FLEET_KEYS=1: none (to run a test against a build from
        # before the fleet signatures, which knows no such key)
        if os.environ.get("OJIT_TEST_NO_FLEET_KEYS") != "1":
            if role == "gate":
                de["fleet_verify_keys"] = self.verify_key
            else:
                de["fleet_signing_key"] = self.signing_key
        de.update(extra or {})
        de = {k: v for k, v in de.items() if v is not None}
        if role == "gate" and rights:
            self.give_gate_rights()
        uri = self.gate_uri if role == "gate" else self.uri
        # a gate holds no Okta credential: no [okta] section, no key file
        if role == "gate" and os.path.exists(os.path.join(workdir, "okta.key")):
            os.unlink(os.path.join(workdir, "okta.key"))
        env.conf = write_jit_config(workdir, self.okta, self.key, env.sock, uri, timeout="5s", daemon_extra=de,
                                    okta_section=role != "gate", **({"flows": flows} if flows else {}))
        env.daemon.conf = env.conf
        # the ledger lives in PostgreSQL: read it there
        env.grants = self.grants
        env.grant = self.grant
        env.audit = self.audit
        env.events = lambda gid: [a["event"] for a in self.audit(gid)]
        env.role = role
        self.hosts[name] = env
        if start:
            env.daemon.start()
        return env

    def snapshot_sig(self, grp, group_id, taken_at, state, nmembers, members, key=None):
        """The signature a granter holding key (the fleet's by default)
        writes with this snapshot."""
        return sign_with(key or self.signing_key, snapshot_bytes(grp, group_id, taken_at, state, nmembers, members))

    def sign_grant(self, gid, key=None):
        """Sign grant gid as it stands now, as a granter holding key would."""
        sig = sign_with(key or self.signing_key, grant_bytes(self.grant(gid)))
        self.sql("UPDATE grants SET sig = '%s' WHERE id = %d" % (sig, int(gid)))

    def sql(self, query):
        r = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.uri, "-c", query],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, PGPASSWORD=self.pg.password))
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def rows(self, query):
        out = self.sql("SELECT COALESCE(json_agg(t), '[]') FROM (%s) t" % query)
        return json.loads(out)

    def grants(self, where="1=1", params=()):
        assert not params, "use literal SQL here"
        return self.rows("SELECT * FROM grants WHERE %s ORDER BY id" % where)

    def grant(self, gid):
        rows = self.grants("id = %d" % int(gid))
        assert rows, "no ledger row for grant %s" % gid
        return rows[0]

    def audit(self, grant_id=None, event=None):
        q = "1=1"
        if grant_id is not None:
            q += " AND grant_id = %d" % int(grant_id)
        if event is not None:
            q += " AND event = '%s'" % event.replace("'", "''")
        return self.rows("SELECT * FROM audit WHERE %s ORDER BY id" % q)

    def snapshots(self):
        """grp -> the snapshot row's head (no member text)."""
        return {r["grp"]: r for r in self.rows(
            "SELECT grp, group_id, taken_at, gen, nmembers, host, state, to_jsonb(s) ->> 'sig' AS sig"
            " FROM snapshots s")}

    def wait_snapshots(self, groups=FLOW_GROUPS, timeout=30):
        """Until a granter has written a usable snapshot of each group."""
        def ready():
            snaps = self.snapshots()
            return all(g in snaps and snaps[g]["state"] == "ok" for g in groups) and snaps
        return wait_for(ready, timeout, what="the granters' snapshots of %s" % ", ".join(groups))

    def wait_gate_ready(self, gate, timeout=30):
        """Until the gate answers a check from a snapshot (a standing group:
        allow or deny, not unavailable)."""
        def ready():
            c = gate.cli("check", "staging-ssh", "--user", "ojt-olivia")
            return c.j is not None and c.j.get("decision") in ("allow", "deny") and c
        return wait_for(ready, timeout, interval=0.2, what="%s answering from snapshots" % gate.workdir)

    def note_writes(self):
        """Test instrumentation (as the superuser, invisible to okta-jitd's
        roles): every write of a grant row is timed by the database's own
        clock into test_grant_writes (grant_id, state, at)."""
        self.pg.psql(
            "CREATE TABLE test_grant_writes (grant_id bigint, state text, at double precision);"
            "CREATE FUNCTION test_note_write() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$"
            " BEGIN INSERT INTO test_grant_writes VALUES (NEW.id, NEW.state,"
            " extract(epoch FROM clock_timestamp())); RETURN NEW; END $$;"
            "CREATE TRIGGER test_note_write AFTER INSERT OR UPDATE ON grants"
            " FOR EACH ROW EXECUTE FUNCTION test_note_write();", db=self.db)

    def write_times(self, gid, state):
        """When the database wrote grant gid in state (epoch seconds), first first."""
        return [float(r[0]) for r in self.pg.psql(
            "SELECT at FROM test_grant_writes WHERE grant_id = %d AND state = '%s' ORDER BY at"
            % (int(gid), state), db=self.db)]

    def close(self):
        for env in self.hosts.values():
            env.close()
        try:
            self.pg.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db)
        except Exception:  # noqa: BLE001 - best effort after a failed test
            pass


@pytest.fixture
def fleet(pg_server, okta_factory, rsa_key, local_users, cli_copy):  # noqa: F811
    base = tempfile.mkdtemp(prefix="ojit-fleet-")
    os.chmod(base, 0o755)
    okta = okta_factory(jit_seed(rsa_key), name="fleet-okta")
    f = Fleet(pg_server, okta, rsa_key, cli_copy, base)
    try:
        yield f
    finally:
        f.close()
        shutil.rmtree(base, ignore_errors=True)


def removed_events(fleet):  # noqa: F811
    """grant id -> number of 'removed' audit lines."""
    out = {}
    for a in fleet.audit(event="removed"):
        out[a["grant_id"]] = out.get(a["grant_id"], 0) + 1
    return out
