"""The whole sandbox: HubSpot, Dataverse and the token endpoint, started together.

`crmsync demo` runs it in-process; `crmsync sandbox serve` runs it as its own process,
keeps its data in a JSON file between restarts, and writes a settings file that points
`crmsync sync` at it.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.errors import ConfigError, Problem
from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.http import SandboxServer
from sync.sandbox.hubspot import HubSpotSandbox
from sync.sandbox.token import TokenSandbox

TENANT_ID = "5f1c8f0e-0000-4000-8000-00000000c0de"
CLIENT_ID = "b1e2c3d4-0000-4000-8000-0000000000a1"
# The sandbox's Dataverse pretends to be this environment; tokens are asked for its scope.
RESOURCE = "https://sandbox.crm.dynamics.com"
# Endpoints that change data, as `request_counts` names them.
WRITE_ENDPOINTS = frozenset({
    "hubspot.create", "hubspot.update", "hubspot.archive", "hubspot.batch_create", "hubspot.batch_update",
    "hubspot.batch_upsert", "hubspot.batch_archive", "hubspot.associations_create", "hubspot.associations_put",
    "dataverse.create", "dataverse.update", "dataverse.delete", "dataverse.batch", "dataverse.close_opportunity",
    "dataverse.merge",
})


@dataclass(frozen=True)
class SandboxPorts:
    """Loopback ports; 0 lets the system pick a free one."""

    hubspot: int = 0
    dataverse: int = 0
    token: int = 0


@dataclass(frozen=True)
class SandboxCredentials:
    hubspot_token: str
    client_secret: str

    @classmethod
    def generate(cls) -> SandboxCredentials:
        return cls("pat-sandbox-" + secrets.token_hex(12), "sandbox-secret-" + secrets.token_hex(12))


class Sandbox:
    """The three sandbox servers and their stores."""

    def __init__(
        self,
        workdir: Path,
        *,
        ports: SandboxPorts = SandboxPorts(),
        credentials: SandboxCredentials | None = None,
        clock: Callable[[], datetime] | None = None,
        hubspot_rate_limits: bool = True,
    ):
        self.workdir = workdir
        self.credentials = credentials or SandboxCredentials.generate()
        workdir.mkdir(parents=True, exist_ok=True)
        self.token = _bind("token endpoint", ports.token, lambda: TokenSandbox(
            {CLIENT_ID: self.credentials.client_secret}, TENANT_ID, workdir, clock=clock, port=ports.token,
        ))
        self.hubspot = HubSpotSandbox(self.credentials.hubspot_token, clock=clock, rate_limits=hubspot_rate_limits)
        self.dataverse = DataverseSandbox(self.token.is_valid, clock=clock, user_of=self.token.client_of)
        self.hubspot_server = _bind("HubSpot", ports.hubspot, lambda: SandboxServer(self.hubspot.router, port=ports.hubspot))
        self.dataverse_server = _bind("Dataverse", ports.dataverse,
                                      lambda: SandboxServer(self.dataverse.router, port=ports.dataverse))

    def start(self) -> Sandbox:
        self.token.start()
        self.hubspot_server.start()
        self.dataverse_server.start()
        return self

    def stop(self) -> None:
        for server in (self.hubspot_server, self.dataverse_server, self.token):
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counters ---------------------------------------------------------------------

    def request_counts(self) -> Counter[str]:
        """Requests per endpoint name, prefixed with the server: `hubspot.`, `dataverse.`, `token.`."""
        counts: Counter[str] = Counter()
        for prefix, router in (("hubspot", self.hubspot.router), ("dataverse", self.dataverse.router),
                               ("token", self.token.router)):
            counts.update({f"{prefix}.{name}": n for name, n in router.counts.items()})
        return counts

    def write_requests(self) -> int:
        """Requests to endpoints that change data, since the last reset."""
        return sum(n for name, n in self.request_counts().items() if name in WRITE_ENDPOINTS)

    def reset_counts(self) -> None:
        for router in (self.hubspot.router, self.dataverse.router, self.token.router):
            router.reset_counts()

    def snapshot(self) -> str:
        """Return the whole data of both CRMs as one string, to prove that a run wrote nothing."""
        return json.dumps({"hubspot": self.hubspot.dump(), "dataverse": self.dataverse.dump()}, sort_keys=True, default=str)

    # -- settings and persistence -----------------------------------------------------

    def settings_document(self, state_url: str, mapping: Path, reports_dir: Path) -> dict[str, Any]:
        """Settings that point crmsync at this sandbox."""
        return {
            "hubspot": {
                "host": self.hubspot_server.url,
                "access_token": self.credentials.hubspot_token,
            },
            "dynamics": {
                "url": self.dataverse_server.url,
                "resource": RESOURCE,
                "tenant_id": TENANT_ID,
                "client_id": CLIENT_ID,
                "client_secret": self.credentials.client_secret,
                "authority_host": self.token.url,
                "ca_bundle": str(self.token.ca_path.resolve()),
            },
            "state": {"url": state_url},
            "sync": {"mapping": str(Path(mapping).resolve()), "reports_dir": str(Path(reports_dir).resolve())},
        }

    def write_settings(self, path: Path, state_url: str, mapping: Path, reports_dir: Path, *,
                       keep_existing: bool = False) -> None:
        """Write the settings file. It contains the sandbox's own secrets, so only the owner may read it.

        With `keep_existing`, a file that exists keeps its other settings and its comments:
        only the `hubspot` and `dynamics` connection values are replaced.
        """
        from ruamel.yaml import YAML

        path.parent.mkdir(parents=True, exist_ok=True)
        yaml = YAML()
        yaml.default_flow_style = False
        document = self.settings_document(state_url, mapping, reports_dir)
        existing = yaml.load(path.read_text(encoding="utf-8")) if keep_existing and path.exists() else None
        if isinstance(existing, dict):
            for section in ("hubspot", "dynamics"):
                if not isinstance(existing.get(section), dict):
                    existing[section] = {}
                existing[section].update(document[section])
            with path.open("w", encoding="utf-8") as handle:
                yaml.dump(existing, handle)
        else:
            with path.open("w", encoding="utf-8") as handle:
                handle.write("# Written by crmsync for its sandbox. It points crmsync sync at the local servers.\n")
                yaml.dump(document, handle)
        os.chmod(path, 0o600)

    def save(self, path: Path) -> None:
        state = {
            "credentials": {"hubspot_token": self.credentials.hubspot_token,
                            "client_secret": self.credentials.client_secret},
            "hubspot": self.hubspot.dump(),
            "dataverse": self.dataverse.dump(),
        }
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        os.chmod(temporary, 0o600)
        temporary.replace(path)

    @staticmethod
    def saved_credentials(path: Path) -> SandboxCredentials | None:
        if not path.exists():
            return None
        state = _read_state(path)
        saved = state.get("credentials") or {}
        if not saved.get("hubspot_token") or not saved.get("client_secret"):
            return None
        return SandboxCredentials(saved["hubspot_token"], saved["client_secret"])

    def load(self, path: Path) -> None:
        state = _read_state(path)
        self.hubspot.load(state.get("hubspot") or {})
        self.dataverse.load(state.get("dataverse") or {})


def _read_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(Problem(
            f"cannot read the sandbox data file: {error}", file=path,
            fix="restore it from a backup, or delete it to start with an empty sandbox",
        )) from None


PORT_OPTIONS = {"token endpoint": "--token-port", "HubSpot": "--hubspot-port", "Dataverse": "--dataverse-port"}


def _bind(name: str, port: int, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(Problem(
                f"port {port} for the {name} sandbox is already in use",
                fix=f"stop the process that uses it, or choose another port with {PORT_OPTIONS[name]} (0 picks a free one)",
            )) from None
        raise
