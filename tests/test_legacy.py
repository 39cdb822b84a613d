"""TCVN3 (ABC) and VNI legacy text: conversion, and genuine Unicode left alone."""
from __future__ import annotations

import subprocess

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
    assert convert_legacy("Müller").suspect and convert_legacy("Müller").text == "Müller"


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
