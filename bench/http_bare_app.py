"""The bare FastAPI app that bench/http_bench.py compares the generated service with.

No middleware, no auth, no rate limit, no telemetry, uvicorn's default logging. It serves the
generated service's example endpoint the same way (GET /v1/items: the newest item ids from a
Redis sorted set, validated by the same pydantic model), and the same answer without touching
Redis at /static/items, to show what the Redis read itself costs.
"""

import os
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field
from redis.asyncio import Redis

NAMESPACE = os.environ.get("SERVICE_NAME", "benchsvc")

redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
app = FastAPI()


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0)
    id: str
    created_at: datetime


@app.get("/v1/items")
async def list_items(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[Item]:
    ids = await redis.zrange(f"{NAMESPACE}:items", 0, limit - 1, desc=True)
    if not ids:
        return []
    raw = await redis.mget([f"{NAMESPACE}:item:{item_id}" for item_id in ids])
    return [Item.model_validate_json(doc) for doc in raw if doc is not None]


@app.get("/static/items")
async def static_items(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[Item]:
    return []
