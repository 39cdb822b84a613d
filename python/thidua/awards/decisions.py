"""Award decisions as records: one decision from one round's proposals of one form that the office awarded and that
are eligible on the decision's date; listed; their papers made again exactly as they were."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from thidua.awards import documents
from thidua.awards.proposals import (ProposalCheck, check_proposal, decision_kind, find_form, load_proposals,
                                     same_nominee)
from thidua.errors import ThiDuaError
from thidua.plan.dated import date_text
from thidua.plan.model import OFFICE, Plan, Round
from thidua.store import decisions as stored
from thidua.store import proposals as stored_proposals
from thidua.store.store import now_iso
from thidua.store.vocabulary import PROPOSAL_STATE
from thidua.text.collate import name_key, text_key
from thidua.text.numbers import format_number

NUMBER = re.compile(r"^\s*0*(\d{1,5})\s*$")


class NothingToDecide(ThiDuaError):
    """No proposal of the round and form waits for a decision (a button may pass over it; the CLI says it)."""


@dataclass
class Decision:
    """A decision record as stored (store/decisions.py) with what its making had to say."""

    id: int
    number: int
    number_text: str
    year: int
    date: dt.date
    form: str
    round: str
    kind: str
    signer_title: str
    signer_name: str
    total: int
    context: dict
    recipients: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict, recipients: list[dict]) -> "Decision":
        return cls(row["id"], row["number"], row["number_text"], row["year"], dt.date.fromisoformat(row["date"]),
                   row["form"], row["round"], row["kind"], row["signer_title"], row["signer_name"], row["total"],
                   row["context"], recipients)

    @property
    def collectives(self) -> int:
        return sum(r["subject"] == "collective" for r in self.recipients)

    @property
    def individuals(self) -> int:
        return len(self.recipients) - self.collectives

    @property
    def stem(self) -> str:
        """The papers' file name part: «05_GK_TK» (number, form, round)."""
        return f"{self.number:02d}_{self.form}_{self.round}"


def number_text(number: int, suffix: str) -> str:
    """«05/QĐ-CĐN»: the number zero-padded below 10 (Nghị định 30/2020, Phụ lục I)."""
    return f"{number:02d}/QĐ-{suffix}" if suffix else f"{number:02d}/QĐ"


def default_date(rnd: Round, chosen: Sequence[ProposalCheck]) -> tuple[dt.date, str]:
    """The date of a decision made without --date, and why: never today. A review round's decision is dated at its
    end, or on the day its last chosen proposal was received if that came later; an ad-hoc round's on the day its
    last chosen proposal was received (else the round's end)."""
    received = [dt.date.fromisoformat(pc.received) for pc in chosen if pc.received]
    last = max(received, default=None)
    if rnd.kind == "adhoc" and last:
        return last, f"ngày nhận đề nghị cuối cùng trong số các đề nghị được khen ({date_text(last)})"
    if last and last > rnd.end:
        return last, f"ngày nhận đề nghị cuối cùng của kỳ {rnd.code}, sau ngày kết thúc kỳ"
    return rnd.end, f"ngày kết thúc kỳ {rnd.code}"


def _check_date(plan: Plan, rnd: Round, day: dt.date) -> None:
    last = dt.date(plan.year + 1, 12, 31)
    if day < rnd.start or day > last:
        raise ThiDuaError(f"Ngày quyết định {date_text(day)} nằm ngoài thời gian của phong trào năm {plan.year} "
                          f"(kỳ {rnd.code} từ {date_text(rnd.start)}; muộn nhất {date_text(last)}).",
                          "Ghi --date ngày/tháng/năm trong thời gian đó, hoặc bỏ --date để lấy ngày theo kỳ.")


def _number(store, plan: Plan, given: str | None, suffix: str) -> tuple[int, str]:
    if given is None or not str(given).strip():
        n = stored.next_number(store, plan.year)
        return n, number_text(n, suffix)
    text = str(given).strip()
    found = NUMBER.match(text) or NUMBER.match(text.split("/", 1)[0])
    if not found or int(found.group(1)) < 1:
        raise ThiDuaError(f"Số quyết định «{given}» không hiểu được.", "Ghi một số, ví dụ --number 5 (in ra 05/QĐ-CĐN).")
    n = int(found.group(1))
    return n, text if "/" in text else number_text(n, suffix)


