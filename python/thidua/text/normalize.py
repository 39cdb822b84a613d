"""Vietnamese text helpers: Unicode normalisation and ASCII slugs for file names."""
from __future__ import annotations

import re
import unicodedata

_LOOKALIKE = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})  # Ð ð (Icelandic eth) -> Đ đ


def nfc(text: str) -> str:
    """NFC, with the Icelandic Ð/ð lookalikes replaced by Vietnamese Đ/đ."""
    return unicodedata.normalize("NFC", text).translate(_LOOKALIKE)


def ascii_slug(text: str, max_len: int = 60) -> str:
    """A lower-case ASCII slug safe in a Windows file name: 'CĐCS Trường THPT' -> 'cdcs-truong-thpt'."""
    text = nfc(text).replace("Đ", "D").replace("đ", "d")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:max_len].rstrip("-") or "don-vi"


# Invisible characters people paste into cells: zero-width space/joiners, word joiner, direction marks, BOM.
INVISIBLE = {"\u200b": "ký tự rộng 0 (U+200B)", "\u200c": "ký tự rộng 0 (U+200C)", "\u200d": "ký tự rộng 0 (U+200D)",
             "\u2060": "ký tự nối từ ẩn (U+2060)", "\u200e": "dấu chiều viết (U+200E)",
             "\u200f": "dấu chiều viết (U+200F)", "\ufeff": "dấu BOM (U+FEFF)"}
_CONTROLS = {chr(c) for c in range(0x20) if chr(c) not in "\t\n"} | {"\x7f"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def strip_invisible(text: str) -> tuple[str, list[str]]:
    """`text` without zero-width characters, BOM and C0 control characters (tab and line feed kept; CR LF
    becomes LF), and the names of what was removed (empty when nothing was)."""
    text = text.replace("\r\n", "\n")
    removed = [INVISIBLE.get(ch) or f"ký tự điều khiển U+{ord(ch):04X}" for ch in text
               if ch in INVISIBLE or ch in _CONTROLS]
    if not removed:
        return text, []
    return "".join(ch for ch in text if ch not in INVISIBLE and ch not in _CONTROLS), list(dict.fromkeys(removed))


def xml_safe(text: str) -> str:
    """`text` holding only characters XML 1.0 allows (and no invisible ones), for values stamped into a workbook."""
    return _NOT_XML.sub("", strip_invisible(text)[0])
