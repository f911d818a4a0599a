"""Candidate pairs for fuzzy email matching, found within blocks instead of all pairs.

A block is the addresses of one domain on each side, or of a domain and the well-known
mail domain it is a near typo of (gmial.com and gmail.com). A small block is scored in
full with `rapidfuzz.process.cdist`. A large one is cut by the sorted-neighbourhood
method: the block's local parts are sorted, once as written and once reversed, and
only neighbours within overlapping windows are scored.

Local parts are compared with the optimal string alignment distance, so that a
transposition of two letters costs one edit, like a deletion or a substitution.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from sync.identity.email import normalize_email, split_email
from sync.identity.known_domains import MAILCHECK_DOMAINS
from sync.identity.suggest import DomainSuggester

# Consumer mail domains that typos are corrected towards. A typo between two company
# domains (acme.co and acme.com) is not assumed, because both are often real and distinct.
WELL_KNOWN_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com",
        "hotmail.com", "outlook.com", "live.com", "msn.com", "icloud.com", "me.com",
        "mac.com", "aol.com", "protonmail.com", "proton.me", "fastmail.com", "gmx.com",
        "gmx.de", "gmx.net", "web.de", "mail.com", "qq.com", "yandex.ru", "comcast.net",
        "att.net", "verizon.net", "sbcglobal.net", "btinternet.com", "hotmail.co.uk",
        "yahoo.co.uk", "live.co.uk",
    }
)
_BLOCKING_SUGGESTER = DomainSuggester(domains=(*MAILCHECK_DOMAINS, *sorted(WELL_KNOWN_MAIL_DOMAINS)))
# Blocks with more pairs than this are cut into sorted-neighbourhood windows.
MAX_FULL_BLOCK_PAIRS = 250_000
# Window length in records. Windows overlap by half, so each record is compared with the
# records of the other side that are up to WINDOW // 2 places from it in the sort order.
WINDOW = 64


class DomainRelation(enum.StrEnum):
    SAME = "same domain"
    TYPO = "domain typo"


@dataclass(frozen=True, slots=True)
class Address:
    """One normalised address split for blocking."""

    local: str
    domain: str


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """Two addresses worth scoring: indexes into the left and right sequences."""

    left: int
    right: int
    similarity: float  # of the local parts, 0..1
    relation: DomainRelation


def candidate_pairs(
    left: Sequence[Address],
    right: Sequence[Address],
    *,
    min_similarity: float,
) -> list[CandidatePair]:
    """Find the pairs whose local parts are at least `min_similarity` alike (0..1).

    Pairs are returned once each, in no particular order. Exactly equal addresses are
    included; callers that matched them already should leave them out of the input.
    """
    left_blocks = _group_by_domain(left)
    right_blocks = _group_by_domain(right)
    found: dict[tuple[int, int], CandidatePair] = {}

    for left_domain, right_domain, relation in _domain_pairs(left_blocks, right_blocks):
        left_members = left_blocks[left_domain]
        right_members = right_blocks[right_domain]
        left_block = [_as_domain(left[i], right_domain) for i in left_members]
        right_block = [_as_domain(right[j], left_domain) for j in right_members]
        for a, b, similarity in _score_block(left_block, right_block, min_similarity):
            found[(left_members[a], right_members[b])] = CandidatePair(left_members[a], right_members[b], similarity, relation)
    return list(found.values())


def self_candidate_pairs(addresses: Sequence[Address], *, min_similarity: float) -> list[CandidatePair]:
    """Find the alike pairs within one sequence, each once with `left < right`."""
    pairs = candidate_pairs(addresses, addresses, min_similarity=min_similarity)
    unique: dict[tuple[int, int], CandidatePair] = {}
    for pair in pairs:
        if pair.left == pair.right:
            continue
        low, high = sorted((pair.left, pair.right))
        unique[(low, high)] = CandidatePair(low, high, pair.similarity, pair.relation)
    return list(unique.values())


def _group_by_domain(addresses: Sequence[Address]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, address in enumerate(addresses):
        blocks[address.domain].append(index)
    return blocks


def _domain_pairs(
    left_blocks: dict[str, list[int]], right_blocks: dict[str, list[int]]
) -> Iterator[tuple[str, str, DomainRelation]]:
    for domain in left_blocks.keys() & right_blocks.keys():
        yield domain, domain, DomainRelation.SAME

    for domain in left_blocks:
        known = typo_target(domain)
        if known is not None and known in right_blocks:
            yield domain, known, DomainRelation.TYPO
    for domain in right_blocks:
        known = typo_target(domain)
        if known is not None and known in left_blocks:
            yield known, domain, DomainRelation.TYPO


def typo_target(domain: str) -> str | None:
    """Return the well-known mail domain that `domain` is probably a typo of, or None.

    Uses the mailcheck-style suggester (see `sync.identity.suggest`) over the mailcheck
    lists plus WELL_KNOWN_MAIL_DOMAINS. A suggestion for a company domain, such as
    acme.cmo to acme.com, also counts, because "cmo" is not a top-level domain.
    """
    if domain in WELL_KNOWN_MAIL_DOMAINS:
        return None
    return _BLOCKING_SUGGESTER.suggest_domain(domain)


def _as_domain(address: Address, other_domain: str) -> Address:
    """Rewrite a typo-domain address as if it were at the well-known `other_domain`.

    So the provider rules of that domain apply to both sides: "john.smith@gmial.com"
    compares as "johnsmith" against Gmail local parts, which have no dots.
    """
    if address.domain == other_domain or other_domain not in WELL_KNOWN_MAIL_DOMAINS:
        return address
    corrected = normalize_email(f"{address.local}@{other_domain}")
    if corrected is None:
        return address
    return Address(split_email(corrected)[0], address.domain)


def _score_block(
    left: Sequence[Address], right: Sequence[Address], min_similarity: float
) -> Iterator[tuple[int, int, float]]:
    """Yield (left position, right position, similarity) for the alike pairs of a block."""
    if len(left) * len(right) <= MAX_FULL_BLOCK_PAIRS:
        yield from _score_all(left, right, range(len(left)), range(len(right)), min_similarity)
        return

    for window_left, window_right in _windows(left, right):
        yield from _score_all(left, right, window_left, window_right, min_similarity)


def _score_all(
    left: Sequence[Address],
    right: Sequence[Address],
    left_positions: Sequence[int],
    right_positions: Sequence[int],
    min_similarity: float,
) -> Iterator[tuple[int, int, float]]:
    if not left_positions or not right_positions:
        return

    left_locals = [left[i].local for i in left_positions]
    right_locals = [right[j].local for j in right_positions]
    if len(left_locals) * len(right_locals) <= 16:
        for i, left_local in zip(left_positions, left_locals):
            for j, right_local in zip(right_positions, right_locals):
                similarity = OSA.normalized_similarity(left_local, right_local)
                if similarity >= min_similarity:
                    yield i, j, similarity
        return

    scores = process.cdist(
        left_locals, right_locals, scorer=OSA.normalized_similarity, score_cutoff=min_similarity
    )
    rows, columns = scores.nonzero()
    for row, column in zip(rows.tolist(), columns.tolist()):
        yield left_positions[row], right_positions[column], float(scores[row, column])


def _windows(left: Sequence[Address], right: Sequence[Address]) -> Iterator[tuple[list[int], list[int]]]:
    """Yield the left and right positions of each sorted-neighbourhood window.

    NOTE: two addresses that differ near both ends of a long local part and sit more than
    WINDOW // 2 places apart in both sort orders are never compared.
    """
    members = [(address, "left", i) for i, address in enumerate(left)]
    members += [(address, "right", j) for j, address in enumerate(right)]

    # Sorting by the address alone, never by side or input position, keeps the windows
    # the same when the sides are swapped or the input is shuffled.
    for reverse in (False, True):
        ordered = sorted(members, key=lambda member: _sort_key(member[0], reverse))
        for start in range(0, max(len(ordered) - WINDOW // 2, 1), WINDOW // 2):
            window = ordered[start : start + WINDOW]
            yield _side(window, "left"), _side(window, "right")


def _sort_key(address: Address, reverse: bool) -> tuple[str, str]:
    local = address.local[::-1] if reverse else address.local
    return local, address.domain


def _side(window: Iterable[tuple[Address, str, int]], side: str) -> list[int]:
    return [index for _, member_side, index in window if member_side == side]
