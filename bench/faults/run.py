"""The long fault-injection run: the suite's step generator for many steps, then the checker.

    .venv/bin/python bench/faults/run.py --steps 20000 --seed 1

Prints progress every 1,000 steps, then the steps, faults injected by kind, runs, kills,
the quiet phase and the checker's result. Exits 1 when an invariant is violated.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sync.logs import configure_logging  # noqa: E402
from tests.faults.checker import Checker  # noqa: E402
from tests.faults.steps import Generator, Mix  # noqa: E402
from tests.faults.world import World  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="number of random steps (default 20,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the step generator (default 1)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop generating steps after this many minutes, then check (default: no limit)")
    parser.add_argument("--batch-size", type=int, default=5, help="engine and Dataverse batch size (default 5)")
    arguments = parser.parse_args()
    configure_logging("CRITICAL")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crmsync-faults-") as folder:
        world = World(Path(folder), batch_size=arguments.batch_size)
        try:
            generator = Generator(world, arguments.seed, Mix.long())
            deadline = None if arguments.minutes is None else started + arguments.minutes * 60
            for step in range(1, arguments.steps + 1):
                generator.step()
                if deadline is not None and time.monotonic() > deadline:
                    print(f"time budget of {arguments.minutes:g} min used up after {step} steps", flush=True)
                    break
                if step % 1000 == 0:
                    print(f"{step} steps, {time.monotonic() - started:.0f} s, "
                          f"{len(world.ledger.entities)} entities", flush=True)
            writes = world.settle_down()
            report = Checker(world).check()
        finally:
            world.close()

    print(f"seed {arguments.seed}, {world.counts.steps} of {arguments.steps} steps, {time.monotonic() - started:.0f} s on "
          f"{platform.system()} {platform.machine()}, Python {platform.python_version()}")
    print(world.counts.summary())
    print(f"quiet phase write requests per run: {writes}")
    if world.counts.crashes:
        print(f"crmsync sync crashed {len(world.counts.crashes)} time(s); first: {world.counts.crashes[0]}")
    print(report.summary())
    failed = not report.ok or writes[-1] != 0 or len(writes) > 3 or bool(world.counts.crashes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
