"""Reviewed scores entered by the office (they win over a unit's self-score)."""
from __future__ import annotations

from typing import Iterable

from thidua.store.store import Store, now_iso


def reviewed_for_round(store: Store, round_code: str) -> dict[str, dict[str, float]]:
    """{unit: {criterion: score}} of one round."""
    out: dict[str, dict[str, float]] = {}
    for r in store.rows("SELECT unit, criterion, score FROM reviewed_scores WHERE round = ?", (round_code,)):
        out.setdefault(r["unit"], {})[r["criterion"]] = float(r["score"])
    return out


def all_reviewed(store: Store) -> dict[tuple[str, str, str], float]:
    """{(unit, round, criterion): score} of every round."""
    return {(r["unit"], r["round"], r["criterion"]): r["score"]
            for r in store.rows("SELECT unit, round, criterion, score FROM reviewed_scores")}


def save_reviewed(store: Store, scores: Iterable[tuple[str, str, str, float]], source: str) -> int:
    """Write (unit, round, criterion, score) rows in one transaction, replacing earlier entries."""
    now = now_iso()
    rows = [{"unit": u, "round": r, "criterion": c, "score": s, "source": source, "entered_at": now}
            for u, r, c, s in scores]
    with store.atomic():
        return store.insert_many("reviewed_scores", rows, replace=True)
