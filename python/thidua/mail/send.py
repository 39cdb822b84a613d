"""`thidua mail send`: each unit its pre-filled template, or a reminder (with its own feedback file); exactly once."""
from __future__ import annotations

import datetime as dt
import smtplib
import sys
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.fileio import atomic_write_bytes, scratch_folder
from thidua.mail.connect import open_smtp
from thidua.mail.settings import MailSettings
from thidua.mail.wire import WIRE
from thidua.store import mail as M

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
WHAT = ("templates", "reminders")


@dataclass
class Outgoing:
    """One message to send to one unit, with the key that makes sending it happen once."""

    unit: str
    to: str
    send_key: str
    msg: EmailMessage
    attachment: str = ""


@dataclass
class SendReport:
    round: str
    what: str
    dry_run: bool
    sent: list[str] = field(default_factory=list)            # unit codes
    already: list[str] = field(default_factory=list)         # sent by an earlier run
    uncertain: list[str] = field(default_factory=list)       # an earlier run was killed while sending
    uncertain_rows: list[dict] = field(default_factory=list)  # those messages as the sent log has them
    decisions: list[dict] = field(default_factory=list)      # the office's --resend / --mark-sent of this run
    failed: list[dict] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)         # .eml files of a dry run

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _signature(plan, day: dt.date | None = None) -> str:
    """«Văn phòng Công đoàn Viên chức tỉnh Quảng Nam»: the office's name in force on `day` (plan/dated.py)."""
    return f"Văn phòng {plan.office_on(day).issuer_name}".strip()


def what_to_send(rnd, today: dt.date | None = None) -> str:
    """What «Gửi biểu mẫu / thư nhắc» sends for a round: templates until its due day, reminders after it."""
    today = today or dt.date.today()
    return "reminders" if rnd.due and today > rnd.due else "templates"


def template_messages(plan, units, round_code: str, key: bytes, sender: str) -> tuple[list[Outgoing], list[str]]:
    """Each unit's pre-filled template of the round; (messages, units without an e-mail address)."""
    from thidua.templates.build import TemplateFactory, template_filename
    rnd = plan.round(round_code)
    factory = TemplateFactory(plan, round_code, key)
    due = f" trước ngày {rnd.due:%d/%m/%Y}" if rnd.due else ""
    out, missing = [], []
    for unit in units:
        if not unit.email:
            missing.append(unit.code)
            continue
        msg = EmailMessage()
        msg["Subject"] = f"Biểu mẫu {_lower_first(rnd.name)} - {unit.name}"
        msg["From"], msg["To"] = sender, unit.email
        msg.set_content(
            f"Kính gửi: {unit.name},\n\nVăn phòng gửi đơn vị biểu mẫu {_lower_first(rnd.name)} (đã ghi sẵn mã và tên "
            f"đơn vị). Đề nghị đơn vị điền đủ các ô, không đổi tên trang, lưu dạng .xlsx và gửi lại qua thư điện tử "
            f"này{due}.\n\nTrân trọng.\n{_signature(plan, rnd.start)}\n")
        name = template_filename(round_code, unit)
        msg.add_attachment(factory.render(unit), maintype=XLSX[0], subtype=XLSX[1], filename=name)
        out.append(Outgoing(unit.code, unit.email, f"{round_code}/templates/{unit.code}", msg, name))
    return out, missing


