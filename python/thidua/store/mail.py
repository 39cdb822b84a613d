"""Store queries of the mailbox: fetch state, files taken from mail with their receipt time, the sent log."""
from __future__ import annotations

from thidua.store.store import Store, now_iso


# ---------------------------------------------------------------- fetch state
def mail_state(store: Store, account: str, folder: str) -> dict | None:
    return store.one("SELECT uidvalidity, last_uid, fetched_at FROM mail_state WHERE account = ? AND folder = ?",
                     (account, folder))


def set_mail_state(store: Store, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    store.upsert("mail_state", [{"account": account, "folder": folder, "uidvalidity": uidvalidity,
                                 "last_uid": last_uid, "fetched_at": now_iso()}], key=("account", "folder"))


# ---------------------------------------------------------------- files taken from mail
def mail_file(store: Store, sha256: str) -> dict | None:
    return store.one("SELECT * FROM mail_files WHERE sha256 = ?", (sha256,))


def record_mail_file(store: Store, row: dict) -> None:
    """Record a saved attachment; a file already recorded keeps its first (earliest) provenance."""
    if mail_file(store, row["sha256"]) is None:
        store.insert("mail_files", dict(row, fetched_at=now_iso()))
    else:                                   # seen again in an earlier message (a re-scan): keep the earliest
        store.conn.execute(
            "UPDATE mail_files SET received_at = ?, sender = ?, origin_sender = ?, subject = ?, message_id = ?, "
            "uidvalidity = ?, uid = ? WHERE sha256 = ? AND received_at > ?",
            (row["received_at"], row["sender"], row["origin_sender"], row["subject"], row["message_id"],
             row["uidvalidity"], row["uid"], row["sha256"], row["received_at"]))


def mail_receipt(store: Store, sha256: str) -> str | None:
    """When the office's mailbox received this file (local ISO time), or None if it did not come by mail."""
    return store.scalar("SELECT received_at FROM mail_files WHERE sha256 = ?", (sha256,))


def mail_receipts(store: Store, shas: list[str]) -> dict[str, str]:
    """{sha256: when the mailbox received it} of those of `shas` that came by mail (one read for many files)."""
    if not shas:
        return {}
    return {sha: when for sha, when in store.conn.execute(
        f"SELECT sha256, received_at FROM mail_files WHERE sha256 IN ({','.join('?' * len(shas))})", tuple(shas))}


def mail_files(store: Store) -> list[dict]:
    return store.rows("SELECT * FROM mail_files ORDER BY received_at, file_name")


# ---------------------------------------------------------------- messages not taken yet
def record_problem(store: Store, account: str, folder: str, uidvalidity: int, uid: int, reason: str,
                   subject: str | None, sender: str | None) -> None:
    store.upsert("mail_problems", [{"account": account, "folder": folder, "uidvalidity": uidvalidity, "uid": uid,
                                    "reason": reason, "subject": subject, "sender": sender, "seen_at": now_iso()}],
                 key=("account", "folder", "uidvalidity", "uid"))


def clear_problem(store: Store, account: str, folder: str, uidvalidity: int, uid: int) -> None:
    store.conn.execute("DELETE FROM mail_problems WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid = ?",
                       (account, folder, uidvalidity, uid))


def problem_uids(store: Store, account: str, folder: str, uidvalidity: int) -> list[int]:
    return [r["uid"] for r in store.rows("SELECT uid FROM mail_problems WHERE account = ? AND folder = ? AND "
                                         "uidvalidity = ? ORDER BY uid", (account, folder, uidvalidity))]


def drop_problems(store: Store, account: str, folder: str) -> None:
    """Forget problems of an earlier UIDVALIDITY (the re-scan meets those messages again)."""
    store.conn.execute("DELETE FROM mail_problems WHERE account = ? AND folder = ?", (account, folder))


# ---------------------------------------------------------------- the sent log
def sent_entry(store: Store, send_key: str) -> dict | None:
    return store.one("SELECT * FROM mail_sent WHERE send_key = ?", (send_key,))


def begin_send(store: Store, row: dict) -> None:
    store.insert("mail_sent", dict(row, state="sending", started_at=now_iso()))


def finish_send(store: Store, send_key: str) -> None:
    store.conn.execute("UPDATE mail_sent SET state = 'sent', sent_at = ? WHERE send_key = ?", (now_iso(), send_key))


def cancel_send(store: Store, send_key: str) -> None:
    store.conn.execute("DELETE FROM mail_sent WHERE send_key = ? AND state = 'sending'", (send_key,))


def uncertain_sends(store: Store, round_code: str, what: str) -> list[dict]:
    """Messages a killed run left «sending»: they may or may not have reached the unit."""
    return store.rows("SELECT * FROM mail_sent WHERE round = ? AND what = ? AND state = 'sending' ORDER BY unit, started_at",
                      (round_code, what))


def decide_send(store: Store, row: dict, action: str, who: str, reason: str) -> dict:
    """Record the office's decision on a message left «sending»: `resend` (the log row is removed so that the
    message goes again) or `mark_sent` (the row becomes «sent»). Returns the decision as recorded."""
    seq = store.scalar("SELECT count(*) FROM mail_decisions WHERE send_key = ?", (row["send_key"],)) + 1
    decision = {"send_key": row["send_key"], "seq": seq, "round": row["round"], "what": row["what"],
                "unit": row["unit"], "recipient": row["recipient"], "subject": row["subject"],
                "message_id": row["message_id"], "started_at": row["started_at"], "action": action,
                "decided_by": who, "decided_at": now_iso(), "reason": reason}
    store.insert("mail_decisions", decision)
    if action == "mark_sent":
        store.conn.execute("UPDATE mail_sent SET state = 'sent', sent_at = ? WHERE send_key = ? AND state = 'sending'",
                           (decision["decided_at"], row["send_key"]))
    else:
        store.conn.execute("DELETE FROM mail_sent WHERE send_key = ? AND state = 'sending'", (row["send_key"],))
    return decision


def send_decisions(store: Store, round_code: str | None = None) -> list[dict]:
    """Every decision on uncertain messages (of one round), oldest first."""
    if round_code:
        return store.rows("SELECT * FROM mail_decisions WHERE round = ? ORDER BY decided_at, send_key, seq",
                          (round_code,))
    return store.rows("SELECT * FROM mail_decisions ORDER BY decided_at, send_key, seq")


def sent_log(store: Store, round_code: str | None = None) -> list[dict]:
    if round_code:
        return store.rows("SELECT * FROM mail_sent WHERE round = ? ORDER BY started_at, send_key", (round_code,))
    return store.rows("SELECT * FROM mail_sent ORDER BY started_at, send_key")


def archived_path(store: Store, sha256: str) -> str | None:
    """The archive copy of a received file, relative to the store's folder."""
    return store.scalar("SELECT archive_path FROM files WHERE sha256 = ?", (sha256,))
