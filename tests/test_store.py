"""The store: schema contract, additive migration, write-once archive, transactions, the run lock."""
from __future__ import annotations

import os
import sqlite3

import pytest

from thidua.errors import ThiDuaError
from thidua.store import db as store
from thidua.store.register import sync_plan
from thidua.store.store import Store

CONTRACT = {"meta", "units", "rounds", "files", "sightings", "submissions", "cell_values", "issues", "proposals",
            "reviewed_scores", "runs", "current_submissions", "indicator_values", "self_scores", "activities",
            "path_cache"}


def test_connect_creates_the_schema_and_is_repeatable(tmp_path, plan, units):
    st = Store.open(tmp_path / "t.db")
    conn = st.conn
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
    assert CONTRACT <= names
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    sync_plan(st, plan, units)
    sync_plan(st, plan, units)
    assert conn.execute("SELECT count(*) FROM units").fetchone()[0] == len(units)
    assert conn.execute("SELECT due FROM rounds WHERE code='Q1'").fetchone()[0] == "2019-04-10"
    st.close()
    again = Store.open(tmp_path / "t.db").conn
    assert {n for (n,) in again.execute("SELECT name FROM sqlite_master")} == names


def test_a_store_of_the_first_release_is_migrated_in_place(tmp_path):
    """Stores written before named migrations (no `migrations` table) open with their data kept."""
    import sqlite3

    from thidua.store.store import migrations, statements
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for statement in statements(dict(migrations())["0001_initial"]):
        conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES ('year', '2019')")
    conn.commit()
    conn.close()
    conn = Store.open(db).conn
    assert conn.execute("SELECT value FROM meta WHERE key='year'").fetchone()[0] == "2019"
    assert [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")] == [n for n, _ in migrations()]


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(ThiDuaError, match="Chưa có cơ sở dữ liệu"):
        Store.open(tmp_path / "none.db", create=False)


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ThiDuaError, match="Không mở được"):
        Store.open(bad)


def test_transaction_rolls_back_on_error(engine_db):
    st = Store.open(engine_db)
    conn = st.conn
    with pytest.raises(RuntimeError):
        with st.atomic():
            st.set_meta("a", "b")
            raise RuntimeError("boom")
    assert conn.execute("SELECT count(*) FROM meta WHERE key='a'").fetchone()[0] == 0
    with st.atomic():
        st.set_meta("a", "b")
    with Store.open(engine_db) as other:                   # another connection sees it committed
        assert other.conn.execute("SELECT value FROM meta WHERE key='a'").fetchone() == ("b",)
    st.close()


def test_big_results_are_streamed_a_page_at_a_time(engine_db):
    """Store.stream: every row in the query's order, inside and outside a transaction, several at once on one
    connection; on a server through a server-side cursor (pg_cursors) that is closed when left half read."""
    from thidua.store import postgres
    n = postgres.STREAM_ROWS * 2 + 7                        # more than two of a server cursor's fetches
    with Store.open(engine_db) as st:
        with st.atomic():
            st.insert_rows("meta", ("key", "value"), [(f"k{i:05d}", str(i)) for i in range(n)])
        sql = "SELECT key, value FROM meta WHERE key LIKE 'k%' ORDER BY key"
        up, down = st.stream(sql), st.stream(sql.replace("ORDER BY key", "ORDER BY key DESC"))
        pairs = list(zip(up, down))                         # two streams read in turns
        assert [a for a, _ in pairs] == [(f"k{i:05d}", str(i)) for i in range(n)]
        assert [b for _, b in pairs] == [(f"k{i:05d}", str(i)) for i in reversed(range(n))]
        with st.atomic():                                   # inside a transaction, beside writes
            for i, (key, _) in enumerate(st.stream(sql)):
                if i % 1000 == 0:
                    st.set_meta(f"seen{i}", key)
        assert st.meta("seen4000") == "k04000"
        if st.engine == "postgresql":
            cursors = "SELECT count(*) FROM pg_cursors"
            before = st.conn.execute(cursors).fetchone()[0]
            half = st.stream(sql)
            assert next(half) == ("k00000", "0")
            assert st.conn.execute(cursors).fetchone()[0] == before + 1     # the rest waits on the server
            half.close()
            assert st.conn.execute(cursors).fetchone()[0] == before


