"""Backup and restore: one dated zip with a consistent copy of the store, the archive, its manifest and the key.

Restore checks the whole backup first — the manifest, the sha256 and size of every member, the store's
integrity, its migrations (a store written by a newer version is refused) and the key — and changes nothing
until all of it holds. It then works beside the store: archived copies are added write-once (each under a
temporary name, renamed when whole; a damaged copy already there is replaced), the store is written under a
temporary name, migrated and checked there, and renamed onto the store in one step. A restore killed at any
moment leaves the old store or the new one, never a mix and never an empty file under a final name; the
temporaries of killed backups and restores are removed by the next run.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from thidua.errors import ThiDuaError
from thidua.fileio import atomic_path, remove_stale_temps, remove_stale_temps_in
from thidua.store.db import archive_root, clean_archive_temps, run_lock
from thidua.store.store import Store, migrations
from thidua.store.submissions import check_consistency

FORMAT = "thidua-backup/1"
DB_MEMBER = "thidua.db"
KEY_MEMBER = "office.key"
MANIFEST = "manifest.json"
ARCHIVE_DIR = "luu-tru/"
OLD_TEMPS = ("thidua-backup-*", "thidua-restore-*")     # folders of the first backup code, named without a pid
OLD_AGE_S = 3600
_ARCHIVED = re.compile(r"^[^/\\]+/[0-9a-f]{2}/([0-9a-f]{64})(\.[a-z0-9]{1,5})?$")


@dataclass
class Restored:
    db: Path
    key: Path | None
    n_files: int
    key_fingerprint: str | None
    added: int = 0                      # archived copies written (the others were already there, whole)
    repaired: list[str] = field(default_factory=list)      # copies there but damaged, rewritten
    swept: int = 0                      # temporaries of killed runs removed


@dataclass
class Checked:
    """A backup read whole and found sound: its manifest, the store's bytes and what the store says."""

    manifest: dict
    db_bytes: bytes
    migrations: list[str]
    key: bytes | None
    store_key_fingerprint: str | None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(db: Path) -> bytes:
    """A consistent copy of a live store as bytes (SQLite's online backup into memory; writers may go on),
    marked as a rollback-journal file: a single whole file, whatever journal its next home chooses."""
    with Store.open(db, create=False) as store:
        mem = sqlite3.connect(":memory:")
        try:
            store.conn.backup(mem)
            return single_file(mem.serialize())
        finally:
            mem.close()


def single_file(data: bytes) -> bytes:
    """A store image with the header's WAL marks (bytes 18 and 19 = 2) set back to the rollback journal (1), as
    https://www.sqlite.org/fileformat.html#file_format_version_numbers describes: an image in WAL mode cannot be
    opened from memory, and a copy has no log beside it anyway."""
    if len(data) >= 20 and data[18:20] == b"\x02\x02":
        return data[:18] + b"\x01\x01" + data[20:]
    return data


