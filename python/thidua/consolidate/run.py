"""Consolidate a folder of returned files: archive, validate, store, resolve resubmissions, report.

Receipt time: the file's modification time when the store first sees its bytes, marked as such (source
`file`) until the mailbox or the office gives the real one (`thidua received`); a later copy of the same
bytes is a `duplicate` sighting and keeps the first time. The latest valid file of a unit for a
round is `accepted`; earlier valid ones become `superseded`; files with errors are `rejected` and never
replace a valid one. Each chunk of new files is one transaction, so a killed run loses nothing but
the chunk in flight, and the next run (which reads only files whose bytes it has not seen) finishes it. On a
server (PostgreSQL) the whole run is one transaction: a lost connection leaves the store as it was before the run.

Memory does not grow with the number of files: the walk of the inbox is a table of the store (store/scan.py),
files are read by this process and by worker processes a few at a time (a bounded window), each returns rows
ready to insert, and the report keeps its rows compressed (FileRows).
"""
from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import itertools
import marshal
import os
import sys
import time
import zlib
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable, Iterator, NamedTuple

from thidua import faults, processes
from thidua.errors import ThiDuaError
from thidua.fileio import remove_stale_temps
from thidua.intake.result import ERROR, Issue, SubmissionResult
from thidua.store import db as archive
from thidua.store import issues as store_issues
from thidua.store import register, runs, scan, submissions, values
from thidua.store.archive import relative_path
from thidua.store.crossround import decreases
from thidua.consolidate.judging import initial_status, resolve
from thidua.store.definitions import receipt_text
from thidua.store.mail import mail_receipts
from thidua.store.store import Store, errors as store_errors, now_iso
from thidua.text.numbers import format_seconds
from thidua.year.workset import WorkingSet

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CHUNK = int(os.environ.get("THIDUA_CHUNK", "64"))     # new files stored per transaction
PARALLEL_FROM = 24        # read in worker processes too once a run has this many new files
MAX_WORKERS = 3           # worker processes beside this one, which reads files too (at most one per spare CPU)
TASK = 8                  # files a worker reads per request
ANALYZE_FROM = 200        # new files from which a run refreshes a server's planner statistics (a tenth of them new)
WINDOW = 4                # requests queued per worker: what is read ahead of the store, and held meanwhile


@dataclass(slots=True)
class FileRow:
    """What became of one file found in the inbox."""

    file: str
    sha256: str
    unit: str | None
    round: str | None
    status: str                  # accepted | superseded | rejected | duplicate | unreadable
    n_issues: int
    received_at: str | None = None
    new: bool = False            # read and stored by this run
    note: str = ""


