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
    src = BROKEN / "libreoffice_typed.ods"          # goes through LibreOffice once to become .xlsx
    result = validate_file(src, plan, key)
    out = write_feedback(src, result, tmp_path / "fb.xlsx")
    back = convert(out, "ods", tmp_path / "lo")
    wb = CalamineWorkbook.from_path(str(back))
    assert wb.sheet_names[0] == SHEET_NAME
    rows = wb.get_sheet_by_name(SHEET_NAME).to_python()
    assert [r[2] for r in rows[5:5 + len(result.issues)]] == [i.code for i in result.issues]
