"""The store on a real PostgreSQL server beside SQLite: one setting chooses the engine; the same schema from the same
named migrations; the archive in the database; a store copied either way gives the same outputs; backups restore
across engines; several staff at once (real processes) give what running one after another gives; the server's
failures (down, wrong URL, refused password, another application's database, gone mid-run) are said in Vietnamese
and leave the store as it was."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import ENGINES, TEST_KEY, store_at
from pgserver import PASSWORD, PASSWORD_USER, PgServer
from thidua.errors import ThiDuaError
from thidua.store.locator import StoreSettings, choose, locate, settings_from
from thidua.store.store import Store
from thidua.year.workset import WorkingSet

ROUNDS = ("DK", "Q1", "Q2", "SK1", "TK")


# ---------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def office(tmp_path_factory, plan, units):
    """A simulated year of 30 units (proposals included), by round folder, and the office key."""
    from thidua.demo.simulate import YearRates, simulate_year
    root = tmp_path_factory.mktemp("office")
    simulate_year(plan, units[:30], TEST_KEY, root / "inbox", rng_seed=23, rounds=ROUNDS,
                  rates=YearRates(missing=0.1, late=0.2, mistakes=0.2, corrected=0.6, copy=0.1, adhoc=0.0))
    (root / "office.key").write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    return root


def thidua(office: Path, *args: str, staff: str | None = None, **kw) -> subprocess.Popen:
    env = dict(os.environ, THIDUA_KEY_FILE=str(office / "office.key"))
    if staff:
        env["THIDUA_STAFF"] = staff
    return subprocess.Popen([sys.executable, "-m", "thidua", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=str(office), **kw)


def ok(office: Path, *args: str, staff: str | None = None) -> str:
    proc = thidua(office, *args, staff=staff)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return out


def refused(office: Path, *args: str) -> str:
    """A command that must stop with «Lỗi … Thử …» (exit 2), never a traceback; its stderr."""
    proc = thidua(office, *args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, (out, err)
    assert err.startswith("Lỗi: ") and "\nThử: " in err and "Traceback" not in err, err
    return err


def dump(db) -> dict:
    """What a store holds, independent of the order things were written (ids, run times and the like left out)."""
    with Store.open(db, create=False) as s:
        q = lambda sql: [tuple(r) for r in s.conn.execute(sql).fetchall()]  # noqa: E731
        return {
            "submissions": q("SELECT sha256, unit, round, status, n_errors, n_warnings, received_at, received_source, "
                             "file_name FROM submissions ORDER BY sha256"),
            "values": q("SELECT s.sha256, v.sheet, v.cell, v.field, v.row, v.value_num, v.value_text, v.value_date "
                        "FROM cell_values v JOIN submissions s ON s.id = v.submission_id ORDER BY 1, 2, 3, 4, 5"),
            "issues": q("SELECT s.sha256, i.code, i.cell, i.message FROM issues i JOIN submissions s "
                        "ON s.id = i.submission_id ORDER BY 1, 2, 3, 4"),
            "proposals": q("SELECT unit, round, row, name, state, decided_form, active FROM proposals "
                           "ORDER BY 1, 2, 3"),
            "files": [(sha, path.split("/", 1)[1], size)         # the archive folder is named after the store
                      for sha, path, size in q("SELECT sha256, archive_path, size FROM files ORDER BY 1")],
            "sightings": q("SELECT sha256, path FROM sightings ORDER BY 1, 2"),
            "archive": sorted((sha, len(s.archive.read(p))) for sha, p in s.conn.execute(
                "SELECT sha256, archive_path FROM files").fetchall()),
        }


def same_workbooks(a: Path, b: Path) -> None:
    """Two .xlsx files equal part by part (but the moment each was written, in docProps/core.xml)."""
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.namelist() == zb.namelist()
        for name in za.namelist():
            if name == "docProps/core.xml":
                continue
            assert za.read(name) == zb.read(name), f"{a.name}: {name} differs"


# ---------------------------------------------------------------- one setting, one schema
def test_a_setting_names_the_engine_and_never_holds_a_password(tmp_path):
    assert locate("thidua.db").is_sqlite and locate(tmp_path / "x.db").path == tmp_path / "x.db"
    pg = locate("postgresql://vanphong@may-chu:5433/thidua")
    assert (pg.engine, pg.parts, pg.server, pg.archive_name) == (
        "postgresql", ("vanphong", "may-chu", 5433, "thidua"), "may-chu:5433", "thidua-luu-tru")
    assert locate("postgres://may-chu/thidua").parts == (None, "may-chu", 5432, "thidua")
    for bad, why in (("postgresql://u:bi-mat@may-chu/thidua", "có ghi mật khẩu"),
                     ("postgresql://u@may-chu:cong/thidua", "cổng"),
                     ("postgresql://u@may-chu:5432/", "thiếu tên cơ sở dữ liệu"),
                     ("postgresql://u@may-chu/co dau", "tên cơ sở dữ liệu")):
        with pytest.raises(ThiDuaError) as err:
            locate(bad)
        assert why in err.value.message and "bi-mat" not in err.value.message, err.value.message
    # thidua.toml beside the workbook wins over the workbook's row; --db wins over both
    toml = tmp_path / "thidua.toml"
    toml.write_text('[store]\nurl = "postgresql://vanphong@may-chu/thidua"\npassword_file = "C:/mk.txt"\n'
                    'staff = "Nguyễn Thị Bình"\n', encoding="utf-8")
    settings = settings_from({"store_url": "postgresql://khac@may-khac/khac"}, toml)
    assert settings == StoreSettings("postgresql://vanphong@may-chu/thidua", "C:/mk.txt", "Nguyễn Thị Bình")
    assert choose(None, settings).url == "postgresql://vanphong@may-chu/thidua"
    assert choose(None, settings).password_file == "C:/mk.txt"
    assert choose(str(tmp_path / "a.db"), settings).is_sqlite
    assert choose(None, StoreSettings()).path == Path("thidua.db")
    ws = WorkingSet.load(db=None, settings_file=toml)
    assert ws.location.url == "postgresql://vanphong@may-chu/thidua" and ws.who() == "Nguyễn Thị Bình"
    toml.write_text('[store]\nurl = "postgresql://u@h/db"\npassword = "bi-mat"\n', encoding="utf-8")
    with pytest.raises(ThiDuaError, match="có ghi mật khẩu"):
        settings_from({}, toml)


def test_the_same_named_migrations_give_the_same_schema_on_both_engines(tmp_path, pg_url):
    with Store.open(tmp_path / "t.db") as lite, Store.open(pg_url) as pg:
        assert lite.applied_migrations() == pg.applied_migrations()
        assert lite.tables() == pg.tables()
        for table in lite.tables():
            assert lite.columns(table) == [c for c in pg.columns(table) if c != "rowid"], table
        for view in ("current_submissions", "indicator_values", "self_scores", "activities"):
            assert pg.rows(f"SELECT count(*) AS n FROM {view}") == [{"n": 0}]
        # text compares byte by byte on both, whatever the server's locale (SQLite's BINARY collation)
        for s in (lite, pg):
            s.insert_many("units", [{"code": c, "name": c} for c in ("b", "B", "Đ", "a", "Z", "á")])
        order = "SELECT code FROM units ORDER BY code"
        assert [r["code"] for r in lite.rows(order)] == [r["code"] for r in pg.rows(order)] == \
            ["B", "Z", "a", "b", "á", "Đ"]


def test_a_newer_schema_and_another_applications_database_are_refused(pg_server, pg_url, tmp_path):
    with Store.open(pg_url) as s:
        s.insert("migrations", {"name": "9999_tuong_lai", "applied_at": "2030-01-01T00:00:00"})
    with pytest.raises(ThiDuaError, match="phiên bản ThiDua mới hơn"):
        Store.open(pg_url)
    other = pg_server.create_database()
    pg_server.admin("CREATE TABLE khach_hang (id int primary key, ten text)", db=other.rsplit("/", 1)[1])
    err = refused(tmp_path, "status", "--db", other)
    assert "không phải kho dữ liệu ThiDua" in err and "khach_hang" in err
    assert pg_server.admin("SELECT count(*) FROM information_schema.tables WHERE table_name = 'migrations'",
                           db=other.rsplit("/", 1)[1]) == [(0,)]            # nothing written there
    lite = tmp_path / "khac.db"
    import sqlite3
    with sqlite3.connect(lite) as con:
        con.execute("CREATE TABLE khach_hang (id INTEGER PRIMARY KEY, ten TEXT)")
    assert "không phải kho dữ liệu ThiDua" in refused(tmp_path, "status", "--db", str(lite))


def test_the_archive_is_kept_in_the_database(pg_url):
    with Store.open(pg_url) as s:
        rel = s.archive.write("ab" + "0" * 62, b"hello", ".XLSX")
        assert rel == "t_" + pg_url.rsplit("/t_", 1)[1] + "-luu-tru/ab/" + "ab" + "0" * 62 + ".xlsx"
        s.archive.write("ab" + "0" * 62, b"other bytes never replace the first", ".xlsx")
        assert s.archive.read(rel) == b"hello" and s.archive.exists(rel)
        with s.archive.as_file(rel) as path:
            assert path.read_bytes() == b"hello"
        assert not path.exists()


def test_a_connection_that_ends_frees_the_run_lock(pg_url):
    """One run at a time is test_store's (both engines); on a server the lock is an advisory lock of the
    connection: a PC switched off mid-run frees it, and the next run holds it alone."""
    with Store.open(pg_url) as a, Store.open(pg_url) as b:
        a.run_lock(wait=0).__enter__()       # taken and never released: the PC is switched off
        a.close()
        with Store.open(pg_url) as c, c.run_lock(wait=0):
            with pytest.raises(ThiDuaError):
                with b.run_lock(wait=0):
                    pass


def test_planner_statistics_after_a_big_run_and_for_temporary_tables(office, pg_url, plan, units, tmp_path,
                                                                    monkeypatch):
    """PostgreSQL plans by statistics that a table filled in one transaction, or a temporary table, does not have
    (autovacuum comes later, and never to temporary tables): a run that brought much of the store analyses the
    tables it filled, a small one leaves that to the server, and the units' order of a listing is analysed."""
    import shutil
    from thidua.consolidate import run as consolidation
    from thidua.store import register
    inbox = tmp_path / "inbox"
    shutil.copytree(office / "inbox", inbox)
    later = sorted(inbox.rglob("*.xlsx"))[-1]
    later.rename(tmp_path / later.name)                    # comes after the first run
    monkeypatch.setattr(consolidation, "ANALYZE_FROM", 5)
    ws = WorkingSet(plan, units[:30], pg_url, secret=TEST_KEY)
    estimated = "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(?)"
    consolidation.consolidate(ws, inbox)
    with Store.open(pg_url, create=False) as s:
        n_values = s.scalar("SELECT count(*) FROM cell_values")
        assert n_values > 1000 and s.scalar(estimated, ("cell_values",)) == n_values      # analysed: exact
    shutil.move(tmp_path / later.name, inbox / later.name)
    assert consolidation.consolidate(ws, inbox).n_new == 1
    with Store.open(pg_url, create=False) as s:
        assert s.scalar("SELECT count(*) FROM cell_values") > n_values
        assert s.scalar(estimated, ("cell_values",)) == n_values        # one file: not analysed again
        register.order_units(s, [u.code for u in units[:30]])
        assert s.scalar(estimated, ("pg_temp.unit_order",)) == 30


