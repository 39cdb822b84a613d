"""Files and submissions: the archive index, sightings, the stat cache, statuses, receipt times and history."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from thidua.errors import ThiDuaError
from thidua.store.definitions import Submission, current_submission, stronger_receipt
from thidua.store.store import Store, now_iso

_COLUMNS = "id, sha256, unit, round, status, received_at, received_source, n_errors, file_name, n_warnings"


_submission = Submission._make


# ---------------------------------------------------------------- what consolidation knows already
def is_known(store: Store, sha256: str) -> bool:
    """Whether these bytes are already in the archive (and stored)."""
    return store.conn.execute("SELECT 1 FROM files WHERE sha256 = ?", (sha256,)).fetchone() is not None


# ---------------------------------------------------------------- writing
def add_file(store: Store, sha256: str, archive_path: str, size: int) -> None:
    store.insert("files", {"sha256": sha256, "archive_path": archive_path, "size": size, "first_seen": now_iso()})


def add_sightings(store: Store, rows: Iterable[tuple[str, str, str, int]]) -> None:
    """(sha256, path, mtime, run id) rows; a sighting already recorded is kept."""
    store.conn.executemany("INSERT INTO sightings (sha256, path, mtime, run_id) VALUES (?,?,?,?) "
                           "ON CONFLICT DO NOTHING", rows)


def cache_paths(store: Store, rows: Iterable[tuple[str, int, int, str]]) -> None:
    """(path, size, mtime_ns, sha256) rows of the stat cache, replacing what was known of those paths."""
    store.upsert("path_cache", [{"path": p, "size": n, "mtime_ns": m, "sha256": h} for p, n, m, h in rows],
                 key=("path",))


def add_files(store: Store, files: list[dict], subs: list[dict]) -> None:
    """New files and their submissions (each with its id from `store.next_ids`), in one write of each kind."""
    store.insert_many("files", [dict(f, first_seen=f.get("first_seen") or now_iso()) for f in files])
    store.insert_many("submissions", [{"received_source": "file", "file_mtime": r.get("received_at"), **r}
                                      for r in subs])


def resolve(store: Store, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """Make the current submission (see definitions.current_submission) of each (unit, round) `accepted` and the
    other valid ones `superseded`; returns the (unit, round, submission id) whose current submission changed.
    (One read for all the pairs and one write of each kind: a few round trips to a server, not a few per pair.)"""
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    units, rounds = sorted({u for u, _ in wanted}), sorted({r for _, r in wanted})
    found: dict[tuple[str, str], list[Submission]] = {}
    for row in store.conn.execute(
            f"SELECT {_COLUMNS} FROM submissions WHERE status IN ('accepted','superseded') "
            f"AND unit IN ({','.join('?' * len(units))}) AND round IN ({','.join('?' * len(rounds))})",
            (*units, *rounds)).fetchall():
        found.setdefault((row[2], row[3]), []).append(_submission(row))
    changed = []
    for unit, rnd in wanted:
        history = found.get((unit, rnd), [])
        latest = current_submission(history)
        if latest is None:
            continue
        if latest.status != "accepted" or any(s.status == "accepted" and s.id != latest.id for s in history):
            changed.append((unit, rnd, latest.id))
    if changed:
        store.conn.executemany("UPDATE submissions SET status='superseded' WHERE unit=? AND round=? "
                               "AND status='accepted'", [(u, r) for u, r, _ in changed])
        store.conn.executemany("UPDATE submissions SET status='accepted' WHERE id=?", [(i,) for _, _, i in changed])
    return changed


def set_receipt(store: Store, file_or_sha: str, when: str, source: str = "office") -> Submission:
    """Record when the office received a file (by its SHA-256, a unique prefix of it, or its file name) and
    from what account; a weaker source (mail < office) never replaces a stronger one. Returns the submission."""
    key = file_or_sha.strip()
    found = store.rows(f"SELECT {_COLUMNS} FROM submissions WHERE sha256 LIKE ? OR file_name = ? ORDER BY id",
                       (key.lower() + "%" if len(key) >= 8 else key, Path(key).name))
    if not found:
        raise ThiDuaError(f"Không có tệp nào đã nhận khớp «{key}».",
                          "Ghi mã SHA-256 (hoặc 8 ký tự đầu) hay tên tệp như «thidua history» liệt kê.")
    if len(found) > 1:
        raise ThiDuaError(f"Có {len(found)} tệp khớp «{key}»: " + ", ".join(r["sha256"][:12] for r in found[:5]) + ".",
                          "Ghi mã SHA-256 đầy đủ của tệp (xem «thidua history»).")
    sub = _submission(tuple(found[0].values()))
    if stronger_receipt(sub.source, source):
        with store.atomic():
            store.conn.execute("UPDATE submissions SET received_at=?, received_source=? WHERE id=?",
                               (when, source, sub.id))
            if sub.unit and sub.round:
                from thidua.store.proposals import refresh_many
                refresh_many(store, resolve(store, [(sub.unit, sub.round)]))
    row = store.one(f"SELECT {_COLUMNS} FROM submissions WHERE id=?", (sub.id,))
    return _submission(tuple(row.values()))


# ---------------------------------------------------------------- reading
def receipt_from_mail(store: Store, sha256: str, when: str) -> bool:
    """A file consolidated before it was fetched from the mailbox: its receipt time becomes the mailbox's (unless
    the office set one). Returns whether a submission of that file exists."""
    if store.scalar("SELECT count(*) FROM submissions WHERE sha256 = ?", (sha256,)):
        set_receipt(store, sha256, when, "mail")
        return True
    return False


def histories(store: Store, rounds: Iterable[str]) -> dict[tuple[str, str], list[Submission]]:
    """{(unit, round): its submissions in receipt order} for `rounds`: what every lateness figure is computed from."""
    codes = tuple(rounds)
    out: dict[tuple[str, str], list[Submission]] = {}
    if not codes:
        return out
    for row in store.conn.execute(f"SELECT {_COLUMNS} FROM submissions WHERE round IN ({','.join('?' * len(codes))}) "
                                  "ORDER BY received_at, id", codes):
        out.setdefault((row[2], row[3]), []).append(_submission(row))
    return out


RECEIVED_TABLES = ("files", "sightings", "path_cache", "submissions", "cell_values", "issues", "proposals")


def analyze_received(store: Store) -> None:
    """Planner statistics of the tables a consolidation fills, after a run that filled much of them (Store.analyze;
    a server's own autovacuum comes later, and the run's reports and workbooks are read right away)."""
    store.analyze(*RECEIVED_TABLES)


def histories_in_order(store: Store, round_code: str) -> Iterator[tuple]:
    """(position, *Submission) of the submissions of one round by the units of register.order_units, in that order
    and each unit's in receipt order: `histories` streamed."""
    cross = "CROSS JOIN" if store.engine == "sqlite" else "JOIN"     # CROSS JOIN fixes SQLite's join order
    return store.stream(
        "SELECT o.pos, s.id, s.sha256, s.unit, s.round, s.status, s.received_at, s.received_source, s.n_errors, "
        f"s.file_name, s.n_warnings FROM unit_order o {cross} submissions s ON s.unit = o.unit AND s.round = ? "
        "ORDER BY o.pos, s.received_at, s.id", (round_code,))


