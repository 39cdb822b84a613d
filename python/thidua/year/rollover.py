"""A new year beside the previous one: the plan's dates moved, the register carried, the key kept, a new store
that knows its year and the years behind it, a new master workbook, and a report of what the office must check."""
from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from thidua.errors import ThiDuaError
from thidua.plan.model import Plan, to_date
from thidua.plan.units import ACTIVE, STATUS_LABELS, STATUSES, Unit
from thidua.year import place

# The tables whose dates belong to the year and move with it. Every other table is left as it is: dated rule
# data (laws, amounts, the office's names: valid from / to) is chosen by date, never moved.
DATED_BY_YEAR = {"meta": ("plan_date",), "periods": ("start", "end"), "rounds": ("start", "end", "due"),
                 "indicators": ("min", "max"), "rule_sets": ("eligible_founded_before",)}
# Texts that may name the year (a round's name, an indicator's label ...). Legal texts (`legal`, `text` of
# conditions and quotas) are never touched: «NĐ 38/2019/NĐ-CP» stays 2019.
NAMED_BY_YEAR = {"periods": ("name",), "rounds": ("name",), "contents": ("name",), "indicators": ("label",),
                 "charts": ("title",), "criteria": ("name",), "rule_sets": ("name",), "levels": ("name",),
                 "titles": ("name",), "proposal_fields": ("label", "help")}
COLUMN_WORDS = {"plan_date": "ngày kế hoạch", "start": "từ ngày", "end": "đến ngày", "due": "hạn gửi",
                "min": "ngày nhỏ nhất", "max": "ngày lớn nhất", "eligible_founded_before": "thành lập trước ngày"}
CHECK, CHANGED, CARRIED = "Cần kiểm tra", "Đã đổi", "Đã chuyển"


@dataclass(frozen=True)
class Note:
    """One line of the roll-over report: what part, what was done (or must be checked), in words."""

    part: str
    kind: str          # CARRIED, CHANGED or CHECK
    text: str

    def row(self, number: int) -> tuple:
        return (number, self.part, self.kind, self.text)


@dataclass
class Rollover:
    """What `new_year` made: the new year's files and the report."""

    year: int
    source_year: int
    workbook: Path
    store: Path
    notes: list[Note] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self) -> list[tuple]:
        return [n.row(i) for i, n in enumerate(self.notes, start=1)]

    def checks(self) -> list[Note]:
        return [n for n in self.notes if n.kind == CHECK]

    def lines(self) -> list[str]:
        """The report as printed: what was carried and changed, then what the office must still check."""
        out = [f"Đã tạo bộ làm việc năm {self.year} (từ năm {self.source_year}): {self.workbook.name}, {self.store.name}."]
        out += [f"  {n.kind}: {n.part}: {n.text}" for n in self.notes if n.kind != CHECK]
        out.append(f"Văn phòng cần kiểm tra ({len(self.checks())} mục; cũng ở trang «Năm mới» của {self.workbook.name}):")
        out += [f"  - {n.part}: {n.text}" for n in self.checks()]
        return out


# ---------------------------------------------------------------- dates
def shift_date(day: dt.date, years: int) -> tuple[dt.date, str | None]:
    """`day` moved by whole years; 29 February into a common year becomes 28 February (and says so); the last
    day of February into a leap year stays the 28th, with a word that the 29th exists."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28), (f"ngày 29/02/{day.year} không có trong năm {year}: đã ghi 28/02/{year}")
    moved = dt.date(year, day.month, day.day)
    if day.month == 2 and day.day == 28 and calendar.isleap(year) and not calendar.isleap(day.year):
        return moved, (f"ngày 28/02/{day.year} là cuối tháng 2; năm {year} có ngày 29/02 — nếu là hạn cuối tháng, "
                       f"sửa thành 29/02/{year}")
    return moved, None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return to_date(value)
    return None


def _d(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


# ---------------------------------------------------------------- texts that name the year
def _year_pattern(year: int) -> re.Pattern:
    # the year as a word, not inside a number, not a document's number («38/2019/NĐ-CP», «NĐ 91/2017»)
    return re.compile(rf"(?<![\d]){year}(?![\d])(?!/[A-ZĐ])")


def rename_year(text: str, source: int, year: int) -> tuple[str, bool]:
    """Replace the source year in a name by the new one; (text, ambiguous) where ambiguous means a span of years
    («(2018-2019)») or a legal number that the office must rewrite itself (then the text is left as it is)."""
    if str(source) not in text:
        return text, False
    if re.search(rf"\d{{4}}\s*[-–]\s*{source}(?!\d)|(?<!\d){source}\s*[-–]\s*\d{{4}}", text) or \
            re.search(rf"\d+/{source}/[A-ZĐ]", text):
        return text, True
    return _year_pattern(source).sub(str(year), text), False


_ANNIVERSARY = re.compile(r"^(\s*)(\d+)( năm\b.*\(.*?)(\d{4})(\s*\)\s*)$")


def roll_anniversaries(text: str, source: int, year: int) -> str:
    """«89 năm thành lập Đảng (03/02/1930-03/02/2019)» -> «90 năm … (03/02/1930-03/02/2020)»; other items unchanged.
    Which anniversaries a year celebrates is the plan's choice: the office rewrites the list (flagged)."""
    items = []
    for item in text.split(";"):
        match = _ANNIVERSARY.match(item)
        if match and int(match.group(4)) == source:
            lead, number, middle, _, tail = match.groups()
            item = f"{lead}{int(number) + year - source}{middle}{year}{tail}"
        items.append(item)
    return ";".join(items)


