"""Award papers the committee can sign: the law in force on the decision's date, money by rule, a decision as a
record; real files in, real Word/PDF documents out (python-docx, LibreOffice, pdftotext). The expected legal texts
and amounts are written out from the law (DOMAIN.md «Awards by date»), not read back from the plan data."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import TEST_KEY
from storebuild import add_submission, new_store

from thidua.cli import main
from thidua.awards.proposals import decide, load_proposals
from thidua.plan.model import Plan, read_toml_tables
from thidua.store import proposals as stored
from thidua.store.store import Store
from thidua.text.collate import sort_names
from thidua.year.workset import WorkingSet

GK = "Giấy khen của Công đoàn Viên chức tỉnh"
BKLDLD = "Bằng khen của Liên đoàn Lao động tỉnh"
PEOPLE = ["Trần Thị Ánh", "Nguyễn Văn Bình", "Lê Thị Anh", "Phạm Đức Ân", "Võ Thị Ơn", "Hồ Văn Anh"]
TEAMS = ["Tổ Toán & Tin", "Phòng Hành chính"]
AWARDING = "Ban Chấp hành Công đoàn Viên chức tỉnh Quảng Nam"


def person(name, form=GK, **extra):
    """A nominee holding an attested Lao động tiên tiến (the agency's decision number and date)."""
    row = {"subject": "Cá nhân", "name": name, "position": "Giáo viên, Trường THPT Trần Phú",
           "title": "Lao động tiên tiến", "form": form, "ky_luat": "Không", "gioi_tinh": "Nữ", "nam_htxs": 3,
           "summary": "Hoàn thành tốt", "birth_year": 1980 + len(name) % 17, "title_decision": "125/QĐ-SGDĐT",
           "title_date": "2019-12-16"}
    row.update(extra)
    return row


def team(name, form=GK, **extra):
    row = {"subject": "Tập thể", "name": name, "title": "Tập thể lao động tiên tiến", "form": form,
           "ty_le_ldtt": 80, "ty_le_htnv": 100, "so_cstdcs": 1, "ky_luat": "Không", "nam_htxs": 3,
           "summary": "Dẫn đầu phong trào", "title_decision": "88/QĐ-SYT", "title_date": "2019-12-18"}
    row.update(extra)
    return row


def award_all(db, plan, round_code=None, form="GK", skip=()) -> None:
    """The office's decisions on the proposals not yet decided: reviewed, those of `form` (of `round_code`)
    awarded."""
    ws = WorkingSet(plan, (), db)
    for pc in load_proposals(ws):
        if pc.state != "proposed":
            continue
        decide(ws, pc.id, "reviewed")
        if pc.form and pc.form.code == form and pc.name not in skip and round_code in (None, pc.round):
            decide(ws, pc.id, "awarded")


@pytest.fixture
def awarded(tmp_path, plan, units):
    """A store where the office awarded GK to 2 collectives and 6 people (TK), and reviewed 2 people for BKLDLD."""
    db = tmp_path / "store.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person(n) for n in PEOPLE[:4]] + [team(TEAMS[0])] +
                   [person("Đặng Văn Cường", form=BKLDLD), person("Mai Thị Hoa", form=BKLDLD)])
    add_submission(con, units[1].code, "TK", "2019-12-11T08:00:00",
                   proposals=[person(n) for n in PEOPLE[4:]] + [team(TEAMS[1]), person("Bùi Văn Khải")])
    con.close()
    award_all(db, plan, skip=("Bùi Văn Khải",))
    return db


def docx_text(path: Path) -> str:
    """Every paragraph of a .docx, tables included, as python-docx reads it."""
    from docx import Document
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def law_amount(coefficient: float, base: int) -> int:
    """NĐ 91/2017: coefficient × the base salary in force, rounded UP to the ten thousand (Điều 68 khoản 2)."""
    return math.ceil(coefficient * base / 10_000) * 10_000


def run(*args) -> int:
    return main([str(a) for a in args])


