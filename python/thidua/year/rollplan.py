"""A plan moved to another year (pure): dates of the year moved (29 February handled), names that carry the year
renamed, the rule set's code and the template version renewed; every change and every doubt a note."""
from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

from thidua.plan.model import to_date

# The tables whose dates belong to the year and move with it. Every other table is left as it is: dated rule
# data (laws, amounts, the office's names: valid from / to) is chosen by date, never moved.
DATED_BY_YEAR = {"meta": ("plan_date",), "periods": ("start", "end"), "rounds": ("start", "end", "due"),
                 "indicators": ("min", "max"), "rule_sets": ("eligible_founded_before",)}
# Texts that may name the year (a round's name, an indicator's label ...). Legal texts (`legal`, `text` of
# conditions and quotas) are never touched: «NĐ 38/2019/NĐ-CP» stays 2019.
NAMED_BY_YEAR = {"periods": ("name",), "rounds": ("name",), "contents": ("name",), "indicators": ("label",),
                 "charts": ("title",), "criteria": ("name",), "rule_sets": ("name",), "levels": ("name",),
                 "titles": ("name",), "proposal_fields": ("label", "help")}
COLUMN_WORDS = {"plan_date": "ngày kế hoạch", "start": "từ ngày", "end": "đến ngày", "due": "hạn gửi",
                "min": "ngày nhỏ nhất", "max": "ngày lớn nhất", "eligible_founded_before": "thành lập trước ngày"}
CHECK, CHANGED, CARRIED = "Cần kiểm tra", "Đã đổi", "Đã chuyển"


@dataclass(frozen=True)
class Note:
    """One line of the roll-over report: what part, what was done (or must be checked), in words."""

    part: str
    kind: str          # CARRIED, CHANGED or CHECK
    text: str

    def row(self, number: int) -> tuple:
        return (number, self.part, self.kind, self.text)


# ---------------------------------------------------------------- dates
def shift_date(day: dt.date, years: int) -> tuple[dt.date, str | None]:
    """`day` moved by whole years; 29 February into a common year becomes 28 February (and says so); the last
    day of February into a leap year stays the 28th, with a word that the 29th exists."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28), (f"ngày 29/02/{day.year} không có trong năm {year}: đã ghi 28/02/{year}")
    moved = dt.date(year, day.month, day.day)
    if day.month == 2 and day.day == 28 and calendar.isleap(year) and not calendar.isleap(day.year):
        return moved, (f"ngày 28/02/{day.year} là cuối tháng 2; năm {year} có ngày 29/02 — nếu là hạn cuối tháng, "
                       f"sửa thành 29/02/{year}")
    return moved, None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return to_date(value)
    return None


def _d(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


# ---------------------------------------------------------------- texts that name the year
def _year_pattern(year: int) -> re.Pattern:
    # the year as a word, not inside a number, not a document's number («38/2019/NĐ-CP», «NĐ 91/2017»)
    return re.compile(rf"(?<![\d]){year}(?![\d])(?!/[A-ZĐ])")


def rename_year(text: str, source: int, year: int) -> tuple[str, bool]:
    """Replace the source year in a name by the new one; (text, ambiguous) where ambiguous means a span of years
    («(2018-2019)») or a legal number that the office must rewrite itself (then the text is left as it is)."""
    if str(source) not in text:
        return text, False
    if re.search(rf"\d{{4}}\s*[-–]\s*{source}(?!\d)|(?<!\d){source}\s*[-–]\s*\d{{4}}", text) or \
            re.search(rf"\d+/{source}/[A-ZĐ]", text):
        return text, True
    return _year_pattern(source).sub(str(year), text), False


_ANNIVERSARY = re.compile(r"^(\s*)(\d+)( năm\b.*\(.*?)(\d{4})(\s*\)\s*)$")


def roll_anniversaries(text: str, source: int, year: int) -> str:
    """«89 năm thành lập Đảng (03/02/1930-03/02/2019)» -> «90 năm … (03/02/1930-03/02/2020)»; other items unchanged.
    Which anniversaries a year celebrates is the plan's choice: the office rewrites the list (flagged)."""
    items = []
    for item in text.split(";"):
        match = _ANNIVERSARY.match(item)
        if match and int(match.group(4)) == source:
            lead, number, middle, _, tail = match.groups()
            item = f"{lead}{int(number) + year - source}{middle}{year}{tail}"
        items.append(item)
    return ";".join(items)


