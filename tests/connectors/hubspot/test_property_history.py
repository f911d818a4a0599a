"""HubSpotConnector.property_change_times: when each property last changed, from HubSpot's
property history, read with the official client against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.connectors.base import WriteOp, WriteRequest
from sync.model import Kind
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import make_connector

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_times_per_property(sandbox, server, clock):
    """Each property gets the time of its own last change, not the record's modified time."""
    contact = sandbox.add_record("contacts", {"email": "pat@example.com", "firstname": "Pat"})
    clock.advance(60)
    connector = make_connector(server.url, clock, TOKEN)
    connector.write(Kind.CONTACT, [WriteRequest(WriteOp.UPDATE, {"firstname": "Patricia"}, record_id=contact)])
    clock.advance(60)

    times = connector.property_change_times(Kind.CONTACT, [contact], ["firstname", "email"])

    assert times == {contact: {"firstname": START + timedelta(seconds=60), "email": START}}
    assert times[contact]["firstname"].tzinfo is UTC


def test_unchanged_write_keeps_time(sandbox, server, clock):
    """Writing the same value again leaves the property's change time where it was."""
    company = sandbox.add_record("companies", {"name": "Acme", "city": "Lyon"})
    clock.advance(60)
    sandbox.update_record("companies", company, {"name": "Acme", "city": "Paris"})

    times = make_connector(server.url, clock, TOKEN).property_change_times(Kind.COMPANY, [company], ["name", "city"])

    assert times[company] == {"name": START, "city": START + timedelta(seconds=60)}


def test_batches_of_50(sandbox, server, clock):
    """120 ids cost three batch reads, because history allows 50 inputs per batch."""
    ids = [sandbox.add_record("deals", {"dealname": f"d{number}"}) for number in range(120)]

    times = make_connector(server.url, clock, TOKEN).property_change_times(Kind.DEAL, ids, ["dealname"])

    assert sorted(times) == sorted(ids)
    assert sandbox.router.counts["hubspot.batch_read"] == 3
    assert not sandbox.gate.rejections


def test_missing_ids_left_out(sandbox, server, clock):
    """Ids that do not exist are left out, also when no id of a batch exists."""
    kept = sandbox.add_record("companies", {"name": "Acme"})
    missing = [str(900_000 + number) for number in range(60)]

    times = make_connector(server.url, clock, TOKEN).property_change_times(Kind.COMPANY, missing + [kept], ["name"])

    assert list(times) == [kept]


def test_never_set_property_left_out(sandbox, server, clock):
    """A property that never had a value, or that HubSpot does not know, has no entry."""
    company = sandbox.add_record("companies", {"name": "Acme"})

    times = make_connector(server.url, clock, TOKEN).property_change_times(
        Kind.COMPANY, [company], ["name", "phone", "no_such_property"])

    assert times == {company: {"name": START}}


def test_nothing_asked_no_request(sandbox, server, clock):
    """No ids or no properties return nothing without a request."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    connector = make_connector(server.url, clock, TOKEN)

    assert connector.property_change_times(Kind.COMPANY, [], ["name"]) == {}
    assert connector.property_change_times(Kind.COMPANY, [company], []) == {}
    assert sandbox.router.counts["hubspot.batch_read"] == 0


def test_merged_id_under_survivor(sandbox, server, clock):
    """An id merged into another record comes back under the survivor's id."""
    primary = sandbox.add_record("contacts", {"email": "pat@example.com", "firstname": "Pat"})
    merged = sandbox.add_record("contacts", {"email": "lee@example.com"})
    survivor = sandbox.merge("contacts", primary, merged)

    times = make_connector(server.url, clock, TOKEN).property_change_times(Kind.CONTACT, [merged], ["firstname"])

    assert times == {survivor.id: {"firstname": START}}


def test_history_retried_on_503(sandbox, server, clock):
    """The history read is retried like every call."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    sandbox.inject("/batch/read$", 503)

    times = make_connector(server.url, clock, TOKEN).property_change_times(Kind.COMPANY, [company], ["name"])

    assert times == {company: {"name": START}}
    assert clock.sleeps == [1.0]
