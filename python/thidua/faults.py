"""Faults of the machine as domain errors: a full disk, a read-only store or folder, an I/O error — one translation.

Both faces (cli.main and the xlwings face's `entry`) and the writers (`fileio.atomic_path`, the Store) pass
what they catch through `translate`: an OSError ENOSPC/EDQUOT/EFBIG, EROFS, EACCES/EPERM, EIO, or an SQLite
"full" / "readonly" / "disk I/O" / "unable to open" error becomes a ThiDuaError naming the real cause —
for a full disk, where (folder, drive or mount point) and how much space is free and needed; for a
read-only store, which file and why (the medium, the file's read-only mark, the folder's permissions).
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import sqlite3
import stat
from pathlib import Path
from typing import Iterator

from thidua.errors import ThiDuaError
from thidua.volumes import Volume, existing, human, volume

FULL = {errno.ENOSPC, errno.EFBIG} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())
READ_ONLY = {errno.EROFS}
DENIED = {errno.EACCES, errno.EPERM}
IO = {errno.EIO} | ({errno.ENXIO} if hasattr(errno, "ENXIO") else set())
MARGIN = 1 << 20                  # a pre-flight check keeps this much free beyond the estimate

# What the running job declared it is about to write: [(folder, bytes)], innermost last.
_expected: contextvars.ContextVar[tuple[tuple[Path, int], ...]] = contextvars.ContextVar("expected", default=())
# The store the running job uses (SQLite's errors do not name their file).
_store: contextvars.ContextVar[Path | None] = contextvars.ContextVar("store", default=None)


# ---------------------------------------------------------------- what the job expects
@contextlib.contextmanager
def expect_space(folder: str | Path, nbytes: int, what: str = "") -> Iterator[None]:
    """Check that `folder`'s drive has room for `nbytes` (plus a margin) before anything is written, and let a
    later «disk full» say how much the job needed."""
    folder = Path(folder)
    if nbytes <= 0:                       # nothing known: a full disk says what was written when it ran out
        yield
        return
    free = _free(folder)
    if free is not None and free < nbytes + MARGIN:
        raise disk_full(folder, nbytes + MARGIN, what=what, before=True)
    token = _expected.set(_expected.get() + ((folder, nbytes + MARGIN),))
    try:
        yield
    except Exception as exc:              # said while the need is known (SQLite's «full» comes bare)
        fault = None if isinstance(exc, ThiDuaError) else translate(exc)
        if fault is None:
            raise
        raise fault from exc
    finally:
        _expected.reset(token)


def using_store(path: str | Path) -> None:
    """Remember the store the job works on: SQLite's errors are then explained with its path."""
    _store.set(Path(path))


def _free(path: Path) -> int | None:
    try:
        import shutil
        return shutil.disk_usage(existing(path)).free
    except OSError:
        return None


def _declared_need(path: Path) -> int | None:
    """The need declared for the volume of `path` (the innermost declaration on that volume)."""
    try:
        dev = os.stat(existing(path)).st_dev
    except OSError:
        return None
    for folder, need in reversed(_expected.get()):
        try:
            if os.stat(existing(folder)).st_dev == dev:
                return need
        except OSError:
            continue
    return None


# ---------------------------------------------------------------- the messages
def _where(vol: Volume) -> str:
    kind = f" ({vol.remote or vol.fstype})" if vol.remote or vol.fstype else ""
    return f"ổ {vol.mount}{kind}"


def disk_full(path: str | Path, need: int | None = None, written: int | None = None, what: str = "",
              before: bool = False) -> ThiDuaError:
    """«The disk is full»: where, how much is free, how much the job needs (declared, given, or at least what
    it had written when space ran out). `before`: said by a check made before anything was written."""
    path = Path(path)
    vol = volume(path)
    need = need or _declared_need(path)
    target = what or f"{'thư mục' if path.is_dir() else 'tệp'} {path}"
    free = vol.free if vol.free is not None else 0
    if need:
        amount = f"cần khoảng {human(need)}"
        fix = f"Giải phóng ít nhất {human(max(need - free, MARGIN))} trên {_where(vol)}"
    else:
        at_least = max(written or 0, MARGIN)
        amount = f"cần thêm ít nhất {human(at_least)}" + (" (đã ghi được chừng ấy thì hết chỗ)" if written else "")
        fix = f"Giải phóng ít nhất {human(at_least)} trên {_where(vol)}"
    head = "Ổ đĩa đầy" if free < MARGIN else "Ổ đĩa không đủ chỗ trống"
    kept = ("chưa ghi gì" if before else
            "những gì đã ghi xong được giữ nguyên, không có tệp nào ghi dở dưới tên thật")
    return ThiDuaError(
        f"{head}: không ghi được {target}. {_where(vol).capitalize()} còn trống {human(free)} "
        f"trên {human(vol.total)}, {amount}.",
        f"{fix} (xóa tệp không cần, dọn Thùng rác) hoặc chọn thư mục trên ổ khác, rồi chạy lại; {kept}.")


def why_not_writable(path: str | Path) -> str | None:
    """Why `path` (a file, or a file to be created in its folder) cannot be written; None if nothing says so."""
    path = Path(path)
    here = existing(path)
    vol = volume(here)
    if vol.readonly:
        return f"{_where(vol)} được gắn chỉ đọc (đĩa CD/DVD, thẻ nhớ gạt khóa, ổ mạng chỉ cho đọc)"
    if path.is_file():
        mode = path.stat().st_mode
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            return f"tệp được đánh dấu chỉ đọc (thuộc tính Read-only, quyền {stat.filemode(mode)})"
        if not os.access(path, os.W_OK):
            return f"tài khoản {_user()} không có quyền ghi tệp này (quyền {stat.filemode(mode)})"
    folder = here if here.is_dir() and here != path else path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        mode = folder.stat().st_mode
        return f"thư mục {folder} không cho phép ghi (quyền {stat.filemode(mode)}, tài khoản {_user()})"
    return None


