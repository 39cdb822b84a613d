"""The committee workbook of a round: tracking, indicators by unit and cluster, activities, proposals, problems.

Memory does not grow with the number of units: XlsxWriter (public API, constant_memory mode) writes the
formats, headers, totals and signatures, and the data rows are streamed as sheet XML to temporary files
and zipped into its package (reports/sheetxml.py; ~5 times faster than a write call per cell). With
CONSTANT_MEMORY off, every cell goes through XlsxWriter's write calls instead (the reference the tests
compare with). A workbook whose inputs have not changed since it was written is
left as it is (see `fingerprint`).
"""
from __future__ import annotations

import contextlib
import shutil
import datetime as dt
import hashlib
import heapq
import itertools
import json
import math
import operator
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from thidua.reports import officialdoc as D
from thidua.reports import sheetxml
from thidua.fileio import atomic_path
from thidua.store import issues as store_issues
from thidua.store import proposals as store_proposals
from thidua.store import submissions, values as store_values
from thidua.store.crossround import decreases
from thidua.store.store import Store, errors as store_errors
from thidua.store.tracking import decided_at, status_label, status_rows
from thidua.text.numbers import format_number
from thidua.store.definitions import YES
from thidua.store.vocabulary import FILE_STATUS, REPORT_STATUS

SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
FILE_STATUS_VI = FILE_STATUS            # one label per status (store/vocabulary.py)
SHORT_STATUS = REPORT_STATUS
PAGE_INDICATORS = 14       # at most this many indicator columns on one sheet (one page across)
LAYOUT = "3"               # change when the workbook's layout changes: stored workbooks are then rewritten
CONSTANT_MEMORY = True     # data rows streamed (sheetxml), the rest in XlsxWriter's constant_memory mode
META_KEY = "committee_workbook:{round}:{path}"
DEFAULT_FONT = "Calibri 11"   # XlsxWriter's default: the column-width unit of this workbook (as Excel measures it)


def as_datetime(iso: str | None) -> dt.datetime | None:
    """Stored ISO text as a datetime for XlsxWriter (None stays None)."""
    return dt.datetime.fromisoformat(iso) if iso else None


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class _Ordered:
    """Collects a block's write calls (made in any row order) and replays them top to bottom."""

    def __init__(self, ws):
        self.ws, self.calls = ws, []

    def __getattr__(self, method: str):
        return lambda row, *args: self.calls.append((row, len(self.calls), method, args))

    def replay(self) -> None:
        for row, _, method, args in sorted(self.calls, key=lambda call: call[:2]):
            getattr(self.ws, method)(row, *args)


