"""The reader: the fast .xlsx path agrees with python-calamine; labels recover moved rows; speed."""
from __future__ import annotations

import io
import random
from pathlib import Path

import openpyxl

from thidua.intake import safety
from thidua.templates import spec as S
from thidua.intake.reader import read_bytes
from thidua.demo.simulate import fill_workbook, realistic_values
from thidua.templates.build import TemplateFactory
from thidua.intake.validate import validate_bytes

BROKEN = Path(__file__).resolve().parent / "data" / "broken"


def _values(result):
    return {(v.sheet, v.cell, v.field, v.row): v.value for v in result.values}


def test_formulas_and_merges_agree_with_openpyxl():
    """The sheet-xml scan that complements python-calamine finds what openpyxl finds."""
    import zipfile
    for name in ("formula_in_input.xlsx", "merged_input.xlsx", "valid_sk1.xlsx"):
        wb = openpyxl.load_workbook(BROKEN / name)
        with zipfile.ZipFile(BROKEN / name) as zf:
            paths = safety._sheet_paths(zf, (BROKEN / name).read_bytes(), name)
            for ws in wb.worksheets:
                formulas, merged = safety._formulas_and_merges(zf.read(paths[ws.title]))
                expected = {(c.row - 1, c.column - 1) for row in ws.iter_rows() for c in row if c.data_type == "f"}
                assert set(formulas) == expected, (name, ws.title)
                assert sorted(merged) == sorted((r.min_row - 1, r.min_col - 1, r.max_row - 1, r.max_col - 1)
                                                for r in ws.merged_cells.ranges)


def test_inserted_row_values_found_by_label(plan, key):
    good = validate_bytes((BROKEN / "valid_sk1.xlsx").read_bytes(), "a.xlsx", plan, key)
    moved = validate_bytes((BROKEN / "row_inserted_inside.xlsx").read_bytes(), "b.xlsx", plan, key)
    assert {v.field: v.value for v in good.values if v.row is None} == \
        {v.field: v.value for v in moved.values if v.row is None}
    staff = next(v for v in moved.values if v.field == "ind.ND5_CBCCVC")
    before = next(v for v in good.values if v.field == "ind.ND5_CBCCVC")
    assert staff.cell != before.cell          # the provenance is the cell where the value really was
    issue = next(i for i in moved.issues if i.code == "S004")
    assert "ND5_CBCCVC" in issue.message


def test_overwritten_total_is_recomputed(plan, key):
    def overwrite(wb):
        sheet = S.template_spec(plan, "SK1").sheet("selfscore")
        score = next(c for c in sheet.cells if c.field.key.startswith("score."))
        wb[sheet.name].cell(sheet.total_row + 1, score.col + 1).value = 99
    wb = openpyxl.load_workbook(BROKEN / "valid_sk1.xlsx")
    overwrite(wb)
    buf = io.BytesIO()
    wb.save(buf)
    result = validate_bytes(buf.getvalue(), "x.xlsx", plan, key)
    # (X015: this sơ kết fixture was filled when yearly titles were still typed in the sơ kết; see expected.json)
    assert [i.code for i in result.issues if i.code != "X015"] == ["X009"]


def test_reads_only_what_it_needs(plan, key):
    reading = read_bytes((BROKEN / "valid_sk1.xlsx").read_bytes(), "x.xlsx", plan, key)
    assert S.LISTS_SHEET not in reading.book._grids and "Hướng dẫn" not in reading.book._grids


def test_a_thousand_mixed_submissions_all_validate(plan, units, key):
    """1,000 realistic files of every round are all read as valid (speed is measured by bench/run.py)."""
    register = {u.code: u for u in units}
    files = []
    for rc in ("Q1", "Q2", "SK1", "Q3", "Q4", "TK", "DK"):
        factory, spec = TemplateFactory(plan, rc, key), S.template_spec(plan, rc)
        for unit in units[:15]:
            files.append(fill_workbook(factory.render(unit), spec, realistic_values(plan, rc, unit, random.Random(1))))
    files = (files * 10)[:1000]
    statuses = [validate_bytes(data, "x.xlsx", plan, key, register).status for data in files]
    assert statuses.count("ok") == len(files)


