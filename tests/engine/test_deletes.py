"""Delete policies end to end on the sandbox: report, archive and ignore."""

import dataclasses

import pytest

from sync.connectors.base import WriteOp, WriteResult
from sync.engine.plan import SkipReason
from sync.errors import RecordError
from sync.engine.run import RunMode
from sync.mapping import DeletePolicy
from sync.model import Kind, System
from tests.faults.ledger import Entity
from tests.faults.steps import Generator
from tests.faults.test_crash_points import _synced_contacts
from tests.faults.world import World


@pytest.fixture
def world(tmp_path):
    running = World(tmp_path)
    yield running
    running.close()


def _use_policy(world: World, kind: Kind, policy: DeletePolicy) -> None:
    pairs = world.engine.mapping.pairs
    pairs[kind] = dataclasses.replace(pairs[kind], on_delete=policy)


KEYS = {"contacts": "contactid", "opportunities": "opportunityid"}


def _row(world: World, entity_set: str, row_id: str) -> dict:
    return next(row for row in world.sandbox.dataverse.rows(entity_set) if row[KEYS[entity_set]] == row_id)


def _hubspot_ids(world: World, object_type: str, archived: bool = False) -> list[str]:
    return [record["id"] for record in world.sandbox.hubspot.records(object_type, archived=archived)]


def _synced_deal(world: World) -> Entity:
    generator = Generator(world, seed=5)
    company = world.ledger.add(Entity(world.ledger.next_number(), Kind.COMPANY, System.HUBSPOT))
    world.write_record(company, System.HUBSPOT, generator.initial_values(Kind.COMPANY, company.number, System.HUBSPOT),
                       create=True)
    deal = world.ledger.add(Entity(world.ledger.next_number(), Kind.DEAL, System.HUBSPOT))
    values = generator.initial_values(Kind.DEAL, deal.number, System.HUBSPOT)
    values["stage"] = "qualifiedtobuy"
    world.write_record(deal, System.HUBSPOT, values, create=True)
    world.settle_down()
    world.discover(System.DYNAMICS, Kind.DEAL)
    return deal


def test_archive_deactivates_dynamics_partner(world):
    _use_policy(world, Kind.CONTACT, DeletePolicy.ARCHIVE)
    contacts = _synced_contacts(world, "CFO")
    world.delete_record(contacts[0], System.HUBSPOT)

    result = world.engine.run()
    writes = world.settle_down()

    assert result.applied[Kind.CONTACT].archived[System.DYNAMICS] == 1
    archived = _row(world, "contacts", contacts[0].ids[System.DYNAMICS])
    assert (archived["statecode"], archived["statuscode"]) == (1, 2)
    kept = _row(world, "contacts", contacts[1].ids[System.DYNAMICS])
    assert kept["statecode"] == 0
    assert writes[-1] == 0
    assert len(world.sandbox.dataverse.rows("contacts")) == 2
    assert _hubspot_ids(world, "contacts") == [contacts[1].ids[System.HUBSPOT]]
    assert world.engine.store.link_for(System.DYNAMICS, Kind.CONTACT, contacts[0].ids[System.DYNAMICS]) is not None


def test_archive_archives_hubspot_partner(world):
    _use_policy(world, Kind.CONTACT, DeletePolicy.ARCHIVE)
    contacts = _synced_contacts(world, "CFO")
    world.delete_record(contacts[1], System.DYNAMICS)

    result = world.engine.run()
    writes = world.settle_down()

    assert result.applied[Kind.CONTACT].archived[System.HUBSPOT] == 1
    assert _hubspot_ids(world, "contacts") == [contacts[0].ids[System.HUBSPOT]]
    assert _hubspot_ids(world, "contacts", archived=True) == [contacts[1].ids[System.HUBSPOT]]
    assert len(world.sandbox.dataverse.rows("contacts")) == 1
    assert writes[-1] == 0


def test_archive_closes_open_opportunity(world):
    _use_policy(world, Kind.DEAL, DeletePolicy.ARCHIVE)
    deal = _synced_deal(world)
    world.delete_record(deal, System.HUBSPOT)

    world.engine.run()
    writes = world.settle_down()

    row = _row(world, "opportunities", deal.ids[System.DYNAMICS])
    assert (row["statecode"], row["statuscode"]) == (2, 4)
    assert writes[-1] == 0
    assert _hubspot_ids(world, "deals") == []


def test_archive_skips_inactive_partner(world):
    _use_policy(world, Kind.CONTACT, DeletePolicy.ARCHIVE)
    contacts = _synced_contacts(world, "CFO")
    world.sandbox.dataverse.update_row("contacts", contacts[0].ids[System.DYNAMICS], {"statecode": 1, "statuscode": 2})
    world.settle_down()
    world.delete_record(contacts[0], System.HUBSPOT)

    result = world.engine.run()

    assert result.plan.kinds[Kind.CONTACT].archives == []
    [skip] = [skip for skip in result.plan.kinds[Kind.CONTACT].skips if skip.reason is SkipReason.DELETED]
    assert "already gone" in skip.detail


def test_dry_run_predicts_archive(world):
    _use_policy(world, Kind.CONTACT, DeletePolicy.ARCHIVE)
    contacts = _synced_contacts(world, "CFO")
    world.delete_record(contacts[0], System.HUBSPOT)
    before = world.sandbox.write_requests()

    result = world.engine.run(RunMode.DRY_RUN)

    assert result.plan.kinds[Kind.CONTACT].counts()["archive_in_dynamics"] == 1
    assert result.plan.write_count == 1
    assert world.sandbox.write_requests() == before
    assert _row(world, "contacts", contacts[0].ids[System.DYNAMICS])["statecode"] == 0


@pytest.mark.parametrize("policy", [DeletePolicy.REPORT, DeletePolicy.IGNORE])
def test_partner_kept_unless_archive(world, policy):
    _use_policy(world, Kind.CONTACT, policy)
    contacts = _synced_contacts(world, "CFO")
    world.delete_record(contacts[0], System.HUBSPOT)

    result = world.engine.run()
    writes = world.settle_down()

    plan = result.plan.kinds[Kind.CONTACT]
    deleted = [skip for skip in plan.skips if skip.reason is SkipReason.DELETED]
    assert len(deleted) == (1 if policy is DeletePolicy.REPORT else 0)
    assert plan.archives == []
    assert _row(world, "contacts", contacts[0].ids[System.DYNAMICS])["statecode"] == 0
    assert writes[-1] == 0


def test_failed_archive_retried(world):
    _use_policy(world, Kind.CONTACT, DeletePolicy.ARCHIVE)
    contacts = _synced_contacts(world, "CFO")
    world.delete_record(contacts[0], System.HUBSPOT)
    connector = world.engine.connectors[System.DYNAMICS]
    original = connector.write

    def write(kind, requests):
        if not any(request.op is WriteOp.ARCHIVE for request in requests):
            return original(kind, requests)
        connector.write = original
        return [WriteResult(False, error=RecordError("injected rejection", system="dynamics", kind=str(kind)))
                for _ in requests]

    connector.write = write
    first = world.engine.run()
    assert first.applied[Kind.CONTACT].archived[System.DYNAMICS] == 0
    assert len(world.engine.store.record_errors(System.DYNAMICS, Kind.CONTACT)) == 1

    world.settle_down()

    assert _row(world, "contacts", contacts[0].ids[System.DYNAMICS])["statecode"] == 1
    assert world.engine.store.record_errors(System.DYNAMICS, Kind.CONTACT) == []