def decisions_json(db, capsys) -> list[dict]:
    capsys.readouterr()
    assert run("awards", "decisions", "--db", db, "--json") == 0
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- the law in force on the decision's date
def test_a_year_end_2019_decision_cites_1689_and_pays_by_the_base_salary(awarded, tmp_path, capsys):
    """27/12/2019: QĐ 1689/QĐ-TLĐ (12/11/2019) has replaced QĐ 2106; base salary 1.490.000 đ since 01/07/2019:
    0,3 × 1.490.000 = 447.000 → 450.000 đ a person, 0,6 × … = 894.000 → 900.000 đ a collective."""
    out = tmp_path / "qd"
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", out, "--db", awarded,
               "--date", "27/12/2019", "--number", "5") == 0
    said = capsys.readouterr().out
    assert "05/QĐ-CĐN" in said and "2 tập thể, 6 cá nhân" in said
    person_money, team_money = law_amount(0.3, 1_490_000), law_amount(0.6, 1_490_000)
    assert (person_money, team_money) == (450_000, 900_000)
    from docx import Document
    doc = Document(str(out / "QuyetDinh_05_GK_TK.docx"))
    names, dated = ([c.text for c in row.cells] for row in doc.tables[0].rows)   # number and date on one row
    assert "CÔNG ĐOÀN VIÊN CHỨC TỈNH" in names[0] and dated[0] == "Số: 05/QĐ-CĐN"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in names[1] and dated[1] == "Quảng Nam, ngày 27 tháng 12 năm 2019"
    text = docx_text(out / "QuyetDinh_05_GK_TK.docx")
    bases = [p.text for p in doc.paragraphs if p.text.startswith(("Căn cứ", "Xét đề nghị"))]
    assert bases[0] == "Căn cứ Điều lệ Công đoàn Việt Nam;"
    assert any("Quyết định số 1689/QĐ-TLĐ ngày 12/11/2019" in b for b in bases) and "2106" not in text
    assert any("Nghị định số 91/2017/NĐ-CP" in b for b in bases) and any("ngày 16/11/2013" in b for b in bases)
    assert all(b.endswith(";") for b in bases[:-1]) and bases[-1].startswith("Xét đề nghị") and bases[-1].endswith(".")
    for needle in (f"Điều 1. Tặng Giấy khen của {AWARDING} cho 2 tập thể và 6 cá nhân (có danh sách kèm theo) đã có "
                   "thành tích xuất sắc trong phong trào thi đua năm 2019.",
                   "mỗi tập thể được thưởng 900.000 đồng, mỗi cá nhân được thưởng 450.000 đồng; tổng cộng "
                   + f"{2 * team_money + 6 * person_money:,} đồng".replace(",", "."),
                   "BAN THƯỜNG VỤ CÔNG ĐOÀN VIÊN CHỨC TỈNH QUẢNG NAM", "Điều 3.", "Nơi nhận:", "Trần Quốc Bảo",
                   "I. TẬP THỂ (2)", "II. CÁ NHÂN (6)", "Tổ Toán & Tin"):
        assert needle in text, needle
    for name in PEOPLE + TEAMS:                          # every recipient exactly once
        assert len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text)) == 1, name
    for name in ("Đặng Văn Cường", "Bùi Văn Khải"):      # another form; only reviewed
        assert name not in text
    people = [row.cells[1].text for row in doc.tables[-1].rows[1:]]
    assert people == sort_names(PEOPLE) and people[0] == "Lê Thị Anh" and people[-1] == "Võ Thị Ơn"
    assert [row.cells[1].text for row in doc.tables[-2].rows[1:]] == ["Phòng Hành chính", "Tổ Toán & Tin"]
    [made] = decisions_json(awarded, capsys)
    assert (made["number"], made["date"], made["total"]) == ("05/QĐ-CĐN", "2019-12-27", 4_500_000)
    assert made["register_numbers"] == list(range(1, 9))


def test_a_mid_2019_decision_cites_2106_and_pays_by_the_older_base_salary(tmp_path, plan, units, capsys):
    """15/06/2019 (sơ kết Đợt 1): QĐ 2106/QĐ-TLĐ of 28/12/2017 in force; base salary 1.390.000 đ (NĐ 72/2018):
    0,3 × 1.390.000 = 417.000 → 420.000 đ, 0,6 × … = 834.000 → 840.000 đ."""
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "SK1", "2019-06-10T08:00:00",
                   proposals=[person("Lê Thị Hà", title=None), team("Tổ Văn", title=None)])
    con.close()
    award_all(db, plan)
    out = tmp_path / "qd"
    assert run("awards", "decision", "--round", "SK1", "--form", "GK", "--out", out, "--db", db,
               "--date", "15/06/2019") == 0
    assert "01/QĐ-CĐN" in capsys.readouterr().out                 # the first number, zero-padded
    text = docx_text(out / "QuyetDinh_01_GK_SK1.docx")
    assert "Quyết định số 2106/QĐ-TLĐ ngày 28/12/2017" in text and "1689" not in text and "26/12/2017" not in text
    assert (law_amount(0.3, 1_390_000), law_amount(0.6, 1_390_000)) == (420_000, 840_000)
    assert "mỗi tập thể được thưởng 840.000 đồng, mỗi cá nhân được thưởng 420.000 đồng; tổng cộng 1.260.000 đồng" in text
    assert "trong Đợt 1 phong trào thi đua năm 2019" in text


def plan_of(year: int) -> Plan:
    """The bundled plan moved to `year`: its periods and rounds (never the dated tables: they are not a year's)."""
    t = read_toml_tables()
    t["meta"].update(year=year, template_version=f"{year}.1", plan_date=dt.date(year, 1, 18))
    for table in ("periods", "rounds"):
        for row in t[table]:
            for key in ("start", "end", "due"):
                if isinstance(row.get(key), dt.date):
                    row[key] = row[key].replace(year=row[key].year + year - 2019)
    return Plan.from_tables(t)