def _edited(path, edit) -> bytes:
    wb = openpyxl.load_workbook(path)
    edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_inserted_column_and_extra_rows(plan, key):
    sheet = S.template_spec(plan, "SK1").sheet("activities")
    good = validate_bytes((BROKEN / "valid_sk1.xlsx").read_bytes(), "a.xlsx", plan, key)
    acts = good.activities

    def edit(wb):
        ws = wb[sheet.name]
        ws.insert_cols(2)                              # a column inserted before "Nội dung thi đua số"
        extra = sheet.table.first_row + sheet.table.n_rows + 3
        for col in sheet.table.columns:                # one more activity below the table
            src = ws.cell(sheet.table.first_row + 1, col.col + 1 + (col.col >= 1))
            ws.cell(extra, col.col + 1 + (col.col >= 1)).value = src.value
    result = validate_bytes(_edited(BROKEN / "valid_sk1.xlsx", edit), "b.xlsx", plan, key)
    codes = [i.code for i in result.issues]
    assert "S004" in codes and "S011" in codes
    assert [{k: v for k, v in a.items() if k != "row"} for a in result.activities[:len(acts)]] == \
        [{k: v for k, v in a.items() if k != "row"} for a in acts]
    assert len(result.activities) == len(acts) + 1


def test_stored_copy_holds_the_same_package():
    """python-calamine reads a copy of a plain package with its sheets stored (inflated once, by the scan): the
    same members, the same bytes and the same values as the file, for files saved by XlsxWriter and LibreOffice."""
    import zipfile
    from python_calamine import CalamineWorkbook
    copied = 0
    for name in ("valid_sk1.xlsx", "libreoffice_typed.xlsx", "merged_input.xlsx", "macro.xlsm", "text_32000.xlsx"):
        data = (BROKEN / name).read_bytes()
        zf = safety._zip(data)
        inflated = safety._inflate_parts(zf, data, safety._sheet_paths(zf, data, name))
        if not inflated:
            continue
        copied += 1
        copy = safety._stored_copy(zf, data, inflated)
        with zipfile.ZipFile(io.BytesIO(data)) as a, zipfile.ZipFile(io.BytesIO(copy)) as b:
            assert b.testzip() is None
            assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()]
            assert all(a.read(i) == b.read(i) for i in a.namelist()), name
            assert {b.getinfo(p).compress_type for p in inflated} == {zipfile.ZIP_STORED}
        first, second = CalamineWorkbook.from_filelike(io.BytesIO(data)), CalamineWorkbook.from_filelike(io.BytesIO(copy))
        assert first.sheet_names == second.sheet_names
        for sheet in first.sheet_names:
            assert first.get_sheet_by_name(sheet).to_python(skip_empty_area=False) == \
                second.get_sheet_by_name(sheet).to_python(skip_empty_area=False), (name, sheet)
    assert copied >= 3


def test_stored_copy_only_of_a_plain_package():
    """A package with extra fields, or a sheet that does not inflate to its declared size, is read as it is."""
    import struct
    import zipfile
    data = (BROKEN / "valid_sk1.xlsx").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            info.extra = struct.pack("<HHI", 0x5455, 4, 0)      # an extended timestamp, as Info-ZIP writes
            dst.writestr(info, src.read(info))
    extra = out.getvalue()
    zf = safety._zip(extra)
    assert safety._inflate_parts(zf, extra, safety._sheet_paths(zf, extra, "x.xlsx")) == {}
    zf = safety._zip(data)
    paths = safety._sheet_paths(zf, data, "x.xlsx")
    part = next(iter(paths.values()))
    info = zf.getinfo(part)
    for said in (info.file_size + 1, info.file_size - 1):   # the sheet's directory entry says a byte more, or less
        lying = bytearray(data)
        central = data.find(b"PK\x01\x02")
        while central >= 0:
            n = struct.unpack_from("<H", data, central + 28)[0]
            if data[central + 46:central + 46 + n].decode("cp437") == part:
                struct.pack_into("<I", lying, central + 24, said)
            central = data.find(b"PK\x01\x02", central + 4)
        lying = bytes(lying)
        zf = safety._zip(lying)
        assert safety._inflate_parts(zf, lying, safety._sheet_paths(zf, lying, "x.xlsx")) == {}
