"""The reconciled deals count each real deal once, whichever CRMs hold it."""

from pathlib import Path

from sync.engine.reconciled import reconciled_deals
from sync.engine.run import SyncEngine
from sync.mapping import load_mapping
from sync.model import Kind, System
from sync.state import StateStore
from tests.engine.fakes import Clock, FakeConnector

MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "default.yaml"


def test_linked_pair_counts_once(tmp_path):
    clock = Clock()
    hubspot, dynamics = FakeConnector(System.HUBSPOT, clock), FakeConnector(System.DYNAMICS, clock)
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    mapping = load_mapping(MAPPING)
    connectors = {System.HUBSPOT: hubspot, System.DYNAMICS: dynamics}
    dynamics.add(Kind.DEAL, {"name": "Renewal", "estimatedvalue": 900.0, "statecode": 1, "statuscode": 3,
                             "salesstage": 3, "estimatedclosedate": "2026-02-01"})
    SyncEngine(mapping, connectors, store, clock=clock).run()
    # A deal only HubSpot has, added after the sync.
    hubspot.add(Kind.DEAL, {"dealname": "Upsell", "amount": "100", "dealstage": "closedlost", "closedate": "2026-02-02"})

    deals = reconciled_deals(mapping, connectors, store)

    assert len(hubspot.records[Kind.DEAL]) == 2
    assert len(dynamics.records[Kind.DEAL]) == 1
    assert deals.linked == 1
    assert deals.hubspot_only == 1
    assert deals.dynamics_only == 0
    assert sorted(values["name"] for values in deals.values) == ["Renewal", "Upsell"]
    store.close()
