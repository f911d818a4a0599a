"""A local Dataverse Web API v9.2 for contacts, accounts, opportunities and system users.

Mount `DataverseSandbox(...).router` on a `SandboxServer`. Served under `/api/data/v9.2/`:
queries with `$select`, `$filter`, `$orderby`, `$top`, `$count` and `Prefer:
odata.maxpagesize` paging; single-row GET, POST create, PATCH update and upsert with etag
preconditions, DELETE; lookups written with `@odata.bind`; `$batch` with atomic change
sets; the `WinOpportunity`, `LoseOpportunity` and `Merge` actions; attribute metadata. Every
request needs a bearer token that `token_check` accepts.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import structlog

from sync.sandbox import dataverse_batch as batch
from sync.sandbox import dataverse_limits as limits
from sync.sandbox import dataverse_tracking as tracking
from sync.sandbox.dataverse_filter import QueryError, parse_filter, parse_orderby, sort_rows
from sync.sandbox.dataverse_merge import merge
from sync.sandbox.dataverse_render import attributes_metadata, entity_metadata, render_row
from sync.sandbox.dataverse_schema import STATUS_BY_STATE, TABLES, TABLES_BY_LOGICAL_NAME, Table, define_custom_column
from sync.sandbox.dataverse_store import (
    Annotations,
    DataverseError,
    DataverseStore,
    Row,
    WriteMode,
    etag_of,
    normalise_id,
)
from sync.sandbox.http import Request, Response, Route, Router

log = structlog.get_logger(__name__)

API_ROOT = "/api/data/v9.2"
MAX_PAGE_SIZE = 5000
MAX_BATCH_OPERATIONS = 1000
_SKIPTOKEN = re.compile(r'offset="(\d+)"')
_COOKIE_VERSION = re.compile(r'version="(\d+)"')
# Tables with change tracking on until a test turns it off. Whether Dataverse enables it
# on these by default is not confirmed, but an admin can turn it on for any table.
TRACKED_BY_DEFAULT = frozenset({"contacts", "accounts", "opportunities"})
_BIND_ID = re.compile(r"opportunities\((?P<id>[0-9a-fA-F-]{36})\)")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def error_response(status: int, message: str, code: str = "") -> Response:
    return Response(status, {"error": {"code": code, "message": message}}, {"OData-Version": "4.0"})


@dataclass
class Fault:
    """An injected failure: respond with `status` to the next `times` requests whose path matches.

    With `delay` seconds, the request waits that long first. A delay with status None then
    runs the request as usual, as a slow server does after its client timed out.
    """

    pattern: re.Pattern[str]
    status: int | None
    times: int
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class Preferences:
    annotations: Annotations
    annotations_text: str | None = None
    max_page_size: int | None = None
    representation: bool = False
    continue_on_error: bool = False
    track_changes: bool = False


def parse_prefer(header: str | None) -> Preferences:
    """Read the `Prefer` header values the sandbox honours."""
    preferences = Preferences(Annotations())
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        value = value.strip().strip('"')
        if name == "odata.include-annotations":
            preferences.annotations_text = value
            everything = value == "*"
            preferences.annotations = Annotations(
                formatted=everything or "FormattedValue" in value or value.startswith("OData.Community.Display.V1.*"),
                lookup_names=everything or "lookuplogicalname" in value or value.startswith("Microsoft.Dynamics.CRM.*"),
            )
        elif name == "odata.maxpagesize" and value.isdigit():
            preferences.max_page_size = min(int(value), MAX_PAGE_SIZE)
        elif name == "return" and value == "representation":
            preferences.representation = True
        elif name == "odata.continue-on-error":
            preferences.continue_on_error = True
        elif name == "odata.track-changes":
            preferences.track_changes = True
    return preferences


class DataverseSandbox:
    """A Dataverse Web API on a `Router`, with seeding helpers and fault injection.

    `token_check` decides whether a bearer token is valid. `clock` returns an aware UTC
    datetime for `createdon` and `modifiedon`, and the window of `service_limits` (None
    turns the limits off). `user_of` maps a bearer token to the user the limits count
    against; by default each token is its own user. With `allow_state_patch` False (the default,
    as in Dataverse), closing an opportunity by a PATCH of statecode is rejected and only the
    actions close it; `add_row` and `update_row` seed any column either way.
    """

    def __init__(
        self,
        token_check: Callable[[str], bool],
        clock: Callable[[], datetime] | None = None,
        *,
        allow_state_patch: bool = False,
        service_limits: limits.ServiceLimits | None = limits.ServiceLimits(),
        user_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.token_check = token_check
        self.user_of = user_of or (lambda token: token)
        self.store = DataverseStore(clock or _utcnow, allow_state_patch)
        self.protection = None if service_limits is None else limits.ServiceProtection(service_limits, self.store.clock)
        self._handlers: dict[str, Callable[[Request], Response]] = {}
        self.lock = self.store.lock
        self.faults: list[Fault] = []
        self.tracked_tables: set[str] = set(TRACKED_BY_DEFAULT)
        self.delta_token_lifetime = tracking.DEFAULT_LIFETIME
        self._faults_lock = threading.Lock()
        self.custom_columns: list[tuple[str, str, str]] = []
        self.router = Router()
        self.router.before += [self._inject_fault, self._authenticate]
        self._add_routes()

    # Seeding and inspection helpers for tests, demos and benchmarks.

    def add_row(self, entity_set: str, values: dict[str, Any]) -> str:
        """Insert a row and return its id; accepts `@odata.bind` keys and read-only columns."""
        with self.lock:
            return self._key_of(entity_set, self.store.insert(entity_set, values, WriteMode.SEED))

    def update_row(self, entity_set: str, row_id: str, values: dict[str, Any]) -> None:
        with self.lock:
            self.store.update(entity_set, normalise_id(row_id), values, WriteMode.SEED)

    def delete_row(self, entity_set: str, row_id: str) -> None:
        with self.lock:
            self.store.delete(entity_set, normalise_id(row_id))

    def rows(self, entity_set: str) -> list[Row]:
        """Return every row of a table in its read form, with all annotations."""
        table = TABLES[entity_set]
        everything = Annotations(formatted=True, lookup_names=True)
        with self.lock:
            stored = list(self.store.tables[entity_set].values())
            return [render_row(table, row, None, everything, self._find) for row in stored]

    def dump(self) -> dict[str, Any]:
        """Return the whole state as JSON-serialisable data."""
        with self.lock:
            return {**self.store.snapshot(), "custom_columns": [list(item) for item in self.custom_columns]}

    def load(self, state: dict[str, Any]) -> None:
        with self.lock:
            for entity_set, name, type_name in state.get("custom_columns", []):
                self.define_column(entity_set, name, type_name)
            self.store.restore(state)

    def define_column(self, entity_set: str, name: str, type_name: str = "string") -> None:
        """Create a custom column, as an admin would in the maker portal."""
        define_custom_column(entity_set, name, type_name)
        if (entity_set, name, type_name) not in self.custom_columns:
            self.custom_columns.append((entity_set, name, type_name))

    def inject(self, path_regex: str, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """Fail the next `times` requests whose path matches; status -1 drops the connection.

        Operations inside a `$batch` match by their own path, and fail alone.
        """
        with self._faults_lock:
            self.faults.append(Fault(re.compile(path_regex), status, times, retry_after))

    def set_change_tracking(self, entity_set: str, enabled: bool) -> None:
        """Turn change tracking of a table on or off (Dataverse itself cannot turn it off)."""
        if enabled:
            self.tracked_tables.add(entity_set)
        else:
            self.tracked_tables.discard(entity_set)

    def inject_delay(self, path_regex: str, seconds: float, times: int = 1) -> None:
        """Delay the next `times` requests whose path matches by `seconds`, then run them."""
        with self._faults_lock:
            self.faults.append(Fault(re.compile(path_regex), None, times, delay=seconds))

    def _key_of(self, entity_set: str, row: Row) -> str:
        return row[TABLES[entity_set].key]

    def _find(self, logical_name: str, row_id: str) -> Row | None:
        table = TABLES_BY_LOGICAL_NAME.get(logical_name)
        return None if table is None else self.store.get(table.entity_set, row_id)

    # Hooks run before every routed request.

    def _inject_fault(self, request: Request, route: Route | None) -> Response | None:
        with self._faults_lock:
            fault = next((f for f in self.faults if f.times > 0 and f.pattern.search(request.path)), None)
            if fault is None:
                return None
            fault.times -= 1
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status is None:
            return None
        if fault.status == -1:
            return Response(-1)
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        code, message = "0x80040216", "An unexpected error occurred (injected by the sandbox)."
        if fault.status == 429:
            code = "0x80072322"
            message = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
        response = error_response(fault.status, message, code)
        response.headers.update(headers)
        return response

    def _authenticate(self, request: Request, route: Route) -> Response | None:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token and self.token_check(token):
            return None
        response = error_response(401, "The user is not authenticated: the bearer token is missing, invalid or expired.")
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    # Routes.

    def _add_routes(self) -> None:
        entity = r"(?P<set>[A-Za-z_]+)"
        key = entity + r"\((?P<id>[^)]*)\)"
        definitions = r"/EntityDefinitions\(LogicalName='(?P<logical>\w+)'\)"
        routes = [
            ("GET", definitions + "/Attributes", "dataverse.attributes", self._attributes),
            ("GET", definitions, "dataverse.entity_definition", self._entity_definition),
            ("POST", r"/\$batch", "dataverse.batch", self._batch),
            ("POST", r"/(?P<action>WinOpportunity|LoseOpportunity)", "dataverse.close_opportunity", self._close),
            ("POST", r"/Merge", "dataverse.merge", self._merge),
            ("GET", r"/WhoAmI", "dataverse.whoami", self._who_am_i),
            ("GET", "/" + key, "dataverse.retrieve", self._retrieve),
            ("PATCH", "/" + key, "dataverse.update", self._patch),
            ("DELETE", "/" + key, "dataverse.delete", self._delete),
            ("GET", "/" + entity, "dataverse.query", self._query),
            ("POST", "/" + entity, "dataverse.create", self._create),
        ]
        for method, pattern, name, handler in routes:
            self._handlers[name] = self._guarded(handler)
            self.router.add(method, API_ROOT + pattern, name, self._metered(self._handlers[name]))

    def _metered(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Wrap a top-level handler in the service protection limits; operations inside a `$batch` are not counted."""
        def run(request: Request) -> Response:
            if self.protection is None:
                return handler(request)
            user = self.user_of((request.header("authorization") or "").partition(" ")[2]) or "unknown"
            rejection = self.protection.admit(user)
            if rejection is not None:
                log.info("dataverse.throttled", limit=str(rejection.limit), retry_after=rejection.retry_after)
                body = limits.error_body(rejection, self.protection.limits)
                return Response(429, body, {"Retry-After": str(rejection.retry_after), "OData-Version": "4.0"})

            started = self.protection.timer()
            try:
                response = handler(request)
            finally:
                self.protection.finish(user, (self.protection.timer() - started) * 1000)
            requests_left, time_left = self.protection.remaining(user)
            response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(requests_left)
            response.headers["x-ms-ratelimit-time-remaining-xrm-requests"] = f"{time_left:.2f}"
            return response

        return run

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                with self.lock:
                    response = handler(request)
            except DataverseError as error:
                return error_response(error.status, error.message, error.code)
            except QueryError as error:
                return error_response(400, str(error), "0x80060888")
            response.headers.setdefault("OData-Version", "4.0")
            return response

        return run

    def _table(self, request: Request) -> Table:
        name = request.params["set"]
        table = TABLES.get(name)
        if table is None:
            raise DataverseError(404, f"Resource not found for the segment '{name}'.", "0x8006088a")
        return table

    def _base_url(self, request: Request) -> str:
        return f"http://{request.header('host') or 'localhost'}{API_ROOT}"

    # Reads.

    def _query(self, request: Request) -> Response:
        table = self._table(request)
        preferences = parse_prefer(request.header("prefer"))
        select = self._select(request, table)
        tracked = self._tracked(request, table, preferences)
        token = request.arg("$deltatoken")
        if token is not None:
            return self._delta(request, table, select, preferences, token)

        rows = list(self.store.tables[table.entity_set].values())
        if request.arg("$filter"):
            predicate = parse_filter(request.arg("$filter") or "", table)
            rows = [row for row in rows if predicate(row)]
        order = parse_orderby(request.arg("$orderby") or "", table) if request.arg("$orderby") else []
        rows = sort_rows(rows, order, table.key)
        total = len(rows)

        # A tracked read issues its delta token for the version of its first page, so
        # rows changed while the client pages come again in the next delta.
        version = self._cookie_version(request.arg("$skiptoken")) or self.store.version
        page, next_offset = self._page(request, rows, preferences)
        body: dict[str, Any] = {"@odata.context": self._context(request, table, select)}
        if (request.arg("$count") or "").lower() == "true":
            body["@odata.count"] = min(total, MAX_PAGE_SIZE)
        body["value"] = [render_row(table, row, select, preferences.annotations, self._find) for row in page]
        if next_offset is not None:
            body["@odata.nextLink"] = self._next_link(request, _page_cookie(next_offset, version if tracked else None))
        elif tracked:
            body["@odata.deltaLink"] = self._delta_link(request, version)
        return Response(200, body, self._applied(preferences, tracked))

    def _tracked(self, request: Request, table: Table, preferences: Preferences) -> bool:
        """Tell whether a query reads with change tracking. Raises `DataverseError` for invalid combinations."""
        asked = preferences.track_changes or request.arg("$deltatoken") is not None
        if not asked:
            return False
        if table.entity_set not in self.tracked_tables:
            if request.arg("$deltatoken") is not None:
                raise DataverseError(400, f"Change tracking is not enabled for the table '{table.logical_name}'.",
                                     "0x80060888")
            # NOTE: the sandbox ignores the preference on a table without change tracking.
            # Whether Dataverse responds with an error instead is not confirmed.
            return False
        tracking.check_options(list(request.query))
        return True

    def _delta(self, request: Request, table: Table, select: list[str] | None, preferences: Preferences,
               token: str) -> Response:
        """Return one page of the changes since the token, in the order they happened.

        Changed rows come in their read form, deleted rows as `$deletedEntity` items. Every
        page but the last has a nextLink; the last has the new deltaLink.
        """
        since = tracking.token_version(token, self.store, self.store.clock(), self.delta_token_lifetime)
        upto, after = tracking.parse_delta_cookie(request.arg("$skiptoken")) or (self.store.version, since)
        changes = tracking.changes_between(self.store, table.entity_set, max(after, since), upto)
        size = preferences.max_page_size or MAX_PAGE_SIZE
        page = changes[:size]

        base = self._base_url(request)
        value = [
            render_row(table, change.row, select, preferences.annotations, self._find) if change.row is not None
            else {"@odata.context": f"{base}/$metadata#{table.entity_set}/$deletedEntity", "id": change.row_id,
                  "reason": "deleted"}
            for change in page
        ]
        body: dict[str, Any] = {"@odata.context": self._context(request, table, select) + "/$delta", "value": value}
        if len(changes) > size:
            body["@odata.nextLink"] = self._next_link(request, tracking.delta_cookie(upto, page[-1].version))
        else:
            body["@odata.deltaLink"] = self._delta_link(request, upto)
        return Response(200, body, self._applied(preferences, True))

    def _context(self, request: Request, table: Table, select: list[str] | None) -> str:
        columns = f"({','.join(select)})" if select else ""
        return f"{self._base_url(request)}/$metadata#{table.entity_set}{columns}"

    def _delta_link(self, request: Request, version: int) -> str:
        query = {name: values[0] for name, values in request.query.items() if name not in ("$skiptoken", "$deltatoken")}
        query["$deltatoken"] = tracking.issue_token(version, self.store.clock())
        return f"{self._base_url(request)}/{request.params['set']}?{urlencode(query, quote_via=quote, safe='$,')}"

    def _select(self, request: Request, table: Table) -> list[str] | None:
        text = request.arg("$select")
        if not text:
            return None
        names = [name.strip() for name in text.split(",") if name.strip()]
        for name in names:
            if table.column_by_read_name(name) is None:
                raise QueryError(
                    f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
                )
        return names

    def _page(self, request: Request, rows: list[Row], preferences: Preferences) -> tuple[list[Row], int | None]:
        top = request.arg("$top")
        if preferences.max_page_size is None and top is not None:
            if not top.isdigit():
                raise QueryError(f"Invalid $top value '{top}': expected a non-negative integer.")
            return rows[: int(top)], None
        size = preferences.max_page_size or MAX_PAGE_SIZE
        offset = self._skip_offset(request.arg("$skiptoken"))
        page = rows[offset: offset + size]
        next_offset = offset + size if offset + size < len(rows) else None
        return page, next_offset

    def _skip_offset(self, token: str | None) -> int:
        if token is None:
            return 0
        match = _SKIPTOKEN.search(unquote(token))
        if match is None:
            raise QueryError(f"Invalid $skiptoken '{token}'.")
        return int(match.group(1))

    def _cookie_version(self, token: str | None) -> int | None:
        match = _COOKIE_VERSION.search(unquote(token or ""))
        return int(match.group(1)) if match else None

    def _next_link(self, request: Request, cookie: str) -> str:
        """Return the request's URL with `cookie` as its `$skiptoken`."""
        query = {name: values[0] for name, values in request.query.items() if name != "$skiptoken"}
        query["$skiptoken"] = cookie
        return f"{self._base_url(request)}/{request.params['set']}?{urlencode(query, quote_via=quote, safe='$,')}"

    def _applied(self, preferences: Preferences, tracked: bool = False) -> dict[str, str]:
        applied = ["odata.track-changes"] if tracked else []
        if preferences.annotations_text is not None:
            applied.append(f'odata.include-annotations="{preferences.annotations_text}"')
        if preferences.max_page_size is not None:
            applied.append(f"odata.maxpagesize={preferences.max_page_size}")
        if preferences.representation:
            applied.append("return=representation")
        return {"Preference-Applied": ",".join(applied)} if applied else {}

    def _retrieve(self, request: Request) -> Response:
        table = self._table(request)
        row = self.store.require(table.entity_set, normalise_id(request.params["id"]))
        preferences = parse_prefer(request.header("prefer"))
        annotated = preferences.annotations.formatted or preferences.annotations.lookup_names
        if not annotated and request.header("if-none-match") == etag_of(row):
            return Response(304)
        body = render_row(table, row, self._select(request, table), preferences.annotations, self._find)
        body["@odata.context"] = f"{self._base_url(request)}/$metadata#{table.entity_set}/$entity"
        return Response(200, body, self._applied(preferences))

    # Writes.

    def _payload(self, request: Request) -> dict[str, Any]:
        try:
            payload = request.json()
        except ValueError:
            raise DataverseError(400, "The request body is not valid JSON.", "0x80048d19") from None
        if not isinstance(payload, dict):
            raise DataverseError(400, "The request body must be a JSON object of column values.", "0x80048d19")
        return payload

    def _create(self, request: Request) -> Response:
        table = self._table(request)
        row = self.store.insert(table.entity_set, self._payload(request), WriteMode.API)
        return self._written(request, table, row, created=True)

    def _written(self, request: Request, table: Table, row: Row, created: bool) -> Response:
        preferences = parse_prefer(request.header("prefer"))
        location = f"{self._base_url(request)}/{table.entity_set}({row[table.key]})"
        headers = {"ETag": etag_of(row), **self._applied(preferences)}
        if not preferences.representation:
            return Response(204, None, {"OData-EntityId": location, **headers})
        body = render_row(table, row, self._select(request, table), preferences.annotations, self._find)
        return Response(201 if created else 200, body, {"Location": location, **headers})

    def _patch(self, request: Request) -> Response:
        table = self._table(request)
        row_id = normalise_id(request.params["id"])
        row = self.store.get(table.entity_set, row_id)
        if_match, if_none_match = request.header("if-match"), request.header("if-none-match")
        self._check_preconditions(table, row_id, row, if_match, if_none_match)

        payload = self._payload(request)
        if row is None:
            created = self.store.insert(table.entity_set, payload, WriteMode.API, row_id=row_id)
            return self._written(request, table, created, created=True)
        return self._written(request, table, self.store.update(table.entity_set, row_id, payload, WriteMode.API), created=False)

    def _check_preconditions(self, table: Table, row_id: str, row: Row | None, if_match: str | None,
                             if_none_match: str | None) -> None:
        if row is None and if_match is not None:
            raise DataverseError(404, f"{table.logical_name} With Id = {row_id} Does Not Exist", "0x80040217")
        if row is not None and if_none_match == "*":
            raise DataverseError(412, "A record with matching key values already exists.", "0x80040237")
        if row is not None and if_match not in (None, "*") and if_match != etag_of(row):
            raise DataverseError(412, "The version of the existing record doesn't match the RowVersion property provided.",
                                 "0x80060882")

    def _delete(self, request: Request) -> Response:
        table = self._table(request)
        row_id = normalise_id(request.params["id"])
        row = self.store.require(table.entity_set, row_id)
        self._check_preconditions(table, row_id, row, request.header("if-match"), None)
        self.store.delete(table.entity_set, row_id)
        return Response(204)

    def _close(self, request: Request) -> Response:
        """Run WinOpportunity or LoseOpportunity: record an `opportunityclose` activity, then close the row.

        `actualrevenue` becomes `actualvalue` (on a win without it, the estimated value);
        `actualend` becomes `actualclosedate` (without it, today by the sandbox clock).
        """
        payload = self._payload(request)
        won = request.params["action"] == "WinOpportunity"
        close = payload.get("OpportunityClose")
        if not isinstance(close, dict):
            raise DataverseError(400, "The parameter 'OpportunityClose' is missing or not an object.")
        match = _BIND_ID.search(str(close.get("opportunityid@odata.bind", "")))
        if match is None:
            raise DataverseError(400, "OpportunityClose needs 'opportunityid@odata.bind': '/opportunities(<guid>)'.")
        state = 1 if won else 2
        status = payload.get("Status", 3 if won else 4)
        if status not in STATUS_BY_STATE["opportunity"][state]:
            raise DataverseError(400, (
                f"{status} is not a valid Status for {request.params['action']}; "
                f"use one of {list(STATUS_BY_STATE['opportunity'][state])}."
            ), "0x80040203")
        row_id = normalise_id(match.group("id"))
        row = self.store.require("opportunities", row_id)
        if row["statecode"] != 0:
            raise DataverseError(400, f"The opportunity {row_id} is already closed; reopen it before closing it again.",
                                 "0x80040203")

        # The insert checks the activity's columns, so a bad payload leaves the opportunity open.
        activity = self.store.insert("opportunitycloses", close, WriteMode.API)
        changes: dict[str, Any] = {"statecode": state, "statuscode": status}
        changes["actualvalue"] = activity["actualrevenue"] if "actualrevenue" in close else (
            row.get("estimatedvalue") if won else None)
        changes["actualclosedate"] = activity["actualend"] or self.store.clock().date().isoformat()
        self.store.update("opportunities", row_id, changes, WriteMode.SEED)
        return Response(204)

    def _merge(self, request: Request) -> Response:
        """Run the Merge action on two contacts or two accounts; see `dataverse_merge`."""
        merge(self.store, self._payload(request))
        return Response(204)

    def _who_am_i(self, request: Request) -> Response:
        return Response(200, {"BusinessUnitId": str(uuid.UUID(int=1)), "UserId": str(uuid.UUID(int=2)),
                              "OrganizationId": str(uuid.UUID(int=3))})

    def _attributes(self, request: Request) -> Response:
        table = TABLES_BY_LOGICAL_NAME.get(request.params["logical"])
        if table is None:
            raise DataverseError(404, f"Could not find an entity with the name '{request.params['logical']}'.", "0x80040217")
        return Response(200, {"value": attributes_metadata(table)})

    def _entity_definition(self, request: Request) -> Response:
        table = TABLES_BY_LOGICAL_NAME.get(request.params["logical"])
        if table is None:
            raise DataverseError(404, f"Could not find an entity with the name '{request.params['logical']}'.", "0x80040217")
        metadata = entity_metadata(table)
        metadata["ChangeTrackingEnabled"] = table.entity_set in self.tracked_tables
        return Response(200, metadata)

    # $batch.

    def _batch(self, request: Request) -> Response:
        try:
            parts = batch.parse_batch(request.body, request.header("content-type"))
        except batch.BatchFormatError as error:
            raise DataverseError(400, str(error), "0x80048d19") from None
        count = sum(len(part.operations) if isinstance(part, batch.ChangeSet) else 1 for part in parts)
        if count > MAX_BATCH_OPERATIONS:
            raise DataverseError(400, f"The batch holds {count} operations; the maximum is {MAX_BATCH_OPERATIONS}.",
                                 "0x8005f102")

        continue_on_error = parse_prefer(request.header("prefer")).continue_on_error
        results: list[batch.PartResult | batch.ChangeSetResult] = []
        for part in parts:
            result = self._run_part(part, request)
            failed = _failure(result)
            if failed is not None and not continue_on_error:
                content_type, body = batch.render_batch([failed])
                return Response(400, raw=body, headers={"Content-Type": content_type})
            results.append(failed if isinstance(part, batch.ChangeSet) and failed else result)
        content_type, body = batch.render_batch(results)
        return Response(200, raw=body, headers={"Content-Type": content_type, "OData-Version": "4.0"})

    def _run_part(self, part: batch.BatchPart, outer: Request) -> batch.PartResult | batch.ChangeSetResult:
        if isinstance(part, batch.Operation):
            return batch.PartResult(self._run_operation(part, outer, {}), part.content_id)

        self.store.begin()
        results: list[batch.PartResult] = []
        created: dict[str, str] = {}
        for operation in part.operations:
            if operation.method == "GET":
                response = error_response(400, "GET is not allowed inside a change set.", "0x80048d19")
            else:
                response = self._run_operation(operation, outer, created)
            results.append(batch.PartResult(response, operation.content_id))
            if response.status >= 400:
                self.store.rollback()
                return batch.ChangeSetResult(results)
            location = response.headers.get("OData-EntityId") or response.headers.get("Location")
            if operation.content_id and location:
                created[operation.content_id] = location
        self.store.commit()
        return batch.ChangeSetResult(results)

    def _run_operation(self, operation: batch.Operation, outer: Request, created: dict[str, str]) -> Response:
        url = _resolve_reference(operation.url, created)
        parts = urlsplit(url)
        path = parts.path if parts.path.startswith("/") else f"{API_ROOT}/{parts.path}"
        headers = {"host": outer.header("host") or "localhost", **operation.headers}
        request = Request(operation.method, path, parse_qs(parts.query, keep_blank_values=True), headers, operation.body)
        fault = self._inject_fault(request, None)
        if fault is not None:
            # A dropped connection cannot happen to one part, so the part fails with a 500 instead.
            return fault if fault.status != -1 else error_response(500, "The connection was dropped (injected).")
        for route in self.router.routes:
            match = route.pattern.match(path) if route.method == request.method else None
            if match is not None:
                request.params = match.groupdict()
                return self._handlers[route.name](request)
        return error_response(404, f"No route for {operation.method} {path} in the batch.", "0x8006088a")


def _page_cookie(offset: int, version: int | None) -> str:
    """Return the `$skiptoken` of a query's next page, with the first page's version for a tracked read.

    NOTE: the cookie contains a row offset, so rows created or deleted between two page
    requests can shift the pages; Dataverse pages by the last key read instead.
    """
    tracked = f' version="{version}"' if version is not None else ""
    return f'<cookie pagenumber="{offset}" offset="{offset}"{tracked} />'


def _resolve_reference(url: str, created: dict[str, str]) -> str:
    """Replace a leading `$n` with the location of the row created by Content-ID n."""
    if not url.startswith("$"):
        return url
    reference, _, rest = url[1:].partition("/")
    if reference not in created:
        raise DataverseError(400, f"The batch refers to Content-ID ${reference}, which no earlier request declared.")
    return created[reference] + (f"/{rest}" if rest else "")


def _failure(result: batch.PartResult | batch.ChangeSetResult) -> batch.PartResult | None:
    """Return the failing response of a part, or None when it succeeded."""
    results = result.results if isinstance(result, batch.ChangeSetResult) else [result]
    return next((item for item in results if item.response.status >= 400), None)
