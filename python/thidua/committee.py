"""The committee workbook of a round: tracking, indicators by unit and cluster, activities, proposals, problems."""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from . import officialdoc as D
from . import store
from .errors import ThiDuaError
from .fileio import atomic_path
from .tracking import status_label, status_rows

SEVERITY_VI = {"error": "Lỗi", "warning": "Cảnh báo"}
FILE_STATUS_VI = {"accepted": "Đang dùng", "superseded": "Đã được thay", "rejected": "Bị trả lại",
                  "unreadable": "Không đọc được"}
SHORT_STATUS = {"ok": "Đúng hạn", "late": "Trễ hạn", "errors": "Có lỗi", "missing": "Chưa nộp"}
PAGE_INDICATORS = 14       # at most this many indicator columns on one sheet (one page across)


def as_datetime(iso: str | None) -> dt.datetime | None:
    """Stored ISO text as a datetime for XlsxWriter (None stays None)."""
    return dt.datetime.fromisoformat(iso) if iso else None


class Book:
    """An XlsxWriter workbook with the official formats and a table writer."""

    def __init__(self, path: Path, plan, rnd, as_of: dt.datetime):
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                                  "strings_to_urls": False})
        self.wb.set_properties({"title": f"Tổng hợp {rnd.name}", "author": self.issuer(plan),
                                "created": dt.datetime(plan.year, 1, 1)})
        self.fmt = D.official_formats(self.wb)
        self.plan, self.rnd, self.as_of = plan, rnd, as_of
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

    @staticmethod
    def issuer(plan) -> str:
        return str(plan.meta.get("issuer", "")).capitalize()

    def subtitle(self, extra: str = "") -> str:
        due = f"Hạn nộp: {self.rnd.due.strftime('%d/%m/%Y')}. " if self.rnd.due else ""
        return f"{self.rnd.name}. {due}Số liệu tổng hợp đến {self.as_of.strftime('%H:%M ngày %d/%m/%Y')}.{extra}"

    def sheet(self, name: str, title: str, columns: list[tuple[str, float, str]], header_height: float = 32,
              header_cols: int | None = None):
        """A sheet with the official header (over `header_cols` columns), the title and the table's header row."""
        ws = self.wb.add_worksheet(name)
        row = D.write_header(ws, self.fmt, self.plan, (header_cols or len(columns)) - 1, title, self.subtitle())
        for col, (head, width, _) in enumerate(columns):
            ws.set_column(col, col, width)
            ws.write_string(row, col, head, self.fmt["header"] if header_height <= 48 else self.fmt["vheader"])
        ws.set_row(row, header_height)
        ws.freeze_panes(row + 1, 0)
        return ws, row

    def put(self, ws, r: int, c: int, value, fmt_key: str) -> None:
        fmt = self.fmt[fmt_key]
        kind = type(value)
        if kind is str and value:
            ws.write_string(r, c, value, fmt)
        elif kind is int or kind is float:
            ws.write_number(r, c, value, fmt)
        elif value is None or value == "":
            ws.write_blank(r, c, None, fmt)
        elif isinstance(value, (dt.date, dt.datetime)):
            ws.write_datetime(r, c, value if isinstance(value, dt.datetime) else
                              dt.datetime.combine(value, dt.time()), fmt)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(r, c, value, fmt)
        else:
            ws.write_string(r, c, str(value), fmt)

    def table(self, name: str, title: str, columns: list[tuple[str, float, str]], rows: list[list],
              landscape: bool = True, empty: str = "Không có.", signature: bool = False) -> int:
        """A whole list sheet: header, rows, autofilter, print setup; returns the number of rows."""
        ws, header = self.sheet(name, title, columns)
        r = header
        wraps = [(c, width * 1.35, 13.0) if key == "small" else (c, width * 1.1, 15.6)
                 for c, (_, width, key) in enumerate(columns) if key in ("text", "small")]
        for r, values in enumerate(rows, start=header + 1):
            height = max([_lines(values[c], chars) * line for c, chars, line in wraps] or [0])
            if height > 15.6:
                ws.set_row(r, height + 2)
            for c, value in enumerate(values):
                fmt_key = columns[c][2]
                if isinstance(value, tuple):
                    value, fmt_key = value
                self.put(ws, r, c, value, fmt_key)
        if not rows:
            r = header + 1
            ws.write_string(r, 0, empty, self.fmt["note"])
        last_col = len(columns) - 1
        ws.autofilter(header, 0, max(r, header + 1), last_col)
        end = r
        if signature:
            end = D.write_signature(ws, self.fmt, self.plan, r + 1, last_col)
        D.page_setup(ws, end, last_col, header, landscape)
        return len(rows)


