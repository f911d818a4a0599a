"""HubSpot's HTTP statuses mapped to crmsync's error families, in one table.

`STATUS_FAMILIES` decides what happens next for each status: a configuration error stops
the run, a record error rejects the inputs of one call, a transient error is retried.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sync.errors import ConfigError, CrmsyncError, Problem, RecordError, TransientError


class DailyLimitError(TransientError):
    """The account's daily request limit is used up, or down to the reserve crmsync leaves.

    HubSpot resets the daily limit at midnight in the account's time zone, so the caller
    does not retry this error before then. The run stops. The engine keeps the cursor of
    the kind it was reading or writing, so the first run after the reset goes on from there.
    `reserve` is set when crmsync stopped by itself, before HubSpot returned 429.
    """

    headline = "the run stopped at HubSpot's daily request limit"

    def __init__(self, operation: str, *, limit: int | None = None, remaining: int | None = None,
                 reserve: int | None = None, resets_at: datetime | None = None, timezone: str | None = None,
                 status: int | None = None):
        self.operation = operation
        self.limit = limit
        self.remaining = remaining
        self.reserve = reserve
        self.resets_at = resets_at
        self.timezone = timezone
        if reserve is not None:
            cause = (f"HubSpot {operation} was not sent: the account has {remaining} of its daily limit of "
                     f"{limit} requests left, and crmsync leaves the last {reserve} to other apps")
        else:
            cause = f"HubSpot {operation} failed: the account's daily limit of {limit or 'its'} requests is used up"
        super().__init__(f"{cause}. {_reset_text(resets_at, timezone)}", status=status)


def _reset_text(resets_at: datetime | None, timezone: str | None) -> str:
    if resets_at is None or timezone is None:
        return "The limit resets at midnight in the account's time zone; the next run after that goes on from here"
    local = resets_at.astimezone(ZoneInfo(timezone))
    when = f"{local:%Y-%m-%d %H:%M} {timezone}"
    if local.utcoffset():
        when += f" ({resets_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
    return (f"The limit resets at midnight in the account's time zone (hubspot.timezone), at {when}; "
            "the next run after that goes on from here")


class ErrorFamily(enum.StrEnum):
    CONFIG = "config"
    RECORD = "record"
    TRANSIENT = "transient"


STATUS_FAMILIES: dict[int, ErrorFamily] = {
    400: ErrorFamily.RECORD,
    401: ErrorFamily.CONFIG,
    403: ErrorFamily.CONFIG,
    404: ErrorFamily.RECORD,
    408: ErrorFamily.TRANSIENT,
    409: ErrorFamily.RECORD,
    415: ErrorFamily.CONFIG,
    423: ErrorFamily.TRANSIENT,
    429: ErrorFamily.TRANSIENT,
    500: ErrorFamily.TRANSIENT,
    502: ErrorFamily.TRANSIENT,
    503: ErrorFamily.TRANSIENT,
    504: ErrorFamily.TRANSIENT,
}


def family_of(status: int) -> ErrorFamily:
    """Return the family of an HTTP status; unlisted 5xx are transient, other statuses record errors."""
    if status in STATUS_FAMILIES:
        return STATUS_FAMILIES[status]
    return ErrorFamily.TRANSIENT if status >= 500 else ErrorFamily.RECORD


def parse_body(body: Any) -> dict[str, Any]:
    """Decode a HubSpot error body; an empty or non-JSON body gives an empty dict."""
    if isinstance(body, dict):
        return body
    try:
        data = json.loads(body or "")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def retry_after_seconds(headers: Any, *, window: bool = True) -> float | None:
    """Return the wait before retrying a 429 or 503: Retry-After, else (with `window`) HubSpot's window length.

    Every response carries the window length, so only a 429 should fall back to it.
    """
    if not headers:
        return None
    names = [("Retry-After", 1.0)]
    if window:
        names.append(("X-HubSpot-RateLimit-Interval-Milliseconds", 0.001))
    for name, scale in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except ValueError:
            continue
    return None


def error_for(status: int, body: Any, headers: Any = None, *, operation: str, kind: str | None = None,
              record_id: str | None = None) -> CrmsyncError:
    """Build the crmsync error for one failed HubSpot call.

    `operation` names the call, such as "batch upsert contacts". Messages carry HubSpot's
    category and message, never the access token or the request's headers.
    """
    data = parse_body(body)
    category = str(data.get("category") or data.get("errorType") or "")
    message = str(data.get("message") or f"HTTP {status}")
    family = family_of(status)
    if status == 429 and data.get("policyName") == "DAILY":
        limit = (headers or {}).get("X-HubSpot-RateLimit-Daily")
        return DailyLimitError(operation, limit=int(limit) if str(limit or "").isdigit() else None,
                               remaining=0, status=status)
    if family is ErrorFamily.TRANSIENT:
        wait = retry_after_seconds(headers, window=status == 429) if status in (429, 503) else None
        return TransientError(f"HubSpot {operation} failed with {status} {category}: {message}".replace("  ", " "),
                              status=status, retry_after=wait)
    if family is ErrorFamily.CONFIG:
        return _config_error(status, category, message, operation, _missing_scopes(data))
    names = (data.get("context") or {}).get("propertyName") or []
    return RecordError(f"HubSpot rejected {operation} with {status} {category}: {message}",
                       system="hubspot", kind=kind, record_id=record_id, category=category or None,
                       field=str(names[0]) if isinstance(names, list) and names else None)


def _missing_scopes(data: dict[str, Any]) -> list[str]:
    context = data.get("context") or {}
    scopes = context.get("requiredGranularScopes") or context.get("requiredScopes") or []
    return [str(scope) for scope in scopes] if isinstance(scopes, list) else []


def _config_error(status: int, category: str, message: str, operation: str, scopes: list[str]) -> ConfigError:
    if status == 401:
        return ConfigError(Problem(
            f"HubSpot rejected the access token on {operation} (401 {category or 'INVALID_AUTHENTICATION'})",
            field="hubspot.access_token",
            fix="set hubspot.access_token or CRMSYNC_HUBSPOT_ACCESS_TOKEN to a valid private app token",
        ))
    if status == 403 and scopes:
        return ConfigError(Problem(
            f"the HubSpot private app lacks the scope {', '.join(scopes)} needed for {operation} (403 {category})",
            field="hubspot.access_token",
            fix=f"grant the private app the scope {', '.join(scopes)} in HubSpot (Settings > Integrations > "
                "Private Apps > Scopes) and run again",
        ))
    if status == 403:
        return ConfigError(Problem(
            f"the HubSpot private app may not perform {operation} (403 {category}): {message}",
            field="hubspot.access_token",
            fix="add the missing scope to the private app, such as crm.objects.contacts.write, and retry",
        ))
    return ConfigError(Problem(f"HubSpot rejected {operation} with {status} {category}: {message}",
                               fix="check the HubSpot settings"))
