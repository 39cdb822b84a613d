"""A second plan (another year, one more indicator, one rule changed) swapped in: templates, validation,
consolidation and summaries follow with no code change (plan-specific rules are data)."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import openpyxl

from conftest import TEST_KEY
from thidua.demo.simulate import Addr, input_cells, realistic_values
from thidua.plan.load import load_plan
from thidua.plan.model import read_toml_tables
from thidua.plan.load import load_units
from thidua.plan.units import read_csv_rows
from thidua.templates import spec as S
from thidua.workbook.build import build_bytes

NEW = "ND5_NU"
NEW_LABEL = "Số nữ đoàn viên công đoàn"


def _next_year(value):
    if isinstance(value, dt.date):
        return value.replace(year=value.year + 1)
    return value


def plan2020_tables() -> dict:
    """The bundled 2019 plan moved to 2020, with one more indicator and rule R06 changed to check it."""
    t = read_toml_tables()
    t["meta"].update(year=2020, plan_number="02/KH-CĐN", template_version="2020.1",
                     plan_date=dt.date(2020, 1, 15))
    for name, rows in t.items():
        if isinstance(rows, list):
            for row in rows:
                row.update({k: _next_year(v) for k, v in row.items()})
    at = next(i for i, r in enumerate(t["indicators"]) if r["code"] == "ND5_KETNAP")
    t["indicators"].insert(at + 1, {"code": NEW, "content": 5, "label": NEW_LABEL, "unit": "người", "type": "int",
                                    "rounds": "Q1,Q2,SK1,Q3,Q4,TK", "required": True, "min": 0, "max": 20000,
                                    "figure": "latest", "source": "config"})
    rule = next(r for r in t["rules"] if r["code"] == "R06")
    rule.update(fields=f"{NEW},ND5_DOANVIEN", message="X011", note="Số nữ đoàn viên không quá số đoàn viên")
    chart = next(c for c in t["charts"] if c["code"] == "C01")
    chart["indicators"] += f",{NEW}"
    return t


def thidua(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thidua", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def fill(template: Path, plan, unit, changes: dict[str, int], out: Path) -> dict[str, object]:
    """Type plausible values into a template with openpyxl, then the given indicator values; return them."""
    spec = S.template_spec(plan, "Q1")
    values = realistic_values(plan, "Q1", unit, random.Random(unit.code), report_date=dt.date(2020, 4, 5))
    values.update({Addr("indicators", "ind." + code): v for code, v in changes.items()})
    places = input_cells(spec)
    wb = openpyxl.load_workbook(template)
    for addr, value in values.items():
        sheet, cell, _ = places[addr]
        wb[sheet][cell] = value
    wb.save(out)
    os.utime(out, (dt.datetime(2020, 4, 8).timestamp(),) * 2)
    return {a.field[4:]: v for a, v in values.items() if a.field.startswith("ind.")}


def test_a_second_plan_flows_through_with_no_code_change(tmp_path):
    book = tmp_path / "ThiDua2020.xlsm"
    book.write_bytes(build_bytes(plan2020_tables(), read_csv_rows()))
    plan = load_plan(book)
    assert plan.year == 2020 and plan.indicator(NEW).label == NEW_LABEL
    key = tmp_path / "office.key"
    key.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    common = ("--workbook", book, "--key", key)

    # templates: the new indicator has its row
    done = thidua("templates", "--round", "Q1", "--out", tmp_path / "t", "--units", "CD001,CD002,CD003", *common,
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    templates = sorted((tmp_path / "t").glob("*.xlsx"))
    assert len(templates) == 3
    labels = [c.value for row in openpyxl.load_workbook(templates[0])["Chỉ tiêu"].iter_rows() for c in row]
    assert NEW_LABEL in labels

    # units fill them with openpyxl: one breaks the changed rule, one breaks the 2019 rule that is gone
    units = {u.code: u for u in load_units()}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sent = {}
    for path, code in zip(templates, ("CD001", "CD002", "CD003")):
        unit = units[code]
        members = 40
        changes = {"CD001": {"ND5_DOANVIEN": members, NEW: members + 5},          # R06 (changed): X011
                   "CD002": {"ND5_DOANVIEN": members, "ND5_KETNAP": members + 3, NEW: 12},  # 2019's X002: gone
                   "CD003": {"ND5_DOANVIEN": members, NEW: 21}}[code]
        changes.setdefault("ND5_CBCCVC", 60)
        changes.setdefault("ND5_KETNAP", 2)
        sent[code] = fill(path, plan, unit, changes, inbox / path.name)

    done = thidua("validate", inbox, "--json", *common, cwd=tmp_path)
    results = {r["unit"]: r for r in json.loads(done.stdout)}
    codes = {u: [i["code"] for i in r["issues"] if i["severity"] == "error"] for u, r in results.items()}
    assert codes == {"CD001": ["X011"], "CD002": [], "CD003": []}, done.stdout
    x011 = next(i for i in results["CD001"]["issues"] if i["code"] == "X011")
    assert NEW_LABEL in x011["message"] and "45" in x011["message"]

    db = tmp_path / "thidua.db"
    done = thidua("consolidate", inbox, "--db", db, "--json", *common, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "so-ket.xlsx"
    done = thidua("summary", "--period", "1", "--db", db, "--out", out, *common, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ws = openpyxl.load_workbook(out)["2 Nội dung"]
    rows = {r[1]: r for r in ws.iter_rows(values_only=True) if r and isinstance(r[1], str)}
    assert NEW_LABEL in rows
    row = rows[NEW_LABEL]
    header = next(r for r in ws.iter_rows(values_only=True) if r and r[0] == "STT")
    total = row[header.index("Toàn tỉnh")]
    assert total == sent["CD002"][NEW] + sent["CD003"][NEW]        # CD001 was rejected
    assert row[header.index("Số CĐCS báo cáo")] == 2
    assert "2020" in str(openpyxl.load_workbook(out).worksheets[0]["A1"].value or "") or any(
        "2020" in str(c) for r in openpyxl.load_workbook(out).worksheets[0].iter_rows(values_only=True) for c in r if c)


def test_a_rule_with_an_unknown_issue_code_is_refused_before_reading(tmp_path):
    t = plan2020_tables()
    next(r for r in t["rules"] if r["code"] == "R06")["message"] = "X999"
    book = tmp_path / "ThiDua2020.xlsm"
    book.write_bytes(build_bytes(t, read_csv_rows()))
    key = tmp_path / "office.key"
    key.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    (tmp_path / "inbox").mkdir()
    done = thidua("consolidate", tmp_path / "inbox", "--db", tmp_path / "t.db", "--workbook", book, "--key", key,
                  cwd=tmp_path)
    assert done.returncode == 2 and "X999" in done.stderr and "Thử:" in done.stderr
    assert not (tmp_path / "t.db").exists()


def test_a_rule_naming_an_unknown_indicator_or_kind_is_a_plan_error():
    import pytest
    from thidua.errors import ThiDuaError
    from thidua.plan.model import Plan
    for change, said in (({"fields": "ND5_KHONGCO,ND5_DOANVIEN"}, "ND5_KHONGCO"), ({"kind": "at_most"}, "at_most"),
                         ({"fields": "PD_NGAY,ND5_DOANVIEN"}, "hai chỉ tiêu số")):
        t = plan2020_tables()
        next(r for r in t["rules"] if r["code"] == "R06").update(change)
        with pytest.raises(ThiDuaError, match=said):
            Plan.from_tables(t)
