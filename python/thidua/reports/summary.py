"""The sơ kết Đợt 1 and tổng kết năm summaries: figures from the store, then the print-ready workbook (and PDF).

How indicator figures of a period are aggregated (one rule, used everywhere):
- indicators whose plan column `figure` is "latest" (head counts): the unit's latest reported value among
  the period's rounds (latest by round end date);
- yes/no indicators: the unit's latest reported answer; the table counts units answering «Có»;
- the others (figure "period": counts and money of the period): the review round's figure (SK1 covers 01/01–31/07, TK the
  whole year), because the review report is the unit's own cumulative account of the period; a unit that has
  not sent the review round falls back to the sum of its quarterly reports (Q1..Q4) inside the period;
- date indicators are not totalled.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thidua.review.commendations import ProposalCheck, load_proposals
from thidua.plan.model import Indicator, Plan, Round
from thidua.review.scoring import (YEAR, UnitResult, classify_store, current_submission_ids, open_store, review_round,
                      values_by_submission)

YES = "Có"
ON_TIME_STATUSES = ("accepted", "superseded")   # a readable, valid report; the first one received counts


@dataclass
class Discipline:
    """Reporting discipline of one round: when each unit's first valid report arrived."""

    round: Round
    received: dict[str, str]          # unit -> received_at of the first valid report

    def late_days(self, unit: str) -> int | None:
        """None when missing, 0 when on time (received on or before the due date), else days late."""
        got = self.received.get(unit)
        if got is None:
            return None
        if self.round.due is None:
            return 0
        return max(0, (dt.date.fromisoformat(got[:10]) - self.round.due).days)


@dataclass
class Summary:
    """Every figure the summary workbook shows, computed from one store."""

    plan: Plan
    period: str
    units: list
    clusters: list[str]
    rounds: list[Round]
    launched: dict[str, bool | None] = field(default_factory=dict)      # None = no answer in the period
    values: dict[str, dict[str, float]] = field(default_factory=dict)   # indicator -> unit -> figure
    indicators: list[Indicator] = field(default_factory=list)
    results: list[UnitResult] = field(default_factory=list)
    proposals: list[ProposalCheck] = field(default_factory=list)
    discipline: list[Discipline] = field(default_factory=list)

    def cluster_of(self) -> dict[str, str]:
        return {u.code: u.cluster for u in self.units}

    def total(self, code: str, cluster: str | None = None) -> float:
        where = self.cluster_of()
        return sum(v for u, v in self.values.get(code, {}).items() if cluster is None or where.get(u) == cluster)

    def launch_count(self, cluster: str | None = None) -> tuple[int, int]:
        """(units launched, units) in a cluster or the province."""
        chosen = [u for u in self.units if cluster is None or u.cluster == cluster]
        return sum(1 for u in chosen if self.launched.get(u.code)), len(chosen)

    def on_time(self, disc: Discipline) -> tuple[int, int, int]:
        """(on time, late, missing) units of a round."""
        days = [disc.late_days(u.code) for u in self.units]
        return sum(d == 0 for d in days), sum(bool(d) for d in days), sum(d is None for d in days)

    def level_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.level_name] = counts.get(r.level_name, 0) + 1
        return counts


def period_rounds(plan: Plan, period: str) -> list[Round]:
    """The reporting rounds of a period ('1', '2' or 'year'), ad-hoc rounds excluded, by end date."""
    chosen = [r for r in plan.rounds if r.period and (str(period) == YEAR or r.period == str(period))]
    return sorted(chosen, key=lambda r: (r.end, plan.rounds.index(r)))


def collect(db_path, plan: Plan, units, period: str) -> Summary:
    """All figures of the summary for `period` ('1' = sơ kết Đợt 1, 'year' = tổng kết năm).

    The store is read with a few set-based queries over the whole period (no per-unit or per-round query);
    the figures are then computed in memory."""
    rounds = period_rounds(plan, period)
    review = review_round(plan, period)
    clusters = list(dict.fromkeys(u.cluster for u in units))
    s = Summary(plan, str(period), list(units), clusters, rounds)
    codes = [r.code for r in rounds]
    with open_store(db_path) as con:
        latest = current_submission_ids(con, codes)          # (unit, round) -> the submission that counts
        by_id = values_by_submission(con, codes, "ind.")      # submission -> {indicator: value}
        received: dict[str, dict[str, str]] = {c: {} for c in codes}
        if codes:
            marks = ",".join("?" * len(codes))
            statuses = ",".join("?" * len(ON_TIME_STATUSES))
            for rc, unit, first in con.execute(
                    f"SELECT round, unit, min(received_at) FROM submissions WHERE round IN ({marks}) "
                    f"AND status IN ({statuses}) GROUP BY round, unit", (*codes, *ON_TIME_STATUSES)):
                received[rc][unit] = first
        s.discipline = [Discipline(rnd, received[rnd.code]) for rnd in rounds]
        # the review round is one of the period's rounds: its indicator values are already read
        s.results = classify_store(con, plan, units, period, indicators=by_id if review.code in codes else None)
    launch = plan.launch_indicator
    s.indicators = [i for i in plan.indicators if i.summary and set(i.rounds) & set(codes)]
    quarters = [r.code for r in rounds if r.kind == "quarter"]
    wanted = {i.code: i for i in s.indicators}
    keep = set(wanted) | {launch}
    for unit in units:
        reported: dict[str, list[tuple[str, Any]]] = {}      # indicator -> [(round, value)] by round end
        for rc in codes:
            sid = latest.get((unit.code, rc))
            if sid is None:
                continue
            for code, value in by_id.get(sid, {}).items():
                if code in keep and value is not None and value != "":
                    try:
                        reported[code].append((rc, value))
                    except KeyError:
                        reported[code] = [(rc, value)]
        answers = reported.pop(launch, None) if launch not in wanted else reported.get(launch)
        s.launched[unit.code] = (answers[-1][1] == YES) if answers else None
        for code, got in reported.items():
            figure = _figure(wanted[code], got, review.code, quarters)
            if figure is not None:
                s.values.setdefault(code, {})[unit.code] = figure
    # Ad-hoc proposals count in the period in which they were received.
    until = None if str(period) == YEAR else plan.period(str(period)).end
    s.proposals = load_proposals(db_path, plan, codes + [r.code for r in plan.rounds if r.kind == "adhoc"], until)
    return s


