"""Decisions the office chose in the master workbook's «Khen thưởng» sheet, recorded one by one through `decide`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from thidua.awards.proposals import STATE_NAMES, decide
from thidua.errors import ThiDuaError
from thidua.intake.parse import fold
from thidua.store import proposals as stored
from thidua.workbook.layout import DECISION_CHOICES, DECISION_COLUMN, FORM_COLUMN, REASON_COLUMN, TypedDecision

# `decide` speaks to the command line in its hints; on the sheet the same advice names the sheet's columns and
# choices. Longest first: «--force --reason "lý do"» before «--force».
SHEET_WORDS = (
    ('--force --reason "lý do"', f"lý do ở cột «{REASON_COLUMN}»"),
    ("--force", f"lý do ở cột «{REASON_COLUMN}»"),
    ("--state not_met", f"«{STATE_NAMES['not_met']}» ở cột «{DECISION_COLUMN}»"),
    ("--form", f"cột «{FORM_COLUMN}»"),
    ("«thidua proposals list»", "trang Khen thưởng"),
)


@dataclass(frozen=True)
class Outcome:
    """What became of one row's choice: recorded, or why not (the row's choice stays on the sheet)."""

    typed: TypedDecision
    recorded: bool
    text: str
    keep: bool = True       # False: the choice was typed on a row that is not the store's (never carried over)


def record_chosen(ws, typed: Sequence[TypedDecision]) -> list[Outcome]:
    """Record every row's choice in sheet order; a refused row never stops the others. A row whose name is not the
    store's name for its number (a sheet older than the store) is refused, never guessed."""
    done = []
    for t in typed:
        try:
            done.append(Outcome(t, True, _record(ws, t)))
        except StaleRow as exc:
            done.append(Outcome(t, False, "Chưa ghi: " + sheet_advice(exc), keep=False))
        except ThiDuaError as exc:
            done.append(Outcome(t, False, "Chưa ghi: " + sheet_advice(exc)))
    return done


class StaleRow(ThiDuaError):
    """The row's number and name do not name one proposal of the store: its choice is not carried over."""


def _record(ws, t: TypedDecision) -> str:
    if t.proposal is None:
        raise StaleRow(f"dòng {t.row} không có số đề nghị.",
                          "Bấm «Xếp loại, khen thưởng» để ghi lại trang, rồi chọn quyết định ở dòng có số đề nghị.")
    if t.state is None:
        raise ThiDuaError(f"«{t.chosen}» không phải một quyết định.",
                          "Chọn trong danh sách: " + ", ".join(f"«{v}»" for v in DECISION_CHOICES.values()) + ".")
    with ws.store() as store:
        row = stored.proposal(store, t.proposal)
    if row is None or fold(str(row["name"])) != fold(t.name):
        said = f"là «{row['name']}»" if row else "không có"
        raise StaleRow(f"đề nghị số {t.proposal} trong kho dữ liệu {said}, không phải «{t.name}» ở dòng {t.row}: "
                          "trang Khen thưởng đã cũ hơn kho dữ liệu.",
                          "Bấm «Xếp loại, khen thưởng» để ghi lại trang, rồi chọn lại quyết định.")
    check = decide(ws, t.proposal, t.state, form=t.form or None, note=t.reason or None, force=bool(t.reason),
                   reason=t.reason or None)
    form = f" ({check.effective_form.name})" if t.state in ("raised", "awarded") and check.effective_form else ""
    return f"Đã ghi «{STATE_NAMES[t.state]}»{form}" + (f" do {check.decided_by}" if check.decided_by else "") + "."


def sheet_advice(exc: ThiDuaError) -> str:
    """A refusal of `decide` in the sheet's words."""
    hint = exc.hint
    for cli, sheet in SHEET_WORDS:
        hint = hint.replace(cli, sheet)
    text = exc.message[:1].upper() + exc.message[1:]
    return f"{text} Thử: {hint}" if hint else text
