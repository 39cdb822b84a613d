"""Legacy text on a large corpus built here: every fictional name the simulator can make, every unit name of the
register, the plan's phrases, the simulator's texts and the hand-written corpus, encoded by glibc iconv (TCVN3 as
typed, upper case, .VnTimeH) and by the VNI table; and Unicode that must be left alone: foreign words (café,
naïve, Müller, São Paulo, …) and Vietnamese in NFD. Read the way the validator reads a text cell (NFC first).
Wanted: 0 silently wrong anywhere; 0 flags on foreign words; every set >= 99.9% exact as the cells of one file (its
other cells settle a name that reads as Vietnamese both ways: TCVN3 «Vò» = «Vũ», VNI «Hoà» = «Hồ»); text by text,
alone, the legacy sets >= 97.5% exact (measured 97.9-99.1%), the rest flagged with both readings (V016)."""
from __future__ import annotations

import itertools
import unicodedata

import pytest

from test_legacy_corpus import corpus, to_tcvn3, to_vni
from thidua.intake.legacy import convert_legacy, file_encoding

FOREIGN = ("café", "Café Trung Nguyên", "naïve", "Müller", "São Paulo", "Zoë", "Crème brûlée", "Ångström", "Señor",
           "Björk", "Dvořák", "Łódź", "Straße", "Gödel", "façade", "Noël", "piñata", "résumé", "Hôtel de Ville",
           "Renée", "Chloé", "Jürgen Klopp", "Ñandú", "coöperate", "Þór", "Ørsted", "Hợp tác với Café Müller",
           "Dự án do Jürgen Müller (Đức) tài trợ", "Tập huấn naïve Bayes", "Zoë và Chloé", "Crème của Noël")


def _texts(plan, units) -> list[str]:
    from thidua.demo import simulate as sim
    names = [f"{f} {m} {g}" for f, m, g in itertools.product(sim.FAMILY, sim.MIDDLE_M, sim.GIVEN_M)]
    names += [f"{f} {m} {g}" for f, m, g in itertools.product(sim.FAMILY, sim.MIDDLE_F, sim.GIVEN_F)]
    phrases = [u.name for u in units] + list(sim.POSITIONS) + list(sim.STAFF_JOBS) + list(sim.SUMMARIES)
    phrases += [a for group in sim.ACTIVITIES.values() for a in group]
    phrases += [i.label for i in plan.indicators] + [c.name for c in plan.criteria] + [c.name for c in plan.contents]
    phrases += [f.name for f in plan.forms] + [t.name for t in plan.titles]
    out = list(dict.fromkeys(unicodedata.normalize("NFC", t) for t in names[::3] + phrases + corpus()))
    return [t for t in out if not t.isascii()]


def read(cell: str, prefer: str | None = None):
    """A text cell as the validator reads it (intake/validate.normalise: NFC, then legacy detection)."""
    return convert_legacy(unicodedata.normalize("NFC", cell), prefer)


def measure(pairs: list[tuple[str, str]], encoding: str | None, in_file: bool = False) -> dict:
    counts = {"n": len(pairs), "exact": 0, "flagged": [], "wrong": []}
    prefer = file_encoding([unicodedata.normalize("NFC", c) for _, c in pairs]) if in_file else None
    for expected, cell in pairs:
        r = read(cell, prefer)
        if r.text == expected and not r.ambiguous and not r.suspect and (r.encoding == encoding or cell == expected):
            counts["exact"] += 1
        elif (r.ambiguous and expected in [t for _, t in [(r.encoding, r.text), *r.alternatives]]) or r.suspect:
            counts["flagged"].append((expected, cell, r))
        else:
            counts["wrong"].append((expected, cell, r))
    return counts


def _sets(plan, units) -> dict[str, tuple[list[tuple[str, str]], str | None]]:
    texts = _texts(plan, units)
    upper = [t.upper() for t in texts]
    letters = [t for t in texts if sum(c.isalpha() for c in t) > 1]
    vnh = ["".join(c.upper() if c.isascii() else c for c in enc) for enc in to_tcvn3([t.lower() for t in letters])]
    return {
        "TCVN3": (list(zip(texts, to_tcvn3(texts))), "TCVN3"),
        "TCVN3 upper": (list(zip(upper, to_tcvn3(upper))), "TCVN3"),
        ".VnTimeH": ([(t.upper(), c) for t, c in zip(letters, vnh)], "TCVN3"),
        "VNI": ([(t, to_vni(t)) for t in texts], "VNI"),
        "VNI upper": ([(t, to_vni(t)) for t in upper], "VNI"),
        "Unicode NFD": ([(t, unicodedata.normalize("NFD", t)) for t in texts], None),
        "foreign words": ([(unicodedata.normalize("NFC", t), t) for t in FOREIGN], None),
    }


def report(plan, units) -> dict[str, dict]:
    """{set: counts} text by text (no other cell to settle an ambiguity): the figures the report quotes."""
    return {name: measure(pairs, enc) for name, (pairs, enc) in _sets(plan, units).items()}


@pytest.fixture(scope="module")
def sets(plan, units):
    return _sets(plan, units)


def test_the_corpus_is_large(sets):
    assert sum(len(p) for p, _ in sets.values()) >= 5000 and len(sets["TCVN3"][0]) >= 1000


@pytest.mark.parametrize("name", ["TCVN3", "TCVN3 upper", ".VnTimeH", "VNI", "VNI upper"])
def test_legacy_sets(sets, name):
    pairs, enc = sets[name]
    alone = measure(pairs, enc)
    print(f"{name}: {alone['n']} texts, {alone['exact']} exact ({alone['exact'] / alone['n']:.1%}), "
          f"{len(alone['flagged'])} flagged, {len(alone['wrong'])} wrong")
    assert alone["wrong"] == [], alone["wrong"][:5]
    assert alone["exact"] >= 0.975 * alone["n"], alone["flagged"][:10]
    in_file = measure(pairs, enc, in_file=True)
    # a quotation mark « » typed among TCVN3 text is the byte of «ô» (2 texts of 2,527): flagged, never wrong
    assert in_file["wrong"] == [] and in_file["exact"] >= 0.999 * in_file["n"], in_file["flagged"][:5]


@pytest.mark.parametrize("name", ["Unicode NFD", "foreign words"])
def test_unicode_is_left_alone_without_a_flag(sets, name):
    pairs, _ = sets[name]
    found = measure(pairs, None)
    print(f"{name}: {found['n']} texts, {found['exact']} exact, {len(found['flagged'])} flagged, "
          f"{len(found['wrong'])} wrong")
    assert found["wrong"] == []
    if name == "foreign words":
        assert found["flagged"] == [] and found["exact"] == found["n"]
    in_file = measure(pairs, None, in_file=True)
    assert in_file["wrong"] == [] and in_file["flagged"] == [] and in_file["exact"] == in_file["n"]
