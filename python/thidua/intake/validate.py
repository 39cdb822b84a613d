"""Validate a submission: type every input, check bounds, required cells and the plan's cross-field rules."""
from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from pathlib import Path

from thidua.templates import spec as S
from thidua.fileio import sha256_file
from thidua.intake.legacy import convert_legacy, file_encoding, plain_ascii
from thidua.errors import ThiDuaError
from thidua.intake.messages import CATALOGUE, format_number, make_issue
from thidua.intake.parse import INVALID, UNDERSTOOD, WITH_UNIT, excel_serial_date, fold, parse_choice, parse_date, parse_number
from thidua.plan.model import CROSS_ROUND, Plan
from thidua.awards.eligibility import Nomination, attest, facts, judge, quota_warnings
from thidua.intake.reader import RawInput, Reading, read_bytes
from thidua.intake.result import Issue, SubmissionResult, Value
from thidua.intake.safety import MAX_FILE
from thidua.intake.shown import ERROR_VALUES
from thidua.text.normalize import strip_invisible

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
                   expect_unit: str | None = None, expect_round: str | None = None,
                   sha256: str | None = None) -> SubmissionResult:
    """The same from memory; `name` is used for messages and the format check only; `sha256` as in read_bytes."""
    reading = read_bytes(data, name, plan, key, units, expect_unit, expect_round, sha256=sha256)
    if reading.spec is not None:
        _check(reading, plan)
    return reading.result


def _check(reading: Reading, plan: Plan) -> None:
    res = reading.result
    typed: dict[tuple[str, int | None], object] = {}
    prefer = file_encoding([raw.value for raw in reading.inputs if isinstance(raw.value, str)])
    for raw in reading.inputs:
        value, issues = normalise(raw.field, raw.value, prefer=prefer, percent_shown=raw.percent, styled=raw.styled)
        if issues:
            res.issues += [_at(i, raw) for i in issues]
        if value is not None:
            typed[(raw.field.key, raw.row)] = value
            res.values.append(Value(raw.sheet_name, raw.address, raw.field.key, value, raw.row))
    _required(reading, typed)
    _cross(reading, plan, typed)
    _proposals(reading, plan, typed)
    _totals(reading, typed)


def _at(issue: Issue, raw: RawInput) -> Issue:
    issue.sheet, issue.cell, issue.field = raw.sheet_name, raw.address, raw.field.key
    return issue


# ------------------------------------------------------------------ one value
def normalise(f: S.Field, value: object, prefer: str | None = None,
              percent_shown: bool = False, styled: bool = True) -> tuple[object, list[Issue]]:
    """The typed value of one input (None when unusable) and the issues it raises.

    `prefer`: the encoding the file's unambiguous texts use (settles ambiguous legacy text);
    `percent_shown`: the cell is formatted as a percentage (Excel stores 85% as 0.85);
    `styled`: the file says how its numbers are shown (without that, a bare 1 in a percentage field may
    have been 100%)."""
    issues: list[Issue] = []
    if isinstance(value, str):
        if value.strip() in ERROR_VALUES:
            issues.append(make_issue("V017", value=value.strip(), label=f.label, meaning=ERROR_VALUES[value.strip()]))
            return None, issues
        # zero-width characters and BOM first; C0 controls after legacy reading (TCVN3 puts capitals on control bytes)
        value, removed = strip_invisible(value, controls=False)
        if plain_ascii(value):
            value = value.strip()
        else:
            value = _text_as_typed(f, unicodedata.normalize("NFC", value).strip(), prefer, issues)
        value, controls = strip_invisible(value)      # the one place stored text is cleaned of invisible characters
        removed = list(dict.fromkeys(removed + controls))
        if removed:
            issues.append(make_issue("V019", value=value, label=f.label, detail=", ".join(removed)))
        value = value.strip()
        if not value:
            return None, issues
    if f.percent and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = _percent(f, value, percent_shown, styled, issues)
    typed = _TYPERS[f.type](f, value, issues)
    if f.percent and isinstance(value, str) and isinstance(typed, (int, float)) and 0 < typed < 1 \
            and not value.rstrip().endswith("%"):
        typed = _percent(f, typed, False, True, issues)      # «0,85» typed as text: 85%, flagged
    if typed is not None:
        _bounds(f, typed, issues)
    return typed, issues


