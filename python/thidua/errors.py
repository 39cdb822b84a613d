"""The one domain exception: a Vietnamese message for the user and a hint on how to fix it."""
from __future__ import annotations


class ThiDuaError(Exception):
    """A problem the user can fix; the CLI prints `Lỗi: <message> Thử: <hint>` and exits 2."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __reduce__(self):                  # whole across a worker process (pickled): message and hint
        return (type(self), (self.message, self.hint))

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()
