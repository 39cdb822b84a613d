"""The committee workbook: says what the store says, every value traces to its file and cell, prints on A4."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest

from conftest import TEST_KEY, need_libreoffice
from thidua.store import db as store
from thidua.reports.committee import write_committee_workbook
from thidua.store.tracking import status_label, status_rows
from thidua.intake.validate import validate_bytes
from thidua.templates import spec as S
from thidua.year.workset import WorkingSet

def header_row(ws) -> int:
    return next(r for r in range(1, 15) if ws.cell(r, 1).value == "STT" or ws.cell(r, 1).value == "Mã đơn vị")


def archived(year, sha: str) -> bytes:
    return next(store.archive_root(year.db).glob(f"{sha[:2]}/{sha}.*")).read_bytes()


@pytest.fixture(scope="module")
def q1(consolidated_year):
    return openpyxl.load_workbook(consolidated_year.workbooks["Q1"], data_only=True)


def test_sheets_and_tracking(consolidated_year, plan, q1):
    names = q1.sheetnames
    assert names[0] == "Theo dõi nộp" and names[-1] == "Nguồn số liệu"
    assert "Hoạt động" in names and "Vấn đề phát hiện" in names and any(n.startswith("Chỉ tiêu") for n in names)
    assert "Đề nghị khen thưởng" in openpyxl.load_workbook(consolidated_year.workbooks["SK1"], read_only=True).sheetnames
    ws = q1["Theo dõi nộp"]
    h = header_row(ws)
    shown = {ws.cell(r, 2).value: ws.cell(r, 6).value for r in range(h + 1, ws.max_row + 1) if ws.cell(r, 2).value}
    want = {r["unit"]: status_label(r["status"]) for r in status_rows(WorkingSet(plan, consolidated_year.units, consolidated_year.db), "Q1")}
    assert {k: v for k, v in shown.items() if k in want} == want


def test_every_indicator_value_traces_to_its_file_and_cell(consolidated_year, plan, q1):
    year = consolidated_year
    units = {u.code: u for u in year.units}
    src = q1["Nguồn số liệu"]
    h = header_row(src)
    sha_of = {src.cell(r, 2).value: src.cell(r, 6).value for r in range(h + 1, src.max_row + 1) if src.cell(r, 2).value}
    cells = q1["Ô nguồn"]          # provenance on its own sheet: committee sheet, column -> template sheet, cell
    h = header_row(cells)
    source = {(cells.cell(r, 2).value, cells.cell(r, 3).value): (cells.cell(r, 6).value, cells.cell(r, 7).value)
              for r in range(h + 1, cells.max_row + 1) if cells.cell(r, 3).value}
    spec = S.template_spec(plan, "Q1")
    field_at = {(sheet.name, cell.address): cell.field.key for sheet in spec.sheets for cell in sheet.cells}
    checked = 0
    for ws in (q1[n] for n in q1.sheetnames if n.startswith("Chỉ tiêu")):
        h = header_row(ws)
        assert not any("!" in str(ws.cell(h, c).value) for c in range(1, ws.max_column + 1))
        cols = {c: source[ws.title, openpyxl.utils.get_column_letter(c)] for c in range(5, ws.max_column + 1)}
        results = {}
        for r in range(h + 1, ws.max_row + 1):
            code = ws.cell(r, 2).value
            if code not in units:
                continue
            sha = sha_of.get(code)
            if sha is None:
                assert all(ws.cell(r, c).value is None for c in cols)     # missing or rejected: no figures
                continue
            if sha not in results:       # by field: a unit may have renamed the sheet (its values keep its name)
                results[sha] = {v.field: v.value for v in
                                validate_bytes(archived(year, sha), "x.xlsx", plan, TEST_KEY, units).values}
            for c, where in cols.items():
                value = ws.cell(r, c).value
                truth = results[sha].get(field_at[where])
                if isinstance(value, dt.datetime):
                    value = value.date()
                assert value == truth, (code, where)
                checked += value is not None
    assert checked > 500


def test_subtotals_and_province_total(consolidated_year, plan, q1):
    totals = consolidated_year.report.totals["Q1"]
    inds = plan.indicators_for("Q1")
    seen = 0
    for ws in (q1[n] for n in q1.sheetnames if n.startswith("Chỉ tiêu")):
        h = header_row(ws)
        codes = {c: next(i for i in inds if ws.cell(h, c).value.startswith(f"{i.label} ({i.unit})"))
                 for c in range(5, ws.max_column + 1)}
        block: list[int] = []
        for r in range(h + 1, ws.max_row + 1):
            label = ws.cell(r, 1).value
            if isinstance(label, int):
                block.append(r)
            elif isinstance(label, str) and label.startswith("Cộng "):
                for c, ind in codes.items():
                    if ind.type in ("int", "money"):
                        assert ws.cell(r, c).value == sum(ws.cell(b, c).value or 0 for b in block)
                block = []
            elif label == "TỔNG CỘNG TOÀN TỈNH":
                for c, ind in codes.items():
                    if ind.type in ("int", "money"):
                        assert ws.cell(r, c).value == totals.get(ind.code, 0)
                        seen += 1
                    elif ind.type == "bool":
                        column = [ws.cell(x, c).value for x in range(h + 1, r) if isinstance(ws.cell(x, 1).value, int)]
                        assert ws.cell(r, c).value == column.count("Có")
    assert seen >= 10


def test_activities_trace_to_their_row(consolidated_year, plan, q1):
    year = consolidated_year
    units = {u.code: u for u in year.units}
    ws = q1["Hoạt động"]
    h = header_row(ws)
    sha_src = q1["Nguồn số liệu"]
    sha_of = {sha_src.cell(r, 2).value: sha_src.cell(r, 6).value for r in range(5, sha_src.max_row + 1)}
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=h + 1) if row[1].value in units]
    assert len(rows) > 50
    for row in rows[::17]:
        result = validate_bytes(archived(year, sha_of[row[1]]), "x.xlsx", plan, TEST_KEY, units)
        number = int(row[7].rsplit(" ", 1)[1])
        act = next(a for a in result.activities if a["row"] == number)
        assert act["description"] == row[5] and act["date"] == row[3].date()


def test_print_setup_and_no_external_links(consolidated_year, plan):
    path = consolidated_year.workbooks["Q1"]
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows and ws.freeze_panes and ws.auto_filter.ref
        assert ws.cell(1, 1).value == plan.office_on().issuer_parent
        assert any(c.value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" for c in ws[1])
    with zipfile.ZipFile(path) as z:
        assert not any("vbaProject" in n or "externalLink" in n for n in z.namelist())
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        styles = z.read("xl/styles.xml").decode()
    assert not re.search(r"<f>[^<]*\[", sheets)
    assert "dd/mm/yyyy" in styles and "#,##0" in styles


def test_renders_to_pdf_pages(consolidated_year, tmp_path):
    need_libreoffice()
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils not installed (pdftoppm)")
    from thidua.reports.libreoffice import convert
    pdf = convert(consolidated_year.workbooks["SK1"], "pdf", tmp_path)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == 2
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    for title in ("TÌNH HÌNH NỘP BÁO CÁO", "TỔNG HỢP SỐ LIỆU CÁC CHỈ TIÊU", "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG",
                  "CÁC VẤN ĐỀ PHÁT HIỆN", "Độc lập - Tự do - Hạnh phúc", "Trang 1/"):
        assert title in text


def test_unknown_round_is_a_clear_error(consolidated_year, plan, tmp_path):
    from thidua.errors import ThiDuaError
    with pytest.raises(ThiDuaError):
        write_committee_workbook(WorkingSet(plan, consolidated_year.units, consolidated_year.db), "Q9", tmp_path / "x.xlsx")


def _cells(path) -> dict:
    """Every sheet's values, number formats, fonts, fills, borders, alignment, merges, row heights, print setup
    and stated dimension."""
    wb = openpyxl.load_workbook(path)
    with zipfile.ZipFile(path) as z:
        dims = [re.search(r'<dimension ref="([^"]+)"', z.read(f"xl/worksheets/sheet{i}.xml").decode()).group(1)
                for i in range(1, len(wb.worksheets) + 1)]
    out = {}
    for ws, dim in zip(wb.worksheets, dims):
        cells = {(c.row, c.column): (c.value, c.number_format, c.font.b, c.font.color.rgb if c.font.color else None,
                                     c.font.name, c.font.sz, c.fill.fgColor.rgb, c.fill.patternType,
                                     tuple(getattr(c.border, side).style for side in ("left", "right", "top", "bottom")),
                                     c.alignment.wrap_text, c.alignment.horizontal, c.alignment.vertical,
                                     c.alignment.shrink_to_fit)
                 for row in ws.iter_rows() for c in row if c.value is not None or c.has_style}
        out[ws.title] = (cells, sorted(map(str, ws.merged_cells.ranges)),
                         {r: d.height for r, d in ws.row_dimensions.items() if d.height},
                         ws.freeze_panes, ws.print_title_rows, ws.print_area, ws.auto_filter.ref, dim)
    return out


def test_constant_memory_rows_match_in_memory_mode(consolidated_year, plan, tmp_path, monkeypatch):
    """Rows streamed as sheet XML (reports/sheetxml.py) show exactly what XlsxWriter's in-memory mode shows
    when every cell goes through its write calls."""
    import thidua.reports.committee as C
    monkeypatch.setattr(C, "_now", lambda: dt.datetime(2019, 4, 12, 9, 30))
    for rc in ("Q1", "SK1"):
        fast = write_committee_workbook(WorkingSet(plan, consolidated_year.units, consolidated_year.db), rc, tmp_path / f"fast_{rc}.xlsx", force=True)
        with monkeypatch.context() as m:
            m.setattr(C, "CONSTANT_MEMORY", False)
            slow = write_committee_workbook(WorkingSet(plan, consolidated_year.units, consolidated_year.db), rc, tmp_path / f"slow_{rc}.xlsx", force=True)
        with zipfile.ZipFile(fast) as z:
            assert "xl/sharedStrings.xml" not in z.namelist()          # inline strings: constant_memory mode
        assert _cells(fast) == _cells(slow)


def test_rows_out_of_order_are_refused(plan, tmp_path):
    import thidua.reports.committee as C
    book = C.Book(tmp_path / "x.xlsx", plan, plan.round("Q1"), C._now())
    for rows in (C.Rows(book, book.wb.add_worksheet("x"), ["text", "int"]),
                 book.rows(book.wb.add_worksheet("y"), ["text", "int"])):
        rows.write(3, ["a", 1])
        with pytest.raises(RuntimeError):
            rows.write(3, ["b", 2])       # row 3 is already out: a second write would be lost
    book.close()


def test_no_private_members_of_libraries():
    """Public library APIs only: no XlsxWriter internals (issue 10)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "python" / "thidua"
    private = re.compile(r"\._(write_single_row|get_xf_index|write_cell|xml_\w+)\b|\.(fh|row_data_fh|previous_row|"
                         r"dim_rowmax|dim_colmax)\b")
    found = [f"{p.name}:{n}" for p in root.rglob("*.py") for n, line in enumerate(p.read_text().splitlines(), 1)
             if private.search(line)]
    assert not found, found


