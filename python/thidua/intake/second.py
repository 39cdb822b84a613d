"""The second opinion: a reader made for each format (openpyxl, xlrd, odfpy) for files python-calamine cannot read."""
from __future__ import annotations

import datetime as dt
import io
import re


def _dense(cells: dict[tuple[int, int], object]) -> list[list]:
    """Rows anchored at A1, "" where nothing is, as python-calamine gives them."""
    if not cells:
        return []
    n_rows = max(r for r, _ in cells) + 1
    n_cols = max(c for _, c in cells) + 1
    rows = [[""] * n_cols for _ in range(n_rows)]
    for (r, c), v in cells.items():
        rows[r][c] = v
    return rows


def _plain(value: object) -> object:
    """A value the way python-calamine types it: a date without a time is a date."""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return "" if value is None else value


# ------------------------------------------------------------------ .xlsx / .xlsm
class XlsxBook:
    """openpyxl in read-only mode (it finds the parts from the content types and relationships)."""

    def __init__(self, data: bytes) -> None:
        import openpyxl
        self.wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        self.names = list(self.wb.sheetnames)
        self.hidden = {ws.title for ws in self.wb.worksheets if ws.sheet_state != "visible"}

    def rows(self, name: str) -> tuple[list, list]:
        ws = self.wb[name]
        ws.reset_dimensions()            # never trust the stored <dimension>: read every row there is
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                value = getattr(cell, "value", None)
                if value is not None and value != "":
                    cells[(cell.row - 1, cell.column - 1)] = _plain(value)
        return _dense(cells), []        # merges and formulas come from the sheet-xml scan


# ------------------------------------------------------------------ .xls
class XlsBook:
    """xlrd (BIFF 2-8), with formatting so that merged ranges are known."""

    def __init__(self, data: bytes) -> None:
        import xlrd
        self.xlrd = xlrd
        self.wb = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
        self.names = self.wb.sheet_names()
        self.hidden = {self.wb.sheet_by_index(i).name for i in range(self.wb.nsheets)
                       if self.wb.sheet_by_index(i).visibility}

    def rows(self, name: str) -> tuple[list, list]:
        x, ws = self.xlrd, self.wb.sheet_by_name(name)
        cells = {}
        for r in range(ws.nrows):
            for c in range(ws.row_len(r)):
                kind, value = ws.cell_type(r, c), ws.cell_value(r, c)
                if kind in (x.XL_CELL_EMPTY, x.XL_CELL_BLANK):
                    continue
                if kind == x.XL_CELL_DATE:
                    value = _plain(x.xldate_as_datetime(value, self.wb.datemode))
                elif kind == x.XL_CELL_BOOLEAN:
                    value = bool(value)
                elif kind == x.XL_CELL_ERROR:
                    value = x.error_text_from_code.get(value, "#N/A")
                cells[(r, c)] = value
        merged = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in ws.merged_cells]
        return _dense(cells), merged


# ------------------------------------------------------------------ .ods
_DURATION = re.compile(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?")


class OdsBook:
    """odfpy: every table's rows and cells, repeats expanded (empty ones are not), merges from the spans."""

    def __init__(self, data: bytes) -> None:
        from odf.opendocument import load
        from odf.namespaces import STYLENS, TABLENS
        self.T, self.S = TABLENS, STYLENS
        from odf.namespaces import OFFICENS
        self.doc = load(io.BytesIO(data))
        sheets = [n for n in self.doc.body.childNodes if _qname(n) == (OFFICENS, "spreadsheet")]
        self.tables = {t.getAttrNS(TABLENS, "name"): t for s in sheets for t in s.childNodes
                       if _qname(t) == (TABLENS, "table")}
        self.names = list(self.tables)
        hidden_styles = set()
        for style in self.doc.automaticstyles.childNodes:
            for prop in getattr(style, "childNodes", []):
                if _qname(prop) == (STYLENS, "table-properties") and prop.getAttrNS(TABLENS, "display") == "false":
                    hidden_styles.add(style.getAttrNS(STYLENS, "name"))
        self.hidden = {n for n, t in self.tables.items() if t.getAttrNS(TABLENS, "style-name") in hidden_styles}

    def _rows_of(self, node):
        for child in node.childNodes:
            if _qname(child) == (self.T, "table-row"):
                yield child
            elif _qname(child) in ((self.T, "table-header-rows"), (self.T, "table-rows"), (self.T, "table-row-group")):
                yield from self._rows_of(child)

    def rows(self, name: str) -> tuple[list, list]:
        T = self.T
        cells, merged, r = {}, [], 0
        for row in self._rows_of(self.tables[name]):
            repeat_rows = int(row.getAttrNS(T, "number-rows-repeated") or 1)
            c, found = 0, {}
            for cell in row.childNodes:
                if _qname(cell) not in ((T, "table-cell"), (T, "covered-table-cell")):
                    continue
                repeat = int(cell.getAttrNS(T, "number-columns-repeated") or 1)
                value = _ods_value(cell) if cell.qname == (T, "table-cell") else ""
                spans = int(cell.getAttrNS(T, "number-rows-spanned") or 1), \
                    int(cell.getAttrNS(T, "number-columns-spanned") or 1)
                if spans != (1, 1):
                    merged.append((r, c, r + spans[0] - 1, c + spans[1] - 1))
                if value != "":
                    for k in range(repeat):
                        found[c + k] = value
                c += repeat
            if found:
                for k in range(repeat_rows):
                    for col, value in found.items():
                        cells[(r + k, col)] = value
            r += repeat_rows
        return _dense(cells), merged


def _qname(node) -> tuple | None:
    """(namespace, name) of an element; None for text nodes."""
    return getattr(node, "qname", None)


def _ods_value(cell) -> object:
    from odf.namespaces import OFFICENS, TEXTNS
    kind = cell.getAttrNS(OFFICENS, "value-type")
    if kind in ("float", "percentage", "currency"):
        number = float(cell.getAttrNS(OFFICENS, "value"))
        return int(number) if number.is_integer() and "." not in cell.getAttrNS(OFFICENS, "value") else number
    if kind == "boolean":
        return cell.getAttrNS(OFFICENS, "boolean-value") == "true"
    if kind == "date":
        text = cell.getAttrNS(OFFICENS, "date-value")
        return dt.date.fromisoformat(text) if len(text) == 10 else _plain(dt.datetime.fromisoformat(text))
    if kind == "time":
        m = _DURATION.fullmatch(cell.getAttrNS(OFFICENS, "time-value") or "")
        if m:
            d, h, mi, s = (float(x or 0) for x in m.groups())
            return dt.timedelta(days=d, hours=h, minutes=mi, seconds=s)
    paragraphs = [p for p in cell.childNodes if _qname(p) == (TEXTNS, "p")]
    return "\n".join(_text(p) for p in paragraphs)


def _text(node) -> str:
    from odf.namespaces import TEXTNS
    out = []
    for child in node.childNodes:
        if child.nodeType == child.TEXT_NODE:
            out.append(child.data)
        elif _qname(child) == (TEXTNS, "s"):
            out.append(" " * int(child.getAttrNS(TEXTNS, "c") or 1))
        elif _qname(child) == (TEXTNS, "tab"):
            out.append("\t")
        elif _qname(child) == (TEXTNS, "line-break"):
            out.append("\n")
        else:
            out.append(_text(child))
    return "".join(out)


READERS = {"xlsx": XlsxBook, "xls": XlsBook, "ods": OdsBook}
NAMES = {"xlsx": "openpyxl", "xls": "xlrd", "ods": "odfpy"}
