"""Print-ready reports read back from their PDFs: one header, one signature, whole header lines, Vietnamese
numbers, and no page that holds only a header or only a signature."""
from __future__ import annotations

import re
import subprocess

import pytest
from conftest import need_libreoffice
from storebuild import plan_of_year, synthetic_store

from thidua.cli import main
from thidua.reports.officialdoc import MOTTO, NATION, header_split
from thidua.text.numbers import format_number, format_percent
from thidua.text.width import column_points, text_width

FOOTER = re.compile(r"^\s*Trang \d+/\d+\s*$")


@pytest.fixture(scope="module")
def store(tmp_path_factory, plan, units):
    root = tmp_path_factory.mktemp("print")
    synthetic_store(root / "prev.db", plan_of_year(plan, 2018), units, seed=3)
    return synthetic_store(root / "store.db", plan, units)


@pytest.fixture(scope="module")
def year_pdf(store, tmp_path_factory):
    need_libreoffice()
    out = tmp_path_factory.mktemp("tk") / "tong-ket.xlsx"
    assert main(["summary", "--period", "year", "--db", str(store), "--out", str(out), "--pdf",
                 "--previous-db", str(store.parent / "prev.db")]) == 0
    return out.with_suffix(".pdf")


@pytest.fixture(scope="module")
def proposals_pdf(store, tmp_path_factory):
    need_libreoffice()
    out = tmp_path_factory.mktemp("dx") / "de-nghi.xlsx"
    assert main(["proposals", "export", "--db", str(store), "--out", str(out), "--pdf"]) == 0
    return out.with_suffix(".pdf")


