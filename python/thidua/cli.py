"""The command line: a thin face over the core; domain errors become `Lỗi: ... Thử: ...`."""
from __future__ import annotations

import sys
from pathlib import Path

from thidua import __version__
from thidua.argparse_vi import ArgumentParser
from thidua.errors import ThiDuaError
from thidua.text.numbers import format_number, format_seconds


def _common(p: ArgumentParser) -> None:
    p.add_argument("--plan", help="kế hoạch thi đua: tệp .toml hoặc sổ làm việc .xlsm (mặc định: kế hoạch 2019 đi kèm)")
    p.add_argument("--register", help="danh sách đơn vị: tệp .csv hoặc sổ làm việc .xlsm (mặc định: mẫu đi kèm)")
    p.add_argument("--workbook", help="sổ làm việc ThiDua2019.xlsm: đọc cả kế hoạch và danh sách đơn vị từ đó")
    p.add_argument("--key", help="tệp khóa bí mật của văn phòng (mặc định: $THIDUA_KEY_FILE hoặc ~/.thidua/office.key)")


def working_set(args):
    """The year's working set named by the options: --workbook / --plan / --register (bundled defaults
    otherwise), --db (else `[store] url` of thidua.toml, else the workbook's store_url row, else thidua.db) and
    --key. Built once per command; every job receives it."""
    from thidua.year.workset import WorkingSet
    return WorkingSet.load(plan=getattr(args, "plan", None), register=getattr(args, "register", None),
                           workbook=getattr(args, "workbook", None), db=getattr(args, "db", None),
                           key_file=getattr(args, "key", None), settings_file=getattr(args, "settings", None))


def cmd_templates(args) -> int:
    from thidua.templates.keys import key_for_templates
    from thidua.templates.build import write_templates
    from thidua.plan.units import select_units
    ws = working_set(args)
    chosen = select_units(list(ws.units), args.units)
    rnd = _round(ws.plan, args.round)
    key = key_for_templates(args.key, ws.db, Path(args.out), say=lambda m: print(m, file=sys.stderr))
    paths = write_templates(ws.plan, rnd, chosen, args.out, key)
    print(f"Đã tạo {len(paths)} biểu mẫu kỳ {rnd} trong {args.out}")
    return 0


def cmd_blank_templates(args) -> int:
    from thidua.templates.build import write_blank_templates
    paths = write_blank_templates(working_set(args).plan, args.out)
    print(f"Đã tạo {len(paths)} biểu mẫu trống trong {args.out}")
    return 0


def cmd_demo(args) -> int:
    from thidua.demo.run import run_demo
    return run_demo(Path(args.out), quiet=args.quiet)


def cmd_build_workbook(args) -> int:
    from thidua.workbook.build import DEFAULT_OUT, build_workbook
    out = build_workbook(args.out or DEFAULT_OUT, stub=args.test_stub)
    print(f"Đã tạo sổ làm việc {out}")
    return 0


def _round(plan, code: str | None) -> str | None:
    """A round code as the plan spells it, whatever case was typed ("q1" -> "Q1")."""
    return plan.round(code).code if code else code


def cmd_bundle_windows(args) -> int:
    from thidua.workbook.bundle import bundle_windows
    made = bundle_windows(args.out, args.cache, python=args.python_archive)
    size = made.path.stat().st_size / 1e6
    print(f"Đã tạo gói cài đặt cho Windows {made.path} ({format_number(size, 1)} MB, {len(made.wheels)} wheel, {format_seconds(made.seconds)} giây)")
    print("Gói có sẵn Python: cai-dat.bat cài không cần Internet." if args.python_archive else
          "cai-dat.bat sẽ tải Python (khoảng 30 MB) khi cài; máy không có Internet: tạo lại gói với --python-archive.")
    return 0


# ---------------------------------------------------------------- scores, proposals, summaries (scoring.py, ...)
def cmd_scores_import(args) -> int:
    from thidua.review.scoring import import_scores
    n = import_scores(working_set(args), Path(args.file))
    print(f"Đã nhập {n} điểm thẩm định từ {args.file}")
    return 0


def cmd_scores_export(args) -> int:
    from thidua.review.scoring import export_scores
    ws = working_set(args)
    rounds = [_round(ws.plan, r.strip()) for r in args.round.split(",")] if args.round else None
    out = export_scores(ws, Path(args.out), rounds)
    print(f"Đã ghi bảng điểm để thẩm định: {out}")
    return 0


def cmd_classify(args) -> int:
    import json
    from thidua.review.scoring import classify_units
    results = classify_units(working_set(args), args.period, args.rule_set)
    if args.json:
        print(json.dumps([{"unit": r.code, "total": r.total, "level": r.level_code, "level_name": r.level_name,
                           "rule": r.rule, "rank_cluster": r.rank_cluster, "rank_province": r.rank_province,
                           "differences": r.differences} for r in results], ensure_ascii=False, indent=1))
        return 0
    for r in results:
        total = "" if r.total is None else format_number(r.total, 2)
        print(f"{r.code}\t{total}\t{r.level_name}\t{r.rank_province or ''}\t{r.rule}")
    return 0


def cmd_proposals_list(args) -> int:
    import json
    from thidua.awards.proposals import STATE_NAMES, load_proposals
    checks = load_proposals(working_set(args))
    if args.json:
        print(json.dumps([c.to_json() for c in checks], ensure_ascii=False, indent=1))
        return 0
    for c in checks:
        form = c.effective_form.code if c.effective_form else "-"
        verdict = c.verdict
        warn = ("; " + "; ".join(c.warnings)) if c.warnings else ""
        print(f"{c.id}\t{c.unit}\t{c.round}\t{c.name}\t{form}\t{STATE_NAMES.get(c.state, c.state)}\t{verdict}{warn}")
    return 0


def cmd_proposals_decide(args) -> int:
    from thidua.awards.proposals import STATE_NAMES, decide
    pc = decide(working_set(args), args.id, args.state, args.form, args.note, force=args.force, reason=args.reason)
    print(f"Đề nghị số {pc.id} ({pc.name}): {STATE_NAMES[pc.state]}"
          + (f", hình thức {pc.effective_form.name}" if pc.effective_form else "")
          + (f"; khen thưởng dù không đủ điều kiện, lý do: {pc.override}" if pc.override else ""))
    return 0


def _day(text: str | None):
    """A --date value dd/mm/yyyy as a date (None when not given)."""
    import datetime as dt
    if not text:
        return None
    try:
        return dt.datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError as exc:
        raise ThiDuaError(f"Ngày «{text}» không hiểu được.", "Ghi ngày/tháng/năm, ví dụ 27/12/2019.") from exc


def _written(paths, wanted_pdf: bool) -> None:
    """Say each paper written, then (--pdf) its PDF beside it."""
    for path in paths:
        print(f"Đã ghi {path}")
    if wanted_pdf and paths:
        from thidua.reports.libreoffice import convert_all
        for made in convert_all(paths, "pdf", paths[0].parent):
            print(f"Đã ghi {made}")


