"""The `crmsync` command line.

User mistakes (a bad settings file, mapping or CSV, a port in use) end with one message
naming the file, line, field or port and the fix, and exit status 2; never a traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click
import structlog

from sync.errors import ConfigError, CrmsyncError, TransientError
from sync.logs import configure_logging
from sync.settings import Settings, load_settings

DEFAULT_CONFIG = Path("crmsync.yaml")
EXIT_CONFIG = 2
EXIT_TRANSIENT = 1

log = structlog.get_logger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=DEFAULT_CONFIG, show_default=True,
              envvar="CRMSYNC_CONFIG", help="Settings file (YAML).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default=None,
              help="Log level; overrides the settings file.")
@click.option("--log-format", type=click.Choice(["console", "json"]), default=None, help="Log format.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, log_level: str | None, log_format: str | None) -> None:
    """Keep HubSpot and Dynamics 365 in agreement, and report pipeline KPIs."""
    ctx.obj = {"config": config_path, "log_level": log_level, "log_format": log_format}
    configure_logging(log_level or "WARNING", log_format or "console")


def _settings(ctx: click.Context) -> Settings:
    settings = load_settings(ctx.obj["config"])
    secrets = [settings.hubspot.access_token.get_secret_value()]
    if settings.dynamics.client_secret is not None:
        secrets.append(settings.dynamics.client_secret.get_secret_value())
    configure_logging(ctx.obj["log_level"] or settings.log.level, ctx.obj["log_format"] or settings.log.format, secrets)
    return settings


@cli.command()
@click.option("--dry-run", is_flag=True, help="Plan and report, write nothing to either CRM.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the reconciliation report (default: sync.reports_dir).")
@click.pass_context
def sync(ctx: click.Context, dry_run: bool, report_dir: Path | None) -> None:
    """Run one sync; with --dry-run, write the reconciliation report instead."""
    from sync.engine.run import RunMode
    from sync.reports.reconciliation import summary_lines, write_report
    from sync.runtime import open_runtime

    settings = _settings(ctx)
    runtime = open_runtime(settings)
    try:
        result = runtime.engine.run(RunMode.DRY_RUN if dry_run else RunMode.SYNC)
    finally:
        runtime.close()
    paths = write_report(result, report_dir or settings.sync.reports_dir)
    click.echo(f"{'Dry run' if dry_run else 'Sync'} {result.run_id}:")
    for line in summary_lines(result):
        click.echo(f"  {line}")
    click.echo(f"Report: {paths.html} (also {paths.markdown.name} and {paths.json.name})")
    if result.failed:
        click.echo(f"{result.failed} record(s) failed and are kept for the next run; see the report.")


@cli.command()
@click.option("--full", is_flag=True, required=True, help="Read every record of both CRMs, whatever the cursors say.")
@click.option("--dry-run", is_flag=True, help="Report the pairs that disagree, write nothing.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Folder for the report (default: sync.reports_dir).")
@click.pass_context
def reconcile(ctx: click.Context, full: bool, dry_run: bool, report_dir: Path | None) -> None:
    """Compare every linked pair field by field and fix drift by the mapping's rules."""
    from sync.engine.run import RunMode
    from sync.reports.reconciliation import summary_lines, write_report
    from sync.runtime import open_runtime

    settings = _settings(ctx)
    runtime = open_runtime(settings)
    try:
        result = runtime.engine.run(RunMode.DRY_RUN if dry_run else RunMode.SYNC, full=True)
    finally:
        runtime.close()
    paths = write_report(result, report_dir or settings.sync.reports_dir)
    drifted = sum(1 for plan in result.plan.kinds.values() for pair in plan.pairs if pair.changed and not pair.new_link)
    click.echo(f"Full reconciliation {result.run_id}: {drifted} linked pair(s) disagreed"
               + (" (nothing written)." if dry_run else " and were fixed by the mapping's rules."))
    for line in summary_lines(result):
        click.echo(f"  {line}")
    click.echo(f"Report: {paths.html} (also {paths.markdown.name} and {paths.json.name})")


