"""Consolidate a folder of returned files: archive, validate, store, resolve resubmissions, report.

Receipt time: the file's modification time when the store first sees its bytes, marked as such (source
`file`) until the mailbox or the office gives the real one (`thidua received`); a later copy of the same
bytes is a `duplicate` sighting and keeps the first time. The latest valid file of a unit for a
round is `accepted`; earlier valid ones become `superseded`; files with errors are `rejected` and never
replace a valid one. Each chunk of new files is one transaction, so a killed run loses nothing but
the chunk in flight, and the next run (which reads only files whose bytes it has not seen) finishes it. On a
server (PostgreSQL) the whole run is one transaction: a lost connection leaves the store as it was before the run.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thidua import faults
from thidua.errors import ThiDuaError
from thidua.fileio import remove_stale_temps
from thidua.intake.result import ERROR, Issue, SubmissionResult
from thidua.store import db as archive
from thidua.store import issues as store_issues
from thidua.store import register, runs, submissions, values
from thidua.store.crossround import decreases
from thidua.consolidate.judging import initial_status, resolve
from thidua.store.definitions import receipt_text
from thidua.store.mail import mail_receipts
from thidua.store.store import Store, errors as store_errors, now_iso
from thidua.text.numbers import format_seconds
from thidua.year.workset import WorkingSet

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
CHUNK = int(os.environ.get("THIDUA_CHUNK", "64"))
PARALLEL_FROM = 24        # validate in worker processes once a run has this many new files


@dataclass
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


@dataclass
class ConsolidationReport:
    inbox: str
    db_path: str
    run_id: int
    round: str | None
    files: list[FileRow] = field(default_factory=list)
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


def survey_inbox(inbox: Path) -> tuple[list[Path], list[dict]]:
    """Every file under `inbox` (hidden folders and files included): the ones to read, and the others with why."""
    found, skipped = [], []
    for folder, dirs, names in os.walk(inbox):
        dirs.sort()
        for n in sorted(names):
            reason = skip_reason(n)
            if reason is None:
                found.append(Path(folder) / n)
            else:
                skipped.append({"file": str(Path(folder) / n), "reason": reason})
    return found, skipped


def walk_inbox(inbox: Path) -> list[Path]:
    return survey_inbox(inbox)[0]


# ---------------------------------------------------------------- reading (in-process or in workers)
_CTX: dict = {}


def _init_worker(plan, key, units, known: frozenset, archive, lock_fds: tuple[int, ...] | None = None) -> None:
    """`archive`: the store's archive when workers write it themselves (a folder), else None (the bytes go back to
    the main process, which writes them in the store's transaction)."""
    _CTX.update(plan=plan, key=key, units=units, known=known, archive=archive)
    if lock_fds is not None:      # a forked worker must not keep the run lock alive if the parent is killed
        for fd in lock_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(Exception):      # and dies with its parent (Linux: PR_SET_PDEATHSIG)
            import ctypes
            import signal
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)
        if os.getppid() != _CTX.get("parent"):    # the parent was killed before prctl took effect
            os._exit(1)