def _facts(data: bytes) -> dict:
    """What a store's bytes say: integrity problems, applied migrations, the key fingerprint, archived paths,
    counts — read from an in-memory copy, so nothing is written anywhere."""
    mem = sqlite3.connect(":memory:")
    try:
        mem.deserialize(single_file(data))
        bad = [r[0] for r in mem.execute("PRAGMA integrity_check") if r[0] != "ok"]
        if bad:
            return {"bad": bad}
        tables = {r[0] for r in mem.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied = [r[0] for r in mem.execute("SELECT name FROM migrations ORDER BY name")] \
            if "migrations" in tables else []
        key = mem.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchone() \
            if "meta" in tables else None
        archived = [r[0] for r in mem.execute("SELECT archive_path FROM files ORDER BY archive_path")] \
            if "files" in tables else []
        counts = {t: mem.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("files", "submissions", "cell_values") if t in tables}
        return {"bad": [], "migrations": applied, "key_fingerprint": key[0] if key else None,
                "archived": archived, "counts": counts}
    except sqlite3.DatabaseError as exc:
        return {"bad": [str(exc)]}
    finally:
        mem.close()


# ---------------------------------------------------------------- backup
class ArchiveIncomplete(ThiDuaError):
    """A file the store records as received is missing from its archive: no whole backup can be made."""


def backup(db: Path, key_file: Path | None, out_dir: Path, now: dt.datetime | None = None) -> Path:
    """Write `thidua-sao-luu-<date>-<time>.zip` into `out_dir`; return its path.

    The zip holds the store (online backup), every archived file under luu-tru/, the key (when given) and
    manifest.json: the sha256 and size of every member, the key's fingerprint, the store's migrations and
    counts. It is written under a temporary name in `out_dir` and renamed when whole."""
    from thidua import faults
    from thidua.templates.signing import fingerprint, load_key
    db, out_dir = Path(db), Path(out_dir)
    if not db.is_file():
        raise ThiDuaError(f"Chưa có kho dữ liệu {db} để sao lưu.", "Chỉ đúng kho dữ liệu bằng --db.")
    key = load_key(key_file) if key_file is not None else None
    moment = (now or dt.datetime.now()).replace(microsecond=0)
    out = _free_name(out_dir, f"thidua-sao-luu-{moment:%Y%m%d-%H%M%S}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise faults.translate(exc, out) or exc
    sweep_backup_temps(out_dir)
    root = archive_root(db)
    data = snapshot(db)
    facts = _facts(data)
    paths = [root.parent / rel for rel in facts.get("archived", [])]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ArchiveIncomplete(f"Thiếu tệp lưu trữ {missing[0]} mà kho dữ liệu ghi là đã nhận.",
                          "Khôi phục thư mục lưu trữ từ bản sao lưu trước rồi sao lưu lại.")
    need = len(data) + sum(p.stat().st_size for p in paths) + (1 << 16)
    members: dict[str, dict] = {DB_MEMBER: {"sha256": _sha(data), "size": len(data)}}
    with faults.expect_space(out_dir, need, what=f"bản sao lưu {out}"), atomic_path(out, sweep=False) as tmp_zip:
        os.chmod(tmp_zip, 0o600)              # it holds the key
        with open(tmp_zip, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(DB_MEMBER, data)
                for rel, path in zip(facts.get("archived", []), paths):
                    blob = path.read_bytes()
                    zf.writestr(ARCHIVE_DIR + rel, blob, compress_type=zipfile.ZIP_STORED)
                    members[ARCHIVE_DIR + rel] = {"sha256": _sha(blob), "size": len(blob)}
                if key is not None:
                    text = (key.hex() + "\n").encode("ascii")
                    zf.writestr(KEY_MEMBER, text)
                    members[KEY_MEMBER] = {"sha256": _sha(text), "size": len(text)}
                manifest = {"format": FORMAT, "created": moment.isoformat(), "db_name": db.name,
                            "archive_name": root.name, "counts": facts.get("counts", {}),
                            "migrations": facts.get("migrations", []),
                            "key_fingerprint": fingerprint(key) if key is not None else None,
                            "store_key_fingerprint": facts.get("key_fingerprint"), "members": members}
                zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            fh.flush()
            os.fsync(fh.fileno())
    return out


def _free_name(out_dir: Path, stem: str) -> Path:
    """`stem`.zip, or `stem`-2.zip, -3 … when a backup of the same second is already there (never over it)."""
    out, n = out_dir / f"{stem}.zip", 1
    while out.exists():
        n += 1
        out = out_dir / f"{stem}-{n}.zip"
    return out


def sweep_backup_temps(folder: Path) -> int:
    """Remove what killed backups and restores left: hidden temporaries of a dead process in `folder`, and the
    folders the first backup code made in the system's temporary folder (an hour old)."""
    n = len(remove_stale_temps_in(folder))
    for base in {Path(tempfile.gettempdir()), Path(folder)}:
        for pattern in OLD_TEMPS:
            for old in base.glob(pattern):
                try:
                    if old.is_dir() and time.time() - old.stat().st_mtime > OLD_AGE_S:
                        shutil.rmtree(old)
                        n += 1
                except OSError:
                    continue
    return n


# ---------------------------------------------------------------- checking
def check(path: Path) -> Checked:
    """Read a backup whole and check it: the manifest, every member's sha256 and size, the names of archived
    members, the store's integrity and migrations (a newer version's store is refused), and the key. Nothing
    is written."""
    from thidua.templates.signing import fingerprint
    path = Path(path)
    bad_hint = "Dùng một bản sao lưu khác."
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
            if manifest.get("format") != FORMAT:
                raise ThiDuaError(f"{path.name} không phải bản sao lưu ThiDua ({manifest.get('format')}).",
                                  "Chọn tệp thidua-sao-luu-….zip do «thidua backup» tạo.")
            names = set(zf.namelist()) - {MANIFEST}
            if names != set(manifest["members"]):
                raise ThiDuaError(f"Bản sao lưu {path.name} thiếu hoặc thừa tệp so với bảng kê.", bad_hint)
            contents: dict[str, bytes] = {}
            for name, want in manifest["members"].items():
                if name.startswith(ARCHIVE_DIR):
                    _archived_name(name, path)
                data = zf.read(name)
                if _sha(data) != want["sha256"] or len(data) != want.get("size", len(data)):
                    raise ThiDuaError(f"Tệp {name} trong bản sao lưu {path.name} bị hỏng (sai mã băm).", bad_hint)
                if not name.startswith(ARCHIVE_DIR):
                    contents[name] = data
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ThiDuaError(f"Không đọc được bản sao lưu {path}: {exc}.",
                          "Chọn tệp thidua-sao-luu-….zip do «thidua backup» tạo, còn nguyên vẹn.") from exc
    data = contents.get(DB_MEMBER)
    if data is None:
        raise ThiDuaError(f"Bản sao lưu {path.name} không có kho dữ liệu.", bad_hint)
    facts = _facts(data)
    if facts["bad"]:
        raise ThiDuaError(f"Kho dữ liệu trong bản sao lưu bị hỏng: {'; '.join(facts['bad'][:3])}.", bad_hint)
    known = {name for name, _ in migrations()}
    newer = [m for m in facts["migrations"] if m not in known]
    if newer:
        raise ThiDuaError(
            f"Bản sao lưu {path.name} do một phiên bản ThiDua mới hơn tạo (bước nâng cấp {', '.join(newer)} mà "
            "phiên bản này không biết); chưa thay đổi gì.",
            "Cài phiên bản ThiDua mới nhất rồi khôi phục lại; kho dữ liệu hiện có vẫn nguyên như trước.")
    key = None
    if KEY_MEMBER in contents:
        try:
            key = bytes.fromhex(contents[KEY_MEMBER].decode("ascii").strip())
        except ValueError as exc:
            raise ThiDuaError(f"Khóa trong bản sao lưu {path.name} bị hỏng.", bad_hint) from exc
        if manifest.get("key_fingerprint") not in (None, fingerprint(key)):
            raise ThiDuaError(f"Khóa trong bản sao lưu {path.name} không khớp dấu vân tay ghi trong bảng kê.",
                              bad_hint)
        if facts["key_fingerprint"] and facts["key_fingerprint"] != fingerprint(key):
            raise ThiDuaError(f"Khóa trong bản sao lưu {path.name} (dấu vân tay {fingerprint(key)}) không phải "
                              f"khóa của kho dữ liệu trong đó ({facts['key_fingerprint']}).", bad_hint)
    archived = {ARCHIVE_DIR + rel for rel in facts["archived"]}
    absent = sorted(archived - set(manifest["members"]))
    if absent:
        raise ThiDuaError(f"Bản sao lưu {path.name} thiếu {len(absent)} tệp lưu trữ mà kho dữ liệu trong đó ghi "
                          f"là đã nhận (ví dụ {absent[0]}).", bad_hint)
    return Checked(manifest, data, facts["migrations"], key, facts["key_fingerprint"])


def _archived_name(name: str, backup_path: Path) -> str:
    """The archive path a member is restored to: `<archive folder>/<2 hex>/<sha256><suffix>`, nothing else."""
    rel = name[len(ARCHIVE_DIR):]
    if not _ARCHIVED.match(rel) or PurePosixPath(rel).name[:2] != PurePosixPath(rel).parent.name:
        raise ThiDuaError(f"Bản sao lưu {backup_path.name} có tệp lưu trữ mang tên lạ: {name}.",
                          "Dùng một bản sao lưu khác.")
    return rel


# ---------------------------------------------------------------- restore
def restore(path: Path, db: Path, key_file: Path | None, force: bool = False) -> Restored:
    """Check a backup whole, then restore it beside the store and swap the store in one rename.

    Refuses to replace an existing store, or a key file holding another key, without `force`."""
    from thidua import faults
    from thidua.templates.signing import fingerprint
    checked = check(path)
    db = Path(db)
    root = archive_root(db)
    if (db.exists() or root.exists()) and not force:
        raise ThiDuaError(f"Đã có kho dữ liệu {db} (hoặc thư mục lưu trữ {root.name}); khôi phục sẽ thay nó.",
                          "Chọn chỗ khác bằng --db, hoặc thêm --force nếu chắc chắn muốn thay.")
    key_data = None
    if checked.key is not None and key_file is not None:
        key_data = (checked.key.hex() + "\n").encode("ascii")
        current = _read_key(key_file)
        if current is not None and current != checked.key and not force:
            raise ThiDuaError(f"Đã có tệp khóa {key_file} (dấu vân tay {fingerprint(current)}) khác khóa trong bản "
                              f"sao lưu ({fingerprint(checked.key)}).",
                              "Chỉ chỗ ghi khóa khác bằng --key, hoặc thêm --force để thay.")
    elif checked.key is None and checked.store_key_fingerprint and key_file is not None and not force:
        current = _read_key(key_file)
        if current is not None and fingerprint(current) != checked.store_key_fingerprint:
            raise ThiDuaError(f"Bản sao lưu không có khóa, và khóa {key_file} (dấu vân tay {fingerprint(current)}) "
                              f"không phải khóa của kho dữ liệu trong đó ({checked.store_key_fingerprint}).",
                              "Chép đúng tệp khóa của văn phòng vào đó trước, hoặc thêm --force.")
    members = {name: info for name, info in checked.manifest["members"].items() if name.startswith(ARCHIVE_DIR)}
    todo, repaired = _archive_todo(members, root.parent)
    need = len(checked.db_bytes) + sum(members[name]["size"] for name in todo) + (1 << 16)
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise faults.translate(exc, db) or exc
    with run_lock(db, wait=0), faults.expect_space(db.parent, need, what=f"kho dữ liệu khôi phục {db}"):
        swept = len(remove_stale_temps(db)) + clean_archive_temps(root) + sweep_backup_temps(db.parent)
        if todo:
            with zipfile.ZipFile(path) as zf:
                for name in todo:
                    _write_once(root.parent / name[len(ARCHIVE_DIR):], zf.read(name), members[name]["sha256"])
        with atomic_path(db, sweep=False) as staged:
            staged.write_bytes(single_file(checked.db_bytes))
            with Store.open(staged, create=False) as store:      # migrated and checked beside the store
                problems = check_consistency(store, db)
            faults.using_store(db)
            if problems:
                raise ThiDuaError(f"Kho dữ liệu khôi phục không nhất quán: {'; '.join(problems[:3])}; chưa thay "
                                  "kho dữ liệu hiện có.", "Dùng một bản sao lưu khác.")
            key_tmp = _stage_key(key_file, key_data) if key_data is not None else None
            _quiesce(db)
        if key_tmp is not None:
            os.replace(key_tmp, key_file)
    return Restored(db, key_file if key_data is not None else None, len(members),
                    fingerprint(checked.key) if checked.key else checked.store_key_fingerprint,
                    len(todo), repaired, swept)


def _read_key(key_file: Path) -> bytes | None:
    try:
        return bytes.fromhex(Path(key_file).read_text(encoding="ascii", errors="replace").strip())
    except (OSError, ValueError):
        return None


def _archive_todo(members: dict[str, dict], base: Path) -> tuple[list[str], list[str]]:
    """Archive members to write: absent ones, and ones present but not whole (listed as repaired too)."""
    from thidua.fileio import sha256_file
    todo, repaired = [], []
    for name, info in members.items():
        target = base / name[len(ARCHIVE_DIR):]
        if not target.exists():
            todo.append(name)
        elif target.stat().st_size != info["size"] or sha256_file(target) != info["sha256"]:
            todo.append(name)
            repaired.append(str(target))
    return todo, repaired


def _write_once(target: Path, data: bytes, sha256: str) -> None:
    """An archived copy, written under a temporary name and renamed when whole (never an empty final file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{sha256}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o444)
    if target.exists():
        os.chmod(target, 0o644)           # a damaged copy: replaced (Windows refuses to replace a read-only file)
    os.replace(tmp, target)


def _stage_key(key_file: Path, data: bytes) -> Path:
    """The key written whole under a temporary name beside `key_file` (renamed right after the store)."""
    key_file = Path(key_file)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(key_file)
    fd, tmp = tempfile.mkstemp(prefix=f".{key_file.stem}.{os.getpid()}.", suffix=".tmp" + key_file.suffix,
                               dir=key_file.parent)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    return Path(tmp)


def _quiesce(db: Path) -> None:
    """Make the old store a single file before it is replaced: its write-ahead log checkpointed into it and
    removed, so that no log of the old store is ever applied to the new one."""
    if db.exists():
        try:
            with Store.open(db, create=False) as old:
                old.checkpoint()
        except ThiDuaError:
            pass                        # a damaged or newer store being replaced with --force: its log goes with it
    for side in ("-wal", "-shm", "-journal"):
        Path(str(db) + side).unlink(missing_ok=True)
