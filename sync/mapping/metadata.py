"""Checking a loaded mapping against the fields that each CRM's metadata lists."""

from __future__ import annotations

from sync.errors import Problem
from sync.mapping.problems import close_match
from sync.mapping.schema import FieldRule, Location, Mapping
from sync.model import Kind, System


def check_fields(mapping: Mapping, known: dict[System, dict[Kind, set[str]]]) -> list[Problem]:
    """Return a problem for each mapped property or column that the CRM does not know.

    `known` contains the field names from each system's metadata, by kind. A system or kind
    missing from `known` is not checked. The fix names the closest known name, if any.
    """
    problems: list[Problem] = []
    for kind, pair in mapping.pairs.items():
        for system in System:
            names = known.get(system, {}).get(kind)
            if names is None:
                continue
            for rule in pair.fields:
                problems.extend(_unknown_names(mapping, rule, system, kind, names))
    return problems


def _unknown_names(mapping: Mapping, rule: FieldRule, system: System, kind: Kind, names: set[str]) -> list[Problem]:
    found: list[Problem] = []
    noun = "property" if system is System.HUBSPOT else "column"
    for name in rule.names_in(system):
        if name in names:
            continue
        key = "hubspot" if system is System.HUBSPOT else f"dynamics:{name}"
        where = rule.locations.get(key, Location(rule.line, None))
        match = close_match(name, names)
        fix = f"did you mean `{match}`?" if match else f"check the {noun}'s internal name in {system.label}"
        found.append(Problem(
            f"{system.label} has no {kind} {noun} `{name}`",
            file=mapping.source, line=where.line, column=where.column,
            field=f"objects.{kind}.fields.{rule.name}", fix=fix,
        ))
    return found
