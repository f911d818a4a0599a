"""KPI computation on small hand-made deal sets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.kpis import DealFacts, KpiReport, KpiSettings, Outcome, Status, compute_kpis, facts_from_canonical

AS_OF = date(2018, 1, 10)
SETTINGS = KpiSettings(as_of=AS_OF)


def _deal(stage: str, amount: object = None, close_date: object = None, name: str | None = None) -> dict:
    return {"name": name, "stage": stage, "amount": amount, "close_date": close_date}


def _report(values: list[dict], settings: KpiSettings = SETTINGS) -> KpiReport:
    facts, _ = facts_from_canonical(values, settings)
    return compute_kpis(facts, settings)


def _never() -> datetime:
    raise AssertionError("the clock must not be read when as_of is set")


# ---------------------------------------------------------------- empty input


def test_empty_win_rate() -> None:
    report = _report([])
    assert report.win_rate.by_count.value is None
    assert report.win_rate_by_year == ()


def test_empty_revenue() -> None:
    report = _report([])
    assert report.won_revenue.revenue == Decimal(0)
    assert report.won_revenue.average is None


def test_empty_overdue_is_zero() -> None:
    """With no open deals, nothing is overdue: a measured zero."""
    overdue = _report([]).overdue
    assert (overdue.status, overdue.count) == (Status.COMPUTED, 0)


def test_empty_half_change() -> None:
    change = _report([]).half_change
    assert change.status is Status.NOT_COMPUTABLE
    assert change.reason == "no closed deal has a close date"


def test_empty_data_quality() -> None:
    assert _report([]).data_quality.deals == 0


# ---------------------------------------------------------------- amounts


def test_malformed_amount_left_out_of_revenue() -> None:
    report = _report([
        _deal("closedwon", "100", "2017-02-01"),
        _deal("closedwon", "abc", "2017-02-02"),
        _deal("closedwon", None, "2017-02-03"),
    ])
    revenue = report.won_revenue
    assert (revenue.won, revenue.revenue, revenue.without_amount) == (3, Decimal(100), 2)


def test_average_ignores_missing_amounts() -> None:
    report = _report([
        _deal("closedwon", 100, "2017-02-01"),
        _deal("closedwon", 300, "2017-02-02"),
        _deal("closedwon", "n/a", "2017-02-03"),
    ])
    assert report.won_revenue.average == Decimal(200)


def test_win_rate_by_amount() -> None:
    report = _report([
        _deal("closedwon", 300, "2017-02-01"),
        _deal("closedlost", 100, "2017-02-02"),
        _deal("closedlost", None, "2017-02-03"),
    ])
    rate = report.win_rate
    assert (rate.by_amount.numerator, rate.by_amount.denominator) == (Decimal(300), Decimal(400))
    assert rate.without_amount == 1


def test_win_rate_by_count_keeps_deals_without_amount() -> None:
    report = _report([_deal("closedwon", None, "2017-02-01"), _deal("closedlost", "bad", "2017-02-02")])
    assert report.win_rate.by_count.value == 0.5


def test_lost_zero_amount_counted() -> None:
    report = _report([_deal("closedwon", 10, "2017-02-01"), _deal("closedlost", 0, "2017-02-02")])
    assert report.win_rate.lost_zero_amount == 1


def test_open_pipeline_value() -> None:
    report = _report([
        _deal("qualifiedtobuy", "1000.10", "2018-03-01"),
        _deal("contractsent", 0.2),
        _deal("appointmentscheduled", "-5"),
        _deal("closedwon", 50, "2017-01-01"),
    ])
    pipeline = report.open_pipeline
    assert (pipeline.open_deals, pipeline.value, pipeline.without_amount) == (3, Decimal("1000.30"), 1)


def test_data_quality_counts() -> None:
    report = _report([
        _deal("closedwon", "x", None),
        _deal("closedlost", None, "2017-99-01"),
        _deal("qualifiedtobuy", 5, None),
        {"amount": 1, "close_date": "2017-01-01"},
    ])
    quality = report.data_quality
    assert (quality.without_amount, quality.malformed_amount) == (2, 1)
    assert (quality.without_close_date, quality.malformed_close_date) == (3, 1)
    assert quality.closed_without_close_date == 2
    assert quality.without_stage == 1


def test_closed_without_date_left_out() -> None:
    report = _report([_deal("closedwon", 10, None), _deal("closedlost", 10, "2017-05-05")])
    assert (report.win_rate.won, report.win_rate.lost) == (0, 1)


# ---------------------------------------------------------------- periods


def test_per_year_sums_to_overall() -> None:
    report = _report([
        _deal("closedwon", 10, "2016-12-31"),
        _deal("closedlost", 10, "2017-01-01"),
        _deal("closedwon", 20, "2017-06-01"),
    ])
    assert [(rate.period, rate.won, rate.lost) for rate in report.win_rate_by_year] == [("2016", 1, 0), ("2017", 1, 1)]


def test_revenue_by_fiscal_year() -> None:
    """With a July start, June 2017 is fiscal 2017 and July 2017 is fiscal 2018."""
    settings = KpiSettings(as_of=AS_OF, fiscal_year_start_month=7)
    report = _report([_deal("closedwon", 10, "2017-06-30"), _deal("closedwon", 20, "2017-07-01")], settings)
    assert [(item.period, item.revenue) for item in report.won_revenue_by_year] == [
        ("2017", Decimal(10)), ("2018", Decimal(20)),
    ]


def test_time_zone_keeps_year() -> None:
    """A deal won at 23:30 on 31 December in New York belongs to that year, not the next."""
    settings = KpiSettings(as_of=AS_OF, time_zone="America/New_York")
    report = _report([_deal("closedwon", 10, "2017-12-31T23:30:00-05:00")], settings)
    assert [item.period for item in report.won_revenue_by_year] == ["2017"]


def test_time_zone_utc_moves_year() -> None:
    report = _report([_deal("closedwon", 10, "2017-12-31T23:30:00-05:00")])
    assert [item.period for item in report.won_revenue_by_year] == ["2018"]


# ---------------------------------------------------------------- overdue


def test_overdue_oldest_first() -> None:
    report = _report([
        _deal("qualifiedtobuy", 1, "2017-12-01", name="b"),
        _deal("qualifiedtobuy", 2, "2017-11-01", name="a"),
        _deal("qualifiedtobuy", 3, "2018-01-10", name="due today"),
        _deal("qualifiedtobuy", 4, "2018-02-01", name="future"),
        _deal("closedwon", 5, "2017-01-01", name="closed"),
    ])
    overdue = report.overdue
    assert [deal.name for deal in overdue.deals] == ["a", "b"]
    assert overdue.count == 2
    assert [deal.days_overdue for deal in overdue.deals] == [70, 40]


def test_overdue_ties_by_name_then_position() -> None:
    report = _report([
        _deal("qualifiedtobuy", None, "2017-12-01", name="zeta"),
        _deal("qualifiedtobuy", None, "2017-12-01", name="alpha"),
        _deal("qualifiedtobuy", None, "2017-12-01", name="alpha"),
        _deal("qualifiedtobuy", None, "2017-12-01", name=None),
    ])
    assert [(deal.name, deal.position) for deal in report.overdue.deals] == [
        (None, 3), ("alpha", 1), ("alpha", 2), ("zeta", 0),
    ]


def test_overdue_not_computable() -> None:
    overdue = _report([_deal("qualifiedtobuy", 10), _deal("closedwon", 10, "2017-01-01")]).overdue
    assert overdue.status is Status.NOT_COMPUTABLE
    assert overdue.reason == "open deals have no expected close date"
    assert overdue.count is None


def test_overdue_counts_unchecked() -> None:
    overdue = _report([_deal("qualifiedtobuy", 10), _deal("qualifiedtobuy", 10, "2017-01-01")]).overdue
    assert (overdue.status, overdue.count, overdue.unchecked) == (Status.COMPUTED, 1, 1)


def test_as_of_from_clock_in_zone() -> None:
    """At 03:00 UTC on 2 January it is still 1 January in Los Angeles."""
    settings = KpiSettings(time_zone="America/Los_Angeles")
    facts, _ = facts_from_canonical([_deal("qualifiedtobuy", 1, "2018-01-01")], settings)
    report = compute_kpis(facts, settings, clock=lambda: datetime(2018, 1, 2, 3, 0, tzinfo=UTC))
    assert report.as_of == date(2018, 1, 1)
    assert report.overdue.count == 0


def test_as_of_setting_wins_over_clock() -> None:
    facts, _ = facts_from_canonical([], SETTINGS)
    assert compute_kpis(facts, SETTINGS, clock=_never).as_of == AS_OF


# ---------------------------------------------------------------- halves


def _half_deals() -> list[dict]:
    return [
        # H1 2017: January 1 of 1, March 1 of 3.
        _deal("closedwon", 1, "2017-01-10"),
        _deal("closedwon", 1, "2017-03-01"),
        _deal("closedlost", 1, "2017-03-02"),
        _deal("closedlost", 1, "2017-03-03"),
        # H2 2017: August 1 of 2.
        _deal("closedwon", 1, "2017-08-01"),
        _deal("closedlost", 1, "2017-08-02"),
        # An older year, left out of the default comparison.
        _deal("closedlost", 1, "2016-12-01"),
    ]


def test_half_latest_year_default() -> None:
    assert _report(_half_deals()).half_change.year == 2017


def test_half_pooled_and_monthly() -> None:
    change = _report(_half_deals()).half_change
    assert change.first is not None and change.second is not None
    assert change.first.pooled.value == 0.5
    assert change.first.monthly_mean == pytest.approx((1 + 1 / 3) / 2)
    assert change.second.pooled.value == 0.5
    assert change.second.monthly_mean == 0.5


def test_half_changes_differ() -> None:
    """Pooled rates tie at 50 %, but the monthly means do not."""
    change = _report(_half_deals()).half_change
    assert change.pooled_change == 0
    assert change.monthly_mean_change == pytest.approx((0.5 - (1 + 1 / 3) / 2) * 100)


def test_half_months_listed() -> None:
    change = _report(_half_deals()).half_change
    assert change.second is not None
    assert [(month.year, month.month) for month in change.second.months] == [(2017, m) for m in range(7, 13)]


def test_half_year_setting() -> None:
    settings = KpiSettings(as_of=AS_OF, year=2016)
    change = _report(_half_deals(), settings).half_change
    assert change.status is Status.NOT_COMPUTABLE
    assert change.reason == "no closed deal in H1 of fiscal year 2016"


def test_half_fiscal_year_halves() -> None:
    """With an April start, fiscal 2018 runs from April 2017 to March 2018, and H2 opens in October."""
    settings = KpiSettings(as_of=AS_OF, fiscal_year_start_month=4)
    change = _report([_deal("closedwon", 1, "2017-09-30"), _deal("closedlost", 1, "2017-10-01")], settings).half_change
    assert change.year == 2018
    assert change.first is not None and change.second is not None
    assert (change.first.won, change.second.lost) == (1, 1)


# ---------------------------------------------------------------- properties

_stages = st.sampled_from(["closedwon", "closedlost", "qualifiedtobuy"])
_days = st.dates(min_value=date(2015, 1, 1), max_value=date(2019, 12, 31))
_deals = st.lists(
    st.builds(_deal, _stages, st.one_of(st.none(), st.integers(0, 10_000), st.just("bad")),
              st.one_of(st.none(), _days.map(date.isoformat))),
    max_size=40,
)


@given(_deals)
def test_years_add_up(values: list[dict]) -> None:
    report = _report(values)
    assert sum(rate.won for rate in report.win_rate_by_year) == report.win_rate.won
    assert sum(rate.lost for rate in report.win_rate_by_year) == report.win_rate.lost
    assert sum(item.revenue for item in report.won_revenue_by_year) == report.won_revenue.revenue


@given(_deals)
def test_outcomes_partition(values: list[dict]) -> None:
    report = _report(values)
    closed = report.win_rate.won + report.win_rate.lost + report.data_quality.closed_without_close_date
    assert closed + report.open_pipeline.open_deals == len(values)


def test_deal_facts_accepted_directly() -> None:
    """Callers may build facts themselves, without canonical values."""
    fact = DealFacts(0, "x", "s", Outcome.WON, Decimal(5), date(2017, 1, 1))
    assert compute_kpis([fact], SETTINGS).won_revenue.revenue == Decimal(5)