# ---------------------------------------------------------------- the plan
def roll_plan(tables: Mapping[str, Any], source: int, year: int) -> tuple[dict, list[Note]]:
    """The plan's tables for `year` (pure): every date of the year moved (29 February handled), the names that
    carry the year renamed, the rule set's code renamed, the template version renewed; and what the office must
    check. Tables of dated rules are copied unchanged: what is in force is picked by date."""
    years = year - source
    out = copy.deepcopy(dict(tables))
    notes: list[Note] = []
    meta = dict(out.get("meta") or {})
    out["meta"] = meta
    meta["year"] = year
    meta["template_version"] = f"{year}.1"
    notes.append(Note("Thông tin chung", CHANGED, f"năm thi đua {source} → {year}; phiên bản biểu mẫu {year}.1 "
                      f"(tệp biểu mẫu năm {source} gửi vào năm {year} bị từ chối)"))
    renames = {}
    for rs in out.get("rule_sets") or []:
        code = str(rs.get("code") or "")
        if str(source) in code:
            renames[code] = code.replace(str(source), str(year))
    for rs in out.get("rule_sets") or []:
        rs["code"] = renames.get(str(rs.get("code")), rs.get("code"))
    for lv in out.get("levels") or []:
        lv["rule_set"] = renames.get(str(lv.get("rule_set")), lv.get("rule_set"))
    if str(meta.get("rule_set") or "") in renames:
        meta["rule_set"] = renames[str(meta["rule_set"])]
    for old, new in renames.items():
        notes.append(Note("Bộ quy tắc xếp loại", CHANGED, f"mã {old} → {new} (các mức, ngưỡng điểm giữ nguyên)"))
    notes += _move_dates(out, source, years)
    notes += _rename_texts(out, source, year)
    for period in out.get("periods") or []:
        text = str(period.get("anniversaries") or "")
        if text:
            period["anniversaries"] = roll_anniversaries(text, source, year)
            notes.append(Note(f"Đợt thi đua {period.get('code')}", CHECK,
                              f"các ngày kỷ niệm là của kế hoạch năm {source} (số năm đã tính lại, ví dụ "
                              f"«{period['anniversaries'].split(';')[0].strip()}»): viết lại theo kế hoạch năm {year}"))
    notes.append(Note("Thông tin chung", CHECK, f"số kế hoạch «{meta.get('plan_number', '')}» và ngày ban hành "
                      f"{_d(_as_date(meta['plan_date']))} là dự kiến: ghi đúng số, ngày của kế hoạch năm {year}"
                      if _as_date(meta.get("plan_date")) else "ghi số, ngày của kế hoạch năm mới"))
    return out, notes


def _move_dates(out: dict, source: int, years: int) -> list[Note]:
    notes, moved = [], 0
    for table, columns in DATED_BY_YEAR.items():
        rows = [out[table]] if table == "meta" else list(out.get(table) or [])
        for row in rows:
            said: dict[str, list[str]] = {}          # one note per row and kind of date, naming its columns
            for column in columns:
                day = _as_date(row.get(column))
                if day is None:
                    continue
                new, note = shift_date(day, years)
                row[column] = new
                moved += 1
                if note:
                    said.setdefault(note, []).append(COLUMN_WORDS.get(column, column))
            for note, words in said.items():
                label = "" if table == "meta" else row.get("code") or ""
                notes.append(Note(f"{_part(table, label)} ({', '.join(words)})", CHECK, note))
    notes.insert(0, Note("Đợt, kỳ báo cáo, hạn nộp", CHANGED,
                         f"{moved} ngày đã chuyển sang năm {source + years} (từ ngày, đến ngày, hạn gửi, ngày kế hoạch, "
                         "giới hạn ngày của chỉ tiêu, ngày thành lập để được xếp loại)"))
    return notes


def _part(table: str, code: Any) -> str:
    names = {"meta": "Thông tin chung", "periods": "Đợt thi đua", "rounds": "Kỳ báo cáo", "indicators": "Chỉ tiêu",
             "rule_sets": "Bộ quy tắc xếp loại", "contents": "Nội dung thi đua", "charts": "Biểu đồ",
             "criteria": "Tiêu chí chấm điểm", "levels": "Mức xếp loại", "titles": "Danh hiệu",
             "proposal_fields": "Trường đề nghị KT"}
    return f"{names.get(table, table)} {code}".strip()


def _rename_texts(out: dict, source: int, year: int) -> list[Note]:
    notes, renamed = [], 0
    for table, columns in NAMED_BY_YEAR.items():
        for row in out.get(table) or []:
            for column in columns:
                text = row.get(column)
                if not isinstance(text, str):
                    continue
                new, ambiguous = rename_year(text, source, year)
                if ambiguous:
                    notes.append(Note(_part(table, row.get("code") or row.get("number") or ""), CHECK,
                                      f"«{text}» ghi một khoảng năm hay số văn bản có năm {source}: viết lại cho năm {year}"))
                elif new != text:
                    row[column] = new
                    renamed += 1
    if renamed:
        notes.append(Note("Tên đợt, kỳ, chỉ tiêu", CHANGED, f"{renamed} tên có năm {source} đã ghi năm {year} "
                          f"(ví dụ «Báo cáo quý I/{year}»); căn cứ pháp lý giữ nguyên"))
    return notes
