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


#: A full collection every this many requests of a worker (0: never). With the threshold above, cyclic garbage that
#: survives into the oldest generation (a workflow's task tree dropped from the parked cache, say) waits for
#: Python's own full collection, which comes only when that generation has grown by a quarter: measured, a worker's
#: memory crept from 166 to 220 MB over its first 60,000 requests before levelling off, against a flat 154 MB with
#: Python's default threshold. A full collection of what was created since ``gc.freeze`` (the caches, the request's
#: survivors) every N requests keeps it flat (156.5 -> 157.2 MB from the 10,000th to the 100,000th request) at no
#: CPU cost that the benchmarks can tell (bench/README.md, "Session 14"; bench/bench_memory.py).
gc_full_every = int(os.environ.get("WEB_GC_FULL_EVERY", "1000"))
_served = 0


def post_request(worker, req, environ, resp) -> None:  # noqa: ANN001
    global _served
    if gc_full_every > 0 and gc_threshold > 0:
        _served += 1
        if _served % gc_full_every == 0:
            import gc

            gc.collect()


#: WEB_PIN_CPUS=1: each worker keeps to one core of those the server may use (worker n on core n mod cores), so a
#: worker's heap stays in one core's caches. Measured in turns (2 workers, PostgreSQL on the same 2 cores): 4-5 % more
#: chains a second, 1-1.5 % less worker CPU a chain (bench/README.md, "Session 14"). Off by default: on a host whose
#: cores are shared with other busy services a pinned worker cannot move to an idle core.
pin_cpus = os.environ.get("WEB_PIN_CPUS") == "1"


def post_fork(server, worker) -> None:  # noqa: ANN001
    if pin_cpus:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[worker.age % len(cpus)]})
