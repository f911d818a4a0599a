"""Identity: email normalisation, exact and fuzzy matching, duplicate clusters."""

from sync.identity.clusters import Cluster, find_duplicates
from sync.identity.companies import CompanyCandidate, match_companies, normalize_domain
from sync.identity.email import EmailRules, normalize_email
from sync.identity.match import Ambiguity, Candidate, Match, MatchMethod, MatchResult, match_contacts
from sync.identity.text import normalize_company_name

__all__ = [
    "Ambiguity",
    "Candidate",
    "Cluster",
    "CompanyCandidate",
    "EmailRules",
    "Match",
    "MatchMethod",
    "MatchResult",
    "find_duplicates",
    "match_companies",
    "match_contacts",
    "normalize_company_name",
    "normalize_domain",
    "normalize_email",
]
