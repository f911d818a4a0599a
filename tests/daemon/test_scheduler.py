"""The daemon: runs on an interval, never two at once, stops cleanly on a signal."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from prometheus_client import generate_latest

from sync.daemon.scheduler import SyncDaemon, open_when_reachable
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


def test_open_waits_for_reachable_crm():
    calls = []

    def opener():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("HubSpot did not answer")
        return "runtime"

    assert open_when_reachable(opener, max_wait_seconds=0.01) == "runtime"
    assert len(calls) == 3


def test_open_raises_config_error():
    def opener():
        raise ConfigError("mapping invalid")

    with pytest.raises(ConfigError):
        open_when_reachable(opener, max_wait_seconds=0.01)


def test_cli_daemon_survives_outage_at_start(settings_path, tmp_path):
    from ruamel.yaml import YAML

    yaml = YAML()
    document = yaml.load(settings_path.read_text(encoding="utf-8"))
    document["hubspot"]["host"] = "http://127.0.0.1:9"  # the discard port: nothing listens there
    unreachable = tmp_path / "unreachable.yaml"
    with unreachable.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    process = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "--config", str(unreachable), "--log-level", "INFO", "daemon", "--interval", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for(process, "daemon.start_waiting", timeout=90)
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err


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


def test_second_replica_skips_runs(tmp_path):
    from sync.daemon.leader import LeaderLock

    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    holder = LeaderLock(url)
    assert holder.acquire()
    calls = []
    daemon = SyncDaemon(lambda: calls.append(1), interval_seconds=5, leader=LeaderLock(url))
    daemon.interval_seconds = 0.1
    threading.Timer(0.5, daemon.stop).start()
    daemon.serve()
    holder.release()
    assert calls == []


def test_metrics_and_health_endpoint():
    import json
    import urllib.request

    from sync.daemon.metrics import DaemonMetrics, serve_metrics

    class Result:
        applied = {}
        failed = 2

    metrics = DaemonMetrics(interval_seconds=60)
    server = serve_metrics(metrics, 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(urllib.error.HTTPError) as starting:
            urllib.request.urlopen(base + "/healthz")
        assert starting.value.code == 503
        metrics.observe(Result())
        health = json.loads(urllib.request.urlopen(base + "/healthz").read())
        text = urllib.request.urlopen(base + "/metrics").read().decode()
    finally:
        server.shutdown()
    assert health["status"] == "ok"
    assert 'crmsync_runs_total{outcome="succeeded"} 1.0' in text
    assert "crmsync_record_errors_total 2.0" in text


def test_metrics_count_archives():
    from sync.daemon.metrics import DaemonMetrics
    from sync.engine.apply import ApplyResult
    from sync.model import Kind, System

    class Result:
        applied = {Kind.CONTACT: ApplyResult(archived={System.HUBSPOT: 1, System.DYNAMICS: 2})}
        failed = 0

    metrics = DaemonMetrics(interval_seconds=60)
    metrics.observe(Result())

    text = generate_latest(metrics.registry).decode()
    assert 'crmsync_records_written_total{operation="archive",system="dynamics"} 2.0' in text
    assert 'crmsync_records_written_total{operation="archive",system="hubspot"} 1.0' in text
