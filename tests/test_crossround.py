"""Checks across a unit's reports declared in the plan: a cumulative figure never falls from the sơ kết to the
tổng kết (money for visits: in the simulated year about half the units report a smaller year figure)."""
from __future__ import annotations

import os
import random

import openpyxl

from thidua.consolidate.run import committee_filename, consolidate
from thidua.demo.simulate import Addr, fill_workbook, realistic_values
from thidua.templates import spec as S
from thidua.templates.build import TemplateFactory
from thidua.store.tracking import status_rows
from thidua.year.workset import WorkingSet


def _send(inbox, plan, unit, key, rc: str, money: int, name: str = "", when: float | None = None) -> None:
    """A report of `unit` for round `rc` into `inbox` with `money` as money for visits and 3 initiatives."""
    values = realistic_values(plan, rc, unit, random.Random(1))
    values[Addr("indicators", "ind.ND6_TIENTHAMHOI")] = money
    values[Addr("indicators", "ind.ND1_SANGKIEN")] = 3         # the same in every report: nothing to say
    data = fill_workbook(TemplateFactory(plan, rc, key).render(unit), S.template_spec(plan, rc), values)
    path = inbox / (name or f"{rc}_{unit.code}.xlsx")
    path.write_bytes(data)
    if when is not None:
        os.utime(path, (when, when))


def test_a_year_figure_below_the_first_period_is_a_warning_with_both_files(tmp_path, plan, units, key):
    unit = units[0]
    inbox = tmp_path / "hop-thu"
    inbox.mkdir()
    figures = {"SK1": 12_500_000, "TK": 9_000_000}
    for rc, money in figures.items():
        _send(inbox, plan, unit, key, rc, money)
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



# ---------------------------------------------------------------- a simulated year: where the warnings must be
def _current_figures(year, plan) -> dict[tuple[str, str], dict]:
    """{(unit, round): the cumulative figures of the file the store must use}, from the simulation's truth (each file's
    figures) and the validator's verdict on each file (which one is current: test_consolidate.expected_fates)."""
    from test_consolidate import expected_fates
    fates = expected_fates(year, plan)
    return {(s.claims, s.round): s.figures for s in year.truth.files if fates[str(s.path)] == "accepted"}


def _expected_decreases(plan, current: dict[tuple[str, str], dict]) -> set[tuple]:
    """(unit, indicator, earlier round, later round) of every figure below the same unit's figure in a round that
    starts on the same day and ends earlier, for the indicators the plan declares cumulative."""
    rule = next(r for r in plan.rules if r.kind == "never_decreases")
    rounds = {r.code: r for r in plan.rounds}
    want = set()
    for (unit, later), now in current.items():
        for (other, earlier), before in current.items():
            a, b = rounds[earlier], rounds[later]
            if other == unit and a.start == b.start and a.end < b.end:
                want |= {(unit, code, earlier, later) for code in rule.fields
                         if code in now and code in before and now[code] < before[code]}
    return want


def test_the_simulated_reports_of_a_unit_never_fall_unless_the_truth_says_so(plan, units, key, tmp_path):
    from thidua.demo.simulate import YearRates, simulate_year
    rates = YearRates(mistakes=0.0, copy=0.0, adhoc=0.0, decrease=0.15)
    truth = simulate_year(plan, units[:40], key, tmp_path / "hop-thu", rng_seed=3, rounds=("Q1", "Q2", "SK1", "TK"),
                          rates=rates)
    rule = next(r for r in plan.rules if r.kind == "never_decreases")
    files = {(s.unit, s.round): s.figures for s in truth.files}
    decreased = {(u, code, rc) for rc, rt in truth.rounds.items()
                 for u, typed in rt.decreased.items() for code in typed}
    assert decreased and {c for _, c, _ in decreased} <= set(rule.fields)
    checked = 0
    for u in units[:40]:
        q1, q2, sk1, tk = (files.get((u.code, rc)) for rc in ("Q1", "Q2", "SK1", "TK"))
        for code in rule.fields:
            if q1 and sk1 and (u.code, code, "SK1") not in decreased:
                assert q1[code] <= sk1[code], (u.code, code)
                checked += 1
                if q2:
                    assert q1[code] + q2[code] <= sk1[code], (u.code, code)       # SK1 = Q1 + Q2 + July
            if sk1 and tk and not {(u.code, code, "SK1"), (u.code, code, "TK")} & decreased:
                assert sk1[code] <= tk[code], (u.code, code)
        for code, typed in truth.rounds["TK"].decreased.get(u.code, {}).items():
            assert tk[code] == typed and (sk1 is None or typed < sk1[code] or (u.code, code, "SK1") in decreased)
    assert checked > 100
    report = consolidate(WorkingSet(plan, units[:40], tmp_path / "thidua.db", secret=key), tmp_path / "hop-thu")
    assert {r.status for r in report.files} == {"accepted"}
    found = {(w["unit"], w["indicator"], w["earlier_round"], w["round"]) for w in report.across}
    current = {(s.unit, s.round): s.figures for s in truth.files}
    assert found == _expected_decreases(plan, current)
    # every warning is a figure a unit typed below: nothing else falls in a year without mistakes
    assert {(u, c, later) for u, c, _e, later in found} <= decreased
    assert {(u, c, rc) for u, c, rc in decreased if rc == "TK" and (u, "SK1") in current} <= \
        {(u, c, later) for u, c, e, later in found if e == "SK1"}


