"""Command-line messages in Vietnamese: argparse's errors and headings, round codes in any case, names written right."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from thidua.cli import main
from thidua.text.normalize import org_name

ENGLISH = re.compile(r"\b(usage|error|required|invalid|choose from|expected|unrecognized|arguments|options)\b")


@pytest.mark.parametrize("argv, words", [
    (["templates"], "thiếu tham số bắt buộc: --round, --out"),
    (["templates", "--round"], "tham số --round: cần một giá trị"),
    (["classify", "--period", "3"], "tham số --period: giá trị '3' không có (chọn một trong: '1', '2', 'year')"),
    (["proposals", "decide", "--id", "x", "--state", "awarded"], "tham số --id: 'x' không phải số nguyên"),
    (["lam-gi-do"], "tham số COMMAND: giá trị 'lam-gi-do' không có"),
    (["status", "--khong-co"], "không hiểu tham số: --khong-co"),
])
def test_argparse_errors_are_vietnamese(argv, words, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Cách dùng: thidua") and f"Lỗi: {words}" in err and "\nThử: thidua" in err
    assert not ENGLISH.search(err), err


def test_help_headings_are_vietnamese():
    done = subprocess.run([sys.executable, "-m", "thidua", "history", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("Cách dùng: thidua history")
    assert "tùy chọn:" in done.stdout and "in hướng dẫn này rồi thoát" in done.stdout
    assert not ENGLISH.search(done.stdout), done.stdout


def test_round_codes_in_any_case(plan):
    assert plan.round("q1") is plan.round("Q1") and plan.round(" sk1 ").code == "SK1"
    assert plan.round("tk").name == "Tổng kết năm 2019"


@pytest.mark.parametrize("upper, written", [
    ("CÔNG ĐOÀN VIÊN CHỨC TỈNH", "Công đoàn Viên chức tỉnh"),
    ("LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NAM", "Liên đoàn Lao động tỉnh Quảng Nam"),
    ("SỞ GIÁO DỤC VÀ ĐÀO TẠO", "Sở Giáo dục và Đào tạo"),
    ("Công đoàn Viên chức tỉnh", "Công đoàn Viên chức tỉnh"),
])
def test_organisation_names_in_running_text(upper, written):
    assert org_name(upper) == written
