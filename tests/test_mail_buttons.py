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


def test_messages_a_killed_send_left_are_decided_on_their_sheet(office, consolidated, servers):
    """A send killed between «begun» and the server's answer leaves messages «sending» (set here by the sent log's
    own begin_send, as the killed run did): the button sends none of them and lists them on «Thư chưa rõ»; the
    office's «Gửi lại» sends that message again with its first Message-ID, «Đã nhận» counts it as sent, a typo stays
    on its row with why; each decision is logged with who and the row's note. No terminal."""
    import sqlite3
    from thidua.mail.send import build, what_to_send
    from thidua.store import mail as M
    from thidua.workbook import layout as L
    from test_workbook_xlwings import table_of
    folder, plan, units = office
    _, capture = servers
    rnd = plan.round("SK1")
    assert what_to_send(rnd) == "reminders"
    ws = WorkingSet(plan, units, excel.store_file(folder, 2019), folder / excel.KEY_FILE)
    outgoing, _ = build(ws, "reminders", "SK1", "vanphong@cdvc.test")
    assert len(outgoing) >= 4
    left = outgoing[:3]
    ids = {}
    with ws.store() as store, store.atomic():
        for o in left:
            ids[o.unit] = f"<killed-{o.unit}@thidua>"
            M.begin_send(store, {"send_key": o.send_key, "round": "SK1", "what": "reminders", "unit": o.unit,
                                 "recipient": o.to, "subject": str(o.msg["Subject"]), "message_id": ids[o.unit],
                                 "attachment": o.attachment})
    actions, data = run(folder, "send_mail", ThiDua_Ky="SK1")
    said = status_of(actions, data)
    assert said.startswith(f"Kỳ SK1: đã gửi {len(outgoing) - 3} thư nhắc.") and "Lỗi: lần gửi trước" in said, said
    assert all(o.unit in said for o in left) and "trang «Thư chưa rõ»" in said and "thidua mail" not in said
    sheet = table_of(actions, data, "mail")
    assert sheet[0] == list(L.MAIL_HEADER)
    assert [(r[0], r[2], r[6]) for r in sheet[1:]] == [(o.unit, "Thư nhắc", ids[o.unit]) for o in sorted(left, key=lambda o: o.unit)]
    assert not {rcpt[0] for _, rcpt, _ in capture.messages} & {o.to for o in left}

    choice, note = L.MAIL_HEADER.index(L.DECISION_COLUMN), L.MAIL_HEADER.index("Ghi chú")
    rows = [list(r) for r in sheet]
    a, b, c = rows[1:]
    a[choice], a[note] = "Gửi lại", "đã xem thư đã gửi: không có"
    b[choice] = "Đã nhận"
    c[choice] = "gui lai?"
    before = len(capture.messages)
    actions, data = run(folder, "send_mail", typed={"Thư chưa rõ": rows}, ThiDua_Ky="SK1")
    said = status_of(actions, data)
    assert said.startswith("Kỳ SK1: đã gửi 1 thư nhắc; đã ghi 2 quyết định của văn phòng") and c[0] in said, said
    got = capture.messages[before:]
    assert [rcpt for _, rcpt, _ in got] == [[next(o.to for o in left if o.unit == a[0])]]
    assert BytesParser(policy=policy.default).parsebytes(got[0][2])["Message-ID"] == ids[a[0]]
    after = {r[0]: r for r in table_of(actions, data, "mail")[1:]}
    assert after[a[0]][9].startswith("Đã ghi «Gửi lại»: đã gửi lại, cùng mã thư")
    assert after[b[0]][9].startswith("Đã ghi «Đã nhận»: không gửi lại")
    assert after[c[0]][7] == "gui lai?" and "không phải một lựa chọn" in after[c[0]][9]
    with sqlite3.connect(excel.store_file(folder, 2019)) as conn:
        logged = conn.execute("SELECT unit, action, reason FROM mail_decisions WHERE round = 'SK1' ORDER BY unit").fetchall()
        states = dict(conn.execute("SELECT unit, state FROM mail_sent WHERE round = 'SK1' AND what = 'reminders'"))
    assert sorted(logged) == sorted([(a[0], "resend", "đã xem thư đã gửi: không có"),
                                     (b[0], "mark_sent", "văn phòng đã kiểm tra: thư đã đến đơn vị (có trong thư đã gửi)")])
    assert (states[a[0]], states[b[0]], states[c[0]]) == ("sent", "sent", "sending")
