"""One run's walk of the inbox, kept in the store (a temporary table of the run's connection) rather than in memory:
every file found with its size and modification time, which ones must be read, and what each turned out to be.

A national round is 100,000 files; a province's whole history in one inbox many more. Holding their paths, stat
results, the path cache, the known hashes and the sightings as Python objects made memory grow with the number of
files (~1 KB each); here each file is one row of a table that the database keeps on disk beyond its page cache.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

from thidua.store.store import Store

PAGE = 2000              # files fetched at a time from the list to read


def begin(store: Store) -> None:
    """An empty scan for this connection (temporary: it ends with the connection)."""
    conn = store.conn
    conn.execute("DROP TABLE IF EXISTS scan")
    conn.execute(store.ddl("CREATE TEMP TABLE scan (pos INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, "
                           "mtime_ns INTEGER NOT NULL, sha256 TEXT, todo INTEGER NOT NULL DEFAULT 0)"))


def add(store: Store, rows: Sequence[tuple[int, str, int, int]]) -> None:
    """(position in the walk, path, size, modification time in ns) of files found (a server takes them by COPY)."""
    store.insert_rows("scan", ("pos", "path", "size", "mtime_ns"), rows)


def mark_unchanged(store: Store) -> tuple[int, int]:
    """Files whose path, size and modification time the path cache knows are not read again (they take the cached
    hash); the others are marked to read, in an index of their reading order. Returns how many must be read.
    (A cached path's bytes are archived and sighted under it: all three are written in one transaction, and
    submissions.check_consistency says so.)"""
    conn = store.conn
    store.analyze("scan")
    conn.execute("UPDATE scan SET sha256 = c.sha256 FROM path_cache c "
                 "WHERE c.path = scan.path AND c.size = scan.size AND c.mtime_ns = scan.mtime_ns")
    conn.execute("UPDATE scan SET todo = 1 WHERE sha256 IS NULL")
    conn.execute("CREATE INDEX scan_todo ON scan (mtime_ns, path) WHERE todo = 1")
    n, size = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM scan WHERE todo = 1").fetchone()
    return n, int(size)


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


def read(store: Store, rows: Iterable[tuple[str, int]]) -> None:
    """(sha256, position) of files read by this run."""
    store.conn.executemany("UPDATE scan SET sha256 = ? WHERE pos = ?", rows)


def seen(store: Store, run_id: int, round_code: str | None) -> Iterator[tuple]:
    """What became of every file of the scan, unchanged ones first (in walk order), then those read (in the order
    read, the list's): (path, sha256, unit, round, status, issues, received_at, stored by this run, receipt time and
    source of the unit's current file for that round when this one is superseded or rejected, else None).
    `round_code`: only files of that round or of no known round. (Two ordered scans: nothing to sort.)"""
    current = ("(SELECT c.{} FROM submissions c WHERE c.unit = b.unit AND c.round = b.round AND c.status = 'accepted' "
               "ORDER BY c.id DESC LIMIT 1)")
    sql = ("SELECT s.path, s.sha256, b.unit, b.round, b.status, b.n_errors + b.n_warnings, b.received_at, "
           "b.run_id = ?, " + ", ".join(f"CASE WHEN b.status IN ('superseded', 'rejected') THEN {current.format(c)} END"
                                      for c in ("received_at", "received_source")) +
           " FROM scan s JOIN submissions b ON b.sha256 = s.sha256 WHERE s.todo = {} "
           + ("" if round_code is None else "AND (b.round = ? OR b.round IS NULL) ") + "ORDER BY {}")
    args = (run_id,) if round_code is None else (run_id, round_code)
    yield from store.stream(sql.format(0, "s.pos"), args)
    yield from store.stream(sql.format(1, "s.mtime_ns, s.path"), args)


def first_sightings_of_copies(store: Store) -> dict[str, str]:
    """{sha256: the path its bytes were first seen under} of the bytes seen under more than one path (the others'
    only path is their first): a few entries, not one per file."""
    return dict(store.conn.execute(
        "SELECT g.sha256, g.path FROM sightings g WHERE g.rowid IN "
        "(SELECT min(rowid) FROM sightings GROUP BY sha256 HAVING count(*) > 1)"))
