"""E-mail header values that keep their spaces: Python's folder drops the space between encoded words."""
from __future__ import annotations

from email.header import Header


class Unfolded(str):
    """A header value (`msg["Subject"] = Unfolded(text)`) folded by email.header, which keeps every space inside
    its encoded words. The default policy's folder (CPython 3.11-3.13) writes some of them between encoded words,
    where RFC 2047 readers drop them: "Đề nghị gửi … - Công đoàn" arrived as "… -Công đoàn"."""

    name = "Subject"

    def __new__(cls, text: str, name: str = "Subject") -> "Unfolded":
        value = super().__new__(cls, text)
        value.name = name
        return value

    def fold(self, *, policy) -> str:
        if str(self).isascii():
            return policy.fold(self.name, str(self))
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(linesep=policy.linesep)
        return f"{self.name}: {encoded}{policy.linesep}"
