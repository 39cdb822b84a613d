"""The Store object: the one connection policy, nested transactions, named migrations, inserts by column name."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from thidua.errors import ThiDuaError

BUSY_TIMEOUT_S = 60          # one wait on a locked database, for every caller
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations() -> list[tuple[str, str]]:
    """The migrations this version knows, in order: (name, sql), name like '0001_initial'."""
    found = []
    for entry in resources.files("thidua.store.migrations").iterdir():
        if _MIGRATION.match(entry.name):
            found.append((entry.name[:-4], entry.read_text(encoding="utf-8")))
    return sorted(found)


def statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit on its own)."""
    out, buf = [], []
    for line in sql.splitlines():
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
    """Owns one SQLite connection to the consolidated store. Every read and write goes through it.

    Policy: autocommit outside `atomic()`, WAL journal, foreign keys on, one busy timeout. `atomic()`
    opens BEGIN IMMEDIATE at the outermost level and a SAVEPOINT inside; a failed COMMIT is rolled back.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, refusal: ThiDuaError | None = None,
                 remote: str | None = None):
        self.conn = conn
        self.path = path
        self.refusal = refusal          # why this store cannot be written now (reading works), or None
        self.remote = remote            # why it is on a network share or a synced folder, or None
        self._depth = 0

    @property
    def readonly(self) -> bool:
        return self.refusal is not None

    # ------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> "Store":
        """Open (or create) the store at `path`.

        Where it lives decides the connection: on a local disk, WAL; on a network share or in a folder a cloud
        client syncs (thidua.volumes), the rollback journal (DELETE) with full syncs, because SQLite's WAL
        needs shared memory that a network file system cannot give (https://www.sqlite.org/wal.html,
        https://www.sqlite.org/useovernet.html). A store that cannot be written (a read-only file, folder or
        medium, a full disk) is opened for reading: reading commands work, and the first write is refused
        with the reason (thidua.faults)."""
        from thidua import faults
        from thidua.volumes import volume
        db = Path(path)
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
            store = cls(conn, db, None, remote)
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
    def open_readonly(cls, path: str | Path) -> "Store":
        """An earlier year's store, opened to be read only: no migration is applied, every write is refused
        (PRAGMA query_only), so the history never changes a closed year."""
        db = Path(path)
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

    def has_column(self, table: str, column: str) -> bool:
        """Whether `table` has `column` (an earlier year's store may predate a migration)."""
        return any(r[1] == column for r in self.conn.execute(f"PRAGMA table_info({_ident(table)})"))

    @classmethod
    @contextlib.contextmanager
    def using(cls, db: "str | Path | Store", create: bool = False) -> Iterator["Store"]:
        """The given Store, or one opened on a path for the block and closed after it."""
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
        if not self.readonly:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ migrations
    def applied_migrations(self) -> list[str]:
        self.conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        return [r[0] for r in self.conn.execute("SELECT name FROM migrations ORDER BY name")]

    def migrate(self) -> list[str]:
        """Apply the known migrations not yet applied, in order; refuse a store written by a newer version."""
        known = migrations()
        names = {name for name, _ in known}
        newer = [n for n in self.applied_migrations() if n not in names]
        if newer:
            raise ThiDuaError(
                f"Cơ sở dữ liệu {self.path.name} đã được một phiên bản ThiDua mới hơn ghi "
                f"(bước nâng cấp {', '.join(newer)} mà phiên bản này không biết).",
                "Cài phiên bản ThiDua mới nhất rồi mở lại; đừng mở cơ sở dữ liệu này bằng phiên bản cũ.")
        done: list[str] = []
        for name, sql in known:
            if name in self.applied_migrations():
                continue
            with self.atomic():
                if self.conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone():
                    continue            # another process applied it while we waited for the lock
                for statement in statements(sql):
                    self.conn.execute(statement)
                self.insert("migrations", {"name": name, "applied_at": now_iso()})
                done.append(name)
        return done

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def atomic(self) -> Iterator["Store"]:
        """A transaction; nested calls are savepoints. Any error rolls back this level only."""
        outer = self._depth == 0
        if outer and self.refusal is not None:
            raise self.refusal
        name = f"sp{self._depth}"
        self.conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self
        except BaseException:
            self._depth -= 1
            if outer:
                self.conn.execute("ROLLBACK")
            else:
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
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------ writing by column name
    def insert(self, table: str, row: Mapping[str, Any], *, replace: bool = False) -> int:
        """Insert one row given as {column: value}; returns its rowid."""
        cols = list(row)
        sql = (f"INSERT {'OR REPLACE ' if replace else ''}INTO {_ident(table)} "
               f"({', '.join(map(_ident, cols))}) VALUES ({', '.join('?' * len(cols))})")
        return self.conn.execute(sql, [row[c] for c in cols]).lastrowid

    def insert_many(self, table: str, rows: Iterable[Mapping[str, Any]], *, replace: bool = False) -> int:
        """Insert rows that share their columns; returns how many."""
        rows = list(rows)
        if not rows:
            return 0
        cols = list(rows[0])
        sql = (f"INSERT {'OR REPLACE ' if replace else ''}INTO {_ident(table)} "
               f"({', '.join(map(_ident, cols))}) VALUES ({', '.join('?' * len(cols))})")
        self.conn.executemany(sql, ([r[c] for c in cols] for r in rows))
        return len(rows)

    def upsert(self, table: str, rows: Iterable[Mapping[str, Any]], key: Sequence[str]) -> int:
        """Insert rows, or update the non-key columns of the row with the same key."""
        rows = list(rows)
        if not rows:
            return 0
        cols = list(rows[0])
        updates = ", ".join(f"{_ident(c)} = excluded.{_ident(c)}" for c in cols if c not in key)
        sql = (f"INSERT INTO {_ident(table)} ({', '.join(map(_ident, cols))}) VALUES ({', '.join('?' * len(cols))}) "
               f"ON CONFLICT ({', '.join(map(_ident, key))}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING"))
        self.conn.executemany(sql, ([r[c] for c in cols] for r in rows))
        return len(rows)

    # ------------------------------------------------------------ reading
    def rows(self, sql: str, args: Sequence | Mapping = ()) -> list[dict]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur]

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


def now_iso() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()
