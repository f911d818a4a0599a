"""Apply a kind's plan: batched writes, then links and synced values in one transaction.

For each batch the order is fixed: store the create intents, call the CRMs, store the
updates each CRM confirmed as pending writes, then commit the links and synced values of
the records whose writes succeeded. A failed record becomes a record error, kept for the
next run; the others go on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from sync.connectors.base import Connector, WriteOp, WriteRequest, WriteResult
from sync.engine.decide import Decision
from sync.engine.plan import Archive, Create, KindPlan, PairPlan
from sync.engine.reconcile import HUBSPOT_KEY_PROPERTY, REF_PREFIX
from sync.errors import RecordError
from sync.mapping import ObjectPair, OwnerDirectory
from sync.mapping.convert import WriteMode
from sync.model import Kind, Record, System
from sync.engine.links import LinkIndex
from sync.state import Intent, Link, PendingWrite, StateStore

log = structlog.get_logger(__name__)
T = TypeVar("T")
# RecordError category of a write refused because the record changed since it was read.
ETAG_MISMATCH = "etag_mismatch"


@dataclass
class ApplyResult:
    created: dict[System, int] = field(default_factory=lambda: {System.HUBSPOT: 0, System.DYNAMICS: 0})
    updated: dict[System, int] = field(default_factory=lambda: {System.HUBSPOT: 0, System.DYNAMICS: 0})
    archived: dict[System, int] = field(default_factory=lambda: {System.HUBSPOT: 0, System.DYNAMICS: 0})
    errors: list[RecordError] = field(default_factory=list)
    done: set[tuple[System, str]] = field(default_factory=set)
    # Pairs whose Dataverse record changed after it was read (412): re-read and re-plan.
    stale: list[PairPlan] = field(default_factory=list)


class Applier:
    def __init__(self, store: StateStore, links: LinkIndex, connectors: dict[System, Connector], pair: ObjectPair,
                 batch_size: int, owners: OwnerDirectory | None = None):
        self.owners = owners
        self.store = store
        self.links = links
        self.connectors = connectors
        self.pair = pair
        self.kind = pair.kind
        self.batch_size = batch_size
        self._claimed: dict[tuple[System, str], PairPlan] = {}

    def apply(self, plan: KindPlan) -> ApplyResult:
        result = ApplyResult()
        # Records that pairs matched in this run will link once their batch commits. A
        # create that lands on one of them must not link it first.
        self._claimed = {(system, pair.hubspot.id if system is System.HUBSPOT else pair.dynamics.id): pair
                         for pair in plan.pairs if pair.new_link for system in System}
        for target in System:
            for batch in _chunks(plan.creates_in(target), self.batch_size):
                self._create_batch(target, batch, result)
        for batch in _chunks(plan.pairs, self.batch_size):
            self._update_batch(batch, result)
        for target in System:
            for batch in _chunks(plan.archives_in(target), self.batch_size):
                self._archive_batch(target, batch, result)
        return result

    # -- archives ---------------------------------------------------------------------

    def _archive_batch(self, target: System, archives: Sequence[Archive], result: ApplyResult) -> None:
        """Archive the partners of gone records. The links stay, so the archived records are
        never matched or created again; a failure is retried when the record is read next."""
        requests = [WriteRequest(WriteOp.ARCHIVE, {}, record_id=archive.target_id) for archive in archives]
        outcomes = self.connectors[target].write(self.kind, requests)
        done = []
        for archive, outcome in zip(archives, outcomes, strict=True):
            if not outcome.ok:
                error = outcome.error or RecordError("archive failed", system=str(target), kind=str(self.kind),
                                                     record_id=archive.target_id)
                self._fail(target, archive.target_id, error, result)
                continue
            result.archived[target] += 1
            done.append((target, archive.target_id))
            log.info("sync.partner_archived", kind=str(self.kind), system=str(target), record_id=archive.target_id,
                     reason=archive.detail)
        result.done.update(done)
        self._commit([], {}, done)

    # -- creates ----------------------------------------------------------------------

    def _create_batch(self, target: System, creates: Sequence[Create], result: ApplyResult) -> None:
        ready: list[tuple[Create, WriteRequest]] = []
        for create in creates:
            try:
                ready.append((create, self._create_request(create, target)))
            except RecordError as error:
                self._fail(create.source.system, create.source.id, error, result)

        ready = self._save_intents(target, ready, result)
        outcomes = self.connectors[target].write(self.kind, [request for _, request in ready])

        links: list[Link] = []
        synced: dict[str, dict[str, Any]] = {}
        done: list[tuple[System, str]] = []
        for (create, _), outcome in zip(ready, outcomes, strict=True):
            if not outcome.ok:
                self._fail(create.source.system, create.source.id, _error_of(outcome, create, target), result)
                continue
            link = _new_link(self.kind, create, outcome)
            taken = self._taken(link, target, links)
            if taken:
                self._fail(create.source.system, create.source.id, RecordError(
                    f"the create in {target.label} landed on record {link.record_id(target)}, which is already "
                    f"linked to {taken}; the two records are kept apart for review",
                    system=str(create.source.system), kind=str(self.kind), record_id=create.source.id,
                ), result)
                continue
            links.append(link)
            synced[link.id] = self._synced_after_create(create, target, outcome.record)
            result.created[target] += 1
            done.append((create.source.system, create.source.id))
        result.done.update(done)
        self._commit(links, synced, done, intents=[_intent_key(create) for create, _ in ready])

    def _save_intents(self, target: System, ready: list[tuple[Create, WriteRequest]],
                      result: ApplyResult) -> list[tuple[Create, WriteRequest]]:
        """Store the intents before the call. The creates are idempotent (planned Dataverse
        id, HubSpot upsert key), so a crash after this point can be replayed safely."""
        now = datetime.now(UTC)
        intents = [Intent(_intent_key(create), self.kind, target, request.record_id or request.key or "",
                          create.source.system, create.source.id, now) for create, request in ready]
        conflicts = {intent.key: intent for intent in self.store.save_intents(intents)}
        kept = []
        for create, request in ready:
            earlier = conflicts.get(_intent_key(create))
            if earlier is None:
                kept.append((create, request))
                continue
            self._fail(create.source.system, create.source.id, RecordError(
                f"an earlier create of this record in {target.label} was interrupted (planned id "
                f"{earlier.planned_id}); check whether it exists there before it is created again",
                system=str(create.source.system), kind=str(self.kind), record_id=create.source.id,
            ), result)
        return kept

    def _taken(self, link: Link, target: System, batch: list[Link]) -> str | None:
        """Say which record a new link's target already belongs to, if any.

        An upsert by email or key can land on an existing record instead of creating one.
        """
        target_id = link.record_id(target)
        for other in batch:
            if other.record_id(target) == target_id:
                return f"{target.other.label} record {other.record_id(target.other)}"
        existing = self.links.for_record(target, self.kind, target_id)
        if existing is not None:
            return f"{target.other.label} record {existing.record_id(target.other)}"
        claimed = self._claimed.get((target, target_id))
        if claimed is not None:
            partner = claimed.dynamics if target is System.HUBSPOT else claimed.hubspot
            return f"{target.other.label} record {partner.id}, matched in this run"
        return None

    def _create_request(self, create: Create, target: System) -> WriteRequest:
        values = self.pair.from_canonical(target, create.values, self.owners, mode=WriteMode.CREATE)
        if target is System.HUBSPOT and self.kind is not Kind.CONTACT:
            values[HUBSPOT_KEY_PROPERTY] = create.key
        refs = {kind: [record_id] for kind, record_id in create.refs.items()}
        return WriteRequest(WriteOp.CREATE, values, record_id=create.planned_id, key=create.key, refs=refs)

    def _synced_after_create(self, create: Create, target: System, written: Record | None) -> dict[str, Any]:
        """Return the synced values of a new pair: what was written, and for the fields that were
        not, the new record's own values (such as a creation time the CRM set itself)."""
        held = self.pair.to_canonical(written, self.owners).values if written is not None else {}
        synced: dict[str, Any] = {}
        for rule in self.pair.fields:
            synced[rule.name] = create.values.get(rule.name) if rule.flows_on_create(target) else held.get(rule.name)
        for reference in self.pair.references:
            target_id = create.refs.get(reference.target)
            linked = self.links.for_record(target, reference.target, target_id) if target_id else None
            synced[REF_PREFIX + reference.target] = linked.id if linked else None
        return synced

    # -- updates ----------------------------------------------------------------------

    def _update_batch(self, pairs: Sequence[PairPlan], result: ApplyResult) -> None:
        failed: set[int] = set()
        # Pairs matched in this run get their link id now, so that their pending writes
        # can name it before the link is committed.
        link_ids = [pair.link_id or str(uuid.uuid4()) for pair in pairs]
        for target in System:
            requests: list[tuple[int, WriteRequest]] = []
            for index, pair in enumerate(pairs):
                changes = pair.changes_for(target)
                if not changes or index in failed:
                    continue
                try:
                    requests.append((index, self._update_request(pair, target, changes)))
                except RecordError as error:
                    failed.add(index)
                    self._fail(pair.hubspot.system, pair.hubspot.id, error, result)
            outcomes = self.connectors[target].write(self.kind, [request for _, request in requests])
            self.store.save_pending_writes([
                PendingWrite(link_ids[index], target, _written(pairs[index], target))
                for (index, _), outcome in zip(requests, outcomes, strict=True) if outcome.ok
            ])
            for (index, _), outcome in zip(requests, outcomes, strict=True):
                if outcome.ok:
                    result.updated[target] += 1
                    continue
                failed.add(index)
                if outcome.error is not None and outcome.error.category == ETAG_MISMATCH:
                    # Never overwrite the newer value: the caller re-reads and re-plans the pair.
                    result.stale.append(pairs[index])
                    continue
                record = pairs[index].hubspot if target is System.HUBSPOT else pairs[index].dynamics
                self._fail(record.system, record.id, outcome.error or RecordError("write failed"), result)

        links, synced, done, committed = [], {}, [], []
        for index, pair in enumerate(pairs):
            link_id = link_ids[index]
            if pair.new_link:
                # The match stays valid even when its first writes failed. Without the link, the next
                # run could read one side alone and create a duplicate of it. No synced values
                # are stored, so the pair is compared from scratch next time, against the values
                # of any write that landed (its pending writes).
                links.append(Link(link_id, self.kind, pair.hubspot.id, pair.dynamics.id))
            if index in failed:
                continue
            synced[link_id] = pair.merged
            committed.append(link_id)
            done += [(System.HUBSPOT, pair.hubspot.id), (System.DYNAMICS, pair.dynamics.id)]
            result.done.update(done[-2:])
        # A failed pair keeps its pending writes, because the side written before the failure
        # already contains the new values and the next run must compare against them.
        self._commit(links, synced, done, pending=committed)

    def _update_request(self, pair: PairPlan, target: System, changes: list[Decision]) -> WriteRequest:
        canonical = {d.field: d.value for d in changes if not d.field.startswith(REF_PREFIX)}
        values = self.pair.from_canonical(target, canonical, self.owners) if canonical else {}
        refs: dict[Kind, list[str]] = {}
        for decision in changes:
            if not decision.field.startswith(REF_PREFIX):
                continue
            ref_kind = Kind(decision.field[len(REF_PREFIX):])
            if decision.value is None:
                # The winning side has no reference: an empty list clears it in the target.
                refs[ref_kind] = []
                continue
            link = self.links.by_id(decision.value)
            refs[ref_kind] = [link.hubspot_id if target is System.HUBSPOT else link.dynamics_id]
        record = pair.hubspot if target is System.HUBSPOT else pair.dynamics
        return WriteRequest(WriteOp.UPDATE, values, record_id=record.id, etag=record.etag, refs=refs)

    # -- shared -----------------------------------------------------------------------

    def _commit(self, links: list[Link], synced: dict[str, dict[str, Any]], done: list[tuple[System, str]],
                intents: Sequence[str] = (), pending: Sequence[str] = ()) -> None:
        resolved = [(system, self.kind, record_id) for system, record_id in done]
        self.store.commit_batch(links=links, synced=synced, resolved_errors=resolved, done_intents=intents,
                                done_pending=pending)
        for link in links:
            self.links.add(link)

    def _fail(self, system: System, record_id: str, error: RecordError, result: ApplyResult) -> None:
        result.errors.append(error)
        self.store.record_error(system, self.kind, record_id, error.reason, field=error.field)
        log.warning("sync.record_failed", kind=str(self.kind), system=str(system), record_id=record_id, reason=error.reason)


def _written(pair: PairPlan, target: System) -> dict[str, Any]:
    """Return the canonical values that an update of `pair` wrote to `target`."""
    return {decision.field: decision.value for decision in pair.changes_for(target)}


def _intent_key(create: Create) -> str:
    return f"{create.target}:{create.source.kind}:{create.source.system}:{create.source.id}"


def _new_link(kind: Kind, create: Create, outcome: WriteResult) -> Link:
    new_id = outcome.record_id or create.planned_id or ""
    if create.target is System.HUBSPOT:
        return Link(str(uuid.uuid4()), kind, new_id, create.source.id)
    return Link(str(uuid.uuid4()), kind, create.source.id, new_id)


def _error_of(outcome: WriteResult, create: Create, target: System) -> RecordError:
    if outcome.error is not None:
        return outcome.error
    return RecordError(f"create in {target.label} failed", system=str(create.source.system),
                       kind=str(create.source.kind), record_id=create.source.id)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
