"""Reading one field of a mapping file: names, direction, type, transforms and value map."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Sequence
from typing import Any

from sync.mapping.problems import choice_fix, close_match
from sync.mapping.reading import MISSING, NAME_PATTERN, Reader, describe
from sync.mapping.schema import FieldRule, Location, Unmapped, ValueEntry
from sync.mapping.template import TemplateSyntaxError, placeholders
from sync.mapping.terms import Direction, FieldType, Policy, UnmappedAction
from sync.mapping.transforms import Transform, is_region
from sync.model import System
from sync.yamlfile import plain

FIELD_KEYS = (
    "hubspot", "dynamics", "direction", "type", "transforms", "values", "unmapped", "policy",
    "join", "template", "timezone", "phone_region", "currency",
)
ENTRY_KEYS = ("hubspot", "dynamics", "direction", "label")
PathParts = Sequence[str | int]
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_KEYS = {System.HUBSPOT: ("hubspot", "HubSpot property"), System.DYNAMICS: ("dynamics", "Dataverse column")}


class FieldReader(Reader):
    """Builds `FieldRule`s; a field with any problem is reported and left out.

    `phone_region` is the mapping's default region for the `phone` transform.
    """

    phone_region: str | None = None

    def field(self, name: Any, spec: Any, path: PathParts) -> FieldRule | None:
        before = len(self.problems)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            self.problems.add(path, f"invalid field name {name!r}", fix="name fields with letters, digits and underscores")
            return None
        spec = self.map_at(spec, path, "a map with `hubspot` and `dynamics`")
        if spec is None:
            return None

        self.check_keys(spec, path, FIELD_KEYS)
        direction = self.choice(spec, "direction", path, Direction, Direction.BOTH)
        field_type = self.choice(spec, "type", path, FieldType, FieldType.STRING)
        template = self.template(spec, path, direction, field_type)
        hubspot = self.side_names(spec, path, System.HUBSPOT, direction)
        columns = self.side_names(spec, path, System.DYNAMICS, direction)
        join = self.join(spec, path, field_type, hubspot, columns)
        transforms = self.transforms(spec, path, field_type)
        policy = self.policy(spec, path, direction, join)
        options = self.options(spec, path, field_type)
        self.check_column_count(path, columns, field_type, join)
        entries, unmapped = self.value_map(spec, path, field_type, columns, direction)

        if len(self.problems) > before:
            return None
        return FieldRule(
            name=name, hubspot=hubspot[0] if hubspot else "", dynamics=columns, direction=direction, type=field_type,
            transforms=transforms, values=entries, unmapped=unmapped, policy=policy,
            line=self.problems.locate(path).line, locations=self.locations(path, hubspot, columns),
            hubspot_parts=hubspot if len(hubspot) > 1 else (), join=join,
            template=None if template is None else template[0], template_fields=() if template is None else template[1],
            **options,
        )

    def locations(self, path: PathParts, hubspot: tuple[str, ...], columns: tuple[str, ...]) -> dict[str, Location]:
        found = {"hubspot": self.problems.locate((*path, "hubspot"))}
        if len(hubspot) > 1:
            for index, name in enumerate(hubspot):
                found[f"hubspot:{name}"] = self.problems.locate((*path, "hubspot", index))
        for index, column in enumerate(columns):
            found[f"dynamics:{column}"] = self.problems.locate((*path, "dynamics", index))
        return found

    def side_names(self, spec: dict, path: PathParts, system: System, direction: Direction | None) -> tuple[str, ...] | None:
        """Read the property or columns of one side; a template's source side has none."""
        key, expected = _KEYS[system]
        value = spec.get(key, MISSING)
        if "template" in spec and direction is not None and direction.source is system:
            if value is not MISSING:
                self.problems.add((*path, key), f"a template field is rendered from other fields, so it reads no {expected}",
                                  fix=f"remove `{key}`; the template supplies the value written to {system.other.label}")
                return None
            return ()
        if "template" in spec and value is MISSING and direction is not None and direction.source is None:
            return ()  # The template check reports the direction; a second problem would only repeat it.
        if value is MISSING or not isinstance(value, list | dict):
            name = self.name(spec, key, path, expected)
            return None if name is None else (name,)
        if not isinstance(value, list) or not value:
            self.problems.add((*path, key), f"expected a {expected} name or a list of them, got {describe(value)}",
                              fix=f"write the {expected}'s internal name")
            return None
        names = [self.name_value(item, (*path, key, index), expected) for index, item in enumerate(value)]
        if None in names:
            return None
        if len(set(names)) < len(names):
            self.problems.add((*path, key), f"a {expected} is listed twice", fix=f"list each {expected} once")
            return None
        return tuple(names)

    def check_column_count(
        self, path: PathParts, columns: tuple[str, ...] | None, field_type: FieldType | None, join: str | None,
    ) -> None:
        if columns is None or len(columns) <= 1 or field_type in (FieldType.ENUM, None) or join is not None:
            return
        self.problems.add((*path, "dynamics"), "a list of columns is only for enum fields and joined text",
                          fix="map one column, set `type: enum` with a value map over these columns, "
                              "or add `join: \" \"` to join them into one text")

    def join(
        self, spec: dict, path: PathParts, field_type: FieldType | None,
        hubspot: tuple[str, ...] | None, columns: tuple[str, ...] | None,
    ) -> str | None:
        """Read the separator of a text joined from several properties or columns."""
        value = spec.get("join", MISSING)
        if isinstance(hubspot, tuple) and len(hubspot) > 1 and value is MISSING:
            self.problems.add((*path, "hubspot"), "a list of HubSpot properties is only for joined text",
                              fix="map one property, or add `join: \" \"` to join them into one text")
            return None
        if value is MISSING:
            return None
        if not isinstance(value, str) or not value:
            self.problems.add((*path, "join"), f"expected the separator as non-empty text, got {describe(value)}",
                              fix='write `join: " "`')
            return None
        if field_type not in (FieldType.STRING, None):
            self.problems.add((*path, "join"), f"`join` is only for string fields, and this field is {field_type}",
                              fix="remove `join`, or set `type: string`")
            return None
        many = [len(names) > 1 for names in (hubspot, columns) if names is not None]
        if many.count(True) != 1:
            self.problems.add((*path, "join"), "`join` needs a list of names on exactly one side and one name on the other",
                              fix="write `hubspot: [firstname, lastname]` with `dynamics: fullname`, or the reverse")
            return None
        return str(value)

    def template(
        self, spec: dict, path: PathParts, direction: Direction | None, field_type: FieldType | None,
    ) -> tuple[str, tuple[str, ...]] | None:
        """Read a template and the field names it uses; the pair-level checks follow later."""
        value = spec.get("template", MISSING)
        if value is MISSING:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.add((*path, "template"), f"expected the template as text, got {describe(value)}",
                              fix='write a template such as "{first_name} {last_name}"')
            return None
        try:
            names = placeholders(value)
        except TemplateSyntaxError as error:
            self.problems.add((*path, "template"), f"invalid template {str(value)!r}: {error}", fix="correct the braces")
            return None
        if not names:
            self.problems.add((*path, "template"), "the template uses no field", fix="name a field in braces, such as {first_name}")
            return None
        if direction is not None and direction.source is None:
            self.problems.add((*path, "direction"), f"a template field must flow one way, and this field is {direction}",
                              fix="set `direction: to_dynamics` or `direction: to_hubspot`")
            return None
        if field_type not in (FieldType.STRING, None):
            self.problems.add((*path, "template"), f"templates render text, and this field is {field_type}",
                              fix="remove `type`, or remove `template`")
            return None
        return str(value), names

    def options(self, spec: dict, path: PathParts, field_type: FieldType | None) -> dict[str, Any]:
        """Read `timezone`, `phone_region` and `currency`, which override the mapping's settings."""
        found: dict[str, Any] = {"phone_region": self.phone_region}
        zone = self.field_timezone(spec, path, field_type)
        if zone is not None:
            found["timezone"] = zone
        region = self.region(spec, path)
        if region is not None:
            found["phone_region"] = region
        currency = spec.get("currency", MISSING)
        if currency is MISSING:
            return found
        if field_type not in (FieldType.MONEY, None):
            self.problems.add((*path, "currency"), f"`currency` is only for money fields, and this field is {field_type}",
                              fix="set `type: money`, or remove `currency`")
        elif not isinstance(currency, str) or not _CURRENCY.match(currency):
            self.problems.add((*path, "currency"), f"invalid currency {currency!r}", fix="write an ISO 4217 code such as USD or EUR")
        else:
            found["currency"] = str(currency)
        return found

    def field_timezone(self, spec: dict, path: PathParts, field_type: FieldType | None) -> zoneinfo.ZoneInfo | None:
        if "timezone" not in spec:
            return None
        if field_type not in (FieldType.DATE, FieldType.DATETIME, None):
            self.problems.add((*path, "timezone"), f"`timezone` is only for date and datetime fields, and this field is {field_type}",
                              fix="remove `timezone`")
            return None
        return self.zone_at(spec["timezone"], (*path, "timezone"))

    def zone_at(self, name: Any, path: PathParts) -> zoneinfo.ZoneInfo | None:
        """Read an IANA timezone name, with a close match when it is misspelt."""
        if not isinstance(name, str):
            self.problems.add(path, f"expected an IANA timezone name, got {describe(name)}", fix="write a name such as UTC or Europe/Paris")
            return None
        try:
            return zoneinfo.ZoneInfo(name)
        except (KeyError, ValueError, OSError):
            match = close_match(name, zoneinfo.available_timezones())
            fix = f"did you mean `{match}`?" if match else "use an IANA name such as UTC, Europe/Paris or America/Los_Angeles"
            self.problems.add(path, f"unknown timezone {name!r}", fix=fix)
            return None

    def region(self, node: dict, path: PathParts) -> str | None:
        """Read an optional `phone_region`: an ISO 3166 country code such as US."""
        value = node.get("phone_region", MISSING)
        if value is MISSING:
            return None
        if isinstance(value, str) and is_region(value):
            return str(value)
        self.problems.add((*path, "phone_region"), f"unknown phone region {value!r}",
                          fix="write a two-letter country code in capitals, such as US, GB or DE")
        return None

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

    def policy(self, spec: dict, path: PathParts, direction: Direction | None, join: str | None) -> Policy | None:
        policy = self.choice(spec, "policy", path, Policy, Policy.LATEST_WINS)
        if "policy" in spec and direction not in (Direction.BOTH, None):
            self.problems.add((*path, "policy"), f"a conflict policy applies to `both` fields only, and this field is {direction}",
                              fix="remove `policy`, or set `direction: both`")
        if "policy" not in spec and direction is Direction.BOTH and join is not None:
            # Each part has its own change time, so latest_wins has no single time to compare.
            self.problems.add(path, "a joined `both` field needs an explicit `policy`, because its parts change separately",
                              fix="add `policy: hubspot_wins`, `dynamics_wins`, `prefer_non_empty` or `keep_first`")
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
                return {columns[0]: plain(value)}
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
                found[column] = plain(item)
        return found if len(found) == len(value) else None

    def entry_direction(self, item: dict, path: PathParts, field_direction: Direction | None) -> Direction | None:
        direction = self.choice(item, "direction", path, Direction, Direction.BOTH)
        if direction in (None, Direction.BOTH) or field_direction in (None, Direction.BOTH, Direction.CREATE_ONLY, direction):
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
