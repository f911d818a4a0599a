"""Wire settings into a ready engine: mapping, state store, connectors, and start-up checks.

Every check that can stop a run happens here, before any write: the mapping loads, the
state store opens, both CRMs accept the credentials, and every mapped field exists in
their metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from sync.connectors.base import Connector
from sync.connectors.dynamics import DynamicsConnector
from sync.connectors.hubspot import HubSpotConnector
from sync.engine.reconcile import MatchingOptions
from sync.engine.run import RetryPolicy, SyncEngine
from sync.identity import EmailRules
from sync.errors import ConfigError, Problem
from sync.mapping import Mapping, check_fields, load_mapping
from sync.model import Kind, System
from sync.settings import Settings
from sync.state import StateStore

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    mapping: Mapping
    store: StateStore
    connectors: dict[System, Any]
    engine: SyncEngine

    @property
    def hubspot(self) -> HubSpotConnector:
        return self.connectors[System.HUBSPOT]

    @property
    def dynamics(self) -> DynamicsConnector:
        return self.connectors[System.DYNAMICS]

    def close(self) -> None:
        self.store.close()


def load_checked_mapping(settings: Settings) -> Mapping:
    """Load the mapping and check what the engine itself needs of it."""
    mapping = load_mapping(settings.sync.mapping)
    contact = mapping.pairs.get(Kind.CONTACT)
    if contact is not None and "email" not in {rule.name for rule in contact.fields}:
        raise ConfigError(Problem(
            "the contact mapping has no field named 'email'", file=mapping.source, field="objects.contact.fields",
            fix="map the email fields as 'email', for example email: {hubspot: email, dynamics: emailaddress1}",
        ))
    return mapping


def open_runtime(settings: Settings, *, check_metadata: bool = True, mapping: Mapping | None = None) -> Runtime:
    """Build the runtime; raise `ConfigError` listing every problem found before any write.

    `mapping` replaces the one named in the settings (for checking another mapping file).
    """
    mapping = mapping or load_checked_mapping(settings)
    store = StateStore(settings.state.url)
    properties = {kind: pair.hubspot_properties() for kind, pair in mapping.pairs.items()}
    if Kind.CONTACT in properties:
        # Matching also compares a contact's additional emails.
        properties[Kind.CONTACT] = [*properties[Kind.CONTACT], "hs_additional_emails"]
    connectors: dict[System, Connector] = {
        System.HUBSPOT: HubSpotConnector(settings.hubspot, properties),
        System.DYNAMICS: DynamicsConnector(settings.dynamics, {kind: pair.dynamics_columns() for kind, pair in mapping.pairs.items()}),
    }
    if check_metadata:
        _check_mapped_fields(mapping, connectors)
    identity = settings.identity
    matching = MatchingOptions(
        EmailRules(gmail_dots=identity.gmail_dots, googlemail_as_gmail=identity.googlemail_as_gmail,
                   plus_tags=identity.plus_tags),
        identity.fuzzy_threshold, identity.review_threshold, identity.phone_region,
    )
    engine = SyncEngine(mapping, connectors, store, batch_size=settings.sync.batch_size,
                        retry=RetryPolicy(max_attempts=settings.sync.max_attempts), matching=matching)
    return Runtime(settings, mapping, store, connectors, engine)


def _check_mapped_fields(mapping: Mapping, connectors: dict[System, Any]) -> None:
    known = {system: {kind: connector.field_names(kind) for kind in mapping.pairs} for system, connector in connectors.items()}
    problems = check_fields(mapping, known)
    if problems:
        raise ConfigError(problems)
