"""The example alerting rules (packaging/prometheus/okta-jit.rules.yml,
issue 22): Prometheus' own promtool checks them (`promtool check rules`)
and runs their unit tests (`promtool test rules`,
tests/prometheus/okta-jit.rules.test.yml: each alert fires on the series
that should fire it, and not before its `for:`); and every okta-jitd
metric they use is one okta-jitd(8) documents (test_metrics.py checks the
man page against a running okta-jitd)."""
import os
import re
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "packaging", "prometheus", "okta-jit.rules.yml")
RULE_TESTS = os.path.join(ROOT, "tests", "prometheus", "okta-jit.rules.test.yml")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def promtool(*args, cwd=None):
    assert os.path.exists(PROMTOOL), "promtool missing: install Debian's prometheus package (packaging/install-deps.sh)"
    return subprocess.run([PROMTOOL] + list(args), capture_output=True, text=True, timeout=120, cwd=cwd)


def test_rules_check_clean():
    r = promtool("check", "rules", RULES)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_rule_unit_tests_pass():
    r = promtool("test", "rules", os.path.basename(RULE_TESTS), cwd=os.path.dirname(RULE_TESTS))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_rules_use_only_documented_metrics():
    with open(RULES) as f:
        used = set(re.findall(r"\bokta_jit_[a-z_]+", f.read()))
    with open(os.path.join(ROOT, "man", "okta-jitd.8")) as f:
        documented = set(re.findall(r"^\.B (okta_jit_[a-z_]+)$", f.read(), re.M))
    assert used and used <= documented, sorted(used - documented)
