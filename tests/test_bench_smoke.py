"""The benchmark keeps working: a tiny run (N = 20, one repeat) prints the table and the JSON object."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"
KEYS = {"units", "floor_s", "floor_cpu_s", "naive_s", "cold_s", "cold_cpu_s", "incremental_s", "templates_s",
        "summary_s", "cold_peak_mb", "cold_peak_pss_mb", "naive_over_cold", "cold_over_floor", "load"}


def test_bench_smoke(tmp_path):
    work = tmp_path / "work"
    done = subprocess.run([sys.executable, str(RUN), "--units", "20", "--repeats", "1", "--json", "--work", str(work)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert set(result) == KEYS and result["units"] == 20
    assert "measure" in lines[1] and any(line.startswith("cold_over_floor") for line in lines)
    for key in ("floor_s", "naive_s", "templates_s"):
        assert result[key] > 0
    assert result["naive_s"] > result["floor_s"]
    assert len(list((work / "templates").glob("*.xlsx"))) == 20
    assert len(list((work / "inbox").rglob("*.xlsx"))) >= 18
    for key in ("cold_s", "cold_cpu_s", "incremental_s", "summary_s", "cold_peak_mb", "cold_peak_pss_mb"):
        assert result[key] is None or result[key] > 0      # None only while the stage's module is missing
    assert result["floor_cpu_s"] > 0 and len(result["load"]) == 3
    if result["cold_s"] is not None:
        # the JSON carries rounded seconds; the ratio was computed before rounding
        assert abs(result["naive_over_cold"] - result["naive_s"] / result["cold_s"]) < 0.02 * result["naive_over_cold"] + 0.011
        assert (work / "cold0" / "TongHop.xlsx").exists()
        # main and workers together: at least the consolidating process itself, never less than its own peak
        assert result["cold_peak_mb"] >= result["cold_peak_pss_mb"] > 10
        assert "summed RSS" in next(line for line in lines if line.startswith("cold_peak_mb"))


def test_bench_rejects_unknown_stage():
    done = subprocess.run([sys.executable, str(RUN), "--units", "5", "--stages", "floor,bogus"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "bogus" in done.stderr


def test_memory_bench_measures_chosen_modes_and_files():
    """--memory --only feedback --files GLOB: only that mode, only the matching files, no speed run."""
    done = subprocess.run([sys.executable, str(RUN), "--memory", "--only", "feedback", "--files", "libreoffice_typed.x*",
                           "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:]          # 1: a figure over 200 MB (reported, not a crash)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["modes"] == ["feedback"] and set(result["max_mb"]) == {"feedback"}
    assert sorted(r["file"] for r in result["worst"]) == ["libreoffice_typed.xls", "libreoffice_typed.xlsx"]
    assert all(r["feedback"] > 0 for r in result["worst"]) and "valid_files_per_s" not in result
    bad = subprocess.run([sys.executable, str(RUN), "--memory", "--only", "bogus"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "--only" in bad.stderr
