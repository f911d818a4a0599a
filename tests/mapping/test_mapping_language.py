"""The newer mapping keys: create_only, policies, scope, joined text, templates, owners, money, phones."""

import pytest

from sync.errors import ConfigError
from sync.mapping import Direction, LeaveScope, OwnerTable, Policy, WriteMode, parse_mapping
from sync.model import Kind, Owner, Record, System


def problems_of(text: str):
    with pytest.raises(ConfigError) as caught:
        parse_mapping(text, "m.yaml")
    return caught.value.problems


def contact(fields: str, extra: str = "", top: str = "") -> str:
    """A mapping whose contact fields start on line 5 (plus the lines of `top`)."""
    return "version: 1\n" + top + "objects:\n  contact:\n    fields:\n" + fields + extra


def contact_pair(fields: str, extra: str = "", top: str = ""):
    return parse_mapping(contact(fields, extra, top)).pairs[Kind.CONTACT]


def hubspot(values: dict) -> Record:
    return Record(System.HUBSPOT, Kind.CONTACT, "h1", values)


def dynamics(values: dict) -> Record:
    return Record(System.DYNAMICS, Kind.CONTACT, "d1", values)


EMAIL = "      email: {hubspot: email, dynamics: emailaddress1}\n"


# --- create_only ---


def test_create_only_not_on_update():
    pair = contact_pair(EMAIL + "      source: {hubspot: hs_source, dynamics: leadsource, direction: create_only}\n")
    rule = pair.field_named("source")

    assert rule.direction is Direction.CREATE_ONLY
    assert not rule.flows_to(System.DYNAMICS)
    assert rule.flows_on_create(System.DYNAMICS)
    assert rule.flows_on_create(System.HUBSPOT)


def test_create_only_written_on_create():
    pair = contact_pair(EMAIL + "      source: {hubspot: hs_source, dynamics: leadsource, direction: create_only}\n")

    update = pair.from_canonical(System.DYNAMICS, {"source": "ads"})
    create = pair.from_canonical(System.DYNAMICS, {"source": "ads"}, mode=WriteMode.CREATE)

    assert update == {}
    assert create == {"leadsource": "ads"}


def test_one_way_flows_on_create_to_target_only():
    pair = contact_pair(EMAIL + "      note: {hubspot: note, dynamics: note, direction: to_hubspot}\n")
    rule = pair.field_named("note")

    assert rule.flows_on_create(System.HUBSPOT)
    assert not rule.flows_on_create(System.DYNAMICS)


def test_create_only_policy_rejected():
    problems = problems_of(contact(EMAIL + "      s: {hubspot: s, dynamics: s, direction: create_only, policy: keep_first}\n"))

    assert len(problems) == 1
    assert "both` fields only" in problems[0].message


# --- policies ---


@pytest.mark.parametrize("policy", ["prefer_non_empty", "keep_first", "hubspot_wins", "dynamics_wins", "latest_wins"])
def test_policy_accepted(policy):
    pair = contact_pair(f"      email: {{hubspot: email, dynamics: emailaddress1, policy: {policy}}}\n")

    assert pair.field_named("email").policy is Policy(policy)


def test_policy_typo_suggests():
    problems = problems_of(contact("      email: {hubspot: email, dynamics: emailaddress1, policy: prefer_nonempty}\n"))

    assert problems[0].fix == "did you mean `prefer_non_empty`?"


# --- scope ---

LIFECYCLE = "[subscriber, lead, marketingqualifiedlead, salesqualifiedlead, opportunity, customer]"


def scoped(conditions: str, leave: str = "") -> str:
    return contact(EMAIL, extra=f"    scope:\n{conditions}{leave}")


def test_scope_gte_on_order():
    text = scoped(f"      hubspot: {{field: lifecyclestage, op: gte, value: marketingqualifiedlead, order: {LIFECYCLE}}}\n")
    pair = parse_mapping(text).pairs[Kind.CONTACT]

    assert pair.in_scope(System.HUBSPOT, hubspot({"lifecyclestage": "customer"}))
    assert pair.in_scope(System.HUBSPOT, hubspot({"lifecyclestage": "marketingqualifiedlead"}))
    assert not pair.in_scope(System.HUBSPOT, hubspot({"lifecyclestage": "lead"}))
    assert not pair.in_scope(System.HUBSPOT, hubspot({"lifecyclestage": "other"}))
    assert not pair.in_scope(System.HUBSPOT, hubspot({}))


