"""The master workbook's sheet layout, and reading the plan tables and the register back from it."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from xlsxwriter.utility import xl_rowcol_to_cell

from thidua.errors import ThiDuaError
from thidua.text.normalize import label_key
from thidua.plan.dated import ROLES, ROUNDINGS, TABLE_NAMES
from thidua.plan.model import FIGURES, ROUND_KINDS, RULE_KINDS
from thidua.plan.units import STATUS_LABELS as UNIT_STATUS_LABELS, STATUSES as UNIT_STATUSES
from thidua.store.vocabulary import PROPOSAL_STATE

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
    kind: str = "text"      # text, int, num, date, bool, list (choices), codes (several choices), code, any
    width: float = 14
    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()   # the Vietnamese word shown for each choice (the codes stay internal)
    optional: bool = False         # a column added later: a workbook built before it still reads (blank)

    def shown(self, value: Any) -> Any:
        """The label the office sees for a stored code (anything else unchanged); a "codes" column holds
        several, separated by commas."""
        if not self.labels or not isinstance(value, str):
            return value
        labels = dict(zip(self.choices, self.labels))
        if self.kind == "codes":
            return ", ".join(labels.get(part.strip(), part.strip()) for part in value.split(",") if part.strip())
        return labels.get(value, value)

    def code(self, value: Any) -> Any:
        """The code of a label typed or chosen in the workbook (a code itself is accepted too)."""
        if not self.labels or not isinstance(value, str):
            return value
        if self.kind == "codes":
            return ",".join(self._one(part) for part in value.split(",") if part.strip())
        return self._one(value)

    def _one(self, value: str) -> str:
        wanted = label_key(value)
        for code, label in zip(self.choices, self.labels):
            if wanted in (label_key(code), label_key(label)):      # «Sơ kết, tổng kết» of an older workbook too
                return code
        return value.strip()

    def known(self, value: Any) -> bool:
        """Whether a value read from the workbook is one of a list column's choices (or blank)."""
        if self.kind != "list" or not self.choices or value in (None, ""):
            return True
        return self._one(str(value)) in self.choices


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


# Labels are items of in-cell lists, which spreadsheet programs split at commas: never a comma in a label.
ROUND_KIND_LABELS = ("Đăng ký thi đua", "Báo cáo quý", "Sơ kết/tổng kết", "Đột xuất")
SUBJECTS = ("individual", "collective", "both")
SUBJECT_LABELS = ("Cá nhân", "Tập thể", "Cá nhân và tập thể")
TYPES = ("int", "money", "bool", "date")
TYPE_LABELS = ("Số nguyên", "Tiền (đồng)", "Có/Không", "Ngày")
TEMPLATE_SHEETS = ("info", "activities", "indicators", "selfscore", "proposals")
TEMPLATE_SHEET_LABELS = ("Thông tin đơn vị", "Hoạt động", "Chỉ tiêu", "Tự chấm điểm", "Đề nghị khen thưởng")
SOURCE = Col("source", "Nguồn", "list", 16, ("plan", "law", "config"), ("Kế hoạch", "Văn bản pháp luật", "Văn phòng đặt"))
# The plan declares which numbers are percentages (0-100): a cell shown as 92,5% (stored as 0,925) is read as
# 92,5 in every spreadsheet format; the program never guesses it from a label.
PERCENT = Col("percent", "Tỷ lệ phần trăm (%)", "bool", 10, optional=True)
DECIDERS = ("CDVC", "LDLD", "TLD")
DECIDER_LABELS = ("CĐVC tỉnh", "LĐLĐ tỉnh", "Tổng LĐLĐ Việt Nam")
# A row's validity in the plan tables that gained one (blank: open on that side).
VALIDITY = (Col("valid_from", "Từ ngày", "date", 12, optional=True), Col("valid_to", "Đến ngày", "date", 12, optional=True))
YEAR, YEAR_LABEL = "year", "Cả năm"      # the period «whole year»: code inside, label in the workbook


