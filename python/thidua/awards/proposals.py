"""Commendation proposals as the office reads them: eligibility on the attested facts, quotas over the year, the
same nominee proposed twice, the office's decisions on each proposal, the official list."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

from thidua.awards.eligibility import (INELIGIBLE, Attested, Nomination, attest, facts, field_label, judge,
                                       quota_warnings)
from thidua.errors import ThiDuaError
from thidua.intake.messages import message_text
from thidua.plan.model import AwardForm, Plan, Title
from thidua.review.scoring import describe_condition
from thidua.store import proposals as stored
from thidua.store.store import Store
from thidua.store.vocabulary import PROPOSAL_STATE
from thidua.text.normalize import nfc
from thidua.text.collate import name_key, text_key
from thidua.text.numbers import format_number

STATES = tuple(PROPOSAL_STATE)
STATE_NAMES = PROPOSAL_STATE            # the one label of each state (store/vocabulary.py)
# Which decision may follow which: proposed → reviewed → not met / raised / awarded; a «not met» or «raised»
# may be reopened for review. Leaving «awarded» needs force and is logged as such.
NEXT_STATES = {"proposed": ("reviewed",),
               "reviewed": ("not_met", "raised", "awarded"),
               "raised": ("awarded", "not_met", "reviewed"),
               "not_met": ("reviewed",), "awarded": ()}
SUBJECTS = {"cá nhân": "individual", "individual": "individual", "tập thể": "collective", "collective": "collective"}
SUBJECT_NAMES = {"individual": "Cá nhân", "collective": "Tập thể"}
# The kind of decision a round's proposals go into (store column award_decisions.kind) and its Vietnamese name.
KIND_NAMES = {"so_ket": "sơ kết", "tong_ket": "tổng kết", "dot_xuat": "đột xuất"}


@dataclass
class ProposalCheck:
    """One proposal with its eligibility verdict (problems block, warnings ask the office to choose); `issues`
    are the (code, message) of its warnings (intake/messages.py)."""

    id: int
    unit: str
    round: str
    subject: str
    name: str
    position: str
    title: Title | None
    form: AwardForm | None
    state: str
    decided_form: AwardForm | None
    note: str
    adhoc: bool
    summary: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    matched_by: str = "new"
    row: int = 0
    birth_year: int | None = None
    source: str = ""                 # «CD059, kỳ TK, tệp «…», ô Đề nghị khen thưởng!C6»
    attested: Attested = field(default_factory=lambda: Attested(None, False))
    override: str = ""               # why the office awarded it although ineligible (--force --reason)
    received: str = ""               # the receipt date of its file (ISO), for an ad-hoc decision's date
    issues: list[tuple[str, str]] = field(default_factory=list)
    decided_by: str | None = None           # who took the last decision (staff name or OS login), and when
    decided_at: str | None = None

    @property
    def eligible(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        """«đủ điều kiện», or «Không đủ điều kiện: reasons» (each with its legal source)."""
        return "đủ điều kiện" if self.eligible else f"{INELIGIBLE}: " + "; ".join(self.problems)

    @property
    def effective_form(self) -> AwardForm | None:
        return self.decided_form or self.form

    @property
    def live(self) -> bool:
        return self.state != "not_met"

    def flag(self, code: str, **fields: Any) -> None:
        """Add warning `code` of the catalogue, filled from `fields` (the row and name are known)."""
        text = message_text(code, row=self.row, value=fields.pop("value", self.name), **fields)
        self.issues.append((code, text))
        self.warnings.append(text)

    def to_json(self) -> dict:
        return {"id": self.id, "unit": self.unit, "round": self.round, "subject": self.subject, "name": self.name,
                "position": self.position, "birth_year": self.birth_year,
                "title": self.title.code if self.title else None, "title_attested": self.attested.counts,
                "title_decision": self.attested.decision or None,
                "form": self.form.code if self.form else None, "state": self.state,
                "decided_form": self.decided_form.code if self.decided_form else None, "note": self.note,
                "adhoc": self.adhoc, "eligible": self.eligible, "verdict": self.verdict, "problems": self.problems,
                "warnings": self.warnings, "codes": [c for c, _ in self.issues], "override": self.override or None,
                "source": self.source, "matched_by": self.matched_by, "decided_by": self.decided_by,
                "decided_at": self.decided_at}


# A year's proposals repeat the same titles, forms, positions and answers: normalise each distinct text once.
_nfc = lru_cache(maxsize=1 << 16)(nfc)


def _lookup(items: Sequence, value: Any):
    text = _nfc(str(value or "")).strip()
    if not text:
        return None
    found = _names_index(tuple((x.code, x.name) for x in items)).get(text.lower())
    return text if found is None else items[found]


@lru_cache(maxsize=256)
def _names_index(pairs: tuple[tuple[str, str], ...]) -> dict[str, int]:
    """{lower-case code or NFC name: position} of a plan's titles or forms; the first item wins a clash."""
    index: dict[str, int] = {}
    for i in reversed(range(len(pairs))):
        code, name = pairs[i]
        index[nfc(name).lower()] = i
        index[code.lower()] = i
    return index


