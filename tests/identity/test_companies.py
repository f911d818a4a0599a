"""Company matching: by domain first, then by name without legal suffixes."""

import pytest

from sync.identity import CompanyCandidate, match_companies, normalize_company_name, normalize_domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.com", "acme.com"),
        ("ACME.com", "acme.com"),
        ("https://www.acme.com/about?x=1", "acme.com"),
        ("http://acme.com:8080", "acme.com"),
        ("www.acme.co.uk/", "acme.co.uk"),
        ("sales.acme.com", "sales.acme.com"),
        ("  ", None),
        (None, None),
        ("not a domain", None),
        ("localhost", None),
    ],
)
def test_normalize_domain(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ACME, Inc.", "acme"),
        ("Acme Inc", "acme"),
        ("Acme  Holdings   LLC", "acme holdings"),
        ("Acme L.L.C.", "acme"),
        ("Müller GmbH", "muller"),
        ("Globex Corp.", "globex"),
        ("Initech Ltd", "initech"),
        ("Horn, Shepard and Watson", "horn shepard and watson"),
        ("Horn, Shepard & Watson", "horn shepard and watson"),
        ("Company", "company"),
        ("", None),
    ],
)
def test_normalize_company_name(raw, expected):
    assert normalize_company_name(raw) == expected


def test_match_by_domain():
    left = [CompanyCandidate("h1", "Acme", "https://www.acme.com/")]
    right = [CompanyCandidate("d1", "ACME Corporation", "acme.com")]
    result = match_companies(left, right)
    assert [(m.left_id, m.right_id) for m in result.matches] == [("h1", "d1")]
    assert "domain" in result.matches[0].evidence


def test_match_by_name_with_suffixes():
    left = [CompanyCandidate("h1", "Globex, Inc.", None)]
    right = [CompanyCandidate("d1", "globex corp", "globex.com")]
    result = match_companies(left, right)
    assert [(m.left_id, m.right_id) for m in result.matches] == [("h1", "d1")]
    assert "name" in result.matches[0].evidence


def test_same_name_other_domains_only_possible():
    left = [CompanyCandidate("h1", "Summit Partners", "summit.com")]
    right = [CompanyCandidate("d1", "Summit Partners LLC", "summitpartners.io")]
    result = match_companies(left, right)
    assert result.matches == []
    assert [(m.left_id, m.right_id) for m in result.possible] == [("h1", "d1")]


def test_shared_domain_is_ambiguous():
    left = [CompanyCandidate("h1", "Acme", "acme.com")]
    right = [CompanyCandidate("d1", "Acme US", "acme.com"), CompanyCandidate("d2", "Acme EU", "acme.com")]
    result = match_companies(left, right)
    assert result.matches == []
    assert result.ambiguous[0].right_ids == ("d1", "d2")


def test_ambiguous_domain_not_matched_by_name():
    left = [CompanyCandidate("h1", "Acme", "acme.com")]
    right = [CompanyCandidate("d1", "Acme", "acme.com"), CompanyCandidate("d2", "Acme EU", "acme.com")]
    result = match_companies(left, right)
    assert result.matches == []
    assert result.unmatched_left == []


def test_shared_name_is_ambiguous():
    left = [CompanyCandidate("h1", "Initech", None), CompanyCandidate("h2", "Initech Ltd", None)]
    right = [CompanyCandidate("d1", "Initech", None)]
    result = match_companies(left, right)
    assert result.matches == []
    assert result.ambiguous[0].left_ids == ("h1", "h2")


def test_unmatched_companies_listed():
    left = [CompanyCandidate("h1", "Acme", "acme.com")]
    right = [CompanyCandidate("d1", "Globex", "globex.com")]
    result = match_companies(left, right)
    assert result.unmatched_left == ["h1"]
    assert result.unmatched_right == ["d1"]
