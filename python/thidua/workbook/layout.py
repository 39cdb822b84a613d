"""The master workbook's sheet layout, and reading the plan tables and the register back from it."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from thidua.errors import ThiDuaError

TITLE_ROW = 0       # sheet title
NOTE_ROW = 1        # one line of help for the office
KEY_ROW = 2         # hidden: the stable column keys (the plan's TOML keys), read by the loader
HEADER_ROW = 3      # the Excel table's Vietnamese header row
FIRST_ROW = HEADER_ROW + 1


@dataclass(frozen=True)
class Col:
    """One column of a configuration table: stable key, Vietnamese header, kind and width."""

    key: str
    label: str
    kind: str = "text"      # text, int, num, date, bool, list (choices), code, any (number or date)
    width: float = 14
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSheet:
    """A sheet holding one Excel table whose rows are one of the plan's flat tables (or the register)."""

    key: str
    name: str
    title: str
    note: str
    columns: tuple[Col, ...]

    @property
    def table_name(self) -> str:
        return "tbl_" + self.key


ROUND_KINDS = ("registration", "quarter", "review", "adhoc")
SUBJECTS = ("individual", "collective", "both")
SOURCE = Col("source", "Nguồn (plan: kế hoạch; config: văn phòng đặt)", "list", 16, ("plan", "config"))

META = TableSheet("meta", "Thông tin chung", "THÔNG TIN CHUNG CỦA KẾ HOẠCH THI ĐUA",
                  "Mỗi dòng một thông số; chỉ sửa cột Giá trị.",
                  (Col("key", "Mã thông số", "code", 20), Col("value", "Giá trị", "text", 50),
                   Col("label", "Ý nghĩa", "text", 50)))
META_LABELS = {
    "year": "Năm thi đua", "plan_number": "Số kế hoạch", "plan_date": "Ngày ban hành kế hoạch",
    "issuer_parent": "Cơ quan cấp trên", "issuer": "Cơ quan ban hành", "place": "Địa danh",
    "signer_title": "Chức danh người ký", "signer_name": "Họ tên người ký",
    "template_version": "Phiên bản biểu mẫu", "rule_set": "Bộ quy tắc xếp loại đang dùng",
    "launch_goal_pct": "Mục tiêu tỷ lệ CĐCS phát động thi đua (%)",
    "launch_indicator": "Mã chỉ tiêu «đã phát động thi đua» (Có/Không)",
    "launch_date_indicator": "Mã chỉ tiêu ngày phát động",
    "stock_indicators": "Mã các chỉ tiêu số người (lấy số mới nhất, không cộng dồn)",
}

