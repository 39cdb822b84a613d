"""Rewrite a project-built .xlsx so that it has one property the format allows and other programs use.

Each function takes the bytes of a workbook this project wrote and returns a valid .xlsx with the same
cell values stored another way (tests/test_formats.py checks that they read the same).
"""
from __future__ import annotations

import html
import io
import re
import zipfile

SHEET_PART = re.compile(r"xl/worksheets/sheet\d+\.xml$")


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def pack(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    return out.getvalue()


def _sheets(members: dict[str, bytes]):
    return [n for n in members if SHEET_PART.match(n)]


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _shared(members: dict[str, bytes]) -> list[str]:
    sst = members["xl/sharedStrings.xml"].decode()
    return [html.unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", si, re.S)))
            for si in re.findall(r"<si>(.*?)</si>", sst, re.S)]


def _drop_following(xml: str, pattern: str, tag: str, number) -> str:
    """Remove the position attribute of every `pattern` match whose position is the previous one plus 1."""
    prev = [0]

    def one(m: re.Match) -> str:
        n = number(m.group(1))
        keep = n != prev[0] + 1
        prev[0] = n
        return m.group(0) if keep else tag
    return re.sub(pattern, one, xml)


def cells_without_r(data: bytes, rows_too: bool = False) -> bytes:
    """Drop r="A1" from every cell that follows its left neighbour (what the format allows); with
    `rows_too`, also drop r="5" from every row that follows the previous row."""
    members = parts(data)
    for name in _sheets(members):
        xml = re.sub(r"<row\b.*?</row>", lambda m: _drop_following(m.group(0), r'<c r="([A-Z]+)\d+"', "<c", _col),
                     members[name].decode(), flags=re.S)
        if rows_too:
            xml = _drop_following(xml, r'<row r="(\d+)"', "<row", int)
        members[name] = xml.encode()
    return pack(members)


def inline_strings(data: bytes, rich: bool = False) -> bytes:
    """Every shared-string cell becomes an inline string (split in two formatted runs when `rich`);
    with `rich`, the shared strings left in the table are rich runs too."""
    members = parts(data)
    strings = _shared(members)

    def body(text: str) -> str:
        esc = html.escape(text, quote=False)
        if not rich or len(text) < 2:
            return f'<is><t xml:space="preserve">{esc}</t></is>'
        a, b = html.escape(text[:len(text) // 2], quote=False), html.escape(text[len(text) // 2:], quote=False)
        return (f'<is><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">{a}</t></r>'
                f'<r><t xml:space="preserve">{b}</t></r></is>')
    for name in _sheets(members):
        xml = members[name].decode()
        xml = re.sub(r'<c ([^>]*?)t="s"([^>]*)><v>(\d+)</v></c>',
                     lambda m: f'<c {m.group(1)}t="inlineStr"{m.group(2)}>{body(strings[int(m.group(3))])}</c>', xml)
        members[name] = xml.encode()
    if rich:
        sst = members["xl/sharedStrings.xml"].decode()
        members["xl/sharedStrings.xml"] = re.sub(
            r"<si><t([^>]*)>(.)(.*?)</t></si>",
            r'<si><r><rPr><i/></rPr><t\1>\2</t></r><r><t xml:space="preserve">\3</t></r></si>', sst, flags=re.S).encode()
    return pack(members)


def shared_formula(data: bytes, part: str, first: str, second: str) -> bytes:
    """Cells `first` and `second` (same column, next rows) of sheet part `part` hold one shared formula."""
    members = parts(data)
    xml = members[part].decode()
    for ref, f in ((first, f'<f t="shared" ref="{first}:{second}" si="0">1+1</f>'), (second, '<f t="shared" si="0"/>')):
        cell = re.search(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', xml, re.S)
        attrs = re.match(r"<c ([^>]*?)/?>", cell.group(0)).group(1)
        attrs = re.sub(r'\s*t="[^"]*"', "", attrs).rstrip("/ ")
        xml = xml.replace(cell.group(0), f"<c {attrs}>{f}<v>2</v></c>")
    members[part] = xml.encode()
    return pack(members)


def date_1904(data: bytes, date_cells: dict[str, list[str]]) -> bytes:
    """The 1904 date system: workbookPr date1904="1" and every date serial 1,462 days smaller.
    `date_cells`: sheet part -> addresses holding dates."""
    members = parts(data)
    wb = members["xl/workbook.xml"].decode()
    wb = re.sub(r"<workbookPr\b", '<workbookPr date1904="1"', wb, count=1)
    members["xl/workbook.xml"] = wb.encode()
    for part, refs in date_cells.items():
        xml = members[part].decode()
        for ref in refs:
            xml = re.sub(rf'(<c r="{ref}"[^>]*><v>)([\d.]+)(</v>)',
                         lambda m: f"{m.group(1)}{float(m.group(2)) - 1462:g}{m.group(3)}", xml)
        members[part] = xml.encode()
    return pack(members)


def unusual_parts(data: bytes, absolute: bool = False, move_workbook: bool = False) -> bytes:
    """Worksheets stored as xl/tables/Blatt<N>.xml (and the workbook as xl/Mappe.xml when `move_workbook`),
    relationship targets absolute ("/xl/...") when `absolute`, content types updated to match."""
    members = parts(data)
    renames = {n: f"xl/tables/Blatt{n.rsplit('sheet', 1)[1]}" for n in _sheets(members)}
    if move_workbook:
        renames["xl/workbook.xml"] = "xl/Mappe.xml"
        renames["xl/_rels/workbook.xml.rels"] = "xl/_rels/Mappe.xml.rels"
    rels = members["xl/_rels/workbook.xml.rels"].decode()
    for old, new in renames.items():
        if old.startswith("xl/worksheets/"):
            target = "/" + new if absolute else new[3:]
            rels = rels.replace(f'Target="{old[3:]}"', f'Target="{target}"')
    if absolute:
        rels = re.sub(r'Target="(?!/)([^"]+)"', r'Target="/xl/\1"', rels)
    members["xl/_rels/workbook.xml.rels"] = rels.encode()
    types = members["[Content_Types].xml"].decode()
    for old, new in renames.items():
        types = types.replace(f'PartName="/{old}"', f'PartName="/{new}"')
    members["[Content_Types].xml"] = types.encode()
    if move_workbook:
        root = members["_rels/.rels"].decode()
        members["_rels/.rels"] = root.replace('Target="xl/workbook.xml"', 'Target="xl/Mappe.xml"').replace(
            'Target="/xl/workbook.xml"', 'Target="/xl/Mappe.xml"').encode()
    return pack({renames.get(n, n): blob for n, blob in members.items()})


def pretty_printed(data: bytes) -> bytes:
    """Whitespace and new lines between every element of the sheets, attributes in another order."""
    members = parts(data)
    for name in _sheets(members):
        xml = members[name].decode()
        xml = re.sub(r'<c r="([A-Z]+\d+)" s="(\d+)"', r'<c s="\2" r="\1"', xml)
        xml = xml.replace("><", ">\n  <")
        members[name] = xml.encode()
    return pack(members)
