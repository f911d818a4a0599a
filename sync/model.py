"""Canonical kinds, systems and the record shape that every stage passes on.

A record is one object as a system returns it. Its `values` are the system's own field
names and raw values (HubSpot: strings or None; Dataverse: JSON numbers, strings, booleans).
The mapping turns them into canonical values, keyed by the mapping's field names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class System(enum.StrEnum):
    HUBSPOT = "hubspot"
    DYNAMICS = "dynamics"

    @property
    def other(self) -> System:
        return System.DYNAMICS if self is System.HUBSPOT else System.HUBSPOT

    @property
    def label(self) -> str:
        return "HubSpot" if self is System.HUBSPOT else "Dynamics"


class Kind(enum.StrEnum):
    """The kind of thing a record stands for, whatever each system calls it.

    Kinds are listed in dependency order: a deal refers to a company and a contact,
    and a contact refers to a company, so companies are synced first.
    """

    COMPANY = "company"
    CONTACT = "contact"
    DEAL = "deal"


# HubSpot object type and Dataverse entity set for each kind.
HUBSPOT_OBJECTS: dict[Kind, str] = {
    Kind.CONTACT: "contacts",
    Kind.COMPANY: "companies",
    Kind.DEAL: "deals",
}
DATAVERSE_ENTITY_SETS: dict[Kind, str] = {
    Kind.CONTACT: "contacts",
    Kind.COMPANY: "accounts",
    Kind.DEAL: "opportunities",
}
# Dataverse logical (table) names and primary key columns.
DATAVERSE_TABLES: dict[Kind, str] = {
    Kind.CONTACT: "contact",
    Kind.COMPANY: "account",
    Kind.DEAL: "opportunity",
}
DATAVERSE_PRIMARY_KEYS: dict[Kind, str] = {
    Kind.CONTACT: "contactid",
    Kind.COMPANY: "accountid",
    Kind.DEAL: "opportunityid",
}
# HubSpot property that contains the last modification time; contacts use another name than the rest.
HUBSPOT_MODIFIED_PROPERTY: dict[Kind, str] = {
    Kind.CONTACT: "lastmodifieddate",
    Kind.COMPANY: "hs_lastmodifieddate",
    Kind.DEAL: "hs_lastmodifieddate",
}


@dataclass(frozen=True)
class Ref:
    """A reference from one record to another, such as a deal's company.

    `system` is the system that `id` belongs to. The engine translates references through the link
    table before it compares or writes them.
    """

    kind: Kind
    system: System
    id: str


@dataclass
class Record:
    system: System
    kind: Kind
    id: str
    values: dict[str, Any]
    modified_at: datetime | None = None
    etag: str | None = None
    deleted: bool = False
    # Reference fields read from associations (HubSpot) or lookups (Dataverse),
    # keyed by the target kind; see `Ref`.
    refs: dict[Kind, list[str]] = field(default_factory=dict)
    # When each source property last changed, where the CRM records it (HubSpot property
    # history). Filled on demand for the properties a `latest_wins` conflict compares;
    # a property without an entry falls back to `modified_at`.
    changed_at: dict[str, datetime] = field(default_factory=dict)
    # The id of the record that this one was merged into (Dataverse `masterid` on a merged
    # subordinate). HubSpot lists merges on the survivor instead: see `merged_ids`.
    merged_into: str | None = None

    @property
    def label(self) -> str:
        return f"{self.system.label} {self.kind} {self.id}"


@dataclass(frozen=True)
class Owner:
    """A HubSpot owner or a Dataverse system user, crosswalked by email."""

    system: System
    id: str
    email: str | None
    name: str | None = None
    active: bool = True
