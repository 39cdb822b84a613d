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
