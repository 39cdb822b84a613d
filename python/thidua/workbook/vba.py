"""VBA source at build time: Vietnamese string literals become ChrW pieces (the project's code page is 1252)."""
from __future__ import annotations

from thidua.errors import ThiDuaError


def _literal(text: str) -> str:
    """A VBA expression for `text` (already unescaped): ASCII runs quoted, other characters ChrW(&H..)."""
    pieces, run = [], ""
    for ch in text:
        if ord(ch) < 128:
            run += ch
            continue
        if run:
            pieces.append('"' + run.replace('"', '""') + '"')
            run = ""
        pieces.append(f"ChrW(&H{ord(ch):04X})")
    if run or not pieces:
        pieces.append('"' + run.replace('"', '""') + '"')
    return " & ".join(pieces)


def _convert_line(line: str, where: str) -> str:
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "'":                       # comment to end of line
            rest = line[i:]
            if not rest.isascii():
                raise ThiDuaError(f"Chú thích VBA có ký tự không phải ASCII ({where}).",
                                  "Viết chú thích VBA bằng tiếng Anh không dấu.")
            out.append(rest)
            break
        if ch == '"':
            j, text = i + 1, ""
            while j < len(line):
                if line[j] == '"' and line[j + 1:j + 2] == '"':
                    text, j = text + '"', j + 2
                elif line[j] == '"':
                    break
                else:
                    text, j = text + line[j], j + 1
            out.append(_literal(text) if not text.isascii() else line[i:j + 1])
            i = j + 1
            continue
        if not ch.isascii():
            raise ThiDuaError(f"Mã VBA có ký tự không phải ASCII ngoài chuỗi ({where}).",
                              "Chỉ dùng tiếng Việt có dấu trong chuỗi giữa hai dấu nháy kép.")
        out.append(ch)
        i += 1
    return "".join(out)


def to_codepage_safe(source: str, name: str = "module") -> str:
    """The module with every non-ASCII string literal rewritten as ChrW pieces; CRLF line ends."""
    lines = source.replace("\r\n", "\n").split("\n")
    converted = [_convert_line(line, f"{name}, dòng {n}") for n, line in enumerate(lines, start=1)]
    return "\r\n".join(converted)
