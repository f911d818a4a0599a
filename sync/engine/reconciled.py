"""The reconciled deals: one set of canonical values per real deal, for the KPIs.

Both CRMs are read in full. A linked pair counts once (its HubSpot values, which agree
with Dynamics after a sync; where a field is empty on HubSpot the Dynamics value fills
it). A deal that only one CRM has counts once too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.connectors.base import Connector
from sync.engine.links import LinkIndex
from sync.engine.owners import load_owners
from sync.mapping import Mapping
from sync.model import Kind, Record, System
from sync.state import StateStore


@dataclass
class ReconciledDeals:
    values: list[dict[str, Any]] = field(default_factory=list)
    linked: int = 0
    hubspot_only: int = 0
    dynamics_only: int = 0
    invalid: list[str] = field(default_factory=list)


def reconciled_deals(mapping: Mapping, connectors: dict[System, Connector], store: StateStore) -> ReconciledDeals:
    pair = mapping.pairs.get(Kind.DEAL)
    result = ReconciledDeals()
    if pair is None:
        return result

    owners = load_owners(mapping, connectors)
    canonical: dict[System, dict[str, dict[str, Any]]] = {}
    for system, connector in connectors.items():
        records = [record for record in connector.read(Kind.DEAL, None).records if not record.deleted]
        canonical[system] = _canonical(pair, records, result, owners)

    links = LinkIndex(store.links(Kind.DEAL))
    dynamics_left = dict(canonical[System.DYNAMICS])
    for hubspot_id, values in canonical[System.HUBSPOT].items():
        link = links.for_record(System.HUBSPOT, Kind.DEAL, hubspot_id)
        partner = dynamics_left.pop(link.dynamics_id, None) if link is not None else None
        if partner is None:
            result.hubspot_only += 1
            result.values.append({**values, KEY: hubspot_id})
            continue
        result.linked += 1
        merged = {name: value if value is not None else partner.get(name) for name, value in values.items()}
        result.values.append({**merged, KEY: hubspot_id})
    result.dynamics_only = len(dynamics_left)
    result.values.extend({**values, KEY: f"dynamics:{dynamics_id}"} for dynamics_id, values in dynamics_left.items())
    return result


# Canonical field that identifies a reconciled deal: its HubSpot id, or the Dataverse id
# prefixed with `dynamics:` for a deal only Dataverse has.
KEY = "key"


def _canonical(pair, records: list[Record], result: ReconciledDeals, owners) -> dict[str, dict[str, Any]]:
    values = {}
    for record in records:
        converted = pair.to_canonical(record, owners)
        if converted.errors:
            result.invalid.extend(str(error) for error in converted.errors)
            continue
        values[record.id] = dict(converted.values)
    return values
