"""Enum value maps both ways: subset matching, entry directions and unmapped rules."""

import textwrap

import pytest

from sync.errors import RecordError
from sync.mapping import parse_mapping
from sync.model import Kind, Record, System

STAGE = """\
version: 1
objects:
  deal:
    fields:
      stage:
        hubspot: dealstage
        dynamics: [statecode, statuscode, salesstage]
        type: enum
        values:
          - {hubspot: closedwon, dynamics: {statecode: 1, statuscode: 3}}
          - {hubspot: closedlost, dynamics: {statecode: 2}}
          - {hubspot: appointmentscheduled, dynamics: {statecode: 0, salesstage: 0}}
          - {hubspot: contractsent, dynamics: {statecode: 0, salesstage: 3}}
          - {hubspot: decisionmakerboughtin, dynamics: {statecode: 0, salesstage: 3}, direction: to_dynamics}
          - {hubspot: legacywon, dynamics: {statecode: 1, statuscode: 7}, direction: to_hubspot}
"""


def stage_pair(unmapped: str = ""):
    text = STAGE + (textwrap.indent(f"unmapped: {unmapped}\n", " " * 8) if unmapped else "")
    return parse_mapping(text).pairs[Kind.DEAL]


def read(pair, system, values):
    return pair.to_canonical(Record(system, Kind.DEAL, "r1", values))


def test_dynamics_row_subset_match():
    canonical = read(stage_pair(), System.DYNAMICS, {"statecode": 2, "statuscode": 5, "salesstage": 1})

    assert canonical.values == {"stage": "closedlost"}


def test_dynamics_first_match_wins():
    canonical = read(stage_pair(), System.DYNAMICS, {"statecode": 0, "statuscode": 1, "salesstage": 3})

    assert canonical.values["stage"] == "contractsent"


def test_dynamics_needs_every_entry_column():
    """A won row with statuscode 4 lacks the closedwon entry's statuscode 3."""
    canonical = read(stage_pair("skip"), System.DYNAMICS, {"statecode": 1, "statuscode": 4, "salesstage": None})

    assert "stage" not in canonical.values


def test_dynamics_text_numbers_match():
    canonical = read(stage_pair(), System.DYNAMICS, {"statecode": "2", "statuscode": None, "salesstage": None})

    assert canonical.values["stage"] == "closedlost"


def test_dynamics_all_null_is_none():
    canonical = read(stage_pair(), System.DYNAMICS, {"statecode": None, "statuscode": None, "salesstage": None})

    assert canonical.values == {"stage": None}


def test_hubspot_value_is_canonical():
    canonical = read(stage_pair(), System.HUBSPOT, {"dealstage": "decisionmakerboughtin"})

    assert canonical.values == {"stage": "decisionmakerboughtin"}


def test_to_dynamics_writes_entry_columns():
    raw = stage_pair().from_canonical(System.DYNAMICS, {"stage": "closedwon"})

    assert raw == {"statecode": 1, "statuscode": 3}


def test_to_dynamics_many_to_one():
    raw = stage_pair().from_canonical(System.DYNAMICS, {"stage": "decisionmakerboughtin"})

    assert raw == {"statecode": 0, "salesstage": 3}


def test_to_hubspot_only_entry_not_written_to_dynamics():
    with pytest.raises(RecordError, match="legacywon"):
        stage_pair().from_canonical(System.DYNAMICS, {"stage": "legacywon"})


def test_to_dynamics_only_entry_not_written_to_hubspot():
    with pytest.raises(RecordError, match="decisionmakerboughtin"):
        stage_pair().from_canonical(System.HUBSPOT, {"stage": "decisionmakerboughtin"})


def test_to_hubspot_writes_value():
    assert stage_pair().from_canonical(System.HUBSPOT, {"stage": "closedlost"}) == {"dealstage": "closedlost"}


def test_none_clears_all_columns():
    raw = stage_pair().from_canonical(System.DYNAMICS, {"stage": None})

    assert raw == {"statecode": None, "statuscode": None, "salesstage": None}


# --- unmapped rules ---


def test_reject_on_read_gives_record_error():
    canonical = read(stage_pair("reject"), System.HUBSPOT, {"dealstage": "mystery"})
    error = canonical.errors[0]

    assert canonical.values == {}
    assert error.category == "unmapped_value"
    assert error.field == "stage"
    assert error.record_id == "r1"
    assert "mystery" in error.reason


def test_reject_is_default_rule():
    canonical = read(stage_pair(), System.DYNAMICS, {"statecode": 9, "statuscode": None, "salesstage": None})

    assert len(canonical.errors) == 1


def test_skip_on_read_leaves_field_out():
    canonical = read(stage_pair("skip"), System.HUBSPOT, {"dealstage": "mystery"})

    assert canonical.values == {}
    assert canonical.errors == []


def test_default_on_read_from_hubspot():
    canonical = read(stage_pair("{default: closedlost}"), System.HUBSPOT, {"dealstage": "mystery"})

    assert canonical.values == {"stage": "closedlost"}


def test_default_on_read_from_dynamics():
    canonical = read(stage_pair("{default: closedlost}"), System.DYNAMICS, {"statecode": 9, "salesstage": None})

    assert canonical.values == {"stage": "closedlost"}


def test_reject_on_write_raises():
    with pytest.raises(RecordError) as caught:
        stage_pair("reject").from_canonical(System.DYNAMICS, {"stage": "mystery"})

    assert caught.value.field == "stage"


def test_skip_on_write_leaves_field_out():
    assert stage_pair("skip").from_canonical(System.DYNAMICS, {"stage": "mystery"}) == {}


def test_default_on_write_uses_default_entry():
    raw = stage_pair("{default: closedlost}").from_canonical(System.DYNAMICS, {"stage": "mystery"})

    assert raw == {"statecode": 2}


def test_single_column_scalar_entries():
    text = """\
version: 1
objects:
  contact:
    fields:
      status:
        hubspot: hs_lead_status
        dynamics: leadsourcecode
        type: enum
        values:
          - {hubspot: NEW, dynamics: 1}
          - {hubspot: OPEN, dynamics: 2}
"""
    pair = parse_mapping(text).pairs[Kind.CONTACT]
    canonical = pair.to_canonical(Record(System.DYNAMICS, Kind.CONTACT, "c1", {"leadsourcecode": 2}))

    assert canonical.values == {"status": "OPEN"}
    assert pair.from_canonical(System.DYNAMICS, {"status": "NEW"}) == {"leadsourcecode": 1}


def test_numeric_hubspot_stage_ids():
    text = STAGE.replace("hubspot: closedlost", "hubspot: 123456")
    pair = parse_mapping(text).pairs[Kind.DEAL]
    canonical = pair.to_canonical(Record(System.HUBSPOT, Kind.DEAL, "d1", {"dealstage": "123456"}))

    assert canonical.values == {"stage": "123456"}


def test_to_hubspot_entry_read_from_dynamics():
    canonical = read(stage_pair(), System.DYNAMICS, {"statecode": 1, "statuscode": 7, "salesstage": None})

    assert canonical.values == {"stage": "legacywon"}