# ---------------------------------------------------------------- the server's failures, in Vietnamese
def test_a_refused_password_and_a_password_file(pg_server, tmp_path):
    url = pg_server.create_database(owner=PASSWORD_USER)
    err = refused(tmp_path, "status", "--db", url)
    assert f"127.0.0.1:{pg_server.port}" in err and "chưa có mật khẩu" in err and "keyring set thidua-store" in err
    secret = tmp_path / "mk.txt"
    secret.write_text("sai-mat-khau\n", encoding="utf-8")
    secret.chmod(0o600)
    (tmp_path / "thidua.toml").write_text(f'[store]\nurl = "{url}"\npassword_file = "{secret}"\n', encoding="utf-8")
    err = refused(tmp_path, "status")
    assert "từ chối đăng nhập" in err and "sai mật khẩu" in err and PASSWORD_USER in err
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    assert "chmod 600" in refused(tmp_path, "status")
    secret.chmod(0o600)
    (tmp_path / "office.key").write_text(TEST_KEY.hex() + "\n", encoding="ascii")
    (tmp_path / "hop-thu").mkdir()
    ok(tmp_path, "consolidate", str(tmp_path / "hop-thu"))
    out = ok(tmp_path, "status", "--round", "Q1")
    assert "đơn vị cần đôn đốc" in out
    assert PASSWORD not in (tmp_path / "thidua.toml").read_text()


