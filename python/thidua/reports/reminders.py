"""Urging (đôn đốc) late units: a reminder list (.xlsx) and ready-to-send .eml drafts with the template attached."""
from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from thidua.reports.committee import Book, as_datetime
from thidua.fileio import atomic_write_bytes, atomic_path
from thidua.mail.wire import WIRE
from thidua.templates.build import TemplateFactory, template_filename
from thidua.store.issues import errors_of_file
from thidua.store.store import Store
from thidua.store.tracking import NEEDS_REMINDER, status_label, status_rows
from thidua.reports.mailheader import Unfolded

XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MAX_LISTED_ISSUES = 15


def reminder_filename(round_code: str, unit_code: str) -> str:
    return f"{round_code}_{unit_code}_nhac-nho.eml"


def _issues(ws, sha: str | None) -> list[tuple]:
    if not sha:
        return []
    with ws.store() as store:
        return errors_of_file(store, sha)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _body(plan, rnd, row: dict, issues: list[tuple], attached: bool) -> str:
    due = rnd.due.strftime("%d/%m/%Y") if rnd.due else ""
    lines = [f"Kính gửi: {row['name']},", ""]
    if row["status"] == "missing":
        lines.append(f"Đến nay Văn phòng Công đoàn Viên chức tỉnh chưa nhận được {_lower_first(rnd.name)} của đơn vị "
                     f"(hạn gửi: {due}).")
    else:
        when = as_datetime(row["received_at"])
        lines.append(f"Tệp {_lower_first(rnd.name)} đơn vị gửi lúc {when:%H:%M ngày %d/%m/%Y} còn "
                     f"{row['n_errors']} lỗi nên chưa tổng hợp được. Các lỗi cần sửa:")
        for sheet, cell, message in issues[:MAX_LISTED_ISSUES]:
            where = f"trang «{sheet}», ô {cell}: " if sheet and cell else ""
            lines.append(f"  - {where}{message}")
        if len(issues) > MAX_LISTED_ISSUES:
            lines.append(f"  - ... và {len(issues) - MAX_LISTED_ISSUES} lỗi khác.")
    lines.append("")
    if attached:
        lines.append("Đề nghị đơn vị điền biểu mẫu đính kèm (đã ghi sẵn mã và tên đơn vị), lưu dạng .xlsx "
                     "và gửi lại qua thư điện tử này trong thời gian sớm nhất.")
    else:
        lines.append("Đề nghị đơn vị điền biểu mẫu của kỳ báo cáo và gửi lại trong thời gian sớm nhất.")
    lines += ["", "Trân trọng.", f"Văn phòng {plan.office_on(rnd.due or rnd.end).issuer_name}".strip()]
    return "\n".join(lines) + "\n"


def _attachment(plan, round_code: str, unit, templates_dir, key, factories: dict) -> bytes | None:
    """The unit's template: from `templates_dir` if there, else rendered with the office key (or None)."""
    if templates_dir:
        path = Path(templates_dir) / template_filename(round_code, unit)
        if path.exists():
            return path.read_bytes()
    if not key:
        return None
    if round_code not in factories:
        factories[round_code] = TemplateFactory(plan, round_code, key)
    return factories[round_code].render(unit)


def write_reminders(ws, round_code: str, out_dir, templates_dir=None) -> list[Path]:
    """The reminder list of a round (.xlsx) and one .eml draft per unit still missing or with errors.

    The template is taken from `templates_dir` (as written by `thidua templates`); without it, it is rendered
    afresh with the office key. A template missing from `templates_dir` leaves the draft without attachment,
    and the draft says so.
    """
    plan, unit_map = ws.plan, ws.unit_map
    key = None if templates_dir else ws.key()        # the templates written by the office, else the key
    rnd = plan.round(round_code)
    rows = [r for r in status_rows(ws, round_code)
            if r["status"] != "ok" and (rnd.due or r["status"] == "errors")]   # ad-hoc: only files with errors
    out_dir = Path(out_dir)
    factories: dict = {}
    sender = plan.meta.get("office_email", "")
    paths, listed = [], []
    for row in rows:
        eml_name = ""
        if row["status"] in NEEDS_REMINDER:
            data = _attachment(plan, round_code, unit_map[row["unit"]], templates_dir, key, factories)
            msg = EmailMessage()
            msg["Subject"] = Unfolded(f"Đề nghị gửi {_lower_first(rnd.name)} - {row['name']}")
            msg["To"] = row["email"]
            if sender:
                msg["From"] = sender
            msg["Date"] = format_datetime(dt.datetime.now().astimezone())
            msg["Message-ID"] = make_msgid("thidua")
            msg["X-Unsent"] = "1"           # Outlook and Thunderbird open it as a draft ready to send
            msg.set_content(_body(plan, rnd, row, _issues(ws, row["sha256"]), data is not None))
            if data is not None:
                msg.add_attachment(data, maintype=XLSX_MIME[0], subtype=XLSX_MIME[1],
                                   filename=template_filename(round_code, unit_map[row["unit"]]))
            eml_name = reminder_filename(round_code, row["unit"])
            paths.append(atomic_write_bytes(out_dir / eml_name, msg.as_bytes(policy=WIRE)))
        listed.append(row | {"eml": eml_name})
    paths.insert(0, _write_list(plan, rnd, listed, out_dir / f"NhacNho_{round_code}.xlsx"))
    return paths


def _write_list(plan, rnd, rows: list[dict], target: Path) -> Path:
    cols = [("STT", 5, "center"), ("Mã đơn vị", 9, "center"), ("Tên công đoàn cơ sở", 34, "text"),
            ("Khối thi đua", 14, "text"), ("Thư điện tử", 28, "text"), ("Tình trạng", 18, "text"),
            ("Nhận lúc", 15, "datetime"), ("Số lỗi", 7, "int"), ("Thư nhắc (.eml)", 22, "small"),
            ("Ghi chú", 24, "small")]
    data = [[i, r["unit"], r["name"], r["cluster"], r["email"], status_label(r["status"]), as_datetime(r["received_at"]),
             r["n_errors"], r["eml"], r["note"]] for i, r in enumerate(rows, start=1)]
    with atomic_path(target) as tmp:
        book = Book(tmp, plan, rnd, dt.datetime.now().replace(microsecond=0))
        book.table("Nhắc nhở", "DANH SÁCH ĐƠN VỊ CẦN ĐÔN ĐỐC GỬI BÁO CÁO", cols, data,
                   empty="Tất cả đơn vị đã gửi báo cáo hợp lệ.", signature=True)
        book.close()
    return target
