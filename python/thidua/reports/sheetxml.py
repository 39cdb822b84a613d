"""Big sheets' data rows streamed as SpreadsheetML to temporary files and zipped into XlsxWriter's package.

Why: XlsxWriter's public write calls cost ~5 µs a cell before any work of ours (72,000 cells of a 1,000-unit
committee workbook: 0.36 s CPU for the calls alone), while its private row file is not ours to write to.
So XlsxWriter writes everything around the data (formats, header, merges, formulas, signature, print
setup) through its public API into memory, and each data row is written here as ECMA-376 `<row>`/`<c>`
XML (inline strings, as XlsxWriter's constant_memory mode writes them) into a temporary file: memory does
not grow with the number of rows. `assemble` then copies XlsxWriter's package with `zipfile`, merging
each sheet's streamed rows into its `<sheetData>` by row number and widening its `<dimension>`.

Style indexes are neither predicted nor read from XlsxWriter's internals: a cell's `s` is written as two
marks standing for its format, and the first row of each sheet is also written by XlsxWriter as blank
cells, one per format the sheet's rows use (a "probe"). In XlsxWriter's output the probe cells name each
format's index; the marks are turned into it, and the probe row is replaced by the streamed row of the
same number.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree

from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name, xl_rowcol_to_cell

TEXT_MAX = 32767                    # Excel's limit, in UTF-16 units
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_ESCAPED = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EPOCH = dt.datetime(1899, 12, 31)
_EPOCH_DAY = _EPOCH.toordinal()
# A cell's style is written as two control characters, distinct per probed format: text never holds them raw
# (escaped as _xHHHH_), and `bytes.translate` turns them into the index's one or two digits in one pass.
_MARKS = bytes(b for b in range(32) if b not in (9, 10, 13))
MAX_FORMATS = len(_MARKS) // 2           # formats one sheet's rows may use
_ROW = re.compile(r'<row r="(\d+)"[^>]*?(?:/>|>.*?</row>)', re.S)
_CELL = re.compile(r"<c\b([^>]*?)/?>")
_ATTR = re.compile(r'\b(r|s)="([^"]*)"')
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def inline_text(text: str) -> str:
    """A cell's text as an `<is>` element, escaped as Excel and XlsxWriter escape it (control characters
    as _xHHHH_, a literal _xHHHH_ protected, leading or trailing space preserved)."""
    if len(text) > TEXT_MAX // 2 and len(text.encode("utf-16-le", "surrogatepass")) > 2 * TEXT_MAX:
        text = _utf16_truncate(text, TEXT_MAX)
    if not _SPECIAL.search(text):
        return f"<is><t>{text}</t></is>"
    text = _ESCAPED.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if re.search(r"^\s|\s$", text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{space}>{text}</t></is>"


def _plain(text: str) -> bool:
    """A quick sufficient test that `_SPECIAL` finds nothing (False: ask it): printable (no control character, no
    U+FFFE/U+FFFF, no space but U+0020), no XML special, no `_x`, no space at either end. 3-4 times faster."""
    return (text.isprintable() and "&" not in text and "<" not in text and ">" not in text and "_x" not in text
            and text[0] != " " and text[-1] != " ")


def _utf16_truncate(text: str, limit: int) -> str:
    length = 0
    for i, ch in enumerate(text):
        length += 2 if ord(ch) > 0xFFFF else 1
        if length > limit:
            return text[:i]
    return text


def excel_serial(value: dt.date) -> float:
    """Excel's serial number of a date or date and time (1900 system, with its 29/02/1900)."""
    if type(value) is dt.date:
        serial = value.toordinal() - _EPOCH_DAY
        return float(serial + 1 if serial > 59 else serial)
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    delta = value - _EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / 86400
    return serial + 1 if serial > 59 else serial


