"""Commendation proposals taken from accepted submissions, and the office's decisions on them."""
from __future__ import annotations

from typing import Iterator

from thidua.store.store import Store
from thidua.store.values import table_rows

PROP_FIELDS = ("subject", "name", "position", "title", "form", "dat_ldtt", "co_sang_kien", "ty_le_ldtt",
               "ky_luat", "summary", "adhoc")
DECISION_FIELDS = ("state", "decided_form", "decision_note", "decided_at")


def refresh(store: Store, unit: str, rnd: str, submission_id: int) -> None:
    """Proposals follow the accepted submission; office decisions carry over by (subject, name)."""
    decided = {(r["subject"], r["name"]): tuple(r[f] for f in DECISION_FIELDS) for r in store.rows(
        "SELECT subject, name, " + ", ".join(DECISION_FIELDS) + " FROM proposals WHERE unit=? AND round=?", (unit, rnd))}
    store.conn.execute("DELETE FROM proposals WHERE unit=? AND round=?", (unit, rnd))
    for row, vals in sorted(table_rows(store, submission_id, "prop.").items()):
        if not vals.get("name"):
            continue
        decision = decided.get((vals.get("subject"), vals.get("name")), ("proposed", None, None, None))
        store.insert("proposals", {"submission_id": submission_id, "row": row, "unit": unit, "round": rnd,
                                   **{f: vals.get(f) for f in PROP_FIELDS}, **dict(zip(DECISION_FIELDS, decision))})


def all_proposals(store: Store) -> list[dict]:
    """Every proposal with its columns and the receipt time of its submission, by id."""
    return store.rows("SELECT p.*, s.received_at FROM proposals p LEFT JOIN submissions s "
                      "ON s.id = p.submission_id ORDER BY p.id")


def proposal(store: Store, proposal_id: int) -> dict | None:
    return store.one("SELECT * FROM proposals WHERE id = ?", (proposal_id,))


def set_decision(store: Store, proposal_id: int, state: str, decided_form: str | None, note: str | None,
                 decided_at: str) -> None:
    with store.atomic():
        store.conn.execute("UPDATE proposals SET state = ?, decided_form = ?, decision_note = ?, decided_at = ? "
                           "WHERE id = ?", (state, decided_form, note, decided_at, proposal_id))


def proposals_of_round(store: Store, round_code: str) -> Iterator[tuple]:
    """(unit, subject, name, position, title, form, dat_ldtt, co_sang_kien, ty_le_ldtt, ky_luat, summary, adhoc, row,
    sheet) of a round, by unit and row, streamed."""
    return store.conn.execute(
        "SELECT p.unit, p.subject, p.name, p.position, p.title, p.form, p.dat_ldtt, p.co_sang_kien, "
        "p.ty_le_ldtt, p.ky_luat, p.summary, p.adhoc, p.row, "
        "(SELECT v.sheet FROM cell_values v WHERE v.submission_id = p.submission_id AND v.row = p.row "
        " AND v.field = 'prop.name') FROM proposals p WHERE p.round=? ORDER BY p.unit, p.row", (round_code,))


def round_signature(store: Store, round_code: str) -> tuple:
    """What changes when a round's proposals change: (count, highest id, highest submission id)."""
    return store.conn.execute("SELECT count(*), max(id), max(submission_id) FROM proposals WHERE round=?",
                              (round_code,)).fetchone()
