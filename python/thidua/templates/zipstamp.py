"""Stamp per-unit values into a workbook built once: copy every zip member's compressed bytes as is.

Why our own zip writer: XlsxWriter builds a template in 10-20 ms and `zipfile` recompresses every
member on write, so 1,000 templates would take far longer than the 3 s target. A workbook built once
with `{{key}}` placeholders in its text parts, then re-zipped with the untouched members' deflated
bytes reused, costs about a millisecond a unit. The format written is plain PKZIP 2.0 (deflate, no
zip64), which Excel, LibreOffice and WPS all read.
"""
from __future__ import annotations

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO
from typing import Mapping
from xml.sax.saxutils import escape

from thidua.text.normalize import xml_safe

_TOKEN = re.compile(r"\{\{([a-z][a-z0-9_.]*)\}\}")
_DOS_DATE = (0 << 9) | (1 << 5) | 1     # 1980-01-01, fixed: stamped files are reproducible
_DOS_TIME = 0


def token(key: str) -> str:
    """The placeholder for `key` as written into the base workbook."""
    return "{{" + key + "}}"


@dataclass
class _Member:
    name: bytes
    crc: int
    size: int
    deflated: bytes | None          # None for a stamped member, rendered per unit
    parts: list[str] | None = None  # text split around tokens: even = literal, odd = key


def _deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


class ZipStamp:
    """A base workbook whose `{{key}}` placeholders can be filled many times, fast."""

    def __init__(self, data: bytes) -> None:
        self.members: list[_Member] = []
        self.keys: set[str] = set()
        with zipfile.ZipFile(BytesIO(data)) as zf:
            for info in zf.infolist():
                raw = zf.read(info)
                text = raw.decode("utf-8", "replace") if info.filename.endswith((".xml", ".rels")) else ""
                if _TOKEN.search(text):
                    parts = _TOKEN.split(text)
                    self.keys.update(parts[1::2])
                    self.members.append(_Member(info.filename.encode(), 0, 0, None, parts))
                else:
                    self.members.append(_Member(info.filename.encode(), zlib.crc32(raw), len(raw), _deflate(raw)))

    def render(self, values: Mapping[str, str]) -> bytes:
        """The workbook with every placeholder replaced by its XML-escaped value (characters XML forbids, such
        as control characters in a unit's name, are dropped: the stamped parts always stay well-formed)."""
        missing = self.keys - set(values)
        if missing:
            raise KeyError(f"no value for placeholders: {sorted(missing)}")
        entries = []
        for m in self.members:
            if m.parts is not None:
                text = "".join(p if i % 2 == 0 else escape(xml_safe(str(values[p]))) for i, p in enumerate(m.parts))
                raw = text.encode("utf-8")
                entries.append((m.name, zlib.crc32(raw), len(raw), _deflate(raw)))
            else:
                entries.append((m.name, m.crc, m.size, m.deflated))
        return write_zip(entries)


Entry = tuple[bytes, int, int, bytes]   # (name, crc32, uncompressed size, raw deflated bytes)


def raw_entries(data: bytes) -> list[Entry]:
    """Every member of a zip with its compressed bytes copied as is (stored members are deflated)."""
    out = []
    with zipfile.ZipFile(BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_DEFLATED:
                raw = zf.read(info)
                out.append((info.filename.encode(), zlib.crc32(raw), len(raw), _deflate(raw)))
                continue
            start = info.header_offset
            name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
            start += 30 + name_len + extra_len
            out.append((info.filename.encode(), info.CRC, info.file_size, data[start:start + info.compress_size]))
    return out


def write_zip(entries: list[Entry]) -> bytes:
    """A PKZIP 2.0 archive (deflate, no zip64, fixed 1980 dates) from already deflated members."""
    out = BytesIO()
    central = []
    for name, crc, size, deflated in entries:
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, _DOS_TIME, _DOS_DATE,
                              crc, len(deflated), size, len(name), 0))
        out.write(name)
        out.write(deflated)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, _DOS_TIME, _DOS_DATE,
                                   crc, len(deflated), size, len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()
