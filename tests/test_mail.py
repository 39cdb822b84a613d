"""The mailbox as the inbox, against real servers: Dovecot (IMAP, started here) and aiosmtpd (SMTP)."""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import random
import resource
import re
import sqlite3
import subprocess
import sys
import time
import zipfile
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path

import pytest

from conftest import ROOT, TEST_KEY
from mailservers import PASSWORD, USER, Dovecot, password_file, remove, start_smtp, temp_root
from thidua.year.workset import WorkingSet

OFFICE = "vanphong@cdvc.test"
CODES = [f"CD00{i}" for i in range(1, 9)]
VN_TZ = "Asia/Ho_Chi_Minh"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Dovecot runs on POSIX")


# ---------------------------------------------------------------- servers and data
@pytest.fixture
def dovecot():
    root = temp_root()
    server = Dovecot(root).start()
    print(f"dovecot started in {server.started_in:.2f} s")
    yield server
    server.stop()
    remove(root)


@pytest.fixture
def smtp():
    controller, capture = start_smtp()
    yield controller, capture
    controller.stop()


@pytest.fixture
def office(tmp_path, key_file):
    """A small register (8 units), the office key, a password file; env with the office's time zone."""
    from thidua.plan.units import read_csv_rows
    register = tmp_path / "don-vi.csv"
    rows = [r for r in read_csv_rows() if r["code"] in CODES]
    with open(register, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    env = dict(os.environ, TZ=VN_TZ, THIDUA_KEY_FILE=str(key_file), PYTHONPATH=str(ROOT / "python"))
    return {"register": register, "pw": password_file(tmp_path), "env": env, "db": tmp_path / "thidua.db",
            "inbox": tmp_path / "hop-thu", "tmp": tmp_path}


def run(office, *args, limit_fsize: int | None = None) -> subprocess.CompletedProcess:
    def limits():
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
    return subprocess.run([sys.executable, "-m", "thidua", *args], capture_output=True, text=True, env=office["env"],
                          cwd=office["tmp"], preexec_fn=limits if limit_fsize else None, timeout=300)


def fetch(office, server: Dovecot, *extra, port=None, security="none") -> subprocess.CompletedProcess:
    return run(office, "mail", "fetch", "--host", "127.0.0.1", "--port", str(port or server.port), "--security", security,
               "--user", USER, "--password-file", str(office["pw"]), "--out", str(office["inbox"]),
               "--db", str(office["db"]), "--register", str(office["register"]), *extra)


def fetch_json(office, server, *extra, **kw) -> dict:
    res = fetch(office, server, "--json", *extra, **kw)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def filled():
    """Q1 reports filled by the project's simulator (real templates signed with the test key)."""
    from thidua.demo.simulate import Draft, apply_mistake, realistic_values
    from thidua.plan.load import load_plan
    from thidua.plan.load import load_units
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    plan = load_plan()
    units = {u.code: u for u in load_units()}
    factory, spec = TemplateFactory(plan, "Q1", TEST_KEY), S.template_spec(plan, "Q1")

    def make(code: str, seed: int = 1, mistake: str | None = None) -> bytes:
        rng = random.Random(seed)
        values = realistic_values(plan, "Q1", units[code], rng, report_date=dt.date(2019, 4, 5))
        draft = Draft(plan, spec, units[code], factory.render(units[code]), dict(values), rng)
        if mistake:
            assert apply_mistake(draft, mistake)
        return draft.render()
    return make


XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def unit_addr(code: str) -> str:
    return f"{code.lower()}@congdoan.example.org"


def gmail(frm: str, subject: str, files: list[tuple[str, bytes]], text: str = "Đơn vị gửi báo cáo.") -> EmailMessage:
    """Gmail's shape: multipart/mixed > multipart/alternative (plain, html) + attachments, RFC 2231 names."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, OFFICE, subject
    msg["Message-ID"] = make_msgid(domain="mail.gmail.com")
    msg.set_content(text)
    msg.add_alternative(f"<div dir=\"ltr\">{text}</div>", subtype="html")
    for i, (name, data) in enumerate(files):
        msg.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=name)
        msg.get_payload()[-1]["X-Attachment-Id"] = f"f_k{i}"
    return msg


def outlook(frm: str, subject: str, name: str, data: bytes) -> bytes:
    """Outlook's shape, file name as an RFC 2047 encoded word inside the quoted parameter."""
    enc = lambda s: "=?utf-8?B?" + base64.b64encode(s.encode()).decode() + "?="  # noqa: E731
    body = base64.encodebytes("Kính gửi Văn phòng,\r\nĐơn vị gửi báo cáo quý I.\r\n".encode()).decode()
    att = base64.encodebytes(data).decode()
    raw = f"""From: {enc("CĐCS Nông Sơn Hạ")} <{frm}>
To: "{OFFICE}" <{OFFICE}>
Subject: {enc(subject)}
Thread-Topic: {enc(subject)}
Thread-Index: AdTy5w3ZtVbH0y0mQ2S0hK8M5q1vYA==
Date: Fri, 12 Apr 2019 09:05:00 +0000
Message-ID: <SG2PR01MB2141E5@SG2PR01MB2141.apcprd01.prod.exchangelabs.com>
Accept-Language: vi-VN, en-US
Content-Language: vi-VN
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
Content-Type: multipart/mixed; boundary="_004_SG2PR01MB2141E5_"
MIME-Version: 1.0

--_004_SG2PR01MB2141E5_
Content-Type: multipart/alternative; boundary="_000_SG2PR01MB2141E5_"

--_000_SG2PR01MB2141E5_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{body}
--_000_SG2PR01MB2141E5_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{base64.encodebytes(b"<html><body>Bao cao</body></html>").decode()}
--_000_SG2PR01MB2141E5_--

--_004_SG2PR01MB2141E5_
Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="{enc(name)}"
Content-Description: {enc(name)}
Content-Disposition: attachment; filename="{enc(name)}"; size={len(data)};
\tcreation-date="Fri, 12 Apr 2019 09:04:00 GMT"; modification-date="Fri, 12 Apr 2019 09:04:00 GMT"
Content-Transfer-Encoding: base64

{att}
--_004_SG2PR01MB2141E5_--
"""
    return raw.replace("\n", "\r\n").encode("ascii")


def forward(frm: str, inner: EmailMessage) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, OFFICE, f"Fwd: {inner['Subject']}"
    msg["Message-ID"] = make_msgid(domain="cdvc.test")
    msg.set_content("Chuyển tiếp thư của đơn vị.")
    msg.add_attachment(inner)            # message/rfc822
    return msg


def zipped(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)                      # a Vietnamese name: stored with the UTF-8 flag
        zf.writestr("ghi chú.txt", "Báo cáo kèm theo")
    return buf.getvalue()


# ---------------------------------------------------------------- fetch, then consolidate
def test_fetch_saves_every_spreadsheet_with_its_receipt_time_then_consolidation_uses_it(dovecot, office, filled):
    f = {c: filled(c, seed=i) for i, c in enumerate(CODES, start=1)}
    cd002_name = "Báo cáo quý I - CĐCS Nông Sơn Hạ.xlsx"
    # 1 Gmail, RFC 2231 name, on time
    first = gmail(unit_addr("CD001"), "Báo cáo quý I/2019 - CĐCS Trường THPT Chuyên Tam Hòa",
                  [("Báo cáo quý I - Trường THPT Chuyên Tam Hòa.xlsx", f["CD001"])])
    dovecot.append(bytes(first), "09-Apr-2019 08:30:00 +0700")
    # 2 Outlook, RFC 2047 name, two days late
    dovecot.append(outlook(unit_addr("CD002"), "Báo cáo quý I/2019", cd002_name, f["CD002"]), "12-Apr-2019 16:05:00 +0700")
    # 3 a forward by the office's clerk of the unit's message, half an hour before the deadline
    inner = gmail(unit_addr("CD003"), "Báo cáo quý I", [("BC quy 1 Hoa My.xlsx", f["CD003"])])
    dovecot.append(bytes(forward("vanthu@cdvc.test", inner)), "10-Apr-2019 23:30:00 +0700")
    # 4 a zip holding a Vietnamese-named file
    z = gmail(unit_addr("CD004"), "Gửi báo cáo (nén)", [])
    z.add_attachment(zipped("Báo cáo quý I - Nghề Núi Thành Đông.xlsx", f["CD004"]), maintype="application",
                     subtype="zip", filename="bao cao.zip")
    dovecot.append(bytes(z), "08-Apr-2019 14:00:00 +0700")
    # 5 no attachment
    dovecot.append(bytes(gmail(unit_addr("CD005"), "Xin gia hạn nộp báo cáo", [], "Đơn vị xin nộp chậm.")),
                   "09-Apr-2019 10:00:00 +0700")
    # 6 the same file twice
    dovecot.append(bytes(gmail(unit_addr("CD006"), "Báo cáo quý I", [("CD006.xlsx", f["CD006"])])),
                   "05-Apr-2019 10:00:00 +0700")
    dovecot.append(bytes(gmail(unit_addr("CD006"), "Gửi lại báo cáo quý I", [("CD006 (gui lai).xlsx", f["CD006"])])),
                   "06-Apr-2019 11:00:00 +0700")
    # 7 the office's template request answered with a reply that quotes the thread and carries CD001's file again
    reply = gmail(unit_addr("CD001"), "Re: Báo cáo quý I/2019 - CĐCS Trường THPT Chuyên Tam Hòa",
                  [("Báo cáo quý I - Trường THPT Chuyên Tam Hòa.xlsx", f["CD001"])],
                  "Đã gửi ạ.\n\nVào 09/04/2019, Văn phòng viết:\n> Đề nghị đơn vị gửi báo cáo quý I.\n> Trân trọng.")
    reply["In-Reply-To"] = first["Message-ID"]
    dovecot.append(bytes(reply), "15-Apr-2019 09:00:00 +0700")
    # 8 CD008's report sent from CD007's address: flagged for the office, not rejected
    dovecot.append(bytes(gmail(unit_addr("CD007"), "Báo cáo giúp đơn vị bạn", [("BC CD008.xlsx", f["CD008"])])),
                   "09-Apr-2019 15:00:00 +0700")
    # another message with a different file that has CD001's name: must not overwrite it
    clash = gmail(unit_addr("CD005"), "Báo cáo quý I", [("Báo cáo quý I - Trường THPT Chuyên Tam Hòa.xlsx", f["CD005"])])
    dovecot.append(bytes(clash), "11-Apr-2019 07:45:00 +0700")

    report = fetch_json(office, dovecot)
    assert report["n_messages"] == 10 and not report["problems"]
    saved = {t["file"]: t for t in report["files"] if t["status"] == "saved"}
    assert set(saved) == {"Báo cáo quý I - Trường THPT Chuyên Tam Hòa.xlsx", cd002_name, "BC quy 1 Hoa My.xlsx",
                          "Báo cáo quý I - Nghề Núi Thành Đông.xlsx", "CD006.xlsx", "BC CD008.xlsx",
                          "Báo cáo quý I - Trường THPT Chuyên Tam Hòa (2).xlsx"}
    on_disk = sorted(p.name for p in office["inbox"].iterdir())
    assert on_disk == sorted(saved)                                   # no temporaries, no duplicates
    for name, t in saved.items():
        assert (office["inbox"] / name).read_bytes() == f[t["content_unit"]]
    assert saved[cd002_name]["received_at"] == "2019-04-12T16:05:00"
    assert saved["BC quy 1 Hoa My.xlsx"]["received_at"] == "2019-04-10T23:30:00"
    assert saved["CD006.xlsx"]["received_at"] == "2019-04-05T10:00:00"
    assert [t["status"] for t in report["files"]].count("duplicate") == 2
    flagged = [t for t in report["files"] if t["flag"]]
    assert [(t["file"], t["content_unit"], t["sender_unit"]) for t in flagged] == [("BC CD008.xlsx", "CD008", "CD007")]
    assert saved["BC quy 1 Hoa My.xlsx"]["sender"] == "vanthu@cdvc.test"
    # never flags, moves or deletes: 10 messages, none marked \Seen
    flags = dovecot.flags()
    assert len(flags) == 10 and not any(b"\\Seen" in x for x in flags)

    # provenance in the store
    with sqlite3.connect(office["db"]) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(
            "SELECT file_name, sender, origin_sender, subject, message_id FROM mail_files")}
    assert rows["BC quy 1 Hoa My.xlsx"][:3] == ("vanthu@cdvc.test", unit_addr("CD003"),
                                                "Fwd: Báo cáo quý I")
    assert rows[cd002_name][3] == "<SG2PR01MB2141E5@SG2PR01MB2141.apcprd01.prod.exchangelabs.com>"
    assert rows[cd002_name][2] == "Báo cáo quý I/2019"

    # a re-run fetches nothing
    again = fetch_json(office, dovecot)
    assert again["n_messages"] == 0 and again["files"] == []

    # the files are copied about (today's modification time): consolidation still uses the mailbox's time
    now = time.time()
    for p in office["inbox"].iterdir():
        os.utime(p, (now, now))
    res = run(office, "consolidate", str(office["inbox"]), "--db", str(office["db"]), "--register", str(office["register"]))
    assert res.returncode == 0, res.stderr
    res = run(office, "status", "--round", "Q1", "--db", str(office["db"]), "--register", str(office["register"]), "--json")
    status = {r["unit"]: (r["status"], r["received_at"]) for r in json.loads(res.stdout)}
    assert status["CD001"] == ("ok", "2019-04-09T08:30:00")
    assert status["CD002"] == ("late", "2019-04-12T16:05:00")
    assert status["CD003"] == ("ok", "2019-04-10T23:30:00")
    assert status["CD004"] == ("ok", "2019-04-08T14:00:00")
    assert status["CD005"] == ("late", "2019-04-11T07:45:00")
    assert status["CD006"] == ("ok", "2019-04-05T10:00:00")
    assert status["CD007"][0] == "missing"
    assert status["CD008"] == ("ok", "2019-04-09T15:00:00")           # flagged, not rejected


