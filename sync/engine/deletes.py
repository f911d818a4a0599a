"""Linked records that are gone from one side: the pair's delete policy decides.

A record is gone when a read returns it as deleted or archived, or when crmsync looked
up a linked record by id and the CRM did not return it. With `on_delete: archive` the
partner is archived in HubSpot or deactivated in Dataverse; the link stays, so the
archived partner is never matched or created again. `report` lists the record in the
report and `ignore` does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sync.engine.links import LinkIndex
from sync.engine.plan import Archive, KindPlan, Skip, SkipReason
from sync.mapping import DeletePolicy, ObjectPair
from sync.model import Kind, Record, System
from sync.state import Link

# Dataverse statecode of an active contact or account and of an open opportunity.
DATAVERSE_ACTIVE_STATE = 0


def is_active(record: Record) -> bool:
    """Return whether archiving `record` would change it: not deleted, and in Dataverse
    an active contact or account or an open opportunity (closed ones are read-only)."""
    if record.deleted:
        return False
    if record.system is System.HUBSPOT:
        return True
    state = record.values.get("statecode")
    return state is None or state == DATAVERSE_ACTIVE_STATE


class DeletePlanner:
    """Plans what happens to the partners of gone records, once per record."""

    def __init__(self, pair: ObjectPair, links: LinkIndex, records: Mapping[System, Sequence[Record]],
                 plan: KindPlan, merged_away: Mapping[tuple[System, Kind, str], str] | None = None) -> None:
        self.merged_away = merged_away or {}
        self.pair = pair
        self.links = links
        self.plan = plan
        self.present = {system: {record.id: record for record in records[system] if not record.deleted}
                        for system in System}
        self.deleted = {system: {record.id for record in records[system] if record.deleted} for system in System}
        self._archived: set[tuple[System, str]] = set()

    def is_present(self, system: System, record_id: str) -> bool:
        """Return whether a read returned the record as it is, in or out of scope, valid or not."""
        return record_id in self.present[system]

    def deleted_record(self, record: Record) -> None:
        """Plan for a record that a read returned as deleted or archived."""
        policy = self.pair.on_delete
        if policy is DeletePolicy.IGNORE:
            return
        link = self.links.for_record(record.system, self.pair.kind, record.id)
        if policy is DeletePolicy.REPORT or link is None:
            self.plan.skips.append(Skip(record, SkipReason.DELETED, f"deleted or archived; delete policy is {policy}"))
            return
        partner = self.present[record.system.other].get(link.record_id(record.system.other))
        if partner is None or not is_active(partner):
            self.plan.skips.append(Skip(record, SkipReason.DELETED, "deleted or archived; its partner is already gone"))
            return
        self._archive(partner, link, record, f"its {record.system.label} partner {record.id} was deleted or archived")

    def partner_missing(self, record: Record, link: Link) -> None:
        """Plan for a linked record whose partner was looked up by id and not returned."""
        policy = self.pair.on_delete
        other = record.system.other
        partner_id = link.record_id(other)
        survivor = self.merged_away.get((other, self.pair.kind, partner_id))
        if survivor is not None:
            # A merge, not a deletion: the record waits in the retry queue for a person.
            self.plan.skips.append(Skip(record, SkipReason.MERGED, f"its {other.label} record {partner_id} "
                                                                   f"was merged into {survivor}"))
            return
        if policy is DeletePolicy.IGNORE or partner_id in self.deleted[other]:
            return  # a partner read as deleted is planned, or reported, from itself
        if policy is DeletePolicy.REPORT or not is_active(record):
            self.plan.skips.append(Skip(record, SkipReason.DELETED, f"linked {other.label} record {partner_id} was not found"))
            return
        self._archive(record, link, None, f"its linked {other.label} record {partner_id} was not found")

    def _archive(self, target: Record, link: Link, source: Record | None, detail: str) -> None:
        if (target.system, target.id) in self._archived:
            return
        self._archived.add((target.system, target.id))
        self.plan.archives.append(Archive(target.system, target.id, link.id, source, detail))
