"""Workflows behind the commands that chain several stages: the demo, the sandbox server
and the KPI report.
"""

from __future__ import annotations

import json
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import structlog

from sync.engine.reconciled import reconciled_deals
from sync.engine.run import RunMode, RunResult
from sync.errors import ConfigError, Problem
from sync.connectors.hubspot import HubSpotConnector
from sync.kpis import (
    KpiReport,
    KpiSettings,
    Outcome,
    RecordCounts,
    compute_kpis,
    facts_from_canonical,
    hubspot_stage_properties,
    StageEvent,
    load_kpi_settings,
    merge_stage_events,
    read_hubspot_stage_events,
)
from sync.model import Kind
from sync.reports.html import render_kpi_dashboard
from sync.reports.kpis import render_table, to_json, write_csv
from sync.reports.reconciliation import ReportPaths, summary_lines, write_report
from sync.runtime import Runtime, open_runtime
from sync.sandbox.seed import SeedReport, seed_bundled, seed_from_directory
from sync.sandbox.seed_spec_run import serving
from sync.sandbox.server import Sandbox, SandboxPorts
from sync.settings import load_settings

log = structlog.get_logger(__name__)
Echo = Callable[[str], None]


def default_mapping_path() -> Path:
    """The shipped mapping: mappings/default.yaml of the source tree, else of the working folder."""
    candidates = [Path(__file__).resolve().parents[1] / "mappings" / "default.yaml", Path("mappings/default.yaml")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(Problem(
        "mappings/default.yaml not found", fix="run crmsync from a checkout of the repository, installed with pip install -e .",
    ))


# -- KPIs ---------------------------------------------------------------------------------


@dataclass
class KpiOutcome:
    report: KpiReport
    table: str
    json_path: Path
    csv_path: Path
    html_path: Path | None
    problems: list[str]


def compute_and_write_kpis(runtime: Runtime, output: Path, kpi_config: Path | None,
                           as_of: date | None, year: int | None, *, html: bool = False,
                           duplicates: int = 0, unmatched: int = 0, as_of_latest: bool = False) -> KpiOutcome:
    """Compute the KPIs from the reconciled deals; write kpis.json, kpis.csv and, with
    `html`, the kpis.html dashboard. `duplicates` and `unmatched` are record counts from
    the last reconciliation, for the data-quality section. `as_of_latest` puts the as-of
    date at the latest close date of the data when none is given, so that a demo on old
    data is measured as of its own time."""
    settings = load_kpi_settings(kpi_config) if kpi_config else KpiSettings()
    overrides = {key: value for key, value in (("as_of", as_of), ("year", year)) if value is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)

    deals = reconciled_deals(runtime.mapping, runtime.connectors, runtime.store)
    stages = runtime.hubspot.deal_stages()
    outcomes = _stage_outcomes(stages)
    if as_of_latest and settings.as_of is None:
        latest = _latest_close_date(deals.values, settings, outcomes)
        if latest is not None:
            settings = settings.model_copy(update={"as_of": latest})
    facts, problems = facts_from_canonical(deals.values, settings, outcomes)
    events, event_problems = _hubspot_stage_events(runtime, [stage.stage_id for stage in stages], settings)
    observed = [StageEvent(key, stage, moment) for key, stage, moment in runtime.store.stage_events()]
    events = merge_stage_events(events, observed, settings.zone)
    report = compute_kpis(
        facts, settings, stage_outcomes=outcomes, stage_events=events or None,
        stage_probabilities={stage.stage_id: stage.probability for stage in stages},
        record_counts=RecordCounts(suspected_duplicates=duplicates, unmatched=unmatched),
    )

    output.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = output / "kpis.json", output / "kpis.csv"
    document = to_json(report)
    document["population"] = {"deals": len(deals.values), "linked_pairs": deals.linked,
                              "hubspot_only": deals.hubspot_only, "dynamics_only": deals.dynamics_only}
    json_path.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    write_csv(report, csv_path)
    html_path = None
    if html:
        html_path = output / "kpis.html"
        html_path.write_text(render_kpi_dashboard(report), encoding="utf-8")
    table = render_table(report) + _population_line(deals)
    return KpiOutcome(report, table, json_path, csv_path, html_path, problems + event_problems + deals.invalid)


def _hubspot_stage_events(runtime: Runtime, stage_ids: list[str], settings: KpiSettings):
    """Stage entries from HubSpot's hs_date_entered_<stage> properties, keyed by deal id."""
    properties = hubspot_stage_properties(stage_ids)
    reader = HubSpotConnector(runtime.settings.hubspot, {Kind.DEAL: properties})
    records = reader.read(Kind.DEAL, None).records
    return read_hubspot_stage_events(((record.id, record.values) for record in records), stage_ids, settings.zone)


def _latest_close_date(values: list[dict], settings: KpiSettings, outcomes: dict[str, Outcome]) -> date | None:
    """The latest close date of a won or lost deal."""
    days = []
    for deal in values:
        if outcomes.get(str(deal.get(settings.stage_field))) not in (Outcome.WON, Outcome.LOST):
            continue
        text = deal.get(settings.close_date_field)
        try:
            days.append(date.fromisoformat(str(text)[:10]))
        except ValueError:
            continue
    return max(days, default=None)


def _stage_outcomes(stages) -> dict[str, Outcome]:
    """Won, lost or open per HubSpot stage id, from the pipeline API's stage metadata."""
    outcomes = {}
    for stage in stages:
        if not stage.closed:
            outcomes[stage.stage_id] = Outcome.OPEN
        else:
            outcomes[stage.stage_id] = Outcome.WON if stage.won else Outcome.LOST
    return outcomes


def _population_line(deals) -> str:
    return (f"\nPopulation: {len(deals.values)} deals counted once each "
            f"({deals.linked} in both CRMs, {deals.hubspot_only} in HubSpot only, {deals.dynamics_only} in Dynamics only).")


# -- sandbox server -----------------------------------------------------------------------


# How often `sandbox serve` saves its data while it runs.
SAVE_INTERVAL_SECONDS = 60.0


def serve_sandbox(workdir: Path, ports: tuple[int, int, int], seed: str, data: Path | None,
                  settings_out: Path, echo: Echo) -> None:
    """Serve the sandbox until a signal; load and save its data in `workdir/sandbox.json`."""
    data_file = workdir / "sandbox.json"
    credentials = Sandbox.saved_credentials(data_file)
    sandbox = Sandbox(workdir, ports=SandboxPorts(*ports), credentials=credentials)
    if data_file.exists():
        sandbox.load(data_file)
        echo(f"Loaded the sandbox data from {data_file}")
    elif data is not None:
        _print_seed(seed_from_directory(sandbox.hubspot, sandbox.dataverse, data), echo)
    elif seed == "bundled":
        _print_seed(seed_bundled(sandbox.hubspot, sandbox.dataverse), echo)

    mapping = default_mapping_path()
    kept = settings_out.exists()
    sandbox.write_settings(settings_out, f"sqlite:///{(workdir / 'crmsync.sqlite').resolve()}", mapping.resolve(),
                           (workdir / "reports").resolve(), keep_existing=True)
    stopped = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    with serving(workdir), sandbox:
        echo(f"HubSpot sandbox:   {sandbox.hubspot_server.url}")
        echo(f"Dataverse sandbox: {sandbox.dataverse_server.url}")
        echo(f"Token endpoint:    {sandbox.token.url}")
        if kept:
            echo(f"Connection settings updated in {settings_out}, its other settings kept; "
                 f"run: crmsync --config {settings_out} sync")
        else:
            echo(f"Settings written to {settings_out}; run: crmsync --config {settings_out} sync")
        # Saved now and then too, so that a killed sandbox loses at most the last minute.
        next_save = time.monotonic() + SAVE_INTERVAL_SECONDS
        while not stopped.wait(0.5):
            if time.monotonic() >= next_save:
                sandbox.save(data_file)
                next_save = time.monotonic() + SAVE_INTERVAL_SECONDS
        sandbox.save(data_file)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    echo(f"Saved the sandbox data to {data_file}")


def _print_seed(report: SeedReport, echo: Echo) -> None:
    echo("Seeded the sandbox:")
    for line in report.lines():
        echo(f"  {line}")


# -- demo ---------------------------------------------------------------------------------


def run_demo(output: Path, data: Path | None, as_of: date | None, echo: Echo) -> None:
    """Seed a fresh in-process sandbox, dry-run, sync twice, and report the KPIs."""
    if data is not None and not data.is_dir():
        raise ConfigError(Problem("the --data folder does not exist", file=data, fix="pass the folder of the CSV exports"))
    mapping = default_mapping_path()
    _fresh_folder(output)
    with Sandbox(output / "sandbox") as sandbox:
        seed = seed_from_directory(sandbox.hubspot, sandbox.dataverse, data) if data else seed_bundled(sandbox.hubspot, sandbox.dataverse)
        _print_seed(seed, echo)
        settings_path = output / "crmsync.yaml"
        sandbox.write_settings(settings_path, f"sqlite:///{(output / 'crmsync.sqlite').resolve()}",
                               mapping.resolve(), (output / "reports").resolve())
        runtime = open_runtime(load_settings(settings_path))
        try:
            dry_run = _demo_runs(runtime, sandbox, output / "reports", echo)
            counts = dry_run.plan.counts()
            kpis = compute_and_write_kpis(
                runtime, output / "reports", None, as_of, None, html=True, as_of_latest=True,
                duplicates=sum(kind["suspected_duplicates"] for kind in counts.values()),
                unmatched=sum(kind["unmatched"] + kind["possible_matches"] for kind in counts.values()),
            )
        finally:
            runtime.close()
    echo("")
    echo(kpis.table)
    echo("")
    echo(f"Reports are in {output / 'reports'}:")
    echo(f"  reconciliation (dry run): {output / 'reports' / 'dry-run-report.html'} (also .md and .json)")
    echo(f"  KPI dashboard:            {kpis.html_path} (also kpis.json and kpis.csv)")
    echo(f"Settings used: {settings_path}")


def _demo_runs(runtime: Runtime, sandbox: Sandbox, reports: Path, echo: Echo) -> RunResult:
    dry = runtime.engine.run(RunMode.DRY_RUN)
    _echo_run("Dry run (nothing written)", dry, write_report(dry, reports), echo)

    first = runtime.engine.run(RunMode.SYNC)
    _echo_run("First sync", first, write_report(first, reports), echo)

    before = sandbox.snapshot()
    sandbox.reset_counts()
    second = runtime.engine.run(RunMode.SYNC)
    requests = sum(sandbox.request_counts().values())
    changed = "unchanged" if sandbox.snapshot() == before else "changed"
    echo(f"Second sync {second.run_id}: {second.plan.write_count} writes planned, {requests} requests of which "
         f"{sandbox.write_requests()} writes; the data in both CRMs is {changed}.")
    return dry


def _echo_run(title: str, result: RunResult, paths: ReportPaths, echo: Echo) -> None:
    echo(f"{title} {result.run_id}:")
    for line in summary_lines(result):
        echo(f"  {line}")
    echo(f"  report: {paths.markdown}")


def _fresh_folder(output: Path) -> None:
    for name in ("crmsync.sqlite", "crmsync.sqlite-wal", "crmsync.sqlite-shm"):
        (output / name).unlink(missing_ok=True)
    shutil.rmtree(output / "reports", ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)

