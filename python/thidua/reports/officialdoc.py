"""The official document layout for print-ready workbooks: two-column header, title, Nơi nhận, signature."""
from __future__ import annotations

import datetime as dt
import math
from typing import Sequence

from thidua.plan.model import Plan
from thidua.text.width import column_points, text_width

FONT = "Times New Roman"
DEFAULT_FONT = "Times New Roman 12"   # the workbook default font of print-ready books (the column-width unit)
A4_PT = (595.3, 841.9)                # portrait width, height
MARGINS_IN = {"left": 0.5, "right": 0.4, "top": 0.6, "bottom": 0.6}
PAGE_SAFETY = 0.93                    # share of the printable height a page is filled to (footer, rounding)
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DEFAULT_RECIPIENTS = ("Ban Thường vụ CĐVC tỉnh;", "Ban CS-PL;", "Các CĐCS trực thuộc;", "Lưu: VT.")


def official_formats(wb) -> dict:
    """Formats shared by every print-ready workbook (XlsxWriter workbook `wb`)."""
    base = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}
    cell = dict(base, border=1, text_wrap=True)
    return {
        # shrink: a header line is never cut, even where the columns are too narrow for it
        "org": wb.add_format(dict(base, align="center", shrink=True)),
        "org_bold": wb.add_format(dict(base, align="center", bold=True, shrink=True)),
        "motto": wb.add_format(dict(base, align="center", bold=True, underline=1, shrink=True)),
        "place": wb.add_format(dict(base, align="center", italic=True, shrink=True)),
        "title": wb.add_format(dict(base, align="center", bold=True, font_size=14, text_wrap=True)),
        "subtitle": wb.add_format(dict(base, align="center", italic=True, text_wrap=True)),
        "header": wb.add_format(dict(cell, bold=True, align="center", bg_color="#D9E1F2")),
        "text": wb.add_format(dict(cell, valign="top")),
        "center": wb.add_format(dict(cell, align="center")),
        "int": wb.add_format(dict(cell, num_format="#,##0")),
        "decimal": wb.add_format(dict(cell, num_format="#,##0.0#")),
        "pct": wb.add_format(dict(cell, num_format="0.0%")),
        "date": wb.add_format(dict(cell, num_format="dd/mm/yyyy", align="center")),
        "datetime": wb.add_format(dict(cell, num_format="dd/mm/yyyy hh:mm", align="center")),
        "subtotal": wb.add_format(dict(cell, bold=True, bg_color="#F2F2F2", num_format="#,##0")),
        "total": wb.add_format(dict(cell, bold=True, bg_color="#E2EFDA", num_format="#,##0")),
        "note": wb.add_format(dict(base, italic=True, text_wrap=True, valign="top")),
        "recipients_head": wb.add_format(dict(base, bold=True, italic=True, font_size=11)),
        "recipients": wb.add_format(dict(base, font_size=11)),
        "sign": wb.add_format(dict(base, align="center", bold=True, text_wrap=True)),
        "sign_name": wb.add_format(dict(base, align="center", bold=True)),
    }


def vn_date_line(plan: Plan, when: dt.date | None = None, office_day: dt.date | None = None) -> str:
    """`Quảng Nam, ngày 18 tháng 01 năm 2019` (blank day/month when `when` is None, to be filled by hand); the
    place is the office's in force on `when` (else `office_day`, else the end of the plan's year)."""
    place = plan.office_on(when or office_day).place
    if when is None:
        return f"{place}, ngày      tháng      năm {plan.year}"
    return f"{place}, ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"


def _span(ws, row: int, first: int, last: int, text: str, fmt) -> None:
    if last > first:
        ws.merge_range(row, first, row, last, text, fmt)
    else:
        ws.write_string(row, first, text, fmt)


def split_columns(widths: Sequence[float], left: Sequence[tuple[str, float, bool, bool]],
                  right: Sequence[tuple[str, float, bool, bool]], default_font: str = DEFAULT_FONT) -> int:
    """The last column of the left block so that both blocks hold their widest line (text, size, bold,
    italic), measured in points; the most balanced such split, else the least cut one."""
    points = [column_points(w, default_font) for w in widths]
    need_l = max(text_width(t, size, b, i) for t, size, b, i in left) + 8
    need_r = max(text_width(t, size, b, i) for t, size, b, i in right) + 8
    best, best_key = 0, None
    for mid in range(0, len(points) - 1):
        have_l, have_r = sum(points[:mid + 1]), sum(points[mid + 1:])
        fits = have_l >= need_l and have_r >= need_r
        key = (fits, min(have_l - need_l, have_r - need_r) if fits else min(have_l / need_l, have_r / need_r))
        if best_key is None or key > best_key:
            best, best_key = mid, key
    return best