def find_form(plan: Plan, code: Any) -> AwardForm:
    """The plan's form named by code or name; a Vietnamese refusal listing the codes otherwise."""
    found = _lookup(plan.forms, code)
    if not isinstance(found, AwardForm):
        raise ThiDuaError(f"Không có hình thức khen thưởng «{code}».",
                          "Chọn một mã: " + ", ".join(f.code for f in plan.forms) + ".")
    return found


def _cond_text(plan: Plan, cond) -> str:
    if any(f.code == cond.field for f in plan.proposal_fields):
        value = format_number(cond.value, 2) if isinstance(cond.value, float) else cond.value
        op = cond.op.replace(">=", "≥").replace("<=", "≤").replace("!=", "≠")
        return f"{field_label(plan, cond.field)} {op} {value}"
    return describe_condition(plan, cond)


def _year(value: Any) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if 1900 <= number <= 2100 else None


def _source(row: dict) -> str:
    where = f", ô {row.get('source_sheet')}!{row.get('source_cell')}" if row.get("source_cell") else \
        (f", dòng {row.get('row')}" if row.get("row") else "")
    file = f", tệp «{row['file_name']}»" if row.get("file_name") else ""
    return f"{row.get('unit') or ''}, kỳ {row.get('round') or ''}{file}{where}"


