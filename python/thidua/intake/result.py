"""What reading and validating one submitted file produces: identity, issues and every value with its cell."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

OK, ERRORS, UNREADABLE = "ok", "errors", "unreadable"
ERROR, WARNING = "error", "warning"


@dataclass
class Issue:
    """One problem: stable code, severity, where (sheet, cell, field), the value found, how to fix it."""

    code: str
    severity: str
    sheet: str | None
    cell: str | None
    field: str | None
    value: Any
    message: str


@dataclass
class Value:
    """One input as read and normalised, with its source cell. `row` is the 1-based table row, if any."""

    sheet: str
    cell: str
    field: str
    value: Any
    row: int | None = None


@dataclass
class SubmissionResult:
    file: str
    sha256: str
    unit: str | None = None
    round: str | None = None
    template_version: str | None = None
    key_id: str | None = None          # the id (fingerprint) of the key that signed the template, when it says
    issues: list[Issue] = field(default_factory=list)
    values: list[Value] = field(default_factory=list)
    unreadable: bool = False

    @property
    def status(self) -> str:
        if self.unreadable:
            return UNREADABLE
        return ERRORS if any(i.severity == ERROR for i in self.issues) else OK

    @property
    def n_errors(self) -> int:
        return sum(i.severity == ERROR for i in self.issues)

    @property
    def n_warnings(self) -> int:
        return sum(i.severity == WARNING for i in self.issues)

    # -- structured views over `values` (field keys come from spec.py)
    def _prefixed(self, prefix: str) -> dict[str, Any]:
        return {v.field[len(prefix):]: v.value for v in self.values if v.row is None and v.field.startswith(prefix)}

    @property
    def info(self) -> dict[str, Any]:
        return self._prefixed("info.")

    @property
    def indicators(self) -> dict[str, Any]:
        return self._prefixed("ind.")

    @property
    def scores(self) -> dict[str, Any]:
        return self._prefixed("score.")

    def _rows(self, prefix: str) -> list[dict[str, Any]]:
        rows: dict[int, dict[str, Any]] = {}
        for v in self.values:
            if v.row is not None and v.field.startswith(prefix):
                rows.setdefault(v.row, {"row": v.row})[v.field[len(prefix):]] = v.value
        return [rows[k] for k in sorted(rows)]

    @property
    def activities(self) -> list[dict[str, Any]]:
        return self._rows("act.")

    @property
    def proposals(self) -> list[dict[str, Any]]:
        return self._rows("prop.")

    def to_json(self) -> dict:
        """The `thidua validate --json` object: dates as ISO text, numbers as numbers."""
        def plain(value):
            return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
        return {
            "file": self.file, "sha256": self.sha256, "unit": self.unit, "round": self.round,
            "template_version": self.template_version, "key_id": self.key_id, "status": self.status,
            "issues": [{k: plain(v) for k, v in asdict(i).items()} for i in self.issues],
            "values": [{"sheet": v.sheet, "cell": v.cell, "field": v.field, "value": plain(v.value)}
                       for v in self.values],
        }
