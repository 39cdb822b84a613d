"""Score resolution (self vs reviewed), classification by the year's rule set, ranking, reviewed-score import/export."""
from __future__ import annotations

import csv
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from thidua.errors import ThiDuaError
from thidua.plan.model import Condition, Plan, Round, to_date
from thidua.store import register, scores as store_scores, submissions
from thidua.store.store import Store
from thidua.store.values import values_by_submission
from thidua.text.normalize import nfc
from thidua.text.numbers import format_number

NOT_REPORTED = "Chưa báo cáo"
NOT_ELIGIBLE_CODE = "CDDK"
MIN_SHARE = "min_criterion_share"   # computed condition field: the lowest criterion's share of its points
YEAR = "year"


# ---------------------------------------------------------------- periods
def review_round(plan: Plan, period: str) -> Round:
    """The review round closing a period: '1' -> SK1 (sơ kết Đợt 1), 'year' -> TK (tổng kết năm)."""
    reviews = sorted((r for r in plan.rounds if r.kind == "review"), key=lambda r: r.end)
    if not reviews:
        raise ThiDuaError("Kế hoạch không có kỳ sơ kết/tổng kết nào.", "Thêm kỳ loại «review» vào kế hoạch.")
    if str(period) == YEAR:
        return reviews[-1]
    for rnd in reviews:
        if rnd.period == str(period):
            return rnd
    raise ThiDuaError(f"Không có đợt «{period}».", "Dùng --period 1 (sơ kết Đợt 1) hoặc --period year (tổng kết năm).")


# ---------------------------------------------------------------- classification (pure)
@dataclass(frozen=True)
class Classification:
    """A unit's level and, in Vietnamese, the rule that decided it."""

    level_code: str
    level_name: str
    rule: str
    points: float | None = None
    eligible: bool = True


def _fmt(x: float) -> str:
    return format_number(x, 2)


def describe_condition(plan: Plan, cond: Condition) -> str:
    """A condition in Vietnamese words: 'không tiêu chí nào dưới 50% số điểm', 'Số CBCCVC vi phạm ... = 0'."""
    if cond.field == MIN_SHARE and isinstance(cond.value, float):
        return f"không tiêu chí nào dưới {_fmt(cond.value * 100)}% số điểm"
    label = next((i.label for i in plan.indicators if i.code == cond.field), cond.field)
    value = _fmt(cond.value) if isinstance(cond.value, float) else cond.value
    return f"{label} {cond.op.replace('>=', '≥').replace('<=', '≤').replace('!=', '≠')} {value}"