def test_scope_other_side_unfiltered():
    text = scoped("      hubspot: {field: lifecyclestage, op: eq, value: customer}\n")
    pair = parse_mapping(text).pairs[Kind.CONTACT]

    assert pair.in_scope(System.DYNAMICS, dynamics({}))


def test_scope_list_is_all_of():
    text = scoped("      dynamics:\n        - {field: statecode, op: eq, value: 0}\n"
                  "        - {field: businessunit, op: in, value: [emea, apac]}\n")
    pair = parse_mapping(text).pairs[Kind.CONTACT]

    assert pair.in_scope(System.DYNAMICS, dynamics({"statecode": 0, "businessunit": "emea"}))
    assert not pair.in_scope(System.DYNAMICS, dynamics({"statecode": 1, "businessunit": "emea"}))
    assert not pair.in_scope(System.DYNAMICS, dynamics({"statecode": 0, "businessunit": "amer"}))


@pytest.mark.parametrize(("condition", "values", "expected"), [
    ("{field: x, op: ne, value: a}", {"x": "b"}, True),
    ("{field: x, op: ne, value: a}", {"x": "a"}, False),
    ("{field: x, op: ne, value: a}", {}, True),
    ("{field: x, op: not_in, value: [a, b]}", {"x": "c"}, True),
    ("{field: x, op: not_in, value: [a, b]}", {"x": "b"}, False),
    ("{field: x, op: exists}", {"x": "1"}, True),
    ("{field: x, op: exists}", {"x": ""}, False),
    ("{field: x, op: exists, value: false}", {"x": None}, True),
    ("{field: x, op: eq, value: 1}", {"x": "1"}, True),
    ("{field: x, op: lte, value: b, order: [a, b, c]}", {"x": "a"}, True),
    ("{field: x, op: lte, value: b, order: [a, b, c]}", {"x": "c"}, False),
])
def test_scope_operators(condition, values, expected):
    pair = parse_mapping(scoped(f"      hubspot: {condition}\n")).pairs[Kind.CONTACT]

    assert pair.in_scope(System.HUBSPOT, values) is expected


def test_scope_fields_are_read():
    pair = parse_mapping(scoped("      hubspot: {field: lifecyclestage, op: exists}\n")).pairs[Kind.CONTACT]

    assert pair.hubspot_properties() == ["email", "lifecyclestage"]
    assert pair.dynamics_columns() == ["emailaddress1"]


def test_on_leave_scope_read():
    pair = parse_mapping(scoped("      hubspot: {field: x, op: exists}\n", "    on_leave_scope: report\n")).pairs[Kind.CONTACT]

    assert pair.on_leave_scope is LeaveScope.REPORT


def test_on_leave_scope_default_ignore():
    assert contact_pair(EMAIL).on_leave_scope is LeaveScope.IGNORE


@pytest.mark.parametrize(("condition", "needle"), [
    ("{field: x, op: gte, value: b}", "needs `order`"),
    ("{field: x, op: gte, value: z, order: [a, b]}", "not in `order`"),
    ("{field: x, op: in, value: a}", "non-empty list"),
    ("{field: x, op: eq, value: [a]}", "one value"),
    ("{field: x, op: eq}", "missing `value`"),
    ("{field: x, value: a}", "missing `op`"),
    ("{field: x, op: like, value: a}", "invalid op"),
    ("{field: x, op: eq, value: a, order: [a]}", "only for gte and lte"),
    ("{field: x, op: exists, value: yes please}", "true or false"),
    ("{op: eq, value: a}", "missing `field`"),
])
def test_scope_condition_problems(condition, needle):
    problems = problems_of(scoped(f"      hubspot: {condition}\n"))

    assert len(problems) == 1, [str(problem) for problem in problems]
    assert needle in problems[0].message
    assert problems[0].line == 7


def test_scope_unknown_side():
    problems = problems_of(scoped("      hubspt: {field: x, op: exists}\n"))

    assert problems[0].fix == "did you mean `hubspot`?"


# --- joined text ---

JOINED = "      full_name: {hubspot: [firstname, lastname], dynamics: fullname, join: ' ', direction: to_dynamics}\n"


def test_join_reads_parts():
    pair = contact_pair(EMAIL + JOINED)

    canonical = pair.to_canonical(hubspot({"firstname": " Mary Ann ", "lastname": "Smith"}))

    assert canonical.values == {"full_name": "Mary Ann Smith"}


def test_join_skips_empty_parts():
    pair = contact_pair(EMAIL + JOINED)

    assert pair.to_canonical(hubspot({"firstname": None, "lastname": "Smith"})).values == {"full_name": "Smith"}


