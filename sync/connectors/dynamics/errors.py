"""How the Dynamics connector treats each HTTP status of the Web API: one table.

Every status the connector can see maps to one `Action`; `action_for` is the only place
that decides. Unlisted 5xx statuses are transient and unlisted 4xx statuses reject the
record, because a Web API 4xx describes the request, not the service.
"""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    OK = "ok"
    # Renew the access token once and retry; a second 401 is a configuration error.
    RENEW_TOKEN = "renew_token"
    # Retry with backoff, honouring Retry-After; giving up raises TransientError.
    RETRY = "retry"
    # The record was rejected; counted, reported and kept for the next run.
    REJECT_RECORD = "reject_record"
    # The etag the plan was made from is stale; the engine re-reads and re-plans.
    ETAG_MISMATCH = "etag_mismatch"
    # The row was not found; for a read that is not an error, for a write it rejects the record.
    NOT_FOUND = "not_found"
    # Never retried: the application user lacks a privilege or the URL is wrong.
    CONFIG = "config"


STATUS_ACTIONS: dict[int, Action] = {
    200: Action.OK,
    201: Action.OK,
    204: Action.OK,
    304: Action.OK,
    400: Action.REJECT_RECORD,
    401: Action.RENEW_TOKEN,
    403: Action.CONFIG,
    404: Action.NOT_FOUND,
    405: Action.CONFIG,
    408: Action.RETRY,
    412: Action.ETAG_MISMATCH,
    413: Action.REJECT_RECORD,
    429: Action.RETRY,
    500: Action.RETRY,
    501: Action.CONFIG,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}


def action_for(status: int) -> Action:
    """Return what to do after a response with `status`."""
    action = STATUS_ACTIONS.get(status)
    if action is not None:
        return action
    if 200 <= status < 300:
        return Action.OK
    if status >= 500:
        return Action.RETRY
    return Action.REJECT_RECORD


def error_message(body: object) -> str:
    """Return the message of an OData error body, or a short form of the body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code") or ""
            message = str(error.get("message") or "")
            return f"{message} ({code})" if code else message
    text = str(body or "")
    return text[:300]
