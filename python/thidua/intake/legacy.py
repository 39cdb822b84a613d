"""Detect Vietnamese text typed in legacy TCVN3 (ABC, .VnTime) or VNI fonts and convert it to Unicode."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# TCVN 5712 bytes 0x80..0xFF as Unicode (from glibc `iconv -f TCVN5712-1`, one byte at a time).
_TCVN3_HIGH = (
    "\xc0\u1ea2\xc3\xc1\u1ea0\u1eb6\u1eac\xc8\u1eba\u1ebc\xc9\u1eb8\u1ec6\xcc\u1ec8\u0128\xcd\u1eca\xd2\u1ece"
    "\xd5\xd3\u1ecc\u1ed8\u1edc\u1ede\u1ee0\u1eda\u1ee2\xd9\u1ee6\u0168\xa0\u0102\xc2\xca\xd4\u01a0\u01af\u0110"
    "\u0103\xe2\xea\xf4\u01a1\u01b0\u0111\u1eb0\u0300\u0309\u0303\u0301\u0323\xe0\u1ea3\xe3\xe1\u1ea1\u1eb2\u1eb1"
    "\u1eb3\u1eb5\u1eaf\u1eb4\u1eae\u1ea6\u1ea8\u1eaa\u1ea4\u1ec0\u1eb7\u1ea7\u1ea9\u1eab\u1ea5\u1ead\xe8\u1ec2"
    "\u1ebb\u1ebd\xe9\u1eb9\u1ec1\u1ec3\u1ec5\u1ebf\u1ec7\xec\u1ec9\u1ec4\u1ebe\u1ed2\u0129\xed\u1ecb\xf2\u1ed4"
    "\u1ecf\xf5\xf3\u1ecd\u1ed3\u1ed5\u1ed7\u1ed1\u1ed9\u1edd\u1edf\u1ee1\u1edb\u1ee3\xf9\u1ed6\u1ee7\u0169\xfa"
    "\u1ee5\u1eeb\u1eed\u1eef\u1ee9\u1ef1\u1ef3\u1ef7\u1ef9\xfd\u1ef5\u1ed0"
)
assert len(_TCVN3_HIGH) == 128


def _ansi(byte: int) -> str:
    """The character Windows (code page 1252) shows for a byte typed in a legacy font."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


TCVN3_TABLE = {_ansi(0x80 + i): ch for i, ch in enumerate(_TCVN3_HIGH) if _ansi(0x80 + i) != ch}

