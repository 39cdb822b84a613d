"""Proposals in the store: stable ids across resubmissions, decisions and their history (all their SQL)."""
from __future__ import annotations

import json
import unicodedata
from typing import Any, Iterable, Iterator, Sequence

from thidua.store.store import Store, now_iso

BASE_FIELDS = ("subject", "name", "position", "title", "form", "summary", "adhoc")
LEGACY_FIELDS = ("dat_ldtt", "co_sang_kien", "ty_le_ldtt", "ky_luat")     # columns of 0001, still filled
DECISION_FIELDS = ("state", "decided_form", "decision_note", "decided_at", "decided_by")


def name_key(name: Any) -> str:
    """A name for exact matching: NFC, lookalike Ð as Đ, case folded, spaces collapsed."""
    text = unicodedata.normalize("NFC", str(name or "")).replace("Ð", "Đ").replace("ð", "đ")
    return " ".join(text.casefold().split())


def folded_key(name: Any) -> str:
    """A name without diacritics (đ as d): a looser match, used only when it is unambiguous."""
    text = unicodedata.normalize("NFD", name_key(name).replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _file_rows(store: Store, sub_ids: Sequence[int]) -> dict[int, dict[int, dict]]:
    """{submission id: {row: {field: value}}} of the proposal tables of some files (one read for all)."""
    out: dict[int, dict[int, dict]] = {sid: {} for sid in sub_ids}
    if not sub_ids:
        return out
    for sid, fld, row, num, text, date in store.conn.execute(
            "SELECT submission_id, field, row, value_num, value_text, value_date FROM cell_values "
            f"WHERE submission_id IN ({','.join('?' * len(sub_ids))}) AND field LIKE 'prop.%' AND row IS NOT NULL",
            tuple(sub_ids)).fetchall():
        value = num if num is not None else (text if text is not None else date)
        out[sid].setdefault(row, {})[fld[5:]] = value
    return {sid: {row: vals for row, vals in rows.items() if vals.get("name")} for sid, rows in out.items()}


def _columns(vals: dict) -> dict:
    extra = {k: v for k, v in vals.items() if k not in BASE_FIELDS and v is not None}
    out = {f: vals.get(f) for f in BASE_FIELDS + LEGACY_FIELDS}
    out.update(fields=json.dumps(extra, ensure_ascii=False, sort_keys=True), name_key=name_key(vals.get("name")))
    return out


def _history(store: Store, proposal_id: int, event: str, at: str, **values: Any) -> None:
    store.insert("proposal_history", {"proposal_id": proposal_id, "at": at, "event": event, **values})


def refresh(store: Store, unit: str, rnd: str, sub_id: int, at: str | None = None) -> dict[str, int]:
    """Make the proposals of (unit, round) follow accepted submission `sub_id` (see refresh_many)."""
    return refresh_many(store, [(unit, rnd, sub_id)], at)[0]


def refresh_many(store: Store, changed: Sequence[tuple[str, str, int]], at: str | None = None) -> list[dict[str, int]]:
    """Make the proposals of each (unit, round) follow its accepted submission, keeping ids and decisions.

    Each row of the file is matched to a stored proposal of the same unit and round and subject: by exact
    name with the same title and form, then by exact name, then by name without diacritics when that is
    unambiguous, then by row position (a corrected name: flagged `row` and logged). Unmatched rows become new
    proposals; stored proposals no longer in the file are kept inactive (their ids are never reused).
    Runs inside the caller's transaction; reads once for all pairs and writes in batches, in the order the pairs
    are given (new ids and history lines follow it). Returns how many rows were matched each way, per pair."""
    at = at or now_iso()
    if not changed:
        return []
    files = _file_rows(store, sorted({sid for _, _, sid in changed}))
    units, rounds = sorted({u for u, _, _ in changed}), sorted({r for _, r, _ in changed})
    stored: dict[tuple[str, str], list[dict]] = {}
    for p in store.rows("SELECT id, row, subject, name, name_key, title, form, active, unit, round FROM proposals "
                        f"WHERE unit IN ({','.join('?' * len(units))}) AND round IN ({','.join('?' * len(rounds))}) "
                        "ORDER BY active DESC, id", (*units, *rounds)):
        stored.setdefault((p["unit"], p["round"]), []).append(p)
    updates: list[tuple] = []
    inserts: list[dict] = []
    later: list[tuple] = []                  # (order, row) of history lines, written after the proposals
    withdrawn: list[tuple] = []
    results = []
    for unit, rnd, sub_id in changed:
        counts, upd, ins, hist = _match(stored.get((unit, rnd), []), files[sub_id], unit, rnd, sub_id)
        results.append(counts)
        updates += upd
        inserts += ins
        later += hist
        withdrawn += [(pid,) for pid, event, _ in hist if event == "withdrawn"]
    if updates:
        names = tuple(_columns({}).keys())
        assignments = ", ".join(f"{c} = ?" for c in names)
        store.conn.executemany(f"UPDATE proposals SET submission_id = ?, row = ?, matched_by = ?, active = 1, "
                               f"{assignments} WHERE id = ?", updates)
    store.insert_many("proposals", inserts)
    if withdrawn:
        store.conn.executemany("UPDATE proposals SET active = 0 WHERE id = ?", withdrawn)
    store.insert_many("proposal_history", [{"proposal_id": pid, "at": at, "event": event, "detail": detail}
                                           for pid, event, detail in later])
    return results


def _match(old: list[dict], new: dict[int, dict], unit: str, rnd: str, sub_id: int):
    """One (unit, round): (counts, proposal updates, new proposals, history lines) as refresh_many writes them."""
    free = {p["id"]: p for p in old}
    todo = dict(sorted(new.items()))
    matched: dict[int, tuple[int, str]] = {}            # file row -> (proposal id, how)

    def match(how: str, key_old, key_new, unique: bool = False) -> None:
        index: dict[Any, list[int]] = {}
        for pid, p in free.items():
            index.setdefault(key_old(p), []).append(pid)
        wanted: dict[Any, list[int]] = {}
        for row, vals in todo.items():
            wanted.setdefault(key_new(row, vals), []).append(row)
        for key, rows in wanted.items():
            ids = index.get(key, [])
            if unique and (len(ids) != 1 or len(rows) != 1):
                continue
            for row, pid in zip(rows, ids):
                matched[row] = (pid, how)
                del free[pid]
                del todo[row]

    match("name", lambda p: (p["subject"], p["name_key"] or name_key(p["name"]), p["title"], p["form"]),
          lambda r, v: (v.get("subject"), name_key(v.get("name")), v.get("title"), v.get("form")))
    match("name", lambda p: (p["subject"], p["name_key"] or name_key(p["name"])),
          lambda r, v: (v.get("subject"), name_key(v.get("name"))))
    match("folded", lambda p: (p["subject"], folded_key(p["name"])),
          lambda r, v: (v.get("subject"), folded_key(v.get("name"))), unique=True)
    match("row", lambda p: (p["subject"], p["row"]) if p["active"] else None,
          lambda r, v: (v.get("subject"), r))
    counts = {"new": len(todo), "name": 0, "folded": 0, "row": 0, "withdrawn": 0}
    before = {p["id"]: p for p in old}
    updates, history = [], []
    for row, (pid, how) in matched.items():
        counts[how] += 1
        p = before[pid]
        updates.append((sub_id, row, how, *_columns(new[row]).values(), pid))
        if how == "row" and p["name"] != new[row].get("name"):
            history.append((pid, "renamed", f"{p['name']} → {new[row].get('name')}"))
        elif not p["active"]:
            history.append((pid, "returned", new[row].get("name")))
    inserts = [{"submission_id": sub_id, "row": row, "unit": unit, "round": rnd, "matched_by": "new", "active": 1,
                **_columns(vals)} for row, vals in todo.items()]
    for pid, p in free.items():
        if p["active"]:
            counts["withdrawn"] += 1
            history.append((pid, "withdrawn", p["name"]))
    return counts, updates, inserts, history


def _decode(row: dict) -> dict:
    """A stored proposal with its plan-declared fields spread into the dict (columns win where set)."""
    extra = json.loads(row.get("fields") or "{}")
    for key, value in extra.items():
        if row.get(key) in (None, ""):
            row[key] = value
    return row


def active_proposals(store: Store, rounds: Sequence[str] | None = None) -> list[dict]:
    """Every active proposal by id, with the receipt time and file name of its submission and the sheet and cell of
    its name (where it came from: a duplicate names both sources) (rounds: all unless given)."""
    rows = store.rows("SELECT p.*, s.received_at, s.file_name, v.sheet AS source_sheet, v.cell AS source_cell "
                      "FROM proposals p LEFT JOIN submissions s ON s.id = p.submission_id "
                      "LEFT JOIN cell_values v ON v.submission_id = p.submission_id AND v.row = p.row "
                      "AND v.field = 'prop.name' WHERE p.active = 1 ORDER BY p.id")
    wanted = None if rounds is None else set(rounds)
    return [_decode(r) for r in rows if wanted is None or r["round"] in wanted]


def proposal(store: Store, proposal_id: int) -> dict | None:
    found = store.one("SELECT * FROM proposals WHERE id = ?", (proposal_id,))
    return _decode(found) if found else None


def record_decision(store: Store, proposal_id: int, state: str, decided_form: str | None, note: str | None,
                    at: str, forced: bool = False, override: str | None = None, by: str | None = None) -> None:
    """Set a proposal's state, form and note, who decided and when, and log the change, in one transaction.
    `override`: the reason the office awards a nominee the plan's conditions reject (kept on the proposal and in
    its history); leaving «awarded» clears it."""
    with store.atomic():
        old = store.one("SELECT state, decided_form FROM proposals WHERE id = ?", (proposal_id,))
        store.conn.execute("UPDATE proposals SET state = ?, decided_form = ?, decision_note = ?, decided_at = ?, "
                           "award_override = ?, decided_by = ? WHERE id = ?",
                           (state, decided_form, note, at, override if state == "awarded" else None, by, proposal_id))
        _history(store, proposal_id, "forced" if forced else "decision", at, old_state=old["state"],
                 new_state=state, form=decided_form, note=note if override is None else f"{note or ''} "
                 f"[khen thưởng dù không đủ điều kiện: {override}]".strip(), forced=int(forced), decided_by=by)


def history(store: Store, proposal_id: int | None = None) -> list[dict]:
    """The logged changes of one proposal (or all), oldest first."""
    if proposal_id is None:
        return store.rows("SELECT * FROM proposal_history ORDER BY id")
    return store.rows("SELECT * FROM proposal_history WHERE proposal_id = ? ORDER BY id", (proposal_id,))


def insert_rows(store: Store, sub_id: int, unit: str, rnd: str, rows: Iterable[dict]) -> None:
    """Proposals of a submission from plain dicts (tests and imports); unknown keys go to `fields`."""
    for number, vals in enumerate(rows, start=1):
        known = {k: vals[k] for k in DECISION_FIELDS if k in vals}
        store.insert("proposals", {"submission_id": sub_id, "row": number, "unit": unit, "round": rnd,
                                   **_columns({k: v for k, v in vals.items() if k not in DECISION_FIELDS}), **known})


def proposals_of_round(store: Store, round_code: str) -> Iterator[tuple]:
    """(unit, subject, name, position, title, form, dat_ldtt, co_sang_kien, ty_le_ldtt, ky_luat, summary, adhoc, row,
    sheet) of a round's active proposals, by unit and row, streamed."""
    return store.stream(
        "SELECT p.unit, p.subject, p.name, p.position, p.title, p.form, p.dat_ldtt, p.co_sang_kien, "
        "p.ty_le_ldtt, p.ky_luat, p.summary, p.adhoc, p.row, "
        "(SELECT v.sheet FROM cell_values v WHERE v.submission_id = p.submission_id AND v.row = p.row "
        " AND v.field = 'prop.name') FROM proposals p WHERE p.round=? AND p.active = 1 ORDER BY p.unit, p.row",
        (round_code,))


def round_signature(store: Store, round_code: str) -> tuple:
    """What changes when a round's proposals change: (count, highest id, highest submission id, last change)."""
    return store.conn.execute(
        "SELECT count(*), max(id), max(submission_id), (SELECT max(h.id) FROM proposal_history h JOIN proposals q "
        "ON q.id = h.proposal_id WHERE q.round = ?) FROM proposals WHERE round=?", (round_code, round_code)).fetchone()
