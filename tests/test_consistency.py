"""One figure, one value: on a simulated year, every figure shown in more than one place is equal everywhere.

Places: `thidua status --json`, the committee workbook of each round, the sơ kết and tổng kết workbooks, the
master workbook's result sheets written through the Excel face (xlwings remote engine, as in
test_workbook_xlwings.py) and the UDF THIDUA_DUNGHAN. Two cases are made on purpose with `thidua received`:
a unit whose on-time file was rejected and whose valid file came two days after the due day (late
everywhere, with a note), and a unit that answered «Có» to the launch question and «Không» later (launched,
and listed for the office to confirm). The whole year runs on each engine: a SQLite file beside the workbook, and a
PostgreSQL database named by `[store] url` in the thidua.toml beside it (the buttons and the UDF read it there).
"""
from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
import xlwings as xw

from conftest import ENGINES, TEST_KEY, store_at
from test_workbook_xlwings import run, status_of, table_of
from thidua import excel
from thidua.cli import main
from thidua.store.vocabulary import label
from thidua.year.workset import WorkingSet

ROUNDS = ("DK", "Q1", "Q2", "SK1", "Q3", "Q4", "TK")
N_UNITS = 40


def _sql(db, query, *args):
    from thidua.store.store import Store
    with Store.open(db, create=False) as store:
        return [tuple(r) for r in store.conn.execute(query, args).fetchall()]


@pytest.fixture(scope="module", params=ENGINES)
def year(tmp_path_factory, plan, request):
    """The office's folder: a master workbook of 40 units, its store filled from a simulated year, two receipt
    times set by the office, and every output written."""
    from types import SimpleNamespace

    from thidua.consolidate.run import consolidate
    from thidua.demo.simulate import YearRates, simulate_year
    from thidua.plan.units import read_csv_rows, units_from_rows
    from thidua.workbook.build import build_bytes
    mp = pytest.MonkeyPatch()
    mp.setenv("XLWINGS_LICENSE_KEY", "noncommercial")
    if not xw.__pro__:            # the remote engine (see test_workbook_xlwings.py)
        from xlwings.pro import _xlremote
        xw.engines.add(xw.Engine(impl=_xlremote.engine))
        mp.setattr(xw, "__pro__", True)
    folder = tmp_path_factory.mktemp("consistency")
    register = read_csv_rows()[:N_UNITS]
    units = units_from_rows(register)
    book = folder / "ThiDua2019.xlsm"
    book.write_bytes(build_bytes(register=register))
    (folder / excel.KEY_FILE).write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    rates = YearRates(missing=0.08, late=0.15, mistakes=0.2, corrected=0.8, copy=0.05, adhoc=0.0)
    simulate_year(plan, units, TEST_KEY, folder / "hop-thu", rng_seed=5, rounds=ROUNDS, rates=rates)
    db = store_at(request.param, folder, request, excel.store_file(folder, 2019).name)
    if request.param != "sqlite":            # the office's setting names the server; the buttons follow it
        (folder / "thidua.toml").write_text(f'[store]\nurl = "{db}"\n', encoding="utf-8")
    consolidate(WorkingSet(plan, units, db, secret=TEST_KEY), folder / "hop-thu")

    # Case 1: a unit's first file (with errors) came on the due day, its valid file two days later.
    due = plan.round("Q1").due
    history = _sql(db, "SELECT unit, sha256, status FROM submissions WHERE round='Q1' ORDER BY unit, received_at, id")
    by_unit: dict[str, list] = {}
    for unit, sha, status in history:
        by_unit.setdefault(unit, []).append((sha, status))
    late_unit = next(u for u, subs in sorted(by_unit.items()) if subs[0][1] == "rejected"
                     and any(s in ("accepted", "superseded") for _, s in subs))
    subs = by_unit[late_unit]
    bad, good = subs[0][0], next(sha for sha, s in subs if s in ("accepted", "superseded"))
    assert main(["received", bad, "--at", f"{due:%d/%m/%Y} 08:00", "--db", str(db)]) == 0
    assert main(["received", good[:10], "--at", f"{due + dt.timedelta(days=2):%d/%m/%Y} 09:15", "--db", str(db)]) == 0

    # Case 2: «Có» (with a date) in DK or Q1, «Không» in TK.
    answers: dict[str, dict[str, str]] = {}
    for unit, rnd, text in _sql(db, "SELECT s.unit, s.round, v.value_text FROM cell_values v JOIN submissions s "
                                    "ON s.id = v.submission_id WHERE s.status = 'accepted' "
                                    "AND v.field = 'ind.PD_PHATDONG'"):
        answers.setdefault(unit, {})[rnd] = text
    flip = sorted(u for u, a in answers.items() if "Có" in (a.get("DK"), a.get("Q1")) and a.get("TK") == "Không")
    assert flip, "the simulated year has no unit answering «Có» then «Không» (change the seed)"

    reports = folder / "bao-cao"
    from thidua.consolidate.run import write_workbooks
    committee = dict(zip(ROUNDS, write_workbooks(WorkingSet(plan, units, db), list(ROUNDS), reports)))
    for period, name in (("1", "so-ket.xlsx"), ("year", "tong-ket.xlsx")):
        assert main(["summary", "--workbook", str(book), "--db", str(db), "--period", period,
                     "--out", str(reports / name)]) == 0
    yield SimpleNamespace(folder=folder, book=book, db=db, units=units, late_unit=late_unit, flip=flip,
                          answers=answers, committee=committee, so_ket=reports / "so-ket.xlsx",
                          tong_ket=reports / "tong-ket.xlsx")
    mp.undo()