def submission_history(store: Store, unit: str | None = None, round_code: str | None = None) -> list[dict]:
    """Every submission (oldest first) with its status, for one unit and/or round: the resubmission history."""
    sql = ("SELECT s.id, s.sha256, s.unit, s.round, s.received_at, s.received_source, s.status, s.n_errors, "
           "s.n_warnings, s.file_name, f.archive_path FROM submissions s JOIN files f USING (sha256) WHERE 1=1")
    args: list = []
    if unit:
        sql += " AND s.unit = ?"
        args.append(unit)
    if round_code:
        sql += " AND s.round = ?"
        args.append(round_code)
    return store.rows(sql + " ORDER BY s.unit NULLS FIRST, s.round NULLS FIRST, s.received_at, s.id", args)


def rounds_present(store: Store) -> set[str]:
    return {r for (r,) in store.conn.execute("SELECT DISTINCT round FROM submissions WHERE round IS NOT NULL")}


def has_current(store: Store) -> bool:
    return bool(store.scalar("SELECT count(*) FROM current_submissions"))


def current_ids(store: Store, rounds: Iterable[str]) -> dict[tuple[str, str], int]:
    """{(unit, round): submission id} of the current (accepted) submission of each unit in `rounds`."""
    codes = list(rounds)
    if not codes:
        return {}
    marks = ",".join("?" * len(codes))
    return {(u, r): i for i, u, r in store.conn.execute(
        f"SELECT id, unit, round FROM current_submissions WHERE round IN ({marks}) ORDER BY received_at, id", codes)}


def round_signature(store: Store, round_code: str) -> Iterator[tuple]:
    """Every submission of a round (and of unknown round) with what an output shows of it, by id."""
    return store.stream(
        "SELECT id, sha256, unit, round, status, n_errors, received_at, received_source, file_name FROM submissions "
        "WHERE round=? OR round IS NULL ORDER BY id", (round_code,))


def check_consistency(store: Store, _db=None) -> list[str]:
    """Problems in the store (empty when consistent): SQLite's integrity and foreign keys (a server enforces
    them itself), archive copies, files without a submission, two accepted files for one unit and round."""
    conn = store.conn
    problems: list[str] = []
    if store.engine == "sqlite":
        problems += [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key {r}" for r in conn.execute("PRAGMA foreign_key_check")]
    for sha, path in conn.execute("SELECT sha256, archive_path FROM files").fetchall():
        if not store.archive.exists(path):
            problems.append(f"archive copy missing for {sha}")
    problems += [f"file {sha} has no submission" for (sha,) in conn.execute(
        "SELECT sha256 FROM files WHERE sha256 NOT IN (SELECT sha256 FROM submissions)")]
    problems += [f"path {path} cached for bytes not in the archive" for (path,) in conn.execute(
        "SELECT c.path FROM path_cache c WHERE c.sha256 NOT IN (SELECT sha256 FROM files)").fetchall()]
    problems += [f"path {path} cached without its sighting" for (path,) in conn.execute(
        "SELECT c.path FROM path_cache c WHERE NOT EXISTS (SELECT 1 FROM sightings g WHERE g.sha256 = c.sha256 "
        "AND g.path = c.path)").fetchall()]
    problems += [f"unit {u} round {r}: {n} accepted" for u, r, n in conn.execute(
        "SELECT unit, round, count(*) FROM submissions WHERE status='accepted' GROUP BY unit, round HAVING count(*) > 1")]
    return problems
