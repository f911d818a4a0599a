"""Fuzzing the loader: it raises nothing but ConfigError and accepts no invalid mapping."""

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.errors import ConfigError
from sync.mapping import FieldType, Mapping, Policy, parse_mapping
from sync.model import System
from sync.yamlfile import parse_yaml

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
DEFAULT_TEXT = (MAPPINGS / "default.yaml").read_text(encoding="utf-8")
SCOPED_TEXT = (MAPPINGS / "examples" / "scoped-sales.yaml").read_text(encoding="utf-8")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    "version", "timezone", "objects", "fields", "references", "hubspot", "dynamics", "direction",
    "type", "transforms", "values", "unmapped", "policy", "label", "default",
    "company", "contact", "deal", "email", "name", "stage", "statecode",
    "both", "to_dynamics", "to_hubspot", "string", "number", "date", "datetime", "boolean", "enum",
    "trim", "lowercase", "domain", "reject", "skip", "latest_wins", "UTC", "America/Los_Angeles",
    "create_only", "prefer_non_empty", "keep_first", "money", "owner", "phone", "title", "join", "template",
    "currency", "phone_region", "scope", "on_leave_scope", "field", "op", "value", "order", "eq", "in", "gte",
    "exists", "report", "archive", "US", "EUR", "{name}", "{a}", " ",
]
scalars = st.one_of(
    st.sampled_from(WORDS), st.text(max_size=8), st.integers(-3, 3), st.booleans(), st.none(), st.floats(allow_nan=False),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=40,
)


def load_or_reject(text: str) -> Mapping | None:
    """Return the mapping, or None when the loader rejected it with a ConfigError."""
    try:
        return parse_mapping(text, "fuzz.yaml")
    except ConfigError as error:
        assert error.problems, "a ConfigError must list at least one problem"
        return None


def assert_valid(mapping: Mapping, text: str) -> None:
    """Check an accepted mapping against the rules of the format, independently of the loader."""
    document = parse_yaml(text, "fuzz.yaml")
    assert set(document["objects"]) == {kind.value for kind in mapping.pairs}
    for kind, pair in mapping.pairs.items():
        assert [rule.name for rule in pair.fields] == list(document["objects"][kind.value]["fields"])
        for system in System:
            written = [name for rule in pair.fields if rule.flows_on_create(system) for name in rule.names_in(system)]
            assert len(written) == len(set(written))
        for rule in pair.fields:
            assert_valid_field(rule, {other.name for other in pair.fields})
            to_dynamics = [entry.hubspot for entry in rule.values if entry.flows_to(System.DYNAMICS)]
            assert len(to_dynamics) == len(set(to_dynamics))
        for ref in pair.references:
            assert ref.target in mapping.pairs
        for conditions in pair.scope.values():
            assert all(condition.field for condition in conditions)


def assert_valid_field(rule, names: set[str]) -> None:
    sides = [rule.names_in(system) for system in System]
    if rule.template is None:
        assert all(sides)
    else:
        assert rule.direction.source is not None
        assert not rule.names_in(rule.direction.source)
        assert set(rule.template_fields) <= names - {rule.name}
    assert (rule.type is FieldType.ENUM) == bool(rule.values)
    multi = [len(side) > 1 for side in sides]
    assert not any(multi) or rule.type is FieldType.ENUM or (rule.join and multi.count(True) == 1)
    assert rule.policy is Policy.LATEST_WINS or rule.direction == "both"
    assert rule.currency is None or rule.type is FieldType.MONEY


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    mapping = load_or_reject(text)
    if mapping is not None:
        assert_valid(mapping, text)


@FUZZ
@given(documents)
def test_random_documents(document):
    text = json.dumps(document)
    mapping = load_or_reject(text)
    if mapping is not None:
        assert_valid(mapping, text)


@FUZZ
@given(documents)
def test_random_field_specs(spec):
    """Random values where a field's spec goes, inside an otherwise valid file."""
    text = json.dumps({"version": 1, "objects": {"deal": {"fields": {"stage": spec}}}})
    mapping = load_or_reject(text)
    if mapping is not None:
        assert_valid(mapping, text)


@st.composite
def mutated_default(draw, source: str = DEFAULT_TEXT):
    lines = source.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "replace_char", "insert_char"]))
        line = lines[index]
        position = draw(st.integers(0, max(len(line) - 1, 0)))
        char = draw(st.sampled_from(list(" :-{}[],#x'\"0\n")))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "replace_char":
            lines[index] = line[:position] + char + line[position + 1:]
        else:
            lines[index] = line[:position] + char + line[position:]
        if not lines:
            break
    return "".join(lines)


@FUZZ
@given(mutated_default())
def test_mutated_default_text(text):
    mapping = load_or_reject(text)
    if mapping is not None:
        assert_valid(mapping, text)


@FUZZ
@given(mutated_default(SCOPED_TEXT))
def test_mutated_scoped_text(text):
    mapping = load_or_reject(text)
    if mapping is not None:
        assert_valid(mapping, text)