@pytest.fixture(scope="module")
def status(year, plan):
    """`thidua status --json` of the whole year: {(unit, round): row}."""
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", "--workbook", str(year.book), "--db", str(year.db), "--json"]) == 0
    return {(r["unit"], r["round"]): r for r in json.loads(out.getvalue())}


def _table(ws, first: str = "STT") -> tuple[list, list[tuple]]:
    """(header, body rows) of the first table of a sheet: the row starting with `first`, then numbered rows."""
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == first)
    return list(rows[at]), [r for r in rows[at + 1:] if isinstance(r[0], int)]


def _texts(ws) -> list[str]:
    return [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]


def test_the_two_cases_are_in_the_store(year, status):
    case = status[(year.late_unit, "Q1")]
    assert case["status"] == "late" and case["days_late"] == 2
    assert case["received_source"] == "office"
    assert "Đã gửi đúng hạn lúc" in case["note"] and "nhưng tệp có lỗi" in case["note"]
    for unit in year.flip:
        flagged = [rc for (u, rc), r in status.items() if u == unit and r["launch_to_confirm"]]
        assert len(flagged) == 1, unit
    dated = [r for r in status.values() if r["first_valid_source"] == "file"]      # only the file's date is known
    assert dated and all("theo ngày lưu tệp" in r["note"] for r in dated)


def test_lateness_is_the_same_in_status_committee_workbooks_and_the_excel_face(year, plan, status):
    for rc in ROUNDS:
        rows = {u.code: status[(u.code, rc)] for u in year.units}
        ws = openpyxl.load_workbook(year.committee[rc], read_only=True)["Theo dõi nộp"]
        header, body = _table(ws)
        col, note = header.index("Tình trạng"), header.index("Ghi chú")
        shown = {r[1]: (r[col], r[note] or "") for r in body}
        assert {u: s for u, (s, _) in shown.items()} == {u: label(r["status"]) for u, r in rows.items()}, rc
        assert {u: n for u, (_, n) in shown.items()} == {u: r["note"] for u, r in rows.items()}, rc
        actions, data = run(year.folder, "track_and_remind", ThiDua_Ky=rc)
        table = table_of(actions, data, "tracking")
        head = table[0]
        sheet = {r[0]: r for r in table[1:]}
        assert {u: r[head.index("Tình trạng")] for u, r in sheet.items()} == \
            {u: label(r["status"]) for u, r in rows.items()}, rc
        assert {u: (r[head.index("Số ngày trễ")] or None) for u, r in sheet.items()} == \
            {u: (r["days_late"] or None) for u, r in rows.items()}, rc
        n_ok = sum(r["status"] == "ok" for r in rows.values())
        assert status_of(actions, data).startswith(f"Kỳ {rc}: {n_ok} đơn vị đã nộp đúng hạn")
        caller = type("Caller", (), {"sheet": type("S", (), {"book": type("B", (), {"fullname": str(year.book)})})})
        assert excel.THIDUA_DUNGHAN(rc, caller) == pytest.approx(n_ok / len(year.units)), rc
    late = status[(year.late_unit, "Q1")]
    ws = openpyxl.load_workbook(year.committee["Q1"], read_only=True)["Theo dõi nộp"]
    assert any(year.late_unit in r and "Trễ hạn" in r for r in ws.iter_rows(values_only=True))
    assert late["note"] in _texts(ws)


