"""A state store on SQLite, and on PostgreSQL when CRMSYNC_TEST_POSTGRES_URL is set."""

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from sync.state import StateStore

POSTGRES_URL = os.environ.get("CRMSYNC_TEST_POSTGRES_URL")


class FrozenClock:
    """A clock that moves only when `advance` is called."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return FrozenClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.sqlite'}"
        return

    if not POSTGRES_URL:
        pytest.skip("CRMSYNC_TEST_POSTGRES_URL is not set, so the PostgreSQL suite does not run")
    # A schema of its own per test keeps runs from seeing each other's tables.
    schema = f"crmsync_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(database_url, clock):
    state = StateStore(database_url, clock=clock)
    yield state
    state.close()