class FileRows(Sequence):
    """The rows of a report, kept as compressed blocks of marshalled tuples: a national round's 100,000 rows hold
    6 MB instead of ~50 as objects. A row is a FileRow again when it is read; the sequence only grows. Blocks are
    compressed by a helper thread (zlib lets it run beside this one) while the next rows are made."""

    BLOCK = 4096
    AHEAD = 2            # blocks waiting for the helper at most: rows read faster than packed wait, not pile up

    def __init__(self, rows: Iterable[FileRow | tuple] = ()) -> None:
        self._blocks: list[Future] = []
        self._packed = 0                  # blocks known to be packed
        self._tail: list[tuple] = []
        self.extend(rows)

    def extend(self, rows: Iterable[FileRow | tuple]) -> None:
        tail, block = self._tail, self.BLOCK
        for row in rows:
            tail.append(row if type(row) is tuple else (row.file, row.sha256, row.unit, row.round, row.status,
                                                        row.n_issues, row.received_at, row.new, row.note))
            if len(tail) >= block:
                self._blocks.append(_packer().submit(_pack, tail))
                tail = self._tail = []
                while len(self._blocks) - self._packed > self.AHEAD:
                    self._blocks[self._packed].result()
                    self._packed += 1

    def append(self, row: FileRow | tuple) -> None:
        self.extend((row,))

    def __len__(self) -> int:
        return len(self._blocks) * self.BLOCK + len(self._tail)

    def _block(self, i: int) -> list[tuple]:
        return marshal.loads(zlib.decompress(self._blocks[i].result())) if i < len(self._blocks) else self._tail

    def __iter__(self) -> Iterator[FileRow]:
        for i in range(len(self._blocks) + 1):
            for row in self._block(i):
                yield FileRow(*row)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("FileRows index out of range")
        return FileRow(*self._block(index // self.BLOCK)[index % self.BLOCK])

    def __repr__(self) -> str:
        return f"FileRows({len(self)} rows)"


def _pack(rows: list[tuple]) -> bytes:
    return zlib.compress(marshal.dumps(rows), 1)


_PACKER: list[ThreadPoolExecutor] = []


def _packer() -> ThreadPoolExecutor:
    if not _PACKER:
        _PACKER.append(ThreadPoolExecutor(1, thread_name_prefix="thidua-filerows"))
    return _PACKER[0]


@dataclass
class ConsolidationReport:
    inbox: str
    db_path: str
    run_id: int
    round: str | None
    files: Sequence[FileRow] = field(default_factory=list)
    totals: dict[str, dict[str, float]] = field(default_factory=dict)   # {round: {indicator code: total}}
    n_new: int = 0
    seconds: float = 0.0
    workbooks: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)    # files of the inbox not read, each with its reason
    rejudged: dict | None = None                         # set when the archive was judged again first
    across: list[dict] = field(default_factory=list)     # the plan's checks across rounds (crossround.decreases)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.files:
            out[row.status] = out.get(row.status, 0) + 1
        return out

    def to_json(self) -> dict:
        return {"inbox": self.inbox, "db": self.db_path, "run_id": self.run_id, "round": self.round,
                "n_files": len(self.files), "n_new": self.n_new, "counts": self.counts(),
                "seconds": round(self.seconds, 3), "workbooks": self.workbooks,
                "files": [asdict(r) for r in self.files], "skipped": self.skipped, "rejudged": self.rejudged,
                "totals": self.totals, "across_rounds": self.across}


# ---------------------------------------------------------------- walking the inbox
LOCK_FILE = "tệp khóa tạm của Excel/LibreOffice (có người đang mở tệp gốc), không phải báo cáo"
OS_FILE = "tệp của hệ điều hành (Windows/macOS tự tạo), không phải báo cáo"
TEMP_FILE = "tệp tạm, không phải báo cáo"
OS_NAMES = ("thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db")


def skip_reason(name: str) -> str | None:
    """Why a file found in an inbox is not read (None: it is read). Hidden spreadsheets are read too."""
    low = name.lower()
    if low.startswith("~$") or (low.startswith(".~lock.") and low.endswith("#")):
        return LOCK_FILE
    if low.startswith("._") or low in OS_NAMES:
        return OS_FILE
    if low.endswith(("~", ".tmp", "#")) or ".tmp." in low:
        return TEMP_FILE
    if not low.endswith(SPREADSHEET_SUFFIXES):
        suffix = Path(name).suffix
        return f"không phải tệp bảng tính ({suffix or 'không có đuôi'}); báo cáo phải là tệp .xlsx"
    return None


def is_candidate(name: str) -> bool:
    """Spreadsheets only; lock files, OS metadata and temporary files are skipped (with their reason)."""
    return skip_reason(name) is None


def walk(inbox: Path, skipped: list[dict]) -> Iterator[str]:
    """The path of every file under `inbox` to read (hidden folders and files included), one at a time, in
    os.walk's order (a folder's files by name, then its subfolders by name; links to folders not followed); the
    others go to `skipped` with why."""
    try:
        with os.scandir(inbox) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    folders = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if not entry.is_symlink():
                folders.append(entry.path)
            continue
        reason = skip_reason(entry.name)
        if reason is None:
            yield entry.path
        else:
            skipped.append({"file": entry.path, "reason": reason})
    for folder in folders:
        yield from walk(folder, skipped)


def survey_inbox(inbox: Path) -> tuple[list[Path], list[dict]]:
    """Every file under `inbox` (hidden folders and files included): the ones to read, and the others with why."""
    skipped: list[dict] = []
    return [Path(p) for p in walk(inbox, skipped)], skipped


def walk_inbox(inbox: Path) -> list[Path]:
    return survey_inbox(inbox)[0]


# ---------------------------------------------------------------- reading (in this process and in workers)
class Judged(NamedTuple):
    """A validated file as rows ready to insert (what a worker sends back: no objects per value or issue)."""

    unit: str | None
    round: str | None
    template_version: str | None
    unreadable: bool
    n_errors: int
    n_warnings: int
    values: list[tuple]          # cell_values rows without the submission id
    issues: list[tuple]          # issues rows without the submission id


class Read(NamedTuple):
    """One file read: its hash and size, its archive copy (or its bytes, when the store writes them itself: a
    server) and verdict (None when its bytes were known)."""

    path: str
    sha256: str
    size: int
    archive_path: str | None
    judged: Judged | None
    data: bytes | None = None


class Reader:
    """Reads files: hash; new bytes are validated and archived (write-once) by `archive` when it is a folder this
    process may write (else they go back with the verdict). `known` tells bytes already stored."""

    def __init__(self, plan, key: bytes, units, known, archive) -> None:
        self.plan, self.key, self.units, self.known, self.archive = plan, key, units, known, archive

    def read(self, path: str) -> Read | None:
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        sha = hashlib.sha256(data).hexdigest()
        if self.known(sha):
            return Read(path, sha, len(data), None, None)
        judged = judge(data, path, self.plan, self.key, self.units, sha)
        if self.archive is None:
            return Read(path, sha, len(data), None, judged, data)
        return Read(path, sha, len(data), self.archive.write(sha, data, os.path.splitext(path)[1]), judged)


def judge(data: bytes, path: str, plan, key: bytes, units, sha256: str | None = None) -> Judged:
    """Validate one file's bytes (`sha256`: their hash, when known); never raises (a reader failure is an
    `internal` issue)."""
    try:
        from thidua.intake.validate import validate_bytes
        result = validate_bytes(data, path, plan, key, units, sha256=sha256)
    except Exception as exc:  # one bad file never stops the others
        result = SubmissionResult(path, "", unreadable=True, issues=[Issue(
            "internal", ERROR, None, None, None, None,
            f"Không đọc được tệp ({type(exc).__name__}: {exc}). Đề nghị đơn vị gửi lại tệp biểu mẫu.")])
    return Judged(result.unit, result.round, result.template_version, result.unreadable, result.n_errors,
                  result.n_warnings, [values.value_row(None, v)[1:] for v in result.values],
                  [row[1:] for row in store_issues.issue_rows(None, result.issues)])


class Codes(Mapping):
    """What a worker asks of the register: is a code in it, and of a unit no longer active its status and successor
    (M013). Not 100,000 Unit objects to copy into every worker, nor a set of 100,000 strings (~10 MB in each
    process): the codes sorted, padded to one width and packed in one bytes object (~0.8 MB), found by bisection
    (a few microseconds, once per file); the few inactive units as they are."""

    def __init__(self, units: Mapping) -> None:
        packed = sorted(code.encode() for code in units)
        self.width = max(map(len, packed), default=1)
        self.table = b"".join(code.ljust(self.width, b"\0") for code in packed)
        self.n = len(packed)
        self.inactive = {code: u for code, u in units.items() if not getattr(u, "active", True)}

    def _at(self, i: int) -> bytes:
        return self.table[i * self.width:(i + 1) * self.width]

    def __contains__(self, code) -> bool:
        if not isinstance(code, str):
            return False
        key = code.encode()
        if not key or len(key) > self.width or key.endswith(b"\0"):
            return False
        key = key.ljust(self.width, b"\0")
        i = bisect.bisect_left(range(self.n), key, key=self._at)
        return i < self.n and self._at(i) == key

    def __getitem__(self, code):
        if code in self.inactive:
            return self.inactive[code]
        if code in self:
            return _ACTIVE
        raise KeyError(code)

    def __iter__(self):
        return (self._at(i).rstrip(b"\0").decode() for i in range(self.n))

    def __len__(self) -> int:
        return self.n


_ACTIVE = SimpleNamespace(active=True)
_WORKER: list[Reader] = []


def _init_worker(plan, key, units, location, archive) -> None:
    if location.engine != "sqlite":
        # a server: the run is one transaction, which another connection cannot see into, so a worker asks nothing
        # of the store (no connection, no database driver in its memory); the main process drops bytes it already
        # holds (flush), at the cost of judging again a stored file seen under a new name or time
        _WORKER[:] = [Reader(plan, key, units, lambda sha: False, archive)]
        return
    # its own connection, to ask which bytes earlier chunks stored: read only (no migration, no writer's lock)
    store = Store.open_readonly(location)
    _WORKER[:] = [Reader(plan, key, units, lambda sha: submissions.is_known(store, sha), archive)]


def _read_task(paths: list[str]) -> list[Read | None]:
    return [_WORKER[0].read(p) for p in paths]


# ---------------------------------------------------------------- the run
class _Run:
    """One consolidation run holding the lock: walks the inbox into the store, reads the new and changed files (here
    and in workers, a bounded window ahead), stores them in chunks."""

    def __init__(self, store: Store, run_id: int, plan, units: dict, key: bytes, lock_fds: tuple[int, ...]):
        self.store, self.run_id = store, run_id
        self.plan, self.units, self.key, self.lock_fds = plan, units, key, lock_fds
        self.plan_rounds = {r.code for r in plan.rounds}
        self.n_new = self.n_seen = self.n_found = 0
        self.unreadable: list[FileRow] = []      # files that could not even be opened, with the reason
        self.skipped: list[dict] = []

    def find(self, inbox: Path) -> None:
        """Every file of the inbox into the scan (store/scan.py) with its size and modification time."""
        scan.begin(self.store)
        batch: list[tuple[int, str, int, int]] = []
        n_found = 0
        with self.store.scratch():
            for pos, path in enumerate(walk(inbox, self.skipped)):
                try:
                    st = os.stat(path)
                except OSError as exc:
                    self.unreadable.append(_unopened(Path(path), exc))
                    continue
                batch.append((pos, path, st.st_size, st.st_mtime_ns))
                n_found += 1
                if len(batch) >= scan.PAGE:
                    scan.add(self.store, batch)
                    batch = []
            scan.add(self.store, batch)
        self.n_found = n_found

    def compare(self) -> tuple[int, int]:
        """The files found that the store has not seen so (new or changed) are marked to read. Returns (how many,
        their bytes)."""
        n_todo, size = scan.mark_unchanged(self.store)
        self.n_seen = self.n_found - n_todo       # unchanged files; those read are added as they are stored
        return n_todo, size

    def space(self, n_todo: int, size: int):
        """The room the files to read ask for beside the store, checked before anything is written (a server
        keeps them on its own disk)."""
        return self.store.room_for(store_growth(size), what=f"{n_todo} tệp mới vào kho dữ liệu {self.store.location} "
                                   "và thư mục lưu trữ bên cạnh")

    def run(self, n_todo: int, progress: bool) -> None:
        """The files the survey marked are read; new bytes end up archived and stored."""
        chunk: list[tuple[tuple, Read]] = []
        items = self._items(n_todo, progress)
        with contextlib.closing(items):      # a failed write stops the workers here, not later in a collector
            for row, item in items:
                if item is None:
                    self.unreadable.append(_unopened(Path(row[1]), None))
                    continue
                chunk.append((row, item))
                if len(chunk) >= CHUNK:
                    self.flush(chunk)
                    chunk = []
        self.flush(chunk)

    def _items(self, n_todo: int, progress: bool) -> Iterator[tuple[tuple, Read | None]]:
        """(scan row, what was read) of every file to read, in the order of the scan's list."""
        bar = _progress(n_todo, progress)
        shared = self.store.archive if self.store.archive.in_worker else None    # a folder: written by readers
        here = Reader(self.plan, self.key, self.units, lambda sha: submissions.is_known(self.store, sha), shared)
        workers = min(MAX_WORKERS, processes.cpus() - 1) if n_todo >= PARALLEL_FROM else 0
        pool = self._pool(workers, shared) if workers > 0 else None
        pending: deque[tuple[list, Future | list]] = deque()

        def ready() -> Iterator[tuple[tuple, Read | None]]:
            while pending and (not isinstance(pending[0][1], Future) or pending[0][1].done()):
                rows, got = pending.popleft()
                got = got.result() if isinstance(got, Future) else got
                if bar:
                    bar.update(len(rows))
                yield from zip(rows, got)
        try:
            for page in scan.to_read(self.store):
                for i in range(0, len(page), TASK):
                    rows = page[i:i + TASK]
                    if pool is not None and sum(isinstance(f, Future) for _, f in pending) < WINDOW * workers:
                        pending.append((rows, pool.submit(_read_task, [r[1] for r in rows])))
                    else:                 # the workers have enough queued: read these here
                        pending.append((rows, [here.read(r[1]) for r in rows]))
                    yield from ready()
                    if len(pending) > 4 * WINDOW * max(workers, 1):     # a worker slow on one file: wait for it
                        rows, got = pending.popleft()
                        yield from zip(rows, got.result() if isinstance(got, Future) else got)
                        if bar:
                            bar.update(len(rows))
            while pending:
                rows, got = pending.popleft()
                got = got.result() if isinstance(got, Future) else got
                if bar:
                    bar.update(len(rows))
                yield from zip(rows, got)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                gc.unfreeze()
            if bar:
                bar.close()

    def _pool(self, workers: int, archive) -> ProcessPoolExecutor:
        """Worker processes (thidua.processes: forked while this process is small, else spawned)."""
        pool, fork = processes.pool(workers, _init_worker, (self.plan, self.key, Codes(self.units), self.store.location,
                                                             archive),
                                    close=tuple(self.lock_fds or ()))
        if fork:
            gc.freeze()       # objects made so far stay out of the workers' collections: their pages stay shared
        return pool

    def flush(self, chunk: list[tuple[tuple, Read]]) -> None:
        """Store a chunk of read files in one transaction, a few writes for the whole chunk (each a round trip to a
        server): new bytes' files, submissions, values and issues; every file's sighting and cached stat."""
        if not chunk:
            return
        store = self.store
        with store.atomic():
            fresh, sightings, cached, found, fresh_shas = [], [], [], [], set()
            for (pos, path, size, mtime_ns), item in chunk:
                sha = item.sha256
                mtime = archive.local_iso_ns(mtime_ns)
                if item.judged is not None and sha not in fresh_shas and not submissions.is_known(store, sha):
                    fresh.append((item, mtime))
                    fresh_shas.add(sha)
                sightings.append((sha, path, mtime, self.run_id))
                cached.append((path, size, mtime_ns, sha))
                self.n_seen += 1
                found.append((sha, pos))
            pairs = self._insert(fresh)
            submissions.add_sightings(store, sightings)
            submissions.cache_paths(store, cached)
            scan.read(store, found)
            resolve(store, pairs)
            self.n_new += len(fresh)
            runs.set_progress(store, self.run_id, self.n_new)

    def _insert(self, fresh: list[tuple[Read, str]]) -> set[tuple[str, str]]:
        """Files whose bytes are new to the store, with their submissions, values and issues (`fresh`: (what was
        read, file modification time)); returns the (unit, round) of the valid ones, for resolve()."""
        if not fresh:
            return set()
        store = self.store
        mailed = mail_receipts(store, [item.sha256 for item, _ in fresh])    # the mailbox's time wins over the file's
        pending = [(item.sha256, item.data, os.path.splitext(item.path)[1]) for item, _ in fresh if item.data is not None]
        written = iter(store.archive.write_many(pending))                     # bytes kept in the store (a server)
        ids = store.next_ids("submissions", len(fresh))
        files, subs, value_rows, issue_rows, pairs = [], [], [], [], set()
        for (item, mtime), sub_id in zip(fresh, ids):
            sha, judged = item.sha256, item.judged
            status = initial_status(judged, self.plan_rounds, self.units)
            files.append({"sha256": sha, "archive_path": item.archive_path if item.data is None else next(written),
                          "size": item.size, "first_seen": now_iso()})
            subs.append({"id": sub_id, "sha256": sha, "unit": judged.unit, "round": judged.round,
                         "template_version": judged.template_version, "received_at": mailed.get(sha) or mtime,
                         "received_source": "mail" if sha in mailed else "file", "file_mtime": mtime, "status": status,
                         "n_errors": judged.n_errors, "n_warnings": judged.n_warnings,
                         "file_name": os.path.basename(item.path), "run_id": self.run_id})
            value_rows += [(sub_id, *v) for v in judged.values]
            issue_rows += [(sub_id, *i) for i in judged.issues]
            if status == "superseded":
                pairs.add((judged.unit, judged.round))
        submissions.add_files(store, files, subs)
        values.add_value_rows(store, value_rows)
        store_issues.add_issue_rows(store, issue_rows)
        return pairs


def store_growth(new_bytes: int) -> int:
    """The room a consolidation of `new_bytes` of new files asks for beside the store: the archive copies, the
    store's rows (about a third of the files' size) and its write-ahead log (checkpointed every ~4 MB)."""
    return new_bytes * 3 // 2 + min(new_bytes, 4 << 20)


def _unopened(path: Path, exc: OSError | None) -> FileRow:
    why = (exc.strerror or str(exc)) if exc else "không mở được (bị khóa, bị xóa hoặc không có quyền đọc)"
    return FileRow(str(path), "", None, None, "unreadable", 1, note=f"Không đọc được tệp: {why}")


def _sums(location, plan, round_code: str | None) -> tuple[dict, list[dict]]:
    """The indicator totals and the cross-round checks, through a connection of their own (run in a thread while
    the report's rows are made: the database works without holding Python's lock)."""
    with Store.open(location, create=False) as store:
        return values.indicator_totals(store, round_code), decreases(store, plan, round_code)


def _report_rows(store: Store, run_id: int, round_code: str | None) -> Iterator[tuple]:
    """Every file of the scan as a FileRow tuple (see FileRow), streamed from the store."""
    first = scan.first_sightings_of_copies(store)
    for path, sha, unit, rnd, status, n_issues, received, new, now_at, now_source in scan.seen(store, run_id, round_code):
        note = ""
        if first.get(sha, path) != path:
            status, note = "duplicate", f"Trùng nội dung với tệp {first[sha]}"
        elif status == "superseded" and now_at:
            note = f"Đã có bản mới hơn (nhận lúc {receipt_text(now_at, now_source)})"
        elif status == "rejected" and now_at:
            note = (f"Tệp có lỗi nên không thay bản hợp lệ đã nhận lúc {receipt_text(now_at, now_source)}; "
                    "đang dùng bản hợp lệ đó")
        yield path, sha, unit, rnd, status, n_issues, received, bool(new), note


def consolidate(ws: WorkingSet, inbox: Path, round_code: str | None = None, out: Path | None = None,
                progress: bool = False, wait: float = 30.0, on_wait=None) -> ConsolidationReport:
    """Walk `inbox`, store every new file of the year `ws`, resolve resubmissions; write committee workbook(s) to `out`.

    `out`: a .xlsx path for one round (with several rounds: `<stem>_<ROUND>.xlsx` beside it), or a folder
    that receives one `TongHop_<ROUND>.xlsx` per round.
    """
    started = time.perf_counter()
    inbox, plan = Path(inbox), ws.plan
    if not inbox.is_dir():
        raise ThiDuaError(f"Không thấy thư mục hộp thư {inbox}.", "Chỉ đúng thư mục chứa các tệp đơn vị gửi về.")
    if round_code:
        plan.round(round_code)
    from thidua.intake.validate import check_rules
    check_rules(plan)                     # a plan naming an unknown issue code stops here, not in every file
    unit_map, key = ws.register_map, ws.key()
    ws.check_year()                       # a store of another year: refused before anything is read or written
    first_key_check(ws.location, inbox, plan, key)     # the very first run: never record (nor create) with a stranger's key
    with ws.store(create=True) as store, store.run_lock(wait=wait, on_wait=on_wait) as lock_fds:
        from thidua.consolidate.rejudge import current_fingerprints, rejudge_if_changed
        try:
            run = _Run(store, 0, plan, unit_map, key, lock_fds)
            run.find(inbox.resolve())
            with ThreadPoolExecutor(1, thread_name_prefix="thidua-prints") as beside:
                # the store compares the inbox with its path cache in one statement, which leaves Python's lock
                # free: the register and plan are hashed meanwhile (~0.2 s at 100,000 units)
                prints = beside.submit(current_fingerprints, plan, unit_map, key)
                n_todo, size = run.compare()
                prints = prints.result()
            # a disk without room: said before anything is written; on a server the run is one transaction
            with run.space(n_todo, size), store.run_transaction():
                rejudged = rejudge_if_changed(ws, store, prints)     # a wrong key stops here, nothing written
                register.sync_plan(store, plan, ws.register,
                                   synced=f"{prints['plan_fingerprint']}:{prints['register_fingerprint']}")
                if runs.unfinished(store):        # only an unfinished run leaves archive temporaries behind
                    store.archive.clean_temps()
                run_id = run.run_id = runs.start_run(store, str(inbox.resolve()), "consolidate", ws.who())
                run.run(n_todo, progress)
                runs.finish_run(store, run_id, run.n_seen, run.n_new)
            if run.n_new >= ANALYZE_FROM and run.n_new * 10 >= run.n_seen:    # much of the store is new
                submissions.analyze_received(store)
            report = ConsolidationReport(str(inbox), str(ws.location), run_id, round_code, n_new=run.n_new,
                                         rejudged=rejudged.to_json() if rejudged else None)
            with ThreadPoolExecutor(1, thread_name_prefix="thidua-totals") as beside:   # sums in the store meanwhile
                sums = beside.submit(_sums, ws.location, plan, round_code)
                report.files = FileRows(_report_rows(store, run_id, round_code))
                report.files.extend(run.unreadable)
                report.skipped = run.skipped
                report.totals, report.across = sums.result()
        except store_errors() as exc:
            raise faults.translate(exc, store.path) or ThiDuaError(
                f"Không ghi được vào cơ sở dữ liệu {ws.location}: {exc}.",
                "Kiểm tra ổ đĩa còn chỗ trống và thư mục cho phép ghi, rồi chạy lại (phần đã lưu vẫn giữ).") from exc
        except OSError as exc:
            raise faults.translate(exc) or ThiDuaError(
                f"Không lưu được tệp vào kho lưu trữ {store.archive.name}: {exc}.",
                "Kiểm tra ổ đĩa còn chỗ trống và thư mục cho phép ghi, rồi chạy lại (phần đã lưu vẫn giữ).") from exc
        if out is not None:
            report.workbooks = [str(p) for p in write_workbooks(ws, _rounds_in_scope(ws, round_code), Path(out))]
    report.seconds = time.perf_counter() - started
    return report


def first_key_check(location, inbox: Path, plan, key: bytes, sample: int = 40) -> None:
    """Before the first consolidation records the key's fingerprint in the store: the key ids a sample of the
    inbox's templates name (templates/keys.check_key_ids); files naming another key stop the run (Lỗi/Thử)."""
    from collections import Counter
    from thidua.intake.reader import read_bytes
    from thidua.store import verdicts as V
    from thidua.templates.keys import check_key_ids
    from thidua.store.store import exists
    there = exists(location)
    if there:
        with Store.open(location, create=False) as store:
            if V.recorded_fingerprints(store).get("key_fingerprint"):
                return
    n = sum(1 for _ in walk(inbox.resolve(), []))      # counted, then every step-th taken: no list of the inbox
    step = max(1, n // sample)
    named: Counter = Counter()
    for path in itertools.islice(walk(inbox.resolve(), []), 0, step * sample, step):
        try:
            reading = read_bytes(Path(path).read_bytes(), os.path.basename(path), plan, None,
                                 identity_only=True)      # the meta sheet only: its key id
        except OSError:
            continue
        if reading.result.key_id:
            named[reading.result.key_id] += 1
    check_key_ids(named, key, location if there else None, str(inbox))


def _progress(total: int, wanted: bool):
    """A progress bar on a terminal for long runs (None otherwise)."""
    if wanted and sys.stderr.isatty() and total > 20:
        from tqdm import tqdm
        return tqdm(total=total, desc="Tổng hợp", unit=" tệp", file=sys.stderr)
    return None


def _rounds_in_scope(ws: WorkingSet, round_code: str | None) -> list[str]:
    if round_code:
        return [round_code]
    with ws.store(create=True) as store:
        present = submissions.rounds_present(store)
    return [r.code for r in ws.plan.rounds if r.code in present]


def committee_filename(round_code: str) -> str:
    return f"TongHop_{round_code}.xlsx"


def write_workbooks(ws: WorkingSet, rounds: list[str], out: Path) -> list[Path]:
    """The committee workbook of each round (see `consolidate` for how `out` is read)."""
    from thidua.reports.committee import write_committee_workbook
    paths = []
    for rc in rounds:
        if out.suffix.lower() == ".xlsx":
            target = out if len(rounds) == 1 else out.with_name(f"{out.stem}_{rc}.xlsx")
        else:
            target = out / committee_filename(rc)
        remove_stale_temps(target)        # left by a killed run, even when the workbook itself is up to date
        paths.append(write_committee_workbook(ws, rc, target))
    return paths


def demo_year(ws: WorkingSet, out: Path, say=print) -> None:
    """The demo's year: simulate an inbox, consolidate every round, committee workbooks, status, reminders."""
    from thidua.reports.reminders import write_reminders
    from thidua.demo.simulate import simulate_year
    from thidua.store.tracking import status_rows
    inbox, plan = out / "hop-thu", ws.plan
    if not inbox.exists():
        truth = simulate_year(plan, list(ws.units), ws.key(), inbox)
        say(f"Hộp thư mô phỏng: {len(truth.files)} tệp các đơn vị gửi về -> {inbox}")
    report = consolidate(ws, inbox, out=out / "bao-cao")
    counts = report.counts()
    say(f"Tổng hợp: {len(report.files)} tệp ({report.n_new} mới), {counts.get('accepted', 0)} được dùng, "
        f"{counts.get('rejected', 0) + counts.get('unreadable', 0)} có lỗi, {counts.get('duplicate', 0)} trùng lặp, "
        f"sau {format_seconds(report.seconds)} giây -> {ws.db}")
    if report.across:
        from thidua.store.crossround import decreases_sentence
        say(f"Lưu ý: {decreases_sentence(report.across)} (ghi chú ở trang theo dõi và trang vấn đề của bảng tổng hợp)")
    say(f"Bảng tổng hợp cho Ban Thường vụ: {len(report.workbooks)} tệp -> {out / 'bao-cao'}")
    for rnd in plan.rounds:
        if not rnd.due:
            continue
        rows = status_rows(ws, rnd.code)
        paths = write_reminders(ws, rnd.code, out / "nhac-nho" / rnd.code, templates_dir=out / "templates" / rnd.code)
        n = {s: sum(r["status"] == s for r in rows) for s in ("ok", "late", "errors", "missing")}
        say(f"Kỳ {rnd.code}: {n['ok']} đúng hạn, {n['late']} trễ hạn, {n['errors']} có lỗi, {n['missing']} chưa nộp; "
            f"{len(paths) - 1} thư nhắc -> {out / 'nhac-nho' / rnd.code}")
