"""A SQLite store's files beside the database: the write-once archive folder and the run lock file. Callers go
through the Store object (store.archive, store.run_lock()), which picks these or the server's equivalents."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from pathlib import Path
from typing import Iterator

from thidua.errors import ThiDuaError

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

from thidua.store.locator import ARCHIVE_SUFFIX, DEFAULT_DB  # noqa: E402,F401  (one definition, in locator.py)


def local_iso(timestamp: float) -> str:
    """A POSIX time as local ISO text with seconds (how received times are stored)."""
    return dt.datetime.fromtimestamp(timestamp).replace(microsecond=0).isoformat()


def archive_root(db_path: str | Path) -> Path:
    db = Path(db_path)
    return db.with_name(db.stem + ARCHIVE_SUFFIX)


@contextlib.contextmanager
def run_lock(db_path: str | Path, wait: float = 30.0, on_wait=None) -> Iterator[int]:
    """One consolidation at a time per store: a lock on `<db>.lock` (the OS releases it if the process dies).

    Yields the lock file's descriptor (forked workers close their copy)."""
    lock_path = Path(str(db_path) + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a+")
    except OSError as exc:             # the store's folder cannot be written: say so about the store
        from thidua import faults
        if exc.errno in faults.READ_ONLY | faults.DENIED:
            raise faults.read_only(db_path, faults.why_not_writable(lock_path), store=True) from exc
        raise faults.translate(exc, lock_path) or exc
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
    return write_once(root / sha256[:2] / (sha256 + suffix.lower()), sha256, data)


def write_once(target: Path, sha256: str, data: bytes) -> Path:
    """An archived copy at `target`, written under a temporary name and renamed when whole, then read-only; a
    whole copy already there is kept."""
    if target.exists() and target.stat().st_size == len(data):
        return target
    tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except OSError as exc:              # a full disk, a read-only archive: said about the archive copy, none left half
        from thidua.fileio import write_error
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise write_error(exc, target, tmp) or exc
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
