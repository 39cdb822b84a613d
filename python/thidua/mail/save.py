"""Save an attachment into the inbox folder whole or not at all, never over a different file of the same name."""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.fileio import sha256_file
from thidua.mail.attachments import safe_name

TEMP_PREFIX = ".thidua-mail-"
TEMP_SUFFIX = ".part"


def clean_temps(folder: Path) -> int:
    """Remove partial files left by a fetch that was killed or hit a full disk."""
    n = 0
    if folder.is_dir():
        for tmp in folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                n += 1
    return n


def _candidates(name: str):
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    yield name
    for i in range(2, 10_000):
        yield f"{stem} ({i}).{ext}" if ext else f"{stem} ({i})"


def _place(tmp: Path, target: Path) -> bool:
    """Move `tmp` to `target` unless `target` exists (then False)."""
    try:
        os.link(tmp, target)            # atomic and never replaces an existing name
        tmp.unlink()
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.EACCES) and os.name != "nt":
            raise
    if os.name == "nt":                 # no hard links here (FAT, some shares): rename refuses an existing name
        try:
            os.rename(tmp, target)
            return True
        except FileExistsError:
            return False
    if target.exists():
        return False
    os.replace(tmp, target)
    return True


def save_attachment(folder: Path, name: str, data: bytes, sha256: str, received: dt.datetime | None) -> tuple[Path, bool]:
    """(path, written): the file under its own name, or `name (2).xlsx` when another file holds the name.

    An identical file already there is reused (written=False). The saved file's modification time is
    the receipt time. Any OSError (disk full, folder locked or read-only) leaves no partial file.
    """
    base = safe_name(name)
    tmp = folder / f"{TEMP_PREFIX}{sha256[:16]}.{os.getpid()}{TEMP_SUFFIX}"
    try:
        for candidate in _candidates(base):
            target = folder / candidate
            if target.exists():
                if target.is_file() and target.stat().st_size == len(data) and sha256_file(target) == sha256:
                    return target, False
                continue
            if not tmp.exists():
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                if received is not None:
                    stamp = received.timestamp()
                    os.utime(tmp, (stamp, stamp))
            if _place(tmp, target):
                return target, True
        raise ThiDuaError(f"Thư mục {folder} đã có quá nhiều tệp tên {base}.", "Dọn bớt các bản trùng tên rồi chạy lại.")
    except OSError as exc:
        raise ThiDuaError(f"Không lưu được tệp «{base}» vào thư mục hộp thư {folder}: {exc.strerror or exc}.",
                          "Kiểm tra ổ đĩa còn chỗ trống, thư mục cho phép ghi và không bị khóa, rồi chạy lại "
                          "«Nhận tệp từ hộp thư»: lần sau tiếp tục từ thư này, không tệp nào bị lưu dở.") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
