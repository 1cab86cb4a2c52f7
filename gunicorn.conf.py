"""gunicorn settings for ``gunicorn -c gunicorn.conf.py wsgi:app`` (scripts/serve.sh). Every value can be set
from the environment; README, "Production"."""

import multiprocessing
import os
import shutil
from pathlib import Path

bind = os.environ.get("BIND", "0.0.0.0:8000")
#: One process per core: a request is CPU-bound Python between PostgreSQL round trips, and one interpreter
#: runs one thread of Python at a time (bench/README.md, "Session 12": sync and gthread compared in turns).
workers = int(os.environ.get("WEB_WORKERS") or multiprocessing.cpu_count())
worker_class = os.environ.get("WEB_WORKER_CLASS", "sync")
threads = int(os.environ.get("WEB_THREADS", "1"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
#: Restart a worker after this many requests (0: never); a safety net, not a fix for leaks.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
#: The app writes its own access log (JSON, with the request id and the route) when LOG_FORMAT=json.
accesslog = None
errorlog = "-"
#: gunicorn's own lines (worker started, worker timed out) in the app's JSON format.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.ops.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False, "qualname": "gunicorn.access"},
    },
} if os.environ.get("LOG_FORMAT") == "json" else {}

#: prometheus_client's multiprocess mode: each worker writes its metrics to files here and /metrics adds them
#: up. Must be set before any worker imports prometheus_client; emptied at start (stale files count otherwise).
_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(__file__).parent / "instance" / "metrics"))


def on_starting(server) -> None:  # noqa: ANN001
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker) -> None:  # noqa: ANN001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


#: The cyclic garbage collector's first threshold in a worker (Python's default is 700 allocations). A request
#: allocates tens of thousands of short-lived objects (ORM rows, the workflow's task tree, JSON), so at 700 the
#: collector runs dozens of times per request over objects that die anyway; at 20,000 it runs a few times per
#: request and a cycle still goes within a request or two. Measured: about 2.5 % less worker CPU per chain
#: (bench/README.md, "Session 10"). 0 keeps Python's default.
gc_threshold = int(os.environ.get("WEB_GC_THRESHOLD", "20000"))


def post_worker_init(worker) -> None:  # noqa: ANN001
    """Once the worker has loaded the app: its modules, mappers and parsed diagrams live as long as the process,
    so they are moved out of the collector's sight (``gc.freeze``) and the threshold above is set."""
    import gc

    gc.collect()
    gc.freeze()
    if gc_threshold > 0:
        _, second, third = gc.get_threshold()
        gc.set_threshold(gc_threshold, second, third)
