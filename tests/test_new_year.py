"""A new year without a programmer: `thidua new-year` beside the previous year, one history across the yearly
stores, award conditions judged by the years behind them, the tổng kết against last year (issue #20) — on both
engines: yearly files beside the workbooks, or yearly schemas of one PostgreSQL database (the history reading an
earlier year's store on the server, read only).

The office folder is built as the office has it at the end of 2019: ThiDua2019.xlsm, its key, and the 2019 store
(year-end scores and decisions). Everything after is done with the commands, on real files: the roll-over, the 2020
templates, the units' files filled and consolidated, the proposals judged, the tổng kết written."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest

from conftest import ENGINES, TEST_KEY, store_at
from storebuild import add_submission, new_store, plan_of_year
from thidua.demo.simulate import Addr, fill_workbook, realistic_values
from thidua.plan.load import load_plan, load_units
from thidua.plan.model import read_toml_tables
from thidua.plan.units import read_csv_rows
from thidua.store.store import Store
from thidua.templates import spec as S
from thidua.templates.build import write_templates
from thidua.templates.signing import fingerprint
from thidua.workbook.build import build_bytes
from thidua.year.rollplan import rename_year, roll_anniversaries, shift_date

CODES = ("CD001", "CD002", "CD003", "CD004", "CD005", "CD006")
A, B, C = "CD001", "CD002", "CD003"      # A: Vững mạnh 2019 and 2020; B: Khá 2019, Vững mạnh 2020; C: Vững mạnh 2019


def thidua(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thidua", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scores(plan, share: float) -> dict[str, float]:
    return {c.code: round(c.max_points * share * 2) / 2 for c in plan.criteria}


def register_rows(codes=CODES) -> list[dict]:
    return [r for r in read_csv_rows() if r["code"] in codes]


class Stores:
    """Where the office's yearly stores are on one engine: files beside the workbooks (SQLite), or one database on
    the server with the 2019 store in its default schema (as issue #23 made it) and each later year in its own
    schema (`thidua_2020` …), the workbooks' folder holding only `thidua.toml` with `[store] url`."""

    def __init__(self, engine: str, folder: Path, url: str | None = None):
        self.engine, self.folder, self.url = engine, folder, url

    def store(self, year: int) -> str:
        """The year's store, named explicitly (for --db, --previous-db and reading it here)."""
        if self.url is None:
            return str(self.folder / f"thidua-{year}.sqlite")
        return f"{self.url}?schema=" + ("public" if year == 2019 else f"thidua_{year}")

    def recorded(self, year: int) -> str:
        """How a later year's store records this year's (its `years` table)."""
        return f"thidua-{year}.sqlite" if self.url is None else (self.url if year == 2019 else self.store(year))

    def name(self, year: int) -> str:
        """How messages name the year's store."""
        return f"thidua-{year}.sqlite" if self.url is None else self.store(year)

    def digest(self, year: int) -> str:
        """What the year's store holds (the file's bytes; on a server every row of every table)."""
        if self.url is None:
            return sha(Path(self.store(year)))
        return store_digest(self.store(year))

    def state(self) -> tuple:
        """Everything a refused command must leave as it was: the folder, and the server's schemas and rows."""
        listing = {p.name: p.stat().st_mtime_ns for p in self.folder.iterdir()}
        if self.url is None:
            return listing, None
        return listing, {y: store_digest(loc) for y, loc in server_years(self.url).items()}


def store_digest(where) -> str:
    with Store.open_readonly(where) as store:
        h = hashlib.sha256()
        for table in store.tables():
            cols = [c for c in store.columns(table) if c != "recorded_at"]
            names = ", ".join(f'"{c}"' for c in cols)
            h.update(repr((table, store.conn.execute(f'SELECT {names} FROM "{table}" ORDER BY {names}').fetchall()))
                     .encode())
        return h.hexdigest()


def server_years(url: str) -> dict[int, str]:
    """{year: the store's address} of every ThiDua store in the database."""
    from thidua.store import postgres
    from thidua.store.locator import locate
    conn = postgres.connect(locate(url))
    try:
        found = postgres.survey(conn)
    finally:
        conn.close()
    out = {y: f"{url}?schema={found.schemas[y]}" for y in found.stored}
    if found.default_store:
        out[found.default_year] = f"{url}?schema={found.default}"
    return out


@pytest.fixture(scope="module", params=ENGINES)
def office(request, tmp_path_factory):
    """The office's folder at the end of 2019, rolled over to 2020 with `thidua new-year 2020`: on SQLite the
    stores are files beside the workbooks; on PostgreSQL one database named by `[store] url` in thidua.toml."""
    folder = tmp_path_factory.mktemp("office")
    url = None
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        url = server.create_database()
        request.addfinalizer(lambda: server.drop_database(url.rsplit("/", 1)[1]))
        (folder / "thidua.toml").write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    stores = Stores(request.param, folder, url)
    plan = load_plan()
    units = [u for u in load_units() if u.code in CODES]
    (folder / "ThiDua2019.xlsm").write_bytes(build_bytes(read_toml_tables(), register_rows()))
    key = folder / "thidua.key"
    key.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    store = new_store(url or folder / "thidua-2019.sqlite", plan, units)
    name = {u.code: u.name for u in units}
    add_submission(store, A, "TK", "2019-12-15T09:00:00", scores=scores(plan, 1.0), proposals=[
        {"subject": "Tập thể", "name": name[A], "form": "Giấy khen của Công đoàn Viên chức tỉnh", "ky_luat": "Không",
         "summary": "Hoàn thành xuất sắc nhiệm vụ", "state": "awarded", "decided_form": "GK"},
        {"subject": "Cá nhân", "name": "Nguyễn Thị Ánh", "form": "Giấy khen của Công đoàn Viên chức tỉnh",
         "ky_luat": "Không", "summary": "Hoàn thành xuất sắc nhiệm vụ", "state": "awarded", "decided_form": "GK"}])
    add_submission(store, B, "TK", "2019-12-16T10:00:00", scores=scores(plan, 0.75))
    add_submission(store, C, "TK", "2019-12-16T11:00:00", scores=scores(plan, 0.9))
    store.set_meta("key_fingerprint", fingerprint(TEST_KEY))
    store.close()
    before = stores.digest(2019)
    done = thidua("new-year", "2020", cwd=folder)
    return SimpleNamespace(folder=folder, plan=plan, units=units, key=key, names=name, rolled=done,
                           store_2019_sha=before, stores=stores, engine=request.param)


@pytest.fixture(scope="module")
def year2020(office):
    """The 2020 year worked with the commands: Q1 and TK templates, the units' files (one 2019 file put into the
    2020 inbox by mistake), consolidated into the 2020 store."""
    folder = office.folder
    book = folder / "ThiDua2020.xlsm"
    plan = load_plan(book)
    common = ("--workbook", book, "--key", office.key)
    for rnd in ("Q1", "TK"):
        done = thidua("templates", "--round", rnd, "--out", folder / "bieu-mau-2020" / rnd, *common, cwd=folder)
        assert done.returncode == 0, done.stderr
    inbox = folder / "hop-thu-2020"
    inbox.mkdir()
    units = {u.code: u for u in load_units(book)}
    for path in sorted((folder / "bieu-mau-2020" / "Q1").glob("*.xlsx")):
        unit = units[path.name.split("_")[1]]
        values = realistic_values(plan, "Q1", unit, random.Random(unit.code), report_date=dt.date(2020, 4, 6))
        (inbox / path.name).write_bytes(fill_workbook(path.read_bytes(), S.template_spec(plan, "Q1"), values))
        os.utime(inbox / path.name, (dt.datetime(2020, 4, 8, 9).timestamp(),) * 2)
    # last year's Q1 report of CD004, sent again in 2020: made from a 2019 template, signed with the same key
    plan2019 = load_plan(folder / "ThiDua2019.xlsm")
    old = write_templates(plan2019, "Q1", [units["CD004"]], folder / "cu", TEST_KEY)[0]
    values = realistic_values(plan2019, "Q1", units["CD004"], random.Random(4), report_date=dt.date(2019, 4, 6))
    stale = inbox / "BC quy 1 CD004 (gui lai).xlsx"
    stale.write_bytes(fill_workbook(old.read_bytes(), S.template_spec(plan2019, "Q1"), values))
    os.utime(stale, (dt.datetime(2020, 4, 9, 9).timestamp(),) * 2)
    # the tổng kết 2020 of A and B: top scores; each proposes itself
    spec = S.template_spec(plan, "TK")
    proposals = {A: {"prop.subject": "Tập thể", "prop.name": units[A].name, "prop.ky_luat": "Không",
                     "prop.form": "Bằng khen của Liên đoàn Lao động tỉnh", "prop.summary": "Hai năm liền vững mạnh"},
                 B: {"prop.subject": "Tập thể", "prop.name": units[B].name, "prop.ky_luat": "Không",
                     "prop.form": "Bằng khen của Tổng Liên đoàn Lao động Việt Nam", "prop.nam_htxs": 3,
                     "prop.summary": "Ba năm liền hoàn thành xuất sắc"}}
    for code in (A, B):
        template = next((folder / "bieu-mau-2020" / "TK").glob(f"TK_{code}_*.xlsx"))
        values = realistic_values(plan, "TK", units[code], random.Random(code), report_date=dt.date(2020, 12, 10))
        values = {a: v for a, v in values.items() if a.sheet != "proposals"}
        values.update({Addr("selfscore", f"score.{c}"): v for c, v in scores(plan, 1.0).items()})
        values.update({Addr("proposals", k, 0): v for k, v in proposals[code].items()})
        (inbox / f"tong ket {code}.xlsx").write_bytes(fill_workbook(template.read_bytes(), spec, values))
        os.utime(inbox / f"tong ket {code}.xlsx", (dt.datetime(2020, 12, 12, 9).timestamp(),) * 2)
    done = thidua("consolidate", inbox, "--json", *common, cwd=folder)
    assert done.returncode == 0, done.stderr
    return SimpleNamespace(book=book, plan=plan, common=common, inbox=inbox, report=json.loads(done.stdout),
                           stale=stale)


# ---------------------------------------------------------------- the roll-over
def test_new_year_writes_the_next_year_beside_the_previous_one(office):
    done = office.rolled
    assert done.returncode == 0, done.stderr
    folder, stores = office.folder, office.stores
    assert (folder / "ThiDua2020.xlsm").is_file()
    if office.engine == "sqlite":
        assert (folder / "thidua-2020.sqlite").is_file()
    else:                     # the new year is a schema of the same database, nothing more on the office's PC
        assert not list(folder.glob("*.sqlite")) and not list(folder.glob(".thidua-*"))
        assert sorted(server_years(stores.url)) == [2019, 2020]
        assert f"kho dữ liệu năm 2020 trên máy chủ 127.0.0.1:" in done.stdout and stores.store(2020) in done.stdout
    assert stores.digest(2019) == office.store_2019_sha                          # the previous year untouched
    # … and still worked with its own workbook and the same setting (on a server: the default schema, as #23 made it)
    done2019 = thidua("history", "--unit", A, "--years", "--json", "--workbook", folder / "ThiDua2019.xlsm", cwd=folder)
    assert done2019.returncode == 0, done2019.stderr
    assert [(y["year"], y["level_name"]) for y in json.loads(done2019.stdout)] == [(2019, "Vững mạnh")]
    plan = load_plan(folder / "ThiDua2020.xlsm")
    assert plan.year == 2020 and plan.template_version == "2020.1" and plan.rule_set().code == "CDVC2020"
    q4 = plan.round("Q4")
    assert (q4.start, q4.end, q4.due) == (dt.date(2020, 10, 1), dt.date(2020, 12, 31), dt.date(2021, 1, 10))
    assert plan.round("Q1").name == "Báo cáo quý I/2020" and plan.meta["plan_date"] == dt.date(2020, 1, 18)
    assert plan.period("1").anniversaries.startswith("90 năm thành lập Đảng Cộng sản Việt Nam (03/02/1930-03/02/2020)")
    # dated rule data is carried as it is, never moved to the new year
    assert plan.base_salaries == load_plan().base_salaries and plan.legal_bases == load_plan().legal_bases
    # the register and the key
    assert [u.code for u in load_units(folder / "ThiDua2020.xlsm")] == list(CODES)
    with Store.open_readonly(stores.store(2020)) as store:
        assert store.meta("year") == "2020" and store.meta("key_fingerprint") == fingerprint(TEST_KEY)
        years = {r["year"]: r for r in store.rows("SELECT year, location FROM years")}
        assert years[2019]["location"] == stores.recorded(2019) and years[2020]["location"] is None
        assert {r["year"] for r in store.rows("SELECT DISTINCT year FROM rounds")} == {2020}
    # what was carried and what the office must check: printed and on the new workbook's sheet
    out = done.stdout
    assert "Đã tạo bộ làm việc năm 2020 (từ năm 2019)" in out and "Văn phòng cần kiểm tra" in out
    assert "29/02/2020" in out                                   # the end of February has a 29th in 2020
    assert "(2018-2019)" in out                                  # a span of years the office rewrites itself
    assert "QĐ 1689/QĐ-TLĐ" in out and "1.490.000 đồng" in out   # the rules in force in 2020, from the dated data
    sheet = openpyxl.load_workbook(folder / "ThiDua2020.xlsm")["Năm mới"]
    texts = [row for row in sheet.iter_rows(values_only=True) if isinstance(row[0], int)]
    assert texts and any(r[2] == "Cần kiểm tra" and "ngày kỷ niệm" in r[3] for r in texts)
    assert len(texts) == len([line for line in out.splitlines() if line.startswith("  ")])


def test_templates_of_the_new_year_carry_its_dates(office, year2020):
    template = sorted((office.folder / "bieu-mau-2020" / "Q1").glob("*.xlsx"))[0]
    wb = openpyxl.load_workbook(template)
    texts = " ".join(str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str))
    assert "Báo cáo quý I/2020" in texts and "10/04/2020" in texts and "01/01/2020 đến 31/03/2020" in texts
    assert "/2019" not in texts and "năm 2019" not in texts
    info = wb["Thông tin đơn vị"]
    bounds = [(dv.formula1, dv.formula2) for dv in info.data_validations.dataValidation if dv.type == "date"]
    first_2020 = str((dt.date(2020, 1, 1) - dt.date(1899, 12, 30)).days)
    assert bounds and all(lo == first_2020 for lo, _ in bounds)


