"""What keeps a national round's memory flat and its re-runs short gives the same answers as holding everything:
the report's compressed rows, the inbox scan read in pages, the kept indicator totals, the register read row by row,
its fingerprint hashed in batches, the register's codes packed for the workers, and the store's consistency check of
what the scan trusts."""
from __future__ import annotations

import sqlite3

import pytest

from conftest import TEST_KEY
from thidua.consolidate import rejudge
from thidua.consolidate.run import Codes, FileRow, FileRows, consolidate
from thidua.plan.units import Unit, iter_csv_rows, read_csv_rows, units_from_rows
from thidua.store import scan, values
from thidua.store import verdicts as V
from thidua.store.db import archive_root
from thidua.store.store import Store
from thidua.store.submissions import check_consistency
from thidua.year.workset import WorkingSet


def test_file_rows_read_back_as_they_were_given(monkeypatch):
    monkeypatch.setattr(FileRows, "BLOCK", 4)                 # several compressed blocks and a tail
    given = [FileRow(f"/hop-thu/{i}.xlsx", f"{i:064x}", f"CD{i:03d}" if i % 3 else None, "Q1" if i % 5 else None,
                     ("accepted", "rejected", "duplicate")[i % 3], i % 4, None if i % 7 == 0 else "2019-04-05T08:00:00",
                     bool(i % 2), "Trùng nội dung với tệp «bao cáo».xlsx" if i % 3 == 2 else "") for i in range(11)]
    rows = FileRows(given[:6])
    for row in given[6:]:
        rows.append(row)
    assert len(rows) == 11 and list(rows) == given
    assert rows[0] == given[0] and rows[5] == given[5] and rows[-1] == given[-1] and rows[3:9] == given[3:9]
    assert [r.status for r in rows] == [r.status for r in given]


def test_the_scan_read_in_pages_reads_in_receipt_order(consolidated_year, plan, tmp_path, monkeypatch):
    """The files to read come from the store a page at a time, earliest modification first (then by path): with
    pages of 5 files the store ends up exactly as with one page (sightings in the same order)."""
    monkeypatch.setattr(scan, "PAGE", 5)
    year = consolidated_year
    report = consolidate(WorkingSet(plan, year.units, tmp_path / "paged.db", secret=TEST_KEY), year.inbox)

    def seen(db):
        return sqlite3.connect(db).execute("SELECT sha256, path FROM sightings ORDER BY rowid").fetchall()
    assert seen(tmp_path / "paged.db") == seen(year.db)
    assert [(r.file, r.status) for r in report.files] == [(r.file, r.status) for r in year.report.files]


