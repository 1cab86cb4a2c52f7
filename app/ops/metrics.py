"""Prometheus metrics at /metrics (prometheus_client).

* ``cepp_http_requests_total{method, route, status}`` and ``cepp_http_request_duration_seconds{method, route}``:
  counted by every web process. Under gunicorn each worker writes them to files in
  ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode, set by ``gunicorn.conf.py``) and whichever
  worker answers /metrics adds them up.
* ``cepp_background_jobs{queue, state}`` and ``cepp_open_tasks{process}``: read from the database when scraped
  (it is the only shared state), so every worker answers the same.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUESTS = Counter("cepp_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "cepp_http_request_duration_seconds", "Time from the request's arrival in the app to its answer",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_label() -> str:
    """The URL rule (``/api/v1/tasks/<int:task_id>/complete``), never the raw path: a bounded label set."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


def observe(status: int) -> float:
    """Count the current request; its duration in seconds."""
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    route = route_label()
    REQUESTS.labels(request.method, route, str(status)).inc()
    LATENCY.labels(request.method, route).observe(elapsed)
    return elapsed


class DatabaseCollector(Collector):
    """Jobs by queue and state, open tasks by process: two grouped counts, at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from sqlalchemy import func, select

        from app.extensions import db
        from app.taskcentre.models import BackgroundJob
        from app.taskcentre.services import queue_of
        from app.workflow.models import WorkflowTask

        jobs = GaugeMetricFamily("cepp_background_jobs", "Background jobs by queue and state (task centre)",
                                 labels=["queue", "state"])
        tasks = GaugeMetricFamily("cepp_open_tasks", "Open user tasks by process", labels=["process"])
        counts: dict[tuple[str, str], int] = {}
        for kind, state, n in db.session.execute(
                select(BackgroundJob.kind, BackgroundJob.status, func.count()).group_by(
                    BackgroundJob.kind, BackgroundJob.status)):
            key = (queue_of(kind), state)
            counts[key] = counts.get(key, 0) + n
        for (queue, state), n in sorted(counts.items()):
            jobs.add_metric([queue, state], n)
        for key, n in db.session.execute(
                select(WorkflowTask.process_key, func.count()).where(WorkflowTask.completed_at.is_(None))
                .group_by(WorkflowTask.process_key).order_by(WorkflowTask.process_key)):
            tasks.add_metric([key], n)
        db.session.rollback()
        yield jobs
        yield tasks


def exposition() -> Response:
    """The text exposition: this process's (or, in multiprocess mode, all web workers') request metrics, then the
    database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return Response(body + generate_latest(database), mimetype=CONTENT_TYPE_LATEST)
