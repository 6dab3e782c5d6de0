"""A real PostgreSQL for the tests of the PostgreSQL ledger (test_ledger_pg.py,
test_fleet.py): Debian's server binaries, a cluster of its own in a
temporary folder, on 127.0.0.1 and a free port only, for the whole test
session; stopped and removed at the end, nothing left behind.

* `pg_server` (session scope): the running server, a `PgServer`:
  - `.conninfo`: "host=127.0.0.1 port=N dbname=okta_jit user=okta_jit",
    the role okta_jit (random `.password`) owning the database okta_jit;
  - `.uri(dbname)`: the same as a postgresql:// URI (the form okta-jitd's
    [daemon] ledger takes), `.conninfo_for(dbname)` as key=value;
  - `.write_password_file(path, mode=0o600, uid=0, content=None)`;
  - the role okta_jit_gate (`.gate_password`), with no rights until a
    test gives it those of docs/fleet.md (test_fleet.py does);
  - `.psql(sql, db="okta_jit")`: run SQL as the superuser, rows as tuples
    of strings (None for NULL);
  - `.stop()` / `.start()`: for tests that take the database away;
  - `.recreate(db="okta_jit")`: drop and create a database owned by
    okta_jit (a fresh ledger).

Import into a test module with `from pg_fixtures import pg_server`.
Without PostgreSQL installed (apt-get install postgresql) the tests that
use it are skipped.
"""
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile

import pytest

NULL = "\x01NULL\x01"  # psql's \pset null marker: tells NULL from ''


def _bindir():
    """The newest installed server's bin folder, or None."""
    found = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bindir = os.path.dirname(initdb)
        ver = os.path.basename(os.path.dirname(bindir))
        if os.path.exists(os.path.join(bindir, "pg_ctl")) and re.fullmatch(r"\d+(\.\d+)?", ver):
            found.append((float(ver), bindir))
    return max(found)[1] if found else None


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra):
    """No PG* variable of the caller's may point psql elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C.UTF-8")
    env.update(extra)
    return env


class PgServer:
    def __init__(self, bindir):
        self.bindir = bindir
        self.pw = pwd.getpwnam("postgres")
        self.base = tempfile.mkdtemp(prefix="ojit-pg-")
        os.chown(self.base, self.pw.pw_uid, self.pw.pw_gid)
        os.chmod(self.base, 0o700)
        self.data = os.path.join(self.base, "data")
        self.logfile = os.path.join(self.base, "postgres.log")
        self.port = _free_port()
        self.superuser_password = secrets.token_hex(16)
        self.password = secrets.token_hex(16)
        self.gate_password = secrets.token_hex(16)
        self.running = False
        self.conninfo = self.conninfo_for("okta_jit")

    # -- as the postgres user (initdb and pg_ctl refuse root) ------------
    def _as_postgres(self, args, timeout=120, check=True):
        r = subprocess.run(["runuser", "-u", "postgres", "--"] + args, cwd=self.base,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                           env=_clean_env())
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s\n%s" % (
                os.path.basename(args[0]), r.returncode, r.stdout, r.stderr, self.log_tail()))
        return r

    def log_tail(self, n=3000):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def init(self):
        pwfile = os.path.join(self.base, "superuser-password")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.superuser_password + "\n")
        os.chown(pwfile, self.pw.pw_uid, self.pw.pw_gid)
        try:
            self._as_postgres([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres",
                               "-A", "scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8", "--no-locale",
                               "--no-instructions"])
        finally:
            os.unlink(pwfile)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# okta-jit tests\n"
                    "listen_addresses = '127.0.0.1'\n"
                    "port = %d\n"
                    "unix_socket_directories = '%s'\n"
                    "fsync = on\n"
                    "max_connections = 60\n" % (self.port, self.base))
        self.start()
        self.psql("CREATE ROLE okta_jit LOGIN PASSWORD '%s'" % self.password, db="postgres")
        self.psql("CREATE ROLE okta_jit_gate LOGIN PASSWORD '%s'" % self.gate_password, db="postgres")
        self.recreate("okta_jit")

    def start(self):
        self._as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.logfile,
                           "-w", "-t", "60", "start"])
        self.running = True

    def stop(self, mode="fast"):
        self._as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "-t", "60",
                           "stop"])
        self.running = False

    def destroy(self):
        try:
            if self.running or os.path.exists(os.path.join(self.data, "postmaster.pid")):
                self._as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "immediate",
                                   "-w", "-t", "60", "stop"], check=False)
        finally:
            self.running = False
            shutil.rmtree(self.base, ignore_errors=True)

    # -- clients --------------------------------------------------------
    def conninfo_for(self, db):
        return "host=127.0.0.1 port=%d dbname=%s user=okta_jit" % (self.port, db)

    def uri(self, db="okta_jit"):
        return "postgresql://okta_jit@127.0.0.1:%d/%s?sslmode=disable" % (self.port, db)

    def psql(self, sql, db="okta_jit", timeout=60):
        """Run sql as the superuser; the rows of its last statement."""
        r = subprocess.run(
            [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-P", "null=" + NULL, "-F", "\x1f", "-R", "\x1e", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "-d", db, "-c", sql],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            env=_clean_env(PGPASSWORD=self.superuser_password, PGCONNECT_TIMEOUT="10"))
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s\nSQL: %s" % (r.stderr.strip(), sql))
        out = r.stdout.rstrip("\n")
        if out == "":
            return []
        return [tuple(None if v == NULL else v for v in rec.split("\x1f"))
                for rec in out.split("\x1e") if rec != ""]

    def recreate(self, db="okta_jit"):
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", db), db
        self.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db, db="postgres")
        self.psql("CREATE DATABASE %s OWNER okta_jit" % db, db="postgres")

    def write_password_file(self, path, mode=0o600, uid=0, content=None, gate=False):
        """The okta_jit (gate: okta_jit_gate) password as okta-jitd reads
        it: root-only, one line."""
        if os.path.lexists(path):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            pw = self.gate_password if gate else self.password
            f.write(pw + "\n" if content is None else content)
        os.chown(path, uid, 0)
        os.chmod(path, mode)
        return path


# Every test module that imports pg_server gets a fixture of its own (pytest
# keys fixtures by module), so the server itself is shared here and
# destroyed when the last of them ends.
_shared = {"server": None, "users": 0}


@pytest.fixture(scope="session")
def pg_server():
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                    "apt-get install postgresql, or run packaging/install-deps.sh")
    if os.geteuid() != 0:
        pytest.skip("the PostgreSQL fixture runs initdb as the postgres user: run the tests as root")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user (the postgresql package creates it)")
    if _shared["server"] is None:
        server = PgServer(bindir)
        try:
            server.init()
        except BaseException:
            server.destroy()
            raise
        _shared["server"] = server
    _shared["users"] += 1
    try:
        if not _shared["server"].running:
            _shared["server"].start()
        yield _shared["server"]
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["server"].destroy()
            _shared["server"] = None
