"""Change tracking of the Dataverse sandbox: delta tokens and the changes since one.

A delta token has the form Dataverse uses, `<row version>!<MM/dd/yyyy HH:mm:ss>`: the
store version when the token was issued and the issue time by the sandbox clock. The
changes since a token are the rows whose version is higher (created or updated since)
and the rows deleted since, even those created after the token. A token expires after
`lifetime` (Dataverse's default is 7 days, `organization.ExpireChangeTrackingInDays`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sync.sandbox.dataverse_store import VERSION, DataverseError, DataverseStore, Row

DEFAULT_LIFETIME = timedelta(days=7)
TOKEN_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
# Query options Dataverse rejects together with `Prefer: odata.track-changes`.
UNSUPPORTED_OPTIONS = ("$filter", "$orderby", "$expand", "$top")
# NOTE: the codes of the expired and invalid token errors are not confirmed by a source
# that was read; Dataverse names the expired case ExpiredVersionStamp.
EXPIRED_CODE = "0x80044352"
INVALID_CODE = "0x80044353"


@dataclass(frozen=True)
class Changes:
    """Rows created or updated since a token, in the order they changed, and ids deleted since."""

    rows: list[Row]
    deleted_ids: list[str]


def issue_token(version: int, moment: datetime) -> str:
    """Return the delta token for the store at `version`, issued at `moment`."""
    return f"{version}!{moment.astimezone(UTC).strftime(TOKEN_TIME_FORMAT)}"


def check_options(present: list[str]) -> None:
    """Raise `DataverseError` 400 when a query option is not allowed with change tracking."""
    for option in UNSUPPORTED_OPTIONS:
        if option in present:
            raise DataverseError(400, f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.',
                                 "0x80060888")


def token_version(token: str, store: DataverseStore, now: datetime, lifetime: timedelta) -> int:
    """Return the store version a token stands for.

    Raises `DataverseError` 400 when the token is malformed, names a version the store
    never reached, or is older than `lifetime`.
    """
    version_text, _, issued_text = token.partition("!")
    try:
        version = int(version_text)
        issued = datetime.strptime(issued_text, TOKEN_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise DataverseError(400, f"The delta token '{token}' is invalid. Perform a full sync.", INVALID_CODE) from None
    if version > store.version:
        raise DataverseError(400, f"The delta token '{token}' is invalid. Perform a full sync.", INVALID_CODE)
    if now - issued > lifetime:
        raise DataverseError(400, (
            "The version stamp associated with the client has expired. Perform a full sync "
            f"(delta tokens expire after {lifetime.days} days)."
        ), EXPIRED_CODE)
    return version


def changes_since(store: DataverseStore, entity_set: str, version: int) -> Changes:
    """Return what changed in a table after store version `version`."""
    changed = [row for row in store.tables[entity_set].values() if row[VERSION] > version]
    changed.sort(key=lambda row: row[VERSION])
    present = store.tables[entity_set]
    deleted = [row_id for row_id, at in store.deleted[entity_set] if at > version and row_id not in present]
    return Changes(changed, list(dict.fromkeys(deleted)))