PLAN_SHEETS = (
    TableSheet("periods", "Đợt thi đua", "CÁC ĐỢT THI ĐUA", "Mỗi đợt một dòng; ngày viết ngày/tháng/năm.", (
        Col("code", "Mã đợt", "code", 8), Col("name", "Tên đợt", "text", 40), Col("start", "Từ ngày", "date", 12),
        Col("end", "Đến ngày", "date", 12), Col("review", "Hình thức đánh giá", "text", 14),
        Col("anniversaries", "Các ngày kỷ niệm", "text", 60), SOURCE)),
    TableSheet("rounds", "Kỳ báo cáo", "CÁC KỲ BÁO CÁO", "Cột «Trang biểu mẫu»: info, activities, indicators, "
               "selfscore, proposals, cách nhau bởi dấu phẩy.", (
        Col("code", "Mã kỳ", "code", 8), Col("name", "Tên kỳ báo cáo", "text", 36),
        Col("kind", "Loại kỳ", "list", 13, ROUND_KINDS), Col("period", "Đợt", "code", 6),
        Col("start", "Từ ngày", "date", 12), Col("end", "Đến ngày", "date", 12), Col("due", "Hạn gửi", "date", 12),
        Col("sheets", "Trang biểu mẫu", "text", 36), SOURCE)),
    TableSheet("contents", "Nội dung thi đua", "CÁC NỘI DUNG THI ĐUA", "Số thứ tự nội dung theo kế hoạch.", (
        Col("number", "Số", "int", 6), Col("name", "Nội dung thi đua", "text", 80), SOURCE)),
    TableSheet("indicators", "Chỉ tiêu", "CÁC CHỈ TIÊU ĐƠN VỊ BÁO CÁO",
               "Kiểu: int (số nguyên), money (tiền), bool (Có/Không), date (ngày). Cột «Các kỳ»: mã kỳ, cách nhau "
               "bởi dấu phẩy.", (
        Col("code", "Mã chỉ tiêu", "code", 16), Col("content", "Nội dung số", "int", 8),
        Col("label", "Chỉ tiêu", "text", 50), Col("unit", "Đơn vị tính", "text", 10),
        Col("type", "Kiểu", "list", 8, ("int", "money", "bool", "date")), Col("rounds", "Các kỳ", "text", 24),
        Col("required", "Bắt buộc", "bool", 9), Col("min", "Tối thiểu", "any", 10),
        Col("max", "Tối đa", "any", 12), SOURCE)),
    TableSheet("criteria", "Tiêu chí chấm điểm", "TIÊU CHÍ CHẤM ĐIỂM VÀ ĐIỂM TỐI ĐA", "Tổng điểm tối đa thường là 100.", (
        Col("code", "Mã tiêu chí", "code", 10), Col("content", "Nội dung số", "int", 8),
        Col("name", "Tiêu chí", "text", 70), Col("max_points", "Điểm tối đa", "num", 10), SOURCE)),
    TableSheet("rule_sets", "Bộ quy tắc xếp loại", "CÁC BỘ QUY TẮC XẾP LOẠI", "Bộ đang dùng ghi ở trang Thông tin chung.", (
        Col("code", "Mã bộ quy tắc", "code", 14), Col("name", "Tên bộ quy tắc", "text", 50),
        Col("eligible_founded_before", "Xếp loại nếu thành lập trước ngày", "date", 14),
        Col("not_eligible_name", "Tên mức khi chưa đủ điều kiện", "text", 30), SOURCE)),
    TableSheet("levels", "Mức xếp loại", "CÁC MỨC XẾP LOẠI VÀ NGƯỠNG ĐIỂM",
               "Điều kiện viết dạng «mã toán_tử giá_trị», nhiều điều kiện cách nhau bởi dấu chấm phẩy.", (
        Col("rule_set", "Bộ quy tắc", "code", 14), Col("rank", "Thứ bậc", "int", 8), Col("code", "Mã mức", "code", 10),
        Col("name", "Tên mức xếp loại", "text", 26), Col("min_points", "Điểm từ", "num", 9),
        Col("conditions", "Điều kiện thêm", "text", 40), SOURCE)),
    TableSheet("forms", "Hình thức khen thưởng", "CÁC HÌNH THỨC KHEN THƯỞNG",
               "Đối tượng: individual (cá nhân), collective (tập thể), both (cả hai). Để trống hạn mức nếu không giới hạn.", (
        Col("code", "Mã", "code", 10), Col("name", "Hình thức khen thưởng", "text", 50), Col("rank", "Thứ bậc", "int", 8),
        Col("subject", "Đối tượng", "list", 12, SUBJECTS), Col("quota", "Hạn mức", "int", 9), SOURCE)),
    TableSheet("titles", "Danh hiệu thi đua", "CÁC DANH HIỆU THI ĐUA", "Điều kiện viết như ở trang Mức xếp loại.", (
        Col("code", "Mã", "code", 10), Col("name", "Danh hiệu", "text", 36),
        Col("subject", "Đối tượng", "list", 12, SUBJECTS), Col("conditions", "Điều kiện", "text", 50), SOURCE)),
)

REGISTER = TableSheet("units", "Danh sách đơn vị", "DANH SÁCH CÔNG ĐOÀN CƠ SỞ",
                      "Mỗi CĐCS một dòng; mã chỉ gồm chữ và số, không trùng.", (
    Col("code", "Mã đơn vị", "code", 10), Col("name", "Tên công đoàn cơ sở", "text", 46),
    Col("cluster", "Khối thi đua", "text", 18), Col("staff", "Số CBCCVC-LĐ", "int", 11),
    Col("members", "Số đoàn viên", "int", 11), Col("email", "Thư điện tử", "text", 30),
    Col("founded", "Ngày thành lập", "date", 13)))

# ---------------------------------------------------------------- home and result sheets
HOME = "Hướng dẫn"
CONF = "xlwings.conf"


@dataclass(frozen=True)
class Control:
    """An input or output cell of the home sheet, reachable from VBA and Python by a defined name."""

    name: str
    label: str
    row: int
    col: int = 1


