"""Text and numbers read as units typed them, on real files: templates filled with openpyxl or LibreOffice."""
from __future__ import annotations

import datetime as dt
import io
import random

import openpyxl
import pytest

from conftest import lo_fill
from thidua.demo.simulate import Addr, fill_workbook, realistic_values
from thidua.intake.legacy import unicode_to_tcvn3
from thidua.intake.validate import validate_bytes
from thidua.templates import spec as S
from thidua.templates.build import TemplateFactory

ROUND = "TK"
COLLECTIVE = {"prop.subject": "Tập thể", "prop.name": "Tổ Văn phòng", "prop.title": "Tập thể lao động xuất sắc",
              "prop.ky_luat": "Không", "prop.form": "Giấy khen của Công đoàn Viên chức tỉnh",
              "prop.summary": "Hoàn thành xuất sắc nhiệm vụ", "prop.ty_le_htnv": 100, "prop.so_cstdcs": 1,
              "prop.nam_htxs": 3, "prop.dan_dau_khoi": "Có", "prop.title_decision": "88/QĐ-SYT",
              "prop.title_date": __import__("datetime").date(2019, 12, 16)}


@pytest.fixture(scope="module")
def filled(plan, units, key):
    """A TK template filled with realistic values (one collective proposal in row 1), its spec and the register."""
    unit = units[0]
    spec = S.template_spec(plan, ROUND)
    values = realistic_values(plan, ROUND, unit, random.Random(3))
    values = {a: v for a, v in values.items() if a.sheet != "proposals"}
    values.update({Addr("proposals", k, 0): v for k, v in COLLECTIVE.items()})
    values[Addr("proposals", "prop.ty_le_ldtt", 0)] = 90
    values[Addr("indicators", "ind.PD_PHATDONG")] = S.YES       # launched: its date is asked (PD_NGAY, R01/R02)
    values.setdefault(Addr("indicators", "ind.PD_NGAY"), dt.date(2019, 2, 15))
    data = fill_workbook(TemplateFactory(plan, ROUND, key).render(unit), spec, values)
    register = {u.code: u for u in units}
    assert validate_bytes(data, "x.xlsx", plan, key, register).issues == []
    return data, spec, register


def _cell(spec: S.TemplateSpec, sheet_key: str, field: str, row: int | None = None) -> tuple[str, str]:
    sheet = spec.sheet(sheet_key)
    if row is None:
        return sheet.name, next(c for c in sheet.cells if c.field.key == field).address
    return sheet.name, sheet.table.address(row, next(c for c in sheet.table.columns if c.field.key == field))


def _edit(data: bytes, spec, edits: dict[tuple, object], formats: dict[tuple, str] | None = None) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for where, value in edits.items():
        name, address = _cell(spec, *where)
        wb[name][address] = value
        if formats and where in formats:
            wb[name][address].number_format = formats[where]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _check(data: bytes, plan, key, register, name="x.xlsx"):
    result = validate_bytes(data, name, plan, key, register)
    values = {(v.field, v.row): v.value for v in result.values}
    return result, values, {(i.code, i.cell) for i in result.issues}


# ------------------------------------------------------------------ numbers as meant
def test_percent_formatted_cell_reads_as_shown(filled, plan, key):
    data, spec, register = filled
    where = ("proposals", "prop.ty_le_ldtt", 0)
    result, values, codes = _check(_edit(data, spec, {where: 0.85}, {where: "0%"}), plan, key, register)
    assert values[("prop.ty_le_ldtt", 1)] == 85
    assert not [i for i in result.issues if i.field in ("prop.ty_le_ldtt", "prop.title")], result.issues
    # the same fraction without the % format: read as 85% but said so (V018), never rejected as "below 70"
    result, values, codes = _check(_edit(data, spec, {where: 0.85}), plan, key, register)
    assert values[("prop.ty_le_ldtt", 1)] == 85
    assert [i.code for i in result.issues if i.field in ("prop.ty_le_ldtt", "prop.title")] == ["V018"]
    assert "0,85" in result.issues[0].message and "85%" in result.issues[0].message
    # a real 85 and a %-formatted 0,5% stay what they are
    result, values, _ = _check(_edit(data, spec, {where: 0.005}, {where: "0.0%"}), plan, key, register)
    assert values[("prop.ty_le_ldtt", 1)] == 0.5