def period_code(value: Any) -> str:
    """The period code of the home sheet's «Đợt» cell: 1, 2 or year («Cả năm»)."""
    text = " ".join(str(value or "").split())
    if not text or text.casefold() in (YEAR, YEAR_LABEL.casefold()):
        return YEAR
    return text[:-2] if text.endswith(".0") else text

META = TableSheet("meta", "Thông tin chung", "THÔNG TIN CHUNG CỦA KẾ HOẠCH THI ĐUA",
                  "Mỗi dòng một thông số; chỉ sửa cột Giá trị.",
                  (Col("key", "Mã thông số", "code", 20), Col("value", "Giá trị", "text", 50),
                   Col("label", "Ý nghĩa", "text", 50)))
META_LABELS = {
    "year": "Năm thi đua", "plan_number": "Số kế hoạch", "plan_date": "Ngày ban hành kế hoạch",
    "template_version": "Phiên bản biểu mẫu", "rule_set": "Bộ quy tắc xếp loại đang dùng",
    "launch_goal_pct": "Mục tiêu tỷ lệ CĐCS phát động thi đua (%)",
    "launch_indicator": "Mã chỉ tiêu «đã phát động phong trào thi đua» (tính tỷ lệ phát động)",
    "launch_date_indicator": "Mã chỉ tiêu ngày phát động",
}
# The office's mailbox (thidua/mail/settings.py reads `mail_<key>`; thidua.toml beside the workbook wins).
MAIL_LABELS = {
    "mail_host": "Hộp thư: máy chủ IMAP (vd. imap.gmail.com)", "mail_security": "Hộp thư: mã hóa (ssl hoặc starttls)",
    "mail_user": "Hộp thư: tên đăng nhập (mật khẩu KHÔNG ghi ở đây)", "mail_folder": "Hộp thư: thư mục (mặc định INBOX)",
    "mail_smtp_host": "Gửi thư: máy chủ SMTP (vd. smtp.gmail.com)", "mail_sender": "Gửi thư: địa chỉ người gửi",
}
META_LABELS.update(MAIL_LABELS)

