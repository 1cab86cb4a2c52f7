"""Creating background jobs, reporting progress, locating their result files."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.accounts.actor import Actor
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound
from app.core.jobs import enqueue
from app.core.models import utcnow
from app.extensions import db

from .models import FINISHED, QUEUED, RUNNING, BackgroundJob


def jobs_dir() -> Path:
    """Result files: JOBS_DIR when set (shared storage for several workers), else instance/jobs/."""
    path = Path(current_app.config.get("JOBS_DIR") or Path(current_app.instance_path) / "jobs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def result_file(job_id: int, suffix: str) -> Path:
    """A fresh, unguessable path for a job's result under instance/jobs/."""
    return jobs_dir() / f"{job_id}-{secrets.token_hex(8)}{suffix}"


# --------------------------------------------------------------------------- kinds of job, attempts


#: Runs one attempt of a job: ``runner(job_id, attempt)`` returns the status it left the job in.
Runner = Callable[[int, int], str]


@dataclass(frozen=True)
class Kind:
    runner: Runner
    #: The setting naming the rq queue of this kind (unset: "default").
    queue_setting: str | None = None
    #: rq's limit on one attempt, in seconds.
    timeout: int = 3600


_KINDS: dict[str, Kind] = {}


def register_kind(name: str, kind: Kind) -> None:
    """Make jobs of ``name`` runnable (again) by the task centre; the owning domain calls it at import."""
    _KINDS[name] = kind


def create_job(actor: Actor, kind: str, title: str, params: dict[str, Any], total: int) -> BackgroundJob:
    """A new job, its first attempt ready to be sent (:func:`send` once the caller committed)."""
    job = BackgroundJob(owner_id=actor.id, kind=kind, title=title, params=params, total=total)
    db.session.add(job)
    db.session.flush()
    next_attempt(job)
    return job


def next_attempt(job: BackgroundJob) -> None:
    """Count a new attempt and name the rq job it will run as: an attempt that is no longer the job's
    current one (its worker was given up for dead) stops at its next progress commit."""
    job.attempts = (job.attempts or 0) + 1
    job.status = QUEUED
    # unique even across databases sharing one Redis (ids start again at 1 in a new database)
    job.rq_job_id = f"bg{job.id}-{job.attempts}-{secrets.token_hex(4)}"
    job.heartbeat_at = utcnow()
    job.finished_at = None
    db.session.flush()


def queue_of(kind_name: str) -> str:
    """The rq queue that jobs of this kind go to ("default" unless the kind's setting names one)."""
    kind = _KINDS.get(kind_name)
    return (current_app.config.get(kind.queue_setting or "") if kind else None) or "default"


def send(job: BackgroundJob) -> None:
    """Run the job's current attempt (committed): on rq when REDIS_URL is set, else right now."""
    kind = _KINDS[job.kind]
    if not current_app.config.get("REDIS_URL"):
        kind.runner(job.id, job.attempts)
        return
    queue = queue_of(job.kind)
    enqueue(kind.runner, job.id, job.attempts, queue=queue, job_id=job.rq_job_id, job_timeout=kind.timeout)


def is_current(job_id: int, attempt: int | None, *, lock: bool = False) -> BackgroundJob | None:
    """The job, read fresh, if ``attempt`` is still its current one and it is not over (None otherwise).
    ``attempt`` None: a job enqueued before attempts were counted. ``lock``: FOR UPDATE, to write its end."""
    stmt = select(BackgroundJob).where(BackgroundJob.id == job_id).execution_options(populate_existing=True)
    job = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if job is None or job.status not in (QUEUED, RUNNING):
        return None
    return job if attempt is None or job.attempts == attempt else None


def beat(job: BackgroundJob) -> None:
    """A sign of life of the running attempt, committed with its progress."""
    job.heartbeat_at = utcnow()


def my_jobs(actor: Actor, limit: int = 50) -> list[BackgroundJob]:
    return list(db.session.scalars(select(BackgroundJob).where(BackgroundJob.owner_id == actor.id)
                                   .order_by(BackgroundJob.id.desc()).limit(limit)))


def visible_job(actor: Actor, job_id: int) -> BackgroundJob:
    """A user sees only the jobs they started."""
    job = db.session.get(BackgroundJob, job_id)
    if job is None or job.owner_id != actor.id:
        raise NotFound("任务不存在")
    return job


def result_of(actor: Actor, job_id: int) -> tuple[BackgroundJob, Path]:
    job = visible_job(actor, job_id)
    if job.status != FINISHED:
        raise InvalidState("任务尚未完成，暂无可下载的文件")
    if not job.result_path:  # removed by `flask cleanup`
        raise NotFound(EXPIRED)
    path = jobs_dir() / Path(job.result_path).name
    if not path.is_file():
        raise NotFound("结果文件已不存在，请重新生成")
    audit.record("export.download", actor=actor, obj=job, details={"kind": job.kind, "file": job.result_name},
                 keep=True)  # a download commits nothing
    return job, path


EXPIRED = "结果文件已过期清理，请重新生成"


def purge_results(before: datetime) -> int:
    """Delete the result files of jobs that finished before ``before`` (naive UTC, as stored; the rows stay,
    as history), and any file in the jobs folder that no job refers to and is older than that. Returns the
    files deleted."""
    folder = jobs_dir()
    deleted = 0
    for job in db.session.scalars(select(BackgroundJob).where(
            BackgroundJob.result_path.is_not(None), BackgroundJob.finished_at < before)):
        (folder / Path(job.result_path).name).unlink(missing_ok=True)
        job.result_path = None
        deleted += 1
    referenced = set(db.session.scalars(select(BackgroundJob.result_path).where(
        BackgroundJob.result_path.is_not(None))))
    cutoff = before.replace(tzinfo=UTC).timestamp()
    for path in folder.iterdir():
        if path.is_file() and path.name not in referenced and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    db.session.flush()
    return deleted
