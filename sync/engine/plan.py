"""The plan of a run: what it intends to create, update, and why.

A dry run renders the plan; a real run applies it. Both build it the same way, so the
dry-run report predicts the real run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sync.engine.decide import Decision
from sync.model import Kind, Record, System


# What each count of `KindPlan.counts` and the run's write counts mean, for reports.
COUNT_LABELS = {
    "read_hubspot": "read from HubSpot",
    "read_dynamics": "read from Dynamics",
    "create_in_hubspot": "to create in HubSpot",
    "create_in_dynamics": "to create in Dynamics",
    "update_in_hubspot": "to update in HubSpot",
    "update_in_dynamics": "to update in Dynamics",
    "archive_in_hubspot": "to archive in HubSpot (partner deleted)",
    "archive_in_dynamics": "to deactivate in Dynamics (partner deleted)",
    "new_links": "newly matched pairs",
    "conflicts": "conflicts",
    "unmatched": "unmatched (ambiguous)",
    "possible_matches": "possible matches (pairs) held for review",
    "invalid": "invalid records",
    "out_of_scope": "outside the mapping's scope",
    "suspected_duplicates": "suspected duplicates",
    "created_in_hubspot": "created in HubSpot",
    "created_in_dynamics": "created in Dynamics",
    "updated_in_hubspot": "updated in HubSpot",
    "updated_in_dynamics": "updated in Dynamics",
    "archived_in_hubspot": "archived in HubSpot",
    "archived_in_dynamics": "deactivated in Dynamics",
    "failed": "failed writes",
}


class SkipReason(enum.StrEnum):
    AMBIGUOUS = "ambiguous"
    REVIEW = "possible_match"
    OUT_OF_SCOPE = "out_of_scope"
    INVALID = "invalid"
    DELETED = "deleted"
    MERGED = "merged"
    MISSING_REFERENCE = "missing_reference"


@dataclass
class Create:
    """Create `source`'s counterpart in `target`.

    `planned_id` is the Dataverse id to create with (idempotent creates); `key` is the
    HubSpot upsert key. `values` are canonical; the apply step turns them into the
    target's fields.
    """

    source: Record
    target: System
    values: dict[str, Any]
    refs: dict[Kind, str] = field(default_factory=dict)
    planned_id: str | None = None
    key: str | None = None


@dataclass
class PairPlan:
    """A linked pair (existing or linked in this run) and the decision for each field."""

    link_id: str | None
    hubspot: Record
    dynamics: Record
    decisions: list[Decision]
    merged: dict[str, Any]
    new_link: bool = False
    match_method: str | None = None
    # Canonical values of each side as read, for the report.
    values: dict[System, dict[str, Any]] = field(default_factory=dict)

    def changes_for(self, target: System) -> list[Decision]:
        return [decision for decision in self.decisions if decision.target is target]

    @property
    def conflicts(self) -> list[Decision]:
        return [decision for decision in self.decisions if decision.conflict]

    @property
    def changed(self) -> bool:
        return any(decision.winner is not None for decision in self.decisions)


@dataclass
class Archive:
    """Archive `target`'s record `target_id` because its linked partner `source` is gone.

    `source` is the deleted or archived record, or None when only its absence is known
    (the linked record was not found by id).
    """

    target: System
    target_id: str
    link_id: str
    source: Record | None
    detail: str


@dataclass
class Skip:
    """A record this run does not sync. `listed` is False for one that reports only count."""

    record: Record
    reason: SkipReason
    detail: str
    listed: bool = True


@dataclass
class Duplicate:
    """Records inside one CRM that look like one person; reported, never merged."""

    system: System
    ids: tuple[str, ...]
    reason: str


@dataclass
class KindPlan:
    kind: Kind
    creates: list[Create] = field(default_factory=list)
    pairs: list[PairPlan] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    possible_matches: list[tuple[str, str, float, str]] = field(default_factory=list)
    read_counts: dict[System, int] = field(default_factory=dict)
    archives: list[Archive] = field(default_factory=list)

    def creates_in(self, target: System) -> list[Create]:
        return [create for create in self.creates if create.target is target]

    def archives_in(self, target: System) -> list[Archive]:
        return [archive for archive in self.archives if archive.target is target]

    def updates_in(self, target: System) -> list[PairPlan]:
        return [pair for pair in self.pairs if pair.changes_for(target)]

    @property
    def conflict_count(self) -> int:
        return sum(len(pair.conflicts) for pair in self.pairs)

    def counts(self) -> dict[str, int]:
        return {
            "read_hubspot": self.read_counts.get(System.HUBSPOT, 0),
            "read_dynamics": self.read_counts.get(System.DYNAMICS, 0),
            "create_in_hubspot": len(self.creates_in(System.HUBSPOT)),
            "create_in_dynamics": len(self.creates_in(System.DYNAMICS)),
            "update_in_hubspot": len(self.updates_in(System.HUBSPOT)),
            "update_in_dynamics": len(self.updates_in(System.DYNAMICS)),
            "archive_in_hubspot": len(self.archives_in(System.HUBSPOT)),
            "archive_in_dynamics": len(self.archives_in(System.DYNAMICS)),
            "new_links": sum(1 for pair in self.pairs if pair.new_link),
            "conflicts": self.conflict_count,
            "unmatched": sum(1 for skip in self.skips if skip.reason is SkipReason.AMBIGUOUS),
            "possible_matches": len(self.possible_matches),
            "invalid": sum(1 for skip in self.skips if skip.reason is SkipReason.INVALID),
            "out_of_scope": sum(1 for skip in self.skips if skip.reason is SkipReason.OUT_OF_SCOPE),
            "suspected_duplicates": len(self.duplicates),
        }


@dataclass
class Plan:
    kinds: dict[Kind, KindPlan] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        return {str(kind): kind_plan.counts() for kind, kind_plan in self.kinds.items()}

    @property
    def write_count(self) -> int:
        total = 0
        for kind_plan in self.kinds.values():
            for system in System:
                total += len(kind_plan.creates_in(system)) + len(kind_plan.updates_in(system))
                total += len(kind_plan.archives_in(system))
        return total