PLAN_SHEETS = (
    TableSheet("periods", "Đợt thi đua", "CÁC ĐỢT THI ĐUA", "Mỗi đợt một dòng; ngày viết ngày/tháng/năm.", (
        Col("code", "Mã đợt", "code", 8), Col("name", "Tên đợt", "text", 40), Col("start", "Từ ngày", "date", 12),
        Col("end", "Đến ngày", "date", 12), Col("review", "Hình thức đánh giá", "text", 14),
        Col("anniversaries", "Các ngày kỷ niệm", "text", 60), SOURCE)),
    TableSheet("rounds", "Kỳ báo cáo", "CÁC KỲ BÁO CÁO", "Cột «Trang biểu mẫu»: các trang của biểu mẫu kỳ đó ("
               + ", ".join(TEMPLATE_SHEET_LABELS) + "), cách nhau bởi dấu phẩy.", (
        Col("code", "Mã kỳ", "code", 8), Col("name", "Tên kỳ báo cáo", "text", 36),
        Col("kind", "Loại kỳ", "list", 16, ROUND_KINDS, ROUND_KIND_LABELS), Col("period", "Đợt", "code", 6),
        Col("start", "Từ ngày", "date", 12), Col("end", "Đến ngày", "date", 12), Col("due", "Hạn gửi", "date", 12),
        Col("sheets", "Trang biểu mẫu", "codes", 40, TEMPLATE_SHEETS, TEMPLATE_SHEET_LABELS), SOURCE)),
    TableSheet("contents", "Nội dung thi đua", "CÁC NỘI DUNG THI ĐUA", "Số thứ tự nội dung theo kế hoạch.", (
        Col("number", "Số", "int", 6), Col("name", "Nội dung thi đua", "text", 80), SOURCE)),
    TableSheet("indicators", "Chỉ tiêu", "CÁC CHỈ TIÊU ĐƠN VỊ BÁO CÁO",
               "Cột «Kiểu»: chọn trong danh sách. Cột «Các kỳ»: mã kỳ, cách nhau bởi dấu phẩy.", (
        Col("code", "Mã chỉ tiêu", "code", 16), Col("content", "Nội dung số", "int", 8),
        Col("label", "Chỉ tiêu", "text", 50), Col("unit", "Đơn vị tính", "text", 10),
        Col("type", "Kiểu", "list", 12, TYPES, TYPE_LABELS), Col("rounds", "Các kỳ", "text", 24),
        Col("required", "Bắt buộc", "bool", 9), Col("min", "Tối thiểu", "any", 10),
        Col("max", "Tối đa", "any", 12), Col("summary", "Vào bảng tổng hợp", "bool", 10),
        Col("figure", "Cách lấy số của đợt", "list", 14, FIGURES, ("Số của đợt", "Số mới nhất")), PERCENT, SOURCE)),
    TableSheet("rules", "Quy tắc kiểm tra", "CÁC QUY TẮC KIỂM TRA CHÉO GIỮA CÁC CHỈ TIÊU",
               "Loại: required_when (phải nhập khi điều kiện đúng), blank_when (để trống khi điều kiện đúng), "
               "not_more_than (chỉ tiêu thứ nhất không quá chỉ tiêu thứ hai). Mã lỗi: xem docs/CODES.md.", (
        Col("code", "Mã quy tắc", "code", 10), Col("kind", "Loại quy tắc", "list", 15, RULE_KINDS, ("Bắt buộc khi", "Để trống khi", "Không lớn hơn",
                                                               "Không giảm so với kỳ trước")),
        Col("fields", "Các chỉ tiêu", "text", 30), Col("when", "Khi (điều kiện)", "text", 28),
        Col("message", "Mã lỗi", "code", 9), Col("note", "Ghi chú", "text", 44), SOURCE)),
    TableSheet("charts", "Biểu đồ tổng hợp", "CÁC BIỂU ĐỒ CỦA BÁO CÁO SƠ KẾT, TỔNG KẾT",
               "Trang: contents (Biểu 2). Mỗi chỉ tiêu một cột của biểu đồ, cách nhau bởi dấu phẩy.", (
        Col("code", "Mã biểu đồ", "code", 10), Col("sheet", "Trang", "list", 14, ("contents",), ("Biểu 2: sáu nội dung",)),
        Col("title", "Tên biểu đồ", "text", 50), Col("indicators", "Các chỉ tiêu", "text", 40), SOURCE)),
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
               "Đối tượng: chọn trong danh sách. Để trống hạn mức nếu không giới hạn.", (
        Col("code", "Mã", "code", 10), Col("name", "Hình thức khen thưởng", "text", 50), Col("rank", "Thứ bậc", "int", 8),
        Col("subject", "Đối tượng", "list", 16, SUBJECTS, SUBJECT_LABELS), Col("quota", "Hạn mức", "int", 9),
        Col("decided_by", "Cấp quyết định", "list", 14, DECIDERS, DECIDER_LABELS),
        Col("certificate", "Loại giấy (Giấy khen, Bằng khen…)", "text", 16), SOURCE)),
    TableSheet("titles", "Danh hiệu thi đua", "CÁC DANH HIỆU THI ĐUA", "Điều kiện viết như ở trang Mức xếp loại.", (
        Col("code", "Mã", "code", 10), Col("name", "Danh hiệu", "text", 36),
        Col("subject", "Đối tượng", "list", 16, SUBJECTS, SUBJECT_LABELS), Col("conditions", "Điều kiện", "text", 50), SOURCE)),
    TableSheet("proposal_fields", "Trường đề nghị KT", "CÁC CỘT CỦA BẢNG ĐỀ NGHỊ KHEN THƯỞNG",
               "Mỗi dòng thành một cột của trang «Đề nghị khen thưởng» trong biểu mẫu. Kiểu «Chọn có thứ bậc»: các "
               "lựa chọn ghi từ thấp đến cao.", (
        Col("code", "Mã trường", "code", 16), Col("label", "Tên cột", "text", 40),
        Col("type", "Kiểu", "list", 14, ("choice", "level", "int", "decimal"),
            ("Chọn", "Chọn có thứ bậc", "Số nguyên", "Số thập phân")),
        Col("choices", "Các lựa chọn (cách nhau bởi dấu phẩy)", "text", 40),
        Col("subject", "Đối tượng", "list", 16, SUBJECTS, SUBJECT_LABELS), Col("min", "Tối thiểu", "num", 9),
        Col("max", "Tối đa", "num", 9), Col("width", "Độ rộng cột", "num", 8), Col("help", "Hướng dẫn", "text", 40),
        Col("history", "Tính từ lịch sử: số năm liên tục xếp loại ở các mức (mã, tập thể)", "text", 22, optional=True),
        PERCENT, SOURCE)),
    TableSheet("conditions", "Điều kiện khen thưởng", "ĐIỀU KIỆN CỦA CÁC HÌNH THỨC KHEN THƯỞNG",
               "Mỗi điều kiện một dòng: «mã_trường toán_tử giá_trị» (với trường có thứ bậc, < và > so thứ bậc; "
               "«title >= Lao động tiên tiến»: danh hiệu đã được cơ quan công nhận). Căn cứ: mã loại văn bản "
               "(union_rules, state_law, state_decree) hoặc mã văn bản ở trang «" + TABLE_NAMES["legal_bases"]
               + "», rồi «: phần văn bản»; văn bản có hiệu lực ngày xét được ghi ra.", (
        Col("applies", "Mã danh hiệu / hình thức", "code", 12),
        Col("subject", "Đối tượng (trống: cả hai)", "list", 12, ("individual", "collective"), ("Cá nhân", "Tập thể")),
        Col("rule", "Điều kiện", "text", 28), Col("text", "Diễn giải", "text", 44),
        Col("legal", "Căn cứ pháp lý (mã)", "text", 34),
        Col("rounds", "Chỉ các kỳ (trống: mọi kỳ)", "text", 10, optional=True), *VALIDITY, SOURCE)),
    TableSheet("quotas", "Hạn mức khen thưởng", "HẠN MỨC SỐ LƯỢNG, TỶ LỆ KHEN THƯỞNG",
               "Phạm vi: mỗi đơn vị hoặc toàn tỉnh, tính cho cả năm. Ghi số lượng tối đa, hoặc tỷ lệ tối đa "
               "(0,15 = 15%) so với số người đạt danh hiệu ở cột «So với». Hạn mức chỉ để cảnh báo.", (
        Col("applies", "Mã danh hiệu / hình thức", "code", 12), Col("per", "Phạm vi", "list", 12, ("unit", "province"), ("Mỗi đơn vị", "Toàn tỉnh")),
        Col("max_count", "Số lượng tối đa", "int", 10), Col("max_ratio", "Tỷ lệ tối đa", "num", 10),
        Col("of", "So với (mã danh hiệu)", "code", 12), Col("legal", "Căn cứ pháp lý (mã)", "text", 34),
        *VALIDITY, SOURCE)),
) + (   # the dated data (plan/dated.py): what is in force on a date, whatever the year
    TableSheet("legal_bases", TABLE_NAMES["legal_bases"], "CĂN CỨ PHÁP LÝ THEO THỜI GIAN HIỆU LỰC",
               "Mỗi văn bản một dòng, có hiệu lực «Từ ngày» «Đến ngày» (trống: không giới hạn). Quyết định trích "
               "các văn bản có hiệu lực vào ngày ký, theo cột Thứ tự. Khi văn bản thay đổi: ghi «Đến ngày» cho dòng "
               "cũ và thêm dòng mới.", (
        Col("code", "Mã văn bản", "code", 11),
        Col("role", "Loại", "list", 18, ROLES, ("Điều lệ Công đoàn", "Luật", "Nghị định", "Quy chế khen thưởng CĐ")),
        Col("order", "Thứ tự trích", "int", 7), Col("citation", "Dòng «Căn cứ» in trong quyết định", "text", 60),
        Col("short", "Tên ngắn", "text", 22), Col("valid_from", "Từ ngày", "date", 12),
        Col("valid_to", "Đến ngày", "date", 12), Col("source", "Nguồn", "text", 40))),
    TableSheet("base_salaries", TABLE_NAMES["base_salaries"], "MỨC LƯƠNG CƠ SỞ THEO THỜI GIAN",
               "Tiền thưởng tính theo mức lương cơ sở có hiệu lực vào ngày ký quyết định.", (
        Col("amount", "Mức lương cơ sở (đồng/tháng)", "int", 16), Col("valid_from", "Từ ngày", "date", 12),
        Col("valid_to", "Đến ngày", "date", 12), Col("source", "Nguồn", "text", 60))),
    TableSheet("award_money", TABLE_NAMES["award_money"], "TIỀN THƯỞNG KÈM THEO HÌNH THỨC KHEN THƯỞNG",
               "Tiền thưởng = hệ số × mức lương cơ sở ngày ký, làm tròn theo cột «Làm tròn đến» (lên: up).", (
        Col("form", "Mã hình thức", "code", 10),
        Col("subject", "Đối tượng", "list", 12, ("individual", "collective"), ("Cá nhân", "Tập thể")),
        Col("coefficient", "Hệ số", "num", 8), Col("round_to", "Làm tròn đến (đồng)", "int", 11),
        Col("rounding", "Cách làm tròn", "list", 11, ROUNDINGS, ("Lên", "Gần nhất", "Xuống")),
        Col("legal", "Căn cứ (mã)", "text", 30), Col("valid_from", "Từ ngày", "date", 12),
        Col("valid_to", "Đến ngày", "date", 12), Col("source", "Nguồn", "text", 40))),
    TableSheet("offices", TABLE_NAMES["offices"], "TÊN CƠ QUAN, ĐỊA DANH VÀ NGƯỜI KÝ THEO THỜI GIAN",
               "Văn bản in tên có hiệu lực vào ngày của văn bản. Khi tên, địa danh hay người ký thay đổi: ghi «Đến "
               "ngày» cho dòng cũ và thêm dòng mới.", (
        Col("issuer_parent", "Cơ quan cấp trên (chữ in hoa)", "text", 24),
        Col("issuer", "Cơ quan ban hành (chữ in hoa)", "text", 24),
        Col("issuer_name", "Tên cơ quan trong câu văn", "text", 28),
        Col("deciding_body", "Cơ quan ký quyết định", "text", 12),
        Col("awarding_body", "Giấy khen của", "text", 30), Col("place", "Địa danh", "text", 12),
        Col("signer_title", "Chức danh người ký", "text", 18), Col("signer_name", "Họ tên người ký", "text", 16),
        Col("doc_suffix", "Ký hiệu sau số văn bản", "text", 8), Col("valid_from", "Từ ngày", "date", 12),
        Col("valid_to", "Đến ngày", "date", 12), Col("source", "Nguồn", "text", 30))),
)

