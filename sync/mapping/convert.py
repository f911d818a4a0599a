"""Whole records to canonical values and back, field by field.

A field that fails to convert never stops the others: on the way in it becomes a
`RecordError` next to the values that did convert. On the way out it raises, because a
write with a missing field would be wrong.
"""

from __future__ import annotations

from collections.abc import Mapping as ReadOnlyDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.errors import RecordError
from sync.mapping.scalars import InvalidValue, scalar_from_canonical, scalar_to_canonical
from sync.mapping.terms import FieldType
from sync.mapping.values import Omit, enum_from_dynamics, enum_from_hubspot, enum_to_system
from sync.model import Record, System

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sync.mapping.schema import FieldRule, ObjectPair


@dataclass(frozen=True)
class Canonical:
    """A record's canonical values, and a `RecordError` for each field that failed to convert."""

    values: dict[str, Any]
    errors: list[RecordError] = field(default_factory=list)


def record_to_canonical(pair: ObjectPair, record: Record) -> Canonical:
    """Convert every mapped field of `record` to its canonical value.

    A field whose property or columns are all absent from `record.values` is left out, so a
    partial read never looks like a cleared value. A field that fails to convert is left out
    too and gives a `RecordError` naming the system, kind, record id and field.
    """
    values: dict[str, Any] = {}
    errors: list[RecordError] = []
    for rule in pair.fields:
        if not any(name in record.values for name in rule.names_in(record.system)):
            continue
        try:
            value = field_to_canonical(rule, record.values, record.system, pair.timezone)
        except InvalidValue as error:
            errors.append(_record_error(rule, record.system, pair, error, record.id))
            continue
        if value is not Omit.FIELD:
            values[rule.name] = value
    return Canonical(values, errors)


def field_to_canonical(
    rule: FieldRule, raw_values: ReadOnlyDict[str, Any], system: System, zone: ZoneInfo
) -> Any:
    """Return one field's canonical value, or `Omit.FIELD`; raise `InvalidValue`."""
    if rule.type is FieldType.ENUM:
        if system is System.HUBSPOT:
            return enum_from_hubspot(rule, raw_values.get(rule.hubspot))
        return enum_from_dynamics(rule, {column: raw_values.get(column) for column in rule.dynamics})
    name = rule.names_in(system)[0]
    try:
        return scalar_to_canonical(rule.type, raw_values.get(name), zone, rule.transforms)
    except InvalidValue as error:
        noun = "property" if system is System.HUBSPOT else "column"
        raise InvalidValue(f"{system.label} {noun} {name}: {error.reason}", error.category) from None


def values_from_canonical(pair: ObjectPair, system: System, values: ReadOnlyDict[str, Any]) -> dict[str, Any]:
    """Return the raw values that write the given canonical fields to `system`.

    Only the fields in `values` are written, and only those whose direction flows to
    `system`; the others are left out. None clears a field (`""` for HubSpot, null for
    Dataverse). Raises `RecordError` for a value that cannot be written, such as an enum
    value that the value map lacks under `unmapped: reject`, and `ValueError` for a key
    that is not a field of this pair.
    """
    unknown = sorted(set(values) - {rule.name for rule in pair.fields})
    if unknown:
        raise ValueError(f"not fields of the {pair.kind} mapping: {', '.join(unknown)}")

    raw: dict[str, Any] = {}
    for rule in pair.fields:
        if rule.name not in values or not rule.flows_to(system):
            continue
        try:
            converted = field_from_canonical(rule, values[rule.name], system, pair.timezone)
        except InvalidValue as error:
            raise _record_error(rule, system, pair, error, None) from None
        if converted is not Omit.FIELD:
            raw.update(converted)
    return raw


def field_from_canonical(rule: FieldRule, value: Any, system: System, zone: ZoneInfo) -> dict[str, Any] | Omit:
    """Return one field's raw values for `system`, keyed by property or column name."""
    if rule.type is FieldType.ENUM:
        return enum_to_system(rule, value, system)
    name = rule.names_in(system)[0]
    return {name: scalar_from_canonical(rule.type, value, system, zone)}


def _record_error(
    rule: FieldRule, system: System, pair: ObjectPair, error: InvalidValue, record_id: str | None
) -> RecordError:
    return RecordError(
        error.reason,
        system=system.value,
        kind=pair.kind.value,
        record_id=record_id,
        field=rule.name,
        category=error.category,
    )
