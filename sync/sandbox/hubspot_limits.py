"""Rate limits, bearer check and fault injection of the HubSpot sandbox.

Each runs as a `Router.before` hook. The rate limit is a rolling window, as HubSpot's
TEN_SECONDLY_ROLLING policy is, on a monotonic clock that tests can replace.
"""

from __future__ import annotations

import math
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync.sandbox.http import Request, Response, Route

# Requests per 10 seconds and per day, by tier (HubSpot's 2024 limits for private apps).
TIER_LIMITS = {
    "starter": (100, 250_000),
    "professional": (190, 650_000),
    "enterprise": (190, 1_000_000),
}
WINDOW_SECONDS = 10.0
# Search has its own limit and does not count against the ten-second window.
SEARCH_PER_SECOND = 5


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error", "message": message, "correlationId": str(uuid.uuid4()),
        "category": category, **extra,
    }


class RollingWindow:
    """Counts requests in the last `seconds` on a monotonic clock."""

    def __init__(self, limit: int, seconds: float, monotonic: Callable[[], float]):
        self.limit = limit
        self.seconds = seconds
        self.monotonic = monotonic
        self.times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()

    def admit(self) -> float | None:
        """Count one request; return None if admitted, or the seconds until a slot frees up."""
        now = self.monotonic()
        self._expire(now)
        if len(self.times) >= self.limit:
            return self.times[0] + self.seconds - now
        self.times.append(now)
        return None

    def remaining(self) -> int:
        self._expire(self.monotonic())
        return max(self.limit - len(self.times), 0)


@dataclass
class Fault:
    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float | None = None
    method: str | None = None
    body: Any = None


@dataclass
class Gatekeeper:
    """The before-hooks of the sandbox: authentication, injected faults and rate limits."""

    token: str
    tier: str
    monotonic: Callable[[], float]
    rate_limits: bool = True
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        burst, daily = TIER_LIMITS[self.tier]
        self.burst = RollingWindow(burst, WINDOW_SECONDS, self.monotonic)
        self.search = RollingWindow(SEARCH_PER_SECOND, 1.0, self.monotonic)
        self.daily_limit = daily
        self.daily_used = 0
        self._lock = threading.Lock()

    def check_token(self, request: Request, route: Route) -> Response | None:
        header = request.header("authorization") or ""
        if header == f"Bearer {self.token}":
            return None
        message = ("Authentication credentials not found." if not header else
                   "The OAuth token used to make this call is invalid.")
        return Response(401, error_body("INVALID_AUTHENTICATION", message))

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def check_faults(self, request: Request, route: Route) -> Response | None:
        with self._lock:
            for fault in self.faults:
                if fault.method not in (None, request.method) or not fault.pattern.search(request.path):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return self._fault_response(fault)
        return None

    def _fault_response(self, fault: Fault) -> Response:
        headers = {} if fault.retry_after is None else {"Retry-After": _seconds(fault.retry_after)}
        if fault.body is not None:
            return Response(fault.status, fault.body, headers)
        if fault.status == 429:
            return Response(429, _rate_limit_body("TEN_SECONDLY_ROLLING"), headers)
        return Response(fault.status, error_body("INTERNAL_ERROR" if fault.status >= 500 else "VALIDATION_ERROR",
                                                 f"injected fault {fault.status}"), headers)

    def check_rate(self, request: Request, route: Route) -> Response | None:
        if not self.rate_limits:
            return None
        is_search = request.method == "POST" and request.path.endswith("/search")
        with self._lock:
            self.daily_used += 1
            wait = (self.search if is_search else self.burst).admit()
        if wait is None:
            return None
        policy = "SECONDLY" if is_search else "TEN_SECONDLY_ROLLING"
        headers = {**self.headers(), "Retry-After": _seconds(wait)}
        return Response(429, _rate_limit_body(policy), headers)

    def headers(self) -> dict[str, str]:
        """Rate-limit headers for a response, as HubSpot sends them to private apps."""
        with self._lock:
            remaining = self.burst.remaining()
            daily_remaining = max(self.daily_limit - self.daily_used, 0)
        return {
            "X-HubSpot-RateLimit-Max": str(self.burst.limit),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_SECONDS * 1000)),
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        }


def _seconds(value: float) -> str:
    return str(max(math.ceil(value), 1))


def _rate_limit_body(policy: str) -> dict[str, Any]:
    # NOTE: the message wording of HubSpot's 429 is not documented; the keys are.
    return {
        "status": "error", "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()), "policyName": policy,
        "groupName": f"api-calls-{policy.lower().replace('_', '-')}",
    }
