import functools

import boto3
import httpx
import redis
from fastapi import FastAPI
from mangum import Mangum

from config import Settings

s3 = boto3.client("s3")  # ok: client-created-per-invocation
settings = Settings()  # ok: client-created-per-invocation
app = FastAPI()
asgi = Mangum(app, lifespan="off")  # ok: client-created-per-invocation


@functools.lru_cache
def get_table():
    return boto3.resource("dynamodb").Table("events")  # ok: client-created-per-invocation


def handler(event, context):
    client = boto3.client("s3")  # expect: client-created-per-invocation
    cfg = Settings()  # expect: client-created-per-invocation
    http = httpx.Client(timeout=5.0)  # expect: client-created-per-invocation
    cache = redis.from_url(cfg.redis_url)  # expect: client-created-per-invocation
    table = get_table()  # ok: client-created-per-invocation

    def later():
        return boto3.client("sqs")  # ok: client-created-per-invocation

    return client, http, cache, table, later


def api_handler(event, context):
    return Mangum(FastAPI(), lifespan="off")(event, context)  # expect: client-created-per-invocation expect: client-created-per-invocation


def warm_handler(event, context):
    s3.put_object(Bucket=settings.bucket, Key=event["key"], Body=b"")  # ok: client-created-per-invocation
    return asgi(event, context)
