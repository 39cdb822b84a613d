"""The marked-up copy for the unit: problems sheet with links, red cells with comments, opens in LibreOffice."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook

from conftest import need_libreoffice
from thidua.intake.feedback import SHEET_NAME, write_feedback
from thidua.intake.validate import validate_file

BROKEN = Path(__file__).resolve().parent / "data" / "broken"


def test_feedback_marks_cells_and_lists_problems(plan, key, tmp_path):
    src = BROKEN / "values_mess.xlsx"
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    result = validate_file(src, plan, key)
    out = write_feedback(src, result, tmp_path / "phan-hoi.xlsx")
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == SHEET_NAME and wb.active.title == SHEET_NAME
    problems = wb[SHEET_NAME]
    codes = [problems.cell(r, 3).value for r in range(6, 6 + len(result.issues))]
    assert codes == [i.code for i in result.issues]
    for issue in result.issues:
        if issue.cell:
            cell = wb[issue.sheet][issue.cell]
            assert cell.comment is not None and issue.code in cell.comment.text
            assert cell.fill.fgColor.rgb.endswith(("FFC7CE", "FFEB9C"))
    links = [problems.cell(r, 5).hyperlink for r in range(6, 6 + len(result.issues))]
    assert any(link is not None and link.location for link in links)
    assert "_meta" in wb.sheetnames and wb["_meta"].sheet_state in ("hidden", "veryHidden")


def test_formula_like_text_stays_text(plan, key, tmp_path):
    src = BROKEN / "formula_like_text.xlsx"
    result = validate_file(src, plan, key)
    result.issues.append(result.issues[0] if result.issues else _fake_issue(result))
    out = write_feedback(src, result, tmp_path / "fb.xlsx")
    with zipfile.ZipFile(out) as zf:
        sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any(b"<f>Ph" in x or b"<f>=Ph" in x for x in sheets)
    wb = CalamineWorkbook.from_path(str(out))
    texts = {c for name in wb.sheet_names for row in wb.get_sheet_by_name(name).to_python() for c in row}
    assert {"=Phó chủ tịch", "+84 905 123 456", "@cdcs-tamhoa"} <= texts


def _fake_issue(result):
    from thidua.intake.messages import make_issue
    v = next(v for v in result.values if v.value == "=Phó chủ tịch")
    return make_issue("V015", sheet=v.sheet, cell=v.cell, field=v.field, value=v.value, label="Chức vụ")


def test_unreadable_file_gets_problems_only(plan, key, tmp_path):
    src = BROKEN / "xml_bomb.xlsx"
    out = write_feedback(src, validate_file(src, plan, key), tmp_path / "fb.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET_NAME] and wb[SHEET_NAME].cell(6, 3).value == "F009"


def test_feedback_opens_in_libreoffice(plan, key, tmp_path):
    need_libreoffice()
    from thidua.reports.libreoffice import convert
    src = BROKEN / "libreoffice_typed.ods"          # the copy rebuilt from its values must open there too
    result = validate_file(src, plan, key)
    out = write_feedback(src, result, tmp_path / "fb.xlsx")
    back = convert(out, "ods", tmp_path / "lo")
    wb = CalamineWorkbook.from_path(str(back))
    assert wb.sheet_names[0] == SHEET_NAME
    rows = wb.get_sheet_by_name(SHEET_NAME).to_python()
    assert [r[2] for r in rows[5:5 + len(result.issues)]] == [i.code for i in result.issues]


# ------------------------------------------------------------------ .xls / .ods: a copy rebuilt from the values read
def _grids(path: Path) -> dict:
    """Every sheet's grid of a workbook, as the validator reads it."""
    from thidua.intake.safety import open_book, sniff
    data = path.read_bytes()
    book = open_book(data, sniff(data, path.name)[0], path.name)
    return {name: book.grid(name) for name in book.names}, book


def _check_copy(src: Path, result, out: Path) -> openpyxl.Workbook:
    """The feedback of a .xls/.ods file: the problems sheet first, then every sheet of the unit's file with
    each value at its own address; the bad cells marked and commented, the problem list's links to them."""
    from thidua.intake.safety import a1
    grids, book = _grids(src)
    back, _ = _grids(out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET_NAME] + book.names and wb.active.title == SHEET_NAME
    assert {ws.title for ws in wb.worksheets if ws.sheet_state != "visible"} == book.hidden
    n = 0
    for name, grid in grids.items():
        for r, c in grid.keys():
            assert back[name].get(r, c) == grid.get(r, c), (name, a1(r, c))
            if isinstance(grid.get(r, c), str):
                assert wb[name][a1(r, c)].data_type == "s"     # never turned into a formula
            n += 1
        assert set(back[name].keys()) == set(grid.keys())
        assert set(back[name].shown.percent) >= set(grid.shown.percent)
    assert n > 400
    problems = wb[SHEET_NAME]
    marked = [i for i in result.issues if i.cell]
    assert marked
    for row, issue in enumerate(result.issues, start=6):
        assert problems.cell(row, 3).value == issue.code
        if not issue.cell:
            continue
        cell = wb[issue.sheet][issue.cell]
        assert cell.comment is not None and issue.code in cell.comment.text
        assert cell.fill.fgColor.rgb.endswith(("FFC7CE", "FFEB9C"))
        link = problems.cell(row, 5).hyperlink
        assert link is not None and link.location == f"'{issue.sheet}'!{issue.cell}"
        if issue.code.startswith("V") and isinstance(issue.value, str):
            assert cell.value == issue.value        # the link lands on the value the message quotes
    return wb


