"""The award papers in Word (docxtpl layouts): the decision with its list, the certificates, the submission upward;
and the decision's working list for the office (.xlsx). Everything they print comes from the dated data in force
on the paper's date (plan/dated.py) through `context`, stored with a decision so its papers can be made again."""
from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

from thidua.errors import ThiDuaError
from thidua.fileio import atomic_path, scratch_folder
from thidua.plan.dated import Office
from thidua.plan.model import OFFICE, AwardForm, Plan
from thidua.text.collate import name_key, text_key
from thidua.text.numbers import format_number

LAYOUT_FILES = {"decision": "quyet-dinh.docx", "submission": "to-trinh.docx", "certificates": "giay-khen.docx"}
DECIDERS = {"LDLD": "Ban Thường vụ Liên đoàn Lao động tỉnh", "TLD": "Đoàn Chủ tịch Tổng Liên đoàn Lao động Việt Nam"}
# Which proposals a submission upward takes: those the office reviewed and sends up (raised ones included).
SUBMITTED = ("reviewed", "raised", "awarded")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)          # fixed member dates: the same paper made twice is the same bytes


def money(value: int | None) -> str:
    """An amount in đồng as the documents write it: 1000000 -> «1.000.000» (through the one number formatter)."""
    return format_number(int(value or 0), 0)


def date_words(date: dt.date) -> tuple[str, str, str]:
    """Day, month, year of the «ngày … tháng … năm …» line as Nghị định 30/2020 (Phụ lục I) writes them:
    a 0 before a day below 10 and before months 1 and 2 only (ngày 05 tháng 3; ngày 20 tháng 02)."""
    return f"{date.day:02d}", f"{date.month:02d}" if date.month <= 2 else str(date.month), str(date.year)


def balanced_lines(text: str, width: int = 28) -> str:
    """A header name longer than `width` characters, on two lines broken at the space nearest its middle
    («LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NAM» -> «LIÊN ĐOÀN LAO ĐỘNG» / «TỈNH QUẢNG NAM»); a name the office broke
    itself (a line break in the data) is kept as written."""
    text = str(text or "")
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if len(text) <= width or "\n" in text or not spaces:
        return text
    cut = min(spaces, key=lambda i: abs(2 * i - len(text)))
    return text[:cut] + "\n" + text[cut + 1:]


def layout_path(kind: str, folder: str | Path | None = None) -> Path:
    """The .docx layout of a document: from `folder` (the office's edited copies) or the one shipped."""
    name = LAYOUT_FILES[kind]
    if folder is not None:
        path = Path(folder) / name
        if not path.exists():
            raise ThiDuaError(f"Không thấy mẫu văn bản {path}.",
                              f"Chép mẫu gốc {name} (trong thư mục thidua/awards/layouts của bộ cài) vào thư mục đó.")
        return path
    return Path(str(resources.files("thidua.awards").joinpath("layouts", name)))


@dataclass
class Recipients:
    """The rows a paper lists: collectives, then individuals (each a dict: name, position, unit, …)."""

    form: AwardForm
    collectives: list[dict]
    individuals: list[dict]

    @property
    def everyone(self) -> list[dict]:
        return self.collectives + self.individuals

    def number(self, first_register: int = 1) -> "Recipients":
        """Number the rows within each part («n») and across the list («book_no»: the register number)."""
        for part in (self.collectives, self.individuals):
            for n, r in enumerate(part, start=1):
                r["n"] = n
        for n, r in enumerate(self.everyone, start=first_register):
            r["book_no"] = f"{n:03d}"
        return self