def test_a_2024_decision_cites_the_2022_law_and_pays_by_the_2024_base_salary(tmp_path, units, capsys):
    """20/12/2024: Luật Thi đua, khen thưởng 06/2022/QH15 and NĐ 98/2023/NĐ-CP (from 01/01/2024), QĐ 999/QĐ-TLĐ
    (29/05/2024); base salary 2.340.000 đ from 01/07/2024 (NĐ 73/2024): 0,3 × 2.340.000 = 702.000 → 710.000 đ."""
    plan = plan_of(2024)
    ws = WorkingSet(plan, units, tmp_path / "s.db")
    con = new_store(ws.db, plan, units)
    add_submission(con, units[0].code, "TK", "2024-12-10T08:00:00",
                   proposals=[person("Lê Thị Hà", title_date="2024-12-05"),
                              team("Tổ Văn", title_date="2024-12-05")])
    con.close()
    award_all(ws.db, plan)
    from thidua.awards.decisions import make_decision, write_papers
    made = make_decision(ws, "TK", "GK", dt.date(2024, 12, 20))
    text = docx_text(write_papers(made, tmp_path / "qd", kinds=("decision",))[0])
    assert "Căn cứ Luật Thi đua, khen thưởng số 06/2022/QH15 ngày 15/6/2022;" in text
    assert "Nghị định số 98/2023/NĐ-CP" in text and "Quyết định số 999/QĐ-TLĐ ngày 29/5/2024" in text
    assert "91/2017" not in text and "26/11/2003" not in text and "1689" not in text
    assert law_amount(0.3, 2_340_000) == 710_000
    assert "mỗi cá nhân được thưởng 710.000 đồng" in text
    assert "mỗi tập thể được thưởng " + f"{law_amount(0.6, 2_340_000):,}".replace(",", ".") + " đồng" in text
    # A date no row of the office's names covers (the 2025 reorganisation) is refused, nothing stored.
    from thidua.errors import ThiDuaError
    con = Store.open(ws.db)
    add_submission(con, units[1].code, "TK", "2024-12-11T08:00:00", proposals=[person("Phan Văn Tú")])
    con.close()
    award_all(ws.db, plan)
    tables = dict(plan.tables, offices=[o for o in plan.tables["offices"]       # without the office's row after
                                         if not o.get("valid_from") or str(o["valid_from"]) < "2025-07-01"])  # 2025
    with pytest.raises(ThiDuaError) as exc:
        make_decision(ws.__class__(Plan.from_tables(tables), units, ws.db), "TK", "GK", dt.date(2025, 8, 15))
    assert "«Cơ quan ban hành»" in exc.value.message and "15/08/2025" in exc.value.message
    assert "Từ ngày" in exc.value.hint and len(capsys.readouterr().out) == 0
    with Store.open(ws.db) as store:
        from thidua.store import decisions as stored_decisions
        assert len(stored_decisions.decisions(store)) == 1


# ---------------------------------------------------------------- a decision is a record
def test_numbers_and_register_numbers_run_on_and_papers_come_back_the_same(tmp_path, plan, units, capsys):
    """Sơ kết and tổng kết are separate decisions; numbers 01, 02 run on; the register number (số vào sổ) continues
    across decisions; a decision without --date is dated from its round, never today; its papers made again are the
    same bytes; the certificates read the decision."""
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "SK1", "2019-08-05T08:00:00",
                   proposals=[person("Lê Thị Hà", title=None), person("Ngô Văn Phú", title=None)])
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person("Đinh Thị Quế"), team("Tổ Sử")])
    con.close()
    award_all(db, plan)
    out = tmp_path / "qd"
    assert run("awards", "decision", "--round", "SK1", "--form", "GK", "--out", out, "--db", db) == 0
    said = capsys.readouterr().out
    assert "Ngày quyết định: 05/08/2019" in said and "nhận đề nghị cuối cùng" in said       # after the round's end
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", out, "--db", db) == 0
    assert "Ngày quyết định: 31/12/2019 (ngày kết thúc kỳ TK" in capsys.readouterr().out
    first, second = decisions_json(db, capsys)
    assert (first["number"], first["date"], first["kind"]) == ("01/QĐ-CĐN", "2019-08-05", "so_ket")
    assert (second["number"], second["date"], second["kind"]) == ("02/QĐ-CĐN", "2019-12-31", "tong_ket")
    assert first["register_numbers"] == [1, 2] and second["register_numbers"] == [3, 4]
    certificates = docx_text(out / "GiayKhen_02_GK_TK.docx")
    assert "Quyết định số 02/QĐ-CĐN ngày 31/12/2019" in certificates
    assert "Số vào sổ: 003" in certificates and "Số vào sổ: 004" in certificates and "Số vào sổ: 001" not in certificates
    assert AWARDING.upper() in certificates and "BAN THƯỜNG VỤ" not in certificates.split("TẶNG")[0]
    assert "Quảng Nam, ngày 31 tháng 12 năm 2019" in certificates
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = tmp_path / "again"
    assert run("awards", "papers", "--number", "2", "--out", again, "--db", db) == 0
    for path in again.iterdir():
        assert path.read_bytes() == before[path.name], path.name
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", out, "--db", db) == 2
    assert "không còn đề nghị" in capsys.readouterr().err       # nobody left: the same list is never made twice


