"""Open a submitted workbook safely: sniff the real format, refuse hostile files, read cells with calamine."""
from __future__ import annotations

import html
import io
import posixpath
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
from thidua.intake.shown import Shown, XlsShown, biff_records, ods_shown, ods_styled, percent_styles, xlsx_shown

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
        out, rows = [], self.rows
        for r in range(max(first, 0), len(rows)):
            cells = rows[r]
            width = len(cells)
            for c in cols:
                if c < width and cells[c] != "" and filled(cells[c]):
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
    path = PurePath(name)
    base, ext = path.name, path.suffix.lower() or "(không có đuôi)"
    if is_lock_file(base):
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
    part = workbook_part(zf)
    if part is not None and (part.endswith(".xml") or part.endswith(".bin")):
        if part.endswith(".bin"):
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


# ------------------------------------------------------------------ limits
# What a real template can hold, with room to spare: the largest sheet is a table of at most
# reader.MAX_TABLE_ROWS (2,000) rows under ~60 header rows, ~15 columns wide, so ~32,000 cells; its texts are
# at most a few hundred characters (32,767, Excel's cell limit, in a handful of cells). Files over these
# limits are refused with F014 before any reader expands them (a dense grid of a cell at XFD1048576 alone
# would be 17 billion cells).
MAX_PART = 16 * 1024 * 1024          # one sheet's xml, the shared strings or content.xml, uncompressed
MAX_SHEET_CELLS = 250_000            # rows x columns of one sheet's grid (anchored at A1)
MAX_TEXT = 8_000_000                 # characters of text in the cells of the sheets read, shared strings expanded
MAX_BOOK_CELLS = 1_000_000           # grid cells of all the sheets read from one file
MAX_ODS_SECOND = 3 * 1024 * 1024     # content.xml that odfpy (the second reader of .ods) may load


@dataclass
class Budget:
    """The text still allowed for one book (shared strings count once per cell that shows them)."""

    base: str
    left: int = MAX_TEXT
    cells: int = MAX_BOOK_CELLS

    def take_cells(self, rows: int, cols: int, where: str) -> None:
        _check_extent(self.base, where, rows, cols)
        self.cells -= rows * cols
        if self.cells < 0:
            raise _too_big(self.base, f"{where}: các trang cộng lại quá nhiều ô",
                           f"tối đa {MAX_BOOK_CELLS:,} ô mỗi tệp".replace(",", "."))

    def take(self, chars: int, where: str) -> None:
        self.left -= chars
        if self.left < 0:
            raise Unreadable(make_issue("F014", file=self.base, detail=f"{where}: quá nhiều chữ trong các ô",
                                        limit=f"tối đa {MAX_TEXT:,} ký tự".replace(",", ".")))


def _too_big(base: str, detail: str, limit: str) -> Unreadable:
    return Unreadable(make_issue("F014", file=base, detail=detail, limit=limit))


def _check_extent(base: str, where: str, rows: int, cols: int) -> None:
    if rows * cols > MAX_SHEET_CELLS:
        raise _too_big(base, f"{where} trải rộng {rows:,} dòng × {cols:,} cột".replace(",", "."),
                       f"tối đa {MAX_SHEET_CELLS:,} ô mỗi trang".replace(",", "."))


def _check_part(zf: zipfile.ZipFile, name: str, base: str, where: str | None = None) -> None:
    size = zf.getinfo(name).file_size
    if size > MAX_PART:
        raise _too_big(base, f"{where or 'phần ' + name} chiếm {size // (1024 * 1024)} MB khi giải nén",
                       f"tối đa {MAX_PART // (1024 * 1024)} MB")


