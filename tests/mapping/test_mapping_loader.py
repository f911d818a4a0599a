"""Validation of mapping files: each problem with its line, field and fix, all at once."""


import pytest

from sync.errors import ConfigError
from sync.mapping import Direction, FieldType, Policy, Transform, UnmappedAction, load_mapping, parse_mapping
from sync.model import Kind


def problems_of(text: str, source: str = "m.yaml"):
    with pytest.raises(ConfigError) as caught:
        parse_mapping(text, source)
    return caught.value.problems


def only_problem(text: str):
    problems = problems_of(text)
    assert len(problems) == 1, [str(problem) for problem in problems]
    return problems[0]


def contact(fields: str, extra: str = "") -> str:
    """A mapping whose contact fields start on line 5."""
    return "version: 1\nobjects:\n  contact:\n    fields:\n" + fields + extra


# --- accepted documents ---


def test_minimal_mapping_defaults():
    mapping = parse_mapping(contact("      email: {hubspot: email, dynamics: emailaddress1}\n"))
    rule = mapping.pairs[Kind.CONTACT].fields[0]

    assert rule.direction is Direction.BOTH
    assert rule.type is FieldType.STRING
    assert rule.policy is Policy.LATEST_WINS
    assert rule.transforms == ()
    assert rule.line == 5
    assert str(mapping.timezone) == "UTC"


def test_only_listed_kinds_mapped():
    mapping = parse_mapping(contact("      email: {hubspot: email, dynamics: emailaddress1}\n"))

    assert list(mapping.pairs) == [Kind.CONTACT]


def test_all_keys_read():
    mapping = parse_mapping(contact(
        "      email: {hubspot: email, dynamics: emailaddress1, direction: both, type: string,\n"
        "              transforms: [trim, collapse_whitespace], policy: hubspot_wins}\n"
    ))
    rule = mapping.pairs[Kind.CONTACT].fields[0]

    assert rule.transforms == (Transform.TRIM, Transform.COLLAPSE_WHITESPACE)
    assert rule.policy is Policy.HUBSPOT_WINS


def test_reference_defaults_to_both():
    text = (
        "objects:\n  company:\n    fields:\n      name: {hubspot: name, dynamics: name}\n"
        "  contact:\n    fields:\n      email: {hubspot: email, dynamics: emailaddress1}\n"
        "    references:\n      company:\n"
    )
    ref = parse_mapping(text).pairs[Kind.CONTACT].references[0]

    assert ref.target is Kind.COMPANY
    assert ref.direction is Direction.BOTH
    assert ref.line == 9


def test_opposite_one_way_fields_share_property():
    mapping = parse_mapping(contact(
        "      a: {hubspot: phone, dynamics: telephone1, direction: to_dynamics}\n"
        "      b: {hubspot: phone, dynamics: telephone2, direction: to_hubspot}\n"
    ))

    assert len(mapping.pairs[Kind.CONTACT].fields) == 2


def test_unmapped_default_read():
    text = contact(
        "      status:\n        hubspot: hs_lead_status\n        dynamics: leadsourcecode\n        type: enum\n"
        "        values: [{hubspot: NEW, dynamics: 1}]\n        unmapped: {default: NEW}\n"
    )
    rule = parse_mapping(text).pairs[Kind.CONTACT].fields[0]

    assert rule.unmapped.action is UnmappedAction.DEFAULT
    assert rule.unmapped.default == "NEW"


# --- file-level problems ---


def test_malformed_yaml_line():
    problem = only_problem("version: 1\nobjects:\n  contact: [unclosed\n")

    assert "invalid YAML" in problem.message
    assert problem.line is not None


def test_tab_line():
    problem = only_problem("version: 1\nobjects:\n\tcontact: {}\n")

    assert problem.line == 3
    assert "tab" in problem.message


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file(text):
    problem = only_problem(text)

    assert "empty" in problem.message
    assert problem.file == "m.yaml"


def test_top_level_list():
    problem = only_problem("- version\n- objects\n")

    assert "expected a map" in problem.message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_mapping(tmp_path / "absent.yaml")


