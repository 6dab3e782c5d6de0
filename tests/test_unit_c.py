"""Run the C unit tests (cmocka) built from tests/unit/LAYER/, plainly and under
valgrind memcheck, so their results count in pytest's summary."""
import glob
import os
import shutil

import pytest

from conftest import BUILD, run

UNIT_BINS = sorted(glob.glob(os.path.join(BUILD, "tests", "test_*")))

# Valgrind cannot run an ASan binary: `make asan-check` sets OJIT_SANITIZED=1.
SANITIZED = os.environ.get("OJIT_SANITIZED") == "1"


def test_unit_binaries_were_built():
    srcs = glob.glob(os.path.join(os.path.dirname(__file__), "unit", "*", "test_*.c"))
    names = sorted(os.path.basename(s)[:-2] for s in srcs)
    built = sorted(os.path.basename(b) for b in UNIT_BINS)
    assert names and names == built, "build the unit tests with `make unit-tests`"


@pytest.mark.parametrize("path", UNIT_BINS, ids=os.path.basename)
def test_unit(path):
    r = run([path], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout + r.stderr


@pytest.mark.skipif(SANITIZED, reason="ASan build (OJIT_SANITIZED=1): valgrind cannot run it")
@pytest.mark.parametrize("path", UNIT_BINS, ids=os.path.basename)
def test_unit_valgrind(path):
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is required (packaging/install-deps.sh installs it)")
    r = run(["valgrind", "--quiet", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
             "--error-exitcode=99", path], timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
