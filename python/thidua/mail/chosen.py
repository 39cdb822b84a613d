"""Decisions the office chose on the workbook's «Thư chưa rõ» sheet: which to record, and the sheet after a send."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from thidua.workbook.layout import MAIL_CHOICES, MAIL_KINDS, TypedMailDecision


@dataclass
class Chosen:
    """The sheet's choices against the round being sent: `take` (recorded now, by unit), `refused` (kept on the
    sheet with why, by unit), `others` (another round's or kind's, kept for when that round is chosen)."""

    take: dict = field(default_factory=dict)
    refused: dict = field(default_factory=dict)
    others: list = field(default_factory=list)

    def units(self, action: str) -> list[str]:
        return [u for u, t in self.take.items() if t.action == action]

    def notes(self) -> dict:
        return {u: t.note for u, t in self.take.items() if t.note}


def sort_chosen(typed: list[TypedMailDecision], round_code: str, what: str, open_units: set[str]) -> Chosen:
    """Split the sheet's choices: a valid choice for a message of this round still «sending» is taken."""
    found = Chosen()
    for t in typed:
        if (t.round, t.what) != (round_code, what):
            found.others.append(t)
        elif t.action and t.unit in open_units:
            found.take[t.unit] = t
        else:
            found.refused[t.unit] = t
    return found


def sheet_rows(report, chosen: Chosen, round_code: str, what: str) -> list[tuple]:
    """The «Thư chưa rõ» sheet after a send: messages still «sending» (a choice that could not be taken kept on its
    row with why), those decided now with what was done, then choices that could not apply to any message."""
    rows = []
    for r in report.uncertain_rows:
        t = chosen.refused.get(r["unit"].upper())
        why = (f"Chưa ghi: «{t.chosen}» không phải một lựa chọn; chọn «{MAIL_CHOICES['resend']}» hoặc "
               f"«{MAIL_CHOICES['mark_sent']}».") if t else ""
        rows.append(_row(r, t.chosen if t else "", t.note if t else "", why))
    sent = set(report.sent)
    for d in report.decisions:
        done = (f"Đã ghi «{MAIL_CHOICES['resend']}»: " + ("đã gửi lại, cùng mã thư" if d["unit"] in sent else
                                                           "chưa gửi được")
                if d["action"] == "resend" else f"Đã ghi «{MAIL_CHOICES['mark_sent']}»: không gửi lại")
        rows.append(_row(d, MAIL_CHOICES[d["action"]], d.get("reason") or "", f"{done} (do {d['decided_by']})."))
    listed = {r["unit"].upper() for r in report.uncertain_rows}
    for t in (t for u, t in chosen.refused.items() if u not in listed):     # decided meanwhile, or never «sending»
        rows.append((t.unit, round_code, MAIL_KINDS.get(what, what), "", "", "", "", t.chosen, t.note,
                     "Chưa ghi: thư của đơn vị này không còn ở trạng thái chưa rõ (đã được quyết định); không cần làm "
                     "gì thêm."))
    for t in chosen.others:
        rows.append((t.unit, t.round, MAIL_KINDS.get(t.what, ""), "", "", "", "", t.chosen, t.note,
                     f"Chưa ghi: thư kỳ {t.round}; chọn kỳ đó ở ô «Kỳ báo cáo» rồi bấm lại nút."))
    return rows


def _row(r: dict, chosen: str, note: str, result: str) -> tuple:
    return (r["unit"], r["round"], MAIL_KINDS.get(r["what"], r["what"]), r["recipient"], r.get("subject") or "",
            _when(r.get("started_at")), r.get("message_id") or "", chosen, note, result)


def _when(stamp: str | None) -> str:
    try:
        return dt.datetime.fromisoformat(stamp).strftime("%H:%M:%S %d/%m/%Y")
    except (TypeError, ValueError):
        return stamp or ""
