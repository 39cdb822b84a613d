"""TCVN3 (ABC) and VNI legacy text: conversion, and genuine Unicode left alone."""
from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, strategies as st

from thidua.intake.legacy import TCVN3_TABLE, convert_legacy, looks_vietnamese, unicode_to_tcvn3, unicode_to_vni

WORDS = ("nguyễn", "văn", "hùng", "công", "đoàn", "viên", "chức", "trường", "học", "thị", "ánh", "phát", "động",
         "thi", "đua", "quảng", "nam", "hội", "nghị", "cán", "bộ", "lao", "tiên", "tiến", "sáng", "kiến", "ơn",
         "người", "được", "khen", "thưởng", "xuất", "sắc", "bằng", "giỏi", "việc", "nước", "đảm", "nhà", "tỉnh")


def test_examples():
    assert convert_legacy("B¸o c¸o §oµn").text == "Báo cáo Đoàn"
    assert convert_legacy("B¸o c¸o §oµn").encoding == "TCVN3"
    assert convert_legacy("Coâng ñoaøn Vieân chöùc").text == "Công đoàn Viên chức"
    assert convert_legacy("Coâng ñoaøn Vieân chöùc").encoding == "VNI"



@pytest.mark.parametrize("word", ["Müller", "Café", "Noël", "São Paulo", "Zürich", "Renée", "España", "25°C", "m²", "§ 5"])
def test_foreign_words_and_symbols_are_left_alone_without_a_flag(word):
    result = convert_legacy(word)
    assert (result.text, result.encoding, result.suspect, result.alternatives) == (word, None, False, ())


def test_tcvn3_eth_bytes_are_letters_not_lookalikes():
    """TCVN3 puts «é» and «Ỗ» on the bytes of Ð/ð: decide the encoding first, repair lookalikes only in Unicode."""
    assert convert_legacy("BÐp ð Thµnh").text == "Bép Ỗ Thành"
    assert convert_legacy("Ðoàn Ðức").text == "Đoàn Đức" and convert_legacy("Ðoàn Ðức").encoding is None


@pytest.mark.parametrize("legacy, unicode", [("C§CS", "CĐCS"), ("L§L§ tØnh", "LĐLĐ tỉnh"), ("NL§", "NLĐ"),
                                             ("Q§ 217-Q§/TW", "QĐ 217-QĐ/TW"), ("CÑCS", "CĐCS"), ("LÑLÑ", "LĐLĐ"),
                                             ("CBCCVC tr\xadêng", "CBCCVC trường")])
def test_cells_holding_abbreviations_are_converted(legacy, unicode):
    assert convert_legacy(legacy).text == unicode


def test_tcvn3_dashes_and_ellipses_stay_punctuation():
    assert convert_legacy("Héi nghÞ – giao l\xadu… n¨m 2019").text == "Hội nghị – giao lưu… năm 2019"
    assert convert_legacy("§…NG Quang").text == "ĐẶNG Quang"          # inside a capital word: VN1 «Ặ»


def test_symbols_outside_windows_1252_do_not_hide_legacy_text():
    assert convert_legacy("TØ lÖ ≥ 70% → ®¹t").text == "Tỉ lệ ≥ 70% → đạt"
    assert convert_legacy("Tỉ lệ ≥ 70%").encoding is None


def test_upper_case_tcvn3_control_bytes_are_letters():
    assert convert_legacy("HU\x13NH QUANG").text == "HUỲNH QUANG"
    assert convert_legacy("NGUYÔN V¡N \x16").text == "NGUYỄN VĂN Ý"


def test_ambiguous_text_is_flagged_with_both_readings():
    result = convert_legacy("Vò Minh Linh")            # Unicode «Vò», TCVN3 «Vũ», VNI «Vị»
    assert result.ambiguous and result.text == "Vò Minh Linh"
    assert ("TCVN3", "Vũ Minh Linh") in result.alternatives and ("VNI", "Vị Minh Linh") in result.alternatives
    settled = convert_legacy("Vò Minh Linh", prefer="TCVN3")       # the file's other cells are TCVN3
    assert (settled.text, settled.encoding, settled.ambiguous) == ("Vũ Minh Linh", "TCVN3", False)


def test_table_matches_iconv():
    """The committed table is glibc's TCVN5712-1 for every byte, keyed by the character Windows shows."""
    for byte in range(0x80, 0x100):
        try:
            shown = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            shown = chr(byte)
        done = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=bytes([byte]), capture_output=True)
        assert done.returncode == 0
        assert TCVN3_TABLE.get(shown, shown) == done.stdout.decode(), hex(byte)
        assert TCVN3_TABLE.get(chr(byte), chr(byte)) == done.stdout.decode(), hex(byte)     # read as Latin-1
    for byte in range(1, 0x20):              # VN1 capitals on control bytes (upper-case text)
        done = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=bytes([byte]), capture_output=True)
        assert TCVN3_TABLE.get(chr(byte), chr(byte)) == done.stdout.decode(), hex(byte)


sentences = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)


@given(sentences, st.booleans())
def test_unicode_is_never_converted(text, title):
    text = text.title() if title else text
    result = convert_legacy(text)
    assert result.text == text and result.encoding is None and not result.suspect
    assert looks_vietnamese(text)


@given(sentences)
def test_tcvn3_round_trip(text):
    """Converted back exactly, unless the legacy bytes themselves read as Vietnamese ("giái" for "giỏi"),
    or the text is flagged as suspect and left unchanged."""
    legacy = unicode_to_tcvn3(text)
    result = convert_legacy(legacy)
    if legacy != text:
        assert result.text == text or (result.encoding is None and (result.suspect or looks_vietnamese(legacy)))


def test_tcvn3_sentence_is_converted_whole():
    text = "Chủ tịch công đoàn trường giỏi việc nước"
    assert convert_legacy(unicode_to_tcvn3(text)).text == text


@given(sentences, st.booleans())
def test_vni_round_trip(text, title):
    text = text.title() if title else text
    legacy = unicode_to_vni(text)
    result = convert_legacy(legacy)
    if legacy != text:
        assert result.text == text or (result.encoding is None and (result.suspect or looks_vietnamese(legacy)))
