"""Probes. Liveness says the function can serve; readiness says its dependencies answer.

API Gateway does not probe a Lambda function: these are for monitors, synthetic canaries and
deployment smoke tests. /healthz touches nothing, so it measures the cold start itself.
"""

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

# Public by design: no auth and no rate limit.
router = APIRouter(tags=["health"])


@router.get("/healthz")
async def liveness() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readiness(request: Request) -> JSONResponse | dict[str, str]:
    from app.redis_client import redis_is_up  # first use builds the Redis client

    if await redis_is_up(request.state.redis):
        return {"status": "ready"}
    return JSONResponse(
        {"status": "unavailable", "redis": "down"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
