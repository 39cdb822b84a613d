"""Helper processes (consolidation's readers, the committee workbook's lists): how they start and that they end.

Forked (Linux) while this process is small: a forked process starts at once, sharing this one's pages. But its
resident memory counts every page it shares, so once this process holds more than FORK_BELOW_MB (a caller holding
a national register: 100,000 units are ~45 MB) helpers are spawned: a clean interpreter importing only what it
needs (~0.2 s), whose memory is its own. Elsewhere (Windows, macOS) they are spawned. Either way a helper dies
with the process that started it (Linux: PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor

FORK_BELOW_MB = float(os.environ.get("THIDUA_FORK_BELOW_MB", "64"))


def resident_mb() -> float:
    """This process's resident memory now (Linux; elsewhere 0)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def forking() -> bool:
    """Whether helpers started now are forked (see the module's docstring)."""
    return sys.platform.startswith("linux") and resident_mb() < FORK_BELOW_MB


def pool(workers: int, initializer=None, initargs: tuple = (),
         close: tuple[int, ...] = ()) -> tuple[ProcessPoolExecutor, bool]:
    """`workers` helper processes (and whether they are forked); `initializer(*initargs)` runs in each after
    `die_with_parent`. `close`: file descriptors a forked helper must not keep open (the run lock). A caller that
    forks should keep its objects out of the helpers' collections (gc.freeze)."""
    fork = forking()
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork" if fork else "spawn"),
                                   initializer=_start,
                                   initargs=(os.getpid(), close if fork else (), initializer, initargs))
    return executor, fork


def _start(parent: int, close: tuple[int, ...], initializer, initargs: tuple) -> None:
    for fd in close:
        with contextlib.suppress(OSError):
            os.close(fd)
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def die_with_parent(parent: int) -> None:
    """In a helper: end when the process that started it ends (Linux), and now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)           # PR_SET_PDEATHSIG
    if os.getppid() != parent:                                # the parent was killed before prctl took effect
        os._exit(1)
