"""Each domain definition in one function: receipt time, on time and days late, the current submission,
"launched", a count indicator's figure for a period. Every output (status, committee workbook, summaries,
the master workbook, the UDF, reminders) computes its figures through these."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple, Sequence

from thidua.store.vocabulary import RECEIPT_SOURCE, REPORT_STATUS, VALID

YES = "Có"
FILE_SOURCE = "file"
SOURCE_RANK = {"office": 3, "mail": 2, "file": 1}     # a stronger source replaces a weaker one, never the reverse


class Submission(NamedTuple):
    """One distinct file read for a unit and round, with when (and by what account) the office received it.
    (A named tuple: the store makes thousands of these per query.)"""

    id: int
    sha256: str
    unit: str | None
    round: str | None
    status: str
    received_at: str                 # ISO local time, seconds
    source: str = FILE_SOURCE        # mail | office | file
    n_errors: int = 0
    file_name: str | None = None
    n_warnings: int = 0

    @property
    def valid(self) -> bool:
        return self.status in VALID


# ---------------------------------------------------------------- receipt time
def receipt_text(iso: str | None, source: str | None) -> str:
    """A receipt time as people read it, `HH:MM dd/mm/yyyy`, marked «theo ngày lưu tệp» when it is only the
    file's modification time."""
    if not iso:
        return ""
    text = dt.datetime.fromisoformat(iso).strftime("%H:%M %d/%m/%Y")
    return f"{text} ({RECEIPT_SOURCE[FILE_SOURCE]})" if (source or FILE_SOURCE) == FILE_SOURCE else text


def receipt_note(source: str | None) -> str:
    """What an output adds beside a lateness figure whose time is only the file's date ("" otherwise)."""
    return "Thời điểm nhận theo ngày lưu tệp" if (source or FILE_SOURCE) == FILE_SOURCE else ""


def stronger_receipt(old_source: str | None, new_source: str) -> bool:
    """Whether a receipt time from `new_source` may replace one from `old_source`."""
    return SOURCE_RANK[new_source] >= SOURCE_RANK.get(old_source or FILE_SOURCE, 1)


# ---------------------------------------------------------------- on time, late, days late
def deadline(rnd) -> str | None:
    """Received after this ISO time (end of the due day, local time) is late; None for rounds without a due date."""
    return f"{rnd.due.isoformat()}T23:59:59" if getattr(rnd, "due", None) else None


def days_late(rnd, received_at: str | None) -> int | None:
    """None when nothing valid arrived, 0 when on time, else whole days after the due day."""
    if received_at is None:
        return None
    if not getattr(rnd, "due", None):
        return 0
    return max(0, (dt.date.fromisoformat(received_at[:10]) - rnd.due).days)


@dataclass(frozen=True)
class Timeliness:
    """How a unit's report for a round stands in time: by its FIRST VALID file."""

    first_valid: Submission | None
    days_late: int | None           # None: no valid file
    note: str = ""                  # e.g. sent on time with errors, the correct file came later

    @property
    def on_time(self) -> bool:
        return self.days_late == 0

    @property
    def late(self) -> bool:
        return bool(self.days_late)


def timeliness(rnd, history: Sequence[Submission]) -> Timeliness:
    """On time / late / days late of one unit for one round. `history`: its submissions in receipt order
    (received_at, id), as `store.submissions.histories` gives them.

    On time means the unit's first valid (accepted or superseded) file arrived by the end of the due day.
    A unit whose on-time file was rejected is late; the note says so and when the correct file came."""
    first = next((s for s in history if s.valid), None)
    if first is None:
        return Timeliness(None, None)
    late = days_late(rnd, first.received_at)
    if not late:
        return Timeliness(first, late)
    note = ""
    cut = deadline(rnd)
    early_bad = [s for s in history if not s.valid and s.received_at < first.received_at
                 and (cut is None or s.received_at <= cut)]
    if early_bad:
        note = (f"Đã gửi đúng hạn lúc {receipt_text(early_bad[0].received_at, early_bad[0].source)} nhưng tệp có lỗi; "
                f"tệp hợp lệ đầu tiên nhận lúc {receipt_text(first.received_at, first.source)} "
                f"(trễ {late} ngày)")
    return Timeliness(first, late, note)


# ---------------------------------------------------------------- the current submission
def current_submission(history: Iterable[Submission]) -> Submission | None:
    """The submission that counts for a unit and round: its latest valid file by receipt time."""
    valid = [s for s in history if s.valid]
    return max(valid, key=lambda s: (s.received_at, s.id)) if valid else None


