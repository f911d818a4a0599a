"""Weighted pipeline, sales cycle, velocity, breakdowns, repeated keys and data quality."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from sync.kpis import RecordCounts, Status, compute_kpis, facts_from_canonical
from sync.kpis.definitions import KpiSettings

AS_OF = date(2018, 1, 1)
PROBABILITIES = {"appointmentscheduled": 0.2, "contractsent": 0.9}


def _report(values, *, stage_probabilities=None, record_counts=None, **settings):
    kpi_settings = KpiSettings(as_of=AS_OF, **settings)
    facts, _ = facts_from_canonical(values, kpi_settings)
    return compute_kpis(facts, kpi_settings, stage_probabilities=stage_probabilities, record_counts=record_counts)


def _deal(stage, amount=None, close_date=None, created_date=None, **extra):
    return {"stage": stage, "amount": amount, "close_date": close_date, "created_date": created_date, **extra}


def test_weighted_pipeline_value():
    values = [_deal("appointmentscheduled", 100), _deal("appointmentscheduled", 50), _deal("contractsent", 1000)]
    weighted = _report(values, stage_probabilities=PROBABILITIES).weighted_pipeline
    assert weighted.status is Status.COMPUTED
    assert weighted.value == Decimal("930.0")


def test_weighted_pipeline_stage_rows():
    values = [_deal("contractsent", 1000), _deal("appointmentscheduled", 100), _deal("closedwon", 5, "2017-01-01")]
    stages = _report(values, stage_probabilities=PROBABILITIES).weighted_pipeline.stages
    assert [(row.stage, row.open_deals, row.value) for row in stages] == [
        ("appointmentscheduled", 1, 100), ("contractsent", 1, 1000),
    ]


def test_weighted_pipeline_settings_override():
    values = [_deal("contractsent", 1000)]
    overridden = KpiSettings(as_of=AS_OF, stage_probabilities={"contractsent": 0.5})
    facts, _ = facts_from_canonical(values, overridden)
    assert compute_kpis(facts, overridden, stage_probabilities=PROBABILITIES).weighted_pipeline.value == Decimal("500.0")


def test_weighted_pipeline_counts_unknown_stage():
    weighted = _report([_deal("contractsent", 10), _deal("custom", 99)], stage_probabilities=PROBABILITIES).weighted_pipeline
    assert weighted.without_probability == 1
    assert weighted.value == Decimal("9.0")


def test_weighted_pipeline_without_table():
    weighted = _report([_deal("contractsent", 10)]).weighted_pipeline
    assert weighted.status is Status.NOT_COMPUTABLE
    assert weighted.value is None


def test_settings_reject_probability_above_one():
    with pytest.raises(ValueError):
        KpiSettings(stage_probabilities={"contractsent": 1.5})


def test_sales_cycle_won_and_lost():
    values = [
        _deal("closedwon", 1, "2017-01-11", "2017-01-01"),
        _deal("closedwon", 1, "2017-01-31", "2017-01-01"),
        _deal("closedwon", 1, "2017-03-01", "2017-01-01"),
        _deal("closedlost", 0, "2017-01-05", "2017-01-01"),
    ]
    cycle = _report(values).sales_cycle
    assert (cycle.won.deals, cycle.won.median_days) == (3, 30.0)
    assert cycle.won.mean_days == pytest.approx((10 + 30 + 59) / 3)
    assert (cycle.lost.deals, cycle.lost.median_days) == (1, 4.0)


def test_sales_cycle_leaves_out_bad_dates():
    values = [
        _deal("closedwon", 1, "2017-01-11"),
        _deal("closedwon", 1, "2017-01-01", "2017-02-01"),
        _deal("appointmentscheduled", 1, None, "2017-01-01"),
    ]
    cycle = _report(values).sales_cycle
    assert cycle.without_created_date == 1
    assert cycle.closed_before_created == 1
    assert cycle.won.deals == 0


def test_velocity_formula():
    values = [
        _deal("closedwon", 300, "2017-01-31", "2017-01-01"),
        _deal("closedwon", 100, "2017-01-11", "2017-01-01"),
        _deal("closedlost", 0, "2017-01-05", "2017-01-01"),
        _deal("closedlost", 0, "2017-01-05", "2017-01-01"),
        _deal("contractsent", 50),
        _deal("appointmentscheduled", 50),
        _deal("appointmentscheduled", 50),
    ]
    velocity = _report(values, qualified_stages=["contractsent", "appointmentscheduled"]).velocity
    assert velocity.qualified_deals == 3
    # 3 deals x 50 % x 200 average / 20 days median cycle
    assert velocity.value == Decimal(15)


def test_velocity_counts_only_qualified_stages():
    values = [_deal("closedwon", 100, "2017-01-11", "2017-01-01"), _deal("contractsent"), _deal("appointmentscheduled")]
    velocity = _report(values, qualified_stages=["contractsent"]).velocity
    assert velocity.qualified_deals == 1


def test_velocity_without_cycle():
    velocity = _report([_deal("closedwon", 100, "2017-01-11"), _deal("contractsent")]).velocity
    assert velocity.status is Status.NOT_COMPUTABLE
    assert "sales cycle" in velocity.reason
    assert velocity.value is None


def test_breakdown_by_owner():
    values = [
        _deal("closedwon", 100, "2017-01-01", owner="ann"),
        _deal("closedlost", 0, "2017-01-01", owner="ann"),
        _deal("closedwon", 300, "2017-01-01", owner="bob"),
        _deal("contractsent", 40, owner="bob"),
        _deal("contractsent", 10, owner=None),
    ]
    (owner,) = _report(values).breakdowns
    rows = {row.value: row for row in owner.rows}
    assert [row.value for row in owner.rows] == ["bob", "ann", None]
    assert rows["ann"].win_rate.value == 0.5
    assert (rows["bob"].won_revenue, rows["bob"].open_value) == (300, 40)


def test_breakdown_absent_field_is_omitted():
    report = _report([_deal("closedwon", 100, "2017-01-01", owner="ann")])
    assert [breakdown.name for breakdown in report.breakdowns] == ["owner"]


def test_breakdown_custom_field_name():
    values = [_deal("closedwon", 100, "2017-01-01", territory="EMEA")]
    report = _report(values, breakdown_fields={"region": "territory"})
    assert [(item.name, item.field, item.rows[0].value) for item in report.breakdowns] == [("region", "territory", "EMEA")]


def test_same_key_counted_once():
    """A deal read from both CRMs with one key counts once, and the repeat is reported."""
    values = [
        _deal("closedwon", 100, "2017-01-01", key="deal-1"),
        _deal("closedwon", 100, "2017-01-01", key="deal-1"),
        _deal("closedwon", 50, "2017-01-01", key="deal-2"),
        _deal("closedwon", 10, "2017-01-01"),
        _deal("closedwon", 10, "2017-01-01"),
    ]
    report = _report(values)
    assert report.win_rate.won == 4
    assert report.won_revenue.revenue == 170
    assert report.data_quality.repeated_keys == 1


def test_data_quality_new_counts():
    values = [
        _deal("appointmentscheduled", 10, "2017-06-01", "2017-01-01"),
        _deal("appointmentscheduled", None, "2018-06-01"),
        _deal("closedwon", "n/a", "2017-01-01", "2016-12-01"),
    ]
    quality = _report(values, record_counts=RecordCounts(suspected_duplicates=3, unmatched=2)).data_quality
    assert quality.without_amount_or_close_date == 2
    assert quality.open_past_close_date == 1
    assert quality.without_created_date == 1
    assert (quality.suspected_duplicates, quality.unmatched) == (3, 2)


def test_data_quality_counts_not_supplied():
    quality = _report([]).data_quality
    assert quality.suspected_duplicates is None
    assert quality.unmatched is None