def test_changed_uidvalidity_rescans_without_duplicates(dovecot, office, filled):
    folder = "Bao cao"
    dovecot.create(folder)
    for i, code in enumerate(("CD001", "CD002"), start=1):
        dovecot.append(bytes(gmail(unit_addr(code), "Báo cáo", [(f"{code}.xlsx", filled(code))])),
                       f"0{i}-Apr-2019 08:00:00 +0700", folder)
    first = fetch_json(office, dovecot, "--folder", folder)
    assert len(first["files"]) == 2 and not first["rescanned"]
    before = dovecot.uidvalidity(folder)
    dovecot.recreate(folder)                                   # the server rebuilt the folder: new UIDVALIDITY
    dovecot.append(bytes(gmail(unit_addr("CD003"), "Báo cáo", [("CD003.xlsx", filled("CD003"))])),
                   "03-Apr-2019 08:00:00 +0700", folder)
    assert dovecot.uidvalidity(folder) != before
    second = fetch_json(office, dovecot, "--folder", folder)
    assert second["rescanned"] and second["n_messages"] == 3
    assert sorted((t["file"], t["status"]) for t in second["files"]) == [
        ("CD001.xlsx", "duplicate"), ("CD002.xlsx", "duplicate"), ("CD003.xlsx", "saved")]
    assert sorted(p.name for p in office["inbox"].iterdir()) == ["CD001.xlsx", "CD002.xlsx", "CD003.xlsx"]
    assert fetch_json(office, dovecot, "--folder", folder)["n_messages"] == 0


