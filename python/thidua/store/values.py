"""Values read from submitted files, with their source cell: writing them, reading those of current submissions."""
from __future__ import annotations

import array
import base64
import contextlib
import datetime as dt
import itertools
import json
import zlib
from typing import Any, Iterable, Iterator, Sequence

from thidua.store.store import Store, errors

VALUE_COLUMNS = ("submission_id", "sheet", "cell", "field", "row", "value_num", "value_text", "value_date")


def value_row(submission_id: int, v) -> tuple:
    """A value read (field, sheet, cell, row, value) as a cell_values row in VALUE_COLUMNS order: exactly one of
    num/text/date is set."""
    value = v.value
    num = text = date = None
    if isinstance(value, bool):
        text = "Có" if value else "Không"
    elif isinstance(value, (int, float)):
        num = value
    elif isinstance(value, (dt.date, dt.datetime)):
        date = value.isoformat()[:10]
    elif value is not None:
        text = str(value)
    return submission_id, v.sheet, v.cell, v.field, v.row, num, text, date


def add_values(store: Store, submission_id: int, values: Iterable) -> int:
    """Every value of a file read (the hot path of consolidation: rows as tuples, columns named once)."""
    return add_value_rows(store, [value_row(submission_id, v) for v in values])


def add_value_rows(store: Store, rows: list[tuple]) -> int:
    """cell_values rows (VALUE_COLUMNS order) of many files at once: one write (COPY on a server)."""
    return store.insert_rows("cell_values", VALUE_COLUMNS, rows)


def _first(num, text, date):
    """The one value set of a cell_values row (coalesce in Python: a server will not mix a number with text)."""
    return num if num is not None else (text if text is not None else date)


def typed(num, text, date):
    """A stored value back as Python: a whole number as int, a date as date, else the text."""
    if num is not None:
        return int(num) if float(num).is_integer() else num
    if date is not None:
        return dt.date.fromisoformat(date)
    return text


def values_by_submission(store: Store, rounds: Iterable[str], prefix: str) -> dict[int, dict[str, Any]]:
    """{submission id: {field without prefix: value}} of the single-value fields starting with `prefix`, for the
    current submissions of `rounds` (read through the submission index, not a scan of every value)."""
    codes = list(rounds)
    out: dict[int, dict[str, Any]] = {}
    if not codes:
        return out
    cut = len(prefix) + 1
    rows = store.conn.execute(
        f"SELECT v.submission_id, substr(v.field, {cut}), v.value_num, v.value_text, v.value_date "
        "FROM current_submissions s JOIN cell_values v ON v.submission_id = s.id "
        f"WHERE s.round IN ({','.join('?' * len(codes))}) AND v.row IS NULL AND v.field LIKE ?", (*codes, prefix + "%"))
    for sid, name, num, text, date in rows:
        value = _first(num, text, date)
        try:
            out[sid][name] = value
        except KeyError:
            out[sid] = {name: value}
    return out


TOTALS_KEY = "indicator_totals:{round}"      # meta: a round's sums and what they were summed from


def indicator_totals(store: Store, round_code: str | None = None) -> dict[str, dict[str, float]]:
    """Sum of the numeric indicator values of the current submissions: {round: {code: total}}.

    A national round holds 4 million values (~1-2 s to sum), so each round's sums are kept in the store with what
    they were summed from: the ids of its current submissions and the last verdict (a value is never changed under
    a submission id but by a new verdict, store/verdicts.py). The next time, the same ids give the same sums; a few
    ids in or out are added or taken off (whole numbers only: exact); anything else is summed again."""
    conn = store.conn
    rounds = [round_code] if round_code else [r for (r,) in conn.execute(
        "SELECT DISTINCT round FROM submissions WHERE status = 'accepted' AND round IS NOT NULL ORDER BY round")]
    out: dict[str, dict[str, float]] = {}
    for rnd in rounds:
        key = TOTALS_KEY.format(round=rnd)
        ids = array.array("q", (i for (i,) in store.stream(
            "SELECT id FROM submissions WHERE round = ? AND status = 'accepted' ORDER BY id", (rnd,))))
        verdict = store.scalar("SELECT max(id) FROM verdicts") or 0
        kept = None
        with contextlib.suppress(ValueError, TypeError, KeyError, zlib.error):
            kept = _carried(store, json.loads(store.meta(key) or "{}"), ids, verdict)
        totals, counts = kept if kept is not None else _summed(store, rnd)
        with contextlib.suppress(*errors()):              # a read-only store: summed again next time
            store.set_meta(key, json.dumps({"ids": _pack(ids), "verdict": verdict, "totals": totals,
                                            "counts": counts}))
        if totals:
            out[rnd] = totals
    return out


