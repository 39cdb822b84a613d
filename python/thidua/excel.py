"""The xlwings face: one entry point per button of ThiDua2019.xlsm, and the worksheet functions (UDFs)."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import xlwings as xw

from thidua.errors import ThiDuaError
from thidua.store.vocabulary import FILE_STATUS, RECEIPT_SOURCE
from thidua.workbook import layout as L
from thidua.year import place
from thidua.year.workset import WorkingSet

KEY_FILE = place.KEY_FILE          # the office's signing key, beside the workbook, one for every year
FOLDERS = {"templates": "bieu-mau", "inbox": "hop-thu", "feedback": "phan-hoi", "reminders": "nhac-nop",
           "summary": "tong-ket", "export": "xuat-ban", "backup": "sao-luu", "awards": "khen-thuong",
           "layouts": "mau-van-ban"}
SHARED_FOLDERS = ("backup", "layouts")   # every other folder is one year's: <name>-<year> (year/place.py)


def store_file(folder: Path, year: int) -> Path:
    """The year's store beside the workbook: thidua-<year>.sqlite (year/place.py)."""
    return place.store_file(folder, year)


@dataclass
class Context:
    """What every button needs: the calling book, its folder, and the year's working set read from its sheets
    (the store and the office key beside the book)."""

    book: Any
    folder: Path
    ws: WorkingSet

    @property
    def plan(self):
        return self.ws.plan

    @property
    def units(self) -> list:
        return list(self.ws.units)

    def control(self, name: str) -> str:
        c = L.CONTROL[name]
        value = L.clean(self.book.sheets[L.HOME].range((c.row + 1, c.col + 1)).value)
        return "" if value is None else str(value).strip()

    def path(self, key: str) -> Path:
        if key in SHARED_FOLDERS:
            return self.folder / FOLDERS[key]
        return place.year_folder(self.folder, FOLDERS[key], self.plan.year)

    @property
    def db(self):
        """Where the store is (a locator: the file beside the book, or the server named in the settings)."""
        return self.ws.location

    def key(self) -> bytes:
        """The office key beside the workbook; never created here (only the first «Tạo biểu mẫu» creates it)."""
        return self.ws.key()


def sheet_rows(book) -> Callable[[str], list[list[Any]]]:
    """A sheet-rows getter over an xlwings Book: the same row shape the file reader gives."""
    def get_rows(name: str) -> list[list[Any]]:
        if name not in [s.name for s in book.sheets]:
            raise KeyError(name)
        return book.sheets[name].used_range.options(ndim=2).value
    return get_rows


def store_settings(folder: Path | None, plan) -> tuple:
    """(where the store is, who is working): `[store]` of thidua.toml beside the book, else the book's `store_url`
    row, else the SQLite file of the plan's year beside the book."""
    from thidua.settings_file import SETTINGS_FILE
    from thidua.store.locator import choose, settings_from, staff_name
    folder = folder or Path.cwd()
    settings = settings_from(plan.meta, folder / SETTINGS_FILE)
    return choose(None, settings, default=store_file(folder, plan.year)), staff_name(settings)


def context(book) -> Context:
    from thidua.plan.model import Plan
    from thidua.plan.units import units_from_rows
    rows = sheet_rows(book)
    folder = Path(book.fullname).resolve().parent
    plan = Plan.from_tables(L.plan_tables(rows))
    where, staff = store_settings(folder, plan)
    return Context(book, folder, WorkingSet(plan, units_from_rows(L.register_rows(rows)), where, folder / KEY_FILE,
                                            staff=staff))


def status(book, message: str) -> None:
    c = L.CONTROL["ThiDua_TrangThai"]
    book.sheets[L.HOME].range((c.row + 1, c.col + 1)).value = message


