"""Packaging tells the truth: the declared dependencies and Python, and a wheel that builds the workbook on its own."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from conftest import ROOT


def _pins(lines) -> list[str]:
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_pyproject_declares_the_pinned_dependencies_and_python():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11"
    assert project["dependencies"] == _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_an_installed_wheel_builds_the_workbook(tmp_path):
    """`pip wheel --no-deps`, install into a fresh venv (dependencies from this environment), build the workbook
    from a folder that is not the checkout: the VBA sources come from the package data."""
    source = tmp_path / "source"         # a clean copy: the build leaves build/ and *.egg-info behind
    top = {".git", ".venv", ".tmp", "build", "tests", "bench", "docs", "workbook", "templates", "demo-output"}
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [
        n for n in names if (Path(folder) == ROOT and n in top) or n == "__pycache__" or n.endswith(".egg-info")])
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                   check=True, timeout=600)
    wheel = next(wheels.glob("thidua-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    macros = sorted(p.stem for p in (ROOT / "macros").glob("*.bas"))
    assert sorted(Path(n).stem for n in names if n.startswith("thidua/workbook/macros/")) == macros
    assert "thidua/store/migrations/0001_initial.sql" in names and "thidua/data/plan2019.toml" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=600)
    work = tmp_path / "office"
    work.mkdir()
    deps = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]    # where the pins are installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(deps))
    where = subprocess.run([str(python), "-c", "import thidua; print(thidua.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), where                  # the installed copy, not the checkout
    thidua = venv / ("Scripts/thidua.exe" if os.name == "nt" else "bin/thidua")
    done = subprocess.run([str(thidua), "build-workbook", "--out", "x.xlsm"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(work / "x.xlsm") as z:
        vba = z.read("xl/vbaProject.bin")
    for module in macros:
        assert module.encode() in vba
