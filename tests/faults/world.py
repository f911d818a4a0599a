"""A sandbox world for fault-injection runs: a virtual clock, the engine, faults and kills.

Everything in-process runs on one virtual clock: the sandbox's record times, the engine,
the state store and the connectors' wall clocks. It starts at the real time and only moves
forward, so record times order edits exactly and retry back-off passes without waiting. Retries inside the connectors call a fake sleep that only counts.

`crmsync sync` subprocesses use the real clock. The virtual clock stays ahead of it, which
makes their incremental reads read more than needed, never less.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from sync.connectors.base import Connector, WriteOp, WriteRequest, WriteResult
from sync.connectors.dynamics import DynamicsConnector
from sync.connectors.dynamics.client import WebApiClient
from sync.connectors.hubspot import HubSpotConnector
from sync.engine.run import RunMode, RunResult, SyncEngine
from sync.errors import CrmsyncError
from sync.model import DATAVERSE_ENTITY_SETS, HUBSPOT_OBJECTS, Kind, System
from sync.runtime import load_checked_mapping
from sync.sandbox.dataverse_merge import merge
from sync.sandbox.server import Sandbox
from sync.settings import load_settings
from sync.state import StateStore
from tests.faults.ledger import Entity, Ledger, token_of

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "mappings" / "default.yaml"
# HubSpot association types the generator uses for a record's company (primary ones).
COMPANY_ASSOCIATION = {Kind.CONTACT: 1, Kind.DEAL: 5}
# Dataverse lookups that hold a record's company.
COMPANY_LOOKUP = {Kind.CONTACT: "parentcustomerid_account@odata.bind", Kind.DEAL: "customerid_account@odata.bind"}
# HubSpot properties that carry an entity's token.
HUBSPOT_KEYS = {Kind.CONTACT: "email", Kind.COMPANY: "name", Kind.DEAL: "dealname"}
# Field names of the company reference in canonical values and in the ledger.
COMPANY_REF = "ref:company"
# Longer than the engine's longest retry back-off (6 hours), so every queued record is due.
QUIET_JUMP = timedelta(hours=7)


class VirtualClock:
    """An aware UTC clock that moves only when `advance` is called, in whole seconds."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = (start or datetime.now(UTC)).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeWaits:
    """A sleep that returns at once and a monotonic clock that the sleeps move forward."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self._monotonic = 0.0

    def sleep(self, seconds: float) -> None:
        self.total += max(seconds, 0.0)
        self.count += 1
        self._monotonic += max(seconds, 0.0)

    def monotonic(self) -> float:
        self._monotonic += 0.001
        return self._monotonic


@dataclass
class Counts:
    """What a fault-injection run did, for its summary line."""

    steps: int = 0
    runs: int = 0
    failed_runs: int = 0
    subprocess_runs: int = 0
    kills: int = 0
    # Create intents left open by killed runs: kills that landed between a create and its commit.
    interrupted_creates: int = 0
    races: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    conflicts: int = 0
    archived: int = 0
    # Dry runs whose plan differed from the real run that followed with the same input.
    mispredictions: list[str] = field(default_factory=list)
    # Subprocess runs that ended on their own with an unexpected exit code or a traceback.
    crashes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        faults = ", ".join(f"{name} {n}" for name, n in sorted(self.faults.items())) or "none"
        actions = ", ".join(f"{name} {n}" for name, n in sorted(self.actions.items()))
        return (f"steps {self.steps}; actions: {actions}; faults: {faults}; in-process runs {self.runs} "
                f"({self.failed_runs} failed); subprocess runs {self.subprocess_runs} ({self.kills} killed, {self.interrupted_creates} open create "
                f"intents left by kills); "
                f"etag races {self.races}; conflicts decided {self.conflicts}; partners archived {self.archived}; "
                f"dry runs that mispredicted {len(self.mispredictions)}")


@dataclass(frozen=True)
class SubprocessOutcome:
    killed: bool
    returncode: int
    stderr: str


class RacingConnector:
    """A Dataverse connector that, when armed, edits a row between the engine's read and write.

    The edit changes the row's etag, so the engine's write of that row gets 412 and must
    re-read the pair instead of overwriting the newer value.
    """

    def __init__(self, inner: Connector, world: World) -> None:
        self.inner = inner
        self.world = world
        self.armed = False
        # Entities edited during the current run; the engine re-reads them before it writes.
        self.raced: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, kind: Kind, requests: list[WriteRequest]) -> list[WriteResult]:
        updates = [request for request in requests if request.op is WriteOp.UPDATE and request.etag]
        if self.armed and updates:
            self.armed = False
            entity = self.world.entity_for(System.DYNAMICS, kind, updates[0].record_id or "")
            if entity is not None and entity.deleted is None:
                self.world.counts.races += 1
                self.raced.add(entity.number)
                self.world.race_edit(entity)
        return self.inner.write(kind, requests)


class World:
    """The sandbox, the state store, the engine and the ledger of one fault-injection run."""

    def __init__(self, folder: Path, *, batch_size: int = 5, on_delete: str | None = None) -> None:
        self.folder = folder
        self.mapping_path = self._mapping_with(on_delete) if on_delete else MAPPING
        self.clock = VirtualClock()
        self.sandbox = Sandbox(folder / "sandbox", clock=self.clock, hubspot_rate_limits=False).start()
        self.settings_path = folder / "crmsync.yaml"
        self._write_settings(batch_size)
        self.settings = load_settings(self.settings_path)
        self.mapping = load_checked_mapping(self.settings)
        self.store = StateStore(self.settings.state.url, clock=self.clock)
        self.waits = FakeWaits()
        self.ledger = Ledger()
        self.counts = Counts()
        self._ids: dict[tuple[System, Kind, str], int] = {}
        self.racer = RacingConnector(self._dynamics_connector(), self)
        connectors = {System.HUBSPOT: self.hubspot_connector(), System.DYNAMICS: self.racer}
        self.engine = SyncEngine(self.mapping, connectors, self.store, batch_size=batch_size, clock=self.clock)

    def close(self) -> None:
        self.store.close()
        self.sandbox.stop()

    # -- set-up -----------------------------------------------------------------------

    def _mapping_with(self, on_delete: str) -> Path:
        """Write a copy of the shipped mapping with `on_delete` set on every object, for the
        in-process engine and the subprocess runs alike."""
        yaml = YAML()
        document = yaml.load(MAPPING.read_text(encoding="utf-8"))
        for spec in document["objects"].values():
            spec["on_delete"] = on_delete
        path = self.folder / "mapping.yaml"
        self.folder.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            yaml.dump(document, handle)
        return path

    def _write_settings(self, batch_size: int) -> None:
        document = self.sandbox.settings_document(f"sqlite:///{self.folder / 'state.sqlite'}", self.mapping_path,
                                                  self.folder / "reports")
        document["sync"]["batch_size"] = batch_size
        document["dynamics"]["batch_size"] = batch_size
        document["log"] = {"level": "WARNING"}
        yaml = YAML()
        with self.settings_path.open("w", encoding="utf-8") as handle:
            yaml.dump(document, handle)

    def hubspot_connector(self) -> HubSpotConnector:
        properties = {kind: pair.hubspot_properties() for kind, pair in self.mapping.pairs.items()}
        properties[Kind.CONTACT] = [*properties[Kind.CONTACT], "hs_additional_emails"]
        return HubSpotConnector(self.settings.hubspot, properties, clock=self.waits.monotonic,
                                sleep=self.waits.sleep, wall_clock=self.clock)

    def _dynamics_connector(self) -> DynamicsConnector:
        columns = {kind: pair.dynamics_columns() for kind, pair in self.mapping.pairs.items()}
        client = WebApiClient(self.settings.dynamics, sleep=self.waits.sleep)
        return DynamicsConnector(self.settings.dynamics, columns, clock=self.clock, client=client)

    def dynamics_connector(self) -> DynamicsConnector:
        return self.racer.inner

    # -- ids --------------------------------------------------------------------------

    def learn(self, entity: Entity, system: System, record_id: str) -> None:
        entity.ids[system] = record_id
        self._ids[(system, entity.kind, record_id)] = entity.number

    def entity_for(self, system: System, kind: Kind, record_id: str) -> Entity | None:
        """Return the entity of a record, scanning the sandbox once if the id is new."""
        number = self._ids.get((system, kind, record_id))
        if number is None:
            self.discover(system, kind)
            number = self._ids.get((system, kind, record_id))
        return None if number is None else self.ledger.entities.get(number)

    def discover(self, system: System, kind: Kind) -> None:
        """Learn the ids of records that the engine created, by the token in their key field."""
        for record_id, key in self.keys(system, kind):
            number = token_of(key)
            entity = self.ledger.entities.get(number) if number is not None else None
            if entity is not None and entity.kind is kind and system not in entity.ids:
                self.learn(entity, system, record_id)

    def keys(self, system: System, kind: Kind) -> list[tuple[str, str | None]]:
        """Return (id, key value) of every live record of a kind on one side."""
        if system is System.HUBSPOT:
            key = HUBSPOT_KEYS[kind]
            return [(r["id"], r["properties"].get(key)) for r in self.sandbox.hubspot.records(HUBSPOT_OBJECTS[kind])]
        key = "emailaddress1" if kind is Kind.CONTACT else "name"
        table = DATAVERSE_ENTITY_SETS[kind]
        id_column = {Kind.CONTACT: "contactid", Kind.COMPANY: "accountid", Kind.DEAL: "opportunityid"}[kind]
        return [(row[id_column], row.get(key)) for row in self.sandbox.dataverse.rows(table)]

    # -- writes by "users" --------------------------------------------------------------

    def write_record(self, entity: Entity, system: System, values: dict[str, Any], *, create: bool) -> None:
        """Create or edit the entity's record on one side with canonical values, and ledger it."""
        self.clock.advance(1)
        pair = self.mapping.pairs[entity.kind]
        plain = {name: value for name, value in values.items() if name != COMPANY_REF}
        raw = pair.from_canonical(system, plain) if plain else {}
        company = values.get(COMPANY_REF)
        if system is System.HUBSPOT:
            self._write_hubspot(entity, raw, company, create)
        else:
            self._write_dynamics(entity, raw, company, create, clear_company=COMPANY_REF in values)
        self.ledger.record_edit(entity, system, values)
        if create:
            self.ledger.created.setdefault(entity.number, set()).add(system)

    def _write_hubspot(self, entity: Entity, raw: dict[str, Any], company: int | None, create: bool) -> None:
        object_type = HUBSPOT_OBJECTS[entity.kind]
        if create:
            if entity.kind is Kind.DEAL:
                raw["pipeline"] = "default"
            self.learn(entity, System.HUBSPOT, self.sandbox.hubspot.add_record(object_type, raw))
        else:
            self.sandbox.hubspot.update_record(object_type, entity.ids[System.HUBSPOT], raw)
        if company is not None:
            company_id = self.ledger.entities[company].ids[System.HUBSPOT]
            self.sandbox.hubspot.associate(object_type, entity.ids[System.HUBSPOT], "companies", company_id,
                                           COMPANY_ASSOCIATION[entity.kind])

    def _write_dynamics(self, entity: Entity, raw: dict[str, Any], company: int | None, create: bool, *,
                        clear_company: bool) -> None:
        table = DATAVERSE_ENTITY_SETS[entity.kind]
        if company is not None:
            raw[COMPANY_LOOKUP[entity.kind]] = f"/accounts({self.ledger.entities[company].ids[System.DYNAMICS]})"
        elif clear_company and not create:
            raw[COMPANY_LOOKUP[entity.kind]] = None
        if create:
            self.learn(entity, System.DYNAMICS, self.sandbox.dataverse.add_row(table, raw))
        else:
            self.sandbox.dataverse.update_row(table, entity.ids[System.DYNAMICS], raw)

    def delete_record(self, entity: Entity, system: System) -> None:
        self.clock.advance(1)
        entity.linked_when_deleted = self.store.link_for(system, entity.kind, entity.ids[system]) is not None
        if system is System.HUBSPOT:
            self.sandbox.hubspot.archive_record(HUBSPOT_OBJECTS[entity.kind], entity.ids[system])
        else:
            self.sandbox.dataverse.delete_row(DATAVERSE_ENTITY_SETS[entity.kind], entity.ids[system])
        entity.deleted = system

    def merge_contacts(self, primary: Entity, absorbed: Entity, system: System) -> None:
        """Merge `absorbed`'s contact into `primary`'s on one side, as a user would there."""
        self.clock.advance(1)
        if system is System.HUBSPOT:
            survivor = self.sandbox.hubspot.merge("contacts", primary.ids[system], absorbed.ids[system])
            self.learn(primary, system, survivor.id)
        else:
            reference = "Microsoft.Dynamics.CRM.contact"
            merge(self.sandbox.dataverse.store, {
                "Target": {"@odata.type": reference, "contactid": primary.ids[system]},
                "Subordinate": {"@odata.type": reference, "contactid": absorbed.ids[system]},
                "UpdateContent": {"@odata.type": reference},
                "PerformParentingChecks": False,
            })
        absorbed.merged_into, absorbed.merged_on = primary.number, system
        self.ledger.forget_values(primary)

    # Set by the step generator: edits a row during a run (see RacingConnector).
    race_edit: Any = None

    # -- faults -----------------------------------------------------------------------

    def clear_faults(self, *, race: bool = False) -> None:
        """Drop injected faults that no request used, so they cannot leak into the next phase.

        An armed etag race waits for the first run that updates a Dataverse row, unless `race`.
        """
        with self.sandbox.dataverse._faults_lock:
            self.sandbox.dataverse.faults.clear()
        gate = self.sandbox.hubspot.gate
        with gate._lock:
            gate.faults.clear()
        if race:
            self.racer.armed = False

    # -- runs -------------------------------------------------------------------------

    def run(self, mode: RunMode = RunMode.SYNC, *, advance: bool = True) -> RunResult | None:
        """Run once in-process; return None when the run stopped on an error."""
        if advance:
            self.clock.advance(1)
        started = self.ledger.tick()
        newer = self._newer_sides()
        self.racer.raced.clear()
        self.counts.runs += 1
        try:
            result = self.engine.run(mode)
        except CrmsyncError:
            self.counts.failed_runs += 1
            self.ledger.mark_uncertain()
            return None
        finally:
            self.clear_faults()
        if mode is RunMode.DRY_RUN:
            return result
        self._settle(result, started, newer)
        for kind, applied in result.applied.items():
            for system in System:
                if applied.created[system]:
                    self.discover(system, kind)
        return result

    def _newer_sides(self) -> dict[int, dict[str, System]]:
        """Return, per contested entity and field, the side latest_wins will pick.

        HubSpot's time is the latest history entry of the field's properties, as the engine
        reads it for conflicts, or the record's modified time; Dataverse's is the row's
        modifiedon. Ties go to HubSpot, and both sides stamp whole seconds of the virtual clock.
        """
        newer: dict[int, dict[str, System]] = {}
        for number in self.ledger.contested():
            entity = self.ledger.entities[number]
            if entity.deleted is not None or len(entity.ids) < 2:
                continue
            hubspot = self.sandbox.hubspot.objects[HUBSPOT_OBJECTS[entity.kind]].get(entity.ids[System.HUBSPOT])
            row = self.sandbox.dataverse.store.get(DATAVERSE_ENTITY_SETS[entity.kind], entity.ids[System.DYNAMICS])
            if hubspot is None or row is None:
                continue
            dynamics_time = datetime.fromisoformat(row["modifiedon"].replace("Z", "+00:00"))
            pair = self.mapping.pairs[entity.kind]
            sides = {}
            for name in self.ledger.fields.get(number, {}):
                rule = pair.field_named(name)
                properties = rule.names_in(System.HUBSPOT) if rule is not None else ()
                times = [entries[-1].timestamp for entries in (hubspot.history.get(p) for p in properties) if entries]
                hubspot_time = max(times) if times else hubspot.updated_at
                sides[name] = System.DYNAMICS if dynamics_time > hubspot_time else System.HUBSPOT
            newer[number] = sides
        return newer

    def _settle(self, result: RunResult, started: int, newer: dict[int, dict[str, System]]) -> None:
        failed = set()
        for error in result.errors:
            if error.system in set(System) and error.kind in set(Kind) and error.record_id:
                entity = self.entity_for(System(error.system), Kind(error.kind), error.record_id)
                if entity is not None:
                    failed.add(entity.number)
        self.ledger.mark_uncertain(failed)
        for kind, plan in result.plan.kinds.items():
            self.counts.conflicts += plan.conflict_count
            applied = result.applied.get(kind)
            if applied is None:
                continue
            self.counts.archived += sum(applied.archived.values())
            for system, record_id in applied.done:
                entity = self.entity_for(system, kind, record_id)
                if entity is not None and entity.number not in failed | self.racer.raced:
                    self.ledger.settle(entity, started, newer.get(entity.number))
        self._settle_raced(failed)

    def _settle_raced(self, failed: set[int]) -> None:
        """Settle the pairs that an etag race sent back to planning.

        The engine re-reads and re-plans them in the same run, so they synced with the race
        edit, the newest change, unless they failed or were queued as still stale. Their
        writes are missing from `ApplyResult.done`, which the re-plan does not extend.
        """
        queued = {row.record_id for row in self.store.record_errors(System.DYNAMICS)}
        for number in self.racer.raced - failed:
            entity = self.ledger.entities[number]
            if entity.ids.get(System.DYNAMICS) in queued:
                self.ledger.mark_uncertain({number})
            else:
                self.ledger.settle(entity, None, System.DYNAMICS)

    def predict(self) -> RunResult | None:
        """Run a dry run, then a real run on the same input, and note any difference in their plans.

        The clock does not move between the two, so that the same retry-queue records are due.
        """
        self.clear_faults()
        self.clock.advance(1)
        dry = self.run(RunMode.DRY_RUN, advance=False)
        real = self.run(advance=False)
        if dry is None or real is None:
            return real
        for kind, plan in dry.plan.kinds.items():
            predicted, actual = _plan_counts(plan), _plan_counts(real.plan.kinds[kind])
            if predicted != actual:
                self.counts.mispredictions.append(f"{kind}: dry run {predicted}, real run {actual}")
        return real

    def run_subprocess(self, *, kill_after_writes: int | None = None, kill_after_seconds: float | None = None,
                       rate_limited: bool = False, timeout: float = 120.0) -> SubprocessOutcome:
        """Run `crmsync sync` in a child process, and SIGKILL it after some writes or some time.

        `rate_limited` makes the sandbox reject its first HubSpot write and first Dataverse batch with 429 and
        Retry-After 1, which the child waits out in real time.
        """
        self.clear_faults()
        if rate_limited:
            self.sandbox.hubspot.inject(r"/batch/(create|update|upsert)$", 429, 1, retry_after=1)
            self.sandbox.dataverse.inject(r"/\$batch", 429, 1, retry_after=1)
            self.counts.faults["subprocess_429"] += 1
        self.clock.advance(1)
        self.counts.subprocess_runs += 1
        baseline = self.sandbox.write_requests()
        command = [sys.executable, "-m", "sync.cli", "--config", str(self.settings_path), "sync"]
        environment = {key: value for key, value in os.environ.items() if not key.startswith("CRMSYNC_")}
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        killed = False
        while process.poll() is None and time.monotonic() < deadline:
            if kill_after_writes is not None and self.sandbox.write_requests() - baseline >= kill_after_writes:
                break
            if kill_after_seconds is not None and time.monotonic() >= deadline - timeout + kill_after_seconds:
                break
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed = True
            self.counts.kills += 1
        _, stderr = process.communicate()
        self.clear_faults()
        self.ledger.mark_uncertain()
        if killed:
            self.counts.interrupted_creates += sum(len(self.store.intents(kind, system)) for kind in Kind for system in System)
        if not killed and (process.returncode not in (0, 1) or "Traceback" in stderr):
            self.counts.crashes.append(f"exit {process.returncode}: {stderr.strip()[-2000:]}")
        return SubprocessOutcome(killed, process.returncode, stderr)

    def settle_down(self, max_runs: int = 4) -> list[int]:
        """Jump past every back-off, then run until a run plans and sends no write.

        Returns the write requests each run sent; the last is 0 unless `max_runs` ran out.
        """
        self.clear_faults(race=True)
        self.clock.advance(QUIET_JUMP.total_seconds())
        writes = []
        for _ in range(max_runs):
            before = self.sandbox.write_requests()
            result = self.run()
            writes.append(self.sandbox.write_requests() - before)
            if result is not None and result.plan.write_count == 0 and writes[-1] == 0:
                break
        return writes


def _plan_counts(plan: Any) -> dict[str, int]:
    """Return the counts of a kind's plan that a dry run must predict: creates and updates."""
    return {name: count for name, count in plan.counts().items() if name.startswith(("create_", "update_"))}