# ------------------------------------------------------------------ opening
def open_book(data: bytes, fmt: str, base: str) -> Book:
    """python-calamine reads the values; for .xlsx the sheet xml adds formulas and merged ranges.

    Before a sheet is expanded its size is checked (F014). When python-calamine fails, the format's own
    reader (thidua.intake.second) reads the file; «hỏng» (F002/F013) only when that fails too."""
    zf = _zip(data) if fmt in ("xlsx", "ods") else None
    paths = _sheet_paths(zf, data, base) if fmt == "xlsx" else {}
    budget = Budget(base)
    prefer_second = False
    shown: dict[str, Shown] = {}       # error values and %-formatted cells, by sheet
    styled = True                      # the file says how its numbers are shown (see Shown.styled)
    if fmt == "xlsx":                  # sizes first: python-calamine copies the whole file when it opens it
        for name in _shared_parts(zf):
            _check_part(zf, name, base)
        for sheet, part in paths.items():
            _check_part(zf, part, base, f"trang «{sheet}»")
    elif fmt == "ods":
        _check_ods(zf, base, budget)
    else:
        xls = XlsShown()
        prefer_second = _check_xls(data, base, budget, xls)
        shown.update(xls.sheets)
    scans: dict[str, SheetScan] = {}
    inflated = _inflate_parts(zf, data, paths) if fmt == "xlsx" else {}      # part -> xml, for the scans
    percent = _percent_styles(zf, data, base) if fmt == "xlsx" else frozenset()
    if fmt == "xlsx":
        styled = any(n.endswith("styles.xml") for n in zf.namelist())
    if fmt == "ods":
        try:
            content = _safe_xml(_inflate(zf, data, "content.xml"), base)
            styled = ods_styled(content) or ("styles.xml" in zf.namelist()
                                             and ods_styled(_inflate(zf, data, "styles.xml")))
            shown.update(ods_shown(content, styled))
        except KeyError:
            pass
    second: list = []
    errors: list[Exception] = []
    lengths: list = []

    def shared_lengths() -> list[int]:
        if not lengths:
            lengths.append(_shared_lengths(zf, data, base, inflated))
        return lengths[0]

    def scan(name: str) -> SheetScan | None:
        if name not in paths:
            return None
        if name not in scans:
            _check_part(zf, paths[name], base, f"trang «{name}»")
            try:
                xml = inflated.get(paths[name]) or _inflate(zf, data, paths[name])
            except (zlib.error, zipfile.BadZipFile, EOFError, OSError) as exc:
                raise _broken(data, fmt, base, paths, exc, sheet=name) from None
            found = scans[name] = sheet_scan(_safe_xml(xml, base), base, paths[name])
            shown[name] = xlsx_shown(_safe_xml(xml, base), percent, styled)
            budget.take_cells(found.rows, found.cols, f"trang «{name}»")
            budget.take(found.inline_chars + _shared_chars(found, xml, shared_lengths), f"trang «{name}»")
        return scans[name]

    def other():
        if not second:
            second.append(_second_reader(data, fmt, base))
        return second[0]

    wb = None
    if prefer_second and other() is not None:
        names, hidden = other().names, other().hidden
    else:
        try:
            from python_calamine import CalamineWorkbook
            wb = CalamineWorkbook.from_filelike(io.BytesIO(_stored_copy(zf, data, inflated) if inflated else data))
            names = list(wb.sheet_names)
            hidden = {m.name for m in wb.sheets_metadata if "Visible" != str(m.visible).rsplit(".", 1)[-1]}
        except Exception as exc:  # calamine raises its own error types: ask the format's own reader
            errors.append(exc)
            if other() is None:
                raise _broken(data, fmt, base, paths, exc) from None
            names, hidden = other().names, other().hidden

    def load(name: str) -> Grid:
        found = scan(name)
        rows = merged = None
        if wb is not None:
            try:
                ws = wb.get_sheet_by_name(name)
                rows = ws.to_python(skip_empty_area=False)
                merged = [(a[0], a[1], b[0], b[1]) for a, b in (ws.merged_cell_ranges or [])]
            except Exception as exc:
                errors.append(exc)
        if rows is None:
            book = other()
            try:
                if book is None or name not in book.names:
                    raise errors[-1]
                rows, merged = book.rows(name)
            except Exception as exc:
                raise _broken(data, fmt, base, paths, exc, sheet=name) from None
        seen = shown.get(name) or Shown(styled=styled)
        if found is not None:
            return Grid(rows, found.formulas, found.merged, knows_formulas=True, shown=seen)
        return Grid(rows, {}, merged, shown=seen)

    members = set(zf.namelist()) if fmt == "xlsx" else set()
    ext_links = sum(1 for n in members if "/externalLinks/" in "/" + n and n.endswith(".xml"))
    return Book(fmt, names, hidden, load, external_links=ext_links,
                macros=any(n.endswith("vbaProject.bin") for n in members))