def test_q1_2020_consolidates_into_the_2020_store_and_last_years_file_is_refused(office, year2020):
    report = {Path(f["file"]).name: f for f in year2020.report["files"]}
    stale = report[year2020.stale.name]
    assert stale["status"] == "rejected"
    with Store.open_readonly(office.stores.store(2020)) as store:
        rows = store.rows("SELECT s.unit, s.round, s.status, s.template_version FROM submissions s ORDER BY s.id")
        issues = store.rows("SELECT i.code, i.message FROM issues i JOIN submissions s ON s.id = i.submission_id "
                            "WHERE s.file_name = ?", (year2020.stale.name,))
    accepted = [r for r in rows if r["status"] == "accepted"]
    assert {(r["unit"], r["round"]) for r in accepted} >= {(c, "Q1") for c in CODES} | {(A, "TK"), (B, "TK")}
    assert all(r["template_version"] == "2020.1" for r in accepted)
    x020 = [i for i in issues if i["code"] == "X020"]
    assert x020 and "năm 2019" in x020[0]["message"] and "năm 2020" in x020[0]["message"]
    assert office.stores.digest(2019) == office.store_2019_sha      # nothing of 2020 in 2019's store


def test_a_store_of_another_year_is_refused_before_anything_is_written(office, year2020):
    stores = office.stores
    before = stores.digest(2019)
    done = thidua("consolidate", year2020.inbox, "--db", stores.store(2019), *year2020.common, cwd=office.folder)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"Lỗi: Kho dữ liệu {stores.name(2019)} là của năm 2019"), done.stderr
    assert "Thử:" in done.stderr and "Traceback" not in done.stderr
    assert stores.digest(2019) == before


