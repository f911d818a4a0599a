"""Logging: structlog events and standard-library warnings share one format and one redactor."""

import json
import logging

import pytest
import structlog

from sync.logs import configure_logging


@pytest.fixture
def json_logging():
    configure_logging("INFO", fmt="json", secrets=["s3cret-token"])
    yield
    configure_logging("WARNING")


def test_library_warning_is_json(json_logging, capsys):
    logging.getLogger("apscheduler.scheduler").warning("Execution of job skipped: maximum number of running instances reached (1)")

    [line] = capsys.readouterr().err.strip().splitlines()
    event = json.loads(line)
    assert event["event"].startswith("Execution of job skipped")
    assert event["level"] == "warning"
    assert event["logger"] == "apscheduler.scheduler"


def test_library_warning_is_redacted(json_logging, capsys):
    logging.getLogger("urllib3.connectionpool").warning("Retrying with token s3cret-token")

    [line] = capsys.readouterr().err.strip().splitlines()
    assert "s3cret-token" not in line


def test_structlog_event_is_json(json_logging, capsys):
    structlog.get_logger("sync.test").info("sync.run_finished", writes=3)

    event = json.loads(capsys.readouterr().err.strip())
    assert (event["event"], event["writes"]) == ("sync.run_finished", 3)
