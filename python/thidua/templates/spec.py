"""The template spec: every sheet, cell address, field, type, bound and label, written once.

The template builder, the reader and the validator all read this module; no other module names a
cell address. Rows and columns are 0-based internally; `.address` gives the A1 form.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from thidua.plan.model import Plan, Round
from thidua.text.normalize import org_name
from thidua.text.numbers import format_number

YES, NO = "Có", "Không"
YES_NO = (YES, NO)
INDIVIDUAL, COLLECTIVE = "Cá nhân", "Tập thể"
SUBJECTS = (INDIVIDUAL, COLLECTIVE)
SUBJECT_CODES = {INDIVIDUAL: "individual", COLLECTIVE: "collective"}

META_SHEET = "_meta"
LISTS_SHEET = "_lists"
META_KEYS = ("app", "unit", "round", "version", "signature", "key")    # key: the signing key's id (fingerprint);
OPTIONAL_META = ("signature", "key")          # absent from blank templates (both) and from templates before key ids
APP_MARK = "ThiDua"

TITLE_ROW = 0          # sheet title
SUBTITLE_ROW = 1       # unit and round line
HEADER_ROW = 3         # column headers of every table-like sheet
FIRST_ROW = HEADER_ROW + 1
ACTIVITY_ROWS = 50
PROPOSAL_ROWS = 30
FORM_LABEL_COL, FORM_VALUE_COL = 1, 2

# Field types: how a value is typed, validated and shown.
TYPES = ("text", "int", "money", "decimal", "date", "choice")


@dataclass(frozen=True)
class Field:
    """What one input means: key (stable id), Vietnamese label, type and limits."""

    key: str
    label: str
    type: str = "text"
    required: bool = False
    min: float | dt.date | None = None
    max: float | dt.date | None = None
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    help: str = ""
    width: float = 14
    percent: bool = False     # the plan says this number is a percentage (0-100): a cell shown as 85% is 85

    def __post_init__(self) -> None:
        assert self.type in TYPES, self.type


@dataclass(frozen=True)
class Cell:
    """One cell of a form-like sheet: a field at (row, col), either an input or pre-filled."""

    field: Field
    row: int
    col: int
    prefill: str | None = None          # identity key ("unit.code", ...) for locked, pre-filled cells
    display: tuple[tuple[int, object], ...] = ()   # (col, value) shown on the same row, locked

    @property
    def address(self) -> str:
        return xl_rowcol_to_cell(self.row, self.col)

    @property
    def is_input(self) -> bool:
        return self.prefill is None


@dataclass(frozen=True)
class Column:
    """One column of a list sheet (activities, proposals)."""

    field: Field
    col: int

    @property
    def letter(self) -> str:
        return xl_col_to_name(self.col)


@dataclass(frozen=True)
class Table:
    """A list of repeated input rows under a header row."""

    key: str
    header_row: int
    first_row: int
    n_rows: int
    number_col: int           # the locked STT column
    columns: tuple[Column, ...]

    def address(self, index: int, column: Column) -> str:
        return xl_rowcol_to_cell(self.first_row + index, column.col)

    @property
    def last_row(self) -> int:
        return self.first_row + self.n_rows - 1


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    title: str
    headers: tuple[tuple[int, str, float], ...] = ()   # (col, header text, width) on HEADER_ROW
    cells: tuple[Cell, ...] = ()
    table: Table | None = None
    landscape: bool = False
    total_row: int | None = None     # self-score: the row holding the (display-only) total
    notes: tuple[str, ...] = ()
    legend: tuple[str, ...] = ()      # a locked list beside the table: its heading, then one line per item
    legend_col: int | None = None     # its column (header on HEADER_ROW, items from FIRST_ROW)
    legend_width: float = 44

    def inputs(self) -> list[tuple[str, Field]]:
        """Every input cell of the sheet as (address, field)."""
        out = [(c.address, c.field) for c in self.cells if c.is_input]
        if self.table:
            for i in range(self.table.n_rows):
                out += [(self.table.address(i, col), col.field) for col in self.table.columns]
        return out


@dataclass(frozen=True)
class TemplateSpec:
    round: Round
    version: str
    sheets: tuple[Sheet, ...]
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def sheet(self, key: str) -> Sheet | None:
        return next((s for s in self.sheets if s.key == key), None)

    def list_range(self, key: str) -> str:
        """The absolute range on the hidden lists sheet that holds dropdown `key`."""
        col = list(self.lists).index(key)
        n = len(self.lists[key])
        letter = xl_col_to_name(col)
        return f"='{LISTS_SHEET}'!${letter}$1:${letter}${n}"

    def list_cell(self, key: str, index: int) -> tuple[int, int]:
        return index, list(self.lists).index(key)

    @staticmethod
    def meta_cell(key: str) -> tuple[int, int]:
        """(row, col) of a metadata value on the hidden sheet; column 0 holds the key's name."""
        return META_KEYS.index(key), 1


