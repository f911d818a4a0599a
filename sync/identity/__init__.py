"""Identity: email normalisation, exact and fuzzy matching, duplicate clusters."""

from sync.identity.clusters import Cluster, find_duplicates
from sync.identity.companies import CompanyCandidate, match_companies, normalize_domain
from sync.identity.email import EmailRules, normalize_email
from sync.identity.keys import split_additional_emails
from sync.identity.match import Ambiguity, Candidate, Match, MatchMethod, MatchResult, match_contacts
from sync.identity.suggest import DomainSuggester, DomainSuggestion, suggest_domain
from sync.identity.text import normalize_company_name, normalize_phone

__all__ = [
    "Ambiguity",
    "Candidate",
    "Cluster",
    "CompanyCandidate",
    "DomainSuggester",
    "DomainSuggestion",
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
    "normalize_phone",
    "split_additional_emails",
    "suggest_domain",
]
