"""The Dataverse sandbox on loopback, for the tests that call its Web API over HTTP."""

from datetime import UTC, datetime

import pytest

from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.http import SandboxServer


@pytest.fixture
def box():
    """A Dataverse sandbox that accepts the token "good", on a clock stopped at 2024-05-01."""
    sandbox = DataverseSandbox(lambda token: token == "good", clock=lambda: datetime(2024, 5, 1, tzinfo=UTC))
    server = SandboxServer(sandbox.router).start()
    sandbox.url = server.url + "/api/data/v9.2"
    yield sandbox
    server.stop()
