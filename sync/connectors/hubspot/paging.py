"""Reading many HubSpot records: list paging, and keyset search under the 10,000 cap.

HubSpot's search returns 400 for any page that starts at or beyond the 10,000th result.
Offset paging also skips a record whenever an earlier one is modified between two pages,
because the modified record moves to the end and every later one shifts down by one. So
`search_modified_since` never pages by offset. Each query starts again at offset 0 from
the greatest modified time read so far:

- a page whose records span several times moves the lower bound to the last time read,
  and the next query reads that time again (the seen ids are skipped);
- a page whose records all share the lower bound's time is a tie that may be larger than
  a page, so the tied records are swept by `hs_object_id` in their own keyset queries,
  and the read goes on with the records modified strictly later.

Each query either raises the lower bound or switches from "at or after" to "after", so the
read ends. No record visible to search with a modified time at or after the start is
skipped, because every query is a fresh snapshot from a bound below which all were read.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from typing import Any

from sync.connectors.hubspot.values import parse_time

LIST_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 200
# HubSpot returns 400 for a search page that starts at or beyond this offset.
SEARCH_RESULT_CAP = 10_000

# One search call: takes the request body, returns the SDK's page object.
SearchCall = Callable[[dict[str, Any]], Any]
# One list call: takes the `after` token (None for the first page), returns the SDK's page.
ListCall = Callable[[str | None], Any]


class Bound(enum.StrEnum):
    """Comparison of a keyset query with its lower bound: at or after it, or strictly after."""

    AT_OR_AFTER = "GTE"
    AFTER = "GT"


def next_after(page: Any) -> str | None:
    """Return the page's `paging.next.after` token, or None on the last page."""
    paging = getattr(page, "paging", None)
    following = getattr(paging, "next", None) if paging else None
    return getattr(following, "after", None) if following else None


def list_all(list_page: ListCall) -> Iterator[Any]:
    """Yield every record of a list endpoint, following `paging.next.after` until it is absent."""
    after: str | None = None
    while True:
        page = list_page(after)
        yield from page.results or []
        after = next_after(page)
        if after is None:
            return


def search_body(filters: list[dict[str, Any]], sort_property: str, properties: list[str]) -> dict[str, Any]:
    """Build one keyset search request: always the first page, ascending by `sort_property`."""
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort_property, "direction": "ASCENDING"}],
        "properties": properties,
        "limit": SEARCH_PAGE_SIZE,
        "after": "0",
    }


def epoch_ms(record: Any, modified_property: str) -> int:
    """Return a search result's modified time in epoch milliseconds.

    Raises ValueError when HubSpot returned the record without the modified property.
    """
    moment = parse_time((record.properties or {}).get(modified_property))
    if moment is None:
        raise ValueError(f"HubSpot record {record.id} has no {modified_property}")
    return int(moment.timestamp() * 1000)


def search_modified_since(search: SearchCall, modified_property: str, since_ms: int,
                          properties: list[str]) -> Iterator[Any]:
    """Yield each record modified at or after `since_ms` (epoch milliseconds), oldest first.

    A record modified again while the read runs is yielded a second time, with its newer
    values. The caller keeps the last version of each id.
    """
    seen: dict[str, int] = {}
    bound, lower = Bound.AT_OR_AFTER, since_ms
    while True:
        filters = [{"propertyName": modified_property, "operator": str(bound), "value": str(lower)}]
        page = search(search_body(filters, modified_property, properties))
        results = list(page.results or [])
        yield from _unseen(results, modified_property, seen)
        if next_after(page) is None or not results:
            return

        last = epoch_ms(results[-1], modified_property)
        if last > lower:
            bound, lower = Bound.AT_OR_AFTER, last
            continue
        # A full page of records that all share `lower`: sweep the tie, then go past it.
        yield from _sweep_tie(search, modified_property, lower, properties, seen)
        bound = Bound.AFTER


def _unseen(results: list[Any], modified_property: str, seen: dict[str, int]) -> Iterator[Any]:
    for record in results:
        modified = epoch_ms(record, modified_property)
        if seen.get(record.id) == modified:
            continue
        seen[record.id] = modified
        yield record


def _sweep_tie(search: SearchCall, modified_property: str, tied_ms: int, properties: list[str],
               seen: dict[str, int]) -> Iterator[Any]:
    """Yield the unseen records modified exactly at `tied_ms`, by ascending `hs_object_id`."""
    last_id = 0
    while True:
        filters = [
            {"propertyName": modified_property, "operator": "EQ", "value": str(tied_ms)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
        ]
        page = search(search_body(filters, "hs_object_id", properties))
        results = list(page.results or [])
        yield from _unseen(results, modified_property, seen)
        if next_after(page) is None or not results:
            return
        last_id = int(results[-1].id)
