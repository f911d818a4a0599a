"""The seeded step generator: user edits on both sides, faults, in-process runs and killed runs.

One `random.Random(seed)` drives every choice, so a seed replays the same steps. Subprocess
kills depend on real timing, so a replay repeats their moments only roughly.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sync.model import Kind, System
from tests.faults.ledger import Entity
from tests.faults.world import COMPANY_REF, World

WORDS = ["harbor", "birch", "quartz", "lumen", "orchid", "falcon", "copper", "meadow", "cobalt", "tundra",
         "saffron", "glacier", "juniper", "mosaic", "nimbus", "pioneer", "raven", "summit", "velvet", "willow"]
FIRST_NAMES = ["Ada", "Bram", "Cleo", "Dario", "Esme", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaia", "Luca"]
CITIES = ["Lisbon", "Oslo", "Austin", "Osaka", "Lagos", "Quito", "Perth", "Turin", None]
TITLES = ["Buyer", "CFO", "Engineer", "Analyst", "Director", None]
# HubSpot stages that map both ways (decisionmakerboughtin maps to Dynamics only).
STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "contractsent", "closedwon", "closedlost"]
# Paths of HubSpot batch writes and association writes.
HUBSPOT_WRITES = r"/batch/(create|update|upsert)$|/crm/v4/"
EDITABLE = {
    Kind.COMPANY: ["domain", "phone", "city"],
    Kind.CONTACT: ["email", "first_name", "last_name", "phone", "job_title", COMPANY_REF],
    Kind.DEAL: ["amount", "close_date", "stage", COMPANY_REF],
}


class Action(enum.StrEnum):
    CREATE = "create"
    CREATE_TWIN = "create_on_both_sides"
    CREATE_INVALID = "create_invalid"
    EDIT = "edit"
    EDIT_BOTH = "edit_same_field_both_sides"
    DELETE = "delete"
    MERGE = "merge"
    FAULT = "fault"
    RUN = "run"
    RUN_SUBPROCESS = "run_subprocess"
    DRY_RUN = "dry_run_then_run"


@dataclass(frozen=True)
class Mix:
    """Relative weights of the actions; `kill` is the chance that a subprocess run is killed."""

    weights: dict[Action, float]
    kill: float = 0.8

    @classmethod
    def ci(cls) -> Mix:
        return cls({Action.CREATE: 14, Action.CREATE_TWIN: 2, Action.CREATE_INVALID: 1, Action.EDIT: 30,
                    Action.EDIT_BOTH: 8, Action.DELETE: 1, Action.MERGE: 2, Action.FAULT: 14, Action.RUN: 18,
                    Action.RUN_SUBPROCESS: 3, Action.DRY_RUN: 3})

    @classmethod
    def long(cls) -> Mix:
        weights = dict(cls.ci().weights)
        weights[Action.RUN_SUBPROCESS] = 0.15
        return cls(weights)


class Generator:
    def __init__(self, world: World, seed: int, mix: Mix | None = None) -> None:
        self.world = world
        self.random = random.Random(seed)
        self.mix = mix or Mix.ci()
        self.log: list[str] = []
        world.race_edit = self._race_edit

    def step(self) -> str:
        actions = list(self.mix.weights)
        action = self.random.choices(actions, weights=[self.mix.weights[a] for a in actions])[0]
        detail = getattr(self, f"_{action.value}")()
        self.world.counts.steps += 1
        self.world.counts.actions[action.value] += 1
        line = f"{self.world.counts.steps}: {action.value} {detail}"
        self.log.append(line)
        return line

    # -- values -------------------------------------------------------------------------

    def value(self, kind: Kind, name: str, number: int) -> Any:
        pick = self.random.choice
        if name == "email":
            return f"{pick(FIRST_NAMES).lower()}.e{number}@{pick(WORDS)}{number}.example"
        if name == "domain":
            return f"e{number}-{pick(WORDS)}.example"
        if name == "phone":
            return pick([f"+1415555{self.random.randrange(10000):04d}", None])
        if name == "city":
            return pick(CITIES)
        if name == "first_name":
            return pick(FIRST_NAMES)
        if name == "last_name":
            return f"{pick(WORDS).title()}{number}"
        if name == "job_title":
            return pick(TITLES)
        if name == "amount":
            return round(self.random.randrange(100, 500000) / 4, 2)
        if name == "close_date":
            return date(2026, 1, 1) + timedelta(days=self.random.randrange(365))
        if name == "stage":
            return pick(STAGES)
        raise ValueError(f"no generator for {kind} field {name}")

    def initial_values(self, kind: Kind, number: int, system: System) -> dict[str, Any]:
        word = self.random.choice(WORDS)
        if kind is Kind.COMPANY:
            values = {"name": f"E{number} {word.title()} Works"}
        elif kind is Kind.CONTACT:
            values = {"email": f"{self.random.choice(FIRST_NAMES).lower()}.e{number}@{word}{number}.example"}
        else:
            values = {"name": f"E{number} {word.title()} renewal"}
        for name in EDITABLE[kind]:
            if name not in values:
                values[name] = self._company_on(system) if name == COMPANY_REF else self.value(kind, name, number)
        return values

    def _company_on(self, system: System) -> int | None:
        """Pick a live, valid company present on `system`, or None."""
        if self.random.random() < 0.3:
            return None
        companies = [entity for entity in self.world.ledger.of_kind(Kind.COMPANY)
                     if entity.deleted is None and entity.invalid is None]
        if not companies:
            return None
        company = self.random.choice(companies)
        if system not in company.ids:
            self.world.discover(system, Kind.COMPANY)
        return company.number if system in company.ids else None

    # -- actions ------------------------------------------------------------------------

    def _kind(self) -> Kind:
        return self.random.choices([Kind.COMPANY, Kind.CONTACT, Kind.DEAL], weights=[2, 5, 3])[0]

    def _create(self) -> str:
        kind, system = self._kind(), self.random.choice(list(System))
        entity = self.world.ledger.add(Entity(self.world.ledger.next_number(), kind, system))
        self.world.write_record(entity, system, self.initial_values(kind, entity.number, system), create=True)
        return f"{entity.label} in {system}"

    def _create_on_both_sides(self) -> str:
        """Create one contact on both sides with the same email: the engine must link, not duplicate."""
        entity = self.world.ledger.add(Entity(self.world.ledger.next_number(), Kind.CONTACT, System.HUBSPOT))
        first = self.initial_values(Kind.CONTACT, entity.number, System.HUBSPOT)
        second = self.initial_values(Kind.CONTACT, entity.number, System.DYNAMICS)
        second["email"] = first["email"]
        self.world.write_record(entity, System.HUBSPOT, first, create=True)
        self.world.write_record(entity, System.DYNAMICS, second, create=True)
        return f"{entity.label} on both sides"

    def _create_invalid(self) -> str:
        """Create a Dynamics contact whose email is not an address: HubSpot cannot take it."""
        entity = self.world.ledger.add(Entity(self.world.ledger.next_number(), Kind.CONTACT, System.DYNAMICS))
        values = self.initial_values(Kind.CONTACT, entity.number, System.DYNAMICS)
        values["email"] = f"e{entity.number} at nowhere"
        entity.invalid = "email is not an address"
        self.world.write_record(entity, System.DYNAMICS, values, create=True)
        return entity.label

    def _live(self, system: System | None = None) -> list[tuple[Entity, list[System]]]:
        found = []
        for entity in self.world.ledger.entities.values():
            if entity.deleted is not None or entity.invalid is not None or entity.merged_into is not None:
                continue
            sides = [side for side in System if side in entity.ids and (system is None or side is system)]
            if sides:
                found.append((entity, sides))
        return found

    def _edit(self) -> str:
        live = self._live()
        if not live:
            return self._create()
        entity, sides = self.random.choice(live)
        system = self.random.choice(sides)
        name = self.random.choice(EDITABLE[entity.kind])
        if name == "email" and not self._may_change_email(entity):
            return f"{entity.label}: email left alone while its records are not linked"
        if name == COMPANY_REF:
            # A HubSpot record keeps its old association when another is added, so company
            # changes are made in Dynamics, where the lookup has one value.
            if System.DYNAMICS not in sides:
                return f"{entity.label}: no Dynamics record to move to another company"
            system = System.DYNAMICS
            value = self._company_on(system)
        else:
            value = self.value(entity.kind, name, entity.number)
        self.world.write_record(entity, system, {name: value}, create=False)
        return f"{entity.label} {name}={value!r} in {system}"

    def _edit_same_field_both_sides(self) -> str:
        # Ids of records the engine created are learned after each in-process run.
        both = [entity for entity, sides in self._live() if len(sides) == 2]
        if not both:
            return self._edit()
        entity = self.random.choice(both)
        name = self.random.choice([name for name in EDITABLE[entity.kind] if name != COMPANY_REF])
        if name == "email" and not self._may_change_email(entity):
            name = "phone"
        order = self.random.sample(list(System), 2)
        values = []
        for system in order:
            value = self.value(entity.kind, name, entity.number)
            values.append(f"{value!r} in {system}")
            self.world.write_record(entity, system, {name: value}, create=False)
        return f"{entity.label} {name}: " + " then ".join(values)

    def _may_change_email(self, entity: Entity) -> bool:
        """Say whether an email edit keeps the entity one person for the engine.

        Two records not yet linked are the same person only through their email, so giving
        them different emails would make them two people, and their copies would be right.
        """
        if len(entity.ids) < 2:
            return True
        return self.world.store.link_for(System.HUBSPOT, entity.kind, entity.ids[System.HUBSPOT]) is not None

    def _delete(self) -> str:
        # Only contacts and deals: the references of a deleted company are out of scope here.
        live = [(entity, sides) for entity, sides in self._live() if entity.kind is not Kind.COMPANY]
        if not live:
            return "nothing to delete"
        entity, sides = self.random.choice(live)
        system = self.random.choice(sides)
        self.world.delete_record(entity, system)
        return f"{entity.label} in {system}"

    def _merge(self) -> str:
        """Merge two linked contacts on one side, as a person cleaning duplicates would.

        Only contacts without a company: a HubSpot merge keeps the associations of both, so
        the survivor could end with two companies, which one Dataverse lookup cannot hold.
        """
        linked = [entity for entity, sides in self._live() if entity.kind is Kind.CONTACT and len(sides) == 2
                  and self.world.store.link_for(System.HUBSPOT, Kind.CONTACT, entity.ids[System.HUBSPOT]) is not None
                  and not self.world.sandbox.hubspot.associations("contacts", entity.ids[System.HUBSPOT], "companies")]
        if len(linked) < 2:
            return "fewer than two linked contacts without a company"
        primary, absorbed = self.random.sample(linked, 2)
        system = self.random.choice(list(System))
        self.world.merge_contacts(primary, absorbed, system)
        return f"{absorbed.label} into {primary.label} in {system}"

    def _fault(self) -> str:
        sandbox = self.world.sandbox
        kind = self.random.choice(["hubspot_429", "hubspot_5xx", "hubspot_drop", "dynamics_429", "dynamics_5xx",
                                   "dynamics_drop", "dynamics_operation", "etag_race", "outage"])
        self.world.counts.faults[kind] += 1
        times = self.random.randint(1, 3)
        # Half of the HubSpot faults hit writes only: reads come first in a run and would take them all.
        hubspot_path = self.random.choice([r"/crm/v3/objects/", HUBSPOT_WRITES])
        if kind == "hubspot_429":
            sandbox.hubspot.inject(hubspot_path, 429, times, retry_after=self.random.choice([0, 1, 2]))
        elif kind == "hubspot_5xx":
            sandbox.hubspot.inject(hubspot_path, self.random.choice([500, 502, 503]), times)
        elif kind == "hubspot_drop":
            sandbox.hubspot.inject(HUBSPOT_WRITES, -1, 1)
        elif kind == "dynamics_429":
            sandbox.dataverse.inject(r"/\$batch|/(contacts|accounts|opportunities)$", 429, times,
                                     retry_after=self.random.choice([0, 1, 5]))
        elif kind == "dynamics_5xx":
            sandbox.dataverse.inject(r"/\$batch", self.random.choice([500, 503]), times)
        elif kind == "dynamics_drop":
            sandbox.dataverse.inject(r"/\$batch", -1, 1)
        elif kind == "dynamics_operation":
            # Fails one operation inside a $batch change set: a partial batch failure.
            sandbox.dataverse.inject(r"/(contacts|accounts|opportunities)\(", self.random.choice([400, 500]), 1)
        elif kind == "etag_race":
            self.world.racer.armed = True
        else:
            # More failures than the connectors retry: the run stops part-way.
            target = self.random.choice(["hubspot", "dataverse"])
            if target == "hubspot":
                sandbox.hubspot.inject(HUBSPOT_WRITES, 503, 12)
            else:
                sandbox.dataverse.inject(r"/\$batch", 503, 12)
        return kind

    def _run(self) -> str:
        result = self.world.run()
        if result is None:
            return "stopped on an error"
        return f"wrote {sum(sum(a.created.values()) + sum(a.updated.values()) for a in result.applied.values())}"

    def _dry_run_then_run(self) -> str:
        result = self.world.predict()
        return "stopped on an error" if result is None else f"planned {result.plan.write_count} write(s)"

    def _run_subprocess(self) -> str:
        if self.random.random() >= self.mix.kill:
            outcome = self.world.run_subprocess(rate_limited=self.random.random() < 0.5)
            return f"ran to the end, exit {outcome.returncode}"
        if self.random.random() < 0.6:
            writes = self.random.randint(1, 4)
            outcome = self.world.run_subprocess(kill_after_writes=writes)
            return f"kill after {writes} write request(s): killed={outcome.killed}"
        seconds = round(self.random.uniform(0.3, 3.0), 2)
        outcome = self.world.run_subprocess(kill_after_seconds=seconds)
        return f"kill after {seconds}s: killed={outcome.killed}"

    def _race_edit(self, entity: Entity) -> None:
        name = self.random.choice([name for name in EDITABLE[entity.kind] if name not in (COMPANY_REF, "email")])
        self.world.write_record(entity, System.DYNAMICS, {name: self.value(entity.kind, name, entity.number)},
                                create=False)
