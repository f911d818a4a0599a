"""Search for the HubSpot sandbox: filter groups, operators and sorting as CRM v3 applies them.

Filter groups are OR'ed and the filters inside a group AND'ed. Values compare by the
property's type: dates and datetimes as epoch milliseconds (filters may send epoch ms or
ISO-8601), numbers as numbers, everything else as case-insensitive text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from sync.sandbox.hubspot_schema import PropertyDefinition, PropertyType, epoch_ms, parse_time

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_LIMIT = 200
# HubSpot answers 400 for any page that starts at or beyond this many results.
RESULT_CAP = 10_000

OPERATORS = {
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
}


# Tells whether one record's properties pass a filter or a set of filter groups.
Predicate = Callable[[Mapping[str, Any]], bool]


class SearchError(ValueError):
    """An invalid search request; the sandbox answers 400 VALIDATION_ERROR with this message."""


def check_request(body: Mapping[str, Any]) -> None:
    """Raise SearchError when the request breaks HubSpot's limits on filters or page size."""
    groups = body.get("filterGroups") or []
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups: {len(groups)}, the maximum is {MAX_GROUPS}")
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        total += len(filters)
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(f"Too many filters in a group: {len(filters)}, the maximum is {MAX_FILTERS_PER_GROUP}")
        for item in filters:
            if item.get("operator") not in OPERATORS:
                raise SearchError(f"Invalid operator {item.get('operator')!r} on {item.get('propertyName')!r}")
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters: {total}, the maximum is {MAX_FILTERS}")
    limit = int(body.get("limit") or 10)
    if not 0 < limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")


def _comparable(value: Any, prop: PropertyDefinition | None) -> Any:
    """Turn a stored or filter value into something that orders the way HubSpot orders it."""
    kind = prop.type if prop is not None else PropertyType.STRING
    try:
        return _comparable_text(str(value), kind)
    except ValueError:
        raise SearchError(f"Invalid value {str(value)!r} for {kind} property {prop.name if prop else ''}") from None


@functools.lru_cache(maxsize=131072)
def _comparable_text(text: str, kind: PropertyType) -> Any:
    if kind in (PropertyType.DATETIME, PropertyType.DATE):
        return _time_ms(text)
    if kind is PropertyType.NUMBER:
        return float(text)
    return text.lower()


@functools.lru_cache(maxsize=65536)
def _time_ms(text: str) -> int:
    return epoch_ms(parse_time(text))


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _compile_filter(item: Mapping[str, Any], schema: Mapping[str, PropertyDefinition]) -> Predicate:
    """Turn one filter into a predicate over a record's properties; its values are parsed once."""
    name = item.get("propertyName", "")
    operator = item["operator"]
    prop = schema.get(name)
    if operator == "HAS_PROPERTY":
        return lambda properties: _present(properties.get(name))
    if operator == "NOT_HAS_PROPERTY":
        return lambda properties: not _present(properties.get(name))

    absent = operator in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    test = _value_test(item, operator, prop)

    def predicate(properties: Mapping[str, Any]) -> bool:
        stored = properties.get(name)
        return test(stored) if _present(stored) else absent

    return predicate


def _value_test(item: Mapping[str, Any], operator: str, prop: PropertyDefinition | None) -> Callable[[Any], bool]:
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(item.get("value", "")).lower().strip("*")
        wanted_found = operator == "CONTAINS_TOKEN"
        return lambda stored: (token in str(stored).lower()) == wanted_found
    if operator in ("IN", "NOT_IN"):
        wanted = {_comparable(value, prop) for value in item.get("values") or []}
        wanted_inside = operator == "IN"
        return lambda stored: (_comparable(stored, prop) in wanted) == wanted_inside
    right = _comparable(item.get("value"), prop)
    if operator == "BETWEEN":
        high = _comparable(item.get("highValue"), prop)
        return lambda stored: right <= _comparable(stored, prop) <= high
    compare = _COMPARE[operator]
    return lambda stored: compare(_comparable(stored, prop), right)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda left, right: left == right,
    "NEQ": lambda left, right: left != right,
    "LT": lambda left, right: left < right,
    "LTE": lambda left, right: left <= right,
    "GT": lambda left, right: left > right,
    "GTE": lambda left, right: left >= right,
}


def compile_groups(groups: list[Mapping[str, Any]], schema: Mapping[str, PropertyDefinition]) -> Predicate:
    """Return a predicate that tells whether a record's properties satisfy the filter groups.

    No groups match every record. Raises SearchError for a value that does not fit its property's type.
    """
    if not groups:
        return lambda properties: True
    compiled = [[_compile_filter(item, schema) for item in group.get("filters") or []] for group in groups]
    return lambda properties: any(all(test(properties) for test in group) for group in compiled)


def matches(properties: Mapping[str, Any], groups: list[Mapping[str, Any]],
            schema: Mapping[str, PropertyDefinition]) -> bool:
    """Return whether a record's properties satisfy the filter groups (no groups: every record)."""
    return compile_groups(groups, schema)(properties)


def sort_key(sorts: list[Any], schema: Mapping[str, PropertyDefinition]) -> tuple[Callable[[Mapping[str, Any]], Any], bool]:
    """Return a key over a record's properties and whether to reverse, for the first sort.

    Sorts may be objects `{propertyName, direction}` or strings such as `-createdate`.
    Records without the property sort last; ties fall back to `hs_object_id`.
    """
    name, descending = "hs_object_id", False
    if sorts:
        first = sorts[0]
        if isinstance(first, str):
            descending = first.startswith("-")
            name = first.lstrip("-")
        else:
            name = first.get("propertyName", name)
            descending = str(first.get("direction", "ASCENDING")).upper() == "DESCENDING"
    prop = schema.get(name)

    def key(properties: Mapping[str, Any]) -> Any:
        value = properties.get(name)
        object_id = int(properties.get("hs_object_id") or 0)
        if not _present(value):
            return (1, 0, object_id) if not descending else (0, 0, -object_id)
        return (0 if not descending else 1, _comparable(value, prop), object_id)

    return key, descending
