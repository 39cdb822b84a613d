"""Issues found in submitted files (errors and warnings with their sheet and cell)."""
from __future__ import annotations

from typing import Iterable, Iterator

from thidua.store.store import Store


ISSUE_COLUMNS = ("submission_id", "code", "severity", "sheet", "cell", "field", "value", "message")


def issue_row(submission_id: int | None, i) -> tuple:
    """An issue found (code, severity, sheet, cell, field, value, message) as an issues row in ISSUE_COLUMNS order."""
    return (submission_id, i.code, i.severity, i.sheet, i.cell, i.field, None if i.value is None else str(i.value),
            i.message)


def add_issue_rows(store: Store, rows: Iterable[tuple]) -> None:
    store.insert_rows("issues", ISSUE_COLUMNS, rows)


def errors_of_file(store: Store, sha256: str) -> list[tuple]:
    """(sheet, cell, message) of the errors of one file, in the order found."""
    return store.conn.execute("SELECT i.sheet, i.cell, i.message FROM issues i JOIN submissions s "
                              "ON s.id = i.submission_id WHERE s.sha256=? AND i.severity='error' ORDER BY i.rowid",
                              (sha256,)).fetchall()


def issues_of_round(store: Store, round_code: str) -> Iterator[tuple]:
    """(unit, file name, received_at, source, status, severity, sheet, cell, value, message) of the files of a round
    (and of files whose round is unknown), superseded files left out; streamed in unit and receipt order."""
    return store.conn.execute(
        "SELECT s.unit, s.file_name, s.received_at, s.received_source, s.status, i.severity, i.sheet, i.cell, "
        "i.value, i.message FROM issues i JOIN submissions s ON s.id = i.submission_id "
        "WHERE (s.round = ? OR s.round IS NULL) AND s.status != 'superseded' "
        "ORDER BY s.unit, s.received_at, s.id, i.rowid", (round_code,))
