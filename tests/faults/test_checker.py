"""The checker must see each kind of violation: tamper with a synced world and look for it."""

import pytest

from sync.model import Kind, System
from tests.faults.checker import Checker
from tests.faults.ledger import Entity
from tests.faults.steps import Generator
from tests.faults.world import World


@pytest.fixture
def world(tmp_path):
    running = World(tmp_path)
    yield running
    running.close()


def _create(world: World, generator: Generator, kind: Kind, system: System) -> Entity:
    entity = world.ledger.add(Entity(world.ledger.next_number(), kind, system))
    world.write_record(entity, system, generator.initial_values(kind, entity.number, system), create=True)
    return entity


def _synced_contact(world: World) -> Entity:
    generator = Generator(world, seed=7)
    _create(world, generator, Kind.COMPANY, System.DYNAMICS)
    contact = _create(world, generator, Kind.CONTACT, System.HUBSPOT)
    world.settle_down()
    world.discover(System.DYNAMICS, Kind.CONTACT)
    return contact


def _violations(world: World) -> list[str]:
    return Checker(world).check().violations


def test_clean_world_passes(world):
    _synced_contact(world)
    assert _violations(world) == []


def test_untracked_edit_is_a_disagreement(world):
    contact = _synced_contact(world)
    world.sandbox.hubspot.update_record("contacts", contact.ids[System.HUBSPOT], {"jobtitle": "Untracked"})
    violations = _violations(world)
    assert any("job_title: HubSpot 'Untracked' != Dynamics" in v for v in violations), violations


def test_stale_value_is_a_lost_update(world):
    contact = _synced_contact(world)
    world.write_record(contact, System.HUBSPOT, {"job_title": "Newer"}, create=False)
    # Both sides agree, but on the old value: the edit was lost.
    before = world.sandbox.dataverse.rows("contacts")[0]["jobtitle"]
    world.sandbox.hubspot.update_record("contacts", contact.ids[System.HUBSPOT], {"jobtitle": before})
    violations = _violations(world)
    assert any("job_title: ended as" in v and "'Newer'" in v for v in violations), violations


def test_second_row_is_a_duplicate(world):
    contact = _synced_contact(world)
    email = world.sandbox.hubspot.records("contacts")[0]["properties"]["email"]
    world.sandbox.dataverse.add_row("contacts", {"emailaddress1": email, "lastname": "Copy"})
    violations = _violations(world)
    assert any(f"{contact.label}: 2 records in dynamics" in v for v in violations), violations


def test_unsynced_record_must_be_queued(world):
    generator = Generator(world, seed=3)
    contact = _create(world, generator, Kind.CONTACT, System.DYNAMICS)
    violations = _violations(world)
    assert any(f"{contact.label}: exists only in dynamics" in v for v in violations), violations


def test_link_to_missing_row_is_reported(world):
    contact = _synced_contact(world)
    world.sandbox.dataverse.delete_row("contacts", contact.ids[System.DYNAMICS])
    violations = _violations(world)
    assert any("does not exist" in v for v in violations), violations
