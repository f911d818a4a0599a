"""The settings file: each mistake names its line, the setting and a fix."""

import textwrap

import pytest

from sync.errors import ConfigError
from sync.settings import load_settings

VALID = """\
hubspot:
  access_token: pat-na1-test
dynamics:
  url: https://contoso.crm.dynamics.com
  tenant_id: 00000000-0000-4000-8000-000000000001
  client_id: 00000000-0000-4000-8000-000000000002
  client_secret: s3cret-value
state:
  url: sqlite:///state.sqlite
"""


def _problems(tmp_path, text: str) -> dict[str, str]:
    path = tmp_path / "crmsync.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return {problem.field: f"{problem.message} | {problem.fix}" for problem in caught.value.problems}


def test_valid_file_loads(tmp_path):
    path = tmp_path / "crmsync.yaml"
    path.write_text(VALID, encoding="utf-8")

    settings = load_settings(path, environ={})

    assert settings.hubspot.tier == "professional"


def test_misspelt_setting_suggests_name(tmp_path):
    problems = _problems(tmp_path, VALID.replace("access_token", "acess_token"))

    assert problems["hubspot.acess_token"] == "unknown setting | did you mean 'access_token'?"


def test_tier_outside_choices_suggests_one(tmp_path):
    problems = _problems(tmp_path, VALID.replace("hubspot:\n", "hubspot:\n  tier: profesional\n"))

    assert problems["hubspot.tier"] == "'profesional' is not one of starter, professional, enterprise | did you mean 'professional'?"


def test_number_setting_says_how(tmp_path):
    problems = _problems(tmp_path, VALID + "sync:\n  interval_seconds: soon\n")

    assert problems["sync.interval_seconds"].endswith("| write a whole number, such as 300")


def test_empty_file_names_sections(tmp_path):
    problems = _problems(tmp_path, "\n")

    assert problems["hubspot"].endswith("add a 'hubspot:' section to the file; config/example.yaml shows every section")
    assert "dynamics" in problems


def test_credential_error_has_no_pydantic_prefix(tmp_path):
    problems = _problems(tmp_path, VALID.replace("  client_secret: s3cret-value\n", ""))

    assert problems["dynamics.client_secret"].startswith("no client credential is set")
