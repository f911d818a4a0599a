"""Seeded fault injection: random edits, faults, runs and killed runs, then the invariants.

The seed is printed; `CRMSYNC_FAULT_SEED=<seed>` replays a run, and
`CRMSYNC_FAULT_STEPS=<n>` changes its length (default 220).
"""

import os
import random

import pytest

from tests.faults.checker import Checker
from tests.faults.steps import Action, Generator, Mix
from tests.faults.world import World

STEPS = int(os.environ.get("CRMSYNC_FAULT_STEPS", "220"))


# CI replays fixed seeds, so a red run can always be replayed. The first once found a
# duplicate (a match whose first write failed was not linked); the second merges and deletes
# records in both CRMs. Set CRMSYNC_FAULT_SEED to one seed, or to random to explore new seeds.
DEFAULT_SEEDS = (563711700, 2)
DEFAULT_SEED = DEFAULT_SEEDS[0]


def _seed(default: int = DEFAULT_SEED) -> int:
    given = os.environ.get("CRMSYNC_FAULT_SEED")
    if given == "random":
        return random.SystemRandom().randrange(1, 10**9)
    return int(given) if given else default


@pytest.fixture
def world(tmp_path):
    running = World(tmp_path)
    yield running
    running.close()


def _replay_hint(seed: int) -> str:
    return (f"replay with: CRMSYNC_FAULT_SEED={seed} CRMSYNC_FAULT_STEPS={STEPS} "
            f".venv/bin/pytest tests/faults/test_faults.py")


@pytest.mark.parametrize("default_seed", DEFAULT_SEEDS)
def test_invariants_hold_under_faults(world, capsys, default_seed):
    if os.environ.get("CRMSYNC_FAULT_SEED") and default_seed != DEFAULT_SEEDS[0]:
        pytest.skip("CRMSYNC_FAULT_SEED replays one seed, in the first variant")
    seed = _seed(default_seed)
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


def test_archive_policy_under_faults(tmp_path, capsys):
    """With on_delete: archive and many deletes, every linked partner of a deleted record
    ends archived or inactive, and the other invariants still hold."""
    seed = _seed()
    world = World(tmp_path, on_delete="archive")
    try:
        weights = dict(Mix.ci().weights)
        weights[Action.DELETE] = 8
        generator = Generator(world, seed, Mix(weights))
        for _ in range(STEPS // 2):
            generator.step()
        writes = world.settle_down()
        report = Checker(world).check()
        with capsys.disabled():
            print(f"\narchive policy, seed {seed}: {world.counts.summary()}\n{report.summary()}")
    finally:
        world.close()

    assert world.counts.actions["delete"] > 0
    assert world.counts.archived > 0, f"seed {seed}: no run archived a partner\n{_replay_hint(seed)}"
    assert world.counts.crashes == [], f"seed {seed}: {world.counts.crashes[:1]}\n{_replay_hint(seed)}"
    assert writes[-1] == 0, f"seed {seed}: still writing after {len(writes)} quiet runs {writes}\n{_replay_hint(seed)}"
    assert report.ok, f"seed {seed}: {report.summary()}\n{_replay_hint(seed)}"
