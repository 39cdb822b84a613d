"""Safe output: every file is written under a temporary name and renamed into place."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path, sweep: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds. With `sweep`,
    temporaries of `path` left by a killed run are removed first (a writer of many files in one folder sweeps
    the folder once with `remove_stale_temps_in` and passes sweep=False: one scan, not one per file).

    Whatever fails, the temporary is removed and nothing half-written is left under the final name; a fault
    of the machine met while writing (a full disk, a read-only folder or file) becomes the Vietnamese
    «Lỗi/Thử» naming `path` (thidua.faults), not a traceback."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if sweep:
            remove_stale_temps(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.{os.getpid()}.", suffix=".tmp" + target.suffix,
                                   dir=target.parent)
    except OSError as exc:                  # its folder cannot be made or written: said about `path`
        raise write_error(exc, target, mine=True) or exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        os.chmod(tmp_path, 0o666 & ~_umask())   # mkstemp makes 0600; outputs get the usual permissions
        yield tmp_path
        os.replace(tmp_path, target)
    except Exception as exc:
        err = write_error(exc, target, tmp_path)
        if err is None:
            raise
        raise err from exc
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink(missing_ok=True)
        for side in tmp_path.parent.glob(glob_escape(tmp_path.name) + "-*"):    # -wal, -shm, -parts beside it
            with contextlib.suppress(OSError):
                shutil.rmtree(side) if side.is_dir() and not side.is_symlink() else side.unlink()


def write_error(exc: BaseException, target: Path, tmp: Path | None = None, mine: bool = False):
    """The «Lỗi/Thử» for an OSError met while writing `target` (through its temporary `tmp`), or None when the
    error is not about writing it (a source file that cannot be read is reported as it is). `mine`: the error
    came from preparing `target` itself (its folder), whatever file it names."""
    from thidua import faults
    from thidua.errors import ThiDuaError
    if isinstance(exc, ThiDuaError):
        return None
    found = next((e for e in faults.causes(exc) if isinstance(e, OSError)), None)
    if found is None:
        return None
    name, full = Path(os.path.abspath(found.filename or ".")), Path(os.path.abspath(target))
    ours = name == full or (name.parent == full.parent and name.name.startswith(f".{target.stem}."))
    named = bool(found.filename) and not mine and not ours
    written = None
    if tmp is not None:
        with contextlib.suppress(OSError):
            written = tmp.stat().st_size
    if named:
        return faults.translate(found, written=written)
    err = faults.translate(OSError(found.errno, found.strerror, str(target)), written=written)
    return err or ThiDuaError(f"Không ghi được tệp {target}: {found.strerror or found}.",
                              "Đóng tệp nếu đang mở trong Excel và kiểm tra quyền ghi thư mục, rồi chạy lại.")


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporaries of `target` left by a killed run: `.<stem>.<pid>.<random>.tmp<suffix>` (and a
    temporary store's -wal/-shm/-journal) whose process is gone (on Windows, or for names without a process
    id: an hour old)."""
    return _remove_dead(target.parent.glob(f".{glob_escape(target.stem)}.*.tmp{glob_escape(target.suffix)}*"))


def remove_stale_temps_in(folder: str | Path) -> list[Path]:
    """The same for every output of `folder`: `.<stem>.<pid>.<random>.tmp<suffix>` names whose process is gone."""
    return _remove_dead(Path(folder).glob(".*.*.tmp*"))


@contextlib.contextmanager
def scratch_folder(kind: str) -> Iterator[Path]:
    """A private working folder in the system's temporary folder, `.thidua-<kind>.<pid>.<random>.tmp`, removed
    after the block; the ones of killed runs (their process gone) are removed first. Nothing of the office's
    data stays in /tmp after a fault."""
    base = Path(tempfile.gettempdir())
    _remove_dead(base.glob(".thidua-*.*.tmp"))
    folder = Path(tempfile.mkdtemp(prefix=f".thidua-{kind}.{os.getpid()}.", suffix=".tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_dead(candidates) -> list[Path]:
    removed = []
    for tmp in candidates:
        head = tmp.name[1:].rpartition(".tmp")[0]
        parts = head.rsplit(".", 2)
        pid = parts[1] if len(parts) == 3 else ""
        if _running(int(pid)) if pid.isdigit() and os.name != "nt" else _age(tmp) < 3600:
            continue
        with contextlib.suppress(OSError):
            if tmp.is_dir() and not tmp.is_symlink():      # a staging folder (LibreOffice's output, XlsxWriter's parts)
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed.append(tmp)
    return removed


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _age(path: Path) -> float:
    import time
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _running(pid: int) -> bool:
    """Whether a process with this id still runs (POSIX; on Windows the age of the file decides)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes, sweep: bool = True) -> Path:
    with atomic_path(path, sweep) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
