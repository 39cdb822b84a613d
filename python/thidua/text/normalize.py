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


# Organisation names written in capitals ("CÔNG ĐOÀN VIÊN CHỨC TỈNH") as Vietnamese writes them in running text:
# the kind of body in lower case after its first letter, the body's own name with a capital, administrative
# levels in lower case and the place after them with capitals.
_ORG_KINDS = ("liên đoàn", "công đoàn", "ủy ban nhân dân", "uỷ ban nhân dân", "hội đồng nhân dân", "ban", "sở",
              "hội", "trường", "bệnh viện", "trung tâm", "văn phòng")
_LEVELS = ("thành phố", "thị xã", "tỉnh", "huyện", "quận", "phường", "xã")


def org_name(text: str) -> str:
    """«CÔNG ĐOÀN VIÊN CHỨC TỈNH» -> «Công đoàn Viên chức tỉnh»; «LIÊN ĐOÀN LAO ĐỘNG TỈNH QUẢNG NAM» ->
    «Liên đoàn Lao động tỉnh Quảng Nam». Text already in mixed case is returned as it is."""
    text = nfc(text).strip()
    if not text or text != text.upper():
        return text
    words = text.lower().split()
    out: list[str] = []
    capital_next = True          # the first word, the body's own name, each part of it after «và», a place
    place = False
    i = 0
    while i < len(words):
        rest = " ".join(words[i:]) + " "
        level = next((lv for lv in _LEVELS if rest.startswith(lv + " ")), None)
        kind = next((k for k in _ORG_KINDS if rest.startswith(k + " ")), None) if not out else None
        if level:
            out.append(level)
            i += len(level.split())
            place = capital_next = True
            continue
        if kind:
            out.append(kind[:1].upper() + kind[1:])
            i += len(kind.split())
            continue
        word = words[i]
        out.append(word[:1].upper() + word[1:] if capital_next or place else word)
        capital_next = word == "và"
        i += 1
    return " ".join(out)


# Invisible characters people paste into cells: zero-width space/joiners, word joiner, direction marks, BOM.
INVISIBLE = {"\u200b": "ký tự rộng 0 (U+200B)", "\u200c": "ký tự rộng 0 (U+200C)", "\u200d": "ký tự rộng 0 (U+200D)",
             "\u2060": "ký tự nối từ ẩn (U+2060)", "\u200e": "dấu chiều viết (U+200E)",
             "\u200f": "dấu chiều viết (U+200F)", "\ufeff": "dấu BOM (U+FEFF)"}
_CONTROLS = {chr(c) for c in range(0x20) if chr(c) not in "\t\n"} | {"\x7f"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DROP = {False: frozenset(INVISIBLE), True: frozenset(INVISIBLE) | _CONTROLS}
_ANY_DROP = {k: re.compile("[" + "".join(map(re.escape, sorted(v))) + "]") for k, v in _DROP.items()}   # one C pass finds none


def strip_invisible(text: str, controls: bool = True) -> tuple[str, list[str]]:
    """`text` without zero-width characters, BOM and (with `controls`) C0 control characters (tab and line feed
    kept; CR LF becomes LF), and the names of what was removed (empty when nothing was). Legacy TCVN3 text puts
    capitals on control bytes: strip controls only after it has been read."""
    if controls:
        text = text.replace("\r\n", "\n")
    if not _ANY_DROP[bool(controls)].search(text):
        return text, []
    drop = _DROP[bool(controls)]
    removed = [INVISIBLE.get(ch) or f"ký tự điều khiển U+{ord(ch):04X}" for ch in text if ch in drop]
    if not removed:
        return text, []
    return "".join(ch for ch in text if ch not in drop), list(dict.fromkeys(removed))


def xml_safe(text: str) -> str:
    """`text` holding only characters XML 1.0 allows (and no invisible ones), for values stamped into a workbook."""
    return _NOT_XML.sub("", strip_invisible(text)[0])


def label_key(text: str) -> str:
    """A list label as typed or chosen, for comparing: case, spacing and the separators , / ; ignored (a label
    written «Sơ kết, tổng kết» by an older workbook matches «Sơ kết/tổng kết»)."""
    return " ".join(re.sub(r"[,/;]", " ", nfc(str(text))).split()).casefold()
