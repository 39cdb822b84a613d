"""Commendation proposals: eligibility against titles, forms and quotas; decisions; the official list's order."""
from __future__ import annotations

import json

import openpyxl
import pytest
from storebuild import add_submission, new_store

from thidua.cli import main
from thidua.review.commendations import check_proposal, decide, load_proposals
from thidua.errors import ThiDuaError
from thidua.year.workset import WorkingSet

GK = "Giấy khen của Công đoàn Viên chức tỉnh"
GVNDVN = "Bằng khen Tổng LĐLĐ VN chuyên đề \"Giỏi việc nước, đảm việc nhà\""


def person(name, title="Lao động tiên tiến", form=GK, **extra):
    row = {"subject": "Cá nhân", "name": name, "title": title, "form": form, "dat_ldtt": "Có",
           "co_sang_kien": "Có", "ky_luat": "Không", "thang_cong_tac": 12, "gioi_tinh": "Nữ", "nam_htxs": 3,
           "summary": "Hoàn thành xuất sắc nhiệm vụ"}
    row.update(extra)
    return row


def team(title="Tập thể lao động xuất sắc", form=GK, **extra):
    row = {"subject": "Tập thể", "name": "Tổ Toán", "title": title, "form": form, "ty_le_ldtt": 70,
           "ty_le_htnv": 100, "so_cstdcs": 1, "ky_luat": "Không", "nam_htxs": 3, "dan_dau_khoi": "Có"}
    row.update(extra)
    return row


def test_individual_title_conditions(plan):
    ok = check_proposal(plan, person("Lê Văn An", "Chiến sĩ thi đua cơ sở"))
    assert ok.eligible and ok.title.code == "CSTDCS" and ok.form.code == "GK" and ok.verdict == "đủ điều kiện"
    no = check_proposal(plan, person("Lê Văn An", "Chiến sĩ thi đua cơ sở", co_sang_kien="Không"))
    assert not no.eligible and any("sáng kiến" in p and "Luật Thi đua, Khen thưởng, Điều 23" in p for p in no.problems)
    assert no.verdict.startswith("Không đủ điều kiện: ")
    missing = check_proposal(plan, person("Lê Văn An", "CSTDCS", dat_ldtt=None))
    assert any(p.startswith("thiếu «Đạt Lao động tiên tiến»") for p in missing.problems)


def test_lao_dong_tien_tien_needs_ten_months_and_no_khien_trach(plan):
    """NĐ 91/2017: not under 10 months in post, not disciplined at khiển trách or above."""
    assert check_proposal(plan, person("Lê Văn An", thang_cong_tac=10)).eligible
    short = check_proposal(plan, person("Lê Văn An", thang_cong_tac=9))
    assert [p for p in short.problems] == [
        "không đạt «công tác từ 10 tháng trở lên trong năm» của danh hiệu Lao động tiên tiến "
        "(NĐ 91/2017/NĐ-CP (không xét người mới tuyển dụng dưới 10 tháng))"]
    for level in ("Khiển trách", "Cảnh cáo", "Buộc thôi việc"):
        rebuked = check_proposal(plan, person("Lê Văn An", ky_luat=level, form=None))
        assert [p for p in rebuked.problems if "khiển trách" in p], level
    legacy = check_proposal(plan, person("Lê Văn An", ky_luat="Có", form=None))    # an old Có/Không answer
    assert any(p.startswith("thiếu «Hình thức kỷ luật trong năm»") for p in legacy.problems)


def test_tap_the_lao_dong_tien_tien_lost_only_from_canh_cao(plan):
    tt = team("Tập thể lao động tiên tiến", ty_le_ldtt=60)
    assert check_proposal(plan, dict(tt, ky_luat="Khiển trách", form=None)).eligible        # today: not lost
    warned = check_proposal(plan, dict(tt, ky_luat="Cảnh cáo", form=None))
    assert any("cảnh cáo" in p and "Điều 28" in p for p in warned.problems)
    assert not check_proposal(plan, dict(tt, ty_le_ldtt=50)).eligible                      # needs more than 50%
    assert check_proposal(plan, dict(tt, ty_le_ldtt=50.5)).eligible


def test_tap_the_lao_dong_xuat_sac_needs_all_tasks_done_and_one_cstdcs(plan):
    assert check_proposal(plan, team()).eligible
    assert not check_proposal(plan, team(ty_le_ldtt=69.5)).eligible
    not_all = check_proposal(plan, team(ty_le_htnv=98))
    assert any("100% thành viên hoàn thành nhiệm vụ" in p and "Điều 27" in p for p in not_all.problems)
    no_star = check_proposal(plan, team(so_cstdcs=0))
    assert any("Chiến sĩ thi đua cơ sở" in p for p in no_star.problems)


def test_award_forms_have_standards(plan):
    assert check_proposal(plan, person("Lê Văn An", form="BKLDLD", nam_htxs=2)).eligible
    one_year = check_proposal(plan, person("Lê Văn An", form="BKLDLD", nam_htxs=1))
    assert any("2 năm liên tục" in p and "QĐ 2106/QĐ-TLĐ" in p for p in one_year.problems)
    assert not check_proposal(plan, person("Lê Văn An", form="BKTLD", nam_htxs=2)).eligible
    assert check_proposal(plan, person("Lê Văn An", form="BKTLD", nam_htxs=3)).eligible
    assert check_proposal(plan, team(title=None, form="COTD")).eligible
    not_leading = check_proposal(plan, team(title=None, form="COTD", dan_dau_khoi="Không"))
    assert any("dẫn đầu khối" in p for p in not_leading.problems)
    rebuked = check_proposal(plan, person("Lê Văn An", title=None, form=GK, ky_luat="Khiển trách"))
    assert any("Giấy khen" in p for p in rebuked.problems)