def read_only(path: str | Path, reason: str | None = None, store: bool = False) -> ThiDuaError:
    """«Cannot write»: which file and why, with the fix for that cause."""
    path = Path(path)
    reason = reason or why_not_writable(path) or "hệ điều hành từ chối ghi"
    what = f"kho dữ liệu {path}" if store else f"tệp {path}"
    if "gắn chỉ đọc" in reason:
        hint = (f"Chép {'kho dữ liệu cùng thư mục lưu trữ bên cạnh nó' if store else 'tệp'} sang ổ ghi được "
                "(ổ cứng của máy) rồi chỉ tới đó" + (" bằng --db" if store else "") + ", hoặc gắn lại ổ cho phép ghi.")
    elif "đánh dấu chỉ đọc" in reason:
        hint = (f"Bỏ đánh dấu chỉ đọc của tệp (Windows: chuột phải > Properties > bỏ chọn Read-only; "
                f"Linux: chmod u+w \"{path}\"), rồi chạy lại.")
    elif "thư mục" in reason:
        hint = ("Cho phép ghi thư mục đó (Windows: Properties > Security; Linux: chmod u+w), hoặc chuyển "
                + ("kho dữ liệu cùng thư mục lưu trữ" if store else "tệp") + " sang thư mục ghi được, rồi chạy lại.")
        if store:
            hint += " SQLite cần tạo tệp nhật ký (-wal, -journal) ngay cạnh kho dữ liệu."
    else:
        hint = "Đóng tệp nếu đang mở trong Excel, kiểm tra quyền ghi, rồi chạy lại."
    return ThiDuaError(f"Không ghi được {what}: {reason}.", hint)


def io_error(path: str | Path, detail: str) -> ThiDuaError:
    vol = volume(path)
    where = f" ({vol.remote})" if vol.remote else ""
    return ThiDuaError(f"Lỗi đọc/ghi ổ đĩa khi dùng {path}{where}: {detail}.",
                       "Kiểm tra ổ còn cắm và kết nối mạng còn thông (ổ USB bị rút, ổ mạng bị ngắt, đĩa hỏng), "
                       "rồi chạy lại; những gì đã ghi xong được giữ nguyên.")


def _user() -> str:
    try:
        import getpass
        return getpass.getuser()
    except Exception:          # no user name in this environment
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


# ---------------------------------------------------------------- the translation
def causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__] + [a for a in getattr(e, "args", ()) if isinstance(a, BaseException)]


def translate(exc: BaseException, path: str | Path | None = None, written: int | None = None) -> ThiDuaError | None:
    """The domain error for a fault of the machine found in `exc` (or its causes); None if it is none.

    `path`: the file being written when the error names none (a write() on an open file, SQLite)."""
    for e in causes(exc):
        if isinstance(e, ThiDuaError):
            return e
        if isinstance(e, OSError) and e.errno is not None:
            where = Path(e.filename) if isinstance(e.filename, (str, Path)) and e.filename else None
            where = where or (Path(path) if path else None)
            if e.errno in FULL:
                return disk_full(where or Path.cwd(), written=written)
            if where is None:
                continue
            if e.errno in READ_ONLY or e.errno in DENIED:
                return read_only(where)
            if e.errno in IO:
                return io_error(where, e.strerror or str(e))
        if isinstance(e, sqlite3.Error):
            found = _sqlite(e, Path(path) if path else _store.get())
            if found is not None:
                return found
    return None


def _sqlite(e: sqlite3.Error, db: Path | None) -> ThiDuaError | None:
    name = getattr(e, "sqlite_errorname", "") or ""
    text = str(e).lower()
    if db is None:
        return None
    if name == "SQLITE_FULL" or "database or disk is full" in text:
        return disk_full(db, what=f"kho dữ liệu {db}")
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return read_only(db, store=True)
    if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) or "disk i/o error" in text \
            or "unable to open database" in text:
        free = _free(db)
        if free is not None and free < MARGIN:
            return disk_full(db, what=f"kho dữ liệu {db}")
        reason = why_not_writable(db)
        if reason:
            return read_only(db, reason, store=True)
        return io_error(db, str(e))
    return None


def domain_error(exc: BaseException) -> ThiDuaError | None:
    """What a face shows for an exception: the domain error itself, a machine fault translated, any other
    OSError naming its file; None for a bug (which keeps its traceback)."""
    found = translate(exc)
    if found is not None:
        return found
    os_error = next((e for e in causes(exc) if isinstance(e, OSError)), None)
    if os_error is not None:
        name = f" {os_error.filename}" if os_error.filename else ""
        return ThiDuaError(f"Không truy cập được{name}: {os_error.strerror or os_error}.",
                           "Kiểm tra đường dẫn và quyền ghi, đóng tệp nếu đang mở trong Excel, rồi chạy lại.")
    return None


def message_lines(err: ThiDuaError) -> list[str]:
    """The two lines every face shows: «Lỗi: …» and «Thử: …»."""
    return [f"Lỗi: {err.message}"] + ([f"Thử: {err.hint}"] if err.hint else [])


def quiet_unraisable(hook):
    """A sys.unraisablehook that stays silent on machine faults met again while a half-written file object is
    garbage-collected (zipfile's __del__ after a full disk): the error itself was already reported."""
    def unraisable(info):
        exc = info.exc_value
        if (isinstance(exc, OSError) and exc.errno in FULL | READ_ONLY | IO) or \
                (isinstance(exc, ValueError) and "closed file" in str(exc)):
            return
        hook(info)
    return unraisable
