"""Associations between HubSpot records through the v4 batch API.

crmsync reads and writes the unlabeled association types: a deal's companies (341) and
contacts (3), and a contact's companies (279). Reading also sees the primary types, since
HubSpot gives every primary association an unlabeled one as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sync.model import HUBSPOT_OBJECTS, Kind

BATCH_SIZE = 100

# The kinds a record of each kind refers to through associations.
REF_KINDS: dict[Kind, tuple[Kind, ...]] = {
    Kind.DEAL: (Kind.COMPANY, Kind.CONTACT),
    Kind.CONTACT: (Kind.COMPANY,),
    Kind.COMPANY: (),
}
# HubSpot-defined association type ids that crmsync writes, by (from kind, to kind).
WRITE_TYPE_IDS: dict[tuple[Kind, Kind], int] = {
    (Kind.DEAL, Kind.COMPANY): 341,
    (Kind.DEAL, Kind.CONTACT): 3,
    (Kind.CONTACT, Kind.COMPANY): 279,
}

# Runs one SDK call through the connector's caller: (operation name, request) -> result.
Call = Callable[[str, Callable[[], Any]], Any]


def chunks(items: Sequence[Any], size: int = BATCH_SIZE) -> list[Sequence[Any]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def read_refs(call: Call, batch_api: Any, kind: Kind, ids: Sequence[str]) -> dict[str, dict[Kind, list[str]]]:
    """Return each record's associated ids by target kind, in id order.

    Records without associations are left out of the answer (HubSpot lists them as errors).
    """
    refs: dict[str, dict[Kind, list[str]]] = {record_id: {} for record_id in ids}
    source = HUBSPOT_OBJECTS[kind]
    for target in REF_KINDS[kind]:
        for chunk in chunks(list(ids)):
            body = {"inputs": [{"id": record_id} for record_id in chunk]}
            page = call(f"read {source} to {HUBSPOT_OBJECTS[target]} associations",
                        lambda body=body: batch_api.get_page(source, HUBSPOT_OBJECTS[target], body))
            for row in page.results or []:
                found = sorted({str(item.to_object_id) for item in row.to or []}, key=int)
                refs.setdefault(str(row._from.id), {})[target] = found
    return refs


def read_referring(call: Call, batch_api: Any, target: Kind, ids: Sequence[str], source: Kind) -> list[str]:
    """Return the ids of the `source` records associated with the `target` records `ids`, such as
    the contacts of some companies, sorted and without repeats."""
    found: set[str] = set()
    for chunk in chunks(list(ids)):
        body = {"inputs": [{"id": record_id} for record_id in chunk]}
        page = call(f"read {HUBSPOT_OBJECTS[target]} to {HUBSPOT_OBJECTS[source]} associations",
                    lambda body=body: batch_api.get_page(HUBSPOT_OBJECTS[target], HUBSPOT_OBJECTS[source], body))
        for row in page.results or []:
            found.update(str(item.to_object_id) for item in row.to or [])
    return sorted(found, key=int)


def write_refs(call: Call, batch_api: Any, kind: Kind, pairs: Sequence[tuple[str, Kind, str]]) -> list[Any]:
    """Create associations from records of `kind`: (from id, target kind, to id) per pair.

    Returns the SDK's batch responses; a 207 lists the pairs that failed in `errors`.
    """
    responses = []
    for target in REF_KINDS[kind]:
        chosen = [(from_id, to_id) for from_id, target_kind, to_id in pairs if target_kind is target]
        type_id = WRITE_TYPE_IDS[(kind, target)]
        for chunk in chunks(chosen):
            body = {"inputs": [
                {"from": {"id": from_id}, "to": {"id": to_id},
                 "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}
                for from_id, to_id in chunk
            ]}
            responses.append(call(f"create {HUBSPOT_OBJECTS[kind]} to {HUBSPOT_OBJECTS[target]} associations",
                                  lambda body=body, target=target: batch_api.create(
                                      HUBSPOT_OBJECTS[kind], HUBSPOT_OBJECTS[target], body)))
    return responses


# (from id, target kind, to id): one association from a record of the writing kind.
Pair = tuple[str, Kind, str]


def differences(wanted: dict[str, dict[Kind, list[str]]],
                current: dict[str, dict[Kind, list[str]]]) -> tuple[list[Pair], list[Pair]]:
    """Return the pairs to add and to remove so that each requested target kind contains exactly its ids.

    The mapping models one reference per target kind, so a changed reference replaces the
    whole set of that kind; a reference set to no ids removes every association of the kind.
    """
    added: list[Pair] = []
    removed: list[Pair] = []
    for from_id, targets in wanted.items():
        for target, ids in targets.items():
            present = set((current.get(from_id) or {}).get(target, []))
            added.extend((from_id, target, to_id) for to_id in ids if to_id not in present)
            removed.extend((from_id, target, to_id) for to_id in sorted(present - set(ids), key=int))
    return added, removed


def remove_refs(call: Call, batch_api: Any, kind: Kind, pairs: Sequence[Pair]) -> None:
    """Remove associations from records of `kind`, with the v4 batch archive (204, no body)."""
    source = HUBSPOT_OBJECTS[kind]
    for target in REF_KINDS[kind]:
        grouped: dict[str, list[str]] = {}
        for from_id, target_kind, to_id in pairs:
            if target_kind is target:
                grouped.setdefault(from_id, []).append(to_id)
        for chunk in chunks(list(grouped.items())):
            body = {"inputs": [{"from": {"id": from_id}, "to": [{"id": to_id} for to_id in to_ids]}
                               for from_id, to_ids in chunk]}
            call(f"remove {source} to {HUBSPOT_OBJECTS[target]} associations",
                 lambda body=body, target=target: batch_api.archive(source, HUBSPOT_OBJECTS[target], body))