@FUZZ
@given(documents, st.sampled_from(["hubspot", "dynamics"]))
def test_random_scopes(condition, side):
    """Random values where a scope condition goes, inside an otherwise valid file."""
    text = json.dumps({"objects": {"contact": {"scope": {side: condition}, "fields": {"email": {"hubspot": "e", "dynamics": "e"}}}}})
    mapping = load_or_reject(text)
    if mapping is not None:
        assert_valid(mapping, text)


# --- structured mutations that must each be rejected ---

BASE = json.loads(json.dumps(parse_yaml(DEFAULT_TEXT, "default.yaml")))


def _fields(document, kind):
    return document["objects"][kind]["fields"]


def _drop_key(document, kind, name, key):
    del _fields(document, kind)[name][key]


def _set(document, kind, name, key, value):
    _fields(document, kind)[name][key] = value


BREAKERS = {
    "drop hubspot": lambda d, kind, name: _drop_key(d, kind, name, "hubspot"),
    "drop dynamics": lambda d, kind, name: _drop_key(d, kind, name, "dynamics"),
    "unknown key": lambda d, kind, name: _set(d, kind, name, "colour", "red"),
    "unknown type": lambda d, kind, name: _set(d, kind, name, "type", "text"),
    "unknown transform": lambda d, kind, name: _set(d, kind, name, "transforms", ["strip"]),
    "unknown direction": lambda d, kind, name: _set(d, kind, name, "direction", "sideways"),
    "enum without values": lambda d, kind, name: (_set(d, kind, name, "type", "enum"), _fields(d, kind)[name].pop("values", None)),
    "list of columns": lambda d, kind, name: _set(d, kind, name, "dynamics", ["a", "b"]) if "values" not in _fields(d, kind)[name] else _set(d, kind, name, "values", []),
    "duplicate target": lambda d, kind, name: _fields(d, kind).__setitem__("copy_of_" + name, copy.deepcopy(_fields(d, kind)[name])),
    "field not a map": lambda d, kind, name: _fields(d, kind).__setitem__(name, "email"),
    "bad name type": lambda d, kind, name: _set(d, kind, name, "hubspot", 7),
    "unknown policy": lambda d, kind, name: _set(d, kind, name, "policy", "newest_wins"),
    "policy on create_only": lambda d, kind, name: (_set(d, kind, name, "direction", "create_only"), _set(d, kind, name, "policy", "keep_first")),
    "join without list": lambda d, kind, name: _set(d, kind, name, "join", " "),
    "both-way template": lambda d, kind, name: _set(d, kind, name, "template", "{" + name + "}"),
    "currency on text": lambda d, kind, name: _set(d, kind, name, "currency", "usd"),
    "bad phone region": lambda d, kind, name: _set(d, kind, name, "phone_region", "ZZ"),
    "bad scope": lambda d, kind, name: d["objects"][kind].__setitem__("scope", {"hubspot": {"field": name, "op": "gte", "value": 1}}),
    "bad leave rule": lambda d, kind, name: d["objects"][kind].__setitem__("on_leave_scope", "delete"),
}


@FUZZ
@given(
    st.sampled_from(sorted(BREAKERS)),
    st.sampled_from(["company", "contact", "deal"]).flatmap(
        lambda kind: st.tuples(st.just(kind), st.sampled_from(sorted(BASE["objects"][kind]["fields"])))
    ),
)
def test_broken_default_rejected(breaker, target):
    document = copy.deepcopy(BASE)
    BREAKERS[breaker](document, *target)

    assert load_or_reject(json.dumps(document)) is None


def test_dangling_reference_rejected():
    document = copy.deepcopy(BASE)
    del document["objects"]["company"]

    assert load_or_reject(json.dumps(document)) is None


def test_base_document_accepted():
    """The structured mutations start from a document that loads."""
    text = json.dumps(BASE)

    assert load_or_reject(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "[" * 3000 + "]" * 3000,
        "a: &x [*x]\n",
        "objects: &o {company: *o}\n",
        "? [a]\n: b\n",
        "objects: {company: {fields: {? [a]: {hubspot: a, dynamics: b}}}}\n",
        "version: !!binary aGVsbG8=\n",
        "version: !foo 1\nobjects: !bar {}\n",
        "objects: {company: {fields: {name: {hubspot: 2024-01-01, dynamics: name}}}}\n",
        "objects: {deal: {fields: {s: {hubspot: s, dynamics: s, type: enum, values: [{hubspot: .nan, dynamics: .inf}]}}}}\n",
    ],
    ids=range(9),
)
def test_odd_yaml_rejected(text):
    assert load_or_reject(text) is None


def test_merge_key_fields_accepted():
    text = (
        "base: &base {hubspot: name, dynamics: name}\n"
    )
    merged = "objects:\n  company:\n    fields:\n      name: {<<: {hubspot: name, dynamics: name}}\n"

    assert load_or_reject(merged) is not None
    assert load_or_reject(text) is None
