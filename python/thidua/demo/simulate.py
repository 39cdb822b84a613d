"""Simulate what units send back: filled templates, typical human mistakes, and a whole year's inbox.

Values are keyed by `Addr(sheet, field, row)`: the sheet key and field key of spec.py, and for list
sheets (activities, proposals) the 0-based table row. `fill_workbook` writes them straight into the
sheet XML of a stamped template (untouched zip members are copied compressed), about a millisecond
a file. `simulate_year` writes a messy inbox and returns the `Truth` about it. The indicators the plan counts from
01/01 add up the unit's months of the year (`cumulative_figure`), so a unit's reports agree with each other but
where the Truth says a unit typed a figure below an earlier one (`period_only`).
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import random
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from xml.sax.saxutils import escape

from thidua.store.crossround import nested_rounds
from thidua.templates import spec as S
from thidua.plan.model import Indicator, Plan, Round
from thidua.templates.build import TemplateFactory, template_filename
from thidua.text.normalize import ascii_slug
from thidua.text.numbers import format_number
from thidua.plan.units import Unit
from thidua.templates.zipstamp import raw_entries, write_zip

EXCEL_EPOCH = dt.date(1899, 12, 30)
VN_TZ = dt.timezone(dt.timedelta(hours=7))
REGULAR_ROUNDS = ("DK", "Q1", "Q2", "SK1", "Q3", "Q4", "TK")
ADHOC_ROUND = "DX"


@dataclass(frozen=True)
class Addr:
    """Where one input goes: sheet key, field key (spec.py), and the 0-based row for table sheets."""

    sheet: str
    field: str
    row: int | None = None


# ---------------------------------------------------------------- filling a workbook
_SHEET = re.compile(rb'<sheet name="([^"]*)" sheetId="[0-9]+"(?: state="[a-zA-Z]+")? r:id="([^"]+)"/>')
_REL = re.compile(rb'<Relationship Id="([^"]+)" Type="[^"]*/worksheet" Target="([^"]+)"/>')
_ADDRESS_MAPS: dict[int, tuple[S.TemplateSpec, dict[Addr, tuple[str, str, str]]]] = {}


def input_cells(spec: S.TemplateSpec) -> dict[Addr, tuple[str, str, str]]:
    """Addr -> (sheet name, A1 address, field type) for every input cell of the spec."""
    cached = _ADDRESS_MAPS.get(id(spec))
    if cached and cached[0] is spec:
        return cached[1]
    out = {}
    for sheet in spec.sheets:
        for cell in sheet.cells:
            if cell.is_input:
                out[Addr(sheet.key, cell.field.key)] = (sheet.name, cell.address, cell.field.type)
        if sheet.table:
            for i in range(sheet.table.n_rows):
                for col in sheet.table.columns:
                    out[Addr(sheet.key, col.field.key, i)] = (sheet.name, sheet.table.address(i, col), col.field.type)
    _ADDRESS_MAPS[id(spec)] = (spec, out)
    return out


def sheet_members(entries: dict[bytes, bytes]) -> dict[str, bytes]:
    """Sheet name -> zip member name, read from xl/workbook.xml and its relationships."""
    book = zlib.decompress(entries[b"xl/workbook.xml"], -15)
    rels = dict(_REL.findall(zlib.decompress(entries[b"xl/_rels/workbook.xml.rels"], -15)))
    return {_unescape(name): b"xl/" + rels[rid].lstrip(b"/").removeprefix(b"xl/")
            for name, rid in _SHEET.findall(book)}


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def excel_serial(day: dt.date) -> int:
    return (day - EXCEL_EPOCH).days


def typed_text(value: object) -> str:
    """How a person types a value as text: 15/3/2019, 17,5, 5."""
    if isinstance(value, dt.date):
        return f"{value.day}/{value.month}/{value.year}"
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else str(value)).replace(".", ",")
    return str(value)


def _cell_xml(address: str, style: bytes, value: object, as_text: bool) -> bytes:
    head = f'<c r="{address}" s="'.encode() + style
    if not as_text and isinstance(value, dt.date):
        return head + f'"><v>{excel_serial(value)}</v></c>'.encode()
    if not as_text and isinstance(value, (int, float)) and not isinstance(value, bool):
        return head + f'"><v>{value!r}</v></c>'.encode()
    text = escape(typed_text(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return head + f'" t="inlineStr"><is><t{space}>{text}</t></is></c>'.encode()


def _patch_blanks(xml: bytes, cells: dict[bytes, tuple[object, bool]], sheet_name: str) -> bytes:
    """Replace each blank styled cell `<c r="A1" s="7"/>` named in `cells` by its filled form."""
    edits = []
    for address, (value, as_text) in cells.items():
        start = xml.find(b'<c r="' + address + b'" s="')
        end = xml.find(b'"/>', start) if start >= 0 else -1
        style = xml[start + len(address) + 11:end]
        if start < 0 or not style.isdigit():
            raise KeyError(f"sheet {sheet_name!r}: input cell {address.decode()} is not blank in the template")
        edits.append((start, end + 3, _cell_xml(address.decode(), style, value, as_text)))
    edits.sort()
    out, pos = [], 0
    for start, end, text in edits:
        out += (xml[pos:start], text)
        pos = end
    out.append(xml[pos:])
    return b"".join(out)


def _fast_deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(1, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def fill_workbook(xlsx_bytes: bytes, round_spec: S.TemplateSpec, values: dict[Addr, object],
                  as_text: Iterable[Addr] = frozenset()) -> bytes:
    """The template with `values` written into its input cells, styles kept.

    Numbers become numbers, dates Excel serial numbers, text inline strings; the addresses in
    `as_text` are written as the text a person would type ("5", "15/3/2019"). None leaves a cell blank.
    """
    amap = input_cells(round_spec)
    text_set = set(as_text)
    by_sheet: dict[str, dict[bytes, tuple[object, bool]]] = {}
    for addr, value in values.items():
        if value is None:
            continue
        try:
            sheet_name, address, _ = amap[addr]
        except KeyError:
            raise KeyError(f"{addr} is not an input of round {round_spec.round.code}") from None
        by_sheet.setdefault(sheet_name, {})[address.encode()] = (value, addr in text_set)
    entries = raw_entries(xlsx_bytes)
    index = {name: i for i, (name, *_rest) in enumerate(entries)}
    members = sheet_members({name: entries[index[name]][3] for name in (b"xl/workbook.xml",
                                                                          b"xl/_rels/workbook.xml.rels")})
    for sheet_name, cells in by_sheet.items():
        i = index[members[sheet_name]]
        xml = _patch_blanks(zlib.decompress(entries[i][3], -15), cells, sheet_name)
        entries[i] = (entries[i][0], zlib.crc32(xml), len(xml), _fast_deflate(xml))
    return write_zip(entries)


def rename_sheet(xlsx_bytes: bytes, old: str, new: str) -> bytes:
    """The workbook with sheet `old` renamed to `new` (in workbook.xml and app.xml, like Excel does)."""
    entries = raw_entries(xlsx_bytes)
    olds, news = escape(old).encode(), escape(new).encode()
    for i, (name, _crc, _size, deflated) in enumerate(entries):
        if name in (b"xl/workbook.xml", b"docProps/app.xml"):
            xml = zlib.decompress(deflated, -15)
            xml = xml.replace(b'name="' + olds + b'"', b'name="' + news + b'"')
            xml = xml.replace(b"'" + olds + b"'!", b"'" + news + b"'!").replace(b">" + olds + b"<", b">" + news + b"<")
            entries[i] = (name, zlib.crc32(xml), len(xml), _fast_deflate(xml))
    return write_zip(entries)


# ---------------------------------------------------------------- realistic values
def _nfc(*words: str) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", w) for w in words)


FAMILY = _nfc("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
              "Ngô", "Dương", "Lý", "Đoàn", "Trương")
MIDDLE_M = _nfc("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Đình")
MIDDLE_F = _nfc("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh")
GIVEN_M = _nfc("An", "Bảo", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long", "Nam", "Phúc",
               "Quang", "Sơn", "Tâm", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Đông")
GIVEN_F = _nfc("Ánh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân",
               "Nhung", "Oanh", "Phương", "Thảo", "Thủy", "Trang", "Vân", "Yến", "Đào")
POSITIONS = _nfc("Chủ tịch CĐCS", "Phó Chủ tịch CĐCS", "Ủy viên BCH CĐCS", "Kế toán công đoàn")
STAFF_JOBS = _nfc("Giáo viên", "Chuyên viên", "Kế toán", "Bác sĩ", "Điều dưỡng", "Trưởng phòng", "Phó Trưởng phòng",
                  "Nhân viên văn thư")
ACTIVITIES = {
    1: _nfc("Phát động phong trào Lao động giỏi, Lao động sáng tạo", "Hội thảo sáng kiến kinh nghiệm",
            "Chấm sáng kiến, cải tiến kỹ thuật cấp cơ sở"),
    2: _nfc("Tham gia xây dựng quy chế chi tiêu nội bộ", "Ra quân cải cách hành chính", "Xây dựng mô hình «Dân vận khéo»"),
    3: _nfc("Phối hợp tổ chức hội nghị cán bộ, công chức, viên chức", "Kiểm tra của Ban Thanh tra nhân dân",
            "Thăm hỏi đoàn viên ốm đau, gia đình có việc hiếu"),
    4: _nfc("Tọa đàm «Giỏi việc nước, đảm việc nhà» nhân ngày 8/3", "Học tập chuyên đề làm theo tư tưởng, đạo đức Hồ Chí Minh",
            "Cử đoàn viên tham gia lớp bồi dưỡng nghiệp vụ"),
    5: _nfc("Kết nạp đoàn viên mới", "Hội nghị Ban Chấp hành công đoàn cơ sở", "Tập huấn nghiệp vụ công tác công đoàn"),
    6: _nfc("Trao quà cho đoàn viên có hoàn cảnh khó khăn", "Triển khai thỏa thuận hợp tác với siêu thị",
            "Quyên góp ủng hộ đồng bào bị thiên tai", "Tổ chức ngày hội gia đình nhân ngày 28/6"),
}
SUMMARIES = _nfc("Hoàn thành xuất sắc nhiệm vụ được giao", "Có sáng kiến được Hội đồng cấp cơ sở công nhận",
                 "Tích cực tham gia các phong trào thi đua của công đoàn", "Đạt thành tích cao trong công tác chuyên môn")


def vietnamese_name(rng: random.Random, female: bool | None = None) -> str:
    """A plausible full name in NFC, e.g. «Nguyễn Thị Ánh» (a woman's or a man's when `female` is given)."""
    if (rng.random() < 0.5) if female is None else female:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_F)} {rng.choice(GIVEN_F)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_M)} {rng.choice(GIVEN_M)}"


def _rand_date(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


# What a unit reports of an indicator for a quarter (scale 1) or a review's longer time (scale 3), from its staff
# and members; other indicators take small counts (`_draw`).
_DRAWS: dict[str, Callable[[random.Random, int, int, int], int]] = {
    "ND5_CBCCVC": lambda r, staff, members, k: staff, "ND5_DOANVIEN": lambda r, staff, members, k: members,
    "ND5_KETNAP": lambda r, staff, members, k: min(members, r.randint(0, 1)),
    "ND1_SANGKIEN": lambda r, staff, members, k: r.randint(0, max(1, staff // 25) * k),
    "ND1_DETAI": lambda r, staff, members, k: r.randint(0, k),
    "ND1_HOITHI": lambda r, staff, members, k: r.randint(0, 2),
    "ND2_KYLUAT": lambda r, staff, members, k: 0 if r.random() < 0.93 else 1,
    "ND3_THAMHOI": lambda r, staff, members, k: r.randint(0, max(1, staff // 3) * k),
    "ND4_DAOTAO": lambda r, staff, members, k: r.randint(0, max(1, staff // 10)),
    "ND4_GVNDVN": lambda r, staff, members, k: r.randint(0, max(1, members // 6)),
    "ND4_HOCBAC": lambda r, staff, members, k: r.randint(0, 3),
    "ND6_HUONGLOI": lambda r, staff, members, k: r.randint(0, members * k),
    "ND6_TIENTHAMHOI": lambda r, staff, members, k: r.randint(0, 40 * k) * 250_000,
    "ND6_TIENTUTHIEN": lambda r, staff, members, k: r.randint(0, 20 * k) * 100_000,
}
ACTIVE_MONTH = 1 / 3      # the chance that a unit adds a quarter's worth to a cumulative indicator in a month


def _draw(ind: Indicator, rng: random.Random, staff: int, members: int, scale: int) -> object:
    if ind.code in _DRAWS:
        return _DRAWS[ind.code](rng, staff, members, scale)
    if ind.type == "bool":
        return S.YES if rng.random() < 0.9 else S.NO
    hi = int(ind.max if ind.max is not None else 10)
    return rng.randint(int(ind.min or 0), min(hi, 5 * scale))


def _fewest(unit: Unit) -> dict[str, int]:
    """The fewest staff and members a report of the unit shows (`_indicator_values` moves them by a couple)."""
    staff = max(1, unit.staff - 2)
    return {"ND5_CBCCVC": staff, "ND5_DOANVIEN": max(0, min(staff, unit.members - 2))}


def cumulative_indicators(plan: Plan) -> frozenset[str]:
    """The indicators the plan counts from the start of the year (the fields of its `never_decreases` rules)."""
    return frozenset(code for rule in plan.rules if rule.kind == "never_decreases" for code in rule.fields)


def cumulative_figure(plan: Plan, ind: Indicator, unit: Unit, start: dt.date, end: dt.date, seed: object) -> int:
    """A cumulative indicator's figure for a report over `start`..`end`: the unit's figures of those months added up.

    The twelve months are drawn once for a year (`seed`), unit and indicator, so every report from 01/01 holds its
    earlier ones (Q1 <= SK1 <= TK) and the parts add up (Q1 + Q2 + July = SK1). The year never passes the
    indicator's maximum, nor the fewest members or staff of a report when a plan rule says it may not (new
    members <= members)."""
    fewest = _fewest(unit)
    ceiling = min([int(ind.max) if ind.max is not None else 10 ** 15] + [
        fewest[rule.fields[1]] for rule in plan.rules
        if rule.kind == "not_more_than" and rule.fields[0] == ind.code and rule.fields[1] in fewest])
    totals = _running_totals(seed, unit.code, unit.staff, unit.members, ind, ceiling)
    first = start.month - 1 if start.year == end.year else 0
    return totals[end.month] - totals[first]


@functools.lru_cache(maxsize=1 << 16)
def _running_totals(seed: object, unit_code: str, staff: int, members: int, ind: Indicator,
                    ceiling: int) -> tuple[int, ...]:
    """A unit's figure of a cumulative indicator from 01/01 to the end of each month (index 0: nothing yet)."""
    rng = random.Random(f"{seed}/{unit_code}/{ind.code}")
    totals, total = [0], 0
    for _month in range(12):
        if rng.random() < ACTIVE_MONTH:
            total = min(ceiling, total + _draw(ind, rng, staff, members, 1))
        totals.append(total)
    return tuple(totals)


