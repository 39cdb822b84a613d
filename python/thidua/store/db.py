"""The consolidated store: the archive, the run lock and queries (the Store object is in store.py)."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterator

from thidua.errors import ThiDuaError
from thidua.store.store import Store, now_iso  # noqa: F401  (now_iso re-exported)

try:                       # POSIX
    import fcntl

    def _try_lock(fh) -> bool:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fh) -> None:
        fcntl.flock(fh, fcntl.LOCK_UN)
except ImportError:        # Windows: lock the first byte of the lock file
    import msvcrt

    def _try_lock(fh) -> bool:
        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fh) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

DEFAULT_DB = "thidua.db"
ARCHIVE_SUFFIX = "-luu-tru"     # thidua.db -> thidua-luu-tru/ab/<sha256>.xlsx
VALID = ("accepted", "superseded")


def local_iso(timestamp: float) -> str:
    """A POSIX time as local ISO text with seconds (how received times are stored)."""
    return dt.datetime.fromtimestamp(timestamp).replace(microsecond=0).isoformat()


def archive_root(db_path: str | Path) -> Path:
    db = Path(db_path)
    return db.with_name(db.stem + ARCHIVE_SUFFIX)


def connect(db_path: str | Path, create: bool = True) -> sqlite3.Connection:
    """The raw connection of a Store (transitional: callers move to the Store object)."""
    return Store.open(db_path, create=create).conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; ROLLBACK on any error. A killed process leaves no partial write."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def run_lock(db_path: str | Path, wait: float = 30.0, on_wait=None) -> Iterator[int]:
    """One consolidation at a time per store: a lock on `<db>.lock` (the OS releases it if the process dies).

    Yields the lock file's descriptor (forked workers close their copy)."""
    lock_path = Path(str(db_path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "a+")
    deadline = time.monotonic() + max(0.0, wait)
    told = locked = False
    try:
        while not _try_lock(fh):
            if time.monotonic() >= deadline:
                raise ThiDuaError(f"Đang có một lần tổng hợp khác chạy trên cùng cơ sở dữ liệu {Path(db_path).name}.",
                                  "Chờ lần đó chạy xong rồi bấm lại (hoặc dùng --wait để chờ lâu hơn).")
            if on_wait and not told:
                on_wait()
                told = True
            time.sleep(0.1)
        locked = True
        yield fh.fileno()
    finally:
        if locked:
            with contextlib.suppress(OSError):
                _unlock(fh)
        fh.close()


def archive_bytes(root: Path, sha256: str, data: bytes, suffix: str) -> Path:
    """Write-once archive copy named by content hash; an existing copy is never rewritten."""
    target = root / sha256[:2] / (sha256 + suffix.lower())
    if target.exists() and target.stat().st_size == len(data):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return target


def clean_archive_temps(root: Path) -> int:
    """Remove temporaries left by a killed run (only called while holding the run lock)."""
    n = 0
    if root.exists():
        for tmp in root.glob("*/.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                n += 1
    return n


def sync_plan(conn: sqlite3.Connection, plan, units) -> None:
    """Upsert the register and the rounds (the plan and register may change during the year)."""
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    with transaction(conn):
        conn.executemany(
            "INSERT INTO units VALUES (?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET name=excluded.name, "
            "cluster=excluded.cluster, staff=excluded.staff, members=excluded.members, email=excluded.email, "
            "founded=excluded.founded",
            [(u.code, u.name, u.cluster, u.staff, u.members, u.email, iso(u.founded)) for u in units])
        conn.executemany(
            "INSERT INTO rounds VALUES (?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET name=excluded.name, "
            "kind=excluded.kind, period=excluded.period, start=excluded.start, \"end\"=excluded.\"end\", "
            "due=excluded.due",
            [(r.code, r.name, r.kind, r.period, iso(r.start), iso(r.end), iso(r.due)) for r in plan.rounds])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('year', ?)", (str(plan.year),))


def due_deadline(rnd) -> str | None:
    """Received after this ISO time (end of the due day, local time) is late."""
    return f"{rnd.due.isoformat()}T23:59:59" if rnd.due else None


# ---------------------------------------------------------------- queries
def submission_history(conn: sqlite3.Connection, unit: str | None = None, round_code: str | None = None) -> list[dict]:
    """Every submission (oldest first) with its status, for one unit and/or round: the resubmission history."""
    sql = ("SELECT s.id, s.sha256, s.unit, s.round, s.received_at, s.status, s.n_errors, s.n_warnings, "
           "s.file_name, f.archive_path FROM submissions s JOIN files f USING (sha256) WHERE 1=1")
    args: list = []
    if unit:
        sql += " AND s.unit = ?"
        args.append(unit)
    if round_code:
        sql += " AND s.round = ?"
        args.append(round_code)
    sql += " ORDER BY s.unit, s.round, s.received_at, s.id"
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.row_factory = None


def indicator_totals(conn: sqlite3.Connection, round_code: str | None = None) -> dict[str, dict[str, float]]:
    """Sum of the numeric indicator values of the current submissions: {round: {code: total}}."""
    sql = "SELECT round, code, sum(value_num) FROM indicator_values WHERE value_num IS NOT NULL"
    args: tuple = ()
    if round_code:
        sql += " AND round = ?"
        args = (round_code,)
    out: dict[str, dict[str, float]] = {}
    for rnd, code, total in conn.execute(sql + " GROUP BY round, code ORDER BY round, code", args):
        out.setdefault(rnd, {})[code] = int(total) if float(total).is_integer() else total
    return out


def check_consistency(conn: sqlite3.Connection, db_path: str | Path) -> list[str]:
    """Problems in the store (empty when consistent): SQLite integrity, foreign keys, archive copies."""
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    problems += [f"foreign key {r}" for r in conn.execute("PRAGMA foreign_key_check")]
    for sha, path in conn.execute("SELECT sha256, archive_path FROM files"):
        full = archive_root(db_path).parent / path
        if not full.exists():
            problems.append(f"archive copy missing for {sha}")
    problems += [f"file {sha} has no submission" for (sha,) in conn.execute(
        "SELECT sha256 FROM files WHERE sha256 NOT IN (SELECT sha256 FROM submissions)")]
    problems += [f"unit {u} round {r}: {n} accepted" for u, r, n in conn.execute(
        "SELECT unit, round, count(*) FROM submissions WHERE status='accepted' GROUP BY unit, round HAVING count(*) > 1")]
    return problems
