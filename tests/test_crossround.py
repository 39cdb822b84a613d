"""Checks across a unit's reports declared in the plan: a cumulative figure never falls from the sơ kết to the
tổng kết (money for visits: in the simulated year about half the units report a smaller year figure)."""
from __future__ import annotations

import random

from thidua.consolidate.run import consolidate
from thidua.demo.simulate import Addr, fill_workbook, realistic_values
from thidua.templates import spec as S
from thidua.templates.build import TemplateFactory
from thidua.year.workset import WorkingSet


def test_a_year_figure_below_the_first_period_is_a_warning_with_both_files(tmp_path, plan, units, key):
    unit = units[0]
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    figures = {"SK1": 12_500_000, "TK": 9_000_000}
    for rc, money in figures.items():
        values = realistic_values(plan, rc, unit, random.Random(1))
        values[Addr("indicators", "ind.ND6_TIENTHAMHOI")] = money
        values[Addr("indicators", "ind.ND1_SANGKIEN")] = 3         # the same in both: nothing to say
        data = fill_workbook(TemplateFactory(plan, rc, key).render(unit), S.template_spec(plan, rc), values)
        (inbox / f"{rc}_{unit.code}.xlsx").write_bytes(data)
    report = consolidate(WorkingSet(plan, units, tmp_path / "thidua.db", secret=key), inbox)
    found = [w for w in report.across if w["indicator"] == "ND6_TIENTHAMHOI"]
    assert len(found) == 1 and found[0]["unit"] == unit.code
    item = found[0]
    assert (item["earlier_round"], item["earlier_value"], item["round"], item["value"]) == ("SK1", 12_500_000, "TK",
                                                                                           9_000_000)
    assert item["code"] == "V022" and "12.500.000" in item["message"] and "9.000.000" in item["message"]
    assert f"SK1_{unit.code}.xlsx" in item["message"] and f"TK_{unit.code}.xlsx" in item["message"]
    assert not [w for w in report.across if w["indicator"] == "ND1_SANGKIEN"]
    assert {r.status for r in report.files} == {"accepted"}        # a warning: no report is turned away
    rule = next(r for r in plan.rules if r.kind == "never_decreases")
    assert "ND6_TIENTHAMHOI" in rule.fields                          # declared in the plan, not in code

