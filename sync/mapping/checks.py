"""Checks across fields and kinds, run once every field of a mapping has been read."""

from __future__ import annotations

from sync.mapping.problems import ProblemList, choice_fix
from sync.mapping.template import find_cycle
from sync.mapping.schema import FieldRule, ObjectPair, ValueEntry
from sync.mapping.terms import FieldType
from sync.mapping.values import value_key
from sync.model import Kind, System


def check_pairs(pairs: dict[Kind, ObjectPair], problems: ProblemList) -> None:
    """Add a problem for each clash between fields, value-map entries or references."""
    for kind, pair in pairs.items():
        check_write_targets(pair, problems)
        check_opposed_rules(pair, problems)
        check_templates(pair, problems)
        for rule in pair.fields:
            if rule.type is FieldType.ENUM:
                check_value_map(rule, ("objects", kind.value, "fields", rule.name), problems)
        for ref in pair.references:
            if ref.target not in pairs:
                problems.add(
                    ("objects", kind.value, "references", ref.target.value),
                    f"reference to {ref.target}, but {ref.target} is not mapped under `objects`",
                    fix=f"add a `{ref.target}` section under `objects`, or remove this reference",
                )


def check_write_targets(pair: ObjectPair, problems: ProblemList) -> None:
    """Report two fields that write the same HubSpot property or Dataverse column."""
    for system in System:
        writers: dict[str, FieldRule] = {}
        for rule in pair.fields:
            if not rule.flows_on_create(system):
                continue
            for index, name in enumerate(rule.names_in(system)):
                first = writers.setdefault(name, rule)
                if first is rule:
                    continue
                key = ("hubspot",) if system is System.HUBSPOT and not rule.hubspot_parts else (system.value, index)
                noun = "property" if system is System.HUBSPOT else "column"
                problems.add(
                    ("objects", pair.kind.value, "fields", rule.name, *key),
                    f"fields `{first.name}` and `{rule.name}` both write {system.label} {noun} `{name}`",
                    fix=f"map `{name}` in one field only, or set `direction` so that only one of them writes to {system.label}",
                )


def check_opposed_rules(pair: ObjectPair, problems: ProblemList) -> None:
    """Report two fields that map the same property and column, so that each write undoes the other."""
    seen: dict[tuple[tuple[str, ...], tuple[str, ...]], FieldRule] = {}
    for rule in pair.fields:
        names = (rule.names_in(System.HUBSPOT), rule.names_in(System.DYNAMICS))
        if not all(names):
            continue
        first = seen.setdefault(names, rule)
        if first is rule:
            continue
        problems.add(
            ("objects", pair.kind.value, "fields", rule.name),
            f"fields `{first.name}` ({first.direction}) and `{rule.name}` ({rule.direction}) map the same "
            f"HubSpot {', '.join(names[0])} and Dataverse {', '.join(names[1])}",
            fix="keep one field, with `direction: both` if the value should flow both ways",
        )


def check_templates(pair: ObjectPair, problems: ProblemList) -> None:
    """Report template placeholders that name no field, and templates that use each other in a circle."""
    names = [rule.name for rule in pair.fields]
    for rule in pair.fields:
        path = ("objects", pair.kind.value, "fields", rule.name, "template")
        for used in rule.template_fields:
            if used == rule.name:
                problems.add(path, f"the template of `{rule.name}` uses the field itself", fix="remove the placeholder")
            elif used not in names:
                problems.add(path, f"the template uses {{{used}}}, but the {pair.kind} mapping has no field `{used}`",
                             fix=choice_fix(used, names))
    cycle = find_cycle(rule for rule in pair.fields if rule.name not in rule.template_fields)
    if cycle:
        problems.add(("objects", pair.kind.value, "fields", cycle[0], "template"),
                     f"circular templates: {' -> '.join(cycle)}", fix="render one of these fields from plain fields only")


def check_value_map(rule: FieldRule, path: tuple[str, ...], problems: ProblemList) -> None:
    """Report entries that make a direction ambiguous, and entries that can never match."""
    for index, entry in enumerate(rule.values):
        earlier = rule.values[:index]
        message, fix = _clash(entry, earlier)
        if message:
            problems.add((*path, "values", index), message, fix=fix)


def _clash(entry: ValueEntry, earlier: tuple[ValueEntry, ...]) -> tuple[str | None, str | None]:
    for other in earlier:
        if entry.flows_to(System.DYNAMICS) and other.flows_to(System.DYNAMICS) and entry.hubspot == other.hubspot:
            return (
                f"the value map is not one-to-one: HubSpot value `{entry.hubspot}` is also mapped at line "
                f"{other.line}, so writing it to Dataverse is ambiguous",
                "remove one of the two entries, or mark this one `direction: to_hubspot`",
            )
    for other in earlier:
        if not (entry.flows_to(System.HUBSPOT) and other.flows_to(System.HUBSPOT)):
            continue
        mine, theirs = _normalised(entry), _normalised(other)
        if mine == theirs:
            return (
                f"the value map is not one-to-one: the Dataverse values {_show(entry)} are also mapped at "
                f"line {other.line}, so reading them from Dataverse is ambiguous",
                "remove one of the two entries, or mark this one `direction: to_dynamics`",
            )
        if theirs.items() <= mine.items():
            return (
                f"this entry never matches a Dataverse row: the entry at line {other.line} "
                f"({_show(other)}) comes first and matches every row that this one matches",
                f"move this entry above line {other.line}, because the first matching entry wins",
            )
    return None, None


def _normalised(entry: ValueEntry) -> dict[str, str]:
    return {column: value_key(value) for column, value in entry.dynamics.items()}


def _show(entry: ValueEntry) -> str:
    return "{" + ", ".join(f"{column}: {value}" for column, value in entry.dynamics.items()) + "}"