class Book:
    """An XlsxWriter workbook with the official formats and a table writer."""

    def __init__(self, path: Path, plan, rnd, as_of: dt.datetime):
        self.path, self.streamed = Path(path), {}      # sheet name -> its streamed rows (CONSTANT_MEMORY)
        self.package = BytesIO() if CONSTANT_MEMORY else None
        # XlsxWriter's part files go beside the output, not into /tmp: `<temporary output>-parts` is removed by
        # close() and, after a killed run, swept with the output's other temporaries (fileio.remove_stale_temps)
        self.parts = self.path.with_name(self.path.name + "-parts")
        self.parts.mkdir(exist_ok=True)
        self.wb = xlsxwriter.Workbook(str(path) if self.package is None else self.package, {
            "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
            "constant_memory": CONSTANT_MEMORY, "tmpdir": str(self.parts)})
        self.wb.set_properties({"title": f"Tổng hợp {rnd.name}", "author": plan.office_on(rnd.end).issuer_name,
                                "created": dt.datetime(plan.year, 1, 1)})
        self.fmt = D.official_formats(self.wb)
        self.plan, self.rnd, self.as_of = plan, rnd, as_of
        self.cells: list[tuple] = []      # (committee sheet, column, indicator, template sheet, cell) per column
        self.odd: list[str] = []          # values read from another cell than their column's usual one
        self.fmt["small"] = self.wb.add_format({"font_name": D.FONT, "font_size": 10, "border": 1, "text_wrap": True,
                                                "valign": "top"})
        self.fmt["name"] = self.wb.add_format({"font_name": D.FONT, "font_size": 12, "border": 1, "shrink": True,
                                               "valign": "vcenter"})
        self.fmt["status_bad"] = self.wb.add_format({"font_name": D.FONT, "font_size": 12, "border": 1,
                                                     "font_color": "#C00000", "bold": True, "valign": "vcenter"})
        self.fmt["vheader"] = self.wb.add_format({"font_name": D.FONT, "font_size": 10, "border": 1, "bold": True,
                                                  "text_wrap": True, "align": "center", "valign": "vcenter",
                                                  "bg_color": "#D9E1F2"})
        self.fmt["subtotal_text"] = self.wb.add_format({"font_name": D.FONT, "font_size": 12, "border": 1,
                                                        "bold": True, "bg_color": "#F2F2F2"})
        self.fmt["total_text"] = self.wb.add_format({"font_name": D.FONT, "font_size": 12, "border": 1,
                                                     "bold": True, "bg_color": "#E2EFDA"})

    def rows(self, ws, keys: list[str], extra: tuple[str, ...] = ()):
        """The writer of `ws`'s data rows: streamed (constant memory) or XlsxWriter calls per cell."""
        if self.package is None:
            return Rows(self, ws, keys)
        out = self.streamed[ws.get_name()] = sheetxml.SheetRows(ws, keys, self.fmt, extra)
        return out

    def close(self) -> None:
        """Finish the workbook at `path` (the streamed rows zipped into XlsxWriter's package)."""
        try:
            self.wb.close()
            if self.package is not None:
                sheetxml.assemble(self.package.getvalue(), self.streamed, self.path)
        finally:
            for rows in self.streamed.values():
                rows.close()
            shutil.rmtree(self.parts, ignore_errors=True)

    def subtitle(self, extra: str = "") -> str:
        due = f"Hạn nộp: {self.rnd.due.strftime('%d/%m/%Y')}. " if self.rnd.due else ""
        return f"{self.rnd.name}. {due}Số liệu tổng hợp đến {self.as_of.strftime('%H:%M ngày %d/%m/%Y')}.{extra}"

    def sheet(self, name: str, title: str, columns: list[tuple[str, float, str]], header_height: float = 32,
              header_cols: int | None = None):
        """A sheet with the official header (over `header_cols` columns), the title and the table's header row."""
        ws = self.wb.add_worksheet(name)
        ws.widths_ = [width for _, width, _ in columns]
        row = D.write_header(ws, self.fmt, self.plan, (header_cols or len(columns)) - 1, title, self.subtitle(),
                             widths=ws.widths_, default_font=DEFAULT_FONT, office_day=self.rnd.end)
        head_fmt = self.fmt["header"] if header_height <= 48 else self.fmt["vheader"]
        for col, (head, width, _) in enumerate(columns):
            ws.set_column(col, col, width)
            ws.write_string(row, col, head, head_fmt)
        ws.set_row(row, header_height)
        ws.freeze_panes(row + 1, 0)
        return ws, row

    def signature(self, ws, row: int, last_col: int) -> int:
        """«Nơi nhận» and the signature block from `row`, written in row order; returns the next free row."""
        block = _Ordered(ws)
        end = D.write_signature(block, self.fmt, self.plan, row, last_col, widths=ws.widths_,
                                default_font=DEFAULT_FONT, office_day=self.rnd.end)
        block.replay()
        return end

    def put(self, ws, r: int, c: int, value, fmt_key: str) -> None:
        fmt = self.fmt[fmt_key]
        kind = type(value)
        if kind is str and value:
            ws.write_string(r, c, value, fmt)
        elif kind is int or kind is float and math.isfinite(value):
            ws.write_number(r, c, value, fmt)
        elif value is None or value == "":
            ws.write_blank(r, c, None, fmt)
        elif isinstance(value, (dt.date, dt.datetime)):
            ws.write_datetime(r, c, value if isinstance(value, dt.datetime) else
                              dt.datetime.combine(value, dt.time()), fmt)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            ws.write_number(r, c, value, fmt)
        else:
            ws.write_string(r, c, str(value), fmt)

    def table(self, name: str, title: str, columns: list[tuple[str, float, str]], rows: Iterable[list],
              landscape: bool = True, empty: str = "Không có.", signature: bool = False,
              extra: tuple[str, ...] = ()) -> int:
        """A whole list sheet: header, rows, autofilter, print setup; returns the number of rows. A value may
        be a `(value, format key)` pair, its key a column's or one of `extra`."""
        ws, header = self.sheet(name, title, columns)
        out = self.rows(ws, [key for _, _, key in columns], extra)
        r, n = header, 0
        wraps = [(c, width * 1.35, 13.0) if key == "small" else (c, width * 1.1, 15.6)
                 for c, (_, width, key) in enumerate(columns) if key in ("text", "small")]
        for r, values in enumerate(rows, start=header + 1):
            tall = [_lines(v, chars) * line for c, chars, line in wraps
                    if type(v := values[c]) is str and len(v) > chars]     # shorter texts fit the usual height
            height = max(tall, default=0)
            out.write(r, values, height + 2 if height > 15.6 else None)
            n += 1
        if not n:
            r = header + 1
            ws.write_string(r, 0, empty, self.fmt["note"])
        last_col = len(columns) - 1
        ws.autofilter(header, 0, max(r, header + 1), last_col)
        end = r
        if signature:
            end = self.signature(ws, r + 1, last_col)
        D.page_setup(ws, end, last_col, header, landscape)
        return n


