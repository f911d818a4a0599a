"""The review queue of possible matches, on SQLite and on PostgreSQL when configured."""

import pytest

from sync.model import Kind
from sync.state import (
    Link,
    ReviewDecision,
    ReviewLinkedError,
    ReviewNotFoundError,
    ReviewQueue,
    StateConflictError,
    StateStore,
)


@pytest.fixture
def queue(store, clock):
    return ReviewQueue(store, clock=clock)


def test_added_item_is_pending(queue, clock):
    item = queue.add(Kind.CONTACT, "h1", "d1", 85.0, "email local part 90/100")
    assert item is not None
    assert item.decision is ReviewDecision.PENDING
    assert item.created_at == clock.now
    assert [pending.id for pending in queue.pending()] == [item.id]


def test_pending_keeps_evidence(queue):
    queue.add(Kind.CONTACT, "h1", "d1", 85.0, "first name agrees +5")
    assert queue.pending()[0].evidence == "first name agrees +5"


def test_pending_sorted_by_score(queue):
    queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    queue.add(Kind.CONTACT, "h2", "d2", 90.0, "b")
    assert [item.hubspot_id for item in queue.pending()] == ["h2", "h1"]


def test_pending_filters_kind(queue):
    queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    queue.add(Kind.COMPANY, "h2", "d2", 80.0, "b")
    assert [item.hubspot_id for item in queue.pending(Kind.COMPANY)] == ["h2"]


def test_add_again_refreshes_pending(queue):
    first = queue.add(Kind.CONTACT, "h1", "d1", 80.0, "old")
    second = queue.add(Kind.CONTACT, "h1", "d1", 88.0, "new")
    assert second.id == first.id
    assert second.score == 88.0
    assert len(queue.pending()) == 1


def test_accept_records_decision(queue, clock):
    item = queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    clock.advance(60)
    accepted = queue.accept(item.id)
    assert accepted.decision is ReviewDecision.ACCEPTED
    assert accepted.decided_at == clock.now
    assert queue.pending() == []
    assert [found.id for found in queue.accepted(Kind.CONTACT)] == [item.id]


def test_accepted_pair_stays_accepted(queue):
    item = queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    queue.accept(item.id)
    again = queue.add(Kind.CONTACT, "h1", "d1", 70.0, "b")
    assert again.decision is ReviewDecision.ACCEPTED
    assert again.score == 80.0


def test_rejected_pair_never_proposed_again(queue):
    item = queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    queue.reject(item.id)
    assert queue.add(Kind.CONTACT, "h1", "d1", 95.0, "a") is None
    assert queue.pending() == []


def test_decision_of_pairs(queue):
    accepted = queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    rejected = queue.add(Kind.CONTACT, "h2", "d2", 80.0, "b")
    queue.add(Kind.CONTACT, "h3", "d3", 80.0, "c")
    queue.accept(accepted.id)
    queue.reject(rejected.id)
    assert queue.decision(Kind.CONTACT, "h1", "d1") is ReviewDecision.ACCEPTED
    assert queue.decision(Kind.CONTACT, "h2", "d2") is ReviewDecision.REJECTED
    assert queue.decision(Kind.CONTACT, "h3", "d3") is ReviewDecision.PENDING
    assert queue.decision(Kind.CONTACT, "h9", "d9") is None
    assert queue.decision(Kind.COMPANY, "h1", "d1") is None


def test_unknown_id_is_not_found(queue):
    with pytest.raises(ReviewNotFoundError, match="review id 42"):
        queue.accept(42)


def test_reject_unknown_id(queue):
    with pytest.raises(ReviewNotFoundError):
        queue.reject(7)


def test_reject_linked_pair_refused(queue, store):
    item = queue.add(Kind.CONTACT, "101", "d-101", 100.0, "same email")
    queue.accept(item.id)
    store.commit_batch(links=[Link.new(Kind.CONTACT, "101", "d-101")])

    with pytest.raises(ReviewLinkedError, match="linked already"):
        queue.reject(item.id)
    assert queue.decision(Kind.CONTACT, "101", "d-101") is ReviewDecision.ACCEPTED


def test_second_accept_for_record_conflicts(queue):
    first = queue.add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    second = queue.add(Kind.CONTACT, "h1", "d2", 79.0, "b")
    queue.accept(first.id)
    with pytest.raises(StateConflictError, match=f"reject {first.id} first"):
        queue.accept(second.id)
    assert queue.decision(Kind.CONTACT, "h1", "d2") is ReviewDecision.PENDING


def test_decisions_survive_reopening(database_url, clock):
    store = StateStore(database_url, clock=clock)
    item = ReviewQueue(store, clock=clock).add(Kind.CONTACT, "h1", "d1", 80.0, "a")
    ReviewQueue(store, clock=clock).reject(item.id)
    store.close()

    reopened = StateStore(database_url, clock=clock)
    try:
        assert ReviewQueue(reopened).decision(Kind.CONTACT, "h1", "d1") is ReviewDecision.REJECTED
    finally:
        reopened.close()