# ---------------------------------------------------------------- a unit's report for a round: one status
@dataclass(frozen=True)
class ReportStatus:
    """ok / late / errors / missing of one unit for one round, the file that decided it and what to say beside it.
    Every output (status, committee workbook, sơ kết, tổng kết, the master workbook, reminders) shows this."""

    status: str
    decided_by: Submission | None = None     # the first valid file (ok, late) or the latest file (errors)
    current: Submission | None = None        # the file whose values count (the latest valid one)
    days_late: int | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """The one Vietnamese label of the status; a late report says by how many days."""
        if self.status == "late" and self.days_late:
            return f"{REPORT_STATUS['late']} {self.days_late} ngày"
        return REPORT_STATUS[self.status]


def report_status(rnd, history: Sequence[Submission]) -> ReportStatus:
    """The status of one unit's report for one round from its submissions in receipt order: «Có lỗi» when every
    file it sent has errors (never «Chưa nộp»: it did send), «Chưa nộp» only when nothing came. On time or late is
    decided by the first valid file; when a later file replaced it, the note gives both times."""
    current = current_submission(history)
    if current is None:
        if not history:
            return ReportStatus("missing")
        last = history[-1]
        return ReportStatus("errors", last, note="Tệp không đọc được" if last.status == "unreadable" else "")
    when = timeliness(rnd, history)
    first = when.first_valid
    notes = [when.note or receipt_note(first.source)]
    if current.id != first.id:
        verdict = REPORT_STATUS["late" if when.late else "ok"].lower()
        notes.append(f"{verdict} theo tệp hợp lệ đầu tiên nhận lúc {receipt_text(first.received_at, first.source)}; "
                     f"tệp đang dùng là bản gửi lại lúc {receipt_text(current.received_at, current.source)}")
    return ReportStatus("late" if when.late else "ok", first, current, when.days_late,
                        "; ".join(n for n in notes if n))


# ---------------------------------------------------------------- "launched" (plan §I.2)
@dataclass(frozen=True)
class Launch:
    """A unit's launch answers over a period: launched, and whether a later «Không» needs the office to confirm."""

    launched: bool | None           # None: no answer in the period
    first_yes: str | None = None    # the round of the first «Có» with a date
    later_no: str | None = None     # the round of a «Không» after that «Có» (to confirm)

    @property
    def to_confirm(self) -> bool:
        return self.later_no is not None


def launch_indicators(plan) -> tuple[str | None, str | None]:
    """The plan's launch indicator and its date indicator (plan meta `launch_indicator`, `launch_date_indicator`)."""
    return plan.meta.get("launch_indicator") or None, plan.meta.get("launch_date_indicator") or None


def launch_answers(plan, values: dict[tuple[str, str], dict], unit: str, rounds: Sequence) -> list[tuple]:
    """(round, answer, date) of one unit's launch indicator in `rounds` (in order), from
    {(unit, round): {indicator: value}}; the date is "-" when the plan names no date indicator."""
    code, date = launch_indicators(plan)
    out = []
    for rnd in rounds:
        got = values.get((unit, rnd.code))
        if got is not None and code:
            out.append((rnd.code, got.get(code), got.get(date) if date else "-"))
    return out


def launched(answers: Sequence[tuple[str, Any, Any]]) -> Launch:
    """From (round, answer, date) of the current submissions in round order: launched when the unit answered
    «Có» with a date at any time in the period; a later «Không» never lowers it but is flagged."""
    given = [(rc, a, d) for rc, a, d in answers if a not in (None, "")]
    if not given:
        return Launch(None)
    yes = next(((rc, i) for i, (rc, a, d) in enumerate(given) if a == YES and d not in (None, "")), None)
    if yes is None:
        return Launch(False)
    later_no = next((rc for rc, a, _ in given[yes[1] + 1:] if a != YES), None)
    return Launch(True, yes[0], later_no)


# ---------------------------------------------------------------- a count indicator's figure for a period
def stock_indicators(plan) -> tuple[str, ...]:
    """Head-count indicators (plan column `figure` = latest): the latest figure counts, never a sum."""
    return tuple(i.code for i in plan.indicators if i.figure == "latest")


def period_figure(ind, reported: Sequence[tuple[str, Any]], review: str, quarters: Sequence[str],
                  stock: Iterable[str]) -> float | None:
    """One unit's figure for one indicator in a period, from its reported (round, value) pairs in round order:
    yes/no: 1 for the latest «Có»; stock indicators: the latest figure; flow indicators: the review round's
    figure (the unit's own account of the period), else the sum of its quarterly figures."""
    if not reported:
        return None
    if ind.type == "bool":
        return 1.0 if reported[-1][1] == YES else 0.0
    nums = [(rc, float(v)) for rc, v in reported if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums:
        return None
    if ind.code in stock:
        return nums[-1][1]
    by_round = dict(nums)
    if review in by_round:
        return by_round[review]
    parts = [by_round[q] for q in quarters if q in by_round]
    return sum(parts) if parts else None