class SheetRows:
    """One sheet's data rows, strictly in row order, one column format each (a value may be a
    `(value, format key)` pair: its key must be a column's or one of `extra`).

    `formats` maps a key to its XlsxWriter Format. Rows may come in runs with XlsxWriter's own rows
    between them (subtotals); a row number XlsxWriter also writes (other than the probe) is an error."""

    def __init__(self, ws, keys: list[str], formats: dict | None, extra: tuple[str, ...] = (), file=None):
        """`ws` None: rows written elsewhere (another process) into `file`, then `adopt`ed by the sheet's own
        SheetRows, which writes the probe."""
        self.ws, self.formats = ws, formats
        self.probe_keys = list(dict.fromkeys([*keys, *extra]))
        self.key_id = {k: i for i, k in enumerate(self.probe_keys)}
        if len(self.probe_keys) > MAX_FORMATS:
            raise ValueError(f"{len(self.probe_keys)} formats for one sheet's rows: at most {MAX_FORMATS}")
        self.style = {k: f'" s="{chr(_MARKS[2 * i])}{chr(_MARKS[2 * i + 1])}"' for k, i in self.key_id.items()}
        self.cols = [(f'<c r="{xl_col_to_name(c)}', self.style[k]) for c, k in enumerate(keys)]
        self.file = file if file is not None else tempfile.TemporaryFile()
        self.pending: list[str] = []          # rows not yet written to the file (written in batches)
        self.runs: list[list[int]] = []       # [first row, last row, byte offset] per run of consecutive rows
        self.last, self.width, self.probe = -1, 0, None if ws is not None else -1

    def state(self) -> tuple:
        """What `adopt` needs of rows written elsewhere (their file flushed)."""
        self.flush()
        self.file.flush()
        return self.runs, self.last, self.width

    def adopt(self, file, state: tuple) -> None:
        """Take rows written elsewhere with the same keys (their `state`, their file open for reading); the probe is
        written here, on the first of them."""
        if self.runs or self.pending:
            raise RuntimeError("rows already written here")
        self.file.close()
        self.file = file
        self.runs, self.last, self.width = [list(run) for run in state[0]], state[1], state[2]
        if self.runs:
            self._write_probe(self.runs[0][0])

    def write(self, r: int, values, height: float | None = None) -> None:
        if r <= self.last:
            raise RuntimeError(f"row {r} written after row {self.last}")
        if self.probe is None:
            self._write_probe(r)
        if self.runs and r == self.last + 1:
            self.runs[-1][1] = r
        else:
            self.flush()
            self.runs.append([r, r, self.file.seek(0, 2)])
        self.last = r
        n = str(r + 1)
        parts = [f'<row r="{n}" ht="{int(height * 4.0 / 3.0 + 0.5) * 0.75:.16g}" customHeight="1">'
                 if height else f'<row r="{n}">']
        add, special = parts.append, _SPECIAL.search
        for (ref, s), value in zip(self.cols, values):
            kind = type(value)
            if kind is str:
                if not value:
                    add(f"{ref}{n}{s}/>")
                elif len(value) < TEXT_MAX // 2 and (_plain(value) or not special(value)):
                    add(f'{ref}{n}{s} t="inlineStr"><is><t>{value}</t></is></c>')
                else:
                    add(f'{ref}{n}{s} t="inlineStr">{inline_text(value)}</c>')
            elif kind is int:
                add(f"{ref}{n}{s}><v>{value:.16G}</v></c>")
            elif value is None:
                add(f"{ref}{n}{s}/>")
            elif kind is dt.date:
                add(f"{ref}{n}{s}><v>{excel_serial(value):.16G}</v></c>")
            else:
                add(self._cell(f"{ref}{n}", s, value))
        add("</row>")
        if len(values) > self.width:
            self.width = min(len(values), len(self.cols))
        self.pending.append("".join(parts))
        if len(self.pending) >= 256:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.file.seek(0, 2)
            self.file.write("".join(self.pending).encode())
            self.pending.clear()

    def _cell(self, ref: str, s: str, value) -> str:
        """A cell of the less common kinds: a (value, format key) pair, a float, a date, anything else."""
        if type(value) is tuple:
            value, key = value
            if key not in self.style:
                raise KeyError(f"format {key!r} is neither a column's nor declared as extra")
            s = self.style[key]
        if value is None or value == "":
            return f"{ref}{s}/>"
        if isinstance(value, dt.date):
            return f"{ref}{s}><v>{excel_serial(value):.16G}</v></c>"
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return f"{ref}{s}><v>{value:.16G}</v></c>"
        return f'{ref}{s} t="inlineStr">{inline_text(str(value))}</c>'

    def _write_probe(self, r: int) -> None:
        """Blank cells on row `r`, one per format, through XlsxWriter: its output names their style index."""
        if len(self.probe_keys) > len(self.cols):
            raise ValueError(f"{len(self.probe_keys)} formats for {len(self.cols)} columns: too many to probe")
        for c, key in enumerate(self.probe_keys):
            self.ws.write_blank(r, c, None, self.formats[key])
        self.probe = r

    def styles(self, probe_xml: str):
        """How to resolve the style marks, from XlsxWriter's XML of the probe row: a (table, delete) pair for
        `bytes.translate`, or {mark: index} when an index has over two digits."""
        found = {}
        for cell in _CELL.finditer(probe_xml):
            attrs = dict(_ATTR.findall(cell.group(1)))
            found[xl_cell_to_rowcol(attrs["r"])[1]] = attrs.get("s", "0")
        index = [found[i].encode() for i in range(len(self.probe_keys))]
        if any(len(x) > 2 for x in index):
            return {_MARKS[2 * i:2 * i + 2]: x for i, x in enumerate(index)}
        table, delete = bytearray(range(256)), bytearray()
        for i, x in enumerate(index):
            tens, units = _MARKS[2 * i], _MARKS[2 * i + 1]
            table[units] = x[-1]
            if len(x) == 2:
                table[tens] = x[0]
            else:
                delete.append(tens)
        return bytes(table), bytes(delete)

    def chunks(self, start: int, end: int, styles, size: int = 1 << 18):
        """The streamed XML between two byte offsets, style marks resolved, in pieces cut after a `</row>`."""
        self.flush()
        self.file.flush()
        self.file.seek(start)
        left, carry = end - start, b""
        while left > 0:
            data = carry + self.file.read(min(size, left))
            left = end - self.file.tell()
            cut = len(data) if left <= 0 else data.rfind(b"</row>") + 6
            if cut < 6:
                carry = data
                continue
            piece, carry = data[:cut], data[cut:]
            if isinstance(styles, dict):
                for mark, index in styles.items():
                    piece = piece.replace(mark, index)
                yield piece
            else:
                yield piece.translate(*styles)

    def close(self) -> None:
        self.file.close()


