"""Issues found in submitted files (errors and warnings with their sheet and cell)."""
from __future__ import annotations

from typing import Iterator

from thidua.store.store import Store


ISSUE_COLUMNS = ("submission_id", "code", "severity", "sheet", "cell", "field", "value", "message")


def issue_rows(submission_id: int, issues) -> list[tuple]:
    """The issues of one file as rows in ISSUE_COLUMNS order, in the order found (the order they are read back in)."""
    return [(submission_id, i.code, i.severity, i.sheet, i.cell, i.field, None if i.value is None else str(i.value),
             i.message) for i in issues]


def add_issues(store: Store, submission_id: int, issues) -> None:
    add_issue_rows(store, issue_rows(submission_id, issues))


def add_issue_rows(store: Store, rows: list[tuple]) -> None:
    """Issue rows of many files at once: one write (COPY on a server)."""
    store.insert_rows("issues", ISSUE_COLUMNS, rows)


def errors_of_file(store: Store, sha256: str) -> list[tuple]:
    """(sheet, cell, message) of the errors of one file, in the order found."""
    return store.conn.execute("SELECT i.sheet, i.cell, i.message FROM issues i JOIN submissions s "
                              "ON s.id = i.submission_id WHERE s.sha256=? AND i.severity='error' ORDER BY i.rowid",
                              (sha256,)).fetchall()


def issues_of_round(store: Store, round_code: str) -> Iterator[tuple]:
    """(unit, file name, received_at, source, status, severity, sheet, cell, value, message) of the files of a round
    (and of files whose round is unknown), superseded files left out; streamed in unit and receipt order."""
    return store.stream(
        "SELECT s.unit, s.file_name, s.received_at, s.received_source, s.status, i.severity, i.sheet, i.cell, "
        "i.value, i.message FROM issues i JOIN submissions s ON s.id = i.submission_id "
        "WHERE (s.round = ? OR s.round IS NULL) AND s.status != 'superseded' "
        "ORDER BY s.unit NULLS FIRST, s.received_at, s.id, i.rowid", (round_code,))
