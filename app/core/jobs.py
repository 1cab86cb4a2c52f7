"""Background jobs: rq on Redis when REDIS_URL is set, inline otherwise (design §5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app


def enqueue(fn: Callable[..., Any], *args: Any, queue: str = "default", **kwargs: Any) -> Any:
    """Run ``fn`` in the background (an rq job) or, without Redis, right now.

    Jobs take ids, not ORM objects. Inline, the return value comes back; with rq, the Job, which carries the
    enqueuing request's id (its log lines then name the request)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return fn(*args, **kwargs)
    from redis import Redis
    from rq import Queue

    from app.ops.logs import request_id

    rid = request_id()
    if rid:
        kwargs["meta"] = {**kwargs.get("meta", {}), "request_id": rid}
    return Queue(queue, connection=Redis.from_url(url)).enqueue(fn, *args, **kwargs)


def run_worker(app: Flask, queues: list[str] | tuple[str, ...] = ("default",),
               before_work: Callable[[], Any] | None = None) -> None:
    """Work on ``queues`` until stopped. ``before_work`` runs first, in the app context (the task centre
    reconciles the jobs whose worker died)."""
    from redis import Redis
    from rq import Queue, Worker

    from app.extensions import db

    url = app.config.get("REDIS_URL")
    if not url:
        raise SystemExit("REDIS_URL is not set: jobs run inline, no worker needed")
    conn = Redis.from_url(url)
    with app.app_context():
        if before_work is not None:
            before_work()
        # every job runs in a forked work-horse: it must not share this process's database connections
        db.session.remove()
        db.engine.dispose()
        Worker([Queue(name, connection=conn) for name in queues], connection=conn).work()
