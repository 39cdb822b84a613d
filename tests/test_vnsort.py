"""Vietnamese name order: given name, middle, family; Vietnamese alphabet; tones secondary; NFD and Ð."""
from __future__ import annotations

import unicodedata

from thidua.text.collate import name_key, sort_names, split_name, text_key


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