def _refuse_ineligible(judged: Sequence[ProposalCheck]) -> None:
    bad = [pc for pc in judged if not pc.eligible and not pc.override]
    if not bad:
        return
    lines = "; ".join(f"đề nghị số {pc.id} «{pc.name}» ({pc.source}): {'; '.join(pc.problems)}" for pc in bad[:10])
    more = f" (và {len(bad) - 10} đề nghị khác)" if len(bad) > 10 else ""
    raise ThiDuaError(f"{len(bad)} người, tập thể được ghi «{PROPOSAL_STATE['awarded']}» nhưng không đủ điều kiện vào "
                      f"ngày quyết định: {lines}{more}.",
                      "Ghi «thidua proposals decide --id N --state not_met», hoặc nếu Văn phòng vẫn khen thưởng: "
                      "«--state awarded --force --reason \"lý do\"» (lý do hiện trong danh sách làm việc).")


def _refuse_duplicates(new: Sequence[ProposalCheck], checks: Sequence[ProposalCheck], done: dict[int, dict],
                       form_code: str) -> None:
    """Nobody twice for one achievement at one level: a nominee listed twice in this decision, or already in a
    decision of the same form this year, is refused with both sources named (unless the office overrode it)."""
    ids = {pc.id for pc in new}
    pairs, seen = [], set()
    for c in new:
        for o in checks:
            if o.id == c.id or o.effective_form is None or o.effective_form.code != form_code:
                continue
            if (o.id in ids or (o.id in done and done[o.id]["form"] == form_code)) and same_nominee(c, o):
                key = frozenset((c.id, o.id))
                if key not in seen and not (c.override and (o.override or o.id not in ids)):
                    seen.add(key)
                    pairs.append((c, o))
    if not pairs:
        return

    def where(pc: ProposalCheck) -> str:
        listed = done.get(pc.id)
        then = f", đã có trong Quyết định số {listed['number_text']} ngày {date_text(dt.date.fromisoformat(listed['date']))}" \
            if listed else ""
        return f"đề nghị số {pc.id} ({pc.source}{then})"
    lines = "; ".join(f"«{c.name}»: {where(c)} và {where(o)}" for c, o in pairs[:10])
    raise ThiDuaError(f"Một thành tích chỉ được khen một lần ở một cấp, nhưng {len(pairs)} người, tập thể có mặt hai "
                      f"lần: {lines}.",
                      "Giữ một đề nghị, ghi «thidua proposals decide --id N --state not_met» cho đề nghị kia rồi chạy lại.")


