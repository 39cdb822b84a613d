"""Write the default .docx layouts (docxtpl tags) shipped in thidua/awards/layouts; the office edits them in Word."""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FONT = "Times New Roman"
LAYOUTS = Path(__file__).resolve().parent / "layouts"
C, L, J = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.JUSTIFY


def _doc(landscape: bool = False) -> Document:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(13)
    style.paragraph_format.space_after = Pt(0)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    # Nghị định 30/2020: top and bottom 20-25 mm, left 30-35 mm, right 15-20 mm.
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(20), Mm(20), Mm(30), Mm(15)
    return doc


def _p(where, text: str = "", align=L, bold=False, italic=False, size: float | None = None, before: float = 0,
       after: float = 0, indent: bool = False, page_break: bool = False, keep: bool = False):
    par = where.add_paragraph()
    par.alignment = align
    fmt = par.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.page_break_before = page_break
    fmt.keep_with_next = keep or None
    if indent:
        fmt.first_line_indent = Mm(10)
    lead, rest = ("", text)
    if text.startswith("Điều ") and ". " in text:        # «Điều 1.» bold, the article's text upright (ND 30/2020)
        lead, _, rest = text.partition(". ")
        lead += ". "
    for part, strong in ((lead, True), (rest, bold)):
        if part:
            run = par.add_run(part)
            run.bold, run.italic = strong, italic
            if size:
                run.font.size = Pt(size)
    return par


def _page_numbers(doc) -> None:
    """Nghị định 30/2020 (Phụ lục I): the page number, Arabic numerals, centred in the top margin, from the second
    page on: a PAGE field in the header and a different (empty) first-page header («w:titlePg»)."""
    sec = doc.sections[0]
    sec.header_distance = Mm(10)
    sec.different_first_page_header_footer = True
    sec.first_page_header.is_linked_to_previous = False          # an empty header of its own on page 1
    par = sec.header.paragraphs[0]
    par.alignment = C
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
        run = par.add_run()
        run.font.size = Pt(13)
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text          # the value shown until the field is updated (Word and LibreOffice update it)


def _row_flags(row, *flags: str) -> None:
    """Set row properties python-docx has no property for: «w:tblHeader» (the row repeats at the top of every
    page the table runs onto) and «w:cantSplit» (the row never breaks across a page). Through python-docx's
    oxml element API (`get_or_add_trPr`, `OxmlElement`, `insert_element_before` keep the schema's order)."""
    tr_pr = row._tr.get_or_add_trPr()
    for flag in flags:
        later = {"w:cantSplit": ("w:trHeight", "w:tblHeader"), "w:tblHeader": ()}[flag]
        tr_pr.insert_element_before(OxmlElement(flag), *later, "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins",
                                    "w:del", "w:trPrChange")


def _widths(table, widths_mm) -> None:
    """Fixed column widths (the grid LibreOffice reads and the cells Word reads)."""
    table.autofit = False
    for col, width in zip(table.columns, widths_mm):
        col.width = Mm(width)
        for cell in col.cells:
            cell.width = Mm(width)


def _cell(cell, lines) -> None:
    cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
    for text, kw in lines:
        _p(cell, text, **kw)


def _header(doc, number_line: str) -> None:
    """The two-column header of Nghị định 30/2020 (Phụ lục I): the issuing bodies left, the nation right; a
    second row puts the number (left) and the place and date (right) on one line whatever wraps above.
    Sizes: parent body 12 upright, issuer 12 bold, national title 12 bold, motto 13 bold, number 13,
    place and date 13 italic; the line under the motto as long as the motto, under the issuer about a third."""
    table = doc.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # The text width (165 mm): the national title at 12 pt bold needs 93 mm to stay on one line; a long parent
    # body's name goes on two balanced lines (documents.balanced_lines).
    _widths(table, (70, 95))
    left, right = table.rows[0].cells
    _cell(left, [("{{ issuer_parent }}", dict(align=C, size=12)), ("{{ issuer }}", dict(align=C, bold=True, size=12)),
                 ("─" * 12, dict(align=C, size=8))])
    _cell(right, [("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", dict(align=C, bold=True, size=12)),
                  ("Độc lập - Tự do - Hạnh phúc", dict(align=C, bold=True, size=13)),
                  ("─" * 28, dict(align=C, size=8))])
    left, right = table.rows[1].cells
    _cell(left, [(number_line, dict(align=C, size=13, before=4))])
    _cell(right, [("{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}", dict(align=C, italic=True,
                                                                                     before=4))])


