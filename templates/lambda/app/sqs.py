"""SQS consumer (template.yaml: JobsFunction, Handler: app.sqs.handler).

Each record is one job. Failed records are reported one by one (ReportBatchItemFailures), so
only they return to the queue, and after maxReceiveCount attempts go to the dead-letter queue.
Jobs are idempotent through a key in Redis: SQS delivers at least once.

Tracing: one CONSUMER span per batch (`sqs batch`) and a child span per record (`sqs process`,
with the message id; a failed record's span records the exception and an error status). With
OTEL_EXPORTER_OTLP_ENDPOINT set the spans are exported and flushed before the handler returns
(Lambda freezes the environment right after); without it the tracer is OpenTelemetry's no-op.
"""

import asyncio
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import BaseModel, Field

from app.invocation import Flushable, flush, log_ids
from app.logs import configure_logging
from app.redis_client import create_redis
from app.settings import Settings

# Once per execution environment (init phase): settings, logging, the Redis pool and the event
# loop it lives on are reused by every warm invocation.
settings = Settings()
configure_logging(settings.log_level, json=settings.log_json)
redis = create_redis(settings)
loop = asyncio.new_event_loop()
log = structlog.get_logger(__name__)


def _tracing() -> tuple[trace.Tracer, Flushable | None]:
    """The tracer, and the provider to flush: the SDK only when exporting (its import costs)."""
    if settings.otel_exporter_otlp_endpoint is None:
        return trace.get_tracer(__name__), None
    from app.telemetry import create_tracer_provider

    provider = create_tracer_provider(settings)
    return provider.get_tracer(__name__), provider


tracer, tracer_provider = _tracing()

DONE_TTL_SECONDS = 7 * 24 * 3600  # longer than any redelivery: the queue keeps messages 4 days


class Job(BaseModel):
    job_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    action: str = Field(min_length=1, max_length=100)


async def process(job: Job) -> bool:
    """Run one job unless it already ran; return whether it ran now."""
    key = f"{settings.service_name}:job:{job.job_id}"
    if await redis.get(key) == "done":
        log.info("job_skipped_duplicate", job_id=job.job_id)
        return False
    # Your work here. It must be safe to repeat if we fail between the work and the marker.
    log.info("job_processed", job_id=job.job_id, action=job.action)
    await redis.set(key, "done", ex=DONE_TTL_SECONDS)
    return True


def _process_record(record: dict[str, Any]) -> bool:
    """One record in its own span; False when it failed (it goes back to the queue)."""
    message_id = record["messageId"]
    attributes = {"messaging.system": "aws_sqs", "messaging.message.id": message_id}
    with (
        structlog.contextvars.bound_contextvars(message_id=message_id),
        tracer.start_as_current_span(
            "sqs process",
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
    ):
        try:
            loop.run_until_complete(process(Job.model_validate_json(record["body"])))
        except Exception as exc:
            log.exception("job_failed")
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            return False
        return True


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    records: list[dict[str, Any]] = event.get("Records", [])
    failures: list[dict[str, str]] = []
    # The Lambda request id and X-Ray trace id on every line of the invocation.
    with structlog.contextvars.bound_contextvars(**log_ids(context)):
        try:
            with tracer.start_as_current_span(
                "sqs batch",
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "aws_sqs",
                    "messaging.batch.message_count": len(records),
                    "faas.invocation_id": getattr(context, "aws_request_id", None) or "",
                },
            ) as batch:
                for record in records:
                    if not _process_record(record):
                        failures.append({"itemIdentifier": record["messageId"]})
                batch.set_attribute("messaging.batch.failure_count", len(failures))
        finally:
            if tracer_provider is not None:
                flush(tracer_provider, context)
    return {"batchItemFailures": failures}
