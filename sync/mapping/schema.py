"""The frozen mapping model that `load_mapping` returns and the engine reads.

A `Mapping` contains one `ObjectPair` per mapped kind. Each pair lists its `FieldRule`s
(one canonical field each: the HubSpot property, the Dataverse column or columns, the
direction, type, transforms and value map), its `ReferenceRule`s (which references
sync, and which way) and its scope on each side. The models are frozen; treat their
dicts as read-only too.
"""

from __future__ import annotations

from collections.abc import Mapping as ReadOnlyDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sync.mapping import convert
from sync.mapping.convert import Canonical, WriteMode
from sync.mapping.scope import Condition, all_match
from sync.mapping.terms import DeletePolicy, Direction, FieldType, LeaveScope, Policy, UnmappedAction
from sync.mapping.transforms import Transform
from sync.model import Kind, Record, System

if TYPE_CHECKING:
    from sync.mapping.owners import OwnerDirectory


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

    `dynamics` is one column, or several for an enum whose value map spans columns or a
    string joined from parts. `hubspot_parts` lists the HubSpot properties of a joined
    string (then `hubspot` is the first of them). `join` is the separator of a joined
    string. A `template` field has no names on its source side: its value is rendered from
    the other canonical fields named in `template_fields`.
    `policy` decides conflicts on `both` fields and is always `latest_wins` on one-way fields.
    `timezone`, `phone_region` and `currency` override the mapping's settings for this field.
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
    hubspot_parts: tuple[str, ...] = ()
    join: str | None = None
    template: str | None = None
    template_fields: tuple[str, ...] = ()
    timezone: ZoneInfo | None = None
    phone_region: str | None = None
    currency: str | None = None

    def flows_to(self, system: System) -> bool:
        """Return whether an update of an existing record in `system` writes this field."""
        return self.direction.flows_to(system)

    def flows_on_create(self, system: System) -> bool:
        """Return whether a record that crmsync creates in `system` gets this field."""
        return self.direction.flows_on_create(system)

    def names_in(self, system: System) -> tuple[str, ...]:
        """Return the HubSpot properties, or the Dataverse columns, that hold this field.

        A template field holds nothing on its source side, so the tuple is empty there.
        """
        if self.template is not None and self.direction.source is system:
            return ()
        if system is System.DYNAMICS:
            return self.dynamics
        return self.hubspot_parts or (self.hubspot,)

    def is_joined(self, system: System) -> bool:
        """Return whether this string field is joined from several names in `system`."""
        return self.join is not None and len(self.names_in(system)) > 1


@dataclass(frozen=True)
class ReferenceRule:
    """A reference that syncs, such as a deal's company, and which way it is written."""

    target: Kind
    direction: Direction = Direction.BOTH
    line: int | None = None

    def flows_to(self, system: System) -> bool:
        return self.direction.flows_to(system)

    def flows_on_create(self, system: System) -> bool:
        return self.direction.flows_on_create(system)


@dataclass(frozen=True)
class ObjectPair:
    """The mapping of one kind: HubSpot object and Dataverse table, field by field.

    `scope` contains the conditions a record of each system must all meet to sync; a
    system without conditions syncs every record. `on_leave_scope` tells the engine what
    to do with a linked record that stops matching, and `on_delete` what to do with the
    partner of a linked record that was deleted or archived.
    """

    kind: Kind
    fields: tuple[FieldRule, ...]
    references: tuple[ReferenceRule, ...] = ()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    scope: dict[System, tuple[Condition, ...]] = field(default_factory=dict)
    on_leave_scope: LeaveScope = LeaveScope.IGNORE
    on_delete: DeletePolicy = DeletePolicy.REPORT

    def in_scope(self, system: System, record: Record | ReadOnlyDict[str, Any]) -> bool:
        """Return whether a record of `system` (or its raw values) meets this pair's scope."""
        values = record.values if isinstance(record, Record) else record
        return all_match(self.scope.get(system, ()), values)

    def scope_names(self, system: System) -> list[str]:
        """Return the raw fields that the scope of `system` reads."""
        return _unique(condition.field for condition in self.scope.get(system, ()))

    def field_named(self, name: str) -> FieldRule | None:
        return next((rule for rule in self.fields if rule.name == name), None)

    def reference(self, target: Kind) -> ReferenceRule | None:
        return next((ref for ref in self.references if ref.target is target), None)

    def hubspot_properties(self) -> list[str]:
        """Return the HubSpot properties to read, once each: mapped fields, then scope fields."""
        mapped = [name for rule in self.fields for name in rule.names_in(System.HUBSPOT)]
        return _unique([*mapped, *self.scope_names(System.HUBSPOT)])

    def dynamics_columns(self) -> list[str]:
        """Return the Dataverse columns to select, once each: mapped fields, then scope fields."""
        mapped = [name for rule in self.fields for name in rule.names_in(System.DYNAMICS)]
        return _unique([*mapped, *self.scope_names(System.DYNAMICS)])

    def to_canonical(self, record: Record, owners: OwnerDirectory | None = None) -> Canonical:
        """Convert a record's raw values; see `sync.mapping.convert.record_to_canonical`."""
        return convert.record_to_canonical(self, record, owners)

    def from_canonical(
        self, system: System, values: dict[str, Any], owners: OwnerDirectory | None = None,
        mode: WriteMode = WriteMode.UPDATE,
    ) -> dict[str, Any]:
        """Return raw values for a write; see `sync.mapping.convert.values_from_canonical`."""
        return convert.values_from_canonical(self, system, values, owners, mode)


@dataclass(frozen=True)
class Mapping:
    """A loaded, validated mapping file: the pairs of the kinds it maps, and nothing else."""

    source: Path
    pairs: dict[Kind, ObjectPair]
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    version: int = 1
    phone_region: str | None = None


def _unique(names: Any) -> list[str]:
    return list(dict.fromkeys(names))
