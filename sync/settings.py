"""Typed settings: a YAML file, then environment variables, validated all at once.

Secrets (the HubSpot token and the Dataverse client secret) may stay out of the file:
`CRMSYNC_HUBSPOT_ACCESS_TOKEN` and `CRMSYNC_DYNAMICS_CLIENT_SECRET` fill them in. Any
other setting can be overridden as `CRMSYNC_<SECTION>_<NAME>`, for example
`CRMSYNC_STATE_URL`. Settings are frozen once loaded and passed down; nothing below
this module reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from sync.errors import ConfigError, Problem
from sync.yamlfile import load_yaml, location_of, plain

ENV_PREFIX = "CRMSYNC_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSpotSettings(_Section):
    host: str = "https://api.hubapi.com"
    access_token: SecretStr
    # Tier decides the burst limit the connector paces itself to (requests per 10 s).
    tier: str = Field(default="professional", pattern="^(starter|professional|enterprise)$")
    # Seconds to re-read before the cursor, because search indexes changes late.
    search_overlap_seconds: int = Field(default=60, ge=0)
    # Time zone of the portal, for date-only property values.
    timezone: str = "UTC"
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("host")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class DynamicsSettings(_Section):
    # Environment URL, such as https://contoso.crm.dynamics.com
    url: str
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    authority_host: str = "https://login.microsoftonline.com"
    # Scope resource; defaults to the environment URL. The token scope is RESOURCE/.default.
    resource: str | None = None
    # A CA bundle for a private token endpoint (the sandbox); None uses the system store.
    ca_bundle: Path | None = None
    page_size: int = Field(default=5000, ge=1, le=5000)
    batch_size: int = Field(default=100, ge=1, le=1000)
    modified_overlap_seconds: int = Field(default=60, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("url", "authority_host")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _bundle_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"CA bundle file {value} not found; give the path of a PEM file, or remove the setting")
        return value

    @property
    def scope(self) -> str:
        return f"{(self.resource or self.url).rstrip('/')}/.default"


class StateSettings(_Section):
    # A SQLAlchemy URL: sqlite:///path.sqlite (default) or postgresql+psycopg://...
    url: str = "sqlite:///crmsync.sqlite"


class SyncSettings(_Section):
    mapping: Path = Path("mappings/default.yaml")
    reports_dir: Path = Path("reports")
    interval_seconds: int = Field(default=300, ge=5)
    batch_size: int = Field(default=100, ge=1, le=100)
    # A record that failed this many runs is parked until `crmsync retry`.
    max_attempts: int = Field(default=8, ge=1)


class IdentitySettings(_Section):
    """How people are matched; each email rule can be switched off."""

    # Gmail ignores dots in the local part; googlemail.com is gmail.com.
    gmail_dots: bool = True
    googlemail_as_gmail: bool = True
    # Drop +tags for providers that document sub-addressing.
    plus_tags: bool = True
    # Fuzzy score (0-100) from which a pair is matched, and from which it goes to review.
    fuzzy_threshold: float = Field(default=92.0, ge=50, le=100)
    review_threshold: float = Field(default=75.0, ge=0, le=100)
    # Region for phone numbers written without a country code, such as "US" or "DE".
    phone_region: str | None = None


class DaemonSettings(_Section):
    # Port for /metrics (Prometheus) and /healthz; None serves neither.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # Replicas that share a state store and this name run the sync in one place at a time.
    leader_name: str = "default"


class LogSettings(_Section):
    level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    format: str = Field(default="console", pattern="^(console|json)$")


class Settings(_Section):
    hubspot: HubSpotSettings
    dynamics: DynamicsSettings
    state: StateSettings = StateSettings()
    sync: SyncSettings = SyncSettings()
    identity: IdentitySettings = IdentitySettings()
    daemon: DaemonSettings = DaemonSettings()
    log: LogSettings = LogSettings()
    # The file the settings came from; relative paths in it are resolved against its folder.
    source: Path | None = None


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Load and validate settings from `path` and the environment.

    Raises `ConfigError` listing every problem with its file, line and setting.
    """
    environ = os.environ if environ is None else environ
    document = load_yaml(path) if path.exists() else None
    if document is None and not path.exists():
        raise ConfigError(Problem(
            "settings file not found",
            file=path,
            fix="pass --config with the path of a settings file, or run 'crmsync sandbox serve' to write one",
        ))
    data = plain(document) if document is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(Problem("the settings file must be a mapping of sections", file=path, line=1))
    _apply_environment(data, environ)
    _resolve_paths(data, path.parent)

    try:
        settings = Settings.model_validate({**data, "source": path})
    except ValidationError as error:
        raise ConfigError([_problem_from(path, document, item) for item in error.errors()]) from None
    return settings


def _apply_environment(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("_")
        if section not in Settings.model_fields or not key:
            continue
        target = data.setdefault(section, {})
        if isinstance(target, dict):
            target[key] = value


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for section, key in (("sync", "mapping"), ("sync", "reports_dir"), ("dynamics", "ca_bundle")):
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[section][key] = str(base / value)
    state = data.get("state")
    if isinstance(state, dict) and isinstance(state.get("url"), str):
        url = state["url"]
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
            state["url"] = prefix + str(base / url[len(prefix):])


def _problem_from(path: Path, document: Any, item: Any) -> Problem:
    location = tuple(str(part) for part in item["loc"])
    line, column = location_of(document, location)
    setting = ".".join(location)
    message = item["msg"]
    fix = None
    if item["type"] == "missing":
        env_name = ENV_PREFIX + "_".join(part.upper() for part in location)
        fix = f"set '{setting}' in the file or the environment variable {env_name}"
    elif item["type"] == "extra_forbidden":
        message = "unknown setting"
        fix = "remove it or correct its spelling"
    return Problem(message, file=path, line=line, column=column, field=setting, fix=fix)
