"""Reading canonical deal values into deal facts: amounts, close dates, stages."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from sync.kpis import KpiSettings, Outcome, ValueIssue, facts_from_canonical, fiscal_month
from sync.kpis.facts import parse_amount, parse_close_date

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def _one(deal: dict, settings: KpiSettings | None = None, stages: dict | None = None):
    facts, problems = facts_from_canonical([deal], settings or KpiSettings(), stages)
    return facts[0], problems


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1200.5, Decimal("1200.5")),
        (0.1, Decimal("0.1")),
        (3, Decimal(3)),
        ("  99.90 ", Decimal("99.90")),
        ("0", Decimal(0)),
        (Decimal("12.34"), Decimal("12.34")),
    ],
    ids=["float", "float-repr", "int", "padded-string", "zero-string", "decimal"],
)
def test_amount_readable(raw: object, expected: Decimal) -> None:
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["abc", "12,5", "1e", float("nan"), float("inf"), "NaN", -5, "-0.01", True, [1]],
    ids=["text", "comma", "exponent-stub", "nan", "inf", "nan-string", "negative", "negative-string", "bool", "list"],
)
def test_amount_malformed(raw: object) -> None:
    fact, problems = _one({"name": "Acme", "stage": "closedwon", "amount": raw, "close_date": "2017-01-05"})
    assert fact.amount is None
    assert fact.amount_issue is ValueIssue.MALFORMED
    assert len(problems) == 1


def test_amount_problem_names_deal() -> None:
    _, problems = _one({"name": "Acme renewal", "stage": "closedwon", "amount": "abc"})
    assert problems[0].startswith("deal #1 'Acme renewal': amount 'abc' is not a non-negative number")


@pytest.mark.parametrize("raw", [None, "", "   "], ids=["none", "empty", "blank"])
def test_amount_missing(raw: object) -> None:
    fact, problems = _one({"stage": "closedwon", "amount": raw})
    assert fact.amount_issue is ValueIssue.MISSING
    assert problems == []


def test_amount_field_absent() -> None:
    fact, _ = _one({"stage": "closedwon"})
    assert fact.amount_issue is ValueIssue.MISSING


def test_custom_field_names() -> None:
    settings = KpiSettings(amount_field="value", stage_field="phase", close_date_field="closed_on", name_field="title")
    fact, _ = _one({"title": "X", "value": "10", "phase": "closedlost", "closed_on": "2017-02-01"}, settings)
    assert (fact.name, fact.amount, fact.outcome, fact.close_date) == ("X", Decimal(10), Outcome.LOST, date(2017, 2, 1))


def test_date_only_kept() -> None:
    """A date without a time is the same day in every time zone."""
    assert parse_close_date("2017-03-31", LOS_ANGELES) == date(2017, 3, 31)


def test_late_evening_west_of_utc() -> None:
    """22:00 in Los Angeles on 31 March is 1 April in UTC but stays 31 March and Q1."""
    settings = KpiSettings(time_zone="America/Los_Angeles")
    fact, _ = _one({"stage": "closedwon", "close_date": "2017-03-31T22:00:00-07:00"}, settings)
    assert fact.close_date == date(2017, 3, 31)
    assert fiscal_month(fact.close_date, 1).quarter == 1


def test_utc_instant_shown_in_zone() -> None:
    """A UTC timestamp just after midnight falls on the previous day in Los Angeles."""
    assert parse_close_date("2017-04-01T05:00:00Z", LOS_ANGELES) == date(2017, 3, 31)


def test_utc_instant_in_utc() -> None:
    assert parse_close_date("2017-04-01T05:00:00Z", ZoneInfo("UTC")) == date(2017, 4, 1)


def test_naive_datetime_is_wall_time() -> None:
    assert parse_close_date("2017-03-31T23:59:59", LOS_ANGELES) == date(2017, 3, 31)


def test_datetime_object_converted() -> None:
    moment = datetime(2017, 7, 1, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    assert parse_close_date(moment, ZoneInfo("UTC")) == date(2017, 7, 1)


def test_date_object_kept() -> None:
    assert parse_close_date(date(2017, 1, 1), LOS_ANGELES) == date(2017, 1, 1)


@pytest.mark.parametrize("raw", ["2017-13-01", "31/03/2017", "yesterday", 1490918400000], ids=["month-13", "dmy", "word", "epoch"])
def test_close_date_malformed(raw: object) -> None:
    fact, problems = _one({"name": "Acme", "stage": "closedwon", "close_date": raw})
    assert fact.close_date is None
    assert fact.close_date_issue is ValueIssue.MALFORMED
    assert "close_date" in problems[0]


def test_default_stage_outcomes() -> None:
    facts, _ = facts_from_canonical(
        [{"stage": "closedwon"}, {"stage": "closedlost"}, {"stage": "contractsent"}, {}], KpiSettings(),
    )
    assert [fact.outcome for fact in facts] == [Outcome.WON, Outcome.LOST, Outcome.OPEN, Outcome.OPEN]


def test_caller_stage_table() -> None:
    """A caller's table replaces the defaults: closedwon is then an unknown, open stage."""
    facts, _ = facts_from_canonical(
        [{"stage": "101"}, {"stage": "closedwon"}], KpiSettings(), {"101": Outcome.WON},
    )
    assert [fact.outcome for fact in facts] == [Outcome.WON, Outcome.OPEN]


def test_settings_override_stage_table() -> None:
    settings = KpiSettings(stage_outcomes={"101": Outcome.LOST})
    fact, _ = _one({"stage": "101"}, settings, {"101": Outcome.WON})
    assert fact.outcome is Outcome.LOST


def test_positions_in_input_order() -> None:
    facts, _ = facts_from_canonical([{"name": "a"}, {"name": "b"}], KpiSettings())
    assert [fact.position for fact in facts] == [0, 1]
