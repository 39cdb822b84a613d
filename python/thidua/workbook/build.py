"""Build the master workbook ThiDua2019.xlsm: plan and register sheets, buttons, result sheets, VBA."""
from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from thidua.workbook import layout as L
from thidua.workbook.layout import CONF, CONTROL, CONTROLS, HOME, REPORT_HEADER, RESULT_SHEETS
from thidua.errors import ThiDuaError
from thidua.fileio import atomic_write_bytes
from thidua.plan.model import Plan, read_toml_tables
from thidua.plan.units import read_csv_rows
from thidua.workbook.vba import to_codepage_safe
from thidua.text.width import RowHeights, column_points, row_height

FONT = "Times New Roman"
FIXED_CREATED = dt.datetime(2019, 1, 18)
ROOT = Path(__file__).resolve().parents[3]


def _inputs() -> tuple[Path, Path]:
    """(VBA sources, default output): a checkout's macros/ (the only place VBA is edited) and workbook/; in an
    installed package, the copy of macros/ it ships (thidua/workbook/macros, see setup.py) and the current folder."""
    if any((ROOT / "macros").glob("*.bas")):
        return ROOT / "macros", ROOT / "workbook" / "ThiDua2019.xlsm"
    return Path(str(resources.files("thidua.workbook") / "macros")), Path("ThiDua2019.xlsm")


MACROS_DIR, DEFAULT_OUT = _inputs()
MACRO_CONTENT_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
SHEET_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
VBA_PART = "xl/vbaProject.bin"
# [MS-OVBA] 2.3.4.1 and its example 3.1.1: Reserved1 0x61CC, Version 0xFFFF ("MUST be 0xFFFF on write"),
# Reserved2 0x00, Reserved3 0x0001, and no performance cache ("MUST NOT be present on write"): Excel then
# compiles the project from its source. xlwings' quickstart_standalone.xlsm carries exactly these bytes.
VBA_PROJECT_STREAM = bytes.fromhex("CC61FFFF000100")

PY_MODULE = "thidua.excel"
HEADER_FILL, INPUT_FILL = "#D9E1F2", "#FFF2CC"


@dataclass(frozen=True)
class Button:
    """A button on the home sheet: caption, VBA macro, and the Python entry point it runs (if any)."""

    macro: str
    caption: str
    help: str
    python: str | None = None

    @property
    def command(self) -> str | None:
        return f"import {PY_MODULE}; {PY_MODULE}.{self.python}()" if self.python else None