def check_proposal(plan: Plan, row: dict, on: dt.date | None = None) -> ProposalCheck:
    """Eligibility of one proposal row (a dict of the proposal's fields) judged on `on` (default: the end of its
    round) with the rules then in force; quotas and duplicates are not counted here."""
    subject = SUBJECTS.get(_nfc(str(row.get("subject") or "")).strip().lower(), "")
    title, form = _lookup(plan.titles, row.get("title")), _lookup(plan.forms, row.get("form"))
    decided = _lookup(plan.forms, row.get("decided_form"))
    round_code = row.get("round") or ""
    known_round = any(r.code == round_code for r in plan.rounds)
    day = on or (plan.round_date(round_code) if known_round else plan.reference_date)
    pc = ProposalCheck(int(row.get("id") or 0), row.get("unit") or "", round_code, subject,
                       _nfc(str(row.get("name") or "")).strip(), _nfc(str(row.get("position") or "")).strip(),
                       title if isinstance(title, Title) else None, form if isinstance(form, AwardForm) else None,
                       row.get("state") or "proposed", decided if isinstance(decided, AwardForm) else None,
                       row.get("decision_note") or "", _nfc(str(row.get("adhoc") or "")).strip() == "Có",
                       _nfc(str(row.get("summary") or "")).strip(), matched_by=row.get("matched_by") or "new",
                       row=int(row.get("row") or 0), birth_year=_year(row.get("birth_year")), source=_source(row),
                       override=row.get("award_override") or "", received=str(row.get("received_at") or "")[:10],
                       decided_by=row.get("decided_by"), decided_at=row.get("decided_at"))
    if not subject:
        pc.problems.append(f"đối tượng «{row.get('subject') or ''}» không rõ (Cá nhân hoặc Tập thể)")
    if isinstance(title, str):
        pc.problems.append(f"không có danh hiệu «{title}» trong kế hoạch")
    if isinstance(form, str):
        pc.problems.append(f"không có hình thức khen thưởng «{form}» trong kế hoạch")
    if title is None and form is None:
        pc.problems.append("chưa chọn danh hiệu hay hình thức khen thưởng")
    if pc.title and subject and pc.title.subject != subject:
        pc.problems.append(f"danh hiệu {pc.title.name} chỉ dành cho {SUBJECT_NAMES[pc.title.subject].lower()}")
    for f in (pc.form, pc.decided_form):
        if f and subject and f.subject not in ("both", subject):
            pc.problems.append(f"hình thức {f.name} chỉ dành cho {SUBJECT_NAMES.get(f.subject, f.subject).lower()}")
    # The state title is a fact decided by the employing agency: it counts only with its decision (number,
    # date), in the year-end round, dated no later than a decision judging it (`on` given).
    pc.attested = attest(plan, row, pc.title, round_code, on)
    for code, fields in pc.attested.notes:
        pc.flag(code, **fields)
    if subject:          # an ad-hoc row is judged as an ad-hoc proposal, whatever round's file carried it
        adhoc_round = next((r.code for r in plan.rounds if r.kind == "adhoc"), None)
        rules_round = adhoc_round if pc.adhoc and adhoc_round else (round_code if known_round else None)
        pc.problems += [f.message for f in judge(plan, facts(row, pc.attested), subject, (pc.effective_form,), day,
                                                 rules_round)]
    if pc.title:      # conditions written in the titles table itself (older plans), without a legal source
        for cond in pc.title.conditions:
            verdict = cond.holds(row, plan.levels_of_fields)
            if verdict is None:
                pc.problems.append(f"thiếu thông tin để xét «{_cond_text(plan, cond)}»")
            elif not verdict:
                pc.problems.append(f"không đạt «{_cond_text(plan, cond)}» của danh hiệu {pc.title.name}")
    if pc.adhoc and known_round and plan.round(round_code).kind == "review":
        pc.flag("X016", round=round_code, kind=decision_kind(plan, round_code, False)[1])
    if pc.override and not pc.eligible and pc.state == "awarded":
        pc.flag("X017", detail="; ".join(pc.problems), reason=pc.override)
    if pc.matched_by == "row":
        pc.warnings.append("tên đã đổi so với tệp trước; nhận là cùng người theo vị trí dòng — kiểm tra lại")
    return pc


def decision_kind(plan: Plan, round_code: str, adhoc: bool) -> tuple[str, str]:
    """(kind code, Vietnamese name) of the decision a round's proposals go into: an ad-hoc round or ad-hoc rows →
    đột xuất; the review round of the year's last period → tổng kết; another review round → sơ kết."""
    rnd = plan.round(round_code)
    if adhoc or rnd.kind == "adhoc":
        kind = "dot_xuat"
    elif plan.year_end_round is not None and rnd.code == plan.year_end_round.code:
        kind = "tong_ket"
    else:
        kind = "so_ket"
    return kind, KIND_NAMES[kind]


def apply_quotas(checks: list[ProposalCheck], plan: Plan, on: dt.date | None = None) -> None:
    """Warn on every proposal over a quota in force, counted over the year: a title quota (CSTĐCS over 15% of the
    unit's LĐTT) on the attested titles, as the agency's list (X019); a form quota on live proposals (X012)."""
    items = [Nomination(pc.unit, pc.round, pc.name, pc.title.code if pc.title and pc.attested.counts else None,
                        pc.effective_form.code if pc.effective_form else None, pc.live)
             for pc in checks]
    for i, found in quota_warnings(plan, items, on).items():
        for code, detail in found:
            checks[i].flag(code, detail=detail)


def _folded(text: str) -> str:
    """A name or position for matching: NFC, Ð as Đ, case and spaces folded (store/proposals.name_key)."""
    return stored.name_key(text)