def _no_libreoffice(monkeypatch):
    import thidua.reports.libreoffice as lo

    def refuse(*args, **kwargs):
        raise AssertionError("the feedback must not start LibreOffice")
    monkeypatch.setattr(lo, "convert", refuse)


def test_xls_and_ods_feedback_is_rebuilt_from_the_values(plan, key, tmp_path, monkeypatch):
    """Files LibreOffice saved as .xls and .ods: the unit's values at their own addresses, marked, linked."""
    _no_libreoffice(monkeypatch)
    for name in ("libreoffice_typed.xls", "libreoffice_typed.ods"):
        src = BROKEN / name
        before = hashlib.sha256(src.read_bytes()).hexdigest()
        result = validate_file(src, plan, key)
        assert {"V003", "V009"} <= {i.code for i in result.issues}
        out = write_feedback(src, result, tmp_path / f"{name}.xlsx")
        assert hashlib.sha256(src.read_bytes()).hexdigest() == before
        wb = _check_copy(src, result, out)
        assert wb["Chỉ tiêu"]["F22"].value == "45 người"
        ws = wb["Chỉ tiêu"]             # a label wider than its column, a value on its right: wrapped, row taller
        long = [c for c in ws["D"] if isinstance(c.value, str) and len(c.value) > ws.column_dimensions["D"].width
                and ws.cell(c.row, 5).value]
        assert long and all(c.alignment.wrap_text and ws.row_dimensions[c.row].height >= 30 for c in long)
        same = openpyxl.load_workbook(BROKEN / "libreoffice_typed.xlsx")   # the same file saved as .xlsx
        for ws in same.worksheets:          # the unit's column widths (the descriptions' wide columns)
            for letter, dim in ws.column_dimensions.items():
                assert abs(wb[ws.title].column_dimensions[letter].width - dim.width) < 0.5, (name, ws.title, letter)


def test_feedback_of_a_template_filled_in_libreoffice(plan, units, key, tmp_path, monkeypatch):
    """A template filled and saved by LibreOffice as .xls and .ods, with mistakes in a table row, a date,
    a percentage and a text that starts with «+»: every value comes back at its address."""
    import random
    from conftest import lo_fill, need_libreoffice
    from thidua.demo.simulate import fill_workbook, realistic_values
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    need_libreoffice(uno=True)
    unit, rc = units[0], "TK"
    spec = S.template_spec(plan, rc)
    src = tmp_path / "src.xlsx"
    src.write_bytes(fill_workbook(TemplateFactory(plan, rc, key).render(unit), spec,
                                  realistic_values(plan, rc, unit, random.Random(4))))
    acts, props = spec.sheet("activities"), spec.sheet("proposals")

    def at(sheet, key_, row):
        return sheet.table.address(row, next(c for c in sheet.table.columns if c.field.key == key_))
    cells = [[acts.name, at(acts, "act.participants", 3), "khoảng 40"],
             [acts.name, at(acts, "act.date", 4), "31/02/2019"],
             [props.name, at(props, "prop.ty_le_ldtt", 1), {"percent": 0.85}],
             [props.name, at(props, "prop.position", 1), "+Phó chủ tịch"]]
    jobs = [{"src": str(src), "dst": str(tmp_path / f"lo.{ext}"), "filter": flt, "cells": cells}
            for ext, flt in (("xls", "MS Excel 97"), ("ods", "calc8"))]
    lo_fill(jobs, tmp_path)
    _no_libreoffice(monkeypatch)
    register = {u.code: u for u in units}
    for ext in ("xls", "ods"):
        path = tmp_path / f"lo.{ext}"
        result = validate_file(path, plan, key, register)
        bad = {i.cell for i in result.issues if i.sheet == acts.name}
        assert {at(acts, "act.participants", 3), at(acts, "act.date", 4)} <= bad, result.issues
        out = write_feedback(path, result, tmp_path / f"fb_{ext}.xlsx")
        wb = _check_copy(path, result, out)
        assert wb[props.name][at(props, "prop.position", 1)].value == "+Phó chủ tịch"
        assert wb[props.name][at(props, "prop.ty_le_ldtt", 1)].number_format.endswith("%")


def test_xls_over_the_copy_limit_gets_the_problem_list(plan, key, tmp_path, monkeypatch):
    import thidua.intake.copybook as copybook
    monkeypatch.setattr(copybook, "COPY_LIMIT", 100)
    src = BROKEN / "libreoffice_typed.xls"
    result = validate_file(src, plan, key)
    wb = openpyxl.load_workbook(write_feedback(src, result, tmp_path / "fb.xlsx"))
    assert wb.sheetnames == [SHEET_NAME]
    assert "không chép lại toàn bộ sổ" in wb[SHEET_NAME]["A4"].value and " ô)" in wb[SHEET_NAME]["A4"].value
    assert [wb[SHEET_NAME].cell(r, 3).value for r in range(6, 6 + len(result.issues))] == [i.code for i in result.issues]
