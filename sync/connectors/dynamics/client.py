"""HTTP calls to the Dataverse Web API: bearer tokens, one renewal on 401, retries.

Retries live here and nowhere else: tenacity retries 429, 5xx, timeouts and dropped
connections, waiting exactly `Retry-After` seconds when the server sends it and
exponentially otherwise. Every retry is logged at WARNING; giving up raises
`TransientError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
import structlog
import tenacity

from sync.connectors.dynamics.auth import TokenProvider
from sync.connectors.dynamics.errors import Action, action_for, error_message
from sync.errors import ConfigError, Problem, TransientError
from sync.settings import DynamicsSettings

log = structlog.get_logger(__name__)

API_PATH = "/api/data/v9.2"
MAX_ATTEMPTS = 5
MAX_BACKOFF_SECONDS = 60.0
BASE_HEADERS = {
    "Accept": "application/json",
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
}


class _Retryable(Exception):
    def __init__(self, error: TransientError) -> None:
        self.error = error
        super().__init__(str(error))


class WebApiClient:
    """Send requests to `settings.url` + `/api/data/v9.2`.

    `sleep` waits between retries, in seconds; tests pass a fake that records the waits.
    """

    def __init__(
        self,
        settings: DynamicsSettings,
        tokens: TokenProvider | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.base_url = settings.url + API_PATH
        self.tokens = tokens or TokenProvider(settings)
        self.session = session or self.tokens.session
        self.sleep = sleep

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request and return a response whose status is not transient.

        Raises `TransientError` when retries run out and `ConfigError` when a renewed token
        is still rejected or the application user lacks a privilege.
        """
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(MAX_ATTEMPTS),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(self._send_authorised, method, path, **kwargs)
        except _Retryable as failure:
            log.error("dynamics.retry_gave_up", method=method, path=_path_only(path), error=str(failure.error))
            raise failure.error from None

    def _send_authorised(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self._send_once(method, path, **kwargs)
        if action_for(response.status_code) is Action.RENEW_TOKEN:
            log.info("dynamics.token_renewed", status=401)
            self.tokens.renew()
            response = self._send_once(method, path, **kwargs)
            if response.status_code == 401:
                raise ConfigError(Problem(
                    f"the Dataverse Web API at {self.settings.url} rejected a fresh token for client "
                    f"{self.settings.client_id} of tenant {self.settings.tenant_id}",
                    field="dynamics.client_id",
                    fix="create an application user for this client id in the environment and give it a security role",
                ))

        action = action_for(response.status_code)
        if action is Action.RETRY:
            raise _Retryable(TransientError(
                f"Dataverse {method} {_path_only(path)} answered {response.status_code}: {error_message(_json(response))}",
                status=response.status_code,
                retry_after=_retry_after(response),
            ))
        if action is Action.CONFIG:
            raise ConfigError(Problem(
                f"the Dataverse Web API answered {response.status_code} to {method} {_path_only(path)}: "
                f"{error_message(_json(response))}",
                field="dynamics.url",
                fix="check dynamics.url and the security role of the application user",
            ))
        return response

    def _send_once(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**BASE_HEADERS, **kwargs.pop("headers", {}), "Authorization": f"Bearer {self.tokens.token()}"}
        try:
            response = self.session.request(method, self.url(path), headers=headers,
                                            timeout=self.settings.timeout_seconds, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as error:
            raise _Retryable(TransientError(
                f"Dataverse {method} {_path_only(path)} failed: {type(error).__name__}"
            )) from None
        log.debug("dynamics.response", method=method, path=_path_only(path), status=response.status_code)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Retryable) and failure.error.retry_after is not None:
            return failure.error.retry_after
        return min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (state.attempt_number - 1))

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        log.warning(
            "dynamics.retry",
            attempt=state.attempt_number,
            wait_seconds=state.next_action.sleep if state.next_action else None,
            error=str(failure),
        )


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _path_only(path: str) -> str:
    """Return the path without its query, so that logs and errors stay short."""
    return path.split("?", 1)[0]