INSTRUCTIONS = (
    "HƯỚNG DẪN ĐIỀN BIỂU MẪU BÁO CÁO THI ĐUA",
    "1. Biểu mẫu này đã ghi sẵn mã và tên công đoàn cơ sở (CĐCS) của đơn vị. Không sửa, không đổi tên các trang tính.",
    "2. Chỉ nhập vào các ô nền vàng. Các ô khác đã được khóa để tránh sửa nhầm.",
    "3. Số liệu nhập bằng chữ số, không kèm đơn vị tính: viết 5, không viết «5 người»; tiền viết 1200000 hoặc 1.200.000.",
    "4. Ngày viết theo dạng ngày/tháng/năm, ví dụ 15/03/{year}, và phải nằm trong thời gian của kỳ báo cáo.",
    "5. Ô có danh sách thả xuống: chọn một giá trị trong danh sách, không gõ tự do.",
    "6. Không chèn thêm dòng, không xóa dòng, không dán đè định dạng. Nếu thiếu dòng, gửi thêm một tệp thứ hai.",
    "7. Đề nghị khen thưởng: ghi đủ các cột điều kiện (năm sinh, giới tính, kỷ luật…). Danh hiệu thi đua (Lao động tiên tiến, Chiến sĩ thi đua cơ sở, Tập thể lao động tiên tiến, xuất sắc) là danh hiệu năm do cơ quan, đơn vị công nhận: chỉ ghi ở kỳ tổng kết năm, kèm số và ngày quyết định công nhận. Người chưa đủ điều kiện không làm hỏng báo cáo: đề nghị đó được ghi «Không đủ điều kiện» kèm lý do.",
    "8. Lưu tệp dạng .xlsx (Excel, LibreOffice hoặc WPS đều được) và gửi lại đúng tệp này cho {office}.",
    "9. Nếu nhận lại tệp «phản hồi» có ô tô đỏ: sửa theo ghi chú ở từng ô rồi gửi lại.",
)


