"""SIGKILL a real consolidation at several points: the store stays consistent and the next run completes it.
Two runs at once: the second is told clearly, or waits and then has nothing left to do."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TEST_KEY
from thidua.store import db as store
from thidua.store.store import Store
from thidua.store.submissions import check_consistency


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, plan, units):
    from thidua.demo.simulate import YearRates, simulate_year
    root = tmp_path_factory.mktemp("kill")
    simulate_year(plan, units, TEST_KEY, root / "inbox", rng_seed=11, rounds=["Q1", "SK1"],
                  rates=YearRates(mistakes=0.15, corrected=0.5, copy=0.05, adhoc=0.0))
    (root / "office.key").write_text(TEST_KEY.hex(), encoding="ascii")
    return root


def start(root: Path, db: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, THIDUA_CHUNK="6")          # many commits: many places to be killed between
    return subprocess.Popen([sys.executable, "-m", "thidua", "consolidate", str(root / "inbox"), "--db", str(db),
                             "--key", str(root / "office.key"), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def count(db: Path, sql: str = "SELECT count(*) FROM submissions") -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def started(db: Path) -> bool:
    return count(db, "SELECT count(*) FROM runs WHERE status = 'running'") > 0


def snapshot(db: Path) -> dict:
    conn = sqlite3.connect(db)
    return {
        "submissions": conn.execute("SELECT sha256, unit, round, status, n_errors, received_at FROM submissions "
                                    "ORDER BY sha256").fetchall(),
        "values": conn.execute("SELECT s.sha256, v.sheet, v.cell, v.value_num, v.value_text, v.value_date FROM "
                               "cell_values v JOIN submissions s ON s.id = v.submission_id ORDER BY 1, 2, 3").fetchall(),
        "issues": conn.execute("SELECT s.sha256, i.code, i.cell FROM issues i JOIN submissions s ON s.id = i.submission_id "
                               "ORDER BY 1, 2, 3").fetchall(),
        "proposals": conn.execute("SELECT unit, round, row, name FROM proposals ORDER BY 1, 2, 3").fetchall(),
        "sightings": conn.execute("SELECT sha256, path FROM sightings ORDER BY 1, 2").fetchall(),
        "files": conn.execute("SELECT sha256, substr(archive_path, instr(archive_path, '/')) FROM files "
                              "ORDER BY 1").fetchall(),
    }


def consistent(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return check_consistency(Store(conn, db), db)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def reference(inbox, tmp_path_factory):
    db = tmp_path_factory.mktemp("ref") / "ref.db"
    proc = start(inbox, db)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return snapshot(db)


def test_sigkill_at_several_points_then_the_next_run_completes(inbox, reference, tmp_path):
    db = tmp_path / "k.db"
    total = len(reference["submissions"])
    kills = []
    for target in (0, total // 5, total // 2, (4 * total) // 5):
        proc = start(inbox, db)
        while proc.poll() is None:
            n = count(db)
            if (target == 0 and started(db)) or (target and n >= target):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                kills.append(count(db))
                break
            time.sleep(0.01)
        leaked = _group_alive(proc.pid)
        if leaked:
            os.killpg(proc.pid, signal.SIGKILL)
        assert not leaked, "worker processes outlived the killed run"
        assert consistent(db) == [], kills
    assert len([k for k in kills if 0 < k < total]) >= 2, kills       # really killed in the middle
    proc = start(inbox, db)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert consistent(db) == []
    assert snapshot(db) == reference
    runs = sqlite3.connect(db).execute("SELECT status FROM runs ORDER BY id").fetchall()
    assert runs[-1] == ("done",) and ("interrupted",) in runs


def _group_alive(pgid: int, wait: float = 3.0) -> bool:
    """Whether any process of the killed run's group (its worker processes) is still alive after `wait`."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


def test_second_run_is_told_or_waits(inbox, reference, tmp_path):
    db = tmp_path / "c.db"
    first = start(inbox, db)
    began = time.monotonic()
    while not started(db) and first.poll() is None and time.monotonic() - began < 60:
        time.sleep(0.01)
    assert first.poll() is None, "first run ended before the second could start"
    told = start(inbox, db, "--wait", "0")
    assert told.wait(timeout=60) == 2
    err = told.stderr.read()
    assert "Đang có một lần tổng hợp khác" in err and "Traceback" not in err
    waiter = start(inbox, db, "--wait", "300", "--json")
    assert first.wait(timeout=300) == 0
    out, err = waiter.communicate(timeout=300)
    assert waiter.returncode == 0, err
    assert json.loads(out)["n_new"] == 0 and "Đang chờ" in err
    assert consistent(db) == [] and snapshot(db) == reference
