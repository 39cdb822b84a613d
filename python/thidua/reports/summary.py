"""The figures of the sơ kết Đợt 1 and tổng kết năm summaries, computed from the store by the definitions.

How indicator figures of a period are aggregated: `thidua.store.definitions.period_figure` (head-count
indicators, plan column `figure` = latest, take the latest figure; flow indicators the review round's figure, else
the quarters' sum; yes/no the latest answer); "launched": `definitions.launched` (any «Có» with a date in
the period; a later «Không» is listed for the office to confirm); a unit's report status (on time, late, with
errors, missing): `definitions.report_status`.
The workbook is written by summary_book.py (build_summary in summary_job.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thidua.plan.model import Indicator, Plan, Round
from thidua.awards.proposals import ProposalCheck, load_proposals
from thidua.store import decisions as store_decisions
from thidua.review.scoring import YEAR, UnitResult, classify_store, review_round
from thidua.store import submissions
from thidua.store.definitions import (FILE_SOURCE, Launch, ReportStatus, launch_indicators, launched, period_figure,
                                      receipt_note, report_status, stock_indicators)
from thidua.store.store import Store
from thidua.store.values import values_by_submission


@dataclass
class Discipline:
    """Reporting discipline of one round: each unit's report status (definitions.report_status: timeliness by
    its first valid report, «Có lỗi» when all it sent had errors)."""

    round: Round
    marks: dict[str, ReportStatus]    # unit -> its report status (units that sent nothing are absent)

    def status(self, unit: str) -> ReportStatus:
        return self.marks.get(unit) or ReportStatus("missing")

    def late_days(self, unit: str) -> int | None:
        """None when nothing valid came (missing or errors), 0 when on time, else days late."""
        return self.status(unit).days_late

    def note(self, unit: str) -> str:
        """What the report's status rests on, beside a file's date (marked by its own star in Biểu 5b)."""
        mark = self.marks.get(unit)
        if mark is None or mark.status not in ("ok", "late"):
            return ""
        return "; ".join(n for n in mark.note.split("; ") if n and n != receipt_note(FILE_SOURCE))

    def file_dated(self, unit: str) -> bool:
        """Whether the unit's lateness rests on a file's date rather than a real receipt time."""
        mark = self.marks.get(unit)
        return bool(mark and mark.decided_by and mark.status in ("ok", "late") and mark.decided_by.source == "file")


@dataclass
class Summary:
    """Every figure the summary workbook shows, computed from one store."""

    plan: Plan
    period: str
    units: list
    clusters: list[str]
    rounds: list[Round]
    launched: dict[str, bool | None] = field(default_factory=dict)      # None = no answer in the period
    launch: dict[str, Launch] = field(default_factory=dict)             # with the «Không» to confirm
    values: dict[str, dict[str, float]] = field(default_factory=dict)   # indicator -> unit -> figure
    indicators: list[Indicator] = field(default_factory=list)
    results: list[UnitResult] = field(default_factory=list)
    proposals: list[ProposalCheck] = field(default_factory=list)
    discipline: list[Discipline] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)      # the award decisions of the period (store records)

    def cluster_of(self) -> dict[str, str]:
        return {u.code: u.cluster for u in self.units}

    def total(self, code: str, cluster: str | None = None) -> float:
        where = self.cluster_of()
        return sum(v for u, v in self.values.get(code, {}).items() if cluster is None or where.get(u) == cluster)

    def launch_count(self, cluster: str | None = None) -> tuple[int, int]:
        """(units launched, units) in a cluster or the province."""
        chosen = [u for u in self.units if cluster is None or u.cluster == cluster]
        return sum(1 for u in chosen if self.launched.get(u.code)), len(chosen)

    def launch_to_confirm(self) -> list[tuple[Any, Launch]]:
        """Units counted as launched whose later answer was «Không»: the office confirms them."""
        return [(u, self.launch[u.code]) for u in self.units if u.code in self.launch and self.launch[u.code].to_confirm]

    def on_time(self, disc: Discipline) -> tuple[int, int, int, int]:
        """(on time, late, with errors, missing) units of a round."""
        marks = [disc.status(u.code).status for u in self.units]
        return tuple(marks.count(s) for s in ("ok", "late", "errors", "missing"))

    def level_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.level_name] = counts.get(r.level_name, 0) + 1
        return counts


def period_rounds(plan: Plan, period: str) -> list[Round]:
    """The reporting rounds of a period ('1', '2' or 'year'), ad-hoc rounds excluded, by end date."""
    chosen = [r for r in plan.rounds if r.period and (str(period) == YEAR or r.period == str(period))]
    return sorted(chosen, key=lambda r: (r.end, plan.rounds.index(r)))


def collect(ws, period: str) -> Summary:
    """All figures of the summary for `period` ('1' = sơ kết Đợt 1, 'year' = tổng kết năm).

    The store is read with a few set-based queries over the whole period (no per-unit or per-round query);
    the figures are then computed in memory. An earlier year's summary is collected from that year's own working
    set (year/history.py: its plan, its register, its store)."""
    plan = ws.plan
    units = list(ws.units)
    rounds = period_rounds(plan, period)
    review = review_round(plan, period)
    clusters = list(dict.fromkeys(u.cluster for u in units))
    s = Summary(plan, str(period), list(units), clusters, rounds)
    codes = [r.code for r in rounds]
    launch_code, launch_date = launch_indicators(plan)
    stock = stock_indicators(plan)
    with ws.store() as store:
        latest = submissions.current_ids(store, codes)       # (unit, round) -> the submission that counts
        by_id = values_by_submission(store, codes, "ind.")    # submission -> {indicator: value}
        history = submissions.histories(store, codes)
        s.discipline = [Discipline(rnd, {u.code: report_status(rnd, history[(u.code, rnd.code)]) for u in units
                                         if history.get((u.code, rnd.code))})
                        for rnd in rounds]
        # the review round is one of the period's rounds: its indicator values are already read
        s.results = classify_store(store, plan, units, period, indicators=by_id if review.code in codes else None)
    s.indicators = [i for i in plan.indicators if i.summary and set(i.rounds) & set(codes)
                    and i.code != launch_code]
    quarters = [r.code for r in rounds if r.kind == "quarter"]
    wanted = {i.code: i for i in s.indicators}
    for unit in units:
        reported: dict[str, list[tuple[str, Any]]] = {}      # indicator -> [(round, value)] by round end
        answers = []
        for rc in codes:
            sid = latest.get((unit.code, rc))
            if sid is None:
                continue
            got = by_id.get(sid, {})
            if launch_code:
                answers.append((rc, got.get(launch_code), got.get(launch_date) if launch_date else "-"))
            for code, value in got.items():
                if code in wanted and value is not None and value != "":
                    try:
                        reported[code].append((rc, value))
                    except KeyError:
                        reported[code] = [(rc, value)]
        s.launch[unit.code] = launched(answers)
        s.launched[unit.code] = s.launch[unit.code].launched
        for code, got in reported.items():
            figure = period_figure(wanted[code], got, review.code, quarters, stock)
            if figure is not None:
                s.values.setdefault(code, {})[unit.code] = figure
    # Ad-hoc proposals count in the period in which they were received.
    until = None if str(period) == YEAR else plan.period(str(period)).end
    s.proposals = load_proposals(ws, codes + [r.code for r in plan.rounds if r.kind == "adhoc"], until)
    with ws.store() as store:            # the decisions the office signed: the period's rounds, ad-hoc ones by date
        adhoc = [r.code for r in plan.rounds if r.kind == "adhoc"]
        s.decisions = [d for d in store_decisions.decisions(store, plan.year, codes + adhoc)
                       if until is None or d["round"] not in adhoc or d["date"] <= until.isoformat()]
    return s


def period_title(plan: Plan, period: str) -> str:
    if str(period) == YEAR:
        return f"BÁO CÁO TỔNG KẾT PHONG TRÀO THI ĐUA NĂM {plan.year}"
    p = plan.period(period)
    return f"BÁO CÁO SƠ KẾT PHONG TRÀO THI ĐUA ĐỢT {p.code} NĂM {plan.year}\n({p.start:%d/%m} - {p.end:%d/%m/%Y})"
