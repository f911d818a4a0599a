"""One run: read both systems, plan each kind, apply it (unless dry), commit cursors.

Kinds run in dependency order (companies, contacts, deals), so that references to
companies resolve through links made earlier in the same run.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from sync.connectors.base import Connector
from sync.engine.apply import Applier, ApplyResult
from sync.engine.history import add_change_times
from sync.engine.links import LinkIndex
from sync.engine.plan import KindPlan, Plan, SkipReason
from sync.engine.reconcile import KindInput, MatchingOptions, Planner
from sync.errors import RecordError
from sync.engine.owners import load_owners
from sync.mapping import Mapping
from sync.model import Kind, Record, System
from sync.connectors.hubspot.client import merged_ids
from sync.state import Link, RecordErrorRow, ReviewQueue, StateStore

log = structlog.get_logger(__name__)


# Canonical deal field whose changes are kept as stage history.
STAGE_FIELD = "stage"
# Canonical contact field that identity matching compares first.
EMAIL_FIELD = "email"


class RunMode(enum.StrEnum):
    SYNC = "sync"
    DRY_RUN = "dry_run"


@dataclass(frozen=True)
class RetryPolicy:
    """When a record in the retry queue is read again.

    After a failure the record waits `base_delay` × 2^(attempts − 1), at most `max_delay`;
    after `max_attempts` failures it is parked until `crmsync retry` re-queues it.
    """

    max_attempts: int = 8
    base_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=6)

    def due(self, row: RecordErrorRow, now: datetime) -> bool:
        if row.attempts >= self.max_attempts:
            return False
        delay = min(self.base_delay * 2 ** max(row.attempts - 1, 0), self.max_delay)
        return row.last_seen + delay <= now

    def parked(self, row: RecordErrorRow) -> bool:
        return row.attempts >= self.max_attempts


@dataclass
class RunResult:
    run_id: str
    mode: RunMode
    plan: Plan
    applied: dict[Kind, ApplyResult] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        counts = self.plan.counts()
        for kind, applied in self.applied.items():
            counts[str(kind)].update({
                "created_in_hubspot": applied.created[System.HUBSPOT],
                "created_in_dynamics": applied.created[System.DYNAMICS],
                "updated_in_hubspot": applied.updated[System.HUBSPOT],
                "updated_in_dynamics": applied.updated[System.DYNAMICS],
                "archived_in_hubspot": applied.archived[System.HUBSPOT],
                "archived_in_dynamics": applied.archived[System.DYNAMICS],
                "failed": len(applied.errors),
            })
        return counts

    @property
    def failed(self) -> int:
        return len(self.errors)


class SyncEngine:
    def __init__(
        self,
        mapping: Mapping,
        connectors: dict[System, Connector],
        store: StateStore,
        *,
        batch_size: int = 100,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy = RetryPolicy(),
        matching: MatchingOptions = MatchingOptions(),
    ):
        self.retry = retry
        self.matching = matching
        self.mapping = mapping
        self.connectors = connectors
        self.store = store
        self.batch_size = batch_size
        self.clock = clock

    def run(self, mode: RunMode = RunMode.SYNC, *, full: bool = False) -> RunResult:
        """Run once; a dry run plans the same way and writes nothing to either CRM.

        `full` ignores the cursors and reads every record of both systems. Pairs that drifted
        apart without a change crmsync could see, such as edits with an old modification
        time, are then compared and fixed by the same rules.
        """
        self._full = full
        run_id = self.store.start_run(str(mode))
        self._planned: set[tuple[System, Kind, str]] = set()
        # Ids that a CRM merged into another record, by (system, kind, old id): the survivor's id.
        self._merged_away: dict[tuple[System, Kind, str], str] = {}
        # HubSpot records of later kinds to read by id, such as the contacts of a merged company.
        self._reread: dict[Kind, set[str]] = {}
        structlog.contextvars.bind_contextvars(run_id=run_id)
        result = RunResult(run_id, mode, Plan())
        try:
            self._owners = load_owners(self.mapping, self.connectors)
            for kind in Kind:
                if kind in self.mapping.pairs:
                    self._run_kind(kind, mode, result)
        except Exception:
            self.store.finish_run(run_id, "failed", result.counts())
            log.error("sync.run_failed", mode=str(mode))
            raise
        finally:
            structlog.contextvars.unbind_contextvars("run_id")
        self.store.finish_run(run_id, "succeeded", result.counts())
        log.info("sync.run_finished", run_id=run_id, mode=str(mode), writes=self._write_total(result))
        return result

    def _run_kind(self, kind: Kind, mode: RunMode, result: RunResult) -> None:
        started = self.clock()
        pair = self.mapping.pairs[kind]
        links = LinkIndex.load(self.store)
        records, cursors = self._read(kind)
        self._follow_merges(kind, records[System.HUBSPOT], links, commit=mode is not RunMode.DRY_RUN)
        self._add_email_twins(kind, records, links)
        records = self._complete_pairs(kind, records, links)
        records[System.DYNAMICS] = self._follow_dataverse_merges(kind, records[System.DYNAMICS], links,
                                                                 commit=mode is not RunMode.DRY_RUN)

        review = ReviewQueue(self.store)
        planner, plan = self._plan(KindInput(kind, pair, records[System.HUBSPOT], records[System.DYNAMICS]), links,
                                   review, self._planned if mode is RunMode.DRY_RUN else None)
        result.plan.kinds[kind] = plan
        result.errors.extend(planner.record_errors)
        self._log_plan(kind, plan)
        if mode is RunMode.DRY_RUN:
            return

        self._queue_skipped(kind, plan)
        for hubspot_id, dynamics_id, score, evidence in plan.possible_matches:
            review.add(kind, hubspot_id, dynamics_id, score, evidence)
        applier = Applier(self.store, links, self.connectors, pair, self.batch_size, self._owners)
        applied = applier.apply(plan)
        if applied.stale:
            self._replan_stale(kind, pair, applied, links, applier)
        result.applied[kind] = applied
        result.errors.extend(applied.errors)
        if kind is Kind.DEAL:
            self._record_stage_changes(plan, applied)
        self._commit_cursors(kind, cursors, started)

    def _plan(self, given: KindInput, links: LinkIndex, review: ReviewQueue,
              planned: set[tuple[System, Kind, str]] | None) -> tuple[Planner, KindPlan]:
        """Plan a kind; when decisions compared times, read HubSpot's property history for
        those records and plan it again with the finer times."""
        def planner() -> Planner:
            return Planner(links, self.store.all_synced(given.kind), planned, review, self.matching, self._owners,
                           self.store.pending_writes(given.kind), self._merged_away)

        first = planner()
        plan = first.plan_kind(given)
        reader = getattr(self.connectors[System.HUBSPOT], "property_change_times", None)
        if not add_change_times(reader, given.pair, plan):
            return first, plan
        second = planner()
        return second, second.plan_kind(given)

    def _record_stage_changes(self, plan: KindPlan, applied: ApplyResult) -> None:
        """Keep each deal stage change this run wrote, dated by the change in the winning CRM,
        so stage-history KPIs also see moves that a CRM keeps no history of."""
        events = []
        for pair in plan.pairs:
            if (System.HUBSPOT, pair.hubspot.id) not in applied.done:
                continue
            for decision in pair.decisions:
                if decision.field != STAGE_FIELD or decision.winner is None or decision.value is None:
                    continue
                winner = pair.hubspot if decision.winner is System.HUBSPOT else pair.dynamics
                events.append((pair.hubspot.id, str(decision.value), winner.modified_at or self.clock()))
        self.store.record_stage_events(events)

    def _replan_stale(self, kind: Kind, pair, applied: ApplyResult, links: LinkIndex, applier: Applier) -> None:
        """Re-read pairs whose write hit a newer record (412) and plan them once more.

        A pair that is stale again is kept as a record error for the next run.
        """
        stale, applied.stale = applied.stale, []
        log.info("sync.replanning_stale", kind=str(kind), pairs=len(stale))
        fresh = {
            System.HUBSPOT: self.connectors[System.HUBSPOT].read_ids(kind, [p.hubspot.id for p in stale]),
            System.DYNAMICS: self.connectors[System.DYNAMICS].read_ids(kind, [p.dynamics.id for p in stale]),
        }
        _, replanned = self._plan(KindInput(kind, pair, fresh[System.HUBSPOT], fresh[System.DYNAMICS]), links,
                                  ReviewQueue(self.store), None)
        again = applier.apply(replanned)
        for system in System:
            applied.created[system] += again.created[system]
            applied.updated[system] += again.updated[system]
        applied.errors += again.errors
        for still in again.stale:
            self.store.record_error(System.DYNAMICS, kind, still.dynamics.id,
                                    "the record kept changing while crmsync wrote it (etag mismatch); retried next run")

    def _queue_skipped(self, kind: Kind, plan: KindPlan) -> None:
        """Keep skipped records in the retry queue, so later runs read them again by id."""
        for skip in plan.skips:
            # Deleted, out-of-scope and merged records are read again when they change, not retried.
            if skip.reason not in (SkipReason.DELETED, SkipReason.OUT_OF_SCOPE, SkipReason.MERGED):
                self.store.record_error(skip.record.system, kind, skip.record.id, f"{skip.reason}: {skip.detail}")

    def _read(self, kind: Kind) -> tuple[dict[System, list[Record]], dict[System, tuple[str | None, bool]]]:
        records: dict[System, list[Record]] = {}
        cursors: dict[System, tuple[str | None, bool]] = {}
        for system, connector in self.connectors.items():
            read = connector.read(kind, None if self._full else self.store.cursor(system, kind))
            now = self.clock()
            retry_ids = [row.record_id for row in self.store.record_errors(system, kind) if self.retry.due(row, now)]
            if system is System.HUBSPOT:
                retry_ids += sorted(self._reread.pop(kind, set()) - set(retry_ids))
            seen = {record.id for record in read.records}
            retried = connector.read_ids(kind, [rid for rid in retry_ids if rid not in seen]) if retry_ids else []
            records[system] = read.records + retried
            cursors[system] = (read.cursor, read.full)
            for error in read.errors:
                log.warning("sync.read_record_invalid", system=str(system), kind=str(kind), reason=str(error))
        self._add_review_records(kind, records)
        return records, cursors

    def _add_review_records(self, kind: Kind, records: dict[System, list[Record]]) -> None:
        """Read the records of review pairs that the planner needs but the reads left out.

        Both records of an accepted pair that is not linked yet are read, so the next run
        links it without waiting for their retry back-off. For a pending pair of which this
        run read one record, the other is read: a possible match stays undecided only while
        the planner has both records, and with one alone it would create that one in the
        other CRM, next to its likely twin.
        """
        review = ReviewQueue(self.store)
        read = {system: {record.id for record in records[system]} for system in System}
        wanted: dict[System, set[str]] = {System.HUBSPOT: set(), System.DYNAMICS: set()}
        for item in review.accepted(kind):
            if self.store.link_for(System.HUBSPOT, kind, item.hubspot_id) is None:
                wanted[System.HUBSPOT].add(item.hubspot_id)
                wanted[System.DYNAMICS].add(item.dynamics_id)
        for item in review.pending(kind):
            if item.hubspot_id in read[System.HUBSPOT]:
                wanted[System.DYNAMICS].add(item.dynamics_id)
            if item.dynamics_id in read[System.DYNAMICS]:
                wanted[System.HUBSPOT].add(item.hubspot_id)
        for system, ids in wanted.items():
            missing = sorted(ids - read[system])
            if missing:
                records[system] = records[system] + self.connectors[system].read_ids(kind, missing)

    def _follow_merges(self, kind: Kind, records: list[Record], links: LinkIndex, *, commit: bool) -> None:
        """Move links to the survivor of a HubSpot merge, so it is not matched or created again.

        When the merged records were linked to different Dynamics records, the link of the
        primary moves (see `_agreement`); the others are reported, never deleted.
        A dry run moves the links in memory only.
        """
        moved: list[Link] = []
        for record in records:
            if links.for_record(System.HUBSPOT, kind, record.id) is not None:
                continue
            previous = [link for old_id in merged_ids(record)
                        if (link := links.for_record(System.HUBSPOT, kind, old_id)) is not None]
            if not previous:
                continue
            previous.sort(key=lambda link: -self._agreement(kind, record, link))
            survivor = Link(previous[0].id, kind, record.id, previous[0].dynamics_id)
            links.add(survivor)
            moved.append(survivor)
            self._reread_referring(kind, record.id)
            log.info("sync.link_moved_to_merge_survivor", kind=str(kind), survivor=record.id,
                     merged=[link.hubspot_id for link in previous])
            for other in previous[1:]:
                if commit:
                    self.store.record_error(System.DYNAMICS, kind, other.dynamics_id,
                                            f"its HubSpot record {other.hubspot_id} was merged into {record.id}, "
                                            f"which stays linked to Dynamics {survivor.dynamics_id}; review the two")
        if commit and moved:
            self.store.commit_batch(links=moved)

    def _follow_dataverse_merges(self, kind: Kind, records: list[Record], links: LinkIndex, *,
                                 commit: bool) -> list[Record]:
        """Move links from merged Dataverse rows to their master.

        Dataverse keeps a merged subordinate as an inactive row whose `masterid` names the
        master. The planner skips such a row, so it is never matched, compared or created in
        HubSpot.
        When the master is linked to another HubSpot record already, both links stay and the
        pair is reported, because the two HubSpot records are now duplicates that only a
        person can merge. Returns the records with any master of a moved link not read yet.
        """
        merged = [record for record in records if record.merged_into]
        if not merged:
            return records
        moved: list[Link] = []
        for record in merged:
            previous = links.for_record(System.DYNAMICS, kind, record.id)
            if previous is None:
                continue
            taken = links.for_record(System.DYNAMICS, kind, record.merged_into)
            if taken is not None:
                if commit and taken.hubspot_id != previous.hubspot_id:
                    self.store.record_error(System.HUBSPOT, kind, previous.hubspot_id,
                                            f"its Dynamics record {record.id} was merged into {record.merged_into}, "
                                            f"which is linked to HubSpot {taken.hubspot_id}; merge the two in HubSpot")
                continue
            survivor = Link(previous.id, kind, previous.hubspot_id, record.merged_into)
            links.add(survivor)
            moved.append(survivor)
            log.info("sync.link_moved_to_dataverse_master", kind=str(kind), subordinate=record.id,
                     master=record.merged_into, hubspot_id=previous.hubspot_id)
        if commit and moved:
            self.store.commit_batch(links=moved)

        present = {record.id for record in records}
        masters = [link.dynamics_id for link in moved if link.dynamics_id not in present]
        if masters:
            records = records + self.connectors[System.DYNAMICS].read_ids(kind, masters)
        return records

    def _add_email_twins(self, kind: Kind, records: dict[System, list[Record]], links: LinkIndex) -> None:
        """Read the contacts that share an email with this run's unlinked contacts, on both sides.

        An incremental read returns changed records only, so an unchanged contact with the
        same email would be missed: the changed one would then be created a second time, or
        linked past an ambiguity that the unchanged ones make. A connector without `find`
        is skipped; HubSpot's own upsert by email keeps it from creating a second contact.
        """
        rule = self.mapping.pairs[kind].field_named(EMAIL_FIELD) if kind is Kind.CONTACT else None
        if rule is None:
            return
        emails = []
        for system in System:
            property_name = rule.names_in(system)[0]
            emails += [str(record.values[property_name]).strip() for record in records[system]
                       if not record.deleted and record.values.get(property_name)
                       and links.for_record(system, kind, record.id) is None]
        if not emails:
            return
        for system in System:
            find = getattr(self.connectors[system], "find", None)
            if find is None:
                continue
            present = {record.id for record in records[system]}
            found = [record for record in find(kind, rule.names_in(system)[0], emails) if record.id not in present]
            records[system] += found
            if found:
                log.info("sync.email_twins_read", kind=str(kind), system=str(system), records=len(found))

    def _agreement(self, kind: Kind, survivor: Record, link: Link) -> int:
        """Count the fields on which a merge survivor equals the synced values of a link.

        The survivor keeps the primary record's values, so the link of the primary agrees
        most. HubSpot does not document the order of `hs_merged_object_ids`, so the order
        only settles ties.
        """
        synced = self.store.synced_values(link.id) or {}
        values = self.mapping.pairs[kind].to_canonical(survivor, self._owners).values
        return sum(1 for name, value in values.items() if name in synced and synced[name] == value)

    def _reread_referring(self, kind: Kind, survivor_id: str) -> None:
        """Read again, in the later kinds of this run, the HubSpot records associated with a
        merge survivor. HubSpot moves the absorbed record's associations to the survivor
        without changing those records' modification times, so no incremental read returns them."""
        referring = getattr(self.connectors[System.HUBSPOT], "referring_ids", None)
        if referring is None:
            return
        for later in Kind:
            if later in self.mapping.pairs and self.mapping.pairs[later].reference(kind) is not None:
                self._reread.setdefault(later, set()).update(referring(kind, [survivor_id], later))

    def _complete_pairs(self, kind: Kind, records: dict[System, list[Record]], links: LinkIndex) -> dict[System, list[Record]]:
        """Read the partners of linked records that changed on one side only.

        HubSpot returns the survivor for a merged-away id. Such an id is noted in
        `self._merged_away`, so its partner is not taken for the partner of a deleted record,
        and a survivor that was read already is not added twice.
        """
        for system in System:
            other = system.other
            read_before = {record.id for record in records[other]}
            missing: list[str] = []
            for record in records[system]:
                link = links.for_record(system, kind, record.id)
                if link is None:
                    continue
                partner = link.record_id(other)
                if partner not in read_before and partner not in missing:
                    missing.append(partner)
            if not missing:
                continue
            found = self.connectors[other].read_ids(kind, missing)
            for record in found:
                if other is System.HUBSPOT and record.id not in missing:
                    for old_id in set(merged_ids(record)) & set(missing):
                        self._merged_away[(other, kind, old_id)] = record.id
            added = {record.id: record for record in found if record.id not in read_before}
            records[other] = records[other] + list(added.values())
        return records

    def _commit_cursors(self, kind: Kind, cursors: dict[System, tuple[str | None, bool]], started: datetime) -> None:
        # Records that failed are in the retry queue and read by id next time, so the
        # cursor may pass them. An empty full read starts the next read at this run's start.
        values = {}
        for system, (cursor, full) in cursors.items():
            if cursor is None and full:
                cursor = started.isoformat().replace("+00:00", "Z")
            if cursor is not None:
                values[(system, kind)] = cursor
        self.store.commit_batch(cursors=values)

    def _log_plan(self, kind: Kind, plan: KindPlan) -> None:
        log.info("sync.kind_planned", kind=str(kind), **plan.counts())

    @staticmethod
    def _write_total(result: RunResult) -> int:
        total = 0
        for applied in result.applied.values():
            total += sum(applied.created.values()) + sum(applied.updated.values()) + sum(applied.archived.values())
        return total

