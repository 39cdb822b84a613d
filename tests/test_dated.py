"""Dated data: what a paper follows is what was in force on its date (legal bases, base salary, money, the office).

The expected values are the law's, written out here, not read back from the plan data: a test fails if a row
of the data is wrong."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from thidua.errors import ThiDuaError
from thidua.plan.load import load_plan
from thidua.plan.model import Plan, read_toml_tables
from thidua.year.workset import WorkingSet

D = dt.date


def law_amount(coefficient: float, base: int, step: int = 10_000) -> int:
    """NĐ 91/2017 Điều 68 khoản 2: the money after multiplying the base salary is rounded UP to the ten thousand."""
    return math.ceil(coefficient * base / step) * step


@pytest.mark.parametrize("day, union_rules, state_law, decree, base", [
    (D(2019, 6, 15), "2106/QĐ-TLĐ ngày 28/12/2017", "ngày 26/11/2003", "91/2017/NĐ-CP", 1_390_000),
    (D(2019, 11, 11), "2106/QĐ-TLĐ ngày 28/12/2017", "ngày 26/11/2003", "91/2017/NĐ-CP", 1_490_000),
    (D(2019, 11, 12), "1689/QĐ-TLĐ ngày 12/11/2019", "ngày 26/11/2003", "91/2017/NĐ-CP", 1_490_000),
    (D(2019, 12, 27), "1689/QĐ-TLĐ ngày 12/11/2019", "ngày 26/11/2003", "91/2017/NĐ-CP", 1_490_000),
    (D(2023, 12, 31), "1689/QĐ-TLĐ ngày 12/11/2019", "ngày 26/11/2003", "91/2017/NĐ-CP", 1_800_000),
    (D(2024, 1, 1), "1689/QĐ-TLĐ ngày 12/11/2019", "06/2022/QH15", "98/2023/NĐ-CP", 1_800_000),
    (D(2024, 5, 29), "999/QĐ-TLĐ ngày 29/5/2024", "06/2022/QH15", "98/2023/NĐ-CP", 1_800_000),
    (D(2024, 12, 20), "999/QĐ-TLĐ ngày 29/5/2024", "06/2022/QH15", "98/2023/NĐ-CP", 2_340_000),
    (D(2025, 7, 1), "999/QĐ-TLĐ ngày 29/5/2024", "06/2022/QH15", "152/2025/NĐ-CP", 2_340_000),
])
def test_what_is_in_force_on_a_date(plan, day, union_rules, state_law, decree, base):
    law = plan.in_force(day)
    cited = law.citations()
    assert cited[0] == "Căn cứ Điều lệ Công đoàn Việt Nam"            # the union charter first
    assert state_law in cited[1] and decree in cited[2] and union_rules in cited[3], cited
    assert law.base_salary.amount == base
    assert law.amount("GK", "individual") == law_amount(0.3, base)
    assert law.amount("GK", "collective") == law_amount(0.6, base)
    assert law.amount("BKLDLD", "individual") is None                 # decided above the office: no money here


def test_the_money_the_issue_names():
    plan = load_plan()
    assert (plan.in_force(D(2019, 12, 27)).amount("GK", "individual"),
            plan.in_force(D(2019, 12, 27)).amount("GK", "collective")) == (450_000, 900_000)
    assert (plan.in_force(D(2019, 6, 15)).amount("GK", "individual"),
            plan.in_force(D(2019, 6, 15)).amount("GK", "collective")) == (420_000, 840_000)
    assert plan.in_force(D(2024, 12, 20)).amount("GK", "individual") == 710_000      # 0,3 × 2.340.000 = 702.000 ↑


def test_a_condition_cites_the_text_in_force(plan):
    assert plan.in_force(D(2019, 6, 15)).cite("union_rules: tiêu chuẩn Giấy khen") == \
        "QĐ 2106/QĐ-TLĐ (tiêu chuẩn Giấy khen)"
    assert plan.in_force(D(2019, 12, 27)).cite("union_rules: tiêu chuẩn Giấy khen") == \
        "QĐ 1689/QĐ-TLĐ (tiêu chuẩn Giấy khen)"
    assert plan.in_force(D(2019, 12, 27)).cite("ND91: Điều 9 khoản 3") == "NĐ 91/2017/NĐ-CP, Điều 9 khoản 3"
    for row in read_toml_tables()["conditions"] + read_toml_tables()["quotas"]:     # never a law's number as text
        assert "2106" not in row["legal"] and "1689" not in row["legal"] and "QĐ" not in row["legal"], row


def test_a_date_no_row_covers_is_refused_naming_the_row(plan):
    with pytest.raises(ThiDuaError) as exc:
        plan.in_force(D(2018, 3, 1)).amount("GK", "individual")
    assert "«Lương cơ sở»" in exc.value.message and "01/03/2018" in exc.value.message
    assert "1.390.000 đồng (01/07/2018 – 30/06/2019)" in exc.value.message and "Từ ngày" in exc.value.hint
    with pytest.raises(ThiDuaError) as exc:
        plan.in_force(D(2016, 1, 1)).citations()
    assert "«Căn cứ pháp lý»" in exc.value.message and "Luật Thi đua" in exc.value.message
    with pytest.raises(ThiDuaError) as exc:                                     # before the office's first row
        plan.office_on(D(2017, 8, 1))
    assert "«Cơ quan ban hành»" in exc.value.message and "01/08/2017" in exc.value.message
    assert plan.in_force(D(2025, 8, 1)).base_salary.amount == 2_340_000     # other parts still answer
    assert plan.office_on(D(2025, 8, 1)).place == "Đà Nẵng"                # the 2025 reorganisation (#20's row)


def test_overlapping_rows_are_a_plan_error():
    tables = read_toml_tables()
    tables["base_salaries"].append({"amount": 1_500_000, "valid_from": D(2019, 9, 1), "valid_to": D(2019, 12, 31),
                                    "source": "sai"})
    with pytest.raises(ThiDuaError) as exc:
        Plan.from_tables(tables)
    assert "cùng có hiệu lực" in exc.value.message
    tables = read_toml_tables()
    tables["conditions"][0]["legal"] = "QĐ 2106/QĐ-TLĐ"
    with pytest.raises(ThiDuaError) as exc:
        Plan.from_tables(tables)
    assert "căn cứ «QĐ 2106/QĐ-TLĐ» không có" in exc.value.message


def test_the_working_set_exposes_the_dated_layer(plan, units, tmp_path):
    ws = WorkingSet(plan, units, tmp_path / "t.db")
    law = ws.in_force(D(2019, 12, 27))
    assert law.office.awarding_body == "Ban Chấp hành Công đoàn Viên chức tỉnh Quảng Nam"
    assert law.basis("union_rules").code == "QD1689" and ws.office().place == "Quảng Nam"
    assert [c.applies for c in law.conditions] and all(q.in_force(law.date) for q in law.quotas)
    assert {q.legal for q in ws.in_force(D(2024, 3, 1)).quotas} == {"state_decree: tỷ lệ Chiến sĩ thi đua cơ sở"}


def test_the_master_workbook_carries_the_dated_tables(tmp_path):
    from thidua.workbook.build import build_bytes
    path = tmp_path / "ThiDua2019.xlsm"
    path.write_bytes(build_bytes())
    plan = load_plan(path)
    law = plan.in_force(D(2019, 12, 27))
    assert (law.amount("GK", "individual"), law.basis("union_rules").short) == (450_000, "QĐ 1689/QĐ-TLĐ")
    assert plan.office_on().signer_title == "TM. BAN THƯỜNG VỤ\nCHỦ TỊCH"