def test_scratch_rows_go_in_as_one_transaction_that_locks_nobody_out(engine_db):
    """Store.scratch: rows of the connection's temporary tables are written in one transaction on SQLite (not
    one commit a row), which leaves the store free for another writer meanwhile and is over when the block is,
    error or not; on a server it adds nothing around the writes."""
    with Store.open(engine_db) as st, Store.open(engine_db) as other:
        st.conn.execute(st.ddl("CREATE TEMP TABLE scratch_rows (pos INTEGER PRIMARY KEY, path TEXT NOT NULL)"))
        with st.scratch():
            assert st.conn.in_transaction == (st.engine == "sqlite")
            st.insert_rows("scratch_rows", ("pos", "path"), [(i, f"f{i}.xlsx") for i in range(3000)])
            with other.atomic():                     # another writer is not kept waiting (busy timeout: 30 s)
                other.set_meta("written meanwhile", "yes")
            with st.scratch():                       # nested: inside the same transaction
                st.insert_rows("scratch_rows", ("pos", "path"), [(3000, "last.xlsx")])
        assert not getattr(st.conn, "in_transaction", False)
        assert st.scalar("SELECT count(*) FROM scratch_rows") == 3001
        assert st.meta("written meanwhile") == "yes"
        with pytest.raises(RuntimeError):
            with st.scratch():
                st.insert_rows("scratch_rows", ("pos", "path"), [(5000, "lost.xlsx")])
                raise RuntimeError("boom")
        if st.engine == "sqlite":                    # rolled back with the block
            assert st.scalar("SELECT count(*) FROM scratch_rows WHERE pos = 5000") == 0
        with st.atomic():                            # nothing left open
            st.set_meta("after", "ok")
        assert other.meta("after") == "ok"


def test_archive_is_write_once(tmp_path):
    root = tmp_path / "arch"
    path = store.archive_bytes(root, "ab" + "0" * 62, b"hello", ".XLSX")
    assert path.read_bytes() == b"hello" and path.name.endswith(".xlsx") and path.parent.name == "ab"
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    before = path.stat().st_mtime_ns
    store.archive_bytes(root, "ab" + "0" * 62, b"hello", ".xlsx")
    assert path.stat().st_mtime_ns == before
    (path.parent / ".leftover.123.tmp").write_bytes(b"half")
    assert store.clean_archive_temps(root) == 1 and path.exists()


def test_second_run_is_told_one_is_running(engine_db):
    with Store.open(engine_db) as first, Store.open(engine_db) as second:
        with first.run_lock(wait=0):
            with pytest.raises(ThiDuaError, match="Đang có một lần tổng hợp khác"):
                with second.run_lock(wait=0.3):
                    pass
        with second.run_lock(wait=0):          # released afterwards
            pass


def test_receipts_migration_keeps_the_file_time_as_a_marked_fallback(tmp_path):
    """0002_receipts: files received before it keep their time, marked as the file's date (source `file`)."""
    from thidua.store.store import migrations, statements
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for statement in statements(dict(migrations())["0001_initial"]):
        conn.execute(statement)
    conn.execute("INSERT INTO files VALUES ('abc', 'a/abc.xlsx', 1, '2019-04-01T08:00:00')")
    conn.execute("INSERT INTO submissions (sha256, unit, round, received_at, status) "
                 "VALUES ('abc', 'CD001', 'Q1', '2019-04-09T07:00:00', 'accepted')")
    conn.commit()
    conn.close()
    st = Store.open(db)
    assert st.one("SELECT received_at, received_source, file_mtime FROM submissions") == {
        "received_at": "2019-04-09T07:00:00", "received_source": "file", "file_mtime": "2019-04-09T07:00:00"}


def test_a_broken_settings_file_is_said_for_the_section_read(tmp_path):
    """thidua.toml saved broken (a quote missing, as Notepad leaves it): the store and the mailbox settings each say
    the file, the parser's reason and the section to fix — no traceback."""
    from thidua.mail.settings import load_settings
    from thidua.store.locator import settings_from
    broken = tmp_path / "thidua.toml"
    broken.write_text('[store]\nurl = "postgresql://vanphong@may-chu/thidua\n', encoding="utf-8")
    for read, section in ((lambda: settings_from({}, broken), "[store]"), (lambda: load_settings({}, broken), "[mail]")):
        with pytest.raises(ThiDuaError) as err:
            read()
        assert err.value.message.startswith(f"Tệp cài đặt {broken} viết sai: ") and f"dòng {section}" in err.value.hint
    broken.write_text('[store]\nurl = "postgresql://vanphong@may-chu/thidua"\n', encoding="utf-8")
    assert settings_from({}, broken).url == "postgresql://vanphong@may-chu/thidua" and load_settings({}, broken)