@pytest.mark.parametrize("which, rounds", [("so_ket", ROUNDS[:4]), ("tong_ket", ROUNDS)])
def test_reporting_discipline_of_the_summaries_equals_status(year, plan, status, which, rounds):
    wb = openpyxl.load_workbook(getattr(year, which), read_only=True)
    _, body = _table(wb["5 Báo cáo"])
    assert [r[1] for r in body] == [plan.round(rc).name for rc in rounds]
    for r, rc in zip(body, rounds):
        got = [status[(u.code, rc)]["status"] for u in year.units]
        # one label per status: a unit whose only files had errors is «Có lỗi» here as in status, never «Chưa nộp»
        assert r[4:8] == (got.count("ok"), got.count("late"), got.count("errors"), got.count("missing")), rc
    header, body = _table(wb["5b Báo cáo theo đơn vị"])
    sources = {status[(u.code, rc)]["first_valid_source"] for u in year.units for rc in rounds} - {None}
    assert {"file", "office"} <= sources               # mixed: each time known only from the file's date is marked
    for r in body:
        for rc in rounds:
            row = status[(r[1], rc)]
            want = label(row["status"]) + (f" {row['days_late']} ngày" if row["status"] == "late" else "")
            dated = row["first_valid_source"] == "file"
            assert r[header.index(rc)] == want + ("*" if dated else ""), (r[1], rc)
    assert status[(year.late_unit, "Q1")]["note"] in " ".join(_texts(wb["5b Báo cáo theo đơn vị"]))


@pytest.mark.parametrize("which, rounds", [("so_ket", ROUNDS[:4]), ("tong_ket", ROUNDS)])
def test_launch_is_counted_once_and_the_later_no_is_flagged(year, status, which, rounds):
    wb = openpyxl.load_workbook(getattr(year, which), read_only=True)
    launched = {u.code for u in year.units if "Có" in [year.answers.get(u.code, {}).get(rc) for rc in rounds]}
    texts = " ".join(_texts(wb["1 Phát động"]))
    assert f"{len(launched)}/{len(year.units)} CĐCS" in texts
    _, body = _table(wb["1b Chưa phát động"])
    assert {r[1] for r in body} == {u.code for u in year.units} - launched
    if which == "tong_ket":
        _, body = _table(wb["1c Cần xác nhận"])
        listed = {r[1]: r[5] for r in body}
        assert set(year.flip) <= set(listed) and set(listed) <= launched
        for unit in year.flip:                   # the round of the «Không» is the one status flags
            assert listed[unit] == next(rc for (u, rc), r in status.items() if u == unit and r["launch_to_confirm"])
        assert f"{len(listed)} CĐCS trả lời «Có» rồi «Không»" in texts


def test_indicator_totals_of_the_excel_face_equal_the_tong_ket(year, plan):
    actions, data = run(year.folder, "year_summary", ThiDua_Dot="year")
    table = table_of(actions, data, "summary")
    face = {r[0]: r[3] for r in table[1:]}
    wb = openpyxl.load_workbook(year.tong_ket, read_only=True)
    rows = list(wb["2 Nội dung"].iter_rows(values_only=True))
    header = next(r for r in rows if r[0] == "STT")
    by_label = {r[1]: r[header.index("Toàn tỉnh")] for r in rows if isinstance(r[0], int)}
    compared = 0
    for ind in plan.indicators:
        if ind.type in ("int", "money") and ind.label in by_label:
            assert face[ind.code] == pytest.approx(by_label[ind.label]), ind.code
            compared += 1
    assert compared >= 10


def test_received_names_a_file_once_and_keeps_the_stronger_source(year, capsys):
    from thidua.store.store import Store
    from thidua.store.submissions import set_receipt
    assert main(["received", "khong-co-tep-nay.xlsx", "--at", "15/04/2019 08:30", "--db", str(year.db)]) == 2
    assert "Lỗi: Không có tệp nào đã nhận khớp" in capsys.readouterr().err
    sha, when = _sql(year.db, "SELECT sha256, received_at FROM submissions WHERE unit = ? AND round = 'Q1' "
                              "AND received_source = 'office' ORDER BY received_at DESC", year.late_unit)[0]
    assert main(["received", sha, "--at", "ngày mai", "--db", str(year.db)]) == 2
    with Store.using(year.db) as store:           # the mailbox's time does not replace the office's
        assert set_receipt(store, sha, "2019-04-20T10:00:00", "mail").received_at == when