def _figure(ind: Indicator, reported: list[tuple[str, Any]], review: str, quarters: list[str]) -> float | None:
    """One unit's figure for one indicator in the period from its reported (round, value) pairs (see the module
    docstring)."""
    if ind.type == "bool":
        return 1.0 if reported[-1][1] == YES else 0.0
    nums = [(rc, float(v)) for rc, v in reported if isinstance(v, (int, float))]
    if not nums:
        return None
    if ind.figure == "latest":
        return nums[-1][1]
    by_round = dict(nums)
    if review in by_round:
        return by_round[review]
    parts = [by_round[q] for q in quarters if q in by_round]
    return sum(parts) if parts else None


def build_summary(db_path, plan: Plan, units, period: str, out: Path, pdf: bool = False,
                  previous_db: Path | None = None) -> Path:
    """Write the summary workbook for the period to `out` (and OUT.pdf beside it with `pdf`); return `out`."""
    from thidua.reports.summary_book import write_workbook
    out = Path(out)
    with _no_cycle_collection():
        current = collect(db_path, plan, units, period)
        previous = None
        if previous_db is not None:
            previous = collect(previous_db, plan, _store_units(previous_db) or units, period)
        write_workbook(current, out, previous)
    if pdf:
        from thidua.reports.libreoffice import convert
        convert(out, "pdf", out.parent)
    return out


@contextlib.contextmanager
def _no_cycle_collection():
    """Pause Python's cyclic garbage collector while the summary is built: the build allocates some 10^5 small,
    acyclic objects (figures, cells, XML strings), and each automatic collection would re-scan the whole heap
    (~0.1 s per summary of 1,000 units). Reference counting still frees everything; collection resumes after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _store_units(db_path) -> list:
    """The register as kept in a store (a previous year's units may differ from this year's)."""
    from thidua.plan.units import units_from_rows
    with open_store(db_path) as con:
        rows = [dict(r) for r in con.execute("SELECT * FROM units ORDER BY code")]
    return units_from_rows(rows)


def period_title(plan: Plan, period: str) -> str:
    if str(period) == YEAR:
        return f"BÁO CÁO TỔNG KẾT PHONG TRÀO THI ĐUA NĂM {plan.year}"
    p = plan.period(period)
    return f"BÁO CÁO SƠ KẾT PHONG TRÀO THI ĐUA ĐỢT {p.code} NĂM {plan.year}\n({p.start:%d/%m} - {p.end:%d/%m/%Y})"



def demo_summaries(plan: Plan, units, out: Path, say=print, pdf: bool = True) -> list[Path]:
    """The demo's ending: sơ kết Đợt 1 and tổng kết năm workbooks (and PDFs) from out/thidua.db, if it holds data."""
    from thidua.errors import ThiDuaError
    db = out / "thidua.db"
    if not db.exists():
        say("Chưa có kho dữ liệu nên bỏ qua báo cáo sơ kết, tổng kết.")
        return []
    with open_store(db) as con:
        if not con.execute("SELECT count(*) FROM current_submissions").fetchone()[0]:
            say("Kho dữ liệu chưa có báo cáo nào nên bỏ qua báo cáo sơ kết, tổng kết.")
            return []
    made = []
    for period, name in (("1", "so-ket-dot-1"), (YEAR, "tong-ket-nam")):
        target = out / "bao-cao" / f"{name}-{plan.year}.xlsx"
        try:
            made.append(build_summary(db, plan, units, period, target, pdf=pdf))
        except ThiDuaError as exc:   # e.g. LibreOffice missing: keep the workbook, say why there is no PDF
            made.append(build_summary(db, plan, units, period, target))
            say(f"Không xuất được PDF: {exc}")
        say(f"Báo cáo {'tổng kết năm' if period == YEAR else 'sơ kết Đợt 1'}: {target}"
            + (" (kèm PDF)" if target.with_suffix(".pdf").exists() else ""))
    return made
