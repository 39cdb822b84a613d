"""Open a submitted workbook safely: sniff the real format, refuse hostile files, read cells with calamine."""
from __future__ import annotations

import html
import io
import re
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath

from xlsxwriter.utility import xl_rowcol_to_cell

from thidua.intake.messages import make_issue
from thidua.intake.result import Issue
from thidua.intake.shown import Shown, ods_shown, percent_styles, xlsx_shown

MAX_FILE = 20 * 1024 * 1024          # a filled template is ~100 KB
MAX_UNZIPPED = 100 * 1024 * 1024     # zip bomb guard: total uncompressed size
MAX_RATIO = 200                      # ... and compression ratio of any member over 1 MB
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


class Unreadable(Exception):
    """The file cannot be read; `issue` says why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class Grid:
    """One sheet's values as python-calamine gives them (rows anchored at A1), plus formulas and merges."""

    def __init__(self, rows: list, formulas: dict | None = None, merged: list | None = None,
                 knows_formulas: bool = False, shown: Shown | None = None) -> None:
        self.rows = rows
        self.formulas: dict[tuple[int, int], str] = formulas or {}
        self.merged: list[tuple[int, int, int, int]] = merged or []     # r0, c0, r1, c1
        self.knows_formulas = knows_formulas      # True when `formulas` lists every formula (.xlsx)
        self.shown = shown or Shown()             # error values and %-formatted cells (.xlsx, .ods)

    def get(self, row: int, col: int) -> object:
        if 0 <= row < len(self.rows) and col >= 0:
            cells = self.rows[row]
            if col < len(cells):
                return cells[col]
        return ""

    def keys(self) -> list[tuple[int, int]]:
        return [(r, c) for r, cells in enumerate(self.rows) for c, v in enumerate(cells) if v != ""]

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def rows_with_data(self, cols: set[int], first: int) -> list[int]:
        """The rows from `first` on holding a value in any of `cols`, in order."""
        out = []
        for r in range(max(first, 0), len(self.rows)):
            cells = self.rows[r]
            for c in cols:
                if c < len(cells) and cells[c] != "" and filled(cells[c]):
                    out.append(r)
                    break
        return out


def filled(value: object) -> bool:
    """A value that counts as typed in: not None, not empty, not only spaces."""
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


@dataclass
class Book:
    """A workbook opened for reading: sheet names, visibility, and a grid per sheet on demand."""

    format: str
    names: list[str]
    hidden: set[str]
    loader: object
    external_links: int = 0
    macros: bool = False
    _grids: dict[str, Grid] = field(default_factory=dict)

    def grid(self, name: str) -> Grid:
        if name not in self._grids:
            self._grids[name] = self.loader(name)
        return self._grids[name]


# ------------------------------------------------------------------ sniffing
def is_lock_file(name: str) -> bool:
    base = PurePath(name).name
    return base.startswith("~$") or base.startswith(".~lock.")


def sniff(data: bytes, name: str) -> tuple[str, list[Issue]]:
    """The real format ("xlsx", "xls", "ods") and warnings; raise Unreadable with the reason."""
    base = PurePath(name).name
    ext = PurePath(name).suffix.lower() or "(không có đuôi)"
    if is_lock_file(name):
        raise Unreadable(make_issue("F007", file=base))
    if not data:
        raise Unreadable(make_issue("F001", file=base))
    if len(data) > MAX_FILE:
        raise Unreadable(make_issue("F010", file=base, detail=f"{len(data) // (1024 * 1024)} MB"))
    issues: list[Issue] = []
    if data[:4] == b"PK\x03\x04":
        fmt = _sniff_zip(data, base)
    elif data[:8] == OLE_MAGIC:
        fmt = _sniff_ole(data, base)
    else:
        head = data[:2048]
        if not head.startswith(b"%PDF") and _looks_like_csv(head):
            raise Unreadable(make_issue("F003", file=base, ext=ext))
        kind = "HTML" if b"<html" in head.lower() else "PDF" if head.startswith(b"%PDF") else "định dạng không rõ"
        raise Unreadable(make_issue("F011", file=base, detail=kind))
    expected = {"xlsx": (".xlsx", ".xlsm"), "xls": (".xls",), "ods": (".ods",)}[fmt]
    if ext not in expected:
        issues.append(make_issue("F004", file=base, actual="." + fmt, ext=ext))
    return fmt, issues