def test_split_writes_parts():
    text = EMAIL + "      full_name: {hubspot: [firstname, lastname], dynamics: fullname, join: ' ', direction: to_hubspot}\n"
    pair = contact_pair(text)

    raw = pair.from_canonical(System.HUBSPOT, {"full_name": "Mary Ann Smith"})

    assert raw == {"firstname": "Mary Ann", "lastname": "Smith"}


def test_split_one_word_fills_last():
    text = EMAIL + "      full_name: {hubspot: [firstname, lastname], dynamics: fullname, join: ' ', direction: to_hubspot}\n"
    pair = contact_pair(text)

    assert pair.from_canonical(System.HUBSPOT, {"full_name": "Cher"}) == {"firstname": "", "lastname": "Cher"}


def test_join_reads_every_part():
    pair = contact_pair(EMAIL + JOINED)

    assert pair.hubspot_properties() == ["email", "firstname", "lastname"]


def test_join_both_needs_policy():
    problems = problems_of(contact(EMAIL + "      n: {hubspot: [a, b], dynamics: n, join: ' '}\n"))

    assert len(problems) == 1
    assert "explicit `policy`" in problems[0].message


def test_list_without_join_rejected():
    problems = problems_of(contact(EMAIL + "      n: {hubspot: [a, b], dynamics: n}\n"))

    assert "only for joined text" in problems[0].message


def test_join_lists_on_both_sides_rejected():
    problems = problems_of(contact(EMAIL + "      n: {hubspot: [a, b], dynamics: [c, d], join: ' ', direction: to_dynamics}\n"))

    assert "exactly one side" in problems[0].message


# --- templates ---

NAMES = "      first_name: {hubspot: firstname, dynamics: firstname}\n      last_name: {hubspot: lastname, dynamics: lastname}\n"


def test_template_rendered_from_source():
    text = NAMES + "      label: {dynamics: description, template: '{first_name} {last_name}', direction: to_dynamics, transforms: [trim]}\n"
    pair = contact_pair(text)

    canonical = pair.to_canonical(hubspot({"firstname": "Ada", "lastname": None}))

    assert canonical.values["label"] == "Ada"


def test_template_read_raw_on_target():
    text = NAMES + "      label: {dynamics: description, template: '{first_name}', direction: to_dynamics}\n"
    pair = contact_pair(text)

    assert pair.to_canonical(dynamics({"description": "kept"})).values == {"label": "kept"}


def test_template_uses_other_template():
    text = (NAMES + "      a: {dynamics: a, template: '{first_name}!', direction: to_dynamics}\n"
            "      b: {dynamics: b, template: '<{a}>', direction: to_dynamics}\n")
    pair = contact_pair(text)

    assert pair.to_canonical(hubspot({"firstname": "Ada", "lastname": "L"})).values["b"] == "<Ada!>"


def test_template_circular_rejected():
    text = (NAMES + "      a: {dynamics: a, template: '{b}', direction: to_dynamics}\n"
            "      b: {dynamics: b, template: '{a}', direction: to_dynamics}\n")
    problems = problems_of(contact(text))

    assert len(problems) == 1
    assert "circular templates: a -> b -> a" in problems[0].message


def test_template_unknown_field_suggests():
    problems = problems_of(contact(NAMES + "      a: {dynamics: a, template: '{first_nam}', direction: to_dynamics}\n"))

    assert problems[0].fix == "did you mean `first_name`?"


@pytest.mark.parametrize(("spec", "needle"), [
    ("{dynamics: a, template: '{first_name}'}", "must flow one way"),
    ("{dynamics: a, template: '{first_name', direction: to_dynamics}", "invalid template"),
    ("{dynamics: a, template: 'plain', direction: to_dynamics}", "uses no field"),
    ("{hubspot: a, dynamics: a, template: '{first_name}', direction: to_dynamics}", "reads no HubSpot property"),
    ("{dynamics: a, template: '{first_name}', direction: to_dynamics, type: number}", "render text"),
    ("{dynamics: a, template: '{first_name:>5}', direction: to_dynamics}", "invalid placeholder"),
])
def test_template_problems(spec, needle):
    problems = problems_of(contact(NAMES + f"      a: {spec}\n"))

    assert len(problems) == 1, [str(problem) for problem in problems]
    assert needle in problems[0].message


# --- owners ---

OWNER = "      owner: {hubspot: hubspot_owner_id, dynamics: _ownerid_value, type: owner}\n"
DIRECTORY = OwnerTable([
    Owner(System.HUBSPOT, "7", "Jane@Example.com"),
    Owner(System.DYNAMICS, "u-1", "jane@example.com"),
    Owner(System.DYNAMICS, "u-0", "jane@example.com", active=False),
])