# ---------------------------------------------------------------- the plan
def roll_plan(tables: Mapping[str, Any], source: int, year: int) -> tuple[dict, list[Note]]:
    """The plan's tables for `year` (pure): every date of the year moved (29 February handled), the names that
    carry the year renamed, the rule set's code renamed, the template version renewed; and what the office must
    check. Tables of dated rules are copied unchanged: what is in force is picked by date."""
    import copy
    years = year - source
    out = copy.deepcopy(dict(tables))
    notes: list[Note] = []
    meta = dict(out.get("meta") or {})
    out["meta"] = meta
    meta["year"] = year
    meta["template_version"] = f"{year}.1"
    notes.append(Note("Thông tin chung", CHANGED, f"năm thi đua {source} → {year}; phiên bản biểu mẫu {year}.1 "
                      f"(tệp biểu mẫu năm {source} gửi vào năm {year} bị từ chối)"))
    renames = {}
    for rs in out.get("rule_sets") or []:
        code = str(rs.get("code") or "")
        if str(source) in code:
            renames[code] = code.replace(str(source), str(year))
    for rs in out.get("rule_sets") or []:
        rs["code"] = renames.get(str(rs.get("code")), rs.get("code"))
    for lv in out.get("levels") or []:
        lv["rule_set"] = renames.get(str(lv.get("rule_set")), lv.get("rule_set"))
    if str(meta.get("rule_set") or "") in renames:
        meta["rule_set"] = renames[str(meta["rule_set"])]
    for old, new in renames.items():
        notes.append(Note("Bộ quy tắc xếp loại", CHANGED, f"mã {old} → {new} (các mức, ngưỡng điểm giữ nguyên)"))
    notes += _move_dates(out, source, years)
    notes += _rename_texts(out, source, year)
    for period in out.get("periods") or []:
        text = str(period.get("anniversaries") or "")
        if text:
            period["anniversaries"] = roll_anniversaries(text, source, year)
            notes.append(Note(f"Đợt thi đua {period.get('code')}", CHECK,
                              f"các ngày kỷ niệm là của kế hoạch năm {source} (số năm đã tính lại, ví dụ "
                              f"«{period['anniversaries'].split(';')[0].strip()}»): viết lại theo kế hoạch năm {year}"))
    notes.append(Note("Thông tin chung", CHECK, f"số kế hoạch «{meta.get('plan_number', '')}» và ngày ban hành "
                      f"{_d(_as_date(meta['plan_date']))} là dự kiến: ghi đúng số, ngày của kế hoạch năm {year}"
                      if _as_date(meta.get("plan_date")) else "ghi số, ngày của kế hoạch năm mới"))
    return out, notes