# ---------------------------------------------------------------- award conditions judged by the years behind them
def _proposals(office, year2020) -> dict[str, dict]:
    done = thidua("proposals", "list", "--json", *year2020.common, cwd=office.folder)
    assert done.returncode == 0, done.stderr
    return {p["unit"]: p for p in json.loads(done.stdout) if p["subject"] == "collective"}


def test_two_years_of_vung_manh_make_a_unit_eligible_for_a_two_year_form_without_typing_it(office, year2020):
    a = _proposals(office, year2020)[A]
    assert a["form"] == "BKLDLD" and a["eligible"], a
    said = [w for w in a["warnings"] if w.startswith("[X023]")]
    assert said and "2 năm liên tục" in said[0] and "2020" in said[0]


def test_a_typed_three_years_against_a_history_of_one_is_flagged_with_both_values(office, year2020):
    b = _proposals(office, year2020)[B]
    flagged = [w for w in b["warnings"] if w.startswith("[X021]")]
    assert flagged, b
    assert "ghi 3" in flagged[0] and "cho 1 (" in flagged[0] and "năm 2019: Khá" in flagged[0]
    assert not b["eligible"] and any("3 năm liên tục" in p for p in b["problems"])      # judged on the history: 1


def test_history_answers_for_a_unit_year_by_year(office, year2020):
    done = thidua("history", "--unit", A, "--years", "--json", *year2020.common, cwd=office.folder)
    assert done.returncode == 0, done.stderr
    years = {r["year"]: r for r in json.loads(done.stdout)}
    assert years[2019]["level_name"] == "Vững mạnh" and years[2019]["total"] == 100
    assert years[2019]["awards"] == ["GK"] and years[2019]["people_awarded"] == 1
    assert years[2020]["level_name"] == "Vững mạnh"
    text = thidua("history", "--unit", B, "--years", *year2020.common, cwd=office.folder).stdout
    kha = sum(scores(office.plan, 0.75).values())
    assert f"2019: Khá ({kha:g} điểm)" in text and "2020: Vững mạnh (100 điểm)" in text


