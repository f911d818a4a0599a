"""The reconciliation report of a run: counts per kind, then record by record.

A dry run writes this report from the same plan that a real run would apply, so it says
what the real run will do: which records it creates where, which fields it changes and
which rule decided each, which records it cannot match, and which look like duplicates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.engine.decide import MISSING
from sync.engine.plan import COUNT_LABELS, PairPlan
from sync.engine.run import RunResult
from sync.reports.html import render_reconciliation_html
from sync.model import System

# Record-level sections list at most this many rows per kind in Markdown; JSON has all.
MARKDOWN_ROW_LIMIT = 50



@dataclass(frozen=True)
class ReportPaths:
    markdown: Path
    json: Path
    html: Path


def write_report(result: RunResult, directory: Path, now: datetime | None = None) -> ReportPaths:
    """Write the Markdown and JSON reports of `result` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    document = to_json(result, now)
    stem = "dry-run" if str(result.mode) == "dry_run" else "sync"
    paths = ReportPaths(*(directory / f"{stem}-report.{suffix}" for suffix in ("md", "json", "html")))
    paths.markdown.write_text(to_markdown(document), encoding="utf-8")
    paths.json.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    paths.html.write_text(render_reconciliation_html(document), encoding="utf-8")
    return paths


def to_json(result: RunResult, now: datetime) -> dict[str, Any]:
    kinds = {}
    for kind, plan in result.plan.kinds.items():
        kinds[str(kind)] = {
            "counts": result.counts()[str(kind)],
            "creates": [_create_json(create) for create in plan.creates],
            "updates": [_pair_json(pair) for pair in plan.pairs if pair.changed],
            "conflicts": [_pair_json(pair) for pair in plan.pairs if pair.conflicts],
            "unmatched": [_skip_json(skip) for skip in plan.skips if skip.listed],
            "archives": [
                {"target": archive.target.label, "record_id": archive.target_id, "reason": archive.detail}
                for archive in plan.archives
            ],
            "suspected_duplicates": [
                {"system": str(dup.system), "ids": list(dup.ids), "reason": dup.reason} for dup in plan.duplicates
            ],
            "possible_matches": [
                {"hubspot_id": left, "dynamics_id": right, "score": score, "evidence": evidence}
                for left, right, score, evidence in plan.possible_matches
            ],
        }
    return {
        "run_id": result.run_id,
        "mode": str(result.mode),
        "generated_at": now.isoformat(),
        "kinds": kinds,
        "record_errors": [str(error) for error in result.errors],
    }


def summary_lines(result: RunResult) -> list[str]:
    """One line per kind with the main counts, for the terminal."""
    lines = []
    for kind, counts in result.counts().items():
        shown = [f"{value} {COUNT_LABELS.get(name, name)}" for name, value in counts.items() if value]
        lines.append(f"{kind}: " + (", ".join(shown) if shown else "nothing to do"))
    return lines


def to_markdown(document: dict[str, Any]) -> str:
    title = "Dry-run reconciliation report" if document["mode"] == "dry_run" else "Sync report"
    lines = [f"# {title}", "", f"Run `{document['run_id']}`, {document['generated_at']}.", ""]
    lines += _counts_table(document["kinds"])
    for kind, section in document["kinds"].items():
        lines += _kind_section(kind, section)
    if document["record_errors"]:
        lines += ["## Record errors", ""]
        lines += [f"- {error}" for error in document["record_errors"][:MARKDOWN_ROW_LIMIT]]
        lines += _more(len(document["record_errors"]))
    return "\n".join(lines) + "\n"


