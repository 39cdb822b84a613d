"""Legacy text measured on a corpus of our own against independent encoders: glibc iconv (TCVN 5712) and a
hand-written VNI table (checked against a public one). 0 silently wrong, >= 99% exact."""
from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import pytest

from thidua.intake.legacy import convert_legacy, file_encoding

CORPUS = Path(__file__).resolve().parent / "data" / "vi_corpus.txt"

# VNI for Windows, written out by hand (base letter + mark byte as Windows-1252 shows it). Checked once against the
# public table of github.com/duydev/vietnamese-conversion (src/charsets.ts at 46413a05): all 134 letters agree.
_VNI_LOWER = {
    "á": "aù", "à": "aø", "ả": "aû", "ã": "aõ", "ạ": "aï", "ă": "aê", "ắ": "aé", "ằ": "aè", "ẳ": "aú", "ẵ": "aü",
    "ặ": "aë", "â": "aâ", "ấ": "aá", "ầ": "aà", "ẩ": "aå", "ẫ": "aã", "ậ": "aä", "é": "eù", "è": "eø", "ẻ": "eû",
    "ẽ": "eõ", "ẹ": "eï", "ê": "eâ", "ế": "eá", "ề": "eà", "ể": "eå", "ễ": "eã", "ệ": "eä", "í": "í", "ì": "ì",
    "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ó": "où", "ò": "oø", "ỏ": "oû", "õ": "oõ", "ọ": "oï", "ô": "oâ", "ố": "oá",
    "ồ": "oà", "ổ": "oå", "ỗ": "oã", "ộ": "oä", "ơ": "ô", "ớ": "ôù", "ờ": "ôø", "ở": "ôû", "ỡ": "ôõ", "ợ": "ôï",
    "ú": "uù", "ù": "uø", "ủ": "uû", "ũ": "uõ", "ụ": "uï", "ư": "ö", "ứ": "öù", "ừ": "öø", "ử": "öû", "ữ": "öõ",
    "ự": "öï", "ý": "yù", "ỳ": "yø", "ỷ": "yû", "ỹ": "yõ", "ỵ": "î", "đ": "ñ",
}
VNI = {**_VNI_LOWER, **{k.upper(): v.upper() for k, v in _VNI_LOWER.items()}}


def to_vni(text: str) -> str:
    return "".join(VNI.get(c, c) for c in unicodedata.normalize("NFC", text))


def _shown(data: bytes) -> str:
    """What Windows (code page 1252) shows for legacy-font bytes; undefined bytes stay as Latin-1."""
    out = []
    for b in data:
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


def to_tcvn3(texts: list[str]) -> list[str]:
    """glibc iconv -t TCVN5712-1 of each text, as Excel shows it; characters TCVN3 lacks (– … “) are left
    as typed (a legacy font changes letters, not punctuation), one iconv call for the whole list."""
    pieces: list[list[str]] = []
    for text in texts:
        parts, run = [], ""
        for ch in unicodedata.normalize("NFC", text):
            if _encodable(ch):
                run += ch
            else:
                parts += [run, ch]
                run = ""
        pieces.append(parts + [run])
    runs = [p for parts in pieces for p in parts[0::2]]
    done = subprocess.run(["iconv", "-f", "UTF-8", "-t", "TCVN5712-1"], input="\n".join(runs).encode(),
                          capture_output=True, check=True)
    encoded = iter(done.stdout.split(b"\n"))
    return ["".join(_shown(next(encoded)) if i % 2 == 0 else p for i, p in enumerate(parts)) for parts in pieces]


_ENCODABLE: dict[str, bool] = {}


def _encodable(ch: str) -> bool:
    if ch not in _ENCODABLE:
        _ENCODABLE[ch] = subprocess.run(["iconv", "-f", "UTF-8", "-t", "TCVN5712-1"], input=ch.encode(),
                                        capture_output=True).returncode == 0 and ch != "\n"
    return _ENCODABLE[ch]


def corpus() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [unicodedata.normalize("NFC", x) for x in lines if x and not x.startswith("#")]


def measure(pairs: list[tuple[str, str]], encoding: str | None, in_file: bool = False) -> dict:
    """pairs: (expected Unicode, cell text). exact: right reading, unflagged; flagged: ambiguous with the right
    reading among the alternatives, or suspect; wrong: anything else (a silently wrong reading).
    in_file: the texts are the cells of one file, whose unambiguous cells decide the ambiguous ones (the
    validator's rule, file_encoding)."""
    counts = {"exact": 0, "flagged": 0, "wrong": []}
    prefer = file_encoding([cell for _, cell in pairs]) if in_file else None
    for expected, cell in pairs:
        r = convert_legacy(cell, prefer)
        readings = [(r.encoding, r.text), *r.alternatives]
        if r.text == expected and not r.ambiguous and (r.encoding == encoding or cell == expected):
            counts["exact"] += 1
        elif (r.ambiguous and expected in [t for _, t in readings]) or r.suspect:
            counts["flagged"] += 1
        else:
            counts["wrong"].append((expected, cell, r))
    return counts


@pytest.fixture(scope="module")
def texts():
    found = corpus()
    assert len(found) >= 300
    return found


def _report(name, counts, n, mode="text by text"):
    exact = counts["exact"] / n
    print(f"{name} ({mode}): {n} texts, {counts['exact']} exact ({exact:.1%}), {counts['flagged']} flagged, "
          f"{len(counts['wrong'])} wrong")
    return exact


@pytest.mark.parametrize("case", ["as typed", "upper"])
def test_tcvn3_corpus_against_iconv(texts, case):
    source = texts if case == "as typed" else [t.upper() for t in texts]
    _both(f"TCVN3 {case}", list(zip(source, to_tcvn3(source))), "TCVN3")


def test_vntimeh_lower_codes_shown_as_capitals(texts):
    """.VnTimeH: letters typed as TCVN3 lower-case codes with ASCII capitals read as an upper-case word."""
    source = [t for t in texts if sum(c.isalpha() for c in t) > 1]
    cells = [("".join(c.upper() if c.isascii() else c for c in enc)) for enc in to_tcvn3([t.lower() for t in source])]
    _both("TCVN3 .VnTimeH", [(t.upper(), c) for t, c in zip(source, cells)], "TCVN3")


@pytest.mark.parametrize("case", ["as typed", "upper"])
def test_vni_corpus(texts, case):
    source = texts if case == "as typed" else [t.upper() for t in texts]
    _both(f"VNI {case}", [(t, to_vni(t)) for t in source], "VNI")


@pytest.mark.parametrize("case", ["as typed", "upper"])
def test_unicode_corpus_is_left_alone(texts, case):
    """Never changed; flagged only text by text (a short name such as «Ngô Quang Mai» also reads as TCVN3
    «Ngụ Quang Mai»); in a file, its other cells settle it: no warning."""
    source = texts if case == "as typed" else [t.upper() for t in texts]
    alone = measure([(t, t) for t in source], None)
    _report(f"Unicode {case}", alone, len(source))
    assert alone["wrong"] == [] and alone["exact"] >= 0.95 * len(source)
    in_file = measure([(t, t) for t in source], None, in_file=True)
    assert _report(f"Unicode {case}", in_file, len(source), "in one file") == 1.0


def _both(name: str, pairs: list[tuple[str, str]], encoding: str) -> None:
    alone = measure(pairs, encoding)
    assert alone["wrong"] == [] and _report(name, alone, len(pairs)) >= 0.99
    in_file = measure(pairs, encoding, in_file=True)
    assert in_file["wrong"] == [] and _report(name, in_file, len(pairs), "in one file") == 1.0
