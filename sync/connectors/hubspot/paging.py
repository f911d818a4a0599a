"""Reading many HubSpot records: list paging, and search windowed under the 10,000 cap.

HubSpot's search returns 400 for any page that starts at or beyond the 10,000th result.
`search_modified_since` therefore re-anchors: once a query nears the cap, it reads the
records that share the last modified time by `hs_object_id` in their own query, then goes
on with the records modified strictly later. Every re-anchor moves the lower bound
forward, so the read ends, and no record between the bounds is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sync.connectors.hubspot.values import parse_time

LIST_PAGE_SIZE = 100
SEARCH_PAGE_SIZE = 200
SEARCH_RESULT_CAP = 10_000

# One search call: takes the request body, returns the SDK's page object.
SearchCall = Callable[[dict[str, Any]], Any]
# One list call: takes the `after` token (None for the first page), returns the SDK's page.
ListCall = Callable[[str | None], Any]


def _next_after(page: Any) -> str | None:
    paging = getattr(page, "paging", None)
    following = getattr(paging, "next", None) if paging else None
    return getattr(following, "after", None) if following else None


def list_all(list_page: ListCall) -> Iterator[Any]:
    """Yield every record of a list endpoint, following `paging.next.after` until it is absent."""
    after: str | None = None
    while True:
        page = list_page(after)
        yield from page.results or []
        after = _next_after(page)
        if after is None:
            return


def _body(filters: list[dict[str, Any]], sort_property: str, properties: list[str], after: int) -> dict[str, Any]:
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort_property, "direction": "ASCENDING"}],
        "properties": properties,
        "limit": SEARCH_PAGE_SIZE,
        "after": str(after),
    }


def _pages(search: SearchCall, filters: list[dict[str, Any]], sort_property: str,
           properties: list[str]) -> Iterator[tuple[list[Any], bool]]:
    """Yield (results, capped) per page; `capped` is True on the last page before the cap."""
    after = 0
    while True:
        page = search(_body(filters, sort_property, properties, after))
        following = _next_after(page)
        if following is None:
            yield page.results or [], False
            return
        if int(following) >= SEARCH_RESULT_CAP:
            yield page.results or [], True
            return
        yield page.results or [], False
        after = int(following)


def _epoch_ms(record: Any, modified_property: str) -> int:
    moment = parse_time(record.properties.get(modified_property))
    if moment is None:
        raise ValueError(f"HubSpot record {record.id} has no {modified_property}")
    return int(moment.timestamp() * 1000)


def search_modified_since(search: SearchCall, modified_property: str, since_ms: int,
                          properties: list[str]) -> Iterator[Any]:
    """Yield each record modified at or after `since_ms` (epoch milliseconds) once, oldest first."""
    seen: set[str] = set()
    operator, lower = "GTE", since_ms
    while True:
        last = None
        capped = False
        filters = [{"propertyName": modified_property, "operator": operator, "value": str(lower)}]
        for results, capped in _pages(search, filters, modified_property, properties):
            for record in results:
                last = record
                if record.id not in seen:
                    seen.add(record.id)
                    yield record
        if not capped or last is None:
            return

        tied = _epoch_ms(last, modified_property)
        yield from _sweep_ties(search, modified_property, tied, properties, seen)
        operator, lower = "GT", tied


def _sweep_ties(search: SearchCall, modified_property: str, tied_ms: int, properties: list[str],
                seen: set[str]) -> Iterator[Any]:
    """Yield the unseen records modified exactly at `tied_ms`, by ascending `hs_object_id`."""
    last_id = 0
    while True:
        filters = [
            {"propertyName": modified_property, "operator": "EQ", "value": str(tied_ms)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
        ]
        capped = False
        for results, capped in _pages(search, filters, "hs_object_id", properties):
            for record in results:
                last_id = int(record.id)
                if record.id not in seen:
                    seen.add(record.id)
                    yield record
        if not capped:
            return
