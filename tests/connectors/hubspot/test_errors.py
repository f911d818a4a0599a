"""The HubSpot status table, row by row."""

from __future__ import annotations

import pytest

from sync.connectors.hubspot.errors import ErrorFamily, error_for, family_of, retry_after_seconds
from sync.errors import ConfigError, RecordError, TransientError


@pytest.mark.parametrize(("status", "family"), [
    (400, ErrorFamily.RECORD), (401, ErrorFamily.CONFIG), (403, ErrorFamily.CONFIG),
    (404, ErrorFamily.RECORD), (409, ErrorFamily.RECORD), (429, ErrorFamily.TRANSIENT),
    (500, ErrorFamily.TRANSIENT), (502, ErrorFamily.TRANSIENT), (503, ErrorFamily.TRANSIENT),
    (504, ErrorFamily.TRANSIENT), (599, ErrorFamily.TRANSIENT), (418, ErrorFamily.RECORD),
])
def test_family_row(status, family):
    """Each status maps to the family that decides what happens next."""
    assert family_of(status) is family


@pytest.mark.parametrize(("status", "error_type"), [
    (400, RecordError), (401, ConfigError), (403, ConfigError), (409, RecordError), (429, TransientError),
    (503, TransientError),
])
def test_error_class_row(status, error_type):
    """error_for builds the error class of the status's family."""
    assert isinstance(error_for(status, '{"category": "X", "message": "m"}', operation="read"), error_type)


def test_record_error_category():
    """A record error keeps HubSpot's category and message."""
    error = error_for(409, '{"category": "CONFLICT", "message": "Contact already exists. Existing ID: 5"}',
                      operation="create contacts", kind="contact")

    assert error.category == "CONFLICT"
    assert "Existing ID: 5" in str(error)


def test_retry_after_header():
    """Retry-After wins over the window length."""
    assert retry_after_seconds({"Retry-After": "3", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}) == 3.0


def test_retry_after_interval():
    """Without Retry-After, the rate-limit window length is the wait."""
    assert retry_after_seconds({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}) == 10.0


def test_unreadable_body():
    """A non-JSON body still gives a message with the status."""
    assert "HTTP 502" in str(error_for(502, "<html>", operation="search deals"))


def test_refused_connection_names_host_and_port():
    import urllib3

    from sync.connectors.hubspot.retry import _cause

    pool = urllib3.PoolManager(retries=False)
    try:
        pool.request("GET", "http://127.0.0.1:9/crm/v3/objects/contacts")
    except urllib3.exceptions.HTTPError as error:
        message = _cause(error)
    assert message.startswith("connection refused by 127.0.0.1:9")
