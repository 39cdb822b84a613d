"""Dated data: legal bases, base salary, award money and the office's names, each row valid from/to a date.

A document follows what was in force ON ITS DATE, not on the plan's date: `InForce` is that snapshot
(`Plan.in_force(day)`, `WorkingSet.in_force(day)`). Every row carries `valid_from` / `valid_to` (blank: open
on that side) and `source` (the text it comes from). A date no row of a table covers is refused with a
Vietnamese message naming the missing row; two rows of one kind covering the same day are a plan error.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Sequence

from thidua.errors import ThiDuaError

# (Plan, AwardCondition and Quota are plan/model.py's, which imports this module: named in strings only.)

# The dated tables of the plan data (TOML arrays and master-workbook sheets of the same keys).
DATED_TABLES = ("legal_bases", "base_salaries", "award_money", "offices")
# What each legal basis is, in the order a decision cites them («Căn cứ» lines); a condition or quota
# refers to the one in force by this role (or to one text by its code).
ROLES = ("union_charter", "state_law", "state_decree", "union_rules")
ROLE_NAMES = {"union_charter": "Điều lệ Công đoàn", "state_law": "Luật Thi đua, khen thưởng",
              "state_decree": "Nghị định hướng dẫn Luật Thi đua, khen thưởng",
              "union_rules": "Quy chế khen thưởng của tổ chức Công đoàn"}
ROUNDINGS = ("up", "nearest", "down")
SUBJECTS = ("individual", "collective")
# Where the office edits each table: the master workbook's sheet (workbook/layout.py) and the TOML array.
TABLE_NAMES = {"legal_bases": "Căn cứ pháp lý", "base_salaries": "Lương cơ sở", "award_money": "Tiền thưởng",
               "offices": "Cơ quan ban hành"}


def date_text(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "…"


@dataclass(frozen=True)
class Dated:
    """A row valid from `valid_from` to `valid_to` (both days included; None = open on that side)."""

    valid_from: dt.date | None
    valid_to: dt.date | None
    source: str

    def covers(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    @property
    def validity(self) -> str:
        """«12/11/2019 – 28/05/2024» (… for an open side)."""
        return f"{date_text(self.valid_from)} – {date_text(self.valid_to)}"

    def overlaps(self, other: "Dated") -> bool:
        lo = max(self.valid_from or dt.date.min, other.valid_from or dt.date.min)
        hi = min(self.valid_to or dt.date.max, other.valid_to or dt.date.max)
        return lo <= hi


@dataclass(frozen=True)
class LegalBasis(Dated):
    """A legal text a decision cites: `citation` is its «Căn cứ …» line (without the closing «;»), `short`
    the name a condition's message gives (QĐ 1689/QĐ-TLĐ)."""

    code: str = ""
    role: str = ""
    order: int = 0
    citation: str = ""
    short: str = ""


@dataclass(frozen=True)
class BaseSalary(Dated):
    """Mức lương cơ sở (đồng a month) in force between the dates."""

    amount: int = 0