def test_a_year_with_mistakes_warns_where_the_files_used_fall(consolidated_year, plan):
    """Swapped identities, files with errors, corrections: V022 is raised exactly where the files the store uses
    disagree, as the truth's figures of each file say."""
    year = consolidated_year
    want = _expected_decreases(plan, _current_figures(year, plan))
    found = {(w["unit"], w["indicator"], w["earlier_round"], w["round"]) for w in year.report.across}
    assert found == want
    typed = {(u, c) for u, t in year.truth.rounds["SK1"].decreased.items() for c in t}
    assert typed and {(u, c) for u, c, _e, _l in found} & typed


def _problems(path) -> list[tuple]:
    """The rows of the committee workbook's problems sheet (unit, file, status, severity, sheet, cell, value, text)."""
    ws = openpyxl.load_workbook(path, read_only=True)["Vấn đề phát hiện"]
    rows = [r for r in ws.iter_rows(values_only=True) if isinstance(r[0], int)]
    return [(r[1], r[3], r[5], r[6], r[7], r[8], r[9], r[10]) for r in rows]


def test_the_office_sees_the_warning_in_status_and_in_the_committee_workbook_until_the_figures_agree(
        tmp_path, plan, units, key):
    unit, other = units[0], units[1]
    inbox, out = tmp_path / "hop-thu", tmp_path / "bao-cao"
    inbox.mkdir()
    for u in (unit, other):
        _send(inbox, plan, u, key, "SK1", 12_500_000, when=1565000000)
    _send(inbox, plan, unit, key, "TK", 9_000_000, when=1576000000)
    _send(inbox, plan, other, key, "TK", 14_000_000, when=1576000000)
    ws = WorkingSet(plan, units[:2], tmp_path / "thidua.db", secret=key)
    report = consolidate(ws, inbox, out=out)
    [item] = report.across
    label = plan.indicator("ND6_TIENTHAMHOI").label

    notes = {(r["unit"], r["round"]): r["note"] for r in status_rows(ws)}
    assert f"«{label}» 9.000.000 (kỳ SK1: 12.500.000)" in notes[(unit.code, "TK")]
    assert "cộng dồn" not in notes[(other.code, "TK")] and "cộng dồn" not in notes[(unit.code, "SK1")]
    assert [r["note"] for r in status_rows(ws, "TK") if r["unit"] == unit.code] == [notes[(unit.code, "TK")]]

    where = S.template_spec(plan, "TK").sheet("indicators")
    cell = next(c for c in where.cells if c.field.key == "ind.ND6_TIENTHAMHOI")
    found = [p for p in _problems(out / committee_filename("TK")) if "cộng dồn" in (p[7] or "")]
    assert found == [(unit.code, f"TK_{unit.code}.xlsx", "Đang dùng", "Cảnh báo", where.name, cell.address,
                      "9.000.000", item["message"])]
    assert not [p for p in _problems(out / committee_filename("SK1")) if "cộng dồn" in (p[7] or "")]

    # the unit sends its sơ kết again with the figure that was wrong: the tổng kết's workbook is written again
    _send(inbox, plan, unit, key, "SK1", 8_000_000, name=f"SK1_{unit.code} (sua).xlsx", when=1566000000)
    report = consolidate(ws, inbox, out=out)
    assert not report.across
    assert not [p for p in _problems(out / committee_filename("TK")) if "cộng dồn" in (p[7] or "")]
    assert not any("cộng dồn" in r["note"] for r in status_rows(ws))
