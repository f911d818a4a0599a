"""The words of the mapping format: directions, conflict policies, field types, unmapped rules."""

from __future__ import annotations

import enum

from sync.model import System


class Direction(enum.StrEnum):
    """The way a mapped field or reference is written.

    `create_only` writes the value when crmsync creates the record on either side and
    never updates it afterwards.
    """

    BOTH = "both"
    TO_DYNAMICS = "to_dynamics"
    TO_HUBSPOT = "to_hubspot"
    CREATE_ONLY = "create_only"

    def flows_to(self, system: System) -> bool:
        """Return whether an update of an existing record in `system` writes this value."""
        if self is Direction.BOTH:
            return True
        if self is Direction.CREATE_ONLY:
            return False
        target = System.DYNAMICS if self is Direction.TO_DYNAMICS else System.HUBSPOT
        return system is target

    def flows_on_create(self, system: System) -> bool:
        """Return whether a record that crmsync creates in `system` gets this value."""
        return self is Direction.CREATE_ONLY or self.flows_to(system)

    @property
    def source(self) -> System | None:
        """Return the one system whose changes flow, or None for `both` and `create_only`."""
        if self is Direction.TO_DYNAMICS:
            return System.HUBSPOT
        if self is Direction.TO_HUBSPOT:
            return System.DYNAMICS
        return None


class Policy(enum.StrEnum):
    """How the engine decides a conflict on a `both` field; the mapping only stores it.

    - latest_wins: the side changed last wins, by per-property change time where the
      system keeps one and by record modification time otherwise.
    - hubspot_wins, dynamics_wins: that side always wins.
    - prefer_non_empty: a value wins over an empty one, and two values fall back to latest_wins.
    - keep_first: the side changed first wins, by the same change times as latest_wins.
    """

    LATEST_WINS = "latest_wins"
    HUBSPOT_WINS = "hubspot_wins"
    DYNAMICS_WINS = "dynamics_wins"
    PREFER_NON_EMPTY = "prefer_non_empty"
    KEEP_FIRST = "keep_first"


class LeaveScope(enum.StrEnum):
    """Handling of a linked record that no longer matches its pair's `scope`. The record
    stops syncing and keeps its link, and `report` also lists it in the report."""

    IGNORE = "ignore"
    REPORT = "report"


class DeletePolicy(enum.StrEnum):
    """Handling of a linked record's partner when the record is deleted or archived.

    - report: the deletion is listed in the report and the partner stays as it is.
    - archive: the partner is archived too (HubSpot) or deactivated (Dataverse); a
      Dataverse opportunity is closed as lost with status Canceled.
    - ignore: the deletion is neither reported nor followed.
    """

    REPORT = "report"
    ARCHIVE = "archive"
    IGNORE = "ignore"


class Operator(enum.StrEnum):
    """The comparison of one `scope` condition."""

    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GTE = "gte"
    LTE = "lte"
    EXISTS = "exists"


class FieldType(enum.StrEnum):
    """The type of a field's canonical value (see `sync.mapping.scalars`)."""

    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    ENUM = "enum"
    MONEY = "money"
    OWNER = "owner"


class UnmappedAction(enum.StrEnum):
    """The action for an enum value that the value map does not list."""

    REJECT = "reject"
    SKIP = "skip"
    DEFAULT = "default"
