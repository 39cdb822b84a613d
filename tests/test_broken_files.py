"""One test per real broken submission in tests/data/broken: expected codes, cells and values."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from thidua.intake.result import UNREADABLE
from thidua.intake.validate import validate_file

BROKEN = Path(__file__).resolve().parent / "data" / "broken"
MANIFEST = json.loads((BROKEN / "expected.json").read_text(encoding="utf-8"))


def test_manifest_covers_every_fixture():
    files = {p.name for p in BROKEN.iterdir() if p.name != "expected.json"}
    assert files == set(MANIFEST)


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_broken_file(name, plan, units, key):
    path = BROKEN / name
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = MANIFEST[name]
    result = validate_file(path, plan, key, {u.code: u for u in units})
    assert sorted({i.code for i in result.issues}) == expected["codes"], [(i.code, i.message) for i in result.issues]
    for code, place in expected.get("cells", {}).items():
        assert any(i.code == code and f"{i.sheet}!{i.cell}" == place for i in result.issues), (code, place)
    values = {f"{v.sheet}!{v.cell}": v.value for v in result.values}
    for place, value in expected.get("values", {}).items():
        assert values[place] == value
    for issue in result.issues:
        assert issue.message and issue.severity in ("error", "warning")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before == result.sha256
    if result.status == UNREADABLE:
        assert not result.values


def test_unreadable_files_do_not_stop_the_next(plan, key):
    names = ["zip_bomb.xlsx", "xml_bomb.xlsx", "password.xlsx", "corrupt_zip.xlsx", "valid_sk1.xlsx"]
    results = [validate_file(BROKEN / n, plan, key) for n in names]
    assert [r.status for r in results] == ["unreadable"] * 4 + ["ok"]
    assert len(results[-1].values) > 50


def test_libreoffice_saved_files_agree(plan, key):
    """The same typed values, saved by LibreOffice as .xlsx, .xls and .ods, read the same."""
    seen = []
    for ext in ("xlsx", "xls", "ods"):
        result = validate_file(BROKEN / f"libreoffice_typed.{ext}", plan, key)
        assert result.unit == "CD001" and result.round == "SK1"
        seen.append({(v.sheet, v.cell, v.field): v.value for v in result.values})
    assert seen[0] == seen[1] == seen[2]
    reporter = [v for k, v in seen[0].items() if k[2] == "info.reporter"]
    assert reporter == ["Nguyễn Văn Đ"]          # Ð (U+00D0) typed for Đ is fixed
