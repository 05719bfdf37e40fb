"""Around every invocation: its ids on each log line, the stage out of the path, spans flushed.

Lambda freezes the execution environment as soon as the handler returns, so whatever must
leave the function (spans in a batch processor's queue) leaves before the return. Imports
nothing heavy: the handler module's cold start stays what /healthz needs.
"""

import os
from collections.abc import Callable
from typing import Any, Protocol

from structlog.contextvars import bound_contextvars

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# The most a flush may add to an invocation: a collector that hangs must not hold the response
# until the function times out. Less when the invocation has less time left.
FLUSH_TIMEOUT_MILLIS = 2000
_FLUSH_MARGIN_MILLIS = 100


class Flushable(Protocol):
    """A tracer provider (opentelemetry.sdk.trace.TracerProvider), typed without importing it."""

    def force_flush(self, timeout_millis: int = ...) -> bool: ...


def xray_trace_id() -> str | None:
    """The X-Ray trace id (`1-...`) the runtime sets for the current invocation, if any."""
    # _X_AMZN_TRACE_ID is "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...;Sampled=1".
    for part in os.environ.get("_X_AMZN_TRACE_ID", "").split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "Root" and value.strip():
            return value.strip()
    return None


def log_ids(context: Any) -> dict[str, str | None]:
    """Lambda's request id and the X-Ray trace id, for every log line of the invocation."""
    return {
        "aws_request_id": getattr(context, "aws_request_id", None),
        "xray_trace_id": xray_trace_id(),
    }


def without_stage(event: dict[str, Any]) -> dict[str, Any]:
    """The HTTP API event with a named stage's `/STAGE` path prefix removed.

    Called through the API's own endpoint (`https://ID.execute-api.REGION.amazonaws.com/STAGE/`),
    API Gateway keeps a named stage in the path it passes on, and no route has it: every request
    would be a 404. The `$default` stage (template.yaml) adds no segment, and neither does a
    custom domain (where a first segment equal to the stage name is a real part of the path):
    those events pass unchanged.
    """
    request = event.get("requestContext")
    if not isinstance(request, dict) or not isinstance(request.get("http"), dict):
        return event  # not an HTTP API (payload v2) event: Mangum handles it as it is
    stage = request.get("stage")
    if not stage or stage == "$default" or ".execute-api." not in request.get("domainName", ""):
        return event
    prefix = f"/{stage}"

    def strip(path: str) -> str:
        if path == prefix or path.startswith(f"{prefix}/"):
            return path[len(prefix) :] or "/"
        return path

    http = request["http"]
    return {
        **event,
        "rawPath": strip(event.get("rawPath", "")),
        "requestContext": {**request, "http": {**http, "path": strip(http.get("path", ""))}},
    }


def flush(provider: Flushable, context: Any) -> None:
    """Export the invocation's spans now, waiting at most FLUSH_TIMEOUT_MILLIS."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = FLUSH_TIMEOUT_MILLIS
    if remaining is not None:
        budget = min(budget, remaining() - _FLUSH_MARGIN_MILLIS)
    if budget > 0:
        provider.force_flush(timeout_millis=budget)


def wrap(adapter: Handler, *, tracer_provider: Flushable | None = None) -> Handler:
    """The Lambda handler: `adapter` (Mangum) with the above around each invocation.

    `tracer_provider` is None unless OTLP export is on: then nothing is flushed, at no cost.
    """

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with bound_contextvars(**log_ids(context)):
            try:
                return adapter(without_stage(event), context)
            finally:
                if tracer_provider is not None:
                    flush(tracer_provider, context)

    return handler
