"""Store queries for re-judging: recorded fingerprints, archived submissions, replaced verdicts and their history."""
from __future__ import annotations

import json
from typing import Iterable

from thidua.store.store import Store, now_iso

FINGERPRINTS = ("key_fingerprint", "plan_fingerprint", "register_fingerprint")
IDENTITY_CODES = ("M001", "M002", "M003")      # no readable, signed identity: says nothing about the key


def recorded_fingerprints(store: Store) -> dict[str, str | None]:
    """The key, plan and register fingerprints recorded at the last judgement (None when never recorded)."""
    return {name: store.meta(name) for name in FINGERPRINTS}


def record_fingerprints(store: Store, prints: dict[str, str]) -> None:
    with store.atomic():
        for name in FINGERPRINTS:
            if prints.get(name):
                store.set_meta(name, prints[name])


def has_submissions(store: Store) -> bool:
    return bool(store.scalar("SELECT count(*) FROM submissions"))


def judged_files(store: Store, round_code: str | None = None) -> list[dict]:
    """Every submission with its archive copy, oldest first (optionally one round's)."""
    sql = ("SELECT s.id, s.sha256, s.unit, s.round, s.template_version, s.status, s.n_errors, s.n_warnings, "
           "s.file_name, s.received_at, f.archive_path FROM submissions s JOIN files f USING (sha256)")
    args: tuple = ()
    if round_code:
        sql += " WHERE s.round = ?"
        args = (round_code,)
    return store.rows(sql + " ORDER BY s.received_at, s.id", args)


def signed_sample(store: Store, limit: int = 20) -> list[dict]:
    """Recent archived files whose signed identity could be read: the ones that tell whether a key is right."""
    marks = ",".join("?" * len(IDENTITY_CODES))
    return store.rows(
        "SELECT s.id, s.file_name, f.archive_path FROM submissions s JOIN files f USING (sha256) "
        f"WHERE s.status != 'unreadable' AND s.id NOT IN (SELECT submission_id FROM issues WHERE code IN ({marks})) "
        "ORDER BY s.received_at DESC, s.id DESC LIMIT ?", (*IDENTITY_CODES, limit))


def issues_of(store: Store, submission_id: int) -> list[dict]:
    return store.rows("SELECT code, severity, sheet, cell, field, value, message FROM issues "
                      "WHERE submission_id = ? ORDER BY rowid", (submission_id,))


def replace_judgement(store: Store, submission_id: int, head: dict, values: Iterable[tuple],
                      issues: Iterable[dict]) -> None:
    """Put a new verdict in place of the old one: the submission's head columns, its values and issues.

    `head`: unit, round, template_version, status, n_errors, n_warnings; `values`: cell_values rows as tuples
    (submission_id, sheet, cell, field, row, value_num, value_text, value_date)."""
    cols = ("submission_id", "sheet", "cell", "field", "row", "value_num", "value_text", "value_date")
    with store.atomic():
        sets = ", ".join(f"{name} = ?" for name in head)
        store.conn.execute(f"UPDATE submissions SET {sets} WHERE id = ?", (*head.values(), submission_id))
        store.conn.execute("DELETE FROM cell_values WHERE submission_id = ?", (submission_id,))
        store.conn.execute("DELETE FROM issues WHERE submission_id = ?", (submission_id,))
        store.insert_many("cell_values", [dict(zip(cols, v)) for v in values])
        store.insert_many("issues", [dict(i, submission_id=submission_id) for i in issues])


def record_verdict(store: Store, submission_id: int, reason: str, old: dict, new: dict, old_issues: list[dict],
                   prints: dict[str, str]) -> None:
    """One line of a submission's verdict history (the old judgement is kept whole, issues included)."""
    store.insert("verdicts", {
        "submission_id": submission_id, "judged_at": now_iso(), "reason": reason,
        "old_status": old["status"], "new_status": new["status"], "old_unit": old["unit"], "old_round": old["round"],
        "old_errors": old["n_errors"], "new_errors": new["n_errors"],
        "old_warnings": old["n_warnings"], "new_warnings": new["n_warnings"],
        "old_issues": json.dumps(old_issues, ensure_ascii=False),
        **{name: prints.get(name) for name in FINGERPRINTS}})


def statuses(store: Store, ids: Iterable[int]) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    return {r["id"]: r["status"] for r in store.rows(
        f"SELECT id, status FROM submissions WHERE id IN ({','.join('?' * len(ids))})", ids)}


def verdict_history(store: Store, submission_id: int | None = None) -> list[dict]:
    """Every change of verdict, oldest first (of one submission, or all)."""
    sql = "SELECT * FROM verdicts"
    args: tuple = ()
    if submission_id is not None:
        sql += " WHERE submission_id = ?"
        args = (submission_id,)
    return store.rows(sql + " ORDER BY id", args)
