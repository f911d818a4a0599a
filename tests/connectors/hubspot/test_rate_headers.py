"""Pacing from the X-HubSpot-RateLimit-* headers of every response: the window other apps
share, the daily reserve, and the account's real burst limit."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest

from sync.connectors.hubspot.errors import DailyLimitError
from sync.connectors.hubspot.limits import Pacer, RateLimitHeaders
from sync.errors import TransientError
from sync.model import Kind
from sync.sandbox.hubspot import HubSpotSandbox
from sync.sandbox.hubspot_limits import OtherApp
from tests.connectors.hubspot.conftest import TOKEN
from tests.connectors.hubspot.fakes import FakeClock, make_connector, start_server


def headers(remaining: int, *, limit: int = 100, daily: int = 250_000, daily_remaining: int = 200_000,
            interval_ms: int = 10_000) -> dict[str, str]:
    return {
        "X-HubSpot-RateLimit-Max": str(limit), "X-HubSpot-RateLimit-Remaining": str(remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval_ms),
        "X-HubSpot-RateLimit-Daily": str(daily), "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
    }


def make_pacer(clock: FakeClock, tier: str = "starter", timezone: str = "UTC") -> Pacer:
    return Pacer(tier, clock=clock.monotonic, sleep=clock.sleep, timezone=timezone, wall_clock=clock.now)


def test_parse_any_case():
    """Header names match whatever their case; unreadable values count as missing."""
    parsed = RateLimitHeaders.parse({"x-hubspot-ratelimit-remaining": "7", "X-HUBSPOT-RATELIMIT-MAX": "oops",
                                     "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"})

    assert parsed.remaining == 7
    assert parsed.max is None
    assert parsed.interval_seconds == 10.0
    assert parsed.daily is None


def test_low_remaining_waits_interval(clock):
    """Remaining at the reserve (5 of 100) makes the next request wait the whole interval."""
    pacer = make_pacer(clock)

    pacer.observe(headers(5), is_search=False)
    pacer.before(False)

    assert clock.sleeps == [10.0]


def test_remaining_above_reserve_no_wait(clock):
    """Remaining above the reserve sends at once."""
    pacer = make_pacer(clock)

    pacer.observe(headers(6), is_search=False)
    pacer.before(False)

    assert clock.sleeps == []


def test_wait_counts_from_response(clock):
    """Time already gone since the low response is taken off the wait."""
    pacer = make_pacer(clock)

    pacer.observe(headers(0, interval_ms=8_000), is_search=False)
    clock.advance(3)
    pacer.before(False)

    assert clock.sleeps == [5.0]


def test_search_not_held(clock):
    """Search is exempt from the ten-second window, so a low Remaining does not hold it."""
    pacer = make_pacer(clock)

    pacer.observe(headers(0), is_search=False)
    pacer.before(True)

    assert clock.sleeps == []


def test_search_headers_ignored_for_window(clock):
    """Headers on a search response never hold the ten-second window."""
    pacer = make_pacer(clock)

    pacer.observe(headers(0), is_search=True)
    pacer.before(False)

    assert clock.sleeps == []


def test_account_max_sizes_own_window(clock):
    """The account's Max header replaces the tier setting for crmsync's own window."""
    pacer = make_pacer(clock, tier="professional")

    pacer.observe(headers(50, limit=100), is_search=False)

    assert pacer.burst.max_requests == 90


def test_daily_reserve_raises(clock):
    """Daily-Remaining at 1% of the daily limit stops before sending, naming the reset in the account's zone."""
    pacer = make_pacer(clock, timezone="Europe/Paris")

    pacer.observe(headers(50, daily=250_000, daily_remaining=2_500), is_search=False)
    with pytest.raises(DailyLimitError) as caught:
        pacer.before(False, "batch upsert contacts")

    error = caught.value
    assert error.resets_at == datetime(2024, 3, 1, 23, 0, tzinfo=UTC)
    assert error.reserve == 2_500
    assert "batch upsert contacts was not sent" in str(error)
    assert "2024-03-02 00:00 Europe/Paris (2024-03-01 23:00 UTC)" in str(error)
    assert clock.sleeps == []


def test_daily_reserve_lifts_after_reset(clock):
    """After midnight in the account's time zone, requests go out again."""
    pacer = make_pacer(clock, timezone="Europe/Paris")
    pacer.observe(headers(50, daily_remaining=100), is_search=False)

    clock.advance(11 * 3600)
    pacer.before(False)

    assert pacer.daily.stopped_until is None


def test_daily_above_reserve_sends(clock):
    """Daily-Remaining one above the reserve still sends."""
    pacer = make_pacer(clock)

    pacer.observe(headers(50, daily=250_000, daily_remaining=2_501), is_search=False)
    pacer.before(False)

    assert pacer.daily.stopped_until is None


def read_many(connector, record_id: str, count: int) -> None:
    for _ in range(count):
        connector.read_ids(Kind.COMPANY, [record_id])


def test_other_app_burst_no_429(clock):
    """Another app took 95 of Starter's 100: the connector waits for the window instead of getting 429."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, tier="starter")
    record_id = sandbox.add_record("companies", {"name": "Acme"})
    server = start_server(sandbox.router)
    try:
        connector = make_connector(server.url, clock, TOKEN, tier="starter")
        sandbox.gate.other_app_burst(95)
        read_many(connector, record_id, 20)
    finally:
        server.stop()

    assert sandbox.router.counts["hubspot.batch_read"] == 20
    assert not sandbox.gate.rejections
    assert 10.0 in clock.sleeps


def run_beside_other_app(clock: FakeClock, *, read_headers: bool) -> tuple[HubSpotSandbox, OtherApp]:
    """Make 300 calls on Starter while another app sends 70 requests per 10 s."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, tier="starter")
    record_id = sandbox.add_record("companies", {"name": "Acme"})
    server = start_server(sandbox.router)
    try:
        connector = make_connector(server.url, clock, TOKEN, tier="starter")
        if not read_headers:
            connector.pacer.observe = lambda *args, **kwargs: None
        other = sandbox.gate.other_app(7)
        clock.advance(10)  # the other app has filled its share of the window before crmsync starts
        with contextlib.suppress(TransientError):
            read_many(connector, record_id, 300)
    finally:
        server.stop()
    return sandbox, other


def test_other_app_steady_no_429(clock):
    """Another app sending 70 of Starter's 100 per 10 s: 300 calls get no 429, and neither does the other app."""
    sandbox, other = run_beside_other_app(clock, read_headers=True)

    assert sandbox.router.counts["hubspot.batch_read"] == 300
    assert not sandbox.gate.rejections
    assert other.rejected == 0


def test_other_app_without_headers_429(clock):
    """The same calls with the headers ignored do get 429s: the client's own window cannot see the other app."""
    sandbox, _ = run_beside_other_app(clock, read_headers=False)

    assert sandbox.gate.rejections["TEN_SECONDLY_ROLLING"] > 0


def test_daily_reserve_against_sandbox(clock):
    """A daily limit of 300 stops the connector with 3 requests left, before any 429 DAILY."""
    sandbox = HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic, daily_limit=300)
    record_id = sandbox.add_record("companies", {"name": "Acme"})
    server = start_server(sandbox.router)
    try:
        connector = make_connector(server.url, clock, TOKEN)
        with pytest.raises(DailyLimitError) as caught:
            read_many(connector, record_id, 400)
    finally:
        server.stop()

    assert sandbox.router.counts["hubspot.batch_read"] == 297
    assert sandbox.gate.daily_used == 297
    assert not sandbox.gate.rejections
    assert caught.value.remaining == 3