def test_the_same_person_twice_is_caught_when_read_and_when_decided(tmp_path, plan, units, capsys):
    """Two units propose one person (same name and birth year) for the Giấy khen: both proposals carry X013
    naming both sources; the decision refuses until one is marked not met, then lists and pays her once. A
    namesake born another year is another person."""
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person("Bùi Thị Oanh", birth_year=1985), person("Lê Văn Tâm", birth_year=1970)])
    add_submission(con, units[1].code, "TK", "2019-12-11T08:00:00",
                   proposals=[person("Bùi Thị Oanh", birth_year=1985, position="Kế toán, Trường THCS Lý Tự Trọng"),
                              person("Lê Văn Tâm", birth_year=1991)])
    con.close()
    checks = {(c.unit, c.name): c for c in load_proposals(WorkingSet(plan, (), db))}
    a, b = checks[(units[0].code, "Bùi Thị Oanh")], checks[(units[1].code, "Bùi Thị Oanh")]
    for pc in (a, b):
        [(code, text)] = [(c, t) for c, t in pc.issues if c == "X013"]
        assert f"đề nghị số {a.id} ({units[0].code}, kỳ TK, tệp «{units[0].code}_TK.xlsx»" in text
        assert f"đề nghị số {b.id} ({units[1].code}, kỳ TK, tệp «{units[1].code}_TK.xlsx»" in text
    assert not [c for c, _ in checks[(units[0].code, "Lê Văn Tâm")].issues if c == "X013"]     # born 1970 vs 1991
    award_all(db, plan)
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 2
    err = capsys.readouterr().err
    assert "Bùi Thị Oanh" in err and f"đề nghị số {a.id}" in err and f"đề nghị số {b.id}" in err
    assert "not_met" in err and not (tmp_path / "qd").exists()
    assert decisions_json(db, capsys) == []
    assert run("proposals", "decide", "--db", db, "--id", b.id, "--state", "not_met", "--force") == 0
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 0
    text = docx_text(tmp_path / "qd" / "QuyetDinh_01_GK_TK.docx")
    assert text.count("Bùi Thị Oanh") == 1 and text.count("Lê Văn Tâm") == 2
    assert "tổng cộng 1.350.000 đồng" in text                       # 3 people × 450.000, never 4


def test_a_collective_of_the_soket_is_not_awarded_again_at_year_end(tmp_path, plan, units, capsys):
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "SK1", "2019-08-05T08:00:00", proposals=[team("Tổ Hóa", title=None)])
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00", proposals=[team("Tổ Hóa"), team("Tổ Lý")])
    con.close()
    assert any(c == "X013" for pc in load_proposals(WorkingSet(plan, (), db)) for c, _ in pc.issues)
    award_all(db, plan)
    assert run("awards", "decision", "--round", "SK1", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 0
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 2
    err = capsys.readouterr().err
    assert "Tổ Hóa" in err and "đã có trong Quyết định số 01/QĐ-CĐN ngày 05/08/2019" in err


def test_an_ineligible_nominee_is_never_silently_awarded(tmp_path, plan, units, capsys):
    """Moving a nominee the conditions reject to «awarded» needs --force and a reason; the reason is stored, shown
    in the decision's working list, and never printed in the signed text."""
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person("Lê Thị Hà"), person("Trương Văn Nam", title_decision=None)])
    con.close()
    ws = WorkingSet(plan, (), db)
    ids = {pc.name: pc.id for pc in load_proposals(ws)}
    for pid in ids.values():
        decide(ws, pid, "reviewed")
    capsys.readouterr()
    nam = ids["Trương Văn Nam"]
    assert run("proposals", "decide", "--db", db, "--id", nam, "--state", "awarded") == 2
    err = capsys.readouterr().err
    assert "không đủ điều kiện" in err and "--force --reason" in err
    assert run("proposals", "decide", "--db", db, "--id", nam, "--state", "awarded", "--force") == 2
    reason = "QĐ công nhận LĐTT số 130/QĐ-SGDĐT ngày 18/12/2019, đơn vị gửi bổ sung bản giấy"
    assert run("proposals", "decide", "--db", db, "--id", nam, "--state", "awarded", "--force", "--reason",
               reason) == 0
    assert run("proposals", "decide", "--db", db, "--id", ids["Lê Thị Hà"], "--state", "awarded") == 0
    with Store.open(db) as store:
        assert reason in stored.history(store, nam)[-1]["note"]
    listed = {pc.name: pc for pc in load_proposals(ws)}
    assert [c for c, _ in listed["Trương Văn Nam"].issues if c == "X017"] and listed["Trương Văn Nam"].override == reason
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 0
    signed = docx_text(tmp_path / "qd" / "QuyetDinh_01_GK_TK.docx")
    assert "Trương Văn Nam" in signed and reason not in signed and "không đủ điều kiện" not in signed.lower()
    import openpyxl
    sheet = openpyxl.load_workbook(tmp_path / "qd" / "DanhSachLamViec_01_GK_TK.xlsx").active
    rows = {r[2]: r for r in sheet.iter_rows(values_only=True) if r and r[2] in ("Trương Văn Nam", "Lê Thị Hà")}
    assert reason in rows["Trương Văn Nam"][-1] and "Khen thưởng dù không đủ điều kiện" in rows["Trương Văn Nam"][-1]
    assert rows["Lê Thị Hà"][-1] == "đủ điều kiện" and rows["Lê Thị Hà"][9] == 450_000
    assert f"{units[0].code}, kỳ TK, tệp «{units[0].code}_TK.xlsx»" in rows["Lê Thị Hà"][7]


