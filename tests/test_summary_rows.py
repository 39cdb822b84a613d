"""The commendation table of the summary adds up: every proposal is counted in exactly one row."""
from __future__ import annotations

from python_calamine import CalamineWorkbook

from thidua.reports.summary_job import build_summary
from thidua.year.workset import WorkingSet


def test_commendation_rows_add_up_to_the_total(consolidated_year, plan, tmp_path):
    year = consolidated_year
    out = build_summary(WorkingSet(plan, year.units, year.db), "1", tmp_path / "so-ket.xlsx")
    wb = CalamineWorkbook.from_path(str(out))
    sheet = next(n for n in wb.sheet_names if n.startswith("4 "))
    rows = wb.get_sheet_by_name(sheet).to_python()
    numbered = [r for r in rows if r and isinstance(r[0], float) and isinstance(r[3], float)]
    total = next(r for r in rows if len(r) > 3 and r[1] == "Tổng cộng")
    assert total[3] > 0, "the simulated SK1 round carries proposals"
    assert sum(r[3] for r in numbered) == total[3]
    assert sum(r[4] for r in numbered) == total[4]