def proposed(plan: Plan, checks: Sequence, form_code: str, unit_names: dict[str, str]) -> Recipients:
    """The proposals of one form decided above the office that it sends up (reviewed, raised or awarded):
    collectives by name, people in Vietnamese order (the submission's list)."""
    form = next((f for f in plan.forms if f.code.lower() == str(form_code).lower()), None)
    if form is None:
        raise ThiDuaError(f"Không có hình thức khen thưởng «{form_code}».",
                          "Chọn một mã: " + ", ".join(f.code for f in plan.forms) + ".")
    if form.decided_by == OFFICE:
        raise ThiDuaError(f"{form.name} do Công đoàn Viên chức tỉnh quyết định, không cần tờ trình.",
                          f"Lập quyết định: thidua awards decision --round TK --form {form.code} --out THƯ_MỤC")
    chosen = [pc for pc in checks if pc.effective_form is form and pc.state in SUBMITTED]
    if not chosen:
        raise ThiDuaError(f"Chưa có đề nghị nào hình thức «{form.name}» ở trạng thái đã xét, nâng hình thức hoặc "
                          "khen thưởng.", "Ghi quyết định bằng «thidua proposals decide --id N --state reviewed» rồi "
                                          "chạy lại.")

    def row(pc) -> dict:
        unit = unit_names.get(pc.unit, pc.unit)
        return {"id": pc.id, "name": pc.name, "position": pc.position or unit, "unit": unit,
                "summary": pc.summary, "eligible": pc.eligible}
    coll = sorted((pc for pc in chosen if pc.subject == "collective"), key=lambda pc: text_key(pc.name))
    ind = sorted((pc for pc in chosen if pc.subject != "collective"), key=lambda pc: name_key(pc.name))
    return Recipients(form, [row(pc) for pc in coll], [row(pc) for pc in ind]).number()


def proper_name(form: AwardForm, office: Office) -> str:
    """A form's proper name: for a form this office decides, the paper's kind and the awarding body in force
    («Giấy khen của Ban Chấp hành Công đoàn Viên chức tỉnh Quảng Nam»); else the form's name."""
    if form.decided_by != OFFICE:
        return form.name
    kind = form.certificate or form.name
    return f"{kind} của {office.awarding_body}" if office.awarding_body else kind


def _achievement(plan: Plan, round_code: str | None, adhoc: bool) -> tuple[str, str]:
    """(what the recipients did, the decision's subtitle words) for the round's kind of decision."""
    year = plan.year
    rnd = next((r for r in plan.rounds if r.code == round_code), None)
    if adhoc or (rnd is not None and rnd.kind == "adhoc"):
        return f"đã có thành tích đột xuất trong phong trào thi đua năm {year}", f"có thành tích đột xuất năm {year}"
    year_end = plan.year_end_round
    if rnd is not None and rnd.kind == "review" and year_end is not None and rnd.code != year_end.code:
        return (f"đã có thành tích xuất sắc trong Đợt {rnd.period} phong trào thi đua năm {year}",
                f"có thành tích xuất sắc trong Đợt {rnd.period} thi đua năm {year}")
    return (f"đã có thành tích xuất sắc trong phong trào thi đua năm {year}",
            f"có thành tích xuất sắc trong phong trào thi đua năm {year}")


