"""The state store: links, synced values, cursors, runs, record errors, create intents, pending writes and reviews."""

from sync.state.database import redact_url
from sync.state.review import ReviewDecision, ReviewItem, ReviewLinkedError, ReviewNotFoundError, ReviewQueue
from sync.state.store import (
    Intent,
    Link,
    PendingWrite,
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
    "PendingWrite",
    "RecordErrorRow",
    "ReviewDecision",
    "ReviewItem",
    "ReviewLinkedError",
    "ReviewNotFoundError",
    "ReviewQueue",
    "RunMode",
    "RunOutcome",
    "RunRow",
    "StateConflictError",
    "StateStore",
    "redact_url",
]
