"""The master workbook in headless LibreOffice: every button shows, is bound to its macro, and sends its command.

The test build swaps xlwings.bas (which LibreOffice cannot compile) for a RunPython that records its
argument in the ThiDua_Lenh cell; pressing a button then shows the exact Python command it sends.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import DEBIAN_PYTHON, ROOT, TESTS, need_libreoffice
from thidua.workbook.build import BUTTONS, build_bytes
from thidua.workbook.layout import CONTROL, HOME


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One LibreOffice session: the test build (every Python button pressed) and the committed workbook."""
    need_libreoffice(uno=True)
    tmp = tmp_path_factory.mktemp("lo_press")
    stub = tmp / "stub" / "ThiDua2019.xlsm"
    stub.parent.mkdir()
    stub.write_bytes(build_bytes(stub=True))
    lenh, tep, zipped = CONTROL["ThiDua_Lenh"], CONTROL["ThiDua_Tep"], CONTROL["ThiDua_SaoLuu"]
    common = {"sheet": HOME, "record": [lenh.row, lenh.col],     # the pickers' cells filled: no dialog opens
              "cells": [[tep.row, tep.col, str(tmp / "Q1_CD001.xlsx")],
                        [zipped.row, zipped.col, str(tmp / "thidua-sao-luu-20191227-163005.zip")]]}
    jobs = [dict(common, src=str(stub), press=[b.caption for b in BUTTONS if b.python]),
            dict(common, src=str(ROOT / "workbook" / "ThiDua2019.xlsm"), press=[], pdf=[[HOME, str(tmp / "home.pdf")]])]
    (tmp / "job.json").write_text(json.dumps(jobs, ensure_ascii=False), encoding="utf-8")
    subprocess.run([DEBIAN_PYTHON, str(TESTS / "lo_press.py"), str(tmp / "job.json"), str(tmp / "out.json")],
                   check=True, timeout=180)
    stub_run, real_run = json.loads((tmp / "out.json").read_text(encoding="utf-8"))
    return {"stub": stub_run, "real": real_run, "home_pdf": tmp / "home.pdf"}


@pytest.mark.parametrize("which", ["stub", "real"])
def test_every_button_shows_with_its_caption_and_macro(runs, which):
    result = runs[which]
    shown = {b["label"]: b["macro"] for b in result["buttons"]}
    assert set(shown) == {b.caption for b in BUTTONS}
    for button in BUTTONS:
        assert shown[button.caption] == (f"vnd.sun.star.script:VBAProject.ThiDua.{button.macro}"
                                         "?language=Basic&location=document")
    assert {"xlwings", "ThiDua", "ThiDuaHam", "ThisWorkbook"} <= set(result["modules"])


def test_pressing_each_button_sends_its_exact_python_command(runs):
    expected = {b.caption: b.command for b in BUTTONS if b.python}
    assert runs["stub"]["pressed"] == expected


def test_the_printed_home_sheet_shows_every_caption(runs):
    """Rendered by LibreOffice (as for the README's pictures): every button caption is on the page."""
    if not shutil.which("pdftotext"):
        reason = "pdftotext not installed: apt-get install poppler-utils"
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    text = subprocess.run(["pdftotext", str(runs["home_pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    for button in BUTTONS:
        assert button.caption in text