def _move_dates(out: dict, source: int, years: int) -> list[Note]:
    notes, moved = [], 0
    for table, columns in DATED_BY_YEAR.items():
        rows = [out[table]] if table == "meta" else list(out.get(table) or [])
        for row in rows:
            said: dict[str, list[str]] = {}          # one note per row and kind of date, naming its columns
            for column in columns:
                day = _as_date(row.get(column))
                if day is None:
                    continue
                new, note = shift_date(day, years)
                row[column] = new
                moved += 1
                if note:
                    said.setdefault(note, []).append(COLUMN_WORDS.get(column, column))
            for note, words in said.items():
                label = "" if table == "meta" else row.get("code") or ""
                notes.append(Note(f"{_part(table, label)} ({', '.join(words)})", CHECK, note))
    notes.insert(0, Note("Đợt, kỳ báo cáo, hạn nộp", CHANGED,
                         f"{moved} ngày đã chuyển sang năm {source + years} (từ ngày, đến ngày, hạn gửi, ngày kế hoạch, "
                         "giới hạn ngày của chỉ tiêu, ngày thành lập để được xếp loại)"))
    return notes


def _part(table: str, code: Any) -> str:
    names = {"meta": "Thông tin chung", "periods": "Đợt thi đua", "rounds": "Kỳ báo cáo", "indicators": "Chỉ tiêu",
             "rule_sets": "Bộ quy tắc xếp loại", "contents": "Nội dung thi đua", "charts": "Biểu đồ",
             "criteria": "Tiêu chí chấm điểm", "levels": "Mức xếp loại", "titles": "Danh hiệu",
             "proposal_fields": "Trường đề nghị KT"}
    return f"{names.get(table, table)} {code}".strip()


def _rename_texts(out: dict, source: int, year: int) -> list[Note]:
    notes, renamed = [], 0
    for table, columns in NAMED_BY_YEAR.items():
        for row in out.get(table) or []:
            for column in columns:
                text = row.get(column)
                if not isinstance(text, str):
                    continue
                new, ambiguous = rename_year(text, source, year)
                if ambiguous:
                    notes.append(Note(_part(table, row.get("code") or row.get("number") or ""), CHECK,
                                      f"«{text}» ghi một khoảng năm hay số văn bản có năm {source}: viết lại cho năm {year}"))
                elif new != text:
                    row[column] = new
                    renamed += 1
    if renamed:
        notes.append(Note("Tên đợt, kỳ, chỉ tiêu", CHANGED, f"{renamed} tên có năm {source} đã ghi năm {year} "
                          f"(ví dụ «Báo cáo quý I/{year}»); căn cứ pháp lý giữ nguyên"))
    return notes


# ---------------------------------------------------------------- the register
def register_rows(units: Iterable[Unit]) -> list[dict]:
    """Units as register rows (the master workbook's sheet, a CSV)."""
    return [{"code": u.code, "name": u.name, "cluster": u.cluster, "staff": u.staff, "members": u.members,
             "email": u.email, "founded": u.founded, "status": u.status if u.status != ACTIVE else None,
             "successor": u.successor or None} for u in units]


def carry_register(previous: Sequence[Unit], given: Sequence[Unit] | None, source: int, year: int
                   ) -> tuple[list[Unit], list[Note]]:
    """The new year's register and what happened to each unit. Without `given`, the previous register is carried
    whole (marks kept). With the office's new register `given`, every unit of the previous year must be in it
    (same code; a closed, merged or renamed unit keeps its row with its mark): a unit that cannot be matched
    stops the roll-over with Lỗi/Thử, before anything is written."""
    label = dict(zip(STATUSES, STATUS_LABELS))
    if given is None:
        units = list(previous)
        notes = [Note("Danh sách đơn vị", CARRIED, f"{sum(u.active for u in units)} đơn vị đang hoạt động"
                      + (f", {sum(not u.active for u in units)} đơn vị đã đánh dấu (giải thể, sáp nhập, đổi tên) "
                         "giữ lại cùng lịch sử" if any(not u.active for u in units) else ""))]
    else:
        codes = {u.code for u in given}
        lost = [u for u in previous if u.code not in codes]
        if lost:
            near = {u.code: next((g.code for g in given if g.name.casefold() == u.name.casefold()), None) for u in lost}
            named = ", ".join(f"{u.code} ({u.name})" + (f" — có phải nay là {near[u.code]}?" if near[u.code] else "")
                              for u in lost[:10])
            raise ThiDuaError(
                f"Danh sách đơn vị năm {year} không có {len(lost)} đơn vị của năm {source}: {named}"
                + ("…" if len(lost) > 10 else "") + ". Không khớp được nên lịch sử của các đơn vị này sẽ mất.",
                "Giữ dòng của mỗi đơn vị năm trước trong danh sách mới: đơn vị thôi hoạt động thì chọn Tình trạng "
                "«Giải thể»; sáp nhập thì «Sáp nhập» và ghi mã đơn vị nhận sáp nhập; đổi mã thì «Đổi tên, đổi mã» "
                "và ghi mã mới ở cột «Đơn vị kế tục». Chưa ghi gì vào thư mục năm mới.")
        units = list(given)
        before = {u.code: u for u in previous}
        notes = []
        for u in units:
            old = before.get(u.code)
            if old is None:
                notes.append(Note(f"Đơn vị {u.code}", CHANGED, f"đơn vị mới: {u.name}"))
            elif u.status != old.status:
                where = f" → {u.successor}" if u.successor else ""
                notes.append(Note(f"Đơn vị {u.code}", CHANGED, f"{label[u.status]}{where} (lịch sử các năm trước giữ lại)"))
            elif u.name != old.name:
                notes.append(Note(f"Đơn vị {u.code}", CHANGED, f"đổi tên: «{old.name}» → «{u.name}»"))
        notes.insert(0, Note("Danh sách đơn vị", CARRIED, f"{sum(u.active for u in units)} đơn vị đang hoạt động, "
                             f"{sum(not u.active for u in units)} đơn vị giữ lại vì lịch sử; khớp với {len(previous)} "
                             f"đơn vị năm {source}"))
    notes.append(Note("Danh sách đơn vị", CHECK, f"số CBCCVC-LĐ, số đoàn viên, thư điện tử là của năm {source}; ghi "
                      "đơn vị giải thể, sáp nhập, đổi tên ở cột Tình trạng và Đơn vị kế tục (không xóa dòng)"))
    return units, notes


