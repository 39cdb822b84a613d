"""Scoring: reviewed scores win, every rule's boundaries, the rule set as data, ranking, score import/export."""
from __future__ import annotations

import copy
import datetime as dt
import sqlite3

import openpyxl
import pytest
from storebuild import add_submission, new_store

from thidua.cli import main
from thidua.errors import ThiDuaError
from thidua.plan.model import Plan, read_toml_tables
from thidua.review.scoring import classify_score, classify_units, export_scores, import_scores
from thidua.year.workset import WorkingSet

FULL = {"TC1": 20, "TC2": 15, "TC3": 20, "TC4": 15, "TC5": 15, "TC6": 15}


def scores_for(total: float, low: str | None = None) -> dict[str, float]:
    """Criterion points summing to `total`; with `low`, that criterion is below half of its points."""
    pts = {k: v * total / 100 for k, v in FULL.items()}
    if low:
        moved = pts[low] - FULL[low] * 0.4
        pts[low] = FULL[low] * 0.4
        other = next(k for k in FULL if k != low)
        pts[other] += moved
    return pts


@pytest.mark.parametrize("total, low, code", [
    (100, None, "VM"), (85, None, "VM"), (84.99, None, "KHA"), (85, "TC3", "KHA"), (96, "TC1", "KHA"),
    (70, None, "KHA"), (69.99, None, "TB"), (50, None, "TB"), (49.99, None, "YEU"), (0, None, "YEU")])
def test_cdvc2019_boundaries(plan, total, low, code):
    res = classify_score(plan, total, scores_for(total, low))
    assert res.level_code == code and res.eligible
    assert "CDVC2019" in res.rule and res.level_name in res.rule
    if low:
        assert "Vững mạnh" in res.rule and low in res.rule     # says why the higher level was refused


def test_points_only_cannot_prove_the_criterion_condition(plan):
    # The Excel UDF may pass only the total: the "no criterion below 50%" condition cannot be shown.
    res = classify_score(plan, 90)
    assert res.level_code == "KHA" and "thiếu số liệu" in res.rule


@pytest.mark.parametrize("founded, eligible", [("2019-07-01", False), ("2019-09-15", False),
                                               ("2019-06-30", True), (dt.date(2001, 1, 1), True), (None, True),
                                               ("30/06/2019", True), ("1/7/2019", False), (43647, False), (43646.0, True)])
def test_newly_founded_units_are_not_yet_eligible(plan, founded, eligible):
    res = classify_score(plan, 95, FULL, founded=founded)
    assert res.eligible is eligible
    assert (res.level_name == "Chưa đủ điều kiện xếp loại") is (not eligible)


@pytest.mark.parametrize("total, kyluat, code", [
    (96, 0, "VMXS"), (100, 0, "VMXS"), (96, 2, "VM"), (95.99, 0, "VM"), (90, 0, "VM"), (89.99, 0, "KHA"),
    (70, 0, "KHA"), (69.9, 0, "TB"), (50, 0, "TB"), (49.9, 0, "YEU")])
def test_huyen2010_boundaries(plan, total, kyluat, code):
    res = classify_score(plan, total, scores_for(total), {"ND2_KYLUAT": kyluat}, rule_set="HUYEN2010")
    assert res.level_code == code and "HUYEN2010" in res.rule


def test_huyen2010_missing_indicator_blocks_the_top_level(plan):
    res = classify_score(plan, 98, FULL, {}, rule_set="HUYEN2010")
    assert res.level_code == "VM" and "thiếu số liệu" in res.rule


def test_unknown_rule_set_and_bad_points_are_domain_errors(plan):
    with pytest.raises(ThiDuaError):
        classify_score(plan, 90, rule_set="NOPE")
    with pytest.raises(ThiDuaError):
        classify_score(plan, "chín mươi")
    with pytest.raises(ThiDuaError):
        classify_score(plan, 90, founded="hôm qua")


# ---------------------------------------------------------------- a store
@pytest.fixture
def store(tmp_path, plan, units):
    """Five units of the register: four report the TK round, one does not."""
    db = tmp_path / "store.db"
    con = new_store(db, plan, units)
    inds = {"ND2_KYLUAT": 0}
    add_submission(con, units[0].code, "TK", "2019-12-18T09:00:00", inds, scores_for(97))
    add_submission(con, units[1].code, "TK", "2019-12-19T09:00:00", {"ND2_KYLUAT": 1}, scores_for(97))
    add_submission(con, units[2].code, "TK", "2019-12-19T10:00:00", inds, scores_for(86, "TC2"))
    add_submission(con, units[3].code, "TK", "2019-12-01T10:00:00", inds, scores_for(40), status="superseded")
    add_submission(con, units[3].code, "TK", "2019-12-20T10:00:00", inds, scores_for(60))
    con.conn.execute("INSERT INTO reviewed_scores VALUES (?, 'TK', 'TC2', 9, 'test', '2020-01-05T10:00:00')",
                (units[2].code,))
    con.conn.execute("INSERT INTO reviewed_scores VALUES (?, 'TK', 'TC1', 10, 'test', '2020-01-05T10:00:00')",
                (units[3].code,))
    con.close()
    return db


