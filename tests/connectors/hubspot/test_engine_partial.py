"""One bad input among 100 HubSpot writes of one engine run, against both sandboxes.

The other 99 are committed. The bad one is a record error with HubSpot's category and
message, retried on later runs, and synced once fixed in Dynamics.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.cli import main
from sync.model import Kind, System
from sync.sandbox.http import Request, Response, Route
from tests.connectors.hubspot.engine_world import MAPPING, EngineWorld

# A free-text Dataverse column feeds HubSpot's lifecycle stage, an enumeration that HubSpot validates.
LIFECYCLE_FIELD = ("      lifecycle:  {hubspot: lifecyclestage, dynamics: description, direction: to_hubspot, "
                   "transforms: [trim, lowercase]}\n")
BAD = 37


def lifecycle_mapping(folder: Path) -> Path:
    """Write the shipped mapping with a contact lifecycle field added."""
    lines = MAPPING.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(index for index, line in enumerate(lines) if line.strip().startswith("job_title:"))
    path = folder / "lifecycle.yaml"
    path.write_text("".join(lines[:at + 1] + [LIFECYCLE_FIELD] + lines[at + 1:]), encoding="utf-8")
    return path


@pytest.fixture
def world(make_world, tmp_path) -> tuple[EngineWorld, list[str]]:
    """100 Dynamics contacts, one of them with a lifecycle stage HubSpot does not have."""
    world = make_world(mapping=lifecycle_mapping(tmp_path))
    ids = [world.add_contact(f"person{number:03d}@acme.example", description="Customer") for number in range(100)]
    world.sandbox.dataverse.update_row("contacts", ids[BAD], {"description": "VIP"})
    return world, ids


def hubspot_by_email(world: EngineWorld) -> dict[str, dict]:
    return {record["properties"]["email"]: record["properties"] for record in world.hubspot_records(Kind.CONTACT)}


def test_99_committed(world):
    """The 99 good contacts are created, linked and have synced values; the bad one is not created."""
    world, ids = world

    result = world.run()

    links = world.links(Kind.CONTACT)
    created = hubspot_by_email(world)
    assert len(result.errors) == 1
    assert len(created) == 99
    assert f"person{BAD:03d}@acme.example" not in created
    assert sorted(links.values()) == sorted(ids[:BAD] + ids[BAD + 1:])
    synced = world.store.all_synced(Kind.CONTACT)
    assert all(synced[link.id]["lifecycle"] == "customer" for link in world.store.links(Kind.CONTACT))


def test_bad_input_record_error(world):
    """The bad contact is a record error of its Dynamics id, with HubSpot's category, field and message."""
    world, ids = world

    world.run()

    errors = world.store.record_errors()
    assert [(row.system, row.kind, row.record_id) for row in errors] == [(System.DYNAMICS, Kind.CONTACT, ids[BAD])]
    assert errors[0].field == "lifecyclestage"
    assert "400 VALIDATION_ERROR" in errors[0].reason
    assert "'vip' was not one of the allowed options" in errors[0].reason


def test_bad_input_in_status(world, capsys):
    """`crmsync status` lists the failing contact with HubSpot's message."""
    world, ids = world
    world.run()

    code = main(["--config", str(world.settings_path), "status"])

    output = capsys.readouterr().out
    assert code == 0
    assert "contact: 99 linked pairs, 0 excluded (invalid, ambiguous or awaiting review), 1 failing" in output
    line = next(line for line in output.splitlines() if ids[BAD] in line)
    assert "VALIDATION_ERROR" in line
    assert "(attempts: 1)" in line


def test_bad_input_retried_then_fixed(world):
    """The next run retries the bad contact; once fixed in Dynamics it syncs, and nothing is duplicated."""
    world, ids = world
    world.run()
    world.clock.advance(120)

    retried = world.run()
    attempts = world.store.record_errors()[0].attempts
    world.sandbox.dataverse.update_row("contacts", ids[BAD], {"description": "customer"})
    world.clock.advance(120)
    fixed = world.run()
    world.sandbox.reset_counts()
    quiet = world.run()

    created = hubspot_by_email(world)
    assert len(retried.errors) == 1
    assert attempts == 2
    assert fixed.errors == []
    assert world.store.record_errors() == []
    assert len(created) == 100
    assert created[f"person{BAD:03d}@acme.example"]["lifecyclestage"] == "customer"
    assert len(world.links(Kind.CONTACT)) == 100
    assert len(world.dataverse_rows(Kind.CONTACT)) == 100
    assert world.writes_of(quiet) == 0
    assert world.sandbox.write_requests() == 0


def test_partial_207_update(make_world):
    """A batch update that HubSpot returns as 207 (one contact archived meanwhile) commits the other 99.

    The failed pair keeps its old synced values and a record error with OBJECT_NOT_FOUND;
    the next run creates nothing in either CRM.
    """
    world = make_world()
    ids = [world.add_contact(f"person{number:03d}@acme.example") for number in range(100)]
    for _ in range(2):
        world.run()
    links = {link.dynamics_id: link for link in world.store.links(Kind.CONTACT)}
    gone = links[ids[BAD]].hubspot_id
    for row_id in ids:
        world.sandbox.dataverse.update_row("contacts", row_id, {"jobtitle": "Buyer"})

    def archive_during_write(request: Request, route: Route) -> Response | None:
        if route.name == "hubspot.batch_update" and not world.hubspot_sandbox.records("contacts", archived=True):
            world.hubspot_sandbox.archive_record("contacts", gone)
        return None

    world.hubspot_sandbox.router.before.append(archive_during_write)
    world.clock.advance(60)
    result = world.run()

    synced = world.store.all_synced(Kind.CONTACT)
    assert world.hubspot_sandbox.router.counts["hubspot.batch_update"] == 1
    assert [error.category for error in result.errors] == ["OBJECT_NOT_FOUND"]
    assert result.applied[Kind.CONTACT].updated[System.HUBSPOT] == 99
    assert [row.record_id for row in world.store.record_errors()] == [gone]
    assert "OBJECT_NOT_FOUND" in world.store.record_errors()[0].reason
    assert synced[links[ids[BAD]].id]["job_title"] is None
    assert all(synced[links[row_id].id]["job_title"] == "Buyer" for row_id in ids if row_id != ids[BAD])
    assert all(record["properties"]["jobtitle"] == "Buyer" for record in world.hubspot_records(Kind.CONTACT))

    world.clock.advance(120)
    world.run()

    assert len(world.hubspot_records(Kind.CONTACT)) == 99
    assert len(world.dataverse_rows(Kind.CONTACT)) == 100
