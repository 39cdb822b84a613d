"""`thidua demo`: the whole job on the bundled sample data, into one folder a person can look at."""
from __future__ import annotations

import time
from pathlib import Path

from thidua.templates.signing import load_or_create_key
from thidua.templates.build import write_templates
from thidua.text.numbers import format_seconds
from thidua.year.workset import WorkingSet


def run_demo(out: Path, quiet: bool = False) -> int:
    say = (lambda *a: None) if quiet else print
    out.mkdir(parents=True, exist_ok=True)
    key_file = out / "demo-office.key"              # the demo keeps its own key in its folder
    key = load_or_create_key(key_file)
    ws = WorkingSet.load(db=out / "thidua.db", key_file=key_file)
    started = time.perf_counter()
    for rnd in ws.plan.rounds:
        paths = write_templates(ws.plan, rnd.code, list(ws.units), out / "templates" / rnd.code, key)
        say(f"Kỳ {rnd.code}: {len(paths)} biểu mẫu -> {out / 'templates' / rnd.code}")
    from thidua.consolidate.run import demo_year
    demo_year(ws, out, say)
    from thidua.mail.send import demo_dry_run
    demo_dry_run(ws, out, say=say)
    from thidua.awards.decisions import demo_awards
    demo_awards(ws, out, say)
    from thidua.reports.summary_job import demo_summaries
    demo_summaries(ws, out, say)
    say(f"Xong sau {format_seconds(time.perf_counter() - started)} giây. Kết quả ở {out.resolve()}")
    return 0