STORED_COPY = 4 * 1024 * 1024      # worksheet xml (declared sizes) that open_book inflates up front, at most


def _inflate_parts(zf: zipfile.ZipFile, data: bytes, paths: dict[str, str]) -> dict[str, bytes]:
    """Every worksheet and shared-strings part of a plain package, inflated once: the scans use them, and
    python-calamine reads them stored (else it inflates each sheet twice more, for its values and again for its
    merged ranges). Empty when the package is anything else (zip64, encryption, extra fields, a name twice, data
    before the first member, a part not deflated, more than STORED_COPY, a part that does not inflate to its
    declared size): then each part is inflated when it is scanned, as ever."""
    infos = zf.infolist()
    parts = set(paths.values()) | set(_shared_parts(zf))
    names = [i.orig_filename for i in infos]
    if len(set(names)) != len(names) or min((i.header_offset for i in infos), default=1) != 0 \
            or any(i.flag_bits & 0x1 or i.extra or max(i.file_size, i.compress_size, i.header_offset) >= 0xFFFFFFFF
                   for i in infos):
        return {}
    sheets = [i for i in infos if i.orig_filename in parts]
    if not sheets or sum(i.file_size for i in sheets) > STORED_COPY \
            or any(i.compress_type != zipfile.ZIP_DEFLATED for i in sheets):
        return {}
    out = {}
    try:
        for info in sheets:          # never more than a byte past the declared size (a part the reader may not ask for)
            xml = _inflate(zf, data, info.orig_filename, head=info.file_size + 1)
            if len(xml) != info.file_size:
                return {}
            out[info.orig_filename] = xml
    except (zlib.error, zipfile.BadZipFile, EOFError, OSError, struct.error, KeyError):
        return {}          # the scan of that sheet says what is wrong, when the reader asks for it
    return out


def _stored_copy(zf: zipfile.ZipFile, data: bytes, inflated: dict[str, bytes]) -> bytes:
    """The package with the parts of `inflated` stored (not deflated), every other member's bytes as they are:
    local headers and the central directory written again from the directory's entries (no extra fields)."""
    local, central, at = [], [], 0
    for info in zf.infolist():
        name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        body = inflated.get(info.orig_filename)
        if body is None:
            n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + n + m
            body, method = data[start:start + info.compress_size], info.compress_type
        else:
            method = zipfile.ZIP_STORED
        y, mo, d, h, mi, sec = info.date_time
        fields = (info.flag_bits & ~0x08, method, h << 11 | mi << 5 | sec // 2, (y - 1980) << 9 | mo << 5 | d,
                  info.CRC, len(body), info.file_size, len(name), 0)   # sizes in the header: no data descriptor
        local += [_LOCAL.pack(b"PK\x03\x04", info.extract_version, *fields), name, body]
        central += [_CENTRAL.pack(b"PK\x01\x02", info.create_version, info.create_system, info.extract_version,
                                  *fields, 0, 0, info.internal_attr, info.external_attr, at), name]
        at += 30 + len(name) + len(body)
    directory = b"".join(central)
    count = len(zf.infolist())
    return b"".join(local) + directory + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count,
                                                       len(directory), at, 0)


_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sBBHHHHHIIIHHHHHII")


def _second_reader(data: bytes, fmt: str, base: str):
    """The format's own reader over the whole file, or None when it cannot open it either. odfpy builds a
    tree of the whole content.xml (~40 times its size in memory): over MAX_ODS_SECOND it is refused (F014)."""
    from thidua.intake.second import READERS
    if fmt == "ods" and "content.xml" in _zip(data).namelist():
        size = _zip(data).getinfo("content.xml").file_size
        if size > MAX_ODS_SECOND:
            raise _too_big(base, f"nội dung (content.xml, {size / (1024 * 1024):.1f} MB) chỉ đọc được bằng "
                                 "chương trình đọc dự phòng", f"tối đa {MAX_ODS_SECOND // (1024 * 1024)} MB với chương trình này")
    try:
        return READERS[fmt](data)
    except Exception:
        return None


