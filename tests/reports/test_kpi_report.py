"""KPI report renderers: terminal table, JSON and CSV show the same figures."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from sync.kpis import KpiReport, KpiSettings, compute_kpis, facts_from_canonical
from sync.reports.kpis import CSV_COLUMNS, render_table, to_json, write_csv

SETTINGS = KpiSettings(as_of=date(2018, 1, 10), currency="EUR")


def _report(values: list[dict]) -> KpiReport:
    facts, _ = facts_from_canonical(values, SETTINGS)
    return compute_kpis(facts, SETTINGS)


def _deals() -> list[dict]:
    return [
        {"name": "Acme", "stage": "closedwon", "amount": "1500.5", "close_date": "2017-02-01"},
        {"name": "Globex", "stage": "closedlost", "amount": 0, "close_date": "2017-08-01"},
        {"name": "Initech", "stage": "closedwon", "amount": 500, "close_date": "2017-09-01"},
        {"name": "Umbrella", "stage": "qualifiedtobuy", "amount": 2000, "close_date": "2017-12-01"},
        {"name": "Hooli", "stage": "contractsent", "amount": None, "close_date": "2017-11-15"},
        {"name": "Vandelay", "stage": "closedwon", "amount": "bad", "close_date": None},
    ]


@pytest.fixture()
def report() -> KpiReport:
    return _report(_deals())


def _csv(report: KpiReport, tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "kpis.csv"
    write_csv(report, path)
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- table


def test_table_heading(report: KpiReport) -> None:
    first_line = render_table(report).splitlines()[0]
    assert first_line == (
        "Pipeline KPIs as of 2018-01-10 (time zone UTC, currency EUR, fiscal year starts in January)"
    )


def test_table_win_rate(report: KpiReport) -> None:
    assert "66.67 % (2/3)" in render_table(report)


def test_table_revenue(report: KpiReport) -> None:
    text = render_table(report)
    assert "2,000.50" in text
    assert "1,000.25" in text


def test_table_overdue_oldest_first(report: KpiReport) -> None:
    text = render_table(report)
    assert text.index("Hooli") < text.index("Umbrella")


def test_table_overdue_limit(report: KpiReport) -> None:
    text = render_table(report, overdue_limit=1)
    assert "Umbrella" not in text
    assert "... and 1 more" in text


def test_table_not_computable() -> None:
    text = render_table(_report([{"name": "Open", "stage": "qualifiedtobuy", "amount": 5}]))
    assert "not computable: open deals have no expected close date" in text


def test_table_half_change(report: KpiReport) -> None:
    """H1 wins 1 of 1, H2 wins 1 of 2: a fall of 50 points."""
    assert "pooled -50.00 percentage points" in render_table(report)


def test_table_zero_lost_amounts(report: KpiReport) -> None:
    assert "1 of 1 lost deals have amount 0" in render_table(report)


def test_table_empty_report() -> None:
    text = render_table(_report([]))
    assert "no closed deal has a close date" in text


def test_table_columns_aligned(report: KpiReport) -> None:
    lines = render_table(report).split("\n\n")[1].splitlines()[1:4]
    assert len({len(line) for line in lines}) == 1


# ---------------------------------------------------------------- JSON


def test_json_serialisable(report: KpiReport) -> None:
    assert json.loads(json.dumps(to_json(report))) == to_json(report)


def test_json_win_rate(report: KpiReport) -> None:
    by_count = to_json(report)["win_rate"]["by_count"]
    assert (by_count["numerator"], by_count["denominator"]) == (2, 3)
    assert by_count["value"] == pytest.approx(2 / 3)


def test_json_money(report: KpiReport) -> None:
    assert to_json(report)["won_revenue"]["revenue"] == 2000.5


def test_json_overdue_all_listed(report: KpiReport) -> None:
    overdue = to_json(report)["overdue"]
    assert [deal["name"] for deal in overdue["deals"]] == ["Hooli", "Umbrella"]
    assert overdue["deals"][0]["amount"] is None


def test_json_data_quality(report: KpiReport) -> None:
    quality = to_json(report)["data_quality"]
    assert (quality["malformed_amount"], quality["closed_without_close_date"]) == (1, 1)


def test_json_not_computable() -> None:
    overdue = to_json(_report([{"stage": "qualifiedtobuy"}]))["overdue"]
    assert (overdue["status"], overdue["count"]) == ("not computable", None)


# ---------------------------------------------------------------- CSV


def test_csv_header(report: KpiReport, tmp_path: Path) -> None:
    path = tmp_path / "kpis.csv"
    write_csv(report, path)
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(CSV_COLUMNS)


def test_csv_win_rate(report: KpiReport, tmp_path: Path) -> None:
    rows = {(row["kpi"], row["period"]): row for row in _csv(report, tmp_path)}
    row = rows[("win_rate_by_count", "all")]
    assert (row["value"], row["numerator"], row["denominator"]) == ("0.666667", "2", "3")


def test_csv_overdue_rows(report: KpiReport, tmp_path: Path) -> None:
    rows = [row for row in _csv(report, tmp_path) if row["kpi"] == "overdue_open_deal"]
    assert [row["period"] for row in rows] == ["2017-11-15", "2017-12-01"]


def test_csv_not_computable(tmp_path: Path) -> None:
    rows = _csv(_report([{"stage": "qualifiedtobuy"}]), tmp_path)
    overdue = next(row for row in rows if row["kpi"] == "overdue_open_deals")
    assert overdue["value"] == ""
    assert overdue["note"] == "not computable: open deals have no expected close date"


def test_csv_half_change(report: KpiReport, tmp_path: Path) -> None:
    rows = {row["kpi"]: row for row in _csv(report, tmp_path)}
    assert rows["win_rate_change_pooled"]["value"] == "-50.0000"


def test_formats_agree(report: KpiReport, tmp_path: Path) -> None:
    """The average won deal reads the same in all three outputs."""
    average = to_json(report)["won_revenue"]["average_won_deal"]
    rows = {(row["kpi"], row["period"]): row for row in _csv(report, tmp_path)}
    assert average == 1000.25
    assert rows[("average_won_deal", "all")]["value"] == "1000.25"
    assert "1,000.25" in render_table(report)
