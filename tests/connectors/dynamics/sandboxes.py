"""Token and Dataverse sandboxes on loopback ports, shared by the connector tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync.connectors.dynamics import DynamicsConnector
from sync.connectors.dynamics.client import WebApiClient
from sync.model import Kind
from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.dataverse_limits import ServiceLimits
from sync.sandbox.http import SandboxServer
from sync.sandbox.token import TokenSandbox
from sync.settings import DynamicsSettings

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "crmsync-test-client"
SECRET = "s3cret-value-for-tests"


class FrozenClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Sandboxes:
    token: TokenSandbox
    dataverse: DataverseSandbox
    server: SandboxServer
    clock: FrozenClock
    sleeps: list[float]

    def sleep(self, seconds: float) -> None:
        """Record a retry wait and let the frozen clock pass it, as a real wait would."""
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def settings(self, secret: str = SECRET, **overrides: object) -> DynamicsSettings:
        values = {
            "url": self.server.url, "tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": secret,
            "authority_host": self.token.url, "ca_bundle": self.token.ca_path, **overrides,
        }
        return DynamicsSettings(**values)

    def connector(self, secret: str = SECRET, columns: dict[Kind, list[str]] | None = None,
                  **overrides: object) -> DynamicsConnector:
        settings = self.settings(secret, **overrides)
        client = WebApiClient(settings, sleep=self.sleep)
        default = {Kind.CONTACT: ["firstname", "lastname", "emailaddress1"], Kind.COMPANY: ["name"],
                   Kind.DEAL: ["name", "estimatedvalue"]}
        return DynamicsConnector(settings, columns or default, clock=self.clock, client=client)


@contextmanager
def running_sandboxes(ca_dir: Path, service_limits: ServiceLimits | None = ServiceLimits()) -> Iterator[Sandboxes]:
    clock = FrozenClock(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    token = TokenSandbox({CLIENT_ID: SECRET}, TENANT, ca_dir, clock=clock).start()
    dataverse = DataverseSandbox(token.is_valid, clock=clock, user_of=token.client_of,
                                 service_limits=service_limits)
    server = SandboxServer(dataverse.router).start()
    try:
        yield Sandboxes(token, dataverse, server, clock, [])
    finally:
        server.stop()
        token.stop()