# Vietnamese letters that are also Latin-1 letters: never evidence of a legacy encoding by themselves.
_LATIN1_VIET = set("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
_TCVN3_MARKERS = {c for c in TCVN3_TABLE if c not in _LATIN1_VIET and c not in "ÐðÀ\xa0"}

# VNI: a base letter followed by a mark character (Latin-1 look-alikes), plus a few single characters.
_TONES = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_HAT = {"â": "", "á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}
_BREVE = {"ê": "", "é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}
_VNI_SINGLE = {"ô": "ơ", "ö": "ư", "ñ": "đ", "í": "í", "ì": "ì", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}


def _vni_pairs() -> dict[str, str]:
    pairs: dict[str, str] = {}
    for upper in (False, True):
        def case(s: str) -> str:
            return s.upper() if upper else s
        for base in "aeouyôö":
            ubase = _VNI_SINGLE.get(base, base)
            for mark, comb in _TONES.items():
                pairs[case(base + mark)] = unicodedata.normalize("NFC", case(ubase) + comb)
        for base in "aeo":
            for mark, comb in _HAT.items():
                pairs[case(base + mark)] = unicodedata.normalize("NFC", case(base) + "\u0302" + comb)
        for mark, comb in _BREVE.items():
            pairs[case("a" + mark)] = unicodedata.normalize("NFC", case("a") + "\u0306" + comb)
        for k, v in _VNI_SINGLE.items():
            pairs.setdefault(case(k), case(v))
    return pairs


VNI_TABLE = _vni_pairs()
_VNI_RE = re.compile("|".join(sorted(map(re.escape, VNI_TABLE), key=len, reverse=True)))
_VNI_PAIR = re.compile("[aeiouyAEIOUYôöÔÖ][âáàåãäêéèúüëùøûõïÂÁÀÅÃÄÊÉÈÚÜËÙØÛÕÏ]")
_VNI_MARKERS = set("øûïåäëüæîñöØÛÏÅÄËÜÆÎÑÖ")
_TCVN3_ONLY = _TCVN3_MARKERS - _VNI_MARKERS - set(_VNI_SINGLE) - set("ÇçÈËÌÍÎÏ")

# TCVN3 puts many lower-case letters where Windows shows Latin-1 capitals: "nguyÔn" is "nguyễn".
_MIXED_CASE = re.compile("[a-z][ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ]")

_ONSET = "(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdđghklmnprstvx])?"
_NUCLEI = ("a ă â e ê i y o ô ơ u ư ai ao au ay âu ây eo êu ia iê yê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ ưa "
           "ưi ươ ưu uy iêu yêu oai oao oay oeo uây uôi ươi ươu uya uyê uyu").split()
_RHYME = "(?:" + "|".join(sorted(_NUCLEI, key=len, reverse=True)) + ")(?:ch|ng|nh|[cmnpt])?"
_SYLLABLE = re.compile(f"^{_ONSET}{_RHYME}$")
_WORD = re.compile(r"[^\W\d_]+")
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


@dataclass(frozen=True)
class LegacyResult:
    """`encoding` is "TCVN3", "VNI" or None; `text` the converted text; `suspect` when unsure."""

    text: str
    encoding: str | None = None
    suspect: bool = False


@lru_cache(maxsize=20000)
def _syllable_ok(word: str) -> bool:
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = sum(c in _TONE_MARKS for c in decomposed)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    return tones <= 1 and bool(_SYLLABLE.match(base))


def looks_vietnamese(text: str) -> bool:
    """True when every word holding a non-ASCII letter is a well-formed Vietnamese syllable."""
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    return all(_syllable_ok(w) for w in words)


def _has_evidence(text: str) -> bool:
    """A legacy marker character touching a letter (inside a word)."""
    markers = _TCVN3_MARKERS | _VNI_MARKERS
    for i, ch in enumerate(text):
        if ch in markers:
            near = text[i - 1:i] + text[i + 1:i + 2]
            if any(c.isalpha() and c not in markers for c in near):
                return True
    return False


def _cp1252_safe(text: str) -> bool:
    try:
        text.encode("cp1252")
        return True
    except UnicodeEncodeError:
        return all(ord(c) < 0x100 or c in TCVN3_TABLE for c in text)


def tcvn3_to_unicode(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(TCVN3_TABLE.get(c, c) for c in text))


def vni_to_unicode(text: str) -> str:
    return unicodedata.normalize("NFC", _VNI_RE.sub(lambda m: VNI_TABLE[m.group(0)], text))


def convert_legacy(text: str) -> LegacyResult:
    """Convert only when the text has characteristic legacy characters and the result is Vietnamese."""
    if text.isascii() or not _cp1252_safe(text):
        return LegacyResult(text)
    chars = set(text)
    candidates = []
    if chars & _TCVN3_ONLY or _MIXED_CASE.search(text):
        candidates.append(("TCVN3", tcvn3_to_unicode))
    elif chars & _VNI_MARKERS:
        candidates += [("VNI", vni_to_unicode), ("TCVN3", tcvn3_to_unicode)]
    elif chars & _TCVN3_MARKERS:
        candidates.append(("TCVN3", tcvn3_to_unicode))
    if not _MIXED_CASE.search(text) and not _has_evidence(text) and looks_vietnamese(text):
        return LegacyResult(text)     # plain Unicode, or a symbol on its own such as "§ 5"
    if not candidates:     # no marker, but not Vietnamese as it stands: a vowel followed by a VNI mark?
        vni_first = bool(_VNI_PAIR.search(text))
        candidates = [("VNI", vni_to_unicode), ("TCVN3", tcvn3_to_unicode)][:: 1 if vni_first else -1]
    good = []
    for name, conv in candidates:
        out = conv(text)
        if out != text and looks_vietnamese(out) and not set(out) & (_VNI_MARKERS if name == "VNI" else _TCVN3_MARKERS):
            good.append((name, out))
    if good:
        return LegacyResult(good[0][1], good[0][0])
    return LegacyResult(text, None, suspect=True)


def unicode_to_tcvn3(text: str) -> str:
    """The inverse of tcvn3_to_unicode for letters TCVN3 can hold (used by tests and fixtures)."""
    reverse = {v: k for k, v in TCVN3_TABLE.items() if len(v) == 1 and not unicodedata.combining(v)}
    return "".join(reverse.get(c, c) for c in unicodedata.normalize("NFC", text))


def unicode_to_vni(text: str) -> str:
    """The inverse of vni_to_unicode (used by tests and fixtures)."""
    reverse: dict[str, str] = {}
    for k, v in VNI_TABLE.items():
        if v not in reverse or len(k) < len(reverse[v]):
            reverse[v] = k
    return "".join(reverse.get(c, c) for c in unicodedata.normalize("NFC", text))