REGISTER = TableSheet("units", "Danh sách đơn vị", "DANH SÁCH CÔNG ĐOÀN CƠ SỞ",
                      "Mỗi CĐCS một dòng; mã chỉ gồm chữ và số, không trùng. Đơn vị giải thể, sáp nhập, đổi tên: "
                      "giữ dòng, chọn Tình trạng và ghi mã đơn vị kế tục (lịch sử của đơn vị được giữ).", (
    Col("code", "Mã đơn vị", "code", 10), Col("name", "Tên công đoàn cơ sở", "text", 46),
    Col("cluster", "Khối thi đua", "text", 18), Col("staff", "Số CBCCVC-LĐ", "int", 11),
    Col("members", "Số đoàn viên", "int", 11), Col("email", "Thư điện tử", "text", 30),
    Col("founded", "Ngày thành lập", "date", 13),
    Col("status", "Tình trạng", "list", 16, UNIT_STATUSES, UNIT_STATUS_LABELS, optional=True),
    Col("successor", "Đơn vị kế tục (mã)", "code", 12, optional=True)))

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


CONTROLS = (           # rows never move (a workbook in use is read by these positions); a new one takes a free row
    Control("ThiDua_Ky", "Kỳ báo cáo (chọn trong danh sách)", 3),
    Control("ThiDua_Dot", "Đợt xếp loại, tổng kết (1, 2 hoặc Cả năm)", 4),
    Control("ThiDua_Tep", "Tệp cần kiểm tra (mỗi dòng một tệp)", 5),
    Control("ThiDua_HopThu", "Thư mục hộp thư (để trống: thư mục hop-thu-<năm> cạnh sổ này)", 6),
    Control("ThiDua_TrangThai", "Kết quả lần chạy gần nhất", 7),
    Control("ThiDua_Lenh", "Lệnh Python gần nhất (dùng khi kiểm thử)", 8),
    Control("ThiDua_HinhThuc", "Hình thức khen thưởng cần soạn văn bản (mã, ví dụ GK; để trống: mọi hình thức)", 9),
    Control("ThiDua_SaoLuu", "Bản sao lưu cần khôi phục (để trống: nút «Khôi phục dữ liệu» hỏi tệp)", 10),
)
CONTROL = {c.name: c for c in CONTROLS}


