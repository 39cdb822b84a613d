"""The write-once archive of every file received, named by content hash: a folder beside a SQLite store, a table
(bytea by sha256) inside a PostgreSQL store, so that a PC needs nothing but the server's address."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from thidua.store import db as folder


def relative_path(name: str, sha256: str, suffix: str) -> str:
    """How a file is recorded in `files.archive_path`: `<archive name>/<2 hex>/<sha256><suffix>` (both engines)."""
    return f"{name}/{sha256[:2]}/{sha256}{suffix.lower()}"


def sha_of(archive_path: str) -> str:
    return PurePosixPath(archive_path).name[:64]


class FolderArchive:
    """Files under `<store folder>/<store name>-luu-tru/`, read-only once written. Worker processes write them
    directly (the bytes never travel back to the main process)."""

    in_worker = True

    def __init__(self, root: Path):
        self.root = Path(root)              # .../thidua-luu-tru
        self.name = self.root.name

    def path(self, archive_path: str) -> Path:
        """Recorded paths are relative to the store's folder (a store copied under another name keeps them)."""
        return self.root.parent / archive_path

    def write(self, sha256: str, data: bytes, suffix: str) -> str:
        written = folder.archive_bytes(self.root, sha256, data, suffix)
        return written.relative_to(self.root.parent).as_posix()

    def put(self, archive_path: str, data: bytes) -> None:
        """A copy at the path a store recorded (a store copied in keeps its paths)."""
        folder.write_once(self.path(archive_path), sha_of(archive_path), data)

    def write_many(self, files: list[tuple[str, bytes, str]]) -> list[str]:
        return [self.write(sha, data, suffix) for sha, data, suffix in files]

    def read(self, archive_path: str) -> bytes:
        return self.path(archive_path).read_bytes()

    def exists(self, archive_path: str) -> bool:
        return self.path(archive_path).is_file()

    @contextlib.contextmanager
    def as_file(self, archive_path: str) -> Iterator[Path]:
        yield self.path(archive_path)

    def clean_temps(self) -> int:
        return folder.clean_archive_temps(self.root)


class TableArchive:
    """Rows of `archive_blobs` (sha256, data) written in the store's own transaction: a file and its submission
    are committed together or not at all."""

    in_worker = False

    def __init__(self, store, name: str):
        self.store = store
        self.name = name

    def write(self, sha256: str, data: bytes, suffix: str) -> str:
        self.store.conn.execute("INSERT INTO archive_blobs (sha256, data) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                (sha256, data))
        return relative_path(self.name, sha256, suffix)

    def put(self, archive_path: str, data: bytes) -> None:
        self.write(sha_of(archive_path), data, "")

    def write_many(self, files: list[tuple[str, bytes, str]]) -> list[str]:
        """(sha256, data, suffix) of many files in one write; their recorded paths."""
        self.store.conn.executemany("INSERT INTO archive_blobs (sha256, data) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                    [(sha, data) for sha, data, _ in files])
        return [relative_path(self.name, sha, suffix) for sha, _, suffix in files]

    def read(self, archive_path: str) -> bytes:
        data = self.store.scalar("SELECT data FROM archive_blobs WHERE sha256 = ?", (sha_of(archive_path),))
        if data is None:
            raise FileNotFoundError(2, "không có trong kho lưu trữ trên máy chủ", archive_path)
        return bytes(data)

    def exists(self, archive_path: str) -> bool:
        return self.store.scalar("SELECT count(*) FROM archive_blobs WHERE sha256 = ?", (sha_of(archive_path),)) > 0

    @contextlib.contextmanager
    def as_file(self, archive_path: str) -> Iterator[Path]:
        """The archived bytes as a temporary read-only file (for readers that want a path), removed after."""
        data = self.read(archive_path)
        with tempfile.TemporaryDirectory(prefix="thidua-luu-tru-") as tmp:
            path = Path(tmp) / PurePosixPath(archive_path).name
            path.write_bytes(data)
            os.chmod(path, 0o444)
            yield path

    def clean_temps(self) -> int:
        return 0