def cmd_awards_decision(args) -> int:
    """thidua awards decision: make the decision record of one round and form, then write its papers."""
    from thidua.awards.decisions import summary_line, make_decision, write_papers
    from thidua.awards.documents import parse_margins
    from thidua.awards.documents import layout_path
    ws = working_set(args)
    margins = parse_margins(args.margins)
    for kind in ("decision", "certificates"):       # a missing edited layout is refused before anything is stored
        layout_path(kind, args.layouts)
    made = make_decision(ws, _round(ws.plan, args.round), args.form, _day(args.date), args.number, args.adhoc)
    print(f"Đã lập quyết định {summary_line(made)}.")
    for note in made.notes:
        print(note)
    _written(write_papers(made, Path(args.out), args.layouts, margins), args.pdf)
    return 0


def cmd_awards_decisions(args) -> int:
    import json
    from thidua.awards.decisions import list_decisions, summary_line
    found = list_decisions(working_set(args))
    if args.json:
        print(json.dumps([{"number": d.number_text, "date": d.date.isoformat(), "form": d.form, "round": d.round,
                           "kind": d.kind, "collectives": d.collectives, "individuals": d.individuals,
                           "total": d.total, "signer": d.signer_name,
                           "register_numbers": [r["register_no"] for r in d.recipients]} for d in found],
                         ensure_ascii=False, indent=1))
        return 0
    if not found:
        print("Chưa có quyết định khen thưởng nào (thidua awards decision --round TK --form GK --out khen-thuong).")
    for d in found:
        print(summary_line(d))
    return 0


def cmd_awards_papers(args) -> int:
    """thidua awards papers|certificates: a stored decision's papers made again (the same documents)."""
    from thidua.awards.decisions import get_decision, write_papers
    from thidua.awards.documents import parse_margins
    decision = get_decision(working_set(args), args.number)
    margins = parse_margins(args.margins)
    if args.awards_command == "certificates":
        from thidua.awards.documents import render
        paths = [render("certificates", decision.context, Path(args.out), args.layouts, margins)]
    else:
        paths = write_papers(decision, Path(args.out), args.layouts, margins)
    _written(paths, args.pdf)
    return 0


def cmd_awards_submission(args) -> int:
    """thidua awards submission: the Tờ trình upward for a form decided above the office."""
    from thidua.awards.decisions import default_date
    from thidua.awards.documents import context, proposed, render
    from thidua.awards.proposals import load_proposals
    ws = working_set(args)
    plan = ws.plan
    rounds = [_round(plan, args.round)] if args.round else None
    checks = load_proposals(ws, rounds)
    rec = proposed(plan, checks, args.form, ws.unit_names)
    rnd = plan.round(args.round) if args.round else plan.year_end_round
    when = _day(args.date)
    if when is None:
        chosen = [pc for pc in checks if pc.id in {r["id"] for r in rec.everyone}]
        when, why = default_date(rnd, chosen)
        print(f"Ngày tờ trình: {when:%d/%m/%Y} ({why}); ghi --date để chọn ngày khác.")
    out = render("submission", context(plan, rec, "submission", args.number, when, rnd.code if rnd else None),
                 Path(args.out), args.layouts)
    print(f"Đã ghi {out}: {len(rec.collectives)} tập thể, {len(rec.individuals)} cá nhân ({rec.form.name}).")
    unfit = [r["name"] for r in rec.everyone if not r["eligible"]]
    if unfit:
        print("Lưu ý: chưa đủ điều kiện theo kế hoạch: " + ", ".join(unfit) + " (xem «thidua proposals list»).")
    if args.pdf:
        from thidua.reports.libreoffice import convert
        print(f"Đã ghi {convert(out, 'pdf', out.parent)}")
    return 0


def cmd_proposals_export(args) -> int:
    from thidua.awards.proposals import load_proposals
    from thidua.reports.summary_book import write_proposal_document
    ws = working_set(args)
    out = write_proposal_document(ws.plan, load_proposals(ws), ws.unit_names, Path(args.out))
    if args.pdf:
        from thidua.reports.libreoffice import convert
        convert(out, "pdf", out.parent)
    print(f"Đã ghi danh sách đề nghị khen thưởng: {out}" + (" (và PDF)" if args.pdf else ""))
    return 0


def cmd_summary(args) -> int:
    from thidua.reports.summary_job import build_summary
    previous = args.previous_db or None                 # a file or a server URL (store/locator.py)
    out = build_summary(working_set(args), args.period, Path(args.out), args.pdf, previous)
    print(f"Đã ghi báo cáo {'tổng kết năm' if args.period == 'year' else 'sơ kết đợt ' + args.period}: {out}"
          + (f" và {out.with_suffix('.pdf')}" if args.pdf else ""))
    return 0


def cmd_consolidate(args) -> int:
    import json
    from thidua.consolidate.run import consolidate
    ws = working_set(args)
    report = consolidate(ws, Path(args.inbox), _round(ws.plan, args.round),
                         Path(args.out) if args.out else None, progress=not args.json, wait=args.wait,
                         on_wait=lambda: print("Đang chờ một lần tổng hợp khác chạy xong...", file=sys.stderr))
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
        return 0
    if report.rejudged:
        from thidua.consolidate.rejudge import Rejudged
        print(Rejudged(**report.rejudged).sentence())
    counts = report.counts()
    names = {"accepted": "được dùng", "superseded": "đã được thay", "rejected": "có lỗi",
             "duplicate": "trùng lặp", "unreadable": "không đọc được"}
    print(f"Đã xem {len(report.files)} tệp, {sum(r.new for r in report.files)} tệp mới, sau {format_seconds(report.seconds)} giây: "
          + ", ".join(f"{counts[k]} {v}" for k, v in names.items() if counts.get(k)) + ".")
    for item in report.skipped:
        print(f"  Bỏ qua {item['file']}: {item['reason']}")
    if report.across:
        from thidua.store.crossround import decreases_sentence
        print(f"Lưu ý: {decreases_sentence(report.across)}"
              + (f" (10 đầu tiên; đủ cả trong --json):" if len(report.across) > 10 else ":"))
        for item in report.across[:10]:
            print(f"  [Lưu ý {item['code']}] {item['message']}")
    for path in report.workbooks:
        print(f"Bảng tổng hợp cho Ban Thường vụ: {path}")
    return 0


def cmd_status(args) -> int:
    import json
    from thidua.store.tracking import decided_at, status_label, status_rows
    ws = working_set(args)
    plan = ws.plan
    args.round = _round(plan, args.round)
    rows = status_rows(ws, args.round)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        from thidua.store.definitions import receipt_text
        for r in rows:
            when = receipt_text(decided_at(r), r["first_valid_source"] or r["received_source"])   # what decided it
            print(f"{r['round']:4} {r['unit']:8} {status_label(r['status']):10} {when:36} {r['email']}  {r['name']}"
                  + (f"  ({r['note']})" if r["note"] else ""))
        todo = sum(r["status"] in ("missing", "errors") for r in rows)
        print(f"{len(rows)} dòng; {todo} đơn vị cần đôn đốc.")
    if args.reminders:
        from thidua.reports.reminders import write_reminders
        rounds = [args.round] if args.round else sorted({r["round"] for r in rows}, key=[x.code for x in plan.rounds].index)
        for rc in rounds:
            paths = write_reminders(ws, rc, Path(args.reminders) / rc, args.templates)
            print(f"Kỳ {rc}: danh sách nhắc nhở {paths[0]} và {len(paths) - 1} thư nhắc (.eml)", file=sys.stderr)
    return 0


