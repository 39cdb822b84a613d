"""What a cell shows beyond the value calamine reads: Excel error values and percentage formats (xlsx, xls, ods)."""
from __future__ import annotations

import html
import re
import struct
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
    """Cells of one sheet (0-based row, col) formatted as a percentage, and cells showing an error value.

    `styled`: the file says how its numbers are shown (an .xlsx with its styles part, every .xls, an .ods with
    number styles); without that a bare 1 in a percentage cell may have been 100% (see intake/validate.py)."""

    percent: set[tuple[int, int]] = field(default_factory=set)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    styled: bool = True
    dates: set[tuple[int, int]] = field(default_factory=set)    # .xlsx date cells (t="d": ISO 8601 text)


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


def xlsx_shown(sheet_xml: bytes, percent: frozenset[int], styled: bool = True) -> Shown:
    """Error cells (t="e") and cells styled as a percentage in one worksheet's xml (`styled`: the file has
    a styles part)."""
    shown = Shown(styled=styled)
    start = sheet_xml.find(b"<sheetData")
    end = sheet_xml.find(b"</sheetData>", start) if start >= 0 else -1
    if start < 0:
        start = end = 0                                 # no sheet data
    elif end < 0:
        end = len(sheet_xml) - 1                        # unclosed: up to the last byte, as ever
    if all(sheet_xml.find(w, start, end) < 0 for w in (b't="e"', b't="d"', *(b's="%d"' % i for i in percent))):
        return shown                                    # (looked at in place: no copy of the sheet data)
    body = sheet_xml[start:end]
    for attrs_blob, inner in _XLSX_CELL.findall(body):
        a = _attrs(attrs_blob)
        ref = a.get(b"r")
        if not ref:
            continue
        if a.get(b"t") == b"e":
            v = _V.search(inner or b"")
            shown.errors[_rowcol(ref.decode())] = html.unescape(v.group(1).decode("utf-8")) if v else "#VALUE!"
        elif a.get(b"t") == b"d":
            shown.dates.add(_rowcol(ref.decode()))
        elif a.get(b"s") and int(a[b"s"]) in percent and a.get(b"t", b"n") == b"n":
            shown.percent.add(_rowcol(ref.decode()))
    return shown


_ODS_TABLE = re.compile(rb"<table:table(?=[\s>])([^>]*)>(.*?)</table:table>", re.S)
_ODS_TOKEN = re.compile(rb"<table:table-row\b([^>]*?)(/?)>|<table:(?:covered-)?table-cell\b([^>]*?)"
                        rb"(?:/>|>(.*?)</table:(?:covered-)?table-cell>)", re.S)
_TEXT_P = re.compile(rb"<text:p[^>]*>(.*?)</text:p>", re.S)


_ODS_NUMBER_STYLES = (b"<number:number-style", b"<number:percentage-style", b"<number:currency-style")


def ods_styled(*parts: bytes) -> bool:
    """Whether an .ods says how its numbers are shown: it defines number styles (LibreOffice, Gnumeric). A
    writer that keeps only a date style (SheetJS) leaves a percentage as a bare fraction: 100% is a 1."""
    return any(tag in part for part in parts for tag in _ODS_NUMBER_STYLES)


def ods_shown(content_xml: bytes, styled: bool = True) -> dict[str, Shown]:
    """Sheet name -> error cells (calcext:value-type="error") and percentage cells of an .ods content.xml.
    Sheets without either are absent (`styled` is then the reader's default for the file)."""
    out: dict[str, Shown] = {}
    if b'"percentage"' not in content_xml and b'"error"' not in content_xml:
        return out
    for table_attrs, body in _ODS_TABLE.findall(content_xml):
        name = html.unescape(_attrs(table_attrs).get(b"table:name", b"").decode("utf-8"))
        shown = out.setdefault(name, Shown(styled=styled))
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


# ------------------------------------------------------------------ .xls (BIFF5/7 and BIFF8)
_XF_AT_4 = {0x0203, 0x027E, 0x00FD, 0x0006, 0x0204, 0x0205, 0x0201}   # NUMBER RK LABELSST FORMULA LABEL BOOLERR BLANK
_MULRK = 0x00BD


