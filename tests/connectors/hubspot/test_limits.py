"""HubSpot's rate limits, scopes and faults, against the sandbox with the real client."""

from __future__ import annotations

import pytest

from sync.connectors.hubspot.errors import DailyLimitError
from sync.errors import ConfigError, TransientError
from sync.model import Kind
from sync.sandbox.hubspot import HubSpotSandbox
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import FakeClock, make_connector, start_server



@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def run_against(sandbox: HubSpotSandbox, clock: FakeClock, action, **settings: object):
    server = start_server(sandbox.router)
    try:
        return action(make_connector(server.url, clock, TOKEN, **settings))
    finally:
        server.stop()


def test_burst_paced_starter(clock):
    """A burst of 250 calls on starter is paced under 100 per 10 s, and no call gets a 429."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, tier="starter")
    record_id = sandbox.add_record("companies", {"name": "Acme"})

    def burst(connector):
        for _ in range(250):
            connector.read_ids(Kind.COMPANY, [record_id])

    run_against(sandbox, clock, burst, tier="starter")

    assert sandbox.router.counts["hubspot.batch_read"] == 250
    assert not sandbox.gate.rejections
    assert sum(clock.sleeps) >= 20


def test_search_paced(clock):
    """Twenty searches in a row stay under the search limit of 5 per second."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)

    def searches(connector):
        for _ in range(20):
            connector.read(Kind.CONTACT, "2024-03-01T00:00:00Z")

    run_against(sandbox, clock, searches)

    assert sandbox.router.counts["hubspot.search"] == 20
    assert not sandbox.gate.rejections


def test_429_waits_interval(clock):
    """A 429 without Retry-After waits the window that X-HubSpot-RateLimit-Interval-Milliseconds names."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)
    sandbox.inject("/crm/v3/objects/companies$", 429)

    run_against(sandbox, clock, lambda connector: connector.read(Kind.COMPANY, None))

    assert clock.sleeps == [10.0]


def test_daily_reserve_stops_first(clock):
    """The daily reserve stops the connector before HubSpot has to return 429 DAILY."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, daily_limit=3)

    def read_many(connector):
        for _ in range(5):
            connector.read(Kind.COMPANY, None)

    with pytest.raises(DailyLimitError) as caught:
        run_against(sandbox, clock, read_many)

    assert isinstance(caught.value, TransientError)
    assert "daily limit of 3 requests" in str(caught.value)
    assert "2024-03-02 00:00 UTC" in str(caught.value)
    assert clock.sleeps == []
    assert sandbox.router.counts["hubspot.list"] == 2
    assert not sandbox.gate.rejections


def test_daily_429_not_retried(clock):
    """A 429 DAILY raises DailyLimitError at once, and later calls wait for the reset without sending."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)
    body = {"status": "error", "message": "You have reached your daily limit.", "errorType": "RATE_LIMIT",
            "policyName": "DAILY"}
    sandbox.inject("/crm/v3/objects/companies$", 429, body=body)
    server = start_server(sandbox.router)
    try:
        connector = make_connector(server.url, clock, TOKEN)
        with pytest.raises(DailyLimitError) as first:
            connector.read(Kind.COMPANY, None)
        with pytest.raises(DailyLimitError):
            connector.read(Kind.CONTACT, None)
        clock.advance(12 * 3600)
        connector.read(Kind.CONTACT, None)
    finally:
        server.stop()

    assert first.value.resets_at.isoformat() == "2024-03-02T00:00:00+00:00"
    assert clock.sleeps == []
    assert sandbox.router.counts["hubspot.list"] == 2


def test_missing_scope_config_error(clock):
    """A 403 names the missing scope and how to grant it."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic,
                             scopes={"crm.objects.contacts.read"})

    with pytest.raises(ConfigError) as caught:
        run_against(sandbox, clock, lambda connector: connector.read(Kind.DEAL, None))

    assert "crm.objects.deals.read" in str(caught.value)
    assert caught.value.problems[0].field == "hubspot.access_token"


def test_timeout_retried(clock):
    """A request that outlives the client timeout is retried and the read succeeds."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)
    sandbox.add_record("companies", {"name": "Acme"})
    sandbox.inject("/crm/v3/objects/companies$", 0, delay_seconds=0.5)

    records = run_against(sandbox, clock, lambda connector: connector.read(Kind.COMPANY, None).records,
                          timeout_seconds=0.2)

    assert [record.values["name"] for record in records] == ["Acme"]
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504, -1])
def test_fault_recovers(clock, status):
    """Each injected 5xx or dropped connection on a batch write is retried until it succeeds."""
    from sync.connectors.base import WriteOp, WriteRequest

    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)
    sandbox.inject("/batch/upsert$", status, times=2)
    request = WriteRequest(WriteOp.CREATE, {"email": "a@example.com"}, key="a@example.com")

    results = run_against(sandbox, clock, lambda connector: connector.write(Kind.CONTACT, [request]))

    assert results[0].ok
    assert len(sandbox.records("contacts")) == 1