def test_adhoc_awards_are_not_mixed_into_the_year_end_decision(tmp_path, plan, units, capsys):
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person("Lê Thị Hà"), person("Cao Văn Sơn", adhoc="Có", title=None)])
    add_submission(con, units[1].code, "DX", "2019-09-20T08:00:00",
                   proposals=[person("Hà Thị Xuân", adhoc="Có", title=None)])
    con.close()
    assert any(c == "X016" for pc in load_proposals(WorkingSet(plan, (), db)) for c, _ in pc.issues)
    award_all(db, plan)
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 0
    assert "1 đề nghị đột xuất của kỳ TK không vào quyết định này" in capsys.readouterr().out
    assert run("awards", "decision", "--round", "TK", "--adhoc", "--form", "GK", "--out", tmp_path / "qd",
               "--db", db) == 0
    assert run("awards", "decision", "--round", "DX", "--form", "GK", "--out", tmp_path / "qd", "--db", db) == 0
    assert "Ngày quyết định: 20/09/2019" in capsys.readouterr().out
    year_end, adhoc_tk, adhoc = decisions_json(db, capsys)
    assert (year_end["kind"], year_end["individuals"]) == ("tong_ket", 1)
    assert (adhoc_tk["kind"], adhoc_tk["individuals"], adhoc["kind"]) == ("dot_xuat", 1, "dot_xuat")
    assert "thành tích đột xuất" in docx_text(tmp_path / "qd" / "QuyetDinh_03_GK_DX.docx")
    assert "Cao Văn Sơn" not in docx_text(tmp_path / "qd" / "QuyetDinh_01_GK_TK.docx")


def test_the_year_summary_reads_the_decisions(awarded, tmp_path, plan, units):
    from thidua.reports.summary_job import build_summary
    import openpyxl
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", tmp_path / "qd", "--db", awarded) == 0
    out = build_summary(WorkingSet(plan, units, awarded), "year", tmp_path / "tk.xlsx")
    sheet = openpyxl.load_workbook(out)["4 Khen thưởng"]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "01/QĐ-CĐN" in cells and 4_500_000 in cells and "31/12/2019" in cells