# ---------------------------------------------------------------- the tổng kết against last year, from the stores
def test_the_2020_tong_ket_compares_with_2019_from_the_stores(office, year2020):
    out = office.folder / "tong-ket-2020.xlsx"
    done = thidua("summary", "--period", "year", "--out", out, *year2020.common, cwd=office.folder)
    assert done.returncode == 0, done.stderr
    wb = openpyxl.load_workbook(out)
    rows = list(wb["6 So sánh năm trước"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "STT")
    assert header[2:4] == ("Năm 2019", "Năm 2020")
    line = {r[1]: r for r in rows if isinstance(r[0], int)}
    assert line["Số CĐCS xếp loại Vững mạnh"][2:5] == (2, 2, 0)       # 2019: A, C; 2020: A, B
    assert line["Số CĐCS xếp loại Khá"][2:4] == (1, 0)
    assert line["Số đề nghị được khen thưởng"][2] == 2
    per_unit = {r[1]: r for r in wb["6b So sánh đơn vị"].iter_rows(values_only=True) if isinstance(r[0], int)}
    assert per_unit[B][3:7] == ("Khá", "Vững mạnh", sum(scores(office.plan, 0.75).values()), 100)
    assert per_unit[C][3] == "Vững mạnh" and per_unit[C][4] == "Chưa báo cáo"
    history = {r[1]: r for r in wb["7 Lịch sử đơn vị"].iter_rows(values_only=True) if isinstance(r[0], int)}
    assert history[A][3:5] == ("Vững mạnh (100)", "Vững mạnh (100)") and "2019: được khen: GK" in history[A][5]


# ---------------------------------------------------------------- bad input: each a Lỗi/Thử before anything is written
def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def test_a_year_that_already_has_a_working_set_is_refused(office, year2020):
    before = office.stores.state()
    done = thidua("new-year", "2020", cwd=office.folder)
    assert done.returncode == 2 and done.stderr.startswith("Lỗi: Năm 2020 đã có bộ làm việc") and "Thử:" in done.stderr
    assert office.stores.state() == before


def test_a_source_year_that_has_none_is_refused(office):
    before = office.stores.state()
    done = thidua("new-year", "2023", cwd=office.folder)
    assert done.returncode == 2 and "Lỗi: Năm 2022 không có bộ làm việc" in done.stderr and "ThiDua2022.xlsm" in done.stderr
    assert office.stores.state() == before


def test_a_register_row_that_cannot_be_matched_is_refused_and_marked_units_keep_their_history(office, year2020,
                                                                                              tmp_path):
    import csv
    rows = register_rows()
    lost = [r for r in rows if r["code"] != "CD005"]
    new = tmp_path / "dv2021.csv"
    with new.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) + ["status", "successor"])
        writer.writeheader()
        writer.writerows(lost)
    before = office.stores.state()
    done = thidua("new-year", "2021", "--new-register", new, cwd=office.folder)
    assert done.returncode == 2 and "CD005" in done.stderr and "không khớp" in done.stderr.casefold()
    assert "Thử:" in done.stderr and office.stores.state() == before
    # the same register with CD005 closed, CD006 merged into CD001 and CD004 given a new code
    marked = [dict(r) for r in rows]
    for r in marked:
        r.update({"CD005": {"status": "Giải thể"}, "CD006": {"status": "Sáp nhập", "successor": A},
                  "CD004": {"status": "Đổi tên, đổi mã", "successor": "CD104"}}.get(r["code"], {}))
    renamed = dict(next(r for r in rows if r["code"] == "CD004"), code="CD104", name="CĐCS Trường mới CD104")
    with new.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) + ["status", "successor"])
        writer.writeheader()
        writer.writerows(marked + [renamed])
    done = thidua("new-year", "2021", "--new-register", new, cwd=office.folder)
    assert done.returncode == 0, done.stderr
    book = office.folder / "ThiDua2021.xlsm"
    active = [u.code for u in load_units(book) if u.active]
    assert active == ["CD001", "CD002", "CD003", "CD104"]
    assert {u.code: u.status for u in load_units(book) if not u.active} == {"CD004": "renamed", "CD005": "closed",
                                                                             "CD006": "merged"}
    text = thidua("history", "--unit", "CD104", "--years", "--workbook", book, cwd=office.folder).stdout
    assert "mã năm đó: CD004" in text and "2020:" in text
    # this year's jobs count only the units that report; a file of a marked unit says why it is not counted
    from thidua.intake.validate import validate_file
    from thidua.store.tracking import status_rows
    from thidua.year.workset import WorkingSet
    ws = WorkingSet.load(workbook=book, key_file=office.key)         # the 2021 store the roll-over made
    assert [r["unit"] for r in status_rows(ws, "Q1")] == ["CD001", "CD002", "CD003", "CD104"]
    gone = ws.register_map["CD006"]
    path = write_templates(ws.plan, "Q1", [gone], tmp_path / "q1", TEST_KEY)[0]
    result = validate_file(path, ws.plan, TEST_KEY, ws.register_map)
    meta = [i for i in result.issues if i.code.startswith("M")]          # the blank template's V001s aside
    assert [i.code for i in meta] == ["M013"] and meta[0].severity == "error" and result.status == "errors"
    assert "«sáp nhập»" in meta[0].message and "đơn vị kế tục CD001" in meta[0].message


