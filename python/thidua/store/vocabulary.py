"""The status vocabulary: one Vietnamese label per status of a file, a unit's report and a proposal."""
from __future__ import annotations

# A file received (a byte-identical re-send is a `duplicate` sighting, not a new submission).
FILE_STATUS = {"accepted": "Đang dùng", "superseded": "Đã có bản gửi sau", "rejected": "Có lỗi, bị trả lại",
               "duplicate": "Trùng tệp đã nhận", "unreadable": "Không đọc được"}
VALID = ("accepted", "superseded")          # a readable report without errors
INVALID = ("rejected", "unreadable")

# A unit's report for a round.
REPORT_STATUS = {"ok": "Đúng hạn", "late": "Trễ hạn", "errors": "Có lỗi", "missing": "Chưa nộp"}
NEEDS_REMINDER = ("missing", "errors")

# A commendation proposal.
PROPOSAL_STATE = {"proposed": "Đề nghị", "reviewed": "Đã xét", "not_met": "Không đạt",
                  "raised": "Nâng hình thức", "awarded": "Được khen thưởng"}

# Where a receipt time comes from, strongest first: the mailbox, staff, the file's modification time.
RECEIPT_SOURCE = {"office": "do văn phòng ghi", "mail": "theo thư điện tử", "file": "theo ngày lưu tệp"}

_ALL = {**FILE_STATUS, **REPORT_STATUS, **PROPOSAL_STATE}


def label(status: str | None) -> str:
    """The one Vietnamese label of any status above (the code itself if unknown)."""
    return _ALL.get(status or "", status or "")
