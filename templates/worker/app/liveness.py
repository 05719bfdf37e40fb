"""Liveness: a heartbeat file the worker touches, and the check the orchestrator runs.

`python -m app.liveness` exits 1 when HEARTBEAT_FILE is missing or older than
HEARTBEAT_MAX_AGE_SECONDS: the Dockerfile HEALTHCHECK and the Kubernetes exec probe run it. It
needs no broker round trip and no Celery import.

Liveness means "this process's own loop is alive", never "the broker is reachable": a broker
outage must not get every worker restarted at once (they would only reconnect again). So:

* the worker's event loop records a beat on its timer (the loop that consumes messages and
  supervises the pool), every HEARTBEAT_INTERVAL_SECONDS;
* a thread touches the file while that beat is fresh, or while the consumer is reconnecting
  to the broker. Reconnecting blocks the loop in kombu's retry sleeps, so the loop's own timer
  cannot run then, yet the process is doing exactly what it should;
* a loop that hangs while connected stops the beat, the file ages, and the probe fails.

The broker's state is reported by the `celery_worker_broker_connected` metric instead. The
bootsteps that feed the monitor are in app.heartbeat: this module imports no Celery, so the
probe stays cheap.
"""

import sys
import threading
import time
from pathlib import Path

from app.settings import get_settings


def heartbeat_age(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def is_alive(path: Path, max_age: float) -> bool:
    age = heartbeat_age(path)
    return age is not None and age <= max_age


class LoopMonitor:
    """What the heartbeat thread knows: the loop's last beat and whether the broker is up."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self._last_loop_beat = time.monotonic()
        # Until the first connection the consumer is (re)connecting: the loop is not running yet.
        self._broker_connected = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def loop_beat(self) -> None:
        self._last_loop_beat = time.monotonic()

    def broker_connected(self, connected: bool) -> None:
        self._broker_connected = connected
        # Reconnected: the loop starts again now, its first timer beat follows shortly.
        self.loop_beat()

    def should_touch(self) -> bool:
        loop_fresh = time.monotonic() - self._last_loop_beat <= 2 * self.interval
        return loop_fresh or not self._broker_connected

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._thread = threading.Thread(target=self._run, name="liveness-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            if self.should_touch():
                self.path.touch()


def main() -> int:
    settings = get_settings()
    return 0 if is_alive(Path(settings.heartbeat_file), settings.heartbeat_max_age_seconds) else 1


if __name__ == "__main__":
    sys.exit(main())
