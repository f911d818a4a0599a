"""Run the sync on an interval with APScheduler, one run at a time, until a signal.

The job has `max_instances=1` and `coalesce=True`: a run that outlasts the interval
delays the next one instead of overlapping it, and missed runs collapse into one.
SIGTERM and SIGINT stop the scheduler after the run in progress finishes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from sync.daemon.leader import LeaderLock
from sync.daemon.metrics import DaemonMetrics
from sync.errors import ConfigError, TransientError

log = structlog.get_logger(__name__)

JOB_ID = "sync"


T = TypeVar("T")
# First wait before opening again when a CRM is unreachable at start-up; it doubles up to the interval.
FIRST_START_WAIT_SECONDS = 5.0


def open_when_reachable(open_runtime: Callable[[], T], max_wait_seconds: float) -> T | None:
    """Call `open_runtime` until no `TransientError` stops it, and return its result.

    A daemon must outlive an outage that is already on when it starts, as it outlives one
    that starts later. Waits double from 5 s up to `max_wait_seconds`. SIGTERM or SIGINT
    during a wait returns None. A `ConfigError` is raised at once: it will not pass by itself.
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        wait = min(FIRST_START_WAIT_SECONDS, max_wait_seconds)
        while True:
            try:
                return open_runtime()
            except TransientError as error:
                log.warning("daemon.start_waiting", error=str(error), retry_in_seconds=wait)
            if stop.wait(wait):
                log.info("daemon.stopped", runs=0)
                return None
            wait = min(wait * 2, max_wait_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class SyncDaemon:
    """Schedule `run_once` every `interval_seconds`, starting now."""

    def __init__(self, run_once: Callable[[], Any], interval_seconds: float, *,
                 leader: LeaderLock | None = None, metrics: DaemonMetrics | None = None):
        self.run_once = run_once
        self.interval_seconds = interval_seconds
        self.leader = leader
        self.metrics = metrics
        self.stopped = threading.Event()
        self.runs = 0
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.fatal: ConfigError | None = None

    def start(self) -> None:
        self.scheduler.add_job(
            self._tick, "interval", seconds=self.interval_seconds, id=JOB_ID,
            max_instances=1, coalesce=True, next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()
        log.info("daemon.started", interval_seconds=self.interval_seconds)

    def stop(self, *_: object) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        log.info("daemon.stopping")

    def serve(self) -> None:
        """Block until SIGTERM or SIGINT, then let the current run finish and return."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not self.stopped.wait(0.5):
                pass
        finally:
            self.scheduler.shutdown(wait=True)
            if self.leader is not None:
                self.leader.release()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("daemon.stopped", runs=self.runs)
        if self.fatal is not None:
            raise self.fatal

    def _tick(self) -> None:
        if self.stopped.is_set() or not self._lead():
            return
        try:
            result = self.run_once()
            if self.metrics is not None:
                self.metrics.observe(result)
        except TransientError as error:
            self._failed(error)
            log.warning("daemon.run_failed_transient", error=str(error))
        except ConfigError as error:
            # A configuration error will not pass by itself: stop and say why.
            self._failed(error)
            log.error("daemon.run_failed_config", error=str(error))
            self.fatal = error
            self.stop()
        except Exception as error:
            self._failed(error)
            log.exception("daemon.run_failed")
        finally:
            self.runs += 1

    def _lead(self) -> bool:
        """Hold the leader lock, or skip this run because another replica holds it."""
        if self.leader is None:
            return True
        leading = self.leader.acquire()
        if self.metrics is not None:
            self.metrics.set_leader(leading)
        if not leading:
            log.info("daemon.not_leader", lock=self.leader.name)
        return leading

    def _failed(self, error: Exception) -> None:
        if self.metrics is not None:
            self.metrics.observe_failure(error)
