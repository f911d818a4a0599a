"""The frozen mapping model that `load_mapping` returns and the engine reads.

A `Mapping` contains one `ObjectPair` per mapped kind. Each pair lists its `FieldRule`s
(one canonical field each: the HubSpot property, the Dataverse column or columns, the
direction, type, transforms and value map) and its `ReferenceRule`s (which references
sync, and which way). The models are frozen; treat their dicts as read-only too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sync.mapping import convert
from sync.mapping.convert import Canonical
from sync.mapping.terms import Direction, FieldType, Policy, UnmappedAction
from sync.mapping.transforms import Transform
from sync.model import Kind, Record, System


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in the mapping file."""

    line: int | None
    column: int | None


@dataclass(frozen=True)
class ValueEntry:
    """One line of an enum's value map.

    `hubspot` is the HubSpot internal value, which is also the canonical value.
    `dynamics` contains the Dataverse column values for it. A row matches the entry
    when it has all of them, whatever its other columns contain.
    """

    hubspot: str
    dynamics: dict[str, Any]
    direction: Direction = Direction.BOTH
    label: str | None = None
    line: int | None = None

    def flows_to(self, system: System) -> bool:
        return self.direction.flows_to(system)


@dataclass(frozen=True)
class Unmapped:
    """The rule for an enum value missing from the value map; `default` is a HubSpot value."""

    action: UnmappedAction = UnmappedAction.REJECT
    default: str | None = None


@dataclass(frozen=True)
class FieldRule:
    """One canonical field and how it maps to a HubSpot property and Dataverse columns.

    `dynamics` is one column, or several for an enum whose value map spans columns.
    `policy` decides conflicts on `both` fields and is always `latest_wins` on one-way fields.
    `locations` gives where `hubspot` and each `dynamics:<column>` stand in the file.
    """

    name: str
    hubspot: str
    dynamics: tuple[str, ...]
    direction: Direction = Direction.BOTH
    type: FieldType = FieldType.STRING
    transforms: tuple[Transform, ...] = ()
    values: tuple[ValueEntry, ...] = ()
    unmapped: Unmapped = field(default_factory=Unmapped)
    policy: Policy = Policy.LATEST_WINS
    line: int | None = None
    locations: dict[str, Location] = field(default_factory=dict, compare=False)

    def flows_to(self, system: System) -> bool:
        """Return whether the engine may write this field to `system`."""
        return self.direction.flows_to(system)

    def names_in(self, system: System) -> tuple[str, ...]:
        """Return the HubSpot property, or the Dataverse columns, that hold this field."""
        return (self.hubspot,) if system is System.HUBSPOT else self.dynamics


@dataclass(frozen=True)
class ReferenceRule:
    """A reference that syncs, such as a deal's company, and which way it is written."""

    target: Kind
    direction: Direction = Direction.BOTH
    line: int | None = None

    def flows_to(self, system: System) -> bool:
        return self.direction.flows_to(system)


@dataclass(frozen=True)
class ObjectPair:
    """The mapping of one kind: HubSpot object and Dataverse table, field by field."""

    kind: Kind
    fields: tuple[FieldRule, ...]
    references: tuple[ReferenceRule, ...] = ()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def field_named(self, name: str) -> FieldRule | None:
        return next((rule for rule in self.fields if rule.name == name), None)

    def reference(self, target: Kind) -> ReferenceRule | None:
        return next((ref for ref in self.references if ref.target is target), None)

    def hubspot_properties(self) -> list[str]:
        """Return the HubSpot properties to read, once each, in mapping order."""
        return _unique(rule.hubspot for rule in self.fields)

    def dynamics_columns(self) -> list[str]:
        """Return the Dataverse columns to select, once each, in mapping order."""
        return _unique(column for rule in self.fields for column in rule.dynamics)

    def to_canonical(self, record: Record) -> Canonical:
        """Convert a record's raw values; see `sync.mapping.convert.record_to_canonical`."""
        return convert.record_to_canonical(self, record)

    def from_canonical(self, system: System, values: dict[str, Any]) -> dict[str, Any]:
        """Return raw values for a write; see `sync.mapping.convert.values_from_canonical`."""
        return convert.values_from_canonical(self, system, values)


@dataclass(frozen=True)
class Mapping:
    """A loaded, validated mapping file: the pairs of the kinds it maps, and nothing else."""

    source: Path
    pairs: dict[Kind, ObjectPair]
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    version: int = 1


def _unique(names: Any) -> list[str]:
    return list(dict.fromkeys(names))
