"""The state store API, on SQLite and (when configured) on PostgreSQL."""

import pytest

from sync.errors import ConfigError
from sync.model import Kind, System
from sync.state import Link, PendingWrite, RunMode, RunOutcome, StateConflictError, StateStore


def test_links_empty_at_start(store):
    assert store.links(Kind.CONTACT) == []


def test_commit_batch_stores_link(store):
    link = Link.new(Kind.CONTACT, "101", "d-101")
    store.commit_batch(links=[link])
    assert store.links(Kind.CONTACT) == [link]


def test_links_filtered_by_kind(store):
    store.commit_batch(links=[Link.new(Kind.CONTACT, "1", "d1"), Link.new(Kind.COMPANY, "1", "d1")])
    assert [link.kind for link in store.links(Kind.COMPANY)] == [Kind.COMPANY]


def test_link_for_either_system(store):
    link = Link.new(Kind.DEAL, "7", "d-7")
    store.commit_batch(links=[link])
    assert store.link_for(System.HUBSPOT, Kind.DEAL, "7") == link
    assert store.link_for(System.DYNAMICS, Kind.DEAL, "d-7") == link


def test_link_for_unknown_is_none(store):
    store.commit_batch(links=[Link.new(Kind.DEAL, "7", "d-7")])
    assert store.link_for(System.HUBSPOT, Kind.CONTACT, "7") is None


def test_link_by_id(store):
    link = Link.new(Kind.COMPANY, "5", "d-5")
    store.commit_batch(links=[link])
    assert store.link_by_id(link.id) == link
    assert store.link_by_id("no-such-link") is None


def test_link_record_id_per_system():
    link = Link("id", Kind.CONTACT, "h", "d")
    assert link.record_id(System.HUBSPOT) == "h"
    assert link.record_id(System.DYNAMICS) == "d"


def test_link_upsert_updates_ids(store):
    link = Link.new(Kind.CONTACT, "1", "d1")
    store.commit_batch(links=[link])
    moved = Link(link.id, Kind.CONTACT, "2", "d1")
    store.commit_batch(links=[moved])
    assert store.links(Kind.CONTACT) == [moved]


def test_second_link_for_record_rejected(store):
    store.commit_batch(links=[Link.new(Kind.CONTACT, "1", "d1")])
    with pytest.raises(StateConflictError, match="HubSpot 1"):
        store.commit_batch(links=[Link.new(Kind.CONTACT, "1", "d2")])


def test_synced_values_round_trip(store):
    link = Link.new(Kind.CONTACT, "1", "d1")
    values = {"email": "pat@acme.com", "score": 3, "vip": True, "tags": ["a"], "phone": None}
    store.commit_batch(links=[link], synced={link.id: values})
    assert store.synced_values(link.id) == values


def test_synced_values_unknown_is_none(store):
    assert store.synced_values("no-such-link") is None


def test_synced_values_upsert(store):
    link = Link.new(Kind.CONTACT, "1", "d1")
    store.commit_batch(links=[link], synced={link.id: {"a": 1}})
    store.commit_batch(synced={link.id: {"a": 2}})
    assert store.synced_values(link.id) == {"a": 2}


def test_all_synced_by_kind(store):
    contact = Link.new(Kind.CONTACT, "1", "d1")
    company = Link.new(Kind.COMPANY, "1", "d1")
    store.commit_batch(links=[contact, company], synced={contact.id: {"a": 1}, company.id: {"b": 2}})
    assert store.all_synced(Kind.CONTACT) == {contact.id: {"a": 1}}


def test_cursor_round_trip(store):
    store.commit_batch(cursors={(System.HUBSPOT, Kind.CONTACT): "2024-05-01T00:00:00Z"})
    assert store.cursor(System.HUBSPOT, Kind.CONTACT) == "2024-05-01T00:00:00Z"
    assert store.cursor(System.DYNAMICS, Kind.CONTACT) is None


def test_cursor_upsert(store):
    store.commit_batch(cursors={(System.DYNAMICS, Kind.DEAL): "token-1"})
    store.commit_batch(cursors={(System.DYNAMICS, Kind.DEAL): "token-2"})
    assert store.cursor(System.DYNAMICS, Kind.DEAL) == "token-2"


def test_batch_is_atomic(store):
    """Values that are not JSON fail the batch, and its links and cursors are not stored."""
    link = Link.new(Kind.CONTACT, "1", "d1")
    with pytest.raises(TypeError, match=link.id):
        store.commit_batch(
            links=[link], synced={link.id: {"when": object()}}, cursors={(System.HUBSPOT, Kind.CONTACT): "c"}
        )
    assert store.links(Kind.CONTACT) == []
    assert store.cursor(System.HUBSPOT, Kind.CONTACT) is None


