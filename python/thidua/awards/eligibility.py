"""Eligibility of proposals: the attested facts, the plan's conditions and quotas in force, each verdict with the
legal basis in force on the day it is judged (pure: no store, no files)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from thidua.plan.model import TITLE_FIELD, AwardCondition, AwardForm, Plan, Quota, Title, to_date

INELIGIBLE = "Không đủ điều kiện"
# The proposal fields that make a state title a fact: the employing agency's decision (template spec columns).
TITLE_DECISION, TITLE_DATE = "title_decision", "title_date"
BASE_LABELS = {TITLE_FIELD: "Danh hiệu thi đua đã được công nhận (kèm số, ngày quyết định)",
               TITLE_DECISION: "Số quyết định công nhận danh hiệu", TITLE_DATE: "Ngày quyết định công nhận danh hiệu"}


@dataclass(frozen=True)
class Failure:
    """One condition a nominee does not meet (or cannot be judged on: `missing`)."""

    rule: AwardCondition
    award: str            # the title's or form's name
    missing: bool
    label: str            # the field's label
    legal: str = ""       # the rule's legal reference made text: the basis in force on the judging day

    @property
    def message(self) -> str:
        where = f" ({self.legal})" if self.legal else ""
        if self.missing:
            return f"thiếu «{self.label}» để xét «{self.rule.text}» của {self.award}{where}"
        return f"không đạt «{self.rule.text}» của {self.award}{where}"


def field_label(plan: Plan, code: str) -> str:
    return next((f.label for f in plan.proposal_fields if f.code == code), BASE_LABELS.get(code, code))


@dataclass(frozen=True)
class Attested:
    """A proposal's state title as a fact: the title it names, whether the agency's decision attests it (number
    and date given, the title a yearly one in the year-end round, dated on or before `on`), and the notes
    (issue code, fields) explaining a title that does not count."""

    title: Title | None
    counts: bool
    decision: str = ""
    date: dt.date | None = None
    notes: tuple[tuple[str, dict], ...] = ()

    @property
    def text(self) -> str:
        """«Lao động tiên tiến (QĐ số 125/QĐ-SGDĐT ngày 20/12/2019)» for the lists."""
        if self.title is None:
            return ""
        if not self.counts:
            return f"{self.title.name} (chưa tính)"
        when = f" ngày {self.date.strftime('%d/%m/%Y')}" if self.date else ""
        return f"{self.title.name} (QĐ số {self.decision}{when})"


def attest(plan: Plan, values: Mapping[str, Any], title: Title | None, round_code: str | None,
           on: dt.date | None = None) -> Attested:
    """The state title of a proposal as a fact (see Attested). Titles are yearly: one in another round than the
    year-end round does not count (X015); one without its decision's number or date does not count (X014); at a
    decision, one attested after the decision's date does not count (X018)."""
    if title is None:
        return Attested(None, False)
    number = str(values.get(TITLE_DECISION) or "").strip()
    try:
        date = to_date(values.get(TITLE_DATE))
    except ValueError:
        date = None
    year_end = plan.year_end_round
    notes: list[tuple[str, dict]] = []
    if round_code and year_end and round_code != year_end.code:        # then its decision does not matter
        notes.append(("X015", {"title": title.name, "year_end": year_end.code, "round": round_code}))
        return Attested(title, False, number, date, tuple(notes))
    missing = [label for label, v in (("số", number), ("ngày", date)) if not v]
    if missing:
        notes.append(("X014", {"title": title.name, "missing": " và ".join(missing)}))
    if date and on and date > on:
        notes.append(("X018", {"title": title.name, "value": date, "bound": on}))
    return Attested(title, not notes, number, date, tuple(notes))


def facts(values: Mapping[str, Any], attested: Attested) -> dict:
    """The values conditions are judged on: the proposal's fields with `title` the attested title (else blank)."""
    out = dict(values)
    out[TITLE_FIELD] = attested.title.name if attested.counts and attested.title else None
    return out