# ---------------------------------------------------------------- the whole roll-over
def source_working_set(year: int, previous: int | None = None, folder: str | Path | None = None,
                       workbook: str | Path | None = None, plan: str | Path | None = None,
                       register: str | Path | None = None, db: str | Path | None = None,
                       key_file: str | Path | None = None):
    """The working set a new year is made from: the given workbook / plan / store, else ThiDua<previous>.xlsm in
    `folder`; a source year that has none is a Lỗi/Thử naming what was looked for."""
    from thidua.year.workset import WorkingSet
    previous = int(previous) if previous is not None else int(year) - 1
    if workbook is None and plan is None and register is None and db is None:
        where = Path(folder or ".")
        book = place.workbook_file(where, previous)
        if not book.is_file():
            raise ThiDuaError(
                f"Năm {previous} không có bộ làm việc trong {where.resolve()}: không thấy {book.name}.",
                f"Chạy lệnh trong thư mục có {book.name} (hoặc ghi --dir THƯ_MỤC, --workbook SỔ_LÀM_VIỆC, "
                f"--db KHO_DỮ_LIỆU); nếu năm trước là năm khác, ghi --from NĂM.")
        workbook = book
    ws = WorkingSet.load(plan=plan, register=register, workbook=workbook, db=db, key_file=key_file)
    if ws.year != previous:
        raise ThiDuaError(f"Bộ làm việc đã chọn là của năm {ws.year}, không phải năm {previous}.",
                          f"Ghi --from {ws.year} (năm mới {ws.year + 1}), hoặc chọn sổ làm việc / kế hoạch năm {previous}.")
    return ws



def _relative(target: Path, folder: Path) -> str:
    """Where `target` is, seen from `folder` (relative when it can be, so the folder can be moved whole)."""
    try:
        return os.path.relpath(target.resolve(), folder.resolve())
    except ValueError:                 # another drive on Windows
        return str(target.resolve())


