"""A new year beside the previous one: the plan's dates moved, the register carried, the key kept, a new store
that knows its year and the years behind it, a new master workbook, and a report of what the office must check."""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from thidua.errors import ThiDuaError
from thidua.plan.model import Plan
from thidua.plan.units import ACTIVE, STATUS_LABELS, STATUSES, Unit
from thidua.store import history as stored_history
from thidua.year import place
from thidua.year.rollplan import CARRIED, CHANGED, CHECK, Note, roll_plan


@dataclass
class Rollover:
    """What `new_year` made: the new year's files and the report."""

    year: int
    source_year: int
    workbook: Path
    store: "StoreLocation"  # noqa: F821 (store/locator.py): a file beside the workbook, or a schema on the server
    notes: list[Note] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def store_name(self) -> str:
        """The new store as the report names it: its file's name, or its address on the server."""
        return Path(self.store.path).name if self.store.is_sqlite else self.store.name

    def rows(self) -> list[tuple]:
        """The report's rows for the «Năm mới» sheet: what the office must check first, then what was done."""
        ordered = self.checks() + [n for n in self.notes if n.kind != CHECK]
        return [n.row(i) for i, n in enumerate(ordered, start=1)]

    def checks(self) -> list[Note]:
        return [n for n in self.notes if n.kind == CHECK]

    def lines(self) -> list[str]:
        """The report as printed: what was carried and changed, then what the office must still check."""
        out = [f"Đã tạo bộ làm việc năm {self.year} (từ năm {self.source_year}): {self.workbook.name}, {self.store_name}."]
        out += [f"  {n.kind}: {n.part}: {n.text}" for n in self.notes if n.kind != CHECK]
        out.append(f"Văn phòng cần kiểm tra ({len(self.checks())} mục; cũng ở trang «Năm mới» của {self.workbook.name}):")
        out += [f"  - {n.part}: {n.text}" for n in self.checks()]
        return out


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
                "«Giải thể»; sáp nhập thì «Sáp nhập» và ghi mã đơn vị nhận sáp nhập; đổi mã thì «Đổi tên/đổi mã» "
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



