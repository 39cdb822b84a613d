"""Peak memory per input file (validate, --feedback, consolidate) and validation speed; used by bench/run.py --memory.

Every (mode, file) pair runs in a fresh child process. The child reports its own peak resident memory
(VmHWM of /proc/self/status) plus the peaks of every process it started (worker pools, LibreOffice), read
from /proc/<pid>/status by a sampling thread (VmHWM only grows, so the last value seen before a child exits
is its peak; the sum over children is an upper bound of what was resident together).
"""
from __future__ import annotations

import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "data" / "broken"
MODES = ("validate", "feedback", "consolidate")
COMPANIONS = 30        # valid files consolidated beside the measured one, so that the worker pool is used
KEY = b"thidua-test-key-0123456789abcdef"          # the key tests/data/broken was signed with


# ---------------------------------------------------------------- files
def _template(plan, units, round_code: str = "SK1") -> bytes:
    from thidua.demo.simulate import fill_workbook, realistic_values
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    unit = units[0]
    values = realistic_values(plan, round_code, unit, random.Random(7))
    return fill_workbook(TemplateFactory(plan, round_code, KEY).render(unit), S.template_spec(plan, round_code), values)


def _sheet_part(data: bytes, sheet_name: str) -> str:
    """The zip member holding `sheet_name` of a workbook this project wrote (workbook.xml order = sheetN)."""
    import re
    from xml.sax.saxutils import escape
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = re.findall(rb'<sheet name="([^"]*)"', zf.read("xl/workbook.xml"))
    return f"xl/worksheets/sheet{names.index(escape(sheet_name).encode()) + 1}.xml"


def junk_xlsx(plan, units, target_mb: float = 97.0, seed: int = 3) -> bytes:
    """A filled template whose activities sheet carries `target_mb` MB (uncompressed) of pasted junk rows.

    The rows are what a careless paste looks like: words, numbers and dates over 12 columns, inline strings;
    the deflated file stays under the 20 MB file limit and each member under the zip-bomb ratio."""
    from thidua.templates import spec as S
    good = _template(plan, units)
    part = _sheet_part(good, S.template_spec(plan, "SK1").sheet("activities").name)
    rng = random.Random(seed)
    words = ["hoạt", "động", "công", "đoàn", "thi", "đua", "báo", "cáo", "năm", "quý", "xyz", "lorem", "12ab"]
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        xml = zf.read(part)
    head, tail = xml.split(b"</sheetData>")
    target = int(target_mb * 1024 * 1024) - len(xml)
    rows, size, r = [], 0, 1000
    while size < target:
        cells = []
        for c in range(12):
            ref = f"{chr(65 + c)}{r}"
            if c % 3 == 0:
                cells.append(f'<c r="{ref}"><v>{rng.randint(0, 10**9)}</v></c>')
            else:
                text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 9)))
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>')
        row = f'<row r="{r}">{"".join(cells)}</row>'.encode()
        rows.append(row)
        size += len(row)
        r += 1
    return _replace(good, {part: head + b"".join(rows) + b"</sheetData>" + tail})


def _replace(data: bytes, parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, parts.get(info.filename, src.read(info.filename)))
    return out.getvalue()