def reminder_messages(ws, round_code: str, sender: str, templates_dir=None) -> tuple[list[Outgoing], list[str]]:
    """The reminder drafts of `thidua status --reminders` (reports/reminders.py), ready to send.

    A unit whose file has errors gets its own file back with the bad cells marked (intake/feedback.py)
    instead of a blank template.
    """
    from thidua.reports.reminders import reminder_filename, write_reminders
    from thidua.store.tracking import NEEDS_REMINDER, status_rows
    key = None if templates_dir else ws.key()        # the templates written by the office, else the key
    rows = [r for r in status_rows(ws, round_code) if r["status"] in NEEDS_REMINDER]
    out, missing = [], []
    with scratch_folder("mail") as tmp:
        write_reminders(ws, round_code, Path(tmp), templates_dir=templates_dir)
        for row in rows:
            eml = Path(tmp) / reminder_filename(round_code, row["unit"])
            if not row["email"]:
                missing.append(row["unit"])
                continue
            if not eml.exists():
                continue
            msg = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
            del msg["X-Unsent"]
            del msg["From"]
            msg["From"] = sender
            attachment = next((p.get_filename() for p in msg.iter_attachments()), "") or ""
            if row["status"] == "errors" and row["sha256"]:
                msg, attachment = _with_feedback(msg, ws, key, row, Path(tmp))
            reason = f"{row['status']}/{(row['sha256'] or '-')[:16]}"
            out.append(Outgoing(row["unit"], row["email"], f"{round_code}/reminders/{row['unit']}/{reason}", msg,
                                attachment))
    return out, missing


def _with_feedback(msg: EmailMessage, ws, key, row: dict, tmp: Path):
    """The reminder with the unit's own file, marked up, attached instead of the blank template."""
    from thidua.intake.feedback import write_feedback
    from thidua.intake.validate import validate_file
    with ws.store() as store:
        rel = M.archived_path(store, row["sha256"])
        if not rel:
            return msg, next((p.get_filename() for p in msg.iter_attachments()), "") or ""
        with store.archive.as_file(rel) as src:
            result = validate_file(src, ws.plan, key, ws.register_map)
            name = f"{Path(row['file_name'] or src.name).stem}_phan-hoi.xlsx"
            fb = write_feedback(src, result, tmp / f"{row['unit']}_{name}")
    body = msg.get_body(("plain",)).get_content()
    body = body.replace("Đề nghị đơn vị điền biểu mẫu đính kèm (đã ghi sẵn mã và tên đơn vị)",
                        "Tệp đính kèm là chính tệp đơn vị đã gửi, các ô lỗi được tô màu và ghi chú. Đề nghị đơn vị "
                        "sửa các ô đó (xem trang liệt kê lỗi)")
    new = EmailMessage()
    for header in ("Subject", "From", "To", "Date", "Message-ID"):
        if msg[header]:
            new[header] = str(msg[header])
    new.set_content(body)
    new.add_attachment(Path(fb).read_bytes(), maintype=XLSX[0], subtype=XLSX[1], filename=name)
    return new, name


def who_decides() -> str:
    """The office's account on this machine, as the decision log names it: user@computer."""
    import getpass
    import socket
    try:
        user = getpass.getuser()
    except Exception:           # no user name in this environment
        user = "?"
    return f"{user}@{socket.gethostname()}"


RESEND_REASON = "văn phòng đã kiểm tra: đơn vị chưa nhận được thư"
MARK_SENT_REASON = "văn phòng đã kiểm tra: thư đã đến đơn vị (có trong thư đã gửi)"