def test_kept_totals_follow_every_change_of_the_values(consolidated_year, tmp_path):
    """A round's totals are kept with the ids of its current submissions and the last verdict: a status change
    brings them up to date (its values added or taken off), a new verdict (which replaces a submission's values in
    place) makes them summed again; never stale."""
    db = tmp_path / "copy.db"
    with sqlite3.connect(consolidated_year.db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    with Store.open(db) as store:
        def summed():
            out = {}
            for code, total in store.conn.execute("SELECT code, sum(value_num) FROM indicator_values WHERE round = "
                                                  "'Q1' AND value_num IS NOT NULL GROUP BY code ORDER BY code"):
                out[code] = int(total) if float(total).is_integer() else total
            return out
        assert values.indicator_totals(store, "Q1")["Q1"] == summed()
        assert store.meta(values.TOTALS_KEY.format(round="Q1"))                  # kept
        sub = store.scalar("SELECT id FROM submissions WHERE round = 'Q1' AND status = 'accepted' ORDER BY id")
        with store.atomic():
            store.conn.execute("UPDATE submissions SET status = 'superseded' WHERE id = ?", (sub,))
        assert values.indicator_totals(store, "Q1")["Q1"] == summed()                 # one taken off
        with store.atomic():
            store.conn.execute("UPDATE submissions SET status = 'accepted' WHERE id = ?", (sub,))
        assert values.indicator_totals(store, "Q1")["Q1"] == summed()                 # and added again
        other = store.scalar("SELECT id FROM submissions WHERE round = 'Q1' AND status = 'accepted' ORDER BY id")
        head = dict(store.one("SELECT unit, round, template_version, status, n_errors, n_warnings FROM submissions "
                              "WHERE id = ?", (other,)))
        rows = [(other, s, c, f, r, (n or 0) + 1000 if n is not None else n, t, d) for s, c, f, r, n, t, d in
                store.conn.execute("SELECT sheet, cell, field, row, value_num, value_text, value_date FROM "
                                   "cell_values WHERE submission_id = ?", (other,))]
        V.replace_judgement(store, other, head, rows, [])
        V.record_verdict(store, other, "test", head, head, [], {})
        assert values.indicator_totals(store, "Q1")["Q1"] == summed()
        assert values.indicator_totals(store) == {"Q1": summed(), "SK1": values.indicator_totals(store, "SK1")["SK1"]}


def test_the_codes_a_worker_is_given_answer_as_the_register_does(units):
    """Codes (the register packed for the workers) knows exactly the register's codes, a closed unit as it is."""
    import dataclasses
    import pickle
    register = {u.code: u for u in units}
    closed = dataclasses.replace(units[0], code="ĐÓNG1", status="closed", successor=units[1].code)
    register[closed.code] = closed
    codes = pickle.loads(pickle.dumps(Codes(register)))          # as a worker receives it
    assert len(codes) == len(register) and set(codes) == set(register)
    longest = max(register, key=len)
    near = [c[:-1] for c in register] + [c + "0" for c in register] + [c + "\0" for c in register] + [
        c.lower() for c in register] + ["", " ", longest + "X", "ĐÓNG", None, 7]
    for code in [*register, *near]:
        assert (code in codes) == (code in register), code
    assert codes[closed.code] == closed and not codes[closed.code].active
    assert codes[units[2].code].active
    with pytest.raises(KeyError):
        codes["KHÔNG CÓ"]


def test_the_register_is_read_row_by_row_and_kept_small():
    rows = list(iter_csv_rows())
    assert rows == read_csv_rows() and len(rows) > 100
    units = units_from_rows(iter_csv_rows())
    assert not hasattr(units[0], "__dict__") and Unit.__slots__
    clusters = {}
    for u in units:
        assert clusters.setdefault(u.cluster, u.cluster) is u.cluster             # one string per cluster


def test_the_register_fingerprint_is_the_one_stores_recorded(units):
    """Hashed a batch at a time, the register's fingerprint is still the digest of its whole repr (as recorded in
    stores by earlier versions: a different one would judge every archived file again)."""
    ordered = sorted(units, key=lambda u: u.code)
    assert rejudge._digest_list(ordered, batch=7) == rejudge._digest(repr(ordered))
    assert rejudge._digest_list([]) == rejudge._digest(repr([]))


def test_consistency_check_covers_what_the_scan_trusts(consolidated_year, tmp_path):
    """An unchanged file is trusted through the path cache: its bytes archived and sighted under its path. A store
    where that does not hold is reported by check_consistency."""
    db = tmp_path / consolidated_year.db.name                   # a copy beside the same archive
    with sqlite3.connect(consolidated_year.db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    (tmp_path / archive_root(db).name).symlink_to(archive_root(consolidated_year.db), target_is_directory=True)
    with Store.open(db) as store:
        assert check_consistency(store) == []
        path, sha = store.conn.execute("SELECT path, sha256 FROM path_cache LIMIT 1").fetchone()
        with store.atomic():
            store.conn.execute("DELETE FROM sightings WHERE sha256 = ? AND path = ?", (sha, path))
            store.insert("path_cache", {"path": "/nowhere/x.xlsx", "size": 1, "mtime_ns": 1, "sha256": "0" * 64})
        problems = check_consistency(store)
    assert f"path {path} cached without its sighting" in problems
    assert "path /nowhere/x.xlsx cached for bytes not in the archive" in problems
