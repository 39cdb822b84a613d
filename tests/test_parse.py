"""Vietnamese number, date and choice parsing: examples and properties."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from thidua.intake.parse import INVALID, PLAIN, UNDERSTOOD, WITH_UNIT, fold, parse_choice, parse_date, parse_number


def test_number_examples():
    assert parse_number("5") == (5, PLAIN) or parse_number("5").value == 5
    assert parse_number("1.200.000").value == 1200000 and parse_number("1.200.000").status == UNDERSTOOD
    assert parse_number("1,5").value == 1.5
    assert parse_number("1.200.000 đ", money=True).value == 1200000
    assert parse_number("1.200.000đ", money=True).status == UNDERSTOOD
    assert parse_number("1.200.000 đ").status == WITH_UNIT            # not a money cell
    assert parse_number("5 người") .status == WITH_UNIT and parse_number("5 người").value == 5
    assert parse_number("1 200 000").value == 1200000
    assert parse_number("1.234.567,5").value == 1234567.5
    assert parse_number("1,234,567.5").value == 1234567.5
    assert parse_number("1,200", integer=True).value == 1200
    assert parse_number("70%", percent=True).value == 70
    for bad in ("", "abc", "nhiều", "1.2.3", "--5", "1,2,3"):
        assert parse_number(bad).status == INVALID, bad


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_with_dots_round_trip(n):
    text = f"{n:,}".replace(",", ".")
    assert parse_number(text).value == n
    assert parse_number(text + " đ", money=True).value == n


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=99))
def test_decimal_comma(whole, frac):
    text = f"{whole},{frac:02d}"
    assert abs(parse_number(text).value - float(f"{whole}.{frac:02d}")) < 1e-9


@given(st.text(max_size=40))
def test_number_never_raises(text):
    parsed = parse_number(text, money=True)
    assert parsed.status in (PLAIN, UNDERSTOOD, WITH_UNIT, INVALID)
    assert (parsed.value is None) == (parsed.status == INVALID)


def test_date_examples():
    assert parse_date("15/3/2019").value == dt.date(2019, 3, 15)
    assert parse_date("15-03-2019").value == dt.date(2019, 3, 15)
    assert parse_date("15.03.19").value == dt.date(2019, 3, 15)
    assert parse_date("2019-03-15").value == dt.date(2019, 3, 15)
    assert parse_date("ngày 15 tháng 3 năm 2019").value == dt.date(2019, 3, 15)
    for bad in ("31/2/2019", "15/13/2019", "hôm qua", "2019", ""):
        assert parse_date(bad).status == INVALID, bad


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.sampled_from(["{d}/{m}/{y}", "{d:02d}/{m:02d}/{y}", "{d}-{m}-{y}", "{d:02d}.{m:02d}.{y}", "{y}-{m:02d}-{d:02d}"]))
def test_date_round_trip(day, pattern):
    text = pattern.format(d=day.day, m=day.month, y=day.year)
    assert parse_date(text).value == day


@given(st.text(max_size=30))
def test_date_never_raises(text):
    assert parse_date(text).status in (UNDERSTOOD, INVALID)


def test_choices():
    yes_no = ("Có", "Không")
    assert parse_choice("Có", yes_no).status == PLAIN
    assert parse_choice("co", yes_no).value == "Có"
    assert parse_choice("KHÔNG", yes_no).value == "Không"
    assert parse_choice("x", yes_no).value == "Có"
    assert parse_choice("Chưa rõ", yes_no).status == INVALID
    assert fold("Đoàn  Viên") == "doan vien"


def test_a_receipt_moment_is_read_the_vietnamese_way_or_refused():
    import datetime as dt
    from thidua.intake.parse import parse_moment
    assert parse_moment("15/04/2019 08:30") == dt.datetime(2019, 4, 15, 8, 30)
    assert parse_moment(" 15/04/2019  08:30 ") == dt.datetime(2019, 4, 15, 8, 30)
    assert parse_moment("15/04/2019") == dt.datetime(2019, 4, 15)
    assert parse_moment("2019-04-15T08:30:00") == dt.datetime(2019, 4, 15, 8, 30)
    assert parse_moment("04/15/2019 08:30") is None          # month 15: refused, never guessed
    assert parse_moment("sáng thứ hai") is None
