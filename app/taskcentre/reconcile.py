"""Job reconciliation: a job whose worker died (killed, out of memory, machine restarted) would stay
"running" for ever. The reconciler finds such jobs, deletes what they left half-written (``.part``
files) and hands them out again, up to ``JOB_MAX_ATTEMPTS`` attempts in all; after that the job fails
with a message saying so.

It runs from ``flask cleanup``, when a worker starts, and when a user opens the task centre (for their
own jobs). A job counts as lost when

* rq ran it and its worker is gone: the worker's record expired (it stopped sending heartbeats), or
  the worker lived on this machine and its process no longer exists;
* rq recorded a failure the job itself could not (its work-horse was killed, or it hit rq's timeout);
* rq does not know it although the job row says it was handed out (the web process died between its
  commit and the enqueue, or Redis lost its data), and the row shows no sign of life for
  ``JOB_QUEUE_GRACE_SECONDS``;
* the running job shows no sign of life (progress commits) for ``JOB_STALE_SECONDS``, whatever rq says.

Without Redis, jobs run inline in a web process: one that shows no sign of life for
``JOB_STALE_SECONDS`` died with its process and is marked failed (a page view must not run it again).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.models import utcnow
from app.extensions import db

from . import files, services
from .models import FAILED, QUEUED, RUNNING, BackgroundJob

log = logging.getLogger(__name__)

#: Stored on the job (shown in the task centre) when it is handed out again, and when it gives up.
RETRIED = "处理进程意外中断，任务已自动重新排队"
GAVE_UP = "任务多次意外中断，已停止重试，请重新提交"
INTERRUPTED = "任务意外中断（处理进程已退出），请重新提交"


def _setting(name: str) -> int:
    return int(current_app.config[name])  # see config.py


def reconcile(owner_id: int | None = None, now: datetime | None = None) -> list[int]:
    """Retry or fail the lost jobs (only ``owner_id``'s when given); returns the ids handed out again.

    Commits on its own, then sends the retried jobs to rq: call it outside any other unit of work. Two
    reconcilers at once never pick the same job (rows locked with SKIP LOCKED on PostgreSQL)."""
    now = now or utcnow()
    stmt = select(BackgroundJob).where(BackgroundJob.status.in_((QUEUED, RUNNING))).order_by(BackgroundJob.id)
    if owner_id is not None:
        stmt = stmt.where(BackgroundJob.owner_id == owner_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    jobs = list(db.session.scalars(stmt))
    if not jobs:
        db.session.commit()  # ends the read (and its locks)
        return []
    probe = _RqProbe.connect()
    retried: list[BackgroundJob] = []
    for job in jobs:
        why = _why_lost(job, probe, now)
        if why is None:
            continue
        log.warning("background job %s (attempt %s) is lost: %s", job.id, job.attempts, why)
        remove_partials(job.id)
        if probe is None:
            job.status, job.error, job.finished_at = FAILED, INTERRUPTED, now
        elif job.attempts >= _setting("JOB_MAX_ATTEMPTS"):
            job.status, job.error, job.finished_at = FAILED, GAVE_UP, now
        else:
            services.next_attempt(job)
            job.message = RETRIED
            retried.append(job)
    db.session.commit()
    for job in retried:
        services.send(job)
    return [job.id for job in retried]


def reconcile_and_sweep() -> None:
    """What a worker does when it starts: :func:`reconcile`, then this machine's scratch files last written more
    than ``JOB_SCRATCH_HOURS`` ago are deleted (left by workers that died here; `flask cleanup` does the same,
    but only on the machine it runs on)."""
    reconcile()
    files.sweep_scratch(time.time() - float(current_app.config["JOB_SCRATCH_HOURS"]) * 3600)


def remove_partials(job_id: int) -> int:
    """Delete the half-written result files of a job (``<id>-….part``); returns how many."""
    removed = 0
    for path in files.scratch_dir().glob(f"{job_id}-*.part"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _why_lost(job: BackgroundJob, probe: _RqProbe | None, now: datetime) -> str | None:
    last_sign = job.heartbeat_at or job.started_at or job.created_at
    stale = now - last_sign > timedelta(seconds=_setting("JOB_STALE_SECONDS"))
    if probe is None:
        return "no sign of life (inline job)" if stale else None
    if job.status == RUNNING and stale:
        return "no sign of life"
    rq_job = probe.job(job.rq_job_id) if job.rq_job_id else None
    if rq_job is None:
        grace = now - last_sign > timedelta(seconds=_setting("JOB_QUEUE_GRACE_SECONDS"))
        return "unknown to rq" if grace else None
    status = rq_job.get_status(refresh=False)
    if status in ("failed", "stopped", "canceled", "finished"):
        return f"rq says {status}"
    if status == "started":
        return probe.dead_worker(rq_job.worker_name)
    return None  # waiting in its queue


class _RqProbe:
    """What rq knows about jobs and workers (one Redis connection per reconciliation)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.hostname = socket.gethostname()

    @classmethod
    def connect(cls) -> _RqProbe | None:
        url = current_app.config.get("REDIS_URL")
        if not url:
            return None
        from redis import Redis

        return cls(Redis.from_url(url))

    def job(self, rq_job_id: str) -> Any:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            return Job.fetch(rq_job_id, connection=self.connection)
        except NoSuchJobError:
            return None

    def dead_worker(self, name: str | None) -> str | None:
        """Why the worker is gone, or None while it lives (or might: on another machine, until its record
        expires)."""
        from rq import Worker

        if not name:
            return "started by no known worker"
        worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + name, connection=self.connection)
        if worker is None:
            return f"worker {name} stopped sending heartbeats"
        if worker.hostname == self.hostname and worker.pid and not _alive(worker.pid):
            return f"worker {name} (pid {worker.pid}) no longer runs"
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_a_zombie(pid)


def _not_a_zombie(pid: int) -> bool:
    """A killed process nobody reaped yet still answers signal 0 (Linux: read its state)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
