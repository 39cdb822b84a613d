"""The catalogue of issue codes: severity and Vietnamese message template, in one place (see docs/CODES.md)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thidua.intake.result import ERROR, WARNING, Issue
from thidua.text.numbers import format_number  # noqa: F401  (re-exported: validate imports it here)


@dataclass(frozen=True)
class Message:
    """One code: severity and a `str.format` template with named fields."""

    code: str
    severity: str
    template: str


_E, _W = ERROR, WARNING

CATALOGUE: dict[str, Message] = {m.code: m for m in (
    # -- the file itself (status "unreadable": nothing else is read)
    Message("F001", _E, "Tệp «{file}» rỗng (0 byte). Gửi lại tệp biểu mẫu đã điền."),
    Message("F002", _E, "Tệp «{file}» bị hỏng, không mở được ({detail}). Mở lại biểu mẫu gốc, điền và lưu lại thành .xlsx rồi gửi lại."),
    Message("F003", _E, "Tệp «{file}» là văn bản CSV đổi đuôi thành {ext}, không phải sổ Excel. Điền trực tiếp vào biểu mẫu .xlsx được gửi rồi gửi lại đúng tệp đó."),
    Message("F004", _W, "Tệp «{file}» thực chất là định dạng {actual} nhưng mang đuôi {ext}; vẫn đọc được. Lần sau hãy lưu đúng định dạng .xlsx."),
    Message("F005", _E, "Tệp «{file}» được đặt mật khẩu (mã hóa) nên không đọc được. Mở tệp, bỏ mật khẩu (Tệp > Thông tin > Bảo vệ sổ làm việc) rồi gửi lại."),
    Message("F006", _W, "Tệp «{file}» có chứa macro (VBA). Macro không bao giờ được chạy; chỉ đọc số liệu. Lần sau hãy lưu thành .xlsx thường."),
    Message("F007", _W, "«{file}» là tệp khóa tạm của Excel/LibreOffice (~$...), không phải báo cáo: bỏ qua."),
    Message("F008", _E, "Tệp «{file}» khi giải nén lớn bất thường ({detail}), có thể là tệp độc hại: không đọc. Gửi lại đúng biểu mẫu đã điền."),
    Message("F009", _E, "Tệp «{file}» chứa cấu trúc XML không an toàn ({detail}): không đọc. Gửi lại đúng biểu mẫu đã điền."),
    Message("F010", _E, "Tệp «{file}» quá lớn ({detail}). Biểu mẫu đã điền chỉ vài chục KB: gửi lại đúng biểu mẫu, không chèn ảnh."),
    Message("F011", _E, "Tệp «{file}» không phải sổ tính Excel/LibreOffice ({detail}). Gửi lại biểu mẫu .xlsx đã điền."),
    Message("F012", _E, "Không đọc được tệp «{file}»: {detail}. Mở bằng Excel hoặc LibreOffice, lưu lại thành .xlsx rồi gửi lại."),
    Message("F013", _E, "Tệp «{file}» bị hỏng ở phần «{part}» ({detail}); không chương trình đọc nào mở được. Mở tệp bằng Excel hoặc LibreOffice: nếu mở được thì lưu lại thành .xlsx rồi gửi lại, nếu không thì điền lại biểu mẫu gốc."),
    Message("F014", _E, "Tệp «{file}»: {detail}, vượt xa sức chứa của biểu mẫu ({limit}) nên không đọc. Xóa phần dán thừa ngoài các bảng (dòng, cột, ô ở xa) hoặc điền lại biểu mẫu gốc rồi gửi lại."),
    # -- identity (hidden metadata written into every template)
    Message("M001", _E, "Tệp không có thông tin nhận dạng của biểu mẫu (trang ẩn «{sheet}»): có thể đã chép số liệu sang sổ khác. Điền trực tiếp vào biểu mẫu được gửi cho đơn vị rồi gửi lại."),
    Message("M002", _E, "Thông tin nhận dạng của biểu mẫu bị sửa hoặc hỏng ({detail}). Tải lại biểu mẫu gốc của đơn vị, điền lại rồi gửi."),
    Message("M003", _E, "Biểu mẫu không có chữ ký của Văn phòng (biểu mẫu trống hoặc tự tạo). Dùng biểu mẫu đã ghi sẵn tên đơn vị mà Văn phòng gửi."),
    Message("M004", _E, "Chữ ký của biểu mẫu không khớp với đơn vị {unit}, kỳ {round}: tệp đã bị sửa thông tin nhận dạng hoặc là của đơn vị khác. Dùng đúng biểu mẫu Văn phòng gửi cho đơn vị."),
    Message("M005", _E, "Mã đơn vị «{unit}» không có trong danh sách đơn vị của Văn phòng. Liên hệ Văn phòng để được cấp đúng biểu mẫu."),
    Message("M006", _E, "Biểu mẫu phiên bản {found} đã cũ; phiên bản hiện hành là {expected}. Tải biểu mẫu mới, chép số liệu sang rồi gửi lại."),
    Message("M007", _E, "Kỳ báo cáo «{round}» ghi trong biểu mẫu không có trong kế hoạch thi đua. Dùng biểu mẫu của kỳ đang báo cáo."),
    Message("M008", _E, "Tệp là biểu mẫu của đơn vị {unit}, không phải của đơn vị {expected}. Mỗi đơn vị gửi đúng biểu mẫu mang tên mình."),
    Message("M009", _E, "Tệp là biểu mẫu của kỳ {round}, không phải kỳ {expected}. Gửi biểu mẫu của kỳ {expected}."),
    Message("M010", _W, "Chưa có khóa của Văn phòng nên chưa kiểm tra được chữ ký của biểu mẫu."),
    Message("M012", _E, "Biểu mẫu được ký bằng một khóa khác (mã khóa {found}), không phải khóa đang dùng để kiểm tra (mã khóa {expected}): tệp không bị sửa nhưng không do Văn phòng này cấp với khóa hiện tại. Văn phòng kiểm tra lại khóa trước khi trả lời đơn vị."),
    Message("M013", _E, "Đơn vị {unit} đã được đánh dấu «{status}» trong danh sách đơn vị năm nay ({successor}): báo cáo này không được tính. Nếu đơn vị vẫn hoạt động, Văn phòng sửa cột «Tình trạng» trong danh sách đơn vị rồi tổng hợp lại; nếu không, đơn vị kế tục gửi báo cáo bằng biểu mẫu của mình."),
    Message("M011", _E, "Ô mã đơn vị trên trang «{sheet}» ghi «{value}» nhưng biểu mẫu được cấp cho đơn vị {unit}: không sửa thông tin đã ghi sẵn."),
    # -- structure of the workbook
    Message("S001", _E, "Thiếu trang «{sheet}» (đã xóa hoặc đổi tên không nhận ra). Tải lại biểu mẫu gốc, không xóa hay đổi tên trang."),
    Message("S002", _W, "Trang «{sheet}» đã bị đổi tên thành «{found}»; vẫn đọc được. Lần sau giữ nguyên tên trang."),
    Message("S003", _W, "Trang «{sheet}» đang bị ẩn; vẫn đọc số liệu. Hãy bỏ ẩn trang này."),
    Message("S004", _W, "Trang «{sheet}»: {detail}; đã tìm lại số liệu theo nhãn. Lần sau không chèn hay xóa dòng, cột."),
    Message("S005", _E, "Trang «{sheet}»: không tìm thấy dòng «{label}» ({detail}). Tải lại biểu mẫu gốc, không chèn, xóa hay sửa dòng đã ghi sẵn."),
    Message("S006", _W, "Trang «{sheet}»: bảng đã bị dời từ dòng {expected} sang dòng {found}; vẫn đọc theo tiêu đề cột. Lần sau không chèn dòng, cột."),
    Message("S007", _E, "Trang «{sheet}»: không tìm thấy dòng tiêu đề của bảng ({detail}). Tải lại biểu mẫu gốc, không sửa tiêu đề cột."),
    Message("S008", _E, "Ô {cell} trên trang «{sheet}» đã bị gộp ô ({detail}). Bỏ gộp ô (Merge) và nhập từng ô riêng."),
    Message("S009", _W, "Tệp có liên kết tới sổ tính khác ({detail}); các liên kết không được đọc. Nhập số liệu trực tiếp, không tham chiếu tệp khác."),
    Message("S010", _E, "Ô {cell} trên trang «{sheet}» chứa công thức «{value}»; chỉ nhận số liệu gõ trực tiếp. Gõ kết quả thay cho công thức."),
    Message("S011", _W, "Trang «{sheet}»: bảng có {found} dòng, nhiều hơn {expected} dòng của biểu mẫu; vẫn đọc đủ. Lần sau nếu thiếu dòng hãy gửi thêm một tệp."),
    # -- one value
    Message("V001", _E, "Chưa nhập «{label}». {help}"),
    Message("V002", _E, "«{label}»: «{value}» không phải là số. {help}"),
    Message("V003", _E, "«{label}»: «{value}» có kèm chữ. Chỉ nhập chữ số, ví dụ {suggestion}."),
    Message("V004", _W, "«{label}»: đã hiểu «{value}» là {understood}. Kiểm tra lại; lần sau chỉ nhập chữ số."),
    Message("V005", _E, "«{label}»: {value} phải là số nguyên. {help}"),
    Message("V006", _E, "«{label}»: {value} nhỏ hơn mức tối thiểu {bound}. {help}"),
    Message("V007", _E, "«{label}»: {value} lớn hơn mức tối đa {bound}. {help}"),
    Message("V008", _E, "«{label}»: «{value}» không phải là ngày. Viết theo dạng ngày/tháng/năm, ví dụ 15/03/2019."),
    Message("V009", _W, "«{label}»: đã hiểu «{value}» là ngày {understood}. Kiểm tra lại ngày/tháng."),
    Message("V010", _E, "«{label}»: ngày {value} nằm ngoài thời gian cho phép ({bound}). {help}"),
    Message("V011", _E, "«{label}»: «{value}» không có trong danh sách. Chọn một trong: {choices}."),
    Message("V012", _W, "«{label}»: đã hiểu «{value}» là «{understood}». Lần sau chọn trong danh sách thả xuống."),
    Message("V013", _E, "«{label}»: dài {found} ký tự, vượt quá {bound} ký tự cho phép. Rút gọn nội dung."),
    Message("V014", _W, "«{label}»: văn bản gõ bằng bảng mã cũ {encoding} đã được chuyển sang Unicode: «{understood}». Kiểm tra lại; lần sau gõ bằng Unicode."),
    Message("V015", _W, "«{label}»: «{value}» có vẻ gõ bằng bảng mã cũ (TCVN3/VNI) nhưng không chuyển đổi chắc chắn được. Gõ lại bằng Unicode."),
    Message("V016", _W, "«{label}»: «{value}» đọc được nhiều cách: đã dùng {understood}; cũng có thể là {other}. Kiểm tra lại; nếu sai, gõ lại bằng Unicode."),
    Message("V017", _E, "«{label}»: ô đang hiển thị lỗi {value} ({meaning}) thay cho số liệu. Sửa công thức hoặc gõ trực tiếp số liệu vào ô."),
    Message("V018", _W, "«{label}»: đã hiểu {value} là {understood}% (ô nhập tỷ lệ phần trăm từ 0 đến 100). Nếu đúng là {value}%, sửa lại; lần sau gõ số phần trăm, ví dụ 85."),
    Message("V019", _W, "«{label}» có {detail} (thường do chép từ nơi khác): đã bỏ đi, dùng «{value}». Kiểm tra lại nội dung."),
    Message("V020", _W, "«{label}»: ô ghi «{value}», có cả giờ, trong khi chỉ cần ngày (thường do chương trình xuất tệp lệch múi giờ): đã hiểu là ngày {understood}; nếu đúng là ngày {other} thì sửa lại. Gõ lại ngày, không kèm giờ."),
    Message("V022", _W, "«{label}» của đơn vị {unit} kỳ {round} là {value}, nhỏ hơn {bound} đã báo cáo kỳ {earlier} (tệp «{earlier_file}») dù số liệu cộng dồn từ đầu năm (tệp kỳ {round}: «{file}»). Kiểm tra lại hai số liệu với đơn vị."),
    Message("V021", _W, "«{label}»: ô ghi «{value}», có cả giờ, trong khi chỉ cần ngày: đã dùng ngày {understood}, bỏ phần giờ. Kiểm tra lại; gõ ngày, không kèm giờ."),
    # -- rules across fields
    Message("X001", _E, "Số đoàn viên ({value}) lớn hơn tổng số CBCCVC-LĐ ({bound}). Kiểm tra lại hai số liệu."),
    Message("X002", _E, "Số đoàn viên kết nạp mới ({value}) lớn hơn tổng số đoàn viên ({bound}). Kiểm tra lại hai số liệu."),
    Message("X003", _E, "Đã chọn «Có» ở «{other}» nên phải nhập «{label}»."),
    Message("X004", _W, "«{label}» có ngày {value} nhưng «{other}» là «Không». Kiểm tra lại."),
    Message("X005", _E, "«{value}» được đề nghị trùng ở các dòng {rows} (cùng danh hiệu/hình thức). Xóa dòng trùng."),
    Message("X006", _W, "Dòng {row}: «{value}» không đủ điều kiện: {detail}. Đề nghị này được ghi «Không đủ điều kiện»; các dòng khác vẫn được nhận."),
    Message("X007", _W, "Dòng {row}: cần ghi «{label}» để xét «{title}»; chưa có thì đề nghị được ghi «Không đủ điều kiện»."),
    Message("X008", _W, "Dòng {row}: «{value}» dành cho {expected}, nhưng đối tượng của dòng là «{found}»; đề nghị được ghi «Không đủ điều kiện». Sửa đối tượng hoặc chọn danh hiệu/hình thức khác."),
    Message("X009", _W, "Ô tổng điểm ghi {value} nhưng tổng điểm tự chấm là {understood}; dùng tổng tính lại. Không sửa ô tổng cộng."),
    Message("X012", _W, "Dòng {row}: {detail}. Văn phòng sẽ chọn trong số các đề nghị này."),
    Message("X010", _E, "Dòng {row}: chưa chọn danh hiệu thi đua hoặc hình thức khen thưởng cho «{value}»."),
    Message("X011", _E, "«{label}» ({value}) lớn hơn «{other}» ({bound}). Kiểm tra lại hai số liệu."),
    # -- award proposals judged across files and at a decision (awards/): #19 owns X013-X019
    Message("X013", _W, "«{value}» được đề nghị {form} hơn một lần trong năm {year}: {sources}. Một thành tích chỉ được khen một lần ở một cấp: giữ một đề nghị, ghi «Không đạt» cho đề nghị kia (thidua proposals decide --id N --state not_met)."),
    Message("X014", _W, "Dòng {row}: danh hiệu «{title}» chưa ghi {missing} quyết định công nhận của cơ quan, đơn vị nên chưa được tính là điều kiện khen thưởng. Ghi số và ngày quyết định công nhận."),
    Message("X015", _W, "Dòng {row}: «{title}» là danh hiệu năm, chỉ ghi ở kỳ {year_end}; danh hiệu ghi ở kỳ {round} không được tính."),
    Message("X016", _W, "Dòng {row}: «{value}» là đề nghị khen thưởng đột xuất gửi trong kỳ {round}: không vào quyết định {kind} mà vào quyết định khen thưởng đột xuất (thidua awards decision --round {round} --adhoc)."),
    Message("X017", _W, "«{value}» không đủ điều kiện ({detail}) nhưng được khen thưởng theo quyết định của Văn phòng, lý do: {reason}."),
    Message("X018", _W, "Dòng {row}: quyết định công nhận danh hiệu «{title}» ngày {value} sau ngày {bound} của quyết định khen thưởng nên chưa được tính."),
    Message("X019", _W, "Dòng {row}: {detail}. Tỷ lệ này ràng buộc danh sách công nhận của cơ quan, đơn vị (nơi quyết định danh hiệu), không phải đề nghị của Công đoàn: kiểm tra lại quyết định công nhận."),
    # -- years (#20): a file of another year; proposal fields the history of years computes
    Message("X020", _E, "Tệp là báo cáo năm {found} (biểu mẫu phiên bản {value}), không phải năm {expected}: không được tính vào năm {expected}. Nếu là báo cáo năm {found}, đưa tệp vào hộp thư của năm {found}; nếu là báo cáo năm {expected}, tải biểu mẫu năm {expected}, chép số liệu sang rồi gửi lại."),
    Message("X021", _W, "«{label}» của {unit} ghi {value} nhưng lịch sử trong kho dữ liệu các năm cho {understood} ({detail}): dùng {understood}. Nếu lịch sử thiếu, văn phòng bổ sung rồi xét lại."),
    Message("X022", _W, "«{label}» của {unit} = {value} theo số đơn vị tự ghi ({detail})."),
    Message("X023", _W, "«{label}» của {unit} lấy từ lịch sử trong kho dữ liệu: {understood} ({detail}); đơn vị không cần ghi."),
)}


def make_issue(code: str, sheet: str | None = None, cell: str | None = None, field: str | None = None,
               value: Any = None, **params: Any) -> Issue:
    """An Issue for `code`, its message filled from `params` (plus `value`); missing names render blank."""
    msg = CATALOGUE[code]
    fill = _Blank({"sheet": sheet or "", "cell": cell or "", **params}, value=_show(value))
    text = msg.template.format_map(fill)
    return Issue(code, msg.severity, sheet, cell, field, value, " ".join(text.split()))


def message_text(code: str, **params: Any) -> str:
    """The catalogue's message of `code` filled from `params` (as an Issue's message reads)."""
    return make_issue(code, value=params.pop("value", None), **params).message


def _show(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"




class _Blank(dict):
    def __init__(self, params: dict, **extra: Any) -> None:
        super().__init__({k: _show(v) if not isinstance(v, str) else v for k, v in params.items()}, **extra)

    def __missing__(self, key: str) -> str:
        return ""
