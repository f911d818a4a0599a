"""Engine runs against both sandboxes, for the HubSpot connector's end-to-end scenarios.

One fake clock drives everything: record times in both sandboxes, the engine and the state
store, and the HubSpot connector's pacing, whose sleeps move the clock instead of waiting.
The HubSpot sandbox's rate limits run on the same clock, so a run that would take minutes
of real pacing finishes in seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubspot import HubSpot
from ruamel.yaml import YAML

from sync.connectors.dynamics import DynamicsConnector
from sync.connectors.dynamics.client import WebApiClient
from sync.connectors.hubspot import HubSpotConnector
from sync.engine.run import RunResult, SyncEngine
from sync.mapping import Mapping
from sync.model import DATAVERSE_ENTITY_SETS, HUBSPOT_OBJECTS, Kind, System
from sync.runtime import load_checked_mapping
from sync.sandbox.server import Sandbox
from sync.settings import Settings, load_settings
from sync.state import StateStore
from tests.connectors.hubspot.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[3]
MAPPING = ROOT / "mappings" / "default.yaml"
# The Dataverse lookup that contains a contact's or an opportunity's account.
ACCOUNT_LOOKUP = {Kind.CONTACT: "parentcustomerid_account@odata.bind", Kind.DEAL: "customerid_account@odata.bind"}


class EngineWorld:
    """Both sandboxes, the state store and the engine, on one fake clock.

    `tier` and `daily_limit` set the HubSpot sandbox's limits and the connector's tier.
    `batch_size` is the engine's batch size. `mapping` replaces the shipped mapping.
    """

    def __init__(self, folder: Path, *, tier: str = "professional", batch_size: int = 100,
                 daily_limit: int | None = None, mapping: Path = MAPPING):
        self.folder = folder
        self.clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
        self.sandbox = Sandbox(folder / "sandbox", clock=self.clock.now).start()
        self.hubspot_sandbox = self.sandbox.hubspot
        self.hubspot_sandbox.set_rate_limits(tier, monotonic=self.clock.monotonic, daily_limit=daily_limit)
        self.settings_path = folder / "crmsync.yaml"
        self.settings = self._write_settings(tier, batch_size, mapping)
        self.mapping: Mapping = load_checked_mapping(self.settings)
        self.store = StateStore(self.settings.state.url, clock=self.clock.now)
        self.hubspot = self._hubspot_connector()
        self.dynamics = self._dynamics_connector()
        self.engine = SyncEngine(self.mapping, {System.HUBSPOT: self.hubspot, System.DYNAMICS: self.dynamics},
                                 self.store, batch_size=batch_size, clock=self.clock.now)

    def close(self) -> None:
        self.store.close()
        self.sandbox.stop()

    def _write_settings(self, tier: str, batch_size: int, mapping: Path) -> Settings:
        document = self.sandbox.settings_document(f"sqlite:///{self.folder / 'state.sqlite'}", mapping,
                                                  self.folder / "reports")
        document["hubspot"]["tier"] = tier
        document["sync"]["batch_size"] = batch_size
        document["log"] = {"level": "WARNING"}
        with self.settings_path.open("w", encoding="utf-8") as handle:
            YAML().dump(document, handle)
        return load_settings(self.settings_path)

    def _hubspot_connector(self) -> HubSpotConnector:
        properties = {kind: pair.hubspot_properties() for kind, pair in self.mapping.pairs.items()}
        properties[Kind.CONTACT] = [*properties.get(Kind.CONTACT, []), "hs_additional_emails"]
        return HubSpotConnector(self.settings.hubspot, properties, clock=self.clock.monotonic,
                                sleep=self.clock.sleep, wall_clock=self.clock.now)

    def _dynamics_connector(self) -> DynamicsConnector:
        columns = {kind: pair.dynamics_columns() for kind, pair in self.mapping.pairs.items()}
        client = WebApiClient(self.settings.dynamics, sleep=self.clock.sleep)
        return DynamicsConnector(self.settings.dynamics, columns, clock=self.clock.now, client=client)

    # -- runs and what they wrote ---------------------------------------------------

    def run(self) -> RunResult:
        """Run the engine once, a second after the last change."""
        self.clock.advance(1)
        return self.engine.run()

    def writes_of(self, result: RunResult) -> int:
        return sum(sum(applied.created.values()) + sum(applied.updated.values())
                   for applied in result.applied.values())

    def official_client(self) -> HubSpot:
        """The official client, as another user of the account would use it."""
        return HubSpot(access_token=self.sandbox.credentials.hubspot_token, host=self.sandbox.hubspot_server.url)

    # -- records ----------------------------------------------------------------------

    def hubspot_records(self, kind: Kind) -> list[dict[str, Any]]:
        return self.hubspot_sandbox.records(HUBSPOT_OBJECTS[kind])

    def dataverse_rows(self, kind: Kind) -> list[dict[str, Any]]:
        return self.sandbox.dataverse.rows(DATAVERSE_ENTITY_SETS[kind])

    def add_account(self, name: str) -> str:
        return self.sandbox.dataverse.add_row("accounts", {"name": name})

    def add_contact(self, email: str, account: str | None = None, **values: Any) -> str:
        row = {"emailaddress1": email, "firstname": "Pat", "lastname": email.split("@")[0], **values}
        if account is not None:
            row[ACCOUNT_LOOKUP[Kind.CONTACT]] = f"/accounts({account})"
        return self.sandbox.dataverse.add_row("contacts", row)

    def add_opportunity(self, name: str, account: str | None = None) -> str:
        row: dict[str, Any] = {"name": name, "estimatedvalue": 1200.0, "estimatedclosedate": "2026-06-30",
                               "salesstage": 1}
        if account is not None:
            row[ACCOUNT_LOOKUP[Kind.DEAL]] = f"/accounts({account})"
        return self.sandbox.dataverse.add_row("opportunities", row)

    def add_companies_with_people(self, count: int) -> list[str]:
        """Add `count` accounts in Dataverse, each with one contact and one opportunity; return the account ids."""
        accounts = []
        for number in range(count):
            account = self.add_account(f"Company {number:04d}")
            self.add_contact(f"person{number:04d}@company{number:04d}.example", account)
            self.add_opportunity(f"Deal {number:04d}", account)
            accounts.append(account)
        return accounts

    def links(self, kind: Kind) -> dict[str, str]:
        """Return the links of a kind as {HubSpot id: Dataverse id}."""
        return {link.hubspot_id: link.dynamics_id for link in self.store.links(kind)}
