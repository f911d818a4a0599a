"""HubSpot merges between two engine runs, against both sandboxes: the link follows the
survivor, nothing is created twice in Dynamics, and the runs after it write nothing."""

from __future__ import annotations

import pytest

from sync.engine.plan import SkipReason
from sync.model import HUBSPOT_OBJECTS, Kind
from tests.connectors.hubspot.engine_world import EngineWorld


def settle(world: EngineWorld) -> None:
    """Run until nothing is written: the first runs also read back what they created."""
    for _ in range(3):
        if world.writes_of(world.run()) == 0:
            return
    raise AssertionError("the runs kept writing")


def merge(world: EngineWorld, kind: Kind, primary: str, absorbed: str) -> str:
    """Merge two records through HubSpot's merge endpoint a minute later; return the survivor's id."""
    world.clock.advance(60)
    api = getattr(world.official_client().crm, HUBSPOT_OBJECTS[kind]).basic_api
    survivor = api.merge({"primaryObjectId": primary, "objectIdToMerge": absorbed})
    world.clock.advance(60)
    return survivor.id


def row_by_id(world: EngineWorld, kind: Kind) -> dict[str, dict]:
    key = {Kind.CONTACT: "contactid", Kind.COMPANY: "accountid"}[kind]
    return {row[key]: row for row in world.dataverse_rows(kind)}


@pytest.fixture
def contacts(make_world):
    """Two HubSpot contacts of one person, both synced to Dynamics."""
    world = make_world()
    hubspot = world.hubspot_sandbox
    primary = hubspot.add_record("contacts", {"email": "pat@acme.example", "firstname": "Pat", "lastname": "Lee"})
    absorbed = hubspot.add_record("contacts", {"email": "p.lee@acme.example", "firstname": "P.",
                                               "lastname": "Lee", "jobtitle": "CEO"})
    settle(world)
    return world, primary, absorbed


def test_contact_link_follows_survivor(contacts):
    """The primary's link moves to the survivor, under the same link id, and no contact is created."""
    world, primary, absorbed = contacts
    before = {link.hubspot_id: link for link in world.store.links(Kind.CONTACT)}
    survivor = merge(world, Kind.CONTACT, primary, absorbed)

    result = world.run()

    after = {link.hubspot_id: link for link in world.store.links(Kind.CONTACT)}
    assert result.errors == []
    assert after[survivor].id == before[primary].id
    assert after[survivor].dynamics_id == before[primary].dynamics_id
    assert primary not in after
    assert len(world.dataverse_rows(Kind.CONTACT)) == 2
    assert result.applied[Kind.CONTACT].created == {system: 0 for system in result.applied[Kind.CONTACT].created}


def test_contact_values_converge(contacts):
    """The survivor's values, the absorbed contact's job title included, reach its Dynamics contact."""
    world, primary, absorbed = contacts
    dynamics_id = world.links(Kind.CONTACT)[primary]
    survivor = merge(world, Kind.CONTACT, primary, absorbed)

    world.run()

    row = row_by_id(world, Kind.CONTACT)[dynamics_id]
    hubspot = world.hubspot_sandbox.records("contacts")[0]["properties"]
    assert hubspot["hs_object_id"] == survivor
    assert (row["emailaddress1"], row["firstname"], row["jobtitle"]) == ("pat@acme.example", "Pat", "CEO")
    assert (hubspot["email"], hubspot["firstname"], hubspot["jobtitle"]) == ("pat@acme.example", "Pat", "CEO")


def test_contact_other_partner_reported(contacts):
    """The absorbed contact's Dynamics partner is kept and queued for review, naming the merge."""
    world, primary, absorbed = contacts
    other = world.links(Kind.CONTACT)[absorbed]
    survivor = merge(world, Kind.CONTACT, primary, absorbed)

    world.run()

    errors = {row.record_id: row for row in world.store.record_errors()}
    assert other in row_by_id(world, Kind.CONTACT)
    assert f"its HubSpot record {absorbed} was merged into {survivor}" in errors[other].reason


def test_contact_merge_then_quiet(contacts):
    """The second and third runs after the merge write nothing."""
    world, primary, absorbed = contacts
    merge(world, Kind.CONTACT, primary, absorbed)
    world.run()
    world.sandbox.reset_counts()

    second = world.run()
    third = world.run()

    assert world.writes_of(second) == world.writes_of(third) == 0
    assert world.sandbox.write_requests() == 0


