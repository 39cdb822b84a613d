"""One history across years: this year's store and the earlier years' stores it knows (opened read only), each
read with that year's own plan and register — a unit's classification, titles and awards year by year, and the
proposal fields the plan computes from them (consecutive years classified «Vững mạnh» …)."""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from thidua.errors import ThiDuaError
from thidua.plan.model import Plan
from thidua.plan.units import Unit, units_from_rows
from thidua.review.scoring import YEAR, UnitResult, review_round
from thidua.store import history as stored
from thidua.store.locator import StoreLocation, locate, recorded_as, seen_from
from thidua.store.proposals import name_key
from thidua.store.store import Store

_PREFIX = re.compile(r"^(cđcs|công đoàn cơ sở|công đoàn)\s+")


@dataclass
class UnitYear:
    """One unit in one year, as that year's store holds it."""

    year: int
    code: str                       # the unit's code that year (a renamed unit had another)
    name: str = ""
    status: str = ""                # its mark in that year's register ("" when not in it)
    level_code: str = ""
    level_name: str = ""
    total: float | None = None
    titles: list[str] = field(default_factory=list)     # titles proposed for the unit itself, with their state
    awards: list[str] = field(default_factory=list)     # forms the office awarded the unit itself
    people_awarded: int = 0                             # people of the unit awarded that year
    known: bool = True                                  # False: the year's store could not be read

    @property
    def classified(self) -> bool:
        return bool(self.level_code)


@dataclass(frozen=True)
class Streak:
    """Consecutive years, through `until`, in one of some levels: `count`, and whether the history settles it
    (`exact`) or only says «at least» (the run reaches a year the stores cannot answer)."""

    count: int
    exact: bool
    until: int
    detail: str


@dataclass
class Year:
    """A year the history knows: its store (None = the working set's own), its plan, and why it may be unreadable."""

    year: int
    location: StoreLocation | None
    plan: Plan | None = None
    error: str = ""
    note: str = ""


