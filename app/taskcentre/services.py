"""Creating background jobs, reporting progress, locating their result files."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Response, current_app
from sqlalchemy import func, select

from app.accounts.actor import Actor
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound
from app.core.jobs import enqueue
from app.core.models import utcnow
from app.core.paging import Page
from app.extensions import db

from . import files
from .models import FINISHED, QUEUED, RUNNING, BackgroundJob


def result_file(job_id: int, suffix: str) -> Path:
    """A fresh path in this machine's scratch folder for a job's result, stored once finished
    (:func:`app.taskcentre.files.store`)."""
    return files.scratch_dir() / files.new_name(str(job_id), suffix)


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


def my_jobs(actor: Actor, page: int = 1, per_page: int = 50) -> Page:
    """The jobs the actor started, newest first, one page of them."""
    mine = BackgroundJob.owner_id == actor.id
    total = db.session.scalar(select(func.count()).select_from(BackgroundJob).where(mine)) or 0
    items = list(db.session.scalars(select(BackgroundJob).where(mine).order_by(BackgroundJob.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)))
    return Page(items, total, page, per_page)


def visible_job(actor: Actor, job_id: int) -> BackgroundJob:
    """A user sees only the jobs they started."""
    job = db.session.get(BackgroundJob, job_id)
    if job is None or job.owner_id != actor.id:
        raise NotFound("任务不存在")
    return job


def result_of(actor: Actor, job_id: int) -> tuple[BackgroundJob, str]:
    """The job and the name of its stored result file."""
    job = visible_job(actor, job_id)
    if job.status != FINISHED:
        raise InvalidState("任务尚未完成，暂无可下载的文件")
    if not job.result_path:  # removed by `flask cleanup`
        raise NotFound(EXPIRED)
    if not files.exists(job.result_path):
        raise NotFound("结果文件已不存在，请重新生成")
    audit.record("export.download", actor=actor, obj=job, details={"kind": job.kind, "file": job.result_name},
                 keep=True)  # a download commits nothing
    return job, job.result_path


def download(actor: Actor, job_id: int) -> Response:
    """The job's result file as an attachment (streamed from the database)."""
    job, name = result_of(actor, job_id)
    return files.download(name, job.result_name or name)


EXPIRED = "结果文件已过期清理，请重新生成"


def purge_results(before: datetime) -> int:
    """Delete the result files of jobs that finished before ``before`` (naive UTC, as stored; the rows stay,
    as history), any stored file no job refers to that was written before then, and this machine's scratch
    files older than that. Returns the files deleted."""
    deleted = 0
    expired = []
    for job in db.session.scalars(select(BackgroundJob).where(
            BackgroundJob.result_path.is_not(None), BackgroundJob.finished_at < before)):
        expired.append(job.result_path)
        job.result_path = None
    referenced = set(db.session.scalars(select(BackgroundJob.result_path).where(
        BackgroundJob.result_path.is_not(None))))
    stray = files.older_unreferenced(before, referenced | set(expired))
    files.delete_files(expired + stray)
    deleted += len(expired) + len(stray)
    deleted += files.sweep_scratch(before.replace(tzinfo=UTC).timestamp())
    db.session.flush()
    return deleted
