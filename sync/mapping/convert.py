"""Whole records to canonical values and back, field by field.

A field that fails to convert never stops the others: on the way in it becomes a
`RecordError` next to the values that did convert. On the way out it raises, because a
write with a missing field would be wrong.

Joined strings read their parts, join the non-empty ones with the separator and apply the
transforms; on the way out the text is split from the right, so "Mary Ann Smith" becomes
first name "Mary Ann" and last name "Smith". Template fields are rendered from the record's
other canonical values after those are converted.
"""

from __future__ import annotations

import re

import enum
from collections.abc import Mapping as ReadOnlyDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.errors import RecordError
from sync.mapping.owners import OwnerDirectory, owner_from_canonical, owner_to_canonical
from sync.mapping.scalars import InvalidValue, scalar_from_canonical, scalar_to_canonical, string_to_canonical
from sync.mapping.template import render, template_order
from sync.mapping.terms import FieldType
from sync.mapping.transforms import apply_transforms
from sync.mapping.values import Omit, enum_from_dynamics, enum_from_hubspot, enum_to_system
from sync.model import Record, System

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sync.mapping.schema import FieldRule, ObjectPair


class WriteMode(enum.StrEnum):
    """Whether a write creates a record, which also carries `create_only` fields, or updates one."""

    CREATE = "create"
    UPDATE = "update"


@dataclass(frozen=True)
class Canonical:
    """A record's canonical values, and a `RecordError` for each field that failed to convert."""

    values: dict[str, Any]
    errors: list[RecordError] = field(default_factory=list)


def record_to_canonical(pair: ObjectPair, record: Record, owners: OwnerDirectory | None = None) -> Canonical:
    """Convert every mapped field of `record` to its canonical value.

    A field whose property or columns are all absent from `record.values` is left out, so a
    partial read never looks like a cleared value. A field that fails to convert is left out
    too and gives a `RecordError` naming the system, kind, record id and field. `owners` is
    needed only by `owner` fields.
    """
    values: dict[str, Any] = {}
    errors: list[RecordError] = []
    for rule in pair.fields:
        names = rule.names_in(record.system)
        if not names or not any(name in record.values for name in names):
            continue
        try:
            value = field_to_canonical(rule, record.values, record.system, pair.timezone, owners)
        except InvalidValue as error:
            errors.append(_record_error(rule, record.system, pair, error, record.id))
            continue
        if value is not Omit.FIELD:
            values[rule.name] = value

    for rule in template_order(pair.fields):
        if not rule.names_in(record.system) and all(name in values for name in rule.template_fields):
            values[rule.name] = _rendered(rule, values)
    return Canonical(values, errors)


def _rendered(rule: FieldRule, values: dict[str, Any]) -> str | None:
    text = render(rule.template, values)
    return apply_transforms(text, rule.transforms, rule.phone_region) or None


def field_to_canonical(
    rule: FieldRule, raw_values: ReadOnlyDict[str, Any], system: System, zone: ZoneInfo,
    owners: OwnerDirectory | None = None,
) -> Any:
    """Return one field's canonical value, or `Omit.FIELD`; raise `InvalidValue`."""
    if rule.type is FieldType.ENUM:
        if system is System.HUBSPOT:
            return enum_from_hubspot(rule, raw_values.get(rule.hubspot))
        return enum_from_dynamics(rule, {column: raw_values.get(column) for column in rule.dynamics})
    names = rule.names_in(system)
    try:
        if rule.is_joined(system):
            return _joined(rule, [raw_values.get(name) for name in names])
        if rule.type is FieldType.OWNER:
            return owner_to_canonical(raw_values.get(names[0]), system, owners)
        return scalar_to_canonical(rule.type, raw_values.get(names[0]), rule.timezone or zone, rule.transforms,
                                   phone_region=rule.phone_region, currency=rule.currency)
    except InvalidValue as error:
        noun = "property" if system is System.HUBSPOT else "column"
        raise InvalidValue(f"{system.label} {noun} {', '.join(names)}: {error.reason}", error.category) from None


def _joined(rule: FieldRule, parts: list[Any]) -> str | None:
    texts = [string_to_canonical(part, ()) for part in parts]
    joined = rule.join.join(text.strip() for text in texts if text and text.strip())
    return apply_transforms(joined, rule.transforms, rule.phone_region) or None


def values_from_canonical(
    pair: ObjectPair, system: System, values: ReadOnlyDict[str, Any],
    owners: OwnerDirectory | None = None, mode: WriteMode = WriteMode.UPDATE,
) -> dict[str, Any]:
    """Return the raw values that write the given canonical fields to `system`.

    Only the fields in `values` are written, and only those whose direction flows to
    `system` for this `mode`: `create_only` fields go out with `WriteMode.CREATE` only.
    The others are left out. None clears a field (`""` for HubSpot, null for Dataverse).
    Raises `RecordError` for a value that cannot be written, such as an enum value that
    the value map lacks under `unmapped: reject`, and `ValueError` for a key that is not
    a field of this pair.
    """
    unknown = sorted(set(values) - {rule.name for rule in pair.fields})
    if unknown:
        raise ValueError(f"not fields of the {pair.kind} mapping: {', '.join(unknown)}")

    raw: dict[str, Any] = {}
    for rule in pair.fields:
        flows = rule.flows_on_create(system) if mode is WriteMode.CREATE else rule.flows_to(system)
        if rule.name not in values or not flows:
            continue
        try:
            converted = field_from_canonical(rule, values[rule.name], system, pair.timezone, owners)
        except InvalidValue as error:
            raise _record_error(rule, system, pair, error, None) from None
        if converted is not Omit.FIELD:
            raw.update(converted)
    return raw


def field_from_canonical(
    rule: FieldRule, value: Any, system: System, zone: ZoneInfo, owners: OwnerDirectory | None = None,
) -> dict[str, Any] | Omit:
    """Return one field's raw values for `system`, keyed by property or column name."""
    if rule.type is FieldType.ENUM:
        return enum_to_system(rule, value, system)
    names = rule.names_in(system)
    if not names:
        return Omit.FIELD
    if rule.is_joined(system):
        return _split(rule, value, system)
    if rule.type is FieldType.OWNER:
        return _owner_field(names[0], owner_from_canonical(value, system, owners), system)
    return {names[0]: scalar_from_canonical(rule.type, value, system, rule.timezone or zone)}


def _owner_field(name: str, owner_id: Any, system: System) -> dict[str, Any]:
    """Dataverse reads an owner as `_ownerid_value` but writes it through the navigation
    property, `ownerid@odata.bind: /systemusers(<id>)`; HubSpot writes the id as it is."""
    lookup = re.fullmatch(r"_(\w+)_value", name)
    if system is System.DYNAMICS and lookup is not None:
        # Every Dataverse row has an owner: no owner on the other side leaves it as it is.
        return {f"{lookup.group(1)}@odata.bind": f"/systemusers({owner_id})"} if owner_id else {}
    return {name: owner_id}


def _split(rule: FieldRule, value: Any, system: System) -> dict[str, Any]:
    names = rule.names_in(system)
    empty = "" if system is System.HUBSPOT else None
    text = string_to_canonical(value, ())
    parts = [] if text is None else [part.strip() for part in text.rsplit(rule.join, len(names) - 1)]
    parts = [empty] * (len(names) - len(parts)) + parts
    return {name: (part or empty) for name, part in zip(names, parts, strict=True)}


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
