"""Pacing, so that a healthy run never receives a 429 and never uses up the daily limit.

HubSpot counts requests in a rolling ten-second window per account, search separately per
second, and every request against a daily limit. Two sources steer the pace:

- crmsync's own requests, in rolling-window limiters. Unlike a refilling token bucket, a
  rolling window can never send more than `max_requests` within any `period_seconds`.
- the `X-HubSpot-RateLimit-*` headers of every response, which count the requests of every
  app on the account. When the ten-second window is down to its reserve, the pacer waits
  for a whole interval; when the daily limit is down to its reserve, it stops the run.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from sync.connectors.hubspot.errors import DailyLimitError

log = structlog.get_logger(__name__)

# Requests per 10 seconds by tier (HubSpot's 2024 limits for private apps).
TIER_BURST = {"starter": 100, "professional": 190, "enterprise": 190}
# Share of the account's limit that crmsync uses, leaving room for other apps on the account.
BURST_SHARE = 0.9
# HubSpot documents 5 search requests per second; one less leaves headroom for clock skew.
SEARCH_PER_SECOND = 4
# Share of X-HubSpot-RateLimit-Max left to other apps: at or below it, the pacer waits for
# the window to pass. 5 requests on Starter, 10 on Professional and Enterprise.
BURST_RESERVE_SHARE = 0.05
# Share of the daily limit left to other apps and to people: at or below it, the run stops.
# 2,500 requests on Starter, 6,500 on Professional, 10,000 on Enterprise.
DAILY_RESERVE_SHARE = 0.01
# Length of HubSpot's burst window, when a response does not name it.
DEFAULT_INTERVAL_SECONDS = 10.0


class RollingWindowLimiter:
    """Blocks until a request fits: at most `max_requests` in any `period_seconds`.

    `clock` is a monotonic clock in seconds and `sleep` waits; tests pass fakes of both.
    """

    def __init__(self, max_requests: int, period_seconds: float, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if max_requests < 1:
            raise ValueError(f"max_requests must be at least 1, got {max_requests}")
        self.max_requests = max_requests
        self.period_seconds = period_seconds
        self.clock = clock
        self.sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot and take it; return the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self.clock()
                while self._sent and self._sent[0] <= now - self.period_seconds:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    return waited
                pause = self._sent[0] + self.period_seconds - now
                self.sleep(pause)
                waited += pause


@dataclass(frozen=True)
class RateLimitHeaders:
    """The `X-HubSpot-RateLimit-*` figures of one response; None where a header is missing or unreadable."""

    max: int | None = None
    remaining: int | None = None
    interval_seconds: float | None = None
    daily: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateLimitHeaders:
        """Read the headers of one response; names are compared without regard to case."""
        lowered = {str(name).lower(): value for name, value in (headers or {}).items()}

        def number(name: str) -> int | None:
            value = lowered.get(f"x-hubspot-ratelimit-{name}")
            try:
                return int(str(value).strip()) if value is not None else None
            except ValueError:
                return None

        interval = number("interval-milliseconds")
        return cls(max=number("max"), remaining=number("remaining"),
                   interval_seconds=interval / 1000 if interval else None,
                   daily=number("daily"), daily_remaining=number("daily-remaining"))


class SharedWindow:
    """Waits while HubSpot reports the account's ten-second window down to its reserve.

    Other apps on the account count in the same window, so crmsync's own limiter cannot
    see them. HubSpot does not say when the requests in its window were made. All of them
    have left the window one interval after the response, so that is the wait.
    """

    def __init__(self, *, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.clock = clock
        self.sleep = sleep
        self._until = float("-inf")
        self._lock = threading.Lock()

    def observe(self, limits: RateLimitHeaders) -> None:
        if limits.remaining is None or limits.max is None:
            return
        reserve = max(math.ceil(limits.max * BURST_RESERVE_SHARE), 1)
        if limits.remaining > reserve:
            return
        interval = limits.interval_seconds or DEFAULT_INTERVAL_SECONDS
        with self._lock:
            self._until = max(self._until, self.clock() + interval)
        log.info("hubspot.burst_reserve_reached", remaining=limits.remaining, limit=limits.max,
                 reserve=reserve, wait_seconds=interval)

    def wait(self) -> float:
        """Wait until the reported window has passed; return the seconds waited."""
        with self._lock:
            pause = self._until - self.clock()
        if pause <= 0:
            return 0.0
        self.sleep(pause)
        return pause


class DailyBudget:
    """Stops requests once HubSpot reports the daily limit down to its reserve, until it resets.

    HubSpot resets the daily limit at midnight in the account's time zone, `timezone`.
    `wall_clock` returns the current aware time.
    """

    def __init__(self, timezone: str, wall_clock: Callable[[], datetime]):
        self.zone = ZoneInfo(timezone)
        self.wall_clock = wall_clock
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reserve: int | None = None
        # While set and in the future, no request is sent.
        self.stopped_until: datetime | None = None

    def observe(self, limits: RateLimitHeaders) -> None:
        if limits.daily is None or limits.daily_remaining is None:
            return
        self.limit, self.remaining = limits.daily, limits.daily_remaining
        self.reserve = max(math.ceil(limits.daily * DAILY_RESERVE_SHARE), 1)
        if limits.daily_remaining <= self.reserve and self.stopped_until is None:
            self.stopped_until = self.resets_at()
            log.warning("hubspot.daily_reserve_reached", remaining=self.remaining, limit=self.limit,
                        reserve=self.reserve, resets_at=self.stopped_until.isoformat())

    def check(self, operation: str) -> None:
        """Raise DailyLimitError, without sending anything, while the daily limit is at its reserve."""
        if self.stopped_until is None:
            return
        if self.wall_clock() >= self.stopped_until:
            log.info("hubspot.daily_limit_reset", reset_at=self.stopped_until.isoformat())
            self.stopped_until = None
            return
        raise DailyLimitError(operation, limit=self.limit, remaining=self.remaining, reserve=self.reserve,
                              resets_at=self.stopped_until, timezone=self.zone.key)

    def used_up(self, operation: str, limit: int | None) -> DailyLimitError:
        """Stop sending until the reset after HubSpot returned 429 DAILY; return the error to raise."""
        if self.stopped_until is None:
            self.stopped_until = self.resets_at()
        return DailyLimitError(operation, limit=limit or self.limit, remaining=0, resets_at=self.stopped_until,
                               timezone=self.zone.key, status=429)

    def resets_at(self) -> datetime:
        """Return the next midnight in the account's time zone, in UTC."""
        local = self.wall_clock().astimezone(self.zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=self.zone)
        return midnight.astimezone(UTC)


