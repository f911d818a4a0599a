"""Deal stages from HubSpot's pipeline API, for KPIs and stage mappings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DealStage:
    pipeline_id: str
    stage_id: str
    label: str
    # Win probability from 0.0 to 1.0, as the stage's metadata states it.
    probability: float
    closed: bool
    won: bool


def stages_of(pipeline: Any) -> list[DealStage]:
    """Read the stages of one SDK `Pipeline`; a closed stage with probability 1.0 is a won stage."""
    stages = []
    for stage in pipeline.stages or []:
        metadata = stage.metadata or {}
        probability = float(metadata.get("probability") or 0.0)
        closed = str(metadata.get("isClosed", "false")).lower() == "true"
        stages.append(DealStage(
            pipeline_id=pipeline.id, stage_id=stage.id, label=stage.label, probability=probability,
            closed=closed, won=closed and probability >= 1.0,
        ))
    return stages