def _broken(data: bytes, fmt: str, base: str, paths: dict, error: Exception,
            sheet: str | None = None) -> Unreadable:
    """No reader opened the file: say which part is broken when the container shows it (F013), else F002."""
    if fmt in ("xlsx", "ods"):
        zf = _zip(data)
        sheets = {v: k for k, v in paths.items()}
        try:
            bad = zf.testzip()
        except Exception as exc:
            return Unreadable(make_issue("F002", file=base, detail=str(exc)[:120]))
        if bad:
            return Unreadable(make_issue("F013", file=base, part=_part_name(bad, sheets),
                                         detail="dữ liệu nén bị hỏng (sai mã kiểm tra CRC)"))
        order = sorted((n for n in zf.namelist() if n.endswith((".xml", ".rels"))),
                       key=lambda n: (n not in sheets or sheets[n] != sheet, n not in sheets, n))
        for name in order:
            where = xml_error(zf, name)
            if where:
                return Unreadable(make_issue("F013", file=base, part=_part_name(name, sheets), detail=where))
    detail = f"trang «{sheet}»: " if sheet else ""
    return Unreadable(make_issue("F002", file=base, detail=detail + (str(error)[:120] or type(error).__name__)))


def _part_name(name: str, sheets: dict[str, str]) -> str:
    return f"{name} (trang «{sheets[name]}»)" if name in sheets else name


def xml_error(zf: zipfile.ZipFile, name: str) -> str | None:
    """Where the xml of member `name` stops being well-formed ("dòng L, cột C: reason"), read in pieces."""
    from xml.parsers import expat
    parser = expat.ParserCreate()
    try:
        with zf.open(name) as fh:
            while True:
                chunk = fh.read(1 << 16)
                parser.Parse(chunk, not chunk)
                if not chunk:
                    return None
    except expat.ExpatError as exc:
        return f"dòng {exc.lineno}, cột {exc.offset + 1}: {expat.ErrorString(exc.code)}"
    except Exception:
        return None


# ------------------------------------------------------------------ .xlsx parts
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*"([^"]*)"')
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)/?>")
_F = re.compile(rb"<f\b[^>]*?(?:/>|>(.*?)</f>)", re.S)
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"')
_ROW_REF = re.compile(rb'<row r="(\d+)"')
_REF = re.compile(rb"([A-Z]+)(\d+)$")
_LONG_COL = re.compile(rb'<c r="([A-Z]{2,3})\d')
_UNUSUAL_CELL = re.compile(rb'<c(?! r=")[\s>/]')
_ROW_WITHOUT_R = re.compile(rb'<row(?! r=")[\s>/]')
_ROW_4_DIGITS = re.compile(rb'<row r="\d{4}')
_INLINE_T = re.compile(rb"<is>.*?</is>", re.S)
_TEXT = re.compile(rb"<t\b[^>]*>([^<]*)</t>")
_REFERENCE = re.compile(rb"&#?\w+;")
_PATHS: dict[tuple, dict[str, str]] = {}
OFFICE_DOCUMENT = b"/officeDocument"
SHARED_STRINGS = b"/sharedStrings"


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
    if xml.find(b"<!DOCTYPE", 0, 4096) >= 0 or xml.find(b"<!ENTITY", 0, 4096) >= 0:     # in the first 4 KB
        raise Unreadable(make_issue("F009", file=base, detail="DOCTYPE/ENTITY"))
    return xml


def _rels_of(part: str) -> str:
    folder, _, file = part.rpartition("/")
    return f"{folder}/_rels/{file}.rels" if folder else f"_rels/{file}.rels"