BUTTONS = (
    Button("TaoBieuMau", "Tạo biểu mẫu", "Tạo biểu mẫu điền sẵn cho mọi đơn vị của kỳ đã chọn, "
           "ghi vào thư mục bieu-mau-{year} cạnh sổ này.", "create_templates"),
    Button("ChonTep", "Chọn tệp...", "Mở hộp chọn tệp; ghi các tệp đã chọn vào ô «Tệp cần kiểm tra»."),
    Button("KiemTraTep", "Kiểm tra tệp đã chọn", "Kiểm tra các tệp đã chọn; ghi lỗi vào trang Các lỗi và "
           "tệp phản hồi vào thư mục phan-hoi-{year}.", "validate_files"),
    Button("ChonThuMuc", "Chọn thư mục...", "Mở hộp chọn thư mục hộp thư (nơi lưu các tệp đơn vị gửi về)."),
    Button("NhanThu", "Nhận tệp từ hộp thư", "Lưu các tệp bảng tính trong thư mới của hộp thư văn phòng vào thư "
           "mục hộp thư, kèm thời điểm nhận (cài đặt: mục [mail] của tệp thidua.toml cạnh sổ này).", "fetch_mail"),
    Button("TongHop", "Tổng hợp hộp thư", "Đọc mọi tệp mới trong hộp thư vào cơ sở dữ liệu; ghi trang "
           "Dữ liệu tổng hợp và Các lỗi.", "consolidate_inbox"),
    Button("TheoDoi", "Theo dõi, nhắc nộp", "Cập nhật trang Theo dõi (đã nộp, lỗi, chưa nộp, nộp muộn) và "
           "soạn thư nhắc trong thư mục nhac-nop-{year}.", "track_and_remind"),
    Button("GuiThu", "Gửi biểu mẫu / thư nhắc", "Trước hạn nộp: gửi mỗi đơn vị biểu mẫu của kỳ đã chọn; sau hạn: "
           "gửi thư nhắc (đơn vị có lỗi nhận lại tệp của mình có đánh dấu). Không gửi trùng.", "send_mail"),
    Button("XepLoai", "Xếp loại, khen thưởng", "Ghi quyết định văn phòng đã chọn ở trang Khen thưởng, rồi chấm "
           "điểm, xếp loại theo đợt đã chọn và xét đề nghị khen thưởng; ghi trang Xếp loại, Khen thưởng.", "score_units"),
    Button("SoanKhenThuong", "Soạn quyết định, giấy khen", "Soạn quyết định kèm danh sách và giấy khen (Word, PDF) "
           "cho đề nghị đã được khen thưởng, tờ trình cho hình thức cấp trên quyết định; ghi vào thư mục "
           "khen-thuong-{year}.", "award_papers"),
    Button("TongKet", "Tổng kết năm", "Lập bảng tổng kết của đợt đã chọn; ghi trang Tổng kết và tệp "
           "trong thư mục tong-ket-{year}.", "year_summary"),
    Button("XuatBan", "Xuất cho Ban Thường vụ", "Xuất sổ tổng hợp in sẵn (và PDF nếu có LibreOffice) vào "
           "thư mục xuat-ban-{year}.", "export_committee"),
    Button("NamMoi", "Chuyển sang năm mới", "Tạo cạnh sổ này bộ làm việc năm {next}: sổ ThiDua{next}.xlsm (kế hoạch đã "
           "chuyển ngày, danh sách đơn vị, cùng khóa), kho dữ liệu biết lịch sử năm {year}; năm nay giữ nguyên. Ghi "
           "trang Năm mới.", "new_year"),
    Button("SaoLuu", "Sao lưu dữ liệu", "Sao lưu cơ sở dữ liệu, thư mục lưu trữ (kèm bảng kê mã băm) và khóa "
           "vào một tệp .zip có ghi ngày trong thư mục sao-luu; chép tệp đó sang ổ khác.", "backup_data"),
    Button("KhoiPhuc", "Khôi phục dữ liệu", "Hỏi tệp sao lưu, kiểm tra nó nguyên vẹn, sao lưu dữ liệu hiện có (không "
           "mất gì), rồi thay cơ sở dữ liệu và thư mục lưu trữ bằng bản đã chọn.", "restore_data"),
)
BUTTON_FIRST_ROW = 12
BUTTON_ROW_HEIGHT = 34
HOME_WIDTHS = (56, 84)          # the home sheet's two columns (a button fills the first)


CONF_ROWS = (
    ("UDF Modules", PY_MODULE),
    ("Show Console", "False"),
    ("Use UDF Server", "False"),
)
CONF_NOTE = ("Interpreter_Win và TEMP DIR nằm trong tệp xlwings.conf cạnh sổ làm việc (do cai-dat.bat ghi); "
             "không thêm các dòng đó vào trang này, vì trang này được ưu tiên hơn tệp.")

