"""The state store: crmsync's only memory between runs.

It keeps links, synced values, cursors, runs, record errors, create intents and pending
writes. Callers
get plain frozen dataclasses and never handle a database session. The links, synced
values and cursors of a batch are written by `commit_batch` in one transaction, after
the batch's writes to the CRMs succeeded.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Engine, delete, exc
from sqlmodel import Session, col, select

from sync.errors import CrmsyncError
from sync.model import Kind, System
from sync.state.database import open_database
from sync.state.tables import (
    CreateIntentTable,
    CursorTable,
    LinkTable,
    PendingWriteTable,
    RecordErrorTable,
    RunTable,
    StageEventTable,
    SyncedValuesTable,
)

log = structlog.get_logger(__name__)


class RunMode(enum.StrEnum):
    SYNC = "sync"
    DRY_RUN = "dry_run"


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StateConflictError(CrmsyncError):
    """A write would break a rule of the state store, such as two links for one record.

    The batch that raised it is rolled back completely.
    """


@dataclass(frozen=True)
class Link:
    """The pair of ids that stand for one real thing in both systems."""

    id: str
    kind: Kind
    hubspot_id: str
    dynamics_id: str

    @classmethod
    def new(cls, kind: Kind, hubspot_id: str, dynamics_id: str) -> Link:
        """Create a link with a fresh random id (UUID 4)."""
        return cls(str(uuid.uuid4()), kind, hubspot_id, dynamics_id)

    def record_id(self, system: System) -> str:
        """Return the id of the linked record in `system`."""
        return self.hubspot_id if system is System.HUBSPOT else self.dynamics_id


@dataclass(frozen=True)
class Intent:
    """A create that was planned and may have happened: recovered after a crash."""

    key: str
    kind: Kind
    target: System
    planned_id: str
    source: System
    source_id: str
    created_at: datetime


@dataclass(frozen=True)
class PendingWrite:
    """Canonical values that an update wrote to `target`, stored as soon as the CRM
    confirmed it, until the batch commits the pair's synced values.

    One that is still stored at the next run means the pair's synced values are older
    than what `target` contains: these values are what crmsync last wrote there.
    """

    link_id: str
    target: System
    values: dict[str, Any]


@dataclass(frozen=True)
class RecordErrorRow:
    """A record that a system rejected, kept until a later run writes it."""

    system: System
    kind: Kind
    record_id: str
    reason: str
    field: str | None
    attempts: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class RunRow:
    """One run: `counts` is what the run reported, such as {"created": 3}."""

    id: str
    started_at: datetime
    finished_at: datetime | None
    mode: RunMode
    outcome: RunOutcome
    counts: dict[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


class StateStore:
    """The store API over one database URL (see `sync.state.database.open_database`).

    `clock` returns the current time as an aware UTC datetime; tests pass a frozen one.
    Raises ConfigError from the constructor when the database cannot be opened.
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = open_database(url)
        self._clock = clock

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for stores of the same database such as the review queue."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    # Links and synced values

    def links(self, kind: Kind) -> list[Link]:
        """Return every link of `kind`, ordered by HubSpot id."""
        with self._transaction() as session:
            rows = session.exec(
                select(LinkTable).where(LinkTable.kind == kind.value).order_by(col(LinkTable.hubspot_id))
            ).all()
            return [_link(row) for row in rows]

    def link_for(self, system: System, kind: Kind, record_id: str) -> Link | None:
        """Return the link of one record, or None when the record is not linked."""
        column = LinkTable.hubspot_id if system is System.HUBSPOT else LinkTable.dynamics_id
        with self._transaction() as session:
            row = session.exec(
                select(LinkTable).where(LinkTable.kind == kind.value, column == record_id)
            ).first()
            return _link(row) if row else None

    def link_by_id(self, link_id: str) -> Link | None:
        """Return the link with the id `link_id`, or None when no link has it."""
        with self._transaction() as session:
            row = session.get(LinkTable, link_id)
            return _link(row) if row else None

    def synced_values(self, link_id: str) -> dict | None:
        """Return the canonical values stored after the link's last successful write."""
        with self._transaction() as session:
            row = session.get(SyncedValuesTable, link_id)
            return json.loads(row.values_json) if row else None

    def all_synced(self, kind: Kind) -> dict[str, dict]:
        """Return the synced values of every link of `kind` that has them, by link id."""
        with self._transaction() as session:
            rows = session.exec(
                select(SyncedValuesTable.link_id, SyncedValuesTable.values_json)
                .join(LinkTable, col(LinkTable.id) == col(SyncedValuesTable.link_id))
                .where(LinkTable.kind == kind.value)
            ).all()
            return {link_id: json.loads(values) for link_id, values in rows}

    def cursor(self, system: System, kind: Kind) -> str | None:
        """Return where the next incremental read of `system` and `kind` starts."""
        with self._transaction() as session:
            row = session.get(CursorTable, (system.value, kind.value))
            return row.value if row else None

    # The batch commit

    def commit_batch(
        self,
        *,
        links: Sequence[Link] = (),
        synced: Mapping[str, dict] = {},
        cursors: Mapping[tuple[System, Kind], str] = {},
        resolved_errors: Sequence[tuple[System, Kind, str]] = (),
        done_intents: Sequence[str] = (),
        done_pending: Sequence[str] = (),
    ) -> None:
        """Store one batch's outcome in one transaction: all of it or nothing.

        Links, synced values and cursors are inserted or updated. Resolved record errors
        and done intents are deleted, and so are the pending writes of the link ids in
        `done_pending`; ones that do not exist are ignored. Synced values
        must be JSON values (str, int, float, bool, None, list, dict).

        Raises StateConflictError when a link would give a record a second link, and
        TypeError or ValueError for values that are not JSON; nothing is stored then.
        """
        encoded = {link_id: _encode_values(link_id, values) for link_id, values in synced.items()}
        now = self._clock()

        with self._transaction() as session:
            self._upsert_links(session, links, now)
            for link_id, values_json in encoded.items():
                _upsert(session, SyncedValuesTable, link_id, values_json=values_json, updated_at=now)
            for (system, kind), value in cursors.items():
                _upsert(session, CursorTable, (system.value, kind.value), value=value, updated_at=now)
            for system, kind, record_id in resolved_errors:
                session.exec(delete(RecordErrorTable).where(*_error_key(system, kind, record_id)))
            if done_intents:
                session.exec(delete(CreateIntentTable).where(col(CreateIntentTable.key).in_(list(done_intents))))
            if done_pending:
                session.exec(delete(PendingWriteTable).where(col(PendingWriteTable.link_id).in_(list(done_pending))))

        log.debug(
            "state.batch_committed",
            links=len(links),
            synced=len(encoded),
            cursors=len(cursors),
            resolved_errors=len(resolved_errors),
            done_intents=len(done_intents),
            done_pending=len(done_pending),
        )

    def _upsert_links(self, session: Session, links: Sequence[Link], now: datetime) -> None:
        for link in links:
            _upsert(
                session,
                LinkTable,
                link.id,
                kind=link.kind.value,
                hubspot_id=link.hubspot_id,
                dynamics_id=link.dynamics_id,
                updated_at=now,
                created_at=now,
            )
        try:
            # Flushed first so that synced values can refer to new links.
            session.flush()
        except exc.IntegrityError as error:
            raise StateConflictError(
                "A link in this batch gives a record that is already linked a second link; "
                "look the record up with link_for and update its link instead. "
                f"Links in the batch: {', '.join(_describe(link) for link in links)}."
            ) from error

    # Create intents

    def save_intent(
        self, key: str, kind: Kind, target: System, planned_id: str, source: System, source_id: str
    ) -> None:
        """Store the intent to create a record, before the create call, in its own transaction.

        Saving the same intent again does nothing. Raises StateConflictError when `key`
        already contains a different intent, because its planned id may already exist in
        the target system.
        """
        expected = dict(kind=kind.value, target=target.value, planned_id=planned_id, source=source.value, source_id=source_id)
        with self._transaction() as session:
            row = session.get(CreateIntentTable, key)
            if row is None:
                session.add(CreateIntentTable(key=key, created_at=self._clock(), **expected))
                return
            stored = {name: getattr(row, name) for name in expected}
            if stored != expected:
                raise StateConflictError(
                    f"The create intent {key} is already stored with planned id {row.planned_id} for "
                    f"{row.source} {row.kind} {row.source_id}; finish or drop it before planning it again."
                )

    def save_intents(self, intents: Sequence[Intent]) -> list[Intent]:
        """Store many create intents in one transaction, like `save_intent`.

        Returns the intents whose key is already stored with different values, instead of
        raising; those are not stored, and their creates must not be sent.
        """
        conflicts: list[Intent] = []
        with self._transaction() as session:
            for intent in intents:
                expected = dict(kind=intent.kind.value, target=intent.target.value, planned_id=intent.planned_id,
                                source=intent.source.value, source_id=intent.source_id)
                row = session.get(CreateIntentTable, intent.key)
                if row is None:
                    session.add(CreateIntentTable(key=intent.key, created_at=self._clock(), **expected))
                elif {name: getattr(row, name) for name in expected} != expected:
                    conflicts.append(_intent(row))
        return conflicts

    def intents(self, kind: Kind, target: System) -> list[Intent]:
        """Return the open create intents for `kind` in `target`, oldest first."""
        with self._transaction() as session:
            rows = session.exec(
                select(CreateIntentTable)
                .where(CreateIntentTable.kind == kind.value, CreateIntentTable.target == target.value)
                .order_by(col(CreateIntentTable.created_at), col(CreateIntentTable.key))
            ).all()
            return [_intent(row) for row in rows]

    # Pending writes

    def save_pending_writes(self, writes: Sequence[PendingWrite]) -> None:
        """Store confirmed updates in their own transaction. Values of a link and target
        that is already stored are merged into it, newer values first."""
        if not writes:
            return
        now = self._clock()
        with self._transaction() as session:
            for write in writes:
                row = session.get(PendingWriteTable, (write.link_id, write.target.value))
                values = {**json.loads(row.values_json), **write.values} if row is not None else write.values
                _upsert(session, PendingWriteTable, (write.link_id, write.target.value),
                        values_json=_encode_values(write.link_id, values), created_at=now)

    def pending_writes(self, kind: Kind) -> dict[str, dict[System, PendingWrite]]:
        """Return the pending writes of the links of `kind`, by link id and target."""
        with self._transaction() as session:
            rows = session.exec(
                select(PendingWriteTable)
                .join(LinkTable, col(LinkTable.id) == col(PendingWriteTable.link_id))
                .where(LinkTable.kind == kind.value)
            ).all()
            found: dict[str, dict[System, PendingWrite]] = {}
            for row in rows:
                target = System(row.target)
                found.setdefault(row.link_id, {})[target] = PendingWrite(row.link_id, target, json.loads(row.values_json))
            return found

    # Record errors

    def record_error(self, system: System, kind: Kind, record_id: str, reason: str, field: str | None = None) -> None:
        """Store that a record was rejected, or count one more attempt if it is stored."""
        now = self._clock()
        with self._transaction() as session:
            row = session.exec(select(RecordErrorTable).where(*_error_key(system, kind, record_id))).first()
            if row is None:
                row = RecordErrorTable(
                    system=system.value, kind=kind.value, record_id=record_id,
                    reason=reason, field=field, attempts=1, first_seen=now, last_seen=now,
                )
            else:
                row.attempts += 1
                row.reason, row.field, row.last_seen = reason, field, now
            session.add(row)

    def record_errors(self, system: System | None = None, kind: Kind | None = None) -> list[RecordErrorRow]:
        """Return the stored record errors, optionally of one system and kind only."""
        query = select(RecordErrorTable)
        if system is not None:
            query = query.where(RecordErrorTable.system == system.value)
        if kind is not None:
            query = query.where(RecordErrorTable.kind == kind.value)
        query = query.order_by(col(RecordErrorTable.system), col(RecordErrorTable.kind), col(RecordErrorTable.record_id))
        with self._transaction() as session:
            return [_record_error(row) for row in session.exec(query).all()]

    def requeue_errors(self, system: System | None = None, kind: Kind | None = None, *, min_attempts: int = 0) -> int:
        """Reset the attempts of stored record errors, so parked records are retried again.

        Only errors with at least `min_attempts` attempts count, so passing the parking limit
        re-queues parked records alone. Returns how many were re-queued.
        """
        query = select(RecordErrorTable).where(RecordErrorTable.attempts >= min_attempts)
        if system is not None:
            query = query.where(RecordErrorTable.system == system.value)
        if kind is not None:
            query = query.where(RecordErrorTable.kind == kind.value)
        with self._transaction() as session:
            rows = session.exec(query).all()
            for row in rows:
                row.attempts = 0
                session.add(row)
            return len(rows)

    # Stage changes

    def record_stage_events(self, events: Sequence[tuple[str, str, datetime]]) -> None:
        """Store deal stage changes that a run wrote or saw: (deal key, stage, when)."""
        if not events:
            return
        with self._transaction() as session:
            for deal_key, stage, entered_at in events:
                session.add(StageEventTable(deal_key=deal_key, stage=stage, entered_at=entered_at))

    def stage_events(self) -> list[tuple[str, str, datetime]]:
        """Return the stored stage changes, oldest first."""
        query = select(StageEventTable).order_by(col(StageEventTable.entered_at), col(StageEventTable.id))
        with self._transaction() as session:
            return [(row.deal_key, row.stage, _aware(row.entered_at)) for row in session.exec(query).all()]

    # Runs

    def start_run(self, mode: str) -> str:
        """Store a new run as running and return its id. `mode` is "sync" or "dry_run"."""
        run_mode = RunMode(mode)
        run_id = str(uuid.uuid4())
        with self._transaction() as session:
            session.add(
                RunTable(
                    id=run_id, started_at=self._clock(), mode=run_mode.value,
                    outcome=RunOutcome.RUNNING.value, counts_json="{}",
                )
            )
        return run_id

    def finish_run(self, run_id: str, outcome: str, counts: dict[str, Any]) -> None:
        """Store the outcome ("succeeded" or "failed") and counts of a run.

        Raises KeyError when no run has the id.
        """
        run_outcome = RunOutcome(outcome)
        with self._transaction() as session:
            row = session.get(RunTable, run_id)
            if row is None:
                raise KeyError(f"No run with the id {run_id} is stored; pass the id that start_run returned.")
            row.outcome = run_outcome.value
            row.finished_at = self._clock()
            row.counts_json = json.dumps(counts, sort_keys=True)
            session.add(row)

    def runs(self, limit: int = 10) -> list[RunRow]:
        """Return the last `limit` runs, newest first."""
        query = select(RunTable).order_by(col(RunTable.started_at).desc(), col(RunTable.id)).limit(limit)
        with self._transaction() as session:
            return [_run(row) for row in session.exec(query).all()]


