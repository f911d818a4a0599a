"""The state store: links, synced values, cursors, runs, record errors and create intents."""

from sync.state.database import redact_url
from sync.state.store import (
    Intent,
    Link,
    RecordErrorRow,
    RunMode,
    RunOutcome,
    RunRow,
    StateConflictError,
    StateStore,
)

__all__ = [
    "Intent",
    "Link",
    "RecordErrorRow",
    "RunMode",
    "RunOutcome",
    "RunRow",
    "StateConflictError",
    "StateStore",
    "redact_url",
]
