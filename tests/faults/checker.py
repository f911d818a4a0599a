"""The invariant checker: reads both CRMs and the state store and lists every violation.

It checks, for each entity the generator made: one record on each side (no duplicate, no
lost record), a link between exactly those two records, agreement of every mapped field
and the company reference through the mapping, and that each field holds a value the
ledger allows (no lost update). Records made invalid on purpose, and records held for
review, may stay unsynced but must be in the retry queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sync.mapping import DeletePolicy, Direction
from sync.model import Kind, Record, System
from tests.faults.ledger import Entity, comparable, token_of
from tests.faults.world import COMPANY_REF, World

KEY_FIELD = {Kind.CONTACT: "email", Kind.COMPANY: "name", Kind.DEAL: "name"}


@dataclass
class Report:
    violations: list[str] = field(default_factory=list)
    checked_pairs: int = 0
    queued: int = 0
    # Partners of deleted records found archived or inactive, with `on_delete: archive`.
    archived: int = 0

    def add(self, message: str) -> None:
        self.violations.append(message)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        head = f"checked {self.checked_pairs} linked pairs, {self.queued} records left in the retry queue on purpose"
        if self.ok:
            return head + "; no violations"
        return head + f"; {len(self.violations)} violation(s):\n  " + "\n  ".join(self.violations[:40])


class Checker:
    def __init__(self, world: World) -> None:
        self.world = world
        self.report = Report()
        # (system, kind) -> entity number -> records with that token.
        self.records: dict[tuple[System, Kind], dict[int, list[Record]]] = {}
        self.by_id: dict[tuple[System, Kind, str], Record] = {}
        self.queued = {(row.system, row.kind, row.record_id) for row in world.store.record_errors()}

    def check(self) -> Report:
        self._read_everything()
        for kind in (Kind.COMPANY, Kind.CONTACT, Kind.DEAL):
            links = self.world.store.links(kind)
            self._check_links(kind, links)
            linked = {(link.hubspot_id, link.dynamics_id) for link in links}
            for entity in self.world.ledger.of_kind(kind):
                self._check_entity(entity, linked)
        return self.report

    # -- reading ----------------------------------------------------------------------

    def _read_everything(self) -> None:
        connectors = {System.HUBSPOT: self.world.hubspot_connector(), System.DYNAMICS: self.world.dynamics_connector()}
        for system, connector in connectors.items():
            for kind in Kind:
                tokens: dict[int, list[Record]] = defaultdict(list)
                for record in connector.read(kind, None).records:
                    self.by_id[(system, kind, record.id)] = record
                    number = token_of(self._key(record))
                    if number is not None:
                        tokens[number].append(record)
                self.records[(system, kind)] = tokens

    def _key(self, record: Record) -> Any:
        pair = self.world.mapping.pairs[record.kind]
        return pair.to_canonical(record).values.get(KEY_FIELD[record.kind])

    def _canonical(self, record: Record) -> dict[str, Any]:
        pair = self.world.mapping.pairs[record.kind]
        canonical = pair.to_canonical(record)
        values = {name: comparable(value) for name, value in canonical.values.items()}
        if record.kind is not Kind.COMPANY:
            companies = record.refs.get(Kind.COMPANY) or []
            company = self.by_id.get((record.system, Kind.COMPANY, companies[0])) if companies else None
            values[COMPANY_REF] = token_of(self._key(company)) if company is not None else None
            if companies and company is None:
                values[COMPANY_REF] = f"missing company {companies[0]}"
        return values

    # -- links ------------------------------------------------------------------------

    def _check_links(self, kind: Kind, links: list) -> None:
        seen: dict[tuple[System, str], str] = {}
        for link in links:
            numbers = {}
            for system in System:
                record_id = link.record_id(system)
                if (system, record_id) in seen:
                    self.report.add(f"{kind} {system} record {record_id} has two links: {seen[(system, record_id)]} "
                                    f"and {link.id}")
                seen[(system, record_id)] = link.id
                record = self.by_id.get((system, kind, record_id))
                numbers[system] = token_of(self._key(record)) if record is not None else None
                if record is None and not self._deleted_on(kind, system, link):
                    self.report.add(f"{kind} link {link.id}: {system} record {record_id} does not exist")
            present = [n for n in numbers.values() if n is not None]
            if len(present) == 2 and present[0] != present[1]:
                self.report.add(f"{kind} link {link.id} joins two different entities: e{present[0]} and e{present[1]}")

    def _deleted_on(self, kind: Kind, system: System, link) -> bool:
        """Say whether the missing `system` record of a link was deleted, merged away, or
        archived by crmsync because its partner was deleted."""
        entity = self.world.entity_for(system.other, kind, link.record_id(system.other))
        if entity is None:
            entity = self.world.entity_for(system, kind, link.record_id(system))
        if entity is None:
            return False
        if system in (entity.deleted, entity.merged_on):
            return True
        archives = self.world.mapping.pairs[kind].on_delete is DeletePolicy.ARCHIVE
        return archives and entity.deleted is system.other and system is System.HUBSPOT

    # -- entities ---------------------------------------------------------------------

    def _check_entity(self, entity: Entity, linked: set[tuple[str, str]]) -> None:
        found = {system: self.records[(system, entity.kind)].get(entity.number, []) for system in System}
        for system, records in found.items():
            if len(records) > 1:
                self.report.add(f"{entity.label}: {len(records)} records in {system} "
                                f"({', '.join(r.id for r in records)}): a duplicate")
        if entity.deleted is not None and not entity.linked_when_deleted:
            return  # its twin is a record of its own, which crmsync may create again
        if entity.deleted is not None:
            if found[entity.deleted]:
                self.report.add(f"{entity.label} was deleted in {entity.deleted} and exists there again")
            self._check_archived(entity, found[entity.deleted.other])
            return
        if entity.merged_into is not None:
            self._check_merged(entity, found)
            return
        missing = [system for system in System if not found[system]]
        if missing:
            self._check_unsynced(entity, found, missing)
            return
        hubspot, dynamics = found[System.HUBSPOT][0], found[System.DYNAMICS][0]
        if (hubspot.id, dynamics.id) not in linked:
            self.report.add(f"{entity.label}: HubSpot {hubspot.id} and Dynamics {dynamics.id} are not linked")
            return
        self.report.checked_pairs += 1
        self._check_values(entity, hubspot, dynamics)

    def _check_archived(self, entity: Entity, partners: list[Record]) -> None:
        """With `on_delete: archive`, the linked partner of a deleted record must be archived in
        HubSpot, or inactive or closed in Dataverse."""
        if self.world.mapping.pairs[entity.kind].on_delete is not DeletePolicy.ARCHIVE:
            return
        for record in partners:
            if self.world.store.link_for(record.system, entity.kind, record.id) is None:
                continue
            if record.system is System.HUBSPOT or record.values.get("statecode") == 0:
                self.report.add(f"{entity.label} was deleted in {entity.deleted}, but its partner "
                                f"{record.label} is still active")
            else:
                self.report.archived += 1

    def _check_merged(self, entity: Entity, found: dict[System, list[Record]]) -> None:
        """A contact merged into another on one side: its record on the other side stays,
        unchanged by crmsync's merge handling, and waits in the retry queue for a person."""
        merged_on = entity.merged_on
        if merged_on is System.HUBSPOT and found[System.HUBSPOT]:
            self.report.add(f"{entity.label} was merged away in HubSpot and exists there again")
        other = merged_on.other if merged_on is not None else System.DYNAMICS
        if not found[other]:
            self.report.add(f"{entity.label} was merged in {merged_on}; its {other} record was lost")
            return
        record = found[other][0]
        survivor = self.world.ledger.entities.get(entity.merged_into)
        archives = self.world.mapping.pairs[entity.kind].on_delete is DeletePolicy.ARCHIVE
        if (record.system, entity.kind, record.id) in self.queued:
            self.report.queued += 1
        elif archives and survivor is not None and survivor.deleted is merged_on and record.values.get("statecode") != 0:
            # The survivor was deleted later, so crmsync archived this partner as well.
            self.report.archived += 1
        else:
            self.report.add(f"{entity.label} was merged into e{entity.merged_into} in {merged_on}; its {other} "
                            f"record {record.id} is not in the retry queue for review")

    def _check_unsynced(self, entity: Entity, found: dict[System, list[Record]], missing: list[System]) -> None:
        if len(missing) == 2:
            self.report.add(f"{entity.label}: no record on either side (lost)")
            return
        present = found[missing[0].other][0]
        if (present.system, entity.kind, present.id) in self.queued:
            self.report.queued += 1
            return
        reason = f" (made invalid: {entity.invalid})" if entity.invalid else ""
        self.report.add(f"{entity.label}: exists only in {present.system} ({present.id}) and is not in the "
                        f"retry queue{reason}")

    def _must_agree(self, entity: Entity, name: str) -> bool:
        """Say whether a field must agree: `both` fields always, a one-way field when crmsync
        created the target record from its source (as for a deal's created date)."""
        rule = next((rule for rule in self.world.mapping.pairs[entity.kind].fields if rule.name == name), None)
        if rule is None or rule.direction is Direction.BOTH:
            return True
        source = System.DYNAMICS if rule.direction is Direction.TO_HUBSPOT else System.HUBSPOT
        return entity.origin is source and len(self.world.ledger.creators(entity)) == 1

    def _check_values(self, entity: Entity, hubspot: Record, dynamics: Record) -> None:
        values = {System.HUBSPOT: self._canonical(hubspot), System.DYNAMICS: self._canonical(dynamics)}
        for name in sorted(set(values[System.HUBSPOT]) | set(values[System.DYNAMICS])):
            if not self._must_agree(entity, name):
                continue
            left, right = values[System.HUBSPOT].get(name), values[System.DYNAMICS].get(name)
            if left != right:
                self.report.add(f"{entity.label} {name}: HubSpot {left!r} != Dynamics {right!r}")
        for name, allowed in self.world.ledger.expected(entity).items():
            actual = values[System.HUBSPOT].get(name)
            if allowed and actual not in allowed:
                self.report.add(f"{entity.label} {name}: ended as {actual!r}, expected one of {sorted(map(repr, allowed))}")