# ---------------------------------------------------------------- the papers printed (LibreOffice, pdftotext)
def test_printed_pages_numbered_from_page_2_certificates_one_a_page(tmp_path, plan, units, capsys):
    """A decision whose list runs over several pages: the first page has no number, every later page shows its
    number at the top (Nghị định 30/2020); certificates: one A4 landscape page each, margins settable, no number."""
    db = tmp_path / "s.db"
    con = new_store(db, plan, units)
    names = [f"Nguyễn Văn Người {n}" for n in range(1, 61)]
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person(n, birth_year=1960 + i % 40) for i, n in enumerate(names)] + [team("Tổ Anh")])
    con.close()
    award_all(db, plan)
    out = tmp_path / "qd"
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", out, "--db", db, "--pdf",
               "--margins", "30,22,18,26", "--date", "27/12/2019") == 0
    pdf = out / "QuyetDinh_01_GK_TK.pdf"
    pages = pdf_text(pdf).split("\f")[:pdf_pages(pdf)]
    assert len(pages) >= 3
    first_lines = [next((ln.strip() for ln in page.splitlines() if ln.strip()), "") for page in pages]
    assert not first_lines[0].isdigit() and "LIÊN ĐOÀN LAO ĐỘNG" in first_lines[0]
    assert first_lines[1:] == [str(n) for n in range(2, len(pages) + 1)], first_lines
    from docx import Document
    from docx.shared import Mm, Pt
    doc = Document(str(out / "QuyetDinh_01_GK_TK.docx"))
    body = [p for p in doc.paragraphs if p.text.startswith(("Căn cứ", "Xét đề nghị", "Điều "))]
    assert len(body) >= 8 and all(p.paragraph_format.space_after >= Pt(6) for p in body)
    cert = out / "GiayKhen_01_GK_TK.pdf"
    assert pdf_pages(cert) == len(names) + 1
    sec = Document(str(out / "GiayKhen_01_GK_TK.docx")).sections[0]
    assert sec.page_width > sec.page_height                                          # A4 landscape
    got = (sec.top_margin, sec.right_margin, sec.bottom_margin, sec.left_margin)
    assert all(abs(a - Mm(b)) < Mm(0.1) for a, b in zip(got, (30, 22, 18, 26))), got
    for page, name in ((1, "Tổ Anh"), (2, sort_names(names)[0])):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(cert), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert name in text and "GIẤY KHEN" in text and AWARDING.upper() in text and f"Số vào sổ: 00{page}" in text
    subprocess.run(["pdftoppm", "-r", "20", "-png", "-f", "1", "-l", "3", str(cert), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == 3
    assert run("awards", "certificates", "--number", "1", "--out", tmp_path / "gk.docx", "--db", db,
               "--margins", "abc") == 2


def test_submission_upward_and_who_decides(awarded, tmp_path, capsys):
    out = tmp_path / "TT.docx"
    assert run("awards", "submission", "--form", "BKLDLD", "--round", "TK", "--out", out, "--db", awarded) == 0
    assert "Ngày tờ trình: 31/12/2019" in capsys.readouterr().out
    text = docx_text(out)
    assert "TỜ TRÌNH" in text and "Kính gửi: Ban Thường vụ Liên đoàn Lao động tỉnh" in text
    assert text.count("Đặng Văn Cường") == 1 and text.count("Mai Thị Hoa") == 1 and "Trần Thị Ánh" not in text
    assert "Quyết định số 1689/QĐ-TLĐ" in text
    assert run("awards", "decision", "--round", "TK", "--form", "BKLDLD", "--out", tmp_path, "--db", awarded) == 2
    assert "thidua awards submission" in capsys.readouterr().err
    assert run("awards", "submission", "--form", "GK", "--out", out, "--db", awarded) == 2
    assert run("awards", "decision", "--round", "TK", "--form", "COTD", "--out", tmp_path, "--db", awarded) == 2
    assert run("awards", "decision", "--round", "Q1", "--form", "GK", "--out", tmp_path, "--db", awarded) == 2


def test_the_office_edits_a_layout_and_the_output_follows(awarded, tmp_path):
    from docx import Document
    from thidua.awards.documents import layout_path
    mine = tmp_path / "mau"
    mine.mkdir()
    doc = Document(str(layout_path("decision")))
    title = next(p for p in doc.paragraphs if p.text == "QUYẾT ĐỊNH")
    title.runs[0].text = "QUYẾT ĐỊNH KHEN THƯỞNG"
    doc.add_paragraph("Ghi chú của Văn phòng: {{ individuals|length }} người.")
    doc.save(str(mine / "quyet-dinh.docx"))
    out = tmp_path / "qd"
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", out, "--db", awarded,
               "--layouts", mine) == 2                                     # no giay-khen.docx there: nothing made
    assert not out.exists()
    (mine / "giay-khen.docx").write_bytes(layout_path("certificates").read_bytes())
    assert run("awards", "decision", "--round", "TK", "--form", "GK", "--out", out, "--db", awarded,
               "--layouts", mine) == 0
    text = docx_text(out / "QuyetDinh_01_GK_TK.docx")
    assert "QUYẾT ĐỊNH KHEN THƯỞNG" in text and "Ghi chú của Văn phòng: 6 người." in text


# ---------------------------------------------------------------- stable proposals
def _file(store: Store, unit: str, sha: str, rows: list[dict]) -> int:
    """A submission whose proposal rows are stored as cell values, as consolidation stores them."""
    store.insert("files", {"sha256": sha, "archive_path": f"a/{sha}", "size": 0, "first_seen": "2019-12-01T00:00:00"})
    sid = store.insert("submissions", {"sha256": sha, "unit": unit, "round": "TK", "received_at": "2019-12-01T00:00:00",
                                       "status": "accepted"})
    store.insert_many("cell_values", [
        {"submission_id": sid, "sheet": "Đề nghị khen thưởng", "cell": "A1", "field": f"prop.{k}", "row": i,
         "value_num": v if isinstance(v, (int, float)) else None, "value_text": None if isinstance(v, (int, float)) else v,
         "value_date": None}
        for i, row in enumerate(rows, start=1) for k, v in row.items()])
    return sid


def test_a_proposal_keeps_its_id_and_decision_across_resubmissions(tmp_path, plan, units):
    db = tmp_path / "s.db"
    new_store(db, plan, units).close()
    unit = units[0].code
    with Store.open(db) as store, store.atomic():
        stored.refresh(store, unit, "TK", _file(store, unit, "v1", [person("Nguyen Van An"), person("Lê Thị Bé"),
                                                                   person("Trần Văn Cư")]))
    first = {c.name: c.id for c in load_proposals(WorkingSet(plan, (), db))}
    decide(WorkingSet(plan, (), db), first["Lê Thị Bé"], "reviewed")
    decide(WorkingSet(plan, (), db), first["Lê Thị Bé"], "awarded")
    with Store.open(db) as store, store.atomic():   # reordered, a name corrected, one renamed at its row, one new
        counts = stored.refresh(store, unit, "TK", _file(store, unit, "v2", [
            person("Lê  thị Bé"), person("Nguyễn Văn An"), person("Trương Văn Cường"), person("Phan Thị Dạ")]))
    assert counts == {"new": 1, "name": 1, "folded": 1, "row": 1, "withdrawn": 0}
    after = {c.name: c for c in load_proposals(WorkingSet(plan, (), db))}
    assert after["Lê  thị Bé"].id == first["Lê Thị Bé"] and after["Lê  thị Bé"].state == "awarded"
    assert after["Nguyễn Văn An"].id == first["Nguyen Van An"]
    assert after["Trương Văn Cường"].id == first["Trần Văn Cư"] and after["Trương Văn Cường"].matched_by == "row"
    assert any("vị trí dòng" in w for w in after["Trương Văn Cường"].warnings)
    assert after["Phan Thị Dạ"].id not in first.values()
    with Store.open(db) as store, store.atomic():   # one dropped, then sent again: same id, never reused
        stored.refresh(store, unit, "TK", _file(store, unit, "v3", [person("Lê Thị Bé")]))
        stored.refresh(store, unit, "TK", _file(store, unit, "v4", [person("Lê Thị Bé"), person("Phan Thị Dạ"),
                                                                   person("Võ Văn Em")]))
    final = {c.name: c.id for c in load_proposals(WorkingSet(plan, (), db))}
    assert final["Phan Thị Dạ"] == after["Phan Thị Dạ"].id and final["Võ Văn Em"] > max(after[n].id for n in after)
    with Store.open(db) as store:
        events = [h["event"] for h in stored.history(store)]
    assert events.count("renamed") == 1 and "withdrawn" in events and "returned" in events


def test_going_back_from_awarded_needs_force_and_is_logged(awarded, plan, capsys):
    pid = next(c.id for c in load_proposals(WorkingSet(plan, (), awarded)) if c.state == "awarded")
    assert main(["proposals", "decide", "--db", str(awarded), "--id", str(pid), "--state", "reviewed"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["proposals", "decide", "--db", str(awarded), "--id", str(pid), "--state", "reviewed", "--force"]) == 0
    with Store.open(awarded) as store:
        log = stored.history(store, pid)
    assert [(h["event"], h["old_state"], h["new_state"], h["forced"]) for h in log] == [
        ("decision", "proposed", "reviewed", 0), ("decision", "reviewed", "awarded", 0),
        ("forced", "awarded", "reviewed", 1)]


def test_one_ineligible_nominee_never_sinks_the_report(tmp_path, plan, units):
    """A year-end file with a man proposed for «Giỏi việc nước, đảm việc nhà» and a Giấy khen nominee whose LĐTT
    has no agency decision is accepted; the unit has reported; those two proposals are «Không đủ điều kiện» with
    the rule and the legal text in force (QĐ 1689 at year end 2019), the title flagged X014 in the file."""
    from thidua.consolidate.run import consolidate
    from thidua.demo.simulate import Addr, fill_workbook, realistic_values
    from thidua.store.tracking import status_rows
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    unit = units[0]
    spec = S.template_spec(plan, "TK")
    values = {a: v for a, v in realistic_values(plan, "TK", unit, random.Random(3)).items() if a.sheet != "proposals"}
    gv = next(f.name for f in plan.forms if f.code == "BKGVNDVN")
    rows = [person("Nguyễn Văn Bình", form=gv, title=None, gioi_tinh="Nam"),
            person("Lê Thị Cúc", title_decision=None), person("Trần Thị Dung")]
    for i, row in enumerate(rows):
        row["title_date"] = dt.date.fromisoformat(row["title_date"]) if row.get("title_date") else None
        values.update({Addr("proposals", f"prop.{k}", i): v for k, v in row.items() if v is not None})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "tk.xlsx"
    path.write_bytes(fill_workbook(TemplateFactory(plan, "TK", TEST_KEY).render(unit), spec, values))
    os.utime(path, (1576000000, 1576000000))
    report = consolidate(WorkingSet(plan, units, tmp_path / "t.db", secret=TEST_KEY), inbox)
    assert [f.status for f in report.files] == ["accepted"]
    from thidua.intake.validate import validate_file
    issued = validate_file(path, plan, TEST_KEY, {u.code: u for u in units}).issues
    assert [i.code for i in issued if i.code == "X014"] == ["X014"]
    status = next(r for r in status_rows(WorkingSet(plan, units, tmp_path / "t.db"), "TK") if r["unit"] == unit.code)
    assert status["status"] in ("ok", "late")
    checks = {c.name: c for c in load_proposals(WorkingSet(plan, (), tmp_path / "t.db"))}
    assert checks["Trần Thị Dung"].eligible and checks["Trần Thị Dung"].attested.counts
    assert checks["Trần Thị Dung"].birth_year == person("Trần Thị Dung")["birth_year"]
    assert checks["Nguyễn Văn Bình"].verdict.startswith("Không đủ điều kiện: ")
    assert "cá nhân là nữ" in checks["Nguyễn Văn Bình"].verdict and "QĐ 1689/QĐ-TLĐ (khen thưởng chuyên đề" in \
        checks["Nguyễn Văn Bình"].verdict
    assert "Lao động tiên tiến trở lên" in checks["Lê Thị Cúc"].verdict and "QĐ 1689/QĐ-TLĐ" in checks["Lê Thị Cúc"].verdict


# ---------------------------------------------------------------- print layout: pages, headers, numbers
def listed(plan, form_code: str, kind: str, collectives: int, people: int, summary: str = "Hoàn thành tốt",
           **ctx_args) -> dict:
    """The context of a document listing made-up recipients (as many as a page-breaking list needs)."""
    from thidua.awards.documents import Recipients, context
    form = next(f for f in plan.forms if f.code == form_code)

    def row(n, name, unit, said):
        return {"n": n, "name": name, "position": f"Giáo viên, {unit}", "unit": unit, "book_no": f"{n:03d}",
                "summary": said, "eligible": True}
    rec = Recipients(form, [row(n, f"Tổ chuyên môn số {n}", f"Trường THPT số {n}", "Dẫn đầu phong trào")
                            for n in range(1, collectives + 1)],
                     [row(n, f"Nguyễn Văn Người {n}", f"Trường THPT số {n % 7 + 1}", summary.format(n=n))
                      for n in range(1, people + 1)])
    return context(plan, rec, kind, **ctx_args)


def to_pdfs(paths: list[Path], out_dir: Path) -> list[Path]:
    """Many .docx to PDF in one LibreOffice run (one start-up instead of one per file)."""
    import tempfile
    from thidua.reports.libreoffice import make_profile, soffice
    with tempfile.TemporaryDirectory(prefix="thidua-lo-") as profile:
        subprocess.run([soffice(), "--headless", "--norestore", f"-env:UserInstallation={make_profile(profile)}",
                        "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(out_dir), *map(str, paths)],
                       check=True, capture_output=True, timeout=600, env=dict(os.environ, HOME=profile))
    return [out_dir / (p.stem + ".pdf") for p in paths]


def page_texts(pdf: Path) -> list[str]:
    """The text of each page (pdftotext pages are separated by form feeds)."""
    return pdf_text(pdf).split("\f")[:pdf_pages(pdf)]


def test_a_long_list_repeats_its_header_and_keeps_rows_whole(plan, tmp_path):
    """A submission listing 3 collectives and 45 people with 3-line summaries runs over several pages: every
    page of the people's table starts with its header row, and no row is split between two pages."""
    from thidua.awards.documents import render
    summary = "Đầu-{n}: " + "dẫn đầu phong trào thi đua, có sáng kiến được công nhận cấp tỉnh, " * 2 + "Cuối-{n}."
    ctx = listed(plan, "BKLDLD", "submission", 3, 45, summary=summary, number="12/TTr-CĐN")
    out = render("submission", ctx, tmp_path / "TT.docx")
    with zipfile.ZipFile(out) as zf:
        body = zf.read("word/document.xml").decode()
    assert body.count("<w:tblHeader/>") == 2                     # the header rows of both lists in the output
    [pdf] = to_pdfs([out], tmp_path)
    pages = page_texts(pdf)
    first = next(i for i, t in enumerate(pages) if "CÁ NHÂN (45)" in t)
    assert len(pages) - first >= 3, "the list should run over several pages"
    for i, text in enumerate(pages[first:], start=first + 1):
        assert re.search(r"STT\s+Họ và tên", text), f"page {i} has no header row"
    for n in range(1, 46):                                       # each row's first and last line on one page
        starts = [i for i, t in enumerate(pages) if f"Đầu-{n}:" in t]
        ends = [i for i, t in enumerate(pages) if f"Cuối-{n}." in t]
        assert len(starts) == 1 and starts == ends, (n, starts, ends)


def test_the_closing_is_never_alone_on_a_page(plan, tmp_path):
    """With 0..13 more one-line legal bases the decision's body ends at every height of page 1 and beyond;
    «Nơi nhận» and the signature always share their page with Điều 3 and with each other."""
    from thidua.awards.documents import render
    import datetime as dt
    ctx = listed(plan, "GK", "decision", 2, 6, number="45/QĐ-CĐN", date=dt.date(2019, 12, 20))
    bases = ctx["bases"]
    paths = []
    for extra in range(14):
        more = [f"Căn cứ Công văn số {i + 1}/CĐN ngày 02/01/2019 của Văn phòng;" for i in range(extra)]
        paths.append(render("decision", dict(ctx, bases=bases[:-1] + more + bases[-1:]), tmp_path / f"QD{extra}.docx"))
    closing_pages = set()
    for pdf in to_pdfs(paths, tmp_path):
        pages = page_texts(pdf)
        [at] = [i for i, t in enumerate(pages) if "Nơi nhận:" in t]
        page = pages[at]
        assert "Điều 3." in page and "CHỦ TỊCH" in page and "Trần Quốc Bảo" in page and "Lưu: VT" in page, pdf.name
        closing_pages.add(at)
    assert closing_pages == {0, 1}          # the sweep did cross the end of page 1


def test_money_and_dates_as_the_office_writes_them(awarded, plan, tmp_path):
    """Money through the one number formatter (1.000.000 đồng), dates dd/mm/yyyy, the number zero-padded below 10
    (07/QĐ-CĐN), and the date line of Nghị định 30/2020: a 0 before days below 10 and months 1 and 2 only."""
    from thidua.awards.documents import date_words, money
    from thidua.text.numbers import format_number
    assert money(1_000_000) == format_number(1_000_000) == "1.000.000" and money(None) == "0"
    assert date_words(dt.date(2020, 3, 5)) == ("05", "3", "2020")
    assert date_words(dt.date(2020, 2, 7)) == ("07", "02", "2020")
    out = tmp_path / "qd"
    assert main(["awards", "decision", "--round", "TK", "--form", "GK", "--out", str(out), "--db", str(awarded),
                 "--number", "7", "--date", "07/02/2020"]) == 0
    text = docx_text(out / "QuyetDinh_07_GK_TK.docx")
    for needle in ("Số: 07/QĐ-CĐN", "Quảng Nam, ngày 07 tháng 02 năm 2020", "mỗi tập thể được thưởng 900.000 đồng",
                   "mỗi cá nhân được thưởng 450.000 đồng", "tổng cộng 4.500.000 đồng", "ngày 18/01/2019",
                   "(Kèm theo Quyết định số 07/QĐ-CĐN ngày 07/02/2020"):
        assert needle in text, needle
    certificates = docx_text(out / "GiayKhen_07_GK_TK.docx")
    assert "Quảng Nam, ngày 07 tháng 02 năm 2020" in certificates
    assert "Quyết định số 07/QĐ-CĐN ngày 07/02/2020" in certificates


def test_header_name_on_balanced_lines():
    from thidua.awards.documents import balanced_lines
    assert balanced_lines("LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NAM") == "LIÊN ĐOÀN LAO ĐỘNG\nTỈNH QUẢNG NAM"
    assert balanced_lines("LĐLĐ TỈNH QUẢNG NAM") == "LĐLĐ TỈNH QUẢNG NAM"
    assert balanced_lines("LIÊN ĐOÀN LAO ĐỘNG\nTỈNH QUẢNG NAM") == "LIÊN ĐOÀN LAO ĐỘNG\nTỈNH QUẢNG NAM"
