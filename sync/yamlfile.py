"""YAML loading that keeps line numbers, shared by settings, mappings and seed specs.

Documents are parsed with ruamel.yaml's round-trip loader, whose maps and lists remember
where each key and item stood. Errors come back as `ConfigError` with file, line and
column (1-based), never as a parser traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sync.errors import ConfigError, Problem


def load_yaml(path: Path) -> Any:
    """Parse one YAML document; raise `ConfigError` naming the file, line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Problem("file not found", file=path, fix="check the path")) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(Problem(f"cannot read the file: {error}", file=path)) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path | str) -> Any:
    if "\t" in text:
        line = text[: text.index("\t")].count("\n") + 1
        column = len(text[: text.index("\t")].rsplit("\n", 1)[-1]) + 1
        raise ConfigError(Problem(
            "tab character in the file", file=path, line=line, column=column,
            fix="indent with spaces; YAML does not allow tabs",
        ))
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        reason = error.problem or error.context or "invalid YAML"
        raise ConfigError(Problem(f"invalid YAML: {reason}", file=path, line=line, column=column)) from None
    except YAMLError as error:
        raise ConfigError(Problem(f"invalid YAML: {error}", file=path)) from None
    except RecursionError:
        raise ConfigError(Problem("invalid YAML: the document is nested too deeply", file=path,
                                  fix="flatten the structure")) from None


def location_of(document: Any, location: Sequence[str | int]) -> tuple[int | None, int | None]:
    """Return the 1-based (line, column) of the deepest node on `location` that exists."""
    line: int | None = None
    column: int | None = None
    node = document
    for part in location:
        if isinstance(node, CommentedMap) and part in node:
            try:
                key_line, key_column = node.lc.key(part)
            except (KeyError, TypeError):  # keys from a `<<` merge have no position of their own
                break
            line, column = key_line + 1, key_column + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and str(part).isdigit() and int(part) < len(node):
            item_line, item_column = node.lc.item(int(part))
            line, column = item_line + 1, item_column + 1
            node = node[int(part)]
        else:
            if line is None and isinstance(node, (CommentedMap, CommentedSeq)):
                line, column = node.lc.line + 1, node.lc.col + 1
            break
    return line, column


def plain(node: Any) -> Any:
    """Turn a parsed document into plain dicts, lists and Python scalars.

    ruamel returns its own subclasses (CommentedMap, ScalarFloat, ...), which validators
    and JSON writers should not see.
    """
    if isinstance(node, Mapping):
        return {str(key): plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [plain(item) for item in node]
    for scalar in (bool, int, float, str):
        if isinstance(node, scalar):
            return scalar(node)
    return node


def dotted(path: Sequence[str | int]) -> str:
    """Render a document path as `objects.deal.fields.stage.values[2]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text
