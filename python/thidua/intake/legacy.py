"""Detect Vietnamese text typed in legacy TCVN3 (ABC, .VnTime/.VnTimeH) or VNI fonts and convert it to Unicode."""
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
# Upper-case letters TCVN 5712 (VN1) puts on control bytes (glibc `iconv -f TCVN5712-1`).
_TCVN3_LOW = {0x01: "Ú", 0x02: "Ụ", 0x04: "Ừ", 0x05: "Ử", 0x06: "Ữ", 0x11: "Ứ", 0x12: "Ự", 0x13: "Ỳ", 0x14: "Ỷ",
              0x15: "Ỹ", 0x16: "Ý", 0x17: "Ỵ"}


def _ansi(byte: int) -> str:
    """The character Windows (code page 1252) shows for a byte typed in a legacy font."""
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


TCVN3_TABLE = {_ansi(0x80 + i): ch for i, ch in enumerate(_TCVN3_HIGH) if _ansi(0x80 + i) != ch}
TCVN3_TABLE.update({chr(0x80 + i): ch for i, ch in enumerate(_TCVN3_HIGH[:32])})     # read as Latin-1
TCVN3_TABLE.update({chr(b): ch for b, ch in _TCVN3_LOW.items()})
# Windows punctuation on the bytes of VN1 capitals: a letter only inside an upper-case word ("…" stays "…").
_PUNCT = {c for c in TCVN3_TABLE if (unicodedata.category(c)[0] in "PS" and ord(c) >= 0x2000) or c in "\u02c6\u02dc"}
_UPPER_CODES = {c for c, u in TCVN3_TABLE.items() if u.isupper() and c not in _PUNCT}

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
# VNI marks that are no Vietnamese letter: after a vowel they are evidence of VNI ("aø", "öù", "ñ").
_VNI_ONLY = set("øûïåäëüæîñöØÛÏÅÄËÜÆÎÑÖ")
_VNI_PAIRS = re.compile("|".join(re.escape(k) for k in VNI_TABLE if len(k) == 2))
_VNI_EVIDENCE = [k for k in VNI_TABLE if len(k) == 2 and set(k) & _VNI_ONLY]
_VNI_D = re.compile(r"(?<![^\W\d_])[ñÑ](?=[^\W\d_])")        # VNI «đ» starts a word (ñoaøn); Spanish ñ sits inside

# Characters Windows shows for TCVN3 letters that are no letters themselves (symbols, controls): glued to a
# letter they are evidence of TCVN3. Quotes «» count only when unpaired.
_TCVN3_SYMBOLS = {c for c, u in TCVN3_TABLE.items() if not c.isalpha() and c not in _PUNCT and c != "\xa0"
                  and not unicodedata.combining(u)}     # ° ² ³ (loose marks in TCVN3) are °C, m², m³
# TCVN3 puts many lower-case letters where Windows shows Latin-1 capitals: "nguyÔn" is "nguyễn".
_MIXED_CASE = re.compile("[a-z][ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝÇËÎÏÐÑÖØÛÜÞ]")
_LOOKALIKE = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})  # Ð ð (Icelandic eth) -> Đ đ

_ONSETS = ("ngh", "ng", "gh", "gi", "kh", "nh", "ph", "th", "tr", "ch", "qu", "b", "c", "d", "đ", "g", "h", "k", "l",
           "m", "n", "p", "r", "s", "t", "v", "x", "")
_FINALS = ("ch", "ng", "nh", "c", "m", "n", "p", "t", "")
_OPEN_ONLY = set("ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu iêu yêu oai oao oay oeo uây uôi ươi ươu uya "
                 "uyu y".split())       # "y" takes a final only after "qu" (quynh)
_CLOSED_ONLY = set("ă â iê yê uô ươ uyê oă uâ oo".split())
_NUCLEI = _OPEN_ONLY | _CLOSED_ONLY | set("a e ê i o ô ơ u ư oa oe uê uy".split())
# The finals each nucleus takes in Vietnamese spelling ("ơng", "uêng", "ing" are no Vietnamese rhymes).
_STOPS_NASALS = {"c", "m", "n", "ng", "p", "t"}
_FINALS_OF = {"a": set(_FINALS) - {""}, "oa": set(_FINALS) - {""}, "ê": {"ch", "m", "n", "nh", "p", "t"},
              "i": {"ch", "m", "n", "nh", "p", "t"}, "ơ": {"m", "n", "p", "t"}, "ư": {"c", "m", "n", "ng", "t"},
              "oă": {"c", "m", "n", "ng", "t"}, "oe": {"n", "t"}, "uâ": {"n", "ng", "t"}, "uê": {"ch", "n", "nh", "t"},
              "uy": {"ch", "nh", "p", "t"}, "uô": {"c", "m", "n", "ng", "t"}, "uyê": {"n", "t"},
              "oo": {"c", "ng"}}
