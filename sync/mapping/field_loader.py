"""Reading one field of a mapping file: names, direction, type, transforms and value map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sync.mapping.reading import MISSING, NAME_PATTERN, Reader, describe
from sync.mapping.problems import choice_fix
from sync.mapping.schema import FieldRule, Location, Unmapped, ValueEntry
from sync.mapping.terms import Direction, FieldType, Policy, UnmappedAction
from sync.mapping.transforms import Transform

FIELD_KEYS = ("hubspot", "dynamics", "direction", "type", "transforms", "values", "unmapped", "policy")
ENTRY_KEYS = ("hubspot", "dynamics", "direction", "label")
PathParts = Sequence[str | int]


class FieldReader(Reader):
    """Builds `FieldRule`s; a field with any problem is reported and left out."""

    def field(self, name: Any, spec: Any, path: PathParts) -> FieldRule | None:
        before = len(self.problems)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            self.problems.add(path, f"invalid field name {name!r}", fix="name fields with letters, digits and underscores")
            return None
        spec = self.map_at(spec, path, "a map with `hubspot` and `dynamics`")
        if spec is None:
            return None

        self.check_keys(spec, path, FIELD_KEYS)
        hubspot = self.name(spec, "hubspot", path, "HubSpot property")
        columns = self.columns(spec, path)
        direction = self.choice(spec, "direction", path, Direction, Direction.BOTH)
        field_type = self.choice(spec, "type", path, FieldType, FieldType.STRING)
        transforms = self.transforms(spec, path, field_type)
        policy = self.policy(spec, path, direction)
        self.check_column_count(path, columns, field_type)
        entries, unmapped = self.value_map(spec, path, field_type, columns, direction)

        if len(self.problems) > before:
            return None
        return FieldRule(
            name=name, hubspot=hubspot, dynamics=columns, direction=direction, type=field_type,
            transforms=transforms, values=entries, unmapped=unmapped, policy=policy,
            line=self.problems.locate(path).line, locations=self.locations(path, columns),
        )

    def locations(self, path: PathParts, columns: tuple[str, ...]) -> dict[str, Location]:
        found = {"hubspot": self.problems.locate((*path, "hubspot"))}
        for index, column in enumerate(columns):
            found[f"dynamics:{column}"] = self.problems.locate((*path, "dynamics", index))
        return found

    def columns(self, spec: dict, path: PathParts) -> tuple[str, ...] | None:
        value = spec.get("dynamics", MISSING)
        if value is MISSING or isinstance(value, str):
            column = self.name(spec, "dynamics", path, "Dataverse column")
            return None if column is None else (column,)
        if not isinstance(value, list) or not value:
            self.problems.add((*path, "dynamics"), f"expected a column name or a list of columns, got {describe(value)}",
                              fix="write the Dataverse column's logical name")
            return None
        names = [self.name_value(item, (*path, "dynamics", index), "Dataverse column") for index, item in enumerate(value)]
        if None in names:
            return None
        if len(set(names)) < len(names):
            self.problems.add((*path, "dynamics"), "a column is listed twice", fix="list each column once")
            return None
        return tuple(names)

    def check_column_count(self, path: PathParts, columns: tuple[str, ...] | None, field_type: FieldType | None) -> None:
        if columns is None or len(columns) == 1 or field_type in (FieldType.ENUM, None):
            return
        self.problems.add((*path, "dynamics"), "a list of columns is only for enum fields",
                          fix="map one column, or set `type: enum` with a value map over these columns")

    def transforms(self, spec: dict, path: PathParts, field_type: FieldType | None) -> tuple[Transform, ...]:
        value = spec.get("transforms", MISSING)
        if value is MISSING:
            return ()
        if not isinstance(value, list):
            self.problems.add((*path, "transforms"), f"expected a list, got {describe(value)}", fix="write a list such as [trim, lowercase]")
            return ()
        names = [member.value for member in Transform]
        found: list[Transform] = []
        for index, item in enumerate(value):
            if isinstance(item, str) and item in names:
                found.append(Transform(item))
                continue
            self.problems.add((*path, "transforms", index), f"unknown transform {item!r}", fix=choice_fix(item, names))
        if found and field_type not in (FieldType.STRING, None):
            self.problems.add((*path, "transforms"), f"transforms apply to string fields only, and this field is {field_type}",
                              fix="remove `transforms`, or map the field as `type: string`")
        return tuple(found)

    def policy(self, spec: dict, path: PathParts, direction: Direction | None) -> Policy | None:
        policy = self.choice(spec, "policy", path, Policy, Policy.LATEST_WINS)
        if "policy" in spec and direction not in (Direction.BOTH, None):
            self.problems.add((*path, "policy"), f"a conflict policy applies to `both` fields only, and this field is {direction}",
                              fix="remove `policy`, or set `direction: both`")
        return policy

    def value_map(
        self, spec: dict, path: PathParts, field_type: FieldType | None,
        columns: tuple[str, ...] | None, direction: Direction | None,
    ) -> tuple[tuple[ValueEntry, ...], Unmapped]:
        if field_type is not FieldType.ENUM:
            for key in ("values", "unmapped"):
                if key in spec and field_type is not None:
                    self.problems.add((*path, key), f"`{key}` is only for enum fields, and this field is {field_type}",
                                      fix=f"add `type: enum`, or remove `{key}`")
            return (), Unmapped()
        entries = self.entries(spec, path, columns, direction)
        return entries, self.unmapped(spec, path, entries)

    def entries(
        self, spec: dict, path: PathParts, columns: tuple[str, ...] | None, direction: Direction | None,
    ) -> tuple[ValueEntry, ...]:
        value = spec.get("values", MISSING)
        if value is MISSING:
            self.problems.add(path, "an enum field needs a value map under `values`",
                              fix="add `values:` with entries such as {hubspot: closedwon, dynamics: {statecode: 1}}")
            return ()
        if not isinstance(value, list) or not value:
            self.problems.add((*path, "values"), f"expected a non-empty list of entries, got {describe(value)}",
                              fix="list entries such as {hubspot: closedwon, dynamics: {statecode: 1}}")
            return ()
        read = [self.entry(item, (*path, "values", index), columns, direction) for index, item in enumerate(value)]
        return tuple(entry for entry in read if entry is not None)

    def entry(self, item: Any, path: PathParts, columns: tuple[str, ...] | None, direction: Direction | None) -> ValueEntry | None:
        item = self.map_at(item, path, "a map with `hubspot` and `dynamics`")
        if item is None:
            return None
        before = len(self.problems)
        self.check_keys(item, path, ENTRY_KEYS)
        hubspot = self.hubspot_value(item.get("hubspot", MISSING), path)
        dynamics = self.dynamics_values(item.get("dynamics", MISSING), path, columns)
        entry_direction = self.entry_direction(item, path, direction)
        label = item.get("label")
        if label is not None and not isinstance(label, str):
            self.problems.add((*path, "label"), f"expected the label as text, got {describe(label)}", fix="quote the label")
        if len(self.problems) > before:
            return None
        return ValueEntry(hubspot=hubspot, dynamics=dynamics, direction=entry_direction,
                          label=None if label is None else str(label), line=self.problems.locate(path).line)

    def hubspot_value(self, value: Any, path: PathParts, key: str = "hubspot") -> str | None:
        """Read a HubSpot enum value under `key` of the node at `path`; numbers become text."""
        if value is MISSING:
            self.problems.add(path, "missing `hubspot`: the HubSpot internal value of this entry", fix="add `hubspot: <value>`")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(int(value))
        if isinstance(value, str) and value.strip():
            return str(value).strip()
        self.problems.add((*path, key), f"expected the HubSpot value as text, got {describe(value)}",
                          fix="write the internal value, quoted if it looks like a date or boolean")
        return None

    def dynamics_values(self, value: Any, path: PathParts, columns: tuple[str, ...] | None) -> dict[str, Any] | None:
        if value is MISSING:
            self.problems.add(path, "missing `dynamics`: the Dataverse values of this entry", fix="add `dynamics: {column: value}`")
            return None
        if columns is None:
            return None
        if not isinstance(value, dict):
            if len(columns) == 1 and _is_scalar(value):
                return {columns[0]: _plain(value)}
            self.problems.add((*path, "dynamics"), f"expected a map of column values, got {describe(value)}",
                              fix=f"write {{{columns[0]}: <value>}}")
            return None
        return self.column_values(value, (*path, "dynamics"), columns)

    def column_values(self, value: dict, path: PathParts, columns: tuple[str, ...]) -> dict[str, Any] | None:
        if not value:
            self.problems.add(path, "an entry needs at least one column value", fix=f"write {{{columns[0]}: <value>}}")
            return None
        found: dict[str, Any] = {}
        for column, item in value.items():
            if column not in columns:
                self.problems.add((*path, column), f"column {column!r} is not one of this field's columns ({', '.join(columns)})",
                                  fix=choice_fix(column, columns) if isinstance(column, str) else "use one of the field's columns")
            elif not _is_scalar(item):
                self.problems.add((*path, column), f"expected a number, text or boolean, got {describe(item)}",
                                  fix="write the choice's numeric value, such as 1")
            else:
                found[column] = _plain(item)
        return found if len(found) == len(value) else None

    def entry_direction(self, item: dict, path: PathParts, field_direction: Direction | None) -> Direction | None:
        direction = self.choice(item, "direction", path, Direction, Direction.BOTH)
        if direction in (None, Direction.BOTH) or field_direction in (None, Direction.BOTH, direction):
            return direction
        self.problems.add((*path, "direction"), f"this entry is {direction} but its field is {field_direction}, so it is never used",
                          fix=f"remove the entry's `direction`, or set it to {field_direction}")
        return None

    def unmapped(self, spec: dict, path: PathParts, entries: tuple[ValueEntry, ...]) -> Unmapped:
        value = spec.get("unmapped", MISSING)
        path = (*path, "unmapped")
        if value is MISSING:
            return Unmapped()
        if value in ("reject", "skip"):
            return Unmapped(UnmappedAction(value))
        if not isinstance(value, dict) or list(value) != ["default"]:
            self.problems.add(path, f"invalid unmapped rule {value!r}",
                              fix="use reject, skip, or {default: VALUE} with a HubSpot value from `values`")
            return Unmapped()
        default = self.hubspot_value(value["default"], path, key="default")
        known = [entry.hubspot for entry in entries]
        if default is not None and entries and default not in known:
            self.problems.add((*path, "default"), f"default {default!r} is not a HubSpot value in `values`",
                              fix=choice_fix(default, known))
        return Unmapped(UnmappedAction.DEFAULT, default)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not (isinstance(value, str) and not value.strip())


def _plain(value: Any) -> Any:
    """Turn ruamel's scalar subclasses into plain Python values."""
    for plain in (bool, int, float, str):
        if isinstance(value, plain):
            return plain(value)
    return value
