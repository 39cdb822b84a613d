"""The simulator: filled files read back exactly, mistakes do what they say, the year's Truth matches the inbox."""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import unicodedata
import zipfile

import openpyxl
import pytest
import python_calamine
from openpyxl.utils import get_column_letter

from thidua.templates import spec as S
from thidua.demo import simulate as sim
from thidua.templates.build import TemplateFactory
from thidua.templates.zipstamp import raw_entries

ROUNDS = ("DK", "Q1", "SK1", "TK", "DX")


@pytest.fixture(scope="module")
def factories(plan, key):
    return {code: TemplateFactory(plan, code, key) for code in ROUNDS}


def _calamine(data: bytes) -> dict[str, dict[str, object]]:
    """Sheet name -> {A1 address: value} for every non-empty cell, read by python-calamine."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = {}
    for name in book.sheet_names:
        cells = {}
        for r, row in enumerate(book.get_sheet_by_name(name).to_python(skip_empty_area=False)):
            for c, value in enumerate(row):
                if value not in ("", None):
                    cells[f"{get_column_letter(c + 1)}{r + 1}"] = value
        out[name] = cells
    return out


def _same(expected: object, found: object) -> bool:
    if isinstance(expected, dt.date):
        return isinstance(found, (dt.date, dt.datetime)) and (
            found.date() if isinstance(found, dt.datetime) else found) == expected
    return found == expected


def _where(spec: S.TemplateSpec, addr: sim.Addr) -> tuple[str, str]:
    name, address, _type = sim.input_cells(spec)[addr]
    return name, address


@pytest.mark.parametrize("round_code", ROUNDS)
def test_filled_values_read_back_with_openpyxl_and_calamine(plan, units, factories, round_code):
    spec = S.template_spec(plan, round_code)
    values = sim.realistic_values(plan, round_code, units[3], random.Random(7))
    data = sim.fill_workbook(factories[round_code].render(units[3]), spec, values)
    book = openpyxl.load_workbook(io.BytesIO(data))
    cal = _calamine(data)
    assert values
    for addr, value in values.items():
        name, address = _where(spec, addr)
        assert _same(value, book[name][address].value), (addr, value, book[name][address].value)
        assert _same(value, cal[name].get(address)), (addr, value, cal[name].get(address))
    filled = {_where(spec, a) for a in values}
    blank = [a for a in sim.input_cells(spec) if _where(spec, a) not in filled]
    for addr in blank[:50]:
        name, address = _where(spec, addr)
        assert book[name][address].value is None and address not in cal[name]


def test_fill_keeps_styles_and_copies_untouched_members(plan, units, factories):
    spec = S.template_spec(plan, "Q1")
    template = factories["Q1"].render(units[0])
    values = sim.realistic_values(plan, "Q1", units[0], random.Random(1))
    data = sim.fill_workbook(template, spec, values)
    before, after = dict((e[0], e) for e in raw_entries(template)), dict((e[0], e) for e in raw_entries(data))
    assert list(before) == list(after)
    changed = {name for name in before if before[name] != after[name]}
    assert changed and all(name.startswith(b"xl/worksheets/sheet") for name in changed)
    xml_before = zipfile.ZipFile(io.BytesIO(template)).read("xl/worksheets/sheet2.xml").decode()
    xml_after = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet2.xml").decode()
    _name, address = _where(spec, sim.Addr("info", "info.reporter"))
    style = re.search(rf'<c r="{address}" s="(\d+)"/>', xml_before).group(1)
    assert re.search(rf'<c r="{address}" s="{style}" t="inlineStr">', xml_after)


def test_as_text_writes_what_a_person_types(plan, units, factories):
    spec = S.template_spec(plan, "Q1")
    date_addr = sim.Addr("activities", "act.date", 0)
    int_addr = sim.Addr("indicators", "ind.ND5_KETNAP")
    values = {date_addr: dt.date(2019, 3, 15), int_addr: 5, sim.Addr("indicators", "ind.ND5_DOANVIEN"): 40}
    data = sim.fill_workbook(factories["Q1"].render(units[0]), spec, values, as_text={date_addr, int_addr})
    book = openpyxl.load_workbook(io.BytesIO(data))
    read = lambda a: book[_where(spec, a)[0]][_where(spec, a)[1]].value  # noqa: E731
    assert read(date_addr) == "15/3/2019"
    assert read(int_addr) == "5"
    assert read(sim.Addr("indicators", "ind.ND5_DOANVIEN")) == 40


def test_fill_rejects_an_address_the_round_does_not_have(plan, units, factories):
    spec = S.template_spec(plan, "DK")
    with pytest.raises(KeyError):
        sim.fill_workbook(factories["DK"].render(units[0]), spec, {sim.Addr("selfscore", "score.TC1"): 5})


def test_realistic_values_are_consistent(plan, units):
    rng = random.Random(11)
    for unit in units:
        for code in ("DK", "Q3", "SK1", "TK", "DX"):
            spec = S.template_spec(plan, code)
            values = sim.realistic_values(plan, code, unit, rng)
            ind = {a.field[4:]: v for a, v in values.items() if a.sheet == "indicators" and a.field.startswith("ind.")}
            assert ind.get("ND5_DOANVIEN", 0) <= ind.get("ND5_CBCCVC", 10**9)
            assert ind.get("ND5_KETNAP", 0) <= ind.get("ND5_DOANVIEN", 10**9)
            assert abs(ind.get("ND5_CBCCVC", unit.staff) - unit.staff) <= 2
            fields = {a: f for a, (_n, _c, _t) in sim.input_cells(spec).items() for f in [_field(spec, a)]}
            for addr, value in values.items():
                f = fields[addr]
                if f.type in ("int", "money", "decimal", "date"):
                    assert (f.min is None or value >= f.min) and (f.max is None or value <= f.max), (addr, value)
                if f.type == "date" and addr.field != "info.date":
                    assert spec.round.start <= value <= spec.round.end
                if f.type == "choice":
                    assert value in f.choices, (addr, value)
                if isinstance(value, str):
                    assert unicodedata.is_normalized("NFC", value)
            titled = [a.row for a, v in values.items() if a.field == "prop.title"]
            if code != "TK":                 # yearly titles belong to the year-end round
                assert not titled, (code, titled)
            born = [v for a, v in values.items() if a.field == "prop.birth_year"]
            assert all(plan.year - 60 <= y <= plan.year - 20 for y in born)


def _field(spec: S.TemplateSpec, addr: sim.Addr) -> S.Field:
    sheet = spec.sheet(addr.sheet)
    if addr.row is None:
        return next(c.field for c in sheet.cells if c.field.key == addr.field)
    return next(c.field for c in sheet.table.columns if c.field.key == addr.field)


def _meta_unit(data: bytes) -> str:
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    row, col = S.TemplateSpec.meta_cell("unit")
    return book.get_sheet_by_name(S.META_SHEET).to_python(skip_empty_area=False)[row][col]


def _check_mistake(name: str, spec: S.TemplateSpec, draft: sim.Draft, clean: dict, data: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(data))
    texts = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    cell = lambda a: book[_where(spec, a)[0]][_where(spec, a)[1]].value  # noqa: E731
    ind = lambda k: cell(sim.Addr("indicators", f"ind.{k}"))  # noqa: E731
    if name == "number_with_unit":
        assert any(re.fullmatch(r"\d+ \w[\w ]*", t) for t in texts)
    elif name == "money_text_dong":
        assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+đ", t) for t in texts)
    elif name == "money_text_dots":
        assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+", t) for t in texts)
    elif name == "number_as_text":
        assert any(re.fullmatch(r"\d+", t) for t in texts)
    elif name == "date_as_text":
        assert any(re.fullmatch(r"\d{1,2}/\d{1,2}/2019", t) for t in texts)
    elif name == "date_outside_round":
        dates = [v for a, v in draft.values.items() if isinstance(v, dt.date) and a.field != "info.date"]
        assert any(d < spec.round.start for d in dates)
    elif name == "members_over_staff":
        assert ind("ND5_DOANVIEN") > ind("ND5_CBCCVC")
    elif name == "new_over_members":
        assert ind("ND5_KETNAP") > ind("ND5_DOANVIEN")
    elif name == "score_over_max":
        assert any(cell(a) > c.max_points for c in draft.plan.criteria for a in [sim.Addr("selfscore", f"score.{c.code}")])
    elif name == "missing_required":
        gone = [a for a in clean if a not in draft.values]
        assert len(gone) == 1 and cell(gone[0]) is None
    elif name == "title_without_decision":
        rows = [r for r in book[spec.sheet("proposals").name].iter_rows(values_only=True)]
        col = next(c.col for c in spec.sheet("proposals").table.columns if c.field.key == "prop.title_decision")
        assert any("Lao động tiên tiến" in r and r[col] is None for r in rows)
    elif name == "nfd_text":
        assert any(not unicodedata.is_normalized("NFC", t) for t in texts)
    elif name == "eth_for_dj":
        assert any("\u00d0" in t for t in texts)
    elif name == "identity_swap":
        assert _meta_unit(data) == draft.claims != draft.unit.code
    elif name == "sheet_renamed":
        assert set(book.sheetnames) != {s.name for s in spec.sheets} | {S.LISTS_SHEET, S.META_SHEET}
    else:
        raise AssertionError(f"no check for mistake {name}")


@pytest.mark.parametrize("name", sorted(sim.MISTAKES))
def test_each_mistake_changes_the_file_as_named(plan, units, factories, name):
    spec = S.template_spec(plan, "TK")
    rng = random.Random(3)
    clean = sim.realistic_values(plan, "TK", units[5], rng)
    draft = sim.Draft(plan, spec, units[5], factories["TK"].render(units[5]), dict(clean), rng,
                      other_template=lambda: (units[9].code, factories["TK"].render(units[9])))
    assert sim.apply_mistake(draft, name)
    data = draft.render()
    _check_mistake(name, spec, draft, clean, data)
    python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names  # still readable


def test_any_two_mistakes_combine_into_a_readable_file(plan, units, factories):
    spec = S.template_spec(plan, "TK")
    template, other = factories["TK"].render(units[5]), (units[9].code, factories["TK"].render(units[9]))
    clean = sim.realistic_values(plan, "TK", units[5], random.Random(3))
    for first in sorted(sim.MISTAKES):
        for second in sorted(sim.MISTAKES):
            draft = sim.Draft(plan, spec, units[5], template, dict(clean), random.Random(first + second),
                              other_template=lambda: other)
            sim.apply_mistake(draft, first)
            sim.apply_mistake(draft, second)
            assert zipfile.ZipFile(io.BytesIO(draft.render())).testzip() is None, (first, second)


def test_simulate_year_truth_matches_the_inbox(plan, units, key, tmp_path):
    inbox = tmp_path / "inbox"
    rates = sim.YearRates(missing=0.1, late=0.2, mistakes=0.25, corrected=0.6, copy=0.1, adhoc=0.2)
    truth = sim.simulate_year(plan, units[:60], key, inbox, rng_seed=5, rounds=("Q1", "TK", "DX"), rates=rates)
    on_disk = {p for p in inbox.rglob("*") if p.is_file()}
    assert on_disk == {s.path for s in truth.files} | set(truth.junk)
    assert any(p.name.startswith("~$") for p in truth.junk) and any(p.suffix == ".txt" for p in truth.junk)
    for code, rt in truth.rounds.items():
        sent = truth.files_of(code)
        first = {s.unit: s for s in sent if s.kind == "first"}
        assert set(first) == rt.submitted and not rt.submitted & rt.missing
        if code != "DX":
            assert rt.submitted | rt.missing == {u.code for u in units[:60]} and rt.late and rt.missing
        assert {s.unit for s in sent if s.kind == "corrected"} == rt.corrected
        assert {s.unit for s in sent if s.kind == "copy"} == rt.copies
        assert {u: s.mistakes for u, s in first.items() if s.mistakes} == rt.mistakes
        due_end = dt.datetime.combine(rt.due, dt.time(23, 59, 59), sim.VN_TZ).timestamp() if rt.due else None
        for unit, s in first.items():
            assert s.path.stat().st_mtime == pytest.approx(s.received.timestamp())
            if due_end:
                assert (s.path.stat().st_mtime > due_end) == (unit in rt.late)
                # the same verdict from the UTC calendar date of the mtime
                utc_day = dt.datetime.fromtimestamp(s.path.stat().st_mtime, dt.timezone.utc).date()
                assert (utc_day > rt.due) == (unit in rt.late)
        for s in sent:
            assert _meta_unit(s.path.read_bytes()) == s.claims
            if s.kind == "copy":
                twin = [o for o in sent if o.unit == s.unit and o.kind != "copy" and o.received < s.received]
                assert twin and twin[-1].path.read_bytes() == s.path.read_bytes()
            if s.kind == "corrected":
                assert s.claims == s.unit and s.received > first[s.unit].received
    assert sum(len(rt.mistakes) for rt in truth.rounds.values()) >= 5


def test_simulate_year_is_reproducible(plan, units, key, tmp_path):
    a = sim.simulate_year(plan, units[:15], key, tmp_path / "a", rng_seed=9, rounds=("Q2",))
    b = sim.simulate_year(plan, units[:15], key, tmp_path / "b", rng_seed=9, rounds=("Q2",))
    assert [(s.path.relative_to(tmp_path / "a"), s.received) for s in a.files] == \
        [(s.path.relative_to(tmp_path / "b"), s.received) for s in b.files]
    assert all(x.path.read_bytes() == y.path.read_bytes() for x, y in zip(a.files, b.files))


def test_libreoffice_round_trip_keeps_values(plan, units, factories, tmp_path):
    from conftest import need_libreoffice
    from thidua.reports.libreoffice import convert
    need_libreoffice()
    spec = S.template_spec(plan, "SK1")
    values = sim.realistic_values(plan, "SK1", units[2], random.Random(4))
    src = tmp_path / "src" / "filled.xlsx"
    src.parent.mkdir()
    src.write_bytes(sim.fill_workbook(factories["SK1"].render(units[2]), spec, values))
    out = convert(src, "xlsx", tmp_path / "lo")
    cal = _calamine(out.read_bytes())
    for addr, value in values.items():
        name, address = _where(spec, addr)
        assert _same(value, cal[name].get(address)), (addr, value, cal[name].get(address))