def _date_text(d: dt.date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def _info_sheet(plan: Plan, rnd: Round) -> Sheet:
    report_max = (rnd.due or rnd.end) + dt.timedelta(days=120)
    rows = [
        (Field("unit.code", "Mã đơn vị"), "unit.code"),
        (Field("unit.name", "Tên công đoàn cơ sở"), "unit.name"),
        (Field("unit.cluster", "Khối thi đua"), "unit.cluster"),
        (Field("round.name", "Kỳ báo cáo"), "round.name"),
        (Field("round.range", "Thời gian báo cáo"), "round.range"),
        (Field("round.due", "Hạn gửi báo cáo"), "round.due"),
        (Field("info.reporter", "Người lập báo cáo", "text", True, max_len=100,
               help="Họ và tên người lập báo cáo."), None),
        (Field("info.position", "Chức vụ", "text", False, max_len=100), None),
        (Field("info.phone", "Điện thoại liên hệ", "text", True, max_len=30,
               help="Số điện thoại để Văn phòng liên hệ khi cần."), None),
        (Field("info.email", "Thư điện tử", "text", False, max_len=100), None),
        (Field("info.date", "Ngày lập báo cáo", "date", True, min=rnd.start, max=report_max,
               help=f"Ngày/tháng/năm, ví dụ 15/03/{rnd.start.year}."), None),
    ]
    cells = tuple(Cell(f, FIRST_ROW + i, FORM_VALUE_COL, prefill) for i, (f, prefill) in enumerate(rows))
    return Sheet("info", "Thông tin đơn vị", "THÔNG TIN ĐƠN VỊ BÁO CÁO",
                 headers=((FORM_LABEL_COL, "Nội dung", 30), (FORM_VALUE_COL, "Thông tin", 60)), cells=cells)


def _indicator_field(plan: Plan, ind, rnd: Round) -> Field:
    if ind.type == "bool":
        return Field(f"ind.{ind.code}", ind.label, "choice", ind.required, choices=YES_NO,
                     help="Chọn Có hoặc Không.")
    if ind.type == "date":
        lo = max(ind.min or rnd.start, rnd.start) if rnd.kind != "registration" else ind.min or rnd.start
        hi = min(ind.max or rnd.end, rnd.end) if rnd.kind != "registration" else ind.max or rnd.end
        return Field(f"ind.{ind.code}", ind.label, "date", ind.required, min=lo, max=hi,
                     help=f"Ngày/tháng/năm, từ {_date_text(lo)} đến {_date_text(hi)}.")
    kind = "money" if ind.type == "money" else "int"
    lo = ind.min if ind.min is not None else 0
    text = f"Số nguyên từ {int(lo)}" + (f" đến {format_number(int(ind.max))}" if ind.max is not None else "")
    return Field(f"ind.{ind.code}", ind.label, kind, ind.required, min=lo, max=ind.max,
                 help=text + f" ({ind.unit}), chỉ nhập chữ số.", percent=ind.percent)


def _indicator_sheet(plan: Plan, rnd: Round) -> Sheet:
    headers = ((0, "STT", 5), (1, "Nội dung số", 8), (2, "Mã chỉ tiêu", 16), (3, "Chỉ tiêu", 58),
               (4, "Đơn vị tính", 11), (5, "Số liệu", 16), (6, "Ghi chú", 30))
    cells = []
    for i, ind in enumerate(plan.indicators_for(rnd.code)):
        row = FIRST_ROW + i
        display = ((0, i + 1), (1, ind.content), (2, ind.code), (3, ind.label), (4, ind.unit))
        cells.append(Cell(_indicator_field(plan, ind, rnd), row, 5, display=display))
        cells.append(Cell(Field(f"note.{ind.code}", f"Ghi chú: {ind.label}", "text", max_len=300), row, 6))
    return Sheet("indicators", "Chỉ tiêu", "SỐ LIỆU CÁC CHỈ TIÊU THI ĐUA", headers=headers, cells=tuple(cells),
                 landscape=True)


def _selfscore_sheet(plan: Plan, rnd: Round) -> Sheet:
    headers = ((0, "STT", 5), (1, "Mã", 8), (2, "Tiêu chí", 60), (3, "Điểm tối đa", 11),
               (4, "Điểm tự chấm", 13), (5, "Giải trình", 40))
    cells = []
    for i, crit in enumerate(plan.criteria):
        row = FIRST_ROW + i
        display = ((0, i + 1), (1, crit.code), (2, crit.name), (3, crit.max_points))
        points = _fmt_points(crit.max_points)
        cells.append(Cell(Field(f"score.{crit.code}", crit.name, "decimal", True, min=0, max=crit.max_points,
                                help=f"Số điểm từ 0 đến {points}, có thể lẻ 0,5."), row, 4, display=display))
        cells.append(Cell(Field(f"scorenote.{crit.code}", f"Giải trình: {crit.name}", "text", max_len=500), row, 5))
    total_row = FIRST_ROW + len(plan.criteria)
    return Sheet("selfscore", "Tự chấm điểm", "TỰ CHẤM ĐIỂM THI ĐUA", headers=headers, cells=tuple(cells),
                 landscape=True, total_row=total_row)


def _fmt_points(value: float) -> str:
    return format_number(value)


def _activities_sheet(plan: Plan, rnd: Round) -> Sheet:
    contents = [c for c in plan.contents if c.number >= 1]      # 0 is the general goal, not a content to choose
    last = max((c.number for c in contents), default=6)
    cols = (
        Column(Field("act.date", "Ngày", "date", True, min=rnd.start, max=rnd.end, width=13,
                     help=f"Ngày diễn ra hoạt động, từ {_date_text(rnd.start)} đến {_date_text(rnd.end)}."), 1),
        Column(Field("act.content", "Nội dung thi đua số", "int", True, min=1, max=last, width=11,
                     help=f"Số của nội dung thi đua trong kế hoạch, từ 1 đến {last}: "
                          "xem danh sách các nội dung ở bên phải bảng."), 2),
        Column(Field("act.description", "Mô tả hoạt động", "text", True, max_len=500, width=60,
                     help="Tên và kết quả chính của hoạt động."), 3),
        Column(Field("act.participants", "Số người tham gia", "int", False, min=0, max=100000, width=12,
                     help="Số nguyên, chỉ nhập chữ số."), 4),
    )
    table = Table("activities", HEADER_ROW, FIRST_ROW, ACTIVITY_ROWS, 0, cols)
    headers = ((0, "STT", 5),) + tuple((c.col, c.field.label, c.field.width) for c in cols)
    legend = ("Các nội dung thi đua (Kế hoạch, mục II)",) + tuple(f"{c.number}. {c.name}" for c in contents)
    return Sheet("activities", "Hoạt động", "CÁC HOẠT ĐỘNG, SỰ KIỆN TRONG KỲ", headers=headers, table=table,
                 landscape=True, legend=legend, legend_col=cols[-1].col + 2)


def _proposals_sheet(plan: Plan, rnd: Round) -> Sheet:
    titles = tuple(t.name for t in plan.titles)
    forms = tuple(f.name for f in plan.forms)
    year_end = plan.year_end_round
    when = f"kỳ {year_end.code}" if year_end else "kỳ tổng kết năm"
    cols = (
        Column(Field("prop.subject", "Đối tượng", "choice", True, choices=SUBJECTS, width=10,
                     help="Chọn Cá nhân hoặc Tập thể."), 1),
        Column(Field("prop.name", "Họ và tên / Tên tập thể", "text", True, max_len=150, width=26), 2),
        Column(Field("prop.position", "Chức vụ, đơn vị công tác", "text", False, max_len=200, width=24), 3),
        Column(Field("prop.title", "Danh hiệu thi đua đã được công nhận", "choice", False, choices=titles, width=20,
                     help=f"Danh hiệu năm do cơ quan, đơn vị đã quyết định công nhận (chỉ ghi ở {when}); ghi kèm số "
                          "và ngày quyết định ở hai cột cuối bảng."), 4),
        Column(Field("prop.form", "Hình thức khen thưởng đề nghị", "choice", False, choices=forms, width=24,
                     help="Chọn hình thức khen thưởng đề nghị Công đoàn xét."), 5),
    )
    n = 6
    for pf in plan.proposal_fields:      # the fields the plan's conditions need, in the plan's order
        kind = {"level": "choice", "choice": "choice", "int": "int", "decimal": "decimal"}[pf.type]
        cols += (Column(Field(f"prop.{pf.code}", pf.label, kind, False, min=pf.min, max=pf.max, choices=pf.choices,
                              width=pf.width, help=pf.help, percent=pf.percent), n),)
        n += 1
    # The last three columns came after the first 2019 templates: a file filled in before them still reads.
    cols += (
        Column(Field("prop.summary", "Tóm tắt thành tích", "text", True, max_len=1000, width=40), n),
        Column(Field("prop.adhoc", "Đột xuất", "choice", False, choices=YES_NO, width=8,
                     help="Chọn Có nếu là đề nghị khen thưởng đột xuất."), n + 1),
        Column(Field("prop.birth_year", "Năm sinh (cá nhân)", "int", False, min=plan.year - 80, max=plan.year - 15,
                     width=8, help="Với cá nhân: năm sinh, 4 chữ số (để không nhầm hai người cùng tên)."), n + 2),
        Column(Field("prop.title_decision", "Số quyết định công nhận danh hiệu", "text", False, max_len=60,
                     width=16, help="Số quyết định của cơ quan, đơn vị công nhận danh hiệu, ví dụ 125/QĐ-SGDĐT."),
               n + 3),
        Column(Field("prop.title_date", "Ngày quyết định công nhận danh hiệu", "date", False,
                     min=dt.date(plan.year, 1, 1), max=dt.date(plan.year + 1, 12, 31), width=13,
                     help="Ngày ký quyết định công nhận danh hiệu, ngày/tháng/năm."), n + 4),
    )
    table = Table("proposals", HEADER_ROW, FIRST_ROW, PROPOSAL_ROWS, 0, cols)
    headers = ((0, "STT", 5),) + tuple((c.col, c.field.label, c.field.width) for c in cols)
    return Sheet("proposals", "Đề nghị khen thưởng", "DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG", headers=headers,
                 table=table, landscape=True)


BUILDERS = {"info": _info_sheet, "activities": _activities_sheet, "indicators": _indicator_sheet,
            "selfscore": _selfscore_sheet, "proposals": _proposals_sheet}


def instructions_sheet(plan: Plan, rnd: Round) -> Sheet:
    """The instructions, with the round's year in the date example and the office's name in force at the round's end."""
    words = {"year": rnd.start.year, "office": org_name(plan.office_on(rnd.end).issuer)}
    return Sheet("instructions", "Hướng dẫn", INSTRUCTIONS[0], notes=tuple(n.format(**words) for n in INSTRUCTIONS[1:]))


def template_spec(plan: Plan, round_code: str) -> TemplateSpec:
    """The spec of the template for one round of the plan."""
    return _template_spec(plan, round_code)


@lru_cache(maxsize=64)
def _template_spec(plan: Plan, round_code: str) -> TemplateSpec:
    rnd = plan.round(round_code)
    sheets = [instructions_sheet(plan, rnd)] + [BUILDERS[key](plan, rnd) for key in rnd.sheets]
    lists: dict[str, tuple[str, ...]] = {}
    for sheet in sheets:
        fields = [c.field for c in sheet.cells] + ([c.field for c in sheet.table.columns] if sheet.table else [])
        for f in fields:
            if f.type == "choice":
                lists.setdefault(_list_key(f.choices), f.choices)
    return TemplateSpec(rnd, plan.template_version, tuple(sheets), lists)


def _list_key(choices: tuple[str, ...]) -> str:
    return "|".join(choices)


def list_key(f: Field) -> str:
    """The key of a choice field's dropdown in `TemplateSpec.lists`."""
    return _list_key(f.choices)


def identity_values(plan: Plan, rnd: Round, unit=None) -> dict[str, str]:
    """The pre-filled values by identity key; blank unit fields for the blank template."""
    return {
        "unit.code": unit.code if unit else "",
        "unit.name": unit.name if unit else "",
        "unit.cluster": unit.cluster if unit else "",
        "round.name": rnd.name,
        "round.range": f"Từ {_date_text(rnd.start)} đến {_date_text(rnd.end)}",
        "round.due": _date_text(rnd.due) if rnd.due else "Không có hạn (gửi khi có đề nghị)",
    }
