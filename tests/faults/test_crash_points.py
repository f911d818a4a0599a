"""Crashes at exact points of a run: after a batch's writes, before its commit.

A `BaseException` raised from the state store stands in for SIGKILL: the engine's own error
handling does not catch it, so nothing after the crash point runs. The next runs must then
finish the job without a second record on either side.
"""

import pytest

from sync.model import Kind, System
from tests.faults.checker import Checker
from tests.faults.ledger import Entity
from tests.faults.steps import Generator
from tests.faults.world import World


class Crash(BaseException):
    """The process died here."""


@pytest.fixture
def world(tmp_path):
    running = World(tmp_path)
    yield running
    running.close()


def _crash_on_commit(world: World, number: int) -> None:
    """Make the `number`-th batch commit that stores links or synced values crash."""
    store = world.engine.store
    original = store.commit_batch
    calls = []

    def commit_batch(**parts):
        if parts.get("links") or parts.get("synced"):
            calls.append(1)
            if len(calls) == number:
                store.commit_batch = original
                raise Crash()
        return original(**parts)

    store.commit_batch = commit_batch


def _create(world: World, generator: Generator, kind: Kind, system: System) -> Entity:
    entity = world.ledger.add(Entity(world.ledger.next_number(), kind, system))
    world.write_record(entity, system, generator.initial_values(kind, entity.number, system), create=True)
    return entity


@pytest.mark.parametrize("source", list(System))
@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_crash_before_commit_makes_no_duplicate(world, source, crash_at):
    generator = Generator(world, seed=crash_at)
    for _ in range(2):
        _create(world, generator, Kind.COMPANY, source)
    for kind in (Kind.CONTACT, Kind.DEAL):
        for _ in range(3):
            _create(world, generator, kind, source)
    _crash_on_commit(world, crash_at)

    with pytest.raises(Crash):
        world.engine.run()
    writes = world.settle_down()

    assert writes[-1] == 0
    report = Checker(world).check()
    assert report.violations == []
    assert report.checked_pairs == 8


def _synced_contacts(world: World, job_title: str) -> list[Entity]:
    generator = Generator(world, seed=11)
    contacts = []
    for _ in range(2):
        values = generator.initial_values(Kind.CONTACT, world.ledger.next_number(), System.HUBSPOT)
        values["job_title"] = job_title
        contact = world.ledger.add(Entity(world.ledger.next_number(), Kind.CONTACT, System.HUBSPOT))
        world.write_record(contact, System.HUBSPOT, values, create=True)
        contacts.append(contact)
    world.settle_down()
    world.discover(System.DYNAMICS, Kind.CONTACT)
    return contacts


def test_crash_after_update_keeps_newer_edit(world):
    contacts = _synced_contacts(world, "Analyst")
    for contact in contacts:
        world.write_record(contact, System.HUBSPOT, {"job_title": "Buyer"}, create=False)
    _crash_on_commit(world, 1)

    with pytest.raises(Crash):
        world.engine.run()
    # Edited in Dynamics after the crash: both sides changed, and latest_wins picks this edit.
    world.write_record(contacts[0], System.DYNAMICS, {"job_title": "CFO"}, create=False)
    world.settle_down()

    assert Checker(world).check().violations == []
    assert sorted(row["jobtitle"] for row in world.sandbox.dataverse.rows("contacts")) == ["Buyer", "CFO"]
