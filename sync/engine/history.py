"""Per-property change times for conflicts that a time decides.

A record's modification time moves with every edit of any property, so comparing two
records' times can let an old edit of the field win over a newer one, just because
something else changed later on its record. HubSpot keeps a history per property,
but search does not return it and each read costs requests. So crmsync reads it only for
the records of pairs whose decision depends on a time. Those are conflicts, and first
syncs with a value on both sides, under `latest_wins`, `prefer_non_empty` or `keep_first`.
Dataverse keeps no per-column history in the Web API, so its side stays at `modifiedon`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog

from sync.engine.decide import Rule
from sync.engine.plan import KindPlan
from sync.mapping import ObjectPair, Policy
from sync.model import Kind, System

log = structlog.get_logger(__name__)

TIME_POLICIES = frozenset({Policy.LATEST_WINS, Policy.PREFER_NON_EMPTY, Policy.KEEP_FIRST})
# (kind, record ids, property names) -> {record id: {property: change time}}
ChangeTimesReader = Callable[[Kind, Sequence[str], Sequence[str]], dict[str, dict[str, datetime]]]


def add_change_times(reader: ChangeTimesReader | None, pair: ObjectPair, plan: KindPlan) -> bool:
    """Fill `changed_at` of the HubSpot records whose decisions compared times.

    Returns True when any record got times, so that the caller plans the kind again.
    """
    if reader is None:
        return False
    wanted: dict[str, set[str]] = {}
    records: dict[str, Any] = {}
    for pair_plan in plan.pairs:
        for decision in pair_plan.decisions:
            rule = pair.field_named(decision.field)
            if decision.rule is not Rule.CONFLICT_POLICY or rule is None:
                continue
            if (rule.policy or Policy.LATEST_WINS) not in TIME_POLICIES:
                continue
            names = rule.names_in(System.HUBSPOT)
            if names:
                wanted.setdefault(pair_plan.hubspot.id, set()).update(names)
                records[pair_plan.hubspot.id] = pair_plan.hubspot
    if not wanted:
        return False

    properties = sorted(set().union(*wanted.values()))
    found = reader(pair.kind, sorted(wanted), properties)
    for record_id, times in found.items():
        if record_id in records:
            records[record_id].changed_at.update(times)
    log.info("sync.property_history_read", kind=str(pair.kind), records=len(wanted), properties=len(properties),
             found=len(found))
    return bool(found)
