"""Service protection limits of the Dataverse sandbox, per user, as Dataverse documents them.

Three measures, each over a sliding window of 300 seconds by the sandbox clock (defaults
from the Dataverse "Service protection API limits" page): 6,000 requests, 1,200,000 ms of
combined execution time, and 52 concurrent requests. The first two take effect only once
they are reached: a request that starts below the limit runs even if it ends above it,
and the next one gets the 429. The concurrency limit rejects at once. A `$batch` counts as one request. Every 429 carries `Retry-After` in
whole seconds and the documented error code.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

WINDOW_SECONDS = 300.0


class LimitKind(enum.StrEnum):
    REQUESTS = "requests"
    EXECUTION_TIME = "execution_time"
    CONCURRENCY = "concurrency"


ERRORS: dict[LimitKind, tuple[str, str]] = {
    LimitKind.REQUESTS: ("0x80072322", "Number of requests exceeded the limit of {limit} over time window of 300 seconds."),
    LimitKind.EXECUTION_TIME: ("0x80072321", (
        "Combined execution time of incoming requests exceeded limit of {limit} milliseconds over time window "
        "of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
    )),
    LimitKind.CONCURRENCY: ("0x80072326", "Number of concurrent requests exceeded the limit of {limit}."),
}
# NOTE: the Retry-After of a concurrency 429 is not documented, so one second is a guess.
CONCURRENCY_RETRY_AFTER = 1


@dataclass(frozen=True)
class ServiceLimits:
    requests: int = 6000
    execution_ms: float = 1_200_000
    concurrent: int = 52
    window_seconds: float = WINDOW_SECONDS


@dataclass(frozen=True)
class Rejection:
    """One 429 the sandbox sent: whose request, which limit, and the `Retry-After` in seconds."""

    user: str
    limit: LimitKind
    retry_after: int


@dataclass
class _Usage:
    # (finish time, execution milliseconds) of each admitted request, oldest first.
    requests: deque[tuple[datetime, float]] = field(default_factory=deque)
    in_flight: int = 0


class ServiceProtection:
    """Admit or reject requests per user.

    `clock` returns the sandbox time (an aware datetime) for the window. `timer` measures
    execution time in seconds, and tests pass a fake one to make execution time exact.
    """

    def __init__(self, limits: ServiceLimits, clock: Callable[[], datetime],
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.limits = limits
        self.clock = clock
        self.timer = timer
        self.rejections: list[Rejection] = []
        self._usage: dict[str, _Usage] = {}
        self._lock = threading.Lock()

    def admit(self, user: str) -> Rejection | None:
        """Start a request of `user`, or return why it is rejected. An admitted request must be `finish`ed."""
        with self._lock:
            usage = self._usage.setdefault(user, _Usage())
            self._expire(usage)
            rejection = self._rejection(user, usage)
            if rejection is not None:
                self.rejections.append(rejection)
                return rejection
            usage.in_flight += 1
            return None

    def finish(self, user: str, execution_ms: float) -> None:
        with self._lock:
            usage = self._usage[user]
            usage.in_flight -= 1
            usage.requests.append((self.clock(), execution_ms))

    def remaining(self, user: str) -> tuple[int, float]:
        """Return the requests and the execution milliseconds left to `user` in the window."""
        with self._lock:
            usage = self._usage.setdefault(user, _Usage())
            self._expire(usage)
            spent = sum(ms for _, ms in usage.requests)
            return max(0, self.limits.requests - len(usage.requests)), max(0.0, self.limits.execution_ms - spent)

    def _rejection(self, user: str, usage: _Usage) -> Rejection | None:
        if usage.in_flight >= self.limits.concurrent:
            return Rejection(user, LimitKind.CONCURRENCY, CONCURRENCY_RETRY_AFTER)
        if len(usage.requests) >= self.limits.requests:
            # The window has to drop requests until fewer than the limit remain.
            excess = len(usage.requests) - self.limits.requests + 1
            return Rejection(user, LimitKind.REQUESTS, self._wait_until_dropped(usage, excess))
        spent = sum(ms for _, ms in usage.requests)
        if spent >= self.limits.execution_ms:
            return Rejection(user, LimitKind.EXECUTION_TIME, self._wait_for_time(usage, spent))
        return None

    def _expire(self, usage: _Usage) -> None:
        now = self.clock()
        while usage.requests and (now - usage.requests[0][0]).total_seconds() >= self.limits.window_seconds:
            usage.requests.popleft()

    def _wait_until_dropped(self, usage: _Usage, count: int) -> int:
        """Return the whole seconds until the oldest `count` requests leave the window."""
        finished_at = usage.requests[count - 1][0]
        return self._seconds_until_out(finished_at)

    def _wait_for_time(self, usage: _Usage, spent: float) -> int:
        for finished_at, ms in usage.requests:
            spent -= ms
            if spent < self.limits.execution_ms:
                return self._seconds_until_out(finished_at)
        return CONCURRENCY_RETRY_AFTER

    def _seconds_until_out(self, finished_at: datetime) -> int:
        left = self.limits.window_seconds - (self.clock() - finished_at).total_seconds()
        return max(1, math.ceil(left))


def error_body(rejection: Rejection, limits: ServiceLimits) -> dict[str, dict[str, str]]:
    """Return the OData error body of a 429 for `rejection`."""
    code, template = ERRORS[rejection.limit]
    limit = {LimitKind.REQUESTS: limits.requests, LimitKind.EXECUTION_TIME: f"{limits.execution_ms:,.0f}",
             LimitKind.CONCURRENCY: limits.concurrent}[rejection.limit]
    return {"error": {"code": code, "message": template.format(limit=limit)}}
