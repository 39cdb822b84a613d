"""A .xls/.ods submission rebuilt as an .xlsx from the values read: same sheets, same cells, no LibreOffice."""
from __future__ import annotations

import datetime as dt
import html
import io
import math
import re

from thidua.intake.safety import Book, filled, open_book

# Filled cells above which the copy is not rebuilt: a filled template has ~500, the most a real template
# holds (both tables at the reader's 2,000 rows, every text at its longest) 42,379, and its feedback peaks
# at ~150 MB (bench/run.py --memory --files 'largest_real.*').
COPY_LIMIT = 60_000
DATE, DATETIME, PERCENT = "DD/MM/YYYY", "DD/MM/YYYY HH:MM", "0%"
MIN_WIDTH, MAX_WIDTH = 6, 60
LINE_HEIGHT, MAX_LINES = 15, 12          # points per line of wrapped text; the tallest row, in lines


def filled_cells(book: Book) -> int:
    """How many cells of the whole book hold a value."""
    return sum(1 for name in book.names for row in book.grid(name).rows for v in row if v != "")


def rebuild(data: bytes, fmt: str, base: str):
    """(an openpyxl Workbook with every sheet of the file, in order, each value at its own address, hidden
    sheets hidden, merged ranges merged, or None when it holds over COPY_LIMIT filled cells; that count).

    Formulas are not kept: a cell shows the value the unit's program saved for it."""
    import openpyxl
    book = open_book(data, fmt, base)
    count = filled_cells(book)
    if count > COPY_LIMIT:
        return None, count
    from openpyxl.utils import get_column_letter
    try:
        looks = {"xls": _xls_looks, "ods": _ods_looks}[fmt](data)
    except Exception:       # widths and % formats only: without them the values are still copied
        looks = {}
    from openpyxl.styles import Alignment
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in book.names:
        ws = wb.create_sheet(name)
        grid = book.grid(name)
        widths, percent = looks.get(name, ({}, set()))
        percent = percent | set(grid.shown.percent)
        n_cols = max((len(cells) for cells in grid.rows), default=0)
        widths = {c: w for c, w in widths.items() if c < n_cols} or _widths(grid.rows)
        for c, width in widths.items():
            ws.column_dimensions[get_column_letter(c + 1)].width = round(width, 2)
        for r, cells in enumerate(grid.rows, start=1):
            lines = 1
            for c, value in enumerate(cells, start=1):
                if value != "" and value is not None:
                    cell = ws.cell(r, c)
                    _put(cell, value, (r - 1, c - 1) in percent)
                    # a text wider than its column, with a value on its right, would be cut off: wrap it,
                    # and make the row tall enough (programs do not all fit the height when opening)
                    width = widths.get(c - 1, 8.43)
                    if isinstance(value, str) and c < len(cells) and filled(cells[c]) and len(value) > width:
                        cell.alignment = wrap
                        lines = max(lines, min(MAX_LINES, math.ceil(len(value) * 1.1 / max(width - 1, 1))))
            if lines > 1:
                ws.row_dimensions[r].height = LINE_HEIGHT * lines
        for r0, c0, r1, c1 in grid.merged:
            if (r1, c1) != (r0, c0):
                ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
        ws.page_setup.orientation = "landscape"          # printed: every column across the page
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        if name in book.hidden:
            ws.sheet_state = "hidden"
    return wb, count


def _put(cell, value: object, percent: bool) -> None:
    """Store `value` as the unit's program showed it: text always as text (never read as a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, dt.datetime):
        cell.number_format = DATETIME
    elif isinstance(value, dt.date):
        cell.number_format = DATE
    elif percent:
        cell.number_format = PERCENT


def _xls_looks(data: bytes) -> dict[str, tuple[dict[int, float], set]]:
    """Per sheet: the column widths (characters, COLINFO records of the BIFF stream; memory: the stream, never a
    cell table). The percentage cells come from the reader (Grid.shown, the same walk as its size checks)."""
    import struct
    import olefile
    from thidua.intake.shown import XlsShown, biff_records
    with olefile.OleFileIO(data) as ole:
        stream = ole.openstream(next(n for n in ("Workbook", "Book") if ole.exists(n))).read()
    sheets = XlsShown()                     # knows which sheet the records belong to
    out: dict[str, tuple[dict[int, float], set]] = {}
    for pos, kind, body in biff_records(stream):
        sheets.feed(pos, kind, body)
        if sheets.sheet is not None and kind == 0x007D and len(body) >= 6:     # COLINFO
            first, last, width = struct.unpack_from("<HHH", body, 0)
            widths = out.setdefault(sheets.sheet, ({}, set()))[0]
            for c in range(first, min(last, 1023) + 1):
                widths[c] = width / 256
    return out


_ODS_PART = re.compile(rb'<table:table (?=[^>]*table:name="([^"]*)")|<table:table-column(?=[\s/>])([^>]*)>'
                       rb'|<style:style (?=[^>]*style:family="table-column")[^>]*style:name="([^"]*)"[^>]*>\s*'
                       rb'<style:table-column-properties[^>]*style:column-width="([\d.]+)(in|cm|mm|pt)"')
_CHARS_PER = {b"in": 10.25, b"cm": 10.25 / 2.54, b"mm": 10.25 / 25.4, b"pt": 10.25 / 72}
_ATTR = re.compile(rb'([\w:-]+)="([^"]*)"')


def _ods_looks(data: bytes) -> dict[str, tuple[dict[int, float], set]]:
    """Per table: the column widths (characters) from the column styles of content.xml; the percentage
    cells come from the reader (Grid.shown)."""
    import zipfile
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        xml = zf.read("content.xml")
    styles, out, table, col = {}, {}, None, 0
    for m in _ODS_PART.finditer(xml):
        if m.group(3) is not None:
            styles[m.group(3)] = float(m.group(4)) * _CHARS_PER[m.group(5)]
        elif m.group(1) is not None:
            table, col = html.unescape(m.group(1).decode("utf-8")), 0
            out[table] = ({}, set())
        elif table is not None:
            attrs = dict(_ATTR.findall(m.group(2)))
            repeat = min(int(attrs.get(b"table:number-columns-repeated", b"1")), 1024)
            width = styles.get(attrs.get(b"table:style-name"))
            for k in range(repeat):
                if width:
                    out[table][0][col + k] = width
            col += repeat
    return out


def _widths(rows: list) -> dict[int, float]:
    """Column widths from the texts shown in each column, leaving out rows with a single value (titles and
    notes that run across the sheet): for a file that names none."""
    longest: dict[int, int] = {}
    for cells in rows:
        shown = [(c, v) for c, v in enumerate(cells) if filled(v)]
        if len(shown) < 2:
            continue
        for c, v in shown:
            n = len(DATE) if isinstance(v, dt.date) else max(len(line) for line in str(v).split("\n"))
            longest[c] = max(longest.get(c, 0), n)
    return {c: float(min(MAX_WIDTH, max(MIN_WIDTH, n + 2))) for c, n in longest.items()}
