"""End to end on the real CSV exports: Maven CRM in Dynamics, datablist customers in HubSpot.

The sandbox runs in-process on loopback; the official clients talk to it over HTTP.
"""

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from sync.engine.run import RunMode
from sync.runtime import open_runtime
from sync.sandbox.seed import seed_from_directory
from sync.sandbox.server import Sandbox
from sync.settings import load_settings
from sync.workflows import compute_and_write_kpis

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MAPPING = ROOT / "mappings" / "default.yaml"
STAGES = {"Won": "closedwon", "Lost": "closedlost", "Engaging": "qualifiedtobuy", "Prospecting": "appointmentscheduled"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "maven_crm_sales_pipeline.csv").exists(), reason=f"public CSV files not found in {DATA}"),
]


def _pipeline() -> list[dict[str, str]]:
    with (DATA / "maven_crm_sales_pipeline.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    with Sandbox(folder / "sandbox") as sandbox:
        seed_from_directory(sandbox.hubspot, sandbox.dataverse, DATA)
        settings_path = folder / "crmsync.yaml"
        sandbox.write_settings(settings_path, f"sqlite:///{folder / 'state.sqlite'}", MAPPING, folder / "reports")
        runtime = open_runtime(load_settings(settings_path))
        first = runtime.engine.run(RunMode.SYNC)
        before = sandbox.snapshot()
        sandbox.reset_counts()
        second = runtime.engine.run(RunMode.SYNC)
        after = sandbox.snapshot()
        writes = sandbox.write_requests()
        kpis = compute_and_write_kpis(runtime, folder / "reports", None, date(2018, 1, 1), 2017)
        yield {
            "sandbox": sandbox, "runtime": runtime, "first": first, "second": second,
            "unchanged": before == after, "writes": writes, "kpis": kpis,
        }
        runtime.close()


def test_first_run_has_no_failures(world):
    assert [str(error) for error in world["first"].errors] == []


def test_every_opportunity_arrives_once(world):
    deals = world["sandbox"].hubspot.records("deals")
    opportunity_ids = {row["opportunityid"] for row in world["sandbox"].dataverse.rows("opportunities")}
    keys = Counter(deal["properties"].get("crmsync_id") for deal in deals)
    assert len(deals) == 8800
    assert set(keys) == opportunity_ids
    assert max(keys.values()) == 1


def test_deals_carry_amount_stage_and_close_date(world):
    by_name = {deal["properties"]["dealname"].split(" ", 1)[0]: deal["properties"] for deal in world["sandbox"].hubspot.records("deals")}
    mismatches = []
    for row in _pipeline():
        deal = by_name[row["opportunity_id"]]
        expected_amount = float(row["close_value"]) if row["close_value"] else None
        amount = float(deal["amount"]) if deal.get("amount") else None
        closedate = (deal.get("closedate") or "")[:10] or None
        if (amount, deal["dealstage"], closedate) != (expected_amount, STAGES[row["deal_stage"]], row["close_date"] or None):
            mismatches.append(row["opportunity_id"])
    assert mismatches == []


def test_deals_keep_their_company(world):
    sandbox = world["sandbox"]
    accounts = {row["accountid"]: row["name"] for row in sandbox.dataverse.rows("accounts")}
    companies = {record["id"]: record["properties"]["name"] for record in sandbox.hubspot.records("companies")}
    assert sorted(companies.values()) == sorted(accounts.values())
    with_company = [deal for deal in sandbox.hubspot.records("deals") if sandbox.hubspot.associations("deals", deal["id"], "companies")]
    expected = sum(1 for row in _pipeline() if row["account"])
    assert len(with_company) == expected


def test_contacts_are_not_duplicated(world):
    sandbox = world["sandbox"]
    assert len(sandbox.hubspot.records("contacts")) == 10000
    assert len(sandbox.dataverse.rows("contacts")) == 10000


def test_second_run_writes_nothing(world):
    assert world["second"].plan.write_count == 0
    assert world["unchanged"] is True


def test_second_run_makes_no_write_requests(world):
    assert world["writes"] == 0


def test_kpis_match_the_csv(world):
    rows = _pipeline()
    won = [row for row in rows if row["deal_stage"] == "Won"]
    lost = [row for row in rows if row["deal_stage"] == "Lost"]
    revenue = sum(float(row["close_value"]) for row in won)
    report = world["kpis"].report
    revenue_2017 = next(item for item in report.won_revenue_by_year if item.period == "2017")
    assert report.win_rate.won == len(won)
    assert report.win_rate.lost == len(lost)
    assert float(revenue_2017.revenue) == pytest.approx(revenue)
    assert float(report.won_revenue.average) == pytest.approx(revenue / len(won), abs=0.01)