def decide_uncertain(store: Store, round_code: str, what: str, resend=(), mark_sent=(), note: str | None = None,
                     who: str | None = None, notes: dict | None = None) -> list[dict]:
    """Record the office's decision on messages a killed run left «sending»: send again (`resend`, with the
    same Message-ID) or count as sent (`mark_sent`). Units not left uncertain are refused, with the ones that are.
    `notes`: a reason of its own for some units (the workbook's sheet has one per row), else `note`."""
    resend = [u.strip().upper() for u in resend or () if u.strip()]
    mark_sent = [u.strip().upper() for u in mark_sent or () if u.strip()]
    both = sorted(set(resend) & set(mark_sent))
    if both:
        raise ThiDuaError(f"Đơn vị {', '.join(both)} vừa được ghi gửi lại vừa được ghi đã gửi.",
                          "Chọn một trong hai: --resend (chưa nhận được) hoặc --mark-sent (đã nhận được).")
    rows = {r["unit"].upper(): r for r in M.uncertain_sends(store, round_code, what)}
    unknown = [u for u in resend + mark_sent if u not in rows]
    if unknown:
        listed = ", ".join(sorted(rows)) or "không có đơn vị nào"
        raise ThiDuaError(f"Đơn vị {', '.join(unknown)} không có thư {'biểu mẫu' if what == 'templates' else 'nhắc'} "
                          f"kỳ {round_code} nào đang ở trạng thái chưa rõ (đang gửi thì bị dừng); các đơn vị đang chưa "
                          f"rõ: {listed}.", "Chỉ ghi --resend / --mark-sent cho các đơn vị đó.")
    who = who or who_decides()
    done = []
    with store.atomic():
        for unit in resend:
            done.append(M.decide_send(store, rows[unit], "resend", who, (notes or {}).get(unit) or note
                                      or RESEND_REASON))
        for unit in mark_sent:
            done.append(M.decide_send(store, rows[unit], "mark_sent", who, (notes or {}).get(unit) or note
                                      or MARK_SENT_REASON))
    return done


def send_messages(ws, outgoing: list[Outgoing], settings: MailSettings, round_code: str, what: str,
                  dry_run: bool = False, out_dir: Path | None = None, progress: bool = False,
                  resend=(), mark_sent=(), note: str | None = None, notes: dict | None = None) -> SendReport:
    """Send each message not sent before (the sent log in the store); a dry run writes .eml files only.

    `resend` / `mark_sent`: units whose message a killed run left «sending», decided by the office (logged
    with who, when and why); a resent message keeps the Message-ID it was first sent with."""
    report = SendReport(round_code, what, dry_run)
    with ws.store(create=True) as store:
        if resend or mark_sent:
            if dry_run:
                raise ThiDuaError("--resend / --mark-sent ghi quyết định vào kho dữ liệu nên không dùng với --dry-run.",
                                  "Bỏ --dry-run.")
            report.decisions = decide_uncertain(store, round_code, what, resend, mark_sent, note, notes=notes)
        again = {d["unit"]: d["message_id"] for d in report.decisions if d["action"] == "resend"}
        todo = []
        for o in outgoing:
            done = M.sent_entry(store, o.send_key)
            if done is None:
                if o.unit in again and again[o.unit]:      # the same message: a unit that got it sees one
                    del o.msg["Message-ID"]                     # (a reminder is built with an id of its own)
                    o.msg["Message-ID"] = again[o.unit]
                todo.append(o)
            elif done["state"] == "sent":
                report.already.append(o.unit)
            else:
                report.uncertain.append(o.unit)
                report.uncertain_rows.append(done)
        if dry_run:
            folder = Path(out_dir or Path("thu-gui") / round_code)
            for o in todo:
                o.msg["X-Unsent"] = "1"
                target = folder / f"{round_code}_{o.unit}_{'bieu-mau' if what == 'templates' else 'nhac-nho'}.eml"
                report.written.append(str(atomic_write_bytes(target, o.msg.as_bytes(policy=WIRE))))
            return report
        if not todo:
            return report
        smtp = open_smtp(settings)
        interval = 60.0 / max(settings.rate_per_minute, 0.001)
        bar = _bar(len(todo), progress)
        last = 0.0
        try:
            for o in todo:
                pause = last + interval - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if not o.msg["Date"]:
                    o.msg["Date"] = format_datetime(dt.datetime.now().astimezone())
                if not o.msg["Message-ID"]:
                    o.msg["Message-ID"] = make_msgid("thidua")
                with store.atomic():
                    M.begin_send(store, {"send_key": o.send_key, "round": round_code, "what": what, "unit": o.unit,
                                         "recipient": o.to, "subject": str(o.msg["Subject"]),
                                         "message_id": str(o.msg["Message-ID"]), "attachment": o.attachment})
                last = time.monotonic()
                try:
                    smtp.sendmail(parseaddr(str(o.msg["From"]))[1], [o.to], o.msg.as_bytes(policy=WIRE))
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                    with store.atomic():
                        M.cancel_send(store, o.send_key)
                    report.failed.append({"unit": o.unit, "to": o.to, "error": str(exc)})
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    with store.atomic():
                        M.cancel_send(store, o.send_key)
                    raise ThiDuaError(f"Mất kết nối với máy chủ gửi thư khi gửi cho đơn vị {o.unit}: {exc}.",
                                      f"Chạy lại: {len(report.sent)} thư đã gửi được ghi nhận và không gửi lại.") from exc
                with store.atomic():
                    M.finish_send(store, o.send_key)
                report.sent.append(o.unit)
                if bar:
                    bar.update(1)
        finally:
            if bar:
                bar.close()
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
    return report


