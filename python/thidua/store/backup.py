"""Backup and restore: one dated zip with a consistent copy of the store, the archive, its manifest and the key."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.fileio import atomic_path
from thidua.store.db import archive_root
from thidua.store.store import BUSY_TIMEOUT_S, Store

FORMAT = "thidua-backup/1"
DB_MEMBER = "thidua.db"
KEY_MEMBER = "office.key"
MANIFEST = "manifest.json"
ARCHIVE_DIR = "luu-tru/"


@dataclass
class Restored:
    db: Path
    key: Path | None
    n_files: int
    key_fingerprint: str | None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _online_copy(db: Path, target: Path) -> None:
    """A consistent copy of a live store by SQLite's online backup API (readers and writers may go on)."""
    with Store.open(db, create=False) as store:
        dest = sqlite3.connect(str(target))
        try:
            store.conn.backup(dest)
        finally:
            dest.close()


def backup(db: Path, key_file: Path | None, out_dir: Path, now: dt.datetime | None = None) -> Path:
    """Write `thidua-sao-luu-<date>-<time>.zip` into `out_dir`; return its path.

    The zip holds the store (online backup), every archived file under luu-tru/, the key (when given) and
    manifest.json: the sha256 and size of every member, the key's fingerprint and the store's counts."""
    from thidua.templates.signing import fingerprint, load_key
    db = Path(db)
    if not db.is_file():
        raise ThiDuaError(f"Chưa có kho dữ liệu {db} để sao lưu.", "Chỉ đúng kho dữ liệu bằng --db.")
    key = load_key(key_file) if key_file is not None else None
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    out = Path(out_dir) / f"thidua-sao-luu-{stamp}.zip"
    root = archive_root(db)
    with tempfile.TemporaryDirectory(prefix="thidua-backup-") as tmp:
        copy = Path(tmp) / DB_MEMBER
        _online_copy(db, copy)
        with Store.open(copy, create=False) as snap:
            archived = [r["archive_path"] for r in snap.rows("SELECT archive_path FROM files ORDER BY archive_path")]
            counts = {t: snap.scalar(f"SELECT count(*) FROM {t}") for t in ("files", "submissions", "cell_values")}
            recorded = snap.meta("key_fingerprint")
        snapshot = copy.read_bytes()
        members: dict[str, dict] = {DB_MEMBER: {"sha256": _sha(snapshot), "size": len(snapshot)}}
        with atomic_path(out) as tmp_zip:
            os.chmod(tmp_zip, 0o600)              # it holds the key
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(DB_MEMBER, snapshot)
                for rel in archived:
                    path = root.parent / rel
                    if not path.is_file():
                        raise ThiDuaError(f"Thiếu tệp lưu trữ {path} mà kho dữ liệu ghi là đã nhận.",
                                          "Khôi phục thư mục lưu trữ từ bản sao lưu trước rồi sao lưu lại.")
                    data = path.read_bytes()
                    zf.writestr(ARCHIVE_DIR + rel, data, compress_type=zipfile.ZIP_STORED)
                    members[ARCHIVE_DIR + rel] = {"sha256": _sha(data), "size": len(data)}
                if key is not None:
                    text = (key.hex() + "\n").encode("ascii")
                    zf.writestr(KEY_MEMBER, text)
                    members[KEY_MEMBER] = {"sha256": _sha(text), "size": len(text)}
                manifest = {"format": FORMAT, "created": (now or dt.datetime.now()).replace(microsecond=0).isoformat(),
                            "db_name": db.name, "archive_name": root.name, "counts": counts,
                            "key_fingerprint": fingerprint(key) if key is not None else None,
                            "store_key_fingerprint": recorded, "members": members}
                zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    return out


