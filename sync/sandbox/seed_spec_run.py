"""`crmsync sandbox seed`: load the CSV exports of a spec into the sandbox data file.

The data file is `DIR/sandbox.json`, which `crmsync sandbox serve --dir DIR` loads at start
and writes back when it stops. A serving sandbox would overwrite what the seed adds, so
`sandbox serve` keeps its process id in `DIR/sandbox.pid` while it runs, and the seed
refuses to write while that process lives.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sync.errors import ConfigError, Problem
from sync.sandbox.seed_spec import load_seed_spec
from sync.sandbox.seed_spec_load import seed_from_spec
from sync.sandbox.seed_spec_rows import SpecSeedReport, read_sources
from sync.sandbox.server import Sandbox

DATA_FILE = "sandbox.json"
SERVE_PID_FILE = "sandbox.pid"
REJECTS_FILE = "seed-rejected.csv"


def seed_sandbox_file(spec_path: Path, workdir: Path, *, clock: Callable[[], datetime] | None = None) -> SpecSeedReport:
    """Load the spec's CSV files into `workdir/sandbox.json`, creating it when missing.

    Writes `workdir/seed-rejected.csv` when rows were rejected. Raises `ConfigError` for an
    invalid spec, unreadable CSV files, repeated keys under `stop`, a sandbox serving
    `workdir`, or when not a single row loaded. The data file is then left unchanged.
    """
    spec = load_seed_spec(spec_path)
    tables = read_sources(spec)
    _reject_when_serving(workdir)

    data_file = workdir / DATA_FILE
    with Sandbox(workdir, credentials=Sandbox.saved_credentials(data_file), clock=clock) as sandbox:
        if data_file.exists():
            sandbox.load(data_file)
        report = seed_from_spec(sandbox.hubspot, sandbox.dataverse, tables)
        if report.read and not report.loaded:
            raise ConfigError(Problem(
                f"none of the {report.read} rows loaded; the first rejected row: {report.rejected[0]}",
                file=spec_path, fix="check the columns, formats and values of the spec; the sandbox data is unchanged",
            ))
        sandbox.save(data_file)

    report.data_file = data_file
    if report.rejected:
        report.write_rejects(workdir / REJECTS_FILE)
    return report


def serving_pid(workdir: Path) -> int | None:
    """Return the id of the live `sandbox serve` process for `workdir`, or None."""
    pid_file = workdir / SERVE_PID_FILE
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


@contextmanager
def serving(workdir: Path) -> Iterator[None]:
    """Mark `workdir` as served by this process until the block ends."""
    pid_file = workdir / SERVE_PID_FILE
    pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        yield
    finally:
        pid_file.unlink(missing_ok=True)


def _reject_when_serving(workdir: Path) -> None:
    pid = serving_pid(workdir)
    if pid is None:
        return
    raise ConfigError(Problem(
        f"a sandbox server (process {pid}) is serving this folder and would overwrite the seeded data when it stops",
        file=workdir / DATA_FILE,
        fix="stop `crmsync sandbox serve` (SIGTERM or Ctrl-C), seed, then start it again",
    ))
