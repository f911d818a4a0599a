"""The error classes of crmsync.

One root, three families, each saying what happens next:

- `ConfigError`: never retried. The message names the file, line or setting and the fix.
- `TransientError`: timeouts, 429 and 5xx. Retried with backoff that honours Retry-After.
- `RecordError`: one record was rejected. It is counted, reported and kept for the next run.

Constructors take structured values and compose the message from them, so tests and
reports can read the parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CrmsyncError(Exception):
    """Root of every error that crmsync raises on purpose.

    `input_error` is True for a mistake in what the user asked, such as an unknown id, so
    the command line exits with the same status as for an invalid configuration.
    """

    input_error = False


@dataclass(frozen=True)
class Problem:
    """One problem in a file: where it is, what is wrong and how to fix it."""

    message: str
    file: str | Path | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        text = where + (f"{self.field}: " if self.field else "") + self.message
        if self.fix:
            text += ("" if text.endswith((".", "?", "!")) else ".") + f" Fix: {self.fix}"
        return text


class ConfigError(CrmsyncError):
    """A setting, mapping, seed file or environment problem. Never retried.

    Carries every problem found, so that an admin can fix them all in one pass.
    """

    def __init__(self, problems: list[Problem] | Problem | str, fix: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems, fix=fix)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class TransientError(CrmsyncError):
    """A failure that may pass: a timeout, a 429, a 5xx or a dropped connection.

    `retry_after` is the wait in seconds that the server asked for, if it asked.
    `headline` is how the command line introduces the message.
    """

    headline = "a CRM did not answer after retries"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class RecordError(CrmsyncError):
    """One record was rejected; the run goes on with the others."""

    def __init__(
        self,
        reason: str,
        *,
        system: str | None = None,
        kind: str | None = None,
        record_id: str | None = None,
        field: str | None = None,
        category: str | None = None,
    ):
        self.reason = reason
        self.system = system
        self.kind = kind
        self.record_id = record_id
        self.field = field
        self.category = category
        parts = [part for part in (system, kind, record_id) if part]
        subject = " ".join(parts)
        if field:
            subject += f" field {field}"
        super().__init__(f"{subject}: {reason}" if subject else reason)
