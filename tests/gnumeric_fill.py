"""Fill a workbook in Gnumeric and save it with Gnumeric's own writers (.xlsx, .xls, .ods), as a unit might.

Gnumeric (Debian package `gnumeric`) imports the file into its document model (`ssconvert` to its native
.gnumeric XML), the values are typed into that document's cells, and Gnumeric writes every format from it,
so the bytes of the saved files are Gnumeric's, not this project's or openpyxl's.
"""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

GNM = "http://www.gnumeric.org/v10.dtd"
EXPORTERS = {"xlsx": "Gnumeric_Excel:xlsx2", "xls": "Gnumeric_Excel:excel_biff8", "ods": "Gnumeric_OpenCalc:odf"}
STRING, NUMBER = "60", "40"


def available() -> bool:
    return shutil.which("ssconvert") is not None


def _run(args: list[str], home: Path) -> None:
    env = dict(os.environ, HOME=str(home))      # Gnumeric keeps its settings under $HOME: use a scratch one
    subprocess.run(["ssconvert", *args], check=True, capture_output=True, timeout=120, env=env)


def fill(src: Path, cells: list[tuple[str, str, object]], out_dir: Path, stem: str = "gnumeric_typed") -> dict[str, Path]:
    """Type `cells` ([(sheet, "B7", value)]; a str is typed as text, a number as a number) into `src`
    with Gnumeric and save it as .xlsx, .xls and .ods; returns {ext: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    native = out_dir / f"{stem}.gnumeric"
    _run([str(src), str(native)], out_dir)
    ET.register_namespace("gnm", GNM)
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    tree = ET.fromstring(gzip.decompress(native.read_bytes()))
    sheets = {s.find(f"{{{GNM}}}Name").text: s for s in tree.iter(f"{{{GNM}}}Sheet")}
    for sheet, address, value in cells:
        col_letters, row = coordinate_from_string(address)
        r, c = str(row - 1), str(column_index_from_string(col_letters) - 1)
        holder = sheets[sheet].find(f"{{{GNM}}}Cells")
        cell = next((x for x in holder if x.get("Row") == r and x.get("Col") == c), None)
        if cell is None:
            cell = ET.SubElement(holder, f"{{{GNM}}}Cell", {"Row": r, "Col": c})
        for attr in ("ExprID", "ValueFormat"):
            cell.attrib.pop(attr, None)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        cell.set("ValueType", NUMBER if is_number else STRING)
        cell.text = repr(value) if is_number else str(value)
    native.write_bytes(gzip.compress(ET.tostring(tree, xml_declaration=True, encoding="UTF-8")))
    out = {}
    for ext, exporter in EXPORTERS.items():
        out[ext] = out_dir / f"{stem}.{ext}"
        _run(["-T", exporter, str(native), str(out[ext])], out_dir)
    return out
