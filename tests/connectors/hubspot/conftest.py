"""Fixtures shared by the HubSpot connector tests: a fake clock, a sandbox server, and
engine worlds over both sandboxes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.sandbox.http import SandboxServer
from sync.sandbox.hubspot import HubSpotSandbox
from tests.connectors.hubspot.engine_world import EngineWorld
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


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., EngineWorld]]:
    """Build engine worlds with `EngineWorld`'s options; all are closed after the test."""
    worlds: list[EngineWorld] = []

    def make(**options: object) -> EngineWorld:
        world = EngineWorld(tmp_path / f"world{len(worlds)}", **options)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()
