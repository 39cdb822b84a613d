"""One run's walk of the inbox, kept in the store (a temporary table of the run's connection) rather than in memory:
every file found with its size and modification time, which ones must be read, and what each turned out to be.

A national round is 100,000 files; a province's whole history in one inbox many more. Holding their paths, stat
results, the path cache, the known hashes and the sightings as Python objects made memory grow with the number of
files (~1 KB each); here each file is one row of a table that the database keeps on disk beyond its page cache.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from thidua.store.store import Store

PAGE = 2000              # files fetched at a time from the list to read


def begin(store: Store) -> None:
    """An empty scan for this connection (temporary: it ends with the connection)."""
    conn = store.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS scan (pos INTEGER NOT NULL PRIMARY KEY, path TEXT NOT NULL, "
                 "size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT, todo INTEGER NOT NULL DEFAULT 0, "
                 "seq INTEGER)")
    conn.execute("CREATE INDEX IF NOT EXISTS scan_todo ON scan (todo, mtime_ns, path)")
    conn.execute("DELETE FROM scan")


def add(store: Store, rows: Iterable[tuple[int, str, int, int]]) -> None:
    """(position in the walk, path, size, modification time in ns) of files found."""
    store.conn.executemany("INSERT INTO scan (pos, path, size, mtime_ns) VALUES (?, ?, ?, ?)", rows)


def mark_unchanged(store: Store) -> int:
    """Files whose path, size and modification time the path cache knows, and whose bytes are in the archive, are
    not read again (they take the cached hash); the others are marked to read. Returns how many must be read."""
    conn = store.conn
    conn.execute("UPDATE scan SET sha256 = c.sha256 FROM path_cache c JOIN files f ON f.sha256 = c.sha256 "
                 "WHERE c.path = scan.path AND c.size = scan.size AND c.mtime_ns = scan.mtime_ns")
    return conn.execute("UPDATE scan SET todo = 1 WHERE sha256 IS NULL").rowcount


def to_read(store: Store, page: int = PAGE) -> Iterator[list[tuple[int, str, int, int]]]:
    """The files to read, in pages, earliest modification first (then by path): of identical copies, the first
    is the original. Each row: (position, path, size, mtime_ns)."""
    conn = store.conn
    rows = conn.execute("SELECT pos, path, size, mtime_ns FROM scan WHERE todo = 1 ORDER BY mtime_ns, path LIMIT ?",
                        (page,)).fetchall()
    while rows:
        yield rows
        _, path, _, mtime = rows[-1]
        rows = conn.execute("SELECT pos, path, size, mtime_ns FROM scan WHERE todo = 1 AND (mtime_ns > ? OR "
                            "(mtime_ns = ? AND path > ?)) ORDER BY mtime_ns, path LIMIT ?",
                            (mtime, mtime, path, page)).fetchall()


def read(store: Store, rows: Iterable[tuple[str, int, int]]) -> None:
    """(sha256, order read in, position) of files read by this run."""
    store.conn.executemany("UPDATE scan SET sha256 = ?, seq = ? WHERE pos = ?", rows)


def unsighted(store: Store) -> list[tuple[str, str, int]]:
    """(sha256, path, mtime_ns) of unchanged files whose sighting is not recorded (normally none)."""
    return store.conn.execute(
        "SELECT s.sha256, s.path, s.mtime_ns FROM scan s WHERE s.todo = 0 AND s.sha256 IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM sightings g WHERE g.sha256 = s.sha256 AND g.path = s.path) ORDER BY s.pos").fetchall()


def seen(store: Store, run_id: int, round_code: str | None) -> Iterator[tuple]:
    """What became of every file of the scan, unchanged ones first (in walk order), then those read (in the order
    read): (path, sha256, unit, round, status, issues, received_at, stored by this run, path of the first sighting
    of its bytes, receipt time and source of the unit's current file for that round). `round_code`: only files of
    that round or of no known round."""
    where = "" if round_code is None else "WHERE b.round = ? OR b.round IS NULL "
    return store.conn.execute(
        "SELECT s.path, s.sha256, b.unit, b.round, b.status, b.n_errors + b.n_warnings, b.received_at, "
        "b.run_id = ?, (SELECT g.path FROM sightings g WHERE g.sha256 = s.sha256 ORDER BY g.rowid LIMIT 1), "
        "c.received_at, c.received_source "
        "FROM scan s JOIN submissions b ON b.sha256 = s.sha256 "
        "LEFT JOIN submissions c ON c.id = (SELECT max(a.id) FROM submissions a WHERE a.unit = b.unit "
        "AND a.round = b.round AND a.status = 'accepted') " + where +
        "ORDER BY s.seq IS NOT NULL, s.seq, s.pos", (run_id,) if round_code is None else (run_id, round_code))