RESULT_SHEETS = {
    "tracking": ("Theo dõi", "THEO DÕI NỘP BÁO CÁO", "Nút «Theo dõi, nhắc nộp» ghi trang này."),
    "problems": ("Các lỗi", "CÁC LỖI TRONG TỆP ĐƠN VỊ GỬI", "Nút «Kiểm tra tệp đã chọn» và «Tổng hợp hộp thư» ghi trang này."),
    "data": ("Dữ liệu tổng hợp", "DỮ LIỆU TỔNG HỢP", "Nút «Tổng hợp hộp thư» ghi trang này."),
    "scores": ("Xếp loại", "CHẤM ĐIỂM VÀ XẾP LOẠI", "Nút «Xếp loại, khen thưởng» ghi trang này."),
    "awards": ("Khen thưởng", "ĐỀ NGHỊ KHEN THƯỞNG VÀ ĐIỀU KIỆN",
               "Nút «Xếp loại, khen thưởng» ghi trang này. Văn phòng chọn quyết định ở cột «Văn phòng quyết định» "
               "(nâng hình thức: ghi hình thức; khen người chưa đủ điều kiện hoặc sửa quyết định đã có: ghi lý do) "
               "rồi bấm lại nút: quyết định được ghi vào kho dữ liệu, kết quả ở cột «Kết quả ghi»."),
    "summary": ("Tổng kết", "TỔNG KẾT THI ĐUA", "Nút «Tổng kết năm» ghi trang này."),
    "mail": ("Thư chưa rõ", "THƯ GỬI BỊ DỪNG GIỮA CHỪNG: VĂN PHÒNG KIỂM TRA RỒI QUYẾT ĐỊNH",
             "Nút «Gửi biểu mẫu / thư nhắc» ghi trang này khi lần gửi trước bị dừng lúc đang gửi. Xem «Thư đã gửi» "
             "của hộp thư văn phòng (tìm theo tiêu đề và mã thư), chọn «Gửi lại» (đơn vị chưa nhận) hoặc «Đã nhận» ở "
             "cột «Văn phòng quyết định», rồi bấm lại nút."),
    "newyear": ("Năm mới", "CHUYỂN SANG NĂM {year}: ĐÃ CHUYỂN GÌ, VĂN PHÒNG CẦN KIỂM TRA GÌ",
                "Nút «Chuyển sang năm mới» ghi trang này (ở sổ năm trước và sổ năm mới); làm xong mục nào thì ghi "
                "chú bên cạnh."),
}
REPORT_HEADER = ("STT", "Phần", "Việc", "Nội dung")   # the «Năm mới» sheet (year/rollover.py writes its rows)

