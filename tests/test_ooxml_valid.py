"""Every kind of file ThiDua writes passes openxml-audit (a port of the Open XML SDK validator)."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity
from storebuild import synthetic_store
from test_awards import listed

from conftest import ROOT, TEST_KEY
from thidua.awards.documents import render
from thidua.intake.feedback import write_feedback
from thidua.intake.validate import validate_file
from thidua.reports.committee import write_committee_workbook
from thidua.reports.reminders import write_reminders
from thidua.reports.summary_job import build_summary
from thidua.templates.build import write_templates
from thidua.year.workset import WorkingSet

# Findings that are not invalid OOXML, by finding id, with the reason. Anything else fails the test.
ACCEPTED = {
    # A warning, not an error: `<c t="inlineStr">` is valid SpreadsheetML (ECMA-376 Part 1, 18.3.1.4 `is`);
    # Excel moves such strings to the shared-strings table when it saves. Inline strings come from the
    # committee workbook's streamed rows (written row by row for flat memory) and, in a feedback file,
    # from the unit's own workbook, which feedback copies as sent.
    "Excel_InlineStrCells": ("committee", "reminders", "feedback"),
}



def _font_order(e) -> bool:
    """openpyxl writes a font's children (name, b, i, color, sz, ...) in another order than Excel. A false
    positive: the schema's CT_Font is `<xsd:choice maxOccurs="unbounded">` (ECMA-376 Part 1, sml.xsd), any
    order is valid; the validator checks it as a sequence, as the Open XML SDK does."""
    return (e.part_uri == "/xl/styles.xml" and re.fullmatch(r"/styleSheet\[1\]/fonts\[1\]/font\[\d+\]", e.path or "")
            and str(e.description).startswith("Unexpected element"))


FALSE_POSITIVES = {_font_order: ("feedback",)}     # feedback: the unit's workbook as openpyxl saves it


@pytest.fixture(scope="module")
def written(tmp_path_factory, plan, units) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("ooxml")
    db = synthetic_store(out / "store.db", plan, units)
    src = ROOT / "tests" / "data" / "broken" / "values_mess.xlsx"
    files = {
        "master": ROOT / "workbook" / "ThiDua2019.xlsm",
        "blank template": ROOT / "templates" / "Q1.xlsx",
        "template": write_templates(plan, "Q1", units[:1], out / "bieu-mau", TEST_KEY)[0],
        "feedback": write_feedback(src, validate_file(src, plan, TEST_KEY), out / "phan-hoi.xlsx"),
        "committee": write_committee_workbook(WorkingSet(plan, units, db), "Q1", out / "ban-thuong-vu.xlsx", force=True),
        "reminders": write_reminders(WorkingSet(plan, units, db, secret=TEST_KEY), "Q1", out / "nhac")[0],
    }
    build_summary(WorkingSet(plan, units, db), "year", out / "tong-ket.xlsx")
    files["summary"] = out / "tong-ket.xlsx"
    # The award paperwork (issue 14), from the shipped layouts: decision and certificates of the office's own
    # form, the submission of a form the provincial federation decides; certificates with office margins.
    files["decision"] = render("decision", listed(plan, "GK", "decision", 2, 6), out / "QD.docx")
    files["certificates"] = render("certificates", listed(plan, "GK", "certificates", 2, 6), out / "GK.docx",
                                   margins_mm=(30, 22, 18, 26))
    files["submission"] = render("submission", listed(plan, "BKLDLD", "submission", 0, 3), out / "TT.docx")
    return files


@pytest.mark.parametrize("kind", ["master", "blank template", "template", "feedback", "committee", "summary",
                                  "reminders", "decision", "certificates", "submission"])
def test_generated_file_is_valid_ooxml(written, kind):
    path = written[kind]
    result = OpenXmlValidator().validate(str(path))
    false_positive = [e for e in result.errors if any(kind in kinds and known(e) for known, kinds in
                                                       FALSE_POSITIVES.items())]
    unexpected = [f"{e.severity.value} {e.id}: {e}" for e in result.errors if e not in false_positive and (
        e.severity is ValidationSeverity.ERROR or kind not in ACCEPTED.get(e.id, ()))]
    assert not unexpected, "\n".join(unexpected[:20])


def test_the_summary_checked_has_charts_and_the_master_has_its_vba_project(written):
    with zipfile.ZipFile(written["summary"]) as zf:
        assert any(n.startswith("xl/charts/chart") for n in zf.namelist())
    with zipfile.ZipFile(written["master"]) as zf:
        assert "xl/vbaProject.bin" in zf.namelist()


def test_the_validator_does_report_a_broken_part(written, tmp_path):
    """A worksheet with an element in the wrong place is an error, so a clean result above means something."""
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(written["reminders"]) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData><bogus/>", 1)
            dst.writestr(info, data)
    result = OpenXmlValidator().validate(str(broken))
    assert not result.is_valid
    assert any(e.severity is ValidationSeverity.ERROR for e in result.errors)


def test_the_validator_does_report_a_broken_word_document(written, tmp_path):
    """The .docx are checked against WordprocessingML too: a row property (the repeated header row's
    «w:tblHeader») moved out of its row into the body is an error."""
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(written["decision"]) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                assert b"<w:tblHeader/>" in data
                data = data.replace(b"<w:body>", b"<w:body><w:tblHeader/>", 1)
            dst.writestr(info, data)
    result = OpenXmlValidator().validate(str(broken))
    assert any(e.severity is ValidationSeverity.ERROR and "tblHeader" in str(e) for e in result.errors)