class Rows:
    """Writes one sheet's data rows through XlsxWriter's write calls, strictly in order, one column format
    each (a value may be a `(value, format key)` pair to override it): the reference for sheetxml.SheetRows."""

    def __init__(self, book: Book, ws, keys: list[str]):
        self.book, self.ws, self.keys = book, ws, keys
        self.fmts = [book.fmt[k] for k in keys]
        self.last = -1

    def write(self, r: int, values, height: float | None = None) -> None:
        if r <= self.last:
            raise RuntimeError(f"row {r} written after row {self.last}")     # would be lost
        self.last = r
        ws = self.ws
        if height:
            ws.set_row(r, height)
        string, number, blank = ws.write_string, ws.write_number, ws.write_blank
        for c, (value, fmt) in enumerate(zip(values, self.fmts)):
            kind = type(value)
            if kind is str:
                if value:
                    string(r, c, value, fmt)
                else:
                    blank(r, c, None, fmt)
            elif kind is int:
                number(r, c, value, fmt)
            elif value is None:
                blank(r, c, None, fmt)
            elif kind is float and math.isfinite(value):
                number(r, c, value, fmt)
            elif kind is tuple:
                self.book.put(ws, r, c, value[0], value[1])
            else:
                self.book.put(ws, r, c, value, self.keys[c])


def _lines(value, chars: float) -> int:
    """Printed lines a wrapped text needs in a column of `chars` characters (viewers do not autofit)."""
    if not isinstance(value, str) or len(value) <= chars:
        return 1
    per_line = max(1, int(chars * 0.92) - 1)       # words do not break: allow for ragged line ends
    return sum(-(-max(1, len(part)) // per_line) for part in value.split("\n"))


_value = store_values.typed


def _tracking_sheet(book: Book, rows: list[dict]) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 38, "text"),
            ("Khối thi đua", 20, "text"), ("Thư điện tử", 28, "text"), ("Tình trạng", 17, "text"),
            ("Thời điểm nhận", 15, "datetime"), ("Số lỗi", 7, "int"), ("Số tệp đã gửi", 8, "int"),
            ("Tệp đang dùng", 26, "small"), ("Ghi chú", 32, "small")]
    data = ([i, s["unit"], s["name"], s["cluster"], s["email"],
             (status_label(s["status"]), "text" if s["status"] == "ok" else "status_bad"),
             as_datetime(decided_at(s)), s["n_errors"], s["n_files"], s["file_name"], s["note"]]
            for i, s in enumerate(rows, start=1))
    book.table("Theo dõi nộp", "TÌNH HÌNH NỘP BÁO CÁO THI ĐUA CỦA CÁC CÔNG ĐOÀN CƠ SỞ", cols, data,
               signature=True, extra=("status_bad",))