def _indicator_values(plan: Plan, rnd: Round, unit: Unit, rng: random.Random, seed: object) -> dict[str, object]:
    staff = max(1, unit.staff + rng.randint(-2, 2))
    members = max(0, min(staff, unit.members + rng.randint(-2, 1)))
    scale = 1 if rnd.kind in ("quarter", "registration") else 3
    cumulative = cumulative_indicators(plan)
    out: dict[str, object] = {}
    for ind in plan.indicators_for(rnd.code):
        if ind.type == "date":
            continue
        if ind.code in cumulative and ind.type in ("int", "money"):
            out[ind.code] = cumulative_figure(plan, ind, unit, rnd.start, rnd.end, seed)
        else:
            out[ind.code] = _draw(ind, rng, staff, members, scale)
    return out


def _date_in(field_: S.Field, rnd: Round, rng: random.Random, lo=None, hi=None) -> dt.date:
    lo = max(d for d in (field_.min, rnd.start, lo) if d)
    hi = min(d for d in (field_.max, rnd.end, hi) if d)
    return _rand_date(rng, lo, max(lo, hi))


def _person(rng: random.Random, unit: Unit, female: bool, years: int) -> dict[str, object]:
    """An individual nominee with the condition fields filled; now and then one who fails a condition."""
    months = 12 if rng.random() < 0.94 else rng.randint(6, 9)             # recruited in the year
    discipline = S.NO if rng.random() < 0.97 else "Khiển trách"
    return {"prop.subject": S.INDIVIDUAL, "prop.name": vietnamese_name(rng, female),
            "prop.position": f"{rng.choice(STAFF_JOBS)}, {unit.name.removeprefix('CĐCS ')}",
            "prop.gioi_tinh": "Nữ" if female else "Nam", "prop.thang_cong_tac": months, "prop.ky_luat": discipline,
            "prop.dat_ldtt": S.YES, "prop.co_sang_kien": S.NO, "prop.nam_htxs": years,
            "prop.summary": rng.choice(SUMMARIES)}


