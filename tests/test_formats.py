"""Files as other programs write them: every way the formats allow reads right, the two readers agree, Gnumeric's
saves read exactly, a broken part is named, and files over what a template can hold are refused early."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import struct
import sys
import zipfile
from pathlib import Path

import pytest

import gnumeric_fill
import xlsx_variants as X
from thidua.intake import safety
from thidua.intake.second import READERS
from thidua.intake.validate import validate_bytes, validate_file
from thidua.templates import spec as S

TESTS = Path(__file__).resolve().parent
BROKEN = TESTS / "data" / "broken"
GOOD = BROKEN / "valid_sk1.xlsx"
MANIFEST = json.loads((BROKEN / "expected.json").read_text(encoding="utf-8"))
sys.path.insert(0, str(TESTS.parent / "bench"))


def _values(result) -> dict:
    return {(v.sheet, v.cell, v.field, v.row): v.value for v in result.values}


def _codes(result) -> list:
    return sorted((i.code, i.sheet, i.cell) for i in result.issues)


def _sheet_xml(data: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        paths = safety._sheet_paths(zf, data, "x.xlsx")
        return [zf.read(p) for p in paths.values()]


# ------------------------------------------------------------------ what the format allows
VARIANTS = {
    "cells_without_r": (X.cells_without_r, lambda xml: re.search(rb"<c[ >](?![^>]*\br=)", xml)),
    "rows_and_cells_without_r": (lambda d: X.cells_without_r(d, rows_too=True),
                                 lambda xml: re.search(rb"<row[ >](?![^>]*\br=)", xml)),
    "inline_strings": (X.inline_strings, lambda xml: b't="s"' not in xml and b"<is>" in xml),
    "rich_strings": (lambda d: X.inline_strings(d, rich=True), lambda xml: b"<is><r><rPr>" in xml),
    "unusual_part_names": (X.unusual_parts, None),
    "absolute_targets": (lambda d: X.unusual_parts(d, absolute=True), None),
    "workbook_part_moved": (lambda d: X.unusual_parts(d, absolute=True, move_workbook=True), None),
    "pretty_printed": (X.pretty_printed, lambda xml: b'<c s="' in xml and b">\n  <" in xml),
}


@pytest.fixture(scope="module")
def original(plan, key):
    return validate_bytes(GOOD.read_bytes(), "goc.xlsx", plan, key)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_reads_like_the_original(name, plan, key, original):
    make, has_property = VARIANTS[name]
    data = make(GOOD.read_bytes())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = set(zf.namelist())
    if has_property:
        assert any(has_property(xml) for xml in _sheet_xml(data)), name
    else:
        assert not any(n.startswith("xl/worksheets/") for n in members)
        rels = [zf_read(data, n) for n in members if n.endswith(".rels")]
        assert ("absolute" not in name) or any(b'Target="/xl/' in r for r in rels)
    result = validate_bytes(data, f"{name}.xlsx", plan, key)
    assert result.status == "ok", [i.message for i in result.issues]
    assert _values(result) == _values(original)
    assert len(result.values) > 100


def zf_read(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


@pytest.mark.parametrize("rows_too", [False, True])
def test_formula_found_in_cells_without_r(plan, key, rows_too):
    data = X.cells_without_r((BROKEN / "formula_in_input.xlsx").read_bytes(), rows_too=rows_too)
    assert any(b"<c><f>" in xml or re.search(rb"<c [^>]*><f>", xml) for xml in _sheet_xml(data))
    result = validate_bytes(data, "f.xlsx", plan, key)
    found = [(f"{i.sheet}!{i.cell}", i.value) for i in result.issues if i.code == "S010"]
    assert found == [(MANIFEST["formula_in_input.xlsx"]["cells"]["S010"], "=40+5")]


def test_shared_formula_over_two_inputs(plan, key):
    spec = S.template_spec(plan, "SK1")
    sheet = spec.sheet("indicators")
    staff = next(c for c in sheet.cells if c.field.key == "ind.ND5_CBCCVC")
    members = next(c for c in sheet.cells if c.field.key == "ind.ND5_DOANVIEN")
    assert (members.row, members.col) == (staff.row + 1, staff.col)
    with zipfile.ZipFile(GOOD) as zf:
        part = safety._sheet_paths(zf, GOOD.read_bytes(), "x")[sheet.name]
    data = X.shared_formula(GOOD.read_bytes(), part, staff.address, members.address)
    result = validate_bytes(data, "f.xlsx", plan, key)
    found = sorted((i.cell, i.value) for i in result.issues if i.code == "S010")
    assert found == [(staff.address, "=1+1"), (members.address, "=1+1")]
    assert not [v for v in result.values if v.field in ("ind.ND5_CBCCVC", "ind.ND5_DOANVIEN")]


def test_1904_date_system(plan, key, original):
    spec = S.template_spec(plan, "SK1")
    dates = [v for v in original.values if isinstance(v.value, dt.date)]
    assert len(dates) >= 3
    with zipfile.ZipFile(GOOD) as zf:
        paths = safety._sheet_paths(zf, GOOD.read_bytes(), "x")
    cells: dict[str, list[str]] = {}
    for v in dates:
        cells.setdefault(paths[v.sheet], []).append(v.cell)
    data = X.date_1904(GOOD.read_bytes(), cells)
    assert b'date1904="1"' in zf_read(data, "xl/workbook.xml")
    result = validate_bytes(data, "d.xlsx", plan, key)
    assert result.status == "ok" and _values(result) == _values(original)
    assert spec.sheet("info").name in {v.sheet for v in dates}


# ------------------------------------------------------------------ two readers, one reading
def _trimmed(rows: list) -> list:
    out = [list(r) for r in rows]
    for r in out:
        while r and r[-1] in ("", None):
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def _both_ways(data: bytes, fmt: str) -> tuple[dict, dict]:
    from python_calamine import CalamineWorkbook
    fast = CalamineWorkbook.from_filelike(io.BytesIO(data))
    second = READERS[fmt](data)
    assert list(fast.sheet_names) == second.names
    a = {n: _trimmed(fast.get_sheet_by_name(n).to_python(skip_empty_area=False)) for n in second.names}
    b = {n: _trimmed(second.rows(n)[0]) for n in second.names}
    return a, b


OPENED = ["valid_sk1.xlsx", "values_mess.xlsx", "libreoffice_typed.xlsx", "libreoffice_typed.xls",
          "libreoffice_typed.ods"]


@pytest.mark.parametrize("name", sorted(n for n in MANIFEST if not n.startswith("~")))
def test_two_readers_read_the_same_values(name, plan, key, monkeypatch):
    """Every fixture either reads the same both ways, or (refused before reading) is left to the guard."""
    data = (BROKEN / name).read_bytes()
    if {"F001", "F002", "F003", "F005", "F007", "F008", "F009", "F011"} & set(MANIFEST[name]["codes"]):
        assert validate_bytes(data, name, plan, key).status == "unreadable"      # hostile or no spreadsheet
        return
    fmt = safety.sniff(data, name)[0]
    fast, second = _both_ways(data, fmt)
    assert fast == second
    assert sum(len(r) for rows in fast.values() for r in rows) > (100 if name in OPENED else 0)
    normal = validate_bytes(data, name, plan, key)
    import python_calamine

    def refuse(*_a, **_k):
        raise python_calamine.CalamineError("refused for the test")
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", refuse)
    second_only = validate_bytes(data, name, plan, key)
    assert _values(second_only) == _values(normal) and _codes(second_only) == _codes(normal)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_two_readers_agree_on_the_variants(name):
    data = VARIANTS[name][0](GOOD.read_bytes())
    if name == "workbook_part_moved":        # python-calamine cannot find a moved workbook part at all
        with pytest.raises(Exception):
            _both_ways(data, "xlsx")
        return
    fast, second = _both_ways(data, "xlsx")
    assert fast == second


# ------------------------------------------------------------------ broken for real
def _broken_part(data: bytes, part: str, cut) -> bytes:
    members = X.parts(data)
    members[part] = cut(members[part])
    return X.pack(members)


def test_truncated_sheet_names_the_part(plan, key):
    data = _broken_part(GOOD.read_bytes(), "xl/worksheets/sheet4.xml", lambda x: x[:len(x) // 2])
    result = validate_bytes(data, "t.xlsx", plan, key)
    assert result.status == "unreadable" and [i.code for i in result.issues] == ["F013"]
    message = result.issues[0].message
    assert "xl/worksheets/sheet4.xml" in message and "«Chỉ tiêu»" in message
    assert re.search(r"dòng \d+, cột \d+", message), message


def test_damaged_compressed_data_names_the_part(plan, key):
    data = bytearray(GOOD.read_bytes())
    with zipfile.ZipFile(GOOD) as zf:
        info = zf.getinfo("xl/worksheets/sheet4.xml")
    n, m = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + n + m + info.compress_size // 2] ^= 0x55
    result = validate_bytes(bytes(data), "c.xlsx", plan, key)
    assert [i.code for i in result.issues] == ["F013"]
    assert "xl/worksheets/sheet4.xml" in result.issues[0].message


def test_fast_reader_fails_second_reads(plan, key, original):
    """python-calamine cannot open a workbook whose part is not xl/workbook.xml: never «hỏng»."""
    data = X.unusual_parts(GOOD.read_bytes(), move_workbook=True)
    from python_calamine import CalamineWorkbook
    with pytest.raises(Exception):
        CalamineWorkbook.from_filelike(io.BytesIO(data))
    result = validate_bytes(data, "m.xlsx", plan, key)
    assert result.status == "ok" and _values(result) == _values(original)


# ------------------------------------------------------------------ limits
def _add_cell(data: bytes, part: str, cell: bytes) -> bytes:
    return _broken_part(data, part, lambda x: x.replace(b"</sheetData>", cell + b"</sheetData>"))


def test_a_far_away_cell_is_refused_before_expanding(plan, key):
    data = _add_cell(GOOD.read_bytes(), "xl/worksheets/sheet4.xml",
                     b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    result = validate_bytes(data, "far.xlsx", plan, key)
    assert [i.code for i in result.issues] == ["F014"]
    assert "1.048.576 dòng × 16.384 cột" in result.issues[0].message and "«Chỉ tiêu»" in result.issues[0].message


def test_one_long_shared_string_shown_everywhere_is_refused(plan, key):
    members = X.parts(GOOD.read_bytes())
    sst = members["xl/sharedStrings.xml"]
    count = len(re.findall(rb"<si>", sst))
    members["xl/sharedStrings.xml"] = sst.replace(b"</sst>", b"<si><t>" + "Đ".encode() * 32000 + b"</t></si></sst>")
    cells = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c></row>' % (r, r, count) for r in range(3000, 3300))
    members["xl/worksheets/sheet4.xml"] = members["xl/worksheets/sheet4.xml"].replace(b"</sheetData>", cells + b"</sheetData>")
    result = validate_bytes(X.pack(members), "sst.xlsx", plan, key)
    assert [i.code for i in result.issues] == ["F014"] and "quá nhiều chữ" in result.issues[0].message


def test_the_junk_paste_is_refused_and_the_largest_real_file_is_read(plan, units, key):
    import memory
    junk = memory.junk_xlsx(plan, units, target_mb=20)
    assert len(junk) < safety.MAX_FILE
    result = validate_bytes(junk, "junk.xlsx", plan, key)
    assert [i.code for i in result.issues] == ["F014"], [i.message for i in result.issues]
    largest = validate_bytes(memory.largest_real(plan, units), "largest.xlsx", plan, key)
    assert "F014" not in {i.code for i in largest.issues} and largest.unit == "CD001"
    assert len(largest.activities) == 2000
    assert max(len(i.message) for i in largest.issues) < 1000        # 2,000 duplicates do not list each other


@pytest.mark.parametrize("rows, cols, text, says", [(1000, 1000, "1", "dòng × 1.000 cột"),
                                                     (1, 300, "Đ" * 30000, "quá nhiều chữ")], ids=["extent", "text"])
def test_ods_repeated_cells_over_the_limit_are_refused(plan, key, rows, cols, text, says):
    data = (BROKEN / "libreoffice_typed.ods").read_bytes()
    members = X.parts(data)
    row = (f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell '
           f'table:number-columns-repeated="{cols}" office:value-type="string">'
           f"<text:p>{text}</text:p></table:table-cell></table:table-row>").encode()
    members["content.xml"] = members["content.xml"].replace(b"<table:table-row", row + b"<table:table-row", 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", members.pop("mimetype"), zipfile.ZIP_STORED)
        for name, blob in members.items():
            zf.writestr(name, blob, zipfile.ZIP_DEFLATED)
    result = validate_bytes(out.getvalue(), "r.ods", plan, key)
    assert [i.code for i in result.issues] == ["F014"] and says in result.issues[0].message


# ------------------------------------------------------------------ Gnumeric
def need_gnumeric() -> None:
    if not gnumeric_fill.available():
        reason = "Gnumeric not installed: apt-get install gnumeric"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def gnumeric_files(tmp_path_factory, plan):
    need_gnumeric()
    cells = MANIFEST["libreoffice_typed.xlsx"]["cells"]
    reporter = next(c for c in S.template_spec(plan, "SK1").sheet("info").cells if c.field.key == "info.reporter")
    typed = [(*cells["V003"].split("!"), "45 người"), (*cells["V004"].split("!"), "1.200"),
             (S.template_spec(plan, "SK1").sheet("info").name, reporter.address, "Nguyễn Văn Ð"),
             (*cells["V009"].split("!"), "15/8/2019")]
    return gnumeric_fill.fill(GOOD, typed, tmp_path_factory.mktemp("gnumeric"))


@pytest.mark.parametrize("ext", ["xlsx", "xls", "ods"])
def test_gnumeric_saved_files_read_exactly(ext, gnumeric_files, plan, key):
    """Typed and saved by Gnumeric: the same values and issues as the same typing saved by LibreOffice."""
    path = gnumeric_files[ext]
    if ext == "xlsx":
        assert b"<application>gnumeric" in zf_read(path.read_bytes(), "docProps/app.xml").lower()
    elif ext == "ods":
        assert b"gnumeric" in zf_read(path.read_bytes(), "meta.xml").lower()
    else:
        assert path.read_bytes()[:8] == safety.OLE_MAGIC
    result = validate_file(path, plan, key)
    libreoffice = validate_file(BROKEN / "libreoffice_typed.xlsx", plan, key)
    expected = MANIFEST["libreoffice_typed.xlsx"]
    assert sorted({i.code for i in result.issues}) == expected["codes"]
    for code, place in expected["cells"].items():
        assert any(i.code == code and f"{i.sheet}!{i.cell}" == place for i in result.issues)
    assert _values(result) == _values(libreoffice) and len(result.values) > 100


def test_gnumeric_xls_and_ods_two_readers(gnumeric_files):
    """Gnumeric's .xls stores its number formats under ids python-calamine takes for dates, and its .ods
    is not recognised by python-calamine at all: the format's own reader gives the values."""
    data = gnumeric_files["xls"].read_bytes()
    fast, second = _both_ways(data, "xls")
    differ = [(n, r, c) for n in fast for r, row in enumerate(fast[n]) for c, v in enumerate(row)
              if second[n][r][c] != v]
    assert differ and all(hasattr(fast[n][r][c], "year") for n, r, c in differ)
    assert safety._check_xls(data, "g.xls") is True
    assert safety._check_xls((BROKEN / "libreoffice_typed.xls").read_bytes(), "l.xls") is False
    fast, second = _both_ways(gnumeric_files["xlsx"].read_bytes(), "xlsx")
    assert fast == second