def indicator_groups(plan, round_code: str) -> list[tuple]:
    """The round's indicators in balanced groups of whole contents, each printable one page across."""
    by_content: dict[int, list] = {}
    for ind in plan.indicators_for(round_code):
        by_content.setdefault(ind.content, []).append(ind)
    total = sum(len(v) for v in by_content.values())
    target = -(-total // max(1, -(-total // PAGE_INDICATORS)))
    groups: list[list] = [[]]
    for members in by_content.values():
        if groups[-1] and (len(groups[-1]) >= target or len(groups[-1]) + len(members) > PAGE_INDICATORS):
            groups.append([])
        groups[-1].extend(members)
    return [tuple(g) for g in groups if g]


def _unit_values(store: Store, rows: list[dict], rnd):
    """(row, {code: value}, [(code, sheet, cell)]) per unit of `rows`, in their order, streamed from the store."""
    cursor = store_values.indicator_rows_in_order(store, [s["unit"] for s in rows], rnd.code)
    pending = next(cursor, None)
    for pos, s in enumerate(rows):
        values, cells = {}, []
        while pending is not None and pending[0] == pos:
            _, code, num, text, date, sheet, cell = pending
            values[code] = _value(num, text, date)
            cells.append((code, sheet, cell))
            pending = next(cursor, None)
        yield s, values, cells


def _indicator_sheets(book: Book, store: Store, rows: list[dict], rnd) -> None:
    """One sheet per group of indicators, all filled in one pass over the units."""
    where = store_values.indicator_sources(store, rnd.code)     # the usual source cell; others are listed
    groups = indicator_groups(book.plan, rnd.code)
    sheets = []
    for inds in groups:
        nums = sorted({i.content for i in inds if i.content})
        label = f"{nums[0]}-{nums[-1]}" if len(nums) > 2 else ", ".join(map(str, nums))
        if any(i.content == 0 for i in inds):
            label = f"chung, {label}" if label else "chung"
        name, title = "Chỉ tiêu", "TỔNG HỢP SỐ LIỆU CÁC CHỈ TIÊU THI ĐUA THEO ĐƠN VỊ"
        if len(groups) > 1:
            name, title = f"Chỉ tiêu ND {label}", f"{title} (NỘI DUNG {label})"
        sheets.append(IndicatorSheet(book, name, title, inds, where))
    sheet_of = {ind.code: sheet for sheet in sheets for ind in sheet.inds}
    for s, values, cells in _unit_values(store, rows, rnd):
        for sheet in sheets:
            sheet.unit(s, values)
        for code, sh, ce in cells:
            if where.get(code) != (sh, ce) and code in sheet_of:
                sheet_of[code].odd.append(f"{s['unit']} {code}: {sh}!{ce}")
    for sheet in sheets:
        sheet.finish()


class IndicatorSheet:
    """Units grouped by cluster, one column per indicator, cluster subtotals and the province total.

    Written row by row as the units come; each summary row's cached values are summed on the way."""

    FIXED = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 34, "name"),
             ("Tình trạng", 10, "small")]

    def __init__(self, book: Book, name: str, title: str, inds, where: dict):
        self.book, self.inds, self.odd = book, inds, []
        cols = self.FIXED + [(f"{ind.label} ({ind.unit})", 11, {"date": "date", "bool": "center"}.get(ind.type, "int"))
                             for ind in inds]
        self.ws, self.header = book.sheet(name, title, cols, header_height=110)
        # where each column's figures were read: listed on the sheet «Ô nguồn», not on this printed table
        book.cells.extend((name, xl_col_to_name(len(self.FIXED) + j), ind, *where.get(ind.code, ("", "")))
                          for j, ind in enumerate(inds))
        self.ws.freeze_panes(self.header + 1, 3)
        self.last_col = len(cols) - 1
        self.out = book.rows(self.ws, [key for _, _, key in cols])
        self.codes = [ind.code for ind in inds]
        self.kinds = [ind.type for ind in inds]
        self.r, self.number, self.cluster, self.first = self.header, 0, None, self.header + 1
        self.sub, self.total = [0] * len(inds), [0] * len(inds)

    def _add(self, found: list) -> None:
        """Count «Có» (yes/no), dates given (dates) or add the figure (numbers) into the subtotal and total."""
        sub, total = self.sub, self.total
        for j, (kind, v) in enumerate(zip(self.kinds, found)):
            if v is None:
                continue
            if kind == "bool":
                x = v == YES
            elif kind == "date":
                x = 1
            elif isinstance(v, (int, float)):
                x = v
            else:
                continue
            sub[j] += x
            total[j] += x

    def unit(self, s: dict, values: dict) -> None:
        if s["cluster"] != self.cluster:
            if self.cluster is not None:
                self._summary(f"Cộng {self.cluster}", "subtotal", self.sub, self.first)
            self.cluster, self.first, self.sub = s["cluster"], self.r + 1, [0] * len(self.inds)
        self.r += 1
        self.number += 1
        found = [values.get(code) for code in self.codes]
        self.out.write(self.r, [self.number, s["unit"], s["name"], SHORT_STATUS[s["status"]], *found])
        self._add(found)

    def _summary(self, label: str, kind: str, cached: list, first: int) -> None:
        """A subtotal (SUBTOTAL 9 ignores nested subtotals) or count row, with cached values for viewers."""
        last, ws, n0 = self.r, self.ws, len(self.FIXED)
        self.r += 1
        ws.merge_range(self.r, 0, self.r, n0 - 1, label, self.book.fmt[f"{kind}_text"])
        fmt = self.book.fmt[kind]
        for j, ind in enumerate(self.inds):
            c = n0 + j
            rng_ = f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(last, c)}"
            if ind.type == "bool":
                ws.write_formula(self.r, c, f'=COUNTIF({rng_},"Có")', fmt, cached[j])
            elif ind.type == "date":
                ws.write_formula(self.r, c, f"=SUBTOTAL(2,{rng_})", fmt, cached[j])
            else:
                ws.write_formula(self.r, c, f"=SUBTOTAL(9,{rng_})", fmt, cached[j])

    def finish(self) -> None:
        if self.cluster is not None:
            self._summary(f"Cộng {self.cluster}", "subtotal", self.sub, self.first)
        self._summary("TỔNG CỘNG TOÀN TỈNH", "total", self.total, self.header + 1)
        r, ws, last_col = self.r, self.ws, self.last_col
        ws.autofilter(self.header, 0, r, last_col)
        self.book.odd.extend(self.odd)
        note = ("Ghi chú: dòng cộng của chỉ tiêu Có/Không là số đơn vị trả lời «Có»; của chỉ tiêu ngày là số đơn vị "
                "đã ghi ngày. Ô của biểu mẫu mà mỗi cột được đọc ra: trang «Ô nguồn»; tệp của từng đơn vị: "
                "trang «Nguồn số liệu».")
        ws.merge_range(r + 2, 0, r + 2, last_col, note, self.book.fmt["note"])
        ws.set_row(r + 2, 32)
        D.page_setup(ws, r + 2, last_col, self.header, landscape=True)