def _lines(value, chars: float) -> int:
    """Printed lines a wrapped text needs in a column of `chars` characters (viewers do not autofit)."""
    if not isinstance(value, str) or len(value) <= chars:
        return 1
    per_line = max(1, int(chars * 0.92) - 1)       # words do not break: allow for ragged line ends
    return sum(-(-max(1, len(part)) // per_line) for part in value.split("\n"))


def _value(num, text, date):
    if num is not None:
        return int(num) if float(num).is_integer() else num
    if date is not None:
        return dt.date.fromisoformat(date)
    return text


def _fetch(conn: sqlite3.Connection, sql: str, args: tuple = ()) -> list[tuple]:
    return conn.execute(sql, args).fetchall()


def _tracking_sheet(book: Book, rows: list[dict]) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 38, "text"),
            ("Khối thi đua", 20, "text"), ("Thư điện tử", 28, "text"), ("Tình trạng", 17, "text"),
            ("Thời điểm nhận", 15, "datetime"), ("Số lỗi", 7, "int"), ("Số tệp đã gửi", 8, "int"),
            ("Tệp đang dùng", 26, "small"), ("Ghi chú", 32, "small")]
    data = []
    for i, s in enumerate(rows, start=1):
        status = (status_label(s["status"]), "text" if s["status"] == "ok" else "status_bad")
        data.append([i, s["unit"], s["name"], s["cluster"], s["email"], status, as_datetime(s["received_at"]),
                     s["n_errors"], s["n_files"], s["file_name"], s["note"]])
    book.table("Theo dõi nộp", "TÌNH HÌNH NỘP BÁO CÁO THI ĐUA CỦA CÁC CÔNG ĐOÀN CƠ SỞ", cols, data,
               signature=True)


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


def _indicator_sheets(book: Book, conn, rows: list[dict], rnd) -> None:
    values: dict[tuple[str, str], object] = {}
    for unit, code, num, text, date in _fetch(conn, "SELECT unit, code, value_num, value_text, value_date "
                                              "FROM indicator_values WHERE round=?", (rnd.code,)):
        values[(unit, code)] = _value(num, text, date)
    where: dict[str, tuple] = {}       # the usual source cell of each indicator; others are listed
    for code, sheet, cell, _n in _fetch(conn, "SELECT code, sheet, cell, count(*) AS n FROM indicator_values "
                                        "WHERE round=? GROUP BY code, sheet, cell ORDER BY n", (rnd.code,)):
        where[code] = (sheet, cell)
    odd = [(c, f"{u} {c}: {sh}!{ce}") for u, c, sh, ce in _fetch(
        conn, "SELECT unit, code, sheet, cell FROM indicator_values WHERE round=?", (rnd.code,))
        if where.get(c) != (sh, ce)]
    groups = indicator_groups(book.plan, rnd.code)
    for inds in groups:
        nums = sorted({i.content for i in inds if i.content})
        label = f"{nums[0]}-{nums[-1]}" if len(nums) > 2 else ", ".join(map(str, nums))
        if any(i.content == 0 for i in inds):
            label = f"chung, {label}" if label else "chung"
        name, title = "Chỉ tiêu", "TỔNG HỢP SỐ LIỆU CÁC CHỈ TIÊU THI ĐUA THEO ĐƠN VỊ"
        if len(groups) > 1:
            name, title = f"Chỉ tiêu ND {label}", f"{title} (NỘI DUNG {label})"
        codes = {i.code for i in inds}
        _indicator_sheet(book, name, title, inds, values, rows, where, [o for c, o in odd if c in codes])


