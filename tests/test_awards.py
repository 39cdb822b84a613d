"""Award paperwork and stable proposals: real files in, real Word/PDF documents out (python-docx, LibreOffice)."""
from __future__ import annotations

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
from thidua.review.commendations import decide, load_proposals
from thidua.store import proposals as stored
from thidua.store.store import Store
from thidua.text.collate import sort_names
from thidua.year.workset import WorkingSet

GK = "Giấy khen của Công đoàn Viên chức tỉnh"
BKLDLD = "Bằng khen của Liên đoàn Lao động tỉnh"
PEOPLE = ["Trần Thị Ánh", "Nguyễn Văn Bình", "Lê Thị Anh", "Phạm Đức Ân", "Võ Thị Ơn", "Hồ Văn Anh"]
TEAMS = ["Tổ Toán & Tin", "Phòng Hành chính"]


def person(name, form=GK, **extra):
    row = {"subject": "Cá nhân", "name": name, "position": "Giáo viên, Trường THPT Trần Phú",
           "title": "Lao động tiên tiến", "form": form, "dat_ldtt": "Có", "co_sang_kien": "Không",
           "ky_luat": "Không", "thang_cong_tac": 12, "gioi_tinh": "Nữ", "nam_htxs": 3, "summary": "Hoàn thành tốt"}
    row.update(extra)
    return row


def team(name, form=GK):
    return {"subject": "Tập thể", "name": name, "title": "Tập thể lao động tiên tiến", "form": form,
            "ty_le_ldtt": 80, "ty_le_htnv": 100, "so_cstdcs": 1, "ky_luat": "Không", "nam_htxs": 3,
            "summary": "Dẫn đầu phong trào"}


@pytest.fixture
def awarded(tmp_path, plan, units):
    """A store where the office awarded GK to 2 collectives and 6 people, and reviewed 2 people for BKLDLD."""
    db = tmp_path / "store.db"
    con = new_store(db, plan, units)
    add_submission(con, units[0].code, "TK", "2019-12-10T08:00:00",
                   proposals=[person(n) for n in PEOPLE[:4]] + [team(TEAMS[0])] +
                   [person("Đặng Văn Cường", form=BKLDLD), person("Mai Thị Hoa", form=BKLDLD)])
    add_submission(con, units[1].code, "TK", "2019-12-11T08:00:00",
                   proposals=[person(n) for n in PEOPLE[4:]] + [team(TEAMS[1]), person("Bùi Văn Khải")])
    con.close()
    for pc in load_proposals(WorkingSet(plan, (), db)):
        decide(WorkingSet(plan, (), db), pc.id, "reviewed")
        if pc.form.code == "GK" and pc.name != "Bùi Văn Khải":
            decide(WorkingSet(plan, (), db), pc.id, "awarded")
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


def test_decision_with_its_list(awarded, tmp_path, capsys):
    out = tmp_path / "QD.docx"
    assert main(["awards", "decision", "--form", "GK", "--out", str(out), "--db", str(awarded), "--pdf",
                 "--number", "45/QĐ-CĐN", "--date", "20/12/2019"]) == 0
    assert "2 tập thể, 6 cá nhân" in capsys.readouterr().out
    from docx import Document
    doc = Document(str(out))
    names, dated = ([c.text for c in row.cells] for row in doc.tables[0].rows)   # number and date on one row
    assert "CÔNG ĐOÀN VIÊN CHỨC TỈNH" in names[0] and dated[0] == "Số: 45/QĐ-CĐN"
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in names[1] and dated[1] == "Quảng Nam, ngày 20 tháng 12 năm 2019"
    text = docx_text(out)
    for needle in ("QUYẾT ĐỊNH", "Căn cứ Nghị định số 91/2017/NĐ-CP", "Điều 1. Tặng Giấy khen của Công đoàn Viên "
                   "chức tỉnh cho 2 tập thể và 6 cá nhân (có danh sách kèm theo)",
                   "mỗi tập thể được thưởng 600.000 đồng, mỗi cá nhân được thưởng 300.000 đồng; tổng cộng "
                   "3.000.000 đồng", "Điều 3.", "Nơi nhận:", "Trần Quốc Bảo", "I. TẬP THỂ (2)", "II. CÁ NHÂN (6)",
                   "Tổ Toán & Tin"):
        assert needle in text, needle
    for name in PEOPLE + TEAMS:                          # every recipient exactly once, in the docx and the PDF
        assert len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", text)) == 1, name
    for name in ("Đặng Văn Cường", "Bùi Văn Khải"):      # another form; only reviewed
        assert name not in text
    # The list: collectives first, then people in the project's Vietnamese order (text/collate.py name_key).
    people = [row.cells[1].text for row in doc.tables[-1].rows[1:]]
    assert people == sort_names(PEOPLE) and people[0] == "Lê Thị Anh" and people[-1] == "Võ Thị Ơn"
    assert [row.cells[1].text for row in doc.tables[-2].rows[1:]] == ["Phòng Hành chính", "Tổ Toán & Tin"]
    pdf = out.with_suffix(".pdf")
    assert pdf_pages(pdf) >= 2
    shown = re.sub(r"\s+", " ", pdf_text(pdf))
    for name in PEOPLE + TEAMS:
        assert len(re.findall(rf"(?<!\w){re.escape(name)}(?!\w)", shown)) == 1, name


