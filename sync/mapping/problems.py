"""Collecting mapping problems with their place in the file, and close-match suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedBase

from sync.errors import Problem
from sync.mapping.schema import Location
from sync.yamlfile import dotted, location_of


def close_match(word: Any, choices: Iterable[str]) -> str | None:
    """Return the choice most like `word`, if one is close enough to be a likely typo."""
    if not isinstance(word, str):
        return None
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def choice_fix(word: Any, choices: Iterable[str]) -> str:
    """Compose the fix for a value outside `choices`: the close match, else the list."""
    choices = list(choices)
    match = close_match(word, choices)
    if match is not None:
        return f"did you mean `{match}`?"
    return "use one of: " + ", ".join(choices)


class ProblemList:
    """The problems found in one mapping document, each placed by its document path."""

    def __init__(self, document: Any, source: Path | str):
        self.document = document
        self.source = source
        self.items: list[Problem] = []

    def __len__(self) -> int:
        return len(self.items)

    def locate(self, path: Sequence[str | int]) -> Location:
        if not path and isinstance(self.document, CommentedBase):
            line, column = self.document.lc.line, self.document.lc.col
            return Location(line + 1 if line is not None else None, column + 1 if column is not None else None)
        parts = list(path)
        while True:
            try:
                line, column = location_of(self.document, parts)
                return Location(line, column)
            except TypeError:
                # NOTE: ruamel stores no position for keys that come from a `<<` merge, so
                # location_of fails on them. The nearest enclosing node is used instead.
                parts = parts[:-1]

    def add(self, path: Sequence[str | int], message: str, fix: str | None = None) -> None:
        where = self.locate(path)
        self.items.append(Problem(
            message, file=self.source, line=where.line, column=where.column,
            field=dotted(path) or None, fix=fix,
        ))