def condition_values(plan: Plan, criterion_points: Mapping[str, float] | None,
                     indicators: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values level conditions are judged on: indicators plus the computed min_criterion_share."""
    values = dict(indicators or {})
    if criterion_points is not None:
        shares = [float(criterion_points.get(c.code) or 0) / c.max_points for c in plan.criteria if c.max_points]
        values[MIN_SHARE] = min(shares) if shares else None
    return values


def classify_score(plan: Plan, points: float, criterion_points: dict[str, float] | None = None,
                   indicators: dict | None = None, rule_set: str | None = None, founded=None) -> Classification:
    """Classify a total score by the rule set (the year's by default); levels are tried from rank 1 down."""
    rs = plan.rule_set(rule_set)
    founded_date = _founded(founded)
    cutoff = rs.eligible_founded_before
    if founded_date and cutoff and founded_date >= cutoff:
        return Classification(NOT_ELIGIBLE_CODE, rs.not_eligible_name,
                              f"Thành lập ngày {founded_date:%d/%m/%Y}, không trước {cutoff:%d/%m/%Y}: "
                              "chưa đủ thời gian hoạt động để xếp loại", points, False)
    try:
        total = float(points)
    except (TypeError, ValueError):
        total = math.nan
    if math.isnan(total):
        raise ThiDuaError(f"Tổng điểm «{points}» không phải là số.", "Nhập tổng điểm bằng số, ví dụ 87,5.")
    values = condition_values(plan, criterion_points, indicators)
    missed: list[str] = []
    for level in rs.levels:
        if total < level.min_points:
            continue
        failed = [c for c in level.conditions if c.holds(values) is not True]
        if failed:
            why = "; ".join(_why(plan, c, values, criterion_points) for c in failed)
            missed.append(f"đủ {_fmt(level.min_points)} điểm của mức {level.name} nhưng {why}")
            continue
        rule = f"{_fmt(total)} điểm ≥ {_fmt(level.min_points)}"
        if level.conditions:
            rule += " và " + "; ".join(describe_condition(plan, c) for c in level.conditions)
        rule += f" → {level.name}"
        if missed:
            rule = "Không xếp mức cao hơn: " + "; ".join(missed) + ". " + rule
        return Classification(level.code, level.name, f"{rule} ({rs.code})", total)
    lowest = rs.levels[-1]
    return Classification(lowest.code, lowest.name,
                          f"{_fmt(total)} điểm, không đạt mức nào ở trên → {lowest.name} ({rs.code})", total)


def _founded(value: Any) -> dt.date | None:
    """A foundation date from a date, ISO text or an Excel serial number (the UDF passes those)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    try:
        text = str(value).strip()
        return dt.datetime.strptime(text, "%d/%m/%Y").date() if "/" in text else to_date(value)
    except ValueError:
        raise ThiDuaError(f"Ngày thành lập «{value}» không đọc được.", "Ghi ngày dạng dd/mm/yyyy hoặc yyyy-mm-dd.") from None


def _why(plan: Plan, cond: Condition, values: Mapping[str, Any], points: Mapping[str, float] | None) -> str:
    if cond.field == MIN_SHARE and points is not None and isinstance(cond.value, float):
        low = [f"{c.code} đạt {_fmt(float(points.get(c.code) or 0))}/{_fmt(c.max_points)}"
               for c in plan.criteria if c.max_points and float(points.get(c.code) or 0) / c.max_points < cond.value]
        return f"có tiêu chí dưới {_fmt(cond.value * 100)}% số điểm ({', '.join(low)})"
    if values.get(cond.field) in (None, ""):
        return f"thiếu số liệu để xét «{describe_condition(plan, cond)}»"
    return f"không đạt «{describe_condition(plan, cond)}» (báo cáo: {values.get(cond.field)})"


# ---------------------------------------------------------------- classification of every unit
@dataclass
class UnitResult:
    """One unit's scores, level and ranks for a period."""

    code: str
    name: str
    cluster: str
    reported: bool
    self_scores: dict[str, float] = field(default_factory=dict)
    reviewed: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    differences: list[tuple[str, float | None, float]] = field(default_factory=list)
    total: float | None = None
    classification: Classification | None = None
    rank_cluster: int | None = None
    rank_province: int | None = None

    @property
    def level_code(self) -> str:
        return self.classification.level_code if self.classification else ""

    @property
    def level_name(self) -> str:
        return self.classification.level_name if self.classification else NOT_REPORTED

    @property
    def rule(self) -> str:
        return self.classification.rule if self.classification else "Không có báo cáo của kỳ xét"


def classify_units(ws, period: str, rule_set: str | None = None) -> list[UnitResult]:
    """Resolve scores (reviewed wins over self-score), classify and rank every unit of the register."""
    with ws.store() as store:
        return classify_store(store, ws.plan, ws.units, period, rule_set)


def classify_store(store: Store, plan: Plan, units, period: str, rule_set: str | None = None,
                   indicators: Mapping[int, Mapping[str, Any]] | None = None) -> list[UnitResult]:
    """`classify_units` on an open store. `indicators` ({submission id: {code: value}}, e.g. from
    `values_by_submission(store, rounds, "ind.")` for rounds including the review round) saves reading them again."""
    rnd = review_round(plan, period)
    subs = submissions.current_ids(store, [rnd.code])
    scores = values_by_submission(store, [rnd.code], "score.")
    inds = indicators if indicators is not None else values_by_submission(store, [rnd.code], "ind.")
    reviewed = store_scores.reviewed_for_round(store, rnd.code)
    results = []
    for unit in units:
        sid = subs.get((unit.code, rnd.code))
        res = UnitResult(unit.code, unit.name, unit.cluster, sid is not None)
        results.append(res)
        if sid is None:
            continue
        res.self_scores = {k: float(v) for k, v in scores.get(sid, {}).items() if isinstance(v, (int, float))}
        res.reviewed = reviewed.get(unit.code, {})
        for crit in plan.criteria:
            own, rev = res.self_scores.get(crit.code), res.reviewed.get(crit.code)
            res.final[crit.code] = rev if rev is not None else (own or 0.0)
            if rev is not None and (own is None or abs(rev - own) > 1e-9):
                res.differences.append((crit.code, own, rev))
        res.total = round(sum(res.final.values()), 4)
        res.classification = classify_score(plan, res.total, res.final, inds.get(sid, {}), rule_set, unit.founded)
    rank_units(results)
    return results


def competition_ranks(values: Sequence[float]) -> list[int]:
    """Ranks 1, 2, 2, 4 ... for values sorted high to low (ties share a rank)."""
    ordered = sorted(values, reverse=True)
    first = {}
    for i, v in enumerate(ordered, start=1):
        first.setdefault(v, i)
    return [first[v] for v in values]


def rank_units(results: list[UnitResult]) -> None:
    """Rank classified units (reported and eligible) within their cluster and province-wide, by total."""
    ranked = [r for r in results if r.classification and r.classification.eligible]
    for r, rank in zip(ranked, competition_ranks([r.total for r in ranked])):
        r.rank_province = rank
    clusters: dict[str, list[UnitResult]] = {}
    for r in ranked:
        clusters.setdefault(r.cluster, []).append(r)
    for members in clusters.values():
        for r, rank in zip(members, competition_ranks([m.total for m in members])):
            r.rank_cluster = rank


# ---------------------------------------------------------------- reviewed scores: export and import
EXPORT_SHEET = "Điểm thẩm định"
EXPORT_COLUMNS = (("Mã đơn vị", 12), ("Tên đơn vị", 44), ("Kỳ", 7), ("Mã tiêu chí", 10), ("Tên tiêu chí", 44),
                  ("Điểm tối đa", 10), ("Điểm tự chấm", 11), ("Điểm thẩm định", 13))
_KEYS = {"unit": ("mã đơn vị", "ma don vi", "unit"), "round": ("kỳ", "ky", "round", "kỳ báo cáo"),
         "criterion": ("mã tiêu chí", "ma tieu chi", "criterion"),
         "score": ("điểm thẩm định", "diem tham dinh", "score", "điểm")}


def export_scores(ws, out: str | Path, rounds: Sequence[str] | None = None) -> Path:
    """Write the sheet the office fills with reviewed scores: one row per unit and criterion, self-score shown."""
    plan, units = ws.plan, ws.units
    import xlsxwriter

    from thidua.fileio import atomic_path
    codes = list(rounds or [r.code for r in plan.rounds if "selfscore" in r.sheets])
    with ws.store() as store:
        subs = submissions.current_ids(store, codes)
        scores = values_by_submission(store, codes, "score.")
        reviewed = store_scores.all_reviewed(store)
    out = Path(out)
    with atomic_path(out) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"in_memory": True})
        ws = wb.add_worksheet(EXPORT_SHEET)
        head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True})
        locked = wb.add_format({"bg_color": "#F2F2F2", "border": 1})
        entry = wb.add_format({"bg_color": "#FFF2CC", "border": 1, "locked": False, "num_format": "0.0#"})
        for col, (label, width) in enumerate(EXPORT_COLUMNS):
            ws.write_string(0, col, label, head)
            ws.set_column(col, col, width)
        row = 1
        for rc in codes:
            for unit in units:
                sid = subs.get((unit.code, rc))
                if sid is None:
                    continue
                for crit in plan.criteria:
                    own = scores.get(sid, {}).get(crit.code)
                    for col, value in enumerate((unit.code, unit.name, rc, crit.code, crit.name, crit.max_points, own)):
                        ws.write(row, col, value, locked)
                    rev = reviewed.get((unit.code, rc, crit.code))
                    ws.write(row, 7, rev, entry) if rev is not None else ws.write_blank(row, 7, None, entry)
                    ws.data_validation(row, 7, row, 7, {"validate": "decimal", "criteria": "between", "minimum": 0,
                                                        "maximum": crit.max_points,
                                                        "error_message": f"Điểm từ 0 đến {_fmt(crit.max_points)}."})
                    row += 1
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(row - 1, 1), len(EXPORT_COLUMNS) - 1)
        ws.protect("", {"autofilter": True, "sort": True, "format_columns": True})
        wb.close()
    return out


