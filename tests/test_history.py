"""`thidua history`: every file a unit sent for a round stays listed, the latest valid one in use."""
from __future__ import annotations

import json

from thidua.cli import main


def test_history_lists_resubmissions(consolidated_year, capsys):
    year = consolidated_year
    resent = sorted(year.truth.rounds["Q1"].resubmitted)
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
