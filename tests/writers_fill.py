"""Fill a template with the libraries web tools and other office software export with, as a unit's tool would.

- Node (npm, pinned in tests/writers/package-lock.json): ExcelJS (.xlsx) and SheetJS `xlsx` (.xlsx, .xls BIFF8,
  .xls BIFF5, .ods); installed by `npm ci` into a cache folder this module controls ($THIDUA_TEST_NPM_CACHE, else
  ~/.cache/thidua-test-writers/<lock hash>), once per machine.
- Java: Apache POI's HSSF from Debian (libapache-poi-java, default-jdk-headless): .xls (BIFF8), a workbook built
  from the data sheet by sheet, as an "export to Excel 97-2003" does.
Every writer runs in the Asia/Ho_Chi_Minh time zone (TZ), where a date made at local midnight is 17:00 the day
before in UTC. A missing tool skips the test locally with the reason, and fails it under CI.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

WRITERS = Path(__file__).resolve().parent / "writers"
TZ = "Asia/Ho_Chi_Minh"
POI_JARS = ("poi", "commons-collections4", "commons-math3", "commons-codec")
APT = "apt-get install nodejs npm default-jdk-headless libapache-poi-java"


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def node_modules() -> Path:
    """The pinned Node packages, installed once into the test's own cache folder (npm ci from the lock file)."""
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            _missing(f"{tool} not installed: {APT}")
    lock = (WRITERS / "package-lock.json").read_bytes()
    root = Path(os.environ.get("THIDUA_TEST_NPM_CACHE") or Path.home() / ".cache" / "thidua-test-writers")
    folder = root / hashlib.sha256(lock + (WRITERS / "package.json").read_bytes()).hexdigest()[:16]
    done = folder / "node_modules" / ".thidua-installed"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(WRITERS / name, folder / name)
        run = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(folder)],
                             capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            _missing(f"npm ci of tests/writers failed: {run.stderr[-400:]}")
        done.touch()
    return folder / "node_modules"


def poi_classpath() -> str:
    if not shutil.which("java"):
        _missing(f"java not installed: {APT}")
    jars = [Path("/usr/share/java") / f"{name}.jar" for name in POI_JARS]
    if not all(j.exists() for j in jars):
        _missing(f"Apache POI not installed: {APT}")
    return ":".join(map(str, jars))


def _kind(value: object, percent: bool) -> dict:
    if percent:
        return {"p": value / 100}          # typed as 92.5% : the cell holds 0.925 shown with a % format
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"n": value}
    return {"s": str(value)}


def node_fill(writer: str, src: Path, cells: list[tuple[str, str, object, bool]], outputs: dict[str, Path]) -> None:
    """`writer` (exceljs | sheetjs) types `cells` [(sheet, A1, value, is a percentage)] into `src` and saves each
    output {bookType (xlsx | xls | biff5 | ods): path}."""
    modules = node_modules()
    job = {"writer": writer, "src": str(src), "jobs": [{"dst": str(p), "type": t} for t, p in outputs.items()],
           "cells": [[s, a, _kind(v, pct)] for s, a, v, pct in cells]}
    job_file = src.with_name(f"{writer}_job.json")
    job_file.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    subprocess.run(["node", str(WRITERS / "fill.js"), str(job_file)], check=True, timeout=300,
                   env=dict(os.environ, TZ=TZ, NODE_PATH=str(modules)))


def poi_fill(src: Path, cells: list[tuple[str, str, object, bool]], out: Path) -> None:
    """Apache POI (HSSF) writes the template's sheets, values, number formats and visibility, with `cells`
    typed in, as .xls."""
    classpath = poi_classpath()
    typed = {(s, a): (v, pct) for s, a, v, pct in cells}
    wb = openpyxl.load_workbook(src)
    lines = []
    for ws in wb.worksheets:
        lines.append(f"sheet\t{ws.title}\t{ws.sheet_state.replace('veryHidden', 'veryhidden')}")
        for row in ws.iter_rows():
            for c in row:
                if (ws.title, c.coordinate) in typed or c.value is None:
                    continue
                lines.append(_tsv(c.coordinate, c.value, False, c.number_format))
        lines += [_tsv(a, v, pct, "") for (s, a), (v, pct) in typed.items() if s == ws.title]
    book = out.with_suffix(".tsv")
    book.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run(["java", "-cp", classpath, str(WRITERS / "Fill.java"), str(book), str(out)], check=True,
                   timeout=300, env=dict(os.environ, TZ=TZ), capture_output=True)


def _tsv(address: str, value: object, percent: bool, number_format: str) -> str:
    kind = _kind(value, percent)
    (code, v), = kind.items()
    if isinstance(value, bool):
        code, v = "b", str(value).lower()
    if code == "s":
        v = str(v).replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    fmt = "" if code in ("d", "p") or number_format == "General" else number_format
    return f"cell\t{address}\t{code}\t{v}\t{fmt}"
