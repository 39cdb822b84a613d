"""The marked-up copy returned to a unit: bad cells highlighted with a comment, and a first sheet of problems."""
from __future__ import annotations

from pathlib import Path

from thidua.fileio import atomic_path
from thidua.intake.result import ERROR, SubmissionResult

SHEET_NAME = "Phản hồi"
BAD_FILL, WARN_FILL, HEAD_FILL = "FFC7CE", "FFEB9C", "D9E1F2"
AUTHOR = "ThiDua - CĐVC tỉnh"
HEADERS = (("STT", 6), ("Mức độ", 10), ("Mã", 8), ("Trang", 22), ("Ô", 8), ("Giá trị đã nhập", 24),
           ("Nội dung và cách sửa", 90))
SEVERITY_VI = {ERROR: "Lỗi", "warning": "Lưu ý"}
# Sheet xml (uncompressed) above which the unit's own workbook is not loaded to be marked: openpyxl holds
# ~30 times that in memory. A filled template has ~100 KB; a table filled to the reader's 2,000 rows ~6 MB.
MARK_LIMIT = 2 * 1024 * 1024
TOO_BIG_NOTE = ("Tệp có nhiều dữ liệu ({size}) nên bản phản hồi không chép lại toàn bộ sổ để tô màu từng ô; "
                "hãy sửa trong tệp gốc theo danh sách dưới đây (trang, ô).")


def _text(cell, value) -> None:
    """Put `value` in `cell`; text is always stored as text, never read as a formula (=, +, -, @)."""
    if value is None:
        return
    if hasattr(value, "strftime"):
        value = value.strftime("%d/%m/%Y")
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _load(src: Path, result: SubmissionResult):
    """(the unit's workbook as an openpyxl Workbook or None, a note or None).

    .xlsx: the unit's own file. .xls/.ods: a copy rebuilt from the values read (intake/copybook.py), each
    value at its own address, so every cell named in the messages is the cell marked.
    None, without opening it, for a file the validator could not read (too big, hostile, broken: F-codes)
    or one with more than MARK_LIMIT of sheet xml (COPY_LIMIT filled cells for .xls/.ods): the feedback
    is then the list of problems alone, and memory stays bounded."""
    import openpyxl
    from thidua.intake.safety import Unreadable, sheet_xml_size, sniff
    if result.unreadable and any(i.code.startswith("F") for i in result.issues):
        return None, None
    try:
        data = src.read_bytes()
        fmt, _ = sniff(data, src.name)
    except (Unreadable, OSError):
        return None, None
    try:
        if fmt != "xlsx":
            from thidua.intake.copybook import rebuild
            wb, cells = rebuild(data, fmt, src.name)
            return wb, None if wb is not None else TOO_BIG_NOTE.format(size=f"{cells:,} ô".replace(",", "."))
        size = sheet_xml_size(data, src.name)
        if size > MARK_LIMIT:
            return None, TOO_BIG_NOTE.format(size=f"{size / (1024 * 1024):.0f} MB")
        return openpyxl.load_workbook(src), None
    except Exception:   # hostile XML (defusedxml), damaged parts: problems sheet only
        return None, None


def feedback_name(src_path, result: SubmissionResult) -> str:
    """The feedback file's name: unit, round and a short hash of the file, so two units' files never collide."""
    import re
    from thidua.text.normalize import ascii_slug
    short = (result.sha256 or "")[:8] or "0" * 8
    unit, rnd = (re.sub(r"[^A-Za-z0-9]", "", str(x or ""))[:20] for x in (result.unit, result.round))
    if unit and rnd:
        head = f"{unit}_{rnd}"
    else:
        head = ascii_slug(Path(src_path).stem, 40)
    return f"{head}_{short}_phan-hoi.xlsx"


def write_feedback(src_path, result: SubmissionResult, out_path) -> Path:
    """Write the marked-up copy of `src_path` to `out_path` (the original is never touched)."""
    src, out = Path(src_path), Path(out_path)
    wb, note = _load(src, result)
    if wb is not None:
        try:
            return _save(wb, result, out, mark=True)
        except Exception:   # a workbook openpyxl cannot write back: send the list of problems alone
            pass
    return _save(None, result, out, mark=False, note=note)


