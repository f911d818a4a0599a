"""Write opportunities: plain PATCHes, plus the reopen and close steps that state changes need.

One read finds the current state of the rows the writes touch (50 ids a query). Then the
steps go out in rounds: round n sends step n of every write that is still going, each in
its own change set of one `$batch`. A write whose last step is a close action is read
back once at the end for its etag. When a step fails after a reopen, the writer closes
the row again as it was, and the error reports whether that worked.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import structlog

from sync.connectors.base import WriteOp, WriteRequest, WriteResult
from sync.connectors.dynamics.closing import (
    CURRENT_COLUMNS,
    InvalidStateError,
    OpportunityState,
    StatePlan,
    Step,
    StepKind,
    plan_deal_write,
)
from sync.connectors.dynamics.errors import Action, action_for, error_message
from sync.connectors.dynamics.odata import BatchOperation, BatchReply
from sync.connectors.dynamics.records import record_from_row
from sync.errors import RecordError, TransientError
from sync.model import Kind, Record

log = structlog.get_logger(__name__)

IDS_PER_QUERY = 50
ENTITY_SET = "opportunities"


@dataclass
class OpportunityRun:
    """The progress of one write request through its plan."""

    request: WriteRequest
    record_id: str
    plan: StatePlan
    etag: str | None
    creates: bool
    position: int = 0
    reopened: bool = False
    restoring: bool = False
    read_back: bool = False
    row: dict[str, Any] | None = None
    reason: str | None = None
    category: str | None = None

    @property
    def step(self) -> Step | None:
        if self.reason is not None and not self.restoring:
            return None
        if self.restoring:
            return self.plan.restore
        return self.plan.steps[self.position] if self.position < len(self.plan.steps) else None


class OpportunityWriter:
    """Writer of opportunities through `send`, which posts `$batch` requests and returns the replies in order.

    `query` reads rows of an entity set with OData query options and follows paging.
    `select` lists the columns to read back, and `today` returns the fallback close date.
    """

    def __init__(self, send: Callable[[list[BatchOperation]], list[BatchReply]],
                 query: Callable[[str, dict[str, str]], list[dict[str, Any]]],
                 select: list[str], today: Callable[[], date]) -> None:
        self.send = send
        self.query = query
        self.select = select
        self.today = today

    def write(self, requests: Sequence[WriteRequest], binds: list[dict[str, str]]) -> list[WriteResult]:
        """Write each request with `binds[i]` added to its values; one result per request, in order.

        Raises `TransientError` when a round outlives the retries, after closing again
        every row it had reopened.
        """
        current = self._current_rows(requests)
        results: list[WriteResult | None] = []
        runs: list[OpportunityRun | None] = []
        for request, request_binds in zip(requests, binds, strict=True):
            run, result = self._start(request, request_binds, current)
            runs.append(run)
            results.append(result)

        self._run_rounds([run for run in runs if run is not None])
        self._read_back([run for run in runs if run is not None and run.reason is None and run.read_back])
        return [result if run is None else self._result(run) for run, result in zip(runs, results, strict=True)]

    def _current_rows(self, requests: Sequence[WriteRequest]) -> dict[str, dict[str, Any]]:
        """Read the rows that updates touch and that closing creates may already have made."""
        ids = [_normalised(request.record_id) for request in requests if request.record_id and (
            request.op is WriteOp.UPDATE or _closes(request))]
        return self._rows(list(dict.fromkeys(ids)), [*self.select, *CURRENT_COLUMNS])

    def _start(self, request: WriteRequest, binds: dict[str, str],
               current: dict[str, dict[str, Any]]) -> tuple[OpportunityRun | None, WriteResult | None]:
        record_id = _normalised(request.record_id) if request.record_id else str(uuid.uuid4())
        row = current.get(record_id)
        op, values, etag = request.op, request.values, request.etag
        if op is WriteOp.CREATE and row is not None:
            # An earlier try created the row and did not close it: finish only the close.
            op, values, binds, etag = WriteOp.UPDATE, _state_values(values), {}, None
        try:
            plan = plan_deal_write(op, record_id, values, binds, row, self.today())
        except InvalidStateError as error:
            return None, _failed(record_id, str(error), "invalid_state")

        if not plan.steps:
            record = record_from_row(Kind.DEAL, row) if row else None
            return None, WriteResult(ok=True, record_id=record_id, etag=(row or {}).get("@odata.etag"), record=record)
        creates = op is WriteOp.CREATE
        return OpportunityRun(request, record_id, plan, etag, creates), None

    def _run_rounds(self, runs: list[OpportunityRun]) -> None:
        while True:
            going = [run for run in runs if run.step is not None]
            if not going:
                return
            operations = [self._operation(run, run.step) for run in going if run.step is not None]
            try:
                replies = self.send(operations)
            except TransientError as error:
                self._restore_after(runs, error)
                raise
            for run, reply in zip(going, replies, strict=True):
                self._advance(run, reply)

    def _operation(self, run: OpportunityRun, step: Step) -> BatchOperation:
        if step.kind in (StepKind.CLOSE, StepKind.RESTORE):
            return BatchOperation("POST", step.action or "", {}, step.body)

        headers = {"Prefer": "return=representation"}
        if run.creates and run.position == 0:
            headers["If-None-Match"] = "*"
        else:
            headers["If-Match"] = run.etag or "*"
        path = f"{ENTITY_SET}({run.record_id})?$select={','.join(self.select)}"
        return BatchOperation("PATCH", path, headers, step.body)

    def _advance(self, run: OpportunityRun, reply: BatchReply) -> None:
        step = run.step
        assert step is not None
        action = action_for(reply.status)
        retried_create = run.creates and run.position == 0 and action is Action.ETAG_MISMATCH
        if action is not Action.OK and not retried_create:
            self._fail(run, step, f"HTTP {reply.status}: {error_message(reply.body)}", _category(action, reply.status))
            return

        if step.kind is StepKind.RESTORE:
            run.reopened, run.restoring = False, False
            run.reason = f"{run.reason}; the opportunity was closed again as it was"
            return
        body = reply.body if action is Action.OK and isinstance(reply.body, dict) else None
        run.row = body
        run.etag = (body or {}).get("@odata.etag") or reply.headers.get("ETag")
        run.reopened = run.reopened or step.kind is StepKind.REOPEN
        run.read_back = step.kind is StepKind.CLOSE or retried_create
        if step.kind is StepKind.CLOSE:
            run.reopened = False
        run.position += 1

    def _fail(self, run: OpportunityRun, step: Step, failure: str, category: str) -> None:
        if step.kind is StepKind.RESTORE:
            run.restoring = False
            run.reason = (f"{run.reason}; {step.describe()} also failed with {failure}, so the opportunity is "
                          "left open: close it in Dynamics or let the next run retry")
            log.error("dynamics.opportunity_left_open", record_id=run.record_id, error=failure)
            return

        run.reason = f"{step.describe()} failed with {failure}"
        run.category = category
        if run.reopened and run.plan.restore is not None:
            run.restoring = True
        elif run.position > 0:
            run.reason += "; the earlier steps were written and the opportunity is open"

    def _restore_after(self, runs: list[OpportunityRun], error: TransientError) -> None:
        """Close again the rows a failed round left reopened; log those that stay open."""
        reopened = [run for run in runs if run.reopened and run.plan.restore is not None]
        if not reopened:
            return
        restores = [run.plan.restore for run in reopened if run.plan.restore is not None]
        try:
            replies = self.send([self._operation(run, step) for run, step in zip(reopened, restores, strict=True)])
        except TransientError:
            replies = []
        for run, reply in zip(reopened, replies, strict=True):
            if action_for(reply.status) is Action.OK:
                run.reopened = False
        for run in reopened:
            if run.reopened:
                log.error("dynamics.opportunity_left_open", record_id=run.record_id, error=str(error))

    def _read_back(self, runs: list[OpportunityRun]) -> None:
        """Read the rows whose last step was a close action, for their etag and values."""
        rows = self._rows([run.record_id for run in runs], self.select)
        for run in runs:
            run.row = rows.get(run.record_id)
            run.etag = (run.row or {}).get("@odata.etag")

    def _rows(self, ids: list[str], columns: list[str]) -> dict[str, dict[str, Any]]:
        """Read rows by id, keyed by the normalised id; missing ids are left out."""
        select = ",".join(dict.fromkeys(columns))
        rows: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start:start + IDS_PER_QUERY]
            query = {"$select": select, "$filter": " or ".join(f"opportunityid eq {i}" for i in chunk)}
            rows.update({_normalised(row["opportunityid"]): row for row in self.query(ENTITY_SET, query)})
        return rows

    def _result(self, run: OpportunityRun) -> WriteResult:
        if run.reason is not None:
            return _failed(run.record_id, run.reason, run.category or "write")
        record: Record | None = record_from_row(Kind.DEAL, run.row) if run.row else None
        return WriteResult(ok=True, record_id=run.record_id, etag=run.etag, record=record)


def _closes(request: WriteRequest) -> bool:
    return request.values.get("statecode") in (OpportunityState.WON, OpportunityState.LOST)


def _state_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in ("statecode", "statuscode") if name in values}


def _normalised(record_id: str) -> str:
    return str(uuid.UUID(record_id))


def _category(action: Action, status: int) -> str:
    if action is Action.ETAG_MISMATCH:
        return "etag_mismatch"
    if action is Action.RETRY:
        return "transient"
    return f"http_{status}"


def _failed(record_id: str, reason: str, category: str) -> WriteResult:
    error = RecordError(reason, system="dynamics", kind=str(Kind.DEAL), record_id=record_id, category=category)
    return WriteResult(ok=False, record_id=record_id, error=error)
