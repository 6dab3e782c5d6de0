"""bench/fleet.py's own logic, without running a fleet (that is `make
bench-fleet`): it skips cleanly without PostgreSQL, rewrites only its own
sections of the docs, and its on-paper figures follow the measurements."""
import glob
import importlib.util
import os
import runpy
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLEET = os.path.join(ROOT, "bench", "fleet.py")


@pytest.fixture
def fleet():
    spec = importlib.util.spec_from_file_location("bench_fleet", FLEET)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.R.clear()
    return mod


def test_skips_with_a_message_without_postgresql(monkeypatch, capsys):
    real = glob.glob
    monkeypatch.setattr(glob, "glob", lambda p, *a, **k: [] if "postgresql" in p else real(p, *a, **k))
    monkeypatch.setattr(sys, "argv", [FLEET])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(FLEET, run_name="__main__")
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "skipped: PostgreSQL is not installed" in out, out


def test_sections_are_replaced_in_place_and_numbers_stay_last(fleet, tmp_path):
    p = tmp_path / "doc.md"
    p.write_text("# T\n\n## A\n\nold a\n\n## B\n\nb\n")
    fleet.replace_section(str(p), "## Fleet", ["first"])
    fleet.replace_section(str(p), "## A", ["new a"])
    fleet.replace_section(str(p), "## Fleet", ["second"])
    assert p.read_text() == "# T\n\n## A\n\nnew a\n\n## B\n\nb\n\n## Fleet\n\nsecond\n"
    # "## Numbers" is docs/fleet.md's last section: replaced to the end
    fleet.replace_section(str(p), "## Numbers", ["n1"], at_end=True)
    fleet.replace_section(str(p), "## Numbers", ["n2", "", "| a | b |"], at_end=True)
    assert p.read_text().endswith("## Fleet\n\nsecond\n\n## Numbers\n\nn2\n\n| a | b |\n")
    assert p.read_text().count("## Numbers") == 1


def _design(calls_per_min, conns_per_gate, gates=50):
    sweep = [{"gates": n, "okta_calls_per_min": c, "pg_conns": {"okta_jit_gate": conns_per_gate * gates,
                                                                "okta_jit": 2},
              "gate_statements_per_check_net": 1.0} for n, c in calls_per_min]
    return {"sweep": sweep, "burst": [{"okta": {"api_calls": 2 * gates}}],
            "idle": {"gate_statements_per_s_per_gate": 0.25}, "snapshot_puts_per_min": 3.0}


def test_on_paper_figures_grow_with_the_gates_only_where_measured_to(fleet):
    fleet.DESIGNS = ["today", "new"]
    fleet.GATES = 50
    fleet.R["today"] = _design([(1, 100.0), (10, 1000.0), (50, 5000.0)], 1)
    # the new design's calls: noise around 6 a minute, not a slope
    fleet.R["new"] = _design([(1, 6.2), (10, 5.9), (50, 6.0)], 2)
    fleet.extrapolate()
    ex = fleet.R["extrapolation"]
    assert ex["today"]["1000"]["okta_calls_per_min"] == pytest.approx(100000.0)
    assert not ex["today"]["okta_flat"]
    assert ex["new"]["okta_flat"]
    assert ex["new"]["10000"]["okta_calls_per_min"] == pytest.approx(6.0333, rel=1e-3)
    assert ex["new"]["10000"]["pg_conns"] == 20002
    assert ex["new"]["1000"]["notify_deliveries_per_min"] == pytest.approx(3.0 * 1002)
    assert ex["today"]["1000"]["burst_okta_calls"] == pytest.approx(2000.0)
