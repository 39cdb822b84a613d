"""Validate a submission: type every input, check bounds, required cells and the plan's cross-field rules."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from thidua.templates import spec as S
from thidua.fileio import sha256_file
from thidua.intake.legacy import convert_legacy
from thidua.intake.messages import format_number, make_issue
from thidua.intake.parse import INVALID, UNDERSTOOD, WITH_UNIT, excel_serial_date, fold, parse_choice, parse_date, parse_number
from thidua.plan.model import Plan
from thidua.intake.reader import RawInput, Reading, read_bytes
from thidua.intake.result import Issue, SubmissionResult, Value
from thidua.intake.safety import MAX_FILE
from thidua.text.normalize import nfc

# (yes/no indicator, the date it requires when "Có")
REQUIRED_WHEN_YES = (("ind.PD_PHATDONG", "ind.PD_NGAY"), ("ind.ND3_HOINGHI", "ind.ND3_HOINGHI_NGAY"))
# (smaller, larger, code): the first may not exceed the second
NOT_MORE_THAN = (("ind.ND5_DOANVIEN", "ind.ND5_CBCCVC", "X001"), ("ind.ND5_KETNAP", "ind.ND5_DOANVIEN", "X002"))
PERCENT_FIELDS = ("prop.ty_le_ldtt",)
_OP_TEXT = {"=": "phải là «{v}»", "!=": "không được là «{v}»", ">": "phải lớn hơn {v}", ">=": "phải từ {v} trở lên",
            "<": "phải nhỏ hơn {v}", "<=": "không được quá {v}"}


def validate_file(path, plan: Plan, key: bytes | None, units: dict | None = None,
                  expect_unit: str | None = None, expect_round: str | None = None) -> SubmissionResult:
    """Read and validate one file; never raises for a bad file (status "unreadable" with an issue)."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE:                       # never load a huge file into memory
            result = SubmissionResult(file=str(path), sha256=sha256_file(path), unreadable=True)
            result.issues.append(make_issue("F010", file=Path(path).name, detail=f"{size // (1024 * 1024)} MB"))
            return result
        data = Path(path).read_bytes()
    except OSError as exc:
        result = SubmissionResult(file=str(path), sha256=hashlib.sha256(b"").hexdigest(), unreadable=True)
        result.issues.append(make_issue("F012", file=Path(path).name, detail=exc.strerror or str(exc)))
        return result
    return validate_bytes(data, str(path), plan, key, units, expect_unit, expect_round)


def validate_bytes(data: bytes, name: str, plan: Plan, key: bytes | None, units: dict | None = None,
                   expect_unit: str | None = None, expect_round: str | None = None) -> SubmissionResult:
    """The same from memory; `name` is used for messages and the format check only."""
    reading = read_bytes(data, name, plan, key, units, expect_unit, expect_round)
    if reading.spec is not None:
        _check(reading, plan)
    return reading.result


def _check(reading: Reading, plan: Plan) -> None:
    res = reading.result
    typed: dict[tuple[str, int | None], object] = {}
    for raw in reading.inputs:
        value, issues = normalise(raw.field, raw.value)
        res.issues += [_at(i, raw) for i in issues]
        if value is not None:
            typed[(raw.field.key, raw.row)] = value
            res.values.append(Value(raw.sheet_name, raw.address, raw.field.key, value, raw.row))
    _required(reading, typed)
    _cross(reading, typed)
    _proposals(reading, plan, typed)
    _totals(reading, typed)


def _at(issue: Issue, raw: RawInput) -> Issue:
    issue.sheet, issue.cell, issue.field = raw.sheet_name, raw.address, raw.field.key
    return issue


# ------------------------------------------------------------------ one value
def normalise(f: S.Field, value: object) -> tuple[object, list[Issue]]:
    """The typed value of one input (None when unusable) and the issues it raises."""
    issues: list[Issue] = []
    if isinstance(value, str) and value.isascii():
        value = value.strip()
    elif isinstance(value, str):
        value = nfc(value).strip()
        legacy = convert_legacy(value)
        if legacy.encoding:
            issues.append(make_issue("V014", label=f.label, encoding=legacy.encoding, understood=legacy.text))
            value = legacy.text
        elif legacy.suspect and f.type in ("text", "choice"):
            issues.append(make_issue("V015", label=f.label, value=value))
    typed = _TYPERS[f.type](f, value, issues)
    if typed is not None:
        _bounds(f, typed, issues)
    return typed, issues