class History:
    """The years behind a working set. Built lazily by `ws.history`; every earlier store is opened read only."""

    def __init__(self, ws, previous_store: "str | Path | StoreLocation | None" = None):
        self.ws = ws
        self.previous_store = locate(previous_store) if previous_store else None
        self._period_levels: dict[str, dict[str, UnitResult]] = {}     # this year's sơ kết levels, when asked

    # ---------------------------------------------------------------- the years
    @cached_property
    def years(self) -> list[Year]:
        """Every year known, oldest first: the earlier years the store lists, then this year."""
        found: dict[int, Year] = {}
        if self.previous_store is not None:           # --previous-db: one earlier store named by the office
            found.update(self._explicit(self.previous_store))
        elif self._own_store_exists():
            with self.ws.store() as store:
                rows = stored.known_years(store) if store.has_column("years", "year") else []
                here = store.location          # a year's location is recorded as seen from this store
            for row in rows:
                year = int(row["year"])
                if year >= self.ws.year or row["location"] is None:
                    continue
                found[year] = self._year(year, seen_from(here, row["location"]), row["plan"])
        found[self.ws.year] = Year(self.ws.year, None, self.ws.plan)
        return [found[y] for y in sorted(found)]

    def _own_store_exists(self) -> bool:
        from thidua.store.store import exists
        return isinstance(self.ws.db, Store) or exists(self.ws.location)

    def _explicit(self, where: StoreLocation) -> dict[int, Year]:
        try:
            with contextlib.closing(Store.open_readonly(where)) as store:
                year = stored.store_year(store) or self.ws.year - 1
                rows = stored.known_years(store) if store.has_column("years", "year") else []
                where, name = store.location, store.name
        except ThiDuaError as exc:
            return {self.ws.year - 1: Year(self.ws.year - 1, where, error=exc.message)}
        if year >= self.ws.year:
            return {self.ws.year - 1: Year(self.ws.year - 1, where, error=(
                f"kho {name} là của năm {year}, không phải của một năm trước năm {self.ws.year}"))}
        own = next((r["plan"] for r in rows if int(r["year"]) == year and r["location"] is None), None)
        return {year: self._year(year, where, own)}

    def _year(self, year: int, location: StoreLocation, tables: Mapping[str, Any] | None) -> Year:
        """An earlier year with its own plan; a store that never recorded its plan is read with this year's plan
        moved back to that year (said in `note`)."""
        if tables is not None:
            try:
                return Year(year, location, Plan.from_tables(tables))
            except ThiDuaError as exc:
                return Year(year, location, error=f"kế hoạch năm {year} ghi trong kho không đọc được: {exc.message}")
        from thidua.year.rollplan import roll_plan
        if self.ws.plan.tables is None:
            return Year(year, location, error=f"kho năm {year} không ghi kế hoạch của năm đó")
        moved, _ = roll_plan(self.ws.plan.tables, self.ws.year, year)
        return Year(year, location, Plan.from_tables(moved),
                    note=f"kho năm {year} không ghi kế hoạch của năm đó: đọc theo kế hoạch năm {self.ws.year}")

    def year(self, year: int) -> Year | None:
        return next((y for y in self.years if y.year == year), None)

    def previous(self) -> Year | None:
        """The latest earlier year known (normally last year)."""
        earlier = [y for y in self.years if y.year < self.ws.year]
        return earlier[-1] if earlier else None

    @contextlib.contextmanager
    def working_set(self, year: Year) -> Iterator[Any]:
        """That year's working set: its plan, its register (from its store), its store opened read only."""
        if year.location is None:
            yield self.ws
            return
        if year.error or year.plan is None:
            raise ThiDuaError(f"Không đọc được lịch sử năm {year.year}: {year.error}.",
                              "Chép kho dữ liệu của năm đó về cạnh kho năm nay (hoặc khôi phục từ bản sao lưu).")
        store = Store.open_readonly(year.location)
        try:
            units = units_from_rows(stored.register(store))
            yield type(self.ws)(year.plan, units, store)
        finally:
            store.close()

    # ---------------------------------------------------------------- what each year holds
    @cached_property
    def records(self) -> dict[int, dict[str, UnitYear]]:
        """{year: {unit code that year: UnitYear}} for every year that could be read."""
        return {year: recs for year, (recs, _) in self._read.items()}

    @cached_property
    def _read(self) -> dict[int, tuple[dict[str, UnitYear], tuple[Unit, ...]]]:
        from thidua.review.scoring import classify_store
        out: dict[int, tuple[dict[str, UnitYear], tuple[Unit, ...]]] = {}
        for year in self.years:
            if year.location is None and not self._own_store_exists():
                out[year.year] = ({}, self.ws.register)
                continue
            try:
                with self.working_set(year) as ws, ws.store() as store:
                    results = classify_store(store, ws.plan, ws.units, YEAR) if _has_review(ws.plan) else []
                    awarded = stored.awarded(store)
                    proposed = stored.proposed(store, [review_round(ws.plan, YEAR).code])   # titles are yearly
                    register = ws.register
            except ThiDuaError as exc:
                year.error = year.error or exc.message
                continue
            out[year.year] = (_unit_years(year.year, register, results, awarded, proposed), register)
        return out

    def aliases(self, code: str) -> set[str]:
        """The codes a unit had: its own and those of units renamed into it (register column «Đơn vị kế tục»)."""
        renamed: dict[str, set[str]] = {}
        for units in [self.ws.register] + [register for _, register in self._read.values()]:
            for u in units:
                if u.status == "renamed" and u.successor:
                    renamed.setdefault(u.successor, set()).add(u.code)
        codes, todo = {code}, [code]
        while todo:
            for old in renamed.get(todo.pop(), ()):
                if old not in codes:
                    codes.add(old)
                    todo.append(old)
        return codes

    def unit(self, code: str) -> list[UnitYear]:
        """The unit year by year, oldest first (a year it is absent from is left out; an unreadable year is shown
        with known = False)."""
        codes = self.aliases(code)
        out = []
        for year in self.years:
            recs = self.records.get(year.year)
            if recs is None:
                out.append(UnitYear(year.year, code, known=False, level_name=year.error))
                continue
            found = next((recs[c] for c in codes if c in recs), None)
            if found is not None:
                out.append(found)
        return out

    def period_of(self, round_code: str) -> str:
        """The period a proposal of `round_code` is judged on this year: a review round before the year's end (sơ
        kết) by its own period's classification, every other round by the year's (tổng kết)."""
        try:
            rnd = self.ws.plan.round(round_code)
        except ThiDuaError:
            return YEAR
        if rnd.kind == "review" and rnd.code != review_round(self.ws.plan, YEAR).code and rnd.period:
            return rnd.period
        return YEAR

    def level_now(self, code: str, period: str) -> tuple[str, str] | None:
        """(level code, level name) of a unit this year for `period`; None when it is not classified yet."""
        if period == YEAR:
            rec = self.records.get(self.ws.year, {}).get(code)
            return (rec.level_code, rec.level_name) if rec and rec.classified else None
        if period not in self._period_levels:
            from thidua.review.scoring import classify_units
            self._period_levels[period] = {r.code: r for r in classify_units(self.ws, period)} \
                if self._own_store_exists() else {}
        found = self._period_levels[period].get(code)
        return (found.level_code, found.level_name) if found and found.classification else None

    def streak(self, unit: Unit, levels: Sequence[str], period: str = YEAR) -> Streak | None:
        """Consecutive years through this year in which `unit` was classified at one of `levels` (this year: for
        `period`, its sơ kết or its tổng kết); None when this year is not classified yet (the year under review
        decides)."""
        by_year = {r.year: r for r in self.unit(unit.code)}
        now = self.level_now(unit.code, period)
        if now is None:
            return None
        by_year[self.ws.year] = UnitYear(self.ws.year, unit.code, unit.name, unit.status, now[0], now[1])
        first = min(y.year for y in self.years)
        count, year = 0, self.ws.year
        while True:
            rec = by_year.get(year)
            if rec is None or not rec.known or not rec.classified:
                founded = unit.founded.year if unit.founded else None
                if founded is not None and founded >= year:
                    return Streak(count, True, self.ws.year, f"thành lập năm {founded}")
                why = (f"kho dữ liệu bắt đầu từ năm {first}" if year < first else
                       f"năm {year} không có xếp loại trong kho")
                return Streak(count, False, self.ws.year, why)
            if rec.level_code not in levels:
                return Streak(count, True, self.ws.year, f"năm {year}: {rec.level_name}")
            count += 1
            year -= 1

    # ---------------------------------------------------------------- proposal fields computed from the history
    def evidence(self, rows: Sequence[dict]) -> dict[int, list[str]]:
        """Fill, in each proposal row of a unit proposing itself, the fields the plan computes from the history
        (proposal_fields `history`), and say how (issue codes X021–X023): {row index: messages}."""
        from thidua.intake.messages import make_issue
        wanted = [f for f in self.ws.plan.proposal_fields if f.history]
        out: dict[int, list[str]] = {}
        if not wanted:
            return out
        for i, row in enumerate(rows):
            unit = self.ws.unit_map.get(row.get("unit") or "")
            if unit is None or not _is_collective(row) or not is_unit_itself(row.get("name"), unit):
                continue
            for f in wanted:
                typed = _as_int(row.get(f.code))
                streak = self.streak(unit, f.history, self.period_of(row.get("round") or ""))
                label, who = f.label, unit.code
                if streak is None:
                    if typed is not None:
                        out.setdefault(i, []).append(_text(make_issue(
                            "X022", value=typed, label=label, unit=who,
                            detail=f"năm {self.ws.year} chưa xếp loại nên kho dữ liệu chưa tính được")))
                    continue
                levels = "/".join(dict.fromkeys(lv.name for rs in self.ws.plan.rule_sets for lv in rs.levels
                                                if lv.code in f.history)) or "/".join(f.history)
                years = f"{streak.count} năm liên tục xếp loại {levels} đến năm {streak.until}; {streak.detail}"
                if typed is None:
                    row[f.code] = streak.count
                    out.setdefault(i, []).append(_text(make_issue(
                        "X023", label=label, unit=who, understood=streak.count,
                        detail=years if streak.exact else years + "; có thể nhiều hơn")))
                elif typed == streak.count or (not streak.exact and typed > streak.count):
                    if not streak.exact and typed > streak.count:
                        out.setdefault(i, []).append(_text(make_issue(
                            "X022", value=typed, label=label, unit=who,
                            detail=f"kho dữ liệu chỉ xác nhận được {streak.count} năm: {streak.detail}")))
                else:
                    row[f.code] = streak.count
                    out.setdefault(i, []).append(_text(make_issue(
                        "X021", value=typed, label=label, unit=who, understood=streak.count, detail=years)))
        return out


