"""Suggestions for mistyped email domains: "pat@gmial.con" probably meant gmail.com.

The approach follows mailcheck (MIT licence, see `sync.identity.known_domains`). A domain
is first compared as a whole with a list of known mail domains. When none is close, its
first label ("hotmial") and the rest ("cmo") are compared with a list of provider names
and a list of top-level domains, and each part is corrected on its own.

Distances are optimal string alignment edits, so a swap of two letters costs one edit.
Three guards keep a real domain that only looks like a known one from being "corrected":

- a known domain shorter than SHORT_DOMAIN_LENGTH is suggested only for an input whose
  top-level part is not a top-level domain ("msn.con"), because "mic.com" and "max.com"
  are real domains one edit away from mac.com;
- a provider name shorter than MIN_PROVIDER_NAME_LENGTH ("gmx", "mail", "live") is never
  suggested, because "gm.com" or "olive.com" belong to someone else;
- the top-level part is corrected only when it is not a real top-level domain, unless the
  first label is a provider name ("hotmail.co" is a typo, "acme.co" is a company).

A suggestion is a hint for a person or a weaker match signal; it never rewrites an address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from sync.identity.known_domains import (
    MAILCHECK_DOMAINS,
    MAILCHECK_SECOND_LEVEL_DOMAINS,
    MAILCHECK_TOP_LEVEL_DOMAINS,
)

MAX_EDITS = 2
SHORT_DOMAIN_LENGTH = 8
MIN_PROVIDER_NAME_LENGTH = 5
# Domains whose suggestion a suggester keeps; the cache is emptied when it is full.
CACHE_SIZE = 200_000
# Real top-level domains that are not in the mailcheck list but are common in business
# addresses. A typo suggestion never replaces one of these or of the mailcheck list.
EXTRA_REAL_TOP_LEVEL_DOMAINS: frozenset[str] = frozenset(
    {
        "co", "io", "ai", "app", "dev", "me", "tv", "cc", "ly", "to", "fm", "am", "is", "pl",
        "pt", "br", "mx", "ar", "cl", "au", "nz", "za", "cn", "tw", "ro", "sk", "fi", "lt",
        "lv", "ee", "ua", "tech", "online", "site", "store", "shop", "cloud", "agency",
        "email", "name", "pro", "xyz", "ca", "de", "uk",
    }
)


@dataclass(frozen=True)
class DomainSuggestion:
    """A probably intended address: `address` is the input with `domain` in place."""

    address: str
    domain: str


class DomainSuggester:
    """Suggest a known domain for a mistyped one.

    `domains` are whole mail domains; `second_level_domains` are provider names that run
    mail under several top-level domains; `top_level_domains` are the parts after the
    first label. Order matters: of two equally close entries, the earlier one wins.
    """

    def __init__(
        self,
        domains: Iterable[str] = MAILCHECK_DOMAINS,
        second_level_domains: Iterable[str] = MAILCHECK_SECOND_LEVEL_DOMAINS,
        top_level_domains: Iterable[str] = MAILCHECK_TOP_LEVEL_DOMAINS,
    ) -> None:
        self.domains = tuple(dict.fromkeys(domains))
        self.second_level_domains = tuple(dict.fromkeys(second_level_domains))
        self.top_level_domains = tuple(dict.fromkeys(top_level_domains))
        self._real_top_level = frozenset(self.top_level_domains) | EXTRA_REAL_TOP_LEVEL_DOMAINS
        self._cache: dict[str, str | None] = {}

    def suggest(self, raw: str | None) -> DomainSuggestion | None:
        """Return the address with its domain corrected, or None when nothing is suggested.

        None is returned for a domain that looks right, one too far from every known
        domain, and text that is not `local@domain.tld`.
        """
        if not raw:
            return None
        local, at, domain = raw.strip().lower().rpartition("@")
        if not at or not local:
            return None

        corrected = self.suggest_domain(domain)
        if corrected is None:
            return None
        return DomainSuggestion(f"{local}@{corrected}", corrected)

    def suggest_domain(self, domain: str) -> str | None:
        """Return the known domain that `domain` is probably a typo of, or None.

        Results are cached per domain, so a call per record of a large set is cheap.
        """
        domain = domain.strip().lower()
        if domain in self._cache:
            return self._cache[domain]
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        suggestion = self._cache[domain] = self._suggest_uncached(domain)
        return suggestion

    def _suggest_uncached(self, domain: str) -> str | None:
        first_label, dot, rest = domain.partition(".")
        if not dot or not first_label or not rest:
            return None
        if first_label in self.second_level_domains and rest in self.top_level_domains:
            return None
        if domain in self.domains:
            return None

        whole = self._closest_domain(domain, rest)
        if whole is not None:
            return whole
        return self._corrected_parts(first_label, rest)

    def _closest_domain(self, domain: str, rest: str) -> str | None:
        found = _closest(domain, self.domains)
        if found is None:
            return None
        if len(found) < SHORT_DOMAIN_LENGTH and (rest in self._real_top_level or OSA.distance(domain, found) > 1):
            return None
        return found

    def _corrected_parts(self, first_label: str, rest: str) -> str | None:
        providers = [name for name in self.second_level_domains if len(name) >= MIN_PROVIDER_NAME_LENGTH]
        new_first = _closest(first_label, providers) or first_label
        is_provider = new_first in self.second_level_domains

        new_rest = rest
        if rest not in self._real_top_level or is_provider:
            new_rest = _closest(rest, self.top_level_domains) or rest

        if (new_first, new_rest) == (first_label, rest):
            return None
        return f"{new_first}.{new_rest}"


def _closest(text: str, choices: Iterable[str]) -> str | None:
    """Return the first of the choices nearest to `text` within MAX_EDITS edits, or None."""
    found = process.extractOne(text, list(choices), scorer=OSA.distance, score_cutoff=MAX_EDITS)
    return None if found is None else found[0]


DEFAULT_SUGGESTER = DomainSuggester()


def suggest_domain(raw: str | None) -> DomainSuggestion | None:
    """Suggest a corrected address for `raw` with the mailcheck default lists, or None."""
    return DEFAULT_SUGGESTER.suggest(raw)
