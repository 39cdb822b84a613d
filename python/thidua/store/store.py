"""The Store object: the one connection policy, nested transactions, named migrations, inserts by column name, on
either engine: a SQLite file (one PC) or a PostgreSQL database (several staff, see store/postgres.py)."""
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import sqlite3
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from thidua.errors import ThiDuaError
from thidua.store.locator import StoreLocation, locate

BUSY_TIMEOUT_S = 60          # one wait on a locked database, for every caller
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DIALECT = re.compile(r"^--\s*dialect:\s*(all|sqlite|postgresql)\s*$")
ENGINES = ("sqlite", "postgresql")


def exists(where: "str | Path | StoreLocation") -> bool:
    """Whether a store is there already: a SQLite file; a server database holding ThiDua's tables."""
    location = locate(where)
    if location.is_sqlite:
        return Path(location.path).is_file()
    from thidua.store.postgres import holds_store
    return holds_store(location)


def errors() -> tuple[type, ...]:
    """The database errors of the engines in use (for `except`): sqlite3's, and psycopg's once it is loaded."""
    found: tuple[type, ...] = (sqlite3.Error,)
    if "psycopg" in sys.modules:
        found += (sys.modules["psycopg"].Error,)
    return found


def migrations() -> list[tuple[str, str]]:
    """The migrations this version knows, in order: (name, sql), name like '0001_initial'."""
    found = []
    for entry in resources.files("thidua.store.migrations").iterdir():
        if _MIGRATION.match(entry.name):
            found.append((entry.name[:-4], entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(sql: str, dialect: str | None = None) -> list[str]:
    """Split a migration into statements (executescript would commit on its own). A line `-- dialect: sqlite` (or
    `postgresql`) starts statements for that engine only, `-- dialect: all` ends them (`dialect` None: every one)."""
    out, buf, current = [], [], "all"
    for line in sql.splitlines():
        marker = _DIALECT.match(line.strip())
        if marker:
            current = marker.group(1)
            continue
        if dialect is not None and current not in ("all", dialect):
            continue
        line = line.split("--", 1)[0]       # migrations hold no "--" inside string literals
        if not line.strip():
            continue
        buf.append(line)
        if line.rstrip().endswith(";") and sqlite3.complete_statement("\n".join(buf)):
            out.append("\n".join(buf))
            buf = []
    if buf and "".join(buf).strip():
        out.append("\n".join(buf))
    return out


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not an SQL identifier: {name!r}")
    return f'"{name}"'


class Store:
    """Owns one connection to the consolidated store. Every read and write goes through it.

    Policy: autocommit outside `atomic()`, foreign keys on, one busy timeout. `atomic()` opens a write
    transaction at the outermost level (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN and the writers' advisory
    lock, so that writers follow one another on both engines) and a SAVEPOINT inside; a failed COMMIT is rolled
    back. SQLite: WAL journal. The archive (`store.archive`) and the run lock (`store.run_lock()`) are the
    engine's own: files and a lock file beside a SQLite store, a table and an advisory lock on a server.
    """

    def __init__(self, conn, path: Path | None, refusal: ThiDuaError | None = None, remote: str | None = None,
                 location: StoreLocation | None = None):
        self.conn = conn                # sqlite3.Connection, or postgres.PgConnection (the same calls)
        self.path = path                # the SQLite file (None on a server)
        self.refusal = refusal          # why this store cannot be written now (reading works), or None
        self.remote = remote            # why it is on a network share or a synced folder, or None
        self.location = location or locate(path)
        self.engine = self.location.engine
        self._depth = 0
        self._archive = None
        self._catalog: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """How messages name this store: the file's name, or the server URL."""
        return Path(self.path).name if self.path is not None else self.location.name

    @property
    def readonly(self) -> bool:
        return self.refusal is not None

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: "str | Path | StoreLocation", create: bool = True) -> "Store":
        """Open (or create) the store at `path` (a file, or a server: see _open_server).

        Where a SQLite store lives decides the connection: on a local disk, WAL; on a network share or in a folder
        a cloud client syncs (thidua.volumes), the rollback journal (DELETE) with full syncs, because SQLite's WAL
        needs shared memory that a network file system cannot give (https://www.sqlite.org/wal.html,
        https://www.sqlite.org/useovernet.html). A store that cannot be written (a read-only file, folder or
        medium, a full disk) is opened for reading: reading commands work, and the first write is refused
        with the reason (thidua.faults)."""
        location = locate(path)
        if not location.is_sqlite:
            return cls._open_server(location, create)
        from thidua import faults
        from thidua.volumes import volume
        db = Path(location.path)
        if not create and not db.exists():
            raise ThiDuaError(f"Chưa có cơ sở dữ liệu tổng hợp {db}.",
                              "Chạy «thidua consolidate THƯ_MỤC_HỘP_THƯ» trước, hoặc chỉ đúng tệp bằng --db.")
        faults.using_store(db)
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise faults.translate(exc, db) or exc
        reason = faults.why_not_writable(db) if db.exists() else None
        if reason:
            return cls._for_reading(db, faults.read_only(db, reason, store=True), not_writable=True)
        remote = volume(db).remote
        conn = None
        try:
            conn = sqlite3.connect(str(db), timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            conn.execute("PRAGMA journal_mode=DELETE" if remote else "PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL" if remote else "PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, db, None, remote, location)
            store.migrate()
            return store
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            fault = faults.translate(exc, db)
            if fault is None:
                raise ThiDuaError(f"Không mở được cơ sở dữ liệu {db}: {exc}.",
                                  "Kiểm tra tệp có đúng là cơ sở dữ liệu ThiDua và không bị hỏng.") from exc
            if db.exists() and db.stat().st_size > 0:      # a full disk, an I/O fault: read it, refuse writes
                with contextlib.suppress(sqlite3.DatabaseError, ThiDuaError):
                    return cls._for_reading(db, fault, not_writable=True)
            raise fault from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    @classmethod
    def _for_reading(cls, db: Path, refusal: ThiDuaError, not_writable: bool) -> "Store":
        """A read-only connection to a store that cannot be written now. With no write-ahead log holding data and
        no way to write one beside it, the file is opened as immutable (nothing can change it under us)."""
        wal = Path(str(db) + "-wal")
        pending = wal.exists() and wal.stat().st_size > 0
        params = "mode=ro" + ("&immutable=1" if not_writable and not pending else "")
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?{params}", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, db, refusal)
            store.migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise refusal from exc
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _open_server(cls, location: StoreLocation, create: bool) -> "Store":
        from thidua.store import postgres
        conn = postgres.connect(location)            # the year's schema found (store/postgres.py find_year)
        store = cls(conn, None, location=conn.location)
        try:
            schema = conn.location.schema
            if schema and not postgres.schema_exists(conn, schema):
                if not create:
                    raise ThiDuaError(f"Chưa có kho dữ liệu ThiDua {conn.location.name}: cơ sở dữ liệu không có lược "
                                      f"đồ (schema) {schema}.", "Chỉ đúng địa chỉ và năm, hoặc chép kho dữ liệu vào đó "
                                      "bằng «thidua store copy».")
                with store.atomic():
                    postgres.create_schema(conn, conn.location)
            store._check_ours()
            if not create and "migrations" not in store.tables():
                raise ThiDuaError(f"Chưa có kho dữ liệu ThiDua trong cơ sở dữ liệu {location.name}.",
                                  "Chạy «thidua consolidate THƯ_MỤC_HỘP_THƯ --db …» trước (hoặc chép kho dữ liệu vào "
                                  "đó bằng «thidua store copy»), hoặc chỉ đúng địa chỉ.")
            store.migrate()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, path: "str | Path | StoreLocation") -> "Store":
        """An earlier year's store, opened to be read only: no migration is applied, every write is refused
        (PRAGMA query_only; on a server, read-only transactions), so the history never changes a closed year."""
        location = locate(path)
        if not location.is_sqlite:
            from thidua.store import postgres
            conn = postgres.connect(location)
            try:
                conn.execute("SET default_transaction_read_only = on")
                store = cls(conn, None, location=conn.location)
                store._check_ours()
                if not store.tables():
                    raise ThiDuaError(f"Không thấy kho dữ liệu {conn.location.name}.",
                                      "Kiểm tra địa chỉ (và lược đồ schema của năm đó) còn đúng, hoặc chép kho dữ liệu "
                                      "của năm đó về đúng chỗ.")
            except BaseException:
                conn.close()
                raise
            return store
        db = Path(location.path)
        if not db.is_file():
            raise ThiDuaError(f"Không thấy kho dữ liệu {db}.",
                              "Chép kho dữ liệu của năm đó về đúng chỗ (cạnh kho năm nay), hoặc khôi phục từ bản sao lưu.")
        try:
            conn = sqlite3.connect(str(db), timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ThiDuaError(f"Không mở được kho dữ liệu {db}: {exc}.",
                              "Kiểm tra tệp có đúng là kho dữ liệu ThiDua và không bị hỏng.") from exc
        return cls(conn, db)

    @classmethod
    @contextlib.contextmanager
    def made_whole(cls, location: StoreLocation) -> Iterator["Store"]:
        """A new store in its own schema of a server database (a new year's, `location.schema`), made whole or not
        at all: the schema, the migrations and what the block writes are one transaction, committed when the block
        ends. An error, or a connection lost on the way, leaves no schema behind. The schema made meanwhile by
        someone else is refused (the writers' lock orders the two)."""
        from thidua.store import postgres
        conn = postgres.connect(location)
        store = cls(conn, None, location=conn.location)
        try:
            with store.atomic():
                postgres.create_schema(conn, conn.location)
                if "migrations" in store.tables():
                    raise ThiDuaError(f"Kho dữ liệu {conn.location.name} vừa được tạo (từ máy khác) trong lúc chuyển "
                                      "năm; chưa ghi gì thêm.", "Mở sổ làm việc của năm đó để làm việc tiếp.")
                store.migrate()
                yield store
        finally:
            conn.close()

    def has_column(self, table: str, column: str) -> bool:
        """Whether `table` has `column` (an earlier year's store may predate a migration)."""
        return column in self.columns(table)

    @classmethod
    @contextlib.contextmanager
    def using(cls, db: "str | Path | StoreLocation | Store", create: bool = False) -> Iterator["Store"]:
        """The given Store, or one opened on a path or locator for the block and closed after it."""
        if isinstance(db, Store):
            yield db
            return
        store = cls.open(db, create=create)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        self.conn.close()

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the store file and empty it (the store is then one whole file)."""
        if not self.readonly and self.engine == "sqlite":
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ the schema
    def tables(self) -> list[str]:
        if self.engine == "sqlite":
            return [r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        from thidua.store import postgres
        return postgres.tables(self.conn)

    def columns(self, table: str) -> list[str]:
        if self.engine == "sqlite":
            return [r[1] for r in self.conn.execute(f"PRAGMA table_info({_ident(table)})")]
        from thidua.store import postgres
        return postgres.columns(self.conn, table)

    def references(self) -> dict[str, set[str]]:
        """{table: the tables its foreign keys point to} (to copy a store table by table)."""
        if self.engine == "sqlite":
            return {t: {r[2] for r in self.conn.execute(f"PRAGMA foreign_key_list({_ident(t)})")} for t in self.tables()}
        from thidua.store import postgres
        return postgres.references(self.conn)

    def insertion_order(self, table: str) -> str:
        """An ORDER BY that reads a table's rows in the order they were written (SQLite's rowid, the same column
        on a server where queries read it, else the primary key), '' when none matters."""
        if self.engine == "sqlite":
            return "rowid"
        cols = self.columns(table)
        if "rowid" in cols:
            return "rowid"
        key = self._server_catalog("primary_keys").get(table) or ()
        return ", ".join(map(_ident, key))

    def _check_ours(self) -> None:
        """Refuse a database another application uses (tables but not ThiDua's record of migrations)."""
        present = self.tables()
        foreign = not {"meta", "files", "submissions", "cell_values"} <= set(present)  # (a first-release store
        if present and "migrations" in present:                                       # has these, no migrations)
            names = set(self.columns("migrations"))
            foreign = not {"name", "applied_at"} <= names or any(
                not re.match(r"^\d{4}_[a-z0-9_]+$", str(n)) for (n,) in self.conn.execute("SELECT name FROM migrations"))
        if present and foreign:
            shown = ", ".join(present[:5]) + (", …" if len(present) > 5 else "")
            raise ThiDuaError(f"Cơ sở dữ liệu {self.location.name} không phải kho dữ liệu ThiDua: nó đã có các bảng "
                              f"của một ứng dụng khác ({shown}). Chưa ghi gì vào đó.",
                              "Chỉ tới kho dữ liệu ThiDua, hoặc dùng một cơ sở dữ liệu riêng, trống cho ThiDua "
                              "(ví dụ: createdb thidua).")

    # ------------------------------------------------------------ migrations
    def applied_migrations(self) -> list[str]:
        self.conn.execute(self.ddl("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"))
        return [r[0] for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]

    def ddl(self, statement: str) -> str:
        """A migration statement as this engine takes it (see postgres.pg_ddl)."""
        if self.engine == "sqlite":
            return statement
        from thidua.store.postgres import pg_ddl
        return pg_ddl(statement)

    def analyze(self, *tables: str) -> None:
        """Fresh planner statistics for `tables` on a server, after many rows came in at once: PostgreSQL plans
        by them (a table filled in the same transaction, or a temporary table, which autovacuum never analyzes,
        has none, and its joins get nested loops over a whole table: minutes at 100,000 units). SQLite plans
        without them (the big joins fix their order with CROSS JOIN): nothing to do."""
        if self.engine != "sqlite" and tables:
            self.conn.execute("ANALYZE " + ", ".join(_ident(t) for t in tables))

    def migrate(self) -> list[str]:
        """Apply the known migrations not yet applied, in order; refuse a store written by a newer version, and a
        database of another application."""
        if self.engine != "sqlite":
            if self._up_to_date():            # the usual case: nothing to apply, no writers' lock (readers never wait)
                self._check_ours()
                return []
            with self.atomic():               # migrating from two PCs at once: one after the other
                return self._migrate()
        return self._migrate()

    def _up_to_date(self) -> bool:
        """Whether this store has exactly the migrations this version knows (read only: no table is created)."""
        if "migrations" not in self.tables():
            return False
        applied = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
        return applied == {name for name, _ in migrations()}

    def _migrate(self) -> list[str]:
        self._check_ours()
        known = migrations()
        names = {name for name, _ in known}
        newer = [n for n in self.applied_migrations() if n not in names]
        if newer:
            raise ThiDuaError(
                f"Cơ sở dữ liệu {self.name} đã được một phiên bản ThiDua mới hơn ghi "
                f"(bước nâng cấp {', '.join(newer)} mà phiên bản này không biết).",
                "Cài phiên bản ThiDua mới nhất rồi mở lại; đừng mở cơ sở dữ liệu này bằng phiên bản cũ.")
        done: list[str] = []
        for name, sql in known:
            if name in self.applied_migrations():
                continue
            with self.atomic():
                if self.conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    continue            # another process applied it while we waited for the lock
                for statement in statements(sql, self.engine):
                    self.conn.execute(self.ddl(statement))
                self.insert("migrations", {"name": name, "applied_at": now_iso()})
                done.append(name)
        if done:
            self._catalog.clear()
        return done

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def atomic(self) -> Iterator["Store"]:
        """A transaction; nested calls are savepoints. Any error rolls back this level only."""
        outer = self._depth == 0
        if outer and self.refusal is not None:
            raise self.refusal
        name = f"sp{self._depth}"
        if not outer:
            self.conn.execute(f"SAVEPOINT {name}")
        elif self.engine == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            from thidua.store.postgres import write_lock
            self.conn.execute("BEGIN")
            try:
                write_lock(self.conn)
            except BaseException:
                self._rollback()
                raise
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if outer:
                self._rollback()
            elif not self._broken():
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        if not outer:
            self.conn.execute(f"RELEASE {name}")
            return
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _broken(self) -> bool:
        return bool(getattr(self.conn, "broken", False))

    def _rollback(self) -> None:
        if not self._broken():
            with contextlib.suppress(*errors(), ThiDuaError):
                self.conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def run_transaction(self) -> Iterator["Store"]:
        """A whole run of a job that writes in steps (consolidation's chunks). On a server it is one transaction: a
        lost connection leaves the store as it was before the run. A SQLite store commits each step: a killed run
        keeps what it finished, and the next run completes it."""
        if self.engine == "sqlite":
            yield self
            return
        with self.atomic():
            yield self

    @contextlib.contextmanager
    def scratch(self) -> Iterator["Store"]:
        """Many writes to this connection's temporary tables as one transaction: SQLite otherwise commits each row
        of an `executemany` on its own, at twice the time a row (a national inbox's 100,000 rows: +0.13 s and
        more). Deferred: the store itself is neither locked for writing nor changed. On a server, or inside
        another transaction, there is nothing to do."""
        if self._depth or self.engine != "sqlite":
            yield self
            return
        self.conn.execute("BEGIN")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            self._rollback()
            raise
        self._depth -= 1
        try:
            self.conn.execute("COMMIT")
        except BaseException:         # a full temporary disk: nothing left open for the next transaction
            self._rollback()
            raise

    @contextlib.contextmanager
    def snapshot(self) -> Iterator["Store"]:
        """Reads that see one moment of the store while others write (a backup, a copy)."""
        if self._depth:
            yield self
            return
        self.conn.execute("BEGIN" if self.engine == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            self._rollback()

    # ------------------------------------------------------------ the archive and the run lock
    @property
    def archive(self):
        """The write-once archive of received files (store/archive.py): a folder or a table."""
        if self._archive is None:
            from thidua.store.archive import FolderArchive, TableArchive
            if self.engine == "sqlite":
                from thidua.store.db import archive_root
                self._archive = FolderArchive(archive_root(self.path))
            else:
                self._archive = TableArchive(self, self.location.archive_name)
        return self._archive

    @contextlib.contextmanager
    def run_lock(self, wait: float = 30.0, on_wait=None) -> Iterator[tuple[int, ...]]:
        """One consolidation (or rejudge, or mail fetch) at a time per store, whichever PC runs it; released if the
        process dies. Yields the descriptors a forked worker must close so as not to keep the lock alive."""
        if self.engine == "sqlite":
            from thidua.store.db import run_lock
            with run_lock(self.path, wait=wait, on_wait=on_wait) as fd:
                yield (fd,)
            return
        from thidua.store import postgres
        with postgres.run_lock(self.conn, self.location, wait, on_wait):
            fd = self.conn.fileno()
            yield () if fd is None else (fd,)

    def room_for(self, nbytes: int, what: str = ""):
        """A block that will write about `nbytes` into the store: a SQLite store checks its drive has room first
        (thidua.faults); a server keeps the data on its own disks and says itself when they are full."""
        if self.engine != "sqlite":
            return contextlib.nullcontext()
        from thidua import faults
        return faults.expect_space(Path(self.path).parent, nbytes, what=what)

    # ------------------------------------------------------------ writing by column name
    def _server_catalog(self, what: str):
        if what not in self._catalog:
            from thidua.store import postgres
            self._catalog[what] = getattr(postgres, what)(self.conn)
        return self._catalog[what]

    def _insert_sql(self, table: str, cols: Sequence[str], replace: bool) -> str:
        head = f"INTO {_ident(table)} ({', '.join(map(_ident, cols))}) VALUES ({', '.join('?' * len(cols))})"
        if self.engine == "sqlite":
            return f"INSERT {'OR REPLACE ' if replace else ''}{head}"
        if not replace:
            return f"INSERT {head}"
        key = self._server_catalog("primary_keys").get(table, ())
        updates = ", ".join(f"{_ident(c)} = excluded.{_ident(c)}" for c in cols if c not in key)
        return (f"INSERT {head} ON CONFLICT ({', '.join(map(_ident, key))}) DO "
                + (f"UPDATE SET {updates}" if updates else "NOTHING"))

    def insert(self, table: str, row: Mapping[str, Any], *, replace: bool = False) -> int:
        """Insert one row given as {column: value}; returns its id (rowid)."""
        cols = list(row)
        sql = self._insert_sql(table, cols, replace)
        if self.engine == "sqlite":
            return self.conn.execute(sql, [row[c] for c in cols]).lastrowid
        ident = self._server_catalog("identity_columns").get(table)
        if ident is None:
            self.conn.execute(sql, [row[c] for c in cols])
            return 0
        return self.conn.execute(f"{sql} RETURNING {_ident(ident)}", [row[c] for c in cols]).fetchone()[0]

    def insert_many(self, table: str, rows: Iterable[Mapping[str, Any]], *, replace: bool = False) -> int:
        """Insert rows that share their columns (the first row's); returns how many. Rows are streamed."""
        first, rows = _first(rows)
        if first is None:
            return 0
        cols = list(first)
        counted = _Counted(rows)
        self.conn.executemany(self._insert_sql(table, cols, replace), ([r[c] for c in cols] for r in counted))
        return counted.n

    def next_ids(self, table: str, n: int) -> list[int]:
        """`n` ids for new rows of `table` (its INTEGER PRIMARY KEY `id`), inside a write transaction: rows can then be
        written in batches and point to each other. SQLite numbers after the highest id, as it would itself."""
        if n <= 0:
            return []
        if self.engine == "sqlite":
            top = self.scalar(f"SELECT coalesce(max(id), 0) FROM {_ident(table)}")
            return list(range(top + 1, top + 1 + n))
        return [r[0] for r in self.conn.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, {int(n)})").fetchall()]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> int:
        """Many rows given as tuples in `columns` order, the fastest way the engine has (PostgreSQL: COPY)."""
        if not rows:
            return 0
        if self.engine == "sqlite":
            self.conn.executemany(f"INSERT INTO {_ident(table)} ({', '.join(map(_ident, columns))}) "
                                  f"VALUES ({', '.join('?' * len(columns))})", rows)
        else:
            self.conn.copy_rows(table, columns, rows)
        return len(rows)

    def upsert(self, table: str, rows: Iterable[Mapping[str, Any]], key: Sequence[str]) -> int:
        """Insert rows, or update the non-key columns of the row with the same key. Rows are streamed (a national
        register is 100,000 of them)."""
        first, rows = _first(rows)
        if first is None:
            return 0
        cols = list(first)
        updates = ", ".join(f"{_ident(c)} = excluded.{_ident(c)}" for c in cols if c not in key)
        sql = (f"INSERT INTO {_ident(table)} ({', '.join(map(_ident, cols))}) VALUES ({', '.join('?' * len(cols))}) "
               f"ON CONFLICT ({', '.join(map(_ident, key))}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING"))
        counted = _Counted(rows)
        self.conn.executemany(sql, ([r[c] for c in cols] for r in counted))
        return counted.n

    # ------------------------------------------------------------ reading
    def stream(self, sql: str, args: Sequence = ()) -> Iterator[tuple]:
        """The rows of a big query one at a time, never the whole result in memory (SQLite's cursor reads as it
        goes; on a server, a server-side cursor: postgres.PgConnection.stream)."""
        if self.engine == "sqlite":
            return self.conn.execute(sql, args)
        return self.conn.stream(sql, args)

    def rows(self, sql: str, args: Sequence | Mapping = ()) -> list[dict]:
        cur = self.conn.execute(sql, args)
        found = cur.fetchall()
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in found]

    def one(self, sql: str, args: Sequence | Mapping = ()) -> dict | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    def scalar(self, sql: str, args: Sequence | Mapping = ()) -> Any:
        row = self.conn.execute(sql, args).fetchone()
        return row[0] if row else None

    def meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str | None) -> None:
        self.insert("meta", {"key": key, "value": value}, replace=True)


def _first(rows: Iterable) -> tuple[Any, Iterator]:
    """The first of `rows` (None when there is none) and all of them again, without making a list."""
    it = iter(rows)
    for first in it:
        return first, itertools.chain((first,), it)
    return None, iter(())


class _Counted:
    """Iterates `rows`, counting them."""

    def __init__(self, rows: Iterable) -> None:
        self.rows, self.n = rows, 0

    def __iter__(self) -> Iterator:
        for row in self.rows:
            self.n += 1
            yield row


def now_iso() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()