def same_nominee(a: ProposalCheck, b: ProposalCheck) -> bool:
    """Whether two proposals name the same nominee. A collective: the same name in the same unit. A person: the
    same name and, when both give a birth year, the same year (two units may propose one person); without
    both years, the same unit or the same position («Giáo viên, Trường THPT …»)."""
    if a.subject != b.subject or _folded(a.name) != _folded(b.name):
        return False
    if a.subject == "collective":
        return a.unit == b.unit
    if a.birth_year and b.birth_year:
        return a.birth_year == b.birth_year
    return a.unit == b.unit or (bool(a.position) and _folded(a.position) == _folded(b.position))


def duplicate_groups(checks: Sequence[ProposalCheck]) -> list[list[ProposalCheck]]:
    """Groups (2 or more) of live proposals of the same nominee for the same form (the year's proposals)."""
    buckets: dict[tuple, list[ProposalCheck]] = {}
    for pc in checks:
        if pc.live and pc.effective_form is not None and pc.name:
            buckets.setdefault((pc.subject, _folded(pc.name), pc.effective_form.code), []).append(pc)
    groups = []
    for members in buckets.values():
        seen: set[int] = set()
        for i, a in enumerate(members):
            if i in seen:
                continue
            group = [a] + [b for j, b in enumerate(members[i + 1:], start=i + 1)
                           if j not in seen and same_nominee(a, b) and not seen.add(j)]
            if len(group) > 1:
                groups.append(group)
    return groups


def flag_duplicates(checks: Sequence[ProposalCheck], plan: Plan) -> None:
    """X013 on each proposal of a nominee proposed twice for the same form in the year, naming every source."""
    for group in duplicate_groups(checks):
        for pc in group:
            others = "; ".join(f"đề nghị số {o.id} ({o.source})" for o in group if o is not pc)
            pc.flag("X013", form=pc.effective_form.name, year=plan.year,
                    sources=f"đề nghị số {pc.id} ({pc.source}) và {others}")


def load_proposals(ws, rounds: Sequence[str] | None = None, until: dt.date | None = None,
                   store: Store | None = None) -> list[ProposalCheck]:
    """Every active proposal in the store of `ws` (all rounds unless `rounds`), checked on its round's date, by
    id; quotas count over the year and nominees proposed twice are flagged (X013) across every round, whichever
    `rounds` are returned; with `until`, ad-hoc proposals received after that date are left out (they belong to a
    later period)."""
    plan = ws.plan
    with Store.using(store or ws.db) as store:
        rows = stored.active_proposals(store)
    said = ws.history.evidence(rows)      # fields the history of years computes (X021-X023), filled in the rows
    checks = [check_proposal(plan, r) for r in rows]
    for i, texts in said.items():
        checks[i].warnings.extend(texts)
    apply_quotas(checks, plan)
    flag_duplicates(checks, plan)
    wanted = None if rounds is None else set(rounds)
    adhoc = {r.code for r in plan.rounds if r.kind == "adhoc"}
    return [pc for pc in checks if (wanted is None or pc.round in wanted)
            and (until is None or pc.round not in adhoc or pc.received <= until.isoformat())]


FINAL_STATES = ("not_met", "raised", "awarded")