def _text(f: S.Field, value: object, issues: list) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _number(f: S.Field, value: object, issues: list) -> object:
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime)):
        issues.append(make_issue("V002", value=value, label=f.label, help=f.help))
        return None
    if isinstance(value, str):
        parsed = parse_number(value, money=f.type == "money", percent=f.key in PERCENT_FIELDS,
                              integer=f.type in ("int", "money"))
        if parsed.status == INVALID:
            issues.append(make_issue("V002", value=value, label=f.label, help=f.help))
            return None
        if parsed.status == WITH_UNIT:
            issues.append(make_issue("V003", value=value, label=f.label, suggestion=format_number(parsed.value)))
            return None
        if parsed.status == UNDERSTOOD:
            issues.append(make_issue("V004", value=value, label=f.label, understood=format_number(parsed.value)))
        value = parsed.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if f.type in ("int", "money") and not isinstance(value, int):
        issues.append(make_issue("V005", value=value, label=f.label, help=f.help))
        return None
    return value


def _date(f: S.Field, value: object, issues: list) -> object:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        day = excel_serial_date(float(value))
        if day is None:
            issues.append(make_issue("V008", value=value, label=f.label))
        return day
    parsed = parse_date(str(value))
    if parsed.status == INVALID:
        issues.append(make_issue("V008", value=value, label=f.label))
        return None
    issues.append(make_issue("V009", value=value, label=f.label, understood=parsed.value.strftime("%d/%m/%Y")))
    return parsed.value


def _choice(f: S.Field, value: object, issues: list) -> object:
    if isinstance(value, bool) and f.choices == S.YES_NO:
        return S.YES if value else S.NO
    text = _text(f, value, issues)
    parsed = parse_choice(text, f.choices)
    if parsed.status == INVALID:
        issues.append(make_issue("V011", value=text, label=f.label, choices="; ".join(f.choices)))
        return None
    if parsed.status == UNDERSTOOD:
        issues.append(make_issue("V012", value=text, label=f.label, understood=parsed.value))
    return parsed.value


_TYPERS = {"text": _text, "int": _number, "money": _number, "decimal": _number, "date": _date, "choice": _choice}


def _bounds(f: S.Field, value: object, issues: list) -> None:
    if f.type == "text" and f.max_len and len(value) > f.max_len:
        issues.append(make_issue("V013", value=value, label=f.label, found=len(value), bound=f.max_len))
    elif f.type == "date":
        if (f.min and value < f.min) or (f.max and value > f.max):
            bound = f"từ {_d(f.min)} đến {_d(f.max)}"
            issues.append(make_issue("V010", value=value, label=f.label, bound=bound, help=f.help))
    elif f.type in ("int", "money", "decimal"):
        if f.min is not None and value < f.min:
            issues.append(make_issue("V006", value=value, label=f.label, bound=f.min, help=f.help))
        elif f.max is not None and value > f.max:
            issues.append(make_issue("V007", value=value, label=f.label, bound=f.max, help=f.help))


