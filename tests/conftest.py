"""Shared pytest fixtures: the bundled plan and register, a test key, LibreOffice helpers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
TEST_KEY = b"thidua-test-key-0123456789abcdef"
DEBIAN_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="session")
def plan():
    from thidua.plan import load_plan
    return load_plan()


@pytest.fixture(scope="session")
def units():
    from thidua.units import load_units
    return load_units()


@pytest.fixture(scope="session")
def key() -> bytes:
    return TEST_KEY


@pytest.fixture
def key_file(tmp_path, monkeypatch) -> Path:
    """A key file holding TEST_KEY, also exported as $THIDUA_KEY_FILE."""
    path = tmp_path / "office.key"
    path.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    monkeypatch.setenv("THIDUA_KEY_FILE", str(path))
    return path


def need_libreoffice(uno: bool = False) -> None:
    """Skip (locally, with the reason shown) when LibreOffice is missing; fail under CI."""
    missing = []
    if not shutil.which("soffice"):
        missing.append("soffice")
    if uno and subprocess.run([DEBIAN_PYTHON, "-c", "import uno"], capture_output=True).returncode != 0:
        missing.append("python3-uno")
    if missing:
        reason = f"LibreOffice not installed ({', '.join(missing)}): apt-get install libreoffice-calc python3-uno"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def lo_fill(jobs: list[dict], tmp_path: Path) -> None:
    """Type values into workbooks and save them with LibreOffice (see tests/lo_fill.py)."""
    need_libreoffice(uno=True)
    job_file = tmp_path / "lo_fill_job.json"
    job_file.write_text(json.dumps(jobs, ensure_ascii=False, default=str), encoding="utf-8")
    subprocess.run([DEBIAN_PYTHON, str(TESTS / "lo_fill.py"), str(job_file)], check=True, timeout=300)