def _read(path: str) -> dict | None:
    """Read one file once: hash it; if its bytes are new, archive them (write-once) and validate them."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    sha = hashlib.sha256(data).hexdigest()
    item = {"path": path, "sha": sha, "size": len(data), "result": None}
    if sha in _CTX["known"]:
        return item
    if _CTX["archive"] is not None:
        item["archive"] = _CTX["archive"].write(sha, data, Path(path).suffix)
    else:
        item["data"] = data
    try:
        from thidua.intake.validate import validate_bytes
        result = validate_bytes(data, path, _CTX["plan"], _CTX["key"], _CTX["units"])
    except Exception as exc:  # one bad file never stops the others
        result = SubmissionResult(path, sha, unreadable=True, issues=[Issue(
            "internal", ERROR, None, None, None, None,
            f"Không đọc được tệp ({type(exc).__name__}: {exc}). Đề nghị đơn vị gửi lại tệp biểu mẫu.")])
    result.file, result.sha256 = path, sha
    item["result"] = result
    return item


# ---------------------------------------------------------------- writing
def _insert(store: Store, run_id: int, fresh: list[tuple[dict, str]], plan_rounds: set,
            units: dict) -> set[tuple[str, str]]:
    """Files whose bytes are new to the store, with their submissions, values and issues, a few writes for the
    whole chunk (each a round trip to a server). `fresh`: (item, file modification time). Returns the (unit, round)
    of the valid ones, for resolve()."""
    if not fresh:
        return set()
    mailed = mail_receipts(store, [item["sha"] for item, _ in fresh])     # the mailbox's time wins over the file's
    pending = [(item["sha"], item["data"], Path(item["path"]).suffix) for item, _ in fresh if "archive" not in item]
    written = iter(store.archive.write_many(pending))                     # bytes kept in the store (a server)
    ids = store.next_ids("submissions", len(fresh))
    files, subs, vals, issues, pairs = [], [], [], [], set()
    for (item, mtime), sub_id in zip(fresh, ids):
        sha, path, result = item["sha"], item["path"], item["result"]
        rel = item["archive"] if "archive" in item else next(written)
        status = initial_status(result, plan_rounds, units)
        files.append({"sha256": sha, "archive_path": rel, "size": item["size"], "first_seen": now_iso()})
        subs.append({"id": sub_id, "sha256": sha, "unit": result.unit, "round": result.round,
                     "template_version": result.template_version, "received_at": mailed.get(sha) or mtime,
                     "received_source": "mail" if sha in mailed else "file", "file_mtime": mtime, "status": status,
                     "n_errors": result.n_errors, "n_warnings": result.n_warnings, "file_name": Path(path).name,
                     "run_id": run_id})
        vals += [values.value_row(sub_id, v) for v in result.values]
        issues += store_issues.issue_rows(sub_id, result.issues)
        if status == "superseded":
            pairs.add((result.unit, result.round))
    submissions.add_files(store, files, subs)
    values.add_value_rows(store, vals)
    store_issues.add_issue_rows(store, issues)
    return pairs


# ---------------------------------------------------------------- the run
class _Run:
    """One consolidation run holding the lock: reads unseen files (in workers when many), stores them in chunks."""

    def __init__(self, store: Store, run_id: int, plan, units: dict, key: bytes, lock_fds: tuple[int, ...]):
        self.store, self.run_id = store, run_id
        self.plan, self.units, self.key, self.lock_fds = plan, units, key, lock_fds
        self.plan_rounds = {r.code for r in plan.rounds}
        self.known = submissions.known_files(store)
        self.cache = submissions.path_cache(store)
        self.sighted = submissions.sightings(store)
        self.new_shas: set[str] = set()
        self.n_new = 0
        self.unreadable: list[FileRow] = []      # files that could not even be opened, with the reason

    def survey(self, paths: list[Path]) -> tuple[list[tuple[str, str]], list[str], dict]:
        """Which files need reading (new or changed since the store saw them): (seen, todo, stats)."""
        seen, todo, stats = [], [], {}
        for path in paths:
            try:
                st = path.stat()
            except OSError as exc:
                self.unreadable.append(_unopened(path, exc))
                continue
            spath = str(path)
            stats[spath] = st
            cached = self.cache.get(spath)
            if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns and cached[2] in self.known:
                seen.append((spath, cached[2]))
            else:
                todo.append(spath)
        todo.sort(key=lambda p: (stats[p].st_mtime_ns, p))     # the earliest of identical copies is the original
        return seen, todo, stats

    def space(self, todo: list[str], stats: dict):
        """The room the files to read ask for beside the store, checked before anything is written (a server
        keeps them on its own disk)."""
        need = store_growth(sum(stats[p].st_size for p in todo))
        return self.store.room_for(need, what=f"{len(todo)} tệp mới vào kho dữ liệu {self.store.location} và thư mục "
                                   "lưu trữ bên cạnh")

    def run(self, seen: list, todo: list[str], stats: dict, progress: bool) -> list[tuple[str, str]]:
        """Every file's (path, sha256); new bytes end up archived and stored."""
        shared = self.store.archive if self.store.archive.in_worker else None
        init = (self.plan, self.key, self.units, frozenset(self.known), shared)
        items = self._items(todo, init, progress)
        chunk: list[tuple[dict, os.stat_result]] = []
        with contextlib.closing(items):      # a failed write stops the workers here, not later in a collector
            for path, item in zip(todo, items):
                if item is None:
                    self.unreadable.append(_unopened(Path(path), None))
                    continue
                seen.append((item["path"], item["sha"]))
                chunk.append((item, stats[item["path"]]))
                if len(chunk) >= CHUNK:
                    self.flush(chunk)
                    chunk = []
        self.flush(chunk)
        self.flush_sightings(seen, stats)
        return seen

    def _items(self, todo: list[str], init: tuple, progress: bool):
        bar = _progress(len(todo), progress)
        try:
            if len(todo) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1:
                import multiprocessing as mp
                fork = sys.platform.startswith("linux")
                _CTX["parent"] = os.getpid()          # inherited by forked workers (see _init_worker)
                with ProcessPoolExecutor(min(4, os.cpu_count() or 1), mp_context=mp.get_context("fork") if fork else None,
                                         initializer=_init_worker,
                                         initargs=init + (self.lock_fds if fork else None,)) as pool:
                    for item in pool.map(_read, todo, chunksize=8):
                        bar and bar.update(1)
                        yield item
            else:
                _init_worker(*init)
                for path in todo:
                    bar and bar.update(1)
                    yield _read(path)
        finally:
            if bar:
                bar.close()

    def flush(self, chunk: list[tuple[dict, os.stat_result]]) -> None:
        """Store a chunk of read files in one transaction (new bytes: file, submission, values, issues)."""
        if not chunk:
            return
        with self.store.atomic():
            fresh, sighted, cached = [], [], []
            for item, st in chunk:
                sha, path = item["sha"], item["path"]
                mtime = archive.local_iso(st.st_mtime)
                if item["result"] is not None and sha not in self.known:
                    fresh.append((item, mtime))
                    self.known.add(sha)
                    self.new_shas.add(sha)
                if (sha, path) not in self.sighted:
                    sighted.append((sha, path, mtime, self.run_id))
                    self.sighted.add((sha, path))
                cached.append((path, st.st_size, st.st_mtime_ns, sha))
            pairs = _insert(self.store, self.run_id, fresh, self.plan_rounds, self.units)
            submissions.add_sightings(self.store, sighted)
            submissions.cache_paths(self.store, cached)
            resolve(self.store, pairs)
            self.n_new += len(fresh)
            runs.set_progress(self.store, self.run_id, self.n_new)

    def flush_sightings(self, seen: list[tuple[str, str]], stats: dict) -> None:
        """Known bytes found under a new name (files skipped by the stat cache are already sighted)."""
        rows = [(sha, p, archive.local_iso(stats[p].st_mtime), self.run_id) for p, sha in seen
                if (sha, p) not in self.sighted]
        if rows:
            with self.store.atomic():
                submissions.add_sightings(self.store, rows)