def test_a_server_that_is_down_or_unknown_is_named(pg_server, tmp_path):
    from pgserver import free_port
    port = free_port()
    err = refused(tmp_path, "status", "--db", f"postgresql://thidua@127.0.0.1:{port}/thidua")
    assert f"127.0.0.1:{port}" in err and "không trả lời" in err
    err = refused(tmp_path, "status", "--db", "postgresql://thidua@may-chu-khong-co.invalid/thidua")
    assert "may-chu-khong-co.invalid" in err
    err = refused(tmp_path, "status", "--db", pg_server.url("chua_tao"))
    assert "chưa có cơ sở dữ liệu «chua_tao»" in err and "createdb" in err
    err = refused(tmp_path, "status", "--db", "postgresql://u:bi-mat@127.0.0.1/thidua")
    assert "có ghi mật khẩu" in err and "bi-mat" not in err


def test_a_server_that_goes_away_mid_run_leaves_the_store_as_before(office, tmp_path):
    """Kill the server during a consolidation: a «Lỗi … Thử …» naming it; after a restart the store is what it was
    before that run, and the next run completes it as an uninterrupted run would."""
    from pgserver import available
    if available():
        pytest.skip(available())
    server = PgServer().start()           # its own server: this one is stopped on purpose
    try:
        url = server.create_database("dang_chay")
        reference = server.create_database("mau")
        ok(office, "consolidate", str(office / "inbox"), "--db", reference)
        ok(office, "consolidate", str(office / "inbox" / "DK"), "--db", url)
        before = dump(url)
        proc = _consolidate_slowly(office, url)
        _wait_for_writes(server, "dang_chay", proc)
        server.kill()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (out, err)
        assert err.startswith("Lỗi: Mất kết nối tới máy chủ cơ sở dữ liệu 127.0.0.1:") and "Traceback" not in err
        assert "giữ nguyên như trước" in err and "\nThử: " in err
        server.restart()
        assert dump(url) == before
        ok(office, "consolidate", str(office / "inbox"), "--db", url)
        assert dump(url) == dump(reference)
    finally:
        server.remove()