def _footer(doc, recipients: tuple[str, ...]) -> None:
    """«Nơi nhận» left and the signature block right."""
    table = doc.add_table(rows=1, cols=2)
    _widths(table, (80, 85))
    _row_flags(table.rows[0], "w:cantSplit")
    left, right = table.rows[0].cells
    _cell(left, [("Nơi nhận:", dict(bold=True, italic=True, size=12, before=6))]
          + [(f"- {r}", dict(size=11)) for r in recipients])
    _cell(right, [("{{ signer_title }}", dict(align=C, bold=True, before=6))]
          + [("", {})] * 4 + [("{{ signer_name }}", dict(align=C, bold=True))])


def _list_table(doc, rows_var: str, headers: tuple[tuple[str, float], ...], cells: tuple[str, ...]) -> None:
    """A bordered table: header row, then one row per item of `rows_var` (docxtpl {%tr %} rows)."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = "Table Grid"
    for i, (text, width) in enumerate(headers):
        table.rows[0].cells[i].width = Mm(width)
        _cell(table.rows[0].cells[i], [(text, dict(align=C, bold=True, size=12))])
    table.rows[1].cells[0].text = f"{{%tr for r in {rows_var} %}}"
    for i, expr in enumerate(cells):
        table.rows[2].cells[i].width = Mm(headers[i][1])
        _cell(table.rows[2].cells[i], [(expr, dict(align=C if i == 0 else L, size=12))])
    table.rows[3].cells[0].text = "{%tr endfor %}"
    _widths(table, [w for _, w in headers])
    _row_flags(table.rows[0], "w:cantSplit", "w:tblHeader")
    _row_flags(table.rows[2], "w:cantSplit")


def _appendix(doc, heading: str, extra: bool = False) -> None:
    _p(doc, "DANH SÁCH", C, bold=True, size=14, page_break=True)
    _p(doc, heading, C, bold=True)
    _p(doc, "{{ list_caption }}", C, italic=True, after=6)
    summary = (("Tóm tắt thành tích", 55),) if extra else ()
    _p(doc, "{%p if collectives %}")
    _p(doc, "{{ part_collectives }}. TẬP THỂ ({{ collectives|length }})", bold=True, before=6, after=4, keep=True)
    _list_table(doc, "collectives", (("STT", 12), ("Tên tập thể", 75 if not extra else 50),
                                     ("Công đoàn cơ sở", 78 if not extra else 48)) + summary,
                ("{{ r.n }}", "{{ r.name }}", "{{ r.unit }}") + (("{{ r.summary }}",) if extra else ()))
    _p(doc, "{%p endif %}")
    _p(doc, "{%p if individuals %}")
    _p(doc, "{{ part_individuals }}. CÁ NHÂN ({{ individuals|length }})", bold=True, before=8, after=4, keep=True)
    _list_table(doc, "individuals", (("STT", 12), ("Họ và tên", 50 if not extra else 40),
                                     ("Chức vụ, đơn vị công tác", 103 if not extra else 58)) + summary,
                ("{{ r.n }}", "{{ r.name }}", "{{ r.position }}") + (("{{ r.summary }}",) if extra else ()))
    _p(doc, "{%p endif %}")
    _p(doc, "(Danh sách có {{ who }})", C, italic=True, before=6)


# Nghị định 30/2020: paragraphs of the body at least 6 pt apart.
BODY_SPACING = 6


def decision() -> Document:
    doc = _doc()
    _page_numbers(doc)
    _header(doc, "Số: {{ number }}")
    _p(doc, "QUYẾT ĐỊNH", C, bold=True, size=14, before=12)
    _p(doc, "{{ title_line }}", C, bold=True)
    _p(doc, "{{ subtitle }}", C, bold=True)
    _p(doc, "─" * 10, C, size=8, after=6)
    _p(doc, "{{ body_line }}", C, bold=True, after=BODY_SPACING)
    _p(doc, "{%p for b in bases %}")
    _p(doc, "{{ b }}", J, italic=True, indent=True, after=BODY_SPACING)
    _p(doc, "{%p endfor %}")
    _p(doc, "QUYẾT ĐỊNH:", C, bold=True, after=BODY_SPACING)
    _p(doc, "Điều 1. {{ article1 }}", J, indent=True, after=BODY_SPACING)
    _p(doc, "Điều 2. {{ article2 }}", J, indent=True, after=BODY_SPACING)
    _p(doc, "Điều 3. Văn phòng, các ban của {{ issuer_short }}, các công đoàn cơ sở trực thuộc và các tập thể, "
            "cá nhân có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này. Quyết định có hiệu lực kể từ "
            "ngày ký.", J, indent=True, after=BODY_SPACING, keep=True)
    _footer(doc, ("Như Điều 3;", "LĐLĐ tỉnh (b/c);", "Lưu: VT, Ban CS-PL."))
    _appendix(doc, "{{ form_name|upper }}")
    return doc


def submission() -> Document:
    doc = _doc()
    _page_numbers(doc)
    _header(doc, "Số: {{ number }}")
    _p(doc, "TỜ TRÌNH", C, bold=True, size=14, before=18)
    _p(doc, "Về việc đề nghị tặng {{ form_name }} năm {{ plan_year }}", C, bold=True)
    _p(doc, "─" * 10, C, size=8, after=10)
    _p(doc, "Kính gửi: {{ addressee }}", C, after=10)
    _p(doc, "{%p for b in bases %}")
    _p(doc, "{{ b }}", J, indent=True, after=BODY_SPACING)
    _p(doc, "{%p endfor %}")
    _p(doc, "Qua xét đề nghị của các công đoàn cơ sở trực thuộc, Ban Thường vụ {{ issuer_short }} kính trình "
            "{{ addressee_short }} xem xét{{ relay }} tặng {{ form_name }} cho {{ who }} (có danh sách và tóm tắt "
            "thành tích kèm theo) {{ achievement }}.", J, indent=True, after=BODY_SPACING)
    _p(doc, "Kính trình {{ addressee_short }} xem xét, quyết định./.", J, indent=True, after=BODY_SPACING, keep=True)
    _footer(doc, ("Như trên;", "Lưu: VT, Ban CS-PL."))
    _appendix(doc, "ĐỀ NGHỊ TẶNG {{ form_name|upper }}", extra=True)
    return doc


def certificates() -> Document:
    """One page per recipient (A4 landscape): each certificate starts on a new page; no page numbers."""
    doc = _doc(landscape=True)
    sec = doc.sections[0]
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(25), Mm(20), Mm(25), Mm(25)
    _p(doc, "{%p for r in recipients %}")
    _p(doc, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", C, bold=True, size=13, page_break=True)
    _p(doc, "Độc lập - Tự do - Hạnh phúc", C, bold=True, size=13, after=14)
    _p(doc, "{{ awarding_body_upper }}", C, bold=True, size=14)
    _p(doc, "TẶNG", C, bold=True, size=14, before=8)
    _p(doc, "{{ heading }}", C, bold=True, size=40, before=4, after=10)
    _p(doc, "{{ r.name }}", C, bold=True, size=24)
    _p(doc, "{{ r.position }}", C, italic=True, size=14, after=8)
    _p(doc, "{{ achievement_line }}", C, size=15, after=14)
    # The signature block: place and date, the signer's title and name centred over each other on the right;
    # the decision's number and date and the register number on the left, level with the signer's name.
    table = doc.add_table(rows=1, cols=2)
    _widths(table, (127, 120))
    _row_flags(table.rows[0], "w:cantSplit")
    left, right = table.rows[0].cells
    _cell(left, [("", {})] * 5 + [("Quyết định số {{ number }} ngày {{ date }}", dict(align=C, size=12)),
                                  ("Số vào sổ: {{ r.book_no }}", dict(align=C, size=12))])
    _cell(right, [("{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}", dict(align=C, italic=True,
                                                                                     size=14)),
                  ("{{ signer_title }}", dict(align=C, bold=True, size=14))]
          + [("", {})] * 3 + [("{{ signer_name }}", dict(align=C, bold=True, size=14))])
    _p(doc, "{%p endfor %}")
    return doc


def _drop_extras(doc) -> None:
    """Leave out two parts of python-docx's blank document: `stylesWithEffects.xml` (a Word 2010 copy of the
    styles that no longer matches styles.xml once Normal is set, which openxml-audit reports and Word ignores
    since 2013) and the thumbnail of the blank document's sample page (Windows would show it as the preview)."""
    part = doc.part
    for r_id, rel in list(part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            part.drop_rel(r_id)
    package_rels = part.package.rels
    for r_id, rel in list(package_rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del package_rels[r_id]


def write_all(folder: Path = LAYOUTS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, build in (("quyet-dinh.docx", decision), ("to-trinh.docx", submission), ("giay-khen.docx", certificates)):
        path = folder / name
        doc = build()
        _drop_extras(doc)
        doc.save(path)
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else LAYOUTS):
        print(p)
