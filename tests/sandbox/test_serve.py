"""`crmsync sandbox serve` as its own process: settings for `crmsync sync`, data kept across restarts."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sync.cli import main


def _serve(workdir: Path, settings: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "sync.cli", "sandbox", "serve", "--dir", str(workdir), "--hubspot-port", "0",
               "--dataverse-port", "0", "--token-port", "0", "--settings-out", str(settings), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_ready(process: subprocess.Popen) -> list[str]:
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if line.startswith(("Settings written", "Connection settings updated")):
            return lines
        if process.poll() is not None:
            break
    raise AssertionError("the sandbox did not start: " + "".join(lines) + process.stderr.read())


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    return out


def test_serve_keeps_data_between_restarts(tmp_path, capsys):
    workdir, settings = tmp_path / "sandbox", tmp_path / "crmsync.yaml"
    server = _serve(workdir, settings, "--seed", "bundled")
    try:
        assert any("Seeded the sandbox" in line for line in _wait_ready(server))
        assert main(["--config", str(settings), "sync"]) == 0
        first = capsys.readouterr().out
    finally:
        out = _stop(server)
    assert "Saved the sandbox data" in out
    assert (workdir / "sandbox.json").exists()
    assert "created in HubSpot" in first

    with settings.open("a", encoding="utf-8") as handle:
        handle.write("# kept across restarts\nlog:\n  level: ERROR\n")
    server = _serve(workdir, settings)
    try:
        ready = _wait_ready(server)
        assert any("Loaded the sandbox data" in line for line in ready)
        assert any("other settings kept" in line for line in ready)
        kept = settings.read_text(encoding="utf-8")
        assert "# kept across restarts" in kept
        assert "level: ERROR" in kept
        assert main(["--config", str(settings), "sync"]) == 0
        second = capsys.readouterr().out
    finally:
        _stop(server)
    assert "to create" not in second
    assert "to update" not in second
    assert "failed" not in second