def _consolidate_slowly(office: Path, url: str) -> subprocess.Popen:
    env = dict(os.environ, THIDUA_KEY_FILE=str(office / "office.key"), THIDUA_CHUNK="2")
    return subprocess.Popen([sys.executable, "-m", "thidua", "consolidate", str(office / "inbox"), "--db", url],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_writes(server: PgServer, db: str, proc: subprocess.Popen) -> None:
    """Until the run has written rows inside its (uncommitted) transaction."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        rows = server.admin(f"SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                            f"WHERE d.datname = '{db}' AND l.locktype = 'advisory' AND l.granted")
        if rows[0][0] >= 2:                 # the run lock and the writers' lock: its transaction is writing
            time.sleep(0.3)
            return
        time.sleep(0.02)
    pytest.fail(f"the run ended before the server could be stopped: {proc.communicate()}")


# ---------------------------------------------------------------- moving in, and back
def test_store_copy_either_way_keeps_status_workbooks_and_the_tong_ket(office, plan, units, pg_server, tmp_path,
                                                                     monkeypatch):
    from thidua.consolidate.run import write_workbooks
    from thidua.reports import committee
    from thidua.reports.summary_job import build_summary
    monkeypatch.setattr(committee, "_now", lambda: dt.datetime(2019, 12, 20, 16, 30))
    chosen = units[:30]
    lite = tmp_path / "van-phong" / "thidua.db"
    ok(office, "consolidate", str(office / "inbox"), "--db", str(lite))
    pg = pg_server.create_database()
    back = tmp_path / "tro-lai" / "thidua.db"
    out = ok(office, "store", "copy", "--from", str(lite), "--to", pg)
    assert "Đã chép kho dữ liệu" in out and "tệp lưu trữ" in out
    assert "đã có dữ liệu" in refused(office, "store", "copy", "--from", str(lite), "--to", pg)
    ok(office, "store", "copy", "--from", pg, "--to", str(back))
    outputs = {}
    for name, db in (("lite", str(lite)), ("pg", pg), ("back", str(back))):
        ws = WorkingSet(plan, chosen, db)
        folder = tmp_path / f"ra-{name}"
        outputs[name] = {"status": ok(office, "status", "--db", db, "--json"),
                         "history": ok(office, "history", "--db", db, "--json"),
                         "committee": write_workbooks(ws, list(ROUNDS), folder),
                         "tong-ket": build_summary(ws, "year", folder / "tong-ket.xlsx")}
    assert dump(str(lite)) == dump(pg) == dump(str(back))
    for other in ("pg", "back"):
        assert outputs[other]["status"] == outputs["lite"]["status"]
        assert outputs[other]["history"] == outputs["lite"]["history"]
        for a, b in zip(outputs["lite"]["committee"], outputs[other]["committee"]):
            same_workbooks(a, b)
        same_workbooks(outputs["lite"]["tong-ket"], outputs[other]["tong-ket"])
    assert {p.name for p in (back.parent / "thidua-luu-tru").rglob("*.xlsx")} == \
        {p.name for p in (lite.parent / "thidua-luu-tru").rglob("*.xlsx")}


@pytest.mark.parametrize("source,target", [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_a_backup_of_one_engine_restores_into_the_other(office, tmp_path, request, source, target):
    src = store_at(source, tmp_path / "a", request)
    dst = store_at(target, tmp_path / "b", request)
    ok(office, "consolidate", str(office / "inbox" / "Q1"), "--db", src)
    ok(office, "backup", "--db", src, "--out", str(tmp_path / "sao-luu"), "--key", str(office / "office.key"))
    (zipped,) = (tmp_path / "sao-luu").glob("thidua-sao-luu-*.zip")
    out = ok(office, "restore", str(zipped), "--db", dst, "--key", str(tmp_path / "khoa-moi.key"))
    assert "Đã khôi phục kho dữ liệu" in out
    assert dump(dst) == dump(src)
    assert ok(office, "status", "--db", dst, "--json") == ok(office, "status", "--db", src, "--json")
    assert "khôi phục sẽ thay nó" in refused(office, "restore", str(zipped), "--db", dst, "--key",
                                            str(tmp_path / "khoa-moi.key"))


# ---------------------------------------------------------------- several staff at once
def test_consolidations_a_rejudge_and_readers_at_once_equal_one_after_another(office, pg_server):
    """Two consolidations of different rounds, a rejudge and readers from different processes at the same time."""
    at_once, in_turn = pg_server.create_database(), pg_server.create_database()
    inbox = office / "inbox"
    ok(office, "consolidate", str(inbox / "DK"), "--db", at_once)
    ok(office, "consolidate", str(inbox / "DK"), "--db", in_turn)
    jobs = [("consolidate", str(inbox / "Q1"), "--wait", "600"), ("consolidate", str(inbox / "Q2"), "--wait", "600"),
            ("rejudge", "--wait", "600")]
    readers = [("status", "--json"), ("summary", "--period", "1", "--out", "so-ket-{}.xlsx"),
               ("history", "--json"), ("proposals", "list", "--json"), ("classify", "--period", "1")]
    procs = [thidua(office, *job, "--db", at_once) for job in jobs]
    procs += [thidua(office, *(a.format(i) for a in job), "--db", at_once) for i, job in enumerate(readers)]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    for job in jobs:
        ok(office, *job, "--db", in_turn)
    assert dump(at_once) == dump(in_turn)
    assert ok(office, "status", "--json", "--db", at_once) == ok(office, "status", "--json", "--db", in_turn)


@pytest.mark.parametrize("engine", ENGINES)
def test_two_people_deciding_the_same_proposal(office, tmp_path, request, engine):
    db = store_at(engine, tmp_path, request)
    ok(office, "consolidate", str(office / "inbox" / "TK"), "--db", db)
    listed = json.loads(ok(office, "proposals", "list", "--json", "--db", db))
    pid = next(c["id"] for c in listed if c["form"] and c["eligible"])     # one either decision may be taken on
    ok(office, "proposals", "decide", "--id", str(pid), "--state", "reviewed", "--db", db, staff="Trần Văn An")
    first = thidua(office, "proposals", "decide", "--id", str(pid), "--state", "not_met", "--db", db,
                   staff="Trần Văn An")
    second = thidua(office, "proposals", "decide", "--id", str(pid), "--state", "awarded", "--db", db,
                    staff="Lê Thị Bình")
    results = {name: (p.communicate(timeout=120), p.returncode) for name, p in (("An", first), ("Bình", second))}
    winners = [n for n, (_, code) in results.items() if code == 0]
    assert len(winners) == 1, results
    loser = "Bình" if winners == ["An"] else "An"
    (_, err), code = results[loser]
    full = {"An": "Trần Văn An", "Bình": "Lê Thị Bình"}
    assert code == 2 and err.startswith("Lỗi: ") and f"do {full[winners[0]]} quyết định lúc" in err, err
    assert "Traceback" not in err and "--force" in err
    after = {c["id"]: c for c in json.loads(ok(office, "proposals", "list", "--json", "--db", db))}[pid]
    assert after["state"] == ("not_met" if winners == ["An"] else "awarded")
    assert after["decided_by"] == full[winners[0]]
    # the one refused may still change it, knowingly: forced and logged with their name
    again = "reviewed" if after["state"] == "not_met" else "not_met"
    ok(office, "proposals", "decide", "--id", str(pid), "--state", again, "--force", "--db", db, staff=full[loser])
    with Store.open(db) as s:
        last = s.rows("SELECT event, decided_by, forced FROM proposal_history WHERE proposal_id = ? ORDER BY id",
                      (pid,))[-1]
    assert last == {"event": "forced", "decided_by": full[loser], "forced": 1}