def _has_review(plan: Plan) -> bool:
    return any(r.kind == "review" for r in plan.rounds)


def _as_int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _text(issue) -> str:
    return f"[{issue.code}] {issue.message}"


def _is_collective(row: Mapping[str, Any]) -> bool:
    return str(row.get("subject") or "").strip().casefold() in ("tập thể", "collective")


def _own_keys(name: str) -> set[str]:
    key = name_key(name)
    bare = _PREFIX.sub("", key)
    return {key, bare}


def is_unit_itself(name: Any, unit: Unit) -> bool:
    """Whether a collective nominee is the CĐCS itself (its name, with or without «CĐCS»/«Công đoàn cơ sở»)."""
    return bool(name) and bool(_own_keys(str(name)) & _own_keys(unit.name))


def _unit_years(year: int, register: Iterable[Unit], results: Sequence[UnitResult], awarded: Sequence[dict],
                proposed: Sequence[dict]) -> dict[str, UnitYear]:
    out = {u.code: UnitYear(year, u.code, u.name, u.status) for u in register}
    for r in results:
        rec = out.setdefault(r.code, UnitYear(year, r.code, r.name))
        rec.level_code, rec.level_name, rec.total = r.level_code, r.level_name if r.classification else "", r.total
    units = {u.code: u for u in register}
    for p in proposed:
        unit = units.get(p["unit"])
        if unit and _is_collective(p) and is_unit_itself(p["name"], unit) and p.get("title"):
            out[unit.code].titles.append(f"{p['title']} ({_state(p['state'])})")
    for p in awarded:
        rec = out.get(p["unit"])
        if rec is None:
            continue
        unit = units.get(p["unit"])
        form = p.get("decided_form") or p.get("form") or p.get("title") or ""
        if unit and _is_collective(p) and is_unit_itself(p["name"], unit):
            rec.awards.append(str(form))
        elif not _is_collective(p):
            rec.people_awarded += 1
    return out


