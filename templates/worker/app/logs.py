"""JSON logs through structlog, for our code and for Celery's own loggers alike.

Every line carries the current task's id and name and the trace_id/span_id, so a log search can
jump from a task to its trace (which starts in the service that enqueued it) and back.
"""

import logging
import sys
from typing import TextIO

import structlog
from celery import current_task
from opentelemetry import trace
from structlog.types import EventDict, Processor, WrappedLogger


def _add_task_and_trace_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    task = current_task
    if task and task.request.id:
        event_dict.setdefault("task_id", task.request.id)
        event_dict.setdefault("task_name", task.name)
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict["trace_id"] = format(span.trace_id, "032x")
        event_dict["span_id"] = format(span.span_id, "016x")
    return event_dict


def configure_logging(
    level: str = "INFO", *, json: bool = True, stream: TextIO | None = None
) -> None:
    """Send every log record to `stream` (stdout by default) as one JSON object per line."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_task_and_trace_ids,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.dict_tracebacks if json else structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Celery's loggers propagate to the root handler above (worker_hijack_root_logger is off).
    for name in ("celery", "celery.task", "celery.app.trace", "celery.worker"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
