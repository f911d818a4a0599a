"""The mapping plan: what a mapping syncs, and what a mapping change does to linked records.

`render_plan` describes one mapping as a Markdown table per object pair. `diff_plan`
replays the synced values of linked records through an old and a new mapping and counts,
per field, the records whose written values would change. Neither writes anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping as ReadOnlyDict
from typing import Any

from sync.mapping.convert import field_from_canonical
from sync.mapping.live import dynamics_meta, hubspot_meta
from sync.mapping.scalars import InvalidValue, scalar_to_canonical, string_to_canonical
from sync.mapping.schema import FieldRule, Mapping, ObjectPair
from sync.mapping.template import render
from sync.mapping.terms import Direction, FieldType
from sync.mapping.values import Omit, value_key
from sync.model import Kind, System

_ARROWS = {
    Direction.BOTH: "HubSpot <-> Dynamics",
    Direction.TO_DYNAMICS: "HubSpot -> Dynamics",
    Direction.TO_HUBSPOT: "Dynamics -> HubSpot",
    Direction.CREATE_ONLY: "on create only",
}


def render_plan(
    mapping: Mapping,
    hubspot_properties: dict[Kind, list[dict[str, Any]]] | None = None,
    dynamics_attributes: dict[Kind, list[dict[str, Any]]] | None = None,
) -> str:
    """Render the mapping as Markdown: per pair, each field's flow, policy, transforms and notes.

    With metadata (the shapes `check_live` takes), a field that is read-only on one side
    is marked as written one way only, since crmsync can only read it there.
    """
    lines = [f"# Mapping plan: {mapping.source}", ""]
    for kind, pair in mapping.pairs.items():
        read_only = _read_only_names(kind, hubspot_properties or {}, dynamics_attributes or {})
        lines += _pair_section(pair, read_only)
    return "\n".join(lines).rstrip() + "\n"


def _read_only_names(kind: Kind, hubspot: dict, dynamics: dict) -> dict[System, set[str]]:
    found: dict[System, set[str]] = {System.HUBSPOT: set(), System.DYNAMICS: set()}
    if kind in hubspot:
        found[System.HUBSPOT] = {name for name, meta in hubspot_meta(hubspot[kind]).items() if not meta.updatable}
    if kind in dynamics:
        found[System.DYNAMICS] = {name for name, meta in dynamics_meta(dynamics[kind]).items()
                                  if not meta.updatable and meta.type not in ("State", "Status")}
    return found


def _pair_section(pair: ObjectPair, read_only: dict[System, set[str]]) -> list[str]:
    lines = [f"## {pair.kind}", ""]
    for system in System:
        for condition in pair.scope.get(system, ()):
            lines.append(f"- scope in {system.label}: {condition.describe()}")
    if pair.scope:
        lines.append(f"- a linked record that leaves the scope: {pair.on_leave_scope}")
    lines.append(f"- the partner of a deleted or archived record: {pair.on_delete}")
    for reference in pair.references:
        lines.append(f"- reference to {reference.target}: {_ARROWS[reference.direction]}")
    if len(lines) > 2:
        lines.append("")

    lines += ["| field | HubSpot | Dynamics | flow | policy | transforms | notes |",
              "|---|---|---|---|---|---|---|"]
    for rule in pair.fields:
        lines.append(_field_row(rule, read_only))
    return [*lines, ""]


def _field_row(rule: FieldRule, read_only: dict[System, set[str]]) -> str:
    hubspot = ", ".join(rule.names_in(System.HUBSPOT)) or "(template)"
    dynamics = ", ".join(rule.names_in(System.DYNAMICS)) or "(template)"
    policy = str(rule.policy) if rule.direction is Direction.BOTH else ""
    transforms = ", ".join(str(transform) for transform in rule.transforms)
    notes = "; ".join(_notes(rule, read_only))
    return f"| {rule.name} | {hubspot} | {dynamics} | {_ARROWS[rule.direction]} | {policy} | {transforms} | {notes} |"


def _notes(rule: FieldRule, read_only: dict[System, set[str]]) -> list[str]:
    notes = [f"type {rule.type}"] if rule.type is not FieldType.STRING else []
    if rule.join is not None:
        notes.append(f"joined with {rule.join!r}")
    if rule.template is not None:
        notes.append(f"template {rule.template!r}")
    if rule.currency:
        notes.append(f"currency {rule.currency}")
    for system in System:
        locked = [name for name in rule.names_in(system) if name in read_only[system]]
        if locked and rule.flows_on_create(system):
            notes.append(f"read-only in {system.label} ({', '.join(locked)}): written to {system.other.label} only")
    if rule.type is FieldType.ENUM:
        notes += _value_map_notes(rule)
    return notes


def _value_map_notes(rule: FieldRule) -> list[str]:
    notes = []
    for system in System:
        one_way = [entry.label or entry.hubspot for entry in rule.values if entry.direction.source is system.other]
        if one_way:
            notes.append(f"to {system.label} only: {', '.join(one_way)}")
    notes.append(f"values without an entry: {rule.unmapped.action}"
                 + (f" {rule.unmapped.default}" if rule.unmapped.default else ""))
    return notes


# --- diff ---------------------------------------------------------------------------


def diff_plan(old: Mapping, new: Mapping, synced: dict[Kind, dict[str, dict[str, Any]]]) -> str:
    """Render what changing `old` to `new` does to linked records, from their synced values.

    `synced` contains, by kind, each link's synced canonical values under `old`. For every
    field, each value is converted to the raw values `old` writes and to those `new` would
    write; a difference counts as a write on the next run. A value `new` cannot convert
    counts as rejected. Fields only in `new` have no synced value yet and are compared in
    full on the next run.
    """
    lines = [f"# Mapping change: {old.source} -> {new.source}", ""]
    for kind in Kind:
        old_pair, new_pair = old.pairs.get(kind), new.pairs.get(kind)
        if old_pair is None and new_pair is None:
            continue
        links = synced.get(kind, {})
        lines += [f"## {kind} ({len(links)} linked records)", ""]
        lines += _kind_diff(old_pair, new_pair, links)
    return "\n".join(lines).rstrip() + "\n"


def _kind_diff(old: ObjectPair | None, new: ObjectPair | None, links: dict[str, dict[str, Any]]) -> list[str]:
    if new is None:
        return ["The new mapping drops this kind: its records stop syncing and stay as they are.", ""]
    if old is None:
        return ["The new mapping adds this kind: its records are matched and compared on the next run.", ""]

    rows = ["| field | change | HubSpot writes | Dynamics writes | rejected |", "|---|---|---|---|---|"]
    for rule in new.fields:
        before = old.field_named(rule.name)
        if before is None:
            rows.append(f"| {rule.name} | added, {_ARROWS[rule.direction]} | next run | next run | |")
            continue
        counts = _field_counts(before, rule, old, new, links)
        if counts or before != rule:
            rows.append(f"| {rule.name} | {_describe_change(before, rule)} | {counts[System.HUBSPOT]} "
                        f"| {counts[System.DYNAMICS]} | {counts['rejected']} |")
    for rule in old.fields:
        if new.field_named(rule.name) is None:
            rows.append(f"| {rule.name} | removed: values stay, no longer synced | 0 | 0 | 0 |")
    if len(rows) == 2:
        return ["No field changes.", ""]
    return [*rows, ""]


def _field_counts(old_rule: FieldRule, new_rule: FieldRule, old: ObjectPair, new: ObjectPair,
                  links: dict[str, dict[str, Any]]) -> Counter:
    counts: Counter = Counter()
    for values in links.values():
        if old_rule.name not in values:
            continue
        try:
            value = _recanonical(new_rule, values[old_rule.name], values, new)
        except InvalidValue:
            counts["rejected"] += 1
            continue
        for system in System:
            if new_rule.flows_to(system) and _raw(old_rule, values[old_rule.name], system, old) != _raw(new_rule, value, system, new):
                counts[system] += 1
    return counts


def _recanonical(rule: FieldRule, value: Any, values: ReadOnlyDict[str, Any], pair: ObjectPair) -> Any:
    """Return the canonical value `rule` gives a value synced under the old mapping."""
    if rule.template is not None:
        return string_to_canonical(render(rule.template, values), rule.transforms, rule.phone_region)
    if rule.type is FieldType.ENUM:
        known = {entry.hubspot for entry in rule.values}
        if value is None or value_key(value) in known:
            return value
        raise InvalidValue(f"value {value!r} is not in the new value map")
    if rule.type is FieldType.OWNER:
        return value
    return scalar_to_canonical(rule.type, value, rule.timezone or pair.timezone, rule.transforms,
                               phone_region=rule.phone_region, currency=rule.currency)


def _raw(rule: FieldRule, value: Any, system: System, pair: ObjectPair) -> Any:
    if rule.type is FieldType.OWNER:
        return (rule.names_in(system), value)
    try:
        written = field_from_canonical(rule, value, system, pair.timezone)
    except InvalidValue:
        return None
    return None if written is Omit.FIELD else sorted(written.items(), key=lambda item: item[0])


def _describe_change(old: FieldRule, new: FieldRule) -> str:
    changes = []
    for attribute in ("direction", "policy", "type", "transforms", "values", "unmapped", "join", "template", "currency"):
        if getattr(old, attribute) != getattr(new, attribute):
            changes.append(attribute)
    for system in System:
        if old.names_in(system) != new.names_in(system):
            changes.append(f"{system.label} {', '.join(new.names_in(system)) or '(none)'}")
    return "changed: " + ", ".join(changes) if changes else "unchanged"
