"""Printed width of text in Times New Roman (measured metrics of the metric-compatible Liberation Serif)."""
from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources

DIGIT_PT = {"Times New Roman 12": 6.0, "Calibri 11": 5.25}   # width of a digit = one column-width unit
CELL_PADDING_PT = 5.0      # the space a cell keeps left and right of its text (both sides together)
STYLES = {(False, False): "regular", (True, False): "bold", (False, True): "italic", (True, True): "bold_italic"}
LINE_PT = {10: 12.5, 11: 13.8, 12: 15.0, 13: 16.3, 14: 17.5}   # a line of wrapped text, by font size


@lru_cache(maxsize=1)
def _metrics() -> dict:
    data = json.loads(resources.files("thidua.data").joinpath("times_metrics.json").read_text(encoding="utf-8"))
    units = data["units_per_em"]
    styles = {}
    for style in ("regular", "bold", "italic", "bold_italic"):
        table = dict(zip(data["chars"], (w / units for w in data[style])))
        styles[style] = (table, table["n"])     # an unknown character counts as wide as «n»
    return styles


def text_width(text: str, size: float = 12, bold: bool = False, italic: bool = False) -> float:
    """Width in points of one line of `text` printed in Times New Roman of `size` points."""
    return size * _em_width(text, STYLES[bool(bold), bool(italic)])


@lru_cache(maxsize=1 << 16)
def _em_width(text: str, style: str) -> float:
    """Width of `text` in ems (words repeat a lot in a report: cached)."""
    table, other = _metrics()[style]
    return sum(table.get(ch, other) for ch in text)


def column_points(width: float, default_font: str = "Times New Roman 12") -> float:
    """Printed width in points of a column of Excel width `width` (as given to XlsxWriter's set_column) in a
    workbook whose default font is `default_font` (the width unit is that font's digit)."""
    if width <= 0:
        return 0.0
    stored = (int(width * 7 + 5) / 7) if width > 1 else width    # what XlsxWriter stores for the width
    return stored * DIGIT_PT[default_font]


def line_height(size: float = 12) -> float:
    """Height in points of a row holding one line of text of `size` points."""
    return LINE_PT.get(int(size), size * 1.25)


def wrapped_lines(text: str, width_pt: float, size: float = 12, bold: bool = False, italic: bool = False) -> int:
    """Lines a cell of `width_pt` points needs for `text`, wrapped at spaces as a spreadsheet wraps it."""
    return _wrapped_lines(str(text), float(width_pt), float(size), bool(bold), bool(italic))


@lru_cache(maxsize=1 << 14)
def _wrapped_lines(text: str, width_pt: float, size: float, bold: bool, italic: bool) -> int:
    room = max(1.0, width_pt - CELL_PADDING_PT)
    space = text_width(" ", size, bold, italic)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split(" "):
            w = text_width(word, size, bold, italic)
            if used and used + space + w > room:
                lines += 1
                used = 0.0
            if w > room:       # a word longer than the cell is broken across lines
                extra = math.ceil(w / room) - 1
                lines += extra
                w -= extra * room
            used += (space if used else 0.0) + w
    return max(1, lines)


def row_height(texts: list[tuple[str, float]], size: float = 12, bold: bool = False) -> float:
    """Height in points of a row whose wrapped cells hold `texts` as (text, cell width in points) pairs."""
    lines = max((wrapped_lines(t, w, size, bold) for t, w in texts), default=1)
    return round(lines * line_height(size) + 3, 1)


class RowHeights:
    """The height each row of a sheet needs for its wrapped 12-point texts, measured (spreadsheet viewers do
    not grow a row by themselves). Column widths are in the units of `default_font`, XlsxWriter's by default."""

    ONE_LINE = 16.0

    def __init__(self, default_font: str = "Calibri 11"):
        self.default_font, self.need = default_font, {}

    def fit(self, row: int, text: str, width: float, bold: bool = False) -> None:
        """Row `row` holds `text` wrapped in a cell (or merged cells) `width` units wide."""
        height = max(self.ONE_LINE, row_height([(str(text), column_points(width, self.default_font))], 12, bold))
        if height > self.need.get(row, self.ONE_LINE):
            self.need[row] = height

    def apply(self, ws) -> None:
        """Set the rows that need more than one line (the others keep the sheet's default height)."""
        for row, height in sorted(self.need.items()):
            ws.set_row(row, height)
