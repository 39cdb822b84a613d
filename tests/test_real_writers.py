"""A template filled by the libraries web tools and other office software export with (ExcelJS, SheetJS, Apache
POI), in .xlsx, .xls and .ods, in Vietnam's time zone: every value read is compared with what was typed.

What these writers do to a typed value, found here: ExcelJS and SheetJS's .ods write a date typed as 05/04/2019
(local midnight) as 04/04/2019 17:00 (UTC); SheetJS's .xlsx writes dates as ISO 8601 date cells (t="d"), its
.xls 30 s past midnight; SheetJS's .ods keeps no percentage format (92,5% is a bare 0,925 and 100% a bare 1);
POI's .xls keeps 100% as 1 with the 0% format in its XF records; SheetJS's BIFF5 (.xls of Excel 95) cannot hold
Vietnamese sheet names. None of it may end as a wrong value without an issue on its cell."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from thidua.demo.simulate import Addr, fill_workbook, input_cells, realistic_values
from thidua.intake.safety import open_book
from thidua.intake.validate import validate_bytes
from thidua.templates import spec as S
from thidua.templates.build import TemplateFactory
from writers_fill import node_fill, node_modules, poi_fill

ROUND = "TK"
COLLECTIVE = {"prop.subject": "Tập thể", "prop.name": "Tổ Văn phòng", "prop.title": "Tập thể lao động xuất sắc",
              "prop.ky_luat": "Không", "prop.form": "Giấy khen của Công đoàn Viên chức tỉnh",
              "prop.summary": "Hoàn thành xuất sắc nhiệm vụ", "prop.ty_le_htnv": 92.5, "prop.ty_le_ldtt": 100,
              "prop.so_cstdcs": 1, "prop.nam_htxs": 3, "prop.dan_dau_khoi": "Có"}
# What each writer is known to do to a typed value, and the issue that must then stand on the cell.
SHIFTS_DATES = {"exceljs.xlsx", "sheetjs.ods"}                # local midnight written in UTC: V020
DROPS_PERCENT = {"sheetjs.ods"}                               # no % format kept: a bare fraction, V018


@pytest.fixture(scope="module")
def typed(plan, units, key, tmp_path_factory):
    """The blank TK template of a unit, and every value a unit types into it (a collective proposal in the first
    row with 92,5% and 100%), as {Addr: value}; the same values written by our own filler are read clean."""
    unit = units[0]
    spec = S.template_spec(plan, ROUND)
    values = realistic_values(plan, ROUND, unit, random.Random(5))
    values = {a: v for a, v in values.items() if not (a.sheet == "proposals" and a.row == 0)}
    values.update({Addr("proposals", k, 0): v for k, v in COLLECTIVE.items()})
    blank = TemplateFactory(plan, ROUND, key).render(unit)
    clean = validate_bytes(fill_workbook(blank, spec, values), "own.xlsx", plan, key, {u.code: u for u in units})
    folder = tmp_path_factory.mktemp("writers")
    src = folder / "template.xlsx"
    src.write_bytes(blank)
    return src, spec, values, {(i.code, i.cell) for i in clean.issues}


def _cells(spec, values) -> list[tuple[str, str, object, bool]]:
    where = input_cells(spec)
    fields = {c.field.key: c.field for s in spec.sheets for c in (*s.cells, *(s.table.columns if s.table else ()))}
    return [(*where[a][:2], v, fields[a.field].percent) for a, v in values.items() if v is not None]


def _compare(path, spec, values, baseline, plan, key, units, name):
    """Every typed value read back as typed; every issue beyond the baseline's is one this writer earns, on the
    cell where the writer changed the value (both readings named)."""
    result = validate_bytes(path.read_bytes(), path.name, plan, key, {u.code: u for u in units})
    read = {(v.field, v.row): v.value for v in result.values}
    where = input_cells(spec)
    wrong = []
    for addr, value in values.items():
        got = read.get((addr.field, None if addr.row is None else addr.row + 1))
        if got != value:
            wrong.append((addr, value, got))
    assert not wrong, (name, wrong[:5])
    extra = [i for i in result.issues if (i.code, i.cell) not in baseline]
    dates = {where[a][1] for a, v in values.items() if isinstance(v, dt.date)}
    percents = {where[a][1] for a in values if a.field in ("prop.ty_le_htnv", "prop.ty_le_ldtt")}
    for issue in extra:
        if issue.code == "V020":
            assert name in SHIFTS_DATES and issue.cell in dates, (name, issue)
        elif issue.code == "V018":
            assert name in DROPS_PERCENT and issue.cell in percents, (name, issue)
        else:
            raise AssertionError((name, issue.code, issue.cell, issue.message))
    if name in SHIFTS_DATES:
        shifted = {i.cell for i in extra if i.code == "V020"}
        assert shifted == dates, (name, dates - shifted)
        one = next(i for i in extra if i.code == "V020")
        assert "17:00" in one.message and one.message.count("/") >= 4, one.message     # both readings named
    if name in DROPS_PERCENT:
        assert {i.cell for i in extra if i.code == "V018"} == percents, name
    assert result.status == "ok", (name, [(i.code, i.cell) for i in result.issues if i.severity == "error"])
    return result


def test_exceljs_and_sheetjs(typed, plan, key, units, tmp_path):
    src, spec, values, baseline = typed
    cells = _cells(spec, values)
    outputs = {("exceljs", "xlsx"): tmp_path / "exceljs.xlsx", ("sheetjs", "xlsx"): tmp_path / "sheetjs.xlsx",
               ("sheetjs", "xls"): tmp_path / "sheetjs.xls", ("sheetjs", "ods"): tmp_path / "sheetjs.ods"}
    node_fill("exceljs", src, cells, {"xlsx": outputs[("exceljs", "xlsx")]})
    node_fill("sheetjs", src, cells, {t: p for (w, t), p in outputs.items() if w == "sheetjs"}
              | {"biff5": tmp_path / "sheetjs-biff5.xls"})
    for (writer, ext), path in outputs.items():
        _compare(path, spec, values, baseline, plan, key, units, f"{writer}.{ext}")
    # Excel 95's BIFF5 keeps text in a code page: Vietnamese sheet names and texts are lost. Not one value
    # may be read wrong: the sheets are reported missing, the file is not accepted.
    result = validate_bytes((tmp_path / "sheetjs-biff5.xls").read_bytes(), "b.xls", plan, key,
                            {u.code: u for u in units})
    assert result.status == "errors" and "S001" in {i.code for i in result.issues}
    assert not result.values


def test_apache_poi_xls(typed, plan, key, units, tmp_path):
    src, spec, values, baseline = typed
    out = tmp_path / "poi.xls"
    poi_fill(src, _cells(spec, values), out)
    result = _compare(out, spec, values, baseline, plan, key, units, "poi.xls")
    assert {(v.field, v.row): v.value for v in result.values}[("prop.ty_le_ldtt", 1)] == 100


def test_percent_cells_of_biff5_and_biff8(tmp_path):
    """The %-formatted cells are found from the XF and FORMAT records in both BIFF layouts (SheetJS writes both:
    an ASCII sheet name survives BIFF5's code page)."""
    node_modules()
    src = tmp_path / "s.xlsx"
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active["A1"] = "x"
    wb.save(src)
    outs = {"xls": tmp_path / "b8.xls", "biff5": tmp_path / "b5.xls"}
    node_fill("sheetjs", src, [("Data", "B2", 92.5, True), ("Data", "C3", 0.5, False), ("Data", "D4", 100, True)],
              outs)
    for kind, path in outs.items():
        book = open_book(path.read_bytes(), "xls", path.name)
        grid = book.grid("Data")
        assert grid.shown.percent >= {(1, 1), (3, 3)} and (2, 2) not in grid.shown.percent, kind
        assert grid.get(1, 1) == pytest.approx(0.925) and grid.get(3, 3) == 1, kind
