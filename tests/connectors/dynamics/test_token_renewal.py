"""Token renewal by msal's cache, on a fake clock that msal and the token sandbox share.

msal reads `time.time()` for token expiry and client assertion lifetimes. These tests give
its modules a `time` whose `time()` is the sandbox clock, so a token issued by the sandbox
expires for msal exactly when it expires for the sandbox.
"""

from __future__ import annotations

import time

import msal.application
import msal.individual_cache
import msal.oauth2cli.assertion
import msal.token_cache
import pytest
from structlog.testing import capture_logs

from sync.model import Kind
from sync.sandbox.token import TOKEN_LIFETIME_SECONDS
from tests.connectors.dynamics.certificates import make_certificate
from tests.connectors.dynamics.sandboxes import CLIENT_ID, running_sandboxes

# msal treats a cached token with less than this many seconds left as expired.
MSAL_REFRESH_WINDOW = 300
CONTACT_ID = "00000000-0000-4000-8000-000000000001"


class MsalTime:
    """A stand-in for the `time` module in msal's modules, whose `time()` returns the sandbox clock's time."""

    def __init__(self, clock) -> None:
        self.clock = clock

    def time(self) -> float:
        return self.clock.now.timestamp()

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def boxes(tmp_path, monkeypatch):
    with running_sandboxes(tmp_path) as sandboxes:
        fake = MsalTime(sandboxes.clock)
        for module in (msal.application, msal.token_cache, msal.individual_cache, msal.oauth2cli.assertion):
            monkeypatch.setattr(module, "time", fake)
        yield sandboxes


def _calls(connector, count):
    """Make `count` Web API calls that each need a token: queries for a contact id."""
    for _ in range(count):
        connector.read_ids(Kind.CONTACT, [CONTACT_ID])


def _renewals_by_401(logs):
    return [entry for entry in logs if entry["event"] == "dynamics.token_renewed"]


def test_many_calls_one_token(boxes):
    connector = boxes.connector()
    with capture_logs() as logs:
        _calls(connector, 25)
        boxes.clock.advance(TOKEN_LIFETIME_SECONDS - MSAL_REFRESH_WINDOW - 60)
        _calls(connector, 5)

    assert boxes.dataverse.router.counts["dataverse.query"] == 30
    assert boxes.token.router.counts["token.issue"] == 1
    assert _renewals_by_401(logs) == []


def test_refresh_window_one_new_token(boxes):
    connector = boxes.connector()
    _calls(connector, 3)
    first = connector.client.tokens.token()
    boxes.clock.advance(TOKEN_LIFETIME_SECONDS - MSAL_REFRESH_WINDOW + 10)
    # The first token is still valid for the Web API; msal renews it before it runs out.
    assert boxes.token.is_valid(first)

    with capture_logs() as logs:
        _calls(connector, 10)

    assert boxes.token.router.counts["token.issue"] == 2
    assert connector.client.tokens.token() != first
    assert _renewals_by_401(logs) == []


def test_expired_token_one_new_token(boxes):
    connector = boxes.connector()
    _calls(connector, 3)
    boxes.clock.advance(2 * 3600)

    with capture_logs() as logs:
        _calls(connector, 10)

    assert boxes.token.router.counts["token.issue"] == 2
    assert boxes.dataverse.router.counts["dataverse.query"] == 13
    assert _renewals_by_401(logs) == []


def test_certificate_token_renewed_after_hour(boxes, tmp_path):
    certificate = make_certificate()
    boxes.token.add_certificate(CLIENT_ID, certificate.certificate_pem)
    connector = boxes.connector(secret=None, client_certificate_path=certificate.write(tmp_path / "client.pem"))
    _calls(connector, 3)
    boxes.clock.advance(3600)

    # msal signs a new assertion: the first one expired 10 minutes after it was made.
    with capture_logs() as logs:
        _calls(connector, 3)

    assert boxes.token.router.counts["token.issue"] == 2
    assert _renewals_by_401(logs) == []
