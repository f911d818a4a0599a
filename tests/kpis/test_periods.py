"""Won revenue per period, year-on-year growth and the win rate change between periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sync.kpis import KpiSettings, Status, compute_kpis, facts_from_canonical, parse_period
from sync.kpis.definitions import FiscalMonth, Grain

AS_OF = date(2018, 1, 1)


def _report(values, **settings):
    kpi_settings = KpiSettings(as_of=AS_OF, **settings)
    facts, problems = facts_from_canonical(values, kpi_settings)
    return compute_kpis(facts, kpi_settings), problems


def _won(amount, close_date, **extra):
    return {"stage": "closedwon", "amount": amount, "close_date": close_date, **extra}


def _lost(close_date, **extra):
    return {"stage": "closedlost", "amount": 0, "close_date": close_date, **extra}


@pytest.mark.parametrize(("label", "first", "last", "grain"), [
    ("2017", FiscalMonth(2017, 1), FiscalMonth(2017, 12), Grain.YEAR),
    ("2017-H2", FiscalMonth(2017, 7), FiscalMonth(2017, 12), Grain.HALF),
    ("2017-Q3", FiscalMonth(2017, 7), FiscalMonth(2017, 9), Grain.QUARTER),
    ("2017-03", FiscalMonth(2017, 3), FiscalMonth(2017, 3), Grain.MONTH),
])
def test_parse_period(label, first, last, grain):
    period = parse_period(label)
    assert (period.first, period.last, period.grain) == (first, last, grain)


def test_parse_period_calendar_month_in_fiscal_year():
    """March 2017 is month 9 of fiscal year 2017 when the year starts in July."""
    assert parse_period("2017-03", 7).first == FiscalMonth(2017, 9)


@pytest.mark.parametrize("label", ["2017-Q5", "2017-H3", "2017-13", "17", "2017Q1", ""])
def test_parse_period_rejects(label):
    with pytest.raises(ValueError, match="unknown period"):
        parse_period(label)


def test_compare_periods_setting_rejects_bad_label():
    with pytest.raises(ValueError, match="2017-Q9"):
        KpiSettings(compare_periods=("2017-Q1", "2017-Q9"))


def test_revenue_by_quarter_and_month():
    report, _ = _report([_won(100, "2017-01-15"), _won(50, "2017-03-31"), _won(25, "2017-05-02"), _lost("2017-02-01")])
    by_period = report.revenue_by_period
    assert [(row.period, row.revenue) for row in by_period.quarters] == [("2017-Q1", 150), ("2017-Q2", 25)]
    assert [(row.period, row.revenue) for row in by_period.months] == [
        ("2017-01", 100), ("2017-02", 0), ("2017-03", 50), ("2017-04", 0), ("2017-05", 25),
    ]
    assert [(row.period, row.revenue) for row in by_period.years] == [("2017", 175)]


def test_revenue_quarters_cover_whole_years_in_fiscal_order():
    """With a July start, May 2017 is fiscal 2017-Q4 and August 2017 is fiscal 2018-Q1."""
    report, _ = _report([_won(10, "2017-05-10"), _won(20, "2017-08-10")], fiscal_year_start_month=7)
    quarters = report.revenue_by_period.quarters
    assert [row.period for row in quarters] == ["2017-Q4", "2018-Q1"]
    assert [row.revenue for row in quarters] == [10, 20]


def test_revenue_attributed_to_other_date_field():
    values = [
        _won(100, "2017-12-20", contract_start="2018-01-05"),
        _won(40, "2017-11-01", contract_start="2017-11-15"),
        _won(7, "2017-11-01"),
    ]
    report, _ = _report(values, revenue_date_field="contract_start")
    by_period = report.revenue_by_period
    assert by_period.date_field == "contract_start"
    assert [(row.period, row.revenue) for row in by_period.years] == [("2017", 40), ("2018", 100)]
    assert by_period.without_date == 1


def test_revenue_by_year_stays_on_close_date():
    """The attribution setting changes the period series, not the close-date yearly figures."""
    report, _ = _report([_won(100, "2017-12-20", contract_start="2018-01-05")], revenue_date_field="contract_start")
    assert [row.period for row in report.won_revenue_by_year] == ["2017"]


def test_malformed_attribution_date_is_a_problem():
    _, problems = _report([_won(1, "2017-01-01", contract_start="soon")], revenue_date_field="contract_start")
    assert len(problems) == 1
    assert "contract_start 'soon' is not a date" in problems[0]


def test_west_close_keeps_quarter():
    """22:30 on 31 March in Los Angeles is 1 April in UTC, yet stays in Q1 and in March."""
    report, _ = _report([_won(100, "2017-03-31T22:30:00-07:00")], time_zone="America/Los_Angeles")
    assert [row.period for row in report.revenue_by_period.quarters] == ["2017-Q1"]
    assert [row.period for row in report.revenue_by_period.months] == ["2017-03"]
    assert [rate.period for rate in report.win_rate_by_month] == ["2017-03"]


def test_utc_report_moves_quarter():
    report, _ = _report([_won(100, "2017-03-31T22:30:00-07:00")], time_zone="UTC")
    assert [row.period for row in report.revenue_by_period.quarters] == ["2017-Q2"]


def test_year_on_year_growth():
    report, _ = _report([_won(100, "2015-06-01"), _won(150, "2016-06-01"), _won(75, "2017-06-01")])
    growth = report.year_on_year
    assert [(item.previous_year, item.year) for item in growth] == [("2015", "2016"), ("2016", "2017")]
    assert growth[0].change == pytest.approx(0.5)
    assert growth[1].change == pytest.approx(-0.5)


def test_year_on_year_gap_year_is_zero():
    """A year without won deals sits in the series as 0, and growth from 0 has no rate."""
    report, _ = _report([_won(100, "2015-06-01"), _won(150, "2017-06-01")])
    growth = report.year_on_year
    assert [item.revenue for item in growth] == [Decimal(0), Decimal(150)]
    assert growth[0].change == pytest.approx(-1.0)
    assert growth[1].change is None


def test_year_on_year_needs_two_years():
    report, _ = _report([_won(100, "2017-06-01")])
    assert report.year_on_year == ()


def test_win_rate_by_month_fills_gaps():
    report, _ = _report([_won(1, "2017-01-10"), _lost("2017-01-11"), _won(1, "2017-03-10")])
    months = report.win_rate_by_month
    assert [rate.period for rate in months] == ["2017-01", "2017-02", "2017-03"]
    assert [rate.by_count.value for rate in months] == [0.5, None, 1.0]


def test_compare_quarters_pooled_and_monthly_mean():
    values = (
        [_won(1, "2017-01-05")] * 3 + [_lost("2017-01-06")]  # January 3 of 4
        + [_lost("2017-02-05")]  # February 0 of 1
        + [_won(1, "2017-04-05"), _lost("2017-04-06")]  # April 1 of 2
    )
    report, _ = _report(values, compare_periods=("2017-Q1", "2017-Q2"))
    change = report.win_rate_change
    assert change.status is Status.COMPUTED
    assert change.first.pooled.value == pytest.approx(3 / 5)
    assert change.first.monthly_mean == pytest.approx((0.75 + 0.0) / 2)
    assert change.pooled_change == pytest.approx((0.5 - 0.6) * 100)
    assert change.monthly_mean_change == pytest.approx((0.5 - 0.375) * 100)


def test_compare_defaults_to_halves_of_latest_year():
    report, _ = _report([_won(1, "2016-03-01"), _won(1, "2017-02-01"), _lost("2017-08-01")])
    change = report.win_rate_change
    assert (change.first.period, change.second.period) == ("2017-H1", "2017-H2")


def test_compare_empty_period_not_computable():
    report, _ = _report([_won(1, "2017-02-01")], compare_periods=("2017-Q1", "2017-Q3"))
    change = report.win_rate_change
    assert change.status is Status.NOT_COMPUTABLE
    assert change.reason == "no closed deal in 2017-Q3"


def test_compare_without_closed_deals():
    report, _ = _report([])
    assert report.win_rate_change.status is Status.NOT_COMPUTABLE
