"""The review queue: possible matches kept with their evidence until a person decides.

Matching holds a possible pair: neither linked nor created. The queue stores it, and a
person accepts it (the engine then treats the pair as a match and links it on its next
run) or rejects it (the pair is remembered and never proposed again). Adding a pair that
was already decided keeps the decision.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import or_
from sqlmodel import Session, col, select

from sync.errors import CrmsyncError
from sync.model import Kind
from sync.state.store import StateConflictError, StateStore, utc_now
from sync.state.tables import LinkTable, ReviewTable

log = structlog.get_logger(__name__)


class ReviewDecision(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReviewNotFoundError(CrmsyncError):
    """No review item has the given id."""

    input_error = True

    def __init__(self, item_id: int) -> None:
        self.item_id = item_id
        super().__init__(
            f"No possible match with the review id {item_id} exists; "
            "list the pending ones with `crmsync review` and use an id from that list."
        )


class ReviewLinkedError(CrmsyncError):
    """A reject of a pair that crmsync has linked already: rejecting does not unlink."""

    input_error = True

    def __init__(self, item_id: int, hubspot_id: str, dynamics_id: str) -> None:
        self.item_id = item_id
        super().__init__(
            f"Review item {item_id} cannot be rejected: HubSpot {hubspot_id} and Dynamics {dynamics_id} are "
            "linked already, and a reject only keeps records apart before they are linked. "
            "Merge or correct the records in the CRMs instead."
        )


@dataclass(frozen=True)
class ReviewItem:
    """A possible match: the pair, its score (0..100), the evidence and the decision."""

    id: int
    kind: Kind
    hubspot_id: str
    dynamics_id: str
    score: float
    evidence: str
    decision: ReviewDecision
    created_at: datetime
    decided_at: datetime | None


class ReviewQueue:
    """Possible matches in the state store of `store`, on SQLite or PostgreSQL.

    `clock` returns the current time as an aware UTC datetime; tests pass a frozen one.
    """

    def __init__(self, store: StateStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        # The queue shares the store's database and connection pool.
        self._engine = store.engine
        self._clock = clock

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    def add(self, kind: Kind, hubspot_id: str, dynamics_id: str, score: float, evidence: str) -> ReviewItem | None:
        """Queue a possible match, or refresh the score and evidence of a pending one.

        Returns the stored item, or None for a pair that was rejected before; an
        accepted pair is returned unchanged.
        """
        with self._transaction() as session:
            row = session.exec(select(ReviewTable).where(*_pair(kind, hubspot_id, dynamics_id))).first()
            if row is not None and row.status == ReviewDecision.REJECTED:
                return None
            if row is None:
                row = ReviewTable(
                    kind=kind.value, hubspot_id=hubspot_id, dynamics_id=dynamics_id, score=score,
                    evidence=evidence, status=ReviewDecision.PENDING.value, created_at=self._clock(),
                )
                log.info("review.added", kind=kind.value, hubspot_id=hubspot_id, dynamics_id=dynamics_id, score=score)
            elif row.status == ReviewDecision.PENDING:
                row.score, row.evidence = score, evidence
            session.add(row)
            session.flush()
            return _item(row)

    def pending(self, kind: Kind | None = None) -> list[ReviewItem]:
        """Return the undecided items, highest score first, then oldest first."""
        return self._items(ReviewDecision.PENDING, kind)

    def accepted(self, kind: Kind | None = None) -> list[ReviewItem]:
        """Return the accepted items; the engine links these pairs as matches."""
        return self._items(ReviewDecision.ACCEPTED, kind)

    def accept(self, item_id: int) -> ReviewItem:
        """Accept a possible match, so that the engine links the pair.

        Raises ReviewNotFoundError for an unknown id, and StateConflictError when one
        of the two records is already in another accepted pair of the same kind.
        """
        with self._transaction() as session:
            row = self._get(session, item_id)
            other = session.exec(
                select(ReviewTable).where(
                    ReviewTable.kind == row.kind,
                    ReviewTable.status == ReviewDecision.ACCEPTED.value,
                    ReviewTable.id != row.id,
                    or_(ReviewTable.hubspot_id == row.hubspot_id, ReviewTable.dynamics_id == row.dynamics_id),
                )
            ).first()
            if other is not None:
                raise StateConflictError(
                    f"The possible match {row.id} ({row.kind} HubSpot {row.hubspot_id} / Dynamics "
                    f"{row.dynamics_id}) shares a record with the accepted match {other.id} (HubSpot "
                    f"{other.hubspot_id} / Dynamics {other.dynamics_id}); reject {other.id} first."
                )
            return self._decide(session, row, ReviewDecision.ACCEPTED)

    def reject(self, item_id: int) -> ReviewItem:
        """Reject a possible match: `add` never queues this pair again.

        Raises ReviewNotFoundError for an unknown id, and ReviewLinkedError when the pair is
        linked already.
        """
        with self._transaction() as session:
            row = self._get(session, item_id)
            linked = session.exec(select(LinkTable).where(
                LinkTable.kind == row.kind, LinkTable.hubspot_id == row.hubspot_id,
                LinkTable.dynamics_id == row.dynamics_id)).first()
            if linked is not None:
                raise ReviewLinkedError(item_id, row.hubspot_id, row.dynamics_id)
            return self._decide(session, row, ReviewDecision.REJECTED)

    def decision(self, kind: Kind, hubspot_id: str, dynamics_id: str) -> ReviewDecision | None:
        """Return the state of a pair in the queue, or None when it was never queued."""
        with self._transaction() as session:
            row = session.exec(select(ReviewTable).where(*_pair(kind, hubspot_id, dynamics_id))).first()
            return None if row is None else ReviewDecision(row.status)

    def _items(self, status: ReviewDecision, kind: Kind | None) -> list[ReviewItem]:
        query = select(ReviewTable).where(ReviewTable.status == status.value)
        if kind is not None:
            query = query.where(ReviewTable.kind == kind.value)
        query = query.order_by(col(ReviewTable.score).desc(), col(ReviewTable.created_at), col(ReviewTable.id))
        with self._transaction() as session:
            return [_item(row) for row in session.exec(query).all()]

    def _get(self, session: Session, item_id: int) -> ReviewTable:
        row = session.get(ReviewTable, item_id)
        if row is None:
            raise ReviewNotFoundError(item_id)
        return row

    def _decide(self, session: Session, row: ReviewTable, decision: ReviewDecision) -> ReviewItem:
        row.status = decision.value
        row.decided_at = self._clock()
        session.add(row)
        session.flush()
        log.info("review.decided", decision=decision.value, review_id=row.id, kind=row.kind, hubspot_id=row.hubspot_id, dynamics_id=row.dynamics_id)
        return _item(row)


def _pair(kind: Kind, hubspot_id: str, dynamics_id: str) -> tuple:
    return (
        ReviewTable.kind == kind.value,
        ReviewTable.hubspot_id == hubspot_id,
        ReviewTable.dynamics_id == dynamics_id,
    )


def _item(row: ReviewTable) -> ReviewItem:
    return ReviewItem(
        id=row.id,  # type: ignore[arg-type]
        kind=Kind(row.kind),
        hubspot_id=row.hubspot_id,
        dynamics_id=row.dynamics_id,
        score=row.score,
        evidence=row.evidence,
        decision=ReviewDecision(row.status),
        created_at=_aware(row.created_at),
        decided_at=_aware(row.decided_at) if row.decided_at else None,
    )


def _aware(moment: datetime) -> datetime:
    """Return `moment` in UTC; SQLite drops the time zone, so a naive value is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
