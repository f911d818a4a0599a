"""Test-wide set-up: quiet structured logging, and a sandbox with settings that point at it."""

from pathlib import Path

import pytest

from sync.logs import configure_logging
from sync.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MAPPING = ROOT / "mappings" / "default.yaml"

configure_logging("WARNING")


@pytest.fixture
def sandbox(tmp_path):
    """A running sandbox with a few records on each side."""
    with Sandbox(tmp_path / "sandbox", hubspot_rate_limits=False) as running:
        running.hubspot.add_record("contacts", {"email": "pat@acme.example", "firstname": "Pat", "lastname": "Lee"})
        running.dataverse.add_row("contacts", {"emailaddress1": "sam@globex.example", "firstname": "Sam", "lastname": "Ode"})
        running.dataverse.add_row("opportunities", {"name": "Renewal", "estimatedvalue": 1200.0,
                                                    "estimatedclosedate": "2026-06-30", "salesstage": 1})
        yield running


@pytest.fixture
def settings_path(sandbox, tmp_path):
    """A settings file for `sandbox`, with the shipped mapping."""
    path = tmp_path / "crmsync.yaml"
    sandbox.write_settings(path, f"sqlite:///{tmp_path / 'state.sqlite'}", DEFAULT_MAPPING, tmp_path / "reports")
    return path
