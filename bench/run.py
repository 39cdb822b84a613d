"""Benchmark ThiDua beside the naive pandas pipeline and the unzip floor, as ratios measured in one run.

    python bench/run.py [--units N] [--json] [--repeats R] [--round Q1] [--stages cold,templates,...]
                        [--db postgresql://user@host:port/name]
    python bench/run.py --memory [--only feedback] [--files 'libreoffice_typed.*'] [--json]

Generates N units' filled submissions for one round with thidua.demo.simulate (valid files and the usual
share of broken ones), then times each stage (median of R repeats) and prints a table; with --json
one JSON object follows. Cold and incremental consolidation run in a child process per repeat so that
their peak memory (VmHWM of the child, ru_maxrss of its largest worker) is honest. With --db naming a
PostgreSQL database, every store of the run is a fresh database on that server (named after it, dropped at the
end; the user needs the right to create databases), so the figures compare the two engines.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from thidua.demo import simulate as sim
from thidua.plan.load import load_plan
from thidua.templates.signing import load_key, load_or_create_key
from thidua.plan.load import load_units
from thidua.plan.units import COLUMNS, Unit

STAGES = ("floor", "naive", "cold", "incremental", "templates", "summary")
KEYS = ("units", "floor_s", "naive_s", "cold_s", "incremental_s", "templates_s", "summary_s", "cold_peak_mb",
        "naive_over_cold", "cold_over_floor")
MISSING = "n/a (module missing)"
NEW_FILES = 10


# ---------------------------------------------------------------- set-up (never timed)
def synthetic_units(n: int, seed: int = 7) -> list[Unit]:
    """N register rows shaped like the sample register's (the sample has only 120 units)."""
    base, rng = load_units(), random.Random(seed)
    out = []
    for i in range(n):
        model = base[i % len(base)]
        staff = rng.randint(8, 300)
        out.append(dataclasses.replace(model, code=f"B{i + 1:06d}", name=f"{model.name} {i // len(base) + 1}",
                                       staff=staff, members=max(1, staff - rng.randint(0, 5)),
                                       email=f"b{i + 1:06d}@congdoan.example.org"))
    return out


def write_register(units: list[Unit], path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for u in units:
            writer.writerow([u.code, u.name, u.cluster, u.staff, u.members, u.email,
                             u.founded.isoformat() if u.founded else ""])
    return path


def spreadsheets(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.rglob("*.xlsx") if not p.name.startswith("~$"))


def has_module(name: str) -> bool:
    try:
        __import__(f"thidua.{name}")
    except ImportError:
        return False
    return True


def median_time(fn, repeats: int, setup=None) -> float:
    """Median seconds of `fn(setup())` over repeats; `setup` is not timed."""
    times = []
    for _ in range(repeats):
        arg = setup() if setup else None
        started = time.perf_counter()
        fn(arg) if setup else fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---------------------------------------------------------------- stages
def floor(files: list[Path]) -> int:
    """Unzip every file and read its sheet XML bytes, nothing else."""
    total = 0
    for path in files:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/"):
                    total += len(zf.read(name))
    return total


def naive(files: list[Path], out: Path) -> None:
    """What a person writes by hand: read_excel (openpyxl) every sheet of every file, concat, to_excel (xlsxwriter)."""
    import pandas as pd
    frames: dict[str, list] = {}
    for path in files:
        for sheet, frame in pd.read_excel(path, sheet_name=None, engine="openpyxl").items():
            frame.insert(0, "file", path.name)
            frames.setdefault(sheet, []).append(frame)
    with pd.ExcelWriter(out, engine="xlsxwriter") as writer:
        for i, (sheet, parts) in enumerate(frames.items()):
            pd.concat(parts, ignore_index=True).to_excel(writer, sheet_name=f"{i}_{sheet}"[:31], index=False)


def peak_rss_mb() -> float:
    """This process's peak resident memory since exec (VmHWM).

    Not ru_maxrss: Linux carries the forking parent's peak into the child's ru_maxrss across exec, so a
    child started by a big bench process would report the bench's memory as its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def consolidate_year(inbox: Path, db: Path, plan, units, key: bytes, **options):
    """`consolidate` through the year's working set (or, on a checkout older than it, the old signature)."""
    from thidua.consolidate.run import consolidate
    if not has_module("year.workset"):
        return consolidate(inbox, db, plan, units, key, **options)
    from thidua.year.workset import WorkingSet
    return consolidate(WorkingSet(plan, units, db, secret=key), inbox, **options)


def child_consolidate(args: argparse.Namespace) -> None:
    """Run in a child process: consolidate once, print seconds and peak memory as JSON."""
    plan, units, key = load_plan(), load_units(Path(args.register)), load_key(Path(args.key))
    started = time.perf_counter()
    consolidate_year(Path(args.inbox), args.db, plan, units, key, round_code=args.round,
                     out=Path(args.out) if args.out else None)
    seconds = time.perf_counter() - started
    own = peak_rss_mb()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "self_mb": own, "worker_mb": workers}))