def cmd_key_new(args) -> int:
    from thidua.templates.keys import create_office_key
    from thidua.templates.signing import fingerprint, key_path
    key = create_office_key(args.key, working_set(args).db, [Path(t) for t in args.templates or ()])
    print(f"Đã tạo khóa mới của văn phòng {key_path(args.key)} (dấu vân tay {fingerprint(key)}).")
    print("Hãy sao lưu tệp này (thidua backup) và không gửi cho ai.")
    return 0


def cmd_key_show(args) -> int:
    from thidua.templates.keys import describe
    for line in describe(args.key, working_set(args).db):
        print(line)
    return 0


def cmd_rejudge(args) -> int:
    import json
    from thidua.consolidate.rejudge import rejudge
    ws = working_set(args)
    done = rejudge(ws, _round(ws.plan, args.round), wait=args.wait)
    if args.json:
        print(json.dumps(done.to_json(), ensure_ascii=False, indent=1))
        return 0
    print(done.sentence())
    for c in done.changed:
        print(f"  {c['round'] or '?':4} {c['unit'] or '?':8} {c['file']}: {c['old']} -> {c['new']} "
              f"({c['old_errors']} -> {c['new_errors']} lỗi)")
    return 0


def cmd_backup(args) -> int:
    from thidua.store.transfer import backup
    from thidua.templates.signing import key_path
    key = key_path(args.key)
    out = backup(working_set(args).db, key if key.exists() else None, Path(args.out))
    print(f"Đã sao lưu kho dữ liệu, thư mục lưu trữ" + (" và khóa" if key.exists() else "") + f": {out}")
    if not key.exists():
        print(f"Lưu ý: không thấy tệp khóa {key} nên bản sao lưu không có khóa.", file=sys.stderr)
    return 0


def cmd_restore(args) -> int:
    from thidua.store.transfer import restore
    from thidua.templates.signing import key_path
    done = restore(Path(args.file), working_set(args).db, key_path(args.key), force=args.force)
    print(f"Đã khôi phục kho dữ liệu {done.db} và {done.n_files} tệp lưu trữ ({done.added} tệp chép vào, "
          f"{done.n_files - done.added} tệp đã có sẵn, nguyên vẹn)"
          + (f", khóa {done.key} (dấu vân tay {done.key_fingerprint})" if done.key else "") + ".")
    for path in done.repaired:
        print(f"  Đã thay bản lưu trữ bị hỏng: {path}")
    if done.swept:
        print(f"Đã xóa {done.swept} tệp tạm do lần sao lưu/khôi phục bị dừng giữa chừng để lại.")
    return 0


def cmd_store_copy(args) -> int:
    """Copy a store between files and servers (SQLite <-> PostgreSQL), archive included."""
    from thidua.store.locator import choose, settings_from
    from thidua.mail.settings import settings_file_for
    from thidua.store.transfer import copy_store
    settings = settings_from({}, settings_file_for(None, args.settings))
    from thidua.year.history import follow_copy
    done = copy_store(choose(args.source, settings), choose(args.target, settings), force=args.force,
                      year=args.year)
    print(f"Đã chép kho dữ liệu" + (f" năm {done.year}" if done.year else "") + f" {done.source} sang {done.target}: "
          f"{len(done.rows)} bảng, {format_number(sum(done.rows.values()))} dòng, {format_number(done.n_files)} tệp "
          f"lưu trữ ({format_number(done.n_bytes / 1e6, 1)} MB), sau {format_seconds(done.seconds)} giây.")
    history = follow_copy(done)
    if history:
        print("Chỉ chép kho của một năm; kho các năm trước không được chép, kho mới đọc chúng (chỉ đọc) ở:")
        for line in history:
            print(f"  {line}")
    return 0


def cmd_new_year(args) -> int:
    """thidua new-year YEAR: the next year's working set beside the previous one (year/rollover.py)."""
    from thidua.plan.load import load_units
    from thidua.text.numbers import format_number
    from thidua.year.rollover import new_year, source_working_set
    ws = source_working_set(args.year, args.from_year, folder=args.dir, workbook=args.workbook, plan=args.plan,
                            register=args.register, db=args.db, key_file=args.key)
    given = load_units(args.new_register) if args.new_register else None
    out = args.out
    if out is None and not ws.location.is_sqlite:      # a store on a server: the new workbook beside the old one
        out = Path(args.workbook).resolve().parent if args.workbook else Path(args.dir or ".")
    done = new_year(ws, args.year, out, given)
    for line in done.lines():
        print(line)
    files = [done.workbook] + ([Path(done.store.path)] if done.store.is_sqlite else [])
    sizes = ", ".join(f"{p.name} {format_number(p.stat().st_size / 1024, 0)} KB" for p in files)
    if not done.store.is_sqlite:
        sizes += f"; kho dữ liệu năm {done.year} trên máy chủ {done.store.server}: {done.store.name}"
    print(f"Xong sau {format_seconds(done.seconds)} giây ({sizes}). Làm việc năm {done.year}: mở {done.workbook}, "
          f"hoặc dùng --workbook {done.workbook}.")
    return 0


def cmd_history(args) -> int:
    import json
    from thidua.plan.units import unknown_unit
    from thidua.store.submissions import submission_history
    from thidua.store.vocabulary import label
    ws = working_set(args)
    units = list(ws.register)
    unit = next((u.code for u in units if args.unit and u.code.casefold() == args.unit.strip().casefold()), args.unit)
    if args.years:
        return _unit_years(ws, unit, args.json)
    with ws.store() as store:
        rows = submission_history(store, unit, _round(ws.plan, args.round))
    if unit and not rows and unit not in {u.code for u in units}:
        raise unknown_unit([unit], units)
    rows.sort(key=lambda r: _receipt_order(r["received_at"]))        # oldest first by receipt time
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for r in rows:
        when = (r["received_at"] or "").replace("T", " ")
        mark = " (theo ngày lưu tệp)" if r["received_source"] == "file" else ""
        print(f"{r['round'] or '?':4} {r['unit'] or '?':8} {when:19}{mark} {label(r['status']):18} "
              f"{r['n_errors']} lỗi  {r['file_name']}  {r['sha256'][:12]}  -> {r['archive_path']}")
    print(f"{len(rows)} tệp đã nhận.")
    return 0