def new_year(ws, year: int, folder: str | Path | None = None, register: Sequence[Unit] | None = None,
             say=None) -> Rollover:
    """Make `year`'s working set beside `ws` (the previous year's): checks first, then a new store and a new master
    workbook written under temporary names and renamed into `folder` (default: the folder of `ws`'s store)."""
    from thidua.store import history as stored_history
    from thidua.store.register import sync_plan
    from thidua.store.store import Store
    from thidua.workbook.build import build_bytes
    started = time.perf_counter()
    source = ws.year
    year = int(year)
    source_store = ws.db_path
    folder = Path(folder) if folder is not None else source_store.resolve().parent
    if year <= source:
        raise ThiDuaError(f"Năm mới {year} phải sau năm {source} của bộ làm việc đang dùng.",
                          f"Ghi năm sau, ví dụ «thidua new-year {source + 1}».")
    taken = place.existing_parts(folder, year)
    if taken:
        raise ThiDuaError(f"Năm {year} đã có bộ làm việc trong {folder}: {', '.join(p.name for p in taken)}. "
                          "Tạo lại sẽ ghi đè số liệu của năm đó.",
                          f"Mở {place.WORKBOOK.format(year=year)} để làm việc tiếp; muốn làm lại từ đầu thì chuyển các "
                          "tệp đó sang thư mục khác trước.")
    if not source_store.is_file():
        raise ThiDuaError(f"Năm {source} chưa có kho dữ liệu ({source_store}): không có gì để chuyển sang năm {year}.",
                          f"Chỉ đúng kho dữ liệu năm {source} bằng --db (hoặc sổ ThiDua{source}.xlsm bằng --workbook), "
                          "hoặc chạy «thidua consolidate» của năm đó trước.")
    with contextlib.closing(Store.open_readonly(source_store)) as src:
        held = stored_history.store_year(src)
        if held not in (None, source):
            raise ThiDuaError(f"Kho dữ liệu {source_store.name} là của năm {held}, không phải năm {source} của kế "
                              "hoạch đang dùng.", f"Dùng kho dữ liệu năm {source}, hoặc kế hoạch năm {held} (--from {held}).")
    if ws.plan.tables is None:
        raise ThiDuaError("Kế hoạch đang dùng không đọc từ bảng nên không chuyển được.",
                          "Chỉ kế hoạch bằng --plan (tệp .toml) hoặc --workbook (sổ làm việc).")
    tables, notes = roll_plan(ws.plan.tables, source, year)
    plan = Plan.from_tables(tables)               # the new plan must hold together before anything is written
    units, more = carry_register(ws.register, register, source, year)
    notes += more
    notes += _in_force_notes(plan, year)
    notes.append(Note("Khóa của văn phòng", CARRIED, "giữ nguyên khóa ký biểu mẫu (cùng tệp khóa; kho năm mới ghi "
                      "dấu vân tay của khóa)"))
    target_store = place.named_store(folder, year)
    target_book = place.workbook_file(folder, year)
    folder.mkdir(parents=True, exist_ok=True)
    earlier = {source: _relative(source_store, folder)}
    with contextlib.closing(Store.open_readonly(source_store)) as src:
        for row in stored_history.known_years(src) if _has_years(src) else []:
            if int(row["year"]) < source and row["location"]:
                loc = row["location"]
                earlier[int(row["year"])] = loc if "://" in loc else _relative(source_store.parent / loc, folder)
    notes.append(Note("Lịch sử", CARRIED, "kho năm mới biết các năm trước: " + ", ".join(
        f"{y} ({loc})" for y, loc in sorted(earlier.items())) + "; các kho đó chỉ được đọc, không bị sửa"))
    rollover = Rollover(year, source, target_book, target_store, notes)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".thidua-{year}-", dir=folder))
    try:
        tmp_store = tmp_dir / target_store.name
        with Store.open(tmp_store) as new, contextlib.closing(Store.open_readonly(source_store)) as src:
            with new.atomic():
                sync_plan(new, plan, units)
                stored_history.record_year(new, source, ws.plan.tables, earlier[source], note=f"năm trước của {year}")
                if _has_years(src):
                    stored_history.copy_years(src, new, {y: loc for y, loc in earlier.items() if y != source})
                stored_history.copy_meta(src, new, ("key_fingerprint",))
                new.set_meta("rolled_from", str(source))
        book = build_bytes(tables, register_rows(units), report=rollover.rows(), report_year=year)
        (tmp_dir / target_book.name).write_bytes(book)
        if place.existing_parts(folder, year):             # made meanwhile by someone else: never over it
            raise ThiDuaError(f"Năm {year} vừa được tạo trong {folder} trong lúc chuyển năm.", "Mở sổ năm mới đó.")
        os.replace(tmp_store, target_store)
        os.replace(tmp_dir / target_book.name, target_book)
    finally:
        for leftover in tmp_dir.glob("*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        with contextlib.suppress(OSError):
            tmp_dir.rmdir()
    rollover.seconds = time.perf_counter() - started
    return rollover


def _has_years(store) -> bool:
    return store.has_column("years", "year")


def _in_force_notes(plan: Plan, year: int) -> list[Note]:
    """What the dated rule data has in force in `year` (filled in by the dated-data layer)."""
    return []
