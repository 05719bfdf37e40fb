import asyncio
import time

import anyio
import httpx
import redis
import redis.asyncio as aioredis
import requests
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from helpers import load_profile, pure, render_report

app = FastAPI()
cache = redis.Redis()
acache = aioredis.Redis()
aclient = httpx.AsyncClient()


def read_config() -> str:
    with open("config.toml") as fh:
        return fh.read()


@app.get("/direct")
async def direct(url: str):
    time.sleep(0.1)  # expect: blocking-call-in-async
    r = requests.get(url, timeout=5)  # expect: blocking-call-in-async
    s = httpx.get(url)  # expect: blocking-call-in-async
    with open("data.json") as fh:  # expect: blocking-call-in-async
        data = fh.read()
    cached = cache.get("k")  # expect: blocking-call-in-async
    with httpx.Client() as client:
        t = client.post(url)  # expect: blocking-call-in-async
    return r, s, data, cached, t


@app.get("/helpers")
async def through_helpers(user_id: str):
    profile = load_profile(user_id)  # expect: blocking-call-in-async
    report = render_report()  # expect: blocking-call-in-async
    config = read_config()  # expect: blocking-call-in-async
    n = pure(1)  # ok: blocking-call-in-async
    return profile, report, config, n


@app.get("/fine")
async def fine(url: str, user_id: str):
    await asyncio.sleep(0.1)  # ok: blocking-call-in-async
    a = await asyncio.to_thread(load_profile, user_id)  # ok: blocking-call-in-async
    b = await run_in_threadpool(read_config)  # ok: blocking-call-in-async
    c = await asyncio.get_running_loop().run_in_executor(None, render_report)  # ok: blocking-call-in-async
    d = await anyio.to_thread.run_sync(read_config)  # ok: blocking-call-in-async
    e = await aclient.get(url)  # ok: blocking-call-in-async
    f = await acache.get("k")  # ok: blocking-call-in-async
    g = await asyncio.to_thread(lambda: requests.get(url, timeout=5))  # ok: blocking-call-in-async

    def nested() -> None:
        time.sleep(1)  # ok: blocking-call-in-async

    return a, b, c, d, e, f, g, nested


def sync_handler() -> None:
    time.sleep(1)  # ok: blocking-call-in-async
