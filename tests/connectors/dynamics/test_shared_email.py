"""Two Dynamics contacts share an email with one HubSpot contact: the real connectors, engine and state store.

Matching by email cannot tell which Dynamics contact is the HubSpot one, so the group must
be held apart: no link, no overwritten values, no new contact on either side, and nothing
written on the next run either.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sync.engine.plan import SkipReason
from sync.engine.run import RunMode
from sync.model import Kind, System
from sync.runtime import open_runtime
from sync.sandbox.server import Sandbox
from sync.settings import load_settings
from sync.state import ReviewQueue
from tests.conftest import DEFAULT_MAPPING
from tests.connectors.dynamics.sandboxes import FrozenClock

SHARED = "pat@acme.example"


@pytest.fixture
def clock():
    # Both CRMs on a frozen clock, so what an incremental read returns does not depend on how long a run takes.
    return FrozenClock(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def world(tmp_path, clock):
    with Sandbox(tmp_path / "sandbox", hubspot_rate_limits=False, clock=clock) as sandbox:
        hubspot_id = sandbox.hubspot.add_record("contacts", {"email": SHARED, "firstname": "Pat", "lastname": "Lee",
                                                             "jobtitle": "Buyer"})
        dynamics_ids = [
            sandbox.dataverse.add_row("contacts", {"emailaddress1": SHARED, "firstname": "Pat", "lastname": "Lee",
                                                   "jobtitle": "Head of purchasing"}),
            sandbox.dataverse.add_row("contacts", {"emailaddress1": SHARED, "firstname": "Patricia", "lastname": "Lee",
                                                   "jobtitle": "Accountant"}),
        ]
        # A contact with an email of its own, to show that the run itself syncs.
        sandbox.hubspot.add_record("contacts", {"email": "sam@globex.example", "firstname": "Sam", "lastname": "Ode"})
        settings_path = tmp_path / "crmsync.yaml"
        sandbox.write_settings(settings_path, f"sqlite:///{tmp_path / 'state.sqlite'}", DEFAULT_MAPPING,
                               tmp_path / "reports")
        runtime = open_runtime(load_settings(settings_path))
        try:
            yield sandbox, runtime, hubspot_id, dynamics_ids
        finally:
            runtime.close()


def _dynamics_rows(sandbox, email):
    return {row["contactid"]: row for row in sandbox.dataverse.rows("contacts") if row["emailaddress1"] == email}


def _hubspot_records(sandbox, email):
    return [record for record in sandbox.hubspot.records("contacts") if record["properties"].get("email") == email]


def test_group_neither_linked_nor_written(world):
    sandbox, runtime, hubspot_id, dynamics_ids = world
    before = _dynamics_rows(sandbox, SHARED)

    result = runtime.engine.run(RunMode.SYNC)

    store = runtime.store
    assert store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id) is None
    assert [store.link_for(System.DYNAMICS, Kind.CONTACT, row_id) for row_id in dynamics_ids] == [None, None]
    assert _dynamics_rows(sandbox, SHARED) == before
    assert len(_hubspot_records(sandbox, SHARED)) == 1
    assert _hubspot_records(sandbox, SHARED)[0]["properties"]["jobtitle"] == "Buyer"
    # The control contact was created in Dynamics, so the run did sync.
    assert len(_dynamics_rows(sandbox, "sam@globex.example")) == 1
    assert result.errors == []


def test_group_reported_for_review(world):
    sandbox, runtime, hubspot_id, dynamics_ids = world

    result = runtime.engine.run(RunMode.SYNC)

    plan = result.plan.kinds[Kind.CONTACT]
    skipped = {(skip.record.system, skip.record.id): skip for skip in plan.skips}
    for key in [(System.HUBSPOT, hubspot_id), *((System.DYNAMICS, row_id) for row_id in dynamics_ids)]:
        assert skipped[key].reason is SkipReason.AMBIGUOUS
        assert SHARED in skipped[key].detail
    assert [(duplicate.system, set(duplicate.ids)) for duplicate in plan.duplicates] == [
        (System.DYNAMICS, set(dynamics_ids))]
    queued = {(row.system, row.record_id): row.reason for row in runtime.store.record_errors(kind=Kind.CONTACT)}
    expected = {(str(System.HUBSPOT), hubspot_id), *((str(System.DYNAMICS), row_id) for row_id in dynamics_ids)}
    assert set(queued) == expected
    assert all(reason.startswith("ambiguous") for reason in queued.values())


def test_second_run_stable(world):
    sandbox, runtime, hubspot_id, dynamics_ids = world
    runtime.engine.run(RunMode.SYNC)
    before = sandbox.snapshot()
    sandbox.reset_counts()

    second = runtime.engine.run(RunMode.SYNC)

    assert len(_dynamics_rows(sandbox, SHARED)) == 2
    assert second.plan.write_count == 0
    assert sandbox.write_requests() == 0
    assert sandbox.snapshot() == before
    assert runtime.store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id) is None


def test_group_in_review_queue(world):
    sandbox, runtime, hubspot_id, dynamics_ids = world

    runtime.engine.run(RunMode.SYNC)

    pending = {(item.hubspot_id, item.dynamics_id) for item in ReviewQueue(runtime.store).pending(Kind.CONTACT)}
    assert pending == {(hubspot_id, row_id) for row_id in dynamics_ids}


def test_accepted_pair_links_only_it(world):
    sandbox, runtime, hubspot_id, dynamics_ids = world
    runtime.engine.run(RunMode.SYNC)
    review = ReviewQueue(runtime.store)
    chosen = next(item for item in review.pending(Kind.CONTACT) if item.dynamics_id == dynamics_ids[0])
    review.accept(chosen.id)
    other_before = _dynamics_rows(sandbox, SHARED)[dynamics_ids[1]]
    runtime.engine.run(RunMode.SYNC)
    # The accepted pair is linked at the first run after the decision, whatever the retry back-off.
    assert runtime.store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id).dynamics_id == dynamics_ids[0]

    runtime.engine.run(RunMode.SYNC)
    runtime.engine.run(RunMode.SYNC)

    assert runtime.store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id).dynamics_id == dynamics_ids[0]
    assert runtime.store.link_for(System.DYNAMICS, Kind.CONTACT, dynamics_ids[1]) is None
    assert _dynamics_rows(sandbox, SHARED)[dynamics_ids[1]] == other_before
    assert len(_dynamics_rows(sandbox, SHARED)) == 2
    [hubspot] = _hubspot_records(sandbox, SHARED)
    # The chosen pair's contact keeps its values: the other contact was never created over it.
    assert (hubspot["properties"]["firstname"], hubspot["properties"]["jobtitle"]) == ("Pat", "Buyer")
    errors = {row.record_id: row.reason for row in runtime.store.record_errors(System.DYNAMICS, Kind.CONTACT)}
    assert "already has the email" in errors[dynamics_ids[1]]


def test_unchanged_hubspot_twin_read(world, clock):
    """Only one Dynamics contact of the group changes: the engine still reads the unchanged
    HubSpot contact and the other Dynamics contact, so the group stays apart."""
    sandbox, runtime, hubspot_id, dynamics_ids = world
    runtime.engine.run(RunMode.SYNC)
    clock.advance(3600)
    runtime.engine.run(RunMode.SYNC)
    clock.advance(3600)
    sandbox.dataverse.update_row("contacts", dynamics_ids[0], {"telephone1": "+14155550199"})
    before = sandbox.snapshot()

    result = runtime.engine.run(RunMode.SYNC)

    assert result.plan.write_count == 0
    assert sandbox.snapshot() == before
    assert runtime.store.link_for(System.HUBSPOT, Kind.CONTACT, hubspot_id) is None
    skipped = {skip.record.id for skip in result.plan.kinds[Kind.CONTACT].skips if skip.reason is SkipReason.AMBIGUOUS}
    assert skipped == {hubspot_id, *dynamics_ids}
