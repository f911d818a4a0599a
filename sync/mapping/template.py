"""Template fields: text rendered from other canonical fields, such as "{first_name} {last_name}".

A placeholder is a field name in braces; `{{` and `}}` stand for literal braces. Format
specifications and attribute access are not supported, so a template can only place
values. An empty or missing value renders as nothing.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping as ReadOnlyDict
from typing import TYPE_CHECKING, Any

from sync.mapping.values import value_key

if TYPE_CHECKING:
    from sync.mapping.schema import FieldRule

_FORMATTER = string.Formatter()


class TemplateSyntaxError(ValueError):
    """A template that cannot be parsed; the message says what to change."""


def placeholders(template: str) -> tuple[str, ...]:
    """Return the field names a template uses, once each, in order; raise `TemplateSyntaxError`."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as error:
        raise TemplateSyntaxError(f"{error}; write a literal brace as {{{{ or }}}}") from None

    names: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or spec or conversion or not name.isidentifier():
            raise TemplateSyntaxError(f"invalid placeholder {{{name}}}; write a field name in braces, such as {{first_name}}")
        if name not in names:
            names.append(name)
    return tuple(names)


def render(template: str, values: ReadOnlyDict[str, Any]) -> str:
    """Render `template` with canonical `values`; None becomes an empty string."""
    parts: list[str] = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        parts.append(literal)
        if name is not None:
            value = values.get(name)
            parts.append("" if value is None else value_key(value))
    return "".join(parts)


def find_cycle(rules: Iterable[FieldRule]) -> list[str] | None:
    """Return the field names of one template cycle, such as [a, b, a], or None if there is none."""
    uses = {rule.name: rule.template_fields for rule in rules if rule.template is not None}
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        if state.get(name) == "open":
            return [*trail[trail.index(name):], name]
        if state.get(name) == "done" or name not in uses:
            return None
        state[name] = "open"
        for used in uses[name]:
            cycle = visit(used, [*trail, name])
            if cycle:
                return cycle
        state[name] = "done"
        return None

    for name in uses:
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


def template_order(rules: Iterable[FieldRule]) -> list[FieldRule]:
    """Return the template fields so that each comes after the template fields it uses.

    The loader rejects cycles; a field in a cycle is left out here rather than looping.
    """
    pending = [rule for rule in rules if rule.template is not None]
    names = {rule.name for rule in pending}
    ordered: list[FieldRule] = []
    placed: set[str] = set()
    while pending:
        ready = [rule for rule in pending if all(used in placed or used not in names for used in rule.template_fields)]
        if not ready:
            break
        ordered.extend(ready)
        placed.update(rule.name for rule in ready)
        pending = [rule for rule in pending if rule.name not in placed]
    return ordered
