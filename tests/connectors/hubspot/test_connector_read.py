"""HubSpotConnector reads against the sandbox, with the official client."""

from __future__ import annotations

from datetime import timedelta


from sync.connectors.hubspot.client import HubSpotConnector
from sync.model import Kind
from sync.sandbox.http import SandboxServer
from sync.settings import HubSpotSettings
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import FakeClock



def make_connector(server: SandboxServer, clock: FakeClock, token: str = TOKEN) -> HubSpotConnector:
    settings = HubSpotSettings(host=server.url, access_token=token, search_overlap_seconds=60)
    properties = {Kind.CONTACT: ["email", "firstname"], Kind.COMPANY: ["name"], Kind.DEAL: ["dealname", "amount"]}
    return HubSpotConnector(settings, properties, clock=clock.monotonic, sleep=clock.sleep)


def test_full_read_pages_past_100(sandbox, server, clock):
    """A full read follows paging.next.after through every list page."""
    for number in range(250):
        sandbox.add_record("contacts", {"email": f"p{number}@example.com"})

    result = make_connector(server, clock).read(Kind.CONTACT, None)

    assert len({record.id for record in result.records}) == 250
    assert result.full
    assert sandbox.router.counts["hubspot.list"] == 3


def test_full_read_refs(sandbox, server, clock):
    """Deals read in full carry their companies and contacts from the v3 associations."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    contact = sandbox.add_record("contacts", {"email": "a@example.com"})
    deal = sandbox.add_record("deals", {"dealname": "Big"})
    sandbox.associate("deals", deal, "companies", company, 5)
    sandbox.associate("deals", deal, "contacts", contact, 3)

    record = make_connector(server, clock).read(Kind.DEAL, None).records[0]

    assert record.refs == {Kind.COMPANY: [company], Kind.CONTACT: [contact]}


def test_cursor_is_max_modified(sandbox, server, clock):
    """The cursor is the greatest modified time read, in ISO-8601 UTC."""
    sandbox.add_record("companies", {"name": "A"}, modified_at=clock.now() - timedelta(hours=2))
    sandbox.add_record("companies", {"name": "B"}, modified_at=clock.now() - timedelta(hours=1))

    result = make_connector(server, clock).read(Kind.COMPANY, None)

    assert result.cursor == "2024-03-01T11:00:00.000Z"


def test_incremental_read_overlap(sandbox, server, clock):
    """An incremental read re-reads the overlap before the cursor and skips older records."""
    base = clock.now()
    sandbox.add_record("deals", {"dealname": "old"}, modified_at=base - timedelta(minutes=10))
    sandbox.add_record("deals", {"dealname": "overlap"}, modified_at=base - timedelta(seconds=30))
    sandbox.add_record("deals", {"dealname": "new"}, modified_at=base + timedelta(minutes=5))

    result = make_connector(server, clock).read(Kind.DEAL, "2024-03-01T12:00:00.000Z")

    assert sorted(record.values["dealname"] for record in result.records) == ["new", "overlap"]
    assert result.cursor == "2024-03-01T12:05:00.000Z"


def test_incremental_read_unchanged_cursor(sandbox, server, clock):
    """With nothing modified since the cursor, the cursor stays where it was."""
    result = make_connector(server, clock).read(Kind.CONTACT, "2024-03-01T12:00:00.000Z")

    assert result.records == []
    assert result.cursor == "2024-03-01T12:00:00.000Z"


def test_incremental_refs_from_v4(sandbox, server, clock):
    """Search results get their associations from the v4 batch read."""
    company = sandbox.add_record("companies", {"name": "Acme"})
    contact = sandbox.add_record("contacts", {"email": "a@example.com"})
    sandbox.associate("contacts", contact, "companies", company, 279)

    records = make_connector(server, clock).read(Kind.CONTACT, "2024-01-01T00:00:00Z").records

    assert records[0].refs == {Kind.COMPANY: [company]}


def test_search_cap_windowing(sandbox, server, clock):
    """12,000 deals sharing one modified time are all read once, past the 10,000 cap, by keyset.

    No search page starts past offset 0, so the cap's 400 can never happen and a record
    modified during the read cannot shift the pages.
    """
    offsets: list[int] = []

    def record_offset(request, route):
        if route.name == "hubspot.search":
            offsets.append(int((request.json() or {}).get("after") or 0))

    sandbox.router.before.append(record_offset)
    stamp = clock.now()
    for number in range(12_000):
        sandbox.add_record("deals", {"dealname": f"d{number}"}, modified_at=stamp)
    later = sandbox.add_record("deals", {"dealname": "later"}, modified_at=stamp + timedelta(seconds=1))

    records = make_connector(server, clock).read(Kind.DEAL, "2024-03-01T00:00:00Z").records

    ids = [record.id for record in records]
    assert len(ids) == 12_001
    assert len(set(ids)) == 12_001
    assert ids[-1] == later
    assert max(offsets) == 0
    assert not sandbox.gate.rejections


def test_read_ids_skips_missing(sandbox, server, clock):
    """read_ids returns the records that exist and leaves the others out."""
    kept = sandbox.add_record("companies", {"name": "A"})

    records = make_connector(server, clock).read_ids(Kind.COMPANY, [kept, "999999"])

    assert [record.id for record in records] == [kept]


def test_read_ids_all_missing(sandbox, server, clock):
    """read_ids of ids that all do not exist returns nothing instead of failing."""
    assert make_connector(server, clock).read_ids(Kind.COMPANY, ["999998", "999999"]) == []


def test_owners_and_stages(sandbox, server, clock):
    """Owners come with their active flag, and stages with probability and outcome."""
    sandbox.add_owner("pat@example.com", "Pat", "Lee")
    sandbox.add_owner("old@example.com", "Old", "Timer", active=False)
    connector = make_connector(server, clock)

    owners = {owner.email: owner for owner in connector.owners()}
    stages = {stage.stage_id: stage for stage in connector.deal_stages()}

    assert owners["pat@example.com"].name == "Pat Lee"
    assert owners["old@example.com"].active is False
    assert stages["closedwon"].won is True
    assert stages["closedlost"].won is False
    assert stages["closedlost"].closed is True
    assert stages["contractsent"].probability == 0.9


def test_field_names(sandbox, server, clock):
    """field_names lists HubSpot's properties of the kind."""
    names = make_connector(server, clock).field_names(Kind.DEAL)

    assert {"dealname", "crmsync_id", "hs_lastmodifieddate"} <= names
    assert "email" not in names