def test_unsynced_absorbed_contact(make_world):
    """A contact created after the last run and merged into a synced one is not created in Dynamics."""
    world = make_world()
    primary = world.hubspot_sandbox.add_record("contacts", {"email": "pat@acme.example", "firstname": "Pat",
                                                            "lastname": "Lee"})
    settle(world)
    late = world.hubspot_sandbox.add_record("contacts", {"email": "pat.lee@acme.example", "firstname": "Pat",
                                                         "lastname": "Lee", "phone": "+33 6 12 34 56 78"})
    survivor = merge(world, Kind.CONTACT, late, primary)

    world.run()
    quiet = world.run()

    rows = world.dataverse_rows(Kind.CONTACT)
    assert len(rows) == 1
    assert world.links(Kind.CONTACT) == {survivor: rows[0]["contactid"]}
    assert rows[0]["telephone1"] == "+33 6 12 34 56 78"
    assert world.writes_of(quiet) == 0


@pytest.fixture
def companies(make_world):
    """Two HubSpot companies, each with a contact, all synced to Dynamics and settled.

    Sam is older than the last contact read less the search overlap, so an incremental
    read does not see Sam again unless Sam changes.
    """
    world = make_world()
    hubspot = world.hubspot_sandbox
    sam = hubspot.add_record("contacts", {"email": "sam@acme.example", "firstname": "Sam", "lastname": "Ode"})
    world.clock.advance(600)
    lyon = hubspot.add_record("companies", {"name": "Acme Lyon", "city": "Lyon"})
    paris = hubspot.add_record("companies", {"name": "Acme Paris", "phone": "+33 1 23 45 67 89"})
    pat = hubspot.add_record("contacts", {"email": "pat@acme.example", "firstname": "Pat", "lastname": "Lee"})
    hubspot.associate("contacts", pat, "companies", lyon, 279)
    hubspot.associate("contacts", sam, "companies", paris, 279)
    settle(world)
    return world, lyon, paris, sam


def test_company_link_follows_survivor(companies):
    """The primary's link moves to the surviving company, and no account is created."""
    world, lyon, paris, _ = companies
    account = world.links(Kind.COMPANY)[lyon]
    survivor = merge(world, Kind.COMPANY, lyon, paris)

    result = world.run()

    links = world.links(Kind.COMPANY)
    assert result.errors == []
    assert links[survivor] == account
    assert lyon not in links
    assert len(world.dataverse_rows(Kind.COMPANY)) == 2


def test_company_values_converge(companies):
    """The survivor keeps the primary's name and city and gains the absorbed phone, in both CRMs."""
    world, lyon, paris, _ = companies
    account = world.links(Kind.COMPANY)[lyon]
    merge(world, Kind.COMPANY, lyon, paris)

    world.run()

    row = row_by_id(world, Kind.COMPANY)[account]
    assert (row["name"], row["address1_city"], row["telephone1"]) == ("Acme Lyon", "Lyon", "+33 1 23 45 67 89")


def test_company_merge_then_quiet(companies):
    """The second and third runs after a company merge write nothing."""
    world, lyon, paris, _ = companies
    merge(world, Kind.COMPANY, lyon, paris)
    world.run()
    world.sandbox.reset_counts()

    second = world.run()
    third = world.run()

    assert world.writes_of(second) == world.writes_of(third) == 0
    assert world.sandbox.write_requests() == 0


def test_company_other_partner_reported(companies):
    """The absorbed company's account stays, queued for review with the merge named."""
    world, lyon, paris, _ = companies
    other = world.links(Kind.COMPANY)[paris]
    survivor = merge(world, Kind.COMPANY, lyon, paris)

    world.run()

    errors = {row.record_id: row for row in world.store.record_errors()}
    assert other in row_by_id(world, Kind.COMPANY)
    assert f"its HubSpot record {paris} was merged into {survivor}" in errors[other].reason


def test_company_merge_moves_contacts(companies):
    """Sam's company in HubSpot is now the survivor, so Sam's Dynamics contact moves to its account."""
    world, lyon, paris, sam = companies
    account = world.links(Kind.COMPANY)[lyon]
    merge(world, Kind.COMPANY, lyon, paris)

    world.run()
    world.run()

    sam_row = next(row for row in world.dataverse_rows(Kind.CONTACT) if row["emailaddress1"] == "sam@acme.example")
    assert sam_row["_parentcustomerid_value"] == account


def test_merge_reports_no_deletion(contacts):
    """A merge deletes nothing, so no run after it reports a deleted record, five minutes apart as the daemon runs."""
    world, primary, absorbed = contacts
    merge(world, Kind.CONTACT, primary, absorbed)

    results = []
    for _ in range(2):
        results.append(world.run())
        world.clock.advance(300)

    reasons = [skip.reason for result in results for skip in result.plan.kinds[Kind.CONTACT].skips]
    assert SkipReason.DELETED not in reasons
