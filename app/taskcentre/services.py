"""Creating background jobs, reporting progress, locating their result files."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.accounts.actor import Actor
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound
from app.core.models import api_time
from app.extensions import db

from .models import FINISHED, BackgroundJob


def jobs_dir() -> Path:
    """Result files: JOBS_DIR when set (shared storage for several workers), else instance/jobs/."""
    path = Path(current_app.config.get("JOBS_DIR") or Path(current_app.instance_path) / "jobs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def result_file(job_id: int, suffix: str) -> Path:
    """A fresh, unguessable path for a job's result under instance/jobs/."""
    return jobs_dir() / f"{job_id}-{secrets.token_hex(8)}{suffix}"


def create_job(actor: Actor, kind: str, title: str, params: dict[str, Any], total: int) -> BackgroundJob:
    job = BackgroundJob(owner_id=actor.id, kind=kind, title=title, params=params, total=total)
    db.session.add(job)
    db.session.flush()
    return job


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


def job_json(job: BackgroundJob, download_url: str | None) -> dict[str, Any]:
    return {
        "id": job.id, "kind": job.kind, "title": job.title, "status": job.status, "done": job.done,
        "total": job.total, "percent": job.percent, "message": job.message, "error": job.error,
        "created_at": api_time(job.created_at),
        "finished_at": api_time(job.finished_at),
        "download_url": download_url if job.status == FINISHED else None,
    }


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
