"""Whole records to canonical values and back, with the shipped default mapping."""

from pathlib import Path

import pytest

from sync.errors import RecordError
from sync.mapping import Direction, load_mapping, parse_mapping
from sync.model import Kind, Record, System

DEFAULT = Path(__file__).resolve().parents[2] / "mappings" / "default.yaml"


@pytest.fixture(scope="module")
def mapping():
    return load_mapping(DEFAULT)


def test_contact_from_hubspot(mapping):
    record = Record(System.HUBSPOT, Kind.CONTACT, "512", {"email": " Pat@Example.COM ", "firstname": "Pat ", "lastname": ""})
    canonical = mapping.pairs[Kind.CONTACT].to_canonical(record)

    assert canonical.values == {"email": "pat@example.com", "first_name": "Pat", "last_name": None}


def test_absent_property_left_out(mapping):
    record = Record(System.HUBSPOT, Kind.CONTACT, "512", {"email": "a@b.co"})
    canonical = mapping.pairs[Kind.CONTACT].to_canonical(record)

    assert "phone" not in canonical.values


def test_company_domain_from_dynamics(mapping):
    record = Record(System.DYNAMICS, Kind.COMPANY, "a1", {"name": "Acme", "websiteurl": "https://www.Acme.com/home"})
    canonical = mapping.pairs[Kind.COMPANY].to_canonical(record)

    assert canonical.values["domain"] == "acme.com"


def test_bad_field_does_not_stop_others(mapping):
    record = Record(System.HUBSPOT, Kind.DEAL, "d9", {"dealname": "Big", "amount": "1,054.50", "closedate": "2017-03-01"})
    canonical = mapping.pairs[Kind.DEAL].to_canonical(record)

    assert canonical.values == {"name": "Big", "close_date": "2017-03-01"}
    assert [error.field for error in canonical.errors] == ["amount"]


def test_record_error_names_record(mapping):
    record = Record(System.HUBSPOT, Kind.DEAL, "d9", {"amount": "lots"})
    error = mapping.pairs[Kind.DEAL].to_canonical(record).errors[0]

    assert error.system == "hubspot"
    assert error.kind == "deal"
    assert error.record_id == "d9"
    assert error.category == "invalid_value"
    assert "property amount" in str(error)


def test_deal_round_trip_between_systems(mapping):
    pair = mapping.pairs[Kind.DEAL]
    hubspot = Record(System.HUBSPOT, Kind.DEAL, "d1", {
        "dealname": "Renewal", "amount": "1054", "closedate": "2017-03-01T00:00:00.000Z", "dealstage": "closedwon",
    })
    canonical = pair.to_canonical(hubspot).values
    dynamics = Record(System.DYNAMICS, Kind.DEAL, "o1", pair.from_canonical(System.DYNAMICS, canonical))

    assert pair.to_canonical(dynamics).values == canonical


def test_from_canonical_only_given_fields(mapping):
    raw = mapping.pairs[Kind.DEAL].from_canonical(System.HUBSPOT, {"amount": 1054.0})

    assert raw == {"amount": "1054"}


def test_from_canonical_unknown_field(mapping):
    with pytest.raises(ValueError, match="colour"):
        mapping.pairs[Kind.DEAL].from_canonical(System.HUBSPOT, {"colour": "red"})


def test_from_canonical_invalid_value(mapping):
    with pytest.raises(RecordError, match="amount"):
        mapping.pairs[Kind.DEAL].from_canonical(System.DYNAMICS, {"amount": "a lot"})


def test_one_way_field_not_written_back():
    text = """\
version: 1
objects:
  contact:
    fields:
      email: {hubspot: email, dynamics: emailaddress1}
      score: {hubspot: hubspotscore, dynamics: new_score, type: number, direction: to_dynamics}
"""
    pair = parse_mapping(text).pairs[Kind.CONTACT]
    values = {"email": "a@b.co", "score": 12.0}

    assert pair.from_canonical(System.HUBSPOT, values) == {"email": "a@b.co"}
    assert pair.from_canonical(System.DYNAMICS, values) == {"emailaddress1": "a@b.co", "new_score": 12}
    assert pair.field_named("score").direction is Direction.TO_DYNAMICS


def test_one_way_field_still_read_both_sides():
    text = """\
version: 1
objects:
  contact:
    fields:
      score: {hubspot: hubspotscore, dynamics: new_score, type: number, direction: to_dynamics}
"""
    pair = parse_mapping(text).pairs[Kind.CONTACT]
    record = Record(System.DYNAMICS, Kind.CONTACT, "c1", {"new_score": 3})

    assert pair.to_canonical(record).values == {"score": 3.0}


def test_boolean_and_datetime_fields():
    text = """\
version: 1
objects:
  contact:
    fields:
      opted_out: {hubspot: hs_email_optout, dynamics: donotbulkemail, type: boolean}
      last_seen: {hubspot: notes_last_contacted, dynamics: lastusedincampaign, type: datetime}
"""
    pair = parse_mapping(text).pairs[Kind.CONTACT]
    hubspot = Record(System.HUBSPOT, Kind.CONTACT, "1", {"hs_email_optout": "true", "notes_last_contacted": "1706774400000"})
    canonical = pair.to_canonical(hubspot).values

    assert canonical == {"opted_out": True, "last_seen": "2024-02-01T08:00:00Z"}
    assert pair.from_canonical(System.DYNAMICS, canonical) == {"donotbulkemail": True, "lastusedincampaign": "2024-02-01T08:00:00Z"}


def test_read_lists(mapping):
    pair = mapping.pairs[Kind.DEAL]

    assert pair.hubspot_properties() == ["dealname", "amount", "closedate", "createdate", "hubspot_owner_id", "dealstage"]
    assert pair.dynamics_columns() == ["name", "estimatedvalue", "estimatedclosedate", "createdon", "_ownerid_value",
                                       "statecode", "statuscode", "salesstage"]


def test_flows_to():
    text = """\
version: 1
objects:
  company:
    fields:
      name: {hubspot: name, dynamics: name, direction: to_hubspot}
"""
    rule = parse_mapping(text).pairs[Kind.COMPANY].fields[0]

    assert rule.flows_to(System.HUBSPOT)
    assert not rule.flows_to(System.DYNAMICS)
