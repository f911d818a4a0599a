"""Matching stages after the primary email: further addresses, name with phone or company."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.identity import Candidate, MatchMethod, match_contacts, normalize_phone, split_additional_emails
from sync.identity.text import phone_key


def pairs_of(result):
    return {(match.left_id, match.right_id) for match in result.matches}


def possible_of(result):
    return {(match.left_id, match.right_id) for match in result.possible}


def test_split_additional_emails():
    assert split_additional_emails("a@x.com; b@y.com;;c@z.com") == ("a@x.com", "b@y.com", "c@z.com")


def test_split_additional_emails_empty():
    assert split_additional_emails(None) == ()


def test_e164_with_country_code():
    assert normalize_phone("+44 (0)20 7946 0958") == "+442079460958"


def test_e164_with_region():
    assert normalize_phone("(415) 555-0100 x12", "US") == "+14155550100"


def test_e164_without_region_is_none():
    assert normalize_phone("415 555 0100") is None


def test_e164_impossible_length_is_none():
    assert normalize_phone("+1 555 01") is None


def test_phone_key_drops_trunk_prefix():
    assert phone_key("+44 (0)20 7946 0958") == phone_key("020 7946 0958")


def test_additional_email_matches():
    """HubSpot keeps the old work address in hs_additional_emails; Dynamics has only it."""
    left = [Candidate("h1", "pat@home.example", emails=("Pat.Lee@Acme.com",))]
    right = [Candidate("d1", "pat.lee@acme.com")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}
    assert result.matches[0].method is MatchMethod.EXACT
    assert "further addresses" in result.matches[0].evidence


def test_additional_email_on_two_records_not_matched():
    left = [Candidate("h1", "a@x.com", emails=("pat@acme.com",)), Candidate("h2", "b@x.com", emails=("pat@acme.com",))]
    right = [Candidate("d1", "pat@acme.com")]
    assert match_contacts(left, right).matches == []


def test_additional_emails_to_two_partners_not_matched():
    left = [Candidate("h1", "a@x.com", emails=("b@x.com",))]
    right = [Candidate("d1", "a@x.com"), Candidate("d2", "b@x.com")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}


def test_name_and_phone_without_email_matches():
    left = [Candidate("h1", None, "Pat", "Lee", phone="+1 415 555 0100")]
    right = [Candidate("d1", None, "pat", "LEE", phone="+1 (415) 555-0100")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}
    assert result.matches[0].method is MatchMethod.NAME_PHONE


def test_name_and_phone_needs_region_for_local_numbers():
    left = [Candidate("h1", None, "Pat", "Lee", phone="+1 415 555 0100")]
    right = [Candidate("d1", None, "Pat", "Lee", phone="(415) 555-0100")]
    assert match_contacts(left, right).matches == []
    assert pairs_of(match_contacts(left, right, phone_region="US")) == {("h1", "d1")}


def test_name_and_phone_one_email_matches():
    left = [Candidate("h1", "pat@acme.com", "Pat", "Lee", phone="+1 415 555 0100")]
    right = [Candidate("d1", None, "Pat", "Lee", phone="+14155550100")]
    assert pairs_of(match_contacts(left, right)) == {("h1", "d1")}


def test_name_and_phone_two_emails_only_possible():
    left = [Candidate("h1", "pat@acme.com", "Pat", "Lee", phone="+1 415 555 0100")]
    right = [Candidate("d1", "pat.lee@home.example", "Pat", "Lee", phone="+14155550100")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert possible_of(result) == {("h1", "d1")}


def test_name_and_company_matches():
    left = [Candidate("h1", None, "Pat", "Lee", company="ACME, Inc.")]
    right = [Candidate("d1", None, "Pat", "Lee", company="Acme")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}
    assert result.matches[0].method is MatchMethod.NAME_COMPANY


def test_name_and_company_other_phone_only_possible():
    left = [Candidate("h1", None, "Pat", "Lee", phone="+1 415 555 0100", company="Acme")]
    right = [Candidate("d1", None, "Pat", "Lee", phone="+1 212 555 0199", company="Acme")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert possible_of(result) == {("h1", "d1")}


def test_shared_name_key_not_matched():
    """Two Pat Lees at Acme without email: the right one cannot be attributed."""
    left = [Candidate("h1", None, "Pat", "Lee", company="Acme"), Candidate("h2", None, "Pat", "Lee", company="Acme")]
    right = [Candidate("d1", None, "Pat", "Lee", company="Acme")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert result.unmatched_right == ["d1"]


def test_name_alone_not_matched():
    left = [Candidate("h1", None, "Pat", "Lee")]
    right = [Candidate("d1", None, "Pat", "Lee")]
    assert match_contacts(left, right).matches == []


def test_same_surname_domain_other_person():
    """john.smith@ and jon.smith@ at one company with different first names stay apart."""
    left = [Candidate("h1", "john.smith@acme.com", "John", "Smith", company="Acme")]
    right = [Candidate("d1", "jon.smith@acme.com", "Jon", "Smith", company="Acme")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert result.possible == []


def test_possible_dropped_when_matched_later():
    """A fuzzy possible pair is withdrawn when a name stage matches one of its records."""
    left = [Candidate("h1", "john.smith@acme.com", "John", "Smith", phone="+1 415 555 0100")]
    right = [
        Candidate("d1", "jhon.smith@acme.com", None, None, phone="+1 212 555 0199"),
        Candidate("d2", None, "John", "Smith", phone="+14155550100"),
    ]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d2")}
    assert result.possible == []


# Property tests with the fields of every stage: few values make shared keys common.
_fields = st.tuples(
    st.sampled_from([None, "pat@acme.com", "pta@acme.com", "pat@gmial.com", "lee@acme.com"]),
    st.sampled_from([(), ("pat@acme.com",), ("lee@acme.com", "x@y.com")]),
    st.sampled_from([None, "Pat", "Pta"]),
    st.sampled_from([None, "Lee"]),
    st.sampled_from([None, "+1 415 555 0100", "+1 212 555 0199"]),
    st.sampled_from([None, "Acme", "Globex"]),
)
_sides = st.lists(_fields, max_size=8)


def _build(fields, prefix):
    return [
        Candidate(f"{prefix}{i}", email, first, last, phone, company, extra)
        for i, (email, extra, first, last, phone, company) in enumerate(fields)
    ]


def _summary(result, swap=False):
    def pair(left_id, right_id):
        return (right_id, left_id) if swap else (left_id, right_id)

    return (
        sorted(pair(m.left_id, m.right_id) + (m.score, str(m.method)) for m in result.matches),
        sorted(pair(m.left_id, m.right_id) + (m.score,) for m in result.possible),
        sorted(pair(a.left_ids, a.right_ids) for a in result.ambiguous),
    )


@settings(max_examples=300, deadline=None)
@given(_sides, _sides)
def test_all_stages_symmetric(left_fields, right_fields):
    left, right = _build(left_fields, "h"), _build(right_fields, "d")
    assert _summary(match_contacts(left, right)) == _summary(match_contacts(right, left), swap=True)


@settings(max_examples=300, deadline=None)
@given(_sides, _sides, st.randoms(use_true_random=False))
def test_all_stages_ignore_order(left_fields, right_fields, rng: random.Random):
    left, right = _build(left_fields, "h"), _build(right_fields, "d")
    shuffled_left, shuffled_right = list(left), list(right)
    rng.shuffle(shuffled_left)
    rng.shuffle(shuffled_right)
    assert _summary(match_contacts(left, right)) == _summary(match_contacts(shuffled_left, shuffled_right))