def make_decision(ws, round_code: str, form_code: str, date: dt.date | None = None, number: str | None = None,
                  adhoc: bool = False, now: dt.datetime | None = None) -> Decision:
    """Make and store the decision of `form_code` for round `round_code` (its ad-hoc rows with `adhoc`; an ad-hoc
    round's are always ad-hoc): the proposals of that round the office set to «awarded» for that form and no
    decision lists yet, each eligible on the decision's date (or overridden with a reason), nobody twice. The law,
    money and names are those in force on the date; numbers and register numbers run on. Nothing is stored when
    anything is refused (Lỗi/Thử)."""
    plan = ws.plan
    rnd = plan.round(round_code)
    form = find_form(plan, form_code)
    if form.decided_by != OFFICE:
        raise ThiDuaError(f"{form.name} do {documents.DECIDERS.get(form.decided_by, form.decided_by)} quyết định, "
                          "không do Văn phòng ra quyết định.",
                          f"Lập tờ trình: thidua awards submission --round {rnd.code} --form {form.code} --out TT.docx")
    adhoc = adhoc or rnd.kind == "adhoc"
    if rnd.kind not in ("review", "adhoc"):
        raise ThiDuaError(f"Kỳ {rnd.code} ({rnd.name}) không có đề nghị khen thưởng.",
                          "Chọn kỳ sơ kết, tổng kết hoặc kỳ đề nghị đột xuất, ví dụ --round TK.")
    kind, kind_name = decision_kind(plan, rnd.code, adhoc)
    checks = load_proposals(ws)
    with ws.store() as store:
        done = stored.awarded_proposals(store, plan.year)
        raw = {r["id"]: r for r in stored_proposals.active_proposals(store, [rnd.code])}
    mine = [pc for pc in checks if pc.round == rnd.code and pc.effective_form is form]
    chosen = [pc for pc in mine if pc.state == "awarded" and pc.adhoc == adhoc and pc.id not in done] \
        if rnd.kind != "adhoc" else [pc for pc in mine if pc.state == "awarded" and pc.id not in done]
    if not chosen:
        states = {st: sum(pc.state == st for pc in mine) for st in PROPOSAL_STATE}
        told = ", ".join(f"{n} «{PROPOSAL_STATE[s]}»" for s, n in states.items() if n)
        decided = sum(pc.id in done for pc in mine)
        raise NothingToDecide(f"Kỳ {rnd.code} không còn đề nghị {form.name}{' đột xuất' if adhoc else ''} nào ở trạng "
                          f"thái «{PROPOSAL_STATE['awarded']}» chưa có quyết định"
                          + (f" (các đề nghị hình thức này: {told}; {decided} đã có quyết định)" if mine else "") + ".",
                          "Ghi quyết định cho từng đề nghị bằng «thidua proposals decide --id N --state awarded» rồi "
                          "chạy lại; xem các quyết định đã có bằng «thidua awards decisions».")
    notes = []
    if date is None:
        date, why = default_date(rnd, chosen)
        notes.append(f"Ngày quyết định: {date_text(date)} ({why}); ghi --date để chọn ngày khác.")
    _check_date(plan, rnd, date)
    law = plan.in_force(date)
    office = law.office
    law.citations()                                   # refused here if a legal basis is missing
    amounts = {s: law.amount(form.code, s) for s in ("individual", "collective")}
    judged = [check_proposal(plan, raw[pc.id], on=date) for pc in chosen]
    for pc, before in zip(judged, chosen):
        pc.warnings += [w for w in before.warnings if w not in pc.warnings]
    _refuse_ineligible(judged)
    _refuse_duplicates(judged, checks, done, form.code)
    left_out = [pc for pc in mine if pc.state == "awarded" and pc.id not in done and pc.adhoc != adhoc
                and rnd.kind != "adhoc"]
    if left_out:
        notes.append(f"{len(left_out)} đề nghị {'không ' if adhoc else ''}đột xuất của kỳ {rnd.code} không vào quyết "
                     f"định này ({'thidua awards decision --round ' + rnd.code + ('' if adhoc else ' --adhoc')}).")
    with ws.store() as store, store.atomic():
        n, text = _number(store, plan, number, office.doc_suffix)
        taken = stored.number_taken(store, plan.year, text)
        if taken:
            raise ThiDuaError(f"Số quyết định {text} đã dùng cho quyết định ngày "
                              f"{date_text(dt.date.fromisoformat(taken['date']))} ({taken['form']}, kỳ {taken['round']}).",
                              "Bỏ --number để lấy số tiếp theo, hoặc ghi một số chưa dùng.")
        first = stored.next_register_no(store)
        rec = _recipients(plan, form, judged, ws.unit_names, amounts, first)
        ctx = documents.context(plan, rec, "decision", text, date, rnd.code, adhoc)
        rows = [dict(r, register_no=int(r["book_no"]), seq=i, unit=r["unit_code"], unit_name=r["unit"])
                for i, r in enumerate(rec.everyone, start=1)]
        total = sum(r["amount"] or 0 for r in rows)
        record = {"year": plan.year, "number": n, "number_text": text, "date": date.isoformat(), "form": form.code,
                  "round": rnd.code, "kind": kind, "signer_title": office.signer_title,
                  "signer_name": office.signer_name, "total": total,
                  "created_at": (now or dt.datetime.now()).isoformat(timespec="seconds"), "context": ctx}
        decision_id = stored.insert(store, record, rows)
    made = Decision.from_row(dict(record, id=decision_id), rows)
    made.notes = notes
    return made


