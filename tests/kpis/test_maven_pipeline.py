"""KPIs on the Maven Analytics CRM pipeline, checked against a plain-Python computation.

Each expected figure is computed here from the CSV rows, without sync.kpis, and also
compared with the figures published with the data set.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sync.kpis import KpiReport, KpiSettings, Status, compute_kpis, facts_from_canonical

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PIPELINE_CSV = DATA / "maven_crm_sales_pipeline.csv"
STAGES = {
    "Won": "closedwon",
    "Lost": "closedlost",
    "Engaging": "qualifiedtobuy",
    "Prospecting": "appointmentscheduled",
}

pytestmark = pytest.mark.skipif(not PIPELINE_CSV.exists(), reason=f"{PIPELINE_CSV} is absent")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with PIPELINE_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def report(rows: list[dict[str, str]]) -> KpiReport:
    values = [
        {
            "name": row["opportunity_id"],
            "owner": row["sales_agent"],
            "stage": STAGES[row["deal_stage"]],
            "amount": float(row["close_value"]) if row["close_value"] else None,
            "close_date": row["close_date"] or None,
        }
        for row in rows
    ]
    settings = KpiSettings(as_of=date(2018, 1, 1))
    facts, problems = facts_from_canonical(values, settings)
    assert problems == []
    return compute_kpis(facts, settings)


def _closed(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in rows if row["deal_stage"] in ("Won", "Lost") and row["close_date"]]


def test_stage_counts(rows: list[dict[str, str]]) -> None:
    """The file is the one the reference figures were published for."""
    counts = Counter(row["deal_stage"] for row in rows)
    assert counts == {"Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}


def test_win_rate_by_count(rows: list[dict[str, str]], report: KpiReport) -> None:
    closed = _closed(rows)
    won = sum(1 for row in closed if row["deal_stage"] == "Won")
    assert (report.win_rate.won, report.win_rate.won + report.win_rate.lost) == (won, len(closed))
    assert report.win_rate.by_count.value == pytest.approx(won / len(closed))
    assert round(report.win_rate.by_count.value * 100, 2) == 63.15


def test_win_rate_per_year(rows: list[dict[str, str]], report: KpiReport) -> None:
    years = Counter(row["close_date"][:4] for row in _closed(rows))
    assert [rate.period for rate in report.win_rate_by_year] == sorted(years)
    for rate in report.win_rate_by_year:
        assert rate.won + rate.lost == years[rate.period]


def test_win_rate_by_amount(rows: list[dict[str, str]], report: KpiReport) -> None:
    closed = _closed(rows)
    won_amount = sum(Decimal(row["close_value"]) for row in closed if row["deal_stage"] == "Won")
    all_amount = sum(Decimal(row["close_value"]) for row in closed)
    assert report.win_rate.by_amount.value == pytest.approx(float(won_amount / all_amount))


def test_lost_zero_amounts_flagged(rows: list[dict[str, str]], report: KpiReport) -> None:
    zero = sum(1 for row in _closed(rows) if row["deal_stage"] == "Lost" and Decimal(row["close_value"]) == 0)
    assert report.win_rate.lost_zero_amount == zero


def test_won_revenue_2017(rows: list[dict[str, str]], report: KpiReport) -> None:
    expected = sum(
        Decimal(row["close_value"]) for row in _closed(rows)
        if row["deal_stage"] == "Won" and row["close_date"].startswith("2017")
    )
    revenue = {item.period: item for item in report.won_revenue_by_year}["2017"]
    assert revenue.revenue == expected
    assert revenue.revenue == Decimal(10_005_534)


def test_average_won_deal(rows: list[dict[str, str]], report: KpiReport) -> None:
    won = [Decimal(row["close_value"]) for row in _closed(rows) if row["deal_stage"] == "Won"]
    average = report.won_revenue.average
    assert average is not None
    assert average == pytest.approx(sum(won) / len(won))
    assert round(average, 2) == Decimal("2360.91")


def test_open_pipeline(rows: list[dict[str, str]], report: KpiReport) -> None:
    open_rows = [row for row in rows if row["deal_stage"] in ("Engaging", "Prospecting")]
    without = sum(1 for row in open_rows if not row["close_value"])
    assert report.open_pipeline.open_deals == len(open_rows)
    assert report.open_pipeline.without_amount == without


def test_overdue_not_computable(report: KpiReport) -> None:
    assert report.overdue.status is Status.NOT_COMPUTABLE
    assert report.overdue.reason == "open deals have no expected close date"
    assert report.overdue.count is None


def _half_counts(rows: list[dict[str, str]], months: range) -> tuple[int, int]:
    closed = [row for row in _closed(rows) if row["close_date"][:4] == "2017" and int(row["close_date"][5:7]) in months]
    return sum(1 for row in closed if row["deal_stage"] == "Won"), len(closed)


def test_half_pooled_rates(rows: list[dict[str, str]], report: KpiReport) -> None:
    change = report.half_change
    assert change.year == 2017
    assert change.first is not None and change.second is not None
    first = change.first.pooled
    second = change.second.pooled
    assert (first.numerator, first.denominator) == _half_counts(rows, range(1, 7))
    assert (second.numerator, second.denominator) == _half_counts(rows, range(7, 13))
    assert (first.numerator, first.denominator) == (1785, 2679)
    assert (second.numerator, second.denominator) == (2453, 4032)


def test_half_monthly_means(rows: list[dict[str, str]], report: KpiReport) -> None:
    means = []
    for months in (range(1, 7), range(7, 13)):
        rates = []
        for month in months:
            won, closed = _half_counts(rows, range(month, month + 1))
            if closed:
                rates.append(won / closed)
        means.append(sum(rates) / len(rates))
    change = report.half_change
    assert change.first is not None and change.second is not None
    assert change.first.monthly_mean == pytest.approx(means[0])
    assert change.second.monthly_mean == pytest.approx(means[1])
    assert change.monthly_mean_change == pytest.approx((means[1] - means[0]) * 100)


def test_half_pooled_change(report: KpiReport) -> None:
    assert report.half_change.pooled_change == pytest.approx((2453 / 4032 - 1785 / 2679) * 100)


def test_data_quality(rows: list[dict[str, str]], report: KpiReport) -> None:
    quality = report.data_quality
    assert quality.deals == len(rows)
    assert quality.without_close_date == sum(1 for row in rows if not row["close_date"])
    assert quality.closed_without_close_date == 0