def pages_of(pdf) -> list[str]:
    """Each page's text (pdftotext -f N -l N), the page-number footer removed."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    texts = []
    for i in range(1, n + 1):
        text = subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        texts.append("\n".join(line for line in text.splitlines() if line.strip() and not FOOTER.match(line)))
    return texts


def has_content(page: str) -> bool:
    """A table row (it starts with its number), a chart's axis figures, or a section's «nothing» note."""
    return any(re.match(r"\s*\d", line) for line in page.splitlines()) or "Không có" in page or "Tất cả" in page


def check_document(pdf, plan) -> list[str]:
    pages = pages_of(pdf)
    whole = "\n".join(pages)
    signer = plan.office_on().signer_name
    # one document: the header, the «Nơi nhận» block and the signature once, the header at the top
    assert whole.count(NATION) == 1 and NATION in pages[0]
    assert whole.count("Nơi nhận") == 1 and whole.count(signer) == 1 and signer in pages[-1]
    # every header line whole (its two blocks side by side on one line, nothing cut)
    for line in (plan.office_on().issuer_parent, plan.office_on().issuer, NATION, MOTTO):
        assert line in pages[0], line
    for recipient in ("Ban Thường vụ CĐVC tỉnh;", "Các CĐCS trực thuộc;", "Lưu: VT."):
        assert recipient in pages[-1]
    for i, page in enumerate(pages, start=1):
        assert has_content(page), f"page {i} holds no table row, chart or note:\n{page}"
    return pages


def test_year_summary_is_one_document(year_pdf, plan):
    pages = check_document(year_pdf, plan)
    whole = "\n".join(pages)
    # each section starts a page with its caption
    captions = re.findall(r"^\s*Biểu (\d+[a-z]?)\.", whole, re.M)
    confirm = ["1c"] if "1c" in captions else []      # units that answered «Có» then «Không», when there are any
    assert captions == ["1", "1b", *confirm, "2", "3", "3b", "3c", "4", "4b", "5", "5b", "6", "6b", "7"]
    for page in pages:
        found = re.findall(r"^\s*(Biểu \d+[a-z]?\.)", page, re.M)
        if found:
            first = next(line for line in page.splitlines() if line.strip())
            assert found[0] in first or NATION in first, first


def test_year_summary_prints_vietnamese_numbers(year_pdf):
    whole = "\n".join(pages_of(year_pdf))
    assert re.search(r"\b\d{1,3}\.\d{3}\.\d{3}\b", whole)        # money: 137.880.000
    assert re.search(r"\b\d{1,3},\d%", whole)                   # a rate: 88,3%
    assert not re.search(r"\b\d{1,3},\d{3}\b(?!,)", whole.replace("%", " ")), "1,797,000 style"
    assert not re.search(r"\b\d+\.\d%", whole), "85.4% style"


def test_proposal_list_is_one_document(proposals_pdf, plan):
    pages = check_document(proposals_pdf, plan)
    assert len(pages) >= 2      # long enough for the repeated table header to matter


def test_header_split_is_measured(plan):
    """The narrow Biểu 1b: both header blocks get the width their longest line needs."""
    widths = (6, 10, 44, 24, 26)
    mid = header_split(plan, widths, len(widths) - 1)
    points = [column_points(w) for w in widths]
    left, right = sum(points[:mid + 1]), sum(points[mid + 1:])
    assert left >= text_width(plan.office_on().issuer_parent) and left >= text_width(plan.office_on().issuer, bold=True)
    assert right >= text_width(NATION, bold=True) and right >= text_width(MOTTO, bold=True)


@pytest.mark.parametrize("value, text", [(1797000000, "1.797.000.000"), (84.5, "84,5"), (-1234.25, "-1.234,25"),
                                         (2.0, "2"), (0, "0"), (-0.5, "-0,5"), (1e-7, "0")])
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_percent():
    assert format_percent(0.854) == "85,4%"
    assert format_percent(1) == "100,0%" and format_percent(1, 0, keep_zeros=False) == "100%"
    assert format_percent(0.8834) == "88,3%"


def test_metrics_table_matches_the_font():
    """The bundled widths are those of Liberation Serif (Times New Roman's metrics) as installed."""
    from pathlib import Path

    from PIL import ImageFont as pil
    fonts = sorted(Path("/usr/share/fonts").rglob("LiberationSerif-Bold.ttf"))
    if not fonts:
        pytest.fail("Liberation Serif is not installed (Debian: fonts-liberation2)")
    font = pil.truetype(str(fonts[-1]), 1200)
    for text in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Nguyễn Thị Ánh 1.797"):
        assert text_width(text, 12, bold=True) == pytest.approx(font.getlength(text) / 100, rel=0.01)


def overprinted_words(pdf) -> list[tuple[str, str]]:
    """Pairs of words whose printed boxes overlap (text drawn over text), from pdftotext -bbox."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    found = []
    for page in html.split("<page ")[1:]:
        words = [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in
                 re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', page)]
        words.sort(key=lambda w: w[1])
        for i, (x0, y0, x1, y1, w) in enumerate(words):
            for u0, v0, u1, v1, other in words[i + 1:]:
                if v0 >= y1 - 4:
                    break              # sorted by top: nothing further down can overlap this word
                if u0 < x1 - 1 and x0 < u1 - 1 and v0 < y1 - 4 and y0 < v1 - 4:   # lines of one cell touch by ~2 pt
                    found.append((w, other))
    return found


def test_templates_render_without_overprint(plan, tmp_path):
    """LibreOffice prints every wrapped label of every template inside its own row; the activities sheet
    names the contents a unit chooses by number."""
    need_libreoffice()
    from thidua.reports.libreoffice import convert
    from thidua.templates.build import write_blank_templates
    for path in write_blank_templates(plan, tmp_path):
        pdf = convert(path, "pdf", tmp_path / "pdf")
        assert not overprinted_words(pdf), (path.name, overprinted_words(pdf)[:5])
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        if "CÁC HOẠT ĐỘNG, SỰ KIỆN" in text:
            for content in (c for c in plan.contents if c.number >= 1):
                assert f"{content.number}. {content.name[:20]}" in text, content


def test_master_workbook_shows_the_office_vietnamese_values_and_typed_cells(tmp_path):
    import datetime as dt

    import openpyxl

    from thidua.plan.model import read_toml_tables
    from thidua.workbook import layout as L
    from thidua.workbook.build import build_xlsx, default_sources
    tables, register = default_sources()
    path = tmp_path / "wb.xlsx"
    path.write_bytes(build_xlsx(tables, register))
    wb = openpyxl.load_workbook(path)
    assert wb[L.CONF].sheet_state == "hidden"            # technical sheet hidden (xlwings reads it hidden too)
    english = {"registration", "quarter", "review", "adhoc", "year", "individual", "collective", "both",
               "int", "money", "bool", "date", "plan", "config", "info", "activities", "indicators", "selfscore",
               "proposals", "info,indicators"}
    codes = {s.name: {i + 1 for i, c in enumerate(s.columns) if c.kind == "code"}      # code columns hold codes
             for s in (L.META, L.REGISTER, *L.PLAN_SHEETS)}
    for ws in wb.worksheets:
        if ws.title == L.CONF:
            continue
        shown = {str(c.value) for row in ws.iter_rows(min_row=L.FIRST_ROW + 1) for c in row
                 if c.value is not None and c.column not in codes.get(ws.title, ())}
        assert not shown & english, (ws.title, shown & english)
    units = wb[L.REGISTER.name]
    first = [c.value for c in units[L.FIRST_ROW + 1]]
    keys = [c.key for c in L.REGISTER.columns]
    assert isinstance(first[keys.index("staff")], int) and isinstance(first[keys.index("members")], int)
    assert isinstance(first[keys.index("founded")], dt.datetime)
    # the codes stay what the program reads: the workbook's tables read back as the TOML's
    got = L.read_plan_tables(path)
    want = read_toml_tables()
    assert [r["sheets"] for r in got["rounds"]] == [r["sheets"] for r in want["rounds"]]
    for key in ("rounds", "indicators", "forms", "titles"):
        assert [r.get("kind") or r.get("type") or r.get("subject") for r in got[key]] == \
               [r.get("kind") or r.get("type") or r.get("subject") for r in want[key]], key
    assert L.period_code("Cả năm") == "year" and L.period_code(1.0) == "1"


def test_master_workbook_renders_without_overprint(tmp_path):
    need_libreoffice()
    from thidua.reports.libreoffice import convert
    from thidua.workbook.build import build_xlsx, default_sources
    path = tmp_path / "wb.xlsx"
    path.write_bytes(build_xlsx(*default_sources()))
    pdf = convert(path, "pdf", tmp_path)
    assert not overprinted_words(pdf), overprinted_words(pdf)[:5]


def test_paginate_keeps_the_signature_with_rows_when_the_table_ends_at_a_page_end():
    """The case of the old proposals PDF: the table fills its page exactly, so the signature would land alone
    on a new page under a repeated table header. The last rows go with it instead."""
    from thidua.reports.officialdoc import PAGE_SAFETY, paginate, printable_points
    widths = [300.0, 300.0]                           # 600 pt: fits a landscape page at 100 %
    room = printable_points(True)[1] * PAGE_SAFETY
    header, body = 2, int(room // 20) - 3             # title rows, header row, then rows filling the page
    heights = [20.0] * (header + 1 + body)
    signature = [20.0] * 8
    end_of_table = len(heights)
    heights += signature
    glue = set(range(header + 1)) | set(range(end_of_table - 3, len(heights)))
    scale, breaks = paginate(heights, widths, glue, [], header, True)
    assert scale == 100 and breaks
    last_page_first_row = breaks[-1]
    assert last_page_first_row <= end_of_table - 2 < end_of_table       # ≥ 2 table rows before the signature
    assert all(b > header + 1 for b in breaks)                          # the title stays with the table