def test_a_file_saved_by_hand_and_consolidated_first_takes_the_mailbox_time(dovecot, office, filled):
    """The office saved an attachment by hand a week late and consolidated it (receipt time: the file's date,
    late); fetching the mailbox later gives the file its real receipt time, and the unit is on time."""
    data = filled("CD001")
    by_hand = office["tmp"] / "luu-tay"
    by_hand.mkdir()
    (by_hand / "bao cao.xlsx").write_bytes(data)
    week_later = dt.datetime(2019, 4, 20, 9, 0).timestamp()
    os.utime(by_hand / "bao cao.xlsx", (week_later, week_later))
    res = run(office, "consolidate", str(by_hand), "--db", str(office["db"]), "--register", str(office["register"]))
    assert res.returncode == 0, res.stderr

    def status() -> dict:
        res = run(office, "status", "--round", "Q1", "--db", str(office["db"]), "--register", str(office["register"]),
                  "--json")
        assert res.returncode == 0, res.stderr
        return next(r for r in json.loads(res.stdout) if r["unit"] == "CD001")
    assert status()["status"] == "late"
    dovecot.append(bytes(gmail(unit_addr("CD001"), "Báo cáo quý I", [("Báo cáo quý I.xlsx", data)])),
                   "09-Apr-2019 08:30:00 +0700")
    fetch_json(office, dovecot)
    row = status()
    assert row["status"] == "ok" and row["received_at"].startswith("2019-04-09T08:30")