def _resolve(source: str, target: str) -> str:
    """A relationship target as a zip member name: absolute from the package root, else relative to
    the folder of the part that owns the relationship."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


_PACKAGES: dict[tuple, tuple] = {}


def _package(zf: zipfile.ZipFile) -> tuple[str | None, list[str]]:
    """(workbook part, shared-strings parts) of an .xlsx, found from its relationships; remembered by the
    checksums of the relationship parts (every file made from one template has the same)."""
    if getattr(_LAST_ZIP, "package_of", None) is zf:      # asked again about the same zip
        return _LAST_ZIP.package
    names = set(zf.namelist())
    key = tuple(zf.getinfo(n).CRC if n in names else None for n in ("_rels/.rels", "xl/_rels/workbook.xml.rels"))
    found = _PACKAGES.get(key)
    if found is None or not {found[0], *found[1]} <= names | {None}:
        part = _find_workbook_part(zf)
        shared = []
        if part is not None:
            shared = [t for t in (_resolve(part, r.get(b"Target", b"").decode("utf-8"))
                                  for r in _relations(zf, part) if r.get(b"Type", b"").endswith(SHARED_STRINGS))
                      if t in names]
        if len(_PACKAGES) > 256:
            _PACKAGES.clear()
        found = _PACKAGES[key] = (part, shared)
    _LAST_ZIP.package_of, _LAST_ZIP.package = zf, found
    return found


def _relations(zf: zipfile.ZipFile, part: str) -> list[dict[bytes, bytes]]:
    try:
        return [_attrs(b) for b in _REL.findall(zf.read(_rels_of(part)))]
    except KeyError:
        return []


def workbook_part(zf: zipfile.ZipFile) -> str | None:
    """The workbook part named by the package's relationships (xl/workbook.xml when none names it)."""
    return _package(zf)[0]


def _find_workbook_part(zf: zipfile.ZipFile) -> str | None:
    names = set(zf.namelist())
    for rel in _relations(zf, ""):
        if rel.get(b"Type", b"").endswith(OFFICE_DOCUMENT) and b"TargetMode" not in rel:
            target = _resolve("", rel.get(b"Target", b"").decode("utf-8"))
            if target in names:
                return target
    return next((n for n in ("xl/workbook.xml", "xl/workbook.bin") if n in names), None)


def _shared_parts(zf: zipfile.ZipFile) -> list[str]:
    return _package(zf)[1]


def _sheet_paths(zf: zipfile.ZipFile, data: bytes, base: str) -> dict[str, str]:
    """Sheet name -> worksheet part of an .xlsx; also checks the workbook's xml parts are safe."""
    part = workbook_part(zf)
    if part is None:
        return {}
    rels_name = _rels_of(part)
    names = set(zf.namelist())
    try:
        key = (part,) + tuple(zf.getinfo(n).CRC for n in (part, rels_name))
        for sst in _shared_parts(zf):
            _safe_xml(_inflate(zf, data, sst, head=4096), base)
        if key in _PATHS:              # the same parts as a file already read (same template)
            return _PATHS[key]
        workbook = _safe_xml(zf.read(part), base)
        rels = _safe_xml(zf.read(rels_name), base)
    except KeyError:
        return {}
    except zipfile.BadZipFile as exc:
        raise Unreadable(make_issue("F002", file=base, detail=str(exc))) from None
    targets = {}
    for blob in _REL.findall(rels):
        a = _attrs(blob)
        if b"TargetMode" not in a:
            targets[a.get(b"Id")] = _resolve(part, a.get(b"Target", b"").decode("utf-8"))
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


def sheet_xml_size(data: bytes, base: str) -> int:
    """The uncompressed size of all worksheet parts of an .xlsx (0 when it has none)."""
    zf = _zip(data)
    return sum(zf.getinfo(p).file_size for p in _sheet_paths(zf, data, base).values())


