"""The systemd units (packaging/systemd/), without a running systemd: this
machine has none, so `systemd-analyze verify` checks each unit (its
ExecStart= pointed at the binary just built) and `systemd-analyze security
--offline=true` scores its hardening; `make package-check` checks the
installed units again. And okta-jit-web's unit, its packages and okta-jitd
agree on the group that opens the web socket (issue 19)."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import binary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = os.path.join(ROOT, "packaging", "systemd")

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


def unit_text(name):
    with open(os.path.join(UNITS, name)) as f:
        return f.read()


@pytest.mark.parametrize("name,exe", [("okta-jitd.service", "okta-jitd"), ("okta-jit-web.service", "okta-jit-web")])
def test_unit_verifies_clean(tmp_path, name, exe):
    text = unit_text(name).replace("/usr/sbin/" + exe, binary(exe))
    assert binary(exe) in text
    p = tmp_path / name
    p.write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(p)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and (r.stdout + r.stderr).strip() == "", r.stdout + r.stderr


@pytest.mark.parametrize("name,most", [("okta-jitd.service", 2.5), ("okta-jit-web.service", 2.0)])
def test_unit_exposure(name, most):
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", os.path.join(UNITS, name)],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for %s: ([0-9.]+)" % re.escape(name), r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= most, r.stdout


def test_web_group_is_one_name_everywhere():
    """okta-jitd chowns the web socket to OJIT_WEB_GROUP; the unit's
    DynamicUser= reaches it through SupplementaryGroups=; the Debian and
    RPM packages create that group. One name, or the socket is unreachable."""
    with open(os.path.join(ROOT, "helper", "config", "config.h")) as f:
        [group] = re.findall(r'#define OJIT_WEB_GROUP "([^"]+)"', f.read())
    unit = unit_text("okta-jit-web.service")
    assert re.search(r"^DynamicUser=yes$", unit, re.M)
    assert re.findall(r"^SupplementaryGroups=(.*)$", unit, re.M) == [group]
    with open(os.path.join(ROOT, "packaging", "debian", "okta-jit-web.postinst")) as f:
        assert "addgroup --system --quiet %s" % group in f.read()
    with open(os.path.join(ROOT, "packaging", "rpm", "okta-jit.spec")) as f:
        spec = f.read()
    assert "groupadd -r %s" % group in spec.split("%pre web", 1)[1].split("%post web", 1)[0]
    with open(os.path.join(ROOT, "packaging", "debian", "okta-jit-web.install")) as f:
        assert "packaging/systemd/okta-jit-web.service lib/systemd/system" in f.read()
