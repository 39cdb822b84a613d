"""argparse speaking Vietnamese: its error messages and help headings, errors as `Lỗi: … / Thử: …` (exit 2)."""
from __future__ import annotations

import argparse
import re
import sys

# argparse's English messages (Python 3.11-3.13) and their Vietnamese; applied in order, each on the result.
_MESSAGES = [
    (r"the following arguments are required: (.+)", r"thiếu tham số bắt buộc: \1"),
    (r"unrecognized arguments: (.+)", r"không hiểu tham số: \1"),
    (r"one of the arguments (.+) is required", r"cần một trong các tham số: \1"),
    (r"^argument (\S+): ", r"tham số \1: "),
    (r"invalid choice: (.+?) \(choose from (.+)\)", r"giá trị \1 không có (chọn một trong: \2)"),
    (r"invalid int value: (.+)", r"\1 không phải số nguyên"),
    (r"invalid float value: (.+)", r"\1 không phải số"),
    (r"invalid (\w+) value: (.+)", r"giá trị \2 không hợp lệ"),
    (r"expected one argument", r"cần một giá trị"),
    (r"expected at most one argument", r"chỉ nhận tối đa một giá trị"),
    (r"expected at least one argument", r"cần ít nhất một giá trị"),
    (r"expected (\d+) arguments?", r"cần \1 giá trị"),
    (r"not allowed with argument (.+)", r"không dùng cùng với \1"),
    (r"ignored explicit argument (.+)", r"không nhận giá trị \1"),
    (r"ambiguous option: (\S+) could match (.+)", r"tùy chọn \1 chưa rõ: có thể là \2"),
]
_HEADINGS = [("usage: ", "Cách dùng: "), ("positional arguments:", "tham số:"), ("options:", "tùy chọn:"),
             ("optional arguments:", "tùy chọn:"), ("show this help message and exit", "in hướng dẫn này rồi thoát"),
             ("show program's version number and exit", "in số phiên bản rồi thoát")]


def translate(message: str) -> str:
    """argparse's English error message in Vietnamese (unknown messages are left as they are)."""
    for pattern, replacement in _MESSAGES:
        message = re.sub(pattern, replacement, message)
    return message


def _headings(text: str) -> str:
    for english, vietnamese in _HEADINGS:
        text = text.replace(english, vietnamese)
    return text


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage, help headings and errors are Vietnamese (subparsers inherit the class)."""

    def format_usage(self) -> str:
        return _headings(super().format_usage())

    def format_help(self) -> str:
        return _headings(super().format_help())

    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"Lỗi: {translate(message)}.", file=sys.stderr)
        print(f"Thử: {self.prog} --help", file=sys.stderr)
        self.exit(2)
