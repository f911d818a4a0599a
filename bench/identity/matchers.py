"""The two matchers under test: crmsync's `match_contacts` and splink (DuckDB backend).

Each takes a `Dataset` and returns the matched pairs and the pairs held for review.
"""

from __future__ import annotations

import logging

from datasets import Dataset

from sync.identity import Candidate, match_contacts

# splink pairs at or above this probability count as matches, those at or above
# SPLINK_POSSIBLE as possible matches. 0.9 is a common choice in splink's tutorials.
SPLINK_MATCH = 0.9
SPLINK_POSSIBLE = 0.5


def run_crmsync(dataset: Dataset, phone_region: str | None = "US") -> tuple[set, set]:
    left = [_candidate(record) for record in dataset.left]
    right = [_candidate(record) for record in dataset.right]
    result = match_contacts(left, right, phone_region=phone_region)
    matches = {(match.left_id, match.right_id) for match in result.matches}
    possible = {(match.left_id, match.right_id) for match in result.possible}
    return matches, possible


def _candidate(record: dict) -> Candidate:
    return Candidate(
        record["id"], record["email"], record["first_name"], record["last_name"], record["phone"], record["company"]
    )


def run_splink(dataset: Dataset) -> tuple[set, set]:
    """Link the two sides with splink 5 on DuckDB: train u by sampling, m by EM, predict.

    Comparisons: first name, surname (NameComparison), email (EmailComparison) and,
    where the set has them, phone and company as exact matches. Blocking: same email,
    same surname, same first name and domain.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    columns = ["id", "first_name", "last_name", "email", "phone", "company"]
    frames = []
    for side in (dataset.left, dataset.right):
        rows = [{column: _clean(record.get(column)) for column in columns} for record in side]
        for row in rows:
            row["domain"] = row["email"].rpartition("@")[2] if row["email"] else None
        frames.append(pa.Table.from_pylist(rows))
    has_phone = pc.count(frames[0]["phone"]).as_py() > 0

    comparisons = [cl.NameComparison("first_name"), cl.NameComparison("last_name"), cl.EmailComparison("email")]
    if has_phone:
        comparisons += [cl.ExactMatch("phone"), cl.ExactMatch("company")]
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on("email"), block_on("last_name"), block_on("first_name", "domain")],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    tables = [db_api.register(frame, dataset_display_name=name) for frame, name in zip(frames, ("crm_left", "crm_right"))]
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("email"), block_on("last_name")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=SPLINK_POSSIBLE).as_record_list()
    return _splink_pairs(predictions)


def _splink_pairs(predictions: list[dict]) -> tuple[set, set]:
    matches, possible = set(), set()
    for row in predictions:
        left, right = (row["id_l"], row["id_r"]) if row["source_dataset_l"] == "crm_left" else (row["id_r"], row["id_l"])
        (matches if row["match_probability"] >= SPLINK_MATCH else possible).add((left, right))
    return matches, possible


def _clean(value):
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None
