"""Templates in LibreOffice: they open and print, and a file a unit typed into and saved keeps its identity."""
from __future__ import annotations

import subprocess

import pytest
from python_calamine import CalamineWorkbook

from conftest import lo_fill, need_libreoffice
from thidua.templates import spec as S
from thidua.reports.libreoffice import convert
from thidua.templates.signing import verify
from thidua.templates.build import TemplateFactory


@pytest.fixture(scope="module")
def saved(plan, units, key, tmp_path_factory):
    """One Q1 template typed into and saved by LibreOffice as .xlsx, .xls and .ods."""
    tmp = tmp_path_factory.mktemp("lo")
    unit = next(u for u in units if u.code == "CD007")
    src = tmp / "Q1_CD007.xlsx"
    src.write_bytes(TemplateFactory(plan, "Q1", key).render(unit))
    tspec = S.template_spec(plan, "Q1")
    info, indicators = tspec.sheet("info"), tspec.sheet("indicators")
    reporter = next(c for c in info.cells if c.field.key == "info.reporter")
    members = next(c for c in indicators.cells if c.field.key == "ind.ND5_DOANVIEN")
    cells = [[info.name, reporter.address, "Nguyễn Thị Ánh"], [indicators.name, members.address, 42]]
    filters = {"xlsx": "Calc MS Excel 2007 XML", "xls": "MS Excel 97", "ods": "calc8"}
    jobs = [{"src": str(src), "dst": str(tmp / f"saved.{ext}"), "filter": f, "cells": cells}
            for ext, f in filters.items()]
    lo_fill(jobs, tmp)
    return tmp, tspec, reporter, members


@pytest.mark.parametrize("ext", ["xlsx", "xls", "ods"])
def test_identity_survives_a_libreoffice_save(saved, plan, key, ext):
    tmp, tspec, reporter, members = saved
    wb = CalamineWorkbook.from_path(str(tmp / f"saved.{ext}"))
    assert S.META_SHEET in wb.sheet_names
    meta = wb.get_sheet_by_name(S.META_SHEET).to_python()
    values = {meta[r][0]: meta[r][c] for r, c in (tspec.meta_cell(k) for k in S.META_KEYS)}
    assert values["unit"] == "CD007" and values["round"] == "Q1" and values["app"] == S.APP_MARK
    assert verify(key, values["unit"], values["round"], values["version"], values["signature"])
    info = wb.get_sheet_by_name(tspec.sheet("info").name).to_python()
    assert info[reporter.row][reporter.col] == "Nguyễn Thị Ánh"
    ind = wb.get_sheet_by_name(tspec.sheet("indicators").name).to_python()
    assert ind[members.row][members.col] == 42


def test_template_prints_to_pdf(plan, units, key, tmp_path):
    need_libreoffice()
    src = tmp_path / "TK_CD001.xlsx"
    src.write_bytes(TemplateFactory(plan, "TK", key).render(units[0]))
    pdf = convert(src, "pdf", tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    visible = len(S.template_spec(plan, "TK").sheets)
    assert visible <= pages <= visible + 2, pages   # hidden sheets do not print; each table fits its width
    assert "A4" in info or "595" in info
