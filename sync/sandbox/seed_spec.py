"""The seed spec: which CSV exports `crmsync sandbox seed` loads into the sandbox, and how.

A spec is a YAML file with a list of `sources`. Each source names one CSV file (relative
to the spec), the system and kind its rows become, the CSV column behind each field, maps
of CSV values to stored values, date and number formats, the key column with what to do
when a key repeats, and references to records of other sources. `load_seed_spec` checks
the whole file and raises one `ConfigError` that lists every problem with its line.
"""

from __future__ import annotations

import codecs
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.errors import ConfigError, Problem
from sync.model import System
from sync.sandbox.dataverse_schema import CUSTOM_COLUMN_NAME, CUSTOM_COLUMN_TYPES, LOOKUP_TYPES, TABLES
from sync.sandbox.hubspot_schema import PropertyType, default_properties
from sync.yamlfile import dotted, load_yaml, location_of

DEFAULT_ENCODING = "utf-8-sig"
DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_CURRENCY_SYMBOLS = ("$", "€", "£", "¥")
# HubSpot internal property names are lower case letters, digits and underscores.
HUBSPOT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Fields of a HubSpot owner as the owners API names them.
HUBSPOT_OWNER_FIELDS = ("email", "firstName", "lastName")
# Dataverse columns that the sandbox computes itself.
DATAVERSE_COMPUTED = frozenset({"createdon", "modifiedon", "fullname"})
SOURCE_KEYS = frozenset({
    "file", "system", "kind", "columns", "values", "formats", "key", "on_duplicate_key", "references",
    "encoding", "types",
})


class SeedKind(enum.StrEnum):
    """What the rows of a source become. Sources load in the order of this list."""

    USER = "user"
    COMPANY = "company"
    CONTACT = "contact"
    DEAL = "deal"

    @property
    def order(self) -> int:
        return list(SeedKind).index(self)


KIND_ALIASES = {"owner": SeedKind.USER}
HUBSPOT_OBJECT_TYPES = {SeedKind.CONTACT: "contacts", SeedKind.COMPANY: "companies", SeedKind.DEAL: "deals"}
DATAVERSE_ENTITY_SETS = {
    SeedKind.USER: "systemusers", SeedKind.CONTACT: "contacts", SeedKind.COMPANY: "accounts",
    SeedKind.DEAL: "opportunities",
}


