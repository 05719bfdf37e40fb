"""Worker bootsteps that keep the liveness heartbeat (app.liveness) honest.

`Heartbeat` (a worker step) beats on the worker loop's timer and runs the heartbeat thread;
`BrokerConnection` (a consumer step, started once the broker connection is up and stopped when
it is lost) tells the monitor whether the consumer is reconnecting.
"""

from pathlib import Path
from typing import Any

from celery import bootsteps

from app import metrics
from app.liveness import LoopMonitor
from app.settings import get_settings


class Heartbeat(bootsteps.StartStopStep):
    """Worker bootstep (see app.worker): the loop's timer beat and the heartbeat thread."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        settings = get_settings()
        self.monitor = LoopMonitor(
            Path(settings.heartbeat_file), settings.heartbeat_interval_seconds
        )
        self.tref: Any = None
        # The consumer's BrokerConnection step finds the monitor on the worker.
        parent.liveness_monitor = self.monitor

    def start(self, parent: Any) -> None:
        self.monitor.start()
        self.tref = parent.timer.call_repeatedly(
            self.monitor.interval, self.monitor.loop_beat, priority=10
        )

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
        self.monitor.stop()


class BrokerConnection(bootsteps.StartStopStep):
    """Consumer bootstep: started once connected, stopped when the connection is lost."""

    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.monitor: LoopMonitor | None = getattr(parent.controller, "liveness_monitor", None)

    def start(self, parent: Any) -> None:
        self._set(True)

    def stop(self, parent: Any) -> None:
        self._set(False)

    def shutdown(self, parent: Any) -> None:
        self._set(False)

    def _set(self, connected: bool) -> None:
        if self.monitor is not None:
            self.monitor.broker_connected(connected)
        metrics.broker_connected(connected)
