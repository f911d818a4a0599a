"""HTTP routes of the HubSpot sandbox: CRM v3 objects, search, batches, v4 associations,
owners, pipelines and properties.

Success statuses follow the response maps of hubspot-api-client 12, because the client
returns None for any other status: create 201, batch create 201 or 207, batch read, update
and upsert 200 or 207, archive 204.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync.sandbox.http import Request, Response
from sync.sandbox.hubspot import DEFAULT_SHOWN, PLURAL, InputError, StoredRecord
from sync.sandbox.hubspot_history import HISTORY_PAGE_LIMIT
from sync.sandbox.hubspot_limits import error_body
from sync.sandbox.hubspot_schema import ASSOCIATION_BY_ID, OBJECT_TYPES, SINGULAR, format_time
from sync.sandbox.hubspot_search import RESULT_CAP, SearchError, check_request, compile_groups, sort_key

if TYPE_CHECKING:
    from sync.sandbox.hubspot import HubSpotSandbox

TYPES = "(?P<type>contacts|companies|deals)"
TO_TYPES = "(?P<to>contacts|companies|deals)"
OBJECTS = "/crm/v3/objects/" + TYPES
MAX_LIST_LIMIT = 100
MAX_BATCH_INPUTS = 100
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}


def mount_routes(sandbox: HubSpotSandbox) -> None:
    """Add every endpoint to the sandbox's router."""
    routes = Routes(sandbox)
    table: list[tuple[str, str, str, Callable[[Request], Response]]] = [
        ("GET", OBJECTS, "hubspot.list", routes.list_records),
        ("POST", OBJECTS, "hubspot.create", routes.create),
        ("POST", OBJECTS + "/search", "hubspot.search", routes.search),
        ("POST", OBJECTS + "/batch/read", "hubspot.batch_read", routes.batch_read),
        ("POST", OBJECTS + "/batch/create", "hubspot.batch_create", routes.batch_create),
        ("POST", OBJECTS + "/batch/update", "hubspot.batch_update", routes.batch_update),
        ("POST", OBJECTS + "/batch/upsert", "hubspot.batch_upsert", routes.batch_upsert),
        ("POST", OBJECTS + "/batch/archive", "hubspot.batch_archive", routes.batch_archive),
        ("POST", OBJECTS + "/merge", "hubspot.merge", routes.merge),
        ("GET", OBJECTS + "/(?P<id>[^/]+)", "hubspot.read", routes.read),
        ("PATCH", OBJECTS + "/(?P<id>[^/]+)", "hubspot.update", routes.update),
        ("DELETE", OBJECTS + "/(?P<id>[^/]+)", "hubspot.archive", routes.archive),
        ("GET", f"/crm/v4/objects/{TYPES}/(?P<id>[^/]+)/associations/{TO_TYPES}", "hubspot.associations_list",
         routes.associations_list),
        ("PUT", f"/crm/v4/objects/{TYPES}/(?P<id>[^/]+)/associations/{TO_TYPES}/(?P<to_id>[^/]+)",
         "hubspot.associations_put", routes.associations_put),
        ("POST", f"/crm/v4/associations/{TYPES}/{TO_TYPES}/batch/create", "hubspot.associations_create",
         routes.associations_batch_create),
        ("POST", f"/crm/v4/associations/{TYPES}/{TO_TYPES}/batch/read", "hubspot.associations_read",
         routes.associations_batch_read),
        ("POST", f"/crm/v4/associations/{TYPES}/{TO_TYPES}/batch/archive", "hubspot.associations_archive",
         routes.associations_batch_archive),
        ("GET", "/crm/v3/owners/?", "hubspot.owners", routes.owners),
        ("GET", "/crm/v3/owners/(?P<id>[^/]+)", "hubspot.owner", routes.owner),
        ("GET", "/crm/v3/pipelines/deals", "hubspot.pipelines", routes.pipelines),
        ("GET", "/crm/v3/pipelines/deals/(?P<id>[^/]+)", "hubspot.pipeline", routes.pipeline),
        ("GET", "/crm/v3/pipelines/deals/(?P<id>[^/]+)/stages", "hubspot.stages", routes.stages),
        ("GET", "/crm/v3/properties/(?P<type>[^/]+)", "hubspot.properties", routes.properties),
    ]
    for method, pattern, name, handler in table:
        sandbox.router.add(method, pattern, name, routes.guarded(handler))