def test_classify_units_reviewed_wins_and_unreported_units_are_listed(store, plan, units):
    res = {r.code: r for r in classify_units(WorkingSet(plan, units[:5], store), "year")}
    a, b, c, d, e = (res[u.code] for u in units[:5])
    assert a.total == pytest.approx(97) and a.level_code == "VM" and not a.differences
    assert c.final["TC2"] == 9 and c.differences == [("TC2", pytest.approx(6), 9.0)]
    assert c.total == pytest.approx(86 - 6 + 9) and c.level_code == "VM"        # review lifted TC2 to 60%
    assert d.self_scores["TC1"] == pytest.approx(12) and d.final["TC1"] == 10   # the superseded file is ignored
    assert d.total == pytest.approx(58) and d.level_code == "TB"
    assert not e.reported and e.classification is None and e.level_name == "Chưa báo cáo" and e.rank_province is None
    assert [a.rank_province, b.rank_province, c.rank_province, d.rank_province] == [1, 1, 3, 4]


def test_changing_the_rule_set_in_the_plan_data_changes_results(store, plan, units):
    tables = copy.deepcopy(read_toml_tables())
    tables["meta"]["rule_set"] = "HUYEN2010"
    huyen = Plan.from_tables(tables)
    before = {r.code: r.level_code for r in classify_units(WorkingSet(plan, units[:4], store), "year")}
    after = {r.code: r.level_code for r in classify_units(WorkingSet(huyen, units[:4], store), "year")}
    codes = [u.code for u in units[:4]]
    assert [before[c] for c in codes] == ["VM", "VM", "VM", "TB"]
    assert [after[c] for c in codes] == ["VMXS", "VM", "KHA", "TB"]     # ND2_KYLUAT = 1 keeps the 2nd from VMXS
    assert after == {r.code: r.level_code for r in classify_units(WorkingSet(plan, units[:4], store), "year", "HUYEN2010")}


def test_rank_within_cluster(tmp_path, plan, units):
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    by_cluster: dict[str, list] = {}
    for u in units:
        by_cluster.setdefault(u.cluster, []).append(u)
    chosen = [u for members in by_cluster.values() for u in members[:3]]
    for i, u in enumerate(chosen):
        add_submission(con, u.code, "SK1", "2019-08-01T08:00:00", {}, scores_for(60 + i))
    con.close()
    res = [r for r in classify_units(WorkingSet(plan, units, db), "1") if r.reported]
    assert len(res) == len(chosen)
    for members in by_cluster.values():
        mine = sorted((r for r in res if r.cluster == members[0].cluster), key=lambda r: -r.total)
        assert [r.rank_cluster for r in mine] == [1, 2, 3]
    assert sorted(r.rank_province for r in res) == list(range(1, len(chosen) + 1))


def test_scores_export_then_import_round_trip(store, plan, units, tmp_path):
    out = export_scores(WorkingSet(plan, units, store), tmp_path / "diem.xlsx")
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[0] == "Mã đơn vị" and header[-1] == "Điểm thẩm định"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 4 * len(FULL)                       # four units sent TK, six criteria each
    first = next(i for i, r in enumerate(rows, start=2) if r[0] == units[0].code and r[3] == "TC5")
    ws.cell(first, 8).value = 11.5
    wb.save(out)
    assert import_scores(WorkingSet(plan, (), store), out) == 3             # the two entered before, read back, plus one new
    with sqlite3.connect(store) as con:
        got = dict(((u, c), s) for u, c, s in con.execute("SELECT unit, criterion, score FROM reviewed_scores"))
    assert got[(units[0].code, "TC5")] == 11.5 and got[(units[2].code, "TC2")] == 9


def test_scores_import_rejects_bad_rows_and_writes_nothing(store, plan, units, tmp_path):
    bad = tmp_path / "diem.csv"
    bad.write_text("Mã đơn vị;Kỳ;Mã tiêu chí;Điểm thẩm định\n"
                   f"{units[0].code};TK;TC1;18,5\n"
                   "XX999;TK;TC1;10\n"
                   f"{units[0].code};TK;TC9;10\n"
                   f"{units[0].code};TK;TC2;16\n"
                   f"{units[0].code};Q1;TC2;10\n"
                   f"{units[0].code};TK;TC3;mười\n", encoding="utf-8")
    with pytest.raises(ThiDuaError) as err:
        import_scores(WorkingSet(plan, (), store), bad)
    msg = err.value.message
    assert "5 lỗi" in msg and "XX999" in msg and "TC9" in msg and "0 – 15" in msg and "«Q1»" in msg and "mười" in msg
    with sqlite3.connect(store) as con:
        assert con.execute("SELECT count(*) FROM reviewed_scores").fetchone()[0] == 2
    good = tmp_path / "ok.csv"
    good.write_text(f"{units[0].code},tk,TC1,\"18,5\"\n{units[1].code},TK,TC6,\n", encoding="utf-8")   # round: any case
    assert main(["scores", "import", str(good), "--db", str(store)]) == 0
    with sqlite3.connect(store) as con:
        assert con.execute("SELECT score FROM reviewed_scores WHERE unit = ? AND criterion = 'TC1'",
                           (units[0].code,)).fetchone()[0] == 18.5
    assert main(["scores", "import", str(bad), "--db", str(store)]) == 2
