"""`thidua demo`: the whole job on the bundled sample data, into one folder a person can look at."""
from __future__ import annotations

import time
from pathlib import Path

from thidua.plan.load import load_plan
from thidua.templates.signing import load_or_create_key
from thidua.templates.build import write_templates
from thidua.plan.load import load_units
from thidua.text.numbers import format_seconds


def run_demo(out: Path, quiet: bool = False) -> int:
    say = (lambda *a: None) if quiet else print
    out.mkdir(parents=True, exist_ok=True)
    plan, units = load_plan(), load_units()
    key = load_or_create_key(out / "demo-office.key")     # the demo keeps its own key in its folder
    started = time.perf_counter()
    for rnd in plan.rounds:
        paths = write_templates(plan, rnd.code, units, out / "templates" / rnd.code, key)
        say(f"Kỳ {rnd.code}: {len(paths)} biểu mẫu -> {out / 'templates' / rnd.code}")
    from thidua.consolidate.run import demo_year
    demo_year(plan, units, key, out, say)
    from thidua.mail.send import demo_dry_run
    demo_dry_run(plan, units, key, out, say=say)
    from thidua.reports.summary_job import demo_summaries
    demo_summaries(plan, units, out, say)
    say(f"Xong sau {format_seconds(time.perf_counter() - started)} giây. Kết quả ở {out.resolve()}")
    return 0
