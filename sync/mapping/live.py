"""Checking a loaded mapping against the live metadata of both CRMs (`crmsync mappings check --live`).

The metadata shapes are the ones the APIs return: HubSpot's GET /crm/v3/properties/{objectType}
`results` (name, type, options, modificationMetadata.readOnlyValue) and Dataverse's
EntityDefinitions(LogicalName=...)/Attributes `value` (LogicalName, AttributeType,
IsValidForCreate, IsValidForUpdate, OptionSet.Options[].Value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.errors import Problem
from sync.mapping.problems import close_match
from sync.mapping.schema import FieldRule, Location, Mapping, ObjectPair
from sync.mapping.terms import FieldType, UnmappedAction
from sync.mapping.values import value_key
from sync.model import Kind, System

# Which metadata types can hold each field type, by system.
HUBSPOT_TYPES: dict[FieldType, frozenset[str]] = {
    FieldType.STRING: frozenset({"string", "enumeration", "phone_number"}),
    FieldType.NUMBER: frozenset({"number"}),
    FieldType.MONEY: frozenset({"number"}),
    FieldType.DATE: frozenset({"date", "datetime"}),
    FieldType.DATETIME: frozenset({"datetime"}),
    FieldType.BOOLEAN: frozenset({"bool", "enumeration"}),
    FieldType.ENUM: frozenset({"enumeration", "string", "bool"}),
    FieldType.OWNER: frozenset({"enumeration", "string", "number"}),
}
DATAVERSE_TYPES: dict[FieldType, frozenset[str]] = {
    FieldType.STRING: frozenset({"String", "Memo"}),
    FieldType.NUMBER: frozenset({"Integer", "BigInt", "Decimal", "Double", "Money"}),
    FieldType.MONEY: frozenset({"Money", "Decimal", "Double"}),
    FieldType.DATE: frozenset({"DateTime"}),
    FieldType.DATETIME: frozenset({"DateTime"}),
    FieldType.BOOLEAN: frozenset({"Boolean"}),
    FieldType.ENUM: frozenset({"Picklist", "State", "Status", "Boolean", "Integer", "String"}),
    FieldType.OWNER: frozenset({"Owner", "Lookup"}),
}

_STATE_TYPES = frozenset({"State", "Status"})


@dataclass(frozen=True)
class FieldMeta:
    """What crmsync needs to know of one property or column: type, writability and options."""

    name: str
    type: str
    creatable: bool
    updatable: bool
    options: tuple[str, ...] | None = None


def hubspot_meta(properties: list[dict[str, Any]]) -> dict[str, FieldMeta]:
    """Index HubSpot property definitions by name."""
    found = {}
    for item in properties:
        read_only = bool((item.get("modificationMetadata") or {}).get("readOnlyValue")) or bool(item.get("calculated"))
        options = tuple(value_key(option.get("value")) for option in item.get("options") or ())
        is_enum = item.get("type") == "enumeration"
        found[item["name"]] = FieldMeta(item["name"], str(item.get("type")), not read_only, not read_only, options if is_enum else None)
    return found


def dynamics_meta(attributes: list[dict[str, Any]]) -> dict[str, FieldMeta]:
    """Index Dataverse attribute metadata by logical name."""
    found = {}
    for item in attributes:
        option_set = item.get("OptionSet")
        options = None
        if isinstance(option_set, dict):
            options = tuple(value_key(option.get("Value")) for option in option_set.get("Options") or ())
        meta = FieldMeta(
            item["LogicalName"], str(item.get("AttributeType")),
            bool(item.get("IsValidForCreate", True)), bool(item.get("IsValidForUpdate", True)), options,
        )
        found[item["LogicalName"]] = meta
        if meta.type in LOOKUP_TYPES:
            # A lookup is read as `_<name>_value` and written through its navigation property.
            found[f"_{item['LogicalName']}_value"] = meta
    return found


LOOKUP_TYPES = ("Lookup", "Customer", "Owner")


def check_live(
    mapping: Mapping,
    hubspot_properties: dict[Kind, list[dict[str, Any]]],
    dynamics_attributes: dict[Kind, list[dict[str, Any]]],
) -> list[Problem]:
    """Return a problem for each mapped field that the live metadata contradicts.

    Checked per mapped name: it exists, its type can hold the field's type, it is writable
    wherever the mapping writes it, and every option of an enumeration or picklist is
    mapped (unless `unmapped` is skip or default). A kind missing from the metadata is not
    checked.
    """
    problems: list[Problem] = []
    for kind, pair in mapping.pairs.items():
        metas = {
            System.HUBSPOT: hubspot_meta(hubspot_properties[kind]) if kind in hubspot_properties else None,
            System.DYNAMICS: dynamics_meta(dynamics_attributes[kind]) if kind in dynamics_attributes else None,
        }
        for system, meta in metas.items():
            if meta is None:
                continue
            for rule in pair.fields:
                problems.extend(_FieldCheck(mapping, pair, rule, system, meta).run())
    return problems


class _FieldCheck:
    """The live checks of one field on one side."""

    def __init__(self, mapping: Mapping, pair: ObjectPair, rule: FieldRule, system: System, meta: dict[str, FieldMeta]):
        self.mapping, self.pair, self.rule, self.system, self.meta = mapping, pair, rule, system, meta
        self.noun = "property" if system is System.HUBSPOT else "column"
        self.found: list[Problem] = []

    def run(self) -> list[Problem]:
        for name in self.rule.names_in(self.system):
            item = self.meta.get(name)
            if item is None:
                match = close_match(name, self.meta)
                fix = f"did you mean `{match}`?" if match else f"check the {self.noun}'s internal name in {self.system.label}"
                self.add(name, f"{self.system.label} has no {self.pair.kind} {self.noun} `{name}`", fix)
                continue
            self.check_type(item)
            self.check_writable(item)
            self.check_options(item)
        return self.found

    def add(self, name: str, message: str, fix: str) -> None:
        key = "hubspot" if self.system is System.HUBSPOT and not self.rule.hubspot_parts else f"{self.system}:{name}"
        where = self.rule.locations.get(key, Location(self.rule.line, None))
        self.found.append(Problem(
            message, file=self.mapping.source, line=where.line, column=where.column,
            field=f"objects.{self.pair.kind}.fields.{self.rule.name}", fix=fix,
        ))

    def check_type(self, item: FieldMeta) -> None:
        table = HUBSPOT_TYPES if self.system is System.HUBSPOT else DATAVERSE_TYPES
        allowed = table[self.rule.type]
        if item.type in allowed:
            return
        self.add(item.name, f"{self.system.label} {self.noun} `{item.name}` is of type {item.type}, "
                            f"which cannot hold a {self.rule.type} field",
                 f"set the field's `type` to match, or map a {self.noun} of type {' or '.join(sorted(allowed))}")

    def check_writable(self, item: FieldMeta) -> None:
        # The Dataverse connector sets state and status with the close and reopen requests,
        # after a create, so their metadata flags do not limit the mapping.
        if item.type in _STATE_TYPES:
            return
        other = self.system.other
        if self.rule.flows_to(self.system) and not item.updatable:
            self.add(item.name, f"{self.system.label} {self.noun} `{item.name}` is read-only, but this field updates it",
                     f"set `direction: to_{other}`, so that it is only read from {self.system.label}")
        elif self.rule.flows_on_create(self.system) and not item.creatable:
            self.add(item.name, f"{self.system.label} {self.noun} `{item.name}` cannot be set on create, but this field sets it",
                     f"set `direction: to_{other}`")

    def check_options(self, item: FieldMeta) -> None:
        # An enumeration without options, such as HubSpot's dealstage whose values are the
        # pipeline stages, cannot be checked here.
        if self.rule.type is not FieldType.ENUM or not item.options:
            return
        unknown = [value for value in self._entry_values(item.name) if value not in item.options]
        if unknown:
            self.add(item.name, f"the value map writes {', '.join(unknown)} to `{item.name}`, which "
                                f"{self.system.label} does not list as an option",
                     f"use one of the options: {', '.join(item.options)}")
        if self.rule.unmapped.action is not UnmappedAction.REJECT:
            return
        missing = [option for option in item.options if not self._covered(item.name, option)]
        if missing:
            self.add(item.name, f"{self.system.label} options of `{item.name}` not in the value map: {', '.join(missing)}",
                     "add an entry for each, or set `unmapped: skip` or `unmapped: {default: VALUE}`")

    def _entry_values(self, name: str) -> list[str]:
        if self.system is System.HUBSPOT:
            return list(dict.fromkeys(entry.hubspot for entry in self.rule.values))
        return list(dict.fromkeys(value_key(entry.dynamics[name]) for entry in self.rule.values if name in entry.dynamics))

    def _covered(self, name: str, option: str) -> bool:
        # A HubSpot value is read if any entry lists it. A Dataverse value is read if an entry
        # flowing to HubSpot accepts it, and an entry that omits this column accepts every value.
        if self.system is System.HUBSPOT:
            return any(entry.hubspot == option for entry in self.rule.values)
        readers = [entry for entry in self.rule.values if entry.flows_to(System.HUBSPOT)]
        return any(name not in entry.dynamics or value_key(entry.dynamics[name]) == option for entry in readers)