def _unit_years(ws, unit: str | None, as_json: bool) -> int:
    """`thidua history --unit CODE --years`: the unit year by year from the stores of the years."""
    import dataclasses
    import json
    from thidua.plan.units import unknown_unit
    if not unit:
        raise ThiDuaError("Cần chọn đơn vị để xem lịch sử các năm.", "Thêm --unit MÃ_ĐƠN_VỊ, ví dụ --unit CD006.")
    if unit not in {u.code for u in ws.register}:
        raise unknown_unit([unit], list(ws.register))
    history = ws.history
    rows = history.unit(unit)
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=1))
        return 0
    name = ws.unit_names.get(unit) or next((u.name for u in ws.register if u.code == unit), unit)
    print(f"{unit} {name}: lịch sử {len(rows)} năm")
    for r in rows:
        if not r.known:
            print(f"  {r.year}: không đọc được ({r.level_name})")
            continue
        level = r.level_name or "chưa báo cáo tổng kết"
        points = f" ({format_number(r.total, 2)} điểm)" if r.total is not None else ""
        extra = "; ".join(r.titles + [f"được khen: {a}" for a in r.awards]
                          + ([f"{r.people_awarded} cá nhân được khen"] if r.people_awarded else [])
                          + ([f"mã năm đó: {r.code}"] if r.code != unit else [])
                          + ([f"tình trạng: {r.status}"] if r.status not in ("", "active") else []))
        print(f"  {r.year}: {level}{points}" + (f"; {extra}" if extra else ""))
    for y in history.years:
        if y.error:
            print(f"Lưu ý: năm {y.year}: {y.error}.", file=sys.stderr)
        elif y.note:
            print(f"Lưu ý: {y.note}.", file=sys.stderr)
    return 0


def _receipt_order(received_at: str | None) -> tuple:
    """Sort key of a receipt time (ISO text, any offset); unknown times last."""
    import datetime as dt
    if not received_at:
        return (1, 0.0)
    try:
        moment = dt.datetime.fromisoformat(received_at)
    except ValueError:
        return (1, 0.0)
    return (0, (moment if moment.tzinfo else moment.astimezone()).timestamp())


def cmd_received(args) -> int:
    """Set the office's receipt time of a file: late status follows everywhere (it is computed, not stored)."""
    from thidua.intake.parse import parse_moment
    from thidua.store.definitions import receipt_text
    from thidua.store.submissions import set_receipt
    when = parse_moment(args.at)
    if when is None:
        raise ThiDuaError(f"Không đọc được thời điểm «{args.at}».", "Ghi dạng ngày/tháng/năm giờ:phút, ví dụ "
                          "--at \"15/04/2019 08:30\".")
    with working_set(args).store() as store:
        sub = set_receipt(store, args.file, when.isoformat(timespec="seconds"), "office")
    print(f"Tệp {sub.file_name} ({sub.sha256[:12]}), đơn vị {sub.unit or '?'}, kỳ {sub.round or '?'}: "
          f"nhận lúc {receipt_text(sub.received_at, sub.source)}"
          + ("" if sub.source == "office" else " (đã có thời điểm từ nguồn khác, không đổi)") + ".")
    return 0


def cmd_validate(args) -> int:
    import json
    from collections import Counter
    from thidua.intake.feedback import write_feedback
    from thidua.templates.keys import check_key_ids
    from thidua.templates.signing import fingerprint
    from thidua.intake.validate import validate_file
    ws = working_set(args)
    plan, key = ws.plan, ws.key()                          # never created here: a missing key is Lỗi/Thử
    from thidua.consolidate.run import survey_inbox        # a folder is walked the way consolidation walks an inbox
    from thidua.intake.feedback import feedback_name
    files, skipped = [], []
    for arg in args.files:
        if Path(arg).is_dir():
            found, left = survey_inbox(Path(arg))
            files += found
            skipped += left
        else:
            files.append(Path(arg))
    register = ws.register_map
    results = [validate_file(path, plan, key, register) for path in files]
    # files signed with another key: the office's key decides (the store records it), never a guess
    check_key_ids(Counter(r.key_id for r in results if r.key_id), key, ws.location, ", ".join(args.files))
    foreign = [r for r in results if any(i.code == "M012" for i in r.issues)]
    foreign_ids = {id(r) for r in foreign}
    failed, written = False, {}
    with _feedback_space(args.feedback, files):            # room for the copies, checked before the first
        for path, result in zip(files, results):
            lock = [i.code for i in result.issues] == ["F007"]
            failed |= result.status != "ok" and not lock
            if args.feedback and not lock and id(result) not in foreign_ids:   # no unit is told off for a foreign key
                out = Path(args.feedback)
                if len(files) > 1:
                    out = out / feedback_name(path, result)
                    if out in written and written[out] != result.sha256:     # never overwrite another file's
                        out = out.with_name(f"{out.stem}_{len(written)}.xlsx")
                    written[out] = result.sha256
                write_feedback(path, result, out)
            if not args.json:
                _print_result(result, lock)
    if foreign:
        ids = ", ".join(sorted({r.key_id for r in foreign}))
        print(f"Lưu ý: {len(foreign)} tệp được ký bằng khóa khác (mã khóa {ids}), không phải khóa của văn phòng "
              f"({fingerprint(key)}): không phải lỗi của đơn vị nên không tạo tệp phản hồi cho các tệp này.",
              file=sys.stderr)
    if not args.json:
        for item in skipped:
            print(f"{item['file']}: bỏ qua, {item['reason']}")
        if args.feedback and len(files) > 1:
            print(f"Đã ghi {len(written)} tệp phản hồi vào {args.feedback}.")
    if args.json:
        print(json.dumps([r.to_json() for r in results] + [dict(item, status="skipped") for item in skipped],
                         ensure_ascii=False, indent=1))
    return 1 if failed else 0