def largest_real(plan, units, round_code: str = "SK1") -> bytes:
    """The most a real template holds: every table filled to the reader's MAX_TABLE_ROWS rows, every text
    at its longest allowed length (Vietnamese words), saved by openpyxl."""
    import datetime as dt
    import openpyxl
    from thidua.intake.reader import MAX_TABLE_ROWS
    from thidua.templates import spec as S
    wb = openpyxl.load_workbook(io.BytesIO(_template(plan, units, round_code)))
    words = "Tổ chức hội thi nghiệp vụ cho đoàn viên công đoàn cơ sở "
    for sheet in S.template_spec(plan, round_code).sheets:
        if not sheet.table:
            continue
        ws = wb[sheet.name]
        for i in range(MAX_TABLE_ROWS):
            for col in sheet.table.columns:
                f = col.field
                value = {"int": 5, "money": 100_000, "decimal": 1.5, "date": dt.date(2019, 3, 1),
                         "choice": (f.choices or ["x"])[0]}.get(f.type)
                if value is None:
                    value = (words * 40)[:f.max_len or 300]
                ws.cell(sheet.table.first_row + 1 + i, col.col + 1).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def file_set(work: Path, plan, units, pattern: str | None = None) -> list[Path]:
    """The broken-file set plus the generated files: the 97 MB junk paste and the largest real template,
    also saved as .xls and .ods by LibreOffice (when it is installed). Only the files whose name matches the
    glob `pattern` (all when None)."""
    import fnmatch
    wanted = lambda name: pattern is None or fnmatch.fnmatch(name, pattern)  # noqa: E731
    files = sorted(p for p in BROKEN.iterdir() if p.name != "expected.json")
    junk, largest = work / "junk_97mb.xlsx", work / "largest_real.xlsx"
    if wanted(junk.name):
        junk.write_bytes(junk_xlsx(plan, units))
    others = [largest.with_suffix(s) for s in (".xls", ".ods")]
    if any(wanted(p.name) for p in [largest] + others):
        largest.write_bytes(largest_real(plan, units))
    from thidua.reports.libreoffice import convert, soffice
    for other in others:
        if wanted(other.name) and soffice() is not None:
            convert(largest, other.suffix[1:], work)
    return [p for p in files + [junk, largest] + others if p.exists() and wanted(p.name)]


