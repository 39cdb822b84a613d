"""Who has reported: status per unit and round (ok, late, errors, missing) from the store, by the definitions."""
from __future__ import annotations

from thidua.store import submissions
from thidua.store.crossround import decrease_notes, decreases
from thidua.store.definitions import launch_answers, launch_indicators, launched, receipt_text, report_status
from thidua.store.values import current_values_of
from thidua.store.store import Store
from thidua.store.vocabulary import INVALID, NEEDS_REMINDER, label  # noqa: F401  (NEEDS_REMINDER re-exported)


def rounds_in_scope(plan, round_code: str | None) -> list:
    """The named round, or every round that has a due date (ad-hoc rounds have none)."""
    if round_code:
        return [plan.round(round_code)]
    return [r for r in plan.rounds if r.due]


def status_rows(ws, round_code: str | None = None, store: Store | None = None) -> list[dict]:
    """One row per unit of the working set `ws` and round (`store`: an open store of it): unit, name, cluster, email, round, status, received_at, n_errors, ...

    status: ok (a valid report whose first valid file came by the end of the due day), late (it came after),
    errors (only files with errors so far), missing (nothing received). received_at is the current file's
    receipt time (received_source: mail | office | file); first_valid_at (first_valid_source) and days_late give
    the lateness.
    Extra keys: n_files, file_name, sha256 (of the current file), note (sent on time with errors; a time
    only known from the file's date; an invalid resubmission that did not replace the valid file; a «Không»
    to the launch question after a «Có», also flagged by launch_to_confirm; a cumulative figure below the unit's
    earlier report of the year, V022: crossround.py)."""
    plan, unit_list = ws.plan, list(ws.units)
    rounds = rounds_in_scope(plan, round_code)
    launch_code, launch_date = launch_indicators(plan)
    in_order = sorted((r for r in plan.rounds if r.period), key=lambda r: (r.end, plan.rounds.index(r)))
    position = {r.code: i for i, r in enumerate(in_order)}
    asked = [r for r in in_order if launch_code and launch_code in {i.code for i in plan.indicators_for(r.code)}]
    last = max((position[r.code] for r in rounds if r in asked), default=-1)    # answers up to the last round shown
    asked = [r for r in asked if position[r.code] <= last]
    with Store.using(store or ws.db) as store:
        subs = submissions.histories(store, [r.code for r in rounds])
        answers = current_values_of(store, [c for c in (launch_code, launch_date) if c], [r.code for r in asked])
        below = decrease_notes(plan, decreases(store, plan, round_code, later_only=True))
    # the round of a «Không» after a «Có» (the same for every prefix of the rounds that contains it)
    later_no = {u.code: launched(launch_answers(plan, answers, u.code, asked)).later_no for u in unit_list} \
        if answers else {}
    rows = []
    for rnd in rounds:
        for u in unit_list:
            history = subs.get((u.code, rnd.code), [])
            row = {"unit": u.code, "name": u.name, "cluster": u.cluster, "email": u.email, "round": rnd.code,
                   "status": "missing", "received_at": None, "received_source": None, "n_errors": 0,
                   "n_files": len(history), "file_name": None, "sha256": None, "note": "",
                   "first_received_at": history[0].received_at if history else None,
                   "first_valid_at": None, "first_valid_source": None, "days_late": None,
                   "launch_to_confirm": False}
            verdict = report_status(rnd, history)
            current, first = verdict.current, verdict.decided_by
            row["status"] = verdict.status
            if current:
                notes = [verdict.note]                  # the note marks its times itself
                later_bad = [h for h in history if h.status in INVALID and h.received_at > current.received_at]
                if later_bad:
                    notes.append(f"Bản gửi lại lúc {receipt_text(later_bad[-1].received_at, later_bad[-1].source)} "
                                 f"có {later_bad[-1].n_errors} lỗi nên không thay bản hợp lệ; đang dùng bản hợp lệ "
                                 "trước đó")
                if later_no.get(u.code) == rnd.code:
                    first_yes = launched(launch_answers(plan, answers, u.code, asked)).first_yes
                    row["launch_to_confirm"] = True
                    notes.append(f"Đã trả lời «Có» (đã phát động thi đua) ở kỳ {first_yes}, kỳ này trả lời "
                                 "«Không»: đề nghị Văn phòng xác nhận (vẫn tính là đã phát động)")
                notes.append(below.get((u.code, rnd.code), ""))
                row.update(received_at=current.received_at,
                           received_source=current.source, file_name=current.file_name, sha256=current.sha256,
                           first_valid_at=first.received_at, first_valid_source=first.source,
                           days_late=verdict.days_late,
                           note="; ".join(n for n in notes if n))
            elif first:
                row.update(received_at=first.received_at, received_source=first.source,
                           n_errors=max(first.n_errors, 1), file_name=first.file_name, sha256=first.sha256,
                           note=verdict.note)
            rows.append(row)
    return rows


def decided_at(row: dict) -> str | None:
    """The receipt time of the file that decided a row's status: the first valid file for on time / late (not a
    later replacement's), the latest file for errors."""
    return row["first_valid_at"] or row["received_at"]


def status_label(status: str) -> str:
    """The one Vietnamese label of a report status (see vocabulary)."""
    return label(status)
