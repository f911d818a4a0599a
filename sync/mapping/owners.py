"""The owner crosswalk: HubSpot owners and Dataverse system users, matched by email.

The canonical value of an `owner` field is the owner's email in lowercase, so a deal owned
by jane@example.com in HubSpot and a Dataverse user with the same email compare equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sync.mapping.scalars import InvalidValue, show
from sync.model import Owner, System


class OwnerDirectory(Protocol):
    """Owner ids and emails of both systems; `to_canonical` and `from_canonical` read it."""

    def email_of(self, system: System, owner_id: str) -> str | None:
        """Return the lowercased email of the owner `owner_id` in `system`, or None if unknown."""
        ...

    def id_of(self, system: System, email: str) -> str | None:
        """Return the id in `system` of the active owner with `email`, or None if there is none."""
        ...


class OwnerTable:
    """An `OwnerDirectory` built from the owners that the connectors list."""

    def __init__(self, owners: Iterable[Owner]):
        self._emails: dict[tuple[System, str], str] = {}
        self._ids: dict[tuple[System, str], str] = {}
        for owner in owners:
            if not owner.email:
                continue
            email = owner.email.strip().lower()
            self._emails[(owner.system, owner.id)] = email
            if owner.active or (owner.system, email) not in self._ids:
                self._ids[(owner.system, email)] = owner.id

    def email_of(self, system: System, owner_id: str) -> str | None:
        return self._emails.get((system, owner_id))

    def id_of(self, system: System, email: str) -> str | None:
        return self._ids.get((system, email.strip().lower()))


def owner_to_canonical(raw: Any, system: System, owners: OwnerDirectory | None) -> str | None:
    """Return the owner's lowercased email for a raw owner id; raise `InvalidValue` if unknown."""
    if raw is None or str(raw).strip() == "":
        return None
    if owners is None:
        raise InvalidValue("an owner field needs the owner directory, and none was given; pass `owners=`")
    email = owners.email_of(system, str(raw).strip())
    if email is None:
        raise InvalidValue(
            f"{system.label} owner {show(raw)} has no email in the owner directory; "
            f"give the owner an email in {system.label}, or map this field one way"
        )
    return email


def owner_from_canonical(value: Any, system: System, owners: OwnerDirectory | None) -> str | None:
    """Return the owner id in `system` for a canonical email; raise `InvalidValue` if none has it."""
    if value is None or str(value).strip() == "":
        return "" if system is System.HUBSPOT else None
    if owners is None:
        raise InvalidValue("an owner field needs the owner directory, and none was given; pass `owners=`")
    owner_id = owners.id_of(system, str(value))
    if owner_id is None:
        raise InvalidValue(f"no {system.label} owner has the email {show(value)}; add the user in {system.label}")
    return owner_id
