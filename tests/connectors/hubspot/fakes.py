"""Shared helpers for the HubSpot tests: a fake clock, a running sandbox and a connector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.connectors.hubspot.client import HubSpotConnector
from sync.model import Kind
from sync.sandbox.http import Router, SandboxServer
from sync.settings import HubSpotSettings


class FakeClock:
    """Wall clock, monotonic clock and sleep that move only when told to."""

    def __init__(self, start: datetime = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)):
        self.moment = start
        self.seconds = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.moment += timedelta(seconds=seconds)


def start_server(router: Router) -> SandboxServer:
    """Start a sandbox server on a free loopback port."""
    return SandboxServer(router).start()


def make_connector(url: str, clock: FakeClock, token: str, **settings: object) -> HubSpotConnector:
    """Build a connector on the fake clock, reading the properties the tests look at."""
    options = {"search_overlap_seconds": 60, **settings}
    properties = {Kind.CONTACT: ["email", "firstname"], Kind.COMPANY: ["name"], Kind.DEAL: ["dealname", "amount"]}
    return HubSpotConnector(HubSpotSettings(host=url, access_token=token, **options), properties,
                            clock=clock.monotonic, sleep=clock.sleep, wall_clock=clock.now)