class DuplicateKeys(enum.StrEnum):
    """What to do with rows whose key column repeats a value of an earlier or later row."""

    KEEP_ALL = "keep_all"
    KEEP_FIRST = "keep_first"
    KEEP_LAST = "keep_last"
    STOP = "stop"


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written: separators, and currency symbols or codes to strip."""

    thousands: str = ","
    decimal: str = "."
    currency: tuple[str, ...] = DEFAULT_CURRENCY_SYMBOLS


@dataclass(frozen=True)
class Reference:
    """A CSV column whose value names a record of `kind` by its `field`, in the same system."""

    column: str
    kind: SeedKind
    field: str


@dataclass(frozen=True)
class Source:
    """One CSV file of the spec, checked and ready to load."""

    file: Path
    system: System
    kind: SeedKind
    # CSV column -> the fields it fills (usually one).
    columns: dict[str, tuple[str, ...]]
    # field -> {CSV value: stored value}
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    date_format: str = DEFAULT_DATE_FORMAT
    number_format: NumberFormat = NumberFormat()
    key: str | None = None
    on_duplicate_key: DuplicateKeys = DuplicateKeys.KEEP_ALL
    references: tuple[Reference, ...] = ()
    encoding: str = DEFAULT_ENCODING
    # Types of custom HubSpot properties or Dataverse columns, which are text otherwise.
    types: dict[str, Any] = field(default_factory=dict)
    # Line of the source in the spec, for messages.
    line: int | None = None

    def columns_filled(self) -> list[str]:
        """The fields that the CSV columns fill, in order, without repeats."""
        return list(dict.fromkeys(name for names in self.columns.values() for name in names))

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def used_columns(self) -> list[str]:
        """Every CSV column the source reads, in spec order, without repeats."""
        names = [*self.columns, *(reference.column for reference in self.references)]
        if self.key:
            names.append(self.key)
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class SeedSpec:
    path: Path
    sources: tuple[Source, ...]

    def load_order(self) -> list[Source]:
        """Return the sources in the order they load: users, companies, contacts, deals.

        References point at earlier kinds only, so every target is loaded first.
        """
        return sorted(self.sources, key=lambda source: source.kind.order)


# References each (system, kind) may carry, by target kind.
ALLOWED_REFERENCES: dict[tuple[System, SeedKind], frozenset[SeedKind]] = {
    (System.HUBSPOT, SeedKind.COMPANY): frozenset({SeedKind.USER}),
    (System.HUBSPOT, SeedKind.CONTACT): frozenset({SeedKind.USER, SeedKind.COMPANY}),
    (System.HUBSPOT, SeedKind.DEAL): frozenset({SeedKind.USER, SeedKind.COMPANY, SeedKind.CONTACT}),
    (System.DYNAMICS, SeedKind.COMPANY): frozenset({SeedKind.USER}),
    (System.DYNAMICS, SeedKind.CONTACT): frozenset({SeedKind.USER, SeedKind.COMPANY}),
    (System.DYNAMICS, SeedKind.DEAL): frozenset({SeedKind.USER, SeedKind.COMPANY, SeedKind.CONTACT}),
}


def load_seed_spec(path: Path) -> SeedSpec:
    """Load and check a seed spec. Raises `ConfigError` with one problem per issue found."""
    document = load_yaml(path)
    checker = _Checker(document, path)
    sources = checker.spec()
    if checker.problems:
        raise ConfigError(checker.problems)
    return SeedSpec(path, tuple(sources))


def known_fields(system: System, kind: SeedKind) -> set[str] | None:
    """Return the fields a source may fill, or None when any valid HubSpot name is allowed."""
    if system is System.DYNAMICS:
        table = TABLES[DATAVERSE_ENTITY_SETS[kind]]
        return {
            name for name, column in table.columns.items()
            if column.type not in LOOKUP_TYPES and name not in DATAVERSE_COMPUTED
        }
    if kind is SeedKind.USER:
        return set(HUBSPOT_OWNER_FIELDS)
    return None


def hubspot_read_only(kind: SeedKind) -> set[str]:
    """Return the standard properties of the kind that HubSpot computes itself."""
    properties = default_properties()[HUBSPOT_OBJECT_TYPES[kind]]
    return {name for name, prop in properties.items() if prop.read_only}


class _Checker:
    """Walks the document, collects every problem, and builds the sources that are valid."""

    def __init__(self, document: Any, path: Path):
        self.document = document
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, location: tuple[str | int, ...], message: str, fix: str) -> None:
        line, _ = location_of(self.document, location)
        self.problems.append(Problem(message, file=self.path, line=line, field=dotted(location) or None, fix=fix))

    def spec(self) -> list[Source]:
        if not isinstance(self.document, Mapping):
            self.problem((), "the spec must be a YAML map with a `sources` list", "start the file with `sources:`")
            return []
        for name in self.document:
            if name != "sources":
                self.problem((name,), f"unknown key {name!r}", "remove it; the spec has only `sources`")
        sources = self.document.get("sources")
        if not isinstance(sources, list) or not sources:
            self.problem(("sources",), "`sources` must be a non-empty list", "list one entry per CSV file")
            return []
        built = [self.source(index, item) for index, item in enumerate(sources)]
        return [source for source in built if source is not None]

    def source(self, index: int, item: Any) -> Source | None:
        at = ("sources", index)
        if not isinstance(item, Mapping):
            self.problem(at, "each source must be a map", "give file, system, kind and columns")
            return None
        for name in item:
            if name not in SOURCE_KEYS:
                self.problem((*at, name), f"unknown key {name!r}", f"use one of {', '.join(sorted(SOURCE_KEYS))}")
        count = len(self.problems)
        file = self.file(at, item.get("file"))
        system = self.choice(at, item, "system", System, {})
        kind = self.choice(at, item, "kind", SeedKind, KIND_ALIASES)
        duplicates = self.choice(at, item, "on_duplicate_key", DuplicateKeys, {}, DuplicateKeys.KEEP_ALL)
        columns = self.columns(at, item.get("columns"), system, kind)
        values = self.values(at, item.get("values"), columns)
        date_format, number_format = self.formats(at, item.get("formats"))
        references = self.references(at, item.get("references"), system, kind)
        key = self.text(at, item, "key")
        encoding = self.encoding(at, item.get("encoding", DEFAULT_ENCODING))
        types = self.types(at, item.get("types"), system, kind, columns)
        if len(self.problems) > count or file is None or system is None or kind is None or columns is None:
            return None
        line, _ = location_of(self.document, at)
        return Source(file, system, kind, columns, values, date_format, number_format, key, duplicates,
                      references, encoding, types, line)

    def file(self, at: tuple[str | int, ...], value: Any) -> Path | None:
        if not isinstance(value, str) or not value.strip():
            self.problem((*at, "file"), "missing CSV file name", "set `file:` to the CSV path, relative to the spec")
            return None
        path = (self.path.parent / value.strip()).resolve()
        if not path.is_file():
            self.problem((*at, "file"), f"CSV file not found: {path}", "check the path; it is relative to the spec")
        return path

    def choice(self, at: tuple[str | int, ...], item: Mapping[str, Any], name: str, choices: type[enum.StrEnum],
               aliases: Mapping[str, Any], default: Any = None) -> Any:
        value = item.get(name)
        if value is None and default is not None:
            return default
        allowed = [str(choice) for choice in choices] + list(aliases)
        text = str(value).strip().lower() if value is not None else ""
        if text in aliases:
            return aliases[text]
        if text not in [str(choice) for choice in choices]:
            wrong = "missing" if value is None else f"invalid value {value!r}"
            self.problem((*at, name), f"{wrong} for `{name}`", f"use one of {', '.join(allowed)}")
            return None
        return choices(text)

    def text(self, at: tuple[str | int, ...], item: Mapping[str, Any], name: str) -> str | None:
        value = item.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem((*at, name), f"`{name}` must be a CSV column name", "write the column header as in the CSV")
            return None
        return value.strip()

    def encoding(self, at: tuple[str | int, ...], value: Any) -> str:
        try:
            codecs.lookup(str(value))
        except LookupError:
            self.problem((*at, "encoding"), f"unknown encoding {value!r}",
                         "use a Python codec name such as utf-8-sig or cp1252")
            return DEFAULT_ENCODING
        return str(value)

    def columns(self, at: tuple[str | int, ...], value: Any, system: System | None,
                kind: SeedKind | None) -> dict[str, tuple[str, ...]] | None:
        where = (*at, "columns")
        if not isinstance(value, Mapping) or not value:
            self.problem(where, "`columns` must map CSV columns to fields", "add `columns:` with `CSV column: field`")
            return None
        columns: dict[str, tuple[str, ...]] = {}
        for column, target in value.items():
            targets = target if isinstance(target, list) else [target]
            if not targets or not all(isinstance(name, str) and name.strip() for name in targets):
                self.problem((*where, column), "the field must be a name or a list of names", "write the field name")
                continue
            columns[str(column).strip()] = tuple(name.strip() for name in targets)
            for name in targets:
                self.field_name((*where, column), name.strip(), system, kind)
        return columns

    def field_name(self, where: tuple[str | int, ...], name: str, system: System | None, kind: SeedKind | None) -> None:
        if system is None or kind is None:
            return
        allowed = known_fields(system, kind)
        if allowed is None:
            self.hubspot_property(where, name, kind)
            return
        if name in allowed:
            return
        if system is System.DYNAMICS and name in TABLES[DATAVERSE_ENTITY_SETS[kind]].columns:
            self.problem(where, f"column {name!r} is a lookup or computed by Dataverse",
                         "fill lookups through `references`, and leave computed columns out")
            return
        if system is System.DYNAMICS and CUSTOM_COLUMN_NAME.match(name):
            return  # a custom column, created by the seed with its type from `types`
        fix = f"use one of {', '.join(sorted(allowed))}"
        if system is System.DYNAMICS:
            fix += ", or a custom column with a publisher prefix, such as new_region"
        self.problem(where, f"{system.label} {kind} has no field {name!r}", fix)

    def hubspot_property(self, where: tuple[str | int, ...], name: str, kind: SeedKind) -> None:
        if not HUBSPOT_NAME.match(name):
            self.problem(where, f"{name!r} is not a valid HubSpot property name",
                         "use lower-case letters, digits and underscores, starting with a letter")
        elif name in hubspot_read_only(kind):
            self.problem(where, f"HubSpot computes {name!r} itself", "map the column to another property")

    def values(self, at: tuple[str | int, ...], value: Any,
               columns: dict[str, tuple[str, ...]] | None) -> dict[str, dict[str, Any]]:
        where = (*at, "values")
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(where, "`values` must map fields to {CSV value: stored value}", "indent one map per field")
            return {}
        mapped = {name for targets in (columns or {}).values() for name in targets}
        values: dict[str, dict[str, Any]] = {}
        for name, table in value.items():
            if not isinstance(table, Mapping) or not table:
                self.problem((*where, name), "each field needs a map of CSV value to stored value",
                             "write `CSV value: stored value` lines")
                continue
            if columns is not None and name not in mapped:
                self.problem((*where, name), f"no column fills the field {name!r}",
                             "add it under `columns`, or remove this map")
                continue
            values[str(name)] = {str(key).strip(): stored for key, stored in table.items()}
        return values

    def formats(self, at: tuple[str | int, ...], value: Any) -> tuple[str, NumberFormat]:
        where = (*at, "formats")
        if value is None:
            return DEFAULT_DATE_FORMAT, NumberFormat()
        if not isinstance(value, Mapping):
            self.problem(where, "`formats` must be a map with `date` and `number`", "see docs/seeding.md")
            return DEFAULT_DATE_FORMAT, NumberFormat()
        for name in value:
            if name not in ("date", "number"):
                self.problem((*where, name), f"unknown format {name!r}", "use `date` or `number`")
        date_format = value.get("date", DEFAULT_DATE_FORMAT)
        if not isinstance(date_format, str) or "%" not in date_format:
            self.problem((*where, "date"), f"invalid date format {date_format!r}",
                         "write a strptime format such as %m/%d/%Y")
            date_format = DEFAULT_DATE_FORMAT
        return date_format, self.number_format((*where, "number"), value.get("number"))

    def number_format(self, where: tuple[str | int, ...], value: Any) -> NumberFormat:
        if value is None:
            return NumberFormat()
        if not isinstance(value, Mapping):
            self.problem(where, "`number` must be a map of thousands, decimal and currency", "see docs/seeding.md")
            return NumberFormat()
        thousands = str(value.get("thousands", ",") or "")
        decimal = str(value.get("decimal", "."))
        currency = value.get("currency", list(DEFAULT_CURRENCY_SYMBOLS))
        if decimal not in (".", ",") or thousands == decimal:
            self.problem(where, f"invalid separators: thousands {thousands!r}, decimal {decimal!r}",
                         "use decimal `.` or `,`, and a different thousands separator (or an empty one)")
        if not isinstance(currency, list) or not all(isinstance(symbol, str) and symbol for symbol in currency):
            self.problem((*where, "currency"), "`currency` must be a list of symbols or codes",
                         'write e.g. ["$", "USD"]')
            currency = list(DEFAULT_CURRENCY_SYMBOLS)
        return NumberFormat(thousands, decimal, tuple(currency))

    def references(self, at: tuple[str | int, ...], value: Any, system: System | None,
                   kind: SeedKind | None) -> tuple[Reference, ...]:
        where = (*at, "references")
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.problem(where, "`references` must map CSV columns to {kind, field}", "see docs/seeding.md")
            return ()
        references = []
        for column, target in value.items():
            reference = self.reference((*where, column), str(column).strip(), target, system, kind)
            if reference is not None:
                references.append(reference)
        return tuple(references)

    def reference(self, where: tuple[str | int, ...], column: str, target: Any, system: System | None,
                  kind: SeedKind | None) -> Reference | None:
        if not isinstance(target, Mapping) or not isinstance(target.get("field"), str):
            self.problem(where, "a reference needs `kind` and `field`", "write e.g. {kind: company, field: name}")
            return None
        target_kind = self.choice(where, target, "kind", SeedKind, KIND_ALIASES)
        if target_kind is None or system is None or kind is None:
            return None
        allowed = ALLOWED_REFERENCES.get((system, kind), frozenset())
        if target_kind not in allowed:
            names = ", ".join(sorted(allowed)) or "nothing"
            self.problem((*where, "kind"), f"a {system.label} {kind} cannot refer to a {target_kind}",
                         f"a {kind} may refer to: {names}")
            return None
        return Reference(column, target_kind, target["field"].strip())

    def _dynamics_types(self, where: tuple[str | int, ...], value: Mapping[str, Any],
                        columns: dict[str, tuple[str, ...]] | None) -> dict[str, Any]:
        mapped = {name for targets in (columns or {}).values() for name in targets}
        types: dict[str, Any] = {}
        for name, type_name in value.items():
            if not CUSTOM_COLUMN_NAME.match(str(name)):
                self.problem((*where, name), f"{name!r} is not a custom column name",
                             "custom Dataverse columns carry a publisher prefix, such as new_region")
            elif name not in mapped:
                self.problem((*where, name), f"no column fills the custom column {name!r}", "add it under `columns`")
            elif str(type_name) not in CUSTOM_COLUMN_TYPES:
                self.problem((*where, name), f"invalid type {type_name!r}",
                             f"use one of {', '.join(CUSTOM_COLUMN_TYPES)}")
            else:
                types[str(name)] = str(type_name)
        return types

    def types(self, at: tuple[str | int, ...], value: Any, system: System | None, kind: SeedKind | None,
              columns: dict[str, tuple[str, ...]] | None) -> dict[str, PropertyType]:
        where = (*at, "types")
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(where, "`types` is a map of custom property or column -> type", "write it as name: type")
            return {}
        if system is System.DYNAMICS:
            return self._dynamics_types(where, value, columns)
        mapped = {name for targets in (columns or {}).values() for name in targets}
        standard = set(default_properties()[HUBSPOT_OBJECT_TYPES[kind]]) if kind in HUBSPOT_OBJECT_TYPES else set()
        types: dict[str, PropertyType] = {}
        for name, type_name in value.items():
            if name in standard:
                self.problem((*where, name), f"{name!r} is a standard HubSpot property with its own type",
                             "list only custom properties under `types`")
            elif name not in mapped:
                self.problem((*where, name), f"no column fills the property {name!r}", "add it under `columns`")
            elif str(type_name) not in {"string", "number", "date", "datetime", "bool"}:
                self.problem((*where, name), f"invalid type {type_name!r}",
                             "use string, number, date, datetime or bool")
            else:
                types[str(name)] = PropertyType(str(type_name))
        return types
