"""Only one replica holds the leader lock of a sync pair."""

import os

import pytest

from sync.daemon.leader import LeaderLock, lock_key


def test_lock_key_is_stable_and_signed():
    assert lock_key("default") == lock_key("default")
    assert -(2**63) <= lock_key("default") < 2**63
    assert lock_key("default") != lock_key("emea")


def test_sqlite_second_holder_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    first, second = LeaderLock(url), LeaderLock(url)
    assert first.acquire() is True
    assert second.acquire() is False
    first.release()
    assert second.acquire() is True
    second.release()


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("CRMSYNC_TEST_POSTGRES_URL"),
                    reason="CRMSYNC_TEST_POSTGRES_URL is not set, so the PostgreSQL lock is not tested")
def test_postgres_second_holder_is_refused():
    url = os.environ["CRMSYNC_TEST_POSTGRES_URL"]
    first, second = LeaderLock(url, "test-leader"), LeaderLock(url, "test-leader")
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        first.release()
        assert second.acquire() is True
    finally:
        first.release()
        second.release()