def new_year(ws, year: int, folder: str | Path | None = None, register: Sequence[Unit] | None = None) -> Rollover:
    """Make `year`'s working set beside `ws` (the previous year's): checks first, then a new store and a new master
    workbook, each written whole and put in place only when both are made. On SQLite the store is a file beside the
    workbook in `folder` (default: the folder of `ws`'s store); on a server it is the year's own schema in the same
    database (`thidua_<year>`, store/postgres.py) and `folder` (default: the current folder) gets the workbook."""
    from thidua.store.locator import StoreLocation, recorded_as, seen_from
    from thidua.store.store import Store, exists
    started = time.perf_counter()
    source = ws.year
    year = int(year)
    source_loc = ws.location
    server = not source_loc.is_sqlite
    if folder is None:
        folder = Path.cwd() if server else Path(source_loc.path).resolve().parent
    folder = Path(folder)
    if year <= source:
        raise ThiDuaError(f"Năm mới {year} phải sau năm {source} của bộ làm việc đang dùng.",
                          f"Ghi năm sau, ví dụ «thidua new-year {source + 1}».")
    taken = place.existing_parts(folder, year)
    if taken:
        raise ThiDuaError(f"Năm {year} đã có bộ làm việc trong {folder}: {', '.join(p.name for p in taken)}. "
                          "Tạo lại sẽ ghi đè số liệu của năm đó.",
                          f"Mở {place.WORKBOOK.format(year=year)} để làm việc tiếp; muốn làm lại từ đầu thì chuyển các "
                          "tệp đó sang thư mục khác trước.")
    if not exists(source_loc):
        where = f"trên máy chủ {source_loc.server} ({source_loc.database.name})" if server else f"({source_loc.path})"
        raise ThiDuaError(f"Năm {source} chưa có kho dữ liệu {where}: không có gì để chuyển sang năm {year}.",
                          f"Chỉ đúng kho dữ liệu năm {source} bằng --db (hoặc sổ ThiDua{source}.xlsm bằng --workbook), "
                          "hoặc chạy «thidua consolidate» của năm đó trước.")
    with contextlib.closing(Store.open_readonly(source_loc)) as src:
        source_loc = src.location                        # on a server: the schema the year was found in
        held = stored_history.store_year(src)
        if held not in (None, source):
            raise ThiDuaError(f"Kho dữ liệu {src.name} là của năm {held}, không phải năm {source} của kế "
                              "hoạch đang dùng.", f"Dùng kho dữ liệu năm {source}, hoặc kế hoạch năm {held} (--from {held}).")
        earlier_rows = [r for r in stored_history.known_years(src) if int(r["year"]) < source and r["location"]] \
            if _has_years(src) else []
    target_loc = _server_target(source_loc, year) if server else StoreLocation("sqlite", place.named_store(folder, year))
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
    target_book = place.workbook_file(folder, year)
    earlier = {source: recorded_as(target_loc, source_loc)}
    for row in earlier_rows:
        earlier[int(row["year"])] = recorded_as(target_loc, seen_from(source_loc, row["location"]))
    notes.append(Note("Lịch sử", CARRIED, "kho năm mới biết các năm trước: " + ", ".join(
        f"{y} ({loc})" for y, loc in sorted(earlier.items())) + "; các kho đó chỉ được đọc, không bị sửa"))
    rollover = Rollover(year, source, target_book, target_loc, notes)

    def fill(new: Store) -> None:
        """The new store's contents: the plan and register, the years behind it, the key's fingerprint."""
        from thidua.store.register import sync_plan
        with new.atomic(), contextlib.closing(Store.open_readonly(source_loc)) as src:
            sync_plan(new, plan, units)
            stored_history.record_year(new, source, ws.plan.tables, earlier[source], note=f"năm trước của {year}")
            if _has_years(src):
                stored_history.copy_years(src, new, {y: loc for y, loc in earlier.items() if y != source})
            stored_history.copy_meta(src, new, ("key_fingerprint",))
            new.set_meta("rolled_from", str(source))

    def still_free() -> None:
        if place.existing_parts(folder, year):             # made meanwhile by someone else: never over it
            raise ThiDuaError(f"Năm {year} vừa được tạo trong {folder} trong lúc chuyển năm.", "Mở sổ năm mới đó.")

    from thidua.workbook.build import build_bytes
    folder.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".thidua-{year}-", dir=folder))
    try:
        tmp_book = tmp_dir / target_book.name
        if server:
            tmp_book.write_bytes(build_bytes(tables, register_rows(units), report=rollover.rows(), report_year=year))
            with Store.made_whole(target_loc) as new:      # one transaction: committed whole, or no schema at all
                fill(new)
                still_free()
            try:
                os.replace(tmp_book, target_book)
            except OSError:                                  # both or neither: a lone store would block a retry
                from thidua.store.postgres import drop_schema
                drop_schema(target_loc)
                raise
        else:
            tmp_store = tmp_dir / Path(target_loc.path).name
            with Store.open(tmp_store) as new:
                fill(new)
            tmp_book.write_bytes(build_bytes(tables, register_rows(units), report=rollover.rows(), report_year=year))
            still_free()
            os.replace(tmp_store, target_loc.path)
            try:
                os.replace(tmp_book, target_book)
            except OSError:                                  # both or neither: a lone store would block a retry
                Path(target_loc.path).unlink()
                raise
    finally:
        for leftover in tmp_dir.glob("*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        with contextlib.suppress(OSError):
            tmp_dir.rmdir()
    rollover.seconds = time.perf_counter() - started
    return rollover


def _server_target(source_loc, year: int):
    """Where the new year's store goes on the server (its own schema in the source's database), checked before
    anything is written: a year that has a store there already, and a login that may not make the schema, are
    refused with Lỗi/Thử naming the server."""
    from thidua.store import postgres
    from thidua.store.store import exists
    target = postgres.place_year(source_loc, year)
    if target.schema is None or exists(target):
        raise ThiDuaError(f"Năm {year} đã có kho dữ liệu trên máy chủ {target.server} ({target.name}). "
                          "Tạo lại sẽ ghi đè số liệu của năm đó.",
                          f"Mở sổ ThiDua{year}.xlsm để làm việc tiếp (cùng địa chỉ kho dữ liệu); muốn làm lại từ đầu "
                          "thì nhờ người quản trị máy chủ xóa lược đồ của năm đó trước.")
    postgres.check_may_create(target)
    return target


def _has_years(store) -> bool:
    return store.has_column("years", "year")


def _in_force_notes(plan: Plan, year: int) -> list[Note]:
    """What the dated rule data has in force in `year` (legal bases, base salary, award money, the office's names),
    said in the report; a table with a day of the year no row covers stops the roll-over (Lỗi/Thử) before anything
    is written. Dated rows are never moved to the new year: a new law, amount or name is a new row."""
    import datetime as dt
    from thidua.plan.dated import ROLE_NAMES, TABLE_NAMES, date_text
    from thidua.text.numbers import format_number
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    problems: list[str] = []

    def covering(rows, table: str, what: str = "") -> list:
        """The rows in force during the year, in order; a day of the year no row covers is a problem."""
        chosen = sorted((r for r in rows if (r.valid_from or dt.date.min) <= last
                         and (r.valid_to or dt.date.max) >= first), key=lambda r: r.valid_from or dt.date.min)
        day: dt.date | None = first            # the first day not yet covered (None: covered to the year's end)
        for r in chosen:
            if (r.valid_from or dt.date.min) > day:
                break
            day = None if r.valid_to is None or r.valid_to >= last else max(day, r.valid_to + dt.timedelta(days=1))
            if day is None:
                break
        if day is not None:
            named = f"«{TABLE_NAMES.get(table, table)}»" + (f" ({what})" if what else "")
            problems.append(f"{named}: không có dòng nào có hiệu lực ngày {date_text(day)}")
        return chosen

    def spans(rows, label) -> str:
        """«A (đến 30/06/2024); B (từ 01/07/2024)»: each row with the part of the year it covers."""
        out = []
        for r in rows:
            part = [f"từ {date_text(r.valid_from)}"] if r.valid_from and r.valid_from > first else []
            part += [f"đến {date_text(r.valid_to)}"] if r.valid_to and r.valid_to < last else []
            out.append(label(r) + (f" ({' '.join(part)})" if part else ""))
        return "; ".join(out)

    notes = []
    offices = covering(plan.offices, "offices")
    roles = list(dict.fromkeys(b.role for b in plan.legal_bases))
    bases = {role: covering([b for b in plan.legal_bases if b.role == role], "legal_bases", ROLE_NAMES.get(role, role))
             for role in roles}
    salaries = covering(plan.base_salaries, "base_salaries")
    money_keys = list(dict.fromkeys((m.form, m.subject) for m in plan.award_money))
    for form, subject in money_keys:
        covering([m for m in plan.award_money if (m.form, m.subject) == (form, subject)], "award_money",
                 f"{form}, {subject}")
    if problems:
        raise ThiDuaError(f"Dữ liệu quy định theo ngày không có dòng cho năm {year}: " + "; ".join(problems) + ".",
                          f"Thêm dòng có «Từ ngày»/«Đến ngày» bao năm {year} (kèm nguồn) vào trang đó của sổ làm việc "
                          f"năm trước (bảng tương ứng của kế hoạch .toml) rồi chạy lại; chưa ghi gì cho năm {year}.")
    notes.append(Note("Căn cứ pháp lý", CARRIED, f"có hiệu lực năm {year}: " + "; ".join(
        spans(rows, lambda b: b.short or b.code) for rows in bases.values())))
    notes.append(Note("Lương cơ sở", CARRIED, f"năm {year}: " + spans(
        salaries, lambda s: f"{format_number(s.amount)} đồng")))
    day = plan.reference_date
    force = plan.in_force(day)
    paid = [f"{form} {('cá nhân' if subject == 'individual' else 'tập thể')} {format_number(force.amount(form, subject))} đồng"
            for form, subject in money_keys if force.money_rule(form, subject) is not None]
    if paid:
        notes.append(Note("Tiền thưởng", CARRIED, f"quyết định ngày {date_text(day)}: " + ", ".join(paid)
                          + f" (hệ số × lương cơ sở {format_number(force.base_salary.amount)} đồng, theo quy định)"))
    notes.append(Note("Cơ quan ban hành", CARRIED, f"năm {year}: " + spans(
        offices, lambda o: f"{o.issuer_name or o.issuer}, {o.place}")
                      + " (tên in trên văn bản theo ngày của văn bản)"))
    for o in offices:
        if "verify" in (o.source or "").casefold():
            notes.append(Note("Cơ quan ban hành", CHECK, f"tên «{o.issuer_name}» từ {date_text(o.valid_from)} chưa được "
                              "xác minh (nguồn ghi «verify»): kiểm tra tên, người ký, số hiệu văn bản"))
    return notes