STEPS = (
    "CÁCH DÙNG",
    "1. Lần đầu trên máy này: chạy tệp cai-dat.bat nằm cạnh sổ làm việc (cài Python và thư viện ThiDua).",
    "2. Cập nhật trang Danh sách đơn vị và các trang kế hoạch (Kỳ báo cáo, Chỉ tiêu, ...) nếu có thay đổi.",
    "3. Chọn kỳ báo cáo ở ô trên, bấm «Tạo biểu mẫu», rồi gửi từng tệp trong thư mục bieu-mau-{year} cho đơn vị "
    "(hoặc bấm «Gửi biểu mẫu / thư nhắc»).",
    "4. Bấm «Nhận tệp từ hộp thư», hoặc lưu các tệp đơn vị gửi về vào thư mục hop-thu-{year} cạnh sổ này (tên tệp không "
    "quan trọng).",
    "5. Bấm «Tổng hợp hộp thư»; xem trang Các lỗi, gửi tệp phản hồi (thư mục phan-hoi-{year}) cho đơn vị có lỗi.",
    "6. Bấm «Theo dõi, nhắc nộp» để biết đơn vị nào chưa nộp, nộp muộn.",
    "7. Cuối đợt: chọn đợt, bấm «Xếp loại, khen thưởng», «Tổng kết năm», «Xuất cho Ban Thường vụ».",
    "Khóa ký biểu mẫu: tệp thidua.key cạnh sổ này, tạo ở lần đầu bấm «Tạo biểu mẫu». Sao lưu tệp này, không gửi cho ai.",
    "Hàm dùng trong công thức: =THIDUA_XEPLOAI(điểm) cho mức xếp loại của một số điểm; "
    "=THIDUA_DUNGHAN(\"Q1\") cho tỷ lệ đơn vị nộp đúng hạn của một kỳ.",
)


def _formats(wb) -> dict:
    base = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}
    cell = dict(base, border=1, text_wrap=True)
    return {
        "title": wb.add_format(dict(base, bold=True, font_size=14)),
        "note": wb.add_format(dict(base, italic=True)),
        "key": wb.add_format(dict(base, font_color="#808080", font_size=9)),
        "header": wb.add_format(dict(cell, bold=True, align="center", bg_color=HEADER_FILL)),
        "label": wb.add_format(dict(cell, bold=True)),
        "input": wb.add_format(dict(cell, bg_color=INPUT_FILL)),
        "status": wb.add_format(dict(cell, italic=True)),
        "text": wb.add_format(cell),
        "plain": wb.add_format(dict(base, text_wrap=True)),
        "date": wb.add_format(dict(cell, num_format="dd/mm/yyyy", align="center")),
        "num": wb.add_format(dict(cell, num_format="#,##0.##")),
        "int": wb.add_format(dict(cell, num_format="0", align="center")),
    }


def _cell_value(col: L.Col, value: Any) -> Any:
    """A value as the office sees it: labels for codes, numbers as numbers and dates as dates (the register's
    CSV gives text)."""
    if value in (None, ""):
        return None
    if col.kind == "bool":
        return "Có" if value is True or str(value).strip().lower() in ("true", "1", "có") else "Không"
    if isinstance(value, str) and col.kind in ("int", "num", "date"):
        text = value.strip()
        try:
            if col.kind == "date":
                return (dt.datetime.strptime(text, "%d/%m/%Y").date() if "/" in text
                        else dt.date.fromisoformat(text[:10]))
            number = float(text.replace(",", "."))
            return int(number) if col.kind == "int" and number.is_integer() else number
        except ValueError:
            return value       # shown as typed; the loader reports it
    return col.shown(value)


def _validation(col: L.Col) -> dict | None:
    alert = {"error_title": "Giá trị không hợp lệ", "error_type": "stop"}
    if col.kind in ("list", "bool"):
        items = col.labels or col.choices or ("Có", "Không")
        comma = [i for i in items if "," in i]
        if comma:      # spreadsheet programs split an in-cell list at commas: «Sơ kết, tổng kết» would be two items
            raise ValueError(f"cột «{col.label}»: nhãn có dấu phẩy trong danh sách chọn: {comma}")
        return dict(alert, validate="list", source=list(items), error_message="Chọn trong danh sách: " + ", ".join(items))
    if col.kind == "int":
        return dict(alert, validate="integer", criteria=">=", value=0, error_message="Nhập số nguyên không âm.")
    if col.kind == "num":
        return dict(alert, validate="decimal", criteria=">=", value=0, error_message="Nhập số không âm.")
    if col.kind == "date":
        return dict(alert, validate="date", criteria="between", minimum=dt.date(1900, 1, 1),
                    maximum=dt.date(2100, 12, 31), error_message="Nhập ngày dạng ngày/tháng/năm.")
    if col.kind == "code":
        return dict(alert, validate="length", criteria="between", minimum=1, maximum=30,
                    error_message="Mã gồm 1 đến 30 ký tự.")
    return None


