"""check_live against CRM metadata shapes, and the plan and diff renderings."""

from pathlib import Path

import pytest

from sync.mapping import load_mapping, parse_mapping
from sync.mapping.live import check_live
from sync.mapping.plan import diff_plan, render_plan
from sync.model import DATAVERSE_TABLES, HUBSPOT_OBJECTS, Kind
from sync.sandbox.dataverse_render import attributes_metadata
from sync.sandbox.dataverse_schema import TABLES_BY_LOGICAL_NAME
from sync.sandbox.hubspot_schema import default_properties

DEFAULT = Path(__file__).resolve().parents[2] / "mappings" / "default.yaml"


def sandbox_metadata():
    properties = default_properties()
    hubspot = {kind: [item.to_json(HUBSPOT_OBJECTS[kind]) for item in properties[HUBSPOT_OBJECTS[kind]].values()] for kind in Kind}
    dynamics = {kind: attributes_metadata(TABLES_BY_LOGICAL_NAME[DATAVERSE_TABLES[kind]]) for kind in Kind}
    return hubspot, dynamics


def prop(name, type_="string", read_only=False, options=()):
    return {"name": name, "type": type_, "options": [{"value": value} for value in options],
            "modificationMetadata": {"readOnlyValue": read_only}}


def attribute(name, type_="String", create=True, update=True, options=None):
    item = {"LogicalName": name, "AttributeType": type_, "IsValidForCreate": create, "IsValidForUpdate": update}
    if options is not None:
        item["OptionSet"] = {"Options": [{"Value": value} for value in options]}
    return item


def contact(fields: str) -> str:
    return "version: 1\nobjects:\n  contact:\n    fields:\n" + fields


def live(text, hubspot, dynamics):
    return check_live(parse_mapping(text, "m.yaml"), {Kind.CONTACT: hubspot}, {Kind.CONTACT: dynamics})


# --- check_live ---


def test_default_mapping_fits_sandbox():
    hubspot, dynamics = sandbox_metadata()

    assert check_live(load_mapping(DEFAULT), hubspot, dynamics) == []


def test_missing_property_suggests():
    problems = live(contact("      email: {hubspot: emial, dynamics: e}\n"), [prop("email")], [attribute("e")])

    assert len(problems) == 1
    assert problems[0].fix == "did you mean `email`?"
    assert problems[0].line == 5


def test_type_mismatch():
    problems = live(contact("      n: {hubspot: n, dynamics: n, type: number}\n"), [prop("n", "number")], [attribute("n", "String")])

    assert len(problems) == 1
    assert "is of type String" in problems[0].message


def test_read_only_updated():
    problems = live(contact("      n: {hubspot: n, dynamics: n}\n"), [prop("n", read_only=True)], [attribute("n")])

    assert len(problems) == 1
    assert "read-only" in problems[0].message
    assert problems[0].fix == "set `direction: to_dynamics`, so that it is only read from HubSpot"


def test_read_only_one_way_accepted():
    problems = live(contact("      n: {hubspot: n, dynamics: n, direction: to_dynamics}\n"), [prop("n", read_only=True)], [attribute("n")])

    assert problems == []


def test_not_creatable_create_only():
    problems = live(contact("      n: {hubspot: n, dynamics: n, direction: create_only}\n"),
                    [prop("n")], [attribute("n", create=False)])

    assert len(problems) == 1
    assert "cannot be set on create" in problems[0].message


LEVEL = ("      level:\n        hubspot: level\n        dynamics: levelcode\n        type: enum\n"
         "        values:\n          - {hubspot: hot, dynamics: 1}\n          - {hubspot: warm, dynamics: 2}\n")


def test_picklist_option_unmapped():
    problems = live(contact(LEVEL), [prop("level", "enumeration", options=["hot", "warm"])],
                    [attribute("levelcode", "Picklist", options=[1, 2, 3])])

    assert len(problems) == 1
    assert "not in the value map: 3" in problems[0].message


def test_hubspot_option_unmapped():
    problems = live(contact(LEVEL), [prop("level", "enumeration", options=["hot", "warm", "cold"])],
                    [attribute("levelcode", "Picklist", options=[1, 2])])

    assert len(problems) == 1
    assert "HubSpot options of `level` not in the value map: cold" in problems[0].message


