"""Build the pre-filled template workbook every unit fills for a round, from the template spec only."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Iterable

import xlsxwriter

from thidua.templates import spec as S
from thidua.fileio import atomic_write_bytes, remove_stale_temps_in
from thidua.plan.model import Plan
from thidua.templates.signing import fingerprint, sign
from thidua.text.normalize import ascii_slug
from thidua.text.width import RowHeights
from thidua.plan.units import Unit
from thidua.templates.zipstamp import ZipStamp, token

FONT = "Times New Roman"
INPUT_FILL = "#FFF2CC"
HEADER_FILL = "#D9E1F2"
FIXED_CREATED = dt.datetime(2019, 1, 18)   # reproducible files: same input, same bytes
STAMP_KEYS = ("unit.code", "unit.name", "unit.cluster", "subtitle", "meta.unit", "meta.signature", "meta.key")
INPUT_TITLE = "Nhập liệu"
ERROR_TITLE = "Giá trị không hợp lệ"
Heights = RowHeights


def template_filename(round_code: str, unit: Unit | None) -> str:
    """`<round>_<unit code>_<ascii slug>.xlsx`, safe on Windows; `<round>.xlsx` for the blank one."""
    if unit is None:
        return f"{round_code}.xlsx"
    return f"{round_code}_{unit.code}_{ascii_slug(unit.name)}.xlsx"


def _formats(wb) -> dict:
    base = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}
    cell = dict(base, border=1, text_wrap=True)
    inp = dict(cell, locked=False, bg_color=INPUT_FILL)
    return {
        "title": wb.add_format(dict(base, bold=True, font_size=14)),
        "subtitle": wb.add_format(dict(base, italic=True)),
        "note": wb.add_format(dict(base, text_wrap=True, valign="top")),
        "header": wb.add_format(dict(cell, bold=True, align="center", bg_color=HEADER_FILL)),
        "label": wb.add_format(dict(cell, bold=True)),
        "display": wb.add_format(cell),
        "center": wb.add_format(dict(cell, align="center")),
        "total": wb.add_format(dict(cell, bold=True, align="center")),
        "text": wb.add_format(inp),
        "int": wb.add_format(dict(inp, num_format="#,##0")),
        "money": wb.add_format(dict(inp, num_format="#,##0")),
        "decimal": wb.add_format(dict(inp, num_format="0.0#")),
        "date": wb.add_format(dict(inp, num_format="dd/mm/yyyy", align="center")),
        "choice": wb.add_format(dict(inp, align="center")),
    }


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _validation(spec: S.TemplateSpec, f: S.Field) -> dict:
    """The Excel data validation for one field, with a Vietnamese input message and error alert."""
    if f.type in ("int", "money"):
        rule = ({"validate": "integer", "criteria": "between", "minimum": int(f.min or 0), "maximum": int(f.max)}
                if f.max is not None else {"validate": "integer", "criteria": ">=", "value": int(f.min or 0)})
    elif f.type == "decimal":
        rule = {"validate": "decimal", "criteria": "between", "minimum": float(f.min or 0), "maximum": float(f.max)}
    elif f.type == "date":
        rule = {"validate": "date", "criteria": "between", "minimum": f.min, "maximum": f.max}
    elif f.type == "choice":
        rule = {"validate": "list", "source": spec.list_range(S.list_key(f))}
    else:
        rule = {"validate": "length", "criteria": "<=", "value": int(f.max_len or 255)}
    message = f.help or (f"Chọn trong danh sách." if f.type == "choice" else
                         f"Văn bản, tối đa {f.max_len or 255} ký tự.")
    rule.update({
        "input_title": _clip(INPUT_TITLE if len(f.label) > 32 else f.label, 32),
        "input_message": _clip(message, 255),
        "error_title": ERROR_TITLE,
        "error_message": _clip(f"«{f.label}»: {message}", 255),
        "error_type": "stop",
    })
    return rule


def _prepare(ws, sheet: S.Sheet, fmt: dict, subtitle: str, heights: Heights) -> None:
    ws.set_paper(9)
    ws.set_margins(left=0.5, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C&\"Times New Roman\"&10Trang &P/&N")
    ws.fit_to_pages(1, 0)
    if sheet.landscape:
        ws.set_landscape()
    ws.write_string(S.TITLE_ROW, 0, sheet.title, fmt["title"])
    ws.write_string(S.SUBTITLE_ROW, 0, subtitle, fmt["subtitle"])
    for col, text, width in sheet.headers:
        ws.set_column(col, col, width)
        ws.write_string(S.HEADER_ROW, col, text, fmt["header"])
        heights.fit(S.HEADER_ROW, text, width, bold=True)
    if sheet.legend:
        ws.set_column(sheet.legend_col, sheet.legend_col, sheet.legend_width)
        ws.write_string(S.HEADER_ROW, sheet.legend_col, sheet.legend[0], fmt["header"])
        heights.fit(S.HEADER_ROW, sheet.legend[0], sheet.legend_width, bold=True)
        for i, line in enumerate(sheet.legend[1:]):
            ws.write_string(S.FIRST_ROW + i, sheet.legend_col, line, fmt["display"])
            heights.fit(S.FIRST_ROW + i, line, sheet.legend_width)
    if sheet.headers:
        ws.repeat_rows(S.HEADER_ROW)
        ws.freeze_panes(S.FIRST_ROW, 0)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True,
                    "format_columns": True, "format_rows": True})


def _write_cells(ws, spec: S.TemplateSpec, sheet: S.Sheet, fmt: dict, identity: dict, heights: Heights) -> None:
    form_like = sheet.key == "info"
    widths = {col: width for col, _, width in sheet.headers}
    for cell in sheet.cells:
        if form_like:
            ws.write_string(cell.row, S.FORM_LABEL_COL, cell.field.label, fmt["label"])
            heights.fit(cell.row, cell.field.label, widths[S.FORM_LABEL_COL], bold=True)
        for col, value in cell.display:
            style = fmt["display"] if isinstance(value, str) and len(value) > 12 else fmt["center"]
            ws.write(cell.row, col, value, style)
            if isinstance(value, str):
                heights.fit(cell.row, value, widths[col])
        if cell.prefill:
            value = token(cell.prefill) if cell.prefill in STAMP_KEYS else identity[cell.prefill]
            ws.write_string(cell.row, cell.col, value, fmt["display"])
        else:
            ws.write_blank(cell.row, cell.col, None, fmt[cell.field.type])
            ws.data_validation(cell.row, cell.col, cell.row, cell.col, _validation(spec, cell.field))
    if sheet.total_row is not None:
        scores = [c for c in sheet.cells if c.field.key.startswith("score.")]
        first, last = scores[0], scores[-1]
        ws.write_string(sheet.total_row, 2, "Tổng cộng", fmt["total"])
        ws.write_number(sheet.total_row, 3, sum(dict(c.display)[3] for c in scores), fmt["total"])
        ws.write_formula(sheet.total_row, first.col,
                         f"=SUM({first.address}:{last.address})", fmt["total"], 0)


def _write_table(ws, spec: S.TemplateSpec, table: S.Table, fmt: dict) -> None:
    for i in range(table.n_rows):
        ws.write_number(table.first_row + i, table.number_col, i + 1, fmt["center"])
        for col in table.columns:
            ws.write_blank(table.first_row + i, col.col, None, fmt[col.field.type])
    for col in table.columns:
        ws.data_validation(table.first_row, col.col, table.last_row, col.col, _validation(spec, col.field))


def build_workbook(plan: Plan, round_code: str, values: dict[str, str] | None = None) -> bytes:
    """The template for a round as .xlsx bytes; identity cells hold `{{key}}` unless `values` fills them."""
    spec = S.template_spec(plan, round_code)
    out = BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    issuer = plan.office_on(spec.round.start).issuer
    wb.set_properties({"title": f"Biểu mẫu {spec.round.name}", "author": issuer,
                       "company": issuer, "created": FIXED_CREATED,
                       "comments": f"ThiDua {spec.version}"})
    wb.set_custom_property("ThiDua template version", spec.version)
    fmt = _formats(wb)
    identity = S.identity_values(plan, spec.round)
    for sheet in spec.sheets:
        ws = wb.add_worksheet(sheet.name)
        ws.hide_gridlines(2)
        if sheet.key == "instructions":
            _instructions(ws, spec, fmt)
            continue
        heights = Heights()
        _prepare(ws, sheet, fmt, token("subtitle"), heights)
        _write_cells(ws, spec, sheet, fmt, identity, heights)
        if sheet.table:
            _write_table(ws, spec, sheet.table, fmt)
        heights.apply(ws)
    lists = wb.add_worksheet(S.LISTS_SHEET)
    for key, items in spec.lists.items():
        for index, item in enumerate(items):
            lists.write_string(*spec.list_cell(key, index), item)
    lists.hide()
    lists.protect()
    meta = wb.add_worksheet(S.META_SHEET)
    fixed = {"app": S.APP_MARK, "round": spec.round.code, "version": spec.version}
    for key in S.META_KEYS:
        row, col = spec.meta_cell(key)
        meta.write_string(row, 0, key)
        meta.write_string(row, col, fixed.get(key) or token(f"meta.{key}"))
    meta.very_hidden()
    meta.protect()
    wb.close()
    data = out.getvalue()
    if values is not None:
        data = ZipStamp(data).render(values)
    return data


def _instructions(ws, spec: S.TemplateSpec, fmt: dict) -> None:
    sheet = spec.sheet("instructions")
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_column(0, 0, 62)
    ws.write_string(0, 0, sheet.title, fmt["title"])
    ws.write_string(1, 0, token("subtitle"), fmt["subtitle"])
    due = f"{spec.round.due:%d/%m/%Y}" if spec.round.due else "khi có đề nghị"
    ws.write_string(2, 0, f"Kỳ báo cáo: {spec.round.name}. Hạn gửi: {due}.", fmt["note"])
    heights = Heights()
    heights.fit(2, f"Kỳ báo cáo: {spec.round.name}. Hạn gửi: {due}.", 62)
    for i, line in enumerate(sheet.notes):
        ws.write_string(4 + i, 0, line, fmt["note"])
        heights.fit(4 + i, line, 62)
    heights.apply(ws)
    ws.protect()
    ws.activate()


def stamp_values(plan: Plan, round_code: str, key: bytes | None, unit: Unit | None) -> dict[str, str]:
    """The per-unit placeholder values (all blank for the blank template)."""
    rnd = plan.round(round_code)
    ident = S.identity_values(plan, rnd, unit)
    subtitle = f"Đơn vị: {unit.name} ({unit.code}) - {rnd.name}" if unit else f"{rnd.name} - Mẫu trống"
    return {"unit.code": ident["unit.code"], "unit.name": ident["unit.name"], "unit.cluster": ident["unit.cluster"],
            "subtitle": subtitle, "meta.unit": unit.code if unit else "",
            "meta.signature": sign(key, unit.code, rnd.code, plan.template_version) if unit and key else "",
            "meta.key": fingerprint(key) if unit and key else ""}


@dataclass
class TemplateFactory:
    """Builds a round's base workbook once, then stamps one file per unit."""

    plan: Plan
    round_code: str
    key: bytes | None

    def __post_init__(self) -> None:
        self.stamp = ZipStamp(build_workbook(self.plan, self.round_code))

    def render(self, unit: Unit | None) -> bytes:
        return self.stamp.render(stamp_values(self.plan, self.round_code, self.key, unit))

    def write(self, unit: Unit | None, out_dir: str | Path, sweep: bool = True) -> Path:
        path = Path(out_dir) / template_filename(self.round_code, unit)
        return atomic_write_bytes(path, self.render(unit), sweep)


def write_templates(plan: Plan, round_code: str, units: Iterable[Unit], out_dir: str | Path,
                    key: bytes) -> list[Path]:
    """One pre-filled template per unit in `out_dir`; returns the paths written."""
    from thidua import faults
    factory = TemplateFactory(plan, round_code, key)
    units = list(units)
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise faults.translate(exc, out_dir) or exc
    remove_stale_temps_in(out_dir)          # once for the folder, not once per file
    need = len(factory.render(units[0])) * len(units) if units else 0
    with faults.expect_space(out_dir, need, what=f"{len(units)} biểu mẫu kỳ {round_code} vào {out_dir}"):
        return [factory.write(unit, out_dir, sweep=False) for unit in units]


def write_blank_templates(plan: Plan, out_dir: str | Path) -> list[Path]:
    """The blank template of every round (committed under templates/)."""
    return [TemplateFactory(plan, rnd.code, None).write(None, out_dir) for rnd in plan.rounds]
