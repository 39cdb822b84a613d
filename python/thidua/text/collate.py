"""Vietnamese collation: people by given name, then middle name, then family name, in the Vietnamese alphabet."""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Iterable, Sequence

from thidua.text.normalize import nfc

# The Vietnamese alphabet (plus f, j, w, z for foreign names), in dictionary order.
ALPHABET = "a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư v w x y z".split()
_LETTER_RANK = {letter: i for i, letter in enumerate(ALPHABET)}
# Marks that make a different letter (breve, circumflex, horn) and the five tone marks.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}
# Tone order: ngang, huyền, hỏi, ngã, sắc, nặng (the usual dictionary order).
_TONE_RANK = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_OTHER = 1000  # digits, punctuation and other scripts sort after letters, by code point
_CACHE = 1 << 16  # distinct words / names / texts whose sort keys are kept (keys are immutable tuples)


@lru_cache(maxsize=4096)
def _char_key(char: str) -> tuple[int, int, int]:
    """(letter rank, tone rank, case) of one NFC character."""
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    letter_marks = "".join(m for m in marks if m in _LETTER_MARKS)
    tone = max((_TONE_RANK.get(m, 0) for m in marks), default=0)
    letter = unicodedata.normalize("NFC", base + letter_marks)
    lower = letter.lower()
    if lower.isspace():
        return -1, 0, 0  # word boundary: 'Thị Minh' before 'Thịnh'
    rank = _LETTER_RANK.get(lower)
    if rank is None:
        rank = _OTHER + ord(lower)
    return rank, tone, 0 if letter == lower else 1


@lru_cache(maxsize=_CACHE)
def word_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Primary (letters), secondary (tones) and tertiary (case) keys of a text, character by character.
    Computed once per distinct word (cached): a year's lists repeat the same few hundred words."""
    keys = [_char_key(ch) for ch in nfc(text)]
    return tuple(k[0] for k in keys), tuple(k[1] for k in keys), tuple(k[2] for k in keys)


def split_name(full_name: str) -> tuple[str, str, str]:
    """(family, middle, given) of a Vietnamese full name: 'Nguyễn Thị Ánh' -> ('Nguyễn', 'Thị', 'Ánh')."""
    words = nfc(full_name).split()
    if not words:
        return "", "", ""
    if len(words) == 1:
        return "", "", words[0]
    return words[0], " ".join(words[1:-1]), words[-1]


def text_key(text: str) -> tuple:
    """Sort key of any text (a unit's or a collective's name) in Vietnamese order, word by word."""
    return _text_key(text or "")


@lru_cache(maxsize=_CACHE)
def _text_key(text: str) -> tuple:
    text = nfc(text)
    keys = [word_key(w) for w in text.split()]
    return tuple(k[0] for k in keys), tuple(k[1] for k in keys), tuple(k[2] for k in keys), text


def name_key(full_name: str) -> tuple:
    """Sort key of a person, component by component: the given name (its letters, then its tones, then case),
    then the middle name, then the family name; so every «Anh» comes before every «Ánh».
    Computed once per distinct name (cached), so sorting n people costs n key look-ups, not n log n."""
    return _name_key(full_name or "")


@lru_cache(maxsize=_CACHE)
def _name_key(full_name: str) -> tuple:
    family, middle, given = split_name(full_name)
    return word_key(given), word_key(middle), word_key(family), nfc(full_name)


def sort_names(names: Iterable[str]) -> list[str]:
    """The names in Vietnamese order (given name first)."""
    return sorted(names, key=name_key)


def sorted_people(rows: Sequence[dict], field: str = "name") -> list[dict]:
    """Rows (dicts) sorted by the person's name in `field`."""
    return sorted(rows, key=lambda r: name_key(str(r.get(field) or "")))