def test_percent_typed_in_libreoffice(filled, plan, key, tmp_path):
    """LibreOffice keeps a typed 85% as 0.85 with its percentage format, in .xlsx and in .ods."""
    data, spec, register = filled
    src = tmp_path / "src.xlsx"
    src.write_bytes(data)
    name, address = _cell(spec, "proposals", "prop.ty_le_ldtt", 0)
    jobs = [{"src": str(src), "dst": str(tmp_path / f"lo.{ext}"), "filter": flt,
             "cells": [[name, address, {"percent": 0.85}]]}
            for ext, flt in (("xlsx", "Calc MS Excel 2007 XML"), ("ods", "calc8"))]
    lo_fill(jobs, tmp_path)
    for ext in ("xlsx", "ods"):
        result, values, _ = _check((tmp_path / f"lo.{ext}").read_bytes(), plan, key, register, f"lo.{ext}")
        assert values[("prop.ty_le_ldtt", 1)] == 85, ext
        assert not [i for i in result.issues if i.field in ("prop.ty_le_ldtt", "prop.title")], (ext, result.issues)


@pytest.mark.parametrize("typed, meant", [("2 triệu", 2_000_000), ("1,5 tr", 1_500_000), ("500 nghìn", 500_000),
                                          ("200k", 200_000), ("1tr5", 1_500_000), ("3 triệu đồng", 3_000_000)])
def test_money_in_words_is_read_with_a_warning(filled, plan, key, typed, meant):
    data, spec, register = filled
    where = ("indicators", "ind.ND6_TIENTHAMHOI")
    result, values, _ = _check(_edit(data, spec, {where: typed}), plan, key, register)
    assert values[("ind.ND6_TIENTHAMHOI", None)] == meant
    issue = next(i for i in result.issues if i.field == "ind.ND6_TIENTHAMHOI")
    assert issue.code == "V004" and f"{meant:,}".replace(",", ".") in issue.message


def test_words_after_a_count_get_a_correct_example(filled, plan, key):
    data, spec, register = filled
    result, values, _ = _check(_edit(data, spec, {("indicators", "ind.ND5_CBCCVC"): "2 nghìn người"}), plan, key,
                               register)
    issue = next(i for i in result.issues if i.field == "ind.ND5_CBCCVC")
    assert issue.code == "V003" and "ví dụ 2.000." in issue.message


def test_error_values_have_their_own_message(filled, plan, key, tmp_path):
    data, spec, register = filled
    staff = ("indicators", "ind.ND5_CBCCVC")
    result, values, codes = _check(_edit(data, spec, {staff: "#DIV/0!"}), plan, key, register)   # pasted as value
    issue = next(i for i in result.issues if i.field == "ind.ND5_CBCCVC")
    assert issue.code == "V017" and "#DIV/0!" in issue.message and "chia cho 0" in issue.message
    assert "V001" not in {i.code for i in result.issues}
    # a formula that fails, in a file LibreOffice saved as .ods (no formula is visible to the reader there)
    src = tmp_path / "src.xlsx"
    src.write_bytes(data)
    name, address = _cell(spec, *staff)
    money_name, money = _cell(spec, "indicators", "ind.ND6_TIENTHAMHOI")
    lo_fill([{"src": str(src), "dst": str(tmp_path / "loi.ods"), "filter": "calc8",
              "cells": [[name, address, "=1/0"], [money_name, money, "=NA()"]]}], tmp_path)
    result, values, _ = _check((tmp_path / "loi.ods").read_bytes(), plan, key, register, "loi.ods")
    found = {i.field: i for i in result.issues if i.code == "V017"}
    assert set(found) == {"ind.ND5_CBCCVC", "ind.ND6_TIENTHAMHOI"} and "#N/A" in found["ind.ND6_TIENTHAMHOI"].message
    assert not [i for i in result.issues if i.code == "V001" and i.field in found]


# ------------------------------------------------------------------ text as typed
def test_tcvn3_cells_in_a_workbook(filled, plan, key):
    """«é» and «Ỗ» sit on the bytes of Ð/ð in TCVN3; abbreviations and dashes; the Unicode cells stay."""
    data, spec, register = filled
    edits = {("info", "info.reporter"): unicode_to_tcvn3("Đỗ Thị Bé"),
             ("info", "info.position"): unicode_to_tcvn3("Chủ tịch CĐCS – Ỗ"),
             ("proposals", "prop.name", 0): "Ðoàn Văn Ðức"}          # Unicode with the Icelandic lookalike
    result, values, _ = _check(_edit(data, spec, edits), plan, key, register)
    assert values[("info.reporter", None)] == "Đỗ Thị Bé"
    assert values[("info.position", None)] == "Chủ tịch CĐCS – Ỗ"
    assert values[("prop.name", 1)] == "Đoàn Văn Đức"
    by_field = {i.field: i.code for i in result.issues}
    assert by_field.get("info.reporter") == "V014" and by_field.get("info.position") == "V014"
    assert "prop.name" not in by_field