# The «Khen thưởng» sheet: every proposal with its verdict, then what the office decides on it (chosen in the list of
# DECISION_CHOICES, with a higher form when raising and a reason where the office overrules the conditions), and what
# became of that choice when «Xếp loại, khen thưởng» recorded it.
DECISION_COLUMN, FORM_COLUMN, REASON_COLUMN, RESULT_COLUMN = (
    "Văn phòng quyết định", "Hình thức (khi nâng)", "Lý do, ghi chú quyết định", "Kết quả ghi")
AWARDS_HEADER = ("Số đề nghị", "Mã đơn vị", "Kỳ", "Đối tượng", "Họ tên / tập thể", "Danh hiệu", "Hình thức",
                 "Trạng thái", "Đủ điều kiện", "Ghi chú", DECISION_COLUMN, FORM_COLUMN, REASON_COLUMN, RESULT_COLUMN)
AWARDS_WIDTHS = (9, 10, 6, 9, 28, 26, 26, 14, 9, 40, 20, 18, 30, 44)
DECISION_CHOICES = {code: PROPOSAL_STATE[code] for code in ("reviewed", "not_met", "raised", "awarded")}
DECISION_ROWS = 5000            # rows of the sheet offering the list of decisions
# The «Thư chưa rõ» sheet: messages a killed send left «sending», and what the office decides on each.
MAIL_HEADER = ("Mã đơn vị", "Kỳ", "Loại thư", "Gửi tới", "Tiêu đề", "Bắt đầu gửi lúc", "Mã thư (Message-ID)",
               DECISION_COLUMN, "Ghi chú", RESULT_COLUMN)
