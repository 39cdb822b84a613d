"""Checks across a unit's reports of one year, declared in the plan (`[[rules]]` of kind never_decreases)."""
from __future__ import annotations

from thidua.intake.messages import make_issue
from thidua.plan.model import Plan
from thidua.store import submissions
from thidua.store.store import Store
from thidua.store.values import values_by_submission
from thidua.text.numbers import format_number


def nested_rounds(plan: Plan) -> list[tuple]:
    """(earlier, later) rounds where the later one counts from the same day over a longer time (SK1 in TK)."""
    rounds = [r for r in plan.rounds if r.period]
    return [(a, b) for a in rounds for b in rounds if a.start == b.start and a.end < b.end]


def decreases(store: Store, plan: Plan, round_code: str | None = None, later_only: bool = False) -> list[dict]:
    """Every cumulative figure of a unit's current report that is below its figure in an earlier report of the same
    year: unit, indicator, both rounds, both figures, both files (and when the later one came), and the warning
    (V022) that says so. With `round_code`, the pairs of rounds it belongs to (`later_only`: as the later round,
    what its reports show)."""
    rules = [r for r in plan.rules if r.kind == "never_decreases"]
    pairs = [(a, b) for a, b in nested_rounds(plan)
             if round_code is None or round_code == b.code or (round_code == a.code and not later_only)]
    if not rules or not pairs:
        return []
    codes = sorted({r.code for pair in pairs for r in pair})
    current = submissions.current_ids(store, codes)
    figures = values_by_submission(store, codes, "ind.")
    subs = {s.id: s for history in submissions.histories(store, codes).values() for s in history}
    names = {i: s.file_name for i, s in subs.items()}
    labels = {i.code: i.label for i in plan.indicators}
    out = []
    for rule in rules:
        for earlier, later in pairs:
            asked = set(i.code for i in plan.indicators_for(earlier.code)) & set(
                i.code for i in plan.indicators_for(later.code))
            for (unit, rc), sid in sorted(current.items()):
                if rc != later.code or (unit, earlier.code) not in current:
                    continue
                before = figures.get(current[(unit, earlier.code)], {})
                now = figures.get(sid, {})
                for code in rule.fields:
                    a, b = before.get(code), now.get(code)
                    if code in asked and _number(a) and _number(b) and b < a:
                        issue = make_issue(rule.message, sheet=None, field=f"ind.{code}", value=b, bound=a,
                                           label=labels[code], unit=unit, round=later.code, earlier=earlier.code,
                                           file=names.get(sid, ""), earlier_file=names.get(current[(unit, earlier.code)], ""))
                        out.append({"unit": unit, "indicator": code, "round": later.code, "value": b,
                                    "file": names.get(sid), "received_at": subs[sid].received_at,
                                    "earlier_round": earlier.code, "earlier_value": a,
                                    "earlier_file": names.get(current[(unit, earlier.code)]), "rule": rule.code,
                                    "code": issue.code, "message": issue.message})
    return out


def decrease_notes(plan: Plan, items: list[dict]) -> dict[tuple[str, str], str]:
    """{(unit, later round): the note a unit's row shows for its `decreases` items}, e.g. «Số liệu cộng dồn từ đầu năm
    nhỏ hơn kỳ trước: «Số tiền thăm hỏi…» 9.000.000 (kỳ SK1: 12.500.000)»."""
    labels = {i.code: i.label for i in plan.indicators}
    grouped: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for item in items:
        grouped.setdefault((item["unit"], item["round"]), {}).setdefault(item["indicator"], []).append(item)
    return {key: "Số liệu cộng dồn từ đầu năm nhỏ hơn kỳ trước (cần kiểm tra với đơn vị): " + "; ".join(
        f"«{labels.get(code, code)}» {format_number(found[0]['value'])} ("
        + ", ".join(f"kỳ {i['earlier_round']}: {format_number(i['earlier_value'])}" for i in found) + ")"
        for code, found in by_code.items()) for key, by_code in grouped.items()}


def decreases_sentence(items: list[dict]) -> str:
    """How many `decreases` items, of how many units: «3 số liệu cộng dồn của 2 đơn vị nhỏ hơn kỳ trước cùng năm»."""
    return f"{len(items)} số liệu cộng dồn của {len({i['unit'] for i in items})} đơn vị nhỏ hơn kỳ trước cùng năm"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