# After "qu" the u is the medial: "quan" spells the rhyme of "hoan", "quên" that of "huên".
_AFTER_QU = {"a": "oa", "e": "oe", "ê": "uê", "y": "uy", "i": "uy", "yê": "uyê", "ă": "oă", "â": "uâ", "ô": "uô"}
# Where the tone mark may sit in a nucleus (old and new styles: hoà / hòa); one-letter nuclei at 0.
_TONE_AT = {**{n: {0} for n in "ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu".split()},
            **{n: {0, 1} for n in "oa oe uy oo".split()},
            **{n: {1} for n in "uê uâ oă iê yê uô ươ iêu yêu uôi ươi ươu oai oay oao oeo uây uyu uya".split()},
            "uyê": {2}}
_WORD = re.compile(r"[^\W\d_]+")
_ABBREVIATION = re.compile("^[A-ZĐ]{2,8}$")        # CĐCS, LĐLĐ, NLĐ, QĐ, CĐVC
_TONE_MARKS = {"\u0300": "huyền", "\u0301": "sắc", "\u0303": "ngã", "\u0309": "hỏi", "\u0323": "nặng"}


@dataclass(frozen=True)
class LegacyResult:
    """`encoding` is "TCVN3", "VNI" or None (Unicode); `text` the reading used; `suspect` when legacy
    characters are there but no reading is Vietnamese; `alternatives` the other plausible readings
    ((encoding, text), ...) when the text is ambiguous."""

    text: str
    encoding: str | None = None
    suspect: bool = False
    alternatives: tuple[tuple[str | None, str], ...] = ()

    @property
    def ambiguous(self) -> bool:
        return bool(self.alternatives)


