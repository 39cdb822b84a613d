"""The year's emulation plan as data: periods, rounds, contents, indicators, criteria, rules, awards."""
from __future__ import annotations

import copy
import datetime as dt
import operator
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

from thidua.errors import ThiDuaError
from thidua.plan import dated
from thidua.plan.dated import AwardMoney, BaseSalary, InForce, LegalBasis, Office, to_date  # noqa: F401 (to_date re-exported)

DEFAULT_PLAN = "plan2019.toml"
SHEET_KEYS = ("info", "activities", "indicators", "selfscore", "proposals")
TABLES = ("periods", "rounds", "contents", "indicators", "rules", "charts", "criteria", "rule_sets", "levels", "forms",
          "titles",
          "proposal_fields", "conditions", "quotas") + dated.DATED_TABLES
PROPOSAL_FIELD_TYPES = ("choice", "level", "int", "decimal")
OFFICE = "CDVC"      # `decided_by` of the forms this office decides itself
# The proposal's attested state title, as a condition may name it (`title >= Lao động tiên tiến`): its value is
# the title only when the agency's decision (number and date) is given, else blank (awards/eligibility.py).
TITLE_FIELD = "title"
INDICATOR_TYPES = ("int", "money", "bool", "date")
# How a summary takes one unit's figure of a period: "period" = the review round's (else the quarters' sum),
# "latest" = the latest reported value (head counts).
FIGURES = ("period", "latest")
# Cross-field rules a submission must meet (table `rules`): one check and one issue code a row.
#   required_when: every field in `fields` must be filled when the condition `when` holds;
#   blank_when:    every field in `fields` should be blank when `when` holds;
#   not_more_than: the first field may not exceed the second;
#   never_decreases: across rounds (checked at consolidation, intake... not per file): a cumulative indicator's
#                    figure in a round never falls below the same unit's figure in an earlier round of the same
#                    year that starts on the same day (SK1 01/01-31/07 within TK 01/01-31/12).
RULE_KINDS = ("required_when", "blank_when", "not_more_than", "never_decreases")
CROSS_ROUND = ("never_decreases",)
ROUND_KINDS = ("registration", "quarter", "review", "adhoc")     # what a round of the plan can be


def version_year(version: Any) -> int | None:
    """The year a template version was made for («2020.1» -> 2020; None when it names no year)."""
    head = str(version or "").strip().split(".")[0]
    return int(head) if head.isdigit() and len(head) == 4 else None


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

    def holds(self, values: Mapping[str, Any], levels: Mapping[str, tuple[str, ...]] | None = None) -> bool | None:
        """True/False, or None when the field has no value to judge. A field in `levels` (ordered choices,
        lowest first) compares positions: `ky_luat < Khiển trách`."""
        found = values.get(self.field)
        if found in (None, ""):
            return None
        order = (levels or {}).get(self.field)
        if order is not None:
            folded = [c.casefold() for c in order]
            a, b = str(found).strip().casefold(), str(self.value).strip().casefold()
            if a not in folded or b not in folded:
                return None
            return _OPS[self.op](folded.index(a), folded.index(b))
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
    summary: bool = True        # a row of the summaries' indicator table (Biểu 2)
    figure: str = "period"      # see FIGURES
    percent: bool = False       # a percentage (0-100): a cell shown as 85% holds 0.85 and is read as 85


