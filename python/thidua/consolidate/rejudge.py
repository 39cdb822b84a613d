"""Re-judging: validate every archived file again with today's key, register and plan; keep the verdict history."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thidua.consolidate.judging import initial_status, resolve
from thidua.errors import ThiDuaError
from thidua.store import verdicts as V
from thidua.store.store import Store
from thidua.store.vocabulary import VALID
from thidua.templates.signing import fingerprint
from thidua.year.workset import WorkingSet

WHAT = {"key_fingerprint": "khóa của văn phòng", "plan_fingerprint": "kế hoạch thi đua",
        "register_fingerprint": "danh sách đơn vị"}


@dataclass
class Rejudged:
    """What a re-judgement did: why, how many archived files were read, whose verdict changed."""

    reason: str
    n_files: int = 0
    changed: list[dict] = field(default_factory=list)     # file, unit, round, old, new, old_errors, new_errors
    missing: list[str] = field(default_factory=list)      # archive copies not found

    def to_json(self) -> dict:
        return asdict(self)

    def sentence(self) -> str:
        return (f"Đã kiểm tra lại {self.n_files} tệp đã lưu ({self.reason}): {len(self.changed)} tệp đổi kết quả"
                + (f", {len(self.missing)} tệp lưu trữ bị thiếu" if self.missing else "") + ".")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def current_fingerprints(plan, units, key: bytes) -> dict[str, str]:
    """Short fingerprints of what a verdict depends on: the key, the plan and the register."""
    units = units.values() if isinstance(units, dict) else units
    return {"key_fingerprint": fingerprint(key), "plan_fingerprint": _digest(repr(plan)),
            "register_fingerprint": _digest(repr(sorted(units, key=lambda u: u.code)))}


def what_changed(recorded: dict, now: dict) -> list[str]:
    """The names of the recorded fingerprints that differ from today's (never-recorded ones do not count)."""
    return [name for name in V.FINGERPRINTS if recorded.get(name) and recorded[name] != now[name]]


def check_key(store: Store, plan, units: dict, key: bytes) -> None:
    """Refuse a key that verifies none of the signed files already received (a different office key)."""
    from thidua.intake.validate import validate_bytes
    sample = V.signed_sample(store)
    tried = verified = 0
    for row in sample:
        rel = row["archive_path"]
        if not store.archive.exists(rel):
            continue
        tried += 1
        result = validate_bytes(store.archive.read(rel), row["file_name"] or Path(rel).name, plan, key, units)
        verified += not any(i.code in ("M004", "M012") for i in result.issues)
    if tried and not verified:
        recorded = store.meta("key_fingerprint") or "?"
        raise ThiDuaError(
            f"Khóa đang dùng (dấu vân tay {fingerprint(key)}) khác khóa đã ký các biểu mẫu (kho dữ liệu ghi "
            f"{recorded}): không tệp nào trong {tried} tệp đã nhận khớp chữ ký. Chưa ghi gì.",
            "Dùng đúng tệp khóa của văn phòng bằng --key hoặc $THIDUA_KEY_FILE (xem «thidua key show»); "
            "khôi phục khóa từ bản sao lưu nếu máy mới.")


def rejudge_store(store: Store, plan, units: dict, key: bytes, reason: str,
                  round_code: str | None = None) -> Rejudged:
    """Validate every archived submission again; replace the verdicts that changed, keep the old ones as history."""
    from thidua.store.values import value_row
    from thidua.intake.validate import validate_bytes
    prints = current_fingerprints(plan, units, key)
    plan_rounds = {r.code for r in plan.rounds}
    done = Rejudged(reason)
    changed: list[tuple[dict, list[dict], dict]] = []
    pairs: set[tuple[str, str]] = set()
    with store.atomic():
        for old in V.judged_files(store, round_code):
            rel = old["archive_path"]
            if not store.archive.exists(rel):
                done.missing.append(rel)
                continue
            done.n_files += 1
            result = validate_bytes(store.archive.read(rel), old["file_name"] or Path(rel).name, plan, key, units)
            status = initial_status(result, plan_rounds, units)
            old_valid = old["status"] in VALID
            if old_valid and status == "superseded":
                status = old["status"]             # still valid: resolve() decides which one counts
            old_issues = V.issues_of(store, old["id"])
            new_issues = [{"code": i.code, "severity": i.severity, "sheet": i.sheet, "cell": i.cell, "field": i.field,
                           "value": None if i.value is None else str(i.value), "message": i.message}
                          for i in result.issues]
            head = {"unit": result.unit, "round": result.round, "template_version": result.template_version,
                    "status": status, "n_errors": result.n_errors, "n_warnings": result.n_warnings}
            same = (status == old["status"] and all(old[k] == head[k] for k in ("unit", "round", "n_errors", "n_warnings"))
                    and [i["code"] for i in old_issues] == [i["code"] for i in new_issues])
            if same:
                continue
            V.replace_judgement(store, old["id"], head, [value_row(old["id"], v) for v in result.values], new_issues)
            changed.append((old, old_issues, head))
            pairs |= {(old["unit"], old["round"]), (head["unit"], head["round"])}
        resolve(store, {p for p in pairs if p[0] and p[1]})
        final = V.statuses(store, [old["id"] for old, _, _ in changed])
        for old, old_issues, head in changed:
            head = dict(head, status=final.get(old["id"], head["status"]))
            V.record_verdict(store, old["id"], reason, old, head, old_issues, prints)
            done.changed.append({"file": old["file_name"], "unit": head["unit"], "round": head["round"],
                                 "old": old["status"], "new": head["status"], "old_errors": old["n_errors"],
                                 "new_errors": head["n_errors"]})
        if round_code is None:                   # one round judged again says nothing of the others
            V.record_fingerprints(store, prints)
    return done


def rejudge_if_changed(ws: WorkingSet, store: Store) -> Rejudged | None:
    """At consolidation (holding the run lock, on its open store): when the key, the plan or the register differs
    from the one recorded at the last run, check the key, then judge every archived file again. Records today's
    fingerprints."""
    plan, units, key = ws.plan, ws.register_map, ws.key()
    now = current_fingerprints(plan, units, key)
    changed = what_changed(V.recorded_fingerprints(store), now)
    if "key_fingerprint" in changed:
        check_key(store, plan, units, key)
    if not changed or not V.has_submissions(store):
        V.record_fingerprints(store, now)
        return None
    reason = "đã đổi " + ", ".join(WHAT[name] for name in changed) + " so với lần tổng hợp trước"
    return rejudge_store(store, plan, units, key, reason)


def rejudge(ws: WorkingSet, round_code: str | None = None, wait: float = 30.0) -> Rejudged:
    """`thidua rejudge`: every archived file (or one round's) judged again, under the consolidation lock."""
    plan, unit_map, key = ws.plan, ws.register_map, ws.key()
    if round_code:
        plan.round(round_code)
    ws.check_year()                        # another year's store: refused before anything is judged
    with ws.store(create=False) as store, store.run_lock(wait=wait):
        if fingerprint(key) != (store.meta("key_fingerprint") or fingerprint(key)):
            check_key(store, plan, unit_map, key)
        return rejudge_store(store, plan, unit_map, key, "theo yêu cầu (thidua rejudge)", round_code)
