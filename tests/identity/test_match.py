"""Contact matching: exact email, ambiguity, fuzzy with evidence, symmetry, speed."""

import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.identity import Candidate, MatchMethod, match_contacts


def pairs_of(result):
    return {(match.left_id, match.right_id) for match in result.matches}


def test_exact_email_matches():
    left = [Candidate("h1", "Pat.Lee@Acme.com")]
    right = [Candidate("d1", " pat.lee@acme.com ")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}
    assert result.matches[0].method is MatchMethod.EXACT


def test_exact_match_uses_provider_rules():
    left = [Candidate("h1", "pat.lee+crm@googlemail.com")]
    right = [Candidate("d1", "patlee@gmail.com")]
    assert pairs_of(match_contacts(left, right)) == {("h1", "d1")}


def test_shared_email_is_ambiguous():
    """Two right records with one email and one left record: nothing is matched."""
    left = [Candidate("h1", "pat@acme.com")]
    right = [Candidate("d1", "pat@acme.com"), Candidate("d2", "PAT@acme.com")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert len(result.ambiguous) == 1
    assert result.ambiguous[0].left_ids == ("h1",)
    assert result.ambiguous[0].right_ids == ("d1", "d2")
    assert "pat@acme.com" in result.ambiguous[0].reason


def test_ambiguous_ids_are_not_unmatched():
    left = [Candidate("h1", "pat@acme.com")]
    right = [Candidate("d1", "pat@acme.com"), Candidate("d2", "pat@acme.com")]
    result = match_contacts(left, right)
    assert result.unmatched_left == []
    assert result.unmatched_right == []


def test_ambiguous_records_skip_fuzzy():
    """A record held back as ambiguous must not be matched by a near-equal email either."""
    left = [Candidate("h1", "jonathan.smith@acme.com", "Jonathan", "Smith"),
            Candidate("h2", "jonathan.smith@acme.com", "Jonathan", "Smith")]
    right = [Candidate("d1", "jonathan.smiht@acme.com", "Jonathan", "Smith")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert result.unmatched_right == ["d1"]


def test_fuzzy_transposition_same_name_matches():
    left = [Candidate("h1", "john.smith@acme.com", "John", "Smith")]
    right = [Candidate("d1", "jhon.smith@acme.com", "John", "Smith")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}
    assert result.matches[0].method is MatchMethod.FUZZY
    assert "first name agrees" in result.matches[0].evidence


def test_fuzzy_different_first_names_not_matched():
    left = [Candidate("h1", "john.smith@acme.com", "John", "Smith")]
    right = [Candidate("d1", "jon.smith@acme.com", "Jon", "Smith")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert result.unmatched_left == ["h1"]
    assert result.unmatched_right == ["d1"]


def test_fuzzy_without_names_is_only_possible():
    left = [Candidate("h1", "john.smith@acme.com")]
    right = [Candidate("d1", "jhon.smith@acme.com")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert [(m.left_id, m.right_id) for m in result.possible] == [("h1", "d1")]


def test_fuzzy_other_domain_not_matched():
    left = [Candidate("h1", "john.smith@acme.com", "John", "Smith")]
    right = [Candidate("d1", "john.smith@globex.com", "John", "Smith")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert result.possible == []


def test_fuzzy_domain_typo_with_same_name_matches():
    left = [Candidate("h1", "john.smith@gmial.com", "John", "Smith")]
    right = [Candidate("d1", "johnsmith@gmail.com", "John", "Smith")]
    result = match_contacts(left, right)
    assert pairs_of(result) == {("h1", "d1")}
    assert "domain typo" in result.matches[0].evidence


def test_company_domain_typo_not_assumed():
    """acme.co and acme.com are often two real companies."""
    left = [Candidate("h1", "pat.lee@acme.co", "Pat", "Lee")]
    right = [Candidate("d1", "pat.lee@acme.com", "Pat", "Lee")]
    assert match_contacts(left, right).matches == []


def test_same_phone_lifts_to_match():
    left = [Candidate("h1", "john.smith@acme.com", phone="+1 (415) 555-0100")]
    right = [Candidate("d1", "jhon.smith@acme.com", phone="415.555.0100")]
    assert pairs_of(match_contacts(left, right)) == {("h1", "d1")}


def test_other_phone_lowers_score():
    left = [Candidate("h1", "john.smith@acme.com", phone="415 555 0100")]
    right = [Candidate("d1", "jhon.smith@acme.com", phone="212 555 0199")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert result.possible[0].score == 85.0


def test_mutual_best_only():
    """Two left records equally close to one right record: neither is matched."""
    left = [Candidate("h1", "jhon.smith@acme.com", "John", "Smith"),
            Candidate("h2", "jonh.smith@acme.com", "John", "Smith")]
    right = [Candidate("d1", "john.smith@acme.com", "John", "Smith")]
    result = match_contacts(left, right)
    assert result.matches == []
    assert len(result.possible) == 2


def test_each_record_matched_once():
    left = [Candidate("h1", "john.smith@acme.com", "John", "Smith"),
            Candidate("h2", "jhon.smith@acme.com", "John", "Smith")]
    right = [Candidate("d1", "john.smith@acme.com", "John", "Smith"),
             Candidate("d2", "jonh.smith@acme.com", "John", "Smith")]
    result = match_contacts(left, right)
    lefts = [m.left_id for m in result.matches]
    rights = [m.right_id for m in result.matches]
    assert len(lefts) == len(set(lefts))
    assert len(rights) == len(set(rights))
    assert ("h1", "d1") in pairs_of(result)


def test_missing_email_is_unmatched():
    result = match_contacts([Candidate("h1", None, "Pat", "Lee")], [Candidate("d1", "not an email")])
    assert result.unmatched_left == ["h1"]
    assert result.unmatched_right == ["d1"]


# Property tests: a small alphabet and domain set make near-duplicates and ties common.
_locals = st.text(alphabet="abjnos.", min_size=3, max_size=8).filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s)
_candidate_fields = st.tuples(
    _locals,
    st.sampled_from(["acme.com", "gmail.com", "gmial.com"]),
    st.sampled_from([None, "John", "Jon"]),
    st.sampled_from([None, "Smith"]),
)
_sides = st.lists(_candidate_fields, max_size=12)


def _build(fields, prefix):
    return [Candidate(f"{prefix}{i}", f"{local}@{domain}", first, last) for i, (local, domain, first, last) in enumerate(fields)]


def _summary(result, swap=False):
    def pair(left_id, right_id):
        return (right_id, left_id) if swap else (left_id, right_id)

    return (
        sorted(pair(m.left_id, m.right_id) + (m.score, str(m.method)) for m in result.matches),
        sorted(pair(m.left_id, m.right_id) + (m.score,) for m in result.possible),
        sorted(pair(a.left_ids, a.right_ids) for a in result.ambiguous),
        sorted(result.unmatched_right if swap else result.unmatched_left),
    )


@settings(max_examples=200, deadline=None)
@given(_sides, _sides)
def test_matching_is_symmetric(left_fields, right_fields):
    left, right = _build(left_fields, "h"), _build(right_fields, "d")
    assert _summary(match_contacts(left, right)) == _summary(match_contacts(right, left), swap=True)


@settings(max_examples=200, deadline=None)
@given(_sides, _sides, st.randoms(use_true_random=False))
def test_matching_ignores_input_order(left_fields, right_fields, rng):
    left, right = _build(left_fields, "h"), _build(right_fields, "d")
    shuffled_left, shuffled_right = list(left), list(right)
    rng.shuffle(shuffled_left)
    rng.shuffle(shuffled_right)
    assert _summary(match_contacts(left, right)) == _summary(match_contacts(shuffled_left, shuffled_right))


def _synthetic_people(count, rng):
    first_names = ["ann", "bob", "cara", "dan", "eve", "finn", "gus", "hana", "ivan", "jo"]
    domains = ["gmail.com", "acme.com", "globex.com"] + [f"firm{n}.com" for n in range(2000)]
    people = []
    for index in range(count):
        first = rng.choice(first_names)
        last = f"{rng.choice(['lee', 'kim', 'park', 'chen', 'smith'])}{index}"
        people.append((f"{first}.{last}", rng.choice(domains), first, last))
    return people


def _typo(local, rng):
    """Transpose the first two letters of the last name, or the first two letters of the first name.

    The index that ends every last name keeps each typo from hitting another person's address.
    """
    first, last = local.split(".")
    if rng.random() < 0.5:
        return f"{first}.{last[1]}{last[0]}{last[2:]}"
    return f"{first[1]}{first[0]}{first[2:]}.{last}"


def test_ten_thousand_each_side_is_fast():
    """10,000 x 10,000 with a third of the right side carrying a transposition typo."""
    rng = random.Random(7)
    people = _synthetic_people(10_000, rng)
    left = [Candidate(f"h{i}", f"{local}@{domain}", first, last) for i, (local, domain, first, last) in enumerate(people)]
    right = []
    for i, (local, domain, first, last) in enumerate(people):
        if i % 3 == 0:
            local = _typo(local, rng)
        right.append(Candidate(f"d{i}", f"{local}@{domain}", first, last))

    started = time.perf_counter()
    result = match_contacts(left, right)
    elapsed = time.perf_counter() - started

    correct = sum(1 for m in result.matches if m.left_id[1:] == m.right_id[1:])
    assert elapsed < 5.0
    assert correct == len(result.matches)
    assert correct >= 9_900


def test_large_block_uses_windows_and_finds_typos():
    """One domain with 3,000 records a side is cut into sorted-neighbourhood windows."""
    rng = random.Random(11)
    people = [(local, "acme.com", first, last) for local, _, first, last in _synthetic_people(3_000, rng)]
    left = [Candidate(f"h{i}", f"{local}@{domain}", first, last) for i, (local, domain, first, last) in enumerate(people)]
    right = [
        Candidate(f"d{i}", f"{_typo(local, rng)}@{domain}", first, last)
        for i, (local, domain, first, last) in enumerate(people)
    ]
    result = match_contacts(left, right)
    correct = sum(1 for m in result.matches if m.left_id[1:] == m.right_id[1:])
    assert correct == len(result.matches)
    assert correct >= 2_900