@dataclass(frozen=True)
class Rule:
    """One cross-field rule of the plan: kind, indicator codes, condition and the issue code it raises."""

    code: str
    kind: str
    fields: tuple[str, ...]
    when: tuple[Condition, ...]
    message: str
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart of a summary sheet and the indicators it shows (one series each)."""

    code: str
    sheet: str
    title: str
    indicators: tuple[str, ...]


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
    decided_by: str = OFFICE          # CDVC (this office), LDLD, TLD
    certificate: str = ""             # the paper's kind (Giấy khen); its proper name adds the awarding body


@dataclass(frozen=True)
class ProposalField:
    """A field of a proposal row the plan declares (a template column; conditions refer to it by code)."""

    code: str
    label: str
    type: str                          # choice, level (ordered choices, lowest first), int, decimal
    choices: tuple[str, ...] = ()
    subject: str = "both"
    min: float | None = None
    max: float | None = None
    width: float = 10
    help: str = ""
    percent: bool = False              # a percentage (0-100): a cell shown as 85% holds 0.85 and is read as 85
    # Level codes: for a collective proposing itself, the field can be computed from the history of years:
    # consecutive years, through the year under review, in which the unit was classified at one of these levels.
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class AwardCondition:
    """One condition of a title or form, with the words that explain it and its legal source: `legal` refers to a
    dated legal basis by role or code (`union_rules: tiêu chuẩn Giấy khen`), never to a law's number. `rounds`
    limits it to some rounds (blank: all); `valid_from`/`valid_to` to the dates it is in force (blank: open)."""

    applies: str                       # title or form code
    subject: str                       # individual / collective / "" (both)
    condition: Condition
    text: str
    legal: str
    source: str = "config"
    rounds: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def covers(self, subject: str) -> bool:
        return not self.subject or self.subject in ("both", subject)

    def in_force(self, day: dt.date | None) -> bool:
        return day is None or ((self.valid_from is None or self.valid_from <= day)
                               and (self.valid_to is None or day <= self.valid_to))

    def in_round(self, round_code: str | None) -> bool:
        return not self.rounds or round_code is None or round_code in self.rounds


@dataclass(frozen=True)
class Quota:
    """At most `max_count` proposals of a title/form, or at most `max_ratio` of the proposals of title `of`,
    per unit or per province, counted over the year (titles are yearly: never per round). `legal` as in
    AwardCondition; `valid_from`/`valid_to` the dates it is in force."""

    applies: str
    per: str                           # unit / province
    max_count: int | None
    max_ratio: float | None
    of: str
    legal: str
    source: str = "config"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def in_force(self, day: dt.date | None) -> bool:
        return day is None or ((self.valid_from is None or self.valid_from <= day)
                               and (self.valid_to is None or day <= self.valid_to))


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
    rules: tuple[Rule, ...] = ()
    charts: tuple[Chart, ...] = ()
    proposal_fields: tuple[ProposalField, ...] = ()
    award_conditions: tuple[AwardCondition, ...] = ()
    quotas: tuple[Quota, ...] = ()
    # dated data (plan/dated.py): what is in force on a date, whatever the plan's year
    legal_bases: tuple[LegalBasis, ...] = ()
    base_salaries: tuple[BaseSalary, ...] = ()
    award_money: tuple[AwardMoney, ...] = ()
    offices: tuple[Office, ...] = ()

    # -- look-ups
    @property
    def tables(self) -> Mapping[str, Any] | None:
        """The flat tables the plan was built from (a store keeps them with its year; a new year rolls them over);
        None for a plan built field by field."""
        return getattr(self, "_tables", None)

    @property
    def year(self) -> int:
        return int(self.meta["year"])

    @property
    def template_version(self) -> str:
        return str(self.meta["template_version"])

    def round(self, code: str) -> Round:
        """The round with this code, in any case ("q1" is Q1)."""
        for rnd in self.rounds:
            if rnd.code == code:
                return rnd
        wanted = str(code).strip().casefold()
        for rnd in self.rounds:
            if rnd.code.casefold() == wanted:
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

    @property
    def launch_indicator(self) -> str:
        """The yes/no indicator «the unit launched the movement» (plan §I.2), named in the plan's meta."""
        return str(self.meta.get("launch_indicator") or "")

    def charts_of(self, sheet: str) -> tuple[Chart, ...]:
        return tuple(c for c in self.charts if c.sheet == sheet)

    def content_name(self, number: int) -> str:
        return next((c.name for c in self.contents if c.number == number), "")

    def rule_set(self, code: str | None = None) -> RuleSet:
        code = code or self.meta.get("rule_set")
        for rs in self.rule_sets:
            if rs.code == code:
                return rs
        raise ThiDuaError(f"Không có bộ quy tắc xếp loại «{code}».",
                          "Chọn một trong: " + ", ".join(r.code for r in self.rule_sets) + ".")

    def rules_for(self, code: str, subject: str, on: dt.date | None = None,
                  round_code: str | None = None) -> tuple[AwardCondition, ...]:
        """The conditions of title or form `code` that apply to `subject` (individual / collective), in force on
        `on` and for round `round_code` (None: any)."""
        return tuple(r for r in self.award_conditions if r.applies == code and r.covers(subject)
                     and r.in_force(on) and r.in_round(round_code))

    # -- what is in force on a date (plan/dated.py)
    def in_force(self, day: dt.date) -> InForce:
        """The legal bases, base salary, award money, conditions, quotas and office names in force on `day`."""
        cache = self.__dict__.setdefault("_in_force", {})
        found = cache.get(day)
        if found is None:
            found = cache[day] = InForce(self, day)
        return found

    def office_on(self, day: dt.date | None = None) -> Office:
        """The office's names in force on `day` (default: the end of the plan's year)."""
        return self.in_force(day or self.reference_date).office

    @property
    def reference_date(self) -> dt.date:
        """The day a paper of the year is dated when it has no date of its own: the end of the last period."""
        ends = [p.end for p in self.periods if p.end]
        return max(ends) if ends else dt.date(self.year, 12, 31)

    @property
    def year_end_round(self) -> Round | None:
        """The review round that closes the year (tổng kết): yearly titles belong to it."""
        reviews = [r for r in self.rounds if r.kind == "review"]
        return max(reviews, key=lambda r: (r.end, r.start), default=None)

    def round_date(self, code: str) -> dt.date:
        """The date a round's proposals are judged on before any decision: the round's end."""
        return self.round(code).end

    def award(self, code: str) -> "AwardForm | Title | None":
        return next((x for x in (*self.forms, *self.titles) if x.code == code), None)

    @property
    def levels_of_fields(self) -> dict[str, tuple[str, ...]]:
        """{field code: its ordered choices} for the proposal fields of type level, and `title`: the titles in
        the plan's order (lowest first within a subject), so a form may ask for `title >= Lao động tiên tiến`."""
        out = {f.code: f.choices for f in self.proposal_fields if f.type == "level"}
        out[TITLE_FIELD] = tuple(t.name for t in self.titles)
        return out

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
                                       _bound(r.get("min"), r["type"]), _bound(r.get("max"), r["type"]),
                                       _bool(r["summary"]) if r.get("summary") not in (None, "")
                                       else r["type"] != "date",
                                       str(r.get("figure") or "period"), _bool(r.get("percent") or False))
                             for r in rows("indicators")),
            rules=tuple(Rule(str(r["code"]), str(r["kind"]), to_list(r["fields"]), parse_conditions(r.get("when")),
                             str(r["message"]), str(r.get("note") or ""))
                        for r in rows("rules")),
            charts=tuple(Chart(str(r["code"]), str(r["sheet"]), str(r["title"]), to_list(r["indicators"]))
                         for r in rows("charts")),
            criteria=tuple(Criterion(str(r["code"]), int(r["content"]), str(r["name"]), float(r["max_points"]))
                           for r in rows("criteria")),
            rule_sets=rule_sets,
            forms=tuple(AwardForm(str(r["code"]), str(r["name"]), int(r["rank"]), str(r["subject"]),
                                  _int(r.get("quota")), str(r.get("decided_by") or OFFICE),
                                  str(r.get("certificate") or ""))
                        for r in rows("forms")),
            titles=tuple(Title(str(r["code"]), str(r["name"]), str(r["subject"]), parse_conditions(r.get("conditions")))
                         for r in rows("titles")),
            proposal_fields=tuple(
                ProposalField(str(r["code"]), str(r["label"]), str(r["type"]), to_list(r.get("choices")),
                              str(r.get("subject") or "both"), _num(r.get("min")), _num(r.get("max")),
                              float(r.get("width") or 10), str(r.get("help") or ""),
                              _bool(r.get("percent") or False), to_list(r.get("history")))
                for r in rows("proposal_fields")),
            award_conditions=tuple(_award_condition(r) for r in rows("conditions")),
            quotas=tuple(Quota(str(r["applies"]), str(r.get("per") or "province"), _int(r.get("max_count")),
                               _num(r.get("max_ratio")), str(r.get("of") or ""), str(r.get("legal") or ""),
                               str(r.get("source") or "config"), to_date(r.get("valid_from")),
                               to_date(r.get("valid_to")))
                         for r in rows("quotas")),
            legal_bases=dated.legal_bases(rows("legal_bases")),
            base_salaries=dated.base_salaries(rows("base_salaries")),
            award_money=dated.award_money(rows("award_money")),
            offices=dated.offices(rows("offices")),
        )
        object.__setattr__(plan, "_tables", copy.deepcopy(dict(t)))
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
            if ind.figure not in FIGURES:
                problems.append(f"chỉ tiêu {ind.code}: cách lấy số «{ind.figure}» không có ({', '.join(FIGURES)})")
            if ind.percent and ind.type != "int":
                problems.append(f"chỉ tiêu {ind.code}: chỉ chỉ tiêu số mới là tỷ lệ phần trăm")
            if ind.summary and ind.type == "date":
                problems.append(f"chỉ tiêu {ind.code}: chỉ tiêu ngày không cộng được trong bảng tổng hợp")
        problems += self._check_rules()
        fields = {f.code: f for f in self.proposal_fields}
        for f in self.proposal_fields:
            if f.type not in PROPOSAL_FIELD_TYPES:
                problems.append(f"trường đề nghị {f.code}: kiểu «{f.type}» không có")
            if f.percent and f.type not in ("int", "decimal"):
                problems.append(f"trường đề nghị {f.code}: chỉ trường số mới là tỷ lệ phần trăm")
            if f.type in ("choice", "level") and not f.choices:
                problems.append(f"trường đề nghị {f.code}: chưa ghi các lựa chọn")
            level_codes = {lv.code for rs in self.rule_sets for lv in rs.levels}
            if f.history and f.type != "int":
                problems.append(f"trường đề nghị {f.code}: chỉ trường số nguyên (số năm) mới tính được từ lịch sử")
            for code in f.history:
                if code not in level_codes:
                    problems.append(f"trường đề nghị {f.code}: mức xếp loại «{code}» (tính từ lịch sử) không có")
        awards = {x.code for x in (*self.forms, *self.titles)}
        for rule in self.award_conditions:
            if rule.applies not in awards:
                problems.append(f"điều kiện «{rule.text}»: không có danh hiệu hay hình thức «{rule.applies}»")
            if rule.condition.field == TITLE_FIELD:
                if str(rule.condition.value).casefold() not in [t.name.casefold() for t in self.titles]:
                    problems.append(f"điều kiện «{rule.text}»: không có danh hiệu «{rule.condition.value}»")
                continue
            found = fields.get(rule.condition.field)
            if found is None:
                problems.append(f"điều kiện «{rule.text}»: không có trường đề nghị «{rule.condition.field}»")
            elif found.type == "level" and str(rule.condition.value).casefold() not in \
                    [c.casefold() for c in found.choices]:
                problems.append(f"điều kiện «{rule.text}»: «{rule.condition.value}» không có trong danh sách "
                                f"của trường {found.code}")
        for q in self.quotas:
            if q.applies not in awards or (q.of and q.of not in awards):
                problems.append(f"hạn mức của «{q.applies}»: không có danh hiệu hay hình thức đó")
            if q.per not in ("unit", "province"):
                problems.append(f"hạn mức của «{q.applies}»: phạm vi «{q.per}» không có (unit hoặc province)")
            if (q.max_count is None) == (q.max_ratio is None) or (q.max_ratio is not None and not q.of):
                problems.append(f"hạn mức của «{q.applies}»: ghi số lượng tối đa, hoặc tỷ lệ tối đa kèm danh hiệu gốc")
        for rule in self.award_conditions:
            for rc in rule.rounds:
                if rc not in codes:
                    problems.append(f"điều kiện «{rule.text}»: kỳ «{rc}» không có")
        problems += dated.problems(self)
        for rs in self.rule_sets:
            if not rs.levels:
                problems.append(f"bộ quy tắc {rs.code} không có mức xếp loại nào")
        if problems:
            raise ThiDuaError("Kế hoạch thi đua có chỗ mâu thuẫn: " + "; ".join(problems) + ".",
                              "Sửa các bảng kế hoạch rồi chạy lại.")


    def _check_rules(self) -> list[str]:
        kinds = {i.code: i.type for i in self.indicators}
        problems = [f"kỳ {r.code}: loại kỳ «{r.kind}» không có ({', '.join(ROUND_KINDS)})"
                    for r in self.rounds if r.kind not in ROUND_KINDS]
        for rule in self.rules:
            named = list(rule.fields) + [c.field for c in rule.when]
            for code in named:
                if code not in kinds:
                    problems.append(f"quy tắc {rule.code}: chỉ tiêu «{code}» không có")
            if rule.kind not in RULE_KINDS:
                problems.append(f"quy tắc {rule.code}: loại «{rule.kind}» không có ({', '.join(RULE_KINDS)})")
            elif rule.kind == "not_more_than" and (len(rule.fields) != 2 or any(
                    kinds.get(c) not in ("int", "money") for c in rule.fields)):
                problems.append(f"quy tắc {rule.code}: «not_more_than» cần đúng hai chỉ tiêu số")
            elif rule.kind == "never_decreases" and (not rule.fields or any(
                    kinds.get(c) not in ("int", "money") for c in rule.fields)):
                problems.append(f"quy tắc {rule.code}: «never_decreases» cần các chỉ tiêu số")
            elif rule.kind in ("required_when", "blank_when") and not rule.when:
                problems.append(f"quy tắc {rule.code}: «{rule.kind}» cần điều kiện «khi»")
        for chart in self.charts:
            for code in chart.indicators:
                if code not in kinds:
                    problems.append(f"biểu đồ {chart.code}: chỉ tiêu «{code}» không có")
        launch = self.launch_indicator
        if launch and kinds.get(launch) != "bool":
            problems.append(f"chỉ tiêu phát động «{launch}» phải là chỉ tiêu Có/Không của kế hoạch")
        return problems


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _award_condition(r: Mapping[str, Any]) -> AwardCondition:
    conds = parse_conditions(r.get("rule"))
    if len(conds) != 1:
        raise ValueError(f"điều kiện «{r.get('rule')}» phải là đúng một mệnh đề")
    return AwardCondition(str(r["applies"]), str(r.get("subject") or ""), conds[0], str(r.get("text") or conds[0]),
                          str(r.get("legal") or ""), str(r.get("source") or "config"), to_list(r.get("rounds")),
                          to_date(r.get("valid_from")), to_date(r.get("valid_to")))


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
