"""Commendation proposals: eligibility against titles, forms and quotas; decisions; the official list's order."""
from __future__ import annotations

import json

import openpyxl
import pytest
from storebuild import add_submission, new_store

from thidua.cli import main
from thidua.awards.proposals import check_proposal, decide, load_proposals
from thidua.errors import ThiDuaError
from thidua.year.workset import WorkingSet

GK = "Giấy khen của Công đoàn Viên chức tỉnh"
GVNDVN = "Bằng khen Tổng LĐLĐ VN chuyên đề \"Giỏi việc nước, đảm việc nhà\""


ATTESTED = {"title_decision": "125/QĐ-SGDĐT", "title_date": "2019-12-16"}     # the agency's decision


def person(name, title="Lao động tiên tiến", form=GK, **extra):
    row = {"subject": "Cá nhân", "name": name, "title": title, "form": form, "ky_luat": "Không",
           "gioi_tinh": "Nữ", "nam_htxs": 3, "summary": "Hoàn thành xuất sắc nhiệm vụ", "round": "TK", **ATTESTED}
    row.update(extra)
    return row


def team(title="Tập thể lao động xuất sắc", form=GK, **extra):
    row = {"subject": "Tập thể", "name": "Tổ Toán", "title": title, "form": form, "ty_le_ldtt": 70,
           "ty_le_htnv": 100, "so_cstdcs": 1, "ky_luat": "Không", "nam_htxs": 3, "dan_dau_khoi": "Có", "round": "TK",
           **ATTESTED}
    row.update(extra)
    return row


def codes(check) -> list[str]:
    return [code for code, _ in check.issues]


def test_state_titles_are_facts_the_union_does_not_judge(plan):
    """LĐTT, CSTĐCS, TTLĐTT, TTLĐXS are decided by the employing agency: no union condition, no «review»; the
    facts (6 months in post, a khiển trách) that the agency weighed are not weighed again."""
    for title in ("Lao động tiên tiến", "Chiến sĩ thi đua cơ sở"):
        alone = check_proposal(plan, person("Lê Văn An", title, form=None, thang_cong_tac=6, co_sang_kien="Không"))
        assert alone.eligible and alone.attested.counts and alone.attested.decision == "125/QĐ-SGDĐT", alone.problems
    for title in ("Tập thể lao động tiên tiến", "Tập thể lao động xuất sắc"):
        assert check_proposal(plan, team(title, form=None, ty_le_ldtt=40, ty_le_htnv=80)).eligible
    assert not [c for c in plan.award_conditions if c.applies in {t.code for t in plan.titles}]


def test_the_office_does_not_review_a_title_alone(tmp_path, plan, units):
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00", proposals=[person("Lê Văn An", form=None)])
    con.close()
    ws = WorkingSet(plan, (), db)
    [pc] = load_proposals(ws)
    with pytest.raises(ThiDuaError) as err:
        decide(ws, pc.id, "reviewed")
    assert "danh hiệu «Lao động tiên tiến»" in err.value.message and "Công đoàn không xét" in err.value.message
    assert decide(ws, pc.id, "reviewed", form="GK").effective_form.code == "GK"     # proposed for a union form


def test_a_title_counts_only_with_the_agencys_decision_in_the_year_end_round(plan):
    no_number = check_proposal(plan, person("Lê Văn An", title_decision=None))
    assert not no_number.attested.counts and codes(no_number) == ["X014"] and "số" in no_number.warnings[0]
    assert any(p.startswith("thiếu «Danh hiệu thi đua đã được công nhận (kèm số, ngày quyết định)»") and
               "QĐ 1689/QĐ-TLĐ (tiêu chuẩn Giấy khen)" in p for p in no_number.problems), no_number.problems
    in_sk1 = check_proposal(plan, person("Lê Văn An", round="SK1"))
    assert codes(in_sk1) == ["X015"] and not in_sk1.attested.counts and "kỳ TK" in in_sk1.warnings[0]
    assert in_sk1.eligible               # the sơ kết's Giấy khen does not ask for the yearly title
    late = check_proposal(plan, person("Lê Văn An", title_date="2020-01-10"), on=__import__("datetime").date(2019, 12, 27))
    assert codes(late) == ["X018"] and not late.eligible       # attested after the union's decision date


def test_giay_khen_at_year_end_asks_for_an_attested_title(plan):
    assert check_proposal(plan, person("Lê Văn An")).eligible
    assert check_proposal(plan, person("Lê Văn An", "Chiến sĩ thi đua cơ sở")).eligible       # ≥ LĐTT
    none = check_proposal(plan, person("Lê Văn An", title=None))
    assert not none.eligible and "Lao động tiên tiến trở lên" in none.verdict
    assert check_proposal(plan, team("Tập thể lao động tiên tiến")).eligible
    assert check_proposal(plan, team("Tập thể lao động xuất sắc")).eligible
    rebuked = check_proposal(plan, person("Lê Văn An", ky_luat="Khiển trách"))
    assert any("không bị kỷ luật" in p and "Giấy khen" in p for p in rebuked.problems)
    legacy = check_proposal(plan, person("Lê Văn An", ky_luat="Có"))    # an old Có/Không answer
    assert any(p.startswith("thiếu «Hình thức kỷ luật trong năm»") for p in legacy.problems)


