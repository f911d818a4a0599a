"""Typed settings: a YAML file, then environment variables, validated all at once.

Secrets (the HubSpot token and the Dataverse client secret) may stay out of the file:
`CRMSYNC_HUBSPOT_ACCESS_TOKEN` and `CRMSYNC_DYNAMICS_CLIENT_SECRET` fill them in. A
Dataverse client certificate is a file, named by `dynamics.client_certificate_path`. Any
other setting can be overridden as `CRMSYNC_<SECTION>_<NAME>`, for example
`CRMSYNC_STATE_URL`. Settings are frozen once loaded and passed down; nothing below
this module reads the environment.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from sync.client_certificate import load_client_certificate, normalise_thumbprint
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
    # The client credential is a certificate or a secret, never both. The certificate is a
    # PEM file with the RSA private key and the certificate uploaded to the app registration.
    # Its SHA-1 thumbprint is computed from the certificate unless it is given here.
    client_certificate_thumbprint: str | None = None
    client_certificate_path: Path | None = Field(default=None, validate_default=True)
    client_secret: SecretStr | None = Field(default=None, validate_default=True)
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

    @field_validator("client_certificate_thumbprint")
    @classmethod
    def _thumbprint_format(cls, value: str | None) -> str | None:
        return None if value is None else normalise_thumbprint(value)

    @field_validator("client_certificate_path")
    @classmethod
    def _certificate_usable(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        thumbprint = info.data.get("client_certificate_thumbprint")
        if value is None:
            if thumbprint is not None:
                raise ValueError("client_certificate_thumbprint is set without a certificate; set "
                                 "dynamics.client_certificate_path to the PEM file, or remove the thumbprint")
            return None
        load_client_certificate(value, thumbprint)
        return value

    @field_validator("client_secret")
    @classmethod
    def _one_credential(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if "client_certificate_path" not in info.data:
            return value  # The certificate setting is invalid and already reported.
        secret = value if value is not None and value.get_secret_value() else None
        certificate = info.data["client_certificate_path"]
        if secret is None and certificate is None:
            raise ValueError(
                "no client credential is set; set dynamics.client_secret (or CRMSYNC_DYNAMICS_CLIENT_SECRET) to the "
                "client secret, or dynamics.client_certificate_path (or CRMSYNC_DYNAMICS_CLIENT_CERTIFICATE_PATH) to "
                "a PEM file with the certificate and its private key"
            )
        if secret is not None and certificate is not None:
            raise ValueError(
                "both dynamics.client_secret and dynamics.client_certificate_path are set; keep the one the app "
                "registration uses and remove the other (check CRMSYNC_DYNAMICS_CLIENT_SECRET too)"
            )
        return secret

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
    for section, key in (("sync", "mapping"), ("sync", "reports_dir"), ("dynamics", "ca_bundle"),
                         ("dynamics", "client_certificate_path")):
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
    message = item["msg"].removeprefix("Value error, ")
    kind = item["type"]
    fix = None
    if kind == "missing" and len(location) == 1:
        fix = f"add a '{setting}:' section to the file; config/example.yaml shows every section"
    elif kind == "missing":
        env_name = ENV_PREFIX + "_".join(part.upper() for part in location)
        fix = f"set '{setting}' in the file or the environment variable {env_name}"
    elif kind == "extra_forbidden":
        message = "unknown setting"
        fix = _spelling_fix(location)
    elif kind == "string_pattern_mismatch":
        choices = _pattern_choices(item.get("ctx", {}).get("pattern", ""))
        if choices:
            message = f"{item.get('input')!r} is not one of {', '.join(choices)}"
            close = difflib.get_close_matches(str(item.get("input")), choices, n=1, cutoff=0.6)
            fix = f"did you mean '{close[0]}'?" if close else "use one of: " + ", ".join(choices)
    elif kind.startswith("int_"):
        fix = "write a whole number, such as 300"
    elif kind.startswith("float_"):
        fix = "write a number, such as 30 or 2.5"
    elif kind.startswith("bool_"):
        fix = "write true or false"
    return Problem(message, file=path, line=line, column=column, field=setting, fix=fix)


def _spelling_fix(location: tuple[str, ...]) -> str:
    """Suggest the known setting closest to an unknown one, else list the section's settings."""
    model: Any = Settings
    for part in location[:-1]:
        field_info = model.model_fields.get(part)
        model = getattr(field_info, "annotation", None) if field_info is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return "remove it or correct its spelling"
    known = list(model.model_fields)
    close = difflib.get_close_matches(location[-1], known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "remove it, or use one of: " + ", ".join(known)


def _pattern_choices(pattern: str) -> list[str]:
    """Return the words of a pattern such as ^(starter|professional)$, or none for another pattern."""
    inner = pattern.removeprefix("^(").removesuffix(")$")
    if inner == pattern or not all(word.isalnum() or "_" in word for word in inner.split("|")):
        return []
    return inner.split("|")