def _sources_sheet(book: Book, rows: list[dict]) -> None:
    """The file behind each unit's figures: name, time received and SHA-256 (the name of its archive copy)."""
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 34, "text"),
            ("Tệp đang dùng", 30, "small"), ("Nhận lúc", 15, "datetime"),
            ("Mã băm SHA-256 (tên bản lưu trữ)", 36, "small")]
    data = ([i, s["unit"], s["name"], s["file_name"], as_datetime(s["received_at"]), s["sha256"]]
            for i, s in enumerate((s for s in rows if s["sha256"] and s["status"] in ("ok", "late")), start=1))
    book.table("Nguồn số liệu", "TỆP NGUỒN CỦA SỐ LIỆU TỪNG ĐƠN VỊ", cols, data,
               empty="Chưa có tệp hợp lệ nào.")


def _cells_sheet(book: Book) -> None:
    """Provenance of the indicator sheets: the template sheet and cell each column is read from."""
    cols = [("STT", 5, "center"), ("Trang tổng hợp", 20, "text"), ("Cột", 6, "center"), ("Mã chỉ tiêu", 16, "text"),
            ("Chỉ tiêu", 50, "text"), ("Trang tính của biểu mẫu", 20, "text"), ("Ô", 8, "center")]
    data = ([i, sheet, col, ind.code, f"{ind.label} ({ind.unit})", src_sheet, cell]
            for i, (sheet, col, ind, src_sheet, cell) in enumerate(book.cells, start=1))
    odd = [[len(book.cells) + i, "", "", "", f"Đọc ở ô khác: {text}", "", ""]
           for i, text in enumerate(book.odd, start=1)]
    book.table("Ô nguồn", "Ô CỦA BIỂU MẪU MÀ MỖI CỘT SỐ LIỆU ĐƯỢC ĐỌC RA", cols, itertools.chain(data, odd))


