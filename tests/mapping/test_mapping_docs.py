"""Every YAML example in docs/mapping.md loads, or fails with the error it documents; shipped files fit the schema."""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from sync.errors import ConfigError
from sync.mapping import parse_mapping
from sync.yamlfile import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "mapping.md"
SCHEMA = json.loads((ROOT / "sync" / "mapping" / "schema.json").read_text(encoding="utf-8"))
SHIPPED = [ROOT / "mappings" / "default.yaml", *sorted((ROOT / "mappings" / "examples").glob("*.yaml"))]
BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
EXPECTED_ERROR = re.compile(r"^# error: (.+)\n")


def examples() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    return [(text[: match.start()].count("\n") + 1, match.group(1)) for match in BLOCK.finditer(text)]


def plain(node):
    """Turn ruamel's round-trip nodes into plain JSON values for jsonschema."""
    return json.loads(json.dumps(node))


@pytest.mark.parametrize(("line", "block"), examples(), ids=lambda item: str(item) if isinstance(item, int) else "")
def test_doc_example(line, block):
    expected = EXPECTED_ERROR.match(block)
    if expected is None:
        assert parse_mapping(block, f"mapping.md:{line}").pairs
        return

    with pytest.raises(ConfigError) as caught:
        parse_mapping(block, f"mapping.md:{line}")

    assert expected.group(1) in str(caught.value)


def test_docs_have_examples():
    assert len(examples()) >= 20


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_fits_schema(path):
    jsonschema.validate(plain(parse_yaml(path.read_text(encoding="utf-8"), path)), SCHEMA)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_names_schema(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]

    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / first.split("$schema=")[1]).resolve() == ROOT / "sync" / "mapping" / "schema.json"


def test_valid_doc_examples_fit_schema():
    for _, block in examples():
        if not EXPECTED_ERROR.match(block):
            jsonschema.validate(plain(parse_yaml(block, "doc")), SCHEMA)


def test_schema_rejects_unknown_key():
    document = {"objects": {"contact": {"fields": {"email": {"hubspot": "email", "dynamics": "e", "colour": 1}}}}}

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


def test_schema_is_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
