"""`thidua history`: every file a unit sent for a round stays listed, the latest valid one in use."""
from __future__ import annotations

import datetime as dt
import json

from thidua.cli import main


def test_history_lists_resubmissions(consolidated_year, capsys):
    year = consolidated_year
    # a unit that sent a corrected file under its own name (a copy of the same bytes, or a first file made on
    # another unit's template, is no second submission of the unit)
    resent = sorted(u for u in year.truth.rounds["Q1"].corrected
                    if all(s.claims == u for s in year.truth.files_of("Q1") if s.unit == u))
    assert resent, "the simulated year should contain a resubmission"
    unit = resent[0]
    assert main(["history", "--db", str(year.db), "--unit", unit, "--round", "Q1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 2 and {r["unit"] for r in rows} == {unit}
    assert [r["status"] for r in rows].count("accepted") == 1
    assert rows[-1]["status"] == "accepted" or any(r["status"] == "rejected" for r in rows[1:])
    assert [r["received_at"] for r in rows] == sorted(r["received_at"] for r in rows)
    for r in rows:
        assert (year.db.parent / r["archive_path"]).exists()


def test_history_without_a_store_says_how_to_fix(tmp_path, capsys):
    assert main(["history", "--db", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi:") and "Thử:" in err


def test_history_oldest_first_by_receipt_time_and_round_in_any_case(consolidated_year, capsys):
    year = consolidated_year
    assert main(["history", "--db", str(year.db), "--round", "q1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["round"] for r in rows} == {"Q1"}
    stamps = [dt.datetime.fromisoformat(r["received_at"]).timestamp() for r in rows]
    assert stamps == sorted(stamps) and len({r["unit"] for r in rows}) > 1      # across units, by time alone


def test_unknown_unit_gets_near_codes(consolidated_year, capsys, tmp_path, key_file):
    year = consolidated_year
    assert main(["history", "--db", str(year.db), "--unit", "CD999"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: Không có đơn vị mã CD999") and "Thử: Mã gần giống: " in err
    assert "CD099" in err or "CD009" in err or "CD199" in err
    assert main(["templates", "--round", "q1", "--units", "CD999", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "CD999" in err and "Mã gần giống: " in err
    assert main(["templates", "--round", "q1", "--units", "cd001", "--out", str(tmp_path)]) == 0
    assert "kỳ Q1" in capsys.readouterr().out and len(list(tmp_path.glob("*.xlsx"))) == 1
