"""Every audit detail format in the product follows audit_vformat's rule
(helper/common/audit.h): a %s only as a value, straight after 'key=', and no
conversions but %s, %d and %lld. audit_vformat refuses anything else at
run time (the detail then ends in format_error=1 and the record loses its
facts); this reads the sources so that such a call fails here instead of
in a rarely taken branch."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALL = re.compile(r"\baudit_(?:event|refusal|format)\s*\((.*?)\);", re.S)
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
CONV = re.compile(r"%(lld|llu|ll[a-z]|l[a-z]|z[a-z]|h[a-z]|[-+ #0-9.*]*[a-zA-Z%])")


def audit_formats():
    for path in sorted(glob.glob(os.path.join(ROOT, "helper", "**", "*.c"), recursive=True)):
        text = open(path, encoding="utf-8").read()
        for m in CALL.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            fmt = "".join(LITERAL.findall(m.group(1)))
            if "%" in fmt:
                yield os.path.relpath(path, ROOT), line, fmt


def problems(fmt):
    for c in CONV.finditer(fmt):
        conv = c.group(0)
        if conv not in ("%s", "%d", "%lld", "%%"):
            yield "conversion %s" % conv
        elif conv == "%s" and not fmt[:c.start()].endswith("="):
            yield "%s not straight after 'key='"


def test_the_checker_sees_a_bad_format():
    assert list(problems("reason=ledger-row-%s op=%s"))
    assert list(problems("count=%zu"))
    assert not list(problems("reason=%s op=%s n=%lld m=%d"))


def test_every_audit_format_writes_values_only():
    found = list(audit_formats())
    assert len(found) > 20, found  # the scan sees the calls
    bad = ["%s:%d: %s: %r" % (p, line, why, fmt) for p, line, fmt in found for why in problems(fmt)]
    assert not bad, "\n".join(bad)
