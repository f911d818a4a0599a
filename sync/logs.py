"""Structured logging with structlog: one configuration, secrets redacted in one place.

Events have fixed names (`sync.run_finished`, `hubspot.retry`); a unit of work binds
`run_id`, `system` and `kind`. Output is readable in a terminal, or JSON in production.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

import structlog

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|client_assertion)", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_REDACTED = "[redacted]"


class SecretRedactor:
    """Replace known secret values, and values under secret-looking keys, with a marker."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = [secret for secret in secrets if secret and len(secret) >= 4]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, _REDACTED)
        return _BEARER.sub(r"\1" + _REDACTED, text)

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        for key, value in list(event.items()):
            if _SECRET_KEYS.search(key) and key not in ("event", "token_source"):
                event[key] = _REDACTED
            elif isinstance(value, str):
                event[key] = self.scrub(value)
        return event


redactor = SecretRedactor()


class _StderrLogger:
    """Writes each rendered line to whatever `sys.stderr` is at that moment.

    structlog's PrintLogger keeps the stream it was created with, which breaks when a
    test harness or a daemon replaces stderr later.
    """

    def __init__(self, *args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _CurrentStderr:
    """A stream that writes to whatever `sys.stderr` is at that moment, for logging handlers."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", fmt: str = "console", secrets: Iterable[str] = ()) -> None:
    """Configure structlog and the standard library to write to stderr.

    Warnings of libraries that log through the standard library, such as APScheduler and
    urllib3, go through the same processors, so a JSON log stays one JSON object per line.
    """
    redactor.secrets = [secret for secret in secrets if secret and len(secret) >= 4]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            redactor,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name, timestamper, redactor],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    # Replace only the handler of an earlier call; handlers that others added, such as
    # pytest's log capture, stay.
    for earlier in [h for h in root.handlers if getattr(h, "crmsync", False)]:
        root.removeHandler(earlier)
    handler.crmsync = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
