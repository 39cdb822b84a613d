"""In-cell dropdown lists as spreadsheet programs read them: an inline list is split at commas, so no label may
hold one («Sơ kết, tổng kết» became two items). Every file the project writes is read back; and a round kind
that is not the plan's own is refused when the plan is loaded, naming the cell."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import xlsxwriter.worksheet

from thidua import cli
from thidua.errors import ThiDuaError

RULE = re.compile(rb"<(?:\w+:)?dataValidation\b([^>]*)>(.*?)</(?:\w+:)?dataValidation>", re.S)
FORMULA = re.compile(rb"<(?:\w+:)?formula1>(.*?)</(?:\w+:)?formula1>", re.S)


def list_validations(path: Path) -> list[tuple[str, str]]:
    """(sheet part, formula1) of every list validation of a workbook, as stored."""
    found = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet") and name.endswith(".xml"):
                for attrs, body in RULE.findall(zf.read(name)):
                    if b'type="list"' in attrs:
                        formula = FORMULA.search(body)
                        text = formula.group(1).decode("utf-8") if formula else ""
                        found.append((name, text.replace("&quot;", '"').replace("&amp;", "&")))
    return found


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every kind of workbook the project writes (demo year, master workbook, feedback, score and proposal lists),
    with each inline list as the code handed it to XlsxWriter."""
    out = tmp_path_factory.mktemp("lists")
    asked: list[tuple[str, ...]] = []
    original = xlsxwriter.worksheet.Worksheet.data_validation

    def spy(self, *args, **kwargs):
        options = args[-1] if args and isinstance(args[-1], dict) else kwargs.get("options", {})
        if options.get("validate") == "list" and isinstance(options.get("source"), (list, tuple)):
            asked.append(tuple(str(s) for s in options["source"]))
        return original(self, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(xlsxwriter.worksheet.Worksheet, "data_validation", spy)
    try:
        demo = out / "demo"
        assert cli.main(["demo", "--out", str(demo)]) == 0
        mp.setenv("THIDUA_KEY_FILE", str(demo / "demo-office.key"))
        db = str(demo / "thidua.db")
        assert cli.main(["build-workbook", "--out", str(out / "ThiDua2019.xlsm")]) == 0
        q1 = sorted((demo / "hop-thu" / "Q1").rglob("*.xlsx"))[:40]
        assert cli.main(["validate", *map(str, q1), "--feedback", str(out / "phan-hoi")]) in (0, 1)
        assert cli.main(["scores", "export", "--out", str(out / "diem.xlsx"), "--db", db]) == 0
        assert cli.main(["proposals", "export", "--out", str(out / "de-nghi.xlsx"), "--db", db]) == 0
    finally:
        mp.undo()
    files = [p for p in out.rglob("*.xls[xm]") if "hop-thu" not in p.parts]
    return files, asked


def test_every_written_workbook_has_its_lists_as_the_code_meant_them(written):
    files, asked = written
    kinds = {part for p in files for part in (*p.parts[-3:-1], p.name)}
    assert {"ThiDua2019.xlsm", "phan-hoi", "diem.xlsx", "de-nghi.xlsx", "bao-cao", "templates", "nhac-nho"} <= kinds
    assert ("Đăng ký thi đua", "Báo cáo quý", "Sơ kết/tổng kết", "Đột xuất") in asked
    meant = set(asked)
    inline = ranged = 0
    for path in files:
        for part, formula in list_validations(path):
            if formula.startswith('"'):                   # an inline list: what a spreadsheet program shows
                inline += 1
                items = tuple(formula.strip('"').split(","))
                assert items in meant, f"{path.name} {part}: {formula} is not a list the code wrote"
                assert all(i == i.strip() and i for i in items), (path.name, formula)
            else:                                         # a range on a sheet: one item per cell, commas allowed
                ranged += 1
                assert "!" in formula, (path.name, formula)
    assert inline > 20 and ranged > 1000, (inline, ranged)
    for items in meant:
        assert not [i for i in items if "," in i], items


def test_a_label_with_a_comma_is_refused_when_building():
    from thidua.workbook import build, layout
    col = layout.Col("kind", "Loại kỳ", "list", 16, ("review",), ("Sơ kết, tổng kết",))
    with pytest.raises(ValueError, match="dấu phẩy"):
        build._validation(col)


def _round_kind_cell(path: Path, value: str, row: int = 0) -> str:
    """Type `value` into the «Loại kỳ» cell of a round row of the master workbook (as LibreOffice or Excel
    would save it); return that cell's address."""
    import openpyxl
    from thidua.workbook import layout
    sheet = next(s for s in layout.PLAN_SHEETS if s.key == "rounds")
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb[sheet.name]
    col = [c.key for c in sheet.columns].index("kind") + 1
    cell = ws.cell(layout.FIRST_ROW + 1 + row, col)
    cell.value = value
    wb.save(path)
    return cell.coordinate


def test_a_round_kind_not_in_the_plans_list_is_refused_with_its_cell(tmp_path):
    from thidua.plan.load import load_plan
    book = tmp_path / "ThiDua2019.xlsm"
    assert cli.main(["build-workbook", "--out", str(book)]) == 0
    cell = _round_kind_cell(book, "Sơ kết")                  # what the split list offered
    with pytest.raises(ThiDuaError) as err:
        load_plan(book)
    text = str(err.value) + " " + err.value.hint
    assert "«Sơ kết»" in text and cell in text and "Kỳ báo cáo" in text and "Sơ kết/tổng kết" in text


def test_the_old_label_with_a_comma_still_reads_as_review(tmp_path):
    """A workbook built before the label changed holds «Sơ kết, tổng kết»: it still means review."""
    from thidua.plan.load import load_plan
    book = tmp_path / "ThiDua2019.xlsm"
    assert cli.main(["build-workbook", "--out", str(book)]) == 0
    plan_rows = load_plan(book)
    review = [r for r in plan_rows.rounds if r.kind == "review"]
    _round_kind_cell(book, "Sơ kết, tổng kết", row=[r.code for r in plan_rows.rounds].index(review[0].code))
    assert [r.code for r in load_plan(book).rounds if r.kind == "review"] == [r.code for r in review]


def test_a_plan_file_with_a_wrong_round_kind_is_refused(tmp_path, capsys):
    from thidua.plan.model import read_toml_tables
    import thidua
    text = (Path(thidua.__file__).parent / "data" / "plan2019.toml").read_text(encoding="utf-8")
    assert read_toml_tables()["rounds"]
    bad = tmp_path / "plan.toml"
    bad.write_text(re.sub(r'kind = "review"', 'kind = "so ket"', text, count=1), encoding="utf-8")
    assert cli.main(["classify", "--period", "1", "--plan", str(bad), "--db", str(tmp_path / "x.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: ") and "loại kỳ «so ket»" in err and "Traceback" not in err