def _percent(f: S.Field, number: float, shown: bool, styled: bool, issues: list) -> float:
    """A number in a field the plan declares a percentage (0-100), as the cell shows it: 0,925 shown as 92,5%
    is 92,5. A bare fraction (0,85; or 1 in a file that keeps no number formats, where 100% and 1 look the
    same) is read as that many per cent and flagged with both readings (V018): never silently."""
    if shown:
        return _tidy(number * 100)
    if 0 < number < 1 or (number == 1 and not styled):
        issues.append(make_issue("V018", value=number, label=f.label, understood=format_number(_tidy(number * 100))))
        return _tidy(number * 100)
    return number


def _text_as_typed(f: S.Field, value: str, prefer: str | None, issues: list) -> str:
    """Legacy encodings read (or flagged); lookalike Ð repaired only once the text is known to be Unicode."""
    legacy = convert_legacy(value, prefer)
    if legacy.ambiguous and f.type in ("text", "choice"):
        shown = [f"«{t}»" + (f" ({e})" if e else " (Unicode)") for e, t in ((legacy.encoding, legacy.text),
                                                                          *legacy.alternatives)]
        issues.append(make_issue("V016", label=f.label, value=value, understood=shown[0], other=" hoặc ".join(shown[1:])))
    elif legacy.encoding:
        issues.append(make_issue("V014", label=f.label, encoding=legacy.encoding, understood=legacy.text))
    elif legacy.suspect and f.type in ("text", "choice"):
        issues.append(make_issue("V015", label=f.label, value=value))
    return legacy.text


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
        parsed = parse_number(value, money=f.type == "money", percent=f.percent,
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
        return _date_of_moment(f, value, issues)
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


# Seconds off midnight that are a writer's arithmetic, not a time anyone typed (SheetJS's .xls dates in
# Asia/Ho_Chi_Minh are 30 s off: its 1899 epoch in local mean time, +7:06:40).
NOISE = dt.timedelta(minutes=2)


def _date_of_moment(f: S.Field, moment: dt.datetime, issues: list) -> dt.date:
    """A date-only field whose cell holds a time too. A web export library in Vietnam (UTC+7) writes a date
    typed as 05/04/2019 as «04/04/2019 17:00» (local midnight in UTC): the nearest midnight undoes any such
    shift, and both readings are named (V020). A time before noon leaves the day as it is (V021)."""
    moment = moment.replace(tzinfo=None)        # an .ods date-value in UTC ("…Z"): its wall clock, as written
    nearest = (moment + dt.timedelta(hours=12)).date()
    if abs(moment - dt.datetime.combine(nearest, dt.time())) <= NOISE:
        return nearest
    shown = moment.strftime("%d/%m/%Y %H:%M")
    if nearest != moment.date():
        issues.append(make_issue("V020", value=shown, label=f.label, understood=nearest.strftime("%d/%m/%Y"),
                                 other=moment.strftime("%d/%m/%Y")))
    else:
        issues.append(make_issue("V021", value=shown, label=f.label, understood=nearest.strftime("%d/%m/%Y")))
    return nearest


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


def _tidy(number: float) -> float | int:
    """A product without binary noise (0.85 * 100 is 85.00000000000001)."""
    out = round(number, 9)
    return int(out) if float(out).is_integer() else out


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
    return _labels(reading.spec).get(key, key)


_LABELS: dict[int, tuple] = {}


def _labels(spec: S.TemplateSpec) -> dict[str, str]:
    """Field key -> the label of its first cell or column in the spec, made once per spec."""
    cached = _LABELS.get(id(spec))
    if cached is None or cached[0] is not spec:
        labels: dict[str, str] = {}
        for sheet in spec.sheets:
            for c in sheet.cells:
                labels.setdefault(c.field.key, c.field.label)
            if sheet.table:
                for col in sheet.table.columns:
                    labels.setdefault(col.field.key, col.field.label)
        if len(_LABELS) > 64:
            _LABELS.clear()
        cached = _LABELS[id(spec)] = (spec, labels)
    return cached[1]


_CHECKED: dict[int, tuple] = {}      # id -> the rules found sound (a tuple: never changes under its id)


def check_rules(plan: Plan) -> None:
    """Refuse a plan whose rules name an issue code the catalogue does not have (before any file is read)."""
    if _CHECKED.get(id(plan.rules), (None,))[0] is plan.rules:
        return
    for rule in plan.rules:
        if rule.message not in CATALOGUE:
            raise ThiDuaError(f"Quy tắc {rule.code} của kế hoạch dùng mã lỗi «{rule.message}» không có trong danh mục.",
                              "Sửa cột «Mã lỗi» của trang «Quy tắc kiểm tra» theo docs/CODES.md.")
    if isinstance(plan.rules, tuple):
        if len(_CHECKED) > 64:
            _CHECKED.clear()
        _CHECKED[id(plan.rules)] = (plan.rules,)


def _cross(reading: Reading, plan: Plan, typed: dict) -> None:
    """The plan's cross-field rules (table `rules`), in the plan's order."""
    values = {key[4:]: v for (key, row), v in typed.items() if row is None and key.startswith("ind.")}
    check_rules(plan)
    for rule in plan.rules:
        keys = ["ind." + code for code in rule.fields]
        if rule.kind in CROSS_ROUND:          # across files: store/crossround.py
            continue
        if rule.kind == "not_more_than":
            a, b = values.get(rule.fields[0]), values.get(rule.fields[1])
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > b:
                _issue(reading, rule.message, keys[0], value=a, bound=b, label=_label(reading, keys[0]),
                       other=_label(reading, keys[1]))
            continue
        if not all(cond.holds(values) for cond in rule.when):
            continue
        for key, code in zip(keys, rule.fields):
            if (key, None) not in reading.places:
                continue
            given = values.get(code)
            if rule.kind == "required_when" and given is None:
                _issue(reading, rule.message, key, label=_label(reading, key), other=_others(reading, rule))
            elif rule.kind == "blank_when" and given is not None:
                _issue(reading, rule.message, key, value=given, label=_label(reading, key), other=_others(reading, rule))


def _others(reading: Reading, rule) -> str:
    """The labels of the fields a rule's conditions name (the «other» of its message)."""
    return "; ".join(_label(reading, "ind." + cond.field) for cond in rule.when)


def _proposals(reading: Reading, plan: Plan, typed: dict) -> None:
    """Proposal rows: a nominee who fails a condition or a quota is a warning on that row, never a rejection. A
    state title is a fact only with the agency's decision (number, date) and in the year-end round."""
    sheet = reading.spec.sheet("proposals")
    if sheet is None:
        return
    rnd = reading.spec.round
    titles = {t.name: t for t in plan.titles}
    forms = {f.name: f for f in plan.forms}
    seen: dict[tuple, list[int]] = {}
    nominations: list[tuple[int, Nomination]] = []
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
        attested = attest(plan, values, title, rnd.code)
        for code, fields in attested.notes:
            _issue(reading, code, "prop.title", row, **fields)
        if subject in S.SUBJECT_CODES:
            _eligibility(reading, plan, facts(values, attested), S.SUBJECT_CODES[subject], (form,), row, name)
        if name:
            dup = (fold(str(name)), subject, values.get("title"), values.get("form"))
            seen.setdefault(dup, []).append(row)
            nominations.append((row, Nomination("", rnd.code, str(name),
                                                title.code if title and attested.counts else None,
                                                form.code if form else None)))
    for rows in seen.values():
        for row in rows[1:]:
            _issue(reading, "X005", "prop.name", row, value=typed.get(("prop.name", row)),
                   rows=", ".join(map(str, rows[:10])) + (f"… ({len(rows)} dòng)" if len(rows) > 10 else ""))
    for i, found in quota_warnings(plan, [n for _, n in nominations], rnd.end).items():
        for code, detail in found:
            _issue(reading, code, "prop.title", nominations[i][0], detail=detail)


def _eligibility(reading: Reading, plan: Plan, values: dict, subject: str, awards, row: int, name) -> None:
    failed = []
    rnd = reading.spec.round
    for failure in judge(plan, values, subject, awards, rnd.end, rnd.code):
        key = "prop." + failure.rule.condition.field
        if failure.missing and reading.spec.sheet("proposals") and _has_column(reading, key):
            _issue(reading, "X007", key, row, title=failure.rule.text, label=_label(reading, key))
        else:
            failed.append(failure.message)
    if failed:
        _issue(reading, "X006", "prop.title", row, value=name or "", detail="; ".join(failed))


def _has_column(reading: Reading, key: str) -> bool:
    return any(col.field.key == key for col in reading.spec.sheet("proposals").table.columns)


def _totals(reading: Reading, typed: dict) -> None:
    found = reading.totals.get("selfscore")
    if not found:
        return
    sheet, cell, shown = found
    total = sum(v for (k, _), v in typed.items() if k.startswith("score.") and isinstance(v, (int, float)))
    if isinstance(shown, (int, float)) and not isinstance(shown, bool) and abs(shown - total) > 1e-6:
        reading.add(make_issue("X009", sheet=sheet, cell=cell, field="score.total", value=shown,
                               understood=format_number(round(total, 2))))