def biff_records(stream: bytes):
    """(offset, record id, body) of every record of a BIFF Workbook stream, in order."""
    pos = 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        yield pos, kind, stream[pos + 4:pos + 4 + size]
        pos += 4 + size


class XlsShown:
    """The cells of an .xls shown as a percentage, from its FORMAT, XF, BOUNDSHEET and cell records, fed one
    record at a time by the walk over the Workbook stream that also bounds the sheets (intake/safety.py).

    BIFF8 (Excel 97 and later, Apache POI, SheetJS, Gnumeric, LibreOffice) and BIFF5/7 (Excel 5/95, SheetJS
    `biff5`): both keep the format index at offset 2 of an XF record and the XF index at offset 4 of a cell
    record; they differ in how FORMAT and BOUNDSHEET store their strings."""

    def __init__(self) -> None:
        self.biff8 = True
        self.formats: dict[int, str] = {}
        self.xf_formats: list[int] = []
        self.names: dict[int, str] = {}           # stream offset of a sheet's BOF -> its name
        self.sheets: dict[str, Shown] = {}
        self.sheet: str | None = None              # the sheet whose records come now (None: the globals)
        self.current: Shown | None = None
        self._percent_xf: frozenset[int] | None = None

    def _string(self, body: bytes, at: int, wide_len: bool) -> str:
        """A BIFF string at `at`: BIFF8 a length (u16 or u8), option flags and Latin-1 or UTF-16 characters;
        BIFF5 a length byte and bytes (Windows-1252, what a legacy writer uses)."""
        if not self.biff8:
            n = body[at]
            return body[at + 1:at + 1 + n].decode("cp1252", "replace")
        n = struct.unpack_from("<H", body, at)[0] if wide_len else body[at]
        at += 2 if wide_len else 1
        flags = body[at] if at < len(body) else 0
        at += 1 + (2 if flags & 0x08 else 0) + (4 if flags & 0x04 else 0)      # rich text runs, phonetic size
        raw = body[at:at + (2 * n if flags & 1 else n)]
        return raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")

    def feed(self, pos: int, kind: int, body: bytes) -> None:
        try:
            self._feed(pos, kind, body)
        except (struct.error, IndexError):       # a damaged record says nothing about formats
            pass

    def _feed(self, pos: int, kind: int, body: bytes) -> None:
        if kind == 0x0809 and len(body) >= 4:                                       # BOF
            version, what = struct.unpack_from("<HH", body, 0)
            if what == 0x0005:
                self.biff8 = version >= 0x0600
            self.sheet = self.names.get(pos)
            self.current = self.sheets.setdefault(self.sheet, Shown()) if self.sheet is not None else None
        elif kind == 0x041E and len(body) >= 3:                                     # FORMAT
            self.formats[struct.unpack_from("<H", body, 0)[0]] = self._string(body, 2, True)
        elif kind == 0x00E0 and len(body) >= 4:                                     # XF
            self.xf_formats.append(struct.unpack_from("<H", body, 2)[0])
        elif kind == 0x0085 and len(body) >= 7:                                     # BOUNDSHEET
            self.names[struct.unpack_from("<I", body, 0)[0]] = self._string(body, 6, False)
        elif self.current is not None and len(body) >= 6 and (kind in _XF_AT_4 or kind == _MULRK):
            r, c = struct.unpack_from("<HH", body, 0)
            if kind == _MULRK:
                xfs = [struct.unpack_from("<H", body, 4 + 6 * k)[0] for k in range((len(body) - 6) // 6)]
            else:
                xfs = [struct.unpack_from("<H", body, 4)[0]]
            percent = self.percent_xf()
            for k, xf in enumerate(xfs):
                if xf in percent:
                    self.current.percent.add((r, c + k))

    def percent_xf(self) -> frozenset[int]:
        if self._percent_xf is None:
            self._percent_xf = frozenset(
                i for i, fmt in enumerate(self.xf_formats)
                if (fmt in self.formats and _is_percent_code(self.formats[fmt]))
                or (fmt not in self.formats and fmt in _PERCENT_BUILTIN))
        return self._percent_xf