def decide(ws, proposal_id: int, state: str, form: str | None = None, note: str | None = None,
           when: dt.datetime | None = None, force: bool = False, reason: str | None = None) -> ProposalCheck:
    """Record the office's decision on one proposal, with who took it (`ws.who()`) and when; 'raised' needs a
    higher form than proposed; leaving 'awarded' needs `force` and is logged as forced; awarding a nominee the
    plan's conditions reject needs `force` and a `reason`, kept on the proposal and shown in the decision's working
    list.

    Several staff work at once: the check and the write are one write transaction, so of two people deciding
    the same proposal the second sees the first one's decision. A decision someone else took is never
    overridden silently: the refusal names who and when (a final decision of another person needs `force`)."""
    plan = ws.plan
    if state not in STATES or state == "proposed":
        raise ThiDuaError(f"Trạng thái «{state}» không hợp lệ.", "Chọn reviewed, not_met, raised hoặc awarded.")
    who = ws.who()
    # Judged on the history of years, as in the lists. The history opens the stores itself, so it is read before
    # the write transaction (on a server a second connection would wait on this one's writers' lock).
    with ws.store() as store:
        first = stored.proposal(store, proposal_id)
    said = ws.history.evidence([first]).get(0, []) if first else []
    from_history = {f.code: first[f.code] for f in plan.proposal_fields if f.history and first and f.code in first}
    with ws.store() as store, store.atomic():
        row = stored.proposal(store, proposal_id)
        if row is None:
            raise ThiDuaError(f"Không có đề nghị số {proposal_id}.", "Xem số thứ tự bằng «thidua proposals list».")
        row.update(from_history)
        by_other = bool(row.get("decided_by")) and row["decided_by"] != who
        earlier = _decided_by(row) if by_other else ""
        forced = row["state"] == "awarded" and state != "awarded"
        if forced and not force:
            raise ThiDuaError(f"Đề nghị số {proposal_id} ({row['name']}) đã ở trạng thái «{STATE_NAMES['awarded']}»"
                              f"{earlier}; chuyển sang «{STATE_NAMES[state]}» là sửa một quyết định đã ban hành.",
                              "Nếu thật sự cần, thêm --force (việc sửa được ghi vào lịch sử đề nghị).")
        if by_other and row["state"] in FINAL_STATES and not force:
            raise ThiDuaError(f"Đề nghị số {proposal_id} ({row['name']}) đã được quyết định trước: "
                              f"«{STATE_NAMES[row['state']]}»{earlier}. Chưa ghi quyết định «{STATE_NAMES[state]}».",
                              "Xem lại bằng «thidua proposals list» và trao đổi với người đã quyết định; nếu vẫn cần "
                              "đổi, thêm --force (việc đổi được ghi vào lịch sử đề nghị, kèm tên người đổi).")
        again = row["state"] == "awarded" and state == "awarded" and force
        if not forced and not again and state not in NEXT_STATES[row["state"]]:
            allowed = NEXT_STATES[row["state"]]
            raise ThiDuaError(f"Đề nghị số {proposal_id} đang ở trạng thái «{STATE_NAMES[row['state']]}»{earlier}, "
                              f"không chuyển sang «{STATE_NAMES[state]}» được.",
                              ("Được chuyển sang: " + ", ".join(f"«{STATE_NAMES[a]}» ({a})" for a in allowed) + ".") if allowed else
                              "Đề nghị đã được khen thưởng; chỉ sửa được với --force.")
        chosen = find_form(plan, form) if form else None
        if chosen is None and not _lookup(plan.forms, row["decided_form"]) and not isinstance(
                _lookup(plan.forms, row["form"]), AwardForm):
            title = _lookup(plan.titles, row["title"])
            named = f" danh hiệu «{title.name if isinstance(title, Title) else row['title']}»" if row["title"] else ""
            raise ThiDuaError(f"Đề nghị số {proposal_id} ({row['name']}) chỉ ghi{named}, không đề nghị hình thức khen "
                              "thưởng nào của Công đoàn: danh hiệu thi đua do cơ quan, đơn vị quyết định (số, ngày "
                              "quyết định là dữ kiện), Công đoàn không xét.",
                              "Nếu đơn vị đề nghị Công đoàn khen thưởng, ghi thêm --form với mã hình thức, ví dụ GK.")
        if state == "raised":
            before = _lookup(plan.forms, row["form"])
            if chosen is None or (isinstance(before, AwardForm) and chosen.rank <= before.rank):
                raise ThiDuaError("Nâng hình thức khen thưởng cần một hình thức cao hơn hình thức đã đề nghị.",
                                  "Ghi --form với mã hình thức cao hơn, ví dụ BKTLD.")
        decided_form = chosen.code if chosen else row["decided_form"]
        override = None
        if state == "awarded":
            check = check_proposal(plan, dict(row, decided_form=decided_form, award_override=None))
            if not check.eligible:
                if not force or not (reason or "").strip():
                    raise ThiDuaError(
                        f"Đề nghị số {proposal_id} ({row['name']}) {check.verdict[0].lower()}{check.verdict[1:]}.",
                        "Không khen thưởng người chưa đủ điều kiện. Nếu Văn phòng vẫn quyết định khen thưởng, thêm "
                        "--force --reason \"lý do\" (lý do được lưu và hiện trong danh sách làm việc của quyết "
                        "định); nếu không, ghi --state not_met.")
                override = " ".join(reason.split())
        stamp = (when or dt.datetime.now()).isoformat(timespec="seconds")
        note = note if note is not None else row["decision_note"]
        overrode = by_other and row["state"] in FINAL_STATES          # only with force, logged as forced
        stored.record_decision(store, proposal_id, state, decided_form, note, stamp, forced or again or overrode,
                               override, by=who)
        row.update(state=state, decided_form=decided_form, decision_note=note, decided_at=stamp,
                   award_override=override, decided_by=who)
    pc = check_proposal(plan, row)
    pc.warnings.extend(said)
    return pc