@dataclass(frozen=True)
class AwardMoney(Dated):
    """The money of one award form for one subject: `coefficient` × the base salary in force on the decision
    date, rounded to `round_to` đồng (`rounding` up/nearest/down); `legal` names the rule (a basis reference)."""

    form: str = ""
    subject: str = ""
    coefficient: float = 0.0
    round_to: int = 1
    rounding: str = "up"
    legal: str = ""

    def amount(self, base: int) -> int:
        """The rule applied to `base` (integer arithmetic on the coefficient's decimal digits: no float drift)."""
        scale = 10 ** 6
        raw = round(self.coefficient * scale) * base            # đồng × 10^6, exact
        step = self.round_to * scale
        if self.rounding == "up":
            units = -(-raw // step)
        elif self.rounding == "down":
            units = raw // step
        else:
            units = (raw + step // 2) // step
        return int(units * self.round_to)


@dataclass(frozen=True)
class Office(Dated):
    """The office's names as its papers print them between the dates (the issuer changes: 2025 merger)."""

    issuer_parent: str = ""        # LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NAM (header, upper case)
    issuer: str = ""               # CÔNG ĐOÀN VIÊN CHỨC TỈNH (header, upper case)
    issuer_name: str = ""          # Công đoàn Viên chức tỉnh Quảng Nam (in running text)
    deciding_body: str = ""        # Ban Thường vụ (who signs the office's decisions)
    awarding_body: str = ""        # Ban Chấp hành Công đoàn Viên chức tỉnh Quảng Nam (whose Giấy khen it is)
    place: str = ""                # Quảng Nam (the place line: «Quảng Nam, ngày …»)
    signer_title: str = ""         # TM. BAN THƯỜNG VỤ\nCHỦ TỊCH
    signer_name: str = ""
    doc_suffix: str = ""           # CĐN: «Số: 05/QĐ-CĐN»

    @property
    def signer_title_line(self) -> str:
        return self.signer_title.replace("\n", " - ")


def pick(rows: Sequence[Dated], day: dt.date, table: str, what: str = "") -> Dated:
    """The one row of `rows` in force on `day`; a Vietnamese refusal naming the missing row otherwise."""
    found = [r for r in rows if r.covers(day)]
    if found:
        return found[0]
    have = "; ".join(f"{_label(r)} ({r.validity})" for r in rows) or "chưa có dòng nào"
    sheet = TABLE_NAMES.get(table, table)
    raise ThiDuaError(
        f"Không có dòng «{sheet}»{(' ' + what) if what else ''} có hiệu lực ngày {date_text(day)} "
        f"(các dòng hiện có: {have}).",
        f"Thêm dòng có «Từ ngày»/«Đến ngày» bao ngày {date_text(day)} (kèm nguồn) vào trang «{sheet}» của sổ làm "
        f"việc (bảng [[{table}]] của kế hoạch), hoặc chọn ngày khác.")


def _label(row: Dated) -> str:
    if isinstance(row, LegalBasis):
        return row.short or row.code
    if isinstance(row, BaseSalary):
        return f"{row.amount:,}".replace(",", ".") + " đồng"
    if isinstance(row, AwardMoney):
        return f"{row.form} {row.subject} {row.coefficient:g}"
    if isinstance(row, Office):
        return row.issuer_name or row.issuer
    return "?"


class InForce:
    """What is in force on `date`: the office's names, the legal bases a decision cites, the base salary, the
    money of each award form, the award conditions and quotas. Each part is looked up when first asked for, so a
    document that needs only the office's names is not refused for a missing salary row."""

    def __init__(self, plan: "Plan", date: dt.date) -> None:
        self.plan = plan
        self.date = date

    def __repr__(self) -> str:
        return f"InForce({self.date.isoformat()})"

    @cached_property
    def office(self) -> Office:
        return pick(self.plan.offices, self.date, "offices")

    @cached_property
    def bases(self) -> tuple[LegalBasis, ...]:
        """One basis per role present in the table, in citation order (`order`, then the role's order)."""
        out = [self.basis(role) for role in self.roles]
        return tuple(sorted(out, key=lambda b: (b.order, ROLES.index(b.role) if b.role in ROLES else 99)))

    @property
    def roles(self) -> tuple[str, ...]:
        seen: list[str] = []
        for b in self.plan.legal_bases:
            if b.role not in seen:
                seen.append(b.role)
        return tuple(seen)

    def basis(self, role: str) -> LegalBasis:
        """The basis of `role` in force (union_rules: QĐ 2106 → 1689 → 999)."""
        rows = [b for b in self.plan.legal_bases if b.role == role]
        return pick(rows, self.date, "legal_bases", f"«{ROLE_NAMES.get(role, role)}»")  # type: ignore[return-value]

    def citations(self) -> list[str]:
        """The «Căn cứ …» lines of the bases in force, in order (without their closing punctuation)."""
        return [b.citation for b in self.bases]

    def cite(self, ref: str) -> str:
        """A condition's or quota's `legal` reference made text: «union_rules: tiêu chuẩn Giấy khen» →
        «QĐ 1689/QĐ-TLĐ (tiêu chuẩn Giấy khen)»; a basis code (ND91: Điều 9 khoản 3) names that text."""
        head, _, detail = str(ref or "").partition(":")
        head, detail = head.strip(), detail.strip()
        if not head:
            return ""
        by_code = next((b for b in self.plan.legal_bases if b.code == head), None)
        basis = by_code or self.basis(head)
        name = basis.short or basis.code
        if not detail:
            return name
        return f"{name}, {detail}" if detail.startswith(("Điều", "khoản", "điểm")) else f"{name} ({detail})"

    @cached_property
    def base_salary(self) -> BaseSalary:
        return pick(self.plan.base_salaries, self.date, "base_salaries")  # type: ignore[return-value]

    @property
    def money(self) -> tuple[AwardMoney, ...]:
        return tuple(m for m in self.plan.award_money if m.covers(self.date))

    def money_rule(self, form: str, subject: str) -> AwardMoney | None:
        """The money rule of `form` for `subject` in force; None when the form carries no money at all (a form
        decided above the office); a form with money rows but none in force on the date is refused."""
        rows = [m for m in self.plan.award_money if m.form == form and m.subject == subject]
        if not rows:
            return None
        return pick(rows, self.date, "award_money", f"«{form}, {subject}»")  # type: ignore[return-value]

    def amount(self, form: str, subject: str) -> int | None:
        """The money of `form` for one `subject` on the date: the rule in force × the base salary in force."""
        rule = self.money_rule(form, subject)
        return None if rule is None else rule.amount(self.base_salary.amount)

    @property
    def conditions(self) -> tuple["AwardCondition", ...]:
        return tuple(c for c in self.plan.award_conditions if c.in_force(self.date))

    @property
    def quotas(self) -> tuple["Quota", ...]:
        return tuple(q for q in self.plan.quotas if q.in_force(self.date))

    def to_json(self) -> dict[str, Any]:
        """Everything in force as plain data (stored with a decision so its papers can be made again as they were)."""
        o = self.office
        return {"date": self.date.isoformat(),
                "office": {k: getattr(o, k) for k in ("issuer_parent", "issuer", "issuer_name", "deciding_body",
                                                       "awarding_body", "place", "signer_title", "signer_name",
                                                       "doc_suffix", "source")},
                "bases": [{"code": b.code, "role": b.role, "citation": b.citation, "short": b.short,
                           "source": b.source} for b in self.bases],
                "base_salary": {"amount": self.base_salary.amount, "source": self.base_salary.source}}


# ---------------------------------------------------------------- reading the tables
def to_date(value: Any) -> dt.date | None:
    """A date from TOML, a workbook cell or ISO text; None for blank."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


_date = to_date


def _common(r: dict) -> dict:
    return {"valid_from": _date(r.get("valid_from")), "valid_to": _date(r.get("valid_to")),
            "source": str(r.get("source") or "")}


def legal_bases(rows: Iterable[dict]) -> tuple[LegalBasis, ...]:
    return tuple(LegalBasis(code=str(r["code"]), role=str(r["role"]), order=int(r.get("order") or 0),
                            citation=str(r["citation"]).strip().rstrip(";,.").strip(),
                            short=str(r.get("short") or r["code"]), **_common(r)) for r in rows)


def base_salaries(rows: Iterable[dict]) -> tuple[BaseSalary, ...]:
    return tuple(BaseSalary(amount=int(r["amount"]), **_common(r)) for r in rows)


def award_money(rows: Iterable[dict]) -> tuple[AwardMoney, ...]:
    return tuple(AwardMoney(form=str(r["form"]), subject=str(r["subject"]), coefficient=float(r["coefficient"]),
                            round_to=int(r.get("round_to") or 1), rounding=str(r.get("rounding") or "up"),
                            legal=str(r.get("legal") or ""), **_common(r)) for r in rows)


def offices(rows: Iterable[dict]) -> tuple[Office, ...]:
    keys = ("issuer_parent", "issuer", "issuer_name", "deciding_body", "awarding_body", "place", "signer_title",
            "signer_name", "doc_suffix")
    return tuple(Office(**{k: str(r.get(k) or "") for k in keys}, **_common(r)) for r in rows)


def problems(plan: "Plan") -> list[str]:
    """What contradicts itself in the dated tables (checked with the rest of the plan)."""
    out: list[str] = []

    def overlapping(rows: Sequence[Dated], what) -> None:
        for i, a in enumerate(rows):
            if a.valid_from and a.valid_to and a.valid_to < a.valid_from:
                out.append(f"{what(a)}: «Đến ngày» trước «Từ ngày»")
            for b in rows[i + 1:]:
                if a.overlaps(b):
                    out.append(f"{what(a)} ({a.validity}) và {what(b)} ({b.validity}) cùng có hiệu lực")

    for role in dict.fromkeys(b.role for b in plan.legal_bases):
        overlapping([b for b in plan.legal_bases if b.role == role], lambda b: f"căn cứ {b.code}")
        if role not in ROLES:
            out.append(f"căn cứ pháp lý: loại «{role}» không có ({', '.join(ROLES)})")
    codes = [b.code for b in plan.legal_bases]
    for code in {c for c in codes if codes.count(c) > 1}:
        out.append(f"căn cứ pháp lý: mã «{code}» bị trùng")
    overlapping(plan.base_salaries, lambda s: f"lương cơ sở {_label(s)}")
    overlapping(plan.offices, lambda o: f"cơ quan ban hành «{_label(o)}»")
    forms = {f.code for f in plan.forms}
    for key in dict.fromkeys((m.form, m.subject) for m in plan.award_money):
        rows = [m for m in plan.award_money if (m.form, m.subject) == key]
        overlapping(rows, lambda m: f"tiền thưởng {m.form} ({m.subject})")
    for m in plan.award_money:
        if m.form not in forms:
            out.append(f"tiền thưởng: không có hình thức «{m.form}»")
        if m.subject not in SUBJECTS:
            out.append(f"tiền thưởng {m.form}: đối tượng «{m.subject}» không có ({', '.join(SUBJECTS)})")
        if m.rounding not in ROUNDINGS or m.round_to < 1 or m.coefficient <= 0:
            out.append(f"tiền thưởng {m.form}: hệ số, cách làm tròn hoặc mức làm tròn không hợp lệ")
        out += _ref_problems(plan, m.legal, f"tiền thưởng {m.form}")
    for rule in plan.award_conditions:
        out += _ref_problems(plan, rule.legal, f"điều kiện «{rule.text}»")
    for q in plan.quotas:
        out += _ref_problems(plan, q.legal, f"hạn mức của «{q.applies}»")
    return out


def _ref_problems(plan: "Plan", ref: str, what: str) -> list[str]:
    """A `legal` reference names a role or a basis code (never the text of a law: that is dated data)."""
    head = str(ref or "").partition(":")[0].strip()
    if not head:
        return []
    known = {b.role for b in plan.legal_bases} | {b.code for b in plan.legal_bases}
    if head not in known:
        return [f"{what}: căn cứ «{head}» không có trong bảng căn cứ pháp lý (ghi mã loại như union_rules, "
                f"state_decree, hoặc mã một văn bản như ND91, rồi «: điều, khoản»)"]
    return []