# ---------------------------------------------------------------- the child
def _hwm(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                out += [int(k) for k in kids]
                todo += [int(k) for k in kids]
        except OSError:
            continue
    return out


class ChildPeaks(threading.Thread):
    """Samples the VmHWM of every descendant process every 20 ms; `peaks` keeps the highest per pid."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.02):
            for pid in _descendants(me):
                value = _hwm(pid)
                if value > self.peaks.get(pid, 0.0):
                    self.peaks[pid] = value


def child(mode: str, path: str) -> None:
    """Run one mode on one file and print {"self_mb", "children_mb", "seconds", "status"} as JSON."""
    from thidua.plan.load import load_plan
    from thidua.plan.load import load_units
    plan, units = load_plan(), load_units()
    register = {u.code: u for u in units}
    sampler = ChildPeaks()
    sampler.start()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="thidua-mem-") as tmp:
        if mode == "consolidate":
            from thidua.consolidate.run import consolidate
            from thidua.year.workset import WorkingSet
            inbox = Path(tmp) / "inbox"
            inbox.mkdir()
            os.symlink(path, inbox / Path(path).name)
            for other in Path(os.environ["THIDUA_BENCH_COMPANIONS"]).iterdir():
                os.symlink(other, inbox / other.name)
            report = consolidate(WorkingSet(plan, units, Path(tmp) / "store.db", secret=KEY), inbox)
            status = next((f.status for f in report.files if Path(f.file).name == Path(path).name), "not seen")
        else:
            from thidua.intake.validate import validate_file
            result = validate_file(path, plan, KEY, register)
            status = result.status
            if mode == "feedback":
                from thidua.intake.feedback import write_feedback
                write_feedback(path, result, Path(tmp) / "phan-hoi.xlsx")
    seconds = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    print(json.dumps({"self_mb": round(_hwm(), 1), "children_mb": round(sum(sampler.peaks.values()), 1),
                      "seconds": round(seconds, 3), "status": status}))


def companions(work: Path, plan, units) -> Path:
    """COMPANIONS valid submissions of other units (distinct bytes, so each is validated)."""
    from thidua.demo.simulate import fill_workbook, realistic_values
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    folder = work / "companions"
    folder.mkdir(exist_ok=True)
    factory, spec = TemplateFactory(plan, "Q1", KEY), S.template_spec(plan, "Q1")
    for unit in units[1:COMPANIONS + 1]:
        data = fill_workbook(factory.render(unit), spec, realistic_values(plan, "Q1", unit, random.Random(5)))
        (folder / f"Q1_{unit.code}.xlsx").write_bytes(data)
    return folder


def measure(mode: str, path: Path, folder: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "run.py"), "--child-memory", mode, str(path)]
    env = dict(os.environ, THIDUA_BENCH_COMPANIONS=str(folder))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900, env=env)
    if done.returncode != 0:
        return {"self_mb": None, "children_mb": None, "seconds": None, "status": f"FAILED {done.stderr[-300:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed(plan, units, files: list[Path], repeats: int = 3) -> dict:
    """Files per CPU second of validate_bytes in this process: 300 realistic valid files, then the broken set."""
    from thidua.demo.simulate import fill_workbook, realistic_values
    from thidua.intake.validate import validate_bytes
    from thidua.templates import spec as S
    from thidua.templates.build import TemplateFactory
    register = {u.code: u for u in units}
    valid = []
    for rc in ("Q1", "SK1", "TK"):
        factory, spec = TemplateFactory(plan, rc, KEY), S.template_spec(plan, rc)
        for unit in units[:100]:
            valid.append(fill_workbook(factory.render(unit), spec, realistic_values(plan, rc, unit, random.Random(1))))
    broken = [(p.name, p.read_bytes()) for p in files if p.stat().st_size < 25 * 1024 * 1024 and p.parent == BROKEN]
    out = {}
    for label, batch in (("valid", [(f"v{i}.xlsx", d) for i, d in enumerate(valid)]), ("broken", broken)):
        times = []
        for _ in range(repeats):           # CPU time of this process: steady on a shared machine
            started = time.process_time()
            for name, data in batch:
                validate_bytes(data, name, plan, KEY, register)
            times.append(time.process_time() - started)
        out[f"{label}_files_per_s"] = round(len(batch) / statistics.median(times), 1)
    return out


def run(work: Path, say, top: int = 6, modes: tuple[str, ...] = MODES, pattern: str | None = None) -> dict:
    """Every mode of `modes` on every file of the set whose name matches the glob `pattern` (all when None);
    the validation speed only when the whole set is measured in every mode."""
    from thidua.plan.load import load_plan
    from thidua.plan.load import load_units
    plan, units = load_plan(), load_units()
    work.mkdir(parents=True, exist_ok=True)
    files = file_set(work, plan, units, pattern)
    if not files:
        raise SystemExit(f"no file of the set matches {pattern!r}")
    folder = companions(work, plan, units) if "consolidate" in modes else work
    say(f"memory: {len(files)} files ({', '.join(p.name for p in files[-1:])} "
        f"{files[-1].stat().st_size / 1e6:.1f} MB on disk)")
    rows = []
    for path in files:
        row = {"file": path.name}
        for mode in modes:
            m = measure(mode, path, folder)
            row[mode] = m
            total = (m["self_mb"] or 0) + (m["children_mb"] or 0)
            row[f"{mode}_mb"] = round(total, 1) if m["self_mb"] is not None else None
        rows.append(row)
        say(f"  {path.name:<28} " + "  ".join(f"{mode} {row[f'{mode}_mb']} MB ({row[mode]['status'][:40]})"
                                               for mode in modes))
    worst = sorted(rows, key=lambda r: -max(r[f"{m}_mb"] or 1e9 for m in modes))[:top]
    result = {"modes": list(modes),
              "worst": [{"file": r["file"], **{m: r[f"{m}_mb"] for m in modes},
                         "children": {m: r[m]["children_mb"] for m in modes}} for r in worst]}
    result["max_mb"] = {m: max((r[f"{m}_mb"] or 0) for r in rows) for m in modes}
    if tuple(modes) == MODES and pattern is None:
        result.update(speed(plan, units, files))
    return result


def table(result: dict) -> str:
    modes = result.get("modes", MODES)
    widths = [max(10, len(m) + 2) for m in modes]
    lines = [f"{'file (worst first)':<30}" + "".join(f"{m:>{w}}" for m, w in zip(modes, widths))
             + "   (MB, own + children)"]
    for r in result["worst"]:
        lines.append(f"{r['file']:<30}" + "".join(f"{(r[m] if r[m] is not None else 'FAILED'):>{w}}"
                                                 for m, w in zip(modes, widths)))
    lines.append(f"{'max':<30}" + "".join(f"{result['max_mb'][m]:>{w}}" for m, w in zip(modes, widths)))
    if "valid_files_per_s" in result:
        lines.append(f"validation speed: {result['valid_files_per_s']} valid files/s, "
                     f"{result['broken_files_per_s']} broken-set files/s (per CPU second, median of 3, in-process)")
    return "\n".join(lines)
