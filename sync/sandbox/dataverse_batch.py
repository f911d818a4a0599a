"""Parse `$batch` request bodies and render `$batch` responses (multipart/mixed).

A batch body holds parts separated by `--<boundary>` lines and closed by
`--<boundary>--`. A part is either one `application/http` request or a change set: a
nested multipart/mixed body whose requests succeed or fail together. Line ends may be
CRLF or LF.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus

from sync.sandbox.http import Response

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class BatchFormatError(ValueError):
    """A `$batch` body that cannot be parsed; answered with 400."""


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


BatchPart = Operation | ChangeSet


def boundary_of(content_type: str | None) -> str:
    """Return the multipart boundary of a Content-Type header. Raises `BatchFormatError`."""
    match = _BOUNDARY.search(content_type or "")
    if not content_type or not content_type.lower().startswith("multipart/mixed") or match is None:
        raise BatchFormatError(f"A $batch request needs 'Content-Type: multipart/mixed; boundary=...', got '{content_type}'.")
    return match.group(1)


def parse_batch(body: bytes, content_type: str | None) -> list[BatchPart]:
    """Split a batch body into operations and change sets, in order."""
    parts: list[BatchPart] = []
    for headers, content in _split(body.decode("utf-8"), boundary_of(content_type)):
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            inner = [_operation(h, c) for h, c in _split(content, boundary_of(part_type))]
            parts.append(ChangeSet(inner))
        else:
            parts.append(_operation(headers, content))
    return parts


def _split(text: str, boundary: str) -> list[tuple[dict[str, str], str]]:
    text = text.replace("\r\n", "\n")
    delimiter = f"--{boundary}"
    if f"{delimiter}--" not in text:
        raise BatchFormatError(f"The batch body does not end with '{delimiter}--'.")
    body = text.split(f"{delimiter}--", 1)[0]
    chunks = body.split(delimiter + "\n")[1:]
    return [_headers_and_content(chunk) for chunk in chunks]


def _headers_and_content(chunk: str) -> tuple[dict[str, str], str]:
    head, _, content = chunk.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, content


def _operation(part_headers: dict[str, str], content: str) -> Operation:
    if not part_headers.get("content-type", "").lower().startswith("application/http"):
        raise BatchFormatError("Each batch part must have 'Content-Type: application/http'.")
    head, _, body = content.partition("\n\n")
    lines = head.strip("\n").splitlines()
    if not lines:
        raise BatchFormatError("A batch part has no request line.")
    request_line = lines[0].split()
    if len(request_line) < 2:
        raise BatchFormatError(f"Invalid request line in a batch part: '{lines[0]}'.")
    headers, _ = _headers_and_content("\n".join(lines[1:]) + "\n\n")
    return Operation(
        method=request_line[0].upper(),
        url=request_line[1],
        headers=headers,
        body=body.strip().encode("utf-8"),
        content_id=part_headers.get("content-id"),
    )


@dataclass
class PartResult:
    """The response to one operation, with the Content-ID it came with."""

    response: Response
    content_id: str | None = None


@dataclass
class ChangeSetResult:
    results: list[PartResult]


def render_batch(parts: list[PartResult | ChangeSetResult]) -> tuple[str, bytes]:
    """Render batch results; returns the Content-Type header and the body."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    lines: list[str] = []
    for part in parts:
        lines.append(f"--{boundary}")
        if isinstance(part, ChangeSetResult):
            inner = f"changesetresponse_{uuid.uuid4()}"
            lines += [f"Content-Type: multipart/mixed; boundary={inner}", ""]
            for result in part.results:
                lines += [f"--{inner}", *_render_part(result)]
            lines.append(f"--{inner}--")
        else:
            lines += _render_part(part)
    lines.append(f"--{boundary}--")
    return f"multipart/mixed; boundary={boundary}", ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _render_part(result: PartResult) -> list[str]:
    response = result.response
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if result.content_id is not None:
        lines.append(f"Content-ID: {result.content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}"]
    headers = dict(response.headers)
    payload = "" if response.body is None or response.status == 204 else json.dumps(response.body)
    if payload:
        headers.setdefault("Content-Type", "application/json; odata.metadata=minimal")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["", payload]
    return lines
