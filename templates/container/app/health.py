"""Probes. Liveness says the process can serve; readiness says it should get traffic.

Readiness follows Redis, but not at the first failed PING: every replica shares that Redis, so
a blip would take every pod out of the load balancer at once and turn a few seconds of degraded
service (routes answer 503 or serve uncached on their own) into a full outage. /readyz turns
503 only once Redis has failed for READY_REDIS_GRACE_SECONDS without one success between.
"""

from time import monotonic

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from app.redis_client import RedisDep, redis_is_up

# Public by design: no auth and no rate limit, or the orchestrator would restart healthy pods.
router = APIRouter(tags=["health"])


class RedisReadiness:
    """This process's view of Redis for /readyz: down since when (one per app)."""

    def __init__(self, grace_seconds: float) -> None:
        self._grace_seconds = grace_seconds
        self._failing_since: float | None = None

    def ready(self, redis_up: bool, now: float | None = None) -> bool:
        """Record one check; True while Redis answers or has failed for less than the grace."""
        if redis_up:
            self._failing_since = None
            return True
        now = monotonic() if now is None else now
        if self._failing_since is None:
            self._failing_since = now
        return now - self._failing_since < self._grace_seconds


@router.get("/healthz")
async def liveness() -> dict[str, str]:
    # No dependency checks here: a Redis outage must not make Kubernetes restart every pod.
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readiness(request: Request, redis: RedisDep) -> JSONResponse | dict[str, str]:
    up = await redis_is_up(redis)
    state: RedisReadiness = request.state.readiness
    if state.ready(up):
        return {"status": "ready"} if up else {"status": "degraded", "redis": "down"}
    return JSONResponse(
        {"status": "unavailable", "redis": "down"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
