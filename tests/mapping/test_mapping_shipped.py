"""The shipped mapping files load, and metadata checks find unknown names."""

from pathlib import Path

import pytest

from sync.mapping import Direction, FieldType, UnmappedAction, check_fields, load_mapping
from sync.model import Kind, System

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
DEFAULT = MAPPINGS / "default.yaml"
EXAMPLES = sorted((MAPPINGS / "examples").glob("*.yaml"))


def test_default_loads_all_kinds():
    mapping = load_mapping(DEFAULT)

    assert list(mapping.pairs) == [Kind.COMPANY, Kind.CONTACT, Kind.DEAL]


def test_default_stage_map():
    stage = load_mapping(DEFAULT).pairs[Kind.DEAL].field_named("stage")

    assert stage.type is FieldType.ENUM
    assert stage.dynamics == ("statecode", "statuscode", "salesstage")
    assert stage.unmapped.action is UnmappedAction.REJECT
    assert [entry.hubspot for entry in stage.values if entry.direction is Direction.TO_DYNAMICS] == ["decisionmakerboughtin"]


def test_default_references():
    mapping = load_mapping(DEFAULT)

    assert [ref.target for ref in mapping.pairs[Kind.CONTACT].references] == [Kind.COMPANY]
    assert [ref.target for ref in mapping.pairs[Kind.DEAL].references] == [Kind.COMPANY]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_loads(path):
    assert load_mapping(path).pairs


def test_examples_exist():
    assert EXAMPLES


def _known(mapping):
    """Metadata that lists exactly the mapped names."""
    return {
        System.HUBSPOT: {kind: set(pair.hubspot_properties()) for kind, pair in mapping.pairs.items()},
        System.DYNAMICS: {kind: set(pair.dynamics_columns()) for kind, pair in mapping.pairs.items()},
    }


def test_check_fields_all_known():
    mapping = load_mapping(DEFAULT)

    assert check_fields(mapping, _known(mapping)) == []


def test_check_fields_unknown_property():
    mapping = load_mapping(DEFAULT)
    known = _known(mapping)
    known[System.HUBSPOT][Kind.DEAL] = (known[System.HUBSPOT][Kind.DEAL] - {"closedate"}) | {"close_date"}
    problems = check_fields(mapping, known)
    problem = problems[0]

    assert len(problems) == 1
    assert problem.line == mapping.pairs[Kind.DEAL].field_named("close_date").line
    assert problem.file == DEFAULT
    assert "`closedate`" in problem.message
    assert "`close_date`" in problem.fix


def test_check_fields_unknown_enum_column():
    mapping = load_mapping(DEFAULT)
    known = _known(mapping)
    known[System.DYNAMICS][Kind.DEAL] = known[System.DYNAMICS][Kind.DEAL] - {"salesstage"}
    problem = check_fields(mapping, known)[0]

    assert "Dynamics has no deal column `salesstage`" in problem.message
    assert problem.line == mapping.pairs[Kind.DEAL].field_named("stage").locations["dynamics:salesstage"].line


def test_check_fields_skips_missing_metadata():
    mapping = load_mapping(DEFAULT)

    assert check_fields(mapping, {System.HUBSPOT: {}}) == []
