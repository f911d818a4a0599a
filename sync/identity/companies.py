"""Matching of companies (HubSpot companies, Dataverse accounts) by domain, then by name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sync.identity.email import is_valid_domain
from sync.identity.match import Match, MatchMethod, MatchResult, ambiguities_of, exact_key_matches, finish_result
from sync.identity.text import normalize_company_name

# Score of a pair with the same name but two different domains. Such a pair is only
# proposed for review, because subsidiaries and namesakes look the same.
NAME_WITH_OTHER_DOMAIN_SCORE = 80.0


@dataclass(frozen=True)
class CompanyCandidate:
    """A company reduced to what matching compares. `domain` may be a website URL."""

    id: str
    name: str | None
    domain: str | None


def normalize_domain(raw: str | None) -> str | None:
    """Return the host name of a domain or website URL, or None when it has none.

    "HTTPS://www.Acme.com/about?x=1" becomes "acme.com". Only a leading "www." is
    dropped; other subdomains are kept.
    """
    if raw is None or not raw.strip():
        return None

    text = raw.strip().lower()
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return None

    host = host.rstrip(".").removeprefix("www.")
    return host if is_valid_domain(host) else None


def match_companies(left: Sequence[CompanyCandidate], right: Sequence[CompanyCandidate]) -> MatchResult:
    """Match companies by exact normalised domain, then by exact normalised name.

    A domain or name on more than one record of a side makes all those records
    ambiguous. Two records with the same name but different domains are not matched;
    they are proposed in `possible`.
    """
    left_domains = [normalize_domain(company.domain) for company in left]
    right_domains = [normalize_domain(company.domain) for company in right]
    result = MatchResult()

    by_domain = exact_key_matches(left_domains, right_domains, key_name="domain")
    left_ids = [company.id for company in left]
    right_ids = [company.id for company in right]
    result.ambiguous.extend(ambiguities_of(by_domain.ambiguous, left_ids, right_ids))
    for i, j in by_domain.pairs:
        result.matches.append(Match(left[i].id, right[j].id, 100.0, MatchMethod.EXACT, f"same domain {left_domains[i]}"))

    left_names = [normalize_company_name(left[i].name) for i in by_domain.unused_left]
    right_names = [normalize_company_name(right[j].name) for j in by_domain.unused_right]
    by_name = exact_key_matches(left_names, right_names, key_name="name")
    rest_left = [left[i] for i in by_domain.unused_left]
    rest_right = [right[j] for j in by_domain.unused_right]
    result.ambiguous.extend(
        ambiguities_of(by_name.ambiguous, [c.id for c in rest_left], [c.id for c in rest_right])
    )
    for i, j in by_name.pairs:
        _add_name_pair(result, rest_left[i], rest_right[j], left_names[i])

    finish_result(result, left_ids, right_ids)
    return result


def _add_name_pair(result: MatchResult, left: CompanyCandidate, right: CompanyCandidate, name: str | None) -> None:
    left_domain = normalize_domain(left.domain)
    right_domain = normalize_domain(right.domain)
    if left_domain and right_domain and left_domain != right_domain:
        evidence = f"same name {name}, but the domains {left_domain} and {right_domain} differ"
        result.possible.append(Match(left.id, right.id, NAME_WITH_OTHER_DOMAIN_SCORE, MatchMethod.EXACT, evidence))
        return
    result.matches.append(Match(left.id, right.id, 100.0, MatchMethod.EXACT, f"same name {name}"))
