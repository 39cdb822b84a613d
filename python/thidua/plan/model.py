"""The year's emulation plan as data: periods, rounds, contents, indicators, criteria, rules, awards."""
from __future__ import annotations

import datetime as dt
import operator
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

from thidua.errors import ThiDuaError

DEFAULT_PLAN = "plan2019.toml"
SHEET_KEYS = ("info", "activities", "indicators", "selfscore", "proposals")
TABLES = ("periods", "rounds", "contents", "indicators", "criteria", "rule_sets", "levels", "forms", "titles")
INDICATOR_TYPES = ("int", "money", "bool", "date")


def to_date(value: Any) -> dt.date | None:
    """A date from TOML, a workbook cell or ISO text; None for blank."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def to_list(value: Any) -> tuple[str, ...]:
    """A comma-separated cell as a tuple of trimmed items."""
    if value in (None, ""):
        return ()
    return tuple(item.strip() for item in str(value).split(",") if item.strip())


def _num(value: Any) -> float | None:
    if value in (None, ""):
        return None
    return float(value)


# ---------------------------------------------------------------- conditions
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "=": operator.eq, "!=": operator.ne,
}
_CLAUSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Condition:
    """One clause `field op value` of a rule, e.g. `ty_le_ldtt > 50` or `dat_ldtt = Có`."""

    field: str
    op: str
    value: float | str

    def holds(self, values: Mapping[str, Any]) -> bool | None:
        """True/False, or None when the field has no value to judge."""
        found = values.get(self.field)
        if found in (None, ""):
            return None
        if isinstance(self.value, float):
            try:
                return _OPS[self.op](float(found), self.value)
            except (TypeError, ValueError):
                return False
        return _OPS[self.op](str(found).strip(), self.value)

    def __str__(self) -> str:
        value = self.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return f"{self.field} {self.op} {value}"


def parse_conditions(text: str | None) -> tuple[Condition, ...]:
    """Parse `a >= 1; b = Có` into conditions; raise ThiDuaError naming the bad clause."""
    out = []
    for clause in (text or "").split(";"):
        if not clause.strip():
            continue
        match = _CLAUSE.match(clause)
        if not match:
            raise ThiDuaError(f"Điều kiện không hiểu được: «{clause.strip()}»",
                              "Viết theo dạng «mã toán_tử giá_trị», ví dụ «ty_le_ldtt > 50» hoặc «dat_ldtt = Có».")
        name, op, raw = match.groups()
        try:
            value: float | str = float(raw)
        except ValueError:
            value = raw
        out.append(Condition(name, op, value))
    return tuple(out)


# ---------------------------------------------------------------- the plan's rows
@dataclass(frozen=True)
class Period:
    code: str
    name: str
    start: dt.date
    end: dt.date
    review: str = ""
    anniversaries: str = ""


@dataclass(frozen=True)
class Round:
    code: str
    name: str
    kind: str
    period: str
    start: dt.date
    end: dt.date
    due: dt.date | None
    sheets: tuple[str, ...]


@dataclass(frozen=True)
class Content:
    number: int
    name: str


@dataclass(frozen=True)
class Indicator:
    code: str
    content: int
    label: str
    unit: str
    type: str
    rounds: tuple[str, ...]
    required: bool = True
    min: Any = None
    max: Any = None


@dataclass(frozen=True)
class Criterion:
    code: str
    content: int
    name: str
    max_points: float


@dataclass(frozen=True)
class Level:
    rule_set: str
    rank: int
    code: str
    name: str
    min_points: float
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    code: str
    name: str
    eligible_founded_before: dt.date | None
    not_eligible_name: str
    levels: tuple[Level, ...] = ()


@dataclass(frozen=True)
class AwardForm:
    code: str
    name: str
    rank: int
    subject: str  # individual / collective / both
    quota: int | None = None


@dataclass(frozen=True)
class Title:
    code: str
    name: str
    subject: str
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, eq=False)
class Plan:
    """The whole plan; build it with `load_plan` or `Plan.from_tables`."""

    meta: dict
    periods: tuple[Period, ...]
    rounds: tuple[Round, ...]
    contents: tuple[Content, ...]
    indicators: tuple[Indicator, ...]
    criteria: tuple[Criterion, ...]
    rule_sets: tuple[RuleSet, ...]
    forms: tuple[AwardForm, ...]
    titles: tuple[Title, ...]

    # -- look-ups
    @property
    def year(self) -> int:
        return int(self.meta["year"])

    @property
    def template_version(self) -> str:
        return str(self.meta["template_version"])

    def round(self, code: str) -> Round:
        for rnd in self.rounds:
            if rnd.code == code:
                return rnd
        known = ", ".join(r.code for r in self.rounds)
        raise ThiDuaError(f"Không có kỳ báo cáo «{code}».", f"Chọn một trong: {known}.")

    def period(self, code: str) -> Period:
        for period in self.periods:
            if period.code == str(code):
                return period
        raise ThiDuaError(f"Không có đợt thi đua «{code}».", "Chọn 1, 2 hoặc year.")

    def indicators_for(self, round_code: str) -> tuple[Indicator, ...]:
        return tuple(ind for ind in self.indicators if round_code in ind.rounds)

    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise ThiDuaError(f"Không có chỉ tiêu «{code}».", "Kiểm tra mã chỉ tiêu trong kế hoạch.")

    def content_name(self, number: int) -> str:
        return next((c.name for c in self.contents if c.number == number), "")

    def rule_set(self, code: str | None = None) -> RuleSet:
        code = code or self.meta.get("rule_set")
        for rs in self.rule_sets:
            if rs.code == code:
                return rs
        raise ThiDuaError(f"Không có bộ quy tắc xếp loại «{code}».",
                          "Chọn một trong: " + ", ".join(r.code for r in self.rule_sets) + ".")

    @property
    def criteria_total(self) -> float:
        return sum(c.max_points for c in self.criteria)

    # -- construction
    @classmethod
    def from_tables(cls, tables: Mapping[str, Any]) -> "Plan":
        """Build from flat tables (TOML today, the master workbook's sheets later)."""
        try:
            return cls._from_tables(tables)
        except (KeyError, TypeError, ValueError) as exc:
            raise ThiDuaError(f"Dữ liệu kế hoạch thi đua không hợp lệ ({exc}).",
                              "Kiểm tra các bảng kế hoạch: mỗi dòng cần đủ các cột bắt buộc.") from exc

    @classmethod
    def _from_tables(cls, t: Mapping[str, Any]) -> "Plan":
        rows = lambda name: t.get(name) or []  # noqa: E731
        levels = [Level(str(r["rule_set"]), int(r["rank"]), str(r["code"]), str(r["name"]),
                        float(r["min_points"]), parse_conditions(r.get("conditions")))
                  for r in rows("levels")]
        rule_sets = tuple(
            RuleSet(str(r["code"]), str(r["name"]), to_date(r.get("eligible_founded_before")),
                    str(r.get("not_eligible_name") or "Chưa đủ điều kiện xếp loại"),
                    tuple(sorted((lv for lv in levels if lv.rule_set == r["code"]), key=lambda lv: lv.rank)))
            for r in rows("rule_sets"))
        plan = cls(
            meta=dict(t.get("meta") or {}),
            periods=tuple(Period(str(r["code"]), str(r["name"]), to_date(r["start"]), to_date(r["end"]),
                                 str(r.get("review") or ""), str(r.get("anniversaries") or ""))
                          for r in rows("periods")),
            rounds=tuple(Round(str(r["code"]), str(r["name"]), str(r["kind"]), str(r.get("period") or ""),
                               to_date(r["start"]), to_date(r["end"]), to_date(r.get("due")),
                               to_list(r["sheets"]))
                         for r in rows("rounds")),
            contents=tuple(Content(int(r["number"]), str(r["name"])) for r in rows("contents")),
            indicators=tuple(Indicator(str(r["code"]), int(r["content"]), str(r["label"]), str(r["unit"]),
                                       str(r["type"]), to_list(r["rounds"]), _bool(r.get("required", True)),
                                       _bound(r.get("min"), r["type"]), _bound(r.get("max"), r["type"]))
                             for r in rows("indicators")),
            criteria=tuple(Criterion(str(r["code"]), int(r["content"]), str(r["name"]), float(r["max_points"]))
                           for r in rows("criteria")),
            rule_sets=rule_sets,
            forms=tuple(AwardForm(str(r["code"]), str(r["name"]), int(r["rank"]), str(r["subject"]),
                                  int(r["quota"]) if r.get("quota") not in (None, "") else None)
                        for r in rows("forms")),
            titles=tuple(Title(str(r["code"]), str(r["name"]), str(r["subject"]), parse_conditions(r.get("conditions")))
                         for r in rows("titles")),
        )
        plan.check()
        return plan

    def check(self) -> None:
        """Raise ThiDuaError when the plan contradicts itself."""
        problems = []
        for rnd in self.rounds:
            if "_" in rnd.code:
                problems.append(f"mã kỳ báo cáo «{rnd.code}» không được chứa dấu gạch dưới")
            for key in rnd.sheets:
                if key not in SHEET_KEYS:
                    problems.append(f"kỳ {rnd.code}: trang «{key}» không có (chỉ có {', '.join(SHEET_KEYS)})")
            if rnd.end < rnd.start:
                problems.append(f"kỳ {rnd.code}: ngày kết thúc trước ngày bắt đầu")
        codes = {r.code for r in self.rounds}
        for ind in self.indicators:
            if ind.type not in INDICATOR_TYPES:
                problems.append(f"chỉ tiêu {ind.code}: kiểu «{ind.type}» không có")
            for rc in ind.rounds:
                if rc not in codes:
                    problems.append(f"chỉ tiêu {ind.code}: kỳ «{rc}» không có")
        for rs in self.rule_sets:
            if not rs.levels:
                problems.append(f"bộ quy tắc {rs.code} không có mức xếp loại nào")
        if problems:
            raise ThiDuaError("Kế hoạch thi đua có chỗ mâu thuẫn: " + "; ".join(problems) + ".",
                              "Sửa các bảng kế hoạch rồi chạy lại.")


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "có", "x", "yes")
    return bool(value)


def _bound(value: Any, kind: str) -> Any:
    if value in (None, ""):
        return None
    return to_date(value) if kind == "date" else float(value)


# ---------------------------------------------------------------- loading
def read_toml_tables(path: Path | None = None) -> dict:
    """The plan's tables from a TOML file (the bundled 2019 plan by default)."""
    if path is None:
        text = resources.files("thidua.data").joinpath(DEFAULT_PLAN).read_text(encoding="utf-8")
        return tomllib.loads(text)
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThiDuaError(f"Không đọc được tệp kế hoạch {path}: {exc}.", "Kiểm tra đường dẫn và cú pháp TOML.") from exc
