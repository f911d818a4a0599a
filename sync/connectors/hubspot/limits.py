"""Client-side pacing, so that a healthy run never receives a 429.

HubSpot counts requests in a rolling ten-second window per account, and search separately
per second. A rolling-window limiter matches that exactly: unlike a refilling token
bucket, it can never send more than `max_requests` within any `period_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# Requests per 10 seconds by tier (HubSpot's 2024 limits for private apps).
TIER_BURST = {"starter": 100, "professional": 190, "enterprise": 190}
# Share of the account's limit that crmsync uses, leaving room for other apps on the account.
BURST_SHARE = 0.9
# HubSpot documents 5 search requests per second; one less leaves headroom for clock skew.
SEARCH_PER_SECOND = 4


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


class Pacer:
    """The two limiters of one HubSpot account: the ten-second burst and search."""

    def __init__(self, tier: str, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        burst = max(int(TIER_BURST[tier] * BURST_SHARE), 1)
        self.burst = RollingWindowLimiter(burst, 10.0, clock=clock, sleep=sleep)
        self.search = RollingWindowLimiter(SEARCH_PER_SECOND, 1.0, clock=clock, sleep=sleep)

    def before(self, is_search: bool) -> None:
        """Wait until the next request fits; search is exempt from the ten-second window."""
        (self.search if is_search else self.burst).acquire()