def _flag(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").lower() == "true"


def _batch_body(results: list[Any], errors: list[dict[str, Any]], started: datetime, success: int) -> Response:
    stamp = format_time(started)
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "requestedAt": stamp,
                            "startedAt": stamp, "completedAt": stamp, "links": {}}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return Response(207, body)
    return Response(success, body)


def _not_found_error(object_type: str, ids: list[str]) -> dict[str, Any]:
    return {
        "status": "error", "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not exist.",
        "context": {"ids": ids}, "errors": [], "links": {},
    }


class Routes:
    def __init__(self, sandbox: HubSpotSandbox):
        self.sandbox = sandbox

    def guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Wrap a handler: hold the store lock, map InputError to HubSpot's error body, add rate headers."""

        def run(request: Request) -> Response:
            try:
                with self.sandbox.lock:
                    response = handler(request)
            except InputError as error:
                response = Response(error.status, error_body(error.category, str(error), context=error.context))
            except SearchError as error:
                response = Response(400, error_body("VALIDATION_ERROR", str(error)))
            response.headers.update(self.sandbox.gate.headers())
            return response

        return run

    def _inputs(self, request: Request) -> list[dict[str, Any]]:
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > MAX_BATCH_INPUTS:
            raise InputError(400, "VALIDATION_ERROR",
                             f"Batch input has {len(inputs)} inputs, the maximum is {MAX_BATCH_INPUTS}")
        return inputs

    # -- single objects ---------------------------------------------------------------

    def list_records(self, request: Request) -> Response:
        """List one page; with `propertiesWithHistory`, a page contains at most 50 records whatever the limit."""
        object_type = request.params["type"]
        limit = int(request.arg("limit") or 10)
        if not 0 < limit <= MAX_LIST_LIMIT:
            raise InputError(400, "VALIDATION_ERROR", f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
        if request.args("propertiesWithHistory"):
            limit = min(limit, HISTORY_PAGE_LIMIT)
        after = int(request.arg("after") or 0)
        archived = _flag(request, "archived")
        chosen = sorted((item for item in self.sandbox.objects[object_type].values()
                         if item.archived == archived and int(item.id) >= after), key=lambda item: int(item.id))
        page = chosen[:limit]
        body: dict[str, Any] = {"results": [self._render(request, object_type, item) for item in page]}
        if len(chosen) > limit:
            next_after = str(int(chosen[limit].id))
            body["paging"] = {"next": {"after": next_after, "link": f"?after={next_after}"}}
        return Response(200, body)

    def _render(self, request: Request, object_type: str, record: StoredRecord) -> dict[str, Any]:
        return self.sandbox.render(object_type, record, request.args("properties"),
                                   associations=request.args("associations"),
                                   history=request.args("propertiesWithHistory"))

    def read(self, request: Request) -> Response:
        object_type = request.params["type"]
        record = self.sandbox.get(object_type, request.params["id"], archived=_flag(request, "archived"),
                                  id_property=request.arg("idProperty"))
        return Response(200, self._render(request, object_type, record))

    def create(self, request: Request) -> Response:
        object_type = request.params["type"]
        body = request.json() or {}
        record = self.sandbox.create(object_type, body.get("properties") or {})
        self._associate_at_creation(object_type, record.id, body.get("associations") or [])
        return Response(201, self.sandbox.render(object_type, record, None, all_properties=True))

    def _associate_at_creation(self, object_type: str, record_id: str, associations: list[dict[str, Any]]) -> None:
        for item in associations:
            to_id = str(item["to"]["id"])
            for spec in item.get("types") or []:
                to_type = self._target_type(object_type, int(spec["associationTypeId"]))
                self.sandbox.associate(object_type, record_id, to_type, to_id, int(spec["associationTypeId"]))

    @staticmethod
    def _target_type(object_type: str, type_id: int) -> str:
        for (from_type, to_type, known_id) in ASSOCIATION_BY_ID:
            if from_type == object_type and known_id == type_id:
                return to_type
        raise InputError(400, "VALIDATION_ERROR", f"association type {type_id} does not exist from {object_type}")

    def update(self, request: Request) -> Response:
        object_type = request.params["type"]
        record = self.sandbox.get(object_type, request.params["id"], id_property=request.arg("idProperty"))
        record = self.sandbox.update(object_type, record.id, (request.json() or {}).get("properties") or {})
        return Response(200, self.sandbox.render(object_type, record, None, all_properties=True))

    def archive(self, request: Request) -> Response:
        self.sandbox.archive_record(request.params["type"], request.params["id"])
        return Response(204)

    # -- search -----------------------------------------------------------------------

    def search(self, request: Request) -> Response:
        """Search live records; a page that starts at 10,000 or beyond answers 400 as HubSpot does."""
        object_type = request.params["type"]
        body = request.json() or {}
        check_request(body)
        offset = int(body.get("after") or 0)
        if offset >= RESULT_CAP:
            raise InputError(400, "VALIDATION_ERROR",
                             f"Search results are limited to {RESULT_CAP} records; the page at {offset} is past them.")
        schema = self.sandbox.schema[object_type]
        passes = compile_groups(body.get("filterGroups") or [], schema)
        found = []
        for item in self.sandbox.objects[object_type].values():
            # Search sees each record as last indexed, which lags behind writes.
            seen = self.sandbox.searchable(item)
            if seen is not None and passes(seen):
                found.append((item, seen))
        key, descending = sort_key(body.get("sorts") or [], schema)
        found.sort(key=lambda pair: key(pair[1]), reverse=descending)

        limit = int(body.get("limit") or 10)
        names = body.get("properties") or list(DEFAULT_SHOWN[object_type])
        page = found[offset:offset + limit]
        response: dict[str, Any] = {
            "total": len(found),
            "results": [self._render_seen(object_type, item, seen, names) for item, seen in page],
        }
        if offset + limit < len(found):
            response["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, response)

    def _render_seen(self, object_type: str, record: StoredRecord, seen: dict[str, Any],
                     names: list[str]) -> dict[str, Any]:
        if seen is record.properties:
            return self.sandbox.render(object_type, record, names)
        stale = StoredRecord(record.id, dict(seen), record.created_at, record.updated_at)
        return self.sandbox.render(object_type, stale, names)

    def merge(self, request: Request) -> Response:
        """Merge two records; the answer is the surviving record, with a new id for contacts and companies."""
        object_type = request.params["type"]
        body = request.json() or {}
        primary, merged = body.get("primaryObjectId"), body.get("objectIdToMerge")
        if not primary or not merged:
            raise InputError(400, "VALIDATION_ERROR", "primaryObjectId and objectIdToMerge are required")
        survivor = self.sandbox.merge(object_type, str(primary), str(merged))
        return Response(200, self.sandbox.render(object_type, survivor, None, all_properties=True))

    # -- batches ----------------------------------------------------------------------

    def batch_read(self, request: Request) -> Response:
        """Read records by id; with `propertiesWithHistory`, at most 50 inputs, as HubSpot allows."""
        object_type = request.params["type"]
        body = request.json() or {}
        inputs = self._inputs(request)
        history = body.get("propertiesWithHistory") or None
        if history and len(inputs) > HISTORY_PAGE_LIMIT:
            # HubSpot's wording, as quoted by connectors that hit this limit.
            raise InputError(400, "VALIDATION_ERROR",
                             f"The maximum number of inputs supported in a batch request for property histories "
                             f"is {HISTORY_PAGE_LIMIT}. Please reduce the number of items and try again")
        started = self.sandbox.clock()
        archived = _flag(request, "archived")
        results, missing = [], []
        for item in inputs:
            try:
                record = self.sandbox.get(object_type, str(item["id"]), archived=archived,
                                          id_property=body.get("idProperty"))
            except InputError as error:
                if error.status != 404:
                    raise
                missing.append(str(item["id"]))
                continue
            results.append(self.sandbox.render(object_type, record, body.get("properties"), history=history))
        if inputs and not results:
            raise InputError(404, "OBJECT_NOT_FOUND", _not_found_error(object_type, missing)["message"],
                             {"ids": missing})
        errors = [_not_found_error(object_type, missing)] if missing else []
        return _batch_body(results, errors, started, 200)

    def batch_create(self, request: Request) -> Response:
        """Create every input or none: an invalid value answers 400, a duplicate 409."""
        object_type = request.params["type"]
        inputs = self._inputs(request)
        started = self.sandbox.clock()
        self._check_batch_duplicates(object_type, inputs)
        for item in inputs:
            self.sandbox.normalize(object_type, item.get("properties") or {})
            self.sandbox._check_unique(object_type, item.get("properties") or {}, None)
        results = []
        for item in inputs:
            record = self.sandbox.create(object_type, item.get("properties") or {})
            self._associate_at_creation(object_type, record.id, item.get("associations") or [])
            results.append(self.sandbox.render(object_type, record, None, all_properties=True))
        return _batch_body(results, [], started, 201)

    def _check_batch_duplicates(self, object_type: str, inputs: list[dict[str, Any]]) -> None:
        from sync.sandbox.hubspot_schema import UNIQUE_PROPERTIES

        for name in UNIQUE_PROPERTIES[object_type]:
            seen: set[str] = set()
            for item in inputs:
                value = str((item.get("properties") or {}).get(name) or "").strip().lower()
                if value and value in seen:
                    raise InputError(409, "CONFLICT", f"Duplicate {name} {value!r} in the batch input")
                if value:
                    seen.add(value)

    def batch_update(self, request: Request) -> Response:
        """Update the inputs that exist; missing ids come back as OBJECT_NOT_FOUND errors (207)."""
        object_type = request.params["type"]
        inputs = self._inputs(request)
        started = self.sandbox.clock()
        planned, missing = [], []
        for item in inputs:
            try:
                record = self.sandbox.get(object_type, str(item["id"]), id_property=item.get("idProperty"))
            except InputError as error:
                if error.status != 404:
                    raise
                missing.append(str(item["id"]))
                continue
            properties = item.get("properties") or {}
            self.sandbox.normalize(object_type, properties)
            self.sandbox._check_unique(object_type, properties, record.id)
            planned.append((record, properties))
        results = [
            self.sandbox.render(object_type, self.sandbox.update(object_type, record.id, properties), None,
                                all_properties=True)
            for record, properties in planned
        ]
        errors = [_not_found_error(object_type, missing)] if missing else []
        return _batch_body(results, errors, started, 200)

    def batch_upsert(self, request: Request) -> Response:
        """Update the record with the input's unique value, or create it; results carry `new`."""
        object_type = request.params["type"]
        inputs = self._inputs(request)
        started = self.sandbox.clock()
        self._check_upserts(object_type, inputs)
        results = []
        for item in inputs:
            id_property, key = item.get("idProperty") or "hs_object_id", str(item["id"])
            existing = self.sandbox.find_unique(object_type, id_property, key)
            properties = dict(item.get("properties") or {})
            if existing is None:
                properties.setdefault(id_property, key)
                record = self.sandbox.create(object_type, properties)
            else:
                record = self.sandbox.update(object_type, existing.id, properties)
            rendered = self.sandbox.render(object_type, record, None, all_properties=True)
            results.append({**rendered, "new": existing is None})
        return _batch_body(results, [], started, 200)

    def _check_upserts(self, object_type: str, inputs: list[dict[str, Any]]) -> None:
        """Validate every input before writing any, so a rejected batch writes nothing, as HubSpot's does."""
        for item in inputs:
            properties = dict(item.get("properties") or {})
            self.sandbox.normalize(object_type, properties)
            id_property, key = item.get("idProperty") or "hs_object_id", str(item["id"])
            existing = self.sandbox.find_unique(object_type, id_property, key)
            if existing is None:
                properties.setdefault(id_property, key)
            self.sandbox._check_unique(object_type, properties, existing.id if existing else None)

    def batch_archive(self, request: Request) -> Response:
        for item in self._inputs(request):
            self.sandbox.archive_record(request.params["type"], str(item["id"]))
        return Response(204)

    # -- v4 associations --------------------------------------------------------------

    def _labelled(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, Any]]:
        rows = []
        for to_id in self.sandbox.associations(from_type, from_id, to_type):
            type_ids = sorted(self.sandbox.association_types(from_type, from_id, to_type, to_id))
            rows.append({
                "toObjectId": int(to_id),
                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                                     for type_id in type_ids],
            })
        return rows

    def associations_list(self, request: Request) -> Response:
        params = request.params
        self.sandbox.get(params["type"], params["id"])
        rows = self._labelled(params["type"], params["id"], params["to"])
        offset, limit = int(request.arg("after") or 0), int(request.arg("limit") or 500)
        body: dict[str, Any] = {"results": rows[offset:offset + limit]}
        if offset + limit < len(rows):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body)

    def associations_put(self, request: Request) -> Response:
        params = request.params
        for spec in request.json() or []:
            self.sandbox.associate(params["type"], params["id"], params["to"], params["to_id"],
                                   int(spec["associationTypeId"]))
        return Response(201, self._pair(params["type"], params["id"], params["to"], params["to_id"]))

    def _pair(self, from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
        return {
            "fromObjectTypeId": OBJECT_TYPE_IDS[from_type], "fromObjectId": int(from_id),
            "toObjectTypeId": OBJECT_TYPE_IDS[to_type], "toObjectId": int(to_id), "labels": [],
        }

    def associations_batch_create(self, request: Request) -> Response:
        from_type, to_type = request.params["type"], request.params["to"]
        started = self.sandbox.clock()
        results, missing = [], []
        for item in self._inputs(request):
            from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            try:
                for spec in item.get("types") or []:
                    self.sandbox.associate(from_type, from_id, to_type, to_id, int(spec["associationTypeId"]))
            except InputError as error:
                if error.status != 404:
                    raise
                missing.append(f"{from_id}->{to_id}")
                continue
            results.append(self._pair(from_type, from_id, to_type, to_id))
        errors = []
        if missing:
            errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                           "message": f"Could not associate some records, they may be deleted or not exist: "
                                      f"{', '.join(missing)}",
                           "context": {"pairs": missing}, "errors": [], "links": {}})
        return _batch_body(results, errors, started, 201)

    def associations_batch_archive(self, request: Request) -> Response:
        """Remove every association between each `from` record and its `to` records (204)."""
        from_type, to_type = request.params["type"], request.params["to"]
        for item in self._inputs(request):
            from_id = str(item["from"]["id"])
            for target in item.get("to") or []:
                to_id = str(target["id"])
                self.sandbox.links.get((from_type, from_id, to_type), {}).pop(to_id, None)
                self.sandbox.links.get((to_type, to_id, from_type), {}).pop(from_id, None)
        return Response(204)

    def associations_batch_read(self, request: Request) -> Response:
        """Read associations of many records; records without any come back as errors (207)."""
        from_type, to_type = request.params["type"], request.params["to"]
        started = self.sandbox.clock()
        results, empty = [], []
        for item in self._inputs(request):
            from_id = str(item["id"])
            rows = self._labelled(from_type, from_id, to_type)
            if rows:
                results.append({"from": {"id": from_id}, "to": rows})
            else:
                empty.append(from_id)
        errors = []
        if empty:
            errors.append({"status": "error", "category": "VALIDATION_ERROR",
                           "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                           "message": f"No {SINGULAR[to_type]} is associated with {SINGULAR[from_type]} "
                                      f"{', '.join(empty)}",
                           "context": {"fromObjectId": empty}, "errors": [], "links": {}})
        return _batch_body(results, errors, started, 200)

    # -- owners, pipelines, properties ------------------------------------------------

    def owners(self, request: Request) -> Response:
        archived = _flag(request, "archived")
        email = (request.arg("email") or "").lower()
        chosen = [owner for owner in self.sandbox.owner_table.values()
                  if owner["archived"] == archived and (not email or owner["email"].lower() == email)]
        offset, limit = int(request.arg("after") or 0), int(request.arg("limit") or 100)
        body: dict[str, Any] = {"results": chosen[offset:offset + limit]}
        if offset + limit < len(chosen):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body)

    def owner(self, request: Request) -> Response:
        owner = self.sandbox.owner_table.get(request.params["id"])
        if owner is None or owner["archived"] != _flag(request, "archived"):
            raise InputError(404, "OBJECT_NOT_FOUND", f"Owner {request.params['id']} not found")
        return Response(200, owner)

    def pipelines(self, request: Request) -> Response:
        return Response(200, {"results": self.sandbox.pipelines})

    def _pipeline(self, pipeline_id: str) -> dict[str, Any]:
        for pipeline in self.sandbox.pipelines:
            if pipeline["id"] == pipeline_id:
                return pipeline
        raise InputError(404, "OBJECT_NOT_FOUND", f"Pipeline {pipeline_id} not found")

    def pipeline(self, request: Request) -> Response:
        return Response(200, self._pipeline(request.params["id"]))

    def stages(self, request: Request) -> Response:
        return Response(200, {"results": self._pipeline(request.params["id"])["stages"]})

    def properties(self, request: Request) -> Response:
        object_type = PLURAL.get(request.params["type"], request.params["type"])
        if object_type not in OBJECT_TYPES:
            raise InputError(404, "OBJECT_NOT_FOUND", f"Unknown object type {request.params['type']}")
        props = self.sandbox.schema[object_type].values()
        return Response(200, {"results": [prop.to_json(object_type) for prop in props]})