def test_certificates_one_page_each_with_settable_margins(awarded, tmp_path):
    out = tmp_path / "GK.docx"
    assert main(["awards", "certificates", "--form", "GK", "--out", str(out), "--db", str(awarded), "--pdf",
                 "--margins", "30,22,18,26"]) == 0
    from docx import Document
    from docx.shared import Mm
    sec = Document(str(out)).sections[0]
    assert sec.page_width > sec.page_height                                          # A4 landscape
    got = (sec.top_margin, sec.right_margin, sec.bottom_margin, sec.left_margin)
    assert all(abs(a - Mm(b)) < Mm(0.1) for a, b in zip(got, (30, 22, 18, 26))), got
    pdf = out.with_suffix(".pdf")
    assert pdf_pages(pdf) == len(PEOPLE) + len(TEAMS)
    for page, name in enumerate(["Phòng Hành chính", "Tổ Toán & Tin", *sort_names(PEOPLE)], start=1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert name in text and "GIẤY KHEN" in text
    assert main(["awards", "certificates", "--form", "GK", "--out", str(out), "--db", str(awarded),
                 "--margins", "abc"]) == 2


def test_submission_upward_and_who_decides(awarded, tmp_path, capsys):
    out = tmp_path / "TT.docx"
    assert main(["awards", "submission", "--form", "BKLDLD", "--out", str(out), "--db", str(awarded), "--pdf"]) == 0
    text = docx_text(out)
    assert "TỜ TRÌNH" in text and "Kính gửi: Ban Thường vụ Liên đoàn Lao động tỉnh" in text
    assert text.count("Đặng Văn Cường") == 1 and text.count("Mai Thị Hoa") == 1 and "Trần Thị Ánh" not in text
    assert pdf_pages(out.with_suffix(".pdf")) >= 2
    capsys.readouterr()
    assert main(["awards", "decision", "--form", "BKLDLD", "--out", str(out), "--db", str(awarded)]) == 2
    assert "thidua awards submission" in capsys.readouterr().err
    assert main(["awards", "submission", "--form", "GK", "--out", str(out), "--db", str(awarded)]) == 2
    assert main(["awards", "decision", "--form", "COTD", "--out", str(out), "--db", str(awarded)]) == 2


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
    out = tmp_path / "QD.docx"
    assert main(["awards", "decision", "--form", "GK", "--out", str(out), "--db", str(awarded),
                 "--layouts", str(mine)]) == 0
    text = docx_text(out)
    assert "QUYẾT ĐỊNH KHEN THƯỞNG" in text and "Ghi chú của Văn phòng: 6 người." in text
    assert main(["awards", "certificates", "--form", "GK", "--out", str(out), "--db", str(awarded),
                 "--layouts", str(mine)]) == 2                                    # no giay-khen.docx there


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
    """A year-end file with a man proposed for «Giỏi việc nước, đảm việc nhà» and someone 6 months in post is
    accepted; the unit has reported; those two proposals are «Không đủ điều kiện» with the rule and its source."""
    from thidua.consolidate.run import consolidate
    from thidua.demo.simulate import Addr, fill_workbook, realistic_values
    from thidua.store.tracking import status_rows
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    unit = units[0]
    spec = S.template_spec(plan, "TK")
    values = {a: v for a, v in realistic_values(plan, "TK", unit, random.Random(3)).items() if a.sheet != "proposals"}
    gv = next(f.name for f in plan.forms if f.code == "BKGVNDVN")
    rows = [person("Nguyễn Văn Bình", form=gv, title=None, gioi_tinh="Nam"), person("Lê Thị Cúc", thang_cong_tac=6),
            person("Trần Thị Dung")]
    for i, row in enumerate(rows):
        values.update({Addr("proposals", f"prop.{k}", i): v for k, v in row.items() if v is not None})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "tk.xlsx"
    path.write_bytes(fill_workbook(TemplateFactory(plan, "TK", TEST_KEY).render(unit), spec, values))
    os.utime(path, (1576000000, 1576000000))
    report = consolidate(WorkingSet(plan, units, tmp_path / "t.db", secret=TEST_KEY), inbox)
    assert [f.status for f in report.files] == ["accepted"]
    status = next(r for r in status_rows(WorkingSet(plan, units, tmp_path / "t.db"), "TK") if r["unit"] == unit.code)
    assert status["status"] in ("ok", "late")
    checks = {c.name: c for c in load_proposals(WorkingSet(plan, (), tmp_path / "t.db"))}
    assert checks["Trần Thị Dung"].eligible
    assert checks["Nguyễn Văn Bình"].verdict.startswith("Không đủ điều kiện: ")
    assert "cá nhân là nữ" in checks["Nguyễn Văn Bình"].verdict and "QĐ 2106/QĐ-TLĐ, Điều 15" in \
        checks["Nguyễn Văn Bình"].verdict
    assert "10 tháng" in checks["Lê Thị Cúc"].verdict and "NĐ 91/2017/NĐ-CP" in checks["Lê Thị Cúc"].verdict


def test_pages_render_to_png(awarded, tmp_path):
    out = tmp_path / "GK.docx"
    assert main(["awards", "certificates", "--form", "GK", "--out", str(out), "--db", str(awarded), "--pdf"]) == 0
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(out.with_suffix(".pdf")), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == len(PEOPLE) + len(TEAMS)


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
    """Money through the one number formatter (1.000.000 đồng), dates dd/mm/yyyy, and the date line of
    Nghị định 30/2020: a 0 before days below 10 and months 1 and 2 only."""
    from thidua.awards.documents import money
    from thidua.text.numbers import format_number
    assert money(1_000_000) == format_number(1_000_000) == "1.000.000" and money(None) == "0"
    out = tmp_path / "QD.docx"
    assert main(["awards", "decision", "--form", "GK", "--out", str(out), "--db", str(awarded), "--pdf",
                 "--number", "7/QĐ-CĐN", "--date", "05/03/2020"]) == 0
    shown = re.sub(r"\s+", " ", pdf_text(out.with_suffix(".pdf")))
    for needle in ("Quảng Nam, ngày 05 tháng 3 năm 2020", "mỗi tập thể được thưởng 600.000 đồng",
                   "mỗi cá nhân được thưởng 300.000 đồng", "tổng cộng 3.000.000 đồng", "ngày 18/01/2019",
                   "Quyết định số 7/QĐ-CĐN ngày 05/03/2020"):
        assert needle in shown, needle
    assert main(["awards", "certificates", "--form", "GK", "--out", str(out), "--db", str(awarded),
                 "--number", "7/QĐ-CĐN", "--date", "07/02/2020"]) == 0
    text = docx_text(out)
    assert "Quảng Nam, ngày 07 tháng 02 năm 2020" in text and "Quyết định số 7/QĐ-CĐN ngày 07/02/2020" in text


def test_header_name_on_balanced_lines():
    from thidua.awards.documents import balanced_lines
    assert balanced_lines("LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NAM") == "LIÊN ĐOÀN LAO ĐỘNG\nTỈNH QUẢNG NAM"
    assert balanced_lines("LĐLĐ TỈNH QUẢNG NAM") == "LĐLĐ TỈNH QUẢNG NAM"
    assert balanced_lines("LIÊN ĐOÀN LAO ĐỘNG\nTỈNH QUẢNG NAM") == "LIÊN ĐOÀN LAO ĐỘNG\nTỈNH QUẢNG NAM"
