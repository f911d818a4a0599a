"""The smallest deterministic cases of engine bugs that the fault-injection suite found."""

import pytest

from sync.connectors.base import WriteResult
from sync.errors import RecordError
from sync.model import Kind, System
from tests.faults.checker import Checker
from tests.faults.ledger import Entity
from tests.faults.test_crash_points import Crash, _crash_on_commit, _synced_contacts
from tests.faults.world import COMPANY_REF, World


@pytest.fixture
def world(tmp_path):
    running = World(tmp_path)
    yield running
    running.close()


def _contact_with_company(world: World) -> Entity:
    company = world.ledger.add(Entity(1, Kind.COMPANY, System.DYNAMICS))
    world.write_record(company, System.DYNAMICS, {"name": "E1 Harbor Works"}, create=True)
    contact = world.ledger.add(Entity(2, Kind.CONTACT, System.DYNAMICS))
    world.write_record(contact, System.DYNAMICS, {"email": "ada.e2@birch2.example", "last_name": "Lee2",
                                                  COMPANY_REF: 1}, create=True)
    world.settle_down()
    world.discover(System.HUBSPOT, Kind.CONTACT)
    return contact


def _hubspot_companies(world: World, contact: Entity) -> list[str]:
    return world.sandbox.hubspot.associations("contacts", contact.ids[System.HUBSPOT], "companies")


def test_company_cleared_in_dynamics_reaches_hubspot(world):
    """A lookup cleared in Dynamics must be removed in HubSpot too. The apply step used to send
    no reference for a None value, so the next run restored the company from HubSpot."""
    contact = _contact_with_company(world)
    assert len(_hubspot_companies(world, contact)) == 1

    world.write_record(contact, System.DYNAMICS, {COMPANY_REF: None}, create=False)
    world.settle_down()

    assert _hubspot_companies(world, contact) == []
    assert [row.get("_parentcustomerid_value") for row in world.sandbox.dataverse.rows("contacts")] == [None]
    assert Checker(world).check().violations == []


def test_company_removed_in_hubspot_clears_lookup(world):
    contact = _contact_with_company(world)
    hubspot_id = contact.ids[System.HUBSPOT]
    company_id = _hubspot_companies(world, contact)[0]
    with world.sandbox.hubspot.lock:
        world.sandbox.hubspot.links[("contacts", hubspot_id, "companies")].pop(company_id)
        world.sandbox.hubspot.links[("companies", company_id, "contacts")].pop(hubspot_id)
    # Stamp a new modification time, so the incremental read sees the change.
    world.clock.advance(1)
    world.sandbox.hubspot.update_record("contacts", hubspot_id, {"jobtitle": "Buyer"})
    world.ledger.record_edit(contact, System.HUBSPOT, {COMPANY_REF: None, "job_title": "Buyer"})

    world.settle_down()

    assert [row.get("_parentcustomerid_value") for row in world.sandbox.dataverse.rows("contacts")] == [None]
    assert _hubspot_companies(world, contact) == []


def test_edit_back_after_crash_is_kept(world):
    contacts = _synced_contacts(world, "CFO")
    world.write_record(contacts[0], System.HUBSPOT, {"job_title": "Buyer"}, create=False)
    _crash_on_commit(world, 1)
    with pytest.raises(Crash):
        world.engine.run()
    # Dynamics now holds "Buyer" from the crashed run. A user sets it back to "CFO", the
    # newest edit of the field on either side, so it must win.
    world.write_record(contacts[0], System.DYNAMICS, {"job_title": "CFO"}, create=False)

    world.settle_down()

    titles = sorted(row["jobtitle"] for row in world.sandbox.dataverse.rows("contacts"))
    assert titles == ["CFO", "CFO"]


def test_landed_write_after_crash_is_synced(world):
    """The write landed and nothing else changed: the next run writes nothing more and
    reports no conflict."""
    contacts = _synced_contacts(world, "CFO")
    world.write_record(contacts[0], System.HUBSPOT, {"job_title": "Buyer"}, create=False)
    _crash_on_commit(world, 1)
    with pytest.raises(Crash):
        world.engine.run()

    result = world.engine.run()

    assert result.plan.write_count == 0
    assert result.plan.kinds[Kind.CONTACT].conflict_count == 0
    assert world.engine.store.pending_writes(Kind.CONTACT) == {}


def test_unsent_write_after_crash_is_sent(world):
    """The process died before the Dataverse call: the record is untouched, so the stored
    synced value is still right and HubSpot's edit flows without a conflict."""
    contacts = _synced_contacts(world, "CFO")
    world.write_record(contacts[0], System.HUBSPOT, {"job_title": "Buyer"}, create=False)
    connector = world.engine.connectors[System.DYNAMICS]
    original = connector.write

    def write(kind, requests):
        connector.write = original
        raise Crash()

    connector.write = write
    with pytest.raises(Crash):
        world.engine.run()

    result = world.engine.run()

    assert result.plan.kinds[Kind.CONTACT].conflict_count == 0
    titles = sorted(row["jobtitle"] for row in world.sandbox.dataverse.rows("contacts"))
    assert titles == ["Buyer", "CFO"]
    assert world.engine.store.pending_writes(Kind.CONTACT) == {}


def test_revert_after_half_written_pair_is_kept(world):
    """HubSpot took its update, then Dynamics rejected the other half of the pair. A user
    who sets the HubSpot field back must win: the synced value is what HubSpot was given."""
    contacts = _synced_contacts(world, "CFO")
    old_phone = world.sandbox.dataverse.rows("contacts")[0]["telephone1"]
    world.write_record(contacts[0], System.HUBSPOT, {"job_title": "Buyer"}, create=False)
    world.write_record(contacts[0], System.DYNAMICS, {"phone": "+14155550123"}, create=False)
    connector = world.engine.connectors[System.DYNAMICS]
    original = connector.write

    def write(kind, requests):
        connector.write = original
        return [WriteResult(False, error=RecordError("injected rejection", system="dynamics", kind=str(kind)))
                for _ in requests]

    connector.write = write
    world.engine.run()
    world.write_record(contacts[0], System.HUBSPOT, {"phone": old_phone}, create=False)

    world.settle_down()

    # The ledger does not model the half-written pair, so the values are checked here.
    row = next(row for row in world.sandbox.dataverse.rows("contacts") if row["jobtitle"] == "Buyer")
    assert row["telephone1"] == old_phone
    hubspot = next(record for record in world.sandbox.hubspot.records("contacts")
                   if record["id"] == contacts[0].ids[System.HUBSPOT])
    assert hubspot["properties"]["phone"] == old_phone
