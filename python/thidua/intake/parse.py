"""Parse numbers, dates and dropdown choices written the Vietnamese way ("1.200.000 đ", "1,5", "15/3/2019")."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

PLAIN, UNDERSTOOD, WITH_UNIT, INVALID = "plain", "understood", "unit", "invalid"

_CURRENCY = ("vnđ", "vnd", "đồng", "dong", "đ", "d")
# Money written with a multiplier word: "2 triệu", "1,5 tr", "500 nghìn", "200k", "1 tỷ", and "1tr5" (1,5 triệu).
_MULTIPLIERS = {"tỷ": 10 ** 9, "tỉ": 10 ** 9, "ty": 10 ** 9, "triệu": 10 ** 6, "trieu": 10 ** 6, "tr": 10 ** 6,
                "nghìn": 1000, "nghin": 1000, "ngàn": 1000, "ngan": 1000, "ng": 1000, "k": 1000}
_MULTIPLIER = re.compile(r"^(%s)\.?(\d{1,3})?\s*(?:%s)?\.?$" % ("|".join(sorted(_MULTIPLIERS, key=len, reverse=True)),
                                                              "|".join(_CURRENCY)))
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_BODY = re.compile(r"^([+-]?)(\d[\d.,' ]*\d|\d)(.*)$")
_GROUPED_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_GROUPED_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_GROUPED_SPACE = re.compile(r"^\d{1,3}([ ']\d{3})+$")


@dataclass(frozen=True)
class Parsed:
    """The outcome of parsing a text: a value (or None) and how sure we are (`status`)."""

    value: object
    status: str


def _number_body(body: str) -> float | None:
    """The value of the digits-and-separators part, Vietnamese convention first."""
    if body.isdigit():
        return int(body)
    if _GROUPED_SPACE.match(body):
        return int(re.sub(r"[ ']", "", body))
    has_dot, has_comma = "." in body, "," in body
    if has_dot and has_comma:
        last_dot, last_comma = body.rfind("."), body.rfind(",")
        dec, thou = (",", ".") if last_comma > last_dot else (".", ",")
        whole, _, frac = body.rpartition(dec)
        if thou in frac or not re.fullmatch(r"\d{1,3}(\%s\d{3})*" % thou, whole) or not frac.isdigit():
            return None
        return float(whole.replace(thou, "") + "." + frac)
    if has_dot:
        if _GROUPED_DOT.match(body):
            return int(body.replace(".", ""))
        if body.count(".") == 1 and all(p.isdigit() for p in body.split(".")):
            return float(body)
        return None
    if has_comma:
        if body.count(",") == 1 and all(p.isdigit() for p in body.split(",")):
            return float(body.replace(",", "."))
        if _GROUPED_COMMA.match(body):
            return int(body.replace(",", ""))
    return None


def parse_number(text: str, money: bool = False, percent: bool = False, integer: bool = False) -> Parsed:
    """Parse a number typed as text.

    PLAIN: only digits (and a sign); UNDERSTOOD: separators, a currency (money) or % (percent) were
    read, say so; WITH_UNIT: a number followed by other words ("5 người"), value = the number, for
    the suggestion; INVALID: not a number (value None).
    """
    s = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    m = _BODY.match(s)
    if not m:
        return Parsed(None, INVALID)
    sign, body, rest = m.group(1), m.group(2).strip(), m.group(3).strip()
    if integer and "," in body and "." not in body and _GROUPED_COMMA.match(body):
        value = int(body.replace(",", ""))       # "1,200" in a whole-number cell: thousands
    else:
        value = _number_body(body)
    if value is None:
        return Parsed(None, INVALID)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if sign == "-":
        value = -value
    tail = rest.lower().rstrip(".")
    if not tail:
        return Parsed(value, PLAIN if body.isdigit() else UNDERSTOOD)
    if (money and tail in _CURRENCY) or (percent and tail == "%"):
        return Parsed(value, UNDERSTOOD)
    scaled = _scaled(value, tail)
    if scaled is not None:     # understood in a money cell; elsewhere the suggestion shows the number meant
        return Parsed(scaled, UNDERSTOOD if money else WITH_UNIT)
    scaled = _scaled(value, tail.split()[0])       # "2 nghìn người": the example to type is 2.000
    return Parsed(value if scaled is None else scaled, WITH_UNIT)


def _scaled(value: float, tail: str) -> float | None:
    """The number times its multiplier word ("2" "triệu" -> 2000000; "1" "tr5" -> 1500000), or None."""
    m = _MULTIPLIER.match(tail)
    if not m:
        return None
    if m.group(2):
        if isinstance(value, float):     # "1,5tr5" is no way of writing money
            return None
        value = float(f"{value}.{m.group(2)}")
    out = round(value * _MULTIPLIERS[m.group(1)], 6)
    return int(out) if float(out).is_integer() else out


_DMY = re.compile(r"^(?:ngày\s*)?(\d{1,2})\s*(?:[/\-.]|\s+tháng\s+)\s*(\d{1,2})\s*(?:[/\-.]|\s+năm\s+)\s*(\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def parse_date(text: str) -> Parsed:
    """A date typed as text: d/m/yyyy, d-m-yyyy, d.m.yyyy, d/m/yy, yyyy-mm-dd, «ngày 15 tháng 3 năm 2019»."""
    s = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().lower()
    m = _DMY.match(s)
    if m:
        day, month, year = (int(g) for g in m.groups())
        if len(m.group(3)) == 2:
            year += 2000
    else:
        m = _ISO.match(s)
        if not m:
            return Parsed(None, INVALID)
        year, month, day = (int(g) for g in m.groups())
    try:
        return Parsed(dt.date(year, month, day), UNDERSTOOD)
    except ValueError:
        return Parsed(None, INVALID)


RECEIPT_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                   "%Y-%m-%d")


def parse_moment(text: str) -> dt.datetime | None:
    """A moment written the Vietnamese way ("15/04/2019 08:30", "15/04/2019") or as ISO text; None if unreadable."""
    for fmt in RECEIPT_FORMATS:
        try:
            return dt.datetime.strptime(" ".join(str(text).split()), fmt)
        except ValueError:
            continue
    return None


def excel_serial_date(value: float) -> dt.date | None:
    """An Excel 1900-system serial day number as a date (None outside 1900..2200)."""
    if not 1 <= value < 110000:
        return None
    return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))


def fold(text: str) -> str:
    """Lower case without diacritics, đ -> d, spaces collapsed: for lenient matching of choices."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d").replace("Ð", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


_CHOICE_ALIASES = {"x": "Có", "yes": "Có", "y": "Có", "1": "Có", "no": "Không", "0": "Không", "k": "Không",
                   "ko": "Không", "cn": "Cá nhân", "tt": "Tập thể"}


def parse_choice(text: str, choices: tuple[str, ...]) -> Parsed:
    """Match a typed answer to one of `choices`: exact (PLAIN), leniently (UNDERSTOOD) or not (INVALID)."""
    s = " ".join(unicodedata.normalize("NFC", text).split())
    if s in choices:
        return Parsed(s, PLAIN)
    key = fold(s)
    hits = [c for c in choices if fold(c) == key]
    if not hits:
        alias = _CHOICE_ALIASES.get(key)
        hits = [alias] if alias in choices else []
    return Parsed(hits[0], UNDERSTOOD) if len(hits) == 1 else Parsed(None, INVALID)
