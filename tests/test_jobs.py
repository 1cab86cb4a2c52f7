"""Background jobs: inline without Redis, through a real rq worker with it."""

from __future__ import annotations

import os
import uuid

import pytest

from app.core import jobs
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def double(x: int) -> int:
    return 2 * x


def test_inline_without_redis(app):
    assert app.config["REDIS_URL"] is None
    assert jobs.enqueue(double, 21) == 42


def test_rq_worker_runs_the_job_on_redis(app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import Queue, SimpleWorker

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    app.config["REDIS_URL"] = REDIS_URL
    name = f"test-{uuid.uuid4().hex[:8]}"
    try:
        job = jobs.enqueue(double, 21, queue=name)
        SimpleWorker([Queue(name, connection=conn)], connection=conn).work(burst=True)
        job.refresh()
        assert job.is_finished and job.return_value() == 42
    finally:
        app.config["REDIS_URL"] = None
