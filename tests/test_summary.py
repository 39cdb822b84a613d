"""Summary workbooks: totals equal independent sums over the store, charts, print setup, PDF pages, speed."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import zipfile

import openpyxl
import pytest
from conftest import need_libreoffice
from storebuild import plan_of_year, synthetic_store, synthetic_units

from thidua.cli import main
from thidua.reports.summary import collect
from thidua.reports.summary_job import build_summary
from thidua.store.definitions import stock_indicators
from thidua.year.workset import WorkingSet


@pytest.fixture(scope="module")
def store(tmp_path_factory, plan, units):
    return synthetic_store(tmp_path_factory.mktemp("sum") / "store.db", plan, units)


def _sql(db, query, *args):
    with sqlite3.connect(db) as con:
        return con.execute(query, args).fetchall()


def independent_total(db, code: str, review: str, quarters: tuple[str, ...]) -> float:
    """The documented rule, computed straight from the tables: review round figure, else the quarters' sum."""
    rows = _sql(db, "SELECT s.unit, s.round, v.value_num FROM cell_values v JOIN submissions s ON s.id = "
                    "v.submission_id WHERE s.status = 'accepted' AND v.field = ?", f"ind.{code}")
    per_unit: dict[str, dict[str, float]] = {}
    for unit, rnd, num in rows:
        per_unit.setdefault(unit, {})[rnd] = num
    total = 0.0
    for got in per_unit.values():
        if review in got:
            total += got[review]
        else:
            total += sum(got.get(q, 0) for q in quarters)
    return total


def independent_latest(db, code: str, rounds: tuple[str, ...]) -> float:
    total = 0.0
    for unit, in _sql(db, "SELECT DISTINCT unit FROM submissions"):
        for rnd in reversed(rounds):
            got = _sql(db, "SELECT v.value_num FROM cell_values v JOIN submissions s ON s.id = v.submission_id "
                           "WHERE s.status='accepted' AND s.unit=? AND s.round=? AND v.field=?", unit, rnd, f"ind.{code}")
            if got:
                total += got[0][0]
                break
    return total


@pytest.mark.parametrize("period, review, quarters, rounds", [
    ("1", "SK1", ("Q1", "Q2"), ("DK", "Q1", "Q2", "SK1")),
    ("year", "TK", ("Q1", "Q2", "Q3", "Q4"), ("DK", "Q1", "Q2", "SK1", "Q3", "Q4", "TK"))])
def test_totals_equal_independent_sums(store, plan, units, period, review, quarters, rounds):
    s = collect(WorkingSet(plan, units, store), period)
    for code in ("ND1_SANGKIEN", "ND5_KETNAP", "ND6_TIENTHAMHOI"):
        assert s.total(code) == pytest.approx(independent_total(store, code, review, quarters)), code
    for code in stock_indicators(plan):
        assert s.total(code) == pytest.approx(independent_latest(store, code, rounds)), code
    launched, to_confirm = 0, set()
    for u in units:          # launched: «Có» at any time in the period; a later «Không» is listed, not subtracted
        answers = [_sql(store, "SELECT v.value_text FROM cell_values v JOIN submissions s ON s.id = v.submission_id "
                               "WHERE s.status='accepted' AND s.unit=? AND s.round=? AND v.field='ind.PD_PHATDONG'",
                        u.code, r) for r in rounds]
        answers = [a[0][0] for a in answers if a]
        launched += "Có" in answers
        if "Có" in answers and "Không" in answers[answers.index("Có"):]:
            to_confirm.add(u.code)
    assert s.launch_count() == (launched, len(units))
    assert {u.code for u, _ in s.launch_to_confirm()} == to_confirm
    for d in s.discipline:
        due = d.round.due.isoformat()
        on = _sql(store, "SELECT count(DISTINCT unit) FROM submissions WHERE round=? AND status IN "
                         "('accepted','superseded') AND substr(received_at, 1, 10) <= ?", d.round.code, due)[0][0]
        assert s.on_time(d)[0] == on