MAIL_WIDTHS = (10, 6, 10, 28, 40, 18, 34, 20, 30, 44)
MAIL_CHOICES = {"resend": "Gửi lại", "mark_sent": "Đã nhận"}
MAIL_KINDS = {"templates": "Biểu mẫu", "reminders": "Thư nhắc"}

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
    missing = [c.key for c in sheet.columns if c.key not in keys and c is not SOURCE and not c.optional]
    if missing:
        raise ThiDuaError(f"Trang «{sheet.name}» thiếu cột {', '.join(missing)} (dòng mã cột ẩn số {KEY_ROW + 1}).",
                          "Không xóa cột hay dòng ẩn; tạo lại sổ làm việc nếu cần.")
    out = []
    by_key = {c.key: c for c in sheet.columns}
    for r, row in enumerate(values[FIRST_ROW:], start=FIRST_ROW):
        record = {key: clean(row[i]) if i < len(row) else None for i, key in enumerate(keys) if key}
        for key, value in record.items():
            if key in by_key:
                col = by_key[key]
                if not col.known(value):
                    cell = xl_rowcol_to_cell(r, keys.index(key))
                    raise ThiDuaError(f"Trang «{sheet.name}», ô {cell} (cột «{col.label}»): «{value}» không có trong "
                                      f"danh sách ({'; '.join(col.labels or col.choices)}).",
                                      "Chọn lại giá trị của ô đó trong danh sách thả xuống, lưu sổ rồi chạy lại.")
                record[key] = col.code(value)
        if any(v is not None for v in record.values()):
            out.append(record)
    return out


def plan_tables(get_rows: RowsGetter) -> dict:
    """The plan's flat tables (as `Plan.from_tables` takes them) from the workbook's sheets."""
    tables: dict[str, Any] = {"meta": {r["key"]: r.get("value") for r in table_rows(get_rows, META)
                                       if r.get("key") and r.get("value") is not None}}   # a blank row: not set
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


