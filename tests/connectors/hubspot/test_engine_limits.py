"""Engine runs at HubSpot's rate limits, against both sandboxes: a burst beyond the ten-second
limit, another app sharing the account, and the daily limit running out mid-run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sync.connectors.hubspot.errors import DailyLimitError
from sync.model import Kind, System
from sync.state import RunOutcome
from tests.connectors.hubspot.engine_world import EngineWorld

# 250 accounts, contacts and opportunities in batches of 10 cost 205 HubSpot requests.
RECORDS = 250


def assert_converged(world: EngineWorld) -> None:
    """Every Dataverse record has one HubSpot record, linked, and deals keep their company."""
    for kind in Kind:
        assert len(world.hubspot_records(kind)) == RECORDS, kind
        assert len(world.links(kind)) == RECORDS, kind
    keys = Counter(record["properties"].get("crmsync_id") for record in world.hubspot_records(Kind.DEAL))
    assert max(keys.values()) == 1
    companies = world.links(Kind.COMPANY)
    for deal in world.hubspot_records(Kind.DEAL):
        associated = world.hubspot_sandbox.associations("deals", deal["id"], "companies")
        assert len(associated) == 1, deal["id"]
        assert associated[0] in companies, deal["id"]


def assert_quiet(world: EngineWorld) -> None:
    """A further run writes nothing to either CRM."""
    world.sandbox.reset_counts()
    result = world.run()
    assert world.writes_of(result) == 0
    assert world.sandbox.write_requests() == 0


def test_burst_beyond_starter_limit(make_world):
    """A run that needs 205 requests on Starter (100 per 10 s) waits instead of getting a 429."""
    world = make_world(tier="starter", batch_size=10)
    world.add_companies_with_people(RECORDS)

    result = world.run()

    assert result.errors == []
    assert world.hubspot_sandbox.router.total() > 150
    assert not world.hubspot_sandbox.gate.rejections
    assert sum(world.clock.sleeps) >= 20
    assert_converged(world)
    assert_quiet(world)
    assert_quiet(world)


def test_other_app_no_429(make_world):
    """With another app sending 70 of Starter's 100 per 10 s, the run gets no 429 and leaves the other app room."""
    world = make_world(tier="starter", batch_size=10)
    world.add_companies_with_people(RECORDS)
    other = world.hubspot_sandbox.gate.other_app(7)
    world.clock.advance(10)

    result = world.run()

    assert result.errors == []
    assert not world.hubspot_sandbox.gate.rejections
    assert other.rejected == 0
    assert other.sent > 400
    assert_converged(world)


def test_daily_reserve_stops_run(make_world):
    """A daily limit of 151 stops the run in deals, before a 429; the next day's run finishes the rest.

    The first run writes companies and contacts and 10 of 25 deal batches. The deals'
    cursors stay where they were, so the next run reads the unwritten deals again. The
    eleventh batch's deals were written to HubSpot but not linked; the next run's upsert
    by crmsync_id finds them instead of creating them twice.
    """
    # 151 is the budget that sends the eleventh deal batch but not its associations. It moves
    # with the number of requests a run makes before the deals.
    world = make_world(tier="starter", batch_size=10, daily_limit=151)
    world.add_companies_with_people(RECORDS)

    with pytest.raises(DailyLimitError) as caught:
        world.run()

    gate = world.hubspot_sandbox.gate
    assert not gate.rejections
    assert gate.daily_used == 149
    assert "deals" in caught.value.operation
    assert "resets at midnight in the account's time zone" in str(caught.value)
    assert world.store.runs()[0].outcome == RunOutcome.FAILED
    assert len(world.links(Kind.CONTACT)) == RECORDS
    assert len(world.links(Kind.DEAL)) == 100
    assert len(world.hubspot_records(Kind.DEAL)) == 110
    assert world.store.cursor(System.HUBSPOT, Kind.DEAL) is None
    assert world.store.cursor(System.DYNAMICS, Kind.DEAL) is None
    assert world.store.cursor(System.DYNAMICS, Kind.CONTACT) is not None


def test_daily_reserve_resumes_next_day(make_world):
    """Runs before the reset send nothing; the first run after midnight finishes with no duplicate."""
    world = make_world(tier="starter", batch_size=10, daily_limit=150)
    world.add_companies_with_people(RECORDS)
    with pytest.raises(DailyLimitError):
        world.run()
    sent = world.hubspot_sandbox.router.total()

    with pytest.raises(DailyLimitError) as again:
        world.run()
    unsent = world.hubspot_sandbox.router.total() - sent
    world.clock.advance(timedelta(days=1).total_seconds())
    result = world.run()

    assert unsent == 0
    assert again.value.operation == "list owners"
    assert result.errors == []
    assert not world.hubspot_sandbox.gate.rejections
    assert_converged(world)
    assert_quiet(world)