# ---------------------------------------------------------------- faults
def _error(res) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Lỗi:" in res.stderr and "Thử:" in res.stderr and "Traceback" not in res.stderr, res.stderr
    return res.stderr


def test_faults_give_clear_messages_and_lose_nothing(dovecot, office, filled):
    wrong = office["tmp"] / "sai.txt"
    wrong.write_text("khong-dung\n")
    wrong.chmod(0o600)
    assert "từ chối đăng nhập" in _error(fetch(office, dovecot, "--password-file", str(wrong)))
    wrong.chmod(0o644)
    assert "chmod 600" in _error(fetch(office, dovecot, "--password-file", str(wrong)))
    closed = dovecot.port + 1 if dovecot.port < 65535 else dovecot.port - 1
    assert "Không kết nối được" in _error(fetch(office, dovecot, port=closed))
    res = run(office, "mail", "fetch", "--host", "mail.example.org", "--security", "none", "--user", USER,
              "--password-file", str(office["pw"]), "--out", str(office["inbox"]), "--db", str(office["db"]))
    assert "không mã hóa" in _error(res)

    # a message too large, a broken zip, and a good one: the good one is taken, the others reported and retried
    big = filled("CD001", seed=7)
    large = gmail(unit_addr("CD001"), "Báo cáo lớn", [("CD001 lon.xlsx", big)])
    large.add_attachment(os.urandom(300_000), maintype="image", subtype="jpeg", filename="anh chup bao cao.jpg")
    dovecot.append(bytes(large), "09-Apr-2019 08:00:00 +0700")
    broken = gmail(unit_addr("CD002"), "Báo cáo nén", [])
    broken.add_attachment(zipped("CD002.xlsx", filled("CD002"))[:300], maintype="application", subtype="zip",
                          filename="CD002.zip")
    dovecot.append(bytes(broken), "09-Apr-2019 09:00:00 +0700")
    dovecot.append(bytes(gmail(unit_addr("CD003"), "Báo cáo", [("CD003.xlsx", filled("CD003"))])), "09-Apr-2019 10:00:00 +0700")
    err = _error(fetch(office, dovecot, "--max-size", "0.15"))
    assert "quá lớn" in err and "Báo cáo lớn" in err and "CD002.zip" in err
    assert sorted(p.name for p in office["inbox"].iterdir()) == ["CD003.xlsx"]
    # the next fetch with a higher limit resumes: the large one is taken; the broken zip is still reported
    err = _error(fetch(office, dovecot))
    assert "CD002.zip" in err and "quá lớn" not in err
    assert sorted(p.name for p in office["inbox"].iterdir()) == ["CD001 lon.xlsx", "CD003.xlsx"]

    # disk full (the OS refuses to grow files past a limit): nothing half-saved, the next fetch resumes
    payload = os.urandom(3_000_000)                      # a unit's file far larger than the limit below
    dovecot.append(bytes(gmail(unit_addr("CD004"), "Báo cáo", [("CD004 day du.xlsx", payload)])),
                   "10-Apr-2019 08:00:00 +0700")
    err = _error(run(office, "mail", "fetch", "--host", "127.0.0.1", "--port", str(dovecot.port), "--security", "none",
                     "--user", USER, "--password-file", str(office["pw"]), "--out", str(office["inbox"]),
                     "--db", str(office["db"]), "--register", str(office["register"]), limit_fsize=2_000_000))
    assert "Không lưu được tệp «CD004 day du.xlsx»" in err
    assert sorted(p.name for p in office["inbox"].iterdir()) == ["CD001 lon.xlsx", "CD003.xlsx"]
    res = fetch(office, dovecot)
    assert res.returncode == 2 and "CD002.zip" in res.stderr          # still only the broken zip
    assert (office["inbox"] / "CD004 day du.xlsx").read_bytes() == payload

    # a locked inbox folder (here: a file where the folder should be)
    blocked = office["tmp"] / "khoa"
    blocked.write_text("x")
    res = run(office, "mail", "fetch", "--host", "127.0.0.1", "--port", str(dovecot.port), "--security", "none",
              "--user", USER, "--password-file", str(office["pw"]), "--out", str(blocked / "hop-thu"),
              "--db", str(office["tmp"] / "khac.db"))
    assert "thư mục hộp thư" in _error(res)


