"""Incremental reads at HubSpot's limits: keyset windows, changes during a read, search lag,
archived and merged records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


from sync.connectors.hubspot.client import merged_ids
from sync.model import Kind
from sync.sandbox.http import Request, Response, Route
from sync.sandbox.hubspot import HubSpotSandbox
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import make_connector, start_server

CURSOR = "2024-03-01T00:00:00.000Z"


def test_change_during_read(sandbox, server, clock):
    """A record modified between two pages is read with its new values, and none is skipped."""
    ids = [sandbox.add_record("contacts", {"email": f"p{number}@example.com", "firstname": "old"},
                              modified_at=clock.now() - timedelta(seconds=1000 - number))
           for number in range(600)]
    calls = []

    def modify_on_second_page(request: Request, route: Route) -> Response | None:
        if route.name == "hubspot.search":
            calls.append(1)
            if len(calls) == 2:
                sandbox.update_record("contacts", ids[10], {"firstname": "new"}, modified_at=clock.now())
        return None

    sandbox.router.before.append(modify_on_second_page)

    records = make_connector(server.url, clock, TOKEN).read(Kind.CONTACT, CURSOR).records

    by_id = {record.id: record for record in records}
    assert sorted(by_id) == sorted(ids)
    assert len(records) == 600
    assert by_id[ids[10]].values["firstname"] == "new"


def test_cursor_not_past_start(sandbox, server, clock):
    """The cursor never passes the wall-clock start of the read, whatever the newest record says."""
    sandbox.add_record("deals", {"dealname": "future"}, modified_at=clock.now() + timedelta(minutes=5))

    result = make_connector(server.url, clock, TOKEN).read(Kind.DEAL, CURSOR)

    assert result.cursor == "2024-03-01T12:00:00.000Z"


def test_late_index_read_next_run(sandbox, server, clock):
    """A change that appears in search 20 s late is read on the next run, thanks to the overlap."""
    late = sandbox.add_record("contacts", {"email": "late@example.com"}, modified_at=clock.now(), index_delay=20)
    clock.advance(5)
    sandbox.add_record("contacts", {"email": "prompt@example.com"}, modified_at=clock.now())
    connector = make_connector(server.url, clock, TOKEN, search_overlap_seconds=60)

    first = connector.read(Kind.CONTACT, CURSOR)
    clock.advance(30)
    second = connector.read(Kind.CONTACT, first.cursor)

    assert late not in {record.id for record in first.records}
    assert late in {record.id for record in second.records}


def test_late_index_lost_without_overlap(sandbox, server, clock):
    """The same late change is missed with no overlap, which shows the overlap is what reads it."""
    late = sandbox.add_record("contacts", {"email": "late@example.com"}, modified_at=clock.now(), index_delay=20)
    clock.advance(5)
    sandbox.add_record("contacts", {"email": "prompt@example.com"}, modified_at=clock.now())
    connector = make_connector(server.url, clock, TOKEN, search_overlap_seconds=0)

    first = connector.read(Kind.CONTACT, CURSOR)
    clock.advance(30)
    second = connector.read(Kind.CONTACT, first.cursor)

    assert late not in {record.id for record in first.records + second.records}


def test_search_lag_shows_old_values(clock):
    """With a search lag, search returns a record's previous values until the lag has passed."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, search_lag_seconds=10)
    server = start_server(sandbox.router)
    try:
        record_id = sandbox.add_record("contacts", {"email": "a@example.com", "firstname": "old"})
        clock.advance(11)
        sandbox.update_record("contacts", record_id, {"firstname": "new"})
        connector = make_connector(server.url, clock, TOKEN)
        before = connector.read(Kind.CONTACT, CURSOR).records
        clock.advance(11)
        after = connector.read(Kind.CONTACT, CURSOR).records
    finally:
        server.stop()

    assert before[0].values["firstname"] == "old"
    assert after[0].values["firstname"] == "new"


def test_reread_is_harmless(sandbox, server, clock):
    """Reading the same window twice returns the same records once each."""
    for number in range(5):
        sandbox.add_record("companies", {"name": f"c{number}"})
    connector = make_connector(server.url, clock, TOKEN)

    first = connector.read(Kind.COMPANY, CURSOR)
    second = connector.read(Kind.COMPANY, first.cursor)

    assert sorted(record.id for record in second.records) == sorted(record.id for record in first.records)