def _result_table(get_rows: RowsGetter, key: str, labels: Sequence[str]) -> tuple[list, list[int]]:
    """A result sheet's rows and the positions of the columns headed `labels` ([] when the sheet is missing or was
    written by a version without one of them)."""
    try:
        rows = get_rows(RESULT_SHEETS[key][0])
    except (KeyError, ValueError):
        return [], []
    if not rows or len(rows) <= HEADER_ROW:
        return [], []
    where = {label_key(str(v)): i for i, v in enumerate(rows[HEADER_ROW]) if clean(v) is not None}
    need = [label_key(label) for label in labels]
    return (rows, [where[k] for k in need]) if all(k in where for k in need) else ([], [])


@dataclass(frozen=True)
class TypedDecision:
    """A decision the office chose on one row of the «Khen thưởng» sheet (`state` None: not one of the choices)."""

    row: int                # the row number Excel shows
    proposal: int | None    # the «Số đề nghị» of the row (None: missing or not a number)
    name: str               # the row's «Họ tên / tập thể», checked against the store before recording
    chosen: str             # the choice as typed
    state: str | None
    form: str
    reason: str


def typed_decisions(get_rows: RowsGetter) -> list[TypedDecision]:
    """The rows of the «Khen thưởng» sheet where the office chose a decision (none when the sheet has not been
    written by this version: no «Số đề nghị» column)."""
    rows, where = _result_table(get_rows, "awards", (AWARDS_HEADER[0], "Họ tên / tập thể", DECISION_COLUMN,
                                                      FORM_COLUMN, REASON_COLUMN))
    if not where:
        return []
    number, name, choice, form, reason = where
    states = {label_key(label): code for code, label in DECISION_CHOICES.items()} | \
             {label_key(code): code for code in DECISION_CHOICES}

    def cell(r: Sequence[Any], i: int) -> Any:
        return clean(r[i]) if i < len(r) else None
    found = []
    for n, r in enumerate(rows[FIRST_ROW:], start=FIRST_ROW + 1):
        chosen = cell(r, choice)
        if chosen is None:
            continue
        pid = cell(r, number)
        found.append(TypedDecision(n, pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                                   str(cell(r, name) or ""), str(chosen).strip(), states.get(label_key(str(chosen))),
                                   str(cell(r, form) or "").strip(), " ".join(str(cell(r, reason) or "").split())))
    return found


@dataclass(frozen=True)
class TypedMailDecision:
    """A decision the office chose on one row of the «Thư chưa rõ» sheet (`action` None: not one of the choices)."""

    row: int
    unit: str
    round: str
    what: str | None        # templates / reminders (None: not a kind this sheet writes)
    chosen: str
    action: str | None
    note: str


def typed_mail_decisions(get_rows: RowsGetter) -> list[TypedMailDecision]:
    """The rows of the «Thư chưa rõ» sheet where the office chose «Gửi lại» or «Đã nhận» (or typed something else)."""
    rows, where = _result_table(get_rows, "mail", (*MAIL_HEADER[:3], DECISION_COLUMN, MAIL_HEADER[8]))
    if not where:
        return []
    unit, rnd, kind, choice, note = where
    actions = {label_key(label): code for code, label in MAIL_CHOICES.items()}
    kinds = {label_key(label): code for code, label in MAIL_KINDS.items()}

    def cell(r: Sequence[Any], i: int) -> str:
        value = clean(r[i]) if i < len(r) else None
        return "" if value is None else " ".join(str(value).split())
    return [TypedMailDecision(n, cell(r, unit).upper(), cell(r, rnd), kinds.get(label_key(cell(r, kind))),
                              cell(r, choice), actions.get(label_key(cell(r, choice))), cell(r, note))
            for n, r in enumerate(rows[FIRST_ROW:], start=FIRST_ROW + 1) if cell(r, choice)]
