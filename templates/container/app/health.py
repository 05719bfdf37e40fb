"""Probes. Liveness says the process can serve; readiness says its dependencies answer."""

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from app.redis_client import RedisDep, redis_is_up

# Public by design: no auth and no rate limit, or the orchestrator would restart healthy pods.
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def liveness() -> dict[str, str]:
    # No dependency checks here: a Redis outage must not make Kubernetes restart every pod.
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readiness(redis: RedisDep) -> JSONResponse | dict[str, str]:
    if await redis_is_up(redis):
        return {"status": "ready"}
    return JSONResponse(
        {"status": "unavailable", "redis": "down"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
