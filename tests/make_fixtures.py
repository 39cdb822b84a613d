"""(Re)generate tests/data/broken: real broken submissions and the issue codes each must produce.

Run: python tests/make_fixtures.py   (LibreOffice + Debian python3-uno are needed for the LO-saved files)
The expectations below are written by hand; tests/test_broken_files.py checks them against the reader.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import random
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl

from thidua.templates import spec as S
from thidua.intake.legacy import unicode_to_tcvn3, unicode_to_vni
from thidua.plan.load import load_plan
from thidua.demo.simulate import Addr, fill_workbook, realistic_values
from thidua.templates.build import TemplateFactory
from thidua.plan.load import load_units

TESTS = Path(__file__).resolve().parent
OUT = TESTS / "data" / "broken"
sys.path.insert(0, str(TESTS))
from conftest import DEBIAN_PYTHON, TEST_KEY   # noqa: E402  (the key the tests validate with)
ROUND = "SK1"
SEED = 7


def _unit(units, code="CD001"):
    return next(u for u in units if u.code == code)


def where(spec: S.TemplateSpec, sheet_key: str, field_key: str, row: int | None = None) -> str:
    """'Sheet!A1' of an input, from the spec (row: 0-based table row)."""
    sheet = spec.sheet(sheet_key)
    if row is None:
        cell = next(c for c in sheet.cells if c.field.key == field_key)
        return f"{sheet.name}!{cell.address}"
    col = next(c for c in sheet.table.columns if c.field.key == field_key)
    return f"{sheet.name}!{sheet.table.address(row, col)}"


def zip_edit(data: bytes, replace: dict[str, bytes | None] = None, add: dict[str, bytes] = None) -> bytes:
    """A copy of a zip with members replaced (None removes) or added."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    dst.writestr(info.filename, replace[info.filename])
            else:
                dst.writestr(info.filename, src.read(info.filename))
        for name, blob in add.items():
            dst.writestr(name, blob)
    return out.getvalue()