def _sheet_parts(zin: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part's name in the package (from workbook.xml and its relationships)."""
    rels = ElementTree.fromstring(zin.read("xl/_rels/workbook.xml.rels"))
    target = {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{_PKG_REL}Relationship")}
    book = ElementTree.fromstring(zin.read("xl/workbook.xml"))
    parts = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        t = target[sheet.get(_REL)]
        parts[sheet.get("name")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    return parts


def _dimension(xml: str, rows: SheetRows) -> str:
    """The sheet's `<dimension>` widened to the streamed rows."""
    m = re.search(r'<dimension ref="([^"]+)"/>', xml)
    first, *rest = m.group(1).split(":")
    (r0, c0), (r1, c1) = xl_cell_to_rowcol(first), xl_cell_to_rowcol(rest[0] if rest else first)
    r0, c0 = min(r0, rows.runs[0][0]), min(c0, 0)
    r1, c1 = max(r1, rows.last), max(c1, rows.width - 1)
    ref = xl_rowcol_to_cell(r0, c0) if (r0, c0) == (r1, c1) else f"{xl_rowcol_to_cell(r0, c0)}:{xl_rowcol_to_cell(r1, c1)}"
    return f"{xml[:m.start()]}<dimension ref=\"{ref}\"/>{xml[m.end():]}"


def _merged(xml: str, rows: SheetRows):
    """The sheet part as bytes pieces: XlsxWriter's rows and the streamed runs in row order."""
    start, end = xml.index("<sheetData>") + len("<sheetData>"), xml.index("</sheetData>")
    own = [(int(m.group(1)) - 1, m.group(0)) for m in _ROW.finditer(xml, start, end)]
    probe = next(x for r, x in own if r == rows.probe)
    styles = rows.styles(probe)
    yield _dimension(xml[:start], rows).encode()
    rows.flush()
    rows.file.seek(0, 2)
    offsets = [run[2] for run in rows.runs[1:]] + [rows.file.tell()]
    runs = [(first, last, begin, stop) for (first, last, begin), stop in zip(rows.runs, offsets)]
    i = 0
    for first, last, begin, stop in runs:
        while i < len(own) and own[i][0] < first:
            yield own[i][1].encode()
            i += 1
        while i < len(own) and own[i][0] <= last:
            if own[i][0] != rows.probe:
                raise RuntimeError(f"row {own[i][0]} written both by XlsxWriter and as a streamed row")
            i += 1
        yield from rows.chunks(begin, stop, styles)
    for _, x in own[i:]:
        yield x.encode()
    yield xml[end:].encode()


def assemble(package: bytes, streamed: dict[str, SheetRows], out: Path) -> None:
    """Write XlsxWriter's `package` to `out` with each named sheet's streamed rows merged in."""
    with zipfile.ZipFile(BytesIO(package)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = _sheet_parts(zin)
        by_part = {parts[name]: rows for name, rows in streamed.items() if rows.runs}
        for info in zin.infolist():
            member = zipfile.ZipInfo(info.filename, info.date_time)
            member.compress_type, member.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            rows = by_part.get(info.filename)
            if rows is None:
                zout.writestr(member, zin.read(info))
                continue
            with zout.open(member, "w") as dst:
                for piece in _merged(zin.read(info).decode("utf-8"), rows):
                    dst.write(piece)