def test_owner_canonical_is_email():
    pair = contact_pair(EMAIL + OWNER)

    assert pair.to_canonical(hubspot({"hubspot_owner_id": "7"}), DIRECTORY).values == {"owner": "jane@example.com"}


def test_owner_written_as_active_id():
    pair = contact_pair(EMAIL + OWNER)

    assert pair.from_canonical(System.DYNAMICS, {"owner": "jane@example.com"}, DIRECTORY) == {"ownerid@odata.bind": "/systemusers(u-1)"}


def test_owner_unknown_id_is_record_error():
    pair = contact_pair(EMAIL + OWNER)

    canonical = pair.to_canonical(hubspot({"hubspot_owner_id": "99"}), DIRECTORY)

    assert canonical.values == {}
    assert "owner '99' has no email" in str(canonical.errors[0])


def test_owner_without_directory_is_record_error():
    pair = contact_pair(EMAIL + OWNER)

    canonical = pair.to_canonical(hubspot({"hubspot_owner_id": "7"}))

    assert "owner directory" in str(canonical.errors[0])


# --- money, timezone, phone ---


def test_money_rounds_to_minor_unit():
    pair = contact_pair(EMAIL + "      fee: {hubspot: fee, dynamics: fee, type: money, currency: JPY}\n"
                                "      tip: {hubspot: tip, dynamics: tip, type: money}\n")

    values = pair.to_canonical(hubspot({"fee": "1234.56", "tip": "1.005"})).values

    assert values["fee"] == 1235.0
    assert values["tip"] == 1.0


def test_currency_invalid():
    problems = problems_of(contact(EMAIL + "      fee: {hubspot: fee, dynamics: fee, type: money, currency: euro}\n"))

    assert "invalid currency" in problems[0].message


def test_currency_needs_money():
    problems = problems_of(contact(EMAIL + "      fee: {hubspot: fee, dynamics: fee, type: number, currency: EUR}\n"))

    assert "only for money fields" in problems[0].message


def test_field_timezone_overrides():
    pair = contact_pair(EMAIL + "      day: {hubspot: day, dynamics: day, type: date, timezone: Asia/Tokyo}\n")

    assert pair.to_canonical(hubspot({"day": "2024-06-30T20:00:00Z"})).values == {"day": "2024-07-01"}


def test_phone_uses_region():
    pair = contact_pair(EMAIL + "      phone: {hubspot: phone, dynamics: telephone1, transforms: [phone]}\n", top="phone_region: DE\n")

    assert pair.to_canonical(hubspot({"phone": "030 1234567"})).values == {"phone": "+49301234567"}


def test_phone_field_region_overrides():
    pair = contact_pair(EMAIL + "      phone: {hubspot: phone, dynamics: telephone1, transforms: [phone], phone_region: US}\n",
                        top="phone_region: DE\n")

    assert pair.to_canonical(hubspot({"phone": "(415) 555-0132"})).values == {"phone": "+14155550132"}


def test_phone_invalid_kept():
    pair = contact_pair(EMAIL + "      phone: {hubspot: phone, dynamics: telephone1, transforms: [phone]}\n", top="phone_region: US\n")

    assert pair.to_canonical(hubspot({"phone": " call me "})).values == {"phone": "call me"}


def test_phone_region_unknown():
    problems = problems_of(contact(EMAIL, top="phone_region: XX\n"))

    assert "unknown phone region" in problems[0].message


def test_title_transform():
    pair = contact_pair("      email: {hubspot: email, dynamics: emailaddress1, transforms: [title]}\n")

    assert pair.to_canonical(hubspot({"email": "ada LOVELACE"})).values == {"email": "Ada Lovelace"}


# --- clashes between rules ---


def test_opposed_rules_rejected():
    text = contact(EMAIL + "      a: {hubspot: x, dynamics: y, direction: to_dynamics}\n"
                           "      b: {hubspot: x, dynamics: y, direction: to_hubspot}\n")
    problems = problems_of(text)

    assert len(problems) == 1
    assert "map the same HubSpot x and Dataverse y" in problems[0].message


def test_create_only_clash_with_writer():
    text = contact(EMAIL + "      a: {hubspot: x, dynamics: y, direction: create_only}\n"
                           "      b: {hubspot: z, dynamics: y, direction: to_dynamics}\n")
    problems = problems_of(text)

    assert "both write Dynamics column `y`" in problems[0].message
