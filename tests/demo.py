#!/usr/bin/python3
"""The README's main command (`make demo`): the whole okta-jit story on this
machine, against the bundled local Okta server.

  1. doctor checks the Okta setup
  2. alice's login is refused, and she is told how to get access
  3. alice requests access; olivia (the group's owner in Okta) approves
  4. alice's login passes, with the time left shown
  5. the grant ends: okta-jitd removes her from the Okta group
  6. her login is refused again
  7. the audit trail

Logins go through the real PAM stack (libpam with pam_okta_jit.so, loaded
from a private folder). Two local users are created for the demo and
removed at the end. Run as root.
"""
import copy
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest as c  # noqa: E402

ALICE, OLIVIA = "okta-jit-demo-alice", "okta-jit-demo-olivia"
GRANT_SECONDS = 15


def say(text):
    print("\n\033[1m== %s\033[0m" % text, flush=True)


def run(args, user=None, show=True):
    if user is not None:
        args = ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--"] + args
    r = subprocess.run(args, text=True, capture_output=True)
    if show:
        sys.stdout.write(r.stdout)
        sys.stdout.write(r.stderr)
    return r


def login(pam_dir, user):
    """A login as sshd does it: the account step, then the session."""
    driver = c.binary("tests/pam_driver")
    print("$ ssh %s@this-host" % user)
    r = run([driver, pam_dir, "okta-jit-demo", user, "acct", "open", "close"], show=False)
    for line in r.stdout.splitlines():
        if line.startswith(("INFO: ", "ERROR: ")):
            print("   " + line.split(": ", 1)[1].replace("\n", "\n   "))
        elif line.startswith("STEP acct"):
            print("   -> %s" % ("login allowed" if "PAM_SUCCESS" in line else "login refused (%s)" % line.split()[4]))
    return "STEP acct = 0 " in r.stdout


def demo_seed(key):
    seed = c.default_seed([("k1", key)])
    for u in seed["users"]:
        if u["login"] == "alice@example.com":
            u["login"] = ALICE + "@example.com"
        if u["login"] == "olivia@example.com":
            u["login"] = OLIVIA + "@example.com"
    return seed


def main():
    if os.geteuid() != 0:
        sys.exit("make demo runs as root (it starts okta-jitd and creates two demo users)")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="okta-jit-demo-"))
    pub = tempfile.mkdtemp(prefix="okta-jit-demo-pub-")
    os.chmod(pub, 0o755)
    key = c.gen_key("ec")
    okta = c.OktaServer(str(tmp / "okta"), demo_seed(key))
    daemon = None
    created = []
    try:
        for u in (ALICE, OLIVIA):
            if subprocess.run(["id", u], capture_output=True).returncode != 0:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", u],
                               check=True)
                created.append(u)
        cli = os.path.join(pub, "okta-jit")
        shutil.copy2(c.binary("okta-jit"), cli)
        os.chmod(cli, 0o755)
        sock = os.path.join(pub, "okta-jitd.sock")
        flows = """
[flow prod-db]
groups = prod-db-ssh
requesters = ops-oncall
default_duration = 15m
max_duration = 4h
approval = owners
reason = required
"""
        conf = c.make_config(tmp, okta, key, flows=flows)
        text = pathlib.Path(conf).read_text()
        text = text.replace("socket = %s" % (tmp / "okta-jitd.sock"), "socket = %s" % sock)
        text = text.replace("owner = user:olivia@example.com", "owner = user:%s@example.com" % OLIVIA)
        pathlib.Path(conf).write_text(text)
        pam_dir = str(tmp / "pam.d")
        os.makedirs(pam_dir)
        with open(os.path.join(pam_dir, "okta-jit-demo"), "w") as f:
            mod = c.binary("pam_okta_jit.so")
            f.write("account required %s group=prod-db-ssh socket=%s\n" % (mod, sock))
            f.write("session optional %s group=prod-db-ssh socket=%s\n" % (mod, sock))

        print("okta-jit demo: a local Okta server runs at %s (users, groups, a strict token endpoint)." % okta.url)
        say("1. okta-jit doctor checks the Okta setup")
        run([c.binary("okta-jit"), "--config", conf, "doctor"])

        daemon = subprocess.Popen([c.binary("okta-jitd"), "--config", conf, "--foreground"],
                                  stdout=subprocess.DEVNULL, stderr=open(tmp / "okta-jitd.log", "w"))
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)

        say("2. %s tries to log in without a grant" % ALICE)
        login(pam_dir, ALICE)

        say("3. %s asks for access; %s, an owner of prod-db-ssh in Okta, approves" % (ALICE, OLIVIA))
        print("$ okta-jit request prod-db-ssh --for %ds --reason 'INC-4411: replica lag'" % GRANT_SECONDS)
        r = run([cli, "--socket", sock, "--json", "request", "prod-db-ssh", "--for", "%ds" % GRANT_SECONDS,
                 "--reason", "INC-4411: replica lag"], user=ALICE, show=False)
        import json
        gid = str(json.loads(r.stdout)["grant"]["id"])
        run([cli, "--socket", sock, "status"], user=ALICE)
        print("$ okta-jit approve %s    (as %s)" % (gid, ALICE))
        run([cli, "--socket", sock, "approve", gid], user=ALICE)
        print("$ okta-jit list --pending    (as %s)" % OLIVIA)
        run([cli, "--socket", sock, "list", "--pending"], user=OLIVIA)
        print("$ okta-jit approve %s    (as %s)" % (gid, OLIVIA))
        run([cli, "--socket", sock, "approve", gid], user=OLIVIA)
        print("Okta group prod-db-ssh members now: %s" % okta.members("00gproddb000000001"))

        say("4. %s logs in during the grant" % ALICE)
        login(pam_dir, ALICE)

        say("5. the grant ends; okta-jitd removes the membership from Okta")
        deadline = time.time() + GRANT_SECONDS + 20
        while "00ualice0000000001" in okta.members("00gproddb000000001") and time.time() < deadline:
            time.sleep(0.5)
        print("Okta group prod-db-ssh members now: %s" % okta.members("00gproddb000000001"))

        say("6. %s tries again after the end" % ALICE)
        ok = login(pam_dir, ALICE)

        say("7. the audit trail (okta-jit audit, as root)")
        run([cli, "--socket", sock, "audit"])
        return 1 if ok else 0
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(10)
        okta.stop()
        for u in created:
            subprocess.run(["userdel", u], capture_output=True)
        shutil.rmtree(pub, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
