import os

import httpx
from celery import Celery, Task, shared_task

app = Celery("worker", broker=os.environ["BROKER_URL"])
app.conf.update(task_acks_late=True, task_time_limit=60)


class RetryingTask(Task):
    autoretry_for = (httpx.TransportError,)
    retry_backoff = True


@app.task(autoretry_for=(httpx.TransportError,), max_retries=5, retry_backoff=True, retry_jitter=True)  # ok: task-without-retry-policy
def sync_customer(customer_id):
    return customer_id


@app.task  # expect: task-without-retry-policy
def send_receipt(order_id):
    return order_id


@shared_task(acks_late=True)  # expect: task-without-retry-policy
def cleanup():
    return None


@app.task(bind=True, max_retries=3)  # ok: task-without-retry-policy
def push_webhook(self, url):
    try:
        httpx.post(url, timeout=5)
    except httpx.TransportError as exc:
        raise self.retry(exc=exc, countdown=10)


@app.task(bind=True)  # ok: task-without-retry-policy
def push_event(self, url):
    try:
        httpx.post(url, timeout=5)
    except httpx.TransportError as exc:
        raise self.retry(exc=exc)


@app.task(max_retries=0)  # expect: task-without-retry-policy
def once():
    return None


@app.task(base=RetryingTask)  # ok: task-without-retry-policy
def fetch(url):
    return httpx.get(url, timeout=5).text
