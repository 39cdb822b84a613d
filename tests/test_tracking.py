"""Status per unit and round (ok, late, errors, missing) against the simulation's truth; reminders; CLI."""
from __future__ import annotations

import email
import json
import subprocess
import sys
from email import policy

import openpyxl

from conftest import TEST_KEY
from thidua.reports.reminders import write_reminders
from thidua.templates.build import template_filename
from thidua.store.tracking import status_rows
from thidua.intake.validate import validate_bytes
from thidua.year.workset import WorkingSet


def expected_status(year, plan) -> dict[tuple[str, str], str]:
    units = {u.code: u for u in year.units}
    want = {}
    for rc, truth in year.truth.rounds.items():
        for u in year.units:
            sent = sorted((s for s in year.truth.files if s.round == rc and s.claims == u.code and s.kind != "copy"),
                          key=lambda s: s.received)
            if not sent:
                want[(u.code, rc)] = "missing"
                continue
            valid = [s for s in sent if validate_bytes(s.path.read_bytes(), s.path.name, plan, TEST_KEY, units).n_errors == 0]
            if not valid:
                want[(u.code, rc)] = "errors"
            else:
                # on time = the FIRST VALID file came by the due day (an on-time file with errors does not count)
                want[(u.code, rc)] = "late" if valid[0].received.date() > truth.due else "ok"
    return want


def test_status_says_exactly_who_is_missing_late_or_wrong(consolidated_year, plan):
    year = consolidated_year
    rows = status_rows(WorkingSet(plan, year.units, year.db))
    assert {r["round"] for r in rows} == {r.code for r in plan.rounds if r.due}
    got = {(r["unit"], r["round"]): r["status"] for r in rows if r["round"] in year.truth.rounds}
    assert got == expected_status(year, plan)
    for rc, truth in year.truth.rounds.items():
        missing = {u for (u, r), s in got.items() if r == rc and s == "missing"}
        # A unit whose only file claims another unit's identity (identity_swap, not corrected) has sent nothing
        # the office can count as its own. Late: sent late, or sent on time with errors and corrected after the due day.
        # A unit that sent nothing but whose identity another unit's file claims has a report (that file's).
        swapped = {s.unit for s in year.truth.files if s.round == rc} - {s.claims for s in year.truth.files
                                                                          if s.round == rc}
        claimed = {s.claims for s in year.truth.files if s.round == rc and s.claims != s.unit}
        assert truth.missing - claimed <= missing <= truth.missing | swapped
        assert {u for (u, r), s in got.items() if r == rc and s == "late"} <= truth.late | truth.corrected | claimed
    assert {"ok", "late", "errors", "missing"} <= set(got.values())
    for r in rows:
        assert r["email"] and r["name"] and r["cluster"]
        assert (r["received_at"] is None) == (r["status"] == "missing")
        assert (r["n_errors"] > 0) == (r["status"] == "errors")


def test_reminders_list_and_drafts(consolidated_year, plan, tmp_path):
    year = consolidated_year
    rows = [r for r in status_rows(WorkingSet(plan, year.units, year.db), "Q1") if r["status"] in ("missing", "errors")]
    paths = write_reminders(WorkingSet(plan, year.units, year.db, secret=TEST_KEY), "Q1", tmp_path / "nhac")
    assert paths[0].suffix == ".xlsx" and len(paths) == len(rows) + 1
    by_unit = {r["unit"]: r for r in rows}
    for path in paths[1:]:
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        row = by_unit[path.name.split("_")[1]]
        assert msg["To"] == row["email"] and msg["X-Unsent"] == "1"
        body = msg.get_body(("plain",)).get_content()
        assert row["name"] in body and ("chưa nhận được" in body if row["status"] == "missing" else "lỗi" in body)
        assert msg["Subject"] == f"Đề nghị gửi báo cáo quý I/2019 - {row['name']}"      # every space kept
        assert "Văn phòng Công đoàn Viên chức tỉnh" in body and "viên chức tỉnh" not in body
        (attachment,) = list(msg.iter_attachments())
        unit = next(u for u in year.units if u.code == row["unit"])
        assert attachment.get_filename() == template_filename("Q1", unit)
        result = validate_bytes(attachment.get_content(), "t.xlsx", plan, TEST_KEY, {u.code: u for u in year.units})
        assert (result.unit, result.round) == (unit.code, "Q1")        # the unit's own signed template
    ws = openpyxl.load_workbook(paths[0]).active
    listed = {row[1] for row in ws.iter_rows(values_only=True) if row[1] in by_unit}
    assert listed == set(by_unit)


def test_cli_status_json_and_reminders(consolidated_year, tmp_path, key_file):
    year = consolidated_year
    done = subprocess.run([sys.executable, "-m", "thidua", "status", "--db", str(year.db), "--round", "SK1", "--json",
                           "--reminders", str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {r["round"] for r in rows} == {"SK1"}
    assert {"unit", "name", "cluster", "email", "round", "status", "received_at", "n_errors"} <= set(rows[0])
    assert (tmp_path / "r" / "SK1" / "NhacNho_SK1.xlsx").exists()
    text = subprocess.run([sys.executable, "-m", "thidua", "status", "--db", str(year.db)],
                          capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "Chưa nộp" in text.stdout


def test_status_without_store_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "thidua", "status", "--db", str(tmp_path / "none.db")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Lỗi:" in done.stderr and "Traceback" not in done.stderr