CONTROLS = (
    Control("ThiDua_Ky", "Kỳ báo cáo (chọn trong danh sách)", 3),
    Control("ThiDua_Dot", "Đợt xếp loại, tổng kết (1, 2 hoặc year = cả năm)", 4),
    Control("ThiDua_Tep", "Tệp cần kiểm tra (mỗi dòng một tệp)", 5),
    Control("ThiDua_HopThu", "Thư mục hộp thư (để trống: thư mục hop-thu cạnh sổ này)", 6),
    Control("ThiDua_TrangThai", "Kết quả lần chạy gần nhất", 7),
    Control("ThiDua_Lenh", "Lệnh Python gần nhất (dùng khi kiểm thử)", 8),
)
CONTROL = {c.name: c for c in CONTROLS}


RESULT_SHEETS = {
    "tracking": ("Theo dõi", "THEO DÕI NỘP BÁO CÁO", "Nút «Theo dõi, nhắc nộp» ghi trang này."),
    "problems": ("Các lỗi", "CÁC LỖI TRONG TỆP ĐƠN VỊ GỬI", "Nút «Kiểm tra tệp đã chọn» và «Tổng hợp hộp thư» ghi trang này."),
    "data": ("Dữ liệu tổng hợp", "DỮ LIỆU TỔNG HỢP", "Nút «Tổng hợp hộp thư» ghi trang này."),
    "scores": ("Xếp loại", "CHẤM ĐIỂM VÀ XẾP LOẠI", "Nút «Xếp loại, khen thưởng» ghi trang này."),
    "awards": ("Khen thưởng", "ĐỀ NGHỊ KHEN THƯỞNG VÀ ĐIỀU KIỆN", "Nút «Xếp loại, khen thưởng» ghi trang này."),
    "summary": ("Tổng kết", "TỔNG KẾT THI ĐUA", "Nút «Tổng kết năm» ghi trang này."),
}

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T00:00:00(\.0+)?Z?)?$")

RowsGetter = Callable[[str], Sequence[Sequence[Any]]]


def clean(value: Any) -> Any:
    """One cell as the plan loader expects it: blanks None, whole floats int, midnight datetimes dates."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    if isinstance(value, str) and _ISO.match(value.strip()):
        return dt.date.fromisoformat(value.strip()[:10])
    return value


def table_rows(get_rows: RowsGetter, sheet: TableSheet) -> list[dict]:
    """The rows of a configuration table as dicts by key; blank rows skipped."""
    try:
        values = get_rows(sheet.name)
    except (KeyError, ValueError) as exc:
        raise ThiDuaError(f"Sổ làm việc thiếu trang «{sheet.name}».",
                          "Dùng sổ làm việc ThiDua gốc hoặc tạo lại bằng «thidua build-workbook».") from exc
    keys = [str(k).strip() if k not in (None, "") else "" for k in (values[KEY_ROW] if len(values) > KEY_ROW else [])]
    missing = [c.key for c in sheet.columns if c.key not in keys and c is not SOURCE]
    if missing:
        raise ThiDuaError(f"Trang «{sheet.name}» thiếu cột {', '.join(missing)} (dòng mã cột ẩn số {KEY_ROW + 1}).",
                          "Không xóa cột hay dòng ẩn; tạo lại sổ làm việc nếu cần.")
    out = []
    for row in values[FIRST_ROW:]:
        record = {key: clean(row[i]) if i < len(row) else None for i, key in enumerate(keys) if key}
        if any(v is not None for v in record.values()):
            out.append(record)
    return out


def plan_tables(get_rows: RowsGetter) -> dict:
    """The plan's flat tables (as `Plan.from_tables` takes them) from the workbook's sheets."""
    tables: dict[str, Any] = {"meta": {r["key"]: r.get("value") for r in table_rows(get_rows, META) if r.get("key")}}
    for sheet in PLAN_SHEETS:
        tables[sheet.key] = table_rows(get_rows, sheet)
    return tables


def register_rows(get_rows: RowsGetter) -> list[dict]:
    return table_rows(get_rows, REGISTER)


def file_rows(path: str | Path) -> RowsGetter:
    """A sheet-rows getter over a saved workbook (python-calamine, read only)."""
    from python_calamine import CalamineWorkbook
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise ThiDuaError(f"Không mở được sổ làm việc {Path(path).name}: {exc}.",
                          "Kiểm tra đường dẫn; đóng tệp nếu đang mở ở chế độ khóa.") from exc

    def get_rows(name: str) -> list[list[Any]]:
        if name not in book.sheet_names:
            raise KeyError(name)
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return get_rows


def read_plan_tables(path: Path) -> dict:
    return plan_tables(file_rows(path))


def read_register_rows(path: Path) -> list[dict]:
    return register_rows(file_rows(path))
