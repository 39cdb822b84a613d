"""Commendation proposals: eligibility against the plan's conditions and quotas; office decisions; the official list."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

from thidua.errors import ThiDuaError
from thidua.plan.model import AwardForm, Plan, Title
from thidua.review.eligibility import INELIGIBLE, Nomination, field_label, judge, quota_warnings
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


@dataclass
class ProposalCheck:
    """One proposal with its eligibility verdict (problems block, warnings ask the office to choose)."""

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

    def to_json(self) -> dict:
        return {"id": self.id, "unit": self.unit, "round": self.round, "subject": self.subject, "name": self.name,
                "position": self.position, "title": self.title.code if self.title else None,
                "form": self.form.code if self.form else None, "state": self.state,
                "decided_form": self.decided_form.code if self.decided_form else None, "note": self.note,
                "adhoc": self.adhoc, "eligible": self.eligible, "verdict": self.verdict, "problems": self.problems,
                "warnings": self.warnings, "matched_by": self.matched_by}


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


def _cond_text(plan: Plan, cond) -> str:
    if any(f.code == cond.field for f in plan.proposal_fields):
        value = format_number(cond.value, 2) if isinstance(cond.value, float) else cond.value
        op = cond.op.replace(">=", "≥").replace("<=", "≤").replace("!=", "≠")
        return f"{field_label(plan, cond.field)} {op} {value}"
    return describe_condition(plan, cond)


def check_proposal(plan: Plan, row: dict) -> ProposalCheck:
    """Eligibility of one proposal row (a dict of the proposal's fields); quotas are not counted here."""
    subject = SUBJECTS.get(_nfc(str(row.get("subject") or "")).strip().lower(), "")
    title, form = _lookup(plan.titles, row.get("title")), _lookup(plan.forms, row.get("form"))
    decided = _lookup(plan.forms, row.get("decided_form"))
    pc = ProposalCheck(int(row.get("id") or 0), row.get("unit") or "", row.get("round") or "", subject,
                       _nfc(str(row.get("name") or "")).strip(), _nfc(str(row.get("position") or "")).strip(),
                       title if isinstance(title, Title) else None, form if isinstance(form, AwardForm) else None,
                       row.get("state") or "proposed", decided if isinstance(decided, AwardForm) else None,
                       row.get("decision_note") or "", _nfc(str(row.get("adhoc") or "")).strip() == "Có",
                       _nfc(str(row.get("summary") or "")).strip(), matched_by=row.get("matched_by") or "new")
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
    if subject:
        pc.problems += [f.message for f in judge(plan, row, subject, (pc.title, pc.effective_form))]
    if pc.title:      # conditions written in the titles table itself (older plans), without a legal source
        for cond in pc.title.conditions:
            verdict = cond.holds(row, plan.levels_of_fields)
            if verdict is None:
                pc.problems.append(f"thiếu thông tin để xét «{_cond_text(plan, cond)}»")
            elif not verdict:
                pc.problems.append(f"không đạt «{_cond_text(plan, cond)}» của danh hiệu {pc.title.name}")
    if pc.matched_by == "row":
        pc.warnings.append("tên đã đổi so với tệp trước; nhận là cùng người theo vị trí dòng — kiểm tra lại")
    return pc


def apply_quotas(checks: list[ProposalCheck], plan: Plan) -> None:
    """Warn on every live proposal (not «not met») of a title or form over one of its quotas (plan [[quotas]]
    and the forms' province quota), e.g. CSTĐCS over 15% of the unit's LĐTT."""
    items = [Nomination(pc.unit, pc.round, pc.name, pc.title.code if pc.title else None,
                        pc.effective_form.code if pc.effective_form else None, pc.state != "not_met")
             for pc in checks]
    for i, texts in quota_warnings(plan, items).items():
        checks[i].warnings.extend(texts)


def load_proposals(ws, rounds: Sequence[str] | None = None, until: dt.date | None = None,
                   store: Store | None = None) -> list[ProposalCheck]:
    """Every active proposal in the store of `ws` (all rounds unless `rounds`), checked, by id; with `until`, ad-hoc
    proposals received after that date are left out (they belong to a later period)."""
    plan = ws.plan
    with Store.using(store or ws.db_path) as store:
        rows = stored.active_proposals(store, rounds)
    if until is not None:
        adhoc = {r.code for r in plan.rounds if r.kind == "adhoc"}
        rows = [r for r in rows if r["round"] not in adhoc or (r["received_at"] or "")[:10] <= until.isoformat()]
    checks = [check_proposal(plan, r) for r in rows]
    apply_quotas(checks, plan)
    return checks


def decide(ws, proposal_id: int, state: str, form: str | None = None, note: str | None = None,
           when: dt.datetime | None = None, force: bool = False) -> ProposalCheck:
    """Record the office's decision on one proposal; 'raised' needs a higher form than proposed; leaving
    'awarded' needs `force` and is logged as forced."""
    plan = ws.plan
    if state not in STATES or state == "proposed":
        raise ThiDuaError(f"Trạng thái «{state}» không hợp lệ.", "Chọn reviewed, not_met, raised hoặc awarded.")
    with ws.store() as store:
        row = stored.proposal(store, proposal_id)
        if row is None:
            raise ThiDuaError(f"Không có đề nghị số {proposal_id}.", "Xem số thứ tự bằng «thidua proposals list».")
        forced = row["state"] == "awarded" and state != "awarded"
        if forced and not force:
            raise ThiDuaError(f"Đề nghị số {proposal_id} ({row['name']}) đã ở trạng thái «{STATE_NAMES['awarded']}»; "
                              f"chuyển sang «{STATE_NAMES[state]}» là sửa một quyết định đã ban hành.",
                              "Nếu thật sự cần, thêm --force (việc sửa được ghi vào lịch sử đề nghị).")
        if not forced and state not in NEXT_STATES[row["state"]]:
            allowed = NEXT_STATES[row["state"]]
            raise ThiDuaError(f"Đề nghị số {proposal_id} đang ở trạng thái «{STATE_NAMES[row['state']]}», "
                              f"không chuyển sang «{STATE_NAMES[state]}» được.",
                              ("Được chuyển sang: " + ", ".join(allowed) + ".") if allowed else
                              "Đề nghị đã được khen thưởng; chỉ sửa được với --force.")
        chosen = _lookup(plan.forms, form) if form else None
        if isinstance(chosen, str):
            raise ThiDuaError(f"Không có hình thức khen thưởng «{form}».",
                              "Chọn một mã: " + ", ".join(f.code for f in plan.forms) + ".")
        if state == "raised":
            before = _lookup(plan.forms, row["form"])
            if chosen is None or (isinstance(before, AwardForm) and chosen.rank <= before.rank):
                raise ThiDuaError("Nâng hình thức khen thưởng cần một hình thức cao hơn hình thức đã đề nghị.",
                                  "Ghi --form với mã hình thức cao hơn, ví dụ BKTLD.")
        decided_form = chosen.code if chosen else row["decided_form"]
        stamp = (when or dt.datetime.now()).isoformat(timespec="seconds")
        note = note if note is not None else row["decision_note"]
        stored.record_decision(store, proposal_id, state, decided_form, note, stamp, forced)
        row.update(state=state, decided_form=decided_form, decision_note=note, decided_at=stamp)
    return check_proposal(plan, row)


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
            values = (i, pc.name, pc.position, unit_names.get(pc.unit, pc.unit),
                      pc.title.name if pc.title else "", pc.summary, state)
            ws.write_number(row, 0, i, fmt["center"])
            for col, value in enumerate(values[1:], start=1):
                ws.write_string(row, col, str(value or ""), fmt["text"])  # typed text never becomes a formula
            if fit:
                fit(row, ("", *values[1:]))
            row += 1
    return row
