"""Precision, recall and F1 per outcome of a matcher against the true pairs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    predicted: int
    relevant: int


def scores(predicted: set, relevant: set) -> Scores:
    """Score a predicted set against a relevant set; an empty set scores 1.0 precision."""
    hits = len(predicted & relevant)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(relevant) if relevant else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, len(predicted), len(relevant))


def outcome_scores(
    matches: set[tuple[str, str]],
    possible: set[tuple[str, str]],
    truth: set[tuple[str, str]],
    left_ids: set[str],
) -> dict[str, Scores]:
    """Score the three outcomes.

    match: the matched pairs against the true pairs. possible: the pairs held for review
    against the true pairs that were not matched. no match: the left ids with neither a
    match nor a possible pair against the left ids that have no true partner.
    """
    decided = {left for left, _ in matches | possible}
    truly_alone = left_ids - {left for left, _ in truth}
    return {
        "match": scores(matches, truth),
        "possible": scores(possible, truth - matches),
        "match or possible": scores(matches | possible, truth),
        "no match": scores(left_ids - decided, truly_alone),
    }