def _looks_like_csv(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("cp1258", errors="replace")
    printable = sum(c.isprintable() or c in "\r\n\t" for c in text) / max(len(text), 1)
    return printable > 0.95 and ("\n" in text or "," in text or ";" in text) and not text.lstrip().startswith("<")


_LAST_ZIP = threading.local()   # per thread: sniffing and then reading the same bytes open the zip once


def _zip(data: bytes) -> zipfile.ZipFile:
    if getattr(_LAST_ZIP, "data", None) is not data:
        _LAST_ZIP.zf = zipfile.ZipFile(io.BytesIO(data))
        _LAST_ZIP.data = data
    return _LAST_ZIP.zf


def _sniff_zip(data: bytes, base: str) -> str:
    try:
        zf = _zip(data)
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise Unreadable(make_issue("F002", file=base, detail=str(exc) or "zip hỏng")) from None
    total = sum(i.file_size for i in infos)
    bomb = [i for i in infos if i.file_size > 1 << 20 and i.file_size > MAX_RATIO * max(i.compress_size, 1)]
    if total > MAX_UNZIPPED or bomb:
        raise Unreadable(make_issue("F008", file=base, detail=f"{total // (1024 * 1024)} MB"))
    names = {i.filename for i in infos}
    if "mimetype" in names:
        if zf.read("mimetype").strip() == ODS_MIME:
            return "ods"
        raise Unreadable(make_issue("F011", file=base, detail="tài liệu OpenDocument không phải bảng tính"))
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        if "xl/workbook.bin" in names:
            raise Unreadable(make_issue("F011", file=base, detail="sổ Excel nhị phân .xlsb"))
        return "xlsx"
    if "word/document.xml" in names:
        raise Unreadable(make_issue("F011", file=base, detail="văn bản Word"))
    raise Unreadable(make_issue("F002", file=base, detail="thiếu phần sổ làm việc"))


def _sniff_ole(data: bytes, base: str) -> str:
    try:
        import msoffcrypto
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        encrypted = office.is_encrypted()
    except Exception:   # not an Office OLE file msoffcrypto understands: look at the streams
        encrypted = b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00I\x00n\x00f\x00o" in data
    if encrypted:
        raise Unreadable(make_issue("F005", file=base))
    if b"W\x00o\x00r\x00k\x00b\x00o\x00o\x00k" in data or b"B\x00o\x00o\x00k" in data:
        return "xls"
    raise Unreadable(make_issue("F011", file=base, detail="tài liệu Office không phải bảng tính"))


# ------------------------------------------------------------------ opening
def open_book(data: bytes, fmt: str, base: str) -> Book:
    """python-calamine reads the values; for .xlsx the sheet xml adds formulas and merged ranges."""
    from python_calamine import CalamineWorkbook
    zf = _zip(data) if fmt in ("xlsx", "ods") else None
    paths = _sheet_paths(zf, data, base) if fmt == "xlsx" else {}
    percent = _percent_styles(zf, data, base) if fmt == "xlsx" else frozenset()
    ods: dict[str, Shown] = {}
    if fmt == "ods":
        try:
            ods = ods_shown(_safe_xml(_inflate(zf, data, "content.xml"), base))
        except KeyError:
            pass
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(wb.sheet_names)
        hidden = {m.name for m in wb.sheets_metadata if "Visible" != str(m.visible).rsplit(".", 1)[-1]}
    except Exception as exc:  # calamine raises its own error types for damaged files
        raise Unreadable(make_issue("F002", file=base, detail=str(exc)[:120])) from None

    def load(name: str) -> Grid:
        try:
            ws = wb.get_sheet_by_name(name)
            rows = ws.to_python(skip_empty_area=False)
            shown = ods.get(name)
            if name in paths:
                xml = _safe_xml(_inflate(zf, data, paths[name]), base)
                formulas, merged = _formulas_and_merges(xml)
                shown = xlsx_shown(xml, percent)
            else:
                formulas, merged = {}, [(a[0], a[1], b[0], b[1]) for a, b in (ws.merged_cell_ranges or [])]
        except Unreadable:
            raise
        except Exception as exc:
            raise Unreadable(make_issue("F012", file=base, detail=f"trang «{name}»: {str(exc)[:100]}")) from None
        return Grid(rows, formulas, merged, knows_formulas=name in paths, shown=shown)

    members = set(zf.namelist()) if zf else set()
    ext_links = sum(1 for n in members if n.startswith("xl/externalLinks/") and n.endswith(".xml"))
    return Book(fmt, names, hidden, load, external_links=ext_links, macros="xl/vbaProject.bin" in members)


_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_SHEET = re.compile(rb"<sheet\b([^>]*)/?>")
_REL = re.compile(rb"<Relationship\b([^>]*)/?>")
_F = re.compile(rb"<f\b[^>]*?(?:/>|>(.*?)</f>)", re.S)
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_REF = re.compile(rb"([A-Z]+)(\d+)$")
_PATHS: dict[tuple, dict[str, str]] = {}


def _attrs(blob: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(blob))


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


@lru_cache(maxsize=65536)
def a1(row: int, col: int) -> str:
    """The A1 address of a 0-based (row, col), cached (the reader asks for the same cells every file)."""
    return xl_rowcol_to_cell(row, col)


@lru_cache(maxsize=65536)
def _rowcol(ref: bytes) -> tuple[int, int]:
    m = _REF.match(ref)
    return int(m.group(2)) - 1, _col(m.group(1))


def _safe_xml(xml: bytes, base: str) -> bytes:
    """Refuse XML that declares a DOCTYPE or entities (the "billion laughs" bomb)."""
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml[:4096]:
        raise Unreadable(make_issue("F009", file=base, detail="DOCTYPE/ENTITY"))
    return xml


def _sheet_paths(zf: zipfile.ZipFile, data: bytes, base: str) -> dict[str, str]:
    """Sheet name -> worksheet part of an .xlsx; also checks the workbook's xml parts are safe."""
    names = set(zf.namelist())
    try:
        key = tuple(zf.getinfo(n).CRC for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"))
        if "xl/sharedStrings.xml" in names:
            _safe_xml(_inflate(zf, data, "xl/sharedStrings.xml", head=4096), base)
        if key in _PATHS:              # the same parts as a file already read (same template)
            return _PATHS[key]
        workbook = _safe_xml(zf.read("xl/workbook.xml"), base)
        rels = _safe_xml(zf.read("xl/_rels/workbook.xml.rels"), base)
    except KeyError:
        return {}
    except zipfile.BadZipFile as exc:
        raise Unreadable(make_issue("F002", file=base, detail=str(exc))) from None
    targets = {}
    for blob in _REL.findall(rels):
        a = _attrs(blob)
        target = a.get(b"Target", b"").decode("utf-8")
        targets[a.get(b"Id")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    paths = {}
    for blob in _SHEET.findall(workbook):
        a = _attrs(blob)
        rid = next((v for k, v in a.items() if k.endswith(b":id")), None)
        if targets.get(rid) in names:
            paths[_text(a.get(b"name", b""))] = targets[rid]
    if len(_PATHS) > 256:
        _PATHS.clear()
    _PATHS[key] = paths
    return paths


def _percent_styles(zf: zipfile.ZipFile, data: bytes, base: str) -> frozenset[int]:
    """The style indexes of an .xlsx that show a percentage, cached by the styles part's CRC (same template)."""
    try:
        crc = zf.getinfo("xl/styles.xml").CRC
    except KeyError:
        return frozenset()
    if crc not in _PERCENT:
        if len(_PERCENT) > 256:
            _PERCENT.clear()
        _PERCENT[crc] = percent_styles(_safe_xml(_inflate(zf, data, "xl/styles.xml"), base))
    return _PERCENT[crc]


_PERCENT: dict[int, frozenset[int]] = {}


def _inflate(zf: zipfile.ZipFile, data: bytes, name: str, head: int = MAX_UNZIPPED) -> bytes:
    """A member's bytes (the first `head` of them), inflated straight from the archive: only scanned, never
    trusted, so no CRC pass."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_DEFLATED or data[info.header_offset:info.header_offset + 4] != b"PK\x03\x04":
        return zf.read(name)[:head]
    n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + n + m
    raw = data[start:start + min(info.compress_size, head if head < MAX_UNZIPPED else info.compress_size)]
    return zlib.decompressobj(-15).decompress(raw, head)


def _cells_of(piece: bytes) -> dict[bytes, bytes]:
    """ref -> inner xml of the cells with content in a piece of sheet xml."""
    raw = {}
    for part in piece.split(b"</c>")[:-1]:     # only cells with content end with </c>
        i = part.rfind(b'<c r="') + 6
        j = part.find(b'"', i)
        raw[part[i:j]] = part[part.find(b">", j) + 1:]
    return raw


def _formulas_and_merges(xml: bytes) -> tuple[dict, list]:
    """The formulas ({(row, col): "=..."}) and merged ranges of one worksheet's xml."""
    formulas: dict[tuple[int, int], str] = {}
    start = xml.find(b"<sheetData")
    body = xml[start:xml.find(b"</sheetData>", start)] if start >= 0 else b""
    if b"<f>" in body or b"<f " in body:
        for piece in body.split(b"<row ")[1:]:
            if b"<f" in piece:
                for ref, inner in _cells_of(piece).items():
                    if b"<f" in inner:
                        f = _F.search(inner)
                        formulas[_rowcol(ref)] = "=" + _text(f.group(1) or b"") if f else "="
    merged = []
    if b"<mergeCell " in xml:
        merged = [(int(r0) - 1, _col(c0), int(r1 or r0) - 1, _col(c1 or c0)) for c0, r0, c1, r1 in _MERGE.findall(xml)]
    return formulas, merged
