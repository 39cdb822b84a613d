"""The summary job: collect a period's figures from the store and write the sơ kết/tổng kết workbook (and PDF)."""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

from thidua.errors import ThiDuaError
from thidua.plan.model import Plan
from thidua.reports.summary import YEAR, collect
from thidua.reports.summary_book import write_workbook
from thidua.store import submissions
from thidua.store.store import exists


def build_summary(ws, period: str, out: Path, pdf: bool = False, previous_db: Path | str | None = None) -> Path:
    """Write the summary workbook for the period to `out` (and OUT.pdf beside it with `pdf`); return `out`.

    Last year's figures come from the history of the working set (the store of the previous year, read with that
    year's plan and register); `previous_db` names another store (a file or a server URL) to compare with instead."""
    from thidua import faults
    from thidua.year.history import History
    out = Path(out)
    history = History(ws, previous_db) if previous_db is not None else ws.history
    earlier = out.stat().st_size if out.is_file() else 0            # the last one written: about as large
    with faults.expect_space(out.parent if out.parent.exists() else Path.cwd(), earlier * 3 // 2,
                             what=f"báo cáo {out}"), _no_cycle_collection():
        current = collect(ws, period)
        previous = None
        last = history.previous()
        if last is not None and last.error and previous_db is not None:     # the store the office named
            from thidua.store.locator import locate
            named = locate(previous_db)
            raise ThiDuaError(f"Không so sánh được với kho {Path(named.path).name if named.is_sqlite else named.name}: "
                              f"{last.error}.",
                              "Chỉ kho dữ liệu của năm trước bằng --previous-db, hoặc bỏ tùy chọn đó (lịch sử các năm "
                              "của kho năm nay được dùng).")
        if last is not None and not last.error:
            with history.working_set(last) as before:
                previous = collect(before, period)
        write_workbook(current, out, previous, history)
    if pdf:
        from thidua.reports.libreoffice import convert
        convert(out, "pdf", out.parent)
    return out


@contextlib.contextmanager
def _no_cycle_collection():
    """Pause Python's cyclic garbage collector while the summary is built: the build allocates some 10^5 small,
    acyclic objects (figures, cells, XML strings), and each automatic collection would re-scan the whole heap
    (~0.1 s per summary of 1,000 units). Reference counting still frees everything; collection resumes after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def demo_summaries(ws, out: Path, say=print, pdf: bool = True) -> list[Path]:
    """The demo's ending: sơ kết Đợt 1 and tổng kết năm workbooks (and PDFs) from its store, if it holds data."""
    from thidua.errors import ThiDuaError
    plan = ws.plan
    if not exists(ws.location):
        say("Chưa có kho dữ liệu nên bỏ qua báo cáo sơ kết, tổng kết.")
        return []
    with ws.store() as store:
        if not submissions.has_current(store):
            say("Kho dữ liệu chưa có báo cáo nào nên bỏ qua báo cáo sơ kết, tổng kết.")
            return []
    made = []
    for period, name in (("1", "so-ket-dot-1"), (YEAR, "tong-ket-nam")):
        target = out / "bao-cao" / f"{name}-{plan.year}.xlsx"
        try:
            made.append(build_summary(ws, period, target, pdf=pdf))
        except ThiDuaError as exc:   # e.g. LibreOffice missing: keep the workbook, say why there is no PDF
            made.append(build_summary(ws, period, target))
            say(f"Không xuất được PDF: {exc}")
        say(f"Báo cáo {'tổng kết năm' if period == YEAR else 'sơ kết Đợt 1'}: {target}"
            + (" (kèm PDF)" if target.with_suffix(".pdf").exists() else ""))
    return made
