"""Liveness: a heartbeat file the worker touches, and the check the orchestrator runs.

The worker's timer (the same event loop that consumes messages and supervises the pool)
touches HEARTBEAT_FILE every HEARTBEAT_INTERVAL_SECONDS. `python -m app.liveness` exits 1 when
the file is missing or older than HEARTBEAT_MAX_AGE_SECONDS: the Dockerfile HEALTHCHECK and the
Kubernetes exec probe run it. Unlike `celery inspect ping`, it needs no broker round trip, so a
broker outage does not get every worker restarted, and it costs no Celery import every period.
"""

import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from celery import bootsteps

from app.settings import get_settings


def heartbeat_age(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def is_alive(path: Path, max_age: float) -> bool:
    age = heartbeat_age(path)
    return age is not None and age <= max_age


class Heartbeat(bootsteps.StartStopStep):
    """Worker bootstep: touch the heartbeat file on the worker's timer."""

    requires: ClassVar = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        settings = get_settings()
        self.path = Path(settings.heartbeat_file)
        self.interval = settings.heartbeat_interval_seconds
        self.tref: Any = None

    def beat(self) -> None:
        self.path.touch()

    def start(self, parent: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.beat()
        self.tref = parent.timer.call_repeatedly(self.interval, self.beat, priority=10)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
        self.path.unlink(missing_ok=True)


def main() -> int:
    settings = get_settings()
    return 0 if is_alive(Path(settings.heartbeat_file), settings.heartbeat_max_age_seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