def _summed(store: Store, round_code: str) -> tuple[dict, dict]:
    """({code: total}, {code: values summed}) of a round's current submissions, from all their values."""
    totals, counts = {}, {}
    for code, total, n in store.conn.execute(
            "SELECT code, sum(value_num), count(*) FROM indicator_values WHERE value_num IS NOT NULL AND round = ? "
            "GROUP BY code ORDER BY code", (round_code,)):
        totals[code], counts[code] = (int(total) if float(total).is_integer() else total), n
    return totals, counts


def _carried(store: Store, kept: dict, ids: array.array, verdict: int) -> tuple[dict, dict] | None:
    """The kept sums brought to the current ids (None when they must be summed again: another verdict, many ids
    changed, or a sum or value that is not a whole number)."""
    if not kept or kept["verdict"] != verdict:
        return None
    totals, counts, before = kept["totals"], kept["counts"], _unpack(kept["ids"])
    if before == ids:
        return totals, counts
    now, was = set(ids), set(before)
    changed = [(i, 1) for i in now - was] + [(i, -1) for i in was - now]
    if len(changed) > len(ids) // 10 or not all(isinstance(t, int) for t in totals.values()):
        return None
    totals, counts = dict(totals), dict(counts)
    signs = dict(changed)
    for start in range(0, len(changed), 500):
        part = [i for i, _ in changed[start:start + 500]]
        for sub_id, code, value in store.conn.execute(
                "SELECT submission_id, substr(field, 5), value_num FROM cell_values WHERE submission_id IN "
                f"({','.join('?' * len(part))}) AND field LIKE 'ind.%' AND value_num IS NOT NULL", part):
            if not float(value).is_integer():
                return None
            totals[code] = totals.get(code, 0) + signs[sub_id] * int(value)
            counts[code] = counts.get(code, 0) + signs[sub_id]
    codes = sorted(code for code, n in counts.items() if n > 0)
    return {code: totals[code] for code in codes}, {code: counts[code] for code in codes}


def _pack(ids: array.array) -> str:
    """Sorted ids as text, small: the gaps between them, compressed."""
    gaps = array.array("q", (b - a for a, b in zip(itertools.chain((0,), ids), ids)))
    return base64.b64encode(zlib.compress(gaps.tobytes(), 6)).decode("ascii")


def _unpack(text: str) -> array.array:
    gaps = array.array("q")
    gaps.frombytes(zlib.decompress(base64.b64decode(text)))
    return array.array("q", itertools.accumulate(gaps))


def indicator_sources(store: Store, round_code: str) -> dict[str, tuple[str, str]]:
    """{indicator: (sheet, cell)}: the cell most current submissions of the round read it from."""
    where: dict[str, tuple[str, str]] = {}
    for code, sheet, cell, _n in store.conn.execute(
            "SELECT code, sheet, cell, count(*) AS n FROM indicator_values WHERE round=? GROUP BY code, sheet, cell "
            "ORDER BY n, code, sheet, cell", (round_code,)):
        where[code] = (sheet, cell)
    return where


def indicator_rows_in_order(store: Store, round_code: str) -> Iterator[tuple]:
    """(position, code, num, text, date, sheet, cell) of the current submissions' indicators, streamed in the order
    of the units of register.order_units (that table is joined first: no sort, no transient index on SQLite)."""
    cross = "CROSS JOIN" if store.engine == "sqlite" else "JOIN"     # CROSS JOIN fixes SQLite's join order
    return store.stream(
        "SELECT o.pos, substr(v.field, 5), v.value_num, v.value_text, v.value_date, v.sheet, v.cell "
        f"FROM unit_order o {cross} submissions s ON s.unit = o.unit AND s.round = ? "
        f"AND s.status = 'accepted' {cross} cell_values v ON v.submission_id = s.id "
        "WHERE v.field LIKE 'ind.%' ORDER BY o.pos" + ("" if store.engine == "sqlite" else ", v.rowid"), (round_code,))


