"""The one reader: identity from the hidden metadata, then every input cell the template spec names."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import PurePath

from thidua.templates import spec as S
from thidua.errors import ThiDuaError
from thidua.intake.messages import make_issue
from thidua.intake.parse import fold
from thidua.plan.model import Plan, version_year
from thidua.intake.result import Issue, SubmissionResult
from thidua.intake.shown import ERROR_VALUES
from thidua.intake.safety import Book, Grid, Unreadable, a1 as xl_rowcol_to_cell, filled, open_book, sniff
from thidua.templates.signing import fingerprint, verify

HEADER_SEARCH_ROWS = 60
MAX_TABLE_ROWS = 2000


@dataclass
class RawInput:
    """One non-empty input cell as found: where it is, what it means, its raw value."""

    sheet: S.Sheet
    sheet_name: str
    address: str
    field: S.Field
    value: object
    row: int | None = None
    percent: bool = False       # the cell shows its number as a percentage (Excel stores 85% as 0.85)
    styled: bool = True         # the file says how its numbers are shown (else a bare 1 may have been 100%)


@dataclass
class Reading:
    """What the reader found; `validate` turns it into typed values and issues."""

    result: SubmissionResult
    spec: S.TemplateSpec | None = None
    inputs: list[RawInput] = field(default_factory=list)
    places: dict[tuple[str, int | None], tuple[str, str]] = field(default_factory=dict)  # (field, row) -> (sheet, cell)
    used_rows: dict[str, list[int]] = field(default_factory=dict)
    blocked: set[tuple[str, int | None]] = field(default_factory=set)   # inputs already reported (formulas)
    totals: dict[str, tuple[str, str, object]] = field(default_factory=dict)
    book: Book | None = None

    def add(self, issue: Issue) -> None:
        self.result.issues.append(issue)


def read_bytes(data: bytes, name: str, plan: Plan, key: bytes | None, units: dict | None = None,
               expect_unit: str | None = None, expect_round: str | None = None,
               identity_only: bool = False, sha256: str | None = None) -> Reading:
    """Read a submission from memory; problems become issues, never exceptions. `identity_only`: only the meta
    sheet (unit, round, version, key id), as a check that needs no figures asks. `sha256`: the bytes' hash, when
    the caller has computed it already (a consolidation hashes every file before it reads it)."""
    reading = Reading(SubmissionResult(file=str(name), sha256=sha256 or hashlib.sha256(data).hexdigest()))
    base = PurePath(name).name
    try:
        fmt, warnings = sniff(data, name)
        reading.result.issues += warnings
        book = open_book(data, fmt, base)
        reading.book = book
        if book.macros:
            reading.add(make_issue("F006", file=base))
        if book.external_links:
            reading.add(make_issue("S009", detail=f"{book.external_links} liên kết"))
        if not _identity(reading, book, plan, key, units, expect_unit, expect_round):
            reading.result.unreadable = True
            return reading
        if identity_only:
            return reading
        for sheet in reading.spec.sheets:
            if sheet.key != "instructions":
                _read_sheet(reading, book, sheet)
    except Unreadable as exc:
        reading.add(exc.issue)
        reading.result.unreadable = True
    except Exception as exc:  # a damaged file must never stop the others
        reading.add(make_issue("F012", file=base, detail=f"{type(exc).__name__}: {str(exc)[:120]}"))
        reading.result.unreadable = True
    return reading


def iso_moment(text: str) -> object:
    """An .xlsx date cell (t="d", ISO 8601 text, as SheetJS writes dates) as the wall-clock moment it names
    (its zone dropped: a date-only field then judges the time part); the text itself when it is no date."""
    import datetime as dt
    try:
        return dt.datetime.fromisoformat(text.strip()).replace(tzinfo=None)
    except ValueError:
        return text


# ------------------------------------------------------------------ identity
def _meta_values(grid: Grid) -> dict[str, str]:
    out = {}
    for key in S.META_KEYS:
        row, col = S.TemplateSpec.meta_cell(key)
        if str(grid.get(row, 0)).strip() == key:
            out[key] = str(grid.get(row, col)).strip()
    if len(out) < len(S.META_KEYS):     # rows moved or sorted: find the keys in column A
        for r, c in grid.keys():
            name = str(grid.get(r, c)).strip()
            if c == 0 and name in S.META_KEYS and name not in out:
                out[name] = str(grid.get(r, 1)).strip()
    return out


def _identity(reading: Reading, book: Book, plan: Plan, key, units, expect_unit, expect_round) -> bool:
    res = reading.result
    if S.META_SHEET not in book.names:
        reading.add(make_issue("M001", sheet=S.META_SHEET))
        return False
    meta = _meta_values(book.grid(S.META_SHEET))
    missing = [k for k in S.META_KEYS if k not in S.OPTIONAL_META and not meta.get(k)]
    if meta.get("app") != S.APP_MARK or missing:
        reading.add(make_issue("M002", sheet=S.META_SHEET, detail=", ".join(missing) or "dấu ứng dụng"))
        return False
    res.unit, res.round, res.template_version = meta["unit"], meta["round"], meta["version"]
    try:
        plan.round(res.round)
    except (ThiDuaError, KeyError, ValueError):
        reading.add(make_issue("M007", sheet=S.META_SHEET, round=res.round))
        return False
    if res.template_version != plan.template_version:
        made_for = version_year(res.template_version)
        if made_for is not None and made_for != plan.year:       # last year's report: never this year's figures
            reading.add(make_issue("X020", sheet=S.META_SHEET, value=res.template_version, found=str(made_for),
                                   expected=str(plan.year)))
        else:
            reading.add(make_issue("M006", sheet=S.META_SHEET, found=res.template_version,
                                   expected=plan.template_version))
    signature = meta.get("signature", "")
    res.key_id = meta.get("key") or None
    if key is None:
        reading.add(make_issue("M010", sheet=S.META_SHEET))
    elif not signature:
        reading.add(make_issue("M003", sheet=S.META_SHEET))
    elif res.key_id and res.key_id != fingerprint(key):       # another key signed it: not «modified»
        reading.add(make_issue("M012", sheet=S.META_SHEET, found=res.key_id, expected=fingerprint(key)))
    elif not verify(key, res.unit, res.round, res.template_version, signature):
        reading.add(make_issue("M004", sheet=S.META_SHEET, unit=res.unit, round=res.round))
    if units is not None and res.unit not in units:
        reading.add(make_issue("M005", sheet=S.META_SHEET, unit=res.unit))
    elif units is not None and not getattr(units[res.unit], "active", True):   # kept in the register for its history
        gone = units[res.unit]
        reading.add(make_issue("M013", sheet=S.META_SHEET, unit=res.unit, status=gone.status_label.lower(),
                               successor=f"đơn vị kế tục {gone.successor}" if gone.successor else "không có đơn vị kế tục"))
    if expect_unit and expect_unit != res.unit:
        reading.add(make_issue("M008", sheet=S.META_SHEET, unit=res.unit, expected=expect_unit))
    if expect_round and expect_round != res.round:
        reading.add(make_issue("M009", sheet=S.META_SHEET, round=res.round, expected=expect_round))
    reading.spec = S.template_spec(plan, res.round)
    return True


# ------------------------------------------------------------------ sheets and layout
def _find_sheet(reading: Reading, book: Book, sheet: S.Sheet) -> str | None:
    if sheet.name in book.names:
        return sheet.name
    wanted = fold(sheet.name)
    known = {s.name for s in reading.spec.sheets} | {S.META_SHEET, S.LISTS_SHEET}
    candidates = [n for n in book.names if n not in known]
    found = next((n for n in candidates if fold(n) == wanted), None)
    if found is None:
        title = fold(sheet.title)
        found = next((n for n in candidates if fold(str(book.grid(n).get(S.TITLE_ROW, 0))) == title), None)
    if found is None:
        reading.add(make_issue("S001", sheet=sheet.name))
    else:
        reading.add(make_issue("S002", sheet=sheet.name, found=found))
    return found


def _same(value: object, text: str) -> bool:
    return isinstance(value, str) and (value == text or fold(value) == fold(text))


def _at_place(grid: Grid, row: int, col: int, text: str) -> bool:
    value = grid.get(row, col)
    return value == text or _same(value, text)


@dataclass
class _Layout:
    dr: int                     # rows the header moved by
    cols: dict[int, int]        # template column -> column in the file
    dc: int = 0                 # the usual column shift, for columns without a header

    def __post_init__(self) -> None:
        shifts: dict[int, int] = {}
        for k, v in self.cols.items():
            shifts[v - k] = shifts.get(v - k, 0) + 1
        self.dc = max(shifts.items(), key=itemgetter(1))[0] if shifts else 0     # the first most common

    def col(self, c: int) -> int:
        return self.cols.get(c, c + self.dc)


def _layout(reading: Reading, grid: Grid, sheet: S.Sheet, name: str) -> _Layout | None:
    if all(_at_place(grid, S.HEADER_ROW, c, t) for c, t, _ in sheet.headers):
        return _Layout(0, {c: c for c, _, _ in sheet.headers})
    wanted = {fold(t): c for c, t, _ in sheet.headers}
    spots: dict[int, dict[int, int]] = {}
    for r, c in grid.keys():
        if r < HEADER_SEARCH_ROWS:
            value = grid.get(r, c)
            if isinstance(value, str) and fold(value) in wanted:
                spots.setdefault(r, {})[wanted[fold(value)]] = c
    if not spots:
        reading.add(make_issue("S007", sheet=name, detail="không thấy tiêu đề cột nào"))
        return None
    row = max(spots, key=lambda r: len(spots[r]))
    if len(spots[row]) * 2 < len(sheet.headers):
        reading.add(make_issue("S007", sheet=name, detail=f"chỉ thấy {len(spots[row])}/{len(sheet.headers)} tiêu đề"))
        return None
    layout = _Layout(row - S.HEADER_ROW, spots[row])
    moved_cols = [c for c, v in spots[row].items() if v != c]
    if layout.dr:
        reading.add(make_issue("S006", sheet=name, expected=S.HEADER_ROW + 1, found=row + 1))
    elif moved_cols:
        reading.add(make_issue("S004", sheet=name, detail=f"{len(moved_cols)} cột bị dời do chèn hoặc xóa cột"))
    return layout


def _read_sheet(reading: Reading, book: Book, sheet: S.Sheet) -> None:
    name = _find_sheet(reading, book, sheet)
    if name is None:
        return
    if name in book.hidden:
        reading.add(make_issue("S003", sheet=name))
    grid = book.grid(name)
    layout = _layout(reading, grid, sheet, name)
    if layout is None:
        return
    if sheet.cells:
        _read_cells(reading, grid, sheet, name, layout)
    if sheet.table:
        _read_table(reading, grid, sheet, name, layout)


def _anchor(cell: S.Cell) -> tuple[int, str]:
    """The label that identifies a cell's row: the code shown on the row, or the field's label."""
    return next(((c, v) for c, v in cell.display if isinstance(v, str)), (S.FORM_LABEL_COL, cell.field.label))


_PLANS: dict[int, tuple] = {}


def _cells_plan(sheet: S.Sheet) -> dict[int, tuple[int, str]]:
    """Row -> the label that identifies it, computed once per spec sheet."""
    cached = _PLANS.get(id(sheet))
    if cached is None or cached[0] is not sheet:
        anchors: dict[int, tuple[int, str]] = {}
        for cell in sheet.cells:
            if cell.display or sheet.key == "info":
                anchors.setdefault(cell.row, _anchor(cell))
        cached = _PLANS[id(sheet)] = (sheet, anchors)
    return cached[1]


def _read_cells(reading: Reading, grid: Grid, sheet: S.Sheet, name: str, layout: _Layout) -> None:
    anchors = _cells_plan(sheet)
    rows: dict[int, int | None] = {}
    index: dict[int, dict[str, list[int]]] = {}
    moved = []
    dr, cols, dc = layout.dr, layout.cols, layout.dc
    for row, (col, text) in anchors.items():
        fcol = cols.get(col, col + dc)                     # layout.col
        if _at_place(grid, row + dr, fcol, text):
            rows[row] = row + dr
            continue
        if fcol not in index:
            index[fcol] = {}
            for r, c in grid.keys():
                if c == fcol and isinstance(grid.get(r, c), str):
                    index[fcol].setdefault(fold(grid.get(r, c)), []).append(r)
        hits = index[fcol].get(fold(text), [])
        if len(hits) == 1:
            rows[row] = hits[0]
            moved.append((text, row + 1, hits[0] + 1))
        else:
            rows[row] = None
            detail = "không còn trong trang" if not hits else f"xuất hiện {len(hits)} lần: dòng " + ", ".join(
                str(h + 1) for h in hits)
            label = text if len(text) < 40 else text[:39] + "…"
            reading.add(make_issue("S005", sheet=name, cell=xl_rowcol_to_cell(row, fcol), label=label, detail=detail))
    if moved:
        sample = "; ".join(f"«{t}» dòng {a} → {b}" for t, a, b in moved[:3])
        reading.add(make_issue("S004", sheet=name, detail=f"{len(moved)} dòng bị dời ({sample})"))
    places = reading.places
    for cell in sheet.cells:
        frow = rows.get(cell.row, cell.row + dr)
        if frow is None:
            continue
        fcol = cols.get(cell.col, cell.col + dc)           # layout.col
        address = xl_rowcol_to_cell(frow, fcol)
        if cell.prefill is not None:                       # not an input
            if cell.prefill == "unit.code":
                _check_unit_cell(reading, grid.get(frow, fcol), name, address)
            continue
        places[(cell.field.key, None)] = (name, address)
        _take(reading, grid, sheet, name, frow, fcol, cell.field, None, address)
    if sheet.total_row is not None:
        scores = [c for c in sheet.cells if c.field.key.startswith("score.")]
        last = rows.get(scores[-1].row)
        if last is not None:
            fcol = layout.col(scores[0].col)
            if grid.knows_formulas and (last + 1, fcol) not in grid.formulas:   # never trust a cached result
                reading.totals[sheet.key] = (name, xl_rowcol_to_cell(last + 1, fcol), grid.get(last + 1, fcol))


def _check_unit_cell(reading: Reading, value: object, name: str, address: str) -> None:
    unit = reading.result.unit
    if value not in ("", None) and str(value).strip() != unit:
        reading.add(make_issue("M011", sheet=name, cell=address, field="unit.code", value=value, unit=unit))


def _read_table(reading: Reading, grid: Grid, sheet: S.Sheet, name: str, layout: _Layout) -> None:
    table = sheet.table
    first = table.first_row + layout.dr
    used = []
    cols = [(col, layout.col(col.col)) for col in table.columns]
    places = reading.places
    for r in grid.rows_with_data({fc for _, fc in cols}, first)[:MAX_TABLE_ROWS]:
        index = r - first + 1
        used.append(index)
        for col, fc in cols:
            address = xl_rowcol_to_cell(r, fc)
            places[(col.field.key, index)] = (name, address)
            _take(reading, grid, sheet, name, r, fc, col.field, index, address)
    reading.used_rows[sheet.key] = used
    if used and used[-1] > table.n_rows:
        reading.add(make_issue("S011", sheet=name, found=used[-1], expected=table.n_rows))


def _take(reading: Reading, grid: Grid, sheet: S.Sheet, name: str, r: int, c: int, f: S.Field,
          row: int | None, address: str | None = None) -> None:
    address = address or xl_rowcol_to_cell(r, c)
    if grid.merged:
        for r0, c0, r1, c1 in grid.merged:
            if r0 <= r <= r1 and c0 <= c <= c1 and (r1 > r0 or c1 > c0):
                span = f"{xl_rowcol_to_cell(r0, c0)}:{xl_rowcol_to_cell(r1, c1)}"
                reading.add(make_issue("S008", sheet=name, cell=address, field=f.key, detail=span))
                break
    at, shown = (r, c), grid.shown
    formula = grid.formulas.get(at) if grid.formulas else None
    if formula:
        reading.add(make_issue("S010", sheet=name, cell=address, field=f.key, value=formula))
        reading.blocked.add((f.key, row))
        return
    error = shown.errors.get(at) if shown.errors else None
    if error:
        reading.add(make_issue("V017", sheet=name, cell=address, field=f.key, value=error, label=f.label,
                               meaning=ERROR_VALUES.get(error, "lỗi công thức")))
        reading.blocked.add((f.key, row))
        return
    value = grid.get(r, c)
    if value == "" or value is None:                   # not filled (the usual blank input)
        return
    if shown.dates and isinstance(value, str) and at in shown.dates:
        value = iso_moment(value)
    if filled(value):
        reading.inputs.append(RawInput(sheet, name, address, f, value, row, at in shown.percent, shown.styled))