def _state(state: str) -> str:
    from thidua.store.vocabulary import PROPOSAL_STATE
    return PROPOSAL_STATE.get(state, state)


# ---------------------------------------------------------------- a year's store copied elsewhere
def follow_copy(copied) -> list[str]:
    """After `thidua store copy` of one year (store/transfer.py `Copied`): each earlier year the copy records, found
    from where the copy now is — that year's store beside the copy (the same database on a server, the same folder
    for files) when there is one, else the store the original read — and recorded as seen from the copy. Returns
    the lines to print: where each year is read from, or why it cannot be (its multi-year conditions then use the
    typed values, marked as typed)."""
    source, target = copied.source_location, copied.target_location
    if source is None or target is None:
        return []
    with Store.open(target, create=False) as store:
        if not store.has_column("years", "year"):
            return []
        rows = [r for r in stored.known_years(store) if r["location"]]
        lines = []
        for row in rows:
            year = int(row["year"])
            found, why = _year_store_near(target, year, seen_from(source, row["location"]))
            if found is None:
                lines.append(f"Lịch sử năm {year}: kho mới không đọc được kho năm {year} ({why}); các điều kiện nhiều năm "
                             f"sẽ dùng số đơn vị tự ghi. Thử: chép cả kho năm {year} sang cùng chỗ (thidua store copy "
                             f"--year {year}), rồi chép lại năm {copied.year or 'này'} (thêm --force).")
                continue
            text = recorded_as(target, found)
            if text != row["location"]:
                stored.set_location(store, year, text)
            lines.append(f"Lịch sử năm {year}: đọc từ {found.name}.")
    return lines


def _year_store_near(target: StoreLocation, year: int, before: StoreLocation) -> tuple[StoreLocation | None, str]:
    """The store of `year` for a store copied to `target`: beside it (same database, or thidua-<year>.sqlite in the
    same folder), else `before` (where the original found it); with why neither can be read."""
    from thidua.year import place
    near = (StoreLocation("sqlite", place.named_store(Path(target.path).parent, year)) if target.is_sqlite
            else target.database.for_year(year))
    why = "không thấy"
    for candidate in (near, before):                    # the one beside the copy first; only the original's is said
        said = candidate is before
        if candidate.is_sqlite and not Path(candidate.path).is_file():
            why = f"không thấy {candidate.path}" if said else why
            continue
        try:
            with contextlib.closing(Store.open_readonly(candidate)) as store:
                held = stored.store_year(store)
                where = store.location                # on a server: the schema the year was found in
        except ThiDuaError as exc:
            why = exc.message if said else why
            continue
        if where.same_store(target):
            continue
        if held in (None, year):
            return where, ""
        why = f"{where.name} là kho năm {held}" if said else why
    return None, why