def test_gnumeric_xls_far_cell_is_refused(tmp_path, plan, key):
    need_gnumeric()
    data = _add_cell(GOOD.read_bytes(), "xl/worksheets/sheet4.xml", b'<row r="65536"><c r="IV65536"><v>1</v></c></row>')
    src = tmp_path / "far.xlsx"
    src.write_bytes(data)
    out = gnumeric_fill.fill(src, [], tmp_path / "g", stem="far")
    result = validate_file(out["xls"], plan, key)
    assert [i.code for i in result.issues] == ["F014"]


def test_feedback_of_a_file_over_the_marking_limit_lists_the_problems(tmp_path, plan, units, key):
    """The largest real file is read in full; its feedback lists every problem without loading it again."""
    import openpyxl
    import memory
    from thidua.intake.feedback import MARK_LIMIT, SHEET_NAME, write_feedback
    src = tmp_path / "lon.xlsx"
    src.write_bytes(memory.largest_real(plan, units))
    assert safety.sheet_xml_size(src.read_bytes(), src.name) > MARK_LIMIT
    result = validate_file(src, plan, key)
    out = write_feedback(src, result, tmp_path / "phan-hoi.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SHEET_NAME]
    ws = wb[SHEET_NAME]
    assert "không chép lại toàn bộ sổ" in ws["A4"].value
    assert ws.max_row == 5 + len(result.issues) and len(result.issues) > 100


def test_gnumeric_ods_too_big_for_the_second_reader_is_refused(gnumeric_files, plan, key):
    """python-calamine cannot open Gnumeric's .ods; odfpy would hold ~40 × content.xml: over 3 MB, F014."""
    members = X.parts(gnumeric_files["ods"].read_bytes())
    filler = b"<text:p>" + b"x" * (safety.MAX_ODS_SECOND + 1024) + b"</text:p>"
    members["content.xml"] = re.sub(rb"(<table:table-cell[^>]*office:value-type=\"string\"[^>]*>)", lambda m: m.group(1) + filler,
                                    members["content.xml"], count=1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    result = validate_bytes(out.getvalue(), "lon.ods", plan, key)
    assert [i.code for i in result.issues] == ["F014"] and "dự phòng" in result.issues[0].message