class Stores:
    """Fresh stores for the stages: SQLite files in the scratch folder, or databases on the server of `url`."""

    def __init__(self, url: str | None, work: Path):
        self.url, self.work, self.made = url, work, []

    def _admin(self, sql: str) -> None:
        import psycopg
        from thidua.store.postgres import _password
        from thidua.store.locator import locate
        with psycopg.connect(self.url, password=_password(locate(self.url)), autocommit=True) as conn:
            conn.execute(sql)

    def fresh(self, name: str, like: str | None = None) -> str:
        """A new empty store (or a copy of the store `like`) called `name`; the folder work/name is new too (a
        SQLite store is in it; the outputs of the stage go there)."""
        folder = fresh_dir(self.work / name)
        if not self.url:
            if like:
                shutil.rmtree(folder)
                shutil.copytree(Path(like).parent, folder)
            return str(folder / "store.db")
        base = self.url.rsplit("/", 1)
        db = f"{base[1].split('?')[0]}_{name}"
        self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{db}"' + (f' TEMPLATE "{like.rsplit("/", 1)[1]}"' if like else ""))
        self.made.append(db)
        return f"{base[0]}/{db}"

    def drop(self) -> None:
        for db in reversed(self.made):
            self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def run_child(work: Path, inbox: Path, db: Path, round_code: str | None, out: Path | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-consolidate", "--inbox", str(inbox),
           "--db", str(db), "--register", str(work / "register.csv"), "--key", str(work / "bench.key")]
    cmd += ["--round", round_code] if round_code else []
    cmd += ["--out", str(out)] if out else []
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"consolidate child failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