def _d(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "…"


# ------------------------------------------------------------------ whole-file rules
def _issue(reading: Reading, code: str, field: str, row: int | None = None, value=None, **params) -> None:
    sheet, cell = reading.places.get((field, row), (None, None))
    reading.add(make_issue(code, sheet=sheet, cell=cell, field=field, value=value, row=row, **params))


def _required(reading: Reading, typed: dict) -> None:
    raw_filled = {(r.field.key, r.row) for r in reading.inputs} | reading.blocked
    for sheet in reading.spec.sheets:
        fields = [c.field for c in sheet.cells if c.is_input]
        for f in fields:
            if f.required and (f.key, None) in reading.places and (f.key, None) not in raw_filled:
                _issue(reading, "V001", f.key, label=f.label, help=f.help)
        if sheet.table:
            for row in reading.used_rows.get(sheet.key, []):
                for col in sheet.table.columns:
                    if col.field.required and (col.field.key, row) not in raw_filled:
                        _issue(reading, "V001", col.field.key, row, label=f"Dòng {row}: {col.field.label}",
                               help=col.field.help)


def _label(reading: Reading, key: str) -> str:
    for sheet in reading.spec.sheets:
        for c in sheet.cells:
            if c.field.key == key:
                return c.field.label
        if sheet.table:
            for col in sheet.table.columns:
                if col.field.key == key:
                    return col.field.label
    return key


def _cross(reading: Reading, typed: dict) -> None:
    for yes_key, date_key in REQUIRED_WHEN_YES:
        if (date_key, None) not in reading.places:
            continue
        answer, day = typed.get((yes_key, None)), typed.get((date_key, None))
        if answer == S.YES and day is None:
            _issue(reading, "X003", date_key, label=_label(reading, date_key), other=_label(reading, yes_key))
        elif answer == S.NO and day is not None:
            _issue(reading, "X004", date_key, value=day, label=_label(reading, date_key),
                   other=_label(reading, yes_key))
    for small, large, code in NOT_MORE_THAN:
        a, b = typed.get((small, None)), typed.get((large, None))
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
            _issue(reading, code, small, value=a, bound=b)


def _proposals(reading: Reading, plan: Plan, typed: dict) -> None:
    sheet = reading.spec.sheet("proposals")
    if sheet is None:
        return
    titles = {t.name: t for t in plan.titles}
    forms = {f.name: f for f in plan.forms}
    seen: dict[tuple, list[int]] = {}
    for row in reading.used_rows.get("proposals", []):
        values = {col.field.key[5:]: typed.get((col.field.key, row)) for col in sheet.table.columns}
        name, subject = values.get("name"), values.get("subject")
        title, form = titles.get(values.get("title")), forms.get(values.get("form"))
        if title is None and form is None and name:
            _issue(reading, "X010", "prop.title", row, value=name)
        for award, key in ((title, "prop.title"), (form, "prop.form")):
            if award and subject and award.subject in S.SUBJECT_CODES.values() \
                    and award.subject != S.SUBJECT_CODES[subject]:
                expected = S.INDIVIDUAL if award.subject == "individual" else S.COLLECTIVE
                _issue(reading, "X008", key, row, value=award.name, expected=expected.lower(), found=subject)
        if title and (not subject or title.subject == S.SUBJECT_CODES.get(subject)):
            _eligibility(reading, title, values, row, name)
        if name:
            dup = (fold(str(name)), subject, values.get("title"), values.get("form"))
            seen.setdefault(dup, []).append(row)
    for rows in seen.values():
        for row in rows[1:]:
            _issue(reading, "X005", "prop.name", row, value=typed.get(("prop.name", row)),
                   rows=", ".join(map(str, rows[:10])) + (f"… ({len(rows)} dòng)" if len(rows) > 10 else ""))


def _eligibility(reading: Reading, title, values: dict, row: int, name) -> None:
    failed = []
    for cond in title.conditions:
        verdict = cond.holds(values)
        key = "prop." + cond.field
        if verdict is None:
            _issue(reading, "X007", key, row, title=title.name, label=_label(reading, key))
        elif verdict is False:
            shown = format_number(cond.value) if isinstance(cond.value, float) else cond.value
            failed.append(f"«{_label(reading, key)}» " + _OP_TEXT[cond.op].format(v=shown))
    if failed:
        _issue(reading, "X006", "prop.title", row, value=name or title.name, title=title.name,
               detail="; ".join(failed))


def _totals(reading: Reading, typed: dict) -> None:
    found = reading.totals.get("selfscore")
    if not found:
        return
    sheet, cell, shown = found
    total = sum(v for (k, _), v in typed.items() if k.startswith("score.") and isinstance(v, (int, float)))
    if isinstance(shown, (int, float)) and not isinstance(shown, bool) and abs(shown - total) > 1e-6:
        reading.add(make_issue("X009", sheet=sheet, cell=cell, field="score.total", value=shown,
                               understood=format_number(round(total, 2))))