def _inflate(zf: zipfile.ZipFile, data: bytes, name: str, head: int = MAX_UNZIPPED) -> bytes:
    """A member's bytes (the first `head` of them), inflated straight from the archive: only scanned, never
    trusted, so no CRC pass."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_DEFLATED or data[info.header_offset:info.header_offset + 4] != b"PK\x03\x04":
        with zf.open(name) as fh:
            return fh.read(head)
    n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + n + m
    raw = data[start:start + min(info.compress_size, head if head < MAX_UNZIPPED else info.compress_size)]
    return zlib.decompressobj(-15).decompress(raw, head)


def _shared_lengths(zf: zipfile.ZipFile, data: bytes, base: str, inflated: dict | None = None) -> list[int]:
    """An upper bound of the length in characters of every shared string, in order: its bytes in the
    table (markup and UTF-8 count too, so it never undercounts), computed without parsing."""
    for part in _shared_parts(zf)[:1]:
        xml = _safe_xml((inflated or {}).get(part) or _inflate(zf, data, part), base)
        start = xml.find(b"<si")
        return [len(si) for si in xml[start:].split(b"</si>")[:-1]] if start >= 0 else []
    return []


_SHARED_V = re.compile(rb't="s"[^>]*>\s*<v>(\d+)</v>')


def _shared_chars(found: "SheetScan", xml: bytes, lengths) -> int:
    """The characters the sheet's shared-string cells will hold once expanded (an upper bound)."""
    if not found.n_shared:
        return 0
    table = lengths()
    widest = max(table, default=0)
    if found.n_shared * widest <= MAX_TEXT // 8:      # the usual file: no need to look closer
        return found.n_shared * widest
    shown = found.shared if found.shared is not None else [int(v) for v in _SHARED_V.findall(xml)]
    return sum(table[i] for i in shown if 0 <= i < len(table))


@dataclass
class SheetScan:
    """What the sheet xml says beside the values: formulas, merged ranges, the grid's extent, and the
    shared strings its cells show (to bound the text a reader will expand)."""

    formulas: dict
    merged: list
    rows: int = 0
    cols: int = 0
    shared: list | None = None       # indexes of the shared strings shown (the expat scan collects them)
    n_shared: int = 0
    inline_chars: int = 0


def sheet_scan(xml: bytes, base: str = "", part: str = "") -> SheetScan:
    """Scan one worksheet's xml. Cells written the usual way (`<c r="A1"`, no prefix) by a fast byte
    scan; anything else (cells or rows without r=, other attribute order, prefixed names) by expat."""
    start = xml.find(b"<sheetData")
    body = xml[start:xml.find(b"</sheetData>", start)] if start >= 0 else b""
    usual = start >= 0 and not _UNUSUAL_CELL.search(body)
    return _fast_scan(xml, body) if usual else _expat_scan(xml, base, part)


def _fast_scan(xml: bytes, body: bytes) -> SheetScan:
    formulas: dict[tuple[int, int], str] = {}
    if b"<f>" in body or b"<f " in body:
        for piece in body.split(b"<row")[1:]:
            if b"<f" in piece:
                for ref, inner in _cells_of(piece).items():
                    if b"<f" in inner:
                        f = _F.search(inner)
                        formulas[_rowcol(ref)] = "=" + _text(f.group(1) or b"") if f else "="
        _fill_shared(body, formulas)
    merged = []
    if b"<mergeCell " in xml:
        merged = [(int(r0) - 1, _col(c0), int(r1 or r0) - 1, _col(c1 or c0)) for c0, r0, c1, r1 in _MERGE.findall(xml)]
    cols = _widest_col(body)
    if _ROW_WITHOUT_R.search(body):                     # rows without r=: the cells' references say
        rows = max((int(r) for _, r in _CELL_REF.findall(body)), default=0)
    elif _ROW_4_DIGITS.search(body):
        rows = max(map(int, _ROW_REF.findall(body)), default=0)
    else:                                               # every row number has at most 3 digits
        rows = 999 if b"<row" in body else 0
    inline = _inline_chars(body) if b"<is>" in body else 0
    return SheetScan(formulas, merged, rows, cols, None, body.count(b't="s"'), inline)


def _inline_chars(body: bytes) -> int:
    """Characters of the inline strings: the sheet's size when that is small, else counted (a character
    reference such as &#7893; is one character)."""
    if len(body) <= MAX_TEXT // 8:
        return len(body)
    chars = 0
    for string in _INLINE_T.finditer(body):         # one string at a time: no copy of the whole sheet
        for text in _TEXT.findall(string.group()):
            chars += len(text) - sum(len(r) - 1 for r in _REFERENCE.findall(text)) if b"&" in text else len(text)
    return chars


