"""Validation rules, the message catalogue and its documentation, and the `thidua validate` command."""
from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

import pytest

from thidua.templates import spec as S
from thidua.cli import main
from thidua.intake.messages import CATALOGUE, make_issue
from thidua.demo.simulate import Addr, fill_workbook, realistic_values
from thidua.templates.build import TemplateFactory
from thidua.intake.validate import normalise, validate_bytes

ROOT = Path(__file__).resolve().parents[1]
BROKEN = Path(__file__).resolve().parent / "data" / "broken"


def test_every_code_is_documented():
    doc = (ROOT / "docs" / "CODES.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| ([FMSVX]\d{3}) \|", doc, re.M))
    assert set(CATALOGUE) <= documented, sorted(set(CATALOGUE) - documented)
    assert documented <= set(CATALOGUE), sorted(documented - set(CATALOGUE))


def test_messages_render_without_placeholders():
    for code in CATALOGUE:
        issue = make_issue(code, value="x", label="Nhãn")
        assert "{" not in issue.message and issue.severity in ("error", "warning")


def _field(**kw):
    return S.Field("ind.X", "Số liệu", **kw)


@pytest.mark.parametrize("raw, kind, value, codes", [
    (5.0, "int", 5, []),
    ("5", "int", 5, []),
    ("5 người", "int", None, ["V003"]),
    ("1.200.000 đ", "money", 1200000, ["V004"]),
    ("abc", "int", None, ["V002"]),
    (2.5, "int", None, ["V005"]),
    (-1.0, "int", -1, ["V006"]),
    ("15/3/2019", "date", dt.date(2019, 3, 15), ["V009"]),
    (43539.0, "date", dt.date(2019, 3, 15), []),
    ("hôm qua", "date", None, ["V008"]),
    ("  Nguyễn  ", "text", "Nguyễn", []),
    ("=SUM(A1)", "text", "=SUM(A1)", []),
])
def test_normalise(raw, kind, value, codes):
    f = _field(type=kind, min=0 if kind != "text" else None, max_len=50 if kind == "text" else None)
    typed, issues = normalise(f, raw)
    assert typed == value and [i.code for i in issues] == codes


def test_nfd_and_eth_become_nfc():
    import unicodedata
    f = _field(type="text", max_len=100)
    typed, issues = normalise(f, unicodedata.normalize("NFD", "Nguyễn Thị Ánh") + " Ðào")
    assert typed == "Nguyễn Thị Ánh Đào" and not issues


@pytest.fixture(scope="module")
def tk(plan, units, key):
    unit = units[0]
    factory = TemplateFactory(plan, "TK", key)
    return plan, {u.code: u for u in units}, key, factory.render(unit), realistic_values(plan, "TK", unit,
                                                                                      random.Random(3))


def test_valid_submission_values(tk):
    plan, register, key, template, values = tk
    spec = S.template_spec(plan, "TK")
    result = validate_bytes(fill_workbook(template, spec, values), "TK.xlsx", plan, key, register)
    assert result.status == "ok", [(i.code, i.message) for i in result.issues]
    assert result.unit == "CD001" and result.round == "TK" and result.template_version == plan.template_version
    by_field = {(v.field, v.row): v.value for v in result.values}
    for addr, expected in values.items():
        row = None if addr.row is None else addr.row + 1
        got = by_field[(addr.field, row)]
        assert got == (expected.strip() if isinstance(expected, str) else expected), addr
    for prop in result.proposals:
        title = next((t for t in plan.titles if t.name == prop.get("title")), None)
        if title:
            assert all(c.holds(prop) is not False for c in title.conditions)


def test_identity_from_metadata_not_file_name(tk):
    plan, register, key, template, values = tk
    spec = S.template_spec(plan, "TK")
    result = validate_bytes(fill_workbook(template, spec, values), "Q1_CD099 (sua).xlsx", plan, key, register)
    assert (result.unit, result.round) == ("CD001", "TK")
    other = validate_bytes(fill_workbook(template, spec, values), "x.xlsx", plan, key, register,
                           expect_unit="CD002", expect_round="Q1")
    assert {"M008", "M009"} <= {i.code for i in other.issues}
    wrong_key = validate_bytes(fill_workbook(template, spec, values), "x.xlsx", plan, b"another-key-0123456789", register)
    assert {i.code for i in wrong_key.issues} & {"M004", "M012"} == {"M012"}      # another key, not «modified»
    assert "M005" in {i.code for i in validate_bytes(fill_workbook(template, spec, values), "x.xlsx", plan, key,
                                                      {}).issues}


def test_required_when_yes_and_date_when_no(tk):
    plan, register, key, template, values = tk
    spec = S.template_spec(plan, "TK")
    v = dict(values)
    v[Addr("indicators", "ind.ND3_HOINGHI")] = S.NO
    v[Addr("indicators", "ind.ND3_HOINGHI_NGAY")] = dt.date(2019, 3, 1)
    result = validate_bytes(fill_workbook(template, spec, v), "x.xlsx", plan, key, register)
    nominees = ("X006", "X007", "X012", "X014", "X015", "X019")          # warnings on nominees, never errors
    assert [i.code for i in result.issues if i.code not in nominees] == ["X004"]


def test_cli_exit_codes_and_json(capsys, key_file):
    assert main(["validate", str(BROKEN / "valid_sk1.xlsx")]) == 0
    capsys.readouterr()
    assert main(["validate", str(BROKEN / "values_mess.xlsx"), str(BROKEN / "empty.xlsx"), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [o["status"] for o in out] == ["errors", "unreadable"]
    first = out[0]
    assert set(first) == {"file", "sha256", "unit", "round", "template_version", "key_id", "status", "issues", "values"}
    assert {"code", "severity", "sheet", "cell", "field", "value", "message"} == set(first["issues"][0])
    assert any(isinstance(v["value"], str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v["value"]) for v in first["values"])
    assert main(["validate", str(BROKEN / "~$valid_sk1.xlsx")]) == 0    # lock files are skipped


def test_huge_file_is_refused_without_loading(plan, key, tmp_path):
    from thidua.intake.validate import validate_file
    path = tmp_path / "to.xlsx"
    with open(path, "wb") as fh:
        fh.truncate(25 * 1024 * 1024)
    result = validate_file(path, plan, key)
    assert result.status == "unreadable" and [i.code for i in result.issues] == ["F010"]
    assert "25 MB" in result.issues[0].message


def test_cli_validates_a_folder_like_an_inbox(tmp_path, key_file, capsys):
    import shutil
    folder = tmp_path / "hop-thu" / "Q1"
    folder.mkdir(parents=True)
    shutil.copy(BROKEN / "valid_sk1.xlsx", folder / "bao cao.xlsx")
    shutil.copy(BROKEN / "~$valid_sk1.xlsx", folder / "~$bao cao.xlsx")      # Excel's lock file: not read
    (folder / "ghi chu.txt").write_text("không phải bảng tính", encoding="utf-8")
    assert main(["validate", str(tmp_path / "hop-thu"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [Path(r["file"]).name for r in out if r["status"] != "skipped"] == ["bao cao.xlsx"]
    skipped = {Path(r["file"]).name: r["reason"] for r in out if r["status"] == "skipped"}   # listed, with why
    assert set(skipped) == {"~$bao cao.xlsx", "ghi chu.txt"}
    assert "khóa tạm" in skipped["~$bao cao.xlsx"] and ".txt" in skipped["ghi chu.txt"]
