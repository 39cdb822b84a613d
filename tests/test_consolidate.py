"""End-to-end consolidation of a simulated inbox: each file's fate, the store, totals, idempotence, CLI."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEST_KEY
from thidua.store import db as store
from thidua.store.store import Store
from thidua.store.submissions import check_consistency, submission_history
from thidua.consolidate.run import consolidate, is_candidate
from thidua.intake.validate import validate_bytes
from thidua.year.workset import WorkingSet


def expected_fates(year, plan) -> dict[str, str]:
    """What the store must say of each file, from the simulation's truth and the validator's verdict."""
    units = {u.code: u for u in year.units}
    fates, by_pair = {}, {}
    for sent in sorted(year.truth.files, key=lambda s: s.received):
        if sent.kind == "copy":
            fates[str(sent.path)] = "duplicate"
            continue
        result = validate_bytes(sent.path.read_bytes(), str(sent.path), plan, TEST_KEY, units)
        valid = result.n_errors == 0 and not result.unreadable
        fates[str(sent.path)] = "superseded" if valid else ("unreadable" if result.unreadable else "rejected")
        if valid:
            by_pair[(result.unit, result.round)] = str(sent.path)
    for path in by_pair.values():
        fates[path] = "accepted"
    return fates


def test_every_file_has_the_fate_the_truth_implies(consolidated_year, plan):
    year = consolidated_year
    got = {row.file: row.status for row in year.report.files}
    want = expected_fates(year, plan)
    assert got == want
    assert {"accepted", "superseded", "rejected", "duplicate"} <= set(got.values())
    for junk in year.truth.junk:                       # lock files and notes are skipped
        assert str(junk) not in got and not is_candidate(junk.name)


def test_invalid_resubmission_never_replaces_a_valid_one(tmp_path, plan, units):
    import os
    import random

    from thidua.templates import spec as S
    from thidua.demo.simulate import fill_workbook, realistic_values
    from thidua.templates.build import TemplateFactory
    unit = units[0]
    spec = S.template_spec(plan, "Q1")
    template = TemplateFactory(plan, "Q1", TEST_KEY).render(unit)
    values = realistic_values(plan, "Q1", unit, random.Random(1))
    good = fill_workbook(template, spec, values)
    bad_values = dict(values)
    code = next(a for a in values if a.field == "ind.ND5_CBCCVC")
    bad_values[code] = "năm mươi"
    bad = fill_workbook(template, spec, bad_values, as_text={code})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xlsx").write_bytes(good)
    os.utime(inbox / "a.xlsx", (1554000000, 1554000000))
    (inbox / "b (sua).xlsx").write_bytes(bad)
    os.utime(inbox / "b (sua).xlsx", (1554100000, 1554100000))
    report = consolidate(WorkingSet(plan, units, tmp_path / "t.db", secret=TEST_KEY), inbox)
    rows = {Path(r.file).name: r for r in report.files}
    assert rows["a.xlsx"].status == "accepted"
    assert rows["b (sua).xlsx"].status == "rejected" and "không thay bản hợp lệ" in rows["b (sua).xlsx"].note
    history = submission_history(Store.open(tmp_path / "t.db"), unit.code, "Q1")
    assert [h["status"] for h in history] == ["accepted", "rejected"]


def test_store_holds_every_value_with_its_source(consolidated_year, plan):
    year = consolidated_year
    conn = sqlite3.connect(year.db)
    assert check_consistency(Store.open(year.db), year.db) == []
    accepted = conn.execute("SELECT s.id, s.sha256, f.archive_path FROM submissions s JOIN files f USING (sha256) "
                            "WHERE s.status='accepted' ORDER BY s.id LIMIT 8").fetchall()
    units = {u.code: u for u in year.units}
    for sub_id, sha, archive in accepted:
        data = (year.db.parent / archive).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha          # the archive copy is the file received
        result = validate_bytes(data, archive, plan, TEST_KEY, units)
        stored = {(s, c): (n, t, d) for s, c, n, t, d in conn.execute(
            "SELECT sheet, cell, value_num, value_text, value_date FROM cell_values WHERE submission_id=?", (sub_id,))}
        assert len(stored) == len(result.values)
        for v in result.values:
            num, text, date = stored[(v.sheet, v.cell)]
            assert v.value in (num, text) or (date and v.value.isoformat() == date)


def test_totals_match_the_store(consolidated_year):
    conn = sqlite3.connect(consolidated_year.db)
    want = {}
    for rnd, code, value in conn.execute("SELECT round, code, value_num FROM indicator_values WHERE value_num IS NOT NULL"):
        want.setdefault(rnd, {}).setdefault(code, 0)
        want[rnd][code] += value
    assert consolidated_year.report.totals == want
    assert consolidated_year.report.totals["Q1"]["ND5_CBCCVC"] > 0


def test_rerun_changes_nothing(consolidated_year, plan):
    year = consolidated_year
    conn = sqlite3.connect(year.db)

    def snapshot():
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("files", "sightings", "submissions", "cell_values", "issues", "proposals", "path_cache")}
    before = snapshot()
    archive = sorted((p.name, p.stat().st_mtime_ns) for p in store.archive_root(year.db).rglob("*.xlsx"))
    again = consolidate(WorkingSet(plan, year.units, year.db, secret=TEST_KEY), year.inbox)
    assert again.n_new == 0
    assert snapshot() == before
    assert sorted((p.name, p.stat().st_mtime_ns) for p in store.archive_root(year.db).rglob("*.xlsx")) == archive
    assert {r.file: r.status for r in again.files} == {r.file: r.status for r in year.report.files}


def test_cli_consolidate_json(consolidated_year, tmp_path, key_file):
    year = consolidated_year
    db = tmp_path / "cli.db"
    done = subprocess.run([sys.executable, "-m", "thidua", "consolidate", str(year.inbox), "--db", str(db),
                           "--round", "Q1", "--json", "--out", str(tmp_path / "q1.xlsx"), "--key", str(key_file)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {r["round"] for r in out["files"]} <= {"Q1", None}
    assert set(out["totals"]) == {"Q1"} and out["totals"]["Q1"] == year.report.totals["Q1"]
    assert {r["status"] for r in out["files"]} <= {"accepted", "superseded", "rejected", "duplicate", "unreadable"}
    assert all(len(r["sha256"]) == 64 and "n_issues" in r for r in out["files"])
    assert (tmp_path / "q1.xlsx").exists()


def test_missing_inbox_is_a_clear_error(tmp_path, plan, units):
    from thidua.errors import ThiDuaError
    with pytest.raises(ThiDuaError, match="hộp thư"):
        consolidate(WorkingSet(plan, units, tmp_path / "t.db", secret=TEST_KEY), tmp_path / "nowhere")


def test_junk_and_broken_files(tmp_path, plan, units, consolidated_year):
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    good = next(r.file for r in consolidated_year.report.files if r.status == "accepted")
    (inbox / "sub" / "bao cao.xlsx").write_bytes(Path(good).read_bytes())
    (inbox / "hong.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (inbox / "~$bao cao.xlsx").write_bytes(b"lock")
    (inbox / ".~lock.bao cao.xlsx#").write_bytes(b"lock")
    (inbox / "ghi chu.txt").write_text("x", encoding="utf-8")
    report = consolidate(WorkingSet(plan, units, tmp_path / "t.db", secret=TEST_KEY), inbox)
    assert {Path(r.file).name: r.status for r in report.files} == {"bao cao.xlsx": "accepted", "hong.xlsx": "unreadable"}
    assert next(r for r in report.files if r.status == "unreadable").n_issues >= 1


def test_unwritable_output_is_a_clear_error(tmp_path, plan, units, consolidated_year):
    from thidua.reports.committee import write_committee_workbook
    from thidua.errors import ThiDuaError
    blocked = tmp_path / "ro"
    blocked.write_text("a file where a folder should be", encoding="utf-8")
    with pytest.raises(ThiDuaError, match="Không ghi được"):
        write_committee_workbook(WorkingSet(plan, consolidated_year.units, consolidated_year.db), "Q1", blocked / "x.xlsx")


def test_spawned_workers_store_what_forked_ones_do(consolidated_year, plan, tmp_path, monkeypatch):
    """Workers are forked while the consolidating process is small and spawned above FORK_BELOW_MB (a caller holding
    a national register): a spawned worker stores exactly what a forked one does."""
    import multiprocessing

    import thidua.consolidate.run as R
    from thidua import processes
    year = consolidated_year
    started, get_context = [], multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda method=None: started.append(method) or get_context(method))
    monkeypatch.setattr(processes, "FORK_BELOW_MB", 0)
    report = consolidate(WorkingSet(plan, year.units, tmp_path / "spawned.db", secret=TEST_KEY), year.inbox)
    assert started == ["spawn"] and report.n_new == year.report.n_new > R.PARALLEL_FROM

    def stored(db):
        conn = sqlite3.connect(db)
        return {"submissions": conn.execute("SELECT sha256, unit, round, status, n_errors, n_warnings, received_at, "
                                            "file_name FROM submissions ORDER BY sha256").fetchall(),
                "values": conn.execute("SELECT s.sha256, v.sheet, v.cell, v.field, v.row, v.value_num, v.value_text, "
                                       "v.value_date FROM cell_values v JOIN submissions s ON s.id = v.submission_id "
                                       "ORDER BY 1, 2, 3, 4").fetchall(),
                "issues": conn.execute("SELECT s.sha256, i.code, i.severity, i.sheet, i.cell, i.value, i.message FROM "
                                       "issues i JOIN submissions s ON s.id = i.submission_id ORDER BY 1, i.rowid").fetchall(),
                "sightings": conn.execute("SELECT sha256, path, mtime FROM sightings ORDER BY rowid").fetchall()}
    assert stored(tmp_path / "spawned.db") == stored(year.db)
    assert [(r.file, r.status, r.note) for r in report.files] == [(r.file, r.status, r.note) for r in year.report.files]


def test_each_file_is_hashed_once(consolidated_year, plan, tmp_path, monkeypatch):
    """Reading a file hashes its bytes once: the consolidation's hash is the one its verdict records (files read in
    this process here, so that every call is seen)."""
    import thidua.consolidate.run as R
    year = consolidated_year
    monkeypatch.setattr(R, "PARALLEL_FROM", 10 ** 9)
    paths = [p for p in year.inbox.rglob("*") if p.is_file() and is_candidate(p.name)]
    hashed, per_read, sha256, read = [], [], hashlib.sha256, R.Reader.read
    monkeypatch.setattr(hashlib, "sha256", lambda *a, **kw: (hashed.append(1) if a and len(a[0]) > 4096 else None)
                        or sha256(*a, **kw))                # a file's bytes, not the signature's HMAC blocks

    def counted(self, path):
        before = len(hashed)
        try:
            return read(self, path)
        finally:
            per_read.append(len(hashed) - before)
    monkeypatch.setattr(R.Reader, "read", counted)
    report = consolidate(WorkingSet(plan, year.units, tmp_path / "once.db", secret=TEST_KEY), year.inbox)
    assert report.n_new == year.report.n_new > 0
    assert len(per_read) == len(paths) and set(per_read) == {1}
    with Store.open(tmp_path / "once.db") as st:
        assert {r["sha256"] for r in st.rows("SELECT sha256 FROM submissions")} == \
            {sha256(p.read_bytes()).hexdigest() for p in paths}
