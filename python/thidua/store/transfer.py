"""Moving a store between engines: `thidua store copy` (SQLite <-> PostgreSQL, archive included), and backup /
restore on either engine through the one backup format (a SQLite store, its archive, manifest and key in a zip)."""
from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.store.archive import sha_of
from thidua.store.locator import StoreLocation, locate
from thidua.store.store import Store, exists

BATCH = 5000
HELD = ("files", "submissions", "units", "meta", "runs")      # a target holding rows here is not empty


@dataclass
class Copied:
    """What a copy moved: one year's store (`year`, None when it records none), rows per table, archived files and
    their bytes, how long it took; `source_location` / `target_location` the stores themselves (on a server, the
    year's schema)."""

    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    n_files: int = 0
    n_bytes: int = 0
    seconds: float = 0.0
    year: int | None = None
    source_location: StoreLocation | None = None
    target_location: StoreLocation | None = None


def table_order(store: Store) -> list[str]:
    """Every table, each after the tables its foreign keys point to."""
    refs = store.references()
    done: list[str] = []

    def visit(table: str, path: tuple[str, ...] = ()) -> None:
        if table in done or table in path:
            return
        for target in sorted(refs.get(table, ())):
            visit(target, path + (table,))
        done.append(table)

    for table in store.tables():
        visit(table)
    return done


def holds_data(store: Store) -> bool:
    present = set(store.tables())
    return any(store.scalar(f'SELECT count(*) FROM "{t}"') for t in HELD if t in present)


def copy_store(source, target, force: bool = False, year: int | None = None) -> Copied:
    """Copy the store at `source` into `target` exactly: every table's rows in the order they were written, and
    every archived file (checked against its sha256). A store holds one year: a server database holding several
    years' stores (a schema each) is copied from one year at a time (`year`, else the database's only store), into
    the place of that year in the target database (its schema, made if needed: store/postgres.py). Both are opened
    (and so migrated) by this version first; the target is written in one transaction, so a failed copy leaves it
    as it was. A target that already holds a store is refused unless `force` (then its rows are replaced)."""
    started = time.perf_counter()
    src_loc, dst_loc = locate(source), locate(target)
    if not src_loc.is_sqlite and not src_loc.schema:
        if year is not None:
            src_loc = src_loc.for_year(year)
        elif src_loc.year is None:
            from thidua.store.postgres import only_store
            src_loc = only_store(src_loc)
    with Store.open(src_loc, create=False) as src:
        from thidua.store.history import store_year
        held = store_year(src)
        if year is not None and held not in (None, int(year)):
            raise ThiDuaError(f"Kho dữ liệu {src.location} là của năm {held}, không phải năm {year}.",
                              f"Bỏ --year, hoặc chỉ kho dữ liệu của năm {year}.")
        if not dst_loc.is_sqlite and not dst_loc.schema and held is not None:
            from thidua.store.postgres import place_year
            dst_loc = place_year(dst_loc, held)
        if src.location.same_store(dst_loc):
            raise ThiDuaError(f"Nguồn và đích là cùng một kho dữ liệu {src.location}.", "Chỉ hai kho dữ liệu khác nhau.")
        return _copy_into(src, dst_loc, force, Copied(src.location.name, dst_loc.name, year=held), started)


def _copy_into(src: Store, dst_loc: StoreLocation, force: bool, done: Copied, started: float) -> Copied:
    with Store.open(dst_loc, create=True) as dst:
        done.source_location, done.target_location = src.location, dst.location
        if src.applied_migrations() != dst.applied_migrations():          # both migrated by this version
            raise ThiDuaError(f"Hai kho dữ liệu {src.location} và {dst_loc} khác phiên bản cấu trúc.",
                              "Mở cả hai bằng cùng một phiên bản ThiDua rồi chép lại.")
        if holds_data(dst) and not force:
            raise ThiDuaError(f"Kho dữ liệu đích {dst_loc} đã có dữ liệu; chép vào sẽ thay nó. Chưa chép gì.",
                              "Chỉ một kho dữ liệu trống (một tệp mới, một cơ sở dữ liệu mới tạo), hoặc thêm --force "
                              "nếu chắc chắn muốn thay.")
        order = [t for t in table_order(dst) if t in set(src.tables())]
        with src.snapshot(), dst.atomic():
            for table in reversed(order):
                dst.conn.execute(f'DELETE FROM "{table}"')
            for table in order:
                done.rows[table] = _copy_table(src, dst, table)
            done.n_files, done.n_bytes = _copy_archive(src, dst)
            if dst.engine == "postgresql":
                from thidua.store.postgres import reset_identities
                reset_identities(dst.conn)
            for table in order:                      # what was read is what was written
                if table != "archive_blobs" and dst.scalar(f'SELECT count(*) FROM "{table}"') != done.rows[table]:
                    raise ThiDuaError(f"Chép bảng {table} không đủ dòng; chưa ghi gì vào {dst_loc}.",
                                      "Chạy lại lệnh chép.")
    done.rows.pop("archive_blobs", None)
    done.seconds = time.perf_counter() - started
    return done


