"""`thidua mail fetch`: take every new spreadsheet from the office's mailbox into the inbox folder, with provenance."""
from __future__ import annotations

import datetime as dt
import hashlib
import imaplib
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.mail import attachments as A
from thidua.mail.connect import close_imap, open_imap
from thidua.mail.save import clean_temps, save_attachment
from thidua.mail.settings import MailSettings
from thidua.store import mail as M
from thidua.store.store import Store
from thidua.store.submissions import receipt_from_mail

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
BATCH = 200


@dataclass
class Taken:
    """One spreadsheet found in the mailbox."""

    file: str
    sha256: str
    received_at: str
    sender: str
    subject: str
    message_id: str
    uid: int
    status: str                     # saved | duplicate
    content_unit: str | None = None
    sender_unit: str | None = None
    flag: str = ""


@dataclass
class FetchReport:
    account: str
    folder: str
    uidvalidity: int = 0
    rescanned: bool = False
    n_messages: int = 0
    files: list[Taken] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def saved(self) -> list[Taken]:
        return [t for t in self.files if t.status == "saved"]

    @property
    def flagged(self) -> list[Taken]:
        return [t for t in self.files if t.flag]

    def to_json(self) -> dict:
        return {"account": self.account, "folder": self.folder, "uidvalidity": self.uidvalidity,
                "rescanned": self.rescanned, "n_messages": self.n_messages, "n_saved": len(self.saved),
                "files": [asdict(t) for t in self.files], "problems": self.problems,
                "seconds": round(self.seconds, 3)}


def _local_iso(internaldate_line: bytes) -> tuple[str, dt.datetime]:
    tt = imaplib.Internaldate2tuple(internaldate_line)
    if tt is None:
        raise ValueError("no INTERNALDATE")
    when = dt.datetime(*tt[:6])
    return when.isoformat(), when


def _check(typ: str, data, what: str) -> None:
    if typ != "OK":
        raise ThiDuaError(f"Máy chủ hộp thư từ chối lệnh {what}: {data[0].decode(errors='replace') if data else ''}.",
                          "Chạy lại sau ít phút; nếu vẫn lỗi, kiểm tra hộp thư trên web.")


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _UnitCheck:
    """The unit inside a file (its identity, read the way intake reads it) against the sender's unit."""

    def __init__(self, plan, units):
        self.plan = plan
        self.units = {u.code: u for u in units} if units is not None and not isinstance(units, dict) else units
        self.by_email: dict[str, str] = {}
        for u in (self.units or {}).values():
            for addr in re.split(r"[;,\s]+", (u.email or "").lower()):
                if addr:
                    self.by_email.setdefault(addr, u.code)

    def __call__(self, data: bytes, name: str, sender: str) -> tuple[str | None, str | None, str]:
        if self.plan is None:
            return None, None, ""
        from thidua.intake.reader import read_bytes
        try:
            unit = read_bytes(data, name, self.plan, None, self.units).result.unit
        except Exception:       # unreadable files are reported by consolidation, not here
            unit = None
        owner = self.by_email.get(sender)
        if not unit:
            return None, owner, ""
        if owner is None:
            return unit, None, (f"Tệp của đơn vị {unit} gửi từ địa chỉ {sender or '(không rõ)'} không có trong danh sách "
                                "đơn vị; văn phòng kiểm tra lại người gửi")
        if owner != unit:
            return unit, owner, (f"Tệp của đơn vị {unit} nhưng gửi từ địa chỉ {sender} của đơn vị {owner}; "
                                 "văn phòng kiểm tra lại (không tự trả lại tệp)")
        return unit, owner, ""


