"""`$filter` and `$orderby` evaluation of the Dataverse sandbox."""

import pytest

from sync.sandbox.dataverse_filter import QueryError, parse_filter, parse_orderby, sort_rows
from sync.sandbox.dataverse_schema import TABLES

OPPORTUNITIES = TABLES["opportunities"]
ROWS = [
    {"opportunityid": "a", "name": "Alpha deal", "estimatedvalue": 100.0, "estimatedclosedate": "2024-06-30",
     "modifiedon": "2024-05-01T10:00:00Z", "_customerid_value": "6f2b1d0a-1111-2222-3333-444455556666"},
    {"opportunityid": "b", "name": "Beta", "estimatedvalue": 2500.5, "estimatedclosedate": "2024-01-15",
     "modifiedon": "2024-05-02T10:00:00Z", "_customerid_value": None},
    {"opportunityid": "c", "name": None, "estimatedvalue": None, "estimatedclosedate": None,
     "modifiedon": "2024-04-30T23:59:59Z", "_customerid_value": None},
]


def _ids(text):
    predicate = parse_filter(text, OPPORTUNITIES)
    return [row["opportunityid"] for row in ROWS if predicate(row)]


@pytest.mark.parametrize(("text", "expected"), [
    ("name eq 'alpha deal'", ["a"]),
    ("name ne 'Beta'", ["a", "c"]),
    ("contains(name, 'ET')", ["b"]),
    ("startswith(name,'al') or endswith(name,'ta')", ["a", "b"]),
    ("estimatedvalue gt 100", ["b"]),
    ("estimatedvalue ge 100 and estimatedvalue le 2500.5", ["a", "b"]),
    ("not (estimatedvalue lt 200)", ["b", "c"]),
    ("estimatedclosedate lt 2024-03-01", ["b"]),
    ("modifiedon ge 2024-05-01T00:00:00Z", ["a", "b"]),
    ("name eq null", ["c"]),
    ("_customerid_value eq 6F2B1D0A-1111-2222-3333-444455556666", ["a"]),
    ("_customerid_value ne null", ["a"]),
    ("100 lt estimatedvalue", ["b"]),
])
def test_filter_cases(text, expected):
    assert _ids(text) == expected


@pytest.mark.parametrize("text", ["name eq", "nosuch eq 1", "substringof('a', name)", "name eq name"])
def test_filter_invalid(text):
    with pytest.raises(QueryError):
        parse_filter(text, OPPORTUNITIES)


def test_orderby_desc_nulls_last():
    order = parse_orderby("estimatedvalue desc", OPPORTUNITIES)
    assert [row["opportunityid"] for row in sort_rows(ROWS, order, "opportunityid")] == ["b", "a", "c"]


def test_orderby_invalid_direction():
    with pytest.raises(QueryError):
        parse_orderby("name up", OPPORTUNITIES)