def _meta_edit(data: bytes, old: str, new: str) -> bytes:
    """Change one metadata value where it is stored (the shared strings of the template)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sst = zf.read("xl/sharedStrings.xml")
    assert f"<t>{old}</t>".encode() in sst, old
    return zip_edit(data, {"xl/sharedStrings.xml": sst.replace(f"<t>{old}</t>".encode(), f"<t>{new}</t>".encode())})


def _openpyxl_edit(data: bytes, edit) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def build() -> dict:
    plan, units = load_plan(), load_units()
    unit = _unit(units)
    spec = S.template_spec(plan, ROUND)
    factory = TemplateFactory(plan, ROUND, TEST_KEY)
    template = factory.render(unit)
    values = realistic_values(plan, ROUND, unit, random.Random(SEED))
    for addr in list(values):     # the valid file's nominees all meet their conditions and quotas
        if addr.sheet == "proposals":
            if addr.field == "prop.thang_cong_tac":
                values[addr] = 12
            elif addr.field == "prop.ky_luat":
                values[addr] = S.NO
            elif addr.field == "prop.title" and values[addr] == "Chiến sĩ thi đua cơ sở":
                values[addr] = "Lao động tiên tiến"
    good = fill_workbook(template, spec, values)
    ind = {c.field.key: c for c in spec.sheet("indicators").cells}
    w = lambda *a: where(spec, *a)   # noqa: E731
    files: dict[str, tuple[bytes, list[str]]] = {}

    def add(name: str, data: bytes, expected: list[str]) -> None:
        files[name] = (data, expected)

    add("valid_sk1.xlsx", good, [])
    add("empty.xlsx", b"", ["F001"])
    add("corrupt_zip.xlsx", good[: len(good) // 2], ["F002"])
    add("csv_renamed.xlsx", "Mã,Tên\nCD001,Trường THPT\n".encode("utf-8"), ["F003"])
    add("~$valid_sk1.xlsx", b"\x00" * 165, ["F007"])
    add("not_a_sheet.xlsx", b"%PDF-1.4\n%...", ["F011"])
    bomb = zip_edit(good, add={"xl/media/bomb.bin": b"\0" * (120 * 1024 * 1024)})
    add("zip_bomb.xlsx", bomb, ["F008"])
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        sst = zf.read("xl/sharedStrings.xml")
    lol = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10)) + b"]>\n")
    add("xml_bomb.xlsx", zip_edit(good, {"xl/sharedStrings.xml": lol + sst.split(b"?>", 1)[1]}), ["F009"])
    from msoffcrypto.format.ooxml import OOXMLFile
    locked = io.BytesIO()
    OOXMLFile(io.BytesIO(good)).encrypt("matkhau", locked)
    add("password.xlsx", locked.getvalue(), ["F005"])
    macro = zip_edit(good, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba project"})
    add("macro.xlsm", macro, ["F006"])
    add("external_link.xlsx", zip_edit(good, add={"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}),
        ["S009"])

    # identity
    blank_wb = openpyxl.Workbook()
    blank_wb.active["A1"] = "Báo cáo"   # a workbook someone made themselves
    buf = io.BytesIO()
    blank_wb.save(buf)
    add("not_our_template.xlsx", buf.getvalue(), ["M001"])
    add("meta_unit_changed.xlsx", _meta_edit(good, "CD001", "CD002"), ["M004"])
    # a template of another year (version 2018.1 in the 2019 year): last year's report, never this year's (X020)
    add("old_version.xlsx", _meta_edit(good, plan.template_version, "2018.1"), ["M004", "X020"])
    add("unknown_round.xlsx", _meta_edit(good, ROUND, "Q9"), ["M007"])
    unsigned = fill_workbook(TemplateFactory(plan, ROUND, None).render(unit), spec, values)
    add("unsigned.xlsx", unsigned, ["M003"])

    # structure
    sname = spec.sheet("indicators").name
    add("sheet_renamed.xlsx", _openpyxl_edit(good, lambda wb: setattr(wb[sname], "title", "Chi tieu (sua)")),
        ["S002"])
    add("sheet_deleted.xlsx", _openpyxl_edit(good, lambda wb: wb.remove(wb[spec.sheet("selfscore").name])),
        ["S001"])
    add("sheet_hidden.xlsx", _openpyxl_edit(good, lambda wb: setattr(wb[sname], "sheet_state", "hidden")),
        ["S003"])
    add("rows_above_table.xlsx", _openpyxl_edit(good, lambda wb: wb[sname].insert_rows(2, 2)), ["S006"])
    staff = ind["ind.ND5_CBCCVC"]
    add("row_inserted_inside.xlsx", _openpyxl_edit(good, lambda wb: wb[sname].insert_rows(staff.row + 1, 1)),
        ["S004"])

    def drop_label(wb):
        code_col = next(c for c, v in staff.display if v == "ND5_CBCCVC")
        wb[sname].cell(staff.row + 1, code_col + 1).value = None
    add("label_deleted.xlsx", _openpyxl_edit(good, drop_label), ["S005"])

    def merge(wb):
        ws = wb[sname]
        ws.merged_cells.ranges.add(openpyxl.worksheet.cell_range.CellRange(
            min_row=staff.row + 1, min_col=staff.col + 1, max_row=staff.row + 1, max_col=staff.col + 2))
    add("merged_input.xlsx", _openpyxl_edit(good, merge), ["S008"])

    def formula(wb):
        wb[sname].cell(staff.row + 1, staff.col + 1).value = "=40+5"
    add("formula_in_input.xlsx", _openpyxl_edit(good, formula), ["S010"])

    # values
    v = dict(values)
    reporter = Addr("info", "info.reporter")
    v[Addr("info", "info.position")] = "=Phó chủ tịch"
    v[Addr("info", "info.phone")] = "+84 905 123 456"
    v[Addr("info", "info.email")] = "@cdcs-tamhoa"
    v[Addr("indicators", "note.ND1_SANGKIEN")] = "-5 so với cùng kỳ"
    add("formula_like_text.xlsx", fill_workbook(template, spec, v), [])

    v = dict(values)
    v[Addr("indicators", "note.ND1_SANGKIEN")] = "x" * 32000
    add("text_32000.xlsx", fill_workbook(template, spec, v), ["V013"])

    v = dict(values)
    v[Addr("indicators", "ind.ND1_SANGKIEN")] = "5 sáng kiến"
    v[Addr("indicators", "ind.ND6_TIENTHAMHOI")] = "1.200.000 đ"
    v[Addr("indicators", "ind.ND2_DANVAN")] = "nhiều"
    v[Addr("indicators", "ind.ND1_DETAI")] = 2.5
    v[Addr("indicators", "ind.ND3_HOINGHI")] = "co"
    v[Addr("indicators", "ind.ND2_VANHOA")] = "Chưa rõ"
    v[Addr("indicators", "ind.ND5_DOANVIEN")] = 500
    v[Addr("indicators", "ind.ND5_CBCCVC")] = 400
    v[Addr("indicators", "ind.ND5_KETNAP")] = 600
    v[Addr("indicators", "ind.PD_PHATDONG")] = S.YES
    v[Addr("indicators", "ind.PD_NGAY")] = None
    v[Addr("info", "info.date")] = "15/8/2019"
    v[Addr("selfscore", "score.TC1")] = 25
    v[reporter] = unicode_to_tcvn3("Nguyễn Văn Hùng")
    v[Addr("info", "info.position")] = unicode_to_vni("Chủ tịch công đoàn")
    v[Addr("activities", "act.date", 0)] = dt.date(2018, 12, 1)
    v[Addr("activities", "act.description", 1)] = None
    as_text = {Addr("info", "info.date")}
    expected = ["V003", "V004", "V002", "V005", "V012", "V011", "X001", "X002", "X003", "V009", "V007",
                "V014", "V010", "V001"]
    add("values_mess.xlsx", fill_workbook(template, spec, v, as_text), expected)

    # proposals: eligibility, subject mismatch, duplicates
    v = {a: x for a, x in values.items() if a.sheet != "proposals"}
    ldtt, cstd = (t.name for t in plan.titles[:2])
    rows = [
        {"prop.subject": S.INDIVIDUAL, "prop.name": "Trần Thị Mai", "prop.title": cstd, "prop.dat_ldtt": S.NO,
         "prop.co_sang_kien": S.YES, "prop.ky_luat": S.NO, "prop.thang_cong_tac": 12, "prop.summary": "Giáo viên dạy giỏi"},
        {"prop.subject": S.COLLECTIVE, "prop.name": "Tổ Toán", "prop.title": ldtt, "prop.ky_luat": S.NO,
         "prop.summary": "Tổ chuyên môn xuất sắc"},
        {"prop.subject": S.INDIVIDUAL, "prop.name": "Lê Văn An", "prop.title": ldtt, "prop.ky_luat": S.NO,
         "prop.thang_cong_tac": 12, "prop.summary": "Hoàn thành tốt nhiệm vụ"},
        {"prop.subject": S.INDIVIDUAL, "prop.name": "Lê  văn an", "prop.title": ldtt, "prop.ky_luat": S.NO,
         "prop.thang_cong_tac": 12, "prop.summary": "Hoàn thành tốt nhiệm vụ"},
        {"prop.subject": S.INDIVIDUAL, "prop.name": "Phạm Thu", "prop.summary": "Không chọn danh hiệu"},
    ]
    for i, row in enumerate(rows):
        v.update({Addr("proposals", k, i): x for k, x in row.items()})
    # A yearly state title in the sơ kết (X015: it counts only at year end, as the agency's fact), a title for
    # individuals on a collective (X008), a duplicate row (X005), a row with neither title nor form (X010).
    add("proposals_rules.xlsx", fill_workbook(template, spec, v), ["X015", "X008", "X005", "X010"])

    manifest = {}
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    for name, (data, expected) in files.items():
        (OUT / name).write_bytes(data)
        manifest[name] = {"codes": sorted(set(expected))}
    cells = {
        "values_mess.xlsx": {"V003": w("indicators", "ind.ND1_SANGKIEN"), "V004": w("indicators", "ind.ND6_TIENTHAMHOI"),
                             "X003": w("indicators", "ind.PD_NGAY"), "X001": w("indicators", "ind.ND5_DOANVIEN"),
                             "V014": w("info", "info.reporter"), "V010": w("activities", "act.date", 0),
                             "V001": w("activities", "act.description", 1), "V007": w("selfscore", "score.TC1")},
        "proposals_rules.xlsx": {"X015": w("proposals", "prop.title", 0), "X008": w("proposals", "prop.title", 1),
                                 "X005": w("proposals", "prop.name", 3), "X010": w("proposals", "prop.title", 4)},
        "formula_in_input.xlsx": {"S010": w("indicators", "ind.ND5_CBCCVC")},
        "merged_input.xlsx": {"S008": w("indicators", "ind.ND5_CBCCVC")},
        "text_32000.xlsx": {"V013": w("indicators", "note.ND1_SANGKIEN")},
    }
    for name, by_code in cells.items():
        manifest[name]["cells"] = by_code
    manifest["formula_like_text.xlsx"]["values"] = {
        w("info", "info.position"): "=Phó chủ tịch", w("info", "info.phone"): "+84 905 123 456",
        w("info", "info.email"): "@cdcs-tamhoa", w("indicators", "note.ND1_SANGKIEN"): "-5 so với cùng kỳ"}
    manifest.update(_libreoffice_files(plan, spec, template, values))
    (OUT / "expected.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return manifest


def _libreoffice_files(plan, spec, template: bytes, values) -> dict:
    """Type values into the template with LibreOffice (UNO) and save as .xlsx, .xls and .ods."""
    import subprocess
    staff = next(c for c in spec.sheet("indicators").cells if c.field.key == "ind.ND5_CBCCVC")
    members = next(c for c in spec.sheet("indicators").cells if c.field.key == "ind.ND5_DOANVIEN")
    reporter = next(c for c in spec.sheet("info").cells if c.field.key == "info.reporter")
    date = next(c for c in spec.sheet("info").cells if c.field.key == "info.date")
    sname, iname = spec.sheet("indicators").name, spec.sheet("info").name
    typed = [[sname, staff.address, "45 người"], [sname, members.address, "1.200"],
             [iname, reporter.address, "Nguyễn Văn Ð"], [iname, date.address, "15/8/2019"]]
    base_vals = fill_workbook(template, spec, values)
    out = {}
    with tempfile.TemporaryDirectory(prefix="thidua-fx-") as tmp:
        src = Path(tmp) / "base.xlsx"
        src.write_bytes(base_vals)
        jobs = []
        for ext, flt in (("xlsx", "Calc MS Excel 2007 XML"), ("xls", "MS Excel 97"), ("ods", "calc8")):
            dst = OUT / f"libreoffice_typed.{ext}"
            jobs.append({"src": str(src), "dst": str(dst), "filter": flt, "cells": typed})
            out[dst.name] = {"codes": ["V003", "V004", "V009"],
                             "cells": {"V003": f"{sname}!{staff.address}", "V004": f"{sname}!{members.address}",
                                       "V009": f"{iname}!{date.address}"}}
        dst = OUT / "libreoffice_renamed.xlsx"
        jobs.append({"src": str(src), "dst": str(dst), "filter": "Calc MS Excel 2007 XML", "cells": [],
                     "rename": [[sname, "Chỉ tiêu 2019"]]})
        out[dst.name] = {"codes": ["S002"]}
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(jobs, ensure_ascii=False), encoding="utf-8")
        subprocess.run([DEBIAN_PYTHON, str(TESTS / "lo_fill.py"), str(job_file)], check=True, timeout=300)
        shutil.copy(OUT / "libreoffice_typed.xls", OUT / "xls_renamed.xlsx")
        out["xls_renamed.xlsx"] = {"codes": sorted(out["libreoffice_typed.xls"]["codes"] + ["F004"]),
                                   "cells": out["libreoffice_typed.xls"]["cells"]}
    return out


if __name__ == "__main__":
    result = build()
    print(f"{len(result)} fixtures in {OUT}")
