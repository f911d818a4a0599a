"""Typed reads from a parsed YAML node that record a problem instead of raising.

Each reader returns the value, the default when the key is absent, or None after adding
a problem, so the loader can go on and report every problem in one pass.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from sync.mapping.problems import ProblemList, choice_fix

E = TypeVar("E", bound=enum.StrEnum)

# HubSpot internal property names and Dataverse logical names: letters, digits, underscores.
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MISSING = object()


def describe(value: Any) -> str:
    """Name a YAML value's type in the admin's words."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


class Reader:
    """Reads typed values from YAML nodes and records what is wrong in `problems`."""

    def __init__(self, problems: ProblemList):
        self.problems = problems

    def check_keys(self, node: dict, path: Sequence[str | int], allowed: Sequence[str]) -> None:
        """Add a problem for each key of `node` that is not in `allowed`, with a close match."""
        for key in node:
            if isinstance(key, str) and key in allowed:
                continue
            self.problems.add(
                (*path, key), f"unknown key {key!r}; allowed here: {', '.join(allowed)}",
                fix=choice_fix(key, allowed) if isinstance(key, str) else "use one of the allowed keys",
            )

    def map_at(self, node: Any, path: Sequence[str | int], expected: str) -> dict | None:
        """Return `node` if it is a map, else add a problem saying what was expected."""
        if isinstance(node, dict):
            return node
        self.problems.add(path, f"expected {expected}, got {describe(node)}", fix=f"write {expected} here")
        return None

    def choice(self, node: dict, key: str, path: Sequence[str | int], choices: type[E], default: E) -> E | None:
        """Read an optional enum value given as text."""
        value = node.get(key, MISSING)
        if value is MISSING:
            return default
        names = [member.value for member in choices]
        if isinstance(value, str) and value in names:
            return choices(value)
        self.problems.add((*path, key), f"invalid {key} {value!r}", fix=choice_fix(value, names))
        return None

    def name(self, node: dict, key: str, path: Sequence[str | int], expected: str) -> str | None:
        """Read a required property or column name."""
        value = node.get(key, MISSING)
        if value is MISSING:
            self.problems.add(path, f"missing `{key}`: the {expected} that this field maps", fix=f"add `{key}: <{expected}>`")
            return None
        return self.name_value(value, (*path, key), expected)

    def name_value(self, value: Any, path: Sequence[str | int], expected: str) -> str | None:
        if isinstance(value, str) and NAME_PATTERN.match(value):
            return str(value)
        if isinstance(value, str):
            self.problems.add(path, f"invalid {expected} {value!r}", fix="use the internal name: letters, digits and underscores")
            return None
        self.problems.add(path, f"expected the {expected} as text, got {describe(value)}", fix="write the internal name")
        return None
