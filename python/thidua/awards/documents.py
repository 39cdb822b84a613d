"""The year-end award paperwork in Word: the decision with its list, the certificates, the submission upward."""
from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

from thidua.errors import ThiDuaError
from thidua.fileio import atomic_path
from thidua.plan.model import OFFICE, AwardForm, Plan
from thidua.review.commendations import ProposalCheck
from thidua.text.collate import name_key, text_key
from thidua.text.numbers import format_number

LAYOUT_FILES = {"decision": "quyet-dinh.docx", "submission": "to-trinh.docx", "certificates": "giay-khen.docx"}
DECIDERS = {"LDLD": "Ban Thường vụ Liên đoàn Lao động tỉnh", "TLD": "Đoàn Chủ tịch Tổng Liên đoàn Lao động Việt Nam"}
# Which proposals each document takes: the decision and certificates those the office awarded; the
# submission those it reviewed and sends up (raised ones included).
STATES = {"decision": ("awarded",), "certificates": ("awarded",), "submission": ("reviewed", "raised", "awarded")}


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
    itself (a line break in the plan) is kept as written."""
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
                              f"Chép mẫu gốc {name} vào thư mục đó (lệnh «thidua awards layouts --out THƯ_MỤC»).")
        return path
    return Path(str(resources.files("thidua.awards").joinpath("layouts", name)))


@dataclass
class Recipients:
    form: AwardForm
    collectives: list[dict]
    individuals: list[dict]

    @property
    def everyone(self) -> list[dict]:
        return self.collectives + self.individuals


def recipients(plan: Plan, checks: Sequence[ProposalCheck], form_code: str, kind: str,
               unit_names: dict[str, str]) -> Recipients:
    """The proposals of one form a document lists: collectives by name, people in Vietnamese order."""
    form = next((f for f in plan.forms if f.code.lower() == str(form_code).lower()), None)
    if form is None:
        raise ThiDuaError(f"Không có hình thức khen thưởng «{form_code}».",
                          "Chọn một mã: " + ", ".join(f.code for f in plan.forms) + ".")
    own = form.decided_by == OFFICE
    if kind in ("decision", "certificates") and not own:
        raise ThiDuaError(f"{form.name} do {DECIDERS.get(form.decided_by, form.decided_by)} quyết định, "
                          "không do Văn phòng ra quyết định.",
                          f"Lập tờ trình: thidua awards submission --form {form.code} --out TT.docx")
    if kind == "submission" and own:
        raise ThiDuaError(f"{form.name} do Công đoàn Viên chức tỉnh quyết định, không cần tờ trình.",
                          f"Lập quyết định: thidua awards decision --form {form.code} --out QD.docx")
    chosen = [pc for pc in checks if pc.effective_form is form and pc.state in STATES[kind]]
    if not chosen:
        wanted = " hoặc ".join(STATES[kind])
        raise ThiDuaError(f"Chưa có đề nghị nào hình thức «{form.name}» ở trạng thái {wanted}.",
                          "Ghi quyết định bằng «thidua proposals decide --id N --state awarded» rồi chạy lại.")

    def row(pc: ProposalCheck) -> dict:
        unit = unit_names.get(pc.unit, pc.unit)
        return {"id": pc.id, "name": pc.name, "position": pc.position or unit, "unit": unit,
                "summary": pc.summary, "eligible": pc.eligible}
    coll = sorted((pc for pc in chosen if pc.subject == "collective"), key=lambda pc: text_key(pc.name))
    ind = sorted((pc for pc in chosen if pc.subject != "collective"), key=lambda pc: name_key(pc.name))
    out = Recipients(form, [row(pc) for pc in coll], [row(pc) for pc in ind])
    for n, r in enumerate(out.collectives, start=1):
        r["n"] = n
    for n, r in enumerate(out.individuals, start=1):
        r["n"] = n
    for n, r in enumerate(out.everyone, start=1):
        r["book_no"] = f"{n:03d}"
    return out


def context(plan: Plan, rec: Recipients, kind: str, number: str | None = None,
            date: dt.date | None = None) -> dict:
    """Everything a layout may use: the office's names, legal bases and money in force on the document's date
    (plan/dated.py), the form, the lists, the money of Điều 2."""
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
    each = []
    if rec.collectives:
        each.append(f"mỗi tập thể được thưởng {money(money_coll)} đồng")
    if rec.individuals:
        each.append(f"mỗi cá nhân được thưởng {money(money_ind)} đồng")
    total = len(rec.collectives) * (money_coll or 0) + len(rec.individuals) * (money_ind or 0)
    proper = proper_name(form, office) if own else form.name
    article2 = (f"Kèm theo {proper}, " + ", ".join(each) + f"; tổng cộng {money(total)} đồng, chi từ quỹ "
                f"khen thưởng của {office.issuer_name}.")
    bases = [b + ";" for b in law.citations()]
    bases.append(f"Căn cứ Kế hoạch số {meta.get('plan_number', '')} ngày {_date_text(meta.get('plan_date'))} của "
                 f"{office.deciding_body} {office.issuer_name} về tổ chức phong trào thi đua năm {plan.year};")
    bases.append("Xét đề nghị của các công đoàn cơ sở trực thuộc và của Văn phòng." if kind != "submission" else
                 "Căn cứ kết quả phong trào thi đua và đề nghị của các công đoàn cơ sở trực thuộc.")
    addressee = DECIDERS.get(form.decided_by, "")
    day, month, year = date_words(date)
    who = " và ".join(([f"{len(rec.collectives)} tập thể"] if rec.collectives else [])
                      + ([f"{len(rec.individuals)} cá nhân"] if rec.individuals else []))
    return {
        "issuer_parent": balanced_lines(office.issuer_parent), "issuer": office.issuer,
        "issuer_short": office.issuer_name, "deciding_body": office.deciding_body.upper(),
        "issuer_name_upper": office.issuer_name.upper(),
        "place": office.place, "day": day, "month": month, "year": year, "date": _date_text(date),
        "plan_year": plan.year, "number": number, "form_name": proper, "form_code": form.code,
        "heading": (form.certificate or form.name).upper(), "awarding_body": office.awarding_body,
        "bases": bases, "article2": article2,
        "money_individual": money(money_ind), "money_collective": money(money_coll),
        "money_total": money(total), "collectives": rec.collectives, "individuals": rec.individuals,
        "recipients": rec.everyone, "who": who,
        "part_collectives": "I", "part_individuals": "II" if rec.collectives else "I",
        "list_caption": (f"(Kèm theo {'Tờ trình' if kind == 'submission' else 'Quyết định'} số {number} ngày "
                         f"{_date_text(date)} của {office.deciding_body} {office.issuer_name})"),
        "signer_title": office.signer_title, "signer_name": office.signer_name,
        "signer_title_line": office.signer_title_line,
        "addressee": addressee or DECIDERS["LDLD"],
        "addressee_short": DECIDERS["LDLD"],
        "relay": f", trình {DECIDERS['TLD']}" if form.decided_by == "TLD" else "",
    }


def proper_name(form: AwardForm, office) -> str:
    """A form's proper name for a form this office decides: «Giấy khen của Ban Chấp hành Công đoàn Viên chức tỉnh
    Quảng Nam» (the paper's kind and the awarding body in force on the date)."""
    kind = form.certificate or form.name
    return f"{kind} của {office.awarding_body}" if office.awarding_body else kind


def _date_text(value) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, (dt.date, dt.datetime)) else str(value or "")


def render(kind: str, ctx: dict, out: str | Path, layouts: str | Path | None = None,
           margins_mm: Sequence[float] | None = None) -> Path:
    """Fill the layout of `kind` with `ctx` into `out` (written under a temporary name, then renamed);
    `margins_mm` = (top, right, bottom, left) overrides the layout's page margins (pre-printed paper)."""
    from docx import Document
    from docx.shared import Mm
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError
    out = Path(out)
    try:
        tpl = DocxTemplate(str(layout_path(kind, layouts)))
        with tempfile.TemporaryDirectory(prefix="thidua-docx-") as tmp:
            draft = Path(tmp) / "draft.docx"
            tpl.render(ctx, autoescape=True)
            tpl.save(str(draft))
            if margins_mm is not None:
                doc = Document(str(draft))
                for sec in doc.sections:
                    sec.top_margin, sec.right_margin, sec.bottom_margin, sec.left_margin = (Mm(x) for x in margins_mm)
                doc.save(str(draft))
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