def _widest_col(body: bytes) -> int:
    """An upper bound of the columns up to the rightmost cell: 26 when every reference is one letter
    (enough to bound the grid), else the widest two- or three-letter column."""
    if _LONG_COL.search(body):
        return max(_col(c) for c in set(_LONG_COL.findall(body))) + 1
    return 26 if b'<c r="' in body else 0


def _fill_shared(body: bytes, formulas: dict) -> None:
    """A cell of a shared formula stores only `<f t="shared" si="0"/>`: show the first cell's formula."""
    if b't="shared"' not in body:
        return
    masters = {}
    for m in re.finditer(rb'<c r="([A-Z]+\d+)"[^>]*>\s*<f\b([^>]*?)(?:/>|>(.*?)</f>)', body, re.S):
        a = _attrs(m.group(2))
        if a.get(b"t") == b"shared":
            if m.group(3):
                masters[a.get(b"si")] = _text(m.group(3))
            elif a.get(b"si") in masters:
                formulas[_rowcol(m.group(1))] = "=" + masters[a.get(b"si")]


def _expat_scan(xml: bytes, base: str, part: str) -> SheetScan:
    from xml.parsers import expat
    scan = SheetScan({}, [], shared=[])
    state = {"row": -1, "col": -1, "cell": None, "f": None, "is": 0}
    masters: dict[str, str] = {}

    def start(name: str, attrs: dict) -> None:
        local = name.rpartition(" ")[2]
        if local == "row":
            r = attrs.get("r")
            state["row"] = int(r) - 1 if r and r.isdigit() else state["row"] + 1
            state["col"] = -1
        elif local == "c":
            ref = attrs.get("r")
            if ref and _REF.match(ref.encode()):
                state["row"], state["col"] = _rowcol(ref.encode())
            else:
                state["col"] += 1
            state["cell"] = (state["row"], state["col"])
            scan.rows, scan.cols = max(scan.rows, state["row"] + 1), max(scan.cols, state["col"] + 1)
            if attrs.get("t") == "s":
                scan.n_shared += 1
                state["s"] = True
            else:
                state["s"] = False
        elif local == "f":
            state["f"] = ([], attrs.get("t"), attrs.get("si"))
        elif local == "v" and state.get("s"):
            state["v"] = []
        elif local == "is":
            state["is"] += 1
        elif local == "mergeCell":
            ref = attrs.get("ref", "").encode()
            a, _, b = ref.partition(b":")
            if _REF.match(a) and (not b or _REF.match(b)):
                (r0, c0), (r1, c1) = _rowcol(a), _rowcol(b or a)
                scan.merged.append((r0, c0, r1, c1))

    def end(name: str) -> None:
        local = name.rpartition(" ")[2]
        if local == "f" and state["f"] is not None:
            parts, kind, si = state["f"]
            text = "".join(parts)
            if kind == "shared" and si is not None:
                text = masters.setdefault(si, text) if text else masters.get(si, "")
            scan.formulas[state["cell"]] = "=" + text
            state["f"] = None
        elif local == "v" and state.get("v") is not None:
            value = "".join(state.pop("v")).strip()
            if value.isdigit():
                scan.shared.append(int(value))
        elif local == "is":
            state["is"] -= 1

    def chars(text: str) -> None:
        if state["f"] is not None:
            state["f"][0].append(text)
        elif state.get("v") is not None:
            state["v"].append(text)
        elif state["is"]:
            scan.inline_chars += len(text)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        where = f"dòng {exc.lineno}, cột {exc.offset + 1}: {expat.ErrorString(exc.code)}"
        raise Unreadable(make_issue("F013", file=base, part=part, detail=where)) from None
    return scan


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
    scan = sheet_scan(xml)
    return scan.formulas, scan.merged


# ------------------------------------------------------------------ .ods and .xls extents
_ODS_REPEAT = re.compile(rb"<table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>|</table:table-row>")