def _read_rows(path: Path) -> list[list[Any]]:
    if path.suffix.lower() == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t") if text.strip() else csv.excel
        return [row for row in csv.reader(text.splitlines(), dialect)]
    try:
        from python_calamine import CalamineWorkbook
        book = CalamineWorkbook.from_path(str(path))
        name = EXPORT_SHEET if EXPORT_SHEET in book.sheet_names else book.sheet_names[0]
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types
        raise ThiDuaError(f"Không đọc được tệp điểm {path.name}: {exc}.",
                          "Dùng tệp .xlsx (từ «thidua scores export») hoặc .csv có cột mã đơn vị, kỳ, mã tiêu chí, điểm.") from exc


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = nfc(str(value)).strip().lower().replace("điểm", "").replace(" ", "").replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError(value)
    return float(text)


def _columns(header: list[Any]) -> dict[str, int]:
    names = [nfc(str(h or "")).strip().lower() for h in header]
    found = {key: next((i for i, n in enumerate(names) if n in aliases), None) for key, aliases in _KEYS.items()}
    if all(v is not None for v in found.values()):
        return found  # type: ignore[return-value]
    return {"unit": 0, "round": 1, "criterion": 2, "score": 3}


def import_scores(ws, path: str | Path, source: str | None = None) -> int:
    """Import reviewed scores (unit, round, criterion, score); all rows are checked first, nothing is
    written when any row is wrong. Blank scores are skipped. Returns the number of scores written."""
    path, plan = Path(path), ws.plan
    if not path.exists():
        raise ThiDuaError(f"Không tìm thấy tệp điểm {path}.", "Kiểm tra đường dẫn tệp.")
    rows = _read_rows(path)
    if not rows:
        raise ThiDuaError(f"Tệp {path.name} trống.", "Điền điểm thẩm định vào tệp xuất bởi «thidua scores export».")
    has_header = _number_or_none(rows[0][3] if len(rows[0]) > 3 else None) is None
    cols = _columns(rows[0]) if has_header else {"unit": 0, "round": 1, "criterion": 2, "score": 3}
    start = 1 if has_header else 0
    criteria = {c.code: c for c in plan.criteria}
    rounds = {r.code for r in plan.rounds if "selfscore" in r.sheets}
    with ws.store() as store:
        known_units = register.unit_codes(store)
        problems, good = [], []
        for number, row in enumerate(rows[start:], start=start + 1):
            cell = lambda key: row[cols[key]] if cols[key] < len(row) else None  # noqa: E731
            unit, rc, crit = (nfc(str(cell(k) or "")).strip() for k in ("unit", "round", "criterion"))
            rc = next((r for r in rounds if r.casefold() == rc.casefold()), rc)       # "sk1" is SK1
            if not (unit or rc or crit):
                continue
            try:
                score = _number(cell("score"))
            except ValueError:
                problems.append(f"dòng {number}: điểm «{cell('score')}» không phải là số")
                continue
            if score is None:
                continue
            if known_units and unit not in known_units:
                problems.append(f"dòng {number}: không có đơn vị mã «{unit}»")
            elif rc not in rounds:
                problems.append(f"dòng {number}: kỳ «{rc}» không chấm điểm (chỉ {', '.join(sorted(rounds))})")
            elif crit not in criteria:
                problems.append(f"dòng {number}: không có tiêu chí «{crit}» (có {', '.join(criteria)})")
            elif not 0 <= score <= criteria[crit].max_points:
                problems.append(f"dòng {number}: điểm {_fmt(score)} của {crit} ngoài khoảng 0 – "
                                f"{_fmt(criteria[crit].max_points)}")
            else:
                good.append((unit, rc, crit, score))
        if problems:
            shown = "; ".join(problems[:15]) + (f"; và {len(problems) - 15} lỗi khác" if len(problems) > 15 else "")
            raise ThiDuaError(f"Tệp {path.name} có {len(problems)} lỗi, chưa nhập điểm nào: {shown}.",
                              "Sửa các dòng trên rồi nhập lại.")
        store_scores.save_reviewed(store, good, source or path.name)
    return len(good)


def _number_or_none(value: Any) -> float | None:
    try:
        return _number(value)
    except ValueError:
        return None
