"""OData request pieces: `$batch` bodies of change sets, and parsing `$batch` responses."""

from __future__ import annotations

import email.parser
import email.policy
import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class BatchOperation:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class BatchReply:
    status: int
    headers: dict[str, str]
    body: Any


def build_batch(operations: list[BatchOperation], base_path: str) -> tuple[str, bytes]:
    """Return the Content-Type and body of a batch that puts each operation in its own change set."""
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for number, operation in enumerate(operations, start=1):
        changeset = f"changeset_{uuid.uuid4()}"
        lines += [f"--{boundary}", f"Content-Type: multipart/mixed; boundary={changeset}", "",
                  f"--{changeset}", "Content-Type: application/http", "Content-Transfer-Encoding: binary",
                  f"Content-ID: {number}", "",
                  f"{operation.method} {base_path}/{operation.path} HTTP/1.1",
                  "Content-Type: application/json"]
        lines += [f"{name}: {value}" for name, value in operation.headers.items()]
        lines += ["", json.dumps(operation.body) if operation.body is not None else "", f"--{changeset}--"]
    lines.append(f"--{boundary}--")
    return f"multipart/mixed; boundary={boundary}", ("\r\n".join(lines) + "\r\n").encode()


def parse_batch_response(content_type: str, body: bytes) -> list[BatchReply]:
    """Return the inner responses of a batch response in order, change sets flattened."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    replies = []
    for part in message.walk():
        if part.get_content_type() == "application/http":
            replies.append(_parse_http(part.get_payload(decode=True) or b""))
    return replies


def _parse_http(raw: bytes) -> BatchReply:
    text = raw.decode("utf-8").replace("\r\n", "\n")
    head, _, content = text.partition("\n\n")
    lines = head.strip("\n").splitlines()
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    content = content.strip()
    try:
        parsed: Any = json.loads(content) if content else None
    except ValueError:
        parsed = content
    return BatchReply(status, headers, parsed)
