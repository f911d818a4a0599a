"""A small threaded HTTP server with a router and a request counter.

The HubSpot, Dataverse and token sandboxes each mount their routes on one of these.
Routes are (method, regular expression) pairs; the handler gets a `Request` and returns
a `Response`. Every request is counted per endpoint name, so tests and benchmarks can
assert how many calls a run made.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

log = structlog.get_logger(__name__)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Return all values of a list parameter, sent repeated (`a=1&a=2`) or comma-separated."""
        values: list[str] = []
        for value in self.query.get(name, []):
            values.extend(part for part in value.split(",") if part)
        return values


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler


class Router:
    """Routes requests and counts them per endpoint name."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        # Called before every routed request; may return a Response to short-cut it
        # (fault injection, rate limits, authentication).
        self.before: list[Callable[[Request, Route], Response | None]] = []

    def add(self, method: str, pattern: str, name: str, handler: Handler) -> None:
        self.routes.append(Route(method, re.compile(f"^{pattern}$"), name, handler))

    def count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()

    def total(self, prefix: str = "") -> int:
        with self._lock:
            return sum(n for name, n in self.counts.items() if name.startswith(prefix))

    def dispatch(self, request: Request) -> Response:
        for route in self.routes:
            if route.method != request.method:
                continue
            match = route.pattern.match(request.path)
            if match is None:
                continue
            request.params = match.groupdict()
            self.count(route.name)
            for hook in self.before:
                early = hook(request, route)
                if early is not None:
                    return early
            return route.handler(request)
        self.count("unrouted")
        return Response(404, {"status": "error", "message": f"No route for {request.method} {request.path}"})


def _make_handler(router: Router) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes. With Nagle's algorithm on, the body waits
        # for the client's delayed ACK, about 40 ms per request on Linux.
        disable_nagle_algorithm = True

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
            )
            try:
                response = router.dispatch(request)
            except Exception as error:  # a sandbox bug must return a 500, not hang the client
                log.exception("sandbox.handler_failed", path=request.path)
                response = Response(500, {"status": "error", "message": f"sandbox error: {error}"})
            if response.status == -1:  # dropped connection (fault injection)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            payload = response.encode()
            self.send_response(response.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
            if response.status in (204, 304):
                payload = b""
                headers.pop("Content-Type", None)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            try:
                self.end_headers()
                if payload:
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client closed the connection (a timeout test, or a killed process), so nothing is sent.
                self.close_connection = True

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("sandbox.request", line=format % args)

    return _Handler


class SandboxServer:
    """Runs a router on a loopback port in a background thread.

    Port 0 picks a free port. Pass an `ssl.SSLContext` to serve HTTPS.
    """

    def __init__(self, router: Router, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None):
        self.router = router
        self.httpd = ThreadingHTTPServer((host, port), _make_handler(router))
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