def _feedback_space(feedback, files):
    """Room for the feedback copies (each about the size of the unit's file): checked before the first is written."""
    from thidua import faults
    from thidua.volumes import existing
    if not feedback:
        return faults.expect_space(Path.cwd(), 0)
    sizes = sum(p.stat().st_size for p in files if p.is_file())
    folder = Path(feedback) if len(files) > 1 else Path(feedback).parent
    return faults.expect_space(existing(folder), sizes * 3 // 2, what=f"tệp phản hồi vào {folder}")


# ---------------------------------------------------------------- the mailbox (thidua/mail/)
def _mail_settings(args, ws):
    from thidua.mail.settings import load_settings, settings_file_for
    given = {"host": args.host, "port": args.port, "security": args.security, "user": args.user,
             "password_file": args.password_file, "ca_file": args.ca_file}
    if args.mail_command == "fetch":
        given |= {"folder": args.folder, "max_message_mb": args.max_size}
    else:       # for sending, the connection options name the SMTP server
        given = {("smtp_" + k if k in ("host", "port", "security", "user") else k): v for k, v in given.items()}
        given |= {"rate_per_minute": args.rate}
    return load_settings(ws.plan.meta, settings_file_for(args.workbook, args.settings, ws.db_path), given)


def cmd_mail_fetch(args) -> int:
    import json
    from thidua.mail.fetch import fetch_mail
    ws = working_set(args)
    report = fetch_mail(ws, _mail_settings(args, ws), Path(args.out), progress=not args.json)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        print(f"Đã xem {report.n_messages} thư mới trong {report.folder}"
              + (" (hộp thư đã được tạo lại: xem lại mọi thư, không lưu trùng)" if report.rescanned else "")
              + f": lưu {len(report.saved)} tệp vào {args.out}, "
              f"{sum(t.status == 'duplicate' for t in report.files)} tệp trùng đã có.")
        for t in report.saved:
            print(f"  {t.received_at.replace('T', ' ')}  {t.file}  (từ {t.sender})")
        for t in report.flagged:
            print(f"  Cần xem: {t.file}: {t.flag}.")
    for p in report.problems:
        who = f" «{p['subject']}» từ {p['sender']}" if p.get("subject") or p.get("sender") else ""
        print(f"Lỗi: thư số {p['uid']}{who}: {p['reason']}; chưa lấy tệp của thư này.", file=sys.stderr)
        print(f"Thử: {p['hint']}; lần nhận sau sẽ thử lại thư này.", file=sys.stderr)
    return 2 if report.problems else 0


def cmd_mail_send(args) -> int:
    import json
    from thidua.mail.send import build, send_messages, sender_of
    from thidua.mail.settings import settings_home
    ws = working_set(args)
    settings = _mail_settings(args, ws)
    args.round = _round(ws.plan, args.round)
    sender = sender_of(settings, ws.plan, settings_home(args.workbook, args.settings, ws.db_path))
    outgoing, no_address = build(ws, args.what, args.round, sender, args.templates)
    report = send_messages(ws, outgoing, settings, args.round, args.what, args.dry_run,
                           Path(args.out) if args.out else None, progress=not args.json,
                           resend=args.resend, mark_sent=args.mark_sent, note=args.note)
    report.no_address = no_address
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
        return 2 if report.failed or report.uncertain else 0
    kind = "biểu mẫu" if args.what == "templates" else "thư nhắc"
    for d in report.decisions:
        action = "gửi lại" if d["action"] == "resend" else "ghi là đã gửi"
        print(f"Đã ghi quyết định: {d['unit']} ({d['recipient']}) {action}, do {d['decided_by']} lúc "
              f"{d['decided_at'].replace('T', ' ')}; lý do: {d['reason']}.")
    if args.dry_run:
        print(f"Chạy thử: đã soạn {len(report.written)} {kind} kỳ {args.round} (.eml, chưa gửi)"
              + (f" trong {Path(report.written[0]).parent}" if report.written else "") + ".")
    else:
        print(f"Đã gửi {len(report.sent)} {kind} kỳ {args.round}.")
    if report.already:
        print(f"{len(report.already)} đơn vị đã được gửi từ lần trước, không gửi lại.")
    if report.no_address:
        print(f"Không có địa chỉ thư điện tử: {', '.join(report.no_address)}.")
    for f in report.failed:
        print(f"Lỗi: máy chủ từ chối thư gửi {f['unit']} ({f['to']}): {f['error']}.", file=sys.stderr)
    if report.uncertain:
        units = " ".join(report.uncertain)
        print(f"Lỗi: lần gửi trước bị dừng giữa chừng (máy tắt, mất điện, bị ngắt) khi đang gửi {kind} kỳ {args.round} "
              f"cho {len(report.uncertain)} đơn vị; không biết thư đã đến hay chưa nên không gửi lại tự động:",
              file=sys.stderr)
        for r in report.uncertain_rows:
            print(f"  {r['unit']} ({r['recipient']}): «{r['subject']}», bắt đầu gửi lúc "
                  f"{r['started_at'].replace('T', ' ')}, Message-ID {r['message_id']}", file=sys.stderr)
        print(f"Thử: xem thư mục «Thư đã gửi» của hộp thư văn phòng (hoặc hỏi đơn vị), rồi chạy lại lệnh này với "
              f"--resend {units} cho đơn vị chưa nhận được, --mark-sent {units} cho đơn vị đã nhận được "
              "(thêm --note \"lý do\" nếu cần); mỗi quyết định được ghi lại kèm người, giờ và lý do.", file=sys.stderr)
    return 2 if report.failed or report.uncertain else 0


def _print_result(result, skipped: bool) -> None:
    mark = "bỏ qua" if skipped else {"ok": "hợp lệ", "errors": "CÓ LỖI", "unreadable": "KHÔNG ĐỌC ĐƯỢC"}[result.status]
    who = f" (đơn vị {result.unit}, kỳ {result.round})" if result.unit else ""
    print(f"{result.file}{who}: {mark}, {result.n_errors} lỗi, {result.n_warnings} lưu ý")
    for issue in result.issues:
        where = f" {issue.sheet}!{issue.cell}" if issue.cell else (f" {issue.sheet}" if issue.sheet else "")
        level = "Lỗi" if issue.severity == "error" else "Lưu ý"
        print(f"  [{level} {issue.code}]{where}: {issue.message}")


DB_HELP = ("kho dữ liệu tổng hợp: tệp (mặc định: thidua.db) hoặc máy chủ postgresql://TÊN@MÁY_CHỦ:5432/TÊN_CSDL "
           "(mặc định theo [store] url của thidua.toml)")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="thidua", description="ThiDua: báo cáo, tổng hợp và xếp loại thi đua của CĐVC tỉnh.")
    parser.add_argument("--version", action="version", version=f"thidua {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("templates", help="tạo biểu mẫu điền sẵn cho từng đơn vị của một kỳ báo cáo")
    p.add_argument("--round", required=True, help="mã kỳ báo cáo: DK, Q1, Q2, SK1, Q3, Q4, TK, DX")
    p.add_argument("--out", required=True, help="thư mục ghi biểu mẫu")
    p.add_argument("--units", help="chỉ các đơn vị này: mã cách nhau bởi dấu phẩy")
    p.add_argument("--db", help=DB_HELP + ", để không tạo khóa mới khi đã có tệp ký bằng khóa khác")
    _common(p)
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("blank-templates", help="tạo biểu mẫu trống của mọi kỳ (thư mục templates/)")
    p.add_argument("--out", default="templates", help="thư mục ghi (mặc định: templates)")
    _common(p)
    p.set_defaults(func=cmd_blank_templates)

    p = sub.add_parser("demo", help="chạy thử toàn bộ quy trình trên dữ liệu mẫu")
    p.add_argument("--out", default="demo-output", help="thư mục kết quả (mặc định: demo-output)")
    p.add_argument("--quiet", action="store_true", help="không in tiến trình")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("build-workbook", help="tạo sổ làm việc ThiDua2019.xlsm (kế hoạch, danh sách đơn vị, nút lệnh, VBA)")
    p.add_argument("--out", help="tệp ghi ra (mặc định: workbook/ThiDua2019.xlsm)")
    p.add_argument("--test-stub", action="store_true",
                   help="bản kiểm thử: RunPython chỉ ghi lệnh Python vào ô, không chạy Python")
    p.set_defaults(func=cmd_build_workbook)
    p = sub.add_parser("bundle-windows", help="tạo gói cài đặt ThiDua-<phiên bản>-win64.zip cho máy Windows của văn phòng "
                       "(sổ làm việc, cai-dat.bat, uv.exe, mọi gói dạng wheel; cần mạng tới PyPI)")
    p.add_argument("--out", required=True, help="thư mục ghi tệp .zip")
    p.add_argument("--cache", help="thư mục giữ các tệp đã tải (mặc định: $THIDUA_BUNDLE_CACHE hoặc ~/.cache/thidua-bundle)")
    p.add_argument("--python-archive", metavar="FILE",
                   help="bản CPython 3.12 cho Windows 64-bit (python-build-standalone, cpython-3.12.X+NGÀY-x86_64-pc-"
                        "windows-msvc-install_only.tar.gz) đưa vào gói: cai-dat.bat cài không cần Internet")
    p.set_defaults(func=cmd_bundle_windows)

    # scores, classification, proposals and summaries (review/scoring.py, awards/proposals.py, reports/summary.py)
    db_help = DB_HELP
    p = sub.add_parser("scores", help="điểm thẩm định: xuất bảng để chấm, nhập điểm đã chấm")
    scores = p.add_subparsers(dest="scores_command", metavar="SUBCOMMAND", required=True)
    q = scores.add_parser("import", help="nhập điểm thẩm định từ tệp .xlsx/.csv (mã đơn vị, kỳ, mã tiêu chí, điểm)")
    q.add_argument("file", help="tệp điểm thẩm định")
    q.add_argument("--db", help=db_help)
    _common(q)
    q.set_defaults(func=cmd_scores_import)
    q = scores.add_parser("export", help="xuất bảng điểm tự chấm để văn phòng điền điểm thẩm định")
    q.add_argument("--db", help=db_help)
    q.add_argument("--out", required=True, help="tệp .xlsx ghi ra")
    q.add_argument("--round", help="chỉ các kỳ này (mặc định: SK1,TK)")
    _common(q)
    q.set_defaults(func=cmd_scores_export)

    p = sub.add_parser("classify", help="xếp loại và xếp hạng các CĐCS của một đợt")
    p.add_argument("--period", required=True, choices=("1", "2", "year"), type=str.lower, help="1 = sơ kết Đợt 1, year = tổng kết năm")
    p.add_argument("--db", help=db_help)
    p.add_argument("--rule-set", help="bộ quy tắc xếp loại (mặc định: của năm trong kế hoạch)")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    _common(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("proposals", help="đề nghị khen thưởng: xem, ghi quyết định, xuất danh sách")
    props = p.add_subparsers(dest="proposals_command", metavar="SUBCOMMAND", required=True)
    q = props.add_parser("list", help="liệt kê mọi đề nghị với kết quả xét điều kiện")
    q.add_argument("--db", help=db_help)
    q.add_argument("--json", action="store_true", help="in dạng JSON")
    _common(q)
    q.set_defaults(func=cmd_proposals_list)
    q = props.add_parser("decide", help="ghi quyết định của văn phòng cho một đề nghị")
    q.add_argument("--db", help=db_help)
    q.add_argument("--id", required=True, type=int, help="số của đề nghị (xem «proposals list»)")
    q.add_argument("--state", required=True, choices=("reviewed", "not_met", "raised", "awarded"))
    q.add_argument("--form", help="mã hình thức khen thưởng (bắt buộc khi nâng hình thức)")
    q.add_argument("--note", help="ghi chú quyết định")
    q.add_argument("--force", action="store_true",
                   help="cho phép sửa một đề nghị đã được khen thưởng, hoặc khen thưởng người chưa đủ điều kiện "
                        "(cần --reason; ghi vào lịch sử đề nghị)")
    q.add_argument("--reason", help="lý do khen thưởng người chưa đủ điều kiện (hiện trong danh sách làm việc)")
    _common(q)
    q.set_defaults(func=cmd_proposals_decide)
    q = props.add_parser("export", help="xuất Danh sách đề nghị khen thưởng theo mẫu văn bản")
    q.add_argument("--db", help=db_help)
    q.add_argument("--out", required=True, help="tệp .xlsx ghi ra")
    q.add_argument("--pdf", action="store_true", help="ghi thêm tệp PDF bên cạnh")
    _common(q)
    q.set_defaults(func=cmd_proposals_export)

    p = sub.add_parser("awards", help="quyết định khen thưởng (lưu trong kho), giấy khen, tờ trình (Word)")
    aw = p.add_subparsers(dest="awards_command", metavar="SUBCOMMAND", required=True)

    def paper_options(q, out_help: str) -> None:
        q.add_argument("--out", required=True, help=out_help)
        q.add_argument("--pdf", action="store_true", help="ghi thêm tệp PDF bên cạnh (LibreOffice)")
        q.add_argument("--db", help=db_help)
        q.add_argument("--layouts", help="thư mục chứa mẫu .docx đã sửa (mặc định: mẫu kèm theo ThiDua)")
        q.add_argument("--margins", help="lề trang giấy khen (mm) trên,phải,dưới,trái cho khớp phôi in sẵn")
        _common(q)

    q = aw.add_parser("decision", help="lập quyết định khen thưởng của một kỳ và một hình thức (lưu trong kho), "
                      "ghi quyết định kèm danh sách, giấy khen và danh sách làm việc")
    q.add_argument("--round", required=True, help="kỳ của các đề nghị: SK1 (sơ kết), TK (tổng kết), DX (đột xuất)")
    q.add_argument("--form", required=True, help="mã hình thức khen thưởng do Văn phòng quyết định, ví dụ GK")
    q.add_argument("--date", help="ngày ký, ngày/tháng/năm (mặc định: theo kỳ, không phải hôm nay)")
    q.add_argument("--number", help="số quyết định, ví dụ 5 (in ra 05/QĐ-CĐN); mặc định: số tiếp theo")
    q.add_argument("--adhoc", action="store_true", help="quyết định khen thưởng đột xuất từ các đề nghị ghi «Đột xuất»")
    paper_options(q, "thư mục ghi các văn bản")
    q.set_defaults(func=cmd_awards_decision)
    q = aw.add_parser("decisions", help="liệt kê các quyết định khen thưởng đã lập")
    q.add_argument("--db", help=db_help)
    q.add_argument("--json", action="store_true", help="in dạng JSON")
    _common(q)
    q.set_defaults(func=cmd_awards_decisions)
    q = aw.add_parser("papers", help="ghi lại các văn bản của một quyết định đã lập (giống hệt lần trước)")
    q.add_argument("--number", required=True, help="số quyết định, ví dụ 5 hoặc 05/QĐ-CĐN")
    paper_options(q, "thư mục ghi các văn bản")
    q.set_defaults(func=cmd_awards_papers)
    q = aw.add_parser("certificates", help="giấy khen của một quyết định đã lập, mỗi người/tập thể một trang A4 ngang")
    q.add_argument("--number", required=True, help="số quyết định, ví dụ 5 hoặc 05/QĐ-CĐN")
    paper_options(q, "tệp .docx ghi ra")
    q.set_defaults(func=cmd_awards_papers)
    q = aw.add_parser("submission", help="Tờ trình lên LĐLĐ tỉnh kèm danh sách (hình thức do cấp trên quyết định)")
    q.add_argument("--form", required=True, help="mã hình thức khen thưởng, ví dụ BKLDLD")
    q.add_argument("--round", help="chỉ các đề nghị của kỳ này (mặc định: mọi kỳ)")
    q.add_argument("--date", help="ngày ký, ngày/tháng/năm (mặc định: theo kỳ)")
    q.add_argument("--number", help="số tờ trình, ví dụ 12/TTr-CĐN (để trống: chừa chỗ ghi tay)")
    q.add_argument("--out", required=True, help="tệp .docx ghi ra")
    q.add_argument("--pdf", action="store_true", help="ghi thêm tệp PDF bên cạnh (LibreOffice)")
    q.add_argument("--db", help=db_help)
    q.add_argument("--layouts", help="thư mục chứa mẫu .docx đã sửa (mặc định: mẫu kèm theo ThiDua)")
    _common(q)
    q.set_defaults(func=cmd_awards_submission)

    p = sub.add_parser("summary", help="báo cáo sơ kết Đợt 1 hoặc tổng kết năm (.xlsx, có thể kèm PDF)")
    p.add_argument("--period", required=True, choices=("1", "2", "year"), type=str.lower, help="1 = sơ kết Đợt 1, year = tổng kết năm")
    p.add_argument("--db", help=db_help)
    p.add_argument("--out", required=True, help="tệp .xlsx ghi ra")
    p.add_argument("--pdf", action="store_true", help="ghi thêm OUT.pdf bên cạnh")
    p.add_argument("--previous-db", help="kho dữ liệu năm trước, để so sánh")
    _common(p)
    p.set_defaults(func=cmd_summary)
    p = sub.add_parser("consolidate", help="tổng hợp các tệp đơn vị gửi về: lưu trữ, kiểm tra, ghi vào kho dữ liệu")
    p.add_argument("inbox", help="thư mục chứa các tệp nhận được (kể cả thư mục con)")
    p.add_argument("--round", help="chỉ báo cáo và bảng tổng hợp của kỳ này (mọi tệp vẫn được lưu)")
    p.add_argument("--db", help=DB_HELP + "; bản lưu trữ ở thidua-luu-tru/ bên cạnh tệp, hoặc trong máy chủ")
    p.add_argument("--out", help="bảng tổng hợp cho Ban Thường vụ: tệp .xlsx (một kỳ) hoặc thư mục (mỗi kỳ một tệp)")
    p.add_argument("--json", action="store_true", help="in kết quả từng tệp và tổng các chỉ tiêu dạng JSON")
    p.add_argument("--wait", type=float, default=30.0, help="số giây chờ khi đang có lần tổng hợp khác (mặc định: 30)")
    _common(p)
    p.set_defaults(func=cmd_consolidate)

    p = sub.add_parser("status", help="tình hình nộp báo cáo của từng đơn vị: đúng hạn, trễ, có lỗi, chưa nộp")
    p.add_argument("--round", help="chỉ kỳ này (mặc định: mọi kỳ có hạn nộp)")
    p.add_argument("--db", help=db_help)
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    p.add_argument("--reminders", help="thư mục ghi danh sách nhắc nhở (.xlsx) và thư nhắc (.eml) kèm biểu mẫu")
    p.add_argument("--templates", help="thư mục biểu mẫu đã tạo (mặc định: tạo lại bằng khóa của văn phòng)")
    _common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("new-year", help="tạo bộ làm việc năm sau cạnh năm trước: kế hoạch chuyển ngày, danh sách đơn "
                       "vị, cùng khóa, sổ ThiDua<NĂM>.xlsm và kho dữ liệu mới biết lịch sử các năm trước")
    p.add_argument("year", type=int, metavar="YEAR", help="năm mới, ví dụ 2020")
    p.add_argument("--from", dest="from_year", type=int, metavar="PREVIOUS",
                   help="năm trước để chuyển từ đó (mặc định: YEAR - 1)")
    p.add_argument("--dir", help="thư mục có sổ ThiDua<PREVIOUS>.xlsm khi không ghi --workbook (mặc định: thư mục hiện tại)")
    p.add_argument("--db", help="kho dữ liệu năm trước (mặc định: thidua-<PREVIOUS>.sqlite cạnh sổ làm việc, hoặc "
                   "[store] url); trên máy chủ PostgreSQL, kho năm mới là lược đồ thidua_<YEAR> của cùng cơ sở dữ liệu")
    p.add_argument("--out", help="thư mục ghi năm mới (mặc định: thư mục của kho dữ liệu năm trước; kho trên máy "
                   "chủ: thư mục của sổ làm việc năm trước)")
    p.add_argument("--new-register", help="danh sách đơn vị năm mới (.csv hoặc .xlsm) để đối chiếu với năm trước; mặc "
                   "định: chuyển nguyên danh sách năm trước")
    _common(p)
    p.set_defaults(func=cmd_new_year)

    p = sub.add_parser("history", help="lịch sử các tệp đã nhận của một đơn vị / một kỳ (kể cả bản bị thay, bị trả lại); "
                       "--years: xếp loại, danh hiệu, khen thưởng của đơn vị qua các năm")
    p.add_argument("--unit", help="mã đơn vị")
    p.add_argument("--years", action="store_true", help="lịch sử các năm của đơn vị (theo kho dữ liệu của từng năm)")
    p.add_argument("--round", help="mã kỳ báo cáo")
    p.add_argument("--db", help=db_help)
    p.add_argument("--json", action="store_true", help="in dạng JSON")
    _common(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("key", help="khóa ký biểu mẫu của văn phòng: tạo lần đầu, xem dấu vân tay")
    keys = p.add_subparsers(dest="key_command", metavar="SUBCOMMAND", required=True)
    q = keys.add_parser("new", help="tạo khóa mới (chỉ khi chưa có kho dữ liệu hay biểu mẫu ký bằng khóa khác)")
    q.add_argument("--key", help="tệp khóa ghi ra (mặc định: $THIDUA_KEY_FILE hoặc ~/.thidua/office.key)")
    q.add_argument("--db", help=db_help)
    q.add_argument("--templates", action="append", help="thư mục biểu mẫu đã tạo (kiểm tra chưa có biểu mẫu ký "
                   "bằng khóa khác); dùng nhiều lần được")
    q.set_defaults(func=cmd_key_new)
    q = keys.add_parser("show", help="in dấu vân tay của khóa (và khóa kho dữ liệu đã ghi)")
    q.add_argument("--key", help="tệp khóa (mặc định: $THIDUA_KEY_FILE hoặc ~/.thidua/office.key)")
    q.add_argument("--db", help=db_help)
    q.set_defaults(func=cmd_key_show)

    p = sub.add_parser("rejudge", help="kiểm tra lại mọi tệp đã lưu với khóa, danh sách đơn vị và kế hoạch hiện tại")
    p.add_argument("--round", help="chỉ các tệp của kỳ này")
    p.add_argument("--db", help=db_help)
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    p.add_argument("--wait", type=float, default=30.0, help="số giây chờ khi đang có lần tổng hợp khác (mặc định: 30)")
    _common(p)
    p.set_defaults(func=cmd_rejudge)

    p = sub.add_parser("backup", help="sao lưu kho dữ liệu, thư mục lưu trữ (kèm bảng kê mã băm) và khóa vào một tệp .zip")
    p.add_argument("--out", required=True, help="thư mục ghi tệp thidua-sao-luu-NGÀY-GIỜ.zip")
    p.add_argument("--db", help=db_help)
    p.add_argument("--key", help="tệp khóa (mặc định: $THIDUA_KEY_FILE hoặc ~/.thidua/office.key)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="kiểm tra một bản sao lưu rồi khôi phục kho dữ liệu, thư mục lưu trữ và khóa")
    p.add_argument("file", help="tệp thidua-sao-luu-….zip")
    p.add_argument("--db", help=db_help)
    p.add_argument("--key", help="nơi ghi khóa (mặc định: $THIDUA_KEY_FILE hoặc ~/.thidua/office.key)")
    p.add_argument("--force", action="store_true", help="thay kho dữ liệu / khóa đang có")
    p.set_defaults(func=cmd_restore)


    p = sub.add_parser("store", help="kho dữ liệu: chép giữa tệp SQLite và máy chủ PostgreSQL")
    stores = p.add_subparsers(dest="store_command", metavar="SUBCOMMAND", required=True)
    q = stores.add_parser("copy", help="chép nguyên kho dữ liệu của một năm (kể cả các tệp lưu trữ) sang chỗ khác: "
                          "tệp .db hoặc postgresql://TÊN@MÁY_CHỦ:5432/TÊN_CSDL (kho năm đó vào lược đồ của năm)")
    q.add_argument("--from", dest="source", required=True, help="kho dữ liệu nguồn (tệp hoặc địa chỉ máy chủ)")
    q.add_argument("--to", dest="target", required=True, help="kho dữ liệu đích, trống (tệp mới hoặc CSDL mới tạo)")
    q.add_argument("--force", action="store_true", help="thay dữ liệu đang có ở đích")
    q.add_argument("--year", type=int, help="năm cần chép khi cơ sở dữ liệu nguồn có kho của nhiều năm (mỗi lần chép "
                   "kho của một năm; chép năm cũ trước để kho năm sau tìm thấy lịch sử ở cùng chỗ)")
    q.add_argument("--settings", help="tệp cài đặt (mật khẩu: password_file trong mục [store])")
    q.set_defaults(func=cmd_store_copy)

    p = sub.add_parser("received", help="ghi thời điểm văn phòng nhận một tệp (tính lại đúng hạn/trễ hạn ở mọi báo cáo)")
    p.add_argument("file", metavar="FILE_OR_SHA256", help="tên tệp đã nhận, hoặc mã SHA-256 (ít nhất 8 ký tự đầu)")
    p.add_argument("--at", required=True, help="thời điểm nhận, ví dụ \"15/04/2019 08:30\"")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_received)

    p = sub.add_parser("validate", help="kiểm tra các tệp đơn vị gửi về: mọi lỗi theo từng ô, kèm tệp phản hồi")
    p.add_argument("files", nargs="+", metavar="FILE", help="tệp .xlsx/.xls/.ods (hoặc thư mục) cần kiểm tra")
    p.add_argument("--json", action="store_true", help="in kết quả dạng JSON: mỗi tệp một đối tượng")
    p.add_argument("--feedback", metavar="OUT.xlsx", help="ghi bản sao có đánh dấu ô lỗi và ghi chú để gửi lại đơn vị "
                   "(nhiều tệp: OUT là thư mục)")
    p.add_argument("--db", help="kho dữ liệu tổng hợp (mặc định: thidua.db): nó ghi khóa nào là của văn phòng khi có tệp "
                   "ký bằng khóa khác")
    _common(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("mail", help="hộp thư của văn phòng: nhận tệp đơn vị gửi về, gửi biểu mẫu và thư nhắc")
    mail = p.add_subparsers(dest="mail_command", metavar="SUBCOMMAND", required=True)
    for name, helptext in (("fetch", "nhận các tệp bảng tính trong thư mới vào thư mục hộp thư (IMAP), ghi thời điểm nhận"),
                           ("send", "gửi mỗi đơn vị biểu mẫu điền sẵn hoặc thư nhắc (SMTP); không bao giờ gửi hai lần")):
        q = mail.add_parser(name, help=helptext)
        q.add_argument("--host", help="máy chủ thư (mặc định: theo tệp cài đặt thidua.toml, mục [mail])")
        q.add_argument("--port", type=int, help="cổng (mặc định: 993 với ssl, 143 với starttls; gửi: 465 / 587)")
        q.add_argument("--security", choices=("ssl", "starttls", "none"), help="mã hóa kết nối; none chỉ với máy này")
        q.add_argument("--user", help="tên đăng nhập hộp thư")
        q.add_argument("--password-file", help="tệp chứa mật khẩu ứng dụng (chỉ chủ sở hữu đọc được, chmod 600); "
                       "mặc định: kho mật khẩu của hệ điều hành (keyring)")
        q.add_argument("--ca-file", help="chứng chỉ tin cậy thêm (.pem) cho máy chủ dùng chứng chỉ riêng")
        q.add_argument("--settings", help="tệp cài đặt (mặc định: thidua.toml cạnh sổ làm việc hoặc ở thư mục hiện tại)")
        q.add_argument("--db", help=db_help)
        q.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
        _common(q)
    fetch, send = mail.choices["fetch"], mail.choices["send"]
    fetch.add_argument("--out", required=True, help="thư mục hộp thư để lưu các tệp nhận được")
    fetch.add_argument("--folder", help="thư mục trong hộp thư (mặc định: INBOX)")
    fetch.add_argument("--max-size", type=float, help="bỏ qua thư lớn hơn số MB này (mặc định: 25)")
    fetch.set_defaults(func=cmd_mail_fetch)
    send.add_argument("--round", required=True, help="mã kỳ báo cáo")
    send.add_argument("--what", required=True, choices=("templates", "reminders"), help="biểu mẫu hay thư nhắc")
    send.add_argument("--dry-run", action="store_true", help="chỉ soạn các tệp .eml, không gửi")
    send.add_argument("--out", help="thư mục ghi .eml khi chạy thử (mặc định: thu-gui/KỲ)")
    send.add_argument("--templates", help="thư mục biểu mẫu đã tạo (mặc định: tạo lại bằng khóa của văn phòng)")
    send.add_argument("--rate", type=float, help="số thư tối đa mỗi phút (mặc định: 20)")
    send.add_argument("--resend", nargs="+", metavar="UNIT", default=[],
                      help="gửi lại cho các đơn vị này thư mà lần gửi trước bị dừng giữa chừng (đã kiểm tra: chưa nhận được)")
    send.add_argument("--mark-sent", nargs="+", metavar="UNIT", default=[],
                      help="ghi là đã gửi thư mà lần gửi trước bị dừng giữa chừng (đã kiểm tra: đã nhận được)")
    send.add_argument("--note", help="lý do của quyết định --resend / --mark-sent (ghi vào kho dữ liệu)")
    send.set_defaults(func=cmd_mail_send)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from thidua import faults
    sys.unraisablehook = faults.quiet_unraisable(sys.unraisablehook)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("Đã dừng theo yêu cầu.", file=sys.stderr)
        return 130
    except BrokenPipeError:            # the reader closed the output (`thidua ... | head`): not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:           # domain errors and faults of the machine: Lỗi/Thử, no traceback
        err = faults.domain_error(exc)
        if err is None:
            raise
        for line in faults.message_lines(err):
            print(line, file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
