"""The SQLModel tables of the state store. Every table name starts with `crmsync_`.

Enum columns store the string values of `sync.model.System` and `Kind`. Timestamps are
UTC; SQLite returns them without a time zone, so the store adds UTC back on reading.
JSON columns are text, written with sorted keys.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

TABLE_PREFIX = "crmsync_"


def _timestamp(**kwargs) -> Field:  # type: ignore[valid-type]
    return Field(sa_column=Column(DateTime(timezone=True), nullable=False, **kwargs))


class LinkTable(SQLModel, table=True):
    __tablename__ = TABLE_PREFIX + "link"
    __table_args__ = (
        UniqueConstraint("kind", "hubspot_id", name="crmsync_link_kind_hubspot_id"),
        UniqueConstraint("kind", "dynamics_id", name="crmsync_link_kind_dynamics_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=16)
    hubspot_id: str = Field(max_length=64)
    dynamics_id: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class SyncedValuesTable(SQLModel, table=True):
    __tablename__ = TABLE_PREFIX + "synced_values"

    link_id: str = Field(primary_key=True, foreign_key=TABLE_PREFIX + "link.id", max_length=36)
    values_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _timestamp()


class CursorTable(SQLModel, table=True):
    __tablename__ = TABLE_PREFIX + "cursor"

    system: str = Field(primary_key=True, max_length=16)
    kind: str = Field(primary_key=True, max_length=16)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = _timestamp()


class RunTable(SQLModel, table=True):
    __tablename__ = TABLE_PREFIX + "run"

    id: str = Field(primary_key=True, max_length=36)
    started_at: datetime = _timestamp(index=True)
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    mode: str = Field(max_length=16)
    outcome: str = Field(max_length=16)
    counts_json: str = Field(sa_column=Column(Text, nullable=False))


class RecordErrorTable(SQLModel, table=True):
    __tablename__ = TABLE_PREFIX + "record_error"
    __table_args__ = (
        UniqueConstraint("system", "kind", "record_id", name="crmsync_record_error_record"),
    )

    id: int | None = Field(default=None, primary_key=True)
    system: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    record_id: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    field: str | None = Field(default=None, max_length=200)
    attempts: int = 1
    first_seen: datetime = _timestamp()
    last_seen: datetime = _timestamp()


class CreateIntentTable(SQLModel, table=True):
    __tablename__ = TABLE_PREFIX + "create_intent"

    key: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=16)
    target: str = Field(max_length=16)
    planned_id: str = Field(max_length=64)
    source: str = Field(max_length=16)
    source_id: str = Field(max_length=64)
    created_at: datetime = _timestamp()


class PendingWriteTable(SQLModel, table=True):
    """Values that landed in one side of a linked pair before its synced values were committed."""

    __tablename__ = TABLE_PREFIX + "pending_write"

    link_id: str = Field(primary_key=True, max_length=36)
    target: str = Field(primary_key=True, max_length=16)
    values_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _timestamp()


class ReviewTable(SQLModel, table=True):
    """A possible match held for a person's decision (see `sync.state.review`)."""

    __tablename__ = TABLE_PREFIX + "review"
    __table_args__ = (
        UniqueConstraint("kind", "hubspot_id", "dynamics_id", name="crmsync_review_pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    hubspot_id: str = Field(max_length=64)
    dynamics_id: str = Field(max_length=64)
    score: float
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, index=True)
    created_at: datetime = _timestamp()
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class StageEventTable(SQLModel, table=True):
    """A deal stage change that crmsync itself wrote or saw, for stage-history KPIs."""

    __tablename__ = TABLE_PREFIX + "stage_event"

    id: int | None = Field(default=None, primary_key=True)
    deal_key: str = Field(max_length=64, index=True)
    stage: str = Field(max_length=200)
    entered_at: datetime = _timestamp()


ALL_TABLES = [
    LinkTable.__table__,
    SyncedValuesTable.__table__,
    CursorTable.__table__,
    RunTable.__table__,
    RecordErrorTable.__table__,
    CreateIntentTable.__table__,
    PendingWriteTable.__table__,
    ReviewTable.__table__,
    StageEventTable.__table__,
]