def test_unchanged_inputs_leave_the_workbook_alone(consolidated_year, plan, tmp_path):
    """A re-run with nothing new does not rewrite; a changed store, a touched file or `force` do."""
    import sqlite3
    db = tmp_path / "copy.db"
    with sqlite3.connect(consolidated_year.db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    units, out = consolidated_year.units, tmp_path / "TongHop_Q1.xlsx"

    def written() -> tuple[int, int]:
        return out.stat().st_ino, out.stat().st_mtime_ns

    write_committee_workbook(WorkingSet(plan, units, db), "Q1", out)
    first = written()
    write_committee_workbook(WorkingSet(plan, units, db), "Q1", out)
    assert written() == first
    write_committee_workbook(WorkingSet(plan, units, db), "Q1", out, force=True)
    assert written() != first
    second = written()
    with sqlite3.connect(db) as conn:                  # a resubmission replaced a unit's file
        sub = conn.execute("SELECT id FROM submissions WHERE round='Q1' AND status='accepted' LIMIT 1").fetchone()[0]
        conn.execute("UPDATE submissions SET status='superseded' WHERE id=?", (sub,))
    write_committee_workbook(WorkingSet(plan, units, db), "Q1", out)
    assert written() != second
    third = written()
    with open(out, "ab") as fh:                          # the file changed on disk since it was written
        fh.write(b"\0")
    write_committee_workbook(WorkingSet(plan, units, db), "Q1", out)
    assert written() != third and openpyxl.load_workbook(out, read_only=True).sheetnames[0] == "Theo dõi nộp"
    fourth = written()
    write_committee_workbook(WorkingSet(plan, units[:-1], db), "Q1", out)   # the register changed
    assert written() != fourth
