"""The official document layout for print-ready workbooks: two-column header, title, Nơi nhận, signature."""
from __future__ import annotations

import datetime as dt

from thidua.plan.model import Plan

FONT = "Times New Roman"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DEFAULT_RECIPIENTS = ("Ban Thường vụ CĐVC tỉnh;", "Ban CS-PL;", "Các CĐCS trực thuộc;", "Lưu: VT.")


def official_formats(wb) -> dict:
    """Formats shared by every print-ready workbook (XlsxWriter workbook `wb`)."""
    base = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}
    cell = dict(base, border=1, text_wrap=True)
    return {
        "org": wb.add_format(dict(base, align="center")),
        "org_bold": wb.add_format(dict(base, align="center", bold=True)),
        "motto": wb.add_format(dict(base, align="center", bold=True, underline=1)),
        "place": wb.add_format(dict(base, align="center", italic=True)),
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


def vn_date_line(plan: Plan, when: dt.date | None = None) -> str:
    """`Quảng Nam, ngày 18 tháng 01 năm 2019` (blank day/month when `when` is None, to be filled by hand)."""
    place = plan.meta.get("place", "")
    if when is None:
        return f"{place}, ngày      tháng      năm {plan.year}"
    return f"{place}, ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"


def _span(ws, row: int, first: int, last: int, text: str, fmt) -> None:
    if last > first:
        ws.merge_range(row, first, row, last, text, fmt)
    else:
        ws.write_string(row, first, text, fmt)


def write_header(ws, fmt: dict, plan: Plan, last_col: int, title: str, subtitle: str = "",
                 number: str = "", when: dt.date | None = None) -> int:
    """Write the two-column header and the title from row 0; return the first free row."""
    mid = max(1, (last_col + 1) // 2 - 1)
    right = mid + 1
    _span(ws, 0, 0, mid, plan.meta.get("issuer_parent", ""), fmt["org"])
    _span(ws, 0, right, last_col, NATION, fmt["org_bold"])
    _span(ws, 1, 0, mid, plan.meta.get("issuer", ""), fmt["org_bold"])
    _span(ws, 1, right, last_col, MOTTO, fmt["motto"])
    _span(ws, 2, 0, mid, f"Số: {number}" if number else "Số:        /BC-CĐN", fmt["org"])
    _span(ws, 2, right, last_col, vn_date_line(plan, when), fmt["place"])
    ws.set_row(4, 36)
    _span(ws, 4, 0, last_col, title, fmt["title"])
    row = 5
    if subtitle:
        _span(ws, row, 0, last_col, subtitle, fmt["subtitle"])
        row += 1
    return row + 1


def write_signature(ws, fmt: dict, plan: Plan, row: int, last_col: int,
                    recipients: tuple[str, ...] = DEFAULT_RECIPIENTS) -> int:
    """Write «Nơi nhận» (left) and the signature block (right) from `row`; return the next free row."""
    mid = max(1, (last_col + 1) // 2 - 1)
    right = mid + 1
    row += 1
    ws.write_string(row, 0, "Nơi nhận:", fmt["recipients_head"])
    for i, line in enumerate(recipients):
        ws.write_string(row + 1 + i, 0, f"- {line}", fmt["recipients"])
    signer = str(plan.meta.get("signer_title", "")).split("\n")
    for i, line in enumerate(signer):
        _span(ws, row + i, right, last_col, line, fmt["sign"])
    name_row = row + len(signer) + 4
    _span(ws, name_row, right, last_col, plan.meta.get("signer_name", ""), fmt["sign_name"])
    return max(name_row, row + len(recipients)) + 2


def page_setup(ws, last_row: int, last_col: int, header_row: int | None, landscape: bool = True) -> None:
    """A4, margins, page numbers, print area, repeated header row, fit to the page width."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer(f"&C&\"{FONT}\"&10Trang &P/&N")
    ws.print_area(0, 0, last_row, last_col)
    if header_row is not None:
        ws.repeat_rows(header_row)
    ws.fit_to_pages(1, 0)