def _activities_sheet(book: Book, store: Store, rnd, names: dict) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 28, "text"),
            ("Ngày", 11, "date"), ("Nội dung số", 8, "center"), ("Mô tả hoạt động", 50, "text"),
            ("Số người tham gia", 10, "int"), ("Nguồn (trang tính, dòng)", 14, "small")]
    cursor = store_values.activity_rows(store, rnd.code)

    def data():
        for i, ((unit, row), fields) in enumerate(itertools.groupby(cursor, key=operator.itemgetter(0, 1)), start=1):
            first = next(fields)
            sheet, a = first[2], {first[3]: _value(*first[4:])}
            for _, _, _, fld, num, text, date in fields:
                a[fld] = text if num is None and date is None else _value(num, text, date)
            yield [i, unit, names.get(unit, unit), a.get("act.date"), a.get("act.content"), a.get("act.description"),
                   a.get("act.participants"), f"{sheet}, dòng {row}"]
    book.table("Hoạt động", "CÁC HOẠT ĐỘNG, SỰ KIỆN CÁC ĐƠN VỊ BÁO CÁO TRONG KỲ", cols, data())


def _proposals_sheet(book: Book, store: Store, rnd, names: dict) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 24, "text"),
            ("Đối tượng", 9, "center"), ("Họ và tên / Tên tập thể", 24, "text"), ("Chức vụ, đơn vị", 20, "text"),
            ("Danh hiệu đề nghị", 18, "text"), ("Hình thức đề nghị", 20, "text"), ("Đạt LĐTT", 7, "center"),
            ("Có sáng kiến", 8, "center"), ("Tỷ lệ LĐTT (%)", 8, "decimal"), ("Kỷ luật", 7, "center"),
            ("Tóm tắt thành tích", 36, "small"), ("Đột xuất", 7, "center"), ("Nguồn (trang tính, dòng)", 13, "small")]
    cursor = store_proposals.proposals_of_round(store, rnd.code)
    data = ([i, r[0], names.get(r[0], r[0]), *r[1:12], f"{r[13]}, dòng {r[12]}"]
            for i, r in enumerate(cursor, start=1))
    book.table("Đề nghị khen thưởng", "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG CỦA CÁC CÔNG ĐOÀN CƠ SỞ", cols, data)