def _counts_table(kinds: dict[str, Any]) -> list[str]:
    names = [name for name in COUNT_LABELS if any(name in section["counts"] for section in kinds.values())]
    lines = ["| | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for name in names:
        row = [str(section["counts"].get(name, 0)) for section in kinds.values()]
        lines.append(f"| {COUNT_LABELS[name]} | " + " | ".join(row) + " |")
    return lines + [""]


def _kind_section(kind: str, section: dict[str, Any]) -> list[str]:
    lines = [f"## {kind.capitalize()}", ""]
    if section["updates"]:
        lines += ["### Field changes", "", "| record | field | HubSpot | Dynamics | written to | rule |", "|---|---|---|---|---|---|"]
        rows = [row for update in section["updates"] for row in _change_rows(update)]
        lines += rows[:MARKDOWN_ROW_LIMIT] + _more(len(rows)) + [""]
    if section["creates"]:
        lines += ["### Creates", ""]
        lines += [f"- {c['source']} → new {c['target']} record: {_short(c['values'])}" for c in section["creates"][:MARKDOWN_ROW_LIMIT]]
        lines += _more(len(section["creates"])) + [""]
    if section.get("archives"):
        lines += ["### Archives (partner deleted, on_delete: archive)", ""]
        lines += [f"- {a['target']} record {a['record_id']}: {a['reason']}" for a in section["archives"][:MARKDOWN_ROW_LIMIT]]
        lines += _more(len(section["archives"])) + [""]
    if section["unmatched"]:
        lines += ["### Not synced", ""]
        lines += [f"- {s['record']}: {s['reason']} ({s['detail']})" for s in section["unmatched"][:MARKDOWN_ROW_LIMIT]]
        lines += _more(len(section["unmatched"])) + [""]
    if section["suspected_duplicates"]:
        lines += ["### Suspected duplicates (reported, never merged)", ""]
        lines += [f"- {d['system']}: {', '.join(d['ids'])} ({d['reason']})" for d in section["suspected_duplicates"][:MARKDOWN_ROW_LIMIT]]
        lines += _more(len(section["suspected_duplicates"])) + [""]
    if section["possible_matches"]:
        lines += ["### Possible matches for review (not linked)", ""]
        lines += [f"- HubSpot {p['hubspot_id']} ~ Dynamics {p['dynamics_id']}: score {p['score']:.1f}, {p['evidence']}"
                  for p in section["possible_matches"][:MARKDOWN_ROW_LIMIT]]
        lines += _more(len(section["possible_matches"])) + [""]
    return lines


def _change_rows(update: dict[str, Any]) -> list[str]:
    record = f"HubSpot {update['hubspot_id']} / Dynamics {update['dynamics_id']}"
    return [
        f"| {record} | {c['field']} | {_cell(c['hubspot'])} | {_cell(c['dynamics'])} | {c['written_to']} | {c['rule']}: {c['reason']} |"
        for c in update["changes"]
    ]


def _create_json(create) -> dict[str, Any]:
    return {
        "source": create.source.label,
        "target": str(create.target),
        "planned_id": create.planned_id,
        "key": create.key,
        "values": _plain(create.values),
    }


def _pair_json(pair: PairPlan) -> dict[str, Any]:
    changes = []
    for decision in pair.decisions:
        if decision.winner is None:
            continue
        changes.append({
            "field": decision.field,
            "hubspot": _plain(_side_value(pair, decision.field, System.HUBSPOT)),
            "dynamics": _plain(_side_value(pair, decision.field, System.DYNAMICS)),
            "written_to": str(decision.target),
            "value": _plain(decision.value),
            "rule": str(decision.rule),
            "reason": decision.reason,
            "conflict": decision.conflict,
        })
    return {
        "hubspot_id": pair.hubspot.id,
        "dynamics_id": pair.dynamics.id,
        "new_link": pair.new_link,
        "match": pair.match_method,
        "changes": changes,
    }


def _side_value(pair: PairPlan, field: str, system: System) -> Any:
    return pair.values.get(system, {}).get(field)


def _skip_json(skip) -> dict[str, Any]:
    return {"record": skip.record.label, "reason": str(skip.reason), "detail": skip.detail}


def _plain(value: Any) -> Any:
    if value is MISSING:
        return None
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|")[:60]


def _short(values: dict[str, Any]) -> str:
    shown = [f"{key}={value}" for key, value in values.items() if value not in (None, "")]
    text = ", ".join(shown)
    return text if len(text) <= 120 else text[:117] + "..."


def _more(total: int) -> list[str]:
    if total <= MARKDOWN_ROW_LIMIT:
        return []
    return [f"- … and {total - MARKDOWN_ROW_LIMIT} more (all of them are in the JSON report)"]
