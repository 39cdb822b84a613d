"""Award decisions in the store: the decision records, their recipients and register numbers (all their SQL)."""
from __future__ import annotations

import json
from typing import Any, Sequence

from thidua.store.store import Store

RECIPIENT_FIELDS = ("proposal_id", "seq", "register_no", "subject", "name", "birth_year", "position", "unit",
                    "unit_name", "summary", "amount", "source", "override", "warnings")


def next_number(store: Store, year: int) -> int:
    """The number after the highest decision number of `year` (1 for the first)."""
    return int(store.scalar("SELECT coalesce(max(number), 0) FROM award_decisions WHERE year = ?", (year,))) + 1


def next_register_no(store: Store) -> int:
    """The register number («số vào sổ») after the highest one given: it runs on across decisions."""
    return int(store.scalar("SELECT coalesce(max(register_no), 0) FROM award_recipients")) + 1


def number_taken(store: Store, year: int, number_text: str) -> dict | None:
    return store.one("SELECT id, number_text, date, form, round FROM award_decisions WHERE year = ? AND "
                     "number_text = ?", (year, number_text))


def insert(store: Store, decision: dict, recipients: Sequence[dict]) -> int:
    """Store a decision and its recipients in one transaction; returns its id."""
    with store.atomic():
        row = dict(decision, context=json.dumps(decision["context"], ensure_ascii=False, sort_keys=True))
        decision_id = store.insert("award_decisions", row)
        store.insert_many("award_recipients", [{"decision_id": decision_id, **{k: r.get(k) for k in RECIPIENT_FIELDS}}
                                               for r in recipients])
    return decision_id


def _decode(row: dict | None) -> dict | None:
    if row is not None:
        row["context"] = json.loads(row["context"])
    return row


def decisions(store: Store, year: int | None = None, rounds: Sequence[str] | None = None) -> list[dict]:
    """Every decision (of `year`, of `rounds`), oldest number first, with its recipient counts."""
    rows = store.rows("SELECT d.*, (SELECT count(*) FROM award_recipients r WHERE r.decision_id = d.id AND "
                      "r.subject = 'collective') AS n_collectives, (SELECT count(*) FROM award_recipients r WHERE "
                      "r.decision_id = d.id AND r.subject <> 'collective') AS n_individuals "
                      "FROM award_decisions d ORDER BY d.year, d.number, d.id")
    wanted = None if rounds is None else set(rounds)
    return [_decode(r) for r in rows if (year is None or r["year"] == year)
            and (wanted is None or r["round"] in wanted)]


def decision(store: Store, decision_id: int) -> dict | None:
    return _decode(store.one("SELECT * FROM award_decisions WHERE id = ?", (decision_id,)))


def find(store: Store, year: int, number: Any) -> dict | None:
    """A decision by its number («5», «05» or «05/QĐ-CĐN») within `year`."""
    text = str(number).strip()
    row = store.one("SELECT id FROM award_decisions WHERE year = ? AND number_text = ?", (year, text))
    if row is None and text.isdigit():
        row = store.one("SELECT id FROM award_decisions WHERE year = ? AND number = ? ORDER BY id DESC",
                        (year, int(text)))
    return decision(store, row["id"]) if row else None


def recipients(store: Store, decision_id: int) -> list[dict]:
    """A decision's recipients in the order of its list."""
    return store.rows("SELECT * FROM award_recipients WHERE decision_id = ? ORDER BY seq", (decision_id,))


def awarded_proposals(store: Store, year: int) -> dict[int, dict]:
    """{proposal id: the decision that lists it (id, number_text, date, form, round)} for `year`."""
    rows = store.rows("SELECT r.proposal_id, d.id, d.number_text, d.date, d.form, d.round FROM award_recipients r "
                      "JOIN award_decisions d ON d.id = r.decision_id WHERE d.year = ?", (year,))
    return {r["proposal_id"]: r for r in rows}