def _book_of_year(folder: Path, year: int, offices_end: dt.date | None = None, server=None, store: bool = True) -> Path:
    """A year's workbook and its store: a file beside it, or (`server`: a URL, or a locator with a password file)
    the database that `thidua.toml` beside the workbook names (`store=False`: the workbook alone)."""
    plan = plan_of_year(load_plan(), year)
    tables = dict(plan.tables)
    if offices_end:          # the office's last row ends on that day
        tables["offices"] = [dict(o, valid_to=o.get("valid_to") or offices_end) for o in tables["offices"]]
    book = folder / f"ThiDua{year}.xlsm"
    book.write_bytes(build_bytes(tables, register_rows(("CD001", "CD002"))))
    if server is not None:
        from thidua.store.locator import locate
        where = locate(server)
        (folder / "thidua.toml").write_text(f'[store]\nurl = "{where.url}"\n' + (
            f'password_file = "{where.password_file}"\n' if where.password_file else ""), encoding="utf-8")
    if store:
        new_store(server or folder / f"thidua-{year}.sqlite", load_plan(book), load_units(book)).close()
    return book


def test_a_rule_table_with_no_row_for_the_new_year_is_refused(tmp_path):
    _book_of_year(tmp_path, 2026, offices_end=dt.date(2026, 12, 31))
    before = _listing(tmp_path)
    done = thidua("new-year", "2027", cwd=tmp_path)
    assert done.returncode == 2 and "Lỗi: Dữ liệu quy định theo ngày không có dòng cho năm 2027" in done.stderr
    assert "«Cơ quan ban hành»" in done.stderr and "01/01/2027" in done.stderr and "Thử:" in done.stderr
    assert _listing(tmp_path) == before


