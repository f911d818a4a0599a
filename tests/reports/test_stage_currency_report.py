"""The stage history section and the currency note in the table, JSON, CSV and HTML reports."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from sync.kpis import KpiReport, KpiSettings, StageEvent, compute_kpis, facts_from_canonical
from sync.reports.html import render_kpi_dashboard
from sync.reports.kpis import render_table, to_json, write_csv

SETTINGS = KpiSettings(as_of=date(2018, 1, 10), currency="USD", exchange_rates={"EUR": Decimal("1.5")})
EVENTS = [
    StageEvent("a", "qualified", date(2017, 1, 1)), StageEvent("a", "proposal", date(2017, 1, 5)),
    StageEvent("a", "closedwon", date(2017, 1, 15)),
    StageEvent("b", "qualified", date(2017, 1, 1)), StageEvent("b", "closedlost", date(2017, 1, 3)),
    StageEvent("c", "qualified", date(2017, 2, 1)), StageEvent("c", "proposal", date(2017, 2, 3)),
]


def _values(currency: str | None = "EUR") -> list[dict]:
    return [
        {"name": "Acme", "stage": "closedwon", "amount": "100", "currency": currency, "close_date": "2017-02-01"},
        {"name": "Globex", "stage": "closedwon", "amount": "40", "close_date": "2017-03-01"},
        {"name": "Initech", "stage": "closedwon", "amount": "70", "currency": "CHF", "close_date": "2017-04-01"},
    ]


def _report(values: list[dict] | None = None, events: list[StageEvent] | None = None) -> KpiReport:
    facts, _ = facts_from_canonical(_values() if values is None else values, SETTINGS)
    return compute_kpis(facts, SETTINGS, stage_events=events)


@pytest.fixture()
def report() -> KpiReport:
    return _report(events=EVENTS)


def _csv(report: KpiReport, tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "kpis.csv"
    write_csv(report, path)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- table


def test_table_stage_time(report: KpiReport) -> None:
    lines = render_table(report).splitlines()
    assert "  qualified               3          2.0        2.7             0" in lines


def test_table_stage_conversion(report: KpiReport) -> None:
    lines = render_table(report).splitlines()
    assert "  qualified  proposal        3         2  66.67 % (2/3)        33.33 %" in lines


def test_table_last_step_to_won(report: KpiReport) -> None:
    lines = render_table(report).splitlines()
    assert "  proposal   won             2         1  50.00 % (1/2)        50.00 %" in lines


def test_table_history_counts(report: KpiReport) -> None:
    assert "  3 deal histories: 1 won, 1 lost" in render_table(report)


def test_table_without_events_has_no_history() -> None:
    assert "Stage history" not in render_table(_report())


def test_table_currency_note(report: KpiReport) -> None:
    assert "Amounts converted to USD at 1 EUR = 1.5 USD (1 deal)." in render_table(report)


def test_table_missing_rate_note(report: KpiReport) -> None:
    assert "No exchange rate for CHF (1 deal)" in render_table(report)


def test_table_quality_missing_rate(report: KpiReport) -> None:
    lines = render_table(report).splitlines()
    row = next(line for line in lines if "without an exchange rate" in line)
    assert row.split()[-1] == "1"


def test_table_without_conversion_has_no_note() -> None:
    values = [{"name": "Globex", "stage": "closedwon", "amount": "40", "close_date": "2017-03-01"}]
    assert "Currencies" not in render_table(_report(values))


def test_table_revenue_converted(report: KpiReport) -> None:
    assert "190.00" in render_table(report)


# ---------------------------------------------------------------- JSON


def test_json_serialisable(report: KpiReport) -> None:
    assert json.loads(json.dumps(to_json(report)))["currency"] == "USD"


def test_json_conversion_ratio(report: KpiReport) -> None:
    first = to_json(report)["stage_history"]["funnel"][0]
    assert first["conversion"] == {"value": pytest.approx(2 / 3), "numerator": 2, "denominator": 3}


def test_json_won_from_here(report: KpiReport) -> None:
    last = to_json(report)["stage_history"]["funnel"][-1]
    assert (last["next_stage"], last["won_from_here"]["value"]) == (None, 0.5)


def test_json_stage_times(report: KpiReport) -> None:
    times = to_json(report)["stage_history"]["times"]
    assert [(time["stage"], time["median_days"]) for time in times][:2] == [("qualified", 2.0), ("proposal", 10.0)]


def test_json_no_history_is_null() -> None:
    assert to_json(_report())["stage_history"] is None


def test_json_currency_note(report: KpiReport) -> None:
    note = to_json(report)["currency_note"]
    assert note["converted"] == [{"currency": "EUR", "rate": "1.5", "deals": 1}]
    assert note["without_rate"] == [{"currency": "CHF", "deals": 1}]


def test_json_no_conversion_is_null() -> None:
    assert to_json(_report(_values(currency=None)[:2]))["currency_note"] is None


def test_json_quality_missing_rate(report: KpiReport) -> None:
    assert to_json(report)["data_quality"]["without_exchange_rate"] == 1


# ---------------------------------------------------------------- CSV


def test_csv_stage_conversion(report: KpiReport, tmp_path: Path) -> None:
    rows = [row for row in _csv(report, tmp_path) if row["kpi"] == "stage_conversion"]
    assert [(row["value"], row["numerator"], row["denominator"], row["note"]) for row in rows] == [
        ("0.666667", "2", "3", "stage qualified to proposal"), ("0.500000", "1", "2", "stage proposal to won"),
    ]


def test_csv_stage_time(report: KpiReport, tmp_path: Path) -> None:
    rows = [row for row in _csv(report, tmp_path) if row["kpi"] == "stage_time_median"]
    assert [(row["value"], row["unit"]) for row in rows][:2] == [("2.0000", "days"), ("10.0000", "days")]


def test_csv_no_history_rows(tmp_path: Path) -> None:
    assert not [row for row in _csv(_report(), tmp_path) if row["kpi"].startswith("stage_")]


def test_csv_exchange_rate(report: KpiReport, tmp_path: Path) -> None:
    rows = [row for row in _csv(report, tmp_path) if row["kpi"] == "exchange_rate"]
    assert [(row["value"], row["unit"]) for row in rows] == [("1.5", "USD per EUR")]


def test_csv_missing_rate(report: KpiReport, tmp_path: Path) -> None:
    rows = [row for row in _csv(report, tmp_path) if row["kpi"] == "amount_without_exchange_rate"]
    assert [(row["value"], row["note"]) for row in rows] == [("1", "CHF amounts left out of money figures")]


def test_csv_quality_missing_rate(report: KpiReport, tmp_path: Path) -> None:
    rows = {row["kpi"]: row["value"] for row in _csv(report, tmp_path)}
    assert rows["data_quality_without_exchange_rate"] == "1"


# ---------------------------------------------------------------- HTML


def test_html_currency_note(report: KpiReport) -> None:
    assert "Amounts converted to USD at 1 EUR = 1.5 USD" in render_kpi_dashboard(report)
