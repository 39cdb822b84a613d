"""Safe output: every file is written under a temporary name and renamed into place."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.{os.getpid()}.", suffix=".tmp" + target.suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())   # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporaries of `target` left by a killed run: `.<stem>.<pid>.<random>.tmp<suffix>` whose
    process is gone (on Windows, or for names without a process id: an hour old)."""
    removed = []
    for tmp in target.parent.glob(f".{glob_escape(target.stem)}.*.tmp{glob_escape(target.suffix)}"):
        pid = tmp.name[len(target.stem) + 2:].split(".", 1)[0]
        if _running(int(pid)) if pid.isdigit() and os.name != "nt" else _age(tmp) < 3600:
            continue
        with contextlib.suppress(OSError):
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


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
