"""SQS consumer (template.yaml: JobsFunction, Handler: app.sqs.handler).

Each record is one job. Failed records are reported one by one (ReportBatchItemFailures), so
only they return to the queue, and after maxReceiveCount attempts go to the dead-letter queue.
Jobs are idempotent through a key in Redis: SQS delivers at least once.
"""

import asyncio
from typing import Any

import structlog
from pydantic import BaseModel, Field

from app.invocation import log_ids
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


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    # The Lambda request id and X-Ray trace id on every line of the invocation.
    with structlog.contextvars.bound_contextvars(**log_ids(context)):
        for record in event.get("Records", []):
            message_id = record["messageId"]
            with structlog.contextvars.bound_contextvars(message_id=message_id):
                try:
                    loop.run_until_complete(process(Job.model_validate_json(record["body"])))
                except Exception:
                    log.exception("job_failed")
                    failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