def test_award_forms_have_standards(plan):
    assert check_proposal(plan, person("Lê Văn An", form="BKLDLD", nam_htxs=2)).eligible
    one_year = check_proposal(plan, person("Lê Văn An", form="BKLDLD", nam_htxs=1))
    assert any("2 năm liên tục" in p and "QĐ 1689/QĐ-TLĐ" in p for p in one_year.problems)
    sk1 = check_proposal(plan, person("Lê Văn An", form="BKLDLD", nam_htxs=1, round="SK1"))
    assert any("QĐ 2106/QĐ-TLĐ" in p for p in sk1.problems)         # judged on 31/07/2019: QĐ 2106 in force
    assert not check_proposal(plan, person("Lê Văn An", form="BKTLD", nam_htxs=2)).eligible
    assert check_proposal(plan, person("Lê Văn An", form="BKTLD", nam_htxs=3)).eligible
    assert check_proposal(plan, team(title=None, form="COTD")).eligible
    not_leading = check_proposal(plan, team(title=None, form="COTD", dan_dau_khoi="Không"))
    assert any("dẫn đầu khối" in p for p in not_leading.problems)


def test_gioi_viec_nuoc_dam_viec_nha_is_for_collectives_and_women(plan):
    assert check_proposal(plan, team(title=None, form=GVNDVN)).eligible                   # a collective: yes
    assert check_proposal(plan, person("Trần Thị Ánh", title=None, form=GVNDVN)).eligible
    man = check_proposal(plan, person("Nguyễn Văn Bình", title=None, form=GVNDVN, gioi_tinh="Nam"))
    assert any("cá nhân là nữ" in p and "QĐ 1689/QĐ-TLĐ (khen thưởng chuyên đề" in p for p in man.problems)


def test_collective_titles_and_form_subjects(plan):
    wrong_title = check_proposal(plan, person("Lê Văn An", "Tập thể lao động tiên tiến"))
    assert any("chỉ dành cho tập thể" in p for p in wrong_title.problems)
    wrong_form = check_proposal(plan, person("Lê Văn An", title=None, form="COTD"))
    assert any("chỉ dành cho tập thể" in p for p in wrong_form.problems)
    unknown = check_proposal(plan, person("Lê Văn An", "Anh hùng lao động"))
    assert any("Anh hùng lao động" in p for p in unknown.problems)


def test_the_cstdcs_ceiling_binds_the_agencys_list_not_the_unions(plan):
    """NĐ 91/2017/NĐ-CP, Điều 9 khoản 3: 6 attested CSTĐCS beside 10 LĐTT in one unit are a warning on the facts
    (X019), never a reason to refuse a union award; titles without their decision count nowhere."""
    from thidua.awards.proposals import apply_quotas

    def unit_rows(n_ldtt, n_cs, unit="CD001", **extra):
        rows = [dict(person(f"Người LĐTT {i}", form=None), unit=unit) for i in range(n_ldtt)]
        rows += [dict(person(f"Người CSTĐCS {i}", "Chiến sĩ thi đua cơ sở", **extra), unit=unit) for i in range(n_cs)]
        return [check_proposal(plan, r) for r in rows]
    over = unit_rows(10, 6)
    apply_quotas(over, plan)
    flagged = [c for c in over if c.warnings]
    assert len(flagged) == 6 and all(c.title.code == "CSTDCS" and codes(c) == ["X019"] and c.eligible
                                     for c in flagged)
    assert "vượt tỷ lệ 15% của 16 người đạt LDTT (tối đa 2) (NĐ 91/2017/NĐ-CP, Điều 9 khoản 3)" in flagged[0].warnings[0]
    assert "ràng buộc danh sách công nhận của cơ quan" in flagged[0].warnings[0]
    unattested = unit_rows(10, 6, title_decision=None)              # no decision: no fact, no ratio
    apply_quotas(unattested, plan)
    assert not any("X019" in codes(c) for c in unattested)
    fine = unit_rows(10, 1)
    apply_quotas(fine, plan)
    assert not any(c.warnings for c in fine)
    other_unit = unit_rows(10, 1) + unit_rows(6, 1, unit="CD002")            # counted per unit
    apply_quotas(other_unit, plan)
    assert not any(c.warnings for c in other_unit)


def test_a_quota_counts_over_the_year_not_per_round(plan):
    """The province quota of «Giỏi việc nước, đảm việc nhà» (4) is the year's: 3 in the sơ kết and 2 at year end
    are 5, over it, though neither round alone is."""
    from thidua.awards.proposals import apply_quotas
    rows = [dict(person(f"Người {i}", title=None, form=GVNDVN), round="SK1", unit="CD001") for i in range(3)]
    rows += [dict(person(f"Người {i + 3}", title=None, form=GVNDVN), round="TK", unit="CD002") for i in range(2)]
    checks = [check_proposal(plan, r) for r in rows]
    apply_quotas(checks, plan)
    assert all(codes(c) == ["X012"] and "5 đề nghị của tỉnh trong năm, vượt chỉ tiêu 4" in c.warnings[0]
               for c in checks)


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
                              person("Hồ Văn Anh", "Chiến sĩ thi đua cơ sở", ky_luat="Khiển trách")])
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