def test_year_workbook_tables_charts_and_print_setup(store, plan, units, tmp_path):
    prev = synthetic_store(tmp_path / "prev.db", plan_of_year(plan, 2018), units, seed=3)
    out = build_summary(WorkingSet(plan, units, store), "year", tmp_path / "tk.xlsx", previous_db=prev)
    s = collect(WorkingSet(plan, units, store), "year")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "1 Phát động" and wb.sheetnames[-3:] == ["6 So sánh năm trước", "6b So sánh đơn vị",
                                                                        "7 Lịch sử đơn vị"]
    ws = wb["2 Nội dung"]
    header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "STT")
    col = header.index("Toàn tỉnh")
    figures = {r[1]: r[col] for r in ws.iter_rows(values_only=True) if isinstance(r[0], int)}
    for ind in s.indicators:
        assert figures[ind.label] == pytest.approx(s.total(ind.code)), ind.code
    texts = [c for row in wb["1 Phát động"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    done, n = s.launch_count()
    assert any(f"{done}/{n} CĐCS" in t for t in texts)
    assert not any(t.startswith("Nơi nhận") for t in texts)                   # one signature, at the end
    last = [c for row in wb.worksheets[-1].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any("Trần Quốc Bảo" == t for t in last) and any(t.startswith("Nơi nhận") for t in last)
    missing = [r for r in wb["1b Chưa phát động"].iter_rows(values_only=True) if isinstance(r[0], int)]
    assert len(missing) == n - done
    levels = [r for r in wb["3 Xếp loại"].iter_rows(values_only=True) if r[1] == "Toàn tỉnh"][0]
    assert levels[-1] == len(units) and sum(levels[2:-1]) == len(units)
    with zipfile.ZipFile(out) as z:
        charts = [name for name in z.namelist() if name.startswith("xl/charts/chart")]
        workbook_xml = z.read("xl/workbook.xml").decode()
    assert len(charts) == 5
    areas = re.findall(r'<definedName name="_xlnm.Print_Area" localSheetId="(\d+)">', workbook_xml)
    assert sorted(map(int, areas)) == list(range(len(wb.sheetnames)))
    for ws in wb.worksheets:     # a fixed scale, so that Excel too keeps the page breaks placed for it
        assert ws.page_setup.paperSize == 9 and 40 <= (ws.page_setup.scale or 100) <= 100
        assert not (ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage)


def test_pdf_pages_and_every_table_within_its_page(store, plan, units, tmp_path):
    need_libreoffice()
    out = tmp_path / "sk1.xlsx"
    assert main(["summary", "--period", "1", "--db", str(store), "--out", str(out), "--pdf"]) == 0
    pdf = out.with_suffix(".pdf")
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    book = openpyxl.load_workbook(out, read_only=True)
    sheets, rows = len(book.sheetnames), sum(ws.max_row for ws in book.worksheets)
    assert sheets <= pages <= sheets + rows // 15 + 4      # no wasted pages: at least ~15 rows a page
    assert all("A4" in line for line in info.splitlines() if re.match(r"Page\s+\d+ size", line))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    page_texts = text.split("\f")
    assert sum("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in p for p in page_texts) == 1     # one document
    assert f"Trang {pages}/{pages}" in text
    # The last column of every table is printed (fit to the page width, nothing cut onto extra pages).
    for last_header in ("Tỷ lệ", "Ghi chú", "báo cáo", "Tổng số", "Căn cứ xếp loại", "Chênh lệch", "Không đạt",
                        "Trạng thái", "Tỷ lệ đúng"):
        assert last_header in text, last_header


def test_year_end_summary_of_1000_units(plan, tmp_path):
    """A province-sized store works end to end (its speed is measured by bench/run.py, not here)."""
    big = synthetic_units(1000)
    db = synthetic_store(tmp_path / "big.db", plan, big, proposals_every=10)
    build_summary(WorkingSet(plan, big, db), "year", tmp_path / "big.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True)["5b Báo cáo theo đơn vị"]
    assert sum(1 for r in ws.iter_rows(values_only=True) if isinstance(r[0], int)) == 1000
