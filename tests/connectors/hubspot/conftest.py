"""Fixtures shared by the HubSpot connector tests: a fake clock and a sandbox server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.sandbox.http import SandboxServer
from sync.sandbox.hubspot import HubSpotSandbox
from tests.connectors.hubspot.fakes import FakeClock, start_server

TOKEN = "pat-na1-test-token-123"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> HubSpotSandbox:
    return HubSpotSandbox(TOKEN, clock=clock.now, monotonic=clock.monotonic)


@pytest.fixture
def server(sandbox: HubSpotSandbox) -> Iterator[SandboxServer]:
    running = start_server(sandbox.router)
    yield running
    running.stop()