def check(path: Path) -> dict:
    """Read a backup and check every member against the manifest; return the manifest."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
            if manifest.get("format") != FORMAT:
                raise ThiDuaError(f"{Path(path).name} không phải bản sao lưu ThiDua ({manifest.get('format')}).",
                                  "Chọn tệp thidua-sao-luu-….zip do «thidua backup» tạo.")
            names = set(zf.namelist()) - {MANIFEST}
            if names != set(manifest["members"]):
                raise ThiDuaError(f"Bản sao lưu {Path(path).name} thiếu hoặc thừa tệp so với bảng kê.",
                                  "Dùng một bản sao lưu khác.")
            for name, want in manifest["members"].items():
                if _sha(zf.read(name)) != want["sha256"]:
                    raise ThiDuaError(f"Tệp {name} trong bản sao lưu {Path(path).name} bị hỏng (sai mã băm).",
                                      "Dùng một bản sao lưu khác.")
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ThiDuaError(f"Không đọc được bản sao lưu {path}: {exc}.",
                          "Chọn tệp thidua-sao-luu-….zip do «thidua backup» tạo, còn nguyên vẹn.") from exc
    return manifest


def restore(path: Path, db: Path, key_file: Path | None, force: bool = False) -> Restored:
    """Check a backup, then put its store, archive and key in place; refuse to overwrite without `force`."""
    from thidua.templates.signing import fingerprint
    manifest = check(path)
    db = Path(db)
    root = archive_root(db)
    if (db.exists() or root.exists()) and not force:
        raise ThiDuaError(f"Đã có kho dữ liệu {db} (hoặc thư mục lưu trữ {root.name}); khôi phục sẽ thay nó.",
                          "Chọn chỗ khác bằng --db, hoặc thêm --force nếu chắc chắn muốn thay.")
    key_data = None
    with zipfile.ZipFile(path) as zf:
        if KEY_MEMBER in manifest["members"] and key_file is not None:
            key_data = zf.read(KEY_MEMBER)
            if key_file.exists() and key_file.read_bytes().strip() != key_data.strip() and not force:
                raise ThiDuaError(f"Đã có tệp khóa {key_file} khác khóa trong bản sao lưu.",
                                  "Chỉ chỗ ghi khóa khác bằng --key, hoặc thêm --force để thay.")
        with tempfile.TemporaryDirectory(prefix="thidua-restore-", dir=db.parent if db.parent.exists() else None) as tmp:
            copy = Path(tmp) / DB_MEMBER
            copy.write_bytes(zf.read(DB_MEMBER))
            con = sqlite3.connect(str(copy), timeout=BUSY_TIMEOUT_S)
            try:
                bad = [r[0] for r in con.execute("PRAGMA integrity_check") if r[0] != "ok"]
            finally:
                con.close()
            if bad:
                raise ThiDuaError(f"Kho dữ liệu trong bản sao lưu bị hỏng: {'; '.join(bad[:3])}.",
                                  "Dùng một bản sao lưu khác.")
            n = 0
            for name in manifest["members"]:
                if name.startswith(ARCHIVE_DIR):
                    target = root.parent / name[len(ARCHIVE_DIR):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.exists():
                        os.chmod(target, 0o644)
                    target.write_bytes(zf.read(name))
                    os.chmod(target, 0o444)
                    n += 1
            db.parent.mkdir(parents=True, exist_ok=True)
            for side in ("-wal", "-shm"):
                Path(str(db) + side).unlink(missing_ok=True)
            os.replace(copy, db)
    if key_data is not None:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(key_file) as tmp_key:
            os.chmod(tmp_key, 0o600)
            tmp_key.write_bytes(key_data)
        os.chmod(key_file, 0o600)
    with Store.open(db, create=False) as store:        # the restored store opens and every archived copy is there
        missing = [r["archive_path"] for r in store.rows("SELECT archive_path FROM files")
                   if not (root.parent / r["archive_path"]).is_file()]
    if missing:
        raise ThiDuaError(f"Sau khi khôi phục còn thiếu {len(missing)} tệp lưu trữ (ví dụ {missing[0]}).",
                          "Dùng một bản sao lưu khác.")
    return Restored(db, key_file if key_data is not None else None, n,
                    manifest.get("key_fingerprint") or (fingerprint(bytes.fromhex(key_data.decode().strip()))
                                                        if key_data else None))
