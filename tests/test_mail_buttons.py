"""The two mail buttons of the master workbook, run as their commands name them (xlwings remote engine)."""
from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from mailservers import USER, Dovecot, password_file, remove, start_smtp, temp_root
from test_mail import gmail, unit_addr
from test_workbook_xlwings import consolidated, office, run, status_of  # noqa: F401  (fixtures)
from thidua import excel
from thidua.year.workset import WorkingSet


@pytest.fixture
def servers(office):
    folder = office[0]
    root = temp_root()
    imap = Dovecot(root).start()
    controller, capture = start_smtp()
    (folder / "thidua.toml").write_text(
        f'[mail]\nhost = "127.0.0.1"\nport = {imap.port}\nsecurity = "none"\nuser = "{USER}"\n'
        f'password_file = "{password_file(root)}"\nsmtp_host = "127.0.0.1"\nsmtp_port = {controller.port}\n'
        'smtp_security = "none"\nsender = "vanphong@cdvc.test"\nrate_per_minute = 60000\n', encoding="utf-8")
    yield imap, capture
    controller.stop()
    imap.stop()
    remove(root)
    (folder / "thidua.toml").unlink()


def test_fetch_button_saves_attachments_and_reports_in_the_status_cell(office, servers):
    folder, _, _ = office
    imap, _ = servers
    template = sorted((folder / "hop-thu-2019" / "Q1").rglob("*.xlsx"))[0].read_bytes()
    imap.append(bytes(gmail(unit_addr("CD001"), "Báo cáo quý I", [("Báo cáo quý I.xlsx", template)])),
                "09-Apr-2019 08:30:00 +0700")
    inbox = folder / "hop-thu-email"
    actions, data = run(folder, "fetch_mail", ThiDua_HopThu=str(inbox))
    assert (inbox / "Báo cáo quý I.xlsx").read_bytes() == template
    assert status_of(actions, data).startswith(f"Đã nhận 1 tệp mới từ 1 thư vào thư mục {inbox}")
    actions, data = run(folder, "fetch_mail", ThiDua_HopThu=str(inbox))
    assert status_of(actions, data).startswith("Đã nhận 0 tệp mới từ 0 thư")


def test_send_button_sends_reminders_after_the_due_date_once(office, consolidated, servers):
    from thidua.store.tracking import NEEDS_REMINDER, status_rows
    folder, plan, units = office
    _, capture = servers
    expected = {r["email"] for r in status_rows(WorkingSet(plan, units, excel.store_file(folder, 2019)), "Q1") if r["status"] in NEEDS_REMINDER}
    actions, data = run(folder, "send_mail", ThiDua_Ky="Q1")
    assert status_of(actions, data) == f"Kỳ Q1: đã gửi {len(expected)} thư nhắc."
    assert {rcpt[0] for _, rcpt, _ in capture.messages} == expected and len(capture.messages) == len(expected)
    subjects = {str(BytesParser(policy=policy.default).parsebytes(raw)["Subject"]) for _, _, raw in capture.messages}
    assert all(s.startswith("Đề nghị gửi báo cáo quý I/2019") for s in subjects)
    actions, data = run(folder, "send_mail", ThiDua_Ky="Q1")
    assert status_of(actions, data) == f"Kỳ Q1: đã gửi 0 thư nhắc; {len(expected)} đơn vị đã được gửi từ trước, không gửi lại."
    assert len(capture.messages) == len(expected)


def test_the_send_button_sends_templates_until_the_due_day_and_reminders_after():
    import datetime as dt
    from thidua.mail.send import what_to_send
    from thidua.plan.load import load_plan
    q1 = load_plan().round("Q1")
    assert what_to_send(q1, q1.due) == "templates"
    assert what_to_send(q1, q1.due + dt.timedelta(days=1)) == "reminders"
    assert what_to_send(load_plan().round("DX"), dt.date(2030, 1, 1)) == "templates"    # no due date
