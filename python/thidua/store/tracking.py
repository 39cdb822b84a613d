"""Who has reported: status per unit and round (ok, errors, missing, late) from the store."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from thidua.store import db as store

STATUS_VI = {"ok": "Đã nộp đúng hạn", "late": "Nộp trễ hạn", "errors": "Có lỗi, chờ gửi lại",
             "missing": "Chưa nộp"}
NEEDS_REMINDER = ("missing", "errors")


def vn_time(iso: str | None) -> str:
    """Stored ISO time as `HH:MM dd/mm/yyyy` for messages."""
    return dt.datetime.fromisoformat(iso).strftime("%H:%M %d/%m/%Y") if iso else ""


def rounds_in_scope(plan, round_code: str | None) -> list:
    """The named round, or every round that has a due date (ad-hoc rounds have none)."""
    if round_code:
        return [plan.round(round_code)]
    return [r for r in plan.rounds if r.due]


def status_rows(db_path, plan, units, round_code: str | None = None) -> list[dict]:
    """One row per unit and round: unit, name, cluster, email, round, status, received_at, n_errors, ...

    status: ok (a valid report, first file on time), late (a valid report whose unit's first file came
    after the end of the due day, local time),
    errors (only files with errors so far), missing (nothing received). Extra keys: n_files, file_name,
    sha256 (of the accepted file, if any), note (e.g. an invalid resubmission that did not replace it).
    """
    rounds = rounds_in_scope(plan, round_code)
    unit_list = list(units.values()) if isinstance(units, dict) else list(units)
    conn = store.connect(Path(db_path), create=False)
    try:
        subs: dict[tuple, list] = {}
        codes = tuple(r.code for r in rounds)
        sql = ("SELECT unit, round, status, received_at, n_errors, file_name, sha256 FROM submissions "
               f"WHERE round IN ({','.join('?' * len(codes))}) ORDER BY received_at, id")
        for unit, rnd, *rest in conn.execute(sql, codes):
            subs.setdefault((unit, rnd), []).append(rest)
    finally:
        conn.close()
    rows = []
    for rnd in rounds:
        deadline = store.due_deadline(rnd)
        for u in unit_list:
            history = subs.get((u.code, rnd.code), [])
            row = {"unit": u.code, "name": u.name, "cluster": u.cluster, "email": u.email, "round": rnd.code,
                   "status": "missing", "received_at": None, "n_errors": 0, "n_files": len(history),
                   "file_name": None, "sha256": None, "note": "", "first_received_at": history[0][1] if history else None}
            accepted = next((h for h in history if h[0] == "accepted"), None)
            if accepted:
                _, received, _, name, sha = accepted
                late = deadline is not None and history[0][1] > deadline
                row.update(status="late" if late else "ok", received_at=received, file_name=name, sha256=sha)
                later_bad = [h for h in history if h[0] in ("rejected", "unreadable") and h[1] > received]
                if later_bad:
                    row["note"] = (f"Bản gửi lại lúc {vn_time(later_bad[-1][1])} có {later_bad[-1][2]} lỗi nên "
                                   "không thay bản hợp lệ; đang dùng bản hợp lệ trước đó")
            elif history:
                status, received, n_errors, name, sha = history[-1]
                row.update(status="errors", received_at=received, n_errors=max(n_errors, 1), file_name=name,
                           sha256=sha)
                if status == "unreadable":
                    row["note"] = "Tệp không đọc được"
            rows.append(row)
    return rows


def status_label(status: str) -> str:
    return STATUS_VI.get(status, status)
