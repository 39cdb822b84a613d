"""Commendation proposals: eligibility against titles, forms and quotas; decisions; the official list's order."""
from __future__ import annotations

import json

import openpyxl
import pytest
from storebuild import add_submission, new_store

from thidua.cli import main
from thidua.review.commendations import check_proposal, decide, load_proposals
from thidua.errors import ThiDuaError

GK = "Giấy khen của Công đoàn Viên chức tỉnh"
GVNDVN = "Bằng khen Tổng LĐLĐ VN chuyên đề \"Giỏi việc nước, đảm việc nhà\""


def person(name, title="Lao động tiên tiến", form=GK, **extra):
    row = {"subject": "Cá nhân", "name": name, "title": title, "form": form, "dat_ldtt": "Có",
           "co_sang_kien": "Có", "ky_luat": "Không", "summary": "Hoàn thành xuất sắc nhiệm vụ"}
    row.update(extra)
    return row


def test_individual_title_conditions(plan):
    ok = check_proposal(plan, person("Lê Văn An", "Chiến sĩ thi đua cơ sở"))
    assert ok.eligible and ok.title.code == "CSTDCS" and ok.form.code == "GK"
    no = check_proposal(plan, person("Lê Văn An", "Chiến sĩ thi đua cơ sở", co_sang_kien="Không"))
    assert not no.eligible and any("sáng kiến" in p for p in no.problems)
    missing = check_proposal(plan, person("Lê Văn An", "CSTDCS", dat_ldtt=None))
    assert any("thiếu thông tin" in p for p in missing.problems)
    disciplined = check_proposal(plan, person("Lê Văn An", ky_luat="Có"))
    assert not disciplined.eligible


def test_collective_titles_and_form_subjects(plan):
    team = {"subject": "Tập thể", "name": "Tổ Toán", "title": "Tập thể lao động xuất sắc", "form": GK,
            "ty_le_ldtt": 70, "ky_luat": "Không"}
    assert check_proposal(plan, team).eligible
    assert not check_proposal(plan, dict(team, ty_le_ldtt=69.5)).eligible
    tt = dict(team, title="Tập thể lao động tiên tiến", ty_le_ldtt=50)
    assert not check_proposal(plan, tt).eligible                                  # needs more than 50%
    assert check_proposal(plan, dict(tt, ty_le_ldtt=50.5)).eligible
    wrong_form = check_proposal(plan, dict(team, form=GVNDVN))
    assert any("chỉ dành cho cá nhân" in p for p in wrong_form.problems)
    wrong_title = check_proposal(plan, person("Lê Văn An", "Tập thể lao động tiên tiến"))
    assert any("chỉ dành cho tập thể" in p for p in wrong_title.problems)
    unknown = check_proposal(plan, person("Lê Văn An", "Anh hùng lao động"))
    assert any("Anh hùng lao động" in p for p in unknown.problems)


@pytest.fixture
def store(tmp_path, plan, units):
    db = tmp_path / "store.db"
    con = new_store(db, plan, units)
    names = ["Trần Thị Ánh", "Nguyễn Văn Bình", "Lê Thị Anh", "Phạm Đức Ân", "Ðỗ Thị Dung"]
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person(n, form=GVNDVN) for n in names])
    add_submission(con, units[1].code, "DX", "2019-05-10T08:00:00",
                   proposals=[person("Võ Văn Ơn", "Chiến sĩ thi đua cơ sở", adhoc="Có"),
                              {"subject": "Tập thể", "name": "Phòng Hành chính", "title": "Tập thể lao động tiên tiến",
                               "form": GK, "ty_le_ldtt": 80, "ky_luat": "Không", "summary": "Xuất sắc"},
                              person("Hồ Văn Anh", "Chiến sĩ thi đua cơ sở", co_sang_kien="Không")])
    con.close()
    return db


def test_quota_of_a_form_counts_live_proposals(store, plan):
    checks = load_proposals(store, plan)
    assert len(checks) == 8
    topic = [c for c in checks if c.form and c.form.code == "BKGVNDVN"]
    assert len(topic) == 5 and all("vượt chỉ tiêu 4" in " ".join(c.warnings) for c in topic)
    decide(store, plan, topic[-1].id, "not_met", note="Không đủ chỉ tiêu")
    topic = [c for c in load_proposals(store, plan) if c.form and c.form.code == "BKGVNDVN"]
    assert not any(c.warnings for c in topic)


def test_decisions_and_their_order(store, plan):
    first = load_proposals(store, plan)[5]                    # Võ Văn Ơn, Giấy khen
    raised = decide(store, plan, first.id, "raised", form="BKLDLD", note="Thành tích nổi bật")
    assert raised.state == "raised" and raised.effective_form.code == "BKLDLD"
    with pytest.raises(ThiDuaError):
        decide(store, plan, first.id, "raised", form="GK")     # not higher than proposed
    awarded = decide(store, plan, first.id, "awarded")
    assert awarded.effective_form.code == "BKLDLD"            # keeps the raised form
    with pytest.raises(ThiDuaError) as err:
        decide(store, plan, first.id, "not_met")
    assert "Được khen thưởng" in err.value.message
    with pytest.raises(ThiDuaError):
        decide(store, plan, 999, "reviewed")
    with pytest.raises(ThiDuaError):
        decide(store, plan, first.id, "reviewed", form="XYZ")
    again = {c.id: c for c in load_proposals(store, plan)}[first.id]
    assert again.state == "awarded" and again.note == "Thành tích nổi bật"


def test_cli_list_decide_and_official_list(store, plan, tmp_path, capsys):
    assert main(["proposals", "list", "--db", str(store), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 8 and sum(not p["eligible"] for p in listed) == 1
    assert main(["proposals", "decide", "--db", str(store), "--id", "1", "--state", "raised"]) == 2
    assert main(["proposals", "decide", "--db", str(store), "--id", "7", "--state", "awarded"]) == 0
    out = tmp_path / "ds.xlsx"
    assert main(["proposals", "export", "--db", str(store), "--out", str(out)]) == 0
    ws = openpyxl.load_workbook(out).active
    rows = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    groups = [r[0] for r in rows if isinstance(r[0], str) and r[0][:2] in ("I.", "II")]
    assert groups[0].startswith("I. Bằng khen Tổng LĐLĐ VN chuyên đề") and groups[1].startswith("II. Giấy khen")
    start = next(i for i, r in enumerate(rows) if r[0] == groups[0])
    topic = [r[1] for r in rows[start + 1:start + 6]]
    assert topic == ["Lê Thị Anh", "Trần Thị Ánh", "Phạm Đức Ân", "Nguyễn Văn Bình", "Đỗ Thị Dung"]
    start = next(i for i, r in enumerate(rows) if r[0] == groups[1])
    assert [r[1] for r in rows[start + 1:start + 4]] == ["Phòng Hành chính", "Hồ Văn Anh", "Võ Văn Ơn"]


def test_adhoc_proposals_belong_to_the_period_they_were_received_in(store, plan):
    import datetime as dt
    assert len(load_proposals(store, plan, until=dt.date(2019, 5, 9))) == 5       # the DX file came on 10/05
    assert len(load_proposals(store, plan, until=dt.date(2019, 5, 10))) == 8
    assert len(load_proposals(store, plan, rounds=["DX"])) == 3