def test_gioi_viec_nuoc_dam_viec_nha_is_for_collectives_and_women(plan):
    assert check_proposal(plan, team(title=None, form=GVNDVN)).eligible                   # a collective: yes
    assert check_proposal(plan, person("Trần Thị Ánh", title=None, form=GVNDVN)).eligible
    man = check_proposal(plan, person("Nguyễn Văn Bình", title=None, form=GVNDVN, gioi_tinh="Nam"))
    assert any("cá nhân là nữ" in p and "QĐ 2106/QĐ-TLĐ, Điều 15" in p for p in man.problems)


def test_collective_titles_and_form_subjects(plan):
    wrong_title = check_proposal(plan, person("Lê Văn An", "Tập thể lao động tiên tiến"))
    assert any("chỉ dành cho tập thể" in p for p in wrong_title.problems)
    wrong_form = check_proposal(plan, person("Lê Văn An", title=None, form="COTD"))
    assert any("chỉ dành cho tập thể" in p for p in wrong_form.problems)
    unknown = check_proposal(plan, person("Lê Văn An", "Anh hùng lao động"))
    assert any("Anh hùng lao động" in p for p in unknown.problems)


def test_cstdcs_at_most_15_percent_of_the_units_ldtt(plan):
    """NĐ 91/2017/NĐ-CP, Điều 9 khoản 3: 6 CSTĐCS beside 10 LĐTT in one unit are flagged, 1 is not."""
    from thidua.review.commendations import ProposalCheck, apply_quotas
    def unit_rows(n_ldtt, n_cs, unit="CD001"):
        rows = [dict(person(f"Người LĐTT {i}", form=None), unit=unit, round="TK") for i in range(n_ldtt)]
        rows += [dict(person(f"Người CSTĐCS {i}", "Chiến sĩ thi đua cơ sở", form=None), unit=unit, round="TK")
                 for i in range(n_cs)]
        return [check_proposal(plan, r) for r in rows]
    over = unit_rows(10, 6)
    apply_quotas(over, plan)
    flagged = [c for c in over if c.warnings]
    assert len(flagged) == 6 and all(c.title.code == "CSTDCS" for c in flagged)
    assert "vượt tỷ lệ 15% của 16 người đạt LDTT (tối đa 2) (NĐ 91/2017/NĐ-CP, Điều 9 khoản 3)" in flagged[0].warnings[0]
    fine = unit_rows(10, 1) + unit_rows(0, 3, unit="CD002")[:0]
    apply_quotas(fine, plan)
    assert not any(c.warnings for c in fine)
    other_unit = unit_rows(10, 1) + unit_rows(6, 1, unit="CD002")            # counted per unit
    apply_quotas(other_unit, plan)
    assert not any(c.warnings for c in other_unit)


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
    checks = load_proposals(WorkingSet(plan, (), store))
    assert len(checks) == 8
    topic = [c for c in checks if c.form and c.form.code == "BKGVNDVN"]
    assert len(topic) == 5 and all("vượt chỉ tiêu 4" in " ".join(c.warnings) for c in topic)
    decide(WorkingSet(plan, (), store), topic[-1].id, "reviewed")
    decide(WorkingSet(plan, (), store), topic[-1].id, "not_met", note="Không đủ chỉ tiêu")
    topic = [c for c in load_proposals(WorkingSet(plan, (), store)) if c.form and c.form.code == "BKGVNDVN"]
    assert not any(c.warnings for c in topic)


def test_decisions_and_their_order(store, plan):
    first = load_proposals(WorkingSet(plan, (), store))[5]                    # Võ Văn Ơn, Giấy khen
    with pytest.raises(ThiDuaError):
        decide(WorkingSet(plan, (), store), first.id, "awarded")               # proposed → reviewed first
    decide(WorkingSet(plan, (), store), first.id, "reviewed")
    raised = decide(WorkingSet(plan, (), store), first.id, "raised", form="BKLDLD", note="Thành tích nổi bật")
    assert raised.state == "raised" and raised.effective_form.code == "BKLDLD"
    with pytest.raises(ThiDuaError):
        decide(WorkingSet(plan, (), store), first.id, "raised", form="GK")     # not higher than proposed
    awarded = decide(WorkingSet(plan, (), store), first.id, "awarded")
    assert awarded.effective_form.code == "BKLDLD"            # keeps the raised form
    with pytest.raises(ThiDuaError) as err:
        decide(WorkingSet(plan, (), store), first.id, "not_met")
    assert "Được khen thưởng" in err.value.message and "--force" in err.value.hint
    with pytest.raises(ThiDuaError):
        decide(WorkingSet(plan, (), store), 999, "reviewed")
    with pytest.raises(ThiDuaError):
        decide(WorkingSet(plan, (), store), first.id, "reviewed", form="XYZ")
    again = {c.id: c for c in load_proposals(WorkingSet(plan, (), store))}[first.id]
    assert again.state == "awarded" and again.note == "Thành tích nổi bật"


def test_cli_list_decide_and_official_list(store, plan, tmp_path, capsys):
    assert main(["proposals", "list", "--db", str(store), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 8 and sum(not p["eligible"] for p in listed) == 1
    assert main(["proposals", "decide", "--db", str(store), "--id", "1", "--state", "raised"]) == 2
    assert main(["proposals", "decide", "--db", str(store), "--id", "7", "--state", "reviewed"]) == 0
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
    assert len(load_proposals(WorkingSet(plan, (), store), until=dt.date(2019, 5, 9))) == 5       # the DX file came on 10/05
    assert len(load_proposals(WorkingSet(plan, (), store), until=dt.date(2019, 5, 10))) == 8
    assert len(load_proposals(WorkingSet(plan, (), store), rounds=["DX"])) == 3
