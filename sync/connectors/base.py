"""What the engine asks of a connector, and what a connector returns.

Each system's connector reads records of the three kinds and writes creates and updates
in batches. The engine never sees HTTP: it gets `Record`s and `WriteResult`s.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sync.errors import RecordError
from sync.model import Kind, Owner, Record, System


@dataclass
class ReadResult:
    """The records of one read and where the next incremental read starts.

    `cursor` is opaque to the engine and stored as it is. A connector must never return
    a cursor past a record it did not return.
    """

    records: list[Record]
    cursor: str | None
    full: bool = False
    errors: list[RecordError] = field(default_factory=list)


class WriteOp(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    # Archive in HubSpot, deactivate in Dataverse: only `record_id` is read.
    ARCHIVE = "archive"


@dataclass
class WriteRequest:
    """One create, update or archive.

    - `values`: the target system's field names and raw values, as the mapping made them.
    - `record_id`: for updates, the target record. For Dataverse creates, the
      client-generated id, so that a retried create cannot make a second record.
    - `key`: for HubSpot creates, the value of the unique property that makes the create
      an upsert (email for contacts, `crmsync_id` for companies and deals).
    - `etag`: for Dataverse updates, the etag the plan was made from (sent as If-Match).
    - `refs`: references to set, by target kind, as ids in the target system
      (HubSpot associations, Dataverse lookups bound with @odata.bind).
    """

    op: WriteOp
    values: dict[str, Any]
    record_id: str | None = None
    key: str | None = None
    etag: str | None = None
    refs: dict[Kind, list[str]] = field(default_factory=dict)


@dataclass
class WriteResult:
    """The outcome of one `WriteRequest`, at the same position in the batch."""

    ok: bool
    record_id: str | None = None
    etag: str | None = None
    error: RecordError | None = None
    record: Record | None = None


class Connector(Protocol):
    system: System

    def read(self, kind: Kind, cursor: str | None) -> ReadResult:
        """Read the records changed since `cursor`, or all of them when it is None."""
        ...

    def read_ids(self, kind: Kind, ids: Sequence[str]) -> list[Record]:
        """Read the given records; ids that do not exist are left out."""
        ...

    def write(self, kind: Kind, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        """Write the requests in batches; one result per request, in order.

        A rejected record gives a result with `ok=False` and a `RecordError`; a transient
        failure that outlives the retries raises `TransientError`.
        """
        ...

    def owners(self) -> list[Owner]:
        """List HubSpot owners or Dataverse system users."""
        ...
