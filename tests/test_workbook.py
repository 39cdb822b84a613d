"""The master workbook as a file: reproducible, current, its sheets read back as the plan, its VBA complete."""
from __future__ import annotations

import dataclasses
import inspect
import re
import zipfile
from io import BytesIO

import pytest
import xlwings
from oletools.olevba import VBA_Parser

from conftest import ROOT
from thidua import excel
from thidua.workbook import layout as L
from thidua.errors import ThiDuaError
from thidua.plan.load import load_plan
from thidua.plan.load import load_units
from thidua.workbook.vba import to_codepage_safe
from thidua.workbook.build import BUTTONS, CONF_ROWS, DEFAULT_OUT, MACRO_CONTENT_TYPE, build_bytes, vba_project_stream

COMMITTED = ROOT / "workbook" / "ThiDua2019.xlsm"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "ThiDua2019.xlsm"
    path.write_bytes(build_bytes())
    return path


@pytest.fixture(scope="module")
def modules(built) -> dict[str, str]:
    parser = VBA_Parser(str(built))
    try:
        return {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def test_two_builds_are_byte_identical(built):
    assert build_bytes() == built.read_bytes()


def test_committed_workbook_is_current(built):
    assert DEFAULT_OUT == COMMITTED
    assert COMMITTED.exists(), "run: thidua build-workbook"
    assert COMMITTED.read_bytes() == built.read_bytes(), "workbook/ThiDua2019.xlsm is stale: run thidua build-workbook"


def test_macro_enabled_content_type(built):
    with zipfile.ZipFile(built) as zf:
        assert MACRO_CONTENT_TYPE in zf.read("[Content_Types].xml").decode()
        assert "xl/vbaProject.bin" in zf.namelist()


def _same_plan(a, b) -> None:
    for f in dataclasses.fields(a):
        assert getattr(a, f.name) == getattr(b, f.name), f.name


def test_plan_and_register_read_back_from_the_sheets(built):
    _same_plan(load_plan(built), load_plan())
    assert load_units(built) == load_units()


def test_an_edited_sheet_changes_the_plan(tmp_path):
    """The loader reads the sheets, not the bundled data: an edited cut-off shows up in the plan."""
    from thidua.plan.model import read_toml_tables
    from thidua.plan.units import read_csv_rows
    tables = read_toml_tables()
    tables["levels"][0] = dict(tables["levels"][0], min_points=88)
    register = read_csv_rows()[:3]
    path = tmp_path / "edited.xlsm"
    path.write_bytes(build_bytes(tables, register))
    assert load_plan(path).rule_set().levels[0].min_points == 88
    assert [u.code for u in load_units(path)] == [r["code"] for r in register]


def test_missing_key_row_is_a_vietnamese_error():
    rows = {L.PLAN_SHEETS[0].name: [["x"], [""], ["code"], ["Mã"], ["1"]]}
    with pytest.raises(ThiDuaError) as err:
        L.table_rows(rows.__getitem__, L.PLAN_SHEETS[0])
    assert "thiếu cột" in err.value.message


def test_sheets_are_tables_with_validation(built):
    with zipfile.ZipFile(built) as zf:
        tables = [n for n in zf.namelist() if n.startswith("xl/tables/")]
        sheets = {n: zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")}
        names = zf.read("xl/workbook.xml").decode()
    assert len(tables) == 2 + len(L.PLAN_SHEETS)           # register, meta, every plan table
    assert sum("<dataValidations" in x for x in sheets.values()) >= 2 + len(L.PLAN_SHEETS)
    for sheet in (L.HOME, L.REGISTER.name, L.CONF, *(s.name for s in L.PLAN_SHEETS),
                  *(v[0] for v in L.RESULT_SHEETS.values())):
        assert f'name="{sheet}"' in names
    for control in L.CONTROLS:
        assert f'name="{control.name}"' in names


def test_conf_sheet_names_the_udf_module_and_leaves_interpreter_to_the_file(built):
    from python_calamine import CalamineWorkbook
    rows = CalamineWorkbook.from_path(str(built)).get_sheet_by_name(L.CONF).to_python()
    conf = {r[0]: r[1] for r in rows if r[0]}
    assert conf["UDF Modules"] == "thidua.excel" == dict(CONF_ROWS)["UDF Modules"]
    assert not {"Interpreter_Win", "PYTHONPATH", "TEMP DIR"} & set(conf)


def test_olevba_lists_every_module(modules):
    macro_files = sorted(p.stem for p in (ROOT / "macros").glob("*.bas"))
    assert {"xlwings", *macro_files} <= set(modules)


def test_embedded_xlwings_bas_is_the_pinned_version(modules):
    pinned = re.search(r"^xlwings==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert xlwings.__version__ == pinned
    assert f'XLWINGS_VERSION As String = "{pinned}"' in modules["xlwings"]
    assert "Public Function RunPython(" in modules["xlwings"]


def _public_subs(code: str) -> set[str]:
    return set(re.findall(r"^Public Sub (\w+)\(\)", code, re.M))


def test_every_button_macro_is_a_public_sub_calling_its_entry_point(modules):
    code = modules["ThiDua"]
    assert {b.macro for b in BUTTONS} <= _public_subs(code)
    for button in BUTTONS:
        body = re.search(rf"^Public Sub {button.macro}\(\)(.*?)^End Sub", code, re.M | re.S).group(1)
        if button.python:
            assert f'RunPython "{button.command}"' in body
            assert callable(getattr(excel, button.python))
        else:
            assert "RunPython" not in body and "FileDialog" in body


def test_vietnamese_literals_become_chrw_and_vba_is_ascii(modules):
    for code in modules.values():
        assert code.isascii()
    assert 'ControlCell("ThiDua_TrangThai").Value = "Ch" & ChrW(&H01B0) & "a ch' in modules["ThiDua"]
    assert to_codepage_safe('x = "Đợt ""1"""') == 'x = ChrW(&H0110) & ChrW(&H1EE3) & "t ""1"""'
    with pytest.raises(ThiDuaError):
        to_codepage_safe("' chú thích")


def test_no_message_box_in_our_macros_status_goes_to_the_sheet(modules):
    """MsgBox takes ANSI text (Vietnamese letters would show as "?"): our macros write the status cell instead."""
    for path in (ROOT / "macros").glob("*.bas"):
        assert not re.search(r"\bMsgBox\b", modules[path.stem].split("Option Explicit", 1)[1])


def test_vba_project_stream_is_the_seven_byte_form_of_the_spec():
    """[MS-OVBA] 2.3.4.1: 0x61CC, version 0xFFFF, Reserved2 0x00, Reserved3, no performance cache."""
    import olefile
    with zipfile.ZipFile(COMMITTED) as zf:
        ole = olefile.OleFileIO(BytesIO(zf.read("xl/vbaProject.bin")))
    stream = ole.openstream("VBA/_VBA_PROJECT").read()
    assert stream == bytes([0xCC, 0x61, 0xFF, 0xFF, 0x00, 0x01, 0x00])
    assert stream == vba_project_stream(COMMITTED.read_bytes())
    modules = [e for e in ole.listdir() if e[0] == "VBA" and e[1] not in ("_VBA_PROJECT", "dir")]
    assert len(modules) > 3
    for entry in modules:   # source at offset 0: a compressed container, no module performance cache
        assert ole.openstream(entry).read()[:1] == b"\x01", entry


def test_build_refuses_a_vba_project_not_in_the_spec_form(monkeypatch):
    from thidua.workbook import build
    monkeypatch.setattr(build, "vba_project_stream", lambda data: bytes.fromhex("CC61B50000") + bytes(2537))
    with pytest.raises(ThiDuaError, match="_VBA_PROJECT"):
        build.build_bytes()


def _udfs() -> dict:
    return {name: f for name, f in vars(excel).items() if name.startswith("THIDUA_") and callable(f)}


def test_every_udf_has_a_wrapper_with_the_same_arguments(modules):
    code = modules["ThiDuaHam"]
    wrappers = {m.group(1): m.group(2) for m in re.finditer(r"^Function (\w+)\(([^)]*)\)", code, re.M)}
    assert set(wrappers) == set(_udfs()) and wrappers
    for name, func in _udfs().items():
        params = [p for p in inspect.signature(func).parameters.values() if p.name != "caller"]
        expected = ", ".join(("Optional " if p.default is not p.empty else "") + p.name for p in params)
        assert wrappers[name] == expected
        call_args = ", ".join([p.name for p in params] + ["Nothing"])
        assert f'XLPy.CallUDF("thidua.excel", "{name}", Array({call_args})' in code


def test_udf_classifies_a_score_under_the_workbooks_rules(built, plan):
    from thidua.review.scoring import classify_score
    caller = type("Caller", (), {"sheet": type("S", (), {"book": type("B", (), {"fullname": str(built)})})})
    for points in (95, 75, 55, 20):
        assert excel.THIDUA_XEPLOAI(points, None, caller) == classify_score(plan, points).level_name
    assert excel.THIDUA_XEPLOAI(60) == "Trung bình"
    assert excel.THIDUA_XEPLOAI(60, "KHONGCO").startswith("Lỗi:")
