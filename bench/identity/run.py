"""Benchmark identity matching: crmsync against splink, quality and speed.

Usage, from the repository root with the `bench` extra installed:

    .venv/bin/python bench/identity/run.py               # everything, Markdown to stdout
    .venv/bin/python bench/identity/run.py --quick       # skip the 1,000,000 set

Each measurement runs in a fresh child process, so its peak memory (maximum resident
set size, including the Python interpreter, the imports and the data) is its own.
Times cover matching only, not loading or generating the data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]

import datasets  # noqa: E402
import matchers  # noqa: E402
from metrics import outcome_scores  # noqa: E402

QUALITY_SETS = ("splink_fake", "corruption")
SCALE_SIZES = (100_000, 1_000_000)


def measure(matcher: str, dataset_name: str, size: int) -> dict:
    """Run one matcher on one data set in this process; return figures as a dict."""
    dataset = _load(dataset_name, size)
    loaded_mib = _current_rss_mib()
    run = matchers.run_crmsync if matcher == "crmsync" else matchers.run_splink
    started = time.perf_counter()
    matches, possible = run(dataset)
    seconds = time.perf_counter() - started

    left_ids = {record["id"] for record in dataset.left}
    figures = {
        outcome: vars(scored)
        for outcome, scored in outcome_scores(matches, possible, dataset.truth, left_ids).items()
    }
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"matcher": matcher, "dataset": dataset.name, "seconds": seconds, "peak_mib": peak_kib / 1024,
            "loaded_mib": loaded_mib, "scores": figures}


def _current_rss_mib() -> float:
    """Return this process's resident memory now, from /proc (Linux), or 0 elsewhere."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _load(name: str, size: int) -> datasets.Dataset:
    if name == "splink_fake":
        return datasets.splink_fake()
    if name == "corruption":
        return datasets.corruption_set()
    return datasets.synthetic(size)


def _child(matcher: str, dataset_name: str, size: int = 0) -> dict:
    command = [sys.executable, __file__, "--one", matcher, dataset_name, str(size)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        error = completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "no output"
        return {"matcher": matcher, "dataset": dataset_name, "error": error}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _row(figures: dict, outcome: str) -> str:
    if "error" in figures:
        return f"| {figures['matcher']} | {outcome} | failed: {figures['error']} | | | | |"
    scored = figures["scores"][outcome]
    return (
        f"| {figures['matcher']} | {outcome} | {scored['precision']:.4f} | {scored['recall']:.4f} | "
        f"{scored['f1']:.4f} | {figures['seconds']:.2f} | {figures['peak_mib']:.0f} |"
    )


def _table(title: str, results: list[dict]) -> str:
    lines = [f"### {title}", "", "| matcher | outcome | precision | recall | F1 | time (s) | peak RSS (MiB) |", "|---|---|---|---|---|---|---|"]
    for figures in results:
        outcomes = ["match"] if "error" in figures else list(figures["scores"])
        lines += [_row(figures, outcome) for outcome in outcomes]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark crmsync identity matching against splink.")
    parser.add_argument("--one", nargs=3, metavar=("MATCHER", "DATASET", "SIZE"), help="internal: one measurement")
    parser.add_argument("--quick", action="store_true", help="skip the 1,000,000 x 1,000,000 set")
    parser.add_argument("--splink-scale", action="store_true", help="also run splink on the 100,000 set")
    arguments = parser.parse_args()
    if arguments.one:
        matcher, name, size = arguments.one
        print(json.dumps(measure(matcher, name, int(size))))
        return

    print(f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs\n")
    for name in QUALITY_SETS:
        results = [_child("crmsync", name), _child("splink", name)]
        print(_table(results[0].get("dataset", name), results) + "\n")

    sizes = SCALE_SIZES[:1] if arguments.quick else SCALE_SIZES
    for size in sizes:
        results = [_child("crmsync", "synthetic", size)]
        if arguments.splink_scale and size == SCALE_SIZES[0]:
            results.append(_child("splink", "synthetic", size))
        print(_table(results[0].get("dataset", f"synthetic {size}"), results) + "\n")


if __name__ == "__main__":
    main()
