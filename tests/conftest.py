"""Shared pytest fixtures: the bundled plan and register, a test key, LibreOffice helpers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from thidua.year.workset import WorkingSet

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
TEST_KEY = b"thidua-test-key-0123456789abcdef"
DEBIAN_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="session")
def plan():
    from thidua.plan.load import load_plan
    return load_plan()


@pytest.fixture(scope="session")
def units():
    from thidua.plan.load import load_units
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


@pytest.fixture(scope="session")
def consolidated_year(tmp_path_factory, plan, units):
    """A simulated inbox (Q1 and SK1, 60 units, many mistakes, lates, misses and resubmissions), consolidated.

    Returns a namespace: root, inbox, db, truth, report, workbooks ({round: path}), units (the 60).
    """
    from types import SimpleNamespace

    from thidua.consolidate.run import consolidate
    from thidua.demo.simulate import YearRates, simulate_year

    root = tmp_path_factory.mktemp("year")
    chosen = units[:60]
    rates = YearRates(missing=0.1, late=0.2, mistakes=0.3, corrected=0.6, copy=0.15, adhoc=0.0, decrease=0.1)
    truth = simulate_year(plan, chosen, TEST_KEY, root / "inbox", rng_seed=7, rounds=["Q1", "SK1"], rates=rates)
    report = consolidate(WorkingSet(plan, chosen, root / "thidua.db", secret=TEST_KEY), root / "inbox", out=root / "bao-cao")
    workbooks = {Path(p).stem.split("_")[-1]: Path(p) for p in report.workbooks}
    return SimpleNamespace(root=root, inbox=root / "inbox", db=root / "thidua.db", truth=truth, report=report,
                           workbooks=workbooks, units=chosen)


# ---------------------------------------------------------------- a real PostgreSQL server (tests/pgserver.py)
ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session, started by the tests themselves (127.0.0.1, a free port), as an
    unprivileged user. Skipped locally, with the reason, when the server programs are missing; CI installs them
    (.ci/run) and must not skip."""
    from pgserver import PgServer, available
    why = available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {why}")
        pytest.skip(why)
    server = PgServer().start()
    yield server
    server.remove()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the test server (dropped after the test)."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url.rsplit("/", 1)[1])


def store_at(engine: str, tmp_path: Path, request, name: str = "t.db") -> str:
    """Where a test's store is for `engine`: a file in tmp_path, or a fresh database on the test server."""
    if engine == "sqlite":
        return str(tmp_path / name)
    server = request.getfixturevalue("pg_server")
    url = server.create_database()
    request.addfinalizer(lambda: server.drop_database(url.rsplit("/", 1)[1]))
    return url


@pytest.fixture(params=ENGINES)
def engine_db(request, tmp_path) -> str:
    """A fresh store location on each engine in turn: the same test runs on SQLite and on PostgreSQL."""
    return store_at(request.param, tmp_path, request)
