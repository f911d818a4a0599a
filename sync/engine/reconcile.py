"""Build the plan of one kind: link, match, compare, and decide field by field.

The inputs are the records read from both systems (changed ones, plus the partners of
linked records and the records waiting in the retry queue); the output is a `KindPlan`.
Nothing here writes: a dry run and a real run share this code.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync.engine.decide import MISSING, ChangeTimes, FieldSides, decide
from sync.engine.deletes import DeletePlanner
from sync.engine.plan import Create, Duplicate, KindPlan, PairPlan, Skip, SkipReason
from sync.errors import RecordError
from sync.identity import (
    Candidate,
    CompanyCandidate,
    EmailRules,
    find_duplicates,
    match_companies,
    match_contacts,
    normalize_email,
    split_additional_emails,
)
from sync.mapping import Direction, LeaveScope, ObjectPair, OwnerDirectory, Policy
from sync.model import Kind, Record, System
from sync.engine.links import LinkIndex
from sync.state import PendingWrite, ReviewDecision, ReviewQueue

# Namespace of the Dataverse ids that crmsync generates for the records it creates there.
# The id is derived from the HubSpot id, so a retried create can never make a second row.
DATAVERSE_ID_NAMESPACE = uuid.UUID("6c0f3c35-5bd6-4f0e-9a57-3e0b7c1d2a90")
# HubSpot property that contains the Dataverse id of the record a company or deal was created from.
HUBSPOT_KEY_PROPERTY = "crmsync_id"
REF_PREFIX = "ref:"


class _Planned:
    def __repr__(self) -> str:
        return "PLANNED"


# A reference to a record that this dry run plans to create or link in an earlier kind.
PLANNED: Any = _Planned()
# Email clean-up for upsert keys: case, spaces and display names only, never provider rules,
# because HubSpot compares the address itself.
EXACT_ONLY = EmailRules(gmail_dots=False, googlemail_as_gmail=False, plus_tags=False)


def planned_dataverse_id(kind: Kind, hubspot_id: str) -> str:
    return str(uuid.uuid5(DATAVERSE_ID_NAMESPACE, f"hubspot:{kind}:{hubspot_id}"))


@dataclass(frozen=True)
class MatchingOptions:
    """The identity settings that the planner passes to the matcher."""

    rules: EmailRules = EmailRules()
    fuzzy_threshold: float = 92.0
    review_threshold: float = 75.0
    phone_region: str | None = None


@dataclass
class Side:
    """One record with its canonical values (references as `ref:<kind>` link ids)."""

    record: Record
    values: dict[str, Any]


@dataclass
class KindInput:
    """Everything the planner needs for one kind, already read."""

    kind: Kind
    pair: ObjectPair
    hubspot: Sequence[Record]
    dynamics: Sequence[Record]


class Planner:
    """Plans kinds one after the other.

    `planned` contains the records that an earlier kind of the same dry run plans to create
    or link. A real run applies each kind before planning the next, so there the links
    already exist; a dry run uses `planned` so that its references resolve the same way.
    """

    def __init__(self, links: LinkIndex, synced: dict[str, dict[str, Any]],
                 planned: set[tuple[System, Kind, str]] | None = None, review: ReviewQueue | None = None,
                 matching: MatchingOptions | None = None, owners: OwnerDirectory | None = None,
                 pending: dict[str, dict[System, PendingWrite]] | None = None,
                 merged_away: dict[tuple[System, Kind, str], str] | None = None) -> None:
        self.merged_away = merged_away or {}
        self._hubspot_emails: dict[str, str] = {}
        self.matching = matching or MatchingOptions()
        self.pending = pending or {}
        self.owners = owners
        self.links = links
        self.synced = synced
        self.review = review
        self.planned = planned if planned is not None else set()
        self.record_errors: list[RecordError] = []

    def plan_kind(self, given: KindInput) -> KindPlan:
        """Plan one kind; record errors found on the way are kept in `record_errors`."""
        plan = KindPlan(given.kind)
        plan.read_counts = {System.HUBSPOT: len(given.hubspot), System.DYNAMICS: len(given.dynamics)}
        deletes = DeletePlanner(given.pair, self.links, {System.HUBSPOT: given.hubspot, System.DYNAMICS: given.dynamics},
                                plan, self.merged_away)
        hubspot = self._canonical_sides(given.pair, given.hubspot, plan, deletes)
        dynamics = self._canonical_sides(given.pair, given.dynamics, plan, deletes)

        linked, unlinked_hubspot, unlinked_dynamics = self._split_by_link(given.kind, hubspot, dynamics, deletes)
        for link_id, hubspot_side, dynamics_side in linked:
            synced = self.synced.get(link_id) or {}
            plan.pairs.append(self._compare(given.pair, link_id, hubspot_side, dynamics_side, synced))

        self._hubspot_emails = _hubspot_emails(given) if given.kind is Kind.CONTACT else {}
        self._match_unlinked(given, unlinked_hubspot, unlinked_dynamics, plan)
        self._remember_planned(given.kind, plan)
        return plan

    def _remember_planned(self, kind: Kind, plan: KindPlan) -> None:
        self.planned.update((create.source.system, kind, create.source.id) for create in plan.creates)
        for pair in plan.pairs:
            if pair.new_link:
                self.planned.update({(System.HUBSPOT, kind, pair.hubspot.id), (System.DYNAMICS, kind, pair.dynamics.id)})

    # -- canonical values -------------------------------------------------------------

    def _canonical_sides(self, pair: ObjectPair, records: Sequence[Record], plan: KindPlan,
                         deletes: DeletePlanner) -> list[Side]:
        sides = []
        for record in records:
            if record.deleted:
                deletes.deleted_record(record)
                continue
            if record.merged_into:
                plan.skips.append(Skip(record, SkipReason.MERGED, f"merged into {record.merged_into}"))
                continue
            if not pair.in_scope(record.system, record):
                plan.skips.append(self._out_of_scope(pair, record))
                continue
            canonical = pair.to_canonical(record, self.owners)
            if canonical.errors:
                self.record_errors.extend(canonical.errors)
                detail = "; ".join(str(error) for error in canonical.errors)
                plan.skips.append(Skip(record, SkipReason.INVALID, detail))
                continue
            values = dict(canonical.values)
            values.update(self._reference_values(pair, record))
            sides.append(Side(record, values))
        return sides

    def _out_of_scope(self, pair: ObjectPair, record: Record) -> Skip:
        """Return the skip of a record outside the scope. Only a linked record that left the
        scope with `on_leave_scope: report` is listed; the others are only counted."""
        linked = self.links.for_record(record.system, pair.kind, record.id) is not None
        if linked:
            detail = f"linked, but left the {record.system.label} scope of the {pair.kind} mapping"
        else:
            detail = f"outside the {record.system.label} scope of the {pair.kind} mapping"
        listed = linked and pair.on_leave_scope is LeaveScope.REPORT
        return Skip(record, SkipReason.OUT_OF_SCOPE, f"{detail} (on_leave_scope: {pair.on_leave_scope})", listed)

    def _reference_values(self, pair: ObjectPair, record: Record) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for reference in pair.references:
            ids = record.refs.get(reference.target) or []
            if not ids:
                values[REF_PREFIX + reference.target] = None
                continue
            link = self.links.for_record(record.system, reference.target, ids[0])
            if link is not None:
                values[REF_PREFIX + reference.target] = link.id
            elif (record.system, reference.target, ids[0]) in self.planned:
                values[REF_PREFIX + reference.target] = PLANNED
            else:
                # A reference to a record that is not linked yet cannot be compared or written.
                values[REF_PREFIX + reference.target] = MISSING
        return values

    # -- links ------------------------------------------------------------------------

    def _split_by_link(self, kind: Kind, hubspot: list[Side], dynamics: list[Side], deletes: DeletePlanner):
        by_dynamics_id = {side.record.id: side for side in dynamics}
        linked: list[tuple[str, Side, Side]] = []
        seen_dynamics: set[str] = set()
        unlinked_hubspot: list[Side] = []
        for side in hubspot:
            link = self.links.for_record(System.HUBSPOT, kind, side.record.id)
            if link is None:
                unlinked_hubspot.append(side)
                continue
            partner = by_dynamics_id.get(link.dynamics_id)
            if partner is None:
                # A partner that was read but skipped (invalid, out of scope) is reported on its own.
                if not deletes.is_present(System.DYNAMICS, link.dynamics_id):
                    deletes.partner_missing(side.record, link)
                continue
            linked.append((link.id, side, partner))
            seen_dynamics.add(partner.record.id)

        unlinked_dynamics: list[Side] = []
        for side in dynamics:
            if side.record.id in seen_dynamics:
                continue
            link = self.links.for_record(System.DYNAMICS, kind, side.record.id)
            if link is None:
                unlinked_dynamics.append(side)
            elif not deletes.is_present(System.HUBSPOT, link.hubspot_id):
                deletes.partner_missing(side.record, link)
        return linked, unlinked_hubspot, unlinked_dynamics

    # -- comparison -------------------------------------------------------------------

    def _compare(self, pair: ObjectPair, link_id: str | None, hubspot: Side, dynamics: Side,
                 synced: dict[str, Any], new_link: bool = False, method: str | None = None) -> PairPlan:
        if link_id in self.pending and not new_link:
            # Updates that landed before a crash or a failed write on the other side: the
            # target's last values from crmsync are newer than the committed synced values.
            synced = dict(synced)
            for write in self.pending[link_id].values():
                synced.update(write.values)
        decisions = []
        merged: dict[str, Any] = {}
        for name, flow, policy in _comparable_fields(pair):
            times = ChangeTimes(field_change_time(hubspot.record, pair, name), field_change_time(dynamics.record, pair, name))
            hubspot_value = hubspot.values.get(name)
            dynamics_value = dynamics.values.get(name)
            if any(value is MISSING or value is PLANNED for value in (hubspot_value, dynamics_value)):
                continue  # a reference whose target is not linked yet; compared next run
            sides = FieldSides(hubspot_value, dynamics_value, synced.get(name, MISSING) if not new_link else MISSING)
            decision = decide(name, sides, flow, policy, times)
            decisions.append(decision)
            merged[name] = decision.value
        values = {System.HUBSPOT: hubspot.values, System.DYNAMICS: dynamics.values}
        return PairPlan(link_id, hubspot.record, dynamics.record, decisions, merged, new_link, method, values)

    # -- matching ---------------------------------------------------------------------

    def _match_unlinked(self, given: KindInput, hubspot: list[Side], dynamics: list[Side], plan: KindPlan) -> None:
        matched_hubspot: set[str] = set()
        matched_dynamics: set[str] = set()
        by_id = {(System.HUBSPOT, side.record.id): side for side in hubspot}
        by_id.update({(System.DYNAMICS, side.record.id): side for side in dynamics})

        def link(hubspot_id: str, dynamics_id: str, method: str) -> None:
            hubspot_side = by_id[(System.HUBSPOT, hubspot_id)]
            dynamics_side = by_id[(System.DYNAMICS, dynamics_id)]
            plan.pairs.append(self._compare(given.pair, None, hubspot_side, dynamics_side, {}, True, method))
            matched_hubspot.add(hubspot_id)
            matched_dynamics.add(dynamics_id)

        for hubspot_id, dynamics_id in _match_by_key(given.kind, hubspot, dynamics):
            link(hubspot_id, dynamics_id, "crmsync key")
        for hubspot_id, dynamics_id in self._accepted_in_review(given.kind, by_id, matched_hubspot, matched_dynamics):
            link(hubspot_id, dynamics_id, "accepted in review")

        rest_hubspot = [side for side in hubspot if side.record.id not in matched_hubspot]
        rest_dynamics = [side for side in dynamics if side.record.id not in matched_dynamics]
        ambiguous = self._match_by_identity(given.kind, rest_hubspot, rest_dynamics, link, plan)

        for side in hubspot:
            self._plan_create(given, side, System.DYNAMICS, matched_hubspot | ambiguous, plan)
        for side in dynamics:
            self._plan_create(given, side, System.HUBSPOT, matched_dynamics | ambiguous, plan)

    def _match_by_identity(self, kind: Kind, hubspot: list[Side], dynamics: list[Side], link, plan: KindPlan) -> set[str]:
        if kind is Kind.DEAL or not hubspot and not dynamics:
            return set()
        if kind is Kind.CONTACT:
            left = [_contact_candidate(side) for side in hubspot]
            right = [_contact_candidate(side) for side in dynamics]
            options = self.matching
            result = match_contacts(left, right, fuzzy_threshold=options.fuzzy_threshold,
                                    review_threshold=options.review_threshold, rules=options.rules,
                                    phone_region=options.phone_region)
            self._report_duplicates(plan, System.HUBSPOT, left)
            self._report_duplicates(plan, System.DYNAMICS, right)
        else:
            left = [_company_candidate(side) for side in hubspot]
            right = [_company_candidate(side) for side in dynamics]
            result = match_companies(left, right)

        for match in result.matches:
            link(match.left_id, match.right_id, f"{match.method} ({match.evidence})")
        ambiguous: set[str] = set()
        records = {side.record.id: side.record for side in hubspot + dynamics}
        # A possible match is neither linked nor created until a reviewer decides, because
        # creating it could make a duplicate. A rejected pair is two different records.
        for match in result.possible:
            decision = self.review.decision(kind, match.left_id, match.right_id) if self.review else None
            if decision is ReviewDecision.REJECTED:
                continue
            plan.possible_matches.append((match.left_id, match.right_id, match.score, match.evidence))
            for record_id in (match.left_id, match.right_id):
                if record_id not in ambiguous:
                    ambiguous.add(record_id)
                    plan.skips.append(Skip(records[record_id], SkipReason.REVIEW, f"possible match, score {match.score:.0f}: {match.evidence}"))
        for group in result.ambiguous:
            for record_id in (*group.left_ids, *group.right_ids):
                ambiguous.add(record_id)
                plan.skips.append(Skip(records[record_id], SkipReason.AMBIGUOUS, group.reason))
            # Every cross pair of the group goes to review, so a person can pick the match.
            for hubspot_id in group.left_ids:
                for dynamics_id in group.right_ids:
                    decision = self.review.decision(kind, hubspot_id, dynamics_id) if self.review else None
                    if decision is not ReviewDecision.REJECTED:
                        plan.possible_matches.append((hubspot_id, dynamics_id, 100.0, f"ambiguous: {group.reason}"))
        return ambiguous

    def _accepted_in_review(self, kind: Kind, by_id: dict, taken_hubspot: set[str], taken_dynamics: set[str]):
        if self.review is None:
            return []
        pairs = []
        for item in self.review.accepted(kind):
            present = (System.HUBSPOT, item.hubspot_id) in by_id and (System.DYNAMICS, item.dynamics_id) in by_id
            if present and item.hubspot_id not in taken_hubspot and item.dynamics_id not in taken_dynamics:
                pairs.append((item.hubspot_id, item.dynamics_id))
        return pairs

    def _report_duplicates(self, plan: KindPlan, system: System, candidates: list[Candidate]) -> None:
        for cluster in find_duplicates(candidates):
            plan.duplicates.append(Duplicate(system, tuple(cluster.ids), cluster.reason))

    def _plan_create(self, given: KindInput, side: Side, target: System, taken: set[str], plan: KindPlan) -> None:
        if side.record.id in taken:
            return
        refs, pending = _create_refs(given.pair, side, target, self.links)
        if pending:
            plan.skips.append(Skip(side.record, SkipReason.MISSING_REFERENCE, pending))
            return
        values = {name: side.values.get(name) for name, flow, _ in _comparable_fields(given.pair)
                  if not name.startswith(REF_PREFIX) and flow.flows_on_create(target)}
        create = Create(side.record, target, values, refs)
        if target is System.DYNAMICS:
            create.planned_id = planned_dataverse_id(given.kind, side.record.id)
        elif given.kind is Kind.CONTACT:
            # HubSpot creates contacts as upserts by email, so the email must be valid.
            create.key = normalize_email(side.values.get("email"), EXACT_ONLY)
            if not create.key:
                detail = f"email {side.values.get('email')!r} is missing or not a valid address; HubSpot contacts are created by email"
                plan.skips.append(Skip(side.record, SkipReason.INVALID, detail))
                return
            existing = self._hubspot_emails.get(create.key)
            if existing is not None:
                # The create is an upsert by email, so it would overwrite that contact's values.
                # NOTE: only contacts read in this run are known. The engine also reads the
                # contacts that share an email with unlinked ones, where the connector can find them.
                detail = (f"HubSpot contact {existing} already has the email {create.key}, and HubSpot keeps one "
                          f"contact per email; merge this record with that contact's partner, or change its email")
                plan.skips.append(Skip(side.record, SkipReason.AMBIGUOUS, detail))
                return
        else:
            create.key = side.record.id
        plan.creates.append(create)


def _hubspot_emails(given: KindInput) -> dict[str, str]:
    """Return the HubSpot contacts read in this run by each of their addresses, primary and
    additional, cleaned up as HubSpot compares them."""
    rule = given.pair.field_named("email")
    if rule is None:
        return {}
    property_name = rule.names_in(System.HUBSPOT)[0]
    found: dict[str, str] = {}
    for record in given.hubspot:
        if record.deleted:
            continue
        addresses = [record.values.get(property_name), *split_additional_emails(record.values.get("hs_additional_emails"))]
        for address in addresses:
            key = normalize_email(address, EXACT_ONLY)
            if key:
                found.setdefault(key, record.id)
    return found


def field_change_time(record: Record, pair: ObjectPair, name: str) -> datetime | None:
    """Return when the field `name` last changed in `record`: the latest change time of its
    source properties where the CRM reported one (HubSpot property history), else the
    record's modification time."""
    rule = pair.field_named(name)
    names = rule.names_in(record.system) if rule is not None else ()
    known = [record.changed_at[source] for source in names if source in record.changed_at]
    return max(known) if known else record.modified_at