def _indicator_sheet(book: Book, name: str, title: str, inds, values: dict, rows: list[dict], where: dict,
                     odd: list[str]) -> None:
    """Units grouped by cluster, one column per indicator, cluster subtotals and the province total."""
    fixed = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 34, "name"),
             ("Tình trạng", 10, "small")]
    cols = fixed + [(f"{ind.label} ({ind.unit})" + (f"\n[{where[ind.code][0]}!{where[ind.code][1]}]" if ind.code in where else ""),
                     11, {"date": "date", "bool": "center"}.get(ind.type, "int"))
                    for ind in inds]
    ws, header = book.sheet(name, title, cols, header_height=110)
    ws.freeze_panes(header + 1, 3)
    n0 = len(fixed)
    by_cluster: dict[str, list[dict]] = {}
    for s in rows:
        by_cluster.setdefault(s["cluster"], []).append(s)
    r, number, subtotal_rows = header, 0, []
    for cluster, members in by_cluster.items():
        first = r + 1
        for s in members:
            r += 1
            number += 1
            book.put(ws, r, 0, number, "center")
            book.put(ws, r, 1, s["unit"], "center")
            book.put(ws, r, 2, s["name"], "name")
            book.put(ws, r, 3, SHORT_STATUS[s["status"]], "small")
            for j, ind in enumerate(inds):
                book.put(ws, r, n0 + j, values.get((s["unit"], ind.code)), cols[n0 + j][2])
        r += 1
        _summary_row(book, ws, r, n0, inds, values, members, first, r - 1, f"Cộng {cluster}", "subtotal")
        subtotal_rows.append(r)
    r += 1
    _summary_row(book, ws, r, n0, inds, values, rows, header + 1, r - 1, "TỔNG CỘNG TOÀN TỈNH", "total")
    last_col = len(cols) - 1
    ws.autofilter(header, 0, r, last_col)
    note = ("Ghi chú: dòng cộng của chỉ tiêu Có/Không là số đơn vị trả lời «Có»; của chỉ tiêu ngày là số đơn vị "
            "đã ghi ngày. Trong ngoặc vuông ở tiêu đề cột: trang tính và ô của biểu mẫu mà số liệu được đọc ra; "
            "tệp của từng đơn vị ở trang «Nguồn số liệu»."
            + (" Đọc ở ô khác: " + "; ".join(odd[:20]) + "." if odd else ""))
    ws.merge_range(r + 2, 0, r + 2, last_col, note, book.fmt["note"])
    ws.set_row(r + 2, 32)
    D.page_setup(ws, r + 2, last_col, header, landscape=True)


def _summary_row(book, ws, r, n0, inds, values, members, first, last, label, kind) -> None:
    """A subtotal (SUBTOTAL 9 ignores nested subtotals) or count row, with cached values for viewers."""
    text_fmt = book.fmt[f"{kind}_text"]
    ws.merge_range(r, 0, r, n0 - 1, label, text_fmt)
    codes = [m["unit"] for m in members]
    for j, ind in enumerate(inds):
        c = n0 + j
        rng_ = f"{xl_rowcol_to_cell(first, c)}:{xl_rowcol_to_cell(last, c)}"
        found = [values.get((code, ind.code)) for code in codes]
        if ind.type == "bool":
            ws.write_formula(r, c, f'=COUNTIF({rng_},"Có")', book.fmt[kind], sum(v == "Có" for v in found))
        elif ind.type == "date":
            ws.write_formula(r, c, f"=SUBTOTAL(2,{rng_})", book.fmt[kind], sum(v is not None for v in found))
        else:
            total = sum(v for v in found if isinstance(v, (int, float)))
            ws.write_formula(r, c, f"=SUBTOTAL(9,{rng_})", book.fmt[kind], total)


def _sources_sheet(book: Book, rows: list[dict]) -> None:
    """The file behind each unit's figures: name, time received and SHA-256 (the name of its archive copy)."""
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 34, "text"),
            ("Tệp đang dùng", 30, "small"), ("Nhận lúc", 15, "datetime"),
            ("Mã băm SHA-256 (tên bản lưu trữ)", 36, "small")]
    data = [[i, s["unit"], s["name"], s["file_name"], as_datetime(s["received_at"]), s["sha256"]]
            for i, s in enumerate((s for s in rows if s["sha256"] and s["status"] in ("ok", "late")), start=1)]
    book.table("Nguồn số liệu", "TỆP NGUỒN CỦA SỐ LIỆU TỪNG ĐƠN VỊ", cols, data,
               empty="Chưa có tệp hợp lệ nào.")


def _activities_sheet(book: Book, conn, rnd, names: dict) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 28, "text"),
            ("Ngày", 11, "date"), ("Nội dung số", 8, "center"), ("Mô tả hoạt động", 50, "text"),
            ("Số người tham gia", 10, "int"), ("Nguồn (trang tính, dòng)", 14, "small")]
    acts: dict[tuple, dict] = {}
    for unit, row, sheet, fld, num, text, date in _fetch(conn, (
            "SELECT s.unit, v.row, v.sheet, v.field, v.value_num, v.value_text, v.value_date FROM cell_values v "
            "JOIN current_submissions s ON s.id = v.submission_id WHERE s.round=? AND v.field LIKE 'act.%' "
            "AND v.row IS NOT NULL ORDER BY s.unit, v.row"), (rnd.code,)):
        acts.setdefault((unit, row), {"sheet": sheet})[fld[4:]] = _value(num, text, date)
    data = [[i, unit, names.get(unit, unit), a.get("date"), a.get("content"), a.get("description"),
             a.get("participants"), f"{a['sheet']}, dòng {row}"]
            for i, ((unit, row), a) in enumerate(acts.items(), start=1)]
    book.table("Hoạt động", "CÁC HOẠT ĐỘNG, SỰ KIỆN CÁC ĐƠN VỊ BÁO CÁO TRONG KỲ", cols, data)