def test_a_roll_over_to_2024_uses_the_2022_law_and_the_2024_base_salary(tmp_path):
    _book_of_year(tmp_path, 2023)
    done = thidua("new-year", "2024", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Luật Thi đua, khen thưởng số 06/2022/QH15" in done.stdout and "NĐ 98/2023/NĐ-CP" in done.stdout
    assert "2.340.000 đồng (từ 01/07/2024)" in done.stdout and "GK cá nhân 710.000 đồng" in done.stdout
    plan = load_plan(tmp_path / "ThiDua2024.xlsm")
    force = plan.in_force(plan.reference_date)
    assert plan.reference_date == dt.date(2024, 12, 31)
    assert force.basis("state_law").code == "LTDKT2022" and force.basis("state_decree").code == "ND98"
    assert force.base_salary.amount == 2340000 and force.amount("GK", "individual") == 710000


def test_a_2026_plan_prints_the_names_in_force_in_2026(tmp_path):
    _book_of_year(tmp_path, 2025)
    done = thidua("new-year", "2026", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Công đoàn Viên chức thành phố Đà Nẵng, Đà Nẵng" in done.stdout and "chưa được xác minh" in done.stdout
    out = tmp_path / "tk2026.xlsx"
    done = thidua("summary", "--period", "year", "--out", out, "--workbook", tmp_path / "ThiDua2026.xlsm", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = openpyxl.load_workbook(out).worksheets[0]
    texts = [c for row in first.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "LIÊN ĐOÀN LAO ĐỘNG THÀNH PHỐ ĐÀ NẴNG" in texts and any(t.startswith("Đà Nẵng, ngày") for t in texts)
    assert not any("QUẢNG NAM" in t or t.startswith("Quảng Nam, ngày") for t in texts)


# ---------------------------------------------------------------- on a server: each year a schema of one database
def test_on_a_server_a_year_that_has_a_store_there_is_refused_wherever_its_workbook_is(pg_server, pg_url, tmp_path):
    _book_of_year(tmp_path, 2019, server=pg_url)
    assert thidua("new-year", "2020", cwd=tmp_path).returncode == 0
    other = tmp_path / "may-khac"                     # another PC's folder: the workbook is not there, the store is
    (other / "sub").mkdir(parents=True)
    stores = Stores("postgresql", tmp_path, pg_url)
    before = stores.state()
    done = thidua("new-year", "2020", "--workbook", tmp_path / "ThiDua2019.xlsm", "--out", other / "sub", cwd=other)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Lỗi: Năm 2020 đã có kho dữ liệu trên máy chủ 127.0.0.1:") and "Thử:" in done.stderr
    assert f"{pg_url}?schema=thidua_2020" in done.stderr
    assert stores.state() == before and not list((other / "sub").iterdir())


def test_on_a_server_a_source_year_without_a_store_is_refused_and_never_made_silently(pg_server, pg_url, tmp_path):
    """A 2020 workbook pointing to a database that holds 2019 only: the roll-over to 2021 and the 2020 jobs say the
    year has no store there (naming the server and the years it holds) instead of starting an empty 2020."""
    _book_of_year(tmp_path, 2019, server=pg_url)
    (tmp_path / "nam-2020").mkdir()
    book = _book_of_year(tmp_path / "nam-2020", 2020, server=pg_url, store=False)   # a 2020 workbook, no roll-over
    stores = Stores("postgresql", tmp_path, pg_url)
    before = stores.state()
    done = thidua("new-year", "2021", "--workbook", book, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Lỗi: Năm 2020 chưa có kho dữ liệu trên máy chủ 127.0.0.1:") and "Thử:" in done.stderr
    key = tmp_path / "nam-2020" / "thidua.key"
    key.write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    before = stores.state()
    for job in (("status", "--json"), ("consolidate", tmp_path / "nam-2020", "--key", key)):
        done = thidua(*job, "--workbook", book, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "chưa có kho dữ liệu năm 2020 (có kho các năm 2019)" in done.stderr and "new-year 2020" in done.stderr
    assert stores.state() == before and not (tmp_path / "nam-2020" / "ThiDua2021.xlsm").exists()


def test_on_a_server_a_login_that_may_not_make_the_years_schema_is_told_before_anything_is_written(pg_server,
                                                                                                   tmp_path):
    """The office's login may write its own store but not create schemas: the roll-over says so, naming the server
    and the grant to ask for, and writes nothing; once the administrator made the year's schema, it goes ahead."""
    import stat
    from pgserver import PASSWORD, PASSWORD_USER
    from thidua.store.locator import locate
    name = pg_server.create_database().rsplit("/", 1)[1]
    try:
        pg_server.admin(f"GRANT CONNECT ON DATABASE {name} TO {PASSWORD_USER}")
        pg_server.admin(f"GRANT USAGE, CREATE ON SCHEMA public TO {PASSWORD_USER}", db=name)
        secret = tmp_path / "mat-khau.txt"
        secret.write_text(PASSWORD + "\n", encoding="utf-8")
        secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
        url = pg_server.url(name, PASSWORD_USER)
        _book_of_year(tmp_path, 2019, server=locate(url, str(secret)))
        stores = Stores("postgresql", tmp_path, pg_server.url(name))
        before = stores.state()
        done = thidua("new-year", "2020", cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"Lỗi: Tài khoản {PASSWORD_USER} không được tạo lược đồ (schema) thidua_2020 "
                                      f"trong cơ sở dữ liệu «{name}» trên máy chủ 127.0.0.1:{pg_server.port}")
        assert f'GRANT CREATE ON DATABASE "{name}" TO {PASSWORD_USER}' in done.stderr and "Chưa ghi gì" in done.stderr
        assert stores.state() == before and sorted(server_years(stores.url)) == [2019]
        pg_server.admin(f"CREATE SCHEMA thidua_2020 AUTHORIZATION {PASSWORD_USER}", db=name)     # as the Thử says
        done = thidua("new-year", "2020", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert sorted(server_years(stores.url)) == [2019, 2020]
    finally:
        pg_server.drop_database(name)


def test_on_a_server_a_roll_over_cut_off_by_a_lost_connection_leaves_nothing_half_made(pg_server, pg_url, tmp_path,
                                                                                       monkeypatch):
    from thidua.errors import ThiDuaError
    from thidua.store import history as stored_history
    from thidua.year.rollover import new_year, source_working_set
    _book_of_year(tmp_path, 2019, server=pg_url)
    stores = Stores("postgresql", tmp_path, pg_url)
    before = stores.state()
    copy_meta = stored_history.copy_meta

    def cut_off(source, target, names):          # the server drops the new year's connection mid-transaction
        pg_server.admin(f"SELECT pg_terminate_backend({target.conn.raw.info.backend_pid})")
        copy_meta(source, target, names)

    monkeypatch.setattr(stored_history, "copy_meta", cut_off)
    ws = source_working_set(2020, folder=tmp_path)
    with pytest.raises(ThiDuaError) as err:
        new_year(ws, 2020, tmp_path)
    assert err.value.message.startswith("Mất kết nối tới máy chủ cơ sở dữ liệu 127.0.0.1:") and err.value.hint
    assert stores.state() == before                   # no schema, no workbook, no temporary folder left
    assert pg_server.admin("SELECT count(*) FROM pg_namespace WHERE nspname = 'thidua_2020'", db=pg_url.rsplit(
        "/", 1)[1]) == [(0,)]
    monkeypatch.setattr(stored_history, "copy_meta", copy_meta)
    done = new_year(ws, 2020, tmp_path)              # run again: made whole
    assert done.store.schema == "thidua_2020" and (tmp_path / "ThiDua2020.xlsm").is_file()


def test_on_a_server_a_run_in_one_year_never_waits_for_a_run_in_another(pg_server, pg_url, tmp_path):
    """The run lock (one consolidation, rejudge or fetch at a time) is per year's store: 2020's run goes ahead while
    2019's holds its lock; a second run of the same year waits and is refused."""
    from thidua.errors import ThiDuaError
    _book_of_year(tmp_path, 2019, server=pg_url)
    assert thidua("new-year", "2020", cwd=tmp_path).returncode == 0
    with Store.open(f"{pg_url}?schema=public") as y2019, Store.open(f"{pg_url}?schema=thidua_2020") as y2020, \
            Store.open(f"{pg_url}?schema=thidua_2020") as again:
        with y2019.run_lock(wait=0), y2020.run_lock(wait=0):
            with pytest.raises(ThiDuaError, match="Đang có một lần tổng hợp khác"):
                with again.run_lock(wait=0.2):
                    pass


# ---------------------------------------------------------------- a year's store copied elsewhere: one year, its history followed
def test_store_copy_copies_one_year_and_the_copy_still_reads_its_history(office, year2020, tmp_path, request):
    """The 2020 store copied to the other engine: what is copied is said (one year), the copy reads 2019 where it
    is, and the history through the copy is the history through the original."""
    stores = office.stores
    book = office.folder / "ThiDua2020.xlsm"
    if office.engine == "sqlite":
        target, source_args = store_at("postgresql", tmp_path, request), ("--from", stores.store(2020))
        earlier = str(office.folder / "thidua-2019.sqlite")
    else:
        target = str(tmp_path / "chep" / "thidua-2020.sqlite")
        several = thidua("store", "copy", "--from", stores.url, "--to", target, cwd=tmp_path)
        assert several.returncode == 2 and "có kho dữ liệu của nhiều năm" in several.stderr, several.stderr
        assert "--year" in several.stderr and not Path(target).exists()
        source_args, earlier = ("--from", stores.url, "--year", "2020"), stores.url
    done = thidua("store", "copy", *source_args, "--to", target, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Đã chép kho dữ liệu năm 2020" in done.stdout and "Chỉ chép kho của một năm" in done.stdout
    assert f"Lịch sử năm 2019: đọc từ {earlier}." in done.stdout
    original = thidua("history", "--unit", A, "--years", "--json", "--workbook", book, cwd=office.folder)
    copied = thidua("history", "--unit", A, "--years", "--json", "--workbook", book, "--db", target, cwd=office.folder)
    assert copied.returncode == 0 and original.returncode == 0, copied.stderr
    assert json.loads(copied.stdout) == json.loads(original.stdout)
    assert [y["year"] for y in json.loads(copied.stdout)][:2] == [2019, 2020]


def test_a_copied_year_that_cannot_reach_its_history_says_so_and_finds_it_once_copied_beside(pg_server, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    _book_of_year(a, 2019)
    assert thidua("new-year", "2020", cwd=a).returncode == 0
    moved = tmp_path / "cat-di" / "thidua-2019.sqlite"
    moved.parent.mkdir()
    (a / "thidua-2019.sqlite").rename(moved)
    done = thidua("store", "copy", "--from", a / "thidua-2020.sqlite", "--to", b / "thidua-2020.sqlite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Lịch sử năm 2019: kho mới không đọc được kho năm 2019 (không thấy {a / 'thidua-2019.sqlite'})" in done.stdout
    assert "Thử: chép cả kho năm 2019 sang cùng chỗ" in done.stdout
    # the earlier year copied beside it, then this year again: found beside, recorded relative to the folder
    assert thidua("store", "copy", "--from", moved, "--to", b / "thidua-2019.sqlite", cwd=tmp_path).returncode == 0
    done = thidua("store", "copy", "--from", a / "thidua-2020.sqlite", "--to", b / "thidua-2020.sqlite", "--force",
                  cwd=tmp_path)
    assert done.returncode == 0 and f"Lịch sử năm 2019: đọc từ {b / 'thidua-2019.sqlite'}." in done.stdout
    with Store.open_readonly(b / "thidua-2020.sqlite") as store:
        assert store.scalar("SELECT location FROM years WHERE year = 2019") == "thidua-2019.sqlite"
    # moving in, oldest first: both years into one database, the later one reading the earlier one there
    url = pg_server.create_database()
    try:
        for year in (2019, 2020):
            done = thidua("store", "copy", "--from", b / f"thidua-{year}.sqlite", "--to", url, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
        assert f"Lịch sử năm 2019: đọc từ {url}." in done.stdout
        assert sorted(server_years(url)) == [2019, 2020]
        with Store.open_readonly(f"{url}?schema=thidua_2020") as store:
            assert store.scalar("SELECT location FROM years WHERE year = 2019") == url
    finally:
        pg_server.drop_database(url.rsplit("/", 1)[1])


# ---------------------------------------------------------------- the pure parts
def test_a_years_store_is_named_by_one_url_and_a_schema_and_read_as_seen_from_the_store_that_records_it(tmp_path):
    from thidua.errors import ThiDuaError
    from thidua.store.locator import locate, recorded_as, seen_from
    where = locate("postgresql://vanphong@may-chu:5433/thidua?sslmode=require&schema=thidua_2020")
    assert (where.url, where.schema) == ("postgresql://vanphong@may-chu:5433/thidua?sslmode=require", "thidua_2020")
    assert locate(where.name) == where and where.database.name == where.url
    assert locate("postgresql://vanphong@may-chu/thidua").for_year(2021).year == 2021
    assert where.for_year(2021) == where                        # a schema named wins over the year asked for
    with pytest.raises(ThiDuaError, match="tên lược đồ"):
        locate("postgresql://u@h/db?schema=Năm 2020")
    # a year in the same database is read with this PC's login (its password file); another server's as recorded
    here = locate("postgresql://binh@may-chu:5433/thidua", password_file="/home/binh/mk.txt").for_year(2021)
    earlier = seen_from(here, "postgresql://an@may-chu:5433/thidua?schema=thidua_2019")
    assert (earlier.parts[0], earlier.schema, earlier.password_file, earlier.year) == (
        "binh", "thidua_2019", "/home/binh/mk.txt", None)
    assert seen_from(here, "postgresql://an@may-khac/cu").parts[:2] == ("an", "may-khac")
    # files: relative to the store that records them, so a folder of years moves whole
    book = locate(tmp_path / "nam" / "thidua-2020.sqlite")
    assert seen_from(book, "thidua-2019.sqlite").path == tmp_path / "nam" / "thidua-2019.sqlite"
    assert recorded_as(book, locate(tmp_path / "cu" / "thidua-2019.sqlite")) == "../cu/thidua-2019.sqlite"
    assert recorded_as(here, locate(tmp_path / "cu.sqlite")) == str(tmp_path / "cu.sqlite")
    assert recorded_as(book, earlier) == "postgresql://binh@may-chu:5433/thidua?schema=thidua_2019"


def test_29_february_is_clamped_and_said():
    assert shift_date(dt.date(2020, 2, 29), 1) == (dt.date(2021, 2, 28), "ngày 29/02/2020 không có trong năm 2021: "
                                                                           "đã ghi 28/02/2021")
    moved, note = shift_date(dt.date(2019, 2, 28), 1)
    assert moved == dt.date(2020, 2, 28) and "29/02/2020" in note
    assert shift_date(dt.date(2019, 4, 10), 1) == (dt.date(2020, 4, 10), None)


def test_names_of_the_year_are_renamed_but_legal_numbers_and_spans_are_not():
    assert rename_year("Báo cáo quý I/2019", 2019, 2020) == ("Báo cáo quý I/2020", False)
    assert rename_year("Sơ kết Đợt 1 (01/01 - 31/7/2019)", 2019, 2020) == ("Sơ kết Đợt 1 (01/01 - 31/7/2020)", False)
    assert rename_year("Hội thi lần thứ 8 (2018-2019)", 2019, 2020) == ("Hội thi lần thứ 8 (2018-2019)", True)
    assert rename_year("theo NĐ 38/2019/NĐ-CP", 2019, 2020) == ("theo NĐ 38/2019/NĐ-CP", True)
    assert rename_year("Chỉ thị 22/2012", 2019, 2020) == ("Chỉ thị 22/2012", False)
    assert roll_anniversaries("89 năm thành lập Đảng (03/02/1930-03/02/2019); Tháng Công nhân 1/5", 2019, 2021) == \
        "91 năm thành lập Đảng (03/02/1930-03/02/2021); Tháng Công nhân 1/5"


def test_an_older_version_of_this_years_template_is_m006_and_another_years_is_x020(plan, units, key):
    """The year a template was made for is the head of its version: 2019.0 is this year's older template (M006,
    fill the new one), 2018.1 last year's report (X020, never stored as this year's)."""
    from make_fixtures import _meta_edit
    from thidua.intake.validate import validate_bytes
    good = (Path(__file__).parent / "data" / "broken" / "valid_sk1.xlsx").read_bytes()
    codes = {}
    for version in ("2019.0", "2018.1"):
        data = _meta_edit(good, plan.template_version, version)
        codes[version] = {i.code for i in validate_bytes(data, "t.xlsx", plan, key, {u.code: u for u in units}).issues}
    assert "M006" in codes["2019.0"] and "X020" not in codes["2019.0"]
    assert "X020" in codes["2018.1"] and "M006" not in codes["2018.1"]


def test_previous_db_of_the_same_year_is_refused(office, year2020):
    out = office.folder / "tk-sai.xlsx"
    done = thidua("summary", "--period", "year", "--out", out, "--previous-db", office.stores.store(2020),
                  *year2020.common, cwd=office.folder)
    assert done.returncode == 2 and "là của năm 2020, không phải của một năm trước năm 2020" in done.stderr
    assert "Thử:" in done.stderr and not out.exists()


def test_a_folder_from_before_yearly_stores_keeps_its_store_for_the_year_it_holds(tmp_path, plan, units):
    from thidua.year.place import store_file
    new_store(tmp_path / "thidua.sqlite", plan, units[:2]).close()          # the Excel face's store until #20
    assert store_file(tmp_path, 2019) == tmp_path / "thidua.sqlite"
    assert store_file(tmp_path, 2020) == tmp_path / "thidua-2020.sqlite"
    (tmp_path / "thidua-2019.sqlite").write_bytes(b"")                      # a named store wins once it exists
    assert store_file(tmp_path, 2019) == tmp_path / "thidua-2019.sqlite"