def _table_sheet(wb, fmt: dict, sheet: L.TableSheet, rows: list[dict], spare: int = 200) -> None:
    ws = wb.add_worksheet(sheet.name)
    ws.write_string(L.TITLE_ROW, 0, sheet.title, fmt["title"])
    ws.write_string(L.NOTE_ROW, 0, sheet.note, fmt["note"])
    ws.set_row(L.KEY_ROW, None, fmt["key"], {"hidden": True})
    for c, col in enumerate(sheet.columns):
        ws.write_string(L.KEY_ROW, c, col.key, fmt["key"])
        ws.set_column(c, c, col.width)
    data = [[_cell_value(col, r.get(col.key)) for col in sheet.columns] for r in rows]
    last = L.HEADER_ROW + max(len(data), 1)
    columns = [{"header": col.label, "header_format": fmt["header"], "format": fmt["date" if col.kind == "date" else
                                                  "int" if col.kind == "int" else "num" if col.kind == "num" else "text"]}
               for col in sheet.columns]
    ws.add_table(L.HEADER_ROW, 0, last, len(sheet.columns) - 1,
                 {"name": sheet.table_name, "columns": columns, "data": data, "style": "Table Style Light 9"})
    for r, values in enumerate(data):
        for c, value in enumerate(values):
            if isinstance(value, dt.date):   # dates in any column (meta values, date bounds) show as dates
                ws.write_datetime(L.FIRST_ROW + r, c, dt.datetime.combine(value, dt.time()), fmt["date"])
    heights = RowHeights()        # measured, so that no wrapped text runs over the next row
    for c, col in enumerate(sheet.columns):
        heights.fit(L.HEADER_ROW, col.label, col.width, bold=True)
    for r, values in enumerate(data):
        for c, value in enumerate(values):
            if isinstance(value, str):
                heights.fit(L.FIRST_ROW + r, value, sheet.columns[c].width)
    heights.apply(ws)
    for c, col in enumerate(sheet.columns):
        rule = _validation(col)
        if rule:
            ws.data_validation(L.FIRST_ROW, c, last + spare, c, rule)
    ws.freeze_panes(L.FIRST_ROW, 0)


def _result_sheet(wb, fmt: dict, key: str) -> None:
    name, title, note = RESULT_SHEETS[key]
    ws = wb.add_worksheet(name)
    ws.write_string(L.TITLE_ROW, 0, title, fmt["title"])
    ws.write_string(L.NOTE_ROW, 0, note, fmt["note"])
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 12, 14)
    ws.freeze_panes(L.FIRST_ROW, 0)
    chosen = {"awards": (L.AWARDS_HEADER, L.AWARDS_WIDTHS, L.DECISION_CHOICES, "Xếp loại, khen thưởng"),
              "mail": (L.MAIL_HEADER, L.MAIL_WIDTHS, L.MAIL_CHOICES, "Gửi biểu mẫu / thư nhắc")}
    if key in chosen:          # the office's decisions are chosen here, and recorded by the button named
        header, widths, choices, button = chosen[key]      # (excel.score_units, excel.send_mail)
        for c, (label, width) in enumerate(zip(header, widths, strict=True)):
            ws.set_column(c, c, width)
            ws.write_string(L.HEADER_ROW, c, label, fmt["header"])
        choice = header.index(L.DECISION_COLUMN)
        ws.data_validation(L.FIRST_ROW, choice, L.FIRST_ROW + L.DECISION_ROWS, choice,
                           {"validate": "list", "source": list(choices.values()),
                            "input_title": "Quyết định", "input_message": f"Chọn rồi bấm «{button}»."})