@lru_cache(maxsize=20000)
def _syllable_ok(word: str) -> bool:
    """A well-formed Vietnamese syllable: onset, vowel nucleus, final, at most one tone (sắc/nặng on -c -ch -p -t)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [c for c in decomposed if c in _TONE_MARKS]
    if len(tones) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    tone = _TONE_MARKS[tones[0]] if tones else ""
    marked = next((i for i, c in enumerate(unicodedata.normalize("NFC", decomposed)) if
                   any(m in _TONE_MARKS for m in unicodedata.normalize("NFD", c))), -1)
    for onset in _ONSETS:
        if not base.startswith(onset):
            continue
        for final in _FINALS:
            if final and not base.endswith(final):
                continue
            nucleus = base[len(onset):len(base) - len(final)]
            if nucleus in _NUCLEI and _rules_ok(onset, nucleus, final, tone) and (
                    marked < 0 or marked - len(onset) in _TONE_AT.get(nucleus, {0}) or final and len(nucleus) > 1
                    and marked - len(onset) == len(nucleus) - 1):
                return True
    return False


def _rules_ok(onset: str, nucleus: str, final: str, tone: str) -> bool:
    first = nucleus[0]
    if onset in ("k", "gh", "ngh") and first not in "ieêy":
        return False
    if onset in ("c", "g", "ng") and first in "eê" or onset == "c" and first in "iy" or onset == "qu" and first == "u":
        return False
    if nucleus.startswith("iê") and not onset or nucleus.startswith("yê") and onset not in ("", "qu"):
        return False
    if onset == "qu" and first in "oơuư":       # the u of qu is the medial already: no "quoác", "quư"
        return False
    if onset == "qu" and nucleus in _AFTER_QU:
        nucleus = _AFTER_QU[nucleus]
    elif nucleus == "uê" and onset not in ("", "h", "kh", "th", "t", "x", "ng"):
        return False
    elif nucleus == "y" and onset not in ("", "d", "h", "k", "l", "m", "n", "s", "t", "v"):     # lý, kỹ, mỹ; not "chý"
        return False
    if (final and nucleus in _OPEN_ONLY) or (not final and nucleus in _CLOSED_ONLY):
        return False
    if final in ("c", "ch", "p", "t") and tone not in ("sắc", "nặng"):
        return False
    if final and final not in _FINALS_OF.get(nucleus, _STOPS_NASALS):
        return False
    return True


def _word_ok(word: str) -> bool:
    return word.isascii() or _syllable_ok(word) or bool(_ABBREVIATION.match(word))


def looks_vietnamese(text: str) -> bool:
    """True when every word holding a non-ASCII letter is a well-formed Vietnamese syllable or an
    abbreviation (CĐCS), and no mark is left loose."""
    if any(unicodedata.combining(c) or ord(c) < 0x20 and c not in "\t\n\r" or 0x80 <= ord(c) < 0xA0
           for c in unicodedata.normalize("NFC", text)):
        return False
    return all(_word_ok(w) for w in _WORD.findall(text))


def plain_ascii(text: str) -> bool:
    """ASCII without the control bytes on which TCVN 5712 puts capitals: nothing to convert."""
    return text.isascii() and (text.isprintable() or not any(ord(c) < 0x20 and c in TCVN3_TABLE for c in text))


def _legacy_safe(text: str) -> bool:
    """No letter a legacy font cannot leave in a cell (Latin-1, Windows-1252 specials, controls); symbols such
    as ≥ or → typed beside TCVN3 text prove nothing."""
    return all(ord(c) < 0x100 or c in TCVN3_TABLE or not c.isalpha() for c in text)


def _glued(text: str, i: int) -> bool:
    """A letter (or another legacy symbol) right before or after position i."""
    near = text[i - 1:i] + text[i + 1:i + 2]
    return any(c.isalpha() or c in _TCVN3_SYMBOLS for c in near)


def _strong_evidence(text: str) -> bool:
    """Characters no Unicode writer puts inside words: TCVN3 symbols glued to letters, controls, Windows letters
    such as Œ, "nguyÔn"."""
    if _MIXED_CASE.search(text):
        return True
    for i, ch in enumerate(text):
        if ch in TCVN3_TABLE and (ord(ch) < 0xA0 or ord(ch) >= 0x100) and ch not in _PUNCT:
            return True
        if ch in _TCVN3_SYMBOLS and _glued(text, i):
            if ch == "«" and "»" in text[i:] and not (i > 0 and text[i - 1].isalpha()):
                continue
            if ch == "»" and "«" in text[:i] and not (i + 1 < len(text) and text[i + 1].isalpha()):
                continue
            return True
    return _vni_evidence(text) >= 2 or (_vni_evidence(text) == 1 and not _foreign_letters(text))


def _vni_evidence(text: str) -> int:
    """VNI marks after a vowel ("aø", "öù") and a VNI «đ» starting a word ("ñoaøn")."""
    return sum(text.count(pair) for pair in _VNI_EVIDENCE) + len(_VNI_D.findall(text))


_FOREIGN_WORD = re.compile(r"[^\W\d_]*[ïëüöäñÿÏËÜÖÄÑ][^\W\d_]*")


def _foreign_letters(text: str) -> bool:
    """A word of a European language spelled as one (naïve, Ñandú, Müller: the mark on a letter of its own): one
    VNI-looking pair in it proves nothing; VNI text has a mark after nearly every syllable."""
    return any(len(w) > 2 for w in _FOREIGN_WORD.findall(text))


def _punct_evidence(text: str) -> bool:
    """Windows punctuation glued into an upper-case word ("NG–C" for "NGỌC"): evidence when a legacy reading works."""
    return any(ch in _PUNCT and _upper_context(text, i) and _glued(text, i) for i, ch in enumerate(text))


def _upper_context(text: str, i: int) -> bool:
    """A Windows punctuation character inside an upper-case TCVN3 word (then it is a VN1 capital)."""
    near = text[i - 1:i] + text[i + 1:i + 2]
    if any(c.isascii() and c.islower() for c in near):
        return False
    return any((c.isascii() and c.isupper()) or c in _UPPER_CODES for c in near)


def _upper_words(text: str, whole: bool = True) -> str:
    """.VnTimeH shows every letter as a capital (TCVN3 proper has no toned capitals): a word typed in capitals
    around lower-case codes ("NGäC") is all capitals, and so is a cell whose typed letters are all capitals."""
    def capitals(word: str) -> bool:
        ascii_letters = [c for c in word if c.isascii()]
        return len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters) and not word.isupper()
    typed = [c for c in text if c.isascii() and c.isalpha()]
    if whole and typed and all(c.isupper() for c in typed) and sum(c.isalpha() for c in text) >= 3:
        return text.upper()
    return _WORD.sub(lambda m: m.group(0).upper() if capitals(m.group(0)) else m.group(0), text)


def tcvn3_to_unicode(text: str) -> str:
    out, vn1_capitals = [], False
    for i, ch in enumerate(text):
        u = TCVN3_TABLE.get(ch)
        if u is None or (ch in _PUNCT and not _upper_context(text, i)):
            out.append(ch)
        else:
            out.append(u)
            vn1_capitals |= u.isupper() and any(m in _TONE_MARKS for m in unicodedata.normalize("NFD", u))
    converted = unicodedata.normalize("NFC", "".join(out))
    return _upper_words(converted, whole=not vn1_capitals)     # toned capitals: TCVN 5712 VN1, not .VnTimeH


def vni_to_unicode(text: str) -> str:
    return unicodedata.normalize("NFC", _VNI_RE.sub(lambda m: VNI_TABLE[m.group(0)], text))


def repair_lookalikes(text: str) -> str:
    """Ð/ð (Icelandic eth) typed for Đ/đ: apply only to text decided to be Unicode (TCVN3 uses those bytes)."""
    return text.translate(_LOOKALIKE)


@lru_cache(maxsize=20000)
def convert_legacy(text: str, prefer: str | None = None) -> LegacyResult:
    """Read a cell's text (NFC, lookalikes not yet repaired) as Unicode, TCVN3 or VNI.

    Converted only when one reading is Vietnamese and the others are not; when several are, the
    file's `prefer`red encoding ("Unicode", "TCVN3", "VNI": what its unambiguous cells use) decides,
    else the text is ambiguous and `alternatives` lists the other readings. Foreign words (Café,
    Müller) are left alone without a flag; `suspect` only when legacy evidence has no Vietnamese reading.
    """
    unicode_text = repair_lookalikes(text)
    if plain_ascii(text) or not _legacy_safe(text):
        return LegacyResult(unicode_text)
    strong = _strong_evidence(text)
    readings: list[tuple[str | None, str]] = []
    for name, conv in _CONVERTERS.items():
        out = conv(text)
        if out != text and looks_vietnamese(out) and not _strong_evidence(out) and all(out != r for _, r in readings):
            readings.append((name, out))
    if not strong and not (readings and _punct_evidence(text)) and looks_vietnamese(unicode_text):
        readings.insert(0, (None, unicode_text))
    if not readings:
        return LegacyResult(unicode_text, None, suspect=strong)
    if len(readings) > 1 and prefer:
        chosen = [r for r in readings if (r[0] or "Unicode") == prefer]
        if chosen:
            return LegacyResult(chosen[0][1], chosen[0][0])
        if readings[0][0] is None and _CONVERTERS.get(prefer, str)(text) == text:   # the same in that encoding
            return LegacyResult(unicode_text)
    if len(readings) > 1 and readings[0][0] is not None:     # two legacy readings: the one with more evidence
        readings.sort(key=lambda r: -_evidence_count(text, r[0]))
    encoding, out = readings[0]
    return LegacyResult(out, encoding, alternatives=tuple(readings[1:]))


_CONVERTERS = {"TCVN3": tcvn3_to_unicode, "VNI": vni_to_unicode}


def _evidence_count(text: str, encoding: str | None) -> int:
    if encoding == "VNI":
        return len(_VNI_PAIRS.findall(text)) + sum(text.count(p) for p in _VNI_EVIDENCE)
    return sum(c in _TCVN3_SYMBOLS or c in _PUNCT or c in TCVN3_TABLE and not 0xA0 <= ord(c) < 0x100 for c in text) \
        + len(_MIXED_CASE.findall(text))


def encoding_vote(text: str) -> str | None:
    """What a text says about its file's encoding when it is unambiguous: "Unicode", "TCVN3", "VNI" or None."""
    if plain_ascii(text):
        return None
    if not _legacy_safe(unicodedata.normalize("NFC", text)):
        return "Unicode"
    result = convert_legacy(unicodedata.normalize("NFC", text))
    if result.ambiguous or result.suspect:
        return None
    if result.encoding is None:
        return "Unicode" if looks_vietnamese(result.text) and not result.text.isascii() else None
    return result.encoding