def test_load_from_file(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(contact("      email: {hubspot: email, dynamics: emailaddress1}\n"), encoding="utf-8")

    assert load_mapping(path).source == path


# --- one problem each, with line and fix ---


def test_unknown_top_key_suggests():
    problem = problems_of("version: 1\nobjets: {}\n")[0]

    assert problem.line == 2
    assert "objects" in problem.fix


def test_missing_objects():
    problem = only_problem("version: 1\n")

    assert "missing `objects`" in problem.message
    assert problem.line == 1


def test_unsupported_version():
    problem = only_problem("version: 2\n" + contact("      email: {hubspot: email, dynamics: emailaddress1}\n")[11:])

    assert problem.line == 1
    assert "version 2" in problem.message


def test_unknown_timezone_suggests():
    problem = only_problem("timezone: Europe/Pari\n" + contact("      e: {hubspot: email, dynamics: emailaddress1}\n"))

    assert problem.line == 1
    assert "Europe/Paris" in problem.fix


@pytest.mark.parametrize(("key", "expected"), [("opportunities", "`deal`"), ("contcat", "`contact`")])
def test_unknown_kind(key, expected):
    problem = only_problem(f"objects:\n  {key}:\n    fields:\n      name: {{hubspot: a, dynamics: b}}\n")

    assert problem.line == 2
    assert expected in problem.fix


def test_kind_without_fields():
    problem = only_problem("objects:\n  contact:\n    references: {}\n")

    assert problem.line == 2
    assert "no fields" in problem.message


def test_fields_wrong_type():
    problem = only_problem("objects:\n  contact:\n    fields: [email]\n")

    assert problem.line == 3
    assert "got a list" in problem.message


def test_unknown_field_key_suggests():
    problem = only_problem(contact("      email: {hubspot: email, dynamcis: emailaddress1, dynamics: x}\n"))

    assert problem.line == 5
    assert problem.field == "objects.contact.fields.email.dynamcis"
    assert "`dynamics`" in problem.fix


def test_field_without_hubspot():
    problem = only_problem(contact("      email:\n        dynamics: emailaddress1\n"))

    assert problem.line == 5
    assert "missing `hubspot`" in problem.message


def test_field_without_dynamics():
    problem = only_problem(contact("      email: {hubspot: email}\n"))

    assert problem.line == 5
    assert "missing `dynamics`" in problem.message


def test_field_not_a_map():
    problem = only_problem(contact("      email: emailaddress1\n"))

    assert "expected a map" in problem.message


def test_property_name_wrong_type():
    problem = only_problem(contact("      email:\n        hubspot: 12\n        dynamics: emailaddress1\n"))

    assert problem.line == 6
    assert "as text" in problem.message


def test_property_name_invalid():
    problem = only_problem(contact("      email: {hubspot: e mail, dynamics: emailaddress1}\n"))

    assert "invalid HubSpot property" in problem.message


def test_unknown_transform_suggests():
    problem = only_problem(contact("      email:\n        hubspot: email\n        dynamics: emailaddress1\n        transforms: [trim, lowercas]\n"))

    assert problem.line == 8
    assert problem.field == "objects.contact.fields.email.transforms[1]"
    assert "`lowercase`" in problem.fix


def test_transforms_not_a_list():
    problem = only_problem(contact("      email: {hubspot: email, dynamics: emailaddress1, transforms: trim}\n"))

    assert "expected a list" in problem.message


def test_transforms_on_number_field():
    problem = only_problem(contact("      score: {hubspot: s, dynamics: s, type: number, transforms: [trim]}\n"))

    assert "string fields only" in problem.message


def test_unknown_type_suggests():
    problem = only_problem(contact("      score:\n        hubspot: s\n        dynamics: s\n        type: numbr\n"))

    assert problem.line == 8
    assert "`number`" in problem.fix


def test_unknown_direction():
    problem = only_problem(contact("      a: {hubspot: a, dynamics: a, direction: to_dynamic}\n"))

    assert "`to_dynamics`" in problem.fix


def test_policy_on_one_way_field():
    problem = only_problem(contact("      a: {hubspot: a, dynamics: a, direction: to_hubspot, policy: hubspot_wins}\n"))

    assert "`both` fields only" in problem.message


def test_column_list_on_string_field():
    problem = only_problem(contact("      a: {hubspot: a, dynamics: [b, c]}\n"))

    assert "only for enum" in problem.message


def test_values_on_string_field():
    problem = only_problem(contact("      a:\n        hubspot: a\n        dynamics: b\n        values: []\n"))

    assert problem.line == 8
    assert "type: enum" in problem.fix


def test_duplicate_hubspot_target():
    problem = only_problem(contact(
        "      phone: {hubspot: phone, dynamics: telephone1}\n"
        "      mobile: {hubspot: phone, dynamics: mobilephone}\n"
    ))

    assert problem.line == 6
    assert "`phone` and `mobile` both write HubSpot property `phone`" in problem.message


def test_duplicate_dynamics_target_same_direction():
    problem = only_problem(contact(
        "      a: {hubspot: phone, dynamics: telephone1, direction: to_dynamics}\n"
        "      b: {hubspot: mobilephone, dynamics: telephone1}\n"
    ))

    assert problem.line == 6
    assert "Dynamics column `telephone1`" in problem.message


ENUM_HEAD = "      stage:\n        hubspot: dealstage\n        dynamics: [statecode, salesstage]\n        type: enum\n"


def deal(body: str) -> str:
    """A deal mapping whose enum entries start on line 10."""
    return "version: 1\nobjects:\n  deal:\n    fields:\n" + ENUM_HEAD + body


def test_enum_without_values():
    problem = only_problem(deal(""))

    assert problem.line == 5
    assert "needs a value map" in problem.message


def test_enum_duplicate_hubspot_value():
    problem = only_problem(deal(
        "        values:\n"
        "          - {hubspot: won, dynamics: {statecode: 1}}\n"
        "          - {hubspot: won, dynamics: {statecode: 2}}\n"
    ))

    assert problem.line == 11
    assert "not one-to-one" in problem.message
    assert "line 10" in problem.message


def test_enum_duplicate_dynamics_values():
    problem = only_problem(deal(
        "        values:\n"
        "          - {hubspot: won, dynamics: {statecode: 1}}\n"
        "          - {hubspot: closedwon, dynamics: {statecode: 1}}\n"
    ))

    assert problem.line == 11
    assert "to_dynamics" in problem.fix


def test_enum_many_to_one_with_direction():
    mapping = parse_mapping(deal(
        "        values:\n"
        "          - {hubspot: won, dynamics: {statecode: 1}}\n"
        "          - {hubspot: closedwon, dynamics: {statecode: 1}, direction: to_dynamics}\n"
    ))

    assert len(mapping.pairs[Kind.DEAL].fields[0].values) == 2


def test_enum_shadowed_entry():
    problem = only_problem(deal(
        "        values:\n"
        "          - {hubspot: open, dynamics: {statecode: 0}}\n"
        "          - {hubspot: qualify, dynamics: {statecode: 0, salesstage: 0}}\n"
    ))

    assert problem.line == 11
    assert "never matches" in problem.message


def test_enum_entry_unknown_column():
    problem = only_problem(deal("        values:\n          - {hubspot: won, dynamics: {statcode: 1}}\n"))

    assert problem.line == 10
    assert "`statecode`" in problem.fix


def test_enum_entry_without_dynamics():
    problem = only_problem(deal("        values:\n          - {hubspot: won}\n"))

    assert "missing `dynamics`" in problem.message


def test_enum_entry_direction_against_field():
    text = deal("        direction: to_hubspot\n        values:\n          - {hubspot: won, dynamics: {statecode: 1}, direction: to_dynamics}\n")
    problem = only_problem(text)

    assert problem.line == 11
    assert "never used" in problem.message


def test_unmapped_invalid():
    problem = only_problem(deal("        values: [{hubspot: won, dynamics: {statecode: 1}}]\n        unmapped: ignore\n"))

    assert problem.line == 10
    assert "reject, skip" in problem.fix


def test_unmapped_default_not_listed():
    problem = only_problem(deal("        values: [{hubspot: won, dynamics: {statecode: 1}}]\n        unmapped: {default: wonn}\n"))

    assert problem.line == 10
    assert "`won`" in problem.fix


def test_reference_to_unmapped_kind():
    problem = only_problem(contact("      email: {hubspot: email, dynamics: emailaddress1}\n", "    references:\n      company: {direction: both}\n"))

    assert problem.line == 7
    assert "not mapped" in problem.message


def test_reference_not_supported():
    text = "objects:\n  company:\n    fields:\n      name: {hubspot: name, dynamics: name}\n    references:\n      deal: {}\n"
    problem = only_problem(text)

    assert problem.line == 6
    assert "cannot refer" in problem.message


def test_reference_unknown_key():
    text = (
        "objects:\n  company:\n    fields:\n      name: {hubspot: name, dynamics: name}\n"
        "  contact:\n    fields:\n      email: {hubspot: email, dynamics: emailaddress1}\n"
        "    references:\n      company: {directon: both}\n"
    )
    problem = only_problem(text)

    assert problem.line == 9
    assert "`direction`" in problem.fix


def test_every_problem_at_once():
    problems = problems_of(
        "version: 1\nobjects:\n  contact:\n    fields:\n"
        "      email: {hubspot: email}\n"
        "      phone: {hubspot: phone, dynamics: telephone1, type: phone}\n"
        "      city: {hubspot: city, dynamics: address1_city, transforms: [upper]}\n"
        "  deals:\n    fields: {}\n"
    )

    assert [problem.line for problem in problems] == [5, 6, 7, 8]


def test_problem_text_has_file_line_and_fix():
    problem = only_problem(contact("      email: {hubspot: email}\n"))

    assert str(problem).startswith("m.yaml:5:")
    assert "Fix:" in str(problem)
