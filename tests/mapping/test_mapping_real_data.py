"""The default deal mapping on the Maven CRM sales pipeline export (8,800 real rows)."""

import csv
from pathlib import Path

import pytest

from sync.mapping import load_mapping
from sync.model import Kind, Record, System

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / ".." / "shared" / "data" / "maven_crm_sales_pipeline.csv"


@pytest.fixture(scope="module")
def rows():
    if not PIPELINE.exists():
        pytest.skip(f"real data not found at {PIPELINE}")
    with PIPELINE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_pipeline_round_trip(rows):
    """Each row read as a HubSpot deal, written to Dataverse and read back, keeps its values."""
    pair = load_mapping(ROOT / "mappings" / "default.yaml").pairs[Kind.DEAL]
    mismatches = []
    for row in rows:
        hubspot = Record(System.HUBSPOT, Kind.DEAL, row["opportunity_id"], {
            "dealname": row["product"], "amount": row["close_value"], "closedate": row["close_date"],
        })
        canonical = pair.to_canonical(hubspot)
        dynamics = Record(System.DYNAMICS, Kind.DEAL, row["opportunity_id"], pair.from_canonical(System.DYNAMICS, canonical.values))
        if canonical.errors or pair.to_canonical(dynamics).values != canonical.values:
            mismatches.append(row["opportunity_id"])

    assert len(rows) == 8800
    assert mismatches == []


def test_pipeline_blank_close_dates(rows):
    """Open deals have no close date; the canonical value is None, not an error."""
    pair = load_mapping(ROOT / "mappings" / "default.yaml").pairs[Kind.DEAL]
    blank = [row for row in rows if not row["close_date"]]
    records = [Record(System.HUBSPOT, Kind.DEAL, row["opportunity_id"], {"closedate": row["close_date"]}) for row in blank]
    values = [pair.to_canonical(record).values for record in records]

    assert len(blank) == 2089
    assert all(value == {"close_date": None} for value in values)