def test_tls_and_starttls_with_the_servers_certificate(office, filled):
    root = temp_root()
    server = Dovecot(root).start(tls=True)
    print(f"dovecot with TLS started in {server.started_in:.2f} s")
    try:
        server.append(bytes(gmail(unit_addr("CD001"), "Báo cáo", [("CD001.xlsx", filled("CD001"))])),
                      "09-Apr-2019 08:00:00 +0700")
        err = _error(fetch(office, server, port=server.ssl_port, security="ssl"))
        assert "chứng chỉ TLS" in err                                # self-signed, not trusted by default
        report = fetch_json(office, server, "--ca-file", str(server.cert), port=server.ssl_port, security="ssl")
        assert [t["file"] for t in report["files"]] == ["CD001.xlsx"]
        server.append(bytes(gmail(unit_addr("CD002"), "Báo cáo", [("CD002.xlsx", filled("CD002"))])),
                      "09-Apr-2019 09:00:00 +0700")
        report = fetch_json(office, server, "--ca-file", str(server.cert), security="starttls")
        assert [t["file"] for t in report["files"]] == ["CD002.xlsx"]
        err = _error(fetch(office, server, port=server.port, security="ssl"))  # TLS spoken to a plain port
        assert "TLS" in err
    finally:
        server.stop()
        remove(root)


# ---------------------------------------------------------------- sending
def _settings(office, controller) -> Path:
    path = office["tmp"] / "thidua.toml"
    path.write_text(f'[mail]\nsmtp_host = "127.0.0.1"\nsmtp_port = {controller.port}\nsmtp_security = "none"\n'
                    f'sender = "{OFFICE}"\nrate_per_minute = 6000\n', encoding="utf-8")
    return path


def send(office, settings: Path, what: str, *extra) -> subprocess.CompletedProcess:
    return run(office, "mail", "send", "--round", "Q1", "--what", what, "--db", str(office["db"]),
               "--register", str(office["register"]), "--settings", str(settings), *extra)


