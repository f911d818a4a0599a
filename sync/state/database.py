"""Opening the state database: SQLite with WAL by default, PostgreSQL by URL.

Every failure to open it is a `ConfigError` that names the URL without its password.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, create_engine, event, exc, make_url
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from sync.errors import ConfigError, Problem
from sync.state.tables import ALL_TABLES

SETTING = "state.url"
# Milliseconds that SQLite waits for another connection's write lock before it fails.
SQLITE_BUSY_TIMEOUT_MS = 5000
_URL_FORMS = "sqlite:///path/to/crmsync.sqlite or postgresql+psycopg://user@host:5432/database"
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def open_database(url: str) -> Engine:
    """Create an engine for `url`, connect once and create the tables that are missing.

    Raises ConfigError when the URL is invalid, its driver is not installed, or the
    database cannot be reached or written.
    """
    parsed = _parse_url(url)
    engine = _create_engine(parsed)
    try:
        SQLModel.metadata.create_all(engine, tables=ALL_TABLES)
    except exc.SQLAlchemyError as error:
        engine.dispose()
        raise _unreachable(parsed, error) from error
    return engine


def redact_url(url: str | URL) -> str:
    """Return the URL with its password replaced by `***`."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as error:
        raise ConfigError(
            Problem(
                f"The state store URL {redact_url(url)} is invalid: {error}.",
                field=SETTING,
                fix=f"Write it as {_URL_FORMS}.",
            )
        ) from error
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            Problem(
                f"The state store URL {redact_url(parsed)} names the database {parsed.get_backend_name()}, "
                "which crmsync does not support.",
                field=SETTING,
                fix=f"Use {_URL_FORMS}.",
            )
        )
    return parsed


def _create_engine(url: URL) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            return _create_sqlite_engine(url)
        return create_engine(url, pool_pre_ping=True)
    except (exc.NoSuchModuleError, ModuleNotFoundError) as error:
        raise ConfigError(
            Problem(
                f"The database driver of the state store URL {redact_url(url)} is not installed: {error}.",
                field=SETTING,
                fix="Use the driver postgresql+psycopg (installed with crmsync) or sqlite.",
            )
        ) from error


def _create_sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    options: dict = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # One shared connection, because each new connection would open an empty database.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _configure(connection, _record) -> None:  # noqa: ANN001
        cursor = connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def _unreachable(url: URL, error: exc.SQLAlchemyError) -> ConfigError:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if url.password:
        reason = reason.replace(str(url.password), "***")
    if url.get_backend_name() == "sqlite":
        fix = "Create the folder of the database file, or point state.url at a writable path."
    else:
        fix = "Check that the PostgreSQL server is running and reachable, and that the user, database and password are right."
    return ConfigError(
        Problem(f"The state store at {redact_url(url)} could not be opened: {reason}.", field=SETTING, fix=fix)
    )
