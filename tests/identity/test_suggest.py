"""Domain typo suggestions: the mailcheck spec cases and the guards for real domains."""

import json
from pathlib import Path

import pytest

from sync.identity import DomainSuggester, suggest_domain

FIXTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mailcheck_domains.json"


def _spec():
    if not FIXTURE.exists():
        pytest.skip(f"{FIXTURE} is absent, so the mailcheck spec cases cannot run")
    return json.loads(FIXTURE.read_text())["spec_fixture"]


def _spec_suggester(case, spec):
    if not case["uses_second_and_top_level_lists"]:
        return DomainSuggester(spec["domains"], (), ())
    return DomainSuggester(spec["domains"], spec["secondLevelDomains"], spec["topLevelDomains"])


def test_spec_typos_are_suggested():
    spec = _spec()
    assert len(spec["expected_suggestions"]) == 13
    for case in spec["expected_suggestions"]:
        suggestion = _spec_suggester(case, spec).suggest(case["input"])
        assert suggestion is not None, case["input"]
        assert suggestion.domain == case["expected_domain"], case["input"]


def test_spec_valid_inputs_get_nothing():
    spec = _spec()
    assert len(spec["expected_no_suggestion"]) == 11
    for case in spec["expected_no_suggestion"]:
        assert _spec_suggester(case, spec).suggest(case["input"]) is None, case["input"]


def test_suggestion_keeps_local_part():
    suggestion = suggest_domain("Pat.Lee@gmial.com")
    assert suggestion is not None
    assert suggestion.address == "pat.lee@gmail.com"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pat@hotmial.com", "hotmail.com"),
        ("pat@yahoo.cmo", "yahoo.com"),
        ("pat@msn.con", "msn.com"),
        ("pat@acme.cmo", "acme.com"),
    ],
)
def test_default_lists_suggest(raw, expected):
    suggestion = suggest_domain(raw)
    assert suggestion is not None
    assert suggestion.domain == expected


@pytest.mark.parametrize(
    "raw",
    [
        "pat@acme.co",  # a real top-level domain, not a typo of .com
        "pat@mic.com",  # a real domain one edit from mac.com
        "pat@gm.com",  # gmx is too short a provider name to correct towards
        "pat@olive.com",  # one edit from live.com
        "pat@ymail.com",  # a known domain itself, one edit from gmail.com
        "pat@gmail.com",
        "pat@yahoo.co.uk",
    ],
)
def test_real_domains_are_kept(raw):
    assert suggest_domain(raw) is None


def test_empty_lists_suggest_nothing():
    assert DomainSuggester((), (), ()).suggest("pat@gmial.com") is None
