"""Service protection limits of the Dataverse sandbox: requests, execution time, concurrency."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sync.sandbox.dataverse import DataverseSandbox
from sync.sandbox.dataverse_limits import ServiceLimits
from sync.sandbox.http import SandboxServer


class Clock:
    def __init__(self):
        self.now = datetime(2024, 5, 1, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


class StepTimer:
    """A timer that moves one second at each reading, so each request executes 1,000 ms."""

    def __init__(self):
        self.value = 0.0

    def __call__(self):
        self.value += 1.0
        return self.value


@pytest.fixture
def clock():
    return Clock()


def _serve(clock, service_limits):
    sandbox = DataverseSandbox(lambda token: token in ("one", "two"), clock=clock, service_limits=service_limits)
    server = SandboxServer(sandbox.router).start()
    sandbox.url = server.url + "/api/data/v9.2"
    return sandbox, server


@pytest.fixture
def box(clock):
    sandbox, server = _serve(clock, ServiceLimits(requests=3, execution_ms=1_000_000, concurrent=52))
    yield sandbox
    server.stop()


def _get(box, token="one"):
    return requests.get(f"{box.url}/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_requests_limit_429(box):
    statuses = [_get(box).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_requests_limit_code_and_wait(box):
    for _ in range(3):
        _get(box)
    response = _get(box)
    assert response.json()["error"]["code"] == "0x80072322"
    assert "limit of 3 over time window of 300 seconds" in response.json()["error"]["message"]
    assert response.headers["Retry-After"] == "300"


def test_retry_after_oldest_leaves(box, clock):
    for _ in range(3):
        _get(box)
        clock.advance(100)
    # The oldest request finished 300 s ago and has left the window; the second leaves in 100 s.
    assert _get(box).status_code == 200
    assert _get(box).headers["Retry-After"] == "100"


def test_window_slides(box, clock):
    for _ in range(3):
        _get(box)
    clock.advance(300)
    assert _get(box).status_code == 200


def test_limits_per_user(box):
    for _ in range(3):
        _get(box, "one")
    assert _get(box, "two").status_code == 200


def test_remaining_headers(box):
    response = _get(box)
    assert response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "2"
    assert "x-ms-ratelimit-time-remaining-xrm-requests" in response.headers


def test_rejections_recorded(box):
    for _ in range(4):
        _get(box)
    assert [(item.limit, item.retry_after) for item in box.protection.rejections] == [("requests", 300)]


def test_execution_time_limit(clock):
    sandbox, server = _serve(clock, ServiceLimits(requests=100, execution_ms=2500, concurrent=52))
    sandbox.protection.timer = StepTimer()
    try:
        statuses = [_get(sandbox).status_code for _ in range(4)]
        rejected = _get(sandbox)
    finally:
        server.stop()
    assert statuses == [200, 200, 200, 429]
    assert rejected.json()["error"]["code"] == "0x80072321"


def test_concurrency_immediate(clock):
    sandbox, server = _serve(clock, ServiceLimits(concurrent=1))
    results = []
    try:
        with sandbox.lock:
            first = threading.Thread(target=lambda: results.append(_get(sandbox)))
            first.start()
            deadline = time.monotonic() + 5
            while sandbox.protection._usage.get("one") is None or sandbox.protection._usage["one"].in_flight < 1:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            second = _get(sandbox)
        first.join(timeout=5)
    finally:
        server.stop()
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "0x80072326"
    assert results[0].status_code == 200


def test_batch_counts_once(box):
    lines = ["--b"]
    for number in range(5):
        lines += ["Content-Type: application/http", f"Content-ID: {number}", "", "POST contacts HTTP/1.1",
                  "Content-Type: application/json", "", json.dumps({"lastname": f"L{number}"}), "--b"]
    body = "\r\n".join(lines[:-1] + ["--b--", ""])
    response = requests.post(f"{box.url}/$batch", data=body, timeout=5,
                             headers={"Authorization": "Bearer one", "Content-Type": "multipart/mixed; boundary=b"})
    assert response.status_code == 200
    assert len(box.rows("contacts")) == 5
    assert response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "2"


def test_limits_off(clock):
    sandbox, server = _serve(clock, None)
    try:
        statuses = {_get(sandbox).status_code for _ in range(10)}
    finally:
        server.stop()
    assert statuses == {200}