def context(plan: Plan, rec: Recipients, kind: str, number: str | None = None, date: dt.date | None = None,
            round_code: str | None = None, adhoc: bool = False) -> dict:
    """Everything a layout may use, from the dated data in force on the paper's `date` (plan/dated.py): the
    office's names and signer, the legal bases of the «Căn cứ» lines (the last ending with «.»), the form's proper
    name, the lists, and Điều 2's money by rule (for a form this office decides). Plain data: a decision stores it."""
    meta = plan.meta
    date = date or plan.reference_date
    law = plan.in_force(date)
    office = law.office
    doc_type = "TTr" if kind == "submission" else "QĐ"
    number = number or f"      /{doc_type}-{office.doc_suffix}"
    form = rec.form
    own = form.decided_by == OFFICE
    money_ind = law.amount(form.code, "individual") if own else None
    money_coll = law.amount(form.code, "collective") if own else None
    for part, amount in ((rec.collectives, money_coll), (rec.individuals, money_ind)):
        for r in part:
            r.setdefault("amount", amount)
    each = []
    if rec.collectives:
        each.append(f"mỗi tập thể được thưởng {money(money_coll)} đồng")
    if rec.individuals:
        each.append(f"mỗi cá nhân được thưởng {money(money_ind)} đồng")
    total = sum(r.get("amount") or 0 for r in rec.everyone)
    proper = proper_name(form, office)
    article2 = (f"Kèm theo {form.certificate or form.name}, " + ", ".join(each) + f"; tổng cộng {money(total)} đồng, "
                f"chi từ quỹ khen thưởng của {office.issuer_name}.")
    bases = [b + ";" for b in law.citations()]
    bases.append(f"Căn cứ Kế hoạch số {meta.get('plan_number', '')} ngày {_date_text(meta.get('plan_date'))} của "
                 f"{office.deciding_body} {office.issuer_name} về tổ chức phong trào thi đua năm {plan.year};")
    bases.append("Xét đề nghị của các công đoàn cơ sở trực thuộc và của Văn phòng." if kind != "submission" else
                 "Căn cứ kết quả phong trào thi đua và đề nghị của các công đoàn cơ sở trực thuộc.")
    did, subtitle = _achievement(plan, round_code, adhoc)
    addressee = DECIDERS.get(form.decided_by, "")
    day, month, year = date_words(date)
    who = " và ".join(([f"{len(rec.collectives)} tập thể"] if rec.collectives else [])
                      + ([f"{len(rec.individuals)} cá nhân"] if rec.individuals else []))
    whom = "các tập thể, cá nhân" if rec.collectives and rec.individuals else \
        ("các tập thể" if rec.collectives else "các cá nhân")
    return {
        "issuer_parent": balanced_lines(office.issuer_parent), "issuer": office.issuer,
        "issuer_short": office.issuer_name, "issuer_name": office.issuer_name,
        "body_line": f"{office.deciding_body} {office.issuer_name}".upper(),
        "awarding_body": office.awarding_body, "awarding_body_upper": office.awarding_body.upper(),
        "place": office.place, "day": day, "month": month, "year": year, "date": _date_text(date),
        "plan_year": plan.year, "number": number, "form_name": proper, "form_code": form.code,
        "form_kind": form.certificate or form.name, "heading": (form.certificate or form.name).upper(),
        "title_line": f"Về việc tặng {form.certificate or form.name}" if own else f"Về việc đề nghị tặng {form.name}",
        "subtitle": f"cho {whom} {subtitle}", "achievement": did, "achievement_line": did[:1].upper() + did[1:],
        "article1": f"Tặng {proper} cho {who} (có danh sách kèm theo) {did}.",
        "bases": bases, "article2": article2,
        "money_individual": money(money_ind), "money_collective": money(money_coll),
        "money_total": money(total), "collectives": rec.collectives, "individuals": rec.individuals,
        "recipients": rec.everyone, "who": who,
        "part_collectives": "I", "part_individuals": "II" if rec.collectives else "I",
        "list_caption": (f"(Kèm theo {'Tờ trình' if kind == 'submission' else 'Quyết định'} số {number} ngày "
                         f"{_date_text(date)} của {office.deciding_body} {office.issuer_name})"),
        "signer_title": office.signer_title, "signer_name": office.signer_name,
        "signer_title_line": office.signer_title_line,
        "addressee": addressee or DECIDERS["LDLD"], "addressee_short": DECIDERS["LDLD"],
        "relay": f", trình {DECIDERS['TLD']}" if form.decided_by == "TLD" else "",
        "sources": [b.source for b in law.bases],
    }


def _date_text(value) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, (dt.date, dt.datetime)) else str(value or "")