def test_send_templates_and_reminders_exactly_once(smtp, office, filled):
    controller, capture = smtp
    settings = _settings(office, controller)
    office["inbox"].mkdir()
    (office["inbox"] / "CD001.xlsx").write_bytes(filled("CD001"))
    (office["inbox"] / "CD002.xlsx").write_bytes(filled("CD002", mistake="members_over_staff"))
    res = run(office, "consolidate", str(office["inbox"]), "--db", str(office["db"]), "--register", str(office["register"]))
    assert res.returncode == 0, res.stderr

    # dry run: .eml only, nothing sent, nothing logged
    res = send(office, settings, "reminders", "--dry-run", "--out", str(office["tmp"] / "thu"))
    assert res.returncode == 0, res.stderr
    drafts = sorted(p.name for p in (office["tmp"] / "thu").iterdir())
    assert len(drafts) == 7 and capture.messages == []

    res = send(office, settings, "reminders")
    assert res.returncode == 0, res.stderr
    assert sorted(rcpt[0] for _, rcpt, _ in capture.messages) == sorted(unit_addr(c) for c in CODES if c != "CD001")
    mails = {rcpt[0]: BytesParser(policy=policy.default).parsebytes(raw) for _, rcpt, raw in capture.messages}
    errors_mail = mails[unit_addr("CD002")]
    (att,) = list(errors_mail.iter_attachments())
    assert att.get_filename() == "CD002_phan-hoi.xlsx"              # its own file, marked up, not a blank template
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(att.get_content()))
    assert len(book.sheetnames) > 3 and "sửa các ô" in errors_mail.get_body(("plain",)).get_content()
    missing_mail = mails[unit_addr("CD003")]
    (template,) = list(missing_mail.iter_attachments())             # a missing unit gets its pre-filled template
    assert template.get_filename().startswith("Q1_CD003_")
    from thidua.intake.reader import read_bytes
    from thidua.plan.load import load_plan
    assert read_bytes(template.get_content(), template.get_filename(), load_plan(), TEST_KEY).result.unit == "CD003"
    assert all(m["From"] == OFFICE for m in mails.values())
    assert str(missing_mail["Subject"]) == "Đề nghị gửi báo cáo quý I/2019 - CĐCS Trung tâm GDNN-GDTX Hòa Mỹ"

    # a re-run sends nothing
    res = send(office, settings, "reminders")
    assert res.returncode == 0 and len(capture.messages) == 7 and "không gửi lại" in res.stdout

    # templates: one per unit, once
    res = send(office, settings, "templates")
    assert res.returncode == 0, res.stderr
    assert len(capture.messages) == 15
    res = send(office, settings, "templates")
    assert len(capture.messages) == 15
    with sqlite3.connect(office["db"]) as conn:
        log = conn.execute("SELECT what, count(*), min(state), max(state) FROM mail_sent GROUP BY what").fetchall()
    assert sorted(log) == [("reminders", 7, "sent", "sent"), ("templates", 8, "sent", "sent")]


