"""Read the CSV files of a seed spec, decide on repeated keys, and count what happened to each row.

All files are read before anything is written, so a missing column, an undecodable file
or a repeated key under `on_duplicate_key: stop` ends the command with every problem
listed and the sandbox unchanged.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sync.errors import ConfigError, Problem
from sync.sandbox.seed_spec import DuplicateKeys, SeedSpec, Source

# Rejected rows shown in the command output; the rejects file lists them all.
SHOWN_REJECTIONS = 50


@dataclass(frozen=True)
class CsvRow:
    """One CSV record: the line it starts on and its values by stripped header name."""

    line: int
    values: dict[str, str]
    # Fields beyond the header (positive) or missing from the end of the record (negative).
    extra_fields: int = 0


@dataclass(frozen=True)
class RepeatedKeys:
    """How often the key column repeats a value in one file."""

    column: str
    values: int
    rows: int
    example: str
    example_rows: int

    def describe(self) -> str:
        return (f"key column {self.column!r} is not unique: {self.values} value(s) repeat across {self.rows} rows, "
                f"e.g. {self.example!r} in {self.example_rows} rows")


@dataclass
class SourceRows:
    """The rows of one source, and the rows that the key decision rejects with their reasons."""

    source: Source
    rows: list[CsvRow]
    skipped: dict[int, str] = field(default_factory=dict)
    repeated: RepeatedKeys | None = None

    @property
    def label(self) -> str:
        return source_label(self.source)


def source_label(source: Source) -> str:
    """Name a source in reports: the same CSV may feed both systems."""
    return f"{source.name} ({source.system} {source.kind})"


@dataclass(frozen=True)
class RejectedRow:
    """One row that was not loaded, and why."""

    file: str
    line: int
    reason: str
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        if self.column is not None:
            where += f": column {self.column!r} value {self.value!r}"
        return f"{where}: {self.reason}"


@dataclass
class FileCounts:
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    repeated: RepeatedKeys | None = None
    on_duplicate_key: DuplicateKeys = DuplicateKeys.KEEP_ALL


@dataclass
class SpecSeedReport:
    """Rows read, loaded and rejected per source, with a reason for every rejected row."""

    files: dict[str, FileCounts] = field(default_factory=dict)
    rejected: list[RejectedRow] = field(default_factory=list)
    data_file: Path | None = None
    rejects_file: Path | None = None

    @property
    def read(self) -> int:
        return sum(counts.read for counts in self.files.values())

    @property
    def loaded(self) -> int:
        return sum(counts.loaded for counts in self.files.values())

    def start(self, rows: SourceRows) -> None:
        self.files[rows.label] = FileCounts(repeated=rows.repeated, on_duplicate_key=rows.source.on_duplicate_key)

    def count_loaded(self, label: str) -> None:
        counts = self.files[label]
        counts.read += 1
        counts.loaded += 1

    def reject(self, label: str, row: RejectedRow) -> None:
        counts = self.files[label]
        counts.read += 1
        counts.rejected += 1
        self.rejected.append(row)

    def lines(self, limit: int = SHOWN_REJECTIONS) -> list[str]:
        """Render the summary for the command line: counts per file, then the rejected rows."""
        lines = []
        for label, counts in self.files.items():
            lines.append(f"{label}: {counts.read} rows read, {counts.loaded} loaded, {counts.rejected} rejected")
            if counts.repeated is not None:
                lines.append(f"  {counts.repeated.describe()}; on_duplicate_key: {counts.on_duplicate_key}")
        if self.rejected:
            lines.append("Rejected rows:")
            lines += [f"  {row}" for row in self.rejected[:limit]]
        if len(self.rejected) > limit:
            lines.append(f"  and {len(self.rejected) - limit} more rejected rows; all are in {self.rejects_file}")
        if self.data_file is not None:
            lines.append(f"Saved the sandbox data to {self.data_file}")
        return lines

    def write_rejects(self, path: Path) -> None:
        """Write every rejected row to a CSV file: file, line, column, value, reason."""
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "column", "value", "reason"])
            for row in self.rejected:
                writer.writerow([row.file, row.line, row.column or "", row.value or "", row.reason])
        self.rejects_file = path


def read_sources(spec: SeedSpec) -> list[SourceRows]:
    """Read every source in load order. Raises `ConfigError` listing the problems of all files."""
    problems: list[Problem] = []
    tables: list[SourceRows] = []
    for source in spec.load_order():
        try:
            rows = read_source(source)
        except ConfigError as error:
            problems += error.problems
            continue
        problem = decide_repeated_keys(rows, spec.path)
        if problem is not None:
            problems.append(problem)
        tables.append(rows)
    if problems:
        raise ConfigError(problems)
    return tables


def read_source(source: Source) -> SourceRows:
    """Read one CSV file. Raises `ConfigError` for an unreadable file or missing columns."""
    try:
        with source.file.open(newline="", encoding=source.encoding) as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            _check_header(source, header)
            return SourceRows(source, list(_records(reader, header)))
    except UnicodeDecodeError as error:
        raise ConfigError(Problem(
            f"cannot decode the file as {source.encoding}: {error.reason} at byte {error.start}",
            file=source.file, fix="set `encoding:` of this source in the spec, e.g. cp1252 or latin-1",
        )) from None
    except csv.Error as error:
        raise ConfigError(Problem(f"invalid CSV: {error}", file=source.file, fix="export the file as CSV again")) from None
    except OSError as error:
        raise ConfigError(Problem(f"cannot read the file: {error.strerror}", file=source.file)) from None


def _check_header(source: Source, header: list[str]) -> None:
    missing = [column for column in source.used_columns if column not in header]
    if not missing:
        return
    folded = {name.lower(): name for name in header}
    hints = [f"{column!r} (the file has {folded[column.lower()]!r})" for column in missing if column.lower() in folded]
    fix = "fix the column names in the spec, or export the file with these columns"
    if hints:
        fix += "; names are case-sensitive: " + ", ".join(hints)
    raise ConfigError(Problem(
        f"missing column(s) {', '.join(repr(column) for column in missing)}; "
        f"the header has {', '.join(repr(name) for name in header) or 'no columns'}",
        file=source.file, line=1, fix=fix,
    ))


def _records(reader: csv.Reader, header: list[str]):
    line = reader.line_num + 1
    for fields in reader:
        if any(value.strip() for value in fields):
            values = {name: (fields[index].strip() if index < len(fields) else "") for index, name in enumerate(header)}
            yield CsvRow(line, values, len(fields) - len(header))
        line = reader.line_num + 1


def decide_repeated_keys(rows: SourceRows, spec_path: Path) -> Problem | None:
    """Mark the rows that the source's `on_duplicate_key` rejects; return a problem for `stop`.

    Rows with an empty key are rejected under every option, because nothing identifies them.
    """
    source = rows.source
    if source.key is None:
        return None
    lines_by_key: dict[str, list[int]] = defaultdict(list)
    for row in rows.rows:
        key = row.values.get(source.key, "")
        if key:
            lines_by_key[key].append(row.line)
        else:
            rows.skipped[row.line] = f"the key column {source.key!r} is empty"
    repeats = {key: lines for key, lines in lines_by_key.items() if len(lines) > 1}
    if not repeats:
        return None

    example = max(repeats, key=lambda key: len(repeats[key]))
    rows.repeated = RepeatedKeys(source.key, len(repeats), sum(map(len, repeats.values())), example, len(repeats[example]))
    if source.on_duplicate_key is DuplicateKeys.STOP:
        return Problem(f"{source.name}: {rows.repeated.describe()}", file=spec_path, line=source.line, field="key",
                       fix="remove the repeats from the CSV, or set on_duplicate_key to keep_first, keep_last or keep_all")
    _skip_repeats(rows, repeats)
    return None


def _skip_repeats(rows: SourceRows, repeats: dict[str, list[int]]) -> None:
    option = rows.source.on_duplicate_key
    if option is DuplicateKeys.KEEP_ALL:
        return
    for key, lines in repeats.items():
        kept = lines[0] if option is DuplicateKeys.KEEP_FIRST else lines[-1]
        for line in lines:
            if line != kept:
                rows.skipped[line] = f"key {key!r} repeats; {option} keeps line {kept}"