def _fixed_dates(path: Path) -> None:
    """Rewrite a .docx with fixed member dates (python-docx stamps the time of saving)."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, ZIP_DATE), src.read(info), zipfile.ZIP_DEFLATED)


def render(kind: str, ctx: dict, out: str | Path, layouts: str | Path | None = None,
           margins_mm: Sequence[float] | None = None) -> Path:
    """Fill the layout of `kind` with `ctx` into `out` (written under a temporary name, then renamed; the same
    context gives the same bytes); `margins_mm` = (top, right, bottom, left) overrides the layout's page margins
    (pre-printed paper)."""
    from docx import Document
    from docx.shared import Mm
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError
    out = Path(out)
    try:
        tpl = DocxTemplate(str(layout_path(kind, layouts)))
        with scratch_folder("docx") as tmp:
            draft = Path(tmp) / "draft.docx"
            tpl.render(ctx, autoescape=True)
            tpl.save(str(draft))
            if margins_mm is not None:
                doc = Document(str(draft))
                for sec in doc.sections:
                    sec.top_margin, sec.right_margin, sec.bottom_margin, sec.left_margin = (Mm(x) for x in margins_mm)
                doc.save(str(draft))
            _fixed_dates(draft)
            with atomic_path(out) as tmp_out:
                shutil.copyfile(draft, tmp_out)
    except TemplateError as exc:
        raise ThiDuaError(f"Mẫu văn bản {LAYOUT_FILES[kind]} có thẻ sai: {exc}.",
                          "Sửa các thẻ {{ ... }} / {%p ... %} trong mẫu, hoặc chép lại mẫu gốc.") from exc
    return out


def parse_margins(text: str | None) -> tuple[float, ...] | None:
    """«25,20,20,25» (mm: top, right, bottom, left) or one number for all four."""
    if not text:
        return None
    try:
        parts = [float(x.replace(" ", "")) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 4
    if len(parts) != 4 or not all(0 <= x <= 80 for x in parts):
        raise ThiDuaError(f"Lề trang «{text}» không hiểu được.",
                          "Ghi 4 số milimét: trên,phải,dưới,trái, ví dụ --margins 25,20,20,25.")
    return tuple(parts)


WORKING_COLUMNS = (("STT", 5, "center"), ("Số vào sổ", 7, "center"), ("Họ và tên / Tên tập thể", 22, "text"),
                   ("Năm sinh", 7, "center"), ("Chức vụ, đơn vị công tác", 24, "text"), ("Công đoàn cơ sở", 22, "text"),
                   ("Đề nghị số", 7, "center"), ("Nơi đề nghị (đơn vị, kỳ, tệp, ô)", 30, "text"),
                   ("Danh hiệu đã công nhận", 20, "text"), ("Tiền thưởng (đồng)", 11, "int"),
                   ("Điều kiện; ghi chú của Văn phòng", 44, "text"))


def working_list(decision: Any, out: str | Path) -> Path:
    """The office's working list of a decision (never signed, never sent): each recipient with where the proposal
    came from, its verdict, the office's reason when it awarded a nominee the conditions reject, and the warnings."""
    import xlsxwriter
    from thidua.reports.officialdoc import official_formats, page_setup
    from thidua.text.width import RowHeights
    ctx = decision.context
    with atomic_path(out) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False,
                                            "strings_to_urls": False})
        created = dt.datetime.combine(decision.date, dt.time())
        wb.set_properties({"title": f"Danh sách làm việc - Quyết định số {decision.number_text}",
                           "author": ctx.get("issuer_name", ""), "created": created})
        fmt = official_formats(wb)
        ws = wb.add_worksheet("Danh sách làm việc")
        last = len(WORKING_COLUMNS) - 1
        ws.merge_range(0, 0, 0, last, f"DANH SÁCH LÀM VIỆC KÈM QUYẾT ĐỊNH SỐ {decision.number_text} NGÀY "
                                      f"{ctx.get('date', '')}", fmt["title"])
        ws.merge_range(1, 0, 1, last, f"{ctx.get('form_name', '')}; kỳ {decision.round}; {len(decision.recipients)} "
                                      f"người, tập thể; tổng cộng {money(decision.total)} đồng. Tài liệu của Văn phòng: "
                                      "không ký, không gửi kèm quyết định.", fmt["subtitle"])
        heights = RowHeights()
        for c, (head, width, _) in enumerate(WORKING_COLUMNS):
            ws.set_column(c, c, width)
            ws.write_string(3, c, head, fmt["header"])
            heights.fit(3, head, width, bold=True)
        for i, r in enumerate(decision.recipients, start=1):
            row = 3 + i
            notes = []
            if r.get("override"):
                notes.append(f"Khen thưởng dù không đủ điều kiện, lý do của Văn phòng: {r['override']}")
            if r.get("warnings"):
                notes.append(str(r["warnings"]))
            unit = f"{r.get('unit_name') or ''} ({r.get('unit')})"
            values = (i, r.get("register_no"), r.get("name"), r.get("birth_year") or "", r.get("position") or "",
                      unit, r.get("proposal_id"), r.get("source") or "", _title_of(ctx, r), r.get("amount") or 0,
                      "; ".join(notes) or "đủ điều kiện")
            for c, value in enumerate(values):
                style = WORKING_COLUMNS[c][2]
                if isinstance(value, int) and not isinstance(value, bool):
                    ws.write_number(row, c, value, fmt["int"] if style == "int" else fmt["center"])
                else:
                    ws.write_string(row, c, str(value), fmt["text"])
                    heights.fit(row, str(value), WORKING_COLUMNS[c][1])
        end = 4 + len(decision.recipients)
        ws.write_string(end, 2, "Tổng cộng", fmt["total"])
        ws.write_number(end, 9, decision.total, fmt["total"])
        heights.apply(ws)
        page_setup(ws, end, last, 3, landscape=True)
        wb.close()
    return Path(out)


def _title_of(ctx: dict, recipient: dict) -> str:
    for r in ctx.get("recipients", []):
        if r.get("proposal_id") == recipient.get("proposal_id"):
            return str(r.get("title") or "")
    return ""