def _proposals_sheet(book: Book, conn, rnd, names: dict) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 24, "text"),
            ("Đối tượng", 9, "center"), ("Họ và tên / Tên tập thể", 24, "text"), ("Chức vụ, đơn vị", 20, "text"),
            ("Danh hiệu đề nghị", 18, "text"), ("Hình thức đề nghị", 20, "text"), ("Đạt LĐTT", 7, "center"),
            ("Có sáng kiến", 8, "center"), ("Tỷ lệ LĐTT (%)", 8, "decimal"), ("Kỷ luật", 7, "center"),
            ("Tóm tắt thành tích", 36, "small"), ("Đột xuất", 7, "center"), ("Nguồn (trang tính, dòng)", 13, "small")]
    data = []
    for i, r in enumerate(_fetch(conn, (
            "SELECT p.unit, p.subject, p.name, p.position, p.title, p.form, p.dat_ldtt, p.co_sang_kien, "
            "p.ty_le_ldtt, p.ky_luat, p.summary, p.adhoc, p.row, "
            "(SELECT v.sheet FROM cell_values v WHERE v.submission_id = p.submission_id AND v.row = p.row "
            " AND v.field = 'prop.name') FROM proposals p WHERE p.round=? ORDER BY p.unit, p.row"),
            (rnd.code,)), start=1):
        data.append([i, r[0], names.get(r[0], r[0]), *r[1:12], f"{r[13]}, dòng {r[12]}"])
    book.table("Đề nghị khen thưởng", "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG CỦA CÁC CÔNG ĐOÀN CƠ SỞ", cols, data)


def _problems_sheet(book: Book, conn, rnd, names: dict) -> None:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 24, "text"),
            ("Tệp", 24, "small"), ("Nhận lúc", 15, "datetime"), ("Tình trạng tệp", 12, "text"),
            ("Mức độ", 9, "center"), ("Trang tính", 12, "text"), ("Ô", 6, "center"), ("Giá trị đã nhập", 16, "small"),
            ("Nội dung vấn đề", 50, "small")]
    data = []
    for i, (unit, name, received, status, sev, sheet, cell, value, msg) in enumerate(_fetch(conn, (
            "SELECT s.unit, s.file_name, s.received_at, s.status, i.severity, i.sheet, i.cell, i.value, i.message "
            "FROM issues i JOIN submissions s ON s.id = i.submission_id "
            "WHERE (s.round = ? OR s.round IS NULL) AND s.status != 'superseded' "
            "ORDER BY s.unit, s.received_at, s.id, i.rowid"), (rnd.code,)), start=1):
        data.append([i, unit or "", names.get(unit, "Không xác định"), name, as_datetime(received),
                     FILE_STATUS_VI.get(status, status), SEVERITY_VI.get(sev, sev), sheet, cell, value, msg])
    book.table("Vấn đề phát hiện", "CÁC VẤN ĐỀ PHÁT HIỆN TRONG TỆP BÁO CÁO", cols, data,
               empty="Không phát hiện vấn đề nào.")


@contextlib.contextmanager
def writable(out: Path):
    """Turn a failed write (the file open in Excel, a read-only folder) into a message for the user."""
    try:
        yield
    except OSError as exc:
        raise ThiDuaError(f"Không ghi được tệp {out}: {exc.strerror or exc}.",
                          "Đóng tệp nếu đang mở trong Excel và kiểm tra quyền ghi thư mục, rồi chạy lại.") from exc


def write_committee_workbook(db_path, plan, units, round_code: str, out: Path) -> Path:
    """Write the committee's print-ready workbook for one round to `out` (atomically); return its path."""
    rnd = plan.round(round_code)
    rows = status_rows(db_path, plan, units, round_code)
    order = {u: i for i, u in enumerate(dict.fromkeys(r["cluster"] for r in rows))}
    rows.sort(key=lambda r: (order[r["cluster"]], r["unit"]))
    names = {r["unit"]: r["name"] for r in rows}
    out = Path(out)
    conn = store.connect(Path(db_path), create=False)
    try:
        with writable(out), atomic_path(out) as tmp:
            book = Book(tmp, plan, rnd, dt.datetime.now().replace(microsecond=0))
            _tracking_sheet(book, rows)
            if plan.indicators_for(round_code):
                _indicator_sheets(book, conn, rows, rnd)
            if "activities" in rnd.sheets:
                _activities_sheet(book, conn, rnd, names)
            if "proposals" in rnd.sheets:
                _proposals_sheet(book, conn, rnd, names)
            _problems_sheet(book, conn, rnd, names)
            if plan.indicators_for(round_code):
                _sources_sheet(book, rows)
            book.wb.close()
    finally:
        conn.close()
    return out