def uncertain(ws, round_code: str, what: str) -> list[dict]:
    """The messages of a round a killed run left «sending» (as the sent log has them), for the office to decide."""
    from thidua.store.store import exists
    if not exists(ws.location):
        return []
    with ws.store() as store:
        return M.uncertain_sends(store, round_code, what)


def _bar(total: int, wanted: bool):
    if wanted and sys.stderr.isatty() and total > 5:
        from tqdm import tqdm
        return tqdm(total=total, desc="Gửi thư", unit=" thư", file=sys.stderr)
    return None


DEMO_SENDER = "vanphong@congdoan.example.org"      # fictional (.example): the demo's office address


def sender_of(settings: MailSettings, plan, settings_file: Path | None = None) -> str:
    """The office's sender address; missing -> Lỗi/Thử naming the settings file to write it in."""
    sender = settings.sender or plan.meta.get("office_email") or (settings.smtp_user or settings.user)
    if not sender or "@" not in str(sender):
        where = f"tệp {settings_file}" if settings_file else "tệp thidua.toml đặt cạnh sổ làm việc"
        raise ThiDuaError("Chưa có địa chỉ gửi thư của văn phòng.",
                          f"Ghi hai dòng [mail] và sender = \"địa-chỉ@của-văn-phòng\" vào {where} "
                          "(hoặc chỉ tệp khác bằng --settings; hoặc điền office_email ở trang Thông tin chung).")
    return str(sender)


def build(ws, what: str, round_code: str, sender: str, templates_dir=None) -> tuple[list[Outgoing], list[str]]:
    """The messages of one round: each unit its template (with the office key), or the reminders."""
    if what == "templates":
        return template_messages(ws.plan, list(ws.units), round_code, ws.key(), sender)
    from thidua.store.store import exists
    if not exists(ws.location):
        raise ThiDuaError(f"Chưa có cơ sở dữ liệu tổng hợp {ws.location}.", "Tổng hợp hộp thư trước khi gửi thư nhắc.")
    return reminder_messages(ws, round_code, sender, templates_dir)


def demo_dry_run(ws, out: Path, round_code: str = "Q1", say=print) -> SendReport:
    """The demo's view of `thidua mail send --dry-run`: the reminders of a round as .eml files; its folder gets a
    thidua.toml with the (fictional) sender, where `thidua mail send --db DIR/thidua.db` looks."""
    from thidua.mail.settings import write_demo_settings
    sender = str(ws.plan.meta.get("office_email") or DEMO_SENDER)
    write_demo_settings(out, sender)
    outgoing, _ = build(ws, "reminders", round_code, sender, out / "templates" / round_code)
    report = send_messages(ws, outgoing, MailSettings(), round_code, "reminders", dry_run=True,
                           out_dir=out / "thu-gui" / round_code)
    say(f"Thư điện tử (chạy thử «thidua mail send»): {len(report.written)} thư nhắc kỳ {round_code}, đơn vị có lỗi "
        f"nhận lại tệp của mình có đánh dấu -> {out / 'thu-gui' / round_code}")
    return report