def _target(ws, address: str):
    """The cell to mark: the top-left cell when `address` lies inside a merged range."""
    for rng in ws.merged_cells.ranges:
        if address in rng:
            return ws.cell(rng.min_row, rng.min_col)
    return ws[address]


def _save(wb, result: SubmissionResult, out: Path, mark: bool, note: str | None = None) -> Path:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    if wb is None:
        wb = openpyxl.Workbook()
        wb.active.title = SHEET_NAME
        ws = wb.active
    else:
        ws = wb.create_sheet(SHEET_NAME, 0)
    marks: dict[tuple[str, str], list] = {}
    for issue in result.issues:
        if mark and issue.sheet and issue.cell and issue.sheet in wb.sheetnames:
            marks.setdefault((issue.sheet, issue.cell), []).append(issue)
    for (sheet, address), issues in marks.items():
        cell = _target(wb[sheet], address)
        worst = ERROR if any(i.severity == ERROR for i in issues) else "warning"
        cell.fill = PatternFill("solid", fgColor=BAD_FILL if worst == ERROR else WARN_FILL)
        text = "\n".join(f"[{i.code}] {i.message}" for i in issues)
        cell.comment = Comment(text, AUTHOR, width=320, height=max(80, 40 * len(issues)))
    _problems_sheet(ws, result, marks, Font, Alignment, PatternFill)
    if note:
        _text(ws.cell(4, 1), note)
    wb.active = wb.sheetnames.index(SHEET_NAME)
    for other in wb.worksheets:
        other.sheet_view.tabSelected = other is ws
    with atomic_path(out) as tmp:
        wb.save(tmp)
    return out


def _problems_sheet(ws, result: SubmissionResult, marks, Font, Alignment, PatternFill) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink
    bold = Font(name="Times New Roman", bold=True, size=12)
    normal = Font(name="Times New Roman", size=12)
    link = Font(name="Times New Roman", size=12, color="0563C1", underline="single")
    wrap = Alignment(wrap_text=True, vertical="top")
    _text(ws.cell(1, 1), "PHẢN HỒI KIỂM TRA BÁO CÁO THI ĐUA")
    ws.cell(1, 1).font = Font(name="Times New Roman", bold=True, size=14)
    summary = (f"Tệp: {Path(result.file).name}. Đơn vị: {result.unit or '?'}. Kỳ: {result.round or '?'}. "
               f"{result.n_errors} lỗi, {result.n_warnings} lưu ý.")
    _text(ws.cell(2, 1), summary)
    advice = ("Sửa các ô tô đỏ theo ghi chú (bấm vào ô ở cột «Ô» để đến đúng chỗ), lưu lại và gửi lại tệp "
              "biểu mẫu gốc của đơn vị (không gửi tệp phản hồi này)." if result.issues else
              "Báo cáo hợp lệ, không có lỗi.")
    _text(ws.cell(3, 1), advice)
    for col, (title, width) in enumerate(HEADERS, start=1):
        cell = ws.cell(5, col)
        _text(cell, title)
        cell.font, cell.fill = bold, PatternFill("solid", fgColor=HEAD_FILL)
        ws.column_dimensions[cell.column_letter].width = width
    for n, issue in enumerate(result.issues, start=1):
        row = 5 + n
        values = (n, SEVERITY_VI.get(issue.severity, issue.severity), issue.code, issue.sheet, issue.cell,
                  issue.value, issue.message)
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col)
            _text(cell, value if not isinstance(value, str) else value[:32000])
            cell.font, cell.alignment = normal, wrap
        if (issue.sheet, issue.cell) in marks:
            target = ws.cell(row, 5)
            target.hyperlink = Hyperlink(ref=target.coordinate, location=f"'{issue.sheet}'!{issue.cell}",
                                         display=issue.cell)
            target.font = link
        if issue.severity == ERROR:
            ws.cell(row, 2).fill = PatternFill("solid", fgColor=BAD_FILL)
    ws.freeze_panes = ws.cell(6, 1).coordinate
    ws.page_setup.paperSize, ws.page_setup.orientation = 9, "landscape"     # A4, the whole list across
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "5:5"