def _decided_by(row: dict) -> str:
    """« (do X quyết định lúc HH:MM ngày dd/mm/yyyy)» for a refusal that names who decided first."""
    when = row.get("decided_at") or ""
    try:
        when = dt.datetime.fromisoformat(when).strftime("%H:%M ngày %d/%m/%Y")
    except ValueError:
        pass
    return f" (do {row['decided_by']} quyết định" + (f" lúc {when}" if when else "") + ")"


def sort_for_list(checks: Sequence[ProposalCheck], plan: Plan) -> list[tuple[AwardForm | None, list[ProposalCheck]]]:
    """Groups by form (highest first), collectives then people; people in Vietnamese name order."""
    groups: dict[str, list[ProposalCheck]] = {}
    for pc in checks:
        if pc.state == "not_met":
            continue
        groups.setdefault(pc.effective_form.code if pc.effective_form else "", []).append(pc)
    forms = sorted(plan.forms, key=lambda f: (-f.rank, plan.forms.index(f)))
    order = [f for f in forms if f.code in groups] + ([None] if "" in groups else [])

    def key(pc: ProposalCheck):
        return (0, text_key(pc.name)) if pc.subject == "collective" else (1, name_key(pc.name))
    return [(f, sorted(groups[f.code if f else ""], key=key)) for f in order]


def write_proposal_list(ws, fmt: dict, plan: Plan, checks: Sequence[ProposalCheck], unit_names: dict[str, str],
                        row: int, fit: Callable[[int, tuple], Any] | None = None) -> int:
    """The official table «Danh sách đề nghị khen thưởng» into worksheet `ws` from `row`; returns the next row.
    `fit(row, values)` is told each row's texts (to size the row)."""
    headers = ("STT", "Họ và tên / Tên tập thể", "Chức vụ, đơn vị công tác", "Công đoàn cơ sở", "Danh hiệu",
               "Tóm tắt thành tích", "Trạng thái")
    for col, text in enumerate(headers):
        ws.write_string(row, col, text, fmt["header"])
    if fit:
        fit(row, headers)
    row += 1
    roman = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
    for g, (form, members) in enumerate(sort_for_list(checks, plan)):
        label = form.name if form else "Chưa chọn hình thức khen thưởng"
        ws.merge_range(row, 0, row, len(headers) - 1, f"{roman[g % 10]}. {label} ({len(members)})", fmt["subtotal"])
        row += 1
        for i, pc in enumerate(members, start=1):
            state = STATE_NAMES.get(pc.state, pc.state) + ("" if pc.eligible else f"; {INELIGIBLE}") + (
                "; " + "; ".join(pc.problems + pc.warnings) if pc.problems or pc.warnings else "")
            values = (i, pc.name, pc.position, unit_names.get(pc.unit, pc.unit), pc.attested.text, pc.summary, state)
            ws.write_number(row, 0, i, fmt["center"])
            for col, value in enumerate(values[1:], start=1):
                ws.write_string(row, col, str(value or ""), fmt["text"])  # typed text never becomes a formula
            if fit:
                fit(row, ("", *values[1:]))
            row += 1
    return row
