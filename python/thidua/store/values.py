"""Values read from submitted files, with their source cell: writing them, reading those of current submissions."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Iterator, Sequence

from thidua.store.store import Store

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


def indicator_totals(store: Store, round_code: str | None = None) -> dict[str, dict[str, float]]:
    """Sum of the numeric indicator values of the current submissions: {round: {code: total}}."""
    sql = "SELECT round, code, sum(value_num) FROM indicator_values WHERE value_num IS NOT NULL"
    args: tuple = ()
    if round_code:
        sql += " AND round = ?"
        args = (round_code,)
    out: dict[str, dict[str, float]] = {}
    for rnd, code, total in store.conn.execute(sql + " GROUP BY round, code ORDER BY round, code", args):
        out.setdefault(rnd, {})[code] = int(total) if float(total).is_integer() else total
    return out


def indicator_sources(store: Store, round_code: str) -> dict[str, tuple[str, str]]:
    """{indicator: (sheet, cell)}: the cell most current submissions of the round read it from."""
    where: dict[str, tuple[str, str]] = {}
    for code, sheet, cell, _n in store.conn.execute(
            "SELECT code, sheet, cell, count(*) AS n FROM indicator_values WHERE round=? GROUP BY code, sheet, cell "
            "ORDER BY n, code, sheet, cell", (round_code,)):
        where[code] = (sheet, cell)
    return where


def indicator_rows_in_order(store: Store, units: Sequence[str], round_code: str) -> Iterator[tuple]:
    """(position, code, num, text, date, sheet, cell) of the current submissions' indicators, streamed in the order
    of `units` (a temporary table of that order is joined first: no sort, no transient index)."""
    conn = store.conn
    if store.engine == "sqlite":         # CROSS JOIN fixes SQLite's join order; `temp.` its temporary schema
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS unit_order (pos INTEGER PRIMARY KEY, unit TEXT NOT NULL)")
        conn.execute("DELETE FROM temp.unit_order")
        conn.executemany("INSERT INTO temp.unit_order VALUES (?,?)", enumerate(units))
        return conn.execute(
            "SELECT o.pos, substr(v.field, 5), v.value_num, v.value_text, v.value_date, v.sheet, v.cell "
            "FROM temp.unit_order o CROSS JOIN submissions s ON s.unit = o.unit AND s.round = ? "
            "AND s.status = 'accepted' CROSS JOIN cell_values v ON v.submission_id = s.id "
            "WHERE v.field LIKE 'ind.%' ORDER BY o.pos", (round_code,))
    order = {u: i for i, u in enumerate(units)}        # a server plans the join itself: order in Python
    rows = conn.execute(
        "SELECT s.unit, substr(v.field, 5), v.value_num, v.value_text, v.value_date, v.sheet, v.cell "
        "FROM submissions s JOIN cell_values v ON v.submission_id = s.id WHERE s.round = ? AND s.status = 'accepted' "
        "AND v.field LIKE 'ind.%' ORDER BY v.rowid", (round_code,)).fetchall()
    return iter(sorted(((order[r[0]], *r[1:]) for r in rows if r[0] in order), key=lambda r: r[0]))


def activity_rows(store: Store, round_code: str) -> Iterator[tuple]:
    """(unit, row, sheet, field, num, text, date) of the current submissions' activity tables, by unit and row."""
    return store.conn.execute(
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