def _home_sheet(wb, fmt: dict, meta: dict, rounds: list[dict], periods: list[dict], issuer: str) -> None:
    ws = wb.add_worksheet(HOME)
    ws.set_column(0, 0, HOME_WIDTHS[0])
    ws.set_column(1, 1, HOME_WIDTHS[1])
    ws.hide_gridlines(2)
    ws.write_string(0, 0, f"SỔ LÀM VIỆC THI ĐUA NĂM {meta.get('year', '')} - {issuer}".upper(), fmt["title"])
    ws.write_string(1, 0, "Bấm các nút bên dưới; kết quả ghi vào các trang tương ứng và ô «Kết quả lần chạy gần nhất».",
                    fmt["note"])
    values = {"ThiDua_Ky": rounds[0]["code"] if rounds else "", "ThiDua_Dot": L.YEAR_LABEL}
    heights = RowHeights()
    for c in CONTROLS:
        ws.write_string(c.row, 0, c.label, fmt["label"])
        heights.fit(c.row, c.label, HOME_WIDTHS[0], bold=True)
        style = fmt["status"] if c.name in ("ThiDua_TrangThai", "ThiDua_Lenh") else fmt["input"]
        ws.write_string(c.row, c.col, values.get(c.name, ""), style)
        wb.define_name(c.name, f"='{HOME}'!{xl_rowcol_to_cell(c.row, c.col, True, True)}")
    ky, dot = CONTROL["ThiDua_Ky"], CONTROL["ThiDua_Dot"]
    ws.data_validation(ky.row, ky.col, ky.row, ky.col,
                       {"validate": "list", "source": f"={xlsxwriter.utility.quote_sheetname(L.PLAN_SHEETS[1].name)}"
                        f"!{xl_rowcol_to_cell(L.FIRST_ROW, 0, True, True)}:"
                        f"{xl_rowcol_to_cell(L.FIRST_ROW + 199, 0, True, True)}",
                        "error_title": "Kỳ báo cáo", "error_message": "Chọn mã kỳ trong trang Kỳ báo cáo."})
    ws.data_validation(dot.row, dot.col, dot.row, dot.col,
                       {"validate": "list", "source": [str(p["code"]) for p in periods] + [L.YEAR_LABEL],
                        "error_title": "Đợt thi đua", "error_message": f"Chọn một đợt hoặc {L.YEAR_LABEL}."})
    ws.write_string(BUTTON_FIRST_ROW - 1, 0, "Nút lệnh", fmt["header"])
    ws.write_string(BUTTON_FIRST_ROW - 1, 1, "Việc nút làm", fmt["header"])
    words = _year_words(meta)
    for i, button in enumerate(BUTTONS):
        row = BUTTON_FIRST_ROW + i
        text = button.help.format(**words)
        ws.set_row(row, max(BUTTON_ROW_HEIGHT, row_height([(text, column_points(HOME_WIDTHS[1], "Calibri 11"))])))
        ws.write_string(row, 1, text, fmt["text"])
        ws.insert_button(row, 0, {"macro": button.macro, "caption": button.caption, "width": 392,
                                  "height": BUTTON_ROW_HEIGHT + 8, "x_offset": 4, "y_offset": 2})
    first = BUTTON_FIRST_ROW + len(BUTTONS) + 1
    for i, line in enumerate(STEPS):
        line = line.format(**words)
        ws.merge_range(first + i, 0, first + i, 1, line, fmt["title" if i == 0 else "plain"])
        heights.fit(first + i, line, sum(HOME_WIDTHS), bold=i == 0)
    heights.apply(ws)
    ws.activate()


def _year_words(meta: dict) -> dict:
    """The words a help text fills in: the workbook's year and the next one."""
    try:
        year = int(meta.get("year"))
    except (TypeError, ValueError):
        return {"year": "<năm>", "next": "<năm sau>"}
    return {"year": year, "next": year + 1}


