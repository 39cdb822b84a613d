"""The register of grassroots unions (CĐCS): who reports, in which emulation cluster, and how to reach them."""
from __future__ import annotations

import csv
import difflib
import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from thidua.errors import ThiDuaError
from thidua.plan.model import to_date
from thidua.text.normalize import label_key

DEFAULT_REGISTER = "units2019.csv"
COLUMNS = ("code", "name", "cluster", "staff", "members", "email", "founded", "status", "successor")
# A unit's mark in a year's register: it reports (active), or it is kept only for its history: closed (giải thể),
# merged into `successor` (sáp nhập), or renamed / given a new code `successor` (đổi tên, đổi mã).
ACTIVE = "active"
STATUSES = (ACTIVE, "closed", "merged", "renamed")
# Items of an in-cell list in the workbook, which spreadsheet programs split at commas: no comma in a label.
STATUS_LABELS = ("Đang hoạt động", "Giải thể", "Sáp nhập", "Đổi tên/đổi mã")
NEEDS_SUCCESSOR = ("merged", "renamed")


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of the register (slots: a national register holds 100,000 of them)."""

    code: str
    name: str
    cluster: str
    staff: int
    members: int
    email: str
    founded: dt.date | None = None
    status: str = ACTIVE
    successor: str = ""

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[STATUSES.index(self.status)]


def unit_status(value: Any) -> str | None:
    """The status code of a register cell: a code or its Vietnamese label, any case; blank is active; None if unknown."""
    text = label_key(value or "")
    if not text:
        return ACTIVE
    for code, label in zip(STATUSES, STATUS_LABELS):
        if text in (code, label_key(label)):          # «Đổi tên, đổi mã» of an older register too
            return code
    return None


def units_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Unit]:
    """Units from register rows (CSV, the master workbook's sheet, a store); checks codes, marks and successors."""
    units, seen, problems = [], set(), []
    clusters: dict[str, str] = {}          # one string per cluster name, shared by its units
    for number, row in enumerate(rows, start=2):
        code = str(row.get("code") or "").strip()
        if not code:
            continue
        if "_" in code or not code.isalnum():
            problems.append(f"dòng {number}: mã «{code}» chỉ được gồm chữ và số")
        if code in seen:
            problems.append(f"dòng {number}: mã «{code}» bị trùng")
        seen.add(code)
        status = unit_status(row.get("status"))
        successor = str(row.get("successor") or "").strip()
        if status is None:
            problems.append(f"dòng {number} ({code}): tình trạng «{row.get('status')}» không có "
                            f"(chọn {', '.join(STATUS_LABELS)})")
            status = ACTIVE
        elif status in NEEDS_SUCCESSOR and not successor:
            problems.append(f"dòng {number} ({code}): «{STATUS_LABELS[STATUSES.index(status)]}» cần ghi mã đơn vị "
                            "kế tục")
        try:
            cluster = str(row.get("cluster") or "").strip()
            units.append(Unit(code, str(row["name"]).strip(), clusters.setdefault(cluster, cluster),
                              int(float(row.get("staff") or 0)), int(float(row.get("members") or 0)),
                              str(row.get("email") or "").strip(), to_date(row.get("founded")), status, successor))
        except (KeyError, ValueError) as exc:
            problems.append(f"dòng {number}: {exc}")
    for unit in units:
        if unit.successor and unit.successor not in seen:
            problems.append(f"đơn vị {unit.code}: đơn vị kế tục «{unit.successor}» không có trong danh sách")
        elif unit.successor == unit.code:
            problems.append(f"đơn vị {unit.code}: đơn vị kế tục không thể là chính nó")
    if problems:
        raise ThiDuaError("Danh sách đơn vị có lỗi: " + "; ".join(problems) + ".",
                          "Sửa danh sách đơn vị rồi chạy lại.")
    return units


def read_csv_rows(path: Path | None = None) -> list[dict]:
    return list(iter_csv_rows(path))


def iter_csv_rows(path: Path | None = None) -> Iterator[dict]:
    """The register's rows one at a time (a national register is read without holding its text or all its rows)."""
    if path is None:
        text = resources.files("thidua.data").joinpath(DEFAULT_REGISTER).read_text(encoding="utf-8")
        yield from csv.DictReader(text.splitlines())
        return
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ThiDuaError(f"Không đọc được danh sách đơn vị {path}: {exc}.", "Kiểm tra đường dẫn.") from exc
    with fh:
        try:
            yield from csv.DictReader(fh)
        except (OSError, UnicodeDecodeError) as exc:
            raise ThiDuaError(f"Không đọc được danh sách đơn vị {path}: {exc}.", "Kiểm tra đường dẫn.") from exc


def select_units(units: list[Unit], codes: str | Iterable[str] | None) -> list[Unit]:
    """The units named by a comma list of codes (all when empty); unknown codes are an error."""
    if not codes:
        return units
    wanted = [c.strip() for c in (codes.split(",") if isinstance(codes, str) else codes) if c.strip()]
    by_code = {u.code.casefold(): u for u in units}
    unknown = [c for c in wanted if c.casefold() not in by_code]
    if unknown:
        raise unknown_unit(unknown, units)
    return [by_code[c.casefold()] for c in wanted]


def unknown_unit(codes: list[str], units: list[Unit]) -> ThiDuaError:
    """The error for unit codes not in the register, its hint listing the nearest codes (difflib)."""
    known = [u.code for u in units]
    near = []
    for code in codes:
        near += [c for c in difflib.get_close_matches(code.upper(), known, n=5, cutoff=0.6) if c not in near]
    hint = "Xem mã đơn vị ở trang Danh sách đơn vị."
    if near:
        hint = f"Mã gần giống: {', '.join(near[:6])}. " + hint
    return ThiDuaError(f"Không có đơn vị mã {', '.join(codes)} trong danh sách.", hint)