def write_table(book, key: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Replace the result table on a result sheet with `rows` under a Vietnamese header (a DataFrame)."""
    import pandas as pd
    sheet = book.sheets[L.RESULT_SHEETS[key][0]]
    last = sheet.used_range.last_cell
    if last.row > L.HEADER_ROW:
        sheet.range((L.HEADER_ROW + 1, 1), (last.row, max(last.column, len(header)))).clear_contents()
    frame = pd.DataFrame([list(r) for r in rows], columns=list(header))
    sheet.range((L.HEADER_ROW + 1, 1)).options(index=False).value = frame


def entry(func: Callable[[Context], str]) -> Callable[[], None]:
    """Run a button's job on the calling book; show its result or the Vietnamese error in the status cell."""
    @functools.wraps(func)
    def run() -> None:
        book = xw.Book.caller()
        try:
            message = func(context(book))
        except Exception as exc:         # the same translation as the command line (thidua.faults)
            from thidua import faults
            err = faults.domain_error(exc)
            if err is None:
                raise
            message = " ".join(faults.message_lines(err))
        status(book, message)
    return run


# ---------------------------------------------------------------- buttons
@entry
def create_templates(ctx: Context) -> str:
    from thidua.templates.build import write_templates
    rnd = ctx.plan.round(ctx.control("ThiDua_Ky")).code
    out = ctx.path("templates") / rnd
    from thidua.templates.keys import key_for_templates
    notes: list[str] = []
    key = key_for_templates(ctx.folder / KEY_FILE, ctx.db, ctx.path("templates"), say=notes.append)
    paths = write_templates(ctx.plan, rnd, ctx.units, out, key)
    return " ".join(notes + [f"Đã tạo {len(paths)} biểu mẫu kỳ {rnd} trong thư mục {out}."])


PROBLEM_HEADER = ("Tệp", "Đơn vị", "Kỳ", "Mã lỗi", "Trang", "Ô", "Nội dung lỗi")


@entry
def validate_files(ctx: Context) -> str:
    from thidua.intake.feedback import feedback_name, write_feedback
    from thidua.intake.validate import validate_file
    paths = [Path(p.strip()) for p in ctx.control("ThiDua_Tep").splitlines() if p.strip()]
    if not paths:
        raise ThiDuaError("Chưa chọn tệp nào để kiểm tra.", "Bấm «Chọn tệp...» rồi bấm lại.")
    key, rows, bad = ctx.key(), [], 0
    for path in paths:
        result = validate_file(path, ctx.plan, key, units=ctx.ws.register_map)
        write_feedback(path, result, ctx.path("feedback") / feedback_name(path, result))
        bad += bool(result.issues)
        rows += [(path.name, result.unit, result.round, i.code, i.sheet, i.cell, i.message) for i in result.issues]
    write_table(ctx.book, "problems", PROBLEM_HEADER, rows)
    return (f"Đã kiểm tra {len(paths)} tệp: {bad} tệp có lỗi ({len(rows)} lỗi, xem trang "
            f"{L.RESULT_SHEETS['problems'][0]}); tệp phản hồi trong thư mục {ctx.path('feedback')}.")


FILE_STATUS_VI = FILE_STATUS            # one label per status (store/vocabulary.py)


@entry
def consolidate_inbox(ctx: Context) -> str:
    from thidua.consolidate.run import consolidate
    inbox = Path(ctx.control("ThiDua_HopThu") or ctx.path("inbox"))
    if not inbox.is_dir():
        raise ThiDuaError(f"Không thấy thư mục hộp thư {inbox}.",
                          f"Bấm «Chọn thư mục...» hoặc tạo thư mục {inbox.name} cạnh sổ làm việc.")
    report = consolidate(ctx.ws, inbox)
    labels = {ind.code: (ind.label, ind.unit) for ind in ctx.plan.indicators}
    totals = [(rnd, code, *labels.get(code, ("", "")), total)
              for rnd, by_code in sorted(report.totals.items()) for code, total in by_code.items()]
    write_table(ctx.book, "data", ("Kỳ", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Tổng"), totals)
    files = [(f.file, f.unit, f.round, FILE_STATUS_VI.get(f.status, f.status), f.n_issues, f.note)
             for f in report.files if f.status != "accepted"]
    files += [(item["file"], None, None, "bỏ qua", 0, item["reason"]) for item in report.skipped]
    files += [(item["file"], item["unit"], item["round"], FILE_STATUS_VI["accepted"], 0, item["message"])
              for item in report.across]                # a figure below the unit's earlier report (a warning)
    write_table(ctx.book, "problems", ("Tệp", "Đơn vị", "Kỳ", "Tình trạng", "Số lỗi", "Ghi chú"), files)
    counts = ", ".join(f"{n} {FILE_STATUS_VI.get(s, s)}" for s, n in sorted(report.counts().items()))
    said = ""
    if report.rejudged:
        from thidua.consolidate.rejudge import Rejudged
        said = Rejudged(**report.rejudged).sentence() + " "
    skipped = f" Bỏ qua {len(report.skipped)} tệp không phải báo cáo (xem trang Các lỗi)." if report.skipped else ""
    if report.across:
        from thidua.store.crossround import decreases_sentence
        skipped += f" Lưu ý: {decreases_sentence(report.across)} (xem trang Các lỗi)."
    return f"{said}Đã tổng hợp {len(report.files)} tệp ({report.n_new} tệp mới): {counts}.{skipped}"


@entry
def track_and_remind(ctx: Context) -> str:
    from thidua.reports.reminders import write_reminders
    from thidua.store.tracking import status_label, status_rows
    rnd = ctx.plan.round(ctx.control("ThiDua_Ky")).code
    rows = status_rows(ctx.ws, rnd)
    write_table(ctx.book, "tracking", ("Mã đơn vị", "Tên đơn vị", "Khối", "Thư điện tử", "Kỳ", "Tình trạng",
                                       "Thời điểm nhận", "Số lỗi", "Ghi chú", "Nguồn thời điểm nhận",
                                       "Tệp hợp lệ đầu tiên", "Số ngày trễ"),
                [(r["unit"], r["name"], r["cluster"], r["email"], r["round"], status_label(r["status"]),
                  r["received_at"], r["n_errors"], r["note"], RECEIPT_SOURCE.get(r["received_source"] or "", ""),
                  r["first_valid_at"], r["days_late"]) for r in rows])
    chase = [r for r in rows if r["status"] != "ok"]
    out = ctx.path("reminders") / rnd
    write_reminders(ctx.ws, rnd, out, templates_dir=ctx.path("templates") / rnd)
    return (f"Kỳ {rnd}: {len(rows) - len(chase)} đơn vị đã nộp đúng hạn, {len(chase)} đơn vị cần nhắc; "
            f"danh sách và thư nhắc trong thư mục {out}.")


@entry
def fetch_mail(ctx: Context) -> str:
    """«Nhận tệp từ hộp thư»: new spreadsheets from the office's mailbox into the inbox folder."""
    from thidua.mail.fetch import fetch_mail as fetch
    from thidua.mail.settings import load_settings
    from thidua.settings_file import SETTINGS_FILE
    inbox = Path(ctx.control("ThiDua_HopThu") or ctx.path("inbox"))
    report = fetch(ctx.ws, load_settings(ctx.plan.meta, ctx.folder / SETTINGS_FILE), inbox)
    rows = [(t.file, t.content_unit, "", "cần xem", 0, t.flag) for t in report.flagged]
    rows += [(f"thư số {p['uid']}: {p.get('subject') or ''}", "", "", "chưa nhận", 0, f"{p['reason']}; {p['hint']}")
             for p in report.problems]
    if rows:
        write_table(ctx.book, "problems", ("Tệp", "Đơn vị", "Kỳ", "Tình trạng", "Số lỗi", "Ghi chú"), rows)
    message = f"Đã nhận {len(report.saved)} tệp mới từ {report.n_messages} thư vào thư mục {inbox}"
    if report.flagged:
        message += f"; {len(report.flagged)} tệp gửi từ địa chỉ của đơn vị khác, cần xem (trang {L.RESULT_SHEETS['problems'][0]})"
    if report.problems:
        message += f"; {len(report.problems)} thư chưa nhận được (trang {L.RESULT_SHEETS['problems'][0]}), lần sau sẽ thử lại"
    return message + ". Bấm «Tổng hợp hộp thư» để đọc các tệp."


@entry
def send_mail(ctx: Context) -> str:
    """«Gửi biểu mẫu / thư nhắc»: until the due date each unit its template, after it a reminder; never twice. Messages
    a killed run left «sending» are listed on «Thư chưa rõ»; the office's «Gửi lại» / «Đã nhận» there is recorded
    (with who, when and the row's note) before sending."""
    from thidua.mail.chosen import sheet_rows as mail_rows, sort_chosen
    from thidua.mail.send import build, send_messages, sender_of, uncertain, what_to_send
    from thidua.mail.settings import load_settings
    from thidua.settings_file import SETTINGS_FILE
    rnd = ctx.plan.round(ctx.control("ThiDua_Ky"))
    what = what_to_send(rnd)
    settings = load_settings(ctx.plan.meta, ctx.folder / SETTINGS_FILE)
    templates = ctx.path("templates") / rnd.code
    chosen = sort_chosen(L.typed_mail_decisions(sheet_rows(ctx.book)), rnd.code, what,
                         {r["unit"].upper() for r in uncertain(ctx.ws, rnd.code, what)})
    outgoing, no_address = build(ctx.ws, what, rnd.code, sender_of(settings, ctx.plan),
                                 templates if templates.is_dir() else None)
    report = send_messages(ctx.ws, outgoing, settings, rnd.code, what, resend=chosen.units("resend"),
                           mark_sent=chosen.units("mark_sent"), notes=chosen.notes())
    write_table(ctx.book, "mail", L.MAIL_HEADER, mail_rows(report, chosen, rnd.code, what))
    kind = "thư nhắc" if what == "reminders" else "biểu mẫu"
    message = f"Kỳ {rnd.code}: đã gửi {len(report.sent)} {kind}"
    if report.decisions:
        message += f"; đã ghi {len(report.decisions)} quyết định của văn phòng (trang {L.RESULT_SHEETS['mail'][0]})"
    if report.already:
        message += f"; {len(report.already)} đơn vị đã được gửi từ trước, không gửi lại"
    if report.failed or no_address:
        message += f"; chưa gửi được cho {', '.join([f['unit'] for f in report.failed] + no_address)}"
    if report.uncertain:
        units = ", ".join(report.uncertain)
        message += (f". Lỗi: lần gửi trước bị dừng giữa chừng khi đang gửi cho {units}, không biết thư đã đến chưa "
                    f"nên không gửi lại. Thử: xem «Thư đã gửi» của hộp thư văn phòng, rồi ở trang "
                    f"«{L.RESULT_SHEETS['mail'][0]}» chọn «{L.MAIL_CHOICES['resend']}» (đơn vị chưa nhận) hoặc "
                    f"«{L.MAIL_CHOICES['mark_sent']}» cho từng đơn vị và bấm lại nút này")
    return message + "."


@entry
def score_units(ctx: Context) -> str:
    """«Xếp loại, khen thưởng»: first the decisions chosen on the «Khen thưởng» sheet are recorded (each row on its
    own; a refused row keeps its choice and says why), then the period's scores and every proposal are written."""
    from thidua.awards.chosen import record_chosen
    from thidua.awards.proposals import STATE_NAMES, SUBJECT_NAMES, load_proposals
    from thidua.review.scoring import classify_units
    period = L.period_code(ctx.control("ThiDua_Dot"))
    outcomes = record_chosen(ctx.ws, L.typed_decisions(sheet_rows(ctx.book)))
    results = classify_units(ctx.ws, period)
    write_table(ctx.book, "scores", ("Mã đơn vị", "Tên đơn vị", "Khối", "Tổng điểm", "Xếp loại", "Căn cứ",
                                     "Hạng trong khối", "Hạng toàn tỉnh"),
                [(r.code, r.name, r.cluster, r.total, r.level_name, r.rule, r.rank_cluster, r.rank_province)
                 for r in results])
    checks = load_proposals(ctx.ws)
    said = {o.typed.proposal: o for o in outcomes if o.typed.proposal is not None}
    kept = {pid: (o.typed.chosen, o.typed.form, o.typed.reason) for pid, o in said.items()
            if not o.recorded and o.keep}
    write_table(ctx.book, "awards", L.AWARDS_HEADER,
                [(c.id, c.unit, c.round, SUBJECT_NAMES.get(c.subject, c.subject), c.name, c.attested.text,
                  c.effective_form.name if c.effective_form else "", STATE_NAMES.get(c.state, c.state),
                  "Có" if c.eligible else "Không", "; ".join(c.problems + c.warnings),
                  *kept.get(c.id, ("", "", "")), said[c.id].text if c.id in said else "") for c in checks])
    scored = sum(1 for r in results if r.total is not None)
    message = (f"Đợt {period}: đã xếp loại {scored}/{len(results)} đơn vị (trang {L.RESULT_SHEETS['scores'][0]}); "
               f"{len(checks)} đề nghị khen thưởng, {sum(c.eligible for c in checks)} đủ điều kiện "
               f"(trang {L.RESULT_SHEETS['awards'][0]})")
    if outcomes:
        refused = [o for o in outcomes if not o.recorded]
        message += f"; đã ghi {len(outcomes) - len(refused)} quyết định của văn phòng"
        if refused:
            listed = {c.id for c in checks}
            lost = [o for o in refused if o.typed.proposal not in listed or not o.keep]
            message += (f", {len(refused)} dòng chưa ghi được (cột «{L.RESULT_COLUMN}»"
                        + (": " + " ".join(o.text for o in lost) if lost else "") + ")")
    return message + "."


@entry
def award_papers(ctx: Context) -> str:
    """«Soạn quyết định, giấy khen» for the chosen round: for each form the office decides, a decision record of the
    round's awarded, eligible proposals not yet in one (its ad-hoc rows in a decision of their own), then the papers
    of every decision of the round (decision with its list, certificates, working list); for each form decided above,
    a submission. Layouts from the folder mau-van-ban beside the book if present."""
    from thidua.awards.decisions import NothingToDecide, list_decisions, make_decision, summary_line, write_papers
    from thidua.awards.documents import context as doc_context, proposed, render
    from thidua.awards.proposals import load_proposals
    from thidua.plan.model import OFFICE
    from thidua.reports.libreoffice import convert_all, soffice
    rnd = ctx.plan.round(ctx.control("ThiDua_Ky"))
    if rnd.kind not in ("review", "adhoc"):
        raise ThiDuaError(f"Kỳ {rnd.code} ({rnd.name}) không có đề nghị khen thưởng.",
                          "Chọn kỳ sơ kết, tổng kết hoặc đề nghị đột xuất ở ô «Kỳ báo cáo».")
    wanted = ctx.control("ThiDua_HinhThuc")
    forms = [f for f in ctx.plan.forms if not wanted or f.code.lower() == wanted.lower()]
    if not forms:
        raise ThiDuaError(f"Không có hình thức khen thưởng «{wanted}».",
                          "Ghi một mã trong trang Hình thức khen thưởng, hoặc để trống ô đó.")
    layouts = ctx.path("layouts") if ctx.path("layouts").is_dir() else None
    out, written, made = ctx.path("awards"), [], []
    for form in (f for f in forms if f.decided_by == OFFICE):
        for adhoc in (False, True) if rnd.kind == "review" else (True,):
            try:
                made.append(make_decision(ctx.ws, rnd.code, form.code, adhoc=adhoc))
            except NothingToDecide:
                continue
        for decision in list_decisions(ctx.ws, [rnd.code]):
            if decision.form == form.code:
                written += write_papers(decision, out, layouts)
    checks = load_proposals(ctx.ws, [rnd.code])
    for form in (f for f in forms if f.decided_by != OFFICE):
        try:
            rec = proposed(ctx.plan, checks, form.code, ctx.ws.unit_names)
        except ThiDuaError:
            continue            # nothing reviewed for this form
        written.append(render("submission", doc_context(ctx.plan, rec, "submission", None, rnd.end, rnd.code),
                              out / f"ToTrinh_{form.code}_{rnd.code}.docx", layouts))
    if soffice() and written:
        convert_all(written, "pdf", out)
    if not written:
        return (f"Kỳ {rnd.code}: chưa có đề nghị nào được khen thưởng hoặc đã xét để soạn văn bản (xem trang Khen "
                "thưởng: chọn quyết định cho từng đề nghị ở cột «Văn phòng quyết định» rồi bấm «Xếp loại, khen thưởng»).")
    news = "; ".join(f"đã lập quyết định {summary_line(d, ', ')}" for d in made)
    return ((news + ". ") if news else "") + \
        f"Đã soạn {len(written)} văn bản trong thư mục {out}: " + ", ".join(p.name for p in written) + "."


@entry
def year_summary(ctx: Context) -> str:
    from thidua.reports.summary import collect
    from thidua.reports.summary_job import build_summary
    period = L.period_code(ctx.control("ThiDua_Dot"))
    out = build_summary(ctx.ws, period, ctx.path("summary") / f"TongKet_{period}.xlsx")
    data = collect(ctx.ws, period)
    write_table(ctx.book, "summary", ("Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Toàn tỉnh"),
                [(ind.code, ind.label, ind.unit, data.total(ind.code)) for ind in ctx.plan.indicators
                 if ind.type in ("int", "money")])
    return f"Đã lập bảng tổng kết đợt {period}: {out}."


@entry
def export_committee(ctx: Context) -> str:
    from thidua.consolidate.run import write_workbooks
    rnd = ctx.plan.round(ctx.control("ThiDua_Ky")).code
    paths = write_workbooks(ctx.ws, [rnd], ctx.path("export"))
    return f"Đã xuất {len(paths)} sổ tổng hợp kỳ {rnd} cho Ban Thường vụ: {', '.join(p.name for p in paths)}."


@entry
def backup_data(ctx: Context) -> str:
    from thidua.store.transfer import backup
    key = ctx.folder / KEY_FILE
    out = backup(ctx.db, key if key.exists() else None, ctx.path("backup"))
    return (f"Đã sao lưu cơ sở dữ liệu, thư mục lưu trữ" + (" và khóa" if key.exists() else " (chưa có khóa)")
            + f" vào {out}. Chép tệp này sang ổ đĩa khác hoặc USB.")


@entry
def restore_data(ctx: Context) -> str:
    """«Khôi phục dữ liệu»: the backup named in «Bản sao lưu cần khôi phục» (the macro asks for it when empty) checked
    whole; what is in place now backed up first; then the store and archive replaced. The cell is emptied after,
    so that the next press asks again."""
    from thidua.store.transfer import restore_keeping
    chosen = ctx.control("ThiDua_SaoLuu")
    if not chosen:
        raise ThiDuaError("Chưa chọn bản sao lưu cần khôi phục.",
                          "Bấm «Khôi phục dữ liệu» rồi chọn tệp thidua-sao-luu-….zip trong thư mục sao-luu.")
    c = L.CONTROL["ThiDua_SaoLuu"]
    try:
        done, safety = restore_keeping(Path(chosen), ctx.db, ctx.folder / KEY_FILE, ctx.path("backup"))
    finally:
        ctx.book.sheets[L.HOME].range((c.row + 1, c.col + 1)).value = None      # the next press asks again
    kept = f"Dữ liệu trước khi khôi phục đã được sao lưu vào {safety}. " if safety else ""
    return (f"{kept}Đã khôi phục cơ sở dữ liệu và {done.n_files} tệp lưu trữ từ {Path(chosen).name} "
            f"({done.added} tệp chép vào, {done.n_files - done.added} tệp đã có sẵn, nguyên vẹn)"
            + (f"; đã thay {len(done.repaired)} bản lưu trữ bị hỏng" if done.repaired else "") + ". Bấm «Theo dõi, "
            "nhắc nộp» để xem lại tình hình.")


@entry
def new_year(ctx: Context) -> str:
    """«Chuyển sang năm mới»: next year's workbook and store beside this book; this book and its store unchanged."""
    from thidua.year.rollover import new_year as roll
    done = roll(ctx.ws, ctx.plan.year + 1, ctx.folder)
    write_table(ctx.book, "newyear", L.REPORT_HEADER, done.rows())
    where = "cạnh sổ này" if done.store.is_sqlite else f"trên máy chủ {done.store.server}"
    return (f"Đã tạo {done.workbook.name} và kho dữ liệu {done.store_name} {where}; {len(done.checks())} việc "
            f"cần kiểm tra (trang {L.RESULT_SHEETS['newyear'][0]}). Mở {done.workbook.name} để làm việc năm "
            f"{done.year}.")


# ---------------------------------------------------------------- worksheet functions
@functools.lru_cache(maxsize=8)
def _plan_at(path: str, mtime: float):
    from thidua.plan.load import load_plan
    return load_plan(path)


def _caller_folder_plan(caller) -> tuple[Path | None, Any]:
    """The saved workbook's folder and plan (the bundled plan when the caller has no saved file)."""
    from thidua.plan.load import load_plan
    path = Path(caller.sheet.book.fullname) if caller is not None else None
    if path is None or not path.is_file():
        return None, load_plan()
    return path.parent, _plan_at(str(path), os.path.getmtime(path))


@xw.func
def THIDUA_XEPLOAI(diem, bo_quy_tac=None, caller=None):
    """The level (xếp loại) a total score earns under the year's rule set (or the one named)."""
    from thidua.review.scoring import classify_score
    _, plan = _caller_folder_plan(caller)
    try:
        return classify_score(plan, float(diem), rule_set=bo_quy_tac or None).level_name
    except ThiDuaError as exc:
        return f"Lỗi: {exc.message}"


@xw.func
def THIDUA_DUNGHAN(ky, caller=None):
    """A round's on-time rate: the share of units whose first valid report came by the due date (0 to 1)."""
    from thidua.store.tracking import status_rows
    from thidua.plan.load import load_units
    folder, plan = _caller_folder_plan(caller)
    try:
        db, _ = store_settings(folder, plan)
        from thidua.store.store import exists
        if not exists(db):
            return "Lỗi: chưa có dữ liệu tổng hợp"
        units = load_units(caller.sheet.book.fullname) if folder else load_units()
        rows = status_rows(WorkingSet(plan, units, db), str(ky))
    except ThiDuaError as exc:
        return f"Lỗi: {exc.message}"
    return sum(r["status"] == "ok" for r in rows) / len(rows) if rows else 0.0
