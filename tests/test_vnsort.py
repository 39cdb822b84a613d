"""Vietnamese name order: given name, middle, family; Vietnamese alphabet; tones secondary; NFD and Ð."""
from __future__ import annotations

import json
import os
import random
import subprocess
import unicodedata

import pytest

from conftest import DEBIAN_PYTHON
from thidua.text.collate import name_key, sort_names, split_name, text_key, word_key


def test_alphabet_letters_with_marks_are_their_own_letters():
    given = ["Ư", "U", "Ơ", "Ô", "O", "Ê", "E", "Đ", "D", "Â", "Ă", "A"]
    names = [f"Lê {g}" for g in given]
    assert [n.split()[-1] for n in sort_names(names)] == ["A", "Ă", "Â", "D", "Đ", "E", "Ê", "O", "Ô", "Ơ", "U", "Ư"]


def test_given_name_then_middle_then_family():
    names = ["Trần Văn An", "Nguyễn Thị Bình", "Lê Văn An", "Nguyễn Thị An", "Phạm Bình"]
    assert sort_names(names) == ["Nguyễn Thị An", "Lê Văn An", "Trần Văn An", "Phạm Bình", "Nguyễn Thị Bình"]
    assert split_name("  Nguyễn  Thị Minh  Khai ") == ("Nguyễn", "Thị Minh", "Khai")


def test_tone_marks_only_break_ties():
    # Letters decide first across the whole name; tones are compared only when all letters are equal.
    assert sort_names(["Trần Án", "Lê An"]) == ["Lê An", "Trần Án"]
    assert sort_names(["Trần Ạn", "Lê Ăn"]) == ["Trần Ạn", "Lê Ăn"]          # ạ is still the letter a
    tones = ["Lê Ạnh", "Lê Ánh", "Lê Ãnh", "Lê Ảnh", "Lê Ành", "Lê Anh"]
    assert sort_names(tones) == ["Lê Anh", "Lê Ành", "Lê Ảnh", "Lê Ãnh", "Lê Ánh", "Lê Ạnh"]


def test_word_boundary_sorts_before_letters():
    assert sort_names(["Lê Thịnh", "Lê Thị Minh"]) == ["Lê Thị Minh", "Lê Thịnh"]
    assert text_key("CĐCS Trung tâm") < text_key("CĐCS Trường")


def test_nfd_input_and_eth_lookalike_sort_like_nfc():
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert len(nfd) == 18 and name_key(nfd) == name_key("Nguyễn Thị Ánh")
    eth = "\u00d0ỗ Văn \u00d0ức"
    assert name_key(eth) == name_key("Đỗ Văn Đức")
    assert sort_names([eth, "Đinh Văn Dũng", "Lê Văn Em"]) == ["Đinh Văn Dũng", eth, "Lê Văn Em"]


def test_every_anh_before_every_anh_with_a_tone():
    """Component by component: the given name decides (letters, then tones), then the middle, then the family."""
    names = ["Nguyễn Thị Ánh", "Trần Thị Anh", "Lê Văn Anh", "Phạm Văn Ánh", "Đỗ Anh", "Vũ Thị Ảnh"]
    assert sort_names(names) == ["Đỗ Anh", "Trần Thị Anh", "Lê Văn Anh", "Vũ Thị Ảnh", "Nguyễn Thị Ánh",
                                 "Phạm Văn Ánh"]
    # a tone in the given name outranks any letter of the family name, and of the middle name
    assert sort_names(["Trần Thị Ánh", "Ai Thị Anh"]) == ["Ai Thị Anh", "Trần Thị Ánh"]
    assert sort_names(["An Ánh Bình", "Zơ Zơ Bình"]) == ["An Ánh Bình", "Zơ Zơ Bình"]


def _icu_order(words: list[str]) -> list[str]:
    """The words in ICU's CLDR `vi` collation (Debian's python3-icu, run by Debian's Python)."""
    need = subprocess.run([DEBIAN_PYTHON, "-c", "import icu"], capture_output=True)
    if need.returncode != 0:
        reason = "python3-icu not installed: apt-get install python3-icu"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    script = ("import icu, json, sys\n"
              "c = icu.Collator.createInstance(icu.Locale('vi'))\n"
              "print(json.dumps(sorted(json.load(sys.stdin), key=c.getSortKey), ensure_ascii=False))\n")
    done = subprocess.run([DEBIAN_PYTHON, "-c", script], input=json.dumps(words), capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def _components() -> dict[str, list[str]]:
    """Given, middle and family names: every vowel letter with every tone, d/đ, both cases, multi-word middles."""
    rng = random.Random(12)
    tones = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
    vowels = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
    given = {unicodedata.normalize("NFC", onset + v + t + coda)
             for onset in ("", "B", "D", "Đ", "Th", "Tr", "Ng", "Nh", "Kh", "Ph", "Qu", "gi")
             for v in vowels for t in tones for coda in ("", "nh", "n", "ng", "m")
             if rng.random() < 0.25}
    given |= {"Anh", "Ánh", "ánh", "ANH", "Ảnh", "Ành", "Ạnh", "Ãnh", "An", "Ân", "Ăn", "Dung", "Đông", "Dũng"}
    middle = {"Thị", "Văn", "Thị Minh", "Thị Mỹ", "Thịnh", "Ngọc", "Ngọc Bảo", "Hữu", "Đức", "Đình", "Thu", "Thủy",
              "Thuỷ", "Kim", "Xuân", "Quốc", "Công", "Thanh", "Bảo", "Diệu", "Văn Anh", "Vân"}
    family = {"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
              "Dương", "Lý", "Đoàn", "Đinh", "Tạ", "Ưng", "Ông", "Âu", "Ấu", "Ân", "Ăn", "Ôn", "Ơn"}
    return {"given": sorted(given), "middle": sorted(middle), "family": sorted(family)}


@pytest.mark.parametrize("component", ["given", "middle", "family"])
def test_each_component_in_icu_vi_order(component):
    """ICU's `vi` collation orders single components; the component order is ours."""
    words = _components()[component]
    assert len(words) >= 20
    shuffled = random.Random(5).sample(words, len(words))
    assert sorted(shuffled, key=word_key) == _icu_order(shuffled)


def test_names_sort_by_icu_order_of_given_then_middle_then_family():
    parts = _components()
    rng = random.Random(8)
    names = sorted({f"{rng.choice(parts['family'])} {rng.choice(parts['middle'])} {rng.choice(parts['given'])}"
                    for _ in range(400)})
    rank = {c: {w: i for i, w in enumerate(_icu_order(parts[c]))} for c in parts}

    def icu_key(name: str):
        family, middle, given = split_name(name)
        return rank["given"][given], rank["middle"][middle], rank["family"][family]
    assert sort_names(names) == sorted(names, key=icu_key)


def test_eth_lookalike_sorts_as_d_with_stroke_in_icu_terms():
    words = ["Đức", "Dung", "\u00d0ức", "Em", "Dương", "Đào"]
    assert sorted(words, key=word_key) == ["Dung", "Dương", "Đào", "Đức", "\u00d0ức", "Em"]
    assert [w.replace("\u00d0", "Đ") for w in sorted(words, key=word_key)] == \
        _icu_order([w.replace("\u00d0", "Đ") for w in words])