def _sent_log(db: Path) -> list[tuple]:
    """The sent log (empty while the store is still being created)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute("SELECT send_key, unit, recipient, subject, state FROM mail_sent ORDER BY send_key").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_a_killed_send_is_listed_then_resent_or_marked_sent(office, filled):
    """SIGKILL `thidua mail send` at random moments against a real (slow) SMTP server, three times: the next run
    names the units left «sending» with Lỗi/Thử and sends none of them again; after checking (here: what the
    server received), --resend and --mark-sent settle them, logged with who, when and why. In the end every unit
    has its template exactly once and the sent log equals an uninterrupted run's."""
    import faultfs
    from collections import Counter
    reference_server, reference_capture = start_smtp()
    try:
        ref_db = office["tmp"] / "ref.db"
        res = run(office, "mail", "send", "--round", "Q1", "--what", "templates", "--db", str(ref_db), "--register",
                  str(office["register"]), "--settings", str(_settings(office, reference_server)))
        assert res.returncode == 0, res.stderr
        reference = _sent_log(ref_db)
        assert len(reference) == len(CODES) == len(reference_capture.messages)
    finally:
        reference_server.stop()
    delay = 0.3
    controller, capture = start_smtp(delay)
    try:
        settings = _settings(office, controller)
        args = [sys.executable, "-m", "thidua", "mail", "send", "--round", "Q1", "--what", "templates", "--db",
                str(office["db"]), "--register", str(office["register"]), "--settings", str(settings)]
        rng = random.Random(15)
        half = delay / 2          # a message: half waiting to be accepted, then kept and half waiting for 250
        moments = [rng.uniform(0.1 * half, 0.8 * half), rng.uniform(1.2 * half, 1.8 * half), rng.uniform(0, 3 * half)]
        for moment in moments:    # each run killed that long after its first message began
            before = len(_sent_log(office["db"]))
            proc = subprocess.Popen(args, env=office["env"], cwd=office["tmp"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
            began = []

            def started() -> bool:
                if len(_sent_log(office["db"])) > before:
                    began.append(began[0] if began else time.monotonic())
                return bool(began) and time.monotonic() - began[0] >= moment
            assert faultfs.kill_at(proc, 0, started), proc.communicate()
            time.sleep(delay + 0.2)           # the server finishes what it was given
        log = _sent_log(office["db"])
        uncertain = sorted(unit for _, unit, _, _, state in log if state == "sending")
        print(f"after 3 kills: {len(log)} messages begun, left «sending»: {uncertain}; "
              f"the server received {len(capture.messages)}")
        assert len(uncertain) >= 2

        res = send(office, settings, "templates")       # the next run sends the rest, never the uncertain ones
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.startswith("Lỗi: lần gửi trước bị dừng giữa chừng") and "Thử:" in res.stderr
        assert all(unit in res.stderr for unit in uncertain) and "--resend" in res.stderr and "--mark-sent" in res.stderr
        print(res.stderr.strip())

        with sqlite3.connect(office["db"]) as conn:
            ids = dict(conn.execute("SELECT unit, message_id FROM mail_sent WHERE state = 'sending'").fetchall())
        got = {BytesParser(policy=policy.default).parsebytes(raw)["Message-ID"] for _, _, raw in capture.messages}
        arrived = sorted(u for u in uncertain if ids[u] in got)
        missing = sorted(u for u in uncertain if ids[u] not in got)
        assert missing and arrived, (missing, arrived)        # both cases met: never arrived, arrived unconfirmed
        extra = (["--resend", *missing] if missing else []) + (["--mark-sent", *arrived] if arrived else [])
        res = send(office, settings, "templates", *extra, "--note", "đã xem hộp thư đã gửi")
        assert res.returncode == 0, res.stderr
        print(res.stdout.strip())
        for unit in uncertain:
            assert f"Đã ghi quyết định: {unit} (" in res.stdout
        assert res.stdout.count("đã xem hộp thư đã gửi") == len(uncertain)

        recipients = Counter(rcpt[0] for _, rcpt, _ in capture.messages)
        assert recipients == Counter({unit_addr(c): 1 for c in CODES})          # every unit once, none twice
        assert _sent_log(office["db"]) == reference
        with sqlite3.connect(office["db"]) as conn:
            decisions = conn.execute("SELECT unit, action, decided_by, reason, message_id FROM mail_decisions "
                                     "ORDER BY unit").fetchall()
        assert [(u, a) for u, a, *_ in decisions] == sorted([(u, "resend") for u in missing]
                                                            + [(u, "mark_sent") for u in arrived])
        assert all("@" in who and why == "đã xem hộp thư đã gửi" and mid == ids[u] for u, _, who, why, mid in decisions)
        res = send(office, settings, "templates", "--resend", uncertain[0])      # nothing uncertain any more
        assert res.returncode == 2 and "không có thư" in res.stderr and "Traceback" not in res.stderr
    finally:
        controller.stop()


def test_password_never_in_the_settings_file(office, smtp):
    controller, _ = smtp
    settings = _settings(office, controller)
    settings.write_text(settings.read_text() + 'password = "abc"\n', encoding="utf-8")
    assert "mật khẩu" in _error(send(office, settings, "templates", "--dry-run"))


# ---------------------------------------------------------------- settings
def _workbook(folder: Path, **mail) -> Path:
    from thidua.workbook.build import build_bytes, default_sources
    tables, register = default_sources()
    tables = dict(tables, meta=dict(tables["meta"], **{f"mail_{k}": v for k, v in mail.items()}))
    book = folder / "ThiDua2019.xlsm"
    book.write_bytes(build_bytes(tables, [r for r in register if r["code"] in CODES]))
    return book


def test_settings_from_the_workbook_sheet_and_the_file_beside_it(dovecot, office, filled):
    folder = office["tmp"] / "van-phong"
    folder.mkdir()
    # the sheet names the server with a wrong port; thidua.toml beside the workbook corrects it and names the password file
    book = _workbook(folder, host="127.0.0.1", port=str(dovecot.port + 1), security="none", user=USER)
    (folder / "thidua.toml").write_text(f'[mail]\nport = {dovecot.port}\npassword_file = "{office["pw"]}"\n',
                                        encoding="utf-8")
    dovecot.append(bytes(gmail(unit_addr("CD001"), "Báo cáo", [("CD001.xlsx", filled("CD001"))])), "09-Apr-2019 08:00:00 +0700")
    res = run(office, "mail", "fetch", "--workbook", str(book), "--out", str(office["inbox"]), "--db", str(office["db"]))
    assert res.returncode == 0, res.stderr
    assert "lưu 1 tệp" in res.stdout and (office["inbox"] / "CD001.xlsx").is_file()
    # a password typed into the workbook is refused, with the way to store it properly
    book = _workbook(folder, host="127.0.0.1", security="none", user=USER, password=PASSWORD)
    err = _error(run(office, "mail", "fetch", "--workbook", str(book), "--out", str(office["inbox"]), "--db", str(office["db"])))
    assert "mật khẩu" in err and "keyring set thidua-mail" in err


def test_password_from_the_os_keyring(dovecot, office, filled, tmp_path):
    """The `keyring` package's own API: a backend holding the password; the fetch asks it, no file needed."""
    import keyring
    from keyring.backend import KeyringBackend
    from thidua.mail.fetch import fetch_mail
    from thidua.mail.settings import KEYRING_SERVICE, load_settings

    class Vault(KeyringBackend):
        priority = 1
        secrets: dict = {}

        def get_password(self, service, username):
            return self.secrets.get((service, username))

        def set_password(self, service, username, password):
            self.secrets[(service, username)] = password

        def delete_password(self, service, username):
            self.secrets.pop((service, username), None)

    before = keyring.get_keyring()
    keyring.set_keyring(Vault())
    try:
        settings = load_settings({}, None, {"host": "127.0.0.1", "port": dovecot.port, "security": "none", "user": USER})
        from thidua.errors import ThiDuaError
        with pytest.raises(ThiDuaError, match="keyring set thidua-mail"):
            fetch_mail(WorkingSet.load(db=tmp_path / "k.db"), settings, tmp_path / "in")
        keyring.set_password(KEYRING_SERVICE, USER, PASSWORD)
        dovecot.append(bytes(gmail(unit_addr("CD002"), "Báo cáo", [("CD002.xlsx", filled("CD002"))])), "09-Apr-2019 08:00:00 +0700")
        report = fetch_mail(WorkingSet.load(db=tmp_path / "k.db"), settings, tmp_path / "in")
        assert [t.file for t in report.saved] == ["CD002.xlsx"]
    finally:
        keyring.set_keyring(before)


def test_sending_is_rate_limited(smtp, office, tmp_path):
    """Three templates at 60 a minute: the last leaves at least two seconds after the first."""
    from thidua.mail.send import send_messages, template_messages
    from thidua.mail.settings import load_settings
    from thidua.plan.load import load_plan
    from thidua.plan.load import load_units
    controller, capture = smtp
    units = load_units(office["register"])[:3]
    outgoing, _ = template_messages(load_plan(), units, "Q2", TEST_KEY, OFFICE)
    settings = load_settings({}, None, {"smtp_host": "127.0.0.1", "smtp_port": controller.port, "smtp_security": "none",
                                        "rate_per_minute": 60})
    started = time.monotonic()
    report = send_messages(WorkingSet(load_plan(), units, tmp_path / "s.db"), outgoing, settings, "Q2", "templates")
    assert report.sent == [u.code for u in units] and len(capture.messages) == 3
    assert time.monotonic() - started >= 2.0


def _raw_message(frm: str, subject: str, disposition: str, body: str) -> bytes:
    enc = "=?utf-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
    raw = (f"From: {frm}\r\nTo: {OFFICE}\r\nSubject: {enc}\r\nDate: Fri, 12 Apr 2019 09:05:00 +0000\r\n"
           f"Message-ID: <{abs(hash(subject))}@example.org>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Bao cao\r\n--B\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n"
           f"Content-Disposition: attachment;\r\n {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n--B--\r\n")
    return raw.encode("ascii")


def test_a_malformed_message_is_reported_and_nothing_misdecoded_is_saved(dovecot, office, filled):
    """Bad base64 and a bad RFC 2231 name: the library would decode what it can (a 30-byte «Báo%ZZ.xlsx»);
    instead the message is reported by number, sender and subject, nothing of it is saved, and the next fetch
    tries it again. A good RFC 2231 name (continued over two lines) is taken as the unit wrote it."""
    good = base64.encodebytes(filled("CD005")).decode()
    bad_b64 = good[:400] + "!!!*" + good[404:]
    dovecot.append(_raw_message(unit_addr("CD005"), "Báo cáo CĐCS 5", "filename*=utf-8''B%C3%A1o%ZZ.xlsx", good),
                   "11-Apr-2019 08:00:00 +0700")
    dovecot.append(_raw_message(unit_addr("CD006"), "Báo cáo CĐCS 6", "filename=\"CD006.xlsx\"", bad_b64),
                   "11-Apr-2019 08:05:00 +0700")
    dovecot.append(_raw_message(unit_addr("CD007"), "Báo cáo CĐCS 7",
                                "filename*0*=utf-8''B%C3%A1o%20c%C3;\r\n filename*1*=%A1o%20CD007.xlsx",
                                base64.encodebytes(filled("CD007")).decode()), "11-Apr-2019 08:10:00 +0700")
    before = set(office["inbox"].iterdir()) if office["inbox"].exists() else set()
    res = fetch(office, dovecot)
    err = _error(res)
    for who, subject, what in ((unit_addr("CD005"), "Báo cáo CĐCS 5", "RFC 2231"),
                               (unit_addr("CD006"), "Báo cáo CĐCS 6", "base64")):
        line = next(x for x in err.splitlines() if subject in x)
        assert who in line and what in line and re.search(r"thư số \d+", line), line
    added = {p.name for p in set(office["inbox"].iterdir()) - before}
    assert added == {"Báo cáo CD007.xlsx"}, added
    assert not any("%" in p.name for p in office["inbox"].iterdir())
    assert (office["inbox"] / "Báo cáo CD007.xlsx").read_bytes() == filled("CD007")
    again = _error(fetch(office, dovecot))                    # retried, still reported, still nothing saved
    assert "Báo cáo CĐCS 5" in again and "Báo cáo CĐCS 6" in again
    assert {p.name for p in set(office["inbox"].iterdir()) - before} == {"Báo cáo CD007.xlsx"}