def test_ambiguous_text_is_flagged_or_settled_by_the_file(plan, key, filled):
    _, spec, register = filled
    unit = next(iter(register.values()))
    values = realistic_values(plan, ROUND, unit, random.Random(3))
    ascii_only = {a: v for a, v in values.items() if a.sheet != "proposals" and not (isinstance(v, str) and not v.isascii())}
    bare = fill_workbook(TemplateFactory(plan, ROUND, key).render(unit), spec, ascii_only)    # no other Vietnamese text
    alone = {("info", "info.reporter"): "Vò Minh Linh"}          # Unicode «Vò», TCVN3 «Vũ», VNI «Vị»
    result, values, _ = _check(_edit(bare, spec, alone), plan, key, register)
    issue = next(i for i in result.issues if i.field == "info.reporter")
    assert issue.code == "V016" and "Vũ Minh Linh" in issue.message and "Vị Minh Linh" in issue.message
    assert values[("info.reporter", None)] == "Vò Minh Linh"
    # the file's other texts are TCVN3: the same cell is read as TCVN3 (V014), no ambiguity left
    tcvn3 = {("info", "info.position"): unicode_to_tcvn3("Chủ tịch công đoàn cơ sở")}
    result, values, _ = _check(_edit(bare, spec, {**alone, **tcvn3}), plan, key, register)
    assert values[("info.reporter", None)] == "Vũ Minh Linh"
    assert {i.field: i.code for i in result.issues}.get("info.reporter") == "V014"
    # ... or Unicode: read as typed, no warning
    result, values, _ = _check(_edit(bare, spec, {**alone, ("info", "info.position"): "Chủ tịch"}), plan, key,
                               register)
    assert values[("info.reporter", None)] == "Vò Minh Linh"
    assert "info.reporter" not in {i.field for i in result.issues}


def test_foreign_words_raise_no_warning(filled, plan, key):
    data, spec, register = filled
    result, values, _ = _check(_edit(data, spec, {("proposals", "prop.summary", 0): "Hợp tác với Café Müller"}),
                               plan, key, register)
    assert values[("prop.summary", 1)] == "Hợp tác với Café Müller"
    assert "prop.summary" not in {i.field for i in result.issues}


def test_renamed_and_missing_sheets_are_named(filled, plan, key):
    data, spec, register = filled
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb[spec.sheet("indicators").name].title = "Chi tieu (sua)"
    wb.remove(wb[spec.sheet("selfscore").name])
    out = io.BytesIO()
    wb.save(out)
    result, _, _ = _check(out.getvalue(), plan, key, register)
    messages = {i.code: i.message for i in result.issues}
    assert "«Chỉ tiêu»" in messages["S002"] and "«Chi tieu (sua)»" in messages["S002"]
    assert f"«{spec.sheet('selfscore').name}»" in messages["S001"]



def test_legacy_text_typed_in_libreoffice(filled, plan, key, tmp_path):
    """Cells typed in LibreOffice with legacy fonts: TCVN3 (glibc iconv, capitals on control bytes kept as
    _x0013_ in the .xlsx) and VNI (the hand-written table), among Unicode cells."""
    from test_legacy_corpus import to_tcvn3, to_vni
    data, spec, register = filled
    src = tmp_path / "src.xlsx"
    src.write_bytes(data)
    texts = {("info", "info.reporter"): "HUỲNH THỊ BÉ", ("info", "info.position"): "Chủ tịch CĐCS – Đỗ Ỗ é…",
             ("proposals", "prop.name", 0): "Tổ Văn phòng Đoàn", ("proposals", "prop.summary", 0): "Hoàn thành xuất sắc"}
    tcvn3 = dict(zip(list(texts)[:2], to_tcvn3(list(texts.values())[:2])))
    vni = {w: to_vni(t) for w, t in list(texts.items())[2:3]}
    cells = [[*_cell(spec, *w), v] for w, v in {**tcvn3, **vni}.items()]
    assert any("\x13" in v or "\x16" in v for *_, v in cells)             # VN1 capitals on control bytes
    lo_fill([{"src": str(src), "dst": str(tmp_path / "lo.xlsx"), "cells": cells}], tmp_path)
    result, values, _ = _check((tmp_path / "lo.xlsx").read_bytes(), plan, key, register)
    for (sheet, field, *row), text in list(texts.items())[:3]:
        assert values[(field, row[0] + 1 if row else None)] == text
    codes = {i.field: i.code for i in result.issues}
    assert codes == {"info.reporter": "V014", "info.position": "V014", "prop.name": "V014"}, result.issues