def test_unmapped_skip_allows_gaps():
    problems = live(contact(LEVEL + "        unmapped: skip\n"), [prop("level", "enumeration", options=["hot", "warm", "cold"])],
                    [attribute("levelcode", "Picklist", options=[1, 2, 3])])

    assert problems == []


def test_value_not_an_option():
    problems = live(contact(LEVEL), [prop("level", "enumeration", options=["hot", "warm"])],
                    [attribute("levelcode", "Picklist", options=[1, 5])])

    assert any("writes 2 to `levelcode`" in problem.message for problem in problems)


def test_kind_without_metadata_skipped():
    assert check_live(load_mapping(DEFAULT), {}, {}) == []


# --- render_plan ---


def test_plan_lists_every_field():
    mapping = load_mapping(DEFAULT)
    text = render_plan(mapping)

    for pair in mapping.pairs.values():
        for rule in pair.fields:
            assert f"| {rule.name} |" in text


def test_plan_shows_flow_and_scope():
    text = render_plan(parse_mapping(contact(
        "      email: {hubspot: email, dynamics: e, policy: keep_first}\n"
        "      src: {hubspot: s, dynamics: s, direction: create_only}\n"
    ) + "    scope:\n      hubspot: {field: lifecyclestage, op: eq, value: customer}\n    on_leave_scope: report\n"))

    assert "| email | email | e | HubSpot <-> Dynamics | keep_first |" in text
    assert "| src | s | s | on create only |" in text
    assert "- scope in HubSpot: lifecyclestage eq customer" in text
    assert "leaves the scope: report" in text


def test_plan_marks_read_only():
    mapping = parse_mapping(contact("      n: {hubspot: n, dynamics: n}\n"))

    text = render_plan(mapping, {Kind.CONTACT: [prop("n", read_only=True)]}, None)

    assert "read-only in HubSpot (n): written to Dynamics only" in text


def test_plan_names_one_way_values():
    text = render_plan(load_mapping(DEFAULT))

    assert "to Dynamics only: decisionmakerboughtin" in text


# --- diff_plan ---

OLD = contact("      email: {hubspot: email, dynamics: e}\n      city: {hubspot: city, dynamics: c}\n")


def test_diff_counts_transform_change():
    new = contact("      email: {hubspot: email, dynamics: e, transforms: [uppercase]}\n      city: {hubspot: city, dynamics: c}\n")
    synced = {Kind.CONTACT: {"1": {"email": "a@x.com", "city": "x"}, "2": {"email": "B@X.COM", "city": "y"}}}

    text = diff_plan(parse_mapping(OLD, "old.yaml"), parse_mapping(new, "new.yaml"), synced)

    assert "| email | changed: transforms | 1 | 1 | 0 |" in text
    assert "city" not in text.split("## contact")[1]


def test_diff_added_and_removed():
    new = contact("      email: {hubspot: email, dynamics: e}\n      phone: {hubspot: phone, dynamics: p}\n")

    text = diff_plan(parse_mapping(OLD), parse_mapping(new), {Kind.CONTACT: {"1": {"email": "a", "city": "x"}}})

    assert "| phone | added, HubSpot <-> Dynamics |" in text
    assert "| city | removed" in text


def test_diff_rename_writes_target():
    new = contact("      email: {hubspot: email, dynamics: e}\n      city: {hubspot: city, dynamics: address1_city}\n")

    text = diff_plan(parse_mapping(OLD), parse_mapping(new), {Kind.CONTACT: {"1": {"email": "a", "city": "x"}}})

    assert "| city | changed: Dynamics address1_city | 0 | 1 | 0 |" in text


def test_diff_enum_value_dropped_rejected():
    old_text = contact(LEVEL)
    new_text = contact(LEVEL.replace("          - {hubspot: warm, dynamics: 2}\n", ""))
    synced = {Kind.CONTACT: {"1": {"level": "warm"}, "2": {"level": "hot"}}}

    text = diff_plan(parse_mapping(old_text), parse_mapping(new_text), synced)

    assert "| level | changed: values | 0 | 0 | 1 |" in text


@pytest.mark.parametrize("kind", [Kind.DEAL])
def test_diff_dropped_kind(kind):
    old = load_mapping(DEFAULT)
    new = parse_mapping(contact("      email: {hubspot: email, dynamics: emailaddress1}\n"))

    text = diff_plan(old, new, {})

    assert f"## {kind} (0 linked records)\n\nThe new mapping drops this kind" in text