def test_full_read_any_page_size(sandbox, server, clock):
    """A full read follows paging.next.after even when pages come back shorter than asked."""
    for number in range(230):
        sandbox.add_record("companies", {"name": f"c{number}"})

    def short_pages(request: Request, route: Route) -> Response | None:
        if route.name == "hubspot.list":
            request.query["limit"] = ["7"]
        return None

    sandbox.router.before.insert(0, short_pages)

    records = make_connector(server.url, clock, TOKEN).read(Kind.COMPANY, None).records

    assert len({record.id for record in records}) == 230
    assert sandbox.router.counts["hubspot.list"] == 33


def test_archived_since_cursor(sandbox, server, clock):
    """An incremental read returns records archived since the cursor as deleted, not older ones."""
    old = sandbox.add_record("deals", {"dealname": "old"})
    sandbox.archive_record("deals", old)
    clock.advance(3600)
    recent = sandbox.add_record("deals", {"dealname": "recent"})
    sandbox.archive_record("deals", recent)
    cursor = "2024-03-01T12:30:00.000Z"

    records = make_connector(server.url, clock, TOKEN).read(Kind.DEAL, cursor).records

    deleted = [record for record in records if record.deleted]
    assert [record.id for record in deleted] == [recent]
    assert deleted[0].values["dealname"] == "recent"


def test_full_read_skips_archived(sandbox, server, clock):
    """A full read returns live records only."""
    gone = sandbox.add_record("deals", {"dealname": "gone"})
    sandbox.add_record("deals", {"dealname": "kept"})
    sandbox.archive_record("deals", gone)

    records = make_connector(server.url, clock, TOKEN).read(Kind.DEAL, None).records

    assert [record.values["dealname"] for record in records] == ["kept"]


def merge_contacts(sandbox: HubSpotSandbox) -> tuple[str, str, Any]:
    primary = sandbox.add_record("contacts", {"email": "pat@example.com", "firstname": "Pat"})
    merged = sandbox.add_record("contacts", {"email": "p.lee@example.com", "firstname": "P."})
    return primary, merged, sandbox.merge("contacts", primary, merged)


def test_merge_new_survivor(sandbox, server, clock):
    """A merged contact survives under a new id that lists both old ids."""
    primary, merged, survivor = merge_contacts(sandbox)

    assert survivor.id not in (primary, merged)
    assert survivor.properties["hs_merged_object_ids"] == f"{primary};{merged}"
    assert survivor.properties["firstname"] == "Pat"
    assert survivor.properties["hs_additional_emails"] == "p.lee@example.com"


def test_merge_read_ids_old_id(sandbox, server, clock):
    """read_ids on an old id returns the survivor, which carries the merged ids."""
    primary, merged, survivor = merge_contacts(sandbox)

    records = make_connector(server.url, clock, TOKEN).read_ids(Kind.CONTACT, [merged])

    assert [record.id for record in records] == [survivor.id]
    assert merged_ids(records[0]) == [primary, merged]


def test_merge_survivor_in_search(sandbox, server, clock):
    """The survivor shows up in the next incremental read; the old ids do not."""
    primary, merged, survivor = merge_contacts(sandbox)

    records = make_connector(server.url, clock, TOKEN).read(Kind.CONTACT, CURSOR).records

    assert [record.id for record in records] == [survivor.id]


def test_merge_moves_associations(sandbox, server, clock):
    """The survivor keeps the associations of both merged records."""
    first = sandbox.add_record("companies", {"name": "A"})
    second = sandbox.add_record("companies", {"name": "B"})
    primary, merged, survivor = merge_contacts(sandbox)
    sandbox.associate("contacts", survivor.id, "companies", first, 279)
    copy = HubSpotSandbox(TOKEN, clock=clock.now)
    copy.load(sandbox.dump())
    deal = sandbox.add_record("deals", {"dealname": "D"})
    sandbox.associate("deals", deal, "companies", second, 341)
    kept = sandbox.merge("companies", first, second)

    assert sandbox.associations("contacts", survivor.id, "companies") == [kept.id]
    assert sandbox.associations("deals", deal, "companies") == [kept.id]
    assert copy.merged[("contacts", merged)] == survivor.id


def test_merge_endpoint(sandbox, server, clock):
    """POST /merge through the official client returns the survivor with a different id."""
    from hubspot import HubSpot

    primary = sandbox.add_record("companies", {"name": "A", "crmsync_id": "k1"})
    merged = sandbox.add_record("companies", {"name": "B"})
    api = HubSpot(access_token=TOKEN, host=server.url).crm.companies.basic_api

    survivor = api.merge({"primaryObjectId": primary, "objectIdToMerge": merged})
    read = api.get_by_id(primary, properties=["name"])

    assert survivor.id not in (primary, merged)
    assert read.id == survivor.id
    assert read.properties["name"] == "A"