def unicode_to_tcvn3(text: str) -> str:
    """The inverse of tcvn3_to_unicode, capitals as TCVN 5712 VN1 (used by tests and fixtures)."""
    reverse: dict[str, str] = {}
    for k, v in TCVN3_TABLE.items():       # the character Windows shows, not the Latin-1 control alias
        if not unicodedata.combining(v) and (v not in reverse or not 0x80 <= ord(k) < 0xA0):
            reverse[v] = k
    return "".join(reverse.get(c, c) for c in unicodedata.normalize("NFC", text))


def unicode_to_vni(text: str) -> str:
    """The inverse of vni_to_unicode (used by tests and fixtures)."""
    reverse: dict[str, str] = {}
    for k, v in VNI_TABLE.items():
        if v not in reverse or len(k) < len(reverse[v]):
            reverse[v] = k
    return "".join(reverse.get(c, c) for c in unicodedata.normalize("NFC", text))


def file_encoding(texts) -> str | None:
    """The encoding a file's unambiguous texts use (majority; None when they say nothing): settles its
    ambiguous ones, since a unit types a whole file with one keyboard setting."""
    votes: dict[str, int] = {}
    for text in texts:
        vote = encoding_vote(text)
        if vote:
            votes[vote] = votes.get(vote, 0) + 1
    return max(votes, key=votes.get) if votes else None