def _check_ods(zf: zipfile.ZipFile, base: str, budget: Budget) -> None:
    """content.xml within MAX_PART; every table's extent (repeats expanded, trailing empty ones not) and the
    text its cells will hold once repeated cells are expanded (python-calamine reads every table at once)."""
    if "content.xml" not in zf.namelist():
        return
    _check_part(zf, "content.xml", base)
    xml = _safe_xml(zf.read("content.xml"), base)
    table, rows, cols, r, c, row_rep, row_has = "", 0, 0, 0, 0, 1, False
    text, pending = 0, None           # pending: (times the last cell with content is repeated, where it starts)
    for m in _ODS_REPEAT.finditer(xml):
        if pending:
            chunk = xml[pending[1]:m.start()]
            text += pending[0] * (len(chunk) if len(chunk) < 256 else len(re.sub(rb"<[^>]*>", b"", chunk)))
            pending = None
        kind, attrs, empty = m.group(1), m.group(2) or b"", m.group(3)
        if kind == b"table":
            if table:
                _check_extent(base, f"trang «{table}»", rows, cols)
            table, rows, cols, r = _text(_attrs(attrs).get(b"table:name", b"")), 0, 0, 0
        elif kind == b"table-row":
            row_rep, c, row_has = int(_attrs(attrs).get(b"table:number-rows-repeated", b"1")), 0, False
        elif kind is None:             # </table:table-row>
            if row_has:
                rows = r + row_rep
            r += row_rep
        else:
            rep = int(_attrs(attrs).get(b"table:number-columns-repeated", b"1"))
            if not empty or b"office:value" in attrs:
                row_has = True
                cols = max(cols, c + rep)
                pending = (rep * row_rep, m.end()) if not empty else None
            c += rep
    if table:
        _check_extent(base, f"trang «{table}»", rows, cols)
    budget.take(text, "các trang")


_XLS_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x0201, 0x0204, 0x0205, 0x00BD, 0x00BE, 0x00D6}


# Format ids python-calamine takes for dates whatever the file's FORMAT record says (Excel's built-in date
# formats, including the East Asian ones). Gnumeric stores its own number formats under ids from 50 on.
CALAMINE_DATE_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))


def _check_xls(data: bytes, base: str, budget: Budget | None = None, shown: XlsShown | None = None) -> bool:
    """Every sheet's extent from the cell records of the Workbook stream (BIFF5 to BIFF8), and in the same
    walk the cells `shown` as a percentage. True when the file redefines a format id python-calamine reads as
    a date (its numbers would turn into dates: xlrd, which honours the FORMAT records, reads the file instead)."""
    try:
        import olefile
        with olefile.OleFileIO(data) as ole:
            name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            if name is None:
                return False
            stream = ole.openstream(name).read()
    except Exception:     # not readable here: the readers will say why
        return False
    sheet, rows, cols, redefined = 0, 0, 0, False
    for pos, kind, body in biff_records(stream):
        if kind == 0x0809 and len(body) >= 4 and struct.unpack_from("<H", body, 2)[0] == 0x0010:   # BOF of a sheet
            sheet, rows, cols = sheet + 1, 0, 0
        elif kind == 0x000A and sheet:                                                          # EOF
            (budget or Budget(base)).take_cells(rows, cols, f"trang thứ {sheet}")
        elif kind == 0x041E and len(body) >= 2 and struct.unpack_from("<H", body, 0)[0] in CALAMINE_DATE_IDS:
            redefined = True                                                                    # FORMAT
        elif kind in _XLS_CELLS and len(body) >= 4:
            r, c = struct.unpack_from("<HH", body, 0)
            last = c
            if kind in (0x00BD, 0x00BE) and len(body) >= 6:           # MULRK / MULBLANK: last column at the end
                last = struct.unpack_from("<H", body, len(body) - 2)[0]
            if kind not in (0x0201, 0x00BE):                            # blanks carry only formatting
                rows, cols = max(rows, r + 1), max(cols, last + 1)
        if shown is not None:
            shown.feed(pos, kind, body)
    return redefined
