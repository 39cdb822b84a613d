"""Pre-filled templates: spec invariants, golden files, committed blanks, file names, the CLI."""
from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest

from thidua.templates import spec as S
from thidua.cli import main
from thidua.templates.signing import verify
from thidua.templates.build import TemplateFactory, template_filename, write_blank_templates

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
VOLATILE = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")
DV_TYPES = {"int": "whole", "money": "whole", "decimal": "decimal", "date": "date", "choice": "list",
            "text": "textLength"}


def xml_parts(data: bytes) -> dict[str, bytes]:
    """Every part of an .xlsx with volatile parts (timestamps) removed, as XlsxWriter's tests do."""
    import io
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: VOLATILE.sub(b"", zf.read(name)) for name in zf.namelist()}


@pytest.fixture(scope="module")
def cd001(units):
    return next(u for u in units if u.code == "CD001")


@pytest.mark.parametrize("round_code", ["Q1", "TK"])
def test_matches_golden_file(plan, cd001, key, round_code):
    new = TemplateFactory(plan, round_code, key).render(cd001)
    expected = xml_parts((GOLDEN / f"{round_code}_CD001.xlsx").read_bytes())
    got = xml_parts(new)
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], f"{name} differs from the golden file"


def test_committed_blank_templates_are_fresh(plan, tmp_path):
    written = write_blank_templates(plan, tmp_path)
    assert len(written) == len(plan.rounds)
    for path in written:
        committed = ROOT / "templates" / path.name
        assert committed.exists(), f"templates/{path.name} missing: run `thidua blank-templates`"
        assert xml_parts(committed.read_bytes()) == xml_parts(path.read_bytes()), \
            f"templates/{path.name} is stale: run `thidua blank-templates`"


@pytest.mark.parametrize("round_code", ["DK", "Q1", "SK1", "TK", "DX"])
def test_inputs_are_exactly_the_unlocked_cells_with_matching_validation(plan, cd001, key, tmp_path, round_code):
    path = tmp_path / "t.xlsx"
    path.write_bytes(TemplateFactory(plan, round_code, key).render(cd001))
    wb = openpyxl.load_workbook(path)
    tspec = S.template_spec(plan, round_code)
    lists = wb[S.LISTS_SHEET]
    for sheet in tspec.sheets:
        ws = wb[sheet.name]
        assert ws.protection.sheet, f"{sheet.name} is not protected"
        unlocked = {c.coordinate for row in ws.iter_rows() for c in row if not c.protection.locked}
        inputs = dict(sheet.inputs())
        assert unlocked == set(inputs), sheet.name
        for address, field in inputs.items():
            dvs = [dv for dv in ws.data_validations.dataValidation if address in dv.sqref]
            assert len(dvs) == 1, (sheet.name, address)
            dv = dvs[0]
            assert dv.type == DV_TYPES[field.type], (address, dv.type)
            assert dv.showErrorMessage and dv.prompt and dv.error
            if field.type == "choice":
                ref = dv.formula1.split("!")[1].replace("$", "")
                assert tuple(c.value for row in lists[ref] for c in row) == field.choices
    meta = wb[S.META_SHEET]
    assert meta.sheet_state == "veryHidden"
    values = {meta.cell(row=r + 1, column=1).value: meta.cell(row=r + 1, column=c + 1).value
              for r, c in (tspec.meta_cell(k) for k in S.META_KEYS)}
    assert values["unit"] == "CD001" and values["round"] == round_code
    assert verify(key, "CD001", round_code, plan.template_version, values["signature"])
    assert not verify(key, "CD002", round_code, plan.template_version, values["signature"])


def test_print_setup_and_texts(plan, cd001, key, tmp_path):
    path = tmp_path / "t.xlsx"
    data = TemplateFactory(plan, "TK", key).render(cd001)
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    for sheet in S.template_spec(plan, "TK").sheets:
        ws = wb[sheet.name]
        assert ws.page_setup.paperSize == 9
        if sheet.headers:
            assert ws.freeze_panes is not None and ws.print_title_rows
    with zipfile.ZipFile(path) as zf:
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", zf.read("xl/sharedStrings.xml").decode())
    assert "CĐCS Trường THPT Chuyên Tam Hòa" in strings
    assert not any("{{" in s for s in strings), "a placeholder was left unstamped"
    assert all(unicodedata.is_normalized("NFC", s) for s in strings)


def test_file_names_are_windows_safe(units):
    for unit in units:
        name = template_filename("Q1", unit)
        assert re.fullmatch(r"Q1_CD\d{3}_[a-z0-9-]+\.xlsx", name), name
    assert template_filename("SK1", None) == "SK1.xlsx"


def test_cli_writes_one_file_per_unit(tmp_path, key_file, capsys):
    assert main(["templates", "--round", "Q2", "--out", str(tmp_path), "--units", "CD001,CD002"]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.xlsx"))
    assert [n.split("_")[1] for n in names] == ["CD001", "CD002"]
    assert "Đã tạo 2 biểu mẫu" in capsys.readouterr().out


def test_cli_explains_bad_input(tmp_path, key_file, capsys):
    assert main(["templates", "--round", "Q9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Lỗi: Không có kỳ báo cáo «Q9».") and "Thử:" in err
    assert main(["templates", "--round", "Q1", "--out", str(tmp_path), "--units", "NOPE1"]) == 2
    assert "NOPE1" in capsys.readouterr().err