def agency_code(unit: Unit) -> str:
    """The initials an employing agency signs its decisions with: «CĐCS Trường THPT Trần Phú» -> «THPTTP»."""
    words = ascii_slug(unit.name.removeprefix("CĐCS "), 80).replace("-", " ").split()
    return "".join(w if w.isupper() and len(w) > 1 else w[:1].upper() for w in words)[:10]


def _attested(rng: random.Random, rnd: Round, unit: Unit) -> dict[str, object]:
    """The employing agency's decision recognising a yearly title: its number and date (mid-December); now and
    then a unit forgets the number (the title then counts for nothing: X014)."""
    number = f"{rng.randint(12, 260)}/QĐ-{agency_code(unit)}"
    day = rnd.end - dt.timedelta(days=rng.randint(10, 25))
    if rng.random() < 0.04:
        return {"prop.title_date": day}
    return {"prop.title_decision": number, "prop.title_date": day}


def _cluster_head(plan: Plan, rnd: Round, unit: Unit) -> dict[str, object]:
    """The head of a unit's emulation cluster (the same person for every unit of the cluster): two units of a
    cluster may both propose him, the same achievement twice (X013)."""
    rng = random.Random(f"{unit.cluster}-{plan.year}")
    return {"prop.subject": S.INDIVIDUAL, "prop.name": vietnamese_name(rng, False),
            "prop.position": f"Trưởng {unit.cluster}", "prop.gioi_tinh": "Nam", "prop.ky_luat": S.NO,
            "prop.nam_htxs": 3, "prop.birth_year": plan.year - rng.randint(35, 55),
            "prop.summary": "Điều hành khối thi đua hoàn thành xuất sắc nhiệm vụ"}


