"""Enum value maps: HubSpot values to Dataverse column values and back.

The canonical value of an enum is the HubSpot internal value, as text. Each entry is used
only in its direction:

- HubSpot -> canonical: the value itself, if any entry lists it.
- Dataverse -> canonical: the first entry flowing to HubSpot whose `dynamics` values are
  all present in the row (a subset match; other columns may hold anything).
- canonical -> Dataverse: the `dynamics` values of the first entry flowing to Dataverse
  with that HubSpot value.
- canonical -> HubSpot: the value itself, if an entry flowing to HubSpot lists it.

A value that no entry fits follows the field's `unmapped` rule.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sync.mapping.scalars import InvalidValue, show
from sync.mapping.terms import UnmappedAction
from sync.model import System

if TYPE_CHECKING:
    from sync.mapping.schema import FieldRule, ValueEntry


class Omit(enum.Enum):
    """Marker for a field that the `unmapped: skip` rule leaves out."""

    FIELD = "omit"


def value_key(value: Any) -> str:
    """Return a comparable text form, so that 1, 1.0 and "1" match and True matches "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def row_matches(entry: ValueEntry, row: dict[str, Any]) -> bool:
    """Return whether `row` contains every column value of `entry` (a subset match)."""
    return all(
        column in row and row[column] is not None and value_key(row[column]) == value_key(value)
        for column, value in entry.dynamics.items()
    )


def entries_to(rule: FieldRule, system: System) -> Iterable[ValueEntry]:
    return (entry for entry in rule.values if entry.flows_to(system))


def enum_from_hubspot(rule: FieldRule, raw: Any) -> str | Omit | None:
    """Convert a raw HubSpot value to the canonical value; raise `InvalidValue` on `reject`."""
    if raw is None or value_key(raw) == "":
        return None
    value = value_key(raw)
    if any(entry.hubspot == value for entry in rule.values):
        return value
    return _unmapped_canonical(rule, f"HubSpot value {show(raw)}")


def enum_from_dynamics(rule: FieldRule, row: dict[str, Any]) -> str | Omit | None:
    """Convert a Dataverse row's enum columns to the canonical value."""
    if all(row.get(column) is None for column in rule.dynamics):
        return None
    for entry in entries_to(rule, System.HUBSPOT):
        if row_matches(entry, row):
            return entry.hubspot
    description = ", ".join(f"{column}={show(row.get(column))}" for column in rule.dynamics)
    return _unmapped_canonical(rule, f"Dataverse values {description}")


def enum_to_system(rule: FieldRule, value: Any, system: System) -> dict[str, Any] | Omit:
    """Return the raw values that write canonical `value` to `system`, keyed by field name."""
    if value is None:
        return {name: ("" if system is System.HUBSPOT else None) for name in rule.names_in(system)}
    entry = _entry_for(rule, value_key(value), system)
    if entry is None:
        entry = _unmapped_entry(rule, value, system)
    if entry is Omit.FIELD:
        return Omit.FIELD
    if system is System.HUBSPOT:
        return {rule.hubspot: entry.hubspot}
    return dict(entry.dynamics)


def _entry_for(rule: FieldRule, value: str, system: System) -> ValueEntry | None:
    return next((entry for entry in entries_to(rule, system) if entry.hubspot == value), None)


def _unmapped_canonical(rule: FieldRule, description: str) -> str | Omit:
    action = rule.unmapped.action
    if action is UnmappedAction.SKIP:
        return Omit.FIELD
    if action is UnmappedAction.DEFAULT and rule.unmapped.default is not None:
        return rule.unmapped.default
    raise InvalidValue(
        f"{description} is not in the value map of field {rule.name}; add an entry for it under "
        "`values`, or set `unmapped: skip` or `unmapped: {default: VALUE}`",
        category="unmapped_value",
    )


def _unmapped_entry(rule: FieldRule, value: Any, system: System) -> ValueEntry | Omit:
    action = rule.unmapped.action
    if action is UnmappedAction.SKIP:
        return Omit.FIELD
    default = rule.unmapped.default
    if action is UnmappedAction.DEFAULT and default is not None:
        entry = _entry_for(rule, default, system)
        if entry is not None:
            return entry
    raise InvalidValue(
        f"value {show(value)} of field {rule.name} has no entry in the value map that is "
        f"written to {system.label}; add one under `values`, or set `unmapped: skip`",
        category="unmapped_value",
    )