class Pacer:
    """The limits of one HubSpot account: crmsync's own ten-second and search windows, the
    window all apps share, and the daily limit.

    `timezone` is the account's time zone and `wall_clock` returns the current aware time;
    both only matter for the daily reset.
    """

    def __init__(self, tier: str, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, timezone: str = "UTC",
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.burst = RollingWindowLimiter(_own_share(TIER_BURST[tier]), 10.0, clock=clock, sleep=sleep)
        self.search = RollingWindowLimiter(SEARCH_PER_SECOND, 1.0, clock=clock, sleep=sleep)
        self.shared = SharedWindow(clock=clock, sleep=sleep)
        self.daily = DailyBudget(timezone, wall_clock)

    def before(self, is_search: bool, operation: str = "request") -> None:
        """Wait until the next request fits; search is exempt from the ten-second window.

        Raises DailyLimitError while the daily limit is down to its reserve.
        """
        self.daily.check(operation)
        if is_search:
            self.search.acquire()
            return
        self.shared.wait()
        self.burst.acquire()

    def observe(self, headers: Mapping[str, str] | None, *, is_search: bool) -> None:
        """Take in the rate-limit headers of one response, whatever its status.

        NOTE: whether HubSpot sends these headers on search responses, and for which window,
        is unconfirmed, so search responses only update the daily figures.
        """
        limits = RateLimitHeaders.parse(headers)
        self.daily.observe(limits)
        if is_search:
            return
        self.shared.observe(limits)
        self._fit_burst(limits.max)

    def _fit_burst(self, account_max: int | None) -> None:
        """Size crmsync's own window from the account's real limit, which the tier setting may not match."""
        if account_max is None or account_max < 1:
            return
        wanted = _own_share(account_max)
        if wanted != self.burst.max_requests:
            log.info("hubspot.burst_limit_from_headers", account_limit=account_max, own_limit=wanted,
                     previous=self.burst.max_requests)
            self.burst.max_requests = wanted


def _own_share(account_max: int) -> int:
    return max(int(account_max * BURST_SHARE), 1)
