"""The daemon: runs on an interval, never two at once, stops cleanly on a signal."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from sync.daemon.scheduler import SyncDaemon
from sync.errors import ConfigError, TransientError


def test_runs_do_not_overlap():
    active = []
    overlaps = []

    def slow_run():
        if active:
            overlaps.append(True)
        active.append(True)
        time.sleep(0.3)
        active.pop()

    daemon = SyncDaemon(slow_run, interval_seconds=5)
    daemon.interval_seconds = 0.1  # faster than one run lasts
    stopper = threading.Timer(1.0, daemon.stop)
    stopper.start()
    daemon.serve()
    assert daemon.runs >= 2
    assert overlaps == []


def test_transient_error_keeps_running():
    calls = []

    def failing_run():
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("HubSpot answered 503")

    daemon = SyncDaemon(failing_run, interval_seconds=5)
    daemon.interval_seconds = 0.1
    threading.Timer(0.6, daemon.stop).start()
    daemon.serve()
    assert len(calls) >= 2


def test_config_error_stops_the_daemon():
    def broken_run():
        raise ConfigError("mapping invalid")

    daemon = SyncDaemon(broken_run, interval_seconds=5)
    with pytest.raises(ConfigError):
        daemon.serve()
    assert daemon.runs == 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_cli_daemon_stops_on_signal(settings_path, sig):
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "--config", str(settings_path), "--log-level", "INFO", "daemon", "--interval", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for(process, "sync.run_finished", timeout=60)
        process.send_signal(sig)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "daemon.stopped" in err


def _wait_for(process, text, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if text in line:
            return
        if process.poll() is not None:
            break
    raise AssertionError(f"{text!r} not logged; output: {''.join(seen)[-2000:]}")
