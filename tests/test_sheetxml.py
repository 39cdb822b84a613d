"""Streamed sheet rows (reports/sheetxml.py) give the very package XlsxWriter's own write calls give."""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from io import BytesIO
from types import SimpleNamespace

import openpyxl
import pytest
import xlsxwriter

from thidua.reports import committee as C
from thidua.reports import sheetxml

KEYS = ["text", "int", "datetime", "small", "text"]
NASTY = ["plain", "a & b < c > d \"q\"", " leading", "trailing ", "tab\tinside", "\x01ctrl\x1f", "_x0041_ literal",
         "line\nbreak\n", "<r>not rich</r>x", "x" * 40000, "😀" * 20000, "\ufffebad\uffff", "Tiếng Việt: Đoàn",
         "", "=1+1", "https://example.org", "0123"]
NUMBERS = [0, 7, -3, 10 ** 17, 123456789012345678, 0.1, 1e-7, -3.5, 2.5e300, float("nan"), float("inf"), True]
WHEN = [None, dt.date(2019, 3, 31), dt.date(1900, 1, 5), dt.datetime(2019, 4, 10, 16, 45, 30), dt.datetime(1900, 2, 28),
        dt.datetime(1900, 3, 1, 12), "không phải ngày"]


def _values(i: int) -> list:
    row = [NASTY[i % len(NASTY)], NUMBERS[i % len(NUMBERS)], WHEN[i % len(WHEN)],
           NASTY[(i * 7 + 3) % len(NASTY)], NASTY[(i * 5 + 1) % len(NASTY)]]
    if i % 4 == 0:
        row[4] = (row[4], "bad")              # an override by the extra format (after the columns' own, in row 1)
    return row


def _book(target, fmt_spec: dict):
    wb = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": dt.datetime(2019, 1, 1)})
    return wb, {k: wb.add_format(v) for k, v in fmt_spec.items()}


FORMATS = {"title": {"bold": True}, "text": {"border": 1}, "int": {"border": 1, "num_format": "#,##0"},
           "datetime": {"border": 1, "num_format": "dd/mm/yyyy hh:mm"}, "small": {"font_size": 10, "text_wrap": True},
           "bad": {"font_color": "#C00000"}, "total": {"bold": True, "num_format": "#,##0"}}


def _write(sheet_rows, ws, fmts, trailing: bool, crowd: int) -> None:
    """A title, `crowd` other formats used first (so the rows' style indexes have 1, 2 or 3 digits), two runs
    of data rows (row 9 with a height) around a formula row, maybe a closing row."""
    ws.write_string(0, 0, "Tiêu đề", fmts["title"])
    for c in range(crowd):
        ws.write_blank(1, c, None, fmts[f"crowd{c}"])
    for r in range(2, 12):
        sheet_rows.write(r, _values(r - 2), 40 if r == 9 else None)
    ws.write_formula(12, 1, "=SUM(B3:B12)", fmts["total"], 42)
    for r in range(13, 30):
        sheet_rows.write(r, _values(r))
    if trailing:
        ws.write_string(31, 0, "Người lập", fmts["title"])


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("trailing, crowd", [(True, 0), (False, 0), (True, 12), (False, 120)])
def test_streamed_rows_equal_xlsxwriter_write_calls_byte_for_byte(tmp_path, trailing, crowd):
    spec = FORMATS | {f"crowd{c}": {"font_size": 8 + c / 10} for c in range(crowd)}
    ref_path = tmp_path / "calls.xlsx"
    wb, fmts = _book(str(ref_path), spec)
    ws = wb.add_worksheet("Dữ liệu")
    _write(C.Rows(SimpleNamespace(fmt=fmts, put=lambda *a: C.Book.put(SimpleNamespace(fmt=fmts), *a)), ws, KEYS),
           ws, fmts, trailing, crowd)
    wb.close()

    package = BytesIO()
    wb, fmts = _book(package, spec)
    ws = wb.add_worksheet("Dữ liệu")
    rows = sheetxml.SheetRows(ws, KEYS, fmts, extra=("bad",))
    _write(rows, ws, fmts, trailing, crowd)
    wb.close()
    out = tmp_path / "streamed.xlsx"
    sheetxml.assemble(package.getvalue(), {"Dữ liệu": rows}, out)
    rows.close()

    ref, got = _members(ref_path), _members(out)
    assert list(got) == list(ref)
    for name in ref:
        assert got[name] == ref[name], name
    assert len(rows.runs) == 2              # per-row state is not kept: two runs of rows, whatever their length
    sheet = openpyxl.load_workbook(out)["Dữ liệu"]
    assert sheet["A3"].value == "plain" and sheet.row_dimensions[10].height == 39.75
    assert sheet["B8"].value == 0.1 and sheet["E3"].font.color.rgb == "FFC00000"
    bad = re.search(r'<c r="E3" s="(\d+)"', got["xl/worksheets/sheet1.xml"].decode()).group(1)
    assert len(bad) == {0: 1, 12: 2, 120: 3}[crowd]          # style indexes of 1, 2 and 3 digits resolved


def test_a_row_written_twice_or_by_both_writers_is_refused(tmp_path):
    package = BytesIO()
    wb, fmts = _book(package, FORMATS)
    ws = wb.add_worksheet("x")
    rows = sheetxml.SheetRows(ws, ["text", "int"], fmts)
    rows.write(3, ["a", 1])
    with pytest.raises(RuntimeError):
        rows.write(3, ["b", 2])
    rows.write(4, ["b", 2])
    ws.write_string(4, 3, "also row 5", fmts["title"])     # XlsxWriter writes a streamed row's number
    wb.close()
    with pytest.raises(RuntimeError):
        sheetxml.assemble(package.getvalue(), {"x": rows}, tmp_path / "x.xlsx")
    rows.close()


def test_undeclared_override_and_too_many_formats_are_refused(tmp_path):
    wb, fmts = _book(BytesIO(), FORMATS)
    ws = wb.add_worksheet("x")
    rows = sheetxml.SheetRows(ws, ["text", "int"], fmts)
    with pytest.raises(KeyError):
        rows.write(1, [("a", "bad"), 1])
    with pytest.raises(ValueError):
        sheetxml.SheetRows(ws, ["text"], fmts, extra=("bad",)).write(2, ["a"])
    wb.close()


def test_excel_serial_matches_xlsxwriter():
    """Dates as Excel numbers: the 1900 system with its 29/02/1900, as XlsxWriter's write_datetime gives."""
    assert sheetxml.excel_serial(dt.date(1900, 1, 1)) == 1
    assert sheetxml.excel_serial(dt.date(1900, 2, 28)) == 59
    assert sheetxml.excel_serial(dt.date(1900, 3, 1)) == 61
    assert sheetxml.excel_serial(dt.datetime(2019, 4, 10, 18)) == 43565.75
