"""The one place where HubSpot calls are retried.

Every call of the connector runs through `Caller.call`: it paces the request, turns the
SDK's exceptions into crmsync errors, and retries transient ones with tenacity, waiting as
long as Retry-After asks, or with exponential backoff when the server names no wait.
"""

from __future__ import annotations

import re

import time
from collections.abc import Callable
from typing import TypeVar

import structlog
import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from sync.connectors.hubspot.errors import DailyLimitError, error_for
from sync.connectors.hubspot.limits import Pacer
from sync.errors import TransientError

log = structlog.get_logger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 5
# Backoff when the server gives no Retry-After: 1, 2, 4, 8 ... seconds, at most MAX_WAIT_SECONDS.
BASE_WAIT_SECONDS = 1.0
MAX_WAIT_SECONDS = 60.0


def _is_api_exception(error: BaseException) -> bool:
    # Each hubspot.crm.* package has its own ApiException class, with no common base but
    # Exception, so they are recognised by module and attributes.
    return type(error).__module__.startswith("hubspot.") and hasattr(error, "status") and hasattr(error, "body")


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, TransientError) and not isinstance(error, DailyLimitError)


class Caller:
    """Paces, translates and retries the SDK calls of one connector."""

    def __init__(self, pacer: Pacer, *, sleep: Callable[[float], None] = time.sleep,
                 attempts: int = MAX_ATTEMPTS):
        self.pacer = pacer
        self.sleep = sleep
        self.attempts = attempts

    def call(self, operation: str, request: Callable[[], T], *, kind: str | None = None,
             search: bool = False) -> T:
        """Run `request`, retrying transient failures.

        Raises TransientError once the attempts are used up, DailyLimitError (a
        TransientError) at once when the daily limit is used up or down to its reserve,
        ConfigError on 401 or 403, and RecordError on other 4xx responses.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            sleep=self.sleep,
            before_sleep=lambda state: self._log_retry(operation, state),
            reraise=True,
        )
        try:
            return retrying(self._once, operation, request, kind, search)
        except DailyLimitError as error:
            log.error("hubspot.daily_limit_stop", operation=operation, error=str(error))
            raise
        except TransientError as error:
            log.error("hubspot.gave_up", operation=operation, attempts=self.attempts, error=str(error))
            raise

    def _once(self, operation: str, request: Callable[[], T], kind: str | None, search: bool) -> T:
        self.pacer.before(search, operation)
        try:
            return request()
        except urllib3.exceptions.HTTPError as error:
            raise TransientError(f"HubSpot {operation} failed: {_cause(error)}") from None
        except Exception as error:
            if not _is_api_exception(error):
                raise
            failure = error_for(error.status, error.body, error.headers, operation=operation, kind=kind)
            if isinstance(failure, DailyLimitError):
                failure = self.pacer.daily.used_up(operation, failure.limit)
            raise failure from None

    @staticmethod
    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, MAX_WAIT_SECONDS)
        return min(BASE_WAIT_SECONDS * 2 ** (state.attempt_number - 1), MAX_WAIT_SECONDS)

    @staticmethod
    def _log_retry(operation: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else None
        log.warning("hubspot.retry", operation=operation, attempt=state.attempt_number, wait_seconds=wait,
                    status=getattr(error, "status", None), error=str(error))


def _cause(error: urllib3.exceptions.HTTPError) -> str:
    """Say what went wrong at the network level and where, such as `connection refused by 127.0.0.1:8081`."""
    text = str(error)
    found = _HOST_PORT.search(text)
    where = f" by {found.group(1)}:{found.group(2)}" if found else ""
    if "Connection refused" in text:
        return f"connection refused{where}; check hubspot.host and that HubSpot (or the sandbox) is running"
    if "timed out" in text.lower():
        return f"timed out{where.replace(' by ', ' at ')}"
    return f"{type(error).__name__}: {text[:200]}"


_HOST_PORT = re.compile(r"host='([^']+)', port=(\d+)")
