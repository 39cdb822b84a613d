"""The 2019 plan as data and the sample register."""
import datetime as dt
import unicodedata

import pytest

from thidua.errors import ThiDuaError
from thidua.plan.load import load_plan, load_units
from thidua.plan.model import Plan, parse_conditions, read_toml_tables
from thidua.plan.units import select_units, units_from_rows


def test_periods_come_from_the_plan_text(plan):
    p1, p2 = plan.periods
    assert (p1.start, p1.end) == (dt.date(2019, 1, 1), dt.date(2019, 7, 31))
    assert (p2.start, p2.end) == (dt.date(2019, 8, 1), dt.date(2019, 12, 31))
    assert "Điện Biên Phủ" in p1.anniversaries and "Quân đội Nhân dân" in p2.anniversaries


def test_rounds_cover_the_year(plan):
    codes = [r.code for r in plan.rounds]
    assert codes == ["DK", "Q1", "Q2", "SK1", "Q3", "Q4", "TK", "DX"]
    assert all("_" not in c for c in codes)
    for rnd in plan.rounds:
        assert rnd.start <= rnd.end
        assert rnd.sheets and rnd.sheets[0] == "info"
        if rnd.kind != "adhoc":
            assert rnd.due and rnd.due > rnd.start
    assert plan.round("DX").due is None


def test_six_contents_each_have_indicators_and_a_criterion(plan):
    for number in range(1, 7):
        assert any(i.content == number for i in plan.indicators), number
        assert any(c.content == number for c in plan.criteria), number
    assert plan.criteria_total == 100


def test_every_value_is_marked_plan_or_config():
    tables = read_toml_tables()
    for name in ("periods", "rounds", "contents", "indicators", "criteria", "rule_sets", "levels", "forms", "titles"):
        for row in tables[name]:
            assert row.get("source") in ("plan", "config"), (name, row)


def test_all_labels_are_nfc(plan):
    texts = [i.label for i in plan.indicators] + [c.name for c in plan.criteria] + [t.name for t in plan.titles]
    texts += [f.name for f in plan.forms] + [r.name for r in plan.rounds]
    for text in texts:
        assert unicodedata.is_normalized("NFC", text), text


def test_rule_sets_are_ordered_levels(plan):
    for rs in plan.rule_sets:
        points = [lv.min_points for lv in rs.levels]
        assert points == sorted(points, reverse=True) and points[-1] == 0
    assert str(plan.rule_set("CDVC2019").levels[0].conditions[0]) == "min_criterion_share >= 0.5"


def test_conditions_parse_and_judge():
    cond = parse_conditions("dat_ldtt = Có; ty_le_ldtt > 50")
    assert cond[0].holds({"dat_ldtt": "Có"}) is True
    assert cond[0].holds({"dat_ldtt": "Không"}) is False
    assert cond[1].holds({"ty_le_ldtt": 50}) is False and cond[1].holds({"ty_le_ldtt": 50.5}) is True
    assert cond[1].holds({}) is None
    with pytest.raises(ThiDuaError, match="không hiểu"):
        parse_conditions("ty le > 50")


def test_a_broken_plan_is_refused_with_a_reason():
    tables = read_toml_tables()
    tables["rounds"][1]["code"] = "Q_1"
    with pytest.raises(ThiDuaError, match="gạch dưới"):
        Plan.from_tables(tables)
    with pytest.raises(ThiDuaError):
        load_plan("/nonexistent/plan.toml")


def test_sample_register(units):
    assert 100 <= len(units) <= 200
    assert len({u.code for u in units}) == len(units)
    assert all(u.members <= u.staff for u in units)
    assert all(u.email.endswith("example.org") for u in units)   # fictional
    assert len({u.cluster for u in units}) >= 3
    assert any(u.founded and u.founded.year == 2019 for u in units)  # newly founded: not yet eligible


def test_register_rejects_bad_codes():
    with pytest.raises(ThiDuaError, match="trùng"):
        units_from_rows([{"code": "A1", "name": "x"}, {"code": "A1", "name": "y"}])
    with pytest.raises(ThiDuaError, match="chữ và số"):
        units_from_rows([{"code": "A_1", "name": "x"}])
    with pytest.raises(ThiDuaError, match="ZZ9"):
        select_units(load_units(), "CD001,ZZ9")
