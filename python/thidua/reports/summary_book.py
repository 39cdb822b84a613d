"""The summary as one printed report: header and title once, each table a section on its own pages, charts,
one «Nơi nhận» and signature at the end; A4 pages laid out here (no page holds only a header or a signature)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Sequence

import xlsxwriter

from thidua.awards.proposals import STATE_NAMES, write_proposal_list
from thidua.fileio import atomic_path
from thidua.reports.officialdoc import (DEFAULT_FONT, FONT, official_formats, page_setup, paginate, write_header,
                                        write_signature)
from thidua.reports.summary import Summary, period_title
from thidua.store.vocabulary import REPORT_STATUS
from thidua.text.collate import text_key
from thidua.text.normalize import org_name
from thidua.text.numbers import format_number, format_percent
from thidua.text.width import column_points, line_height, wrapped_lines

ROW_PX = 21           # a chart row: 15.75 pt (XlsxWriter writes no height for the default 15 pt)
CHART_ROWS = 16
ROW_PT = 16.0         # a row of one line of 12-point Times New Roman, with air


class Book:
    """An XlsxWriter workbook with the official formats and a helper per building block.

    Sheets are sections of one report: the first carries the header and the title, the last the
    signature; `close` sizes every row, places the page breaks and writes the print setup."""

    def __init__(self, path: Path, plan, title: str, summary: Summary | None = None):
        self.wb = xlsxwriter.Workbook(str(path), {"default_format_properties": {"font_name": FONT, "font_size": 12},
                                                  "in_memory": True})     # no part files left in /tmp on a fault
        self.fmt = official_formats(self.wb)
        self.fmt["rate"] = self.wb.add_format({"font_name": FONT, "font_size": 12, "border": 1,
                                               "bold": True, "bg_color": "#E2EFDA", "num_format": "0.0%"})
        self.fmt["section"] = self.wb.add_format({"font_name": FONT, "font_size": 12, "bold": True, "text_wrap": True,
                                                  "align": "center", "valign": "vcenter"})
        self.s, self.plan, self.title = summary, plan, title
        self.sheets: list = []
        office = plan.office_on()
        self.wb.set_properties({"title": title.replace("\n", " "), "author": office.issuer_name,
                                "company": org_name(office.issuer_parent)})

    def sheet(self, name: str, caption: str, widths: Sequence[float], landscape: bool = False):
        """A new section: a sheet with column widths, the header and title if it is the first, and its
        caption; returns (ws, first free row)."""
        ws = self.wb.add_worksheet(name)
        ws.hide_gridlines(2)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.widths, ws.landscape_, ws.breaks_ = list(widths), landscape, []
        ws.points_ = [column_points(w, DEFAULT_FONT) for w in widths]
        ws.heights_, ws.glue_, ws.header_row_ = {}, set(), None
        row = 0
        if not self.sheets:
            row = write_header(ws, self.fmt, self.plan, len(widths) - 1, self.title, widths=widths)
            self.span_height(ws, row - 2, self.title, 0, len(widths) - 1, bold=True, size=14)
        self.sheets.append(ws)
        last = len(widths) - 1
        ws.merge_range(row, 0, row, last, caption, self.fmt["section"])
        self.span_height(ws, row, caption, 0, last, bold=True)
        ws.glue_.update(range(0, row + 2))                    # header, title and caption stay with the table
        return ws, row + 2

    def span_height(self, ws, row: int, text: str, first: int, last: int, bold: bool = False,
                    size: float = 12) -> None:
        """Make `row` tall enough for `text` wrapped over columns first..last (measured widths)."""
        self.need(ws, row, wrapped_lines(text, sum(ws.points_[first:last + 1]), size, bold) * line_height(size) + 4)

    def need(self, ws, row: int, height: float) -> None:
        if height > ws.heights_.get(row, ROW_PT):
            ws.heights_[row] = height

    def fit(self, ws, row: int, col: int, text: str, bold: bool = False) -> None:
        """Remember how tall a wrapped text makes its row, so `close` can size it."""
        if len(text) * 12 < ws.points_[col] and "\n" not in text:
            return   # surely one line: no character of 12-point Times is wider than 12 pt
        lines = wrapped_lines(text, ws.points_[col], 12, bold)
        if lines > 1:
            self.need(ws, row, lines * line_height(12) + 4)

    def table(self, ws, row: int, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              kinds: Sequence[str], total: Sequence[Any] | None = None) -> int:
        """Header row, body rows (kinds: text, center, int, decimal, pct) and an optional total row."""
        self.headers(ws, row, headers)
        for values in rows:
            row += 1
            for col, (value, kind) in enumerate(zip(values, kinds)):
                self.cell(ws, row, col, value, kind)
        if total is not None:
            row += 1
            for col, value in enumerate(total):
                fmt = self.fmt["rate"] if kinds[col] == "pct" else self.fmt["total"]
                if isinstance(value, (int, float)):
                    ws.write_number(row, col, value, fmt)
                else:
                    ws.write_string(row, col, str(value or ""), fmt)
                    self.fit(ws, row, col, str(value or ""), bold=True)
        return row + 1

    def headers(self, ws, row: int, headers: Sequence[str]) -> None:
        ws.header_row_ = row
        ws.glue_.add(row)
        for col, text in enumerate(headers):
            ws.write_string(row, col, text, self.fmt["header"])
            self.fit(ws, row, col, text, bold=True)

    def cell(self, ws, row: int, col: int, value: Any, kind: str) -> None:
        fmt = self.fmt[kind]
        if value is None or value == "":
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(row, col, value, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)
            self.fit(ws, row, col, str(value))

    def group(self, ws, row: int, text: str) -> None:
        """A group heading across the table (kept on the page of the group's first row)."""
        ws.merge_range(row, 0, row, len(ws.widths) - 1, text, self.fmt["subtotal"])
        ws.glue_.add(row)

    def chart(self, ws, row: int, kind: str, title: str, series: Sequence[dict], y_title: str = "",
              percent: bool = False, new_page: bool = False) -> int:
        """A native chart below the tables, as wide as the printed columns; returns the row after it.
        The chart's rows are kept on one page; with `new_page` it starts a new page."""
        if new_page:
            ws.breaks_.append(row + 1)
        chart = self.wb.add_chart({"type": kind})
        for item in series:
            chart.add_series(item)
        chart.set_title({"name": title, "name_font": {"name": FONT, "size": 12, "bold": True}})
        chart.set_legend({"position": "bottom", "font": {"name": FONT, "size": 10}}
                         if len(series) > 1 or kind == "pie" else {"none": True})
        if kind != "pie":
            axis = {"name": y_title, "num_font": {"name": FONT, "size": 9}, "major_gridlines":
                    {"visible": True, "line": {"color": "#D9D9D9"}}}
            if percent:
                axis.update(min=0, max=1, num_format="0%")
            chart.set_y_axis(axis)
            chart.set_x_axis({"num_font": {"name": FONT, "size": 9}})
        width = int(sum(w * 7 + 5 for w in ws.widths)) - 10
        rows = CHART_ROWS - (4 if ws.landscape_ else 0)   # a landscape page is shorter
        for r in range(row + 1, row + rows + 1):
            ws.heights_[r] = ROW_PX * 0.75
        ws.glue_.update(range(row + 1, row + rows))
        chart.set_size({"width": width, "height": rows * ROW_PX - 10})
        ws.insert_chart(row + 1, 0, chart, {"x_offset": 4, "y_offset": 2, "object_position": 1})
        return row + rows + 2

    def rate_chart(self, ws, row: int, rows: tuple[int, int], cols: tuple[int, int], title: str, name: str,
                   color: str) -> int:
        """A column chart of one percentage column (cols[1]) against its labels (cols[0]) over `rows`."""
        first, last = rows
        return self.chart(ws, row, "column", title,
                          [{"name": name, "categories": [ws.get_name(), first, cols[0], last, cols[0]],
                            "values": [ws.get_name(), first, cols[1], last, cols[1]],
                            "data_labels": {"value": True, "num_format": "0%"}, "fill": {"color": color}}],
                          percent=True)

    def note(self, ws, row: int, text: str) -> int:
        last = len(ws.widths) - 1
        ws.merge_range(row, 0, row, last, text, self.fmt["note"])
        self.span_height(ws, row, text, 0, last)
        ws.glue_.add(row - 1)          # a note is printed under the rows it explains
        return row + 1

    def finish(self, ws, row: int, repeat: bool = True) -> None:
        """The section ends before `row`; `repeat` prints its table header again on every page."""
        ws.end_, ws.repeat_ = row, repeat

    def ref(self, ws, row: int, first_col: int, last_col: int | None = None) -> list:
        """A chart range [sheet, row, col, row, col] built from integers."""
        return [ws.get_name(), row, first_col, row, first_col if last_col is None else last_col]

    def close(self) -> None:
        """Signature after the last section, then every sheet's row heights, page breaks and print setup."""
        last_ws = self.sheets[-1]
        last_col = len(last_ws.widths) - 1
        body_end = last_ws.end_
        end = write_signature(last_ws, self.fmt, self.plan, body_end, last_col, widths=last_ws.widths)
        # the signature is printed with the section's last rows, never alone on a page
        last_ws.glue_.update(range(max(0, body_end - 3), end))
        last_ws.end_ = end
        for ws in self.sheets:
            repeat = ws.header_row_ if ws.repeat_ else None
            heights = [ws.heights_.get(r, ROW_PT) for r in range(ws.end_ + 1)]
            for r, h in enumerate(heights):
                ws.set_row(r, h)
            scale, breaks = paginate(heights, ws.points_, ws.glue_, ws.breaks_, repeat, ws.landscape_)
            ws.set_h_pagebreaks(breaks)
            page_setup(ws, ws.end_, len(ws.widths) - 1, repeat, ws.landscape_, scale=scale)
        self.wb.close()


# ---------------------------------------------------------------- the sheets
def launch_sheets(b: Book) -> None:
    s = b.s
    goal = float(b.plan.meta.get("launch_goal_pct", 100)) / 100
    ws, row = b.sheet("1 Phát động", "Biểu 1. Mục tiêu chung: tỷ lệ CĐCS tổ chức phát động phong trào thi đua "
                      f"(chỉ tiêu {format_percent(goal, 0, keep_zeros=False)})", (6, 30, 12, 14, 14, 12))
    rows = []
    for i, cl in enumerate(s.clusters, start=1):
        done, n = s.launch_count(cl)
        rows.append((i, cl, n, done, n - done, done / n if n else 0))
    done, n = s.launch_count()
    head = row
    row = b.table(ws, row, ("STT", "Khối thi đua", "Số CĐCS", "Đã phát động", "Chưa phát động", "Tỷ lệ"), rows,
                  ("center", "text", "int", "int", "int", "pct"), ("", "Toàn tỉnh", n, done, n - done, done / n if n else 0))
    verdict = "đạt" if n and done / n >= goal else "chưa đạt"
    row = b.note(ws, row, f"Toàn tỉnh {done}/{n} CĐCS đã phát động phong trào thi đua (tỷ lệ ở dòng «Toàn tỉnh»), "
                          f"{verdict} chỉ tiêu {format_percent(goal, 0, keep_zeros=False)} của Kế hoạch {b.plan.meta.get('plan_number', '')}. "
                          "Căn cứ: CĐCS trả lời «Có» kèm ngày phát động ở bất kỳ kỳ báo cáo nào trong đợt.")
    confirm = s.launch_to_confirm()
    if confirm:
        row = b.note(ws, row, f"{len(confirm)} CĐCS trả lời «Có» rồi «Không» ở kỳ sau: vẫn tính là đã phát động; "
                              "danh sách ở Biểu 1c để Văn phòng xác nhận.")
    if rows:
        row = b.rate_chart(ws, row, (head + 1, head + len(rows)), (1, 5),
                           "Tỷ lệ CĐCS đã phát động phong trào thi đua theo khối", "Tỷ lệ đã phát động", "#4472C4")
    b.finish(ws, row, repeat=False)

    ws, row = b.sheet("1b Chưa phát động", "Biểu 1b. Danh sách CĐCS chưa phát động phong trào thi đua",
                      (6, 10, 44, 24, 26))
    missing = [u for u in s.units if not s.launched.get(u.code)]
    missing.sort(key=lambda u: (s.clusters.index(u.cluster), text_key(u.name)))
    rows = [(i, u.code, u.name, u.cluster, "Chưa có báo cáo trả lời" if s.launched.get(u.code) is None
             else "Báo cáo: chưa phát động") for i, u in enumerate(missing, start=1)]
    row = b.table(ws, row, ("STT", "Mã", "Tên công đoàn cơ sở", "Khối thi đua", "Ghi chú"), rows,
                  ("center", "center", "text", "text", "text"))
    if not rows:
        row = b.note(ws, row, "Tất cả CĐCS đã phát động phong trào thi đua.")
    b.finish(ws, row)


def launch_confirm_sheet(b: Book) -> None:
    """Units that answered «Có» to the launch question and «Không» later: counted as launched, to confirm."""
    s = b.s
    ws, row = b.sheet("1c Cần xác nhận", "Biểu 1c. CĐCS trả lời «Có» rồi «Không» về phát động thi đua: "
                      "đề nghị Văn phòng xác nhận", (6, 10, 44, 24, 11, 11))
    confirm = sorted(s.launch_to_confirm(), key=lambda x: (s.clusters.index(x[0].cluster), text_key(x[0].name)))
    rows = [(i, u.code, u.name, u.cluster, lz.first_yes, lz.later_no) for i, (u, lz) in enumerate(confirm, start=1)]
    row = b.table(ws, row, ("STT", "Mã", "Tên công đoàn cơ sở", "Khối thi đua", "«Có» ở kỳ", "«Không» ở kỳ"), rows,
                  ("center", "center", "text", "text", "center", "center"))
    row = b.note(ws, row, "Các CĐCS này được tính là đã phát động (đã trả lời «Có» kèm ngày phát động).")
    b.finish(ws, row)


def content_sheet(b: Book) -> None:
    s = b.s
    widths = [6, 46, 11] + [14] * len(s.clusters) + [15, 10]
    ws, row = b.sheet("2 Nội dung", "Biểu 2. Kết quả thực hiện sáu nội dung thi đua (Kế hoạch mục II), theo khối",
                      widths, landscape=True)
    headers = ("STT", "Chỉ tiêu", "Đơn vị tính", *s.clusters, "Toàn tỉnh", "Số CĐCS báo cáo")
    kinds = ("center", "text", "center", *(["int"] * len(s.clusters)), "int", "int")
    ws.header_row_ = row
    b.headers(ws, row, headers)
    where: dict[str, int] = {}
    number = 0
    for content in b.plan.contents:
        inds = [i for i in s.indicators if i.content == content.number]
        if not inds:
            continue
        row += 1
        b.group(ws, row, f"{content.number}. {content.name}")
        for ind in inds:
            row += 1
            number += 1
            where[ind.code] = row
            unit = "CĐCS có" if ind.type == "bool" else ind.unit
            values = (number, ind.label, unit, *(s.total(ind.code, cl) for cl in s.clusters), s.total(ind.code),
                      len(s.values.get(ind.code, {})))
            for col, (value, kind) in enumerate(zip(values, kinds)):
                b.cell(ws, row, col, value, kind)
    latest = ", ".join(f"«{i.label}»" for i in s.indicators if i.figure == "latest" and i.type != "bool")
    row = b.note(ws, row + 1, "Cách tính: " + (f"{latest} lấy số báo cáo mới nhất trong đợt; " if latest else "")
                 + "các chỉ tiêu Có/Không đếm số CĐCS trả lời «Có»; các chỉ tiêu còn lại lấy số của kỳ sơ kết/tổng kết "
                   "(lũy kế cả đợt), đơn vị chưa nộp kỳ này thì cộng các báo cáo quý trong đợt.")
    first, last = 3, 2 + len(s.clusters)
    cats = [ws.get_name(), ws.header_row_, first, ws.header_row_, last]
    for chart in b.plan.charts_of("contents"):
        series = [{"name": b.plan.indicator(c).label, "categories": cats,
                   "values": b.ref(ws, where[c], first, last), "data_labels": {"value": True}}
                  for c in chart.indicators if c in where]
        if series:
            row = b.chart(ws, row, "column", chart.title, series)
    b.finish(ws, row)


def classification_sheets(b: Book) -> None:
    s = b.s
    rs = b.plan.rule_set()
    names = [lv.name for lv in rs.levels] + [rs.not_eligible_name, "Chưa báo cáo"]
    widths = [6, 28] + [12] * len(names) + [10]
    ws, row = b.sheet("3 Xếp loại", f"Biểu 3. Kết quả xếp loại CĐCS ({rs.name})", widths, landscape=True)
    rows = []
    for i, cl in enumerate(s.clusters, start=1):
        mine = [r for r in s.results if r.cluster == cl]
        rows.append((i, cl, *(sum(r.level_name == n for r in mine) for n in names), len(mine)))
    counts = s.level_counts()
    head = row
    row = b.table(ws, row, ("STT", "Khối thi đua", *names, "Tổng số"), rows,
                  ("center", "text", *(["int"] * (len(names) + 1))),
                  ("", "Toàn tỉnh", *(counts.get(n, 0) for n in names), len(s.results)))
    total_row = row - 1
    row = b.chart(ws, row, "column", "Phân bố xếp loại CĐCS toàn tỉnh",
                  [{"name": "Số CĐCS", "categories": [ws.get_name(), head, 2, head, 1 + len(names)],
                    "values": b.ref(ws, total_row, 2, 1 + len(names)), "data_labels": {"value": True},
                    "points": [{"fill": {"color": c}} for c in ("#2E75B6", "#70AD47", "#FFC000", "#C00000",
                                                                 "#A5A5A5", "#D9D9D9", "#7F7F7F")]}])
    b.finish(ws, row, repeat=False)

    ws, row = b.sheet("3b Danh sách xếp loại", "Biểu 3b. Danh sách CĐCS theo mức xếp loại",
                      (6, 9, 38, 20, 9, 14, 8, 8, 52), landscape=True)
    ws.header_row_ = row
    b.headers(ws, row, ("STT", "Mã", "Tên công đoàn cơ sở", "Khối thi đua", "Tổng điểm", "Xếp loại",
                        "Hạng trong khối", "Hạng toàn tỉnh", "Căn cứ xếp loại"))
    kinds = ("center", "center", "text", "text", "decimal", "text", "center", "center", "text")
    for name in names:
        mine = sorted((r for r in s.results if r.level_name == name),
                      key=lambda r: (-(r.total or 0), text_key(r.name)))
        if not mine:
            continue
        row += 1
        b.group(ws, row, f"{name}: {len(mine)} CĐCS")
        for i, r in enumerate(mine, start=1):
            row += 1
            for col, (value, kind) in enumerate(zip((i, r.code, r.name, r.cluster, r.total, r.level_name,
                                                     r.rank_cluster, r.rank_province, r.rule), kinds)):
                b.cell(ws, row, col, value, kind)
    b.finish(ws, row + 1)

    ws, row = b.sheet("3c Chênh lệch điểm", "Biểu 3c. Điểm tự chấm và điểm thẩm định khác nhau "
                      "(điểm thẩm định được dùng)", (6, 9, 40, 10, 40, 11, 11, 11), landscape=True)
    crit = {c.code: c.name for c in b.plan.criteria}
    rows, i = [], 0
    for r in s.results:
        for code, own, rev in r.differences:
            i += 1
            rows.append((i, r.code, r.name, code, crit.get(code, ""), own, rev, rev - (own or 0)))
    row = b.table(ws, row, ("STT", "Mã", "Tên công đoàn cơ sở", "Tiêu chí", "Nội dung tiêu chí", "Tự chấm",
                            "Thẩm định", "Chênh lệch"), rows, ("center", "center", "text", "center", "text",
                                                              "decimal", "decimal", "decimal"))
    if not rows:
        row = b.note(ws, row, "Không có điểm thẩm định nào khác điểm tự chấm.")
    b.finish(ws, row)


def proposal_sheets(b: Book) -> None:
    s = b.s
    states = ("proposed", "reviewed", "raised", "awarded", "not_met")
    ws, row = b.sheet("4 Khen thưởng", "Biểu 4. Đề nghị khen thưởng và kết quả (cả đề nghị đột xuất)",
                      (6, 46, 9, 10, 9, *(10,) * len(states)), landscape=True)
    rows = []
    for i, form in enumerate(sorted(b.plan.forms, key=lambda f: -f.rank), start=1):
        mine = [p for p in s.proposals if p.effective_form is form]
        rows.append((i, form.name, form.quota if form.quota is not None else "", len(mine),
                     sum(p.eligible for p in mine), *(sum(p.state == st for p in mine) for st in states)))
    # Proposals of an emulation title alone (no award form) are counted by title, so the rows add up.
    for title in b.plan.titles:
        mine = [p for p in s.proposals if p.effective_form is None and p.title is title]
        if mine:
            rows.append((len(rows) + 1, f"Danh hiệu «{title.name}» (không kèm hình thức)", "", len(mine),
                         sum(p.eligible for p in mine), *(sum(p.state == st for p in mine) for st in states)))
    rest = [p for p in s.proposals if p.effective_form is None and p.title is None]
    if rest:
        rows.append((len(rows) + 1, "Chưa ghi hình thức, danh hiệu", "", len(rest), sum(p.eligible for p in rest),
                     *(sum(p.state == st for p in rest) for st in states)))
    row = b.table(ws, row, ("STT", "Hình thức khen thưởng", "Chỉ tiêu tỉnh", "Số đề nghị", "Đủ điều kiện",
                            *(STATE_NAMES[st] for st in states)), rows,
                  ("center", "text", "int", "int", "int", *(["int"] * len(states))),
                  ("", "Tổng cộng", "", len(s.proposals), sum(p.eligible for p in s.proposals),
                   *(sum(p.state == st for p in s.proposals) for st in states)))
    adhoc = sum(p.adhoc or p.round == "DX" for p in s.proposals)
    row = b.note(ws, row, f"Trong đó {adhoc} đề nghị khen thưởng đột xuất. «Đủ điều kiện»: đạt các điều kiện của "
                          "hình thức theo kế hoạch (danh hiệu thi đua là danh hiệu đã được cơ quan, đơn vị công nhận); "
                          "chỉ tiêu tỉnh xem ở Biểu 4b.")
    row = decision_table(b, ws, row)
    b.finish(ws, row, repeat=False)

    proposal_list_sheet(b, "4b Danh sách đề nghị KT", s.proposals, {u.code: u.name for u in s.units})


def decision_table(b: Book, ws, row: int) -> int:
    """The award decisions the office signed in the period (store records): number, date, form, round, recipients,
    money; each recipient is counted once, under its decision."""
    s = b.s
    kinds = {"so_ket": "Sơ kết", "tong_ket": "Tổng kết", "dot_xuat": "Đột xuất"}
    names = {f.code: f.name for f in b.plan.forms}
    rows = [(i, d["number_text"], dt.date.fromisoformat(d["date"]).strftime("%d/%m/%Y"), names.get(d["form"], d["form"]),
             f"{kinds.get(d['kind'], d['kind'])} ({d['round']})", d["n_collectives"], d["n_individuals"], d["total"])
            for i, d in enumerate(s.decisions, start=1)]
    row = b.note(ws, row + 1, "Các quyết định khen thưởng đã ban hành" if rows else
                 "Chưa có quyết định khen thưởng nào được lập (thidua awards decision).")
    if rows:
        row = b.table(ws, row, ("STT", "Số quyết định", "Ngày", "Hình thức", "Đợt", "Tập thể", "Cá nhân",
                                "Tiền thưởng (đồng)"), rows,
                      ("center", "text", "center", "text", "text", "int", "int", "int"),
                      ("", "Tổng cộng", "", "", "", sum(r[5] for r in rows), sum(r[6] for r in rows),
                       sum(r[7] for r in rows)))
    return row


def proposal_list_sheet(b: Book, name: str, checks, unit_names: dict[str, str],
                        caption: str = "Biểu 4b. DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG") -> None:
    """The official «Danh sách đề nghị khen thưởng»: grouped by form, people in Vietnamese name order."""
    ws, row = b.sheet(name, caption, (6, 26, 24, 28, 20, 34, 30), landscape=True)
    fitted: set[int] = set()

    def fit(r: int, values) -> None:
        fitted.add(r)
        for c, v in enumerate(values):
            b.fit(ws, r, c, str(v), bold=r == row)

    end = write_proposal_list(ws, b.fmt, b.plan, checks, unit_names, row, fit=fit)
    ws.header_row_ = row
    ws.glue_.update(r for r in range(row, end) if r not in fitted or r == row)   # group headings, table header
    b.finish(ws, end)


def write_proposal_document(plan, checks, unit_names: dict[str, str], out: Path) -> Path:
    """A workbook holding only the official proposal list (for `thidua proposals export`)."""
    with atomic_path(out) as tmp:
        b = Book(tmp, plan, f"DANH SÁCH ĐỀ NGHỊ KHEN THƯỞNG NĂM {plan.year}")
        proposal_list_sheet(b, "Danh sách đề nghị KT", checks, unit_names,
                            "Theo từng hình thức khen thưởng; cá nhân xếp theo tên, tên đệm, họ")
        b.close()
    return out


def discipline_sheets(b: Book) -> None:
    s = b.s
    ws, row = b.sheet("5 Báo cáo", "Biểu 5. Chấp hành chế độ báo cáo: tỷ lệ nộp đúng hạn theo kỳ",
                      (6, 32, 11, 9, 9, 9, 9, 9, 11), landscape=False)
    rows = []
    for i, d in enumerate(s.discipline, start=1):
        on, late, errors, missing = s.on_time(d)
        n = len(s.units)
        rows.append((i, d.round.name, f"{d.round.due:%d/%m/%Y}" if d.round.due else "", n, on, late, errors, missing,
                     on / n if n else 0))
    head = row
    row = b.table(ws, row, ("STT", "Kỳ báo cáo", "Hạn nộp", "Số CĐCS", *(REPORT_STATUS[k] for k in REPORT_STATUS),
                            "Tỷ lệ đúng hạn"), rows, ("center", "text", "center", "int", "int", "int", "int", "int", "pct"))
    by_file = [d.file_dated(u.code) for d in s.discipline for u in s.units if d.late_days(u.code) is not None]
    dated = "" if not any(by_file) else (" Mọi thời điểm nhận là theo ngày lưu tệp." if all(by_file) else
                                         f" {sum(by_file)} báo cáo có thời điểm nhận theo ngày lưu tệp (*).")
    row = b.note(ws, row, "Đúng hạn: báo cáo hợp lệ đầu tiên nhận được trước hết ngày hạn nộp; CĐCS gửi đúng hạn "
                          "nhưng tệp có lỗi, tệp đúng đến sau hạn là trễ hạn." + dated)
    if rows:
        row = b.rate_chart(ws, row, (head + 1, head + len(rows)), (1, 8),
                           "Tỷ lệ nộp báo cáo đúng hạn theo kỳ", "Tỷ lệ đúng hạn", "#70AD47")
    b.finish(ws, row, repeat=False)

    codes = [d.round.code for d in s.discipline]
    star = any(by_file) and not all(by_file)   # mark each file-dated time only when some times are real receipts
    ws, row = b.sheet("5b Báo cáo theo đơn vị", "Biểu 5b. Chấp hành chế độ báo cáo theo từng CĐCS",
                      (6, 9, 38, 20, *(9,) * len(codes), 10), landscape=True)
    rows = []
    for i, u in enumerate(sorted(s.units, key=lambda u: (s.clusters.index(u.cluster), text_key(u.name))), start=1):
        marks = [d.late_days(u.code) for d in s.discipline]
        text = [d.status(u.code).label + ("*" if star and d.file_dated(u.code) else "") for d in s.discipline]
        rows.append((i, u.code, u.name, u.cluster, *text, sum(m == 0 for m in marks) / len(marks) if marks else 0))
    row = b.table(ws, row, ("STT", "Mã", "Tên công đoàn cơ sở", "Khối thi đua", *codes, "Tỷ lệ đúng hạn"), rows,
                  ("center", "center", "text", "text", *(["center"] * len(codes)), "pct"))
    notes = [f"{u.code} {d.round.code}: {d.note(u.code)}" for u in s.units for d in s.discipline if d.note(u.code)]
    row = b.note(ws, row, "(*) Thời điểm nhận theo ngày lưu tệp (chưa có giờ nhận thư hoặc giờ Văn phòng ghi)." if star
                 else "Thời điểm nhận: " + ("theo ngày lưu tệp." if any(by_file) else
                                            "theo thư điện tử hoặc Văn phòng ghi."))
    for text in notes:
        row = b.note(ws, row, text + ".")
    b.finish(ws, row)


def comparison_sheet(b: Book, prev: Summary) -> None:
    """Biểu 6: this year against the previous year, per indicator, for the province (both years from their stores)."""
    s = b.s
    before_year, now_year = prev.plan.year, s.plan.year
    ws, row = b.sheet("6 So sánh năm trước", f"Biểu 6. So sánh năm {now_year} với năm {before_year} "
                      "(số liệu của mỗi năm lấy từ kho dữ liệu của năm đó)", (6, 56, 16, 16, 14))
    lines: list[tuple[str, float | None, float, str]] = []
    for label, summary_value, kind in (
            ("Số CĐCS", lambda x: len(x.units), "int"),
            ("Tỷ lệ CĐCS đã phát động phong trào", lambda x: _ratio(*x.launch_count()), "pct"),
            ("Tỷ lệ nộp báo cáo đúng hạn (mọi kỳ)", _on_time_rate, "pct"),
            ("Số đề nghị khen thưởng", lambda x: len(x.proposals), "int"),
            ("Số đề nghị được khen thưởng", lambda x: sum(p.state == "awarded" for p in x.proposals), "int")):
        lines.append((label, summary_value(prev), summary_value(s), kind))
    for lv in b.plan.rule_set().levels:
        lines.append((f"Số CĐCS xếp loại {lv.name}", prev.level_counts().get(lv.name, 0),
                      s.level_counts().get(lv.name, 0), "int"))
    asked_before = {i.code for i in prev.indicators}
    for ind in s.indicators:
        before = prev.total(ind.code) if ind.code in asked_before else None      # not asked that year: blank
        lines.append((f"{ind.label} ({'CĐCS có' if ind.type == 'bool' else ind.unit})", before,
                      s.total(ind.code), "int"))
    ws.header_row_ = row
    b.headers(ws, row, ("STT", "Chỉ tiêu", f"Năm {before_year}", f"Năm {now_year}", "Tăng (+) / giảm (-)"))
    for i, (label, before, now, kind) in enumerate(lines, start=1):
        row += 1
        change = None if before is None else now - before
        for col, (value, k) in enumerate(zip((i, label, before, now, change), ("center", "text", kind, kind, kind))):
            b.cell(ws, row, col, value, k)
    missing = [ind.label for ind in s.indicators if ind.code not in asked_before]
    row += 1
    if missing:
        row = b.note(ws, row, f"Chỉ tiêu năm {before_year} không hỏi (để trống): " + "; ".join(missing) + ".")
    b.finish(ws, row)


def unit_comparison_sheet(b: Book, prev: Summary) -> None:
    """Biểu 6b: each unit against itself last year: level, points and the plan's headline indicators (its charts)."""
    s = b.s
    y0, y1 = prev.plan.year, s.plan.year
    codes = list(dict.fromkeys(c for chart in b.plan.charts for c in chart.indicators))
    shown = [b.plan.indicator(c) for c in codes if c in {i.code for i in s.indicators}]
    widths = [5, 8, 30, 13, 13, 8, 8] + [9, 9] * len(shown)
    ws, row = b.sheet("6b So sánh đơn vị", f"Biểu 6b. Từng CĐCS: năm {y1} so với năm {y0} (xếp loại, điểm và các "
                      "chỉ tiêu chính)", widths, landscape=True)
    before_level = {r.code: r for r in prev.results}
    now_level = {r.code: r for r in s.results}
    headers = ["STT", "Mã", "Tên công đoàn cơ sở", f"Xếp loại {y0}", f"Xếp loại {y1}", f"Điểm {y0}", f"Điểm {y1}"]
    for ind in shown:
        headers += [f"{ind.label} ({y0})", f"({y1})"]
    kinds = ["center", "center", "text", "text", "text", "decimal", "decimal"] + ["int"] * (2 * len(shown))
    rows = []
    for i, unit in enumerate(sorted(s.units, key=lambda u: u.code), start=1):
        old, new = before_level.get(unit.code), now_level.get(unit.code)
        values: list = [i, unit.code, unit.name, old.level_name if old else "Chưa có (năm trước)",
                        new.level_name if new else "", old.total if old else None, new.total if new else None]
        for ind in shown:
            values += [prev.values.get(ind.code, {}).get(unit.code), s.values.get(ind.code, {}).get(unit.code)]
        rows.append(values)
    row = b.table(ws, row, headers, rows, kinds)
    row = b.note(ws, row, f"Đơn vị không có trong danh sách năm {y0} (mới thành lập, đổi mã) ghi «Chưa có (năm trước)». "
                 "Các chỉ tiêu khác: Biểu 6 (toàn tỉnh).")
    b.finish(ws, row)


def history_sheet(b: Book, years: Sequence) -> None:
    """Biểu 7: each unit year by year — classification (points), titles and awards of the unit itself, people
    awarded — from the stores of the years (year/history.py)."""
    s = b.s
    known = [y for y in years if y]
    widths = [5, 8, 30] + [17] * len(known) + [44]
    ws, row = b.sheet("7 Lịch sử đơn vị", "Biểu 7. Lịch sử thi đua của từng CĐCS qua các năm (xếp loại, danh hiệu, "
                      "khen thưởng; theo kho dữ liệu của mỗi năm)", widths, landscape=True)
    headers = ["STT", "Mã", "Tên công đoàn cơ sở"] + [f"Xếp loại {y}" for y in known] + ["Danh hiệu, khen thưởng"]
    rows = []
    for i, unit in enumerate(sorted(s.units, key=lambda u: u.code), start=1):
        by_year = {r.year: r for r in b.history.unit(unit.code)}
        cells, honours = [], []
        for y in known:
            rec = by_year.get(y)
            if rec is None or not rec.known:
                cells.append("Không có số liệu" if rec is None else "Không đọc được")
                continue
            level = rec.level_name or "Chưa báo cáo"
            cells.append(level + (f" ({format_number(rec.total, 2)})" if rec.total is not None else ""))
            parts = rec.titles + [f"được khen: {a}" for a in rec.awards]
            if rec.people_awarded:
                parts.append(f"{rec.people_awarded} cá nhân được khen")
            if rec.code != unit.code:
                parts.append(f"mã {rec.code}")
            if parts:
                honours.append(f"{y}: " + "; ".join(parts))
        rows.append([i, unit.code, unit.name, *cells, "\n".join(honours)])
    row = b.table(ws, row, headers, rows, ["center", "center", "text"] + ["text"] * (len(known) + 1))
    unread = [y for y in b.history.years if y.error]
    for y in unread:
        row = b.note(ws, row, f"Năm {y.year}: {y.error}.")
    b.finish(ws, row)


def _ratio(a: float, n: float) -> float:
    return a / n if n else 0.0


def _on_time_rate(s: Summary) -> float:
    on = sum(s.on_time(d)[0] for d in s.discipline)
    return _ratio(on, len(s.units) * len(s.discipline))


def write_workbook(summary: Summary, out: Path, previous: Summary | None = None, history=None) -> Path:
    """Write every sheet of the summary to `out` (atomically); with `previous` (last year's figures) the
    comparison sheets, with `history` (year/history.py) each unit's history over the years."""
    with atomic_path(out) as tmp:
        b = Book(tmp, summary.plan, period_title(summary.plan, summary.period), summary)
        b.history = history
        launch_sheets(b)
        if summary.launch_to_confirm():
            launch_confirm_sheet(b)
        content_sheet(b)
        classification_sheets(b)
        proposal_sheets(b)
        discipline_sheets(b)
        if previous is not None:
            comparison_sheet(b, previous)
            unit_comparison_sheet(b, previous)
        if history is not None and len(history.years) > 1:
            history_sheet(b, [y.year for y in history.years])
        b.close()
    return out