class Bench:
    """One benchmark run in a scratch folder."""

    def __init__(self, n: int, round_code: str, repeats: int, work: Path, say, db_url: str | None = None) -> None:
        self.n, self.round, self.repeats, self.work, self.say = n, round_code, repeats, work, say
        self.stores = Stores(db_url, work)
        self.plan = load_plan()
        self.key = load_or_create_key(work / "bench.key")
        self.units = synthetic_units(n + NEW_FILES)
        write_register(self.units, work / "register.csv")
        self.results: dict[str, float | None] = {}
        self.notes: dict[str, str] = {}
        self.failed: list[str] = []

    def make_inbox(self) -> None:
        started = time.perf_counter()
        self.truth = sim.simulate_year(self.plan, self.units[:self.n], self.key, self.work / "inbox", rng_seed=1,
                                       rounds=(self.round,))
        extra = sim.YearRates(missing=0, late=0, mistakes=0, corrected=0, copy=0)
        sim.simulate_year(self.plan, self.units[self.n:], self.key, self.work / "new", rng_seed=2,
                          rounds=(self.round,), rates=extra)
        self.files = spreadsheets(self.work / "inbox")
        rt = self.truth.rounds[self.round]
        self.say(f"inbox: {len(self.files)} files for {self.n} units, {len(rt.mistakes)} with mistakes, "
                 f"{len(rt.late)} late, {len(rt.missing)} missing (generated in {time.perf_counter() - started:.1f} s)")

    def stage_floor(self) -> None:
        # cheap and easily disturbed by a neighbour's burst: more repeats keep the ratio's denominator steady
        self.results["floor_s"] = median_time(lambda: floor(self.files), max(self.repeats, 7))

    def stage_naive(self) -> None:
        import pandas  # noqa: F401  (a one-off import is not per-file work)
        out = self.work / "naive_master.xlsx"
        self.results["naive_s"] = median_time(lambda: naive(self.files, out), self.repeats)

    def stage_cold(self) -> None:
        if not has_module("consolidate"):
            self.notes["cold_s"] = self.notes["incremental_s"] = MISSING
            return
        self.cold = [self.stores.fresh(f"cold{i}") for i in range(self.repeats)]
        runs = [run_child(self.work, self.work / "inbox", db, self.round, self.work / f"cold{i}" / "TongHop.xlsx")
                for i, db in enumerate(self.cold)]
        self.results["cold_s"] = statistics.median(r["seconds"] for r in runs)
        self.results["cold_peak_mb"] = max(r["self_mb"] + r["worker_mb"] for r in runs)
        self.notes["cold_s"] = (f"child wall {statistics.median(r['wall'] for r in runs):.2f} s; peak main "
                                f"{max(r['self_mb'] for r in runs):.0f} MB + largest worker "
                                f"{max(r['worker_mb'] for r in runs):.0f} MB")

    def stage_incremental(self) -> None:
        """The cold store again, with 10 new files dropped into the same inbox (the stat cache knows its paths)."""
        if not has_module("consolidate"):
            return
        inbox, added = self.work / "inbox", self.work / "inbox" / "moi"
        runs: dict[bool, list[dict]] = {True: [], False: []}
        try:
            for i in range(self.repeats):
                for with_book in (True, False):
                    name = f"incr{i}{'' if with_book else 'db'}"
                    target = self.stores.fresh(name, like=self.cold[0])
                    shutil.rmtree(added, ignore_errors=True)
                    shutil.copytree(self.work / "new", added)
                    out = self.work / name / "TongHop.xlsx" if with_book else None
                    runs[with_book].append(run_child(self.work, inbox, target, self.round, out))
        finally:
            shutil.rmtree(added, ignore_errors=True)
        # The figure is the consolidate button's job (the store and the master workbook's sheets); the
        # committee workbook is its own button ("Xuất cho Ban Thường vụ"), so it is shown beside it.
        self.results["incremental_s"] = statistics.median(r["seconds"] for r in runs[False])
        with_book = statistics.median(r["seconds"] for r in runs[True])
        self.notes["incremental_s"] = f"store only; {with_book:.2f} s with the committee workbook rewritten"

    def stage_templates(self) -> None:
        from thidua.templates.build import write_templates
        units = self.units[:self.n]
        self.results["templates_s"] = median_time(
            lambda out: write_templates(self.plan, self.round, units, out, self.key), self.repeats,
            setup=lambda: fresh_dir(self.work / "templates"))

    def stage_summary(self) -> None:
        if not (has_module("reports.summary_job") and has_module("consolidate")):
            self.notes["summary_s"] = MISSING
            return
        from thidua.reports.summary_job import build_summary
        year = self.work / "year"
        started = time.perf_counter()
        sim.simulate_year(self.plan, self.units[:self.n], self.key, year / "inbox", rng_seed=3, rounds=sim.REGULAR_ROUNDS)
        db = self.stores.fresh("yearstore")
        consolidate_year(year / "inbox", db, self.plan, self.units, self.key)
        self.say(f"year store: {self.n} units x {len(sim.REGULAR_ROUNDS)} rounds built in "
                 f"{time.perf_counter() - started:.1f} s (not timed)")
        if has_module("year.workset"):
            from thidua.year.workset import WorkingSet
            ws = WorkingSet(self.plan, self.units, db, secret=self.key)
            summary = lambda: build_summary(ws, "year", year / "TongKet.xlsx")  # noqa: E731
        else:
            summary = lambda: build_summary(db, self.plan, self.units, "year", year / "TongKet.xlsx")  # noqa: E731
        self.results["summary_s"] = median_time(summary, self.repeats)

    def run(self, stages: tuple[str, ...]) -> dict:
        self.make_inbox()
        for stage in STAGES:
            if stage in stages or (stage == "cold" and "incremental" in stages):
                started = time.perf_counter()
                try:
                    getattr(self, f"stage_{stage}")()
                except Exception as exc:  # one broken stage must not hide the others' figures
                    self.failed.append(stage)
                    self.notes[f"{stage}_s"] = f"FAILED: {type(exc).__name__}: {str(exc)[:200]}"
                    self.say(traceback.format_exc())
                self.say(f"  {stage}: done in {time.perf_counter() - started:.1f} s")
        return self.report()

    def report(self) -> dict:
        r = dict(self.results)
        out = {"units": self.n}
        out.update({k: (round(r[k], 4) if r.get(k) is not None else None) for k in KEYS[1:8]})
        out["naive_over_cold"] = ratio(r.get("naive_s"), r.get("cold_s"))
        out["cold_over_floor"] = ratio(r.get("cold_s"), r.get("floor_s"))
        return out


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


