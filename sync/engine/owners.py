"""The owner crosswalk of a run: HubSpot owners and Dataverse users, joined by email."""

from __future__ import annotations

import structlog

from sync.connectors.base import Connector
from sync.mapping import FieldType, Mapping, OwnerTable
from sync.model import System

log = structlog.get_logger(__name__)


def load_owners(mapping: Mapping, connectors: dict[System, Connector]) -> OwnerTable | None:
    """Read both CRMs' owners when the mapping has an owner field; None otherwise.

    Inactive owners are logged, because records that keep them cannot be reassigned to them.
    """
    uses_owners = any(rule.type is FieldType.OWNER for pair in mapping.pairs.values() for rule in pair.fields)
    if not uses_owners:
        return None
    owners = [owner for connector in connectors.values() for owner in connector.owners()]
    inactive = [owner for owner in owners if not owner.active]
    if inactive:
        log.warning("sync.inactive_owners", count=len(inactive),
                    owners=[f"{owner.system} {owner.email or owner.id}" for owner in inactive[:20]])
    return OwnerTable(owners)