def test_batch_atomic_after_flush(store):
    """A conflict found in the database undoes the links already written in the batch."""
    store.commit_batch(links=[Link.new(Kind.CONTACT, "1", "d1")])
    fresh = Link.new(Kind.CONTACT, "2", "d2")
    with pytest.raises(StateConflictError):
        store.commit_batch(
            links=[fresh, Link.new(Kind.CONTACT, "1", "d9")], cursors={(System.HUBSPOT, Kind.CONTACT): "c"}
        )
    assert store.link_for(System.HUBSPOT, Kind.CONTACT, "2") is None
    assert store.cursor(System.HUBSPOT, Kind.CONTACT) is None


def test_synced_values_need_link(store):
    with pytest.raises(Exception):
        store.commit_batch(synced={"no-such-link": {"a": 1}})
    assert store.synced_values("no-such-link") is None


def test_intent_saved_and_listed(store, clock):
    store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "planned-1", System.HUBSPOT, "101")
    [intent] = store.intents(Kind.CONTACT, System.DYNAMICS)
    assert (intent.key, intent.planned_id, intent.source, intent.source_id) == ("k1", "planned-1", System.HUBSPOT, "101")
    assert intent.created_at == clock.now


def test_intents_filtered_by_target(store):
    store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "p1", System.HUBSPOT, "101")
    assert store.intents(Kind.CONTACT, System.HUBSPOT) == []


def test_intent_saved_twice_is_kept_once(store):
    store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "p1", System.HUBSPOT, "101")
    store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "p1", System.HUBSPOT, "101")
    assert len(store.intents(Kind.CONTACT, System.DYNAMICS)) == 1


def test_intent_with_other_plan_rejected(store):
    store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "p1", System.HUBSPOT, "101")
    with pytest.raises(StateConflictError, match="p1"):
        store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "p2", System.HUBSPOT, "101")


def test_done_intents_removed_in_batch(store):
    store.save_intent("k1", Kind.CONTACT, System.DYNAMICS, "p1", System.HUBSPOT, "101")
    store.save_intent("k2", Kind.CONTACT, System.DYNAMICS, "p2", System.HUBSPOT, "102")
    store.commit_batch(links=[Link.new(Kind.CONTACT, "101", "p1")], done_intents=["k1", "unknown"])
    assert [intent.key for intent in store.intents(Kind.CONTACT, System.DYNAMICS)] == ["k2"]


def test_pending_writes_saved_by_link_and_target(store):
    link = Link.new(Kind.CONTACT, "101", "d-101")
    store.commit_batch(links=[link])
    to_dynamics = PendingWrite(link.id, System.DYNAMICS, {"job_title": "Buyer"})
    to_hubspot = PendingWrite(link.id, System.HUBSPOT, {"phone": "+4420"})
    store.save_pending_writes([to_dynamics, to_hubspot])
    assert store.pending_writes(Kind.CONTACT) == {link.id: {System.DYNAMICS: to_dynamics, System.HUBSPOT: to_hubspot}}
    assert store.pending_writes(Kind.COMPANY) == {}


def test_pending_writes_merged_on_save(store):
    link = Link.new(Kind.CONTACT, "101", "d-101")
    store.commit_batch(links=[link])
    store.save_pending_writes([PendingWrite(link.id, System.DYNAMICS, {"job_title": "Buyer", "phone": "1"})])
    store.save_pending_writes([PendingWrite(link.id, System.DYNAMICS, {"job_title": "CFO"})])
    [write] = store.pending_writes(Kind.CONTACT)[link.id].values()
    assert write.values == {"job_title": "CFO", "phone": "1"}


def test_pending_writes_removed_in_batch(store):
    kept, done = Link.new(Kind.CONTACT, "1", "d1"), Link.new(Kind.CONTACT, "2", "d2")
    store.commit_batch(links=[kept, done])
    store.save_pending_writes([PendingWrite(link.id, System.DYNAMICS, {"job_title": "A"}) for link in (kept, done)])
    store.commit_batch(synced={done.id: {"job_title": "A"}}, done_pending=[done.id, "unknown"])
    assert list(store.pending_writes(Kind.CONTACT)) == [kept.id]


