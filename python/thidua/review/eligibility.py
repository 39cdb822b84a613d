"""Eligibility of proposals against the plan's conditions and quotas, each verdict with its legal source (pure)."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from thidua.plan.model import AwardCondition, AwardForm, Plan, Quota, Title

INELIGIBLE = "Không đủ điều kiện"


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
    return next((f.label for f in plan.proposal_fields if f.code == code), code)


def judge(plan: Plan, values: Mapping[str, Any], subject: str,
          awards: Sequence[Title | AwardForm | None], on: dt.date | None = None,
          round_code: str | None = None) -> list[Failure]:
    """Every condition of the given title/forms (for `subject`) in force on `on` (default: the end of the plan's
    year) and for round `round_code` that `values` fail or cannot be judged on; each names its legal basis in force
    on that day."""
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
    """What quotas count of one proposal: where it came from, what it is for, and its name."""

    unit: str
    round: str
    name: str
    title: str | None       # title code
    form: str | None        # effective form code
    live: bool = True       # False for proposals the office marked not met


def _quota_text(q: Quota, award: str, count: int, base: int | None, legal: str = "") -> str:
    where = f" ({legal})" if legal else ""
    scope = "của đơn vị" if q.per == "unit" else "của tỉnh"
    if q.max_ratio is not None:
        pct = f"{q.max_ratio * 100:g}".replace(".", ",")
        allowed = math.floor(q.max_ratio * (base or 0) + 1e-9)
        return (f"{award}: {count} đề nghị {scope}, vượt tỷ lệ {pct}% của {base} người đạt {q.of} "
                f"(tối đa {allowed}){where}")
    return f"{award}: {count} đề nghị {scope}, vượt chỉ tiêu {q.max_count}{where}"


def quota_warnings(plan: Plan, items: Sequence[Nomination], on: dt.date | None = None) -> dict[int, list[str]]:
    """{position in `items`: warnings} for every live nomination of a title/form over one of its quotas; a
    form's own `quota` column counts as a province quota. A ratio's base is the distinct names holding title
    `of` or the quota's own title (who must hold `of` too) in the same scope."""
    law = plan.in_force(on or plan.reference_date)
    quotas = list(law.quotas) + [Quota(f.code, "province", f.quota, None, "", "") for f in plan.forms
                                 if f.quota is not None]
    names = {x.code: x.name for x in (*plan.forms, *plan.titles)}
    out: dict[int, list[str]] = {}
    for q in quotas:
        groups: dict[tuple, list[int]] = {}
        bases: dict[tuple, set[str]] = {}
        for i, it in enumerate(items):
            if not it.live:
                continue
            scope = (it.unit, it.round) if q.per == "unit" else ()
            if q.applies in (it.title, it.form):
                groups.setdefault(scope, []).append(i)
            if q.max_ratio is not None and (q.of in (it.title, it.form) or q.applies in (it.title, it.form)):
                bases.setdefault(scope, set()).add(it.name.casefold())
        for scope, members in groups.items():
            if q.max_ratio is not None:
                base = len(bases.get(scope, ()))
                over = len(members) > q.max_ratio * base + 1e-9
            else:
                base, over = None, len(members) > (q.max_count or 0)
            if over:
                text = _quota_text(q, names.get(q.applies, q.applies), len(members), base, law.cite(q.legal))
                for i in members:
                    out.setdefault(i, []).append(text)
    return out
