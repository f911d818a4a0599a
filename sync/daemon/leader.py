"""One sync pair runs in one place at a time, however many daemon replicas there are.

On PostgreSQL, replicas take a session-level advisory lock (`pg_try_advisory_lock`) on a
dedicated connection; the lock goes when the connection does, so a crashed replica never
holds it. On SQLite, which only one host can share, a file lock beside the database does
the same for processes on that host.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path
from typing import IO, Any

import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a sync pair name."""
    digest = hashlib.sha256(f"crmsync:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    """Try to become the one replica that runs `name`; `release` gives it up."""

    def __init__(self, state_url: str, name: str = "default"):
        self.url = make_url(state_url)
        self.name = name
        self._connection: Any = None
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    def acquire(self) -> bool:
        """Return True when this process holds the lock (again or newly)."""
        if self.held:
            return True
        if self.url.get_backend_name() == "postgresql":
            return self._acquire_advisory()
        return self._acquire_file()

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)})
            self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _acquire_advisory(self) -> bool:
        engine = create_engine(self.url, pool_size=1, max_overflow=0)
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}).scalar()
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def _acquire_file(self) -> bool:
        database = self.url.database or ":memory:"
        path = Path(database + ".lock") if database != ":memory:" else Path(".crmsync.lock")
        handle = path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True