def _comparable_fields(pair: ObjectPair) -> list[tuple[str, Direction, Policy]]:
    fields = [(rule.name, rule.direction, rule.policy or Policy.LATEST_WINS) for rule in pair.fields]
    fields += [(REF_PREFIX + ref.target, ref.direction, Policy.LATEST_WINS) for ref in pair.references]
    return fields


def _match_by_key(kind: Kind, hubspot: list[Side], dynamics: list[Side]) -> list[tuple[str, str]]:
    """Pairs already tied by crmsync's own keys: records that crmsync created itself."""
    dynamics_ids = {side.record.id for side in dynamics}
    pairs = []
    for side in hubspot:
        key = side.record.values.get(HUBSPOT_KEY_PROPERTY)
        planned = planned_dataverse_id(kind, side.record.id)
        if key and key in dynamics_ids:
            pairs.append((side.record.id, key))
        elif planned in dynamics_ids:
            pairs.append((side.record.id, planned))
    return pairs


def _create_refs(pair: ObjectPair, side: Side, target: System, links: LinkIndex) -> tuple[dict[Kind, str], str]:
    refs: dict[Kind, str] = {}
    for reference in pair.references:
        if not reference.flows_on_create(target):
            continue
        value = side.values.get(REF_PREFIX + reference.target)
        if value is None:
            continue
        if value is MISSING:
            return {}, f"its {reference.target} is not linked yet"
        if value is PLANNED:
            refs[reference.target] = "(created in this run)"
            continue
        link = links.by_id(value)
        refs[reference.target] = link.hubspot_id if target is System.HUBSPOT else link.dynamics_id
    return refs, ""


def _contact_candidate(side: Side) -> Candidate:
    values = side.values
    extra = side.record.values.get("hs_additional_emails") if side.record.system is System.HUBSPOT else None
    return Candidate(
        id=side.record.id,
        email=values.get("email"),
        emails=split_additional_emails(extra),
        first_name=values.get("first_name"),
        last_name=values.get("last_name"),
        phone=values.get("phone"),
        company=values.get("company_name"),
    )


def _company_candidate(side: Side) -> CompanyCandidate:
    return CompanyCandidate(id=side.record.id, name=side.values.get("name"), domain=side.values.get("domain"))
