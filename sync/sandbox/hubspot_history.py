"""Property history for the HubSpot sandbox, as `propertiesWithHistory` returns it.

HubSpot keeps, per record and property, the values a property took with when and how each
was set. Reads return them for the properties named in `propertiesWithHistory`, newest
first, in the shape of the SDK's `ValueWithTimestamp`:
`{"value": "...", "timestamp": "...", "sourceType": "API"}`.

The sandbox adds an entry each time a write changes a property's value. Its source type is
`API` for writes through the HTTP API, and `CRM_UI` for records seeded or edited with the
test API, which play a person in HubSpot. Values HubSpot sets itself, such as the modified
time, are `CALCULATED`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.sandbox.hubspot_schema import format_time, parse_time

# Batch read accepts at most this many inputs when it returns property history, and a
# list page at most this many records.
HISTORY_PAGE_LIMIT = 50

# Property name -> entries, oldest first.
History = dict[str, list["HistoryEntry"]]


class SourceType(enum.StrEnum):
    API = "API"
    CRM_UI = "CRM_UI"
    CALCULATED = "CALCULATED"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    value: str | None
    timestamp: datetime
    source_type: SourceType

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "timestamp": format_time(self.timestamp), "sourceType": str(self.source_type)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HistoryEntry:
        return cls(data.get("value"), parse_time(data["timestamp"]), SourceType(data["sourceType"]))


def record_changes(history: History, values: Mapping[str, str | None], moment: datetime,
                   source_type: SourceType) -> None:
    """Add an entry for each property whose value differs from its latest entry.

    A property without history gets a first entry unless its value is empty.
    """
    for name, value in values.items():
        entries = history.get(name)
        if entries:
            if entries[-1].value == value:
                continue
        elif value in (None, ""):
            continue
        history.setdefault(name, []).append(HistoryEntry(value, moment, source_type))


def merged_history(primary: History, merged: History, chosen_from_merged: Iterable[str]) -> History:
    """Return a merge survivor's history: per property, that of the record its value came from.

    NOTE: HubSpot does not document what a survivor's property history contains; this
    keeps each value's own history, so the latest entry is the current value.
    """
    from_merged = set(chosen_from_merged)
    history: History = {}
    for name in set(primary) | set(merged):
        entries = (merged if name in from_merged else primary).get(name)
        if entries:
            history[name] = list(entries)
    return history


def render(history: History, names: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Return `propertiesWithHistory` for the requested names, newest entry first.

    Properties that never had a value are left out, as HubSpot ignores unknown names.
    """
    return {name: [entry.to_json() for entry in reversed(history[name])] for name in names if history.get(name)}


def to_json(history: History) -> dict[str, list[dict[str, Any]]]:
    return {name: [entry.to_json() for entry in entries] for name, entries in history.items()}


def from_json(data: Mapping[str, Any] | None) -> History:
    return {name: [HistoryEntry.from_json(item) for item in items] for name, items in (data or {}).items()}
