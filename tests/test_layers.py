"""`make layers` (tests/tools/layers.py, helper/LAYERS): the tree passes,
and a copy of it with one bad include fails, naming the file and line."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tests", "tools", "layers.py")
FOLDERS = ["helper", "pam_module", "nss_module", "tests/tools", "tests/unit", "fuzz", "bench"]


def run(root):
    p = subprocess.run([sys.executable, TOOL, root], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture
def tree(tmp_path):
    """A copy of the layered folders (sources and LAYERS only)."""
    for d in FOLDERS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, d)):
            rel = os.path.relpath(dirpath, ROOT)
            for n in names:
                if n.endswith((".c", ".h")) or n == "LAYERS":
                    os.makedirs(tmp_path / rel, exist_ok=True)
                    shutil.copy(os.path.join(dirpath, n), tmp_path / rel / n)
    return tmp_path


def add_include(path, header):
    """Insert #include "header" after the file's first include; its line."""
    lines = path.read_text().splitlines(keepends=True)
    i = next(i for i, l in enumerate(lines) if l.startswith("#include"))
    lines.insert(i + 1, f'#include "{header}"\n')
    path.write_text("".join(lines))
    return i + 2


def test_the_tree_passes():
    rc, out = run(ROOT)
    assert rc == 0, out


def test_the_copy_passes(tree):
    rc, out = run(str(tree))
    assert rc == 0, out


@pytest.mark.parametrize(
    "src,header,why",
    [
        ("helper/common/util.c", "ledger.h", "layer common may not use layer ledger"),  # a higher layer
        ("helper/okta/okta_call.c", "check.h", "layer okta may not use layer daemon"),  # higher
        ("helper/cli/client.c", "grants.h", "layer cli may not use layer daemon"),  # a sibling
        ("helper/ledger/ledger_pg.c", "okta_http.h", "layer ledger may not use layer okta"),
        ("pam_module/pam_okta_jit.c", "util.h", "layer pam may only answers.h, proto.h of layer common"),
        ("helper/daemon/check_decide.c", "nosuch.h", "a header in no layer"),
    ],
)
def test_a_bad_include_fails_with_file_and_line(tree, src, header, why):
    line = add_include(tree / src, header)
    rc, out = run(str(tree))
    assert rc == 1, out
    assert f"{src}:{line}: includes" in out and why in out, out


def test_a_cycle_inside_a_layer_fails(tree):
    # check_cache.c uses pool.h; pool.c including check_cache.h closes a ring
    line = add_include(tree / "helper/daemon/pool.c", "check_cache.h")
    rc, out = run(str(tree))
    assert rc == 1, out
    assert "include cycle" in out and f"helper/daemon/pool.c:{line} -> helper/daemon/check_cache" in out, out


def test_the_ledger_interface_and_backends_stay_one_way(tree):
    # the cycle issue 16 removed: the backends' header reaching the interface
    add_include(tree / "helper/ledger/ledger_backend.h", "ledger.h")
    rc, out = run(str(tree))
    assert rc == 1 and "include cycle" in out and "helper/ledger/ledger_backend.h" in out, out


def test_a_layer_may_use_only_layers_listed_above_it(tree):
    p = tree / "helper" / "LAYERS"
    p.write_text(p.read_text().replace("ledger  helper/ledger  : common", "ledger  helper/ledger  : common daemon"))
    rc, out = run(str(tree))
    assert rc == 2 and "may use only layers listed above it, not daemon" in out, out