def _proposal_rows(plan: Plan, rnd: Round, unit: Unit, rng: random.Random) -> list[dict[str, object]]:
    """A unit's nominees. At year end: its Lao động tiên tiến with the agency's decision, about one Chiến sĩ thi đua
    cơ sở in seven of them (a few units propose too many), some for higher forms (women for «Giỏi việc nước, đảm
    việc nhà»), the unit itself with its collective title, now and then its cluster's head. At the sơ kết: a few
    people and the unit for a Giấy khen, no yearly title. Ad-hoc: one or two people."""
    titles = {t.code: t.name for t in plan.titles}
    forms = {f.code: f.name for f in plan.forms}
    year_end = plan.year_end_round is not None and rnd.code == plan.year_end_round.code

    def born(row: dict) -> dict:
        row["prop.birth_year"] = plan.year - rng.randint(24, 58)
        return row
    if rnd.kind == "adhoc":
        return _distinct_names([born(dict(_person(rng, unit, rng.random() < 0.5, rng.randint(1, 3)), **{
            "prop.form": forms["GK"], "prop.adhoc": S.YES})) for _ in range(rng.randint(1, 2))], rng)
    if not year_end:
        rows = [born(dict(_person(rng, unit, rng.random() < 0.55, rng.randint(2, 5)),
                          **{"prop.form": forms["BKLDLD" if rng.random() < 0.15 else "GK"]}))
                for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.3:
            rows.append({"prop.subject": S.COLLECTIVE, "prop.name": unit.name, "prop.ky_luat": S.NO,
                         "prop.nam_htxs": rng.randint(1, 5), "prop.summary": rng.choice(SUMMARIES),
                         "prop.form": forms["GK"]})
        return _distinct_names(rows, rng)
    rows = []
    n_ldtt = rng.randint(0, 7)
    for _ in range(n_ldtt):
        row = born(_person(rng, unit, rng.random() < 0.55, rng.randint(1, 4)))
        row.update({"prop.title": titles["LDTT"], **_attested(rng, rnd, unit)})
        if rng.random() < 0.3:
            row["prop.form"] = forms["GK"]
        rows.append(row)
    n_cstdcs = int(0.15 * (n_ldtt + 1)) + (1 if n_ldtt and rng.random() < 0.08 else 0)
    for _ in range(n_cstdcs):
        pick = rng.random()
        form = "BKLDLD" if pick < 0.25 else "BKTLD" if pick < 0.3 else "BKGVNDVN" if pick < 0.42 else None
        female = rng.random() < (0.92 if form == "BKGVNDVN" else 0.5)      # now and then a man: not eligible
        row = born(_person(rng, unit, female, rng.randint(3, 6) if form else rng.randint(1, 4)))
        row.update({"prop.title": titles["CSTDCS"], "prop.co_sang_kien": S.YES if rng.random() < 0.95 else S.NO,
                    **_attested(rng, rnd, unit)})
        if form:
            row["prop.form"] = forms[form]
        rows.append(row)
    if rng.random() < 0.5:
        share = float(rng.randint(55, 100))
        lead = share >= 90 and rng.random() < 0.3
        form = "COTD" if lead else "BKGVNDVN" if rng.random() < 0.05 else \
            "BKLDLD" if share >= 70 and rng.random() < 0.3 else "GK"
        rows.append({"prop.subject": S.COLLECTIVE, "prop.name": unit.name, "prop.ky_luat": S.NO,
                     "prop.title": titles["TTLDXS" if share >= 70 else "TTLDTT"], "prop.ty_le_ldtt": share,
                     "prop.ty_le_htnv": 100.0 if rng.random() < 0.9 else float(rng.randint(90, 99)),
                     "prop.so_cstdcs": max(n_cstdcs, 1 if share >= 70 and rng.random() < 0.9 else 0),
                     "prop.nam_htxs": rng.randint(1, 5), "prop.dan_dau_khoi": S.YES if lead else S.NO,
                     "prop.summary": rng.choice(SUMMARIES), "prop.form": forms[form], **_attested(rng, rnd, unit)})
    rows = _distinct_names(rows, rng)
    if rng.random() < 0.04:
        rows.append(dict(_cluster_head(plan, rnd, unit), **{"prop.title": titles["LDTT"], "prop.form": forms["GK"],
                                                            **_attested(rng, rnd, unit)}))
    return rows


def _distinct_names(rows: list[dict[str, object]], rng: random.Random) -> list[dict[str, object]]:
    """The rows with no two people of the same name (the validator would take them for one proposal typed twice)."""
    seen = set()
    for row in rows:
        while row["prop.subject"] == S.INDIVIDUAL and row["prop.name"] in seen:
            row["prop.name"] = vietnamese_name(rng, row["prop.gioi_tinh"] == "Nữ")
        seen.add(row["prop.name"])
    return rows


def realistic_values(plan: Plan, round_code: str, unit: Unit, rng: random.Random,
                     report_date: dt.date | None = None, seed: object = None) -> dict[Addr, object]:
    """Plausible, consistent values for every kind of input of a round's template.

    The cumulative indicators come from the unit's months of the year `seed` (default: the plan's year), whatever
    `rng` is, so that the reports of one unit agree with each other (`cumulative_figure`)."""
    spec = S.template_spec(plan, round_code)
    rnd = spec.round
    out: dict[Addr, object] = {}
    for sheet in spec.sheets:
        if sheet.key == "info":
            reporter = vietnamese_name(rng)
            date = report_date or _date_in(next(c.field for c in sheet.cells if c.field.key == "info.date"),
                                           rnd, rng, lo=rnd.end - dt.timedelta(days=10), hi=rnd.due or rnd.end)
            info = {"info.reporter": reporter, "info.position": rng.choice(POSITIONS),
                    "info.phone": f"0{rng.choice((905, 935, 914, 983, 236))} {rng.randint(100, 999)} {rng.randint(100, 999)}",
                    "info.email": unit.email, "info.date": date}
            out.update({Addr("info", k): v for k, v in info.items()})
        elif sheet.key == "indicators":
            numbers = _indicator_values(plan, rnd, unit, rng, plan.year if seed is None else seed)
            for cell in sheet.cells:
                code = cell.field.key.removeprefix("ind.")
                if cell.field.key.startswith("ind.") and code in numbers:
                    out[Addr("indicators", cell.field.key)] = numbers[code]
            fields = {c.field.key: c.field for c in sheet.cells}
            if "ind.PD_NGAY" in fields and numbers.get("PD_PHATDONG") == S.YES:
                out[Addr("indicators", "ind.PD_NGAY")] = _date_in(fields["ind.PD_NGAY"], rnd, rng,
                                                                  hi=dt.date(rnd.start.year, 2, 28))
            if "ind.ND3_HOINGHI_NGAY" in fields and numbers.get("ND3_HOINGHI") == S.YES:
                out[Addr("indicators", "ind.ND3_HOINGHI_NGAY")] = _date_in(
                    fields["ind.ND3_HOINGHI_NGAY"], rnd, rng, hi=dt.date(rnd.start.year, 3, 31))
            if rng.random() < 0.2:
                out[Addr("indicators", f"note.{rng.choice(list(numbers))}")] = "Số liệu đến cuối kỳ báo cáo"
        elif sheet.key == "selfscore":
            for cell in sheet.cells:
                f = cell.field
                if f.key.startswith("score."):
                    top = int(f.max * 2)
                    out[Addr("selfscore", f.key)] = rng.randint(int(top * 0.6), top) / 2
        elif sheet.key == "activities":
            date_field = sheet.table.columns[0].field
            n = rng.randint(1, 6) if rnd.kind in ("quarter", "registration") else rng.randint(3, 12)
            for i in range(min(n, sheet.table.n_rows)):
                content = rng.randint(1, 6)
                row = {"act.date": _date_in(date_field, rnd, rng, hi=report_date), "act.content": content,
                       "act.description": rng.choice(ACTIVITIES[content]),
                       "act.participants": rng.randint(5, max(5, unit.staff))}
                out.update({Addr("activities", k, i): v for k, v in row.items()})
        elif sheet.key == "proposals":
            for i, row in enumerate(_proposal_rows(plan, rnd, unit, rng)[: sheet.table.n_rows]):
                out.update({Addr("proposals", k, i): v for k, v in row.items()})
    return out


# ---------------------------------------------------------------- typical mistakes
@dataclass
class Draft:
    """One submission being prepared: the template it starts from, its values and how they are typed."""

    plan: Plan
    spec: S.TemplateSpec
    unit: Unit
    template: bytes
    values: dict[Addr, object]
    rng: random.Random
    as_text: set[Addr] = field(default_factory=set)
    renamed: tuple[str, str] | None = None
    claims: str = ""                                  # the unit code inside the file
    other_template: Callable[[], tuple[str, bytes]] | None = None   # (code, bytes) of another unit's file

    def __post_init__(self) -> None:
        self.claims = self.claims or self.unit.code

    def render(self) -> bytes:
        data = fill_workbook(self.template, self.spec, self.values, self.as_text)
        return rename_sheet(data, *self.renamed) if self.renamed else data

    def pick(self, predicate: Callable[[Addr, object], bool]) -> Addr | None:
        found = sorted((a for a, v in self.values.items() if predicate(a, v)), key=repr)
        return self.rng.choice(found) if found else None

    def field_type(self, addr: Addr) -> str:
        return input_cells(self.spec)[addr][2]


def _indicator_of_type(d: Draft, kind: str, least: int = 0) -> Addr | None:
    """A filled indicator input of field type `kind` ("int" or "money") holding at least `least`."""
    return d.pick(lambda a, v: a.sheet == "indicators" and a.field.startswith("ind.") and isinstance(v, int)
                  and v >= least and d.field_type(a) == kind)


def _number_with_unit(d: Draft) -> bool:
    a = _indicator_of_type(d, "int")
    if a is None:
        return False
    d.values[a] = f"{d.values[a]} {d.plan.indicator(a.field[4:]).unit}"
    return True


def _vn_thousands(n: int) -> str:
    return format_number(n)


def _money_text(suffix: str) -> Callable[[Draft], bool]:
    """An amount typed as text with the thousands marked ("1.250.000đ"): the same amount, read with a warning."""
    def apply(d: Draft) -> bool:
        a = _indicator_of_type(d, "money", least=1000)
        if a is None:
            return False
        d.values[a] = _vn_thousands(int(d.values[a])) + suffix
        return True
    return apply


def _as_text(kind: str) -> Callable[[Draft], bool]:
    def apply(d: Draft) -> bool:
        a = d.pick(lambda a, v: (isinstance(v, dt.date) if kind == "date" else
                                 isinstance(v, int) and d.field_type(a) == "int"))
        if a is None:
            return False
        d.as_text.add(a)
        return True
    return apply


def _date_outside_round(d: Draft) -> bool:
    a = d.pick(lambda a, v: isinstance(v, dt.date) and a.field != "info.date")
    if a is None:
        return False
    d.values[a] = d.spec.round.start - dt.timedelta(days=d.rng.randint(5, 60))
    return True


def _indicator(key: str) -> Addr:
    return Addr("indicators", f"ind.{key}")


def _over(bigger: str, than: str, most: int) -> Callable[[Draft], bool]:
    """Indicator `bigger` typed above indicator `than` (members above staff, new above members)."""
    def apply(d: Draft) -> bool:
        big, ref = _indicator(bigger), _indicator(than)
        if not (isinstance(d.values.get(big), int) and isinstance(d.values.get(ref), int)):
            return False
        d.values[big] = d.values[ref] + d.rng.randint(1, most)
        return True
    return apply


def _score_over_max(d: Draft) -> bool:
    a = d.pick(lambda a, v: a.sheet == "selfscore" and a.field.startswith("score."))
    if a is None:
        return False
    crit = next(c for c in d.plan.criteria if c.code == a.field[len("score."):])
    d.values[a] = crit.max_points + d.rng.choice((1, 5, 10))
    return True


def _missing_required(d: Draft) -> bool:
    required = {a for a, (_s, _c, _t) in input_cells(d.spec).items() if a.row is None and _is_required(d.spec, a)}
    a = d.pick(lambda a, v: a in required)
    if a is None:
        return False
    del d.values[a]
    return True


def _is_required(spec: S.TemplateSpec, addr: Addr) -> bool:
    sheet = spec.sheet(addr.sheet)
    return any(c.field.key == addr.field and c.field.required for c in sheet.cells)


def _title_without_decision(d: Draft) -> bool:
    """A yearly title given without the agency's decision (number, date): it counts for nothing (X014)."""
    year_end = d.plan.year_end_round
    if d.spec.sheet("proposals") is None or year_end is None or d.spec.round.code != year_end.code:
        return False
    name = next(t.name for t in d.plan.titles if t.code == "LDTT")
    rows = [a.row for a in d.values if a.sheet == "proposals" and a.field == "prop.name"]
    row = max(rows, default=-1) + 1
    new = {"prop.subject": S.INDIVIDUAL, "prop.name": vietnamese_name(d.rng), "prop.title": name,
           "prop.form": next(f.name for f in d.plan.forms if f.code == "GK"), "prop.ky_luat": S.NO,
           "prop.summary": SUMMARIES[1]}
    d.values.update({Addr("proposals", k, row): v for k, v in new.items()})
    return True


def _texts(d: Draft) -> list[Addr]:
    return [a for a, v in d.values.items() if isinstance(v, str) and d.field_type(a) == "text" and v != v.lower()]


def _nfd_text(d: Draft) -> bool:
    for a in _texts(d):
        d.values[a] = unicodedata.normalize("NFD", d.values[a])
    return True


def _eth_for_dj(d: Draft) -> bool:
    d.values[Addr("info", "info.position")] = POSITIONS[0]
    for a in _texts(d):
        d.values[a] = d.values[a].replace("Đ", "\u00d0")
    return True


def _identity_swap(d: Draft) -> bool:
    if d.other_template is None:
        return False
    d.claims, d.template = d.other_template()
    return True


def _sheet_renamed(d: Draft) -> bool:
    sheet = next((s for s in d.spec.sheets if s.key in ("indicators", "proposals")), None)
    if sheet is None:
        return False
    ascii_name = unicodedata.normalize("NFKD", sheet.name.replace("Đ", "D")).encode("ascii", "ignore").decode()
    d.renamed = (sheet.name, d.rng.choice((ascii_name, "Sheet1", sheet.name + " (2)")))
    return True


MISTAKES: dict[str, Callable[[Draft], bool]] = {
    "number_with_unit": _number_with_unit,          # "5 người"
    "money_text_dong": _money_text("đ"),            # "1.200.000đ"
    "money_text_dots": _money_text(""),             # "1.200.000"
    "number_as_text": _as_text("int"),              # a text cell "5"
    "date_as_text": _as_text("date"),               # a text cell "15/3/2019"
    "date_outside_round": _date_outside_round,
    "members_over_staff": _over("ND5_DOANVIEN", "ND5_CBCCVC", 20),
    "new_over_members": _over("ND5_KETNAP", "ND5_DOANVIEN", 10),
    "score_over_max": _score_over_max,
    "missing_required": _missing_required,
    "title_without_decision": _title_without_decision,
    "nfd_text": _nfd_text,                          # looks right, compares unequal
    "eth_for_dj": _eth_for_dj,                      # Ð (U+00D0) typed for Đ
    "identity_swap": _identity_swap,                # another unit's template, filled with this unit's data
    "sheet_renamed": _sheet_renamed,
}
"""Each mistake changes a Draft in place and returns False when it does not apply to the round."""


def apply_mistake(draft: Draft, name: str) -> bool:
    return MISTAKES[name](draft)


# ---------------------------------------------------------------- a year's inbox
@dataclass
class Sent:
    """One file written into the inbox."""

    path: Path
    round: str
    unit: str                    # the sender
    claims: str                  # the unit code inside the file (differs for identity_swap)
    received: dt.datetime        # aware, Vietnam time; also the file's mtime
    kind: str                    # "first", "corrected" or "copy" (identical bytes again)
    mistakes: tuple[str, ...] = ()
    figures: dict[str, object] = field(default_factory=dict)   # the cumulative indicators in the file, as numbers


@dataclass
class RoundTruth:
    code: str
    due: dt.date | None
    on_time: set[str] = field(default_factory=set)      # first file received on or before the due date
    late: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    mistakes: dict[str, tuple[str, ...]] = field(default_factory=dict)   # in the unit's first file
    corrected: set[str] = field(default_factory=set)    # sent a corrected file later
    copies: set[str] = field(default_factory=set)       # sent identical bytes again
    final_values: dict[str, dict[Addr, object]] = field(default_factory=dict)   # the last, clean values
    # units that typed, for one cumulative indicator, only what they did since their last report from 01/01 (below
    # that report's figure): {unit: {indicator: figure typed}}; in the first file and any corrected one
    decreased: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def submitted(self) -> set[str]:
        return self.on_time | self.late

    @property
    def resubmitted(self) -> set[str]:
        """Units that sent more than one file (a corrected version or the same bytes again)."""
        return self.corrected | self.copies


@dataclass
class Truth:
    rounds: dict[str, RoundTruth]
    files: list[Sent]
    junk: list[Path]             # lock files and stray notes that are not submissions

    def files_of(self, round_code: str) -> list[Sent]:
        return [s for s in self.files if s.round == round_code]


MESSY_NAMES = ("bao cao.xlsx", "Bao cao thi dua.xlsx", "BC {r}.xlsx", "{code}.xlsx", "{template}",
               "{r} - {slug}.xlsx", "Bao_cao_{r}_{code}.xlsx", "BC quy (sua).xlsx", "Copy of {template}")
CORRECTED_NAMES = ("{stem} (sua).xlsx", "{stem} ban sua.xlsx", "BC {r} (sua lan 2).xlsx")


@dataclass
class YearRates:
    """Shares of units behaving each way in a regular round."""

    missing: float = 0.04
    late: float = 0.12
    mistakes: float = 0.06
    corrected: float = 0.6        # of those with mistakes
    copy: float = 0.03
    adhoc: float = 0.06           # units sending an ad-hoc (DX) proposal
    decrease: float = 0.03        # in a round with an earlier one from 01/01: a cumulative figure below it


def _received(rnd: Round, late: bool, rng: random.Random) -> dt.datetime:
    """On time: at most at 17:00 on the due day; late: from 07:30 on a later day (same date in UTC and +07)."""
    if rnd.due is None:
        day = _rand_date(rng, rnd.start + dt.timedelta(days=30), rnd.end - dt.timedelta(days=10))
        return dt.datetime.combine(day, dt.time(rng.randint(8, 16), rng.randint(0, 59)), VN_TZ)
    if late:
        day = rnd.due + dt.timedelta(days=rng.randint(1, 20))
        return dt.datetime.combine(day, dt.time(rng.randint(7, 16), rng.randint(30, 59)), VN_TZ)
    first = max(rnd.start, min(rnd.due - dt.timedelta(days=5), rnd.end - dt.timedelta(days=2)))
    day = _rand_date(rng, first, rnd.due)
    return dt.datetime.combine(day, dt.time(rng.randint(7, 16), rng.randint(0, 59)), VN_TZ)


class _Inbox:
    """Writes files into <inbox>/<round>/<e-mail date>/ under messy, de-duplicated names."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.taken: set[Path] = set()

    def put(self, round_code: str, when: dt.datetime, name: str, data: bytes) -> Path:
        folder = self.root / round_code / when.date().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path, n = folder / name, 0
        while path in self.taken or path.exists():
            n += 1
            path = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
        self.taken.add(path)
        path.write_bytes(data)
        stamp = when.timestamp()
        os.utime(path, (stamp, stamp))
        return path


def _messy_name(pattern: str, rnd: Round, unit: Unit, stem: str = "") -> str:
    return pattern.format(r=rnd.code, code=unit.code, slug=ascii_slug(unit.name, 30), stem=stem,
                          template=template_filename(rnd.code, unit))


def simulate_round(plan: Plan, units: list[Unit], key: bytes, inbox: Path, round_code: str,
                   rng: random.Random, rates: YearRates = YearRates(), keep_values: bool = False,
                   _box: _Inbox | None = None, seed: object = None) -> tuple[RoundTruth, list[Sent]]:
    """Write one round's submissions into `inbox`; return what is true about them. `seed`: the year whose months
    the cumulative indicators add up (realistic_values)."""
    box = _box or _Inbox(inbox)
    factory = TemplateFactory(plan, round_code, key)
    spec = S.template_spec(plan, round_code)
    rnd = spec.round
    truth, sent = RoundTruth(round_code, rnd.due), []
    adhoc = rnd.due is None
    mistake_names = sorted(MISTAKES)
    seed = plan.year if seed is None else seed
    since = max((a for a, b in nested_rounds(plan) if b.code == round_code), key=lambda r: r.end, default=None)
    for unit in units:
        if adhoc and rng.random() >= rates.adhoc or not adhoc and rng.random() < rates.missing:
            if not adhoc:
                truth.missing.add(unit.code)
            continue
        late = not adhoc and rng.random() < rates.late
        when = _received(rnd, late, rng)
        (truth.late if late else truth.on_time).add(unit.code)
        report_date = when.date() - dt.timedelta(days=rng.randint(0, 2))
        values = realistic_values(plan, round_code, unit, rng, report_date=max(report_date, rnd.start), seed=seed)
        if since is not None and rng.random() < rates.decrease:
            typed = period_only(plan, rnd, since, unit, values, seed, rng)
            if typed:
                truth.decreased[unit.code] = typed
        template = factory.render(unit)
        draft = Draft(plan, spec, unit, template, dict(values), rng,
                      other_template=lambda u=unit: _other(factory, units, u, rng))
        made: list[str] = []
        if rng.random() < rates.mistakes:
            for name in rng.sample(mistake_names, len(mistake_names)):
                if apply_mistake(draft, name):
                    made.append(name)
                    if len(made) >= (2 if rng.random() < 0.2 else 1):
                        break
        data = draft.render()
        name = _messy_name(rng.choice(MESSY_NAMES), rnd, unit)
        path = box.put(round_code, when, name, data)
        sent.append(Sent(path, round_code, unit.code, draft.claims, when, "first", tuple(made),
                         _figures(plan, draft.values, values)))
        if made:
            truth.mistakes[unit.code] = tuple(made)
        if made and rng.random() < rates.corrected:
            later = when + dt.timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
            fixed = fill_workbook(template, spec, values)
            cpath = box.put(round_code, later, _messy_name(rng.choice(CORRECTED_NAMES), rnd, unit, path.stem), fixed)
            sent.append(Sent(cpath, round_code, unit.code, unit.code, later, "corrected", (),
                             _figures(plan, values, values)))
            truth.corrected.add(unit.code)
            data, path, when = fixed, cpath, later
        if rng.random() < rates.copy:
            again = when + dt.timedelta(hours=rng.randint(1, 30))
            name = rng.choice((f"Copy of {path.name}", path.name))
            cpath = box.put(round_code, again, name, data)
            sent.append(Sent(cpath, round_code, unit.code, sent[-1].claims, again, "copy", sent[-1].mistakes,
                             sent[-1].figures))
            truth.copies.add(unit.code)
        if keep_values and (not made or unit.code in truth.corrected):
            truth.final_values[unit.code] = values
    return truth, sent


def period_only(plan: Plan, rnd: Round, since: Round, unit: Unit, values: dict[Addr, object], seed: object,
                rng: random.Random) -> dict[str, int]:
    """A unit that types, for one cumulative indicator, only what it did after its report `since` (which also counts
    from 01/01) instead of the figure from 01/01, when that is below the figure of `since`: changes `values`;
    returns {indicator: figure typed} (empty when no indicator would fall)."""
    cumulative, after = cumulative_indicators(plan), since.end + dt.timedelta(days=1)
    asked = {i.code for i in plan.indicators_for(since.code)}
    falls = []
    for ind in plan.indicators_for(rnd.code):
        addr = Addr("indicators", f"ind.{ind.code}")
        if ind.code in cumulative and ind.code in asked and isinstance(values.get(addr), int):
            typed = cumulative_figure(plan, ind, unit, after, rnd.end, seed)
            if typed < cumulative_figure(plan, ind, unit, since.start, since.end, seed):
                falls.append((ind.code, addr, typed))
    if not falls:
        return {}
    code, addr, typed = rng.choice(falls)
    values[addr] = typed
    return {code: typed}


def _figures(plan: Plan, written: dict[Addr, object], clean: dict[Addr, object]) -> dict[str, object]:
    """The cumulative indicators of a file as numbers: what was written, or for a number typed as text the number
    it stands for (the clean value); an input left blank is not there."""
    out = {}
    for code in cumulative_indicators(plan):
        addr = Addr("indicators", f"ind.{code}")
        if addr in written:
            value = written[addr]
            out[code] = value if isinstance(value, (int, float)) else clean.get(addr)
    return out


def _other(factory: TemplateFactory, units: list[Unit], unit: Unit, rng: random.Random) -> tuple[str, bytes]:
    other = rng.choice([u for u in units if u.code != unit.code])
    return other.code, factory.render(other)


def simulate_year(plan: Plan, units: list[Unit], key: bytes, inbox: Path, rng_seed: int = 2019,
                  rounds: Iterable[str] | None = None, rates: YearRates = YearRates(),
                  keep_values: bool = False) -> Truth:
    """Write a realistic inbox for the rounds (default the 7 regular ones and DX); return the Truth."""
    rng = random.Random(rng_seed)
    inbox = Path(inbox)
    box = _Inbox(inbox)
    truth = Truth({}, [], [])
    for code in rounds or (*REGULAR_ROUNDS, ADHOC_ROUND):
        rt, sent = simulate_round(plan, units, key, inbox, code, rng, rates, keep_values, box, seed=rng_seed)
        truth.rounds[code] = rt
        truth.files += sent
    truth.junk = _junk(truth, inbox)
    return truth


def _junk(truth: Truth, inbox: Path) -> list[Path]:
    """An Excel lock file beside one submission and a stray note: things a consolidator must skip."""
    junk = []
    first = next((s for s in truth.files if s.kind == "first"), None)
    if first is not None:
        lock = first.path.parent / f"~${first.path.name}"
        lock.write_bytes(b"\x0bvan phong  " + b" " * 40 + b"\x00" * 110)
        junk.append(lock)
    note = inbox / "ghi chu.txt"
    note.write_text("Nhớ gọi điện nhắc các đơn vị chưa gửi báo cáo.\n", encoding="utf-8")
    junk.append(note)
    return junk