def _upsert(session: Session, table: type, key: Any, **values: Any) -> None:
    """Insert a row, or update it when its primary key exists; `created_at` is kept."""
    row = session.get(table, key)
    if row is None:
        names = table.__table__.primary_key.columns.keys()
        keys = key if isinstance(key, tuple) else (key,)
        session.add(table(**dict(zip(names, keys)), **values))
        return
    values.pop("created_at", None)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)


def _encode_values(link_id: str, values: dict) -> str:
    try:
        return json.dumps(values, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise type(error)(f"The synced values of link {link_id} are not JSON values: {error}.") from error


def _error_key(system: System, kind: Kind, record_id: str) -> tuple:
    return (
        RecordErrorTable.system == system.value,
        RecordErrorTable.kind == kind.value,
        RecordErrorTable.record_id == record_id,
    )


def _aware(moment: datetime | None) -> datetime | None:
    """Return `moment` in UTC; SQLite drops the time zone, so a naive value is UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _describe(link: Link) -> str:
    return f"{link.kind} HubSpot {link.hubspot_id} / Dynamics {link.dynamics_id}"


def _link(row: LinkTable) -> Link:
    return Link(row.id, Kind(row.kind), row.hubspot_id, row.dynamics_id)


def _intent(row: CreateIntentTable) -> Intent:
    return Intent(
        row.key, Kind(row.kind), System(row.target), row.planned_id,
        System(row.source), row.source_id, _aware(row.created_at),  # type: ignore[arg-type]
    )


def _record_error(row: RecordErrorTable) -> RecordErrorRow:
    return RecordErrorRow(
        System(row.system), Kind(row.kind), row.record_id, row.reason, row.field,
        row.attempts, _aware(row.first_seen), _aware(row.last_seen),  # type: ignore[arg-type]
    )


def _run(row: RunTable) -> RunRow:
    return RunRow(
        row.id, _aware(row.started_at), _aware(row.finished_at),  # type: ignore[arg-type]
        RunMode(row.mode), RunOutcome(row.outcome), json.loads(row.counts_json),
    )