def _recipients(plan: Plan, form, judged: Sequence[ProposalCheck], unit_names: dict[str, str],
                amounts: dict[str, int | None], first_register: int) -> documents.Recipients:
    """The decision's list: collectives by name, then people in Vietnamese name order; register numbers follow it."""
    def row(pc: ProposalCheck) -> dict:
        unit = unit_names.get(pc.unit, pc.unit)
        warnings = [w for w in pc.warnings]
        position = pc.position or (unit if _folded_name(unit) != _folded_name(pc.name) else "")
        return {"id": pc.id, "proposal_id": pc.id, "name": pc.name, "position": position, "unit": unit,
                "unit_code": pc.unit, "summary": pc.summary, "eligible": pc.eligible, "subject": pc.subject,
                "birth_year": pc.birth_year, "amount": amounts.get(pc.subject if pc.subject else "individual"),
                "source": pc.source, "override": pc.override or None, "title": pc.attested.text,
                "verdict": pc.verdict, "warnings": "; ".join(warnings) or None}
    coll = sorted((pc for pc in judged if pc.subject == "collective"), key=lambda pc: text_key(pc.name))
    ind = sorted((pc for pc in judged if pc.subject != "collective"), key=lambda pc: name_key(pc.name))
    out = documents.Recipients(form, [row(pc) for pc in coll], [row(pc) for pc in ind])
    out.number(first_register)
    return out


def _folded_name(text: str) -> str:
    return stored_proposals.name_key(text)


def list_decisions(ws, rounds: Sequence[str] | None = None) -> list[Decision]:
    """The year's decisions, oldest number first (with their recipients)."""
    with ws.store() as store:
        rows = stored.decisions(store, ws.plan.year, rounds)
        return [Decision.from_row(r, stored.recipients(store, r["id"])) for r in rows]


def get_decision(ws, number: str) -> Decision:
    """A decision of the year by its number (5, 05 or 05/QĐ-CĐN)."""
    with ws.store() as store:
        row = stored.find(store, ws.plan.year, number)
        if row is None:
            have = ", ".join(r["number_text"] for r in stored.decisions(store, ws.plan.year)) or "chưa có quyết định nào"
            raise ThiDuaError(f"Không có quyết định số «{number}» năm {ws.plan.year} (đã có: {have}).",
                              "Xem các quyết định bằng «thidua awards decisions».")
        return Decision.from_row(row, stored.recipients(store, row["id"]))


def write_papers(decision: Decision, out_dir: str | Path, layouts: str | Path | None = None,
                 margins_mm: Sequence[float] | None = None, kinds: Sequence[str] = ("decision", "certificates",
                                                                                    "working")) -> list[Path]:
    """The decision's papers from its record (the same documents every time): the decision with its list, the
    certificates, and the office's working list (.xlsx: sources, verdicts, overrides; never signed)."""
    out_dir = Path(out_dir)
    paths = []
    if "decision" in kinds:
        paths.append(documents.render("decision", decision.context, out_dir / f"QuyetDinh_{decision.stem}.docx",
                                      layouts))
    if "certificates" in kinds:
        paths.append(documents.render("certificates", decision.context, out_dir / f"GiayKhen_{decision.stem}.docx",
                                      layouts, margins_mm))
    if "working" in kinds:
        paths.append(documents.working_list(decision, out_dir / f"DanhSachLamViec_{decision.stem}.xlsx"))
    return paths


def summary_line(d: Decision, sep: str = "\t") -> str:
    """One line of `thidua awards decisions` (fields separated by `sep`)."""
    kind = {"so_ket": "sơ kết", "tong_ket": "tổng kết", "dot_xuat": "đột xuất"}.get(d.kind, d.kind)
    return sep.join((d.number_text, date_text(d.date), d.form, f"kỳ {d.round} ({kind})",
                     f"{d.collectives} tập thể, {d.individuals} cá nhân", f"{format_number(d.total)} đồng"))