def activity_rows(store: Store, round_code: str) -> Iterator[tuple]:
    """(unit, row, sheet, field, num, text, date) of the current submissions' activity tables, by unit and row."""
    return store.stream(
        "SELECT s.unit, v.row, v.sheet, v.field, v.value_num, v.value_text, v.value_date FROM cell_values v "
        "JOIN current_submissions s ON s.id = v.submission_id WHERE s.round=? AND v.field LIKE 'act.%' "
        "AND v.row IS NOT NULL ORDER BY s.unit, v.row", (round_code,))


def table_rows(store: Store, submission_id: int, prefix: str) -> dict[int, dict[str, Any]]:
    """{row: {field without prefix: value}} of one submission's table fields starting with `prefix`."""
    rows: dict[int, dict[str, Any]] = {}
    for fld, row, num, text, date in store.conn.execute(
            "SELECT field, row, value_num, value_text, value_date FROM cell_values "
            "WHERE submission_id=? AND field LIKE ? AND row IS NOT NULL", (submission_id, prefix + "%")):
        rows.setdefault(row, {})[fld[len(prefix):]] = _first(num, text, date)
    return rows


def current_values_of(store: Store, codes: Sequence[str], rounds: Sequence[str]) -> dict[tuple[str, str], dict]:
    """{(unit, round): {indicator: value}} of a few indicators in the current submissions of `rounds`."""
    if not codes or not rounds:
        return {}
    out: dict[tuple[str, str], dict] = {}
    for unit, rnd, code, num, text, date in store.conn.execute(
            "SELECT s.unit, s.round, substr(v.field, 5), v.value_num, v.value_text, v.value_date "
            "FROM current_submissions s JOIN cell_values v ON v.submission_id = s.id "
            f"WHERE s.round IN ({','.join('?' * len(rounds))}) AND v.row IS NULL "
            f"AND v.field IN ({','.join('?' * len(codes))})", (*rounds, *(f"ind.{c}" for c in codes))):
        out.setdefault((unit, rnd), {})[code] = _first(num, text, date)
    return out


def current_values_in_order(store: Store, codes: Sequence[str], rounds: Sequence[str]) -> Iterator[tuple]:
    """(position, round, indicator, value) of a few indicators in the current submissions of `rounds`, by the units
    of register.order_units, in that order."""
    cross = "CROSS JOIN" if store.engine == "sqlite" else "JOIN"
    rows = store.stream(
        "SELECT o.pos, s.round, substr(v.field, 5), v.value_num, v.value_text, v.value_date "
        f"FROM unit_order o {cross} submissions s ON s.unit = o.unit AND s.status = 'accepted' "
        f"AND s.round IN ({','.join('?' * len(rounds))}) {cross} cell_values v ON v.submission_id = s.id "
        f"WHERE v.row IS NULL AND v.field IN ({','.join('?' * len(codes))}) ORDER BY o.pos",
        (*rounds, *(f"ind.{c}" for c in codes)))
    return ((pos, rnd, code, _first(num, text, date)) for pos, rnd, code, num, text, date in rows)


def decreasing_values(store: Store, earlier: str, later: str, codes: Sequence[str]) -> Iterator[tuple]:
    """(unit, indicator, later figure, earlier figure, later file name, earlier file name, when the later file came)
    of the indicators `codes`
    whose figure in a unit's current report of round `later` is below the one in its current report of `earlier`
    (both numbers), by unit: compared in the store, nothing held per unit."""
    if not codes:
        return iter(())
    return store.stream(
        "SELECT b.unit, substr(vb.field, 5), vb.value_num, va.value_num, b.file_name, a.file_name, b.received_at "
        "FROM current_submissions b JOIN current_submissions a ON a.unit = b.unit AND a.round = ? "
        "JOIN cell_values vb ON vb.submission_id = b.id AND vb.row IS NULL "
        f"AND vb.field IN ({','.join('?' * len(codes))}) "
        "JOIN cell_values va ON va.submission_id = a.id AND va.row IS NULL AND va.field = vb.field "
        "WHERE b.round = ? AND vb.value_num < va.value_num ORDER BY b.unit",
        (earlier, *(f"ind.{c}" for c in codes), later))
