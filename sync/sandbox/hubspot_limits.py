"""Rate limits, bearer check and fault injection of the HubSpot sandbox.

Each runs as a `Router.before` hook. The rate limit is a rolling window, as HubSpot's
TEN_SECONDLY_ROLLING policy is, on a monotonic clock that tests can replace. The daily
count starts again at midnight in the account's time zone, on the wall clock. Another app
on the same account can be played with `other_app`: its requests count in the same
window and the same day, as HubSpot counts every app of an account together.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

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
        return self.admit_at(self.monotonic())

    def admit_at(self, moment: float) -> float | None:
        """Count one request made at `moment`, no earlier than any request counted before."""
        self._expire(moment)
        if len(self.times) >= self.limit:
            return self.times[0] + self.seconds - moment
        self.times.append(moment)
        return None

    def remaining(self) -> int:
        self._expire(self.monotonic())
        return max(self.limit - len(self.times), 0)


@dataclass
class Fault:
    """An injected answer for the next `times` matching requests.

    Status -1 drops the connection. `delay_seconds` holds the request that long (real time)
    before answering, to make a client time out; with status 0 the request then proceeds.
    """

    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float | None = None
    method: str | None = None
    body: Any = None
    delay_seconds: float = 0.0


# The private-app scope each route needs, by route name; "{type}" is the object type.
ROUTE_SCOPES = {
    "hubspot.list": "crm.objects.{type}.read",
    "hubspot.read": "crm.objects.{type}.read",
    "hubspot.search": "crm.objects.{type}.read",
    "hubspot.batch_read": "crm.objects.{type}.read",
    "hubspot.create": "crm.objects.{type}.write",
    "hubspot.update": "crm.objects.{type}.write",
    "hubspot.archive": "crm.objects.{type}.write",
    "hubspot.merge": "crm.objects.{type}.write",
    "hubspot.batch_create": "crm.objects.{type}.write",
    "hubspot.batch_update": "crm.objects.{type}.write",
    "hubspot.batch_upsert": "crm.objects.{type}.write",
    "hubspot.batch_archive": "crm.objects.{type}.write",
    "hubspot.owners": "crm.objects.owners.read",
    "hubspot.owner": "crm.objects.owners.read",
}


@dataclass
class OtherApp:
    """Another app on the account, sending `per_second` requests at an even pace from `since`.

    Its requests are counted lazily, when the gate next looks at the window.
    """

    per_second: float
    since: float
    sent: int = 0
    # Requests that found the window full; HubSpot would have rejected them with 429.
    rejected: int = 0


@dataclass
class Gatekeeper:
    """The before-hooks of the sandbox: authentication, injected faults and rate limits."""

    token: str
    tier: str
    monotonic: Callable[[], float]
    rate_limits: bool = True
    faults: list[Fault] = field(default_factory=list)
    # Requests per day before every request answers 429 DAILY; None takes the tier's limit.
    daily_limit: int | None = None
    # The scopes granted to the private app; None grants every scope.
    scopes: set[str] | None = None
    # The wall clock and the account's time zone, which decide when the day starts again.
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        burst, daily = TIER_LIMITS[self.tier]
        self.burst = RollingWindow(burst, WINDOW_SECONDS, self.monotonic)
        self.search = RollingWindow(SEARCH_PER_SECOND, 1.0, self.monotonic)
        self.daily_limit = daily if self.daily_limit is None else self.daily_limit
        self.daily_used = 0
        self._day: date | None = None
        self.other: OtherApp | None = None
        # 429 answers by policy name, so tests can assert that a healthy run got none.
        self.rejections: Counter[str] = Counter()
        self._lock = threading.Lock()

    # -- another app on the account -----------------------------------------------------

    def other_app(self, per_second: float) -> OtherApp:
        """Start another app that sends `per_second` requests from now on; 0 stops it.

        Its requests count in the ten-second window and the day, never in `rejections` or
        the router's counts. Returns the app, whose `sent` and `rejected` tests can read.
        """
        with self._lock:
            self._other_app_catch_up()
            self.other = OtherApp(per_second, self.monotonic()) if per_second > 0 else None
            return self.other

    def other_app_burst(self, count: int) -> int:
        """Count `count` requests of another app, made now; return how many fitted in the window."""
        with self._lock:
            self._roll_day()
            now = self.monotonic()
            fitted = 0
            for _ in range(count):
                if self.burst.admit_at(now) is not None:
                    break
                fitted += 1
            self.daily_used += fitted
            return fitted

    def _other_app_catch_up(self) -> None:
        """Count the other app's requests made since it was last counted."""
        app = self.other
        if app is None:
            return
        now = self.monotonic()
        due = int((now - app.since) * app.per_second)
        step = 1.0 / app.per_second
        for number in range(due):
            moment = app.since + (number + 1) * step
            # Requests older than the window would have left it already; they still count for the day.
            if moment > now - WINDOW_SECONDS and self.burst.admit_at(moment) is not None:
                app.rejected += 1
                continue
            app.sent += 1
            self.daily_used += 1
        app.since += due * step

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

    def check_scopes(self, request: Request, route: Route) -> Response | None:
        """Answer 403 MISSING_SCOPES when the app lacks the route's scope."""
        template = ROUTE_SCOPES.get(route.name)
        if self.scopes is None or template is None:
            return None
        needed = template.format(type=request.params.get("type", ""))
        if needed in self.scopes:
            return None
        # NOTE: the wording and context keys of HubSpot's 403 are not documented; this follows observed answers.
        message = "This app hasn't been granted all required scopes to make this call."
        return Response(403, error_body("MISSING_SCOPES", message, context={"requiredGranularScopes": [needed]}),
                        self.headers())

    def check_faults(self, request: Request, route: Route) -> Response | None:
        fault = self._take_fault(request)
        if fault is None:
            return None
        if fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault.status == 0:
            return None
        return self._fault_response(fault)

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method not in (None, request.method) or not fault.pattern.search(request.path):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: Fault) -> Response:
        headers = self.headers()
        if fault.retry_after is not None:
            headers["Retry-After"] = _seconds(fault.retry_after)
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
            self._roll_day()
            self._other_app_catch_up()
            if self.daily_used >= self.daily_limit:
                self.rejections["DAILY"] += 1
                return Response(429, _rate_limit_body("DAILY"), self._headers_locked())
            self.daily_used += 1
            wait = (self.search if is_search else self.burst).admit()
            if wait is None:
                return None
            policy = "SECONDLY" if is_search else "TEN_SECONDLY_ROLLING"
            self.rejections[policy] += 1
        headers = {**self.headers(), "Retry-After": _seconds(wait)}
        return Response(429, _rate_limit_body(policy), headers)

    def _roll_day(self) -> None:
        """Start a new day's count at midnight in the account's time zone."""
        today = self.wall_clock().astimezone(ZoneInfo(self.timezone)).date()
        if self._day != today:
            self._day = today
            self.daily_used = 0

    def headers(self) -> dict[str, str]:
        """Rate-limit headers for a response, as HubSpot sends them to private apps."""
        with self._lock:
            return self._headers_locked()

    def _headers_locked(self) -> dict[str, str]:
        self._roll_day()
        self._other_app_catch_up()
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
