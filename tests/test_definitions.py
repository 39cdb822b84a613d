"""The domain definitions, one function each (thidua.store.definitions), on hand-made cases."""
from __future__ import annotations

from thidua.store.definitions import (Submission, current_submission, launched, period_figure, receipt_text,
                                      stock_indicators, stronger_receipt, timeliness)


def sub(i, status, at, source="file"):
    return Submission(i, f"sha{i}", "CD001", "Q1", status, at, source)


def test_on_time_is_the_first_valid_file_by_the_end_of_the_due_day(plan):
    q1 = plan.round("Q1")                                   # due 10/04/2019
    assert timeliness(q1, [sub(1, "accepted", "2019-04-10T23:59:59")]).on_time
    late = timeliness(q1, [sub(1, "accepted", "2019-04-11T00:00:00")])
    assert late.late and late.days_late == 1 and late.note == ""
    bad_then_good = timeliness(q1, [sub(1, "rejected", "2019-04-10T08:00:00", "office"),
                                    sub(2, "accepted", "2019-04-12T09:15:00", "office")])
    assert bad_then_good.days_late == 2 and bad_then_good.first_valid.id == 2
    assert bad_then_good.note.startswith("Đã gửi đúng hạn lúc 08:00 10/04/2019 nhưng tệp có lỗi; tệp hợp lệ đầu tiên "
                                         "nhận lúc 09:15 12/04/2019")
    assert timeliness(q1, [sub(1, "superseded", "2019-04-09T08:00:00"),
                           sub(2, "accepted", "2019-04-20T08:00:00")]).on_time   # a later version does not matter
    assert timeliness(q1, [sub(1, "rejected", "2019-04-09T08:00:00")]).days_late is None


def test_current_submission_is_the_latest_valid_file():
    history = [sub(1, "superseded", "2019-04-01T08:00:00"), sub(2, "accepted", "2019-04-05T08:00:00"),
               sub(3, "rejected", "2019-04-06T08:00:00")]
    assert current_submission(history).id == 2
    assert current_submission(history[2:]) is None


def test_receipt_time_says_when_it_is_only_the_files_date():
    assert receipt_text("2019-04-10T08:30:00", "file") == "08:30 10/04/2019 (theo ngày lưu tệp)"
    assert receipt_text("2019-04-10T08:30:00", "office") == "08:30 10/04/2019"
    assert stronger_receipt("file", "mail") and stronger_receipt("mail", "office")
    assert not stronger_receipt("office", "mail")


def test_launched_is_any_yes_with_a_date_and_a_later_no_is_flagged():
    assert launched([]).launched is None
    assert launched([("DK", "Không", None)]).launched is False
    assert launched([("DK", "Có", None)]).launched is False              # «Có» without its date does not count
    flip = launched([("DK", "Có", "2019-01-20"), ("Q1", "Có", "2019-01-20"), ("TK", "Không", None)])
    assert flip.launched and flip.first_yes == "DK" and flip.later_no == "TK" and flip.to_confirm
    late_yes = launched([("DK", "Không", None), ("SK1", "Có", "2019-06-01")])
    assert late_yes.launched and not late_yes.to_confirm


def test_period_figure_of_count_indicators(plan):
    flow, stock = plan.indicator("ND1_SANGKIEN"), plan.indicator("ND5_CBCCVC")
    codes = stock_indicators(plan)
    assert "ND5_CBCCVC" in codes and "ND1_SANGKIEN" not in codes
    quarters = ["Q1", "Q2", "Q3", "Q4"]
    assert period_figure(flow, [("Q1", 2), ("Q2", 3), ("TK", 9)], "TK", quarters, codes) == 9   # the review's account
    assert period_figure(flow, [("Q1", 2), ("Q2", 3)], "TK", quarters, codes) == 5              # else the quarters
    assert period_figure(stock, [("Q1", 40), ("Q2", 42)], "TK", quarters, codes) == 42          # head count: latest
    assert period_figure(plan.indicator("PD_PHATDONG"), [("DK", "Có"), ("TK", "Không")], "TK", quarters, codes) == 0
    assert period_figure(flow, [], "TK", quarters, codes) is None


def test_the_plan_names_its_launch_and_stock_indicators(plan):
    codes = {i.code for i in plan.indicators}
    assert plan.meta["launch_indicator"] in codes and plan.meta["launch_date_indicator"] in codes
    assert set(stock_indicators(plan)) <= codes


def test_one_status_with_the_file_that_decided_it(plan):
    """«Có lỗi» when every file had errors, «Chưa nộp» only when nothing came; on time is decided by the first
    valid file, and a later replacement's time is named beside it, never shown as the deciding time."""
    from thidua.store.definitions import Submission, report_status
    from thidua.store.tracking import decided_at
    rnd = plan.round("Q1")
    bad = Submission(1, "a" * 64, "CD001", "Q1", "rejected", "2019-04-08T09:00:00", "office", 2, "a.xlsx")
    assert report_status(rnd, []).label == "Chưa nộp"
    assert report_status(rnd, [bad]).label == "Có lỗi"
    first = Submission(2, "b" * 64, "CD001", "Q1", "superseded", "2019-04-09T10:00:00", "office", 0, "b.xlsx")
    later = Submission(3, "c" * 64, "CD001", "Q1", "accepted", "2019-04-20T15:30:00", "office", 0, "c.xlsx")
    verdict = report_status(rnd, [bad, first, later])
    assert verdict.label == "Đúng hạn" and verdict.decided_by == first and verdict.current == later
    assert "10:00 09/04/2019" in verdict.note and "15:30 20/04/2019" in verdict.note
    row = {"first_valid_at": verdict.decided_by.received_at, "received_at": later.received_at}
    assert decided_at(row) == "2019-04-09T10:00:00"
    late = report_status(rnd, [Submission(4, "d" * 64, "CD001", "Q1", "accepted", "2019-04-13T08:00:00", "mail")])
    assert late.status == "late" and late.label == "Trễ hạn 3 ngày"
