#!/usr/bin/python3
"""The README's main command (`make demo`): okta-jit against the bundled
local Okta server, on this machine, with nothing to configure."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest as c  # noqa: E402


def show(title, args):
    print("\n$ " + " ".join(args[:1] + ["--config", "CONF"] + args[3:]) if "--config" in args
          else "\n$ " + " ".join(args))
    r = subprocess.run(args, text=True, capture_output=True)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    return r.returncode


def main():
    tmp = tempfile.mkdtemp(prefix="okta-jit-demo-")
    key = c.gen_key("rsa")
    okta = c.OktaServer(os.path.join(tmp, "okta"), c.default_seed([("k1", key)]))
    try:
        import pathlib
        conf = c.make_config(pathlib.Path(tmp), okta, key)
        print("okta-jit demo: a local Okta server is running at %s" % okta.url)
        print("config: %s" % conf)
        cli = c.binary("okta-jit")
        rc = show("doctor", [cli, "--config", conf, "doctor", "--user", "alice@example.com"])
        show("groups", [cli, "--config", conf, "groups"])
        return rc
    finally:
        okta.stop()


if __name__ == "__main__":
    sys.exit(main())