def test_no_message_of_the_broken_files_has_an_empty_name(plan, units, key):
    """Sheet and cell reach the message templates ({sheet}, {cell}) as well as the issue's place."""
    from pathlib import Path
    from thidua.intake.validate import validate_file
    register = {u.code: u for u in units}
    broken = sorted(p for p in (Path(__file__).parent / "data" / "broken").iterdir()
                    if p.suffix in (".xlsx", ".xlsm", ".xls", ".ods"))
    messages = [i.message for p in broken for i in validate_file(p, plan, key, register).issues]
    assert len(messages) > 20
    assert not [m for m in messages if "«»" in m or "Ô  " in m or "trang «»" in m], messages


# ------------------------------------------------------------------ percentages the plan declares, dates with a time
def test_the_plan_declares_the_percentages(filled, plan, key):
    """«92,5%» typed in «Tỷ lệ thành viên hoàn thành nhiệm vụ (%)» (Excel keeps 0,925 with a % format) is 92,5;
    the field is a percentage because the plan says so (column `percent`), never because of its label."""
    from thidua.plan.model import Plan, read_toml_tables
    data, spec, register = filled
    where = ("proposals", "prop.ty_le_htnv", 0)
    typed = _edit(data, spec, {where: 0.925}, {where: "0.0%"})
    result, values, _ = _check(typed, plan, key, register)
    assert values[("prop.ty_le_htnv", 1)] == 92.5
    assert not [i for i in result.issues if i.field == "prop.ty_le_htnv"], result.issues
    tables = read_toml_tables()
    for row in tables["proposal_fields"]:
        row.pop("percent", None)
    undeclared = Plan.from_tables(tables)
    assert not any(f.percent for f in undeclared.proposal_fields)
    result = validate_bytes(typed, "x.xlsx", undeclared, key, register)
    assert {(v.field, v.row): v.value for v in result.values}[("prop.ty_le_htnv", 1)] == 0.925


def _without_styles(data: bytes) -> bytes:
    """The workbook as a writer that keeps no styles part leaves it (no xl/styles.xml, no reference to it)."""
    import re
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item)
            if item.filename == "xl/styles.xml":
                continue
            if item.filename in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
                body = re.sub(rb"<(Override|Relationship)\b[^>]*styles[^>]*/>", b"", body)
            if item.filename.startswith("xl/worksheets/sheet"):
                body = re.sub(rb' s="\d+"', b"", body)
            zout.writestr(item, body)
    return out.getvalue()


def test_a_bare_one_without_number_formats_is_flagged(filled, plan, key):
    """In a file without styles 100% and 1 look the same: a 1 in a percentage field is read as 100% and both
    readings are named (V018); with styles, a 1 that is not shown as a percentage is 1."""
    data, spec, register = filled
    where = ("proposals", "prop.ty_le_ldtt", 0)
    typed = _edit(data, spec, {where: 1})
    result, values, _ = _check(typed, plan, key, register)
    assert values[("prop.ty_le_ldtt", 1)] == 1
    assert "V018" not in {i.code for i in result.issues if i.field == "prop.ty_le_ldtt"}
    result, values, _ = _check(_without_styles(typed), plan, key, register)
    assert values[("prop.ty_le_ldtt", 1)] == 100
    issue = next(i for i in result.issues if i.field == "prop.ty_le_ldtt")
    assert issue.code == "V018" and "1 là 100%" in issue.message and "đúng là 1%" in issue.message
    assert values[("ind.ND5_CBCCVC", None)] == next(v for a, v in realistic_values(
        plan, ROUND, next(iter(register.values())), random.Random(3)).items() if a.field == "ind.ND5_CBCCVC")


@pytest.mark.parametrize("moment, code, stored", [
    (dt.datetime(2019, 4, 4, 17, 0), "V020", dt.date(2019, 4, 5)),       # local midnight written in UTC (UTC+7)
    (dt.datetime(2019, 4, 5, 8, 30), "V021", dt.date(2019, 4, 5)),       # a time typed with the date
    (dt.datetime(2019, 4, 5, 0, 0, 30), None, dt.date(2019, 4, 5)),      # a writer's rounding, not a time
])
def test_a_date_with_a_time_part(filled, plan, key, moment, code, stored):
    data, spec, register = filled
    where = ("indicators", "ind.PD_NGAY")
    result, values, _ = _check(_edit(data, spec, {where: moment}, {where: "dd/mm/yyyy"}), plan, key, register)
    assert values[("ind.PD_NGAY", None)] == stored
    found = [i for i in result.issues if i.field == "ind.PD_NGAY"]
    assert [i.code for i in found] == ([code] if code else [])
    if code == "V020":
        assert "04/04/2019 17:00" in found[0].message and "05/04/2019" in found[0].message \
            and "ngày 04/04/2019 thì sửa lại" in found[0].message