@cli.command()
@click.option("--kind", type=click.Choice(["company", "contact", "deal"]), default=None, help="Only this kind.")
@click.option("--system", type=click.Choice(["hubspot", "dynamics"]), default=None, help="Only records of this system.")
@click.pass_context
def retry(ctx: click.Context, kind: str | None, system: str | None) -> None:
    """Re-queue parked records, so the next run tries them again."""
    from sync.model import Kind, System
    from sync.state import StateStore

    settings = _settings(ctx)
    store = StateStore(settings.state.url)
    try:
        count = store.requeue_errors(System(system) if system else None, Kind(kind) if kind else None,
                                     min_attempts=settings.sync.max_attempts)
        waiting = len(store.record_errors(System(system) if system else None, Kind(kind) if kind else None))
    finally:
        store.close()
    if count:
        click.echo(f"Re-queued {count} parked record(s); the next run retries them.")
    else:
        click.echo(f"No record is parked; the {waiting} record(s) in the retry queue are retried on their own.")


@cli.command()
@click.option("--output", type=click.Path(path_type=Path), default=None, help="Folder for kpis.json and kpis.csv.")
@click.option("--kpi-config", type=click.Path(path_type=Path), default=None, help="KPI settings file (YAML).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="As-of date, YYYY-MM-DD.")
@click.option("--year", type=int, default=None, help="Year whose two halves are compared.")
@click.option("--format", "output_format", type=click.Choice(["table", "html"]), default="table", show_default=True,
              help="html also writes kpis.html, a self-contained dashboard with charts.")
@click.pass_context
def kpis(ctx: click.Context, output: Path | None, kpi_config: Path | None, as_of, year: int | None,
         output_format: str) -> None:
    """Compute pipeline KPIs from the reconciled deals of both CRMs."""
    from sync.runtime import open_runtime
    from sync.workflows import compute_and_write_kpis

    settings = _settings(ctx)
    runtime = open_runtime(settings, check_metadata=False)
    try:
        outcome = compute_and_write_kpis(runtime, output or settings.sync.reports_dir, kpi_config,
                                         as_of.date() if as_of else None, year, html=output_format == "html")
    finally:
        runtime.close()
    click.echo(outcome.table)
    click.echo(f"KPIs written to {outcome.json_path} and {outcome.csv_path}")
    if outcome.html_path is not None:
        click.echo(f"Dashboard: {outcome.html_path}")


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show the last runs and the records waiting for a retry."""
    from sync.state import StateStore

    from sync.model import Kind

    settings = _settings(ctx)
    store = StateStore(settings.state.url)
    try:
        runs = store.runs(limit=10)
        errors = store.record_errors()
        linked = {kind: len(store.links(kind)) for kind in Kind}
    finally:
        store.close()
    click.echo("Records per kind:")
    for kind in Kind:
        rows = [row for row in errors if row.kind == kind]
        waiting = {bucket: sum(1 for row in rows if _bucket(row.reason) == bucket) for bucket in ("excluded", "failing")}
        click.echo(f"  {kind}: {linked[kind]} linked pairs, {waiting['excluded']} excluded "
                   f"(invalid, ambiguous or awaiting review), {waiting['failing']} failing")
    click.echo("Last runs:" if runs else "No runs yet.")
    for run in runs:
        click.echo(f"  {run.started_at:%Y-%m-%d %H:%M:%S} {run.id} {run.mode} {run.outcome}")
    parked = [row for row in errors if row.attempts >= settings.sync.max_attempts]
    click.echo(f"Records waiting for a retry: {len(errors) - len(parked)}; parked after "
               f"{settings.sync.max_attempts} attempts: {len(parked)} (re-queue them with 'crmsync retry')")
    for row in errors[:20]:
        state = "parked" if row.attempts >= settings.sync.max_attempts else f"attempts: {row.attempts}"
        click.echo(f"  {row.system} {row.kind} {row.record_id}: {row.reason} ({state})")


def _bucket(reason: str) -> str:
    from sync.engine.plan import SkipReason

    excluded = tuple(f"{reason}:" for reason in SkipReason)
    return "excluded" if reason.startswith(excluded) else "failing"


@cli.command()
@click.option("--interval", type=click.IntRange(min=5), default=None, help="Seconds between runs (default: sync.interval_seconds).")
@click.pass_context
def daemon(ctx: click.Context, interval: int | None) -> None:
    """Run the sync on an interval until SIGTERM or SIGINT."""
    from sync.daemon.leader import LeaderLock
    from sync.daemon.metrics import DaemonMetrics, serve_metrics
    from sync.daemon.scheduler import SyncDaemon, open_when_reachable
    from sync.runtime import open_runtime

    settings = _settings(ctx)
    seconds = interval or settings.sync.interval_seconds
    runtime = open_when_reachable(lambda: open_runtime(settings), seconds)
    if runtime is None:
        return
    metrics = DaemonMetrics(seconds)
    server = None
    if settings.daemon.metrics_port is not None:
        server = serve_metrics(metrics, settings.daemon.metrics_port, settings.daemon.metrics_host)
        click.echo(f"Metrics on http://{settings.daemon.metrics_host}:{server.server_address[1]}/metrics")
    try:
        leader = LeaderLock(settings.state.url, settings.daemon.leader_name)
        SyncDaemon(runtime.engine.run, seconds, leader=leader, metrics=metrics).serve()
    finally:
        if server is not None:
            server.shutdown()
        runtime.close()


@cli.group(invoke_without_command=True)
@click.option("--kind", type=click.Choice(["company", "contact", "deal"]), default=None, help="Only this kind.")
@click.pass_context
def review(ctx: click.Context, kind: str | None) -> None:
    """List possible matches waiting for a decision; accept or reject them by id."""
    if ctx.invoked_subcommand is not None:
        return
    from sync.model import Kind

    with _review_queue(ctx) as queue:
        items = queue.pending(Kind(kind) if kind else None)
    if not items:
        click.echo("No possible matches are waiting for review.")
    for item in items:
        click.echo(f"  {item.id}: {item.kind} HubSpot {item.hubspot_id} ~ Dynamics {item.dynamics_id}, "
                   f"score {item.score:.0f}: {item.evidence}")
    if items:
        click.echo("Accept with 'crmsync review accept ID' (the next run links the pair), "
                   "or reject with 'crmsync review reject ID' (it is never proposed again).")


@review.command("accept")
@click.argument("item_id", type=int)
@click.pass_context
def review_accept(ctx: click.Context, item_id: int) -> None:
    """Accept a possible match: the next run links the two records."""
    with _review_queue(ctx) as queue:
        item = queue.accept(item_id)
    click.echo(f"Accepted {item.id}: {item.kind} HubSpot {item.hubspot_id} = Dynamics {item.dynamics_id}.")


@review.command("reject")
@click.argument("item_id", type=int)
@click.pass_context
def review_reject(ctx: click.Context, item_id: int) -> None:
    """Reject a possible match: the records are synced as two different ones."""
    with _review_queue(ctx) as queue:
        item = queue.reject(item_id)
    click.echo(f"Rejected {item.id}: HubSpot {item.hubspot_id} and Dynamics {item.dynamics_id} stay apart.")


@contextmanager
def _review_queue(ctx: click.Context):
    from sync.state import ReviewQueue, StateStore

    store = StateStore(_settings(ctx).state.url)
    try:
        yield ReviewQueue(store)
    finally:
        store.close()


@cli.group()
def mappings() -> None:
    """Check mapping files."""


@mappings.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--live", is_flag=True,
              help="Also check every field against both CRMs' metadata: it exists, its type fits, it is writable, "
                   "and every picklist value is mapped. Needs a settings file.")
@click.pass_context
def mappings_validate(ctx: click.Context, files: tuple[Path, ...], live: bool) -> None:
    """Validate mapping files (default: the one in the settings) and list every problem.

    Without --live only the file itself is checked, not the names of properties and columns.
    """
    from sync.mapping import load_mapping

    settings = _settings(ctx) if live or not files else None
    paths = list(files) or [settings.sync.mapping]
    problems: list[str] = []
    for path in paths:
        try:
            mapping = load_mapping(path)
            if live:
                _check_live(settings, mapping)
            click.echo(f"{path}: valid" + (" against both CRMs" if live else " (structure only; add --live to check "
                                                                                "field names against the CRMs)"))
        except ConfigError as error:
            problems.append(str(error))
    if problems:
        raise ConfigError("\n".join(problems))


@mappings.command("plan")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--diff", "old_file", type=click.Path(path_type=Path), default=None,
              help="An older mapping: show what changing from it to FILE does to the linked records.")
@click.option("--live", is_flag=True, help="Mark fields that are read-only in a CRM, from its metadata.")
@click.pass_context
def mappings_plan(ctx: click.Context, file: Path | None, old_file: Path | None, live: bool) -> None:
    """Show which field flows which way, with which policy and transforms; write nothing."""
    from sync.mapping import diff_plan, load_mapping, render_plan
    from sync.state import StateStore

    settings = _settings(ctx) if live or old_file or not file else None
    mapping = load_mapping(file or settings.sync.mapping)
    metadata = _metadata(settings, mapping) if live else (None, None)
    click.echo(render_plan(mapping, *metadata))
    if old_file is None:
        return
    store = StateStore(settings.state.url)
    try:
        synced = {kind: store.all_synced(kind) for kind in mapping.pairs}
    finally:
        store.close()
    click.echo(diff_plan(load_mapping(old_file), mapping, synced))


def _metadata(settings: Settings, mapping):
    from sync.model import System
    from sync.runtime import open_runtime

    runtime = open_runtime(settings, check_metadata=False, mapping=mapping)
    try:
        hubspot = {kind: runtime.connectors[System.HUBSPOT].field_metadata(kind) for kind in mapping.pairs}
        dynamics = {kind: runtime.connectors[System.DYNAMICS].field_metadata(kind) for kind in mapping.pairs}
    finally:
        runtime.close()
    return hubspot, dynamics


def _check_live(settings: Settings, mapping) -> None:
    from sync.mapping import check_live

    problems = check_live(mapping, *_metadata(settings, mapping))
    if problems:
        raise ConfigError(problems)


@cli.group()
def sandbox() -> None:
    """Run the local HubSpot and Dataverse sandbox."""


@sandbox.command("serve")
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path(".crmsync/sandbox"), show_default=True,
              help="Folder for the sandbox data file, its CA certificate and the settings it writes.")
@click.option("--hubspot-port", type=click.IntRange(0, 65535), default=8081, show_default=True)
@click.option("--dataverse-port", type=click.IntRange(0, 65535), default=8082, show_default=True)
@click.option("--token-port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--seed", type=click.Choice(["none", "bundled"]), default="none", show_default=True,
              help="Seed an empty sandbox with the bundled demo data.")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Seed an empty sandbox from the CSV exports in this folder instead.")
@click.option("--settings-out", type=click.Path(path_type=Path), default=Path("crmsync.yaml"), show_default=True,
              help="Where to write the settings file that points crmsync at the sandbox.")
def sandbox_serve(workdir: Path, hubspot_port: int, dataverse_port: int, token_port: int,
                  seed: str, data: Path | None, settings_out: Path) -> None:
    """Serve the sandbox until SIGTERM or SIGINT, keeping its data between restarts."""
    from sync.workflows import serve_sandbox

    serve_sandbox(workdir, (hubspot_port, dataverse_port, token_port), seed, data, settings_out, click.echo)


@sandbox.command("seed")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("--dir", "workdir", type=click.Path(path_type=Path), default=Path(".crmsync/sandbox"), show_default=True,
              help="Folder of the sandbox data file (sandbox.json) that `sandbox serve --dir` loads.")
def sandbox_seed(spec: Path, workdir: Path) -> None:
    """Load CSV exports into the sandbox data file, as the seed spec SPEC describes."""
    from sync.sandbox.seed_spec_run import seed_sandbox_file

    report = seed_sandbox_file(spec, workdir)
    for line in report.lines():
        click.echo(line)


@cli.command()
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Seed from real CSV exports in this folder instead of the bundled data.")
@click.option("--output", type=click.Path(path_type=Path), default=Path("crmsync-demo"), show_default=True,
              help="Folder for the demo's state, settings and reports.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="As-of date for the KPIs.")
def demo(data: Path | None, output: Path, as_of) -> None:
    """Start the sandbox, seed it, sync twice, and print the reconciliation summary and KPIs."""
    from sync.workflows import run_demo

    run_demo(output, data, as_of.date() if as_of else None, click.echo)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn crmsync errors into messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="crmsync", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except ConfigError as error:
        click.echo(f"crmsync: error: {error}", err=True)
        return EXIT_CONFIG
    except TransientError as error:
        click.echo(f"crmsync: {error.headline}: {error}. Nothing more was written; run again later.", err=True)
        return EXIT_TRANSIENT
    except CrmsyncError as error:
        click.echo(f"crmsync: error: {error}", err=True)
        return EXIT_CONFIG if error.input_error else EXIT_TRANSIENT
    return 0


if __name__ == "__main__":
    sys.exit(main())

