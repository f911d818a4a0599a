"""KPIs on three public CSV data sets, each checked against a plain-Python computation.

Maven Analytics CRM pipeline: revenue per quarter and month, sales cycle, velocity and
breakdowns. RevOps challenge: stage history. R365 RevOps leads: win rate, revenue and
cycle from a file with a BOM, dates without a year and currency strings.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sync.kpis import KpiReport, KpiSettings, Outcome, StageEvent, compute_kpis, facts_from_canonical

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MAVEN = DATA / "maven_crm_sales_pipeline.csv"
TEAMS = DATA / "maven_crm_sales_teams.csv"
HISTORY = DATA / "revops_challenge_deal_stage_history.csv"
R365 = DATA / "r365_revops_leads_opportunities.csv"
MAVEN_STAGES = {"Won": "closedwon", "Lost": "closedlost", "Engaging": "qualifiedtobuy", "Prospecting": "appointmentscheduled"}
HISTORY_OUTCOMES = {"WON": Outcome.WON, "LOST": Outcome.LOST}
# The R365 file has no years, so the test places every date in 2021 (not a leap year).
R365_YEAR = 2021


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


# ---------------------------------------------------------------- Maven pipeline


@pytest.fixture(scope="module")
def maven_rows() -> list[dict[str, str]]:
    return _read(MAVEN)


@pytest.fixture(scope="module")
def maven(maven_rows) -> KpiReport:
    regions = {row["sales_agent"]: row["regional_office"] for row in _read(TEAMS)}
    values = [
        {
            "key": row["opportunity_id"], "owner": row["sales_agent"], "product": row["product"],
            "region": regions.get(row["sales_agent"]), "stage": MAVEN_STAGES[row["deal_stage"]],
            "amount": row["close_value"] or None, "close_date": row["close_date"] or None,
            "created_date": row["engage_date"] or None,
        }
        for row in maven_rows
    ]
    settings = KpiSettings(as_of=date(2018, 1, 1), qualified_stages=["qualifiedtobuy"])
    facts, problems = facts_from_canonical(values, settings)
    assert problems == []
    return compute_kpis(facts, settings)


def _maven_won(rows):
    return [row for row in rows if row["deal_stage"] == "Won"]


def test_maven_revenue_by_quarter(maven, maven_rows):
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in _maven_won(maven_rows):
        day = date.fromisoformat(row["close_date"])
        expected[f"{day.year}-Q{(day.month - 1) // 3 + 1}"] += Decimal(row["close_value"])
    actual = {row.period: row.revenue for row in maven.revenue_by_period.quarters}
    assert actual == dict(expected)


def test_maven_revenue_by_month(maven, maven_rows):
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in _maven_won(maven_rows):
        expected[row["close_date"][:7]] += Decimal(row["close_value"])
    actual = {row.period: row.revenue for row in maven.revenue_by_period.months if row.won}
    assert actual == dict(expected)


def test_maven_win_rate_by_month(maven, maven_rows):
    counts = Counter((row["close_date"][:7], row["deal_stage"]) for row in maven_rows if row["close_date"])
    for rate in maven.win_rate_by_month:
        assert (rate.won, rate.lost) == (counts[(rate.period, "Won")], counts[(rate.period, "Lost")]), rate.period


def _cycle_days(rows, stage):
    return [
        (date.fromisoformat(row["close_date"]) - date.fromisoformat(row["engage_date"])).days
        for row in rows if row["deal_stage"] == stage
    ]


def test_maven_cycle_won(maven, maven_rows):
    days = _cycle_days(maven_rows, "Won")
    assert maven.sales_cycle.won.median_days == statistics.median(days)
    assert maven.sales_cycle.won.mean_days == pytest.approx(statistics.fmean(days))


def test_maven_cycle_lost(maven, maven_rows):
    days = _cycle_days(maven_rows, "Lost")
    assert maven.sales_cycle.lost.median_days == statistics.median(days)
    assert maven.sales_cycle.lost.mean_days == pytest.approx(statistics.fmean(days))


def test_maven_velocity(maven, maven_rows):
    won = _maven_won(maven_rows)
    closed = [row for row in maven_rows if row["deal_stage"] in ("Won", "Lost")]
    engaging = sum(1 for row in maven_rows if row["deal_stage"] == "Engaging")
    average = sum(float(row["close_value"]) for row in won) / len(won)
    expected = engaging * (len(won) / len(closed)) * average / statistics.median(_cycle_days(maven_rows, "Won"))
    assert float(maven.velocity.value) == pytest.approx(expected)


@pytest.mark.parametrize(("breakdown", "column"), [("owner", "sales_agent"), ("product", "product")])
def test_maven_breakdown_revenue(maven, maven_rows, breakdown, column):
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in _maven_won(maven_rows):
        expected[row[column]] += Decimal(row["close_value"])
    found = next(item for item in maven.breakdowns if item.name == breakdown)
    assert {row.value: row.won_revenue for row in found.rows if row.won} == dict(expected)


def test_maven_breakdown_region_win_rate(maven, maven_rows):
    regions = {row["sales_agent"]: row["regional_office"] for row in _read(TEAMS)}
    counts = Counter((regions[row["sales_agent"]], row["deal_stage"]) for row in maven_rows)
    found = next(item for item in maven.breakdowns if item.name == "region")
    for row in found.rows:
        assert (row.won, row.lost) == (counts[(row.value, "Won")], counts[(row.value, "Lost")]), row.value


def test_maven_has_no_pipeline_breakdown(maven):
    assert "pipeline" not in [item.name for item in maven.breakdowns]


# ---------------------------------------------------------------- RevOps stage history


@pytest.fixture(scope="module")
def history_rows() -> list[dict[str, str]]:
    return _read(HISTORY)


@pytest.fixture(scope="module")
def history(history_rows) -> KpiReport:
    events = [
        StageEvent(row["Company"], row["Stage"], datetime.strptime(row["Date"], "%m/%d/%y").date())
        for row in history_rows
    ]
    return compute_kpis([], KpiSettings(as_of=date(2019, 1, 1)), stage_events=events, stage_outcomes=HISTORY_OUTCOMES)


def _sequences(rows):
    deals: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for row in rows:
        deals[row["Company"]].append((datetime.strptime(row["Date"], "%m/%d/%y").date(), row["Stage"]))
    return {company: sorted(items) for company, items in deals.items()}


def test_history_deal_outcomes(history):
    stages = history.stage_history
    assert (stages.deals, stages.won, stages.lost) == (56, 18, 38)


def test_history_funnel(history, history_rows):
    sequences = _sequences(history_rows)
    reached = Counter(stage for items in sequences.values() for _, stage in items)
    funnel = history.stage_history.funnel
    assert [step.stage for step in funnel] == ["S1", "S2", "S3", "S4"]
    assert [step.reached for step in funnel] == [reached[stage] for stage in ("S1", "S2", "S3", "S4")]
    assert [step.advanced for step in funnel] == [reached[stage] for stage in ("S2", "S3", "S4", "WON")]


def test_history_time_in_stage(history, history_rows):
    stays: dict[str, list[int]] = defaultdict(list)
    for items in _sequences(history_rows).values():
        for (entered, stage), (left, _) in zip(items, items[1:], strict=False):
            stays[stage].append((left - entered).days)
    for time in history.stage_history.times:
        assert time.stays == len(stays[time.stage]), time.stage
        assert time.median_days == statistics.median(stays[time.stage]), time.stage
        assert time.mean_days == pytest.approx(statistics.fmean(stays[time.stage])), time.stage


# ---------------------------------------------------------------- R365 leads and opportunities


def _r365_date(text: str) -> str:
    return datetime.strptime(f"{text}-{R365_YEAR}", "%d-%b-%Y").date().isoformat()


@pytest.fixture(scope="module")
def r365_rows() -> list[dict[str, str]]:
    return _read(R365)


@pytest.fixture(scope="module")
def r365(r365_rows) -> KpiReport:
    status = {"Won": "closedwon", "Lost": "closedlost"}
    values = [
        {
            "key": row["Name"], "stage": status[row["Oppportunity Status"]],
            "amount": str(_money(row["Opportunity Amount"])),
            "close_date": _r365_date(row["Opportunity Close Date"]),
            "created_date": _r365_date(row["Converted Date"]),
        }
        for row in r365_rows
    ]
    settings = KpiSettings(as_of=date(R365_YEAR + 1, 1, 1))
    facts, problems = facts_from_canonical(values, settings)
    assert problems == []
    return compute_kpis(facts, settings)


def test_r365_header_read_without_bom(r365_rows):
    assert "Name" in r365_rows[0]


def test_r365_win_rate(r365):
    assert (r365.win_rate.won, r365.win_rate.lost) == (75, 25)


def test_r365_revenue_by_month(r365, r365_rows):
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in r365_rows:
        if row["Oppportunity Status"] == "Won":
            expected[_r365_date(row["Opportunity Close Date"])[:7]] += _money(row["Opportunity Amount"])
    assert {row.period: row.revenue for row in r365.revenue_by_period.months if row.won} == dict(expected)


def test_r365_cycle(r365, r365_rows):
    days = [
        (date.fromisoformat(_r365_date(row["Opportunity Close Date"]))
         - date.fromisoformat(_r365_date(row["Converted Date"]))).days
        for row in r365_rows if row["Oppportunity Status"] == "Won"
    ]
    assert r365.sales_cycle.won.median_days == statistics.median(days)
    assert r365.sales_cycle.won.mean_days == pytest.approx(statistics.fmean(days))