def fetch_mail(ws, settings: MailSettings, out_dir: Path, progress: bool = False) -> FetchReport:
    """Fetch messages new since the last run; save every spreadsheet attachment; record provenance in the store."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    report = FetchReport(settings.account, settings.folder)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ThiDuaError(f"Không tạo được thư mục hộp thư {out_dir}: {exc.strerror or exc}.",
                          "Chỉ một thư mục cho phép ghi (--out).") from exc
    check = _UnitCheck(ws.plan, list(ws.units))
    with ws.store(create=True) as store, store.run_lock():
        clean_temps(out_dir)
        conn = open_imap(settings)
        try:
            _fetch(conn, store, settings, out_dir, report, check, progress)
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ThiDuaError(f"Mất kết nối với hộp thư {settings.host}: {exc}.",
                              "Chạy lại: lần sau tiếp tục từ thư chưa nhận, không tệp nào bị lưu hai lần.") from exc
        finally:
            close_imap(conn)
    report.seconds = time.perf_counter() - started
    return report


def _fetch(conn, store: Store, s: MailSettings, out_dir: Path, report: FetchReport, check, progress: bool) -> None:
    typ, data = conn.select(_quote(s.folder), readonly=True)        # EXAMINE: nothing is marked read
    if typ != "OK":
        raise ThiDuaError(f"Hộp thư không có thư mục «{s.folder}».", "Kiểm tra tên thư mục (mặc định INBOX).")
    uidvalidity = int(conn.response("UIDVALIDITY")[1][0])
    report.uidvalidity = uidvalidity
    state = M.mail_state(store, s.account, s.folder)
    if state and state["uidvalidity"] == uidvalidity:
        last = state["last_uid"]
    else:
        last = 0
        report.rescanned = state is not None
        with store.atomic():
            M.drop_problems(store, s.account, s.folder)
            M.set_mail_state(store, s.account, s.folder, uidvalidity, 0)
    typ, data = conn.uid("SEARCH", None, f"UID {last + 1}:*")
    _check(typ, data, "SEARCH")
    new = sorted(u for u in (int(x) for x in (data[0] or b"").split()) if u > last)
    todo = sorted(set(M.problem_uids(store, s.account, s.folder, uidvalidity)) | set(new))
    report.n_messages = len(todo)
    info = _sizes(conn, todo)
    bar = None
    if progress and sys.stderr.isatty() and len(todo) > 5:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc="Nhận thư", unit=" thư", file=sys.stderr)
    try:
        for uid in todo:
            # the message's files, its problem (if any) and the folder's position: one transaction
            _one(conn, store, s, out_dir, report, check, uidvalidity, uid, *info.get(uid, (0, b"")))
            if bar:
                bar.update(1)
    finally:
        if bar:
            bar.close()


def _sizes(conn, uids: list[int]) -> dict[int, tuple[int, bytes]]:
    """{uid: (size, the response line holding INTERNALDATE)} without downloading bodies."""
    out: dict[int, tuple[int, bytes]] = {}
    for i in range(0, len(uids), BATCH):
        chunk = ",".join(map(str, uids[i:i + BATCH]))
        typ, data = conn.uid("FETCH", chunk, "(UID RFC822.SIZE INTERNALDATE)")
        _check(typ, data, "FETCH")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes):
                continue
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                out[int(uid.group(1))] = (int(size.group(1)), line)
    return out


def _advance(store: Store, s: MailSettings, uidvalidity: int, uid: int) -> None:
    """Inside the message's transaction: the folder's position moves past this message."""
    state = M.mail_state(store, s.account, s.folder)
    M.set_mail_state(store, s.account, s.folder, uidvalidity, max(uid, state["last_uid"] if state else 0))


def _one(conn, store: Store, s: MailSettings, out_dir: Path, report: FetchReport, check, uidvalidity: int,
         uid: int, size: int, line: bytes) -> None:
    """One message: its spreadsheets saved and recorded, or a problem recorded; then the position moves on."""
    if not line:                                                   # expunged meanwhile
        with store.atomic():
            _advance(store, s, uidvalidity, uid)
        return
    received, when = _local_iso(line)
    limit = int(s.max_message_mb * 1024 * 1024)
    if size > limit:
        typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])")
        head = next((item[1] for item in data if isinstance(item, tuple)), None) if typ == "OK" else None
        _problem(store, s, report, uidvalidity, uid, head, f"thư quá lớn ({_mb(size)}, giới hạn {_mb(limit)})",
                 "tải tệp đính kèm của thư này về thư mục hộp thư bằng tay, hoặc tăng max_message_mb trong mục [mail] "
                 "của tệp cài đặt")
        return
    typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")      # PEEK: the message stays unread
    _check(typ, data, "FETCH")
    raw = next((item[1] for item in data if isinstance(item, tuple)), None)
    if raw is None:
        with store.atomic():
            _advance(store, s, uidvalidity, uid)
        return
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        sender, subject = A.address(msg.get("From")), A.decoded(msg.get("Subject"))
        message_id = str(msg.get("Message-ID") or "").strip()
        found = A.spreadsheets(msg)
    except A.Malformed as exc:
        _problem(store, s, report, uidvalidity, uid, raw, f"thư hỏng: {exc}",
                 "đề nghị đơn vị gửi lại tệp (không nén, hoặc nén .zip không mật khẩu)")
        return
    except Exception as exc:      # the e-mail parser met something it cannot take apart
        _problem(store, s, report, uidvalidity, uid, raw, f"thư hỏng, không đọc được ({type(exc).__name__}: {exc})",
                 "mở thư trên web, tải tệp đính kèm về thư mục hộp thư bằng tay")
        return
    rows, written = [], []
    try:
        for f in found:
            sha = hashlib.sha256(f.data).hexdigest()
            row = dict(sha256=sha, received_at=received, sender=sender, origin_sender=f.origin_sender or sender,
                       subject=subject, message_id=message_id, account=s.account, folder=s.folder,
                       uidvalidity=uidvalidity, uid=uid)
            known = M.mail_file(store, sha) or next((r for r in rows if r["sha256"] == sha), None)
            if known:                   # the same bytes came before: not saved again; the earliest receipt counts
                row.update({k: known[k] for k in ("file_name", "path", "content_unit", "sender_unit", "flag")})
                status = "duplicate"
            else:
                path, was_written = save_attachment(out_dir, f.name, f.data, sha, when)
                if was_written:
                    written.append(path)
                unit, owner, flag = check(f.data, f.name, f.origin_sender or sender)
                row.update(file_name=path.name, path=str(path.resolve()), content_unit=unit, sender_unit=owner,
                           flag=flag or None)
                status = "saved"
            rows.append(row)
            report.files.append(Taken(row["file_name"], sha, min(received, known["received_at"]) if known else received,
                                      sender, subject, message_id, uid, status, row["content_unit"],
                                      row["sender_unit"], row["flag"] or ""))
        with store.atomic():
            for row in rows:
                M.record_mail_file(store, row)
                receipt_from_mail(store, row["sha256"], M.mail_receipt(store, row["sha256"]))
            M.clear_problem(store, s.account, s.folder, uidvalidity, uid)
            _advance(store, s, uidvalidity, uid)
    except BaseException:
        for path in written:          # all of a message or nothing: the next fetch takes it again
            try:
                path.unlink()
            except OSError:
                pass
        raise


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 1048576 else f"{max(1, round(size / 1024))} KB"


def _problem(store: Store, s: MailSettings, report: FetchReport, uidvalidity: int, uid: int, raw: bytes | None,
             reason: str, hint: str) -> None:
    subject = sender = None
    if raw is not None:
        try:
            head = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
            subject, sender = A.decoded(head.get("Subject")), A.address(head.get("From"))
        except Exception:        # headers unreadable too: the UID identifies the message
            pass
    with store.atomic():
        M.record_problem(store, s.account, s.folder, uidvalidity, uid, reason, subject, sender)
        _advance(store, s, uidvalidity, uid)
    report.problems.append({"uid": uid, "subject": subject, "sender": sender, "reason": reason, "hint": hint})