def judge(plan: Plan, values: Mapping[str, Any], subject: str,
          awards: Sequence[Title | AwardForm | None], on: dt.date | None = None,
          round_code: str | None = None) -> list[Failure]:
    """Every condition of the given title/forms (for `subject`) in force on `on` (default: the end of the plan's
    year) and for round `round_code` that `values` (see `facts`) fail or cannot be judged on; each names its legal
    basis in force on that day."""
    on = on or plan.reference_date
    law = plan.in_force(on)
    levels = plan.levels_of_fields
    out: list[Failure] = []
    seen: set[str] = set()
    for award in awards:
        if award is None or award.code in seen:
            continue
        seen.add(award.code)
        kind = "danh hiệu" if isinstance(award, Title) else "hình thức"
        for rule in plan.rules_for(award.code, subject, on, round_code):
            verdict = rule.condition.holds(values, levels)
            if verdict is not True:
                out.append(Failure(rule, f"{kind} {award.name}", verdict is None,
                                   field_label(plan, rule.condition.field), law.cite(rule.legal)))
    return out


@dataclass(frozen=True)
class Nomination:
    """What quotas count of one proposal: where it came from, what it is for, and its name. `title` is the
    ATTESTED title's code (a title without its agency decision is no fact and counts nowhere)."""

    unit: str
    round: str
    name: str
    title: str | None       # attested title code
    form: str | None        # effective form code
    live: bool = True       # False for proposals the office marked not met


def _quota_text(q: Quota, award: str, count: int, base: int | None, legal: str = "") -> str:
    where = f" ({legal})" if legal else ""
    scope = "của đơn vị" if q.per == "unit" else "của tỉnh"
    if q.max_ratio is not None:
        pct = f"{q.max_ratio * 100:g}".replace(".", ",")
        allowed = math.floor(q.max_ratio * (base or 0) + 1e-9)
        return (f"{award}: {count} {scope} trong năm, vượt tỷ lệ {pct}% của {base} người đạt {q.of} "
                f"(tối đa {allowed}){where}")
    return f"{award}: {count} đề nghị {scope} trong năm, vượt chỉ tiêu {q.max_count}{where}"


def quota_warnings(plan: Plan, items: Sequence[Nomination], on: dt.date | None = None
                   ) -> dict[int, list[tuple[str, str]]]:
    """{position in `items`: [(issue code, detail)]} for every nomination over one of the quotas in force on `on`;
    quotas count over the YEAR (titles are yearly), per unit or per province. A quota on a state title counts
    attested titles only and binds the agency's list, not the union's proposals (X019); a quota on a union form
    counts its live proposals (X012). A form's own `quota` column counts as a province quota. A ratio's base is
    the distinct names holding title `of` or the quota's own title in the same scope."""
    law = plan.in_force(on or plan.reference_date)
    quotas = list(law.quotas) + [Quota(f.code, "province", f.quota, None, "", "") for f in plan.forms
                                 if f.quota is not None]
    titles = {t.code for t in plan.titles}
    names = {x.code: x.name for x in (*plan.forms, *plan.titles)}
    out: dict[int, list[tuple[str, str]]] = {}
    for q in quotas:
        on_title = q.applies in titles
        groups: dict[tuple, list[int]] = {}
        bases: dict[tuple, set[str]] = {}
        for i, it in enumerate(items):
            if not on_title and not it.live:
                continue
            scope = (it.unit,) if q.per == "unit" else ()
            held = (it.title,) if on_title else (it.title, it.form)
            if q.applies in held:
                groups.setdefault(scope, []).append(i)
            if q.max_ratio is not None and (q.of == it.title or q.applies in held):
                bases.setdefault(scope, set()).add(it.name.casefold())
        for scope, members in groups.items():
            if q.max_ratio is not None:
                base = len(bases.get(scope, ()))
                over = len(members) > q.max_ratio * base + 1e-9
            else:
                base, over = None, len(members) > (q.max_count or 0)
            if over:
                text = _quota_text(q, names.get(q.applies, q.applies), len(members), base, law.cite(q.legal))
                code = "X019" if on_title else "X012"
                for i in members:
                    out.setdefault(i, []).append((code, text))
    return out