def _problems_sheet(book: Book, store: Store, rnd, names: dict, across: list[dict]) -> None:
    """The issues of the round's files, and after each unit's the round's figures below its earlier report (V022)."""
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 24, "text"),
            ("Tệp", 24, "small"), ("Nhận lúc", 15, "datetime"), ("Tình trạng tệp", 12, "text"),
            ("Mức độ", 9, "center"), ("Trang tính", 12, "text"), ("Ô", 6, "center"), ("Giá trị đã nhập", 16, "small"),
            ("Nội dung vấn đề", 50, "small")]
    where = store_values.indicator_sources(store, rnd.code) if across else {}
    order = {code: i for i, code in enumerate(i.code for i in book.plan.indicators)}
    rounds = [r.code for r in book.plan.rounds]
    below = [(w["unit"], w["file"], w["received_at"], None, "accepted", "warning",
              *where.get(w["indicator"], ("", "")), format_number(w["value"]), w["message"])
             for w in sorted(across, key=lambda w: (w["unit"], order.get(w["indicator"], 0),
                                                    rounds.index(w["earlier_round"])))]  # an indicator's rows together
    cursor = heapq.merge(store_issues.issues_of_round(store, rnd.code), below, key=_by_unit)
    data = ([i, unit or "", names.get(unit, "Không xác định"), name, as_datetime(received),
             FILE_STATUS_VI.get(status, status), SEVERITY_VI.get(sev, sev), sheet, cell, value, msg]
            for i, (unit, name, received, _source, status, sev, sheet, cell, value, msg) in enumerate(cursor, start=1))
    book.table("Vấn đề phát hiện", "CÁC VẤN ĐỀ PHÁT HIỆN TRONG TỆP BÁO CÁO", cols, data,
               empty="Không phát hiện vấn đề nào.")


def _by_unit(row: tuple) -> str:
    return row[0] or ""                   # the store lists the issues of files of no known unit first


def fingerprint(store: Store, plan, units: list, rnd, across: list[dict] = ()) -> str:
    """A hash of everything the round's workbook shows: the layout, the plan's round and indicators, the
    register, the store's submissions (new files, changed statuses) and proposals for the round, and its figures
    below an earlier round's (`across`, which a file of that round changes)."""
    digest = hashlib.sha256(repr((LAYOUT, xlsxwriter.__version__, sorted(plan.meta.items(), key=lambda kv: kv[0]),
                                  rnd, plan.indicators_for(rnd.code))).encode())
    digest.update("\x1e".join(f"{u.code}\x1f{u.name}\x1f{u.cluster}\x1f{u.email}" for u in units).encode())
    for row in submissions.round_signature(store, rnd.code):
        digest.update(repr(row).encode())
    digest.update(repr(store_proposals.round_signature(store, rnd.code)).encode())
    digest.update(repr(across).encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _unchanged(store: Store, key: str, inputs: str, out: Path) -> bool:
    """Whether `out` is the very file written last time from the same inputs."""
    row = store.meta(key)
    if not row:
        return False
    try:
        stored = json.loads(row)
    except ValueError:
        return False
    return stored.get("inputs") == inputs and stored.get("sha256") == _file_sha256(out)


def write_committee_workbook(ws, round_code: str, out: Path, force: bool = False) -> Path:
    """Write the committee's print-ready workbook for one round to `out` (atomically); return its path.

    Unless `force`, a workbook that the store says was written from the same inputs (and is unchanged on
    disk) is left as it is."""
    plan, unit_list = ws.plan, list(ws.units)
    rnd = plan.round(round_code)
    out = Path(out)
    with ws.store() as store:
        across = decreases(store, plan, round_code, later_only=True)
        inputs = fingerprint(store, plan, unit_list, rnd, across)
        key = META_KEY.format(round=rnd.code, path=out.resolve())
        if not force and _unchanged(store, key, inputs, out):
            return out
        rows = status_rows(ws, round_code, store)
        order = {u: i for i, u in enumerate(dict.fromkeys(r["cluster"] for r in rows))}
        rows.sort(key=lambda r: (order[r["cluster"]], r["unit"]))
        names = {r["unit"]: r["name"] for r in rows}
        with atomic_path(out) as tmp:
            book = Book(tmp, plan, rnd, _now())
            _tracking_sheet(book, rows)
            if plan.indicators_for(round_code):
                _indicator_sheets(book, store, rows, rnd)
            if "activities" in rnd.sheets:
                _activities_sheet(book, store, rnd, names)
            if "proposals" in rnd.sheets:
                _proposals_sheet(book, store, rnd, names)
            _problems_sheet(book, store, rnd, names, across)
            if plan.indicators_for(round_code):
                _cells_sheet(book)
                _sources_sheet(book, rows)
            book.close()
        with contextlib.suppress(*store_errors()):   # a read-only store: the workbook is just rewritten next time
            store.set_meta(key, json.dumps({"inputs": inputs, "sha256": _file_sha256(out)}))
    return out
