"""Type conversions between raw values and canonical values, both ways."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from sync.mapping.scalars import (
    InvalidValue,
    boolean_from_canonical,
    boolean_to_canonical,
    date_from_canonical,
    date_to_canonical,
    datetime_from_canonical,
    datetime_to_canonical,
    format_number,
    number_from_canonical,
    number_to_canonical,
    string_to_canonical,
    scalar_from_canonical,
)
from sync.mapping.terms import FieldType
from sync.mapping.transforms import Transform
from sync.model import System

UTC_ZONE = ZoneInfo("UTC")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
PARIS = ZoneInfo("Europe/Paris")


# --- string ---


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_string_blank_is_none(raw):
    assert string_to_canonical(raw, [Transform.TRIM]) is None


def test_string_empty_without_trim_is_none():
    assert string_to_canonical("") is None


def test_string_applies_transforms():
    assert string_to_canonical("  Ada ", [Transform.TRIM, Transform.UPPERCASE]) == "ADA"


def test_string_from_number():
    assert string_to_canonical(42) == "42"


def test_string_rejects_boolean():
    with pytest.raises(InvalidValue, match="type: boolean"):
        string_to_canonical(True)


def test_string_rejects_list():
    with pytest.raises(InvalidValue, match="expected text"):
        string_to_canonical(["a"])


@pytest.mark.parametrize(("system", "expected"), [(System.HUBSPOT, ""), (System.DYNAMICS, None)])
def test_string_none_clears(system, expected):
    assert scalar_from_canonical(FieldType.STRING, None, system, UTC_ZONE) == expected


# --- number ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1054", 1054.0), ("1054.50", 1054.5), (" -3.25 ", -3.25), (".5", 0.5), (7, 7.0), (2.5, 2.5), ("+12", 12.0)],
)
def test_number_valid(raw, expected):
    assert number_to_canonical(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_number_blank_is_none(raw):
    assert number_to_canonical(raw) is None


@pytest.mark.parametrize("raw", ["1,054.50", "$10", "1e3", "ten", "nan", "1.2.3", True, [1]])
def test_number_invalid(raw):
    with pytest.raises(InvalidValue):
        number_to_canonical(raw)


def test_number_infinite_invalid():
    with pytest.raises(InvalidValue, match="finite"):
        number_to_canonical(float("inf"))


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1054.0, "1054"), (1054.5, "1054.5"), (0.1, "0.1"), (-2.0, "-2"), (1e20, "100000000000000000000"), (1.5e-7, "0.00000015")],
)
def test_number_to_hubspot_text(number, expected):
    assert format_number(number) == expected


def test_number_to_dynamics_whole_is_int():
    value = number_from_canonical(1054.0, System.DYNAMICS)

    assert value == 1054
    assert isinstance(value, int)


def test_number_to_dynamics_fraction():
    assert number_from_canonical(99.95, System.DYNAMICS) == 99.95


def test_number_round_trip_hubspot():
    assert number_to_canonical(number_from_canonical(1054.5, System.HUBSPOT)) == 1054.5


# --- date ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2017-03-01", "2017-03-01"),
        ("2017-03-01T00:00:00Z", "2017-03-01"),
        ("2017-03-01T23:59:59.999Z", "2017-03-01"),
        ("2017-03-01T10:00:00+02:00", "2017-03-01"),
        ("1488326400000", "2017-03-01"),
        (1488326400000, "2017-03-01"),
        (date(2017, 3, 1), "2017-03-01"),
        (datetime(2017, 3, 1, 12, tzinfo=UTC), "2017-03-01"),
    ],
)
def test_date_from_hubspot_forms(raw, expected):
    assert date_to_canonical(raw, UTC_ZONE) == expected


def test_date_late_west_of_utc_keeps_day():
    """22:30 on 1 March in Los Angeles is 06:30 on 2 March in UTC; the day stays 1 March."""
    assert date_to_canonical("2017-03-02T06:30:00Z", LOS_ANGELES) == "2017-03-01"


def test_date_late_west_round_trip():
    sent = date_from_canonical("2017-03-01", System.HUBSPOT, LOS_ANGELES)

    assert date_to_canonical(sent, LOS_ANGELES) == "2017-03-01"


def test_date_only_ignores_timezone():
    assert date_to_canonical("2017-03-01", LOS_ANGELES) == "2017-03-01"


def test_date_epoch_in_zone():
    """Epoch 1488326400000 is 2017-03-01T00:00Z, which is still 28 February in Los Angeles."""
    assert date_to_canonical(1488326400000, LOS_ANGELES) == "2017-02-28"


def test_date_to_hubspot_utc_midnight():
    assert date_from_canonical("2017-03-01", System.HUBSPOT, UTC_ZONE) == "2017-03-01T00:00:00Z"


def test_date_to_hubspot_zone_midnight():
    assert date_from_canonical("2017-03-01", System.HUBSPOT, LOS_ANGELES) == "2017-03-01T08:00:00Z"


def test_date_to_hubspot_summer_offset():
    assert date_from_canonical("2017-07-01", System.HUBSPOT, PARIS) == "2017-06-30T22:00:00Z"


def test_date_to_dynamics():
    assert date_from_canonical("2017-03-01", System.DYNAMICS, LOS_ANGELES) == "2017-03-01"


def test_date_from_dynamics_datetime():
    assert date_to_canonical("2017-03-01T08:00:00Z", LOS_ANGELES) == "2017-03-01"


@pytest.mark.parametrize("raw", ["01/03/2017", "2017-13-01", "soon", {"d": 1}])
def test_date_invalid(raw):
    with pytest.raises(InvalidValue):
        date_to_canonical(raw, UTC_ZONE)


def test_date_epoch_out_of_range():
    with pytest.raises(InvalidValue, match="out of range"):
        date_to_canonical("99999999999999999999", UTC_ZONE)


@pytest.mark.parametrize(("system", "expected"), [(System.HUBSPOT, ""), (System.DYNAMICS, None)])
def test_date_none_clears(system, expected):
    assert date_from_canonical(None, system, UTC_ZONE) == expected


# --- datetime ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-01T08:00:00.000Z", "2024-02-01T08:00:00Z"),
        ("2024-02-01T09:00:00+01:00", "2024-02-01T08:00:00Z"),
        ("2024-02-01T08:00:00", "2024-02-01T08:00:00Z"),
        ("1706774400000", "2024-02-01T08:00:00Z"),
        ("2024-02-01", "2024-02-01T00:00:00Z"),
    ],
)
def test_datetime_forms(raw, expected):
    assert datetime_to_canonical(raw, UTC_ZONE) == expected


def test_datetime_date_only_in_zone():
    assert datetime_to_canonical("2024-02-01", LOS_ANGELES) == "2024-02-01T08:00:00Z"


def test_datetime_to_both_systems():
    hubspot = datetime_from_canonical("2024-02-01T08:00:00Z", System.HUBSPOT, UTC_ZONE)
    dynamics = datetime_from_canonical("2024-02-01T08:00:00Z", System.DYNAMICS, UTC_ZONE)

    assert hubspot == "2024-02-01T08:00:00Z"
    assert dynamics == "2024-02-01T08:00:00Z"


# --- boolean ---


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("False", False), (" TRUE ", True), (True, True), (False, False)]
)
def test_boolean_forms(raw, expected):
    assert boolean_to_canonical(raw) is expected


@pytest.mark.parametrize("raw", ["yes", 1, "0"])
def test_boolean_invalid(raw):
    with pytest.raises(InvalidValue, match="true or false"):
        boolean_to_canonical(raw)


def test_boolean_blank_is_none():
    assert boolean_to_canonical("") is None


@pytest.mark.parametrize(
    ("system", "value", "expected"),
    [(System.HUBSPOT, True, "true"), (System.HUBSPOT, False, "false"), (System.DYNAMICS, True, True), (System.HUBSPOT, None, "")],
)
def test_boolean_to_systems(system, value, expected):
    assert boolean_from_canonical(value, system) == expected