def _report_sheet(wb, fmt: dict, rows: Sequence[Sequence[Any]], year: int | None) -> None:
    """The «Năm mới» sheet: what the roll-over carried and what the office must check (empty until a roll-over)."""
    name, title, note = RESULT_SHEETS["newyear"]
    ws = wb.add_worksheet(name)
    ws.write_string(L.TITLE_ROW, 0, title.format(year=year) if year else title.split(":")[0], fmt["title"])
    ws.write_string(L.NOTE_ROW, 0, note, fmt["note"])
    widths = (6, 28, 14, 96)
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    heights = RowHeights()
    for c, label in enumerate(REPORT_HEADER):
        ws.write_string(L.HEADER_ROW, c, label, fmt["header"])
    for r, values in enumerate(rows, start=L.FIRST_ROW):
        for c, value in enumerate(values):
            if isinstance(value, (int, float)):
                ws.write_number(r, c, value, fmt["int"])
            else:
                ws.write_string(r, c, str(value), fmt["text"])
                heights.fit(r, str(value), widths[c])
    heights.apply(ws)
    ws.freeze_panes(L.FIRST_ROW, 0)


def _conf_sheet(wb, fmt: dict) -> None:
    ws = wb.add_worksheet(CONF)
    for r, (key, value) in enumerate(CONF_ROWS):
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, value)
    ws.write_string(0, 3, CONF_NOTE, fmt["note"])
    ws.set_column(0, 1, 20)
    ws.hide()          # technical: xlwings reads it hidden too


def build_xlsx(tables: dict, register: list[dict], report: Sequence[Sequence[Any]] = (),
               report_year: int | None = None) -> bytes:
    """The sheets and buttons as .xlsx bytes (XlsxWriter, the only writer of this workbook)."""
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    meta = dict(tables.get("meta") or {})
    issuer = Plan.from_tables(tables).office_on().issuer_name      # the office's name at the end of the year
    wb.set_properties({"title": f"ThiDua {meta.get('year', '')}", "author": issuer, "company": issuer,
                       "created": FIXED_CREATED})
    wb.set_size(1600, 1000)
    fmt = _formats(wb)
    _home_sheet(wb, fmt, meta, tables.get("rounds") or [], tables.get("periods") or [], issuer)
    _table_sheet(wb, fmt, L.REGISTER, register, spare=1000)
    meta_rows = [{"key": k, "value": v, "label": L.META_LABELS.get(k, "")}
                 for k, v in (meta | {k: None for k in L.MAIL_LABELS if k not in meta}).items()]
    _table_sheet(wb, fmt, L.META, meta_rows)
    for sheet in L.PLAN_SHEETS:
        _table_sheet(wb, fmt, sheet, list(tables.get(sheet.key) or []))
    for key in RESULT_SHEETS:
        if key == "newyear":
            _report_sheet(wb, fmt, report, report_year)
        else:
            _result_sheet(wb, fmt, key)
    _conf_sheet(wb, fmt)
    wb.close()
    return out.getvalue()


