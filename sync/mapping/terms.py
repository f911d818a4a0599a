"""The words of the mapping format: directions, conflict policies, field types, unmapped rules."""

from __future__ import annotations

import enum

from sync.model import System


class Direction(enum.StrEnum):
    """The way a mapped field or reference is written."""

    BOTH = "both"
    TO_DYNAMICS = "to_dynamics"
    TO_HUBSPOT = "to_hubspot"

    def flows_to(self, system: System) -> bool:
        """Return whether values travelling in this direction are written to `system`."""
        if self is Direction.BOTH:
            return True
        target = System.DYNAMICS if self is Direction.TO_DYNAMICS else System.HUBSPOT
        return system is target


class Policy(enum.StrEnum):
    """How the engine decides a conflict on a `both` field; the mapping only stores it."""

    LATEST_WINS = "latest_wins"
    HUBSPOT_WINS = "hubspot_wins"
    DYNAMICS_WINS = "dynamics_wins"


class FieldType(enum.StrEnum):
    """The type of a field's canonical value (see `sync.mapping.scalars`)."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    ENUM = "enum"


class UnmappedAction(enum.StrEnum):
    """The action for an enum value that the value map does not list."""

    REJECT = "reject"
    SKIP = "skip"
    DEFAULT = "default"
