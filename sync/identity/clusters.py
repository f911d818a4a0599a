"""Duplicate records inside one system, grouped into clusters for a report.

Clusters are reported, never merged: merging is a decision for the CRM's admin.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sync.identity.blocking import Address, self_candidate_pairs
from sync.identity.email import normalize_email, split_email
from sync.identity.match import DEFAULT_FUZZY_THRESHOLD, Candidate
from sync.identity.scoring import MAX_EVIDENCE_BONUS, Evidence, score_pair

# How many edge reasons a cluster's `reason` lists before it summarises the rest.
MAX_REASONS = 3


@dataclass(frozen=True)
class Cluster:
    """Ids of records that look like one person, sorted, with why they were grouped."""

    ids: tuple[str, ...]
    reason: str


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, left: int, right: int) -> None:
        left_root, right_root = self.find(left), self.find(right)
        if left_root != right_root:
            self.parent[max(left_root, right_root)] = min(left_root, right_root)


def find_duplicates(
    candidates: Sequence[Candidate], *, fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD
) -> list[Cluster]:
    """Group records that share a normalised email or match fuzzily (score >= threshold).

    Groups are closed under chaining: if a matches b and b matches c, all three form one
    cluster. Only clusters of two or more records are returned, sorted by their first id.
    """
    emails = [normalize_email(candidate.email) for candidate in candidates]
    groups = _UnionFind(len(candidates))
    reasons: list[tuple[int, str]] = []

    first_with_email: dict[str, int] = {}
    for index, email in enumerate(emails):
        if email is None:
            continue
        first = first_with_email.setdefault(email, index)
        if first != index:
            groups.union(first, index)
            reasons.append((index, f"same email {email}"))

    for left, right, evidence in _fuzzy_pairs(candidates, emails, fuzzy_threshold):
        groups.union(left, right)
        reasons.append((left, f"{emails[left]} ~ {emails[right]}: {evidence}"))

    return _clusters(candidates, groups, reasons)


def _fuzzy_pairs(
    candidates: Sequence[Candidate], emails: Sequence[str | None], threshold: float
) -> list[tuple[int, int, str]]:
    """Return the pairs of distinct emails whose fuzzy score reaches `threshold`."""
    indexes = [index for index, email in enumerate(emails) if email is not None]
    addresses = [Address(*split_email(emails[index])) for index in indexes]  # type: ignore[arg-type]
    evidence = [Evidence.of(candidates[index]) for index in indexes]
    min_similarity = max(0.0, (threshold - MAX_EVIDENCE_BONUS) / 100)

    found = []
    for pair in self_candidate_pairs(addresses, min_similarity=min_similarity):
        if addresses[pair.left] == addresses[pair.right]:
            continue
        scored = score_pair(pair, evidence[pair.left], evidence[pair.right])
        if scored.score >= threshold:
            found.append((indexes[pair.left], indexes[pair.right], f"score {scored.score:g} ({scored.evidence})"))
    return found


def _clusters(candidates: Sequence[Candidate], groups: _UnionFind, reasons: list[tuple[int, str]]) -> list[Cluster]:
    members: dict[int, list[str]] = defaultdict(list)
    for index, candidate in enumerate(candidates):
        members[groups.find(index)].append(candidate.id)
    reasons_by_root: dict[int, list[str]] = defaultdict(list)
    for index, reason in reasons:
        reasons_by_root[groups.find(index)].append(reason)

    clusters = []
    for root, ids in members.items():
        if len(ids) < 2:
            continue
        clusters.append(Cluster(tuple(sorted(ids)), _summarise(sorted(reasons_by_root[root]))))
    return sorted(clusters, key=lambda cluster: cluster.ids)


def _summarise(reasons: list[str]) -> str:
    text = "; ".join(reasons[:MAX_REASONS])
    if len(reasons) > MAX_REASONS:
        text += f"; and {len(reasons) - MAX_REASONS} more"
    return text