def demo_awards(ws, out: Path, say=print, pdf: bool = True) -> list[Decision]:
    """The demo's office at work on the year's proposals: each proposal of a form reviewed; of a nominee proposed
    twice (X013) the first kept and the others marked not met; the eligible ones of the office's forms awarded,
    the others not met, except one whose title decision a unit forgot, awarded with --force and a reason (shown
    in the working list); then one decision per round and form (ad-hoc rows apart) with its papers in
    `out`/khen-thuong (PDF of the decisions and working lists), and the submissions upward."""
    from thidua.awards.proposals import decide, duplicate_groups
    plan = ws.plan
    checks = load_proposals(ws)
    if not checks:
        say("Chưa có đề nghị khen thưởng nào nên bỏ qua quyết định khen thưởng.")
        return []
    own = {f.code for f in plan.forms if f.decided_by == OFFICE}
    later = {pc.id: min(group, key=lambda g: g.id) for group in duplicate_groups(checks)
             for pc in group if pc.id != min(g.id for g in group)}
    year_end = plan.year_end_round.code if plan.year_end_round else None
    forced = None
    for pc in checks:
        if pc.effective_form is None or pc.state != "proposed":
            continue                      # a title alone is the agency's fact: nothing for the union to decide
        when = dt.datetime.combine(plan.round(pc.round).end, dt.time(16, 0))
        decide(ws, pc.id, "reviewed", when=when)
        if pc.id in later:
            decide(ws, pc.id, "not_met", note=f"Trùng đề nghị số {later[pc.id].id} (một thành tích, một lần khen)",
                   when=when)
        elif pc.effective_form.code in own and pc.eligible:
            decide(ws, pc.id, "awarded", when=when)
        elif pc.effective_form.code in own and forced is None and pc.round == year_end and \
                [c for c, _ in pc.issues] == ["X014"]:
            forced = decide(ws, pc.id, "awarded", when=when, force=True,
                            reason="Đơn vị gửi bổ sung bản sao quyết định công nhận Lao động tiên tiến sau hạn")
        elif not pc.eligible:
            decide(ws, pc.id, "not_met", note=pc.verdict, when=when)
    made = []
    for rnd in plan.rounds:
        if rnd.kind not in ("review", "adhoc"):
            continue
        for form in sorted(own):
            for adhoc in ((False, True) if rnd.kind == "review" else (True,)):
                try:
                    made.append(make_decision(ws, rnd.code, form, adhoc=adhoc))
                except NothingToDecide:
                    continue
    folder = out / "khen-thuong"
    written = []
    for d in made:
        paths = write_papers(d, folder)
        written += paths
        say(f"Quyết định {summary_line(d, ', ')} -> {paths[0].name}, {paths[1].name}, {paths[2].name}")
    if pdf and made:
        from thidua.reports.libreoffice import convert_all
        try:                                  # the decisions with their lists, in one LibreOffice run
            convert_all([p for p in written if p.name.startswith("QuyetDinh_")], "pdf", folder)
        except ThiDuaError as exc:            # LibreOffice missing: the Word and Excel files are there
            say(f"Không xuất được PDF: {exc}")
    if forced is not None:
        say(f"Đề nghị số {forced.id} ({forced.name}) được khen thưởng dù thiếu số quyết định công nhận danh hiệu; "
            f"lý do ghi trong danh sách làm việc.")
    for form in (f for f in plan.forms if f.decided_by != OFFICE):
        try:
            rec = documents.proposed(plan, load_proposals(ws, [year_end] if year_end else None), form.code,
                                     ws.unit_names)
        except ThiDuaError:
            continue
        rnd = plan.round(year_end) if year_end else None
        day = rnd.end if rnd else plan.reference_date
        written.append(documents.render("submission", documents.context(plan, rec, "submission", None, day,
                                                                         year_end),
                                        folder / f"ToTrinh_{form.code}_{year_end}.docx"))
    say(f"Khen thưởng: {len(made)} quyết định, {sum(len(d.recipients) for d in made)} tập thể và cá nhân, tổng cộng "
        f"{format_number(sum(d.total for d in made))} đồng; {len(written)} văn bản -> {folder}")
    return made