def test_record_error_counts_attempts(store, clock):
    store.record_error(System.HUBSPOT, Kind.CONTACT, "101", "email is invalid", field="email")
    first_seen = clock.now
    clock.advance(60)
    store.record_error(System.HUBSPOT, Kind.CONTACT, "101", "email is still invalid", field="email")
    [row] = store.record_errors()
    assert row.attempts == 2
    assert row.reason == "email is still invalid"
    assert row.first_seen == first_seen
    assert row.last_seen == clock.now


def test_record_errors_filtered(store):
    store.record_error(System.HUBSPOT, Kind.CONTACT, "1", "bad")
    store.record_error(System.DYNAMICS, Kind.CONTACT, "2", "bad")
    store.record_error(System.DYNAMICS, Kind.DEAL, "3", "bad")
    assert [row.record_id for row in store.record_errors(system=System.DYNAMICS)] == ["2", "3"]
    assert sorted(row.record_id for row in store.record_errors(kind=Kind.CONTACT)) == ["1", "2"]
    assert [row.record_id for row in store.record_errors(System.DYNAMICS, Kind.DEAL)] == ["3"]


def test_resolved_errors_removed_in_batch(store):
    store.record_error(System.HUBSPOT, Kind.CONTACT, "1", "bad")
    store.record_error(System.HUBSPOT, Kind.CONTACT, "2", "bad")
    store.commit_batch(resolved_errors=[(System.HUBSPOT, Kind.CONTACT, "1")])
    assert [row.record_id for row in store.record_errors()] == ["2"]


def test_run_started_and_finished(store, clock):
    run_id = store.start_run("dry_run")
    started = clock.now
    clock.advance(5)
    store.finish_run(run_id, "succeeded", {"created": 3, "updated": 1})
    [run] = store.runs()
    assert run.id == run_id
    assert run.mode is RunMode.DRY_RUN
    assert run.outcome is RunOutcome.SUCCEEDED
    assert run.counts == {"created": 3, "updated": 1}
    assert run.started_at == started
    assert run.finished_at == clock.now


def test_run_running_until_finished(store):
    store.start_run("sync")
    [run] = store.runs()
    assert run.outcome is RunOutcome.RUNNING
    assert run.finished_at is None


def test_runs_newest_first_and_limited(store, clock):
    ids = []
    for _ in range(3):
        ids.append(store.start_run("sync"))
        clock.advance(1)
    assert [run.id for run in store.runs(limit=2)] == [ids[2], ids[1]]


def test_invalid_run_mode_rejected(store):
    with pytest.raises(ValueError):
        store.start_run("replay")


def test_finish_unknown_run_rejected(store):
    with pytest.raises(KeyError, match="start_run"):
        store.finish_run("no-such-run", "failed", {})


def test_store_reopens_with_data(database_url, clock):
    first = StateStore(database_url, clock=clock)
    first.commit_batch(cursors={(System.HUBSPOT, Kind.DEAL): "c1"})
    first.close()
    second = StateStore(database_url, clock=clock)
    assert second.cursor(System.HUBSPOT, Kind.DEAL) == "c1"
    second.close()


def test_sqlite_uses_wal(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'wal.sqlite'}")
    with store._engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    store.close()
    assert mode == "wal"


def test_sqlite_in_memory_keeps_data():
    store = StateStore("sqlite://")
    store.commit_batch(cursors={(System.HUBSPOT, Kind.DEAL): "c1"})
    assert store.cursor(System.HUBSPOT, Kind.DEAL) == "c1"
    store.close()


def test_missing_folder_is_config_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'absent' / 'state.sqlite'}"
    with pytest.raises(ConfigError, match="state.url") as caught:
        StateStore(url)
    assert "Create the folder" in str(caught.value)


def test_unreachable_postgres_hides_password():
    """Port 9 on loopback (discard) has no PostgreSQL server behind it."""
    url = "postgresql+psycopg://crm:hunter22@127.0.0.1:9/crm?connect_timeout=2"
    with pytest.raises(ConfigError) as caught:
        StateStore(url)
    assert "hunter22" not in str(caught.value)
    assert "crm:***@127.0.0.1:9/crm" in str(caught.value)


def test_unsupported_database_rejected():
    with pytest.raises(ConfigError, match="mysql"):
        StateStore("mysql://user:secret@127.0.0.1/crm")


def test_unsupported_url_hides_password():
    with pytest.raises(ConfigError) as caught:
        StateStore("mysql://user:secret@127.0.0.1/crm")
    assert "secret" not in str(caught.value)


def test_unparsable_url_rejected():
    with pytest.raises(ConfigError, match="invalid"):
        StateStore("not a url")