TARGETS = {"cold_s": ("<=", 3), "naive_over_cold": (">=", 7), "cold_over_floor": ("<=", 15),
           "incremental_s": ("<=", 0.5), "templates_s": ("<=", 3), "summary_s": ("<=", 2)}


def table(result: dict, notes: dict[str, str]) -> str:
    lines = [f"{'measure':<18}{'value':>12}  {'target (N=1,000)':<18}note"]
    for key in KEYS[1:]:
        value = result.get(key)
        shown = f"{value:.3f}" if isinstance(value, float) else (str(value) if value is not None else "-")
        target = TARGETS.get(key)
        mark = ""
        if target and value is not None:
            ok = value <= target[1] if target[0] == "<=" else value >= target[1]
            mark = f"{target[0]} {target[1]} {'ok' if ok else 'MISSED'}"
        lines.append(f"{key:<18}{shown:>12}  {mark:<18}{notes.get(key, '')}")
    return "\n".join([f"units: {result['units']}"] + lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--round", default="Q1")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--work", help="scratch folder (kept); default: a temporary one, removed")
    parser.add_argument("--memory", action="store_true",
                        help="peak memory per file (validate, feedback, consolidate) over tests/data/broken and a "
                             "generated 97 MB junk file, and validation speed; see bench/memory.py")
    parser.add_argument("--only", help="with --memory: the modes to measure, comma-separated "
                                       "(validate, feedback, consolidate; default all)")
    parser.add_argument("--files", metavar="GLOB", help="with --memory: only the files of the set whose name "
                                                        "matches GLOB (e.g. 'libreoffice_typed.*')")
    parser.add_argument("--child-consolidate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help="a PostgreSQL database (postgresql://user@host:port/name): every store of the "
                                     "run is a fresh database on its server; default: SQLite files")
    for name in ("inbox", "register", "key", "out"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_consolidate:
        child_consolidate(args)
        return 0
    if args.child_memory or args.memory:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import memory
        if args.child_memory:
            memory.child(*args.child_memory)
            return 0
        say = lambda *a: print(*a, file=sys.stderr if args.json else sys.stdout, flush=True)  # noqa: E731
        modes = tuple(m.strip() for m in (args.only or ",".join(memory.MODES)).split(",") if m.strip())
        if not modes or set(modes) - set(memory.MODES):
            parser.error(f"--only: choose from {', '.join(memory.MODES)}")
        with tempfile.TemporaryDirectory(prefix="thidua-bench-mem-") as tmp:
            result = memory.run(Path(args.work or tmp), say, modes=modes, pattern=args.files)
        print(memory.table(result))
        if args.json:
            print(json.dumps(result))
        return 0 if max(result["max_mb"].values()) < 200 else 1
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stages {sorted(unknown)}; choose from {', '.join(STAGES)}")
    say = lambda *a: print(*a, file=sys.stderr if args.json else sys.stdout, flush=True)  # noqa: E731
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="thidua-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(args.units, args.round, max(1, args.repeats), work, say, args.db)
        try:
            result = bench.run(stages)
        finally:
            bench.stores.drop()
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(table(result, bench.notes))
    if args.json:
        print(json.dumps(result))
    return 1 if bench.failed else 0


if __name__ == "__main__":
    sys.exit(main())