def store_growth(new_bytes: int) -> int:
    """The room a consolidation of `new_bytes` of new files asks for beside the store: the archive copies, the
    store's rows (about a third of the files' size) and its write-ahead log (checkpointed every ~4 MB)."""
    return new_bytes * 3 // 2 + min(new_bytes, 4 << 20)


def _unopened(path: Path, exc: OSError | None) -> FileRow:
    why = (exc.strerror or str(exc)) if exc else "không mở được (bị khóa, bị xóa hoặc không có quyền đọc)"
    return FileRow(str(path), "", None, None, "unreadable", 1, note=f"Không đọc được tệp: {why}")


def _report_rows(store: Store, seen: list[tuple[str, str]], new_shas: set, round_code: str | None) -> list[FileRow]:
    subs = submissions.by_sha(store)
    first = submissions.first_sightings(store)
    current = {(s.unit, s.round): s for s in subs.values() if s.status == "accepted"}
    rows = []
    for path, sha in seen:
        sub = subs.get(sha)
        if sub is None:
            continue
        unit, rnd, status = sub.unit, sub.round, sub.status
        if round_code and rnd not in (round_code, None):
            continue
        note = ""
        now = current.get((unit, rnd))
        if first.get(sha) != path:
            status, note = "duplicate", f"Trùng nội dung với tệp {first.get(sha)}"
        elif status == "superseded" and now:
            note = f"Đã có bản mới hơn (nhận lúc {receipt_text(now.received_at, now.source)})"
        elif status == "rejected" and now:
            note = (f"Tệp có lỗi nên không thay bản hợp lệ đã nhận lúc {receipt_text(now.received_at, now.source)}; "
                    "đang dùng bản hợp lệ đó")
        rows.append(FileRow(path, sha, unit, rnd, status, sub.n_errors + sub.n_warnings, sub.received_at,
                            sha in new_shas, note))
    return rows


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
        from thidua.consolidate.rejudge import rejudge_if_changed
        try:
            run = _Run(store, 0, plan, unit_map, key, lock_fds)
            found, skipped = survey_inbox(inbox.resolve())
            seen, todo, stats = run.survey(found)
            # a disk without room: said before anything is written; on a server the run is one transaction
            with run.space(todo, stats), store.run_transaction():
                rejudged = rejudge_if_changed(ws, store)     # a wrong key stops here, nothing written
                register.sync_plan(store, plan, ws.register)
                store.archive.clean_temps()
                run_id = run.run_id = runs.start_run(store, str(inbox.resolve()), "consolidate", ws.who())
                seen = run.run(seen, todo, stats, progress)
                runs.finish_run(store, run_id, len(seen), run.n_new)
            report = ConsolidationReport(str(inbox), str(ws.location), run_id, round_code, n_new=run.n_new,
                                         rejudged=rejudged.to_json() if rejudged else None)
            report.files = _report_rows(store, seen, run.new_shas, round_code) + run.unreadable
            report.skipped = skipped
            report.totals = values.indicator_totals(store, round_code)
            report.across = decreases(store, plan, round_code)
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
    found, _ = survey_inbox(inbox.resolve())
    step = max(1, len(found) // sample)
    named: Counter = Counter()
    for path in found[::step][:sample]:
        try:
            reading = read_bytes(path.read_bytes(), path.name, plan, None)
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
