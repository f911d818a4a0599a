"""Seeded fault injection: random edits, faults, runs and killed runs, then the invariants.

The seed is printed; `CRMSYNC_FAULT_SEED=<seed>` replays a run, and
`CRMSYNC_FAULT_STEPS=<n>` changes its length (default 220).
"""

import os
import random

import pytest

from tests.faults.checker import Checker
from tests.faults.steps import Generator
from tests.faults.world import World

STEPS = int(os.environ.get("CRMSYNC_FAULT_STEPS", "220"))


# CI replays one fixed seed, so a red run can always be replayed; this one once found a
# duplicate (a match whose first write failed was not linked). Set CRMSYNC_FAULT_SEED=random
# to explore new seeds.
DEFAULT_SEED = 563711700


def _seed() -> int:
    given = os.environ.get("CRMSYNC_FAULT_SEED")
    if given == "random":
        return random.SystemRandom().randrange(1, 10**9)
    return int(given) if given else DEFAULT_SEED


@pytest.fixture
def world(tmp_path):
    running = World(tmp_path)
    yield running
    running.close()


def _replay_hint(seed: int) -> str:
    return (f"replay with: CRMSYNC_FAULT_SEED={seed} CRMSYNC_FAULT_STEPS={STEPS} "
            f".venv/bin/pytest tests/faults/test_faults.py")


def test_invariants_hold_under_faults(world, capsys):
    seed = _seed()
    with capsys.disabled():
        print(f"\nfault-injection seed {seed}, {STEPS} steps")
    generator = Generator(world, seed)
    for _ in range(STEPS):
        generator.step()
    writes = world.settle_down()
    report = Checker(world).check()
    with capsys.disabled():
        print(world.counts.summary())
        print(f"quiet phase write requests per run: {writes}")
        print(report.summary())

    recent = "\n".join(generator.log[-15:])
    assert world.counts.crashes == [], f"seed {seed}: crmsync sync crashed: {world.counts.crashes[:1]}\n{_replay_hint(seed)}"
    assert world.counts.mispredictions == [], f"seed {seed}: {world.counts.mispredictions[:3]}\n{_replay_hint(seed)}"
    assert writes[-1] == 0, f"seed {seed}: still writing after {len(writes)} quiet runs {writes}\n{_replay_hint(seed)}"
    assert len(writes) <= 3, f"seed {seed}: needed {len(writes)} runs to go quiet {writes}\n{_replay_hint(seed)}"
    assert report.ok, f"seed {seed}: {report.summary()}\nlast steps:\n{recent}\n{_replay_hint(seed)}"
