"""What a cell shows beyond the value calamine reads: Excel error values and percentage formats (xlsx, ods)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

# Excel's error values and what they mean, for the message (the same texts in LibreOffice).
ERROR_VALUES = {
    "#DIV/0!": "chia cho 0", "#VALUE!": "sai kiểu dữ liệu trong công thức", "#REF!": "tham chiếu tới ô đã bị xóa",
    "#N/A": "không tìm thấy giá trị", "#NAME?": "tên hàm hoặc tên vùng sai", "#NUM!": "số không hợp lệ",
    "#NULL!": "hai vùng không giao nhau", "#SPILL!": "kết quả tràn ra ô khác", "#CALC!": "lỗi tính toán",
    "#GETTING_DATA": "đang lấy dữ liệu",
}
_ATTR = re.compile(rb'([\w:.-]+)="([^"]*)"')
_XLSX_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_V = re.compile(rb"<v>(.*?)</v>", re.S)
_REF = re.compile(r"([A-Z]+)(\d+)$")
_CELL_XFS = re.compile(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", re.S)
_XF = re.compile(rb"<xf\b([^>]*?)/?>")
_NUMFMT = re.compile(rb"<numFmt\b([^>]*?)/?>")
_PERCENT_BUILTIN = {9, 10}                       # 0% and 0.00%


@dataclass
class Shown:
    """Cells of one sheet (0-based row, col) formatted as a percentage, and cells showing an error value."""

    percent: set[tuple[int, int]] = field(default_factory=set)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)


def _attrs(blob: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(blob))


def _is_percent_code(code: str) -> bool:
    """A number format code that shows a percentage: a % outside quotes and not escaped."""
    code = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code)
    return "%" in code


def percent_styles(styles_xml: bytes) -> frozenset[int]:
    """The cell style indexes (the `s` of a cell) whose number format shows a percentage."""
    custom = {}
    for blob in _NUMFMT.findall(styles_xml):
        a = _attrs(blob)
        if b"numFmtId" in a:
            custom[int(a[b"numFmtId"])] = html.unescape(a.get(b"formatCode", b"").decode("utf-8"))
    m = _CELL_XFS.search(styles_xml)
    out = set()
    for i, blob in enumerate(_XF.findall(m.group(1)) if m else []):
        fmt = int(_attrs(blob).get(b"numFmtId", b"0"))
        if fmt in _PERCENT_BUILTIN or (fmt in custom and _is_percent_code(custom[fmt])):
            out.add(i)
    return frozenset(out)


def _rowcol(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def xlsx_shown(sheet_xml: bytes, percent: frozenset[int]) -> Shown:
    """Error cells (t="e") and cells styled as a percentage in one worksheet's xml."""
    shown = Shown()
    start = sheet_xml.find(b"<sheetData")
    body = sheet_xml[start:sheet_xml.find(b"</sheetData>", start)] if start >= 0 else b""
    wanted = [b's="%d"' % i for i in percent]
    if b't="e"' not in body and not any(w in body for w in wanted):
        return shown
    for attrs_blob, inner in _XLSX_CELL.findall(body):
        a = _attrs(attrs_blob)
        ref = a.get(b"r")
        if not ref:
            continue
        if a.get(b"t") == b"e":
            v = _V.search(inner or b"")
            shown.errors[_rowcol(ref.decode())] = html.unescape(v.group(1).decode("utf-8")) if v else "#VALUE!"
        elif a.get(b"s") and int(a[b"s"]) in percent and a.get(b"t", b"n") == b"n":
            shown.percent.add(_rowcol(ref.decode()))
    return shown


_ODS_TABLE = re.compile(rb"<table:table(?=[\s>])([^>]*)>(.*?)</table:table>", re.S)
_ODS_TOKEN = re.compile(rb"<table:table-row\b([^>]*?)(/?)>|<table:(?:covered-)?table-cell\b([^>]*?)"
                        rb"(?:/>|>(.*?)</table:(?:covered-)?table-cell>)", re.S)
_TEXT_P = re.compile(rb"<text:p[^>]*>(.*?)</text:p>", re.S)


def ods_shown(content_xml: bytes) -> dict[str, Shown]:
    """Sheet name -> error cells (calcext:value-type="error") and percentage cells of an .ods content.xml."""
    out: dict[str, Shown] = {}
    if b'"percentage"' not in content_xml and b'"error"' not in content_xml:
        return out
    for table_attrs, body in _ODS_TABLE.findall(content_xml):
        name = html.unescape(_attrs(table_attrs).get(b"table:name", b"").decode("utf-8"))
        shown = out.setdefault(name, Shown())
        row, col, row_repeat = -1, 0, 1
        for m in _ODS_TOKEN.finditer(body):
            if m.group(0).startswith(b"<table:table-row"):
                row += row_repeat
                row_repeat = int(_attrs(m.group(1)).get(b"table:number-rows-repeated", b"1"))
                col = 0
                continue
            a = _attrs(m.group(3))
            repeat = int(a.get(b"table:number-columns-repeated", b"1"))
            kind = a.get(b"calcext:value-type") or a.get(b"office:value-type")
            if kind == b"error":
                p = _TEXT_P.search(m.group(4) or b"")
                text = html.unescape(re.sub(rb"<[^>]+>", b"", p.group(1)).decode("utf-8")) if p else "#VALUE!"
                for c in range(col, col + min(repeat, 1024)):
                    shown.errors[(row, c)] = text
            elif a.get(b"office:value-type") == b"percentage":
                for c in range(col, col + min(repeat, 1024)):
                    shown.percent.add((row, c))
            col += repeat
    return out