def _as_xlsm(data: bytes) -> bytes:
    """Switch the main part to the macro-enabled content type; fixed zip dates for reproducible bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            raw = src.read(info)
            if info.filename == "[Content_Types].xml":
                raw = raw.replace(SHEET_CONTENT_TYPE.encode(), MACRO_CONTENT_TYPE.encode())
            dst.writestr(zipfile.ZipInfo(info.filename, ZIP_DATE), raw, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlwings_bas() -> str:
    """The standalone xlwings.bas shipped inside the installed (pinned) xlwings package."""
    import xlwings
    return (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="utf-8")


def stub_bas() -> str:
    """A test-only xlwings module: RunPython records its command in the ThiDua_Lenh cell."""
    return ('Attribute VB_Name = "xlwings"\n'
            "' Test build only: records the Python command instead of running it.\n"
            "Public Function RunPython(PythonCommand As String)\n"
            '    ThisWorkbook.Names("ThiDua_Lenh").RefersToRange.Value = PythonCommand\n'
            "End Function\n")


def macro_modules(macros_dir: Path = MACROS_DIR, stub: bool = False) -> list[tuple[str, str]]:
    """(module name, code-page-safe source) for xlwings and every macros/*.bas, in a fixed order."""
    modules = [("xlwings", stub_bas() if stub else xlwings_bas())]
    for path in sorted(Path(macros_dir).glob("*.bas")):
        modules.append((path.stem, path.read_text(encoding="utf-8")))
    return [(name, to_codepage_safe(text, name)) for name, text in modules]


def _body(source: str) -> str:
    """The module text without its VB_Name line (pyOpenVBA names the module)."""
    lines = source.split("\r\n")
    return "\r\n".join(line for line in lines if not line.startswith("Attribute VB_Name"))


def add_vba(xlsm: bytes, modules: list[tuple[str, str]]) -> bytes:
    """The workbook with a VBA project holding `modules` (pyOpenVBA, pure Python)."""
    from pyopenvba import ExcelFile
    with tempfile.TemporaryDirectory(prefix="thidua-build-") as tmp:
        src, dst = Path(tmp) / "in.xlsm", Path(tmp) / "out.xlsm"
        src.write_bytes(xlsm)
        book = ExcelFile(src)
        project = book.add_vba_project()
        for name, source in modules:
            project.add_module(name, _body(source))
        book.save(dst)
        return dst.read_bytes()


def vba_project_stream(xlsm: bytes) -> bytes:
    """The `VBA/_VBA_PROJECT` stream of a workbook's VBA project."""
    from pyopenvba.cfb import CFB
    with zipfile.ZipFile(io.BytesIO(xlsm)) as zf:
        return CFB.from_bytes(zf.read(VBA_PART)).get_stream_in_storage("VBA", "_VBA_PROJECT")


def with_spec_vba_stream(xlsm: bytes) -> bytes:
    """The workbook with `_VBA_PROJECT` rewritten in the 7-byte form a writer must use; checked after."""
    from pyopenvba.cfb import CFB
    src = zipfile.ZipFile(io.BytesIO(xlsm))
    cfb = CFB.from_bytes(src.read(VBA_PART))
    cfb.write_stream_in_storage("VBA", "_VBA_PROJECT", VBA_PROJECT_STREAM)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            raw = cfb.to_bytes() if info.filename == VBA_PART else src.read(info)
            dst.writestr(info, raw, info.compress_type)
    data = out.getvalue()
    if vba_project_stream(data) != VBA_PROJECT_STREAM:
        raise ThiDuaError("Dự án VBA của sổ làm việc không đúng dạng [MS-OVBA] (luồng _VBA_PROJECT).",
                          "Báo cho người phát triển: kiểm tra phiên bản pyOpenVBA đã ghim.")
    return data


def default_sources() -> tuple[dict, list[dict]]:
    """The bundled 2019 plan tables and the sample register."""
    return read_toml_tables(), read_csv_rows()


def build_bytes(tables: dict | None = None, register: list[dict] | None = None, stub: bool = False,
                macros_dir: Path = MACROS_DIR, report: Sequence[Sequence[Any]] = (),
                report_year: int | None = None) -> bytes:
    """The whole .xlsm as bytes; the same inputs give the same bytes. `report`: rows of the «Năm mới» sheet
    (a workbook made by a roll-over to `report_year`)."""
    if tables is None or register is None:
        t, r = default_sources()
        tables, register = tables or t, register if register is not None else r
    if not any(Path(macros_dir).glob("*.bas")):
        raise ThiDuaError(f"Không thấy mã VBA trong {macros_dir}.", "Chạy lệnh từ thư mục gốc của dự án ThiDua.")
    return with_spec_vba_stream(add_vba(_as_xlsm(build_xlsx(tables, register, report, report_year)),
                                        macro_modules(macros_dir, stub)))


def build_workbook(out: str | Path = DEFAULT_OUT, stub: bool = False) -> Path:
    """Write the master workbook (or its test build with a recording RunPython) to `out`."""
    return atomic_write_bytes(out, build_bytes(stub=stub))

