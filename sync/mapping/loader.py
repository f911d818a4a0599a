"""Loading a mapping file: YAML with line numbers in, a frozen `Mapping` out.

Every problem in the file is collected before anything is raised, so an admin gets them
all at once in one `ConfigError`, each with file, line, column, field and fix.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sync.errors import ConfigError, Problem
from sync.mapping.checks import check_pairs
from sync.mapping.field_loader import FieldReader
from sync.mapping.problems import ProblemList, choice_fix
from sync.mapping.reading import MISSING
from sync.mapping.schema import Mapping, ObjectPair, ReferenceRule
from sync.mapping.scope_loader import ScopeReader
from sync.mapping.terms import DeletePolicy, Direction, LeaveScope
from sync.model import Kind
from sync.yamlfile import load_yaml, parse_yaml

TOP_KEYS = ("version", "timezone", "phone_region", "objects")
OBJECT_KEYS = ("fields", "references", "scope", "on_leave_scope", "on_delete")
REFERENCE_KEYS = ("direction",)
SUPPORTED_VERSION = 1
# The references crmsync can sync, by the kind that holds them.
REFERENCE_TARGETS: dict[Kind, tuple[Kind, ...]] = {
    Kind.COMPANY: (),
    Kind.CONTACT: (Kind.COMPANY,),
    Kind.DEAL: (Kind.COMPANY, Kind.CONTACT),
}
# The names that each CRM uses for a kind, so that a familiar word gets a precise fix.
KIND_ALIASES: dict[str, Kind] = {
    "companies": Kind.COMPANY, "account": Kind.COMPANY, "accounts": Kind.COMPANY,
    "contacts": Kind.CONTACT,
    "deals": Kind.DEAL, "opportunity": Kind.DEAL, "opportunities": Kind.DEAL,
}
_EMPTY_FIX = "start with `version: 1` and an `objects:` section, as in mappings/default.yaml"


def load_mapping(path: Path) -> Mapping:
    """Load and validate the mapping file at `path`; raise `ConfigError` listing every problem."""
    try:
        document = load_yaml(path)
    except RecursionError:
        raise ConfigError(Problem("the YAML is nested too deeply to read", file=path, fix="flatten the file")) from None
    return build_mapping(document, path)


def parse_mapping(text: str, source: Path | str = "<mapping>") -> Mapping:
    """Validate mapping text as if it were read from `source`; used by tests and rehearsals."""
    try:
        document = parse_yaml(text, source)
    except RecursionError:
        raise ConfigError(Problem("the YAML is nested too deeply to read", file=source, fix="flatten the file")) from None
    return build_mapping(document, source)


def build_mapping(document: Any, source: Path | str) -> Mapping:
    """Turn a parsed YAML document into a frozen `Mapping`; raise `ConfigError` on any problem."""
    if document is None:
        raise ConfigError(Problem("the mapping file is empty", file=source, fix=_EMPTY_FIX))
    problems = ProblemList(document, source)
    reader = ObjectReader(problems)
    if reader.map_at(document, (), "a map with `version`, `timezone` and `objects`") is None:
        raise ConfigError(problems.items)

    reader.check_keys(document, (), TOP_KEYS)
    version = reader.version(document)
    zone = reader.timezone(document)
    reader.phone_region = reader.region(document, ())
    pairs = reader.objects(document, zone or zoneinfo.ZoneInfo("UTC"))
    check_pairs(pairs, problems)

    if problems.items:
        raise ConfigError(problems.items)
    return Mapping(source=Path(source), pairs=pairs, timezone=zone, version=version, phone_region=reader.phone_region)


class ObjectReader(ScopeReader, FieldReader):
    """Reads the top level, the kinds and their references."""

    def version(self, document: dict) -> int:
        value = document.get("version", SUPPORTED_VERSION)
        if isinstance(value, int) and not isinstance(value, bool) and value == SUPPORTED_VERSION:
            return SUPPORTED_VERSION
        self.problems.add(("version",), f"unsupported mapping version {value!r}; this crmsync reads version {SUPPORTED_VERSION}",
                          fix=f"set `version: {SUPPORTED_VERSION}`")
        return SUPPORTED_VERSION

    def timezone(self, document: dict) -> zoneinfo.ZoneInfo | None:
        return self.zone_at(document.get("timezone", "UTC"), ("timezone",))

    def objects(self, document: dict, zone: zoneinfo.ZoneInfo) -> dict[Kind, ObjectPair]:
        value = document.get("objects", MISSING)
        if value is MISSING:
            self.problems.add((), "missing `objects`: the kinds this mapping syncs", fix=_EMPTY_FIX)
            return {}
        if self.map_at(value, ("objects",), "a map of kinds (company, contact, deal)") is None:
            return {}
        if not value:
            self.problems.add(("objects",), "no kinds are mapped", fix="map at least one of company, contact, deal")
        pairs: dict[Kind, ObjectPair] = {}
        for key, spec in value.items():
            kind = self.kind(key, ("objects", key))
            pair = None if kind is None else self.pair(kind, spec, ("objects", key), zone)
            if pair is not None:
                pairs[kind] = pair
        return {kind: pairs[kind] for kind in Kind if kind in pairs}

    def kind(self, key: Any, path: Sequence[str | int]) -> Kind | None:
        names = [kind.value for kind in Kind]
        if isinstance(key, str) and key in names:
            return Kind(key)
        alias = KIND_ALIASES.get(key) if isinstance(key, str) else None
        fix = f"use `{alias}`; crmsync names kinds the same for both CRMs" if alias else choice_fix(key, names)
        self.problems.add(path, f"unknown kind {key!r}", fix=fix)
        return None

    def pair(self, kind: Kind, spec: Any, path: Sequence[str | int], zone: zoneinfo.ZoneInfo) -> ObjectPair | None:
        spec = self.map_at(spec, path, "a map with `fields` and optional `references`")
        if spec is None:
            return None
        self.check_keys(spec, path, OBJECT_KEYS)
        fields = spec.get("fields", MISSING)
        if fields is MISSING or (isinstance(fields, dict) and not fields):
            self.problems.add(path, f"no fields are mapped for {kind}", fix="add `fields:` with at least one field")
            return None
        if self.map_at(fields, (*path, "fields"), "a map of field names to their mapping") is None:
            return None
        rules = [self.field(name, field_spec, (*path, "fields", name)) for name, field_spec in fields.items()]
        references = self.references(kind, spec.get("references", MISSING), (*path, "references"))
        scope = self.scope(spec.get("scope", MISSING), (*path, "scope"))
        leave = self.choice(spec, "on_leave_scope", path, LeaveScope, LeaveScope.IGNORE)
        on_delete = self.choice(spec, "on_delete", path, DeletePolicy, DeletePolicy.REPORT)
        return ObjectPair(
            kind=kind, fields=tuple(rule for rule in rules if rule is not None),
            references=references, timezone=zone, scope=scope, on_leave_scope=leave or LeaveScope.IGNORE,
            on_delete=on_delete or DeletePolicy.REPORT,
        )

    def references(self, kind: Kind, value: Any, path: Sequence[str | int]) -> tuple[ReferenceRule, ...]:
        if value is MISSING or value is None:
            return ()
        if self.map_at(value, path, "a map of referenced kinds, such as company: {direction: both}") is None:
            return ()
        rules = [self.reference(kind, target, spec, (*path, target)) for target, spec in value.items()]
        return tuple(rule for rule in rules if rule is not None)

    def reference(self, kind: Kind, key: Any, spec: Any, path: Sequence[str | int]) -> ReferenceRule | None:
        target = self.kind(key, path)
        if target is None:
            return None
        allowed = REFERENCE_TARGETS[kind]
        if target not in allowed:
            can = ", ".join(allowed) or "nothing"
            self.problems.add(path, f"a {kind} cannot refer to a {target}; crmsync syncs {kind} references to: {can}",
                              fix="remove this reference")
            return None
        if spec is None:
            return ReferenceRule(target=target, line=self.problems.locate(path).line)
        if self.map_at(spec, path, "a map such as {direction: both}") is None:
            return None
        self.check_keys(spec, path, REFERENCE_KEYS)
        direction = self.choice(spec, "direction", path, Direction, Direction.BOTH)
        if direction is None or any(key not in REFERENCE_KEYS for key in spec):
            return None
        return ReferenceRule(target=target, direction=direction, line=self.problems.locate(path).line)