def header_split(plan: Plan, widths: Sequence[float] | None, last_col: int, number: str = "",
                 when: dt.date | None = None, default_font: str = DEFAULT_FONT, office_day: dt.date | None = None) -> int:
    """The last column of the header's left block (issuer), measured when the widths are known."""
    if not widths:
        return max(1, (last_col + 1) // 2 - 1)
    office = plan.office_on(when or office_day)
    left = [(office.issuer_parent, 12, False, False), (office.issuer, 12, True, False),
            (number_line(number), 12, False, False)]
    right = [(NATION, 12, True, False), (MOTTO, 12, True, False), (vn_date_line(plan, when, office_day), 12, False, True)]
    return split_columns(widths[:last_col + 1], left, right, default_font)


def number_line(number: str = "") -> str:
    return f"Số: {number}" if number else "Số:        /BC-CĐN"


def write_header(ws, fmt: dict, plan: Plan, last_col: int, title: str, subtitle: str = "",
                 number: str = "", when: dt.date | None = None, widths: Sequence[float] | None = None,
                 default_font: str = DEFAULT_FONT, office_day: dt.date | None = None) -> int:
    """Write the two-column header and the title from row 0; return the first free row. With the
    columns' `widths` the two blocks are split where both fit whole (measured, not counted). The names are the
    office's in force on `when` (else `office_day`, else the end of the plan's year: plan/dated.py)."""
    mid = header_split(plan, widths, last_col, number, when, default_font, office_day)
    right = mid + 1
    office = plan.office_on(when or office_day)
    _span(ws, 0, 0, mid, office.issuer_parent, fmt["org"])
    _span(ws, 0, right, last_col, NATION, fmt["org_bold"])
    _span(ws, 1, 0, mid, office.issuer, fmt["org_bold"])
    _span(ws, 1, right, last_col, MOTTO, fmt["motto"])
    _span(ws, 2, 0, mid, number_line(number), fmt["org"])
    _span(ws, 2, right, last_col, vn_date_line(plan, when, office_day), fmt["place"])
    ws.set_row(4, 36)
    _span(ws, 4, 0, last_col, title, fmt["title"])
    row = 5
    if subtitle:
        _span(ws, row, 0, last_col, subtitle, fmt["subtitle"])
        row += 1
    return row + 1


def write_signature(ws, fmt: dict, plan: Plan, row: int, last_col: int,
                    recipients: tuple[str, ...] = DEFAULT_RECIPIENTS, widths: Sequence[float] | None = None,
                    default_font: str = DEFAULT_FONT, office_day: dt.date | None = None) -> int:
    """Write «Nơi nhận» (left) and the signature block (right) from `row`; return the next free row.
    Each recipient line spans the left block, whose width is measured when the columns' `widths` are known.
    The signer is the office's in force on `office_day` (default: the end of the plan's year)."""
    office = plan.office_on(office_day)
    signer = office.signer_title.split("\n")
    if widths:
        mid = split_columns(widths[:last_col + 1], [("Nơi nhận:", 11, True, True)] +
                            [(f"- {line}", 11, False, False) for line in recipients],
                            [(line, 12, True, False) for line in signer] +
                            [(office.signer_name, 12, True, False)], default_font)
    else:
        mid = max(1, (last_col + 1) // 2 - 1)
    right = mid + 1
    row += 1
    _span(ws, row, 0, mid, "Nơi nhận:", fmt["recipients_head"])
    for i, line in enumerate(recipients):
        _span(ws, row + 1 + i, 0, mid, f"- {line}", fmt["recipients"])
    for i, line in enumerate(signer):
        _span(ws, row + i, right, last_col, line, fmt["sign"])
    name_row = row + len(signer) + 4
    _span(ws, name_row, right, last_col, office.signer_name, fmt["sign_name"])
    return max(name_row, row + len(recipients)) + 2


def page_setup(ws, last_row: int, last_col: int, header_row: int | None, landscape: bool = True,
               scale: int | None = None) -> None:
    """A4, margins, page numbers, print area, repeated header row; `scale` (percent) when the page breaks
    are placed by `paginate` (Excel ignores manual breaks under «fit to page»), else fit to the page width."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    ws.set_margins(**MARGINS_IN)
    ws.center_horizontally()
    ws.set_footer(f"&C&\"{FONT}\"&10Trang &P/&N")
    ws.print_area(0, 0, last_row, last_col)
    if header_row is not None:
        ws.repeat_rows(header_row)
    if scale is None:
        ws.fit_to_pages(1, 0)
    else:
        ws.set_print_scale(scale)


def printable_points(landscape: bool) -> tuple[float, float]:
    """(width, height) in points inside the margins of an A4 page."""
    w, h = A4_PT[::-1] if landscape else A4_PT
    return (w - 72 * (MARGINS_IN["left"] + MARGINS_IN["right"]),
            h - 72 * (MARGINS_IN["top"] + MARGINS_IN["bottom"]))


def paginate(heights: Sequence[float], col_points: Sequence[float], glue: set[int], forced: Sequence[int],
             header_row: int | None, landscape: bool) -> tuple[int, list[int]]:
    """(print scale in percent, rows that start a new page) for rows of `heights` points.

    The scale fits the columns to the page width. A row in `glue` stays on the page of the row after it
    (headings with their table, a chart's rows, the last rows with the signature); `forced` rows start a
    page; the repeated `header_row` takes its height on every later page."""
    page_w, page_h = printable_points(landscape)
    scale = max(10, min(100, math.floor(100 * page_w / max(1.0, sum(col_points)))))   # Excel's range: 10-400
    room = page_h * PAGE_SAFETY * 100 / scale
    repeat = heights[header_row] if header_row is not None and header_row < len(heights) else 0.0
    breaks: list[int] = []
    start, used = 0, 0.0
    forced_set = set(forced)
    r = 0
    while r < len(heights):
        if r in forced_set and r > start:
            breaks.append(r)
            start, used = r, repeat if header_row is not None and r > header_row else 0.0
        if used + heights[r] > room and r > start:
            cut = r                      # move back to a row that may begin a page
            while cut - 1 > start and (cut - 1) in glue:
                cut -= 1
            if cut - 1 <= start and (cut - 1) in glue:
                cut = r                  # a block taller than a page: cut where it overflows
            breaks.append(cut)
            start = cut
            used = repeat if header_row is not None and cut > header_row + 1 else 0.0
            r = cut
        used += heights[r]
        r += 1
    return scale, breaks
