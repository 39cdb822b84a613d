"""The Store object on both engines (SQLite, PostgreSQL): named migrations in order, newer stores refused, nested
atomic(), inserts by column name."""
from __future__ import annotations

import pytest

from thidua.errors import ThiDuaError
from thidua.store.store import Store, errors, migrations


def test_migrations_are_recorded_in_order_and_applied_once(engine_db):
    db = engine_db
    with Store.open(db) as s:
        names = s.applied_migrations()
        assert names == [n for n, _ in migrations()] and names[0] == "0001_initial"
        assert "submissions" in s.tables()
    with Store.open(db) as s:           # a second open applies nothing
        assert s.migrate() == []
        assert s.scalar("SELECT count(*) FROM migrations") == len(names)


def test_a_store_written_by_a_newer_version_is_refused(engine_db):
    db = engine_db
    with Store.open(db) as s:
        s.insert("migrations", {"name": "9999_from_the_future", "applied_at": "2030-01-01T00:00:00"})
    with pytest.raises(ThiDuaError) as err:
        Store.open(db)
    assert "phiên bản ThiDua mới hơn" in err.value.message and "9999_from_the_future" in err.value.message
    assert "Cài phiên bản" in err.value.hint


def test_nested_atomic_rolls_back_only_the_inner_level(engine_db):
    with Store.open(engine_db) as s:
        with s.atomic():
            s.insert("meta", {"key": "outer", "value": "1"})
            with pytest.raises(RuntimeError):
                with s.atomic():
                    s.insert("meta", {"key": "inner", "value": "2"})
                    raise RuntimeError("boom")
            with s.atomic():
                s.insert("meta", {"value": "3", "key": "inner2"})     # columns by name, any order
        assert s.meta("outer") == "1" and s.meta("inner") is None and s.meta("inner2") == "3"
        with pytest.raises(RuntimeError):
            with s.atomic():
                s.set_meta("gone", "x")
                raise RuntimeError("boom")
        assert s.meta("gone") is None


def test_a_failed_commit_is_rolled_back_and_the_store_stays_usable(engine_db):
    with Store.open(engine_db) as s:
        with pytest.raises(errors()):
            with s.atomic():
                if s.engine == "sqlite":
                    s.conn.execute("PRAGMA defer_foreign_keys = ON")    # the violation surfaces at COMMIT
                s.insert("sightings", {"sha256": "no-such-file", "path": "x.xlsx"})
        assert not s.conn.in_transaction
        assert s.scalar("SELECT count(*) FROM sightings") == 0
        with s.atomic():
            s.set_meta("after", "ok")
        assert s.meta("after") == "ok"


def test_upsert_updates_by_key(engine_db):
    with Store.open(engine_db) as s:
        row = {"code": "CD001", "name": "A", "cluster": "1", "staff": 3, "members": 3, "email": None, "founded": None}
        s.upsert("units", [row], key=("code",))
        s.upsert("units", [{**row, "name": "B"}], key=("code",))
        assert s.rows("SELECT code, name FROM units") == [{"code": "CD001", "name": "B"}]
        with pytest.raises(ValueError):
            s.insert("units; DROP TABLE units", {"code": "x"})


def test_insert_returns_the_new_id_and_replace_keeps_one_row(engine_db):
    with Store.open(engine_db) as s:
        first = s.insert("runs", {"started_at": "2019-04-01T08:00:00", "command": "a"})
        second = s.insert("runs", {"started_at": "2019-04-01T09:00:00", "command": "b"})
        assert second == first + 1
        assert s.next_ids("runs", 3) == [second + 1, second + 2, second + 3]
        s.insert("meta", {"key": "k", "value": "1"}, replace=True)
        s.insert("meta", {"key": "k", "value": "2"}, replace=True)
        assert s.rows("SELECT key, value FROM meta WHERE key = 'k'") == [{"key": "k", "value": "2"}]
        assert s.insert_rows("issues", ("submission_id", "code", "severity", "message"), []) == 0
