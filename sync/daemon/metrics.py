"""Prometheus metrics and a health check for the daemon, on one loopback-or-any port.

`GET /metrics` serves the Prometheus text format; `GET /healthz` answers 200 while the
last run succeeded recently (within three intervals) or another replica leads, and 503 otherwise, with a JSON body
that says why.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest


class DaemonMetrics:
    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self.registry = CollectorRegistry()
        self.runs = Counter("crmsync_runs", "Sync runs by outcome.", ["outcome"], registry=self.registry)
        self.writes = Counter("crmsync_records_written", "Records created, updated or archived.", ["system", "operation"],
                              registry=self.registry)
        self.record_errors = Counter("crmsync_record_errors", "Records rejected in a run.", registry=self.registry)
        self.last_success = Gauge("crmsync_last_success_timestamp_seconds", "When the last successful run ended.",
                                  registry=self.registry)
        self.leader = Gauge("crmsync_leader", "1 while this replica holds the leader lock.", registry=self.registry)
        self._last_success: float | None = None
        self._last_error: str | None = None
        self._standby = False

    def set_leader(self, leading: bool) -> None:
        """Record whether this replica holds the leader lock; a standby replica is healthy."""
        self._standby = not leading
        self.leader.set(1 if leading else 0)

    def observe(self, result: Any) -> None:
        """Count a finished run (a `RunResult`)."""
        self.runs.labels("succeeded").inc()
        for applied in result.applied.values():
            for system, count in applied.created.items():
                self.writes.labels(str(system), "create").inc(count)
            for system, count in applied.updated.items():
                self.writes.labels(str(system), "update").inc(count)
            for system, count in applied.archived.items():
                self.writes.labels(str(system), "archive").inc(count)
        self.record_errors.inc(result.failed)
        self._last_success = time.time()
        self._last_error = None
        self.last_success.set(self._last_success)

    def observe_failure(self, error: Exception) -> None:
        self.runs.labels("failed").inc()
        self._last_error = f"{type(error).__name__}: {error}"

    def health(self) -> tuple[int, dict[str, Any]]:
        if self._standby:
            return 200, {"status": "standby", "reason": "another replica holds the leader lock"}
        if self._last_success is None:
            return 503, {"status": "starting", "last_error": self._last_error}
        age = time.time() - self._last_success
        healthy = age <= 3 * self.interval_seconds
        body = {"status": "ok" if healthy else "stale", "last_success_age_seconds": round(age, 1),
                "last_error": self._last_error}
        return (200 if healthy else 503), body


def serve_metrics(metrics: DaemonMetrics, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve /metrics and /healthz in a background thread; return the server to stop it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                status, body = metrics.health()
                self._send(status, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b"not found", "text/plain")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="metrics", daemon=True).start()
    return server
