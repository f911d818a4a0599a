"""The ledger of a fault-injection run: the entities it made and what each field may end as.

Every record the generator writes carries its entity number as a token ("e12") in a key
field: a contact's email, a company's or deal's name. Edits of that field keep the token, so
the checker finds the records of an entity on each side by the token alone, whatever the
links contain.

Expectations follow the engine's rules without predicting its decisions: a field edited on
one side only since the pair last synced must end with that side's latest value; a field
edited on both sides is a conflict and may end with either side's latest value, never
with an older one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sync.model import Kind, System

TOKEN = re.compile(r"\be(\d+)\b", re.IGNORECASE)


def token_of(text: Any) -> int | None:
    """Return the entity number in a key value such as "e12@corp12.example" or "E12 Harbor"."""
    if not isinstance(text, str):
        return None
    found = TOKEN.search(text.replace("@", " ").replace("-", " "))
    return int(found.group(1)) if found else None


def comparable(value: Any) -> Any:
    """Return a value in a form that compares equal across systems (numbers, dates, empties)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return round(float(value), 2)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class Entity:
    """One real thing the generator made: a contact, company or deal, on one or both sides."""

    number: int
    kind: Kind
    origin: System
    ids: dict[System, str] = field(default_factory=dict)
    # Set when the record was made invalid on purpose: it may stay unsynced, in the retry queue.
    invalid: str | None = None
    # The side where the generator archived or deleted the record.
    deleted: System | None = None
    # Whether the record was linked when it was deleted. An unlinked record's twin on the
    # other side is a record of its own for crmsync, which may create it again.
    linked_when_deleted: bool = True
    # The entity this one was merged into, and the side where the merge happened.
    merged_into: int | None = None
    merged_on: System | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} e{self.number}"


# The synced value is not known: the field has never synced, or a conflict left either value.
_UNKNOWN: Any = object()


@dataclass
class FieldExpectation:
    """What one field of one entity may end as.

    `allowed` contains the values a completed sync may have left (None before any sync);
    `pending` contains each side's latest edit since then, as (sequence number, value).
    """

    allowed: set[Any] | None = None
    pending: dict[System, tuple[int, Any]] = field(default_factory=dict)

    def settle(self, before: int | None = None, newer: System | None = None) -> None:
        """Fold the pending edits made before sequence number `before` (all when None) into `allowed`.

        A side whose pending value equals the single synced value did not change, so the other
        side wins. When both changed, `newer` is the side whose record was modified last, which
        latest_wins picks; without it, either side's value is allowed.
        """
        taken = {system: value for system, (seq, value) in self.pending.items() if before is None or seq < before}
        if not taken:
            return
        for system in taken:
            del self.pending[system]
        values = {system: comparable(value) for system, value in taken.items()}
        base = next(iter(self.allowed)) if self.allowed is not None and len(self.allowed) == 1 else _UNKNOWN
        changed = {system: value for system, value in values.items() if value != base}
        if not changed:
            self.allowed = {base}
        elif len(changed) == 1 or len(set(changed.values())) == 1:
            self.allowed = set(changed.values())
        elif base is not _UNKNOWN and newer is not None:
            self.allowed = {changed[newer]}
        else:
            self.allowed = set(changed.values())

    def final(self) -> set[Any]:
        """Return the values the field may hold once every pending edit has synced."""
        copy = FieldExpectation(set(self.allowed) if self.allowed is not None else None, dict(self.pending))
        copy.settle()
        return copy.allowed or set()


class Ledger:
    """Entities by number, and the edit history that decides each field's expected value."""

    def __init__(self) -> None:
        self.entities: dict[int, Entity] = {}
        # Entity number -> field name -> expectation.
        self.fields: dict[int, dict[str, FieldExpectation]] = {}
        self.seq = 0
        self.edits = 0
        self.created: dict[int, set[System]] = {}
        self.uncertain: set[int] = set()

    def next_number(self) -> int:
        return len(self.entities) + 1

    def add(self, entity: Entity) -> Entity:
        self.entities[entity.number] = entity
        return entity

    def tick(self) -> int:
        """Return the next sequence number; edits and run starts are ordered by it."""
        self.seq += 1
        return self.seq

    def record_edit(self, entity: Entity, system: System, values: dict[str, Any]) -> None:
        seq = self.tick()
        self.edits += 1
        fields = self.fields.setdefault(entity.number, {})
        for name, value in values.items():
            fields.setdefault(name, FieldExpectation()).pending[system] = (seq, value)

    def settle(self, entity: Entity, before: int | None, newer: System | dict[str, System] | None = None) -> None:
        """Mark that a run which started at `before` synced the entity's pair completely.

        `newer` is the side that latest_wins picks when the run read the pair, for every
        field or by field name, if known.
        """
        certain = entity.number not in self.uncertain
        for name, expectation in self.fields.get(entity.number, {}).items():
            side = newer.get(name) if isinstance(newer, dict) else newer
            expectation.settle(before, side if certain else None)
        self.uncertain.discard(entity.number)

    def mark_uncertain(self, numbers: set[int] | None = None) -> None:
        """Note entities that a run may have written in part, without committing their synced values.

        Their next conflict may then be decided against synced values older than the ledger
        knows, so either side's value is allowed. None marks every entity with pending edits.
        """
        if numbers is None:
            numbers = {number for number, fields in self.fields.items() if any(f.pending for f in fields.values())}
        self.uncertain |= numbers

    def contested(self) -> list[int]:
        """Return the certain entities with a field edited on both sides since it last synced."""
        return [number for number, fields in self.fields.items()
                if number not in self.uncertain and any(len(f.pending) == 2 for f in fields.values())]

    def forget_values(self, entity: Entity) -> None:
        """Drop what the entity's fields may end as: a merge sets them from two records."""
        self.fields[entity.number] = {}
        self.uncertain.discard(entity.number)

    def creators(self, entity: Entity) -> set[System]:
        """Return the sides where the generator created the entity's record."""
        return self.created.get(entity.number, set())

    def of_kind(self, kind: Kind) -> list[Entity]:
        return [entity for entity in self.entities.values() if entity.kind is kind]

    def expected(self, entity: Entity) -> dict[str, set[Any]]:
        return {name: expectation.final() for name, expectation in self.fields.get(entity.number, {}).items()}