def _copy_table(src: Store, dst: Store, table: str) -> int:
    """One table's rows in written order, in batches, by the columns both stores have (a server's own `rowid`
    column is left to the server: it numbers the rows again in the same order)."""
    if table == "archive_blobs":
        return 0                                    # the archive is copied by content, below
    cols = [c for c in dst.columns(table) if c in set(src.columns(table)) and c != "rowid"]
    names = ", ".join(f'"{c}"' for c in cols)
    order = src.insertion_order(table)
    cur = src.conn.execute(f'SELECT {names} FROM "{table}"' + (f" ORDER BY {order}" if order else ""))
    n = 0
    while True:
        rows = cur.fetchmany(BATCH)
        if not rows:
            break
        dst.insert_rows(table, cols, rows)
        n += len(rows)
    return n


def _copy_archive(src: Store, dst: Store) -> tuple[int, int]:
    n = size = 0
    for (path,) in src.conn.execute("SELECT archive_path FROM files ORDER BY sha256").fetchall():
        try:
            data = src.archive.read(path)
        except OSError as exc:
            raise ThiDuaError(f"Thiếu tệp lưu trữ {path} của kho dữ liệu {src.location}; chưa chép gì.",
                              "Khôi phục thư mục lưu trữ từ bản sao lưu rồi chép lại.") from exc
        if hashlib.sha256(data).hexdigest() != sha_of(path):
            raise ThiDuaError(f"Tệp lưu trữ {path} của kho dữ liệu {src.location} bị hỏng (sai mã băm); chưa chép gì.",
                              "Khôi phục tệp đó từ bản sao lưu rồi chép lại.")
        dst.archive.put(path, data)
        n += 1
        size += len(data)
    return n, size


# ---------------------------------------------------------------- backup and restore on either engine
def backup(db, key_file: Path | None, out_dir: Path, now=None) -> Path:
    """`thidua backup`: the backup zip of a store on either engine. A server's store is first copied into a
    SQLite store in a temporary folder (one consistent moment), so every backup has the same form and restores
    into either engine."""
    from thidua.store import backup as files
    location = locate(db)
    if location.is_sqlite:
        return files.backup(location.path, key_file, out_dir, now)
    if not exists(location):
        raise ThiDuaError(f"Chưa có kho dữ liệu {location} để sao lưu.", "Chỉ đúng kho dữ liệu bằng --db.")
    with tempfile.TemporaryDirectory(prefix="thidua-sao-luu-") as tmp:
        copy = Path(tmp) / "thidua.db"
        copy_store(location, copy)
        return files.backup(copy, key_file, out_dir, now)


def restore(path: Path, db, key_file: Path | None, force: bool = False):
    """`thidua restore`: check a backup, then put it in place on either engine. Into a server: restored into a
    SQLite store in a temporary folder first (every check of the backup made there), then copied in one
    transaction (the server's store is replaced in one step, or not at all)."""
    from thidua.store import backup as files
    location = locate(db)
    if location.is_sqlite:
        return files.restore(path, location.path, key_file, force)
    if exists(location) and not force:
        with Store.open(location, create=False) as store:
            if holds_data(store):
                raise ThiDuaError(f"Đã có kho dữ liệu {location}; khôi phục sẽ thay nó.",
                                  "Chọn chỗ khác bằng --db, hoặc thêm --force nếu chắc chắn muốn thay.")
    with tempfile.TemporaryDirectory(prefix="thidua-khoi-phuc-") as tmp:
        done = files.restore(Path(path), Path(tmp) / "thidua.db", key_file, force)
        copy_store(Path(tmp) / "thidua.db", location, force=True)
    done.db = location
    return done


def restore_keeping(path: Path, db, key_file: Path | None, backup_dir: Path):
    """The workbook's «Khôi phục dữ liệu»: the chosen backup is checked whole, the store in place now (if any) is
    backed up into `backup_dir` first, then replaced. The office key is never replaced from here: a backup made
    with another key is refused (its templates would not be the office's). Returns (Restored, the safety backup)."""
    from thidua.store import backup as files
    from thidua.templates.signing import fingerprint, load_key
    checked = files.check(Path(path))
    current = load_key(key_file) if key_file is not None and Path(key_file).is_file() else None
    theirs = fingerprint(checked.key) if checked.key is not None else checked.store_key_fingerprint
    if current is not None and theirs and theirs != fingerprint(current):
        raise ThiDuaError(f"Bản sao lưu {Path(path).name} được làm với khóa khác (dấu vân tay {theirs}), không phải khóa "
                          f"của văn phòng cạnh sổ này ({fingerprint(current)}); chưa khôi phục gì.",
                          "Chọn bản sao lưu của chính văn phòng này; nếu thật sự cần đổi khóa, nhờ người quản trị "
                          "chạy «thidua restore … --force».")
    safety = _keep_current(db, key_file, Path(backup_dir)) if exists(locate(db)) else None
    return restore(Path(path), db, key_file, force=True), safety


def _keep_current(db, key_file: Path | None, backup_dir: Path) -> Path:
    """A backup of the store about to be replaced; when its archive is damaged (often why one restores) and the store
    is a file, the store alone is kept (`thidua-truoc-khoi-phuc-<time>.sqlite`), so nothing it records is lost."""
    import datetime as dt
    from thidua.fileio import atomic_write_bytes
    from thidua.store import backup as files
    try:
        return backup(db, key_file, backup_dir)
    except files.ArchiveIncomplete:          # any other failure (a full disk, a read-only folder) stops the restore
        location = locate(db)
        if not location.is_sqlite:
            raise
        name = f"thidua-truoc-khoi-phuc-{dt.datetime.now():%Y%m%d-%H%M%S}.sqlite"
        return atomic_write_bytes(backup_dir / name, files.snapshot(location.path))
