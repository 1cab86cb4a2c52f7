"""The background job that moves running cases to another version of their process, case by case, with its
progress in the task centre (任务中心)."""

from __future__ import annotations

import logging

from app.accounts.actor import Actor
from app.accounts.models import User
from app.core.models import utcnow
from app.extensions import db
from app.taskcentre.models import FAILED, FINISHED, RUNNING, BackgroundJob
from app.taskcentre.services import Kind, beat, create_job, is_current, register_kind
from app.workflow import migration
from app.workflow.models import ProcessVersion

KIND = "process_migration"
log = logging.getLogger(__name__)


def start(actor: Actor, target: ProcessVersion, instance_ids: list[int]) -> BackgroundJob:
    """Create the job (the caller commits, then :func:`app.taskcentre.services.send`)."""
    return create_job(actor, KIND, f"迁移 {target.name} 的申请到第 {target.version} 版（{len(instance_ids)}件）",
                      {"version_id": target.id, "instance_ids": list(instance_ids)}, len(instance_ids))


def run(job_id: int, attempt: int | None = None) -> str:
    """One attempt: each case in its own transaction; a case already moved (an earlier attempt) is skipped."""
    job = is_current(job_id, attempt)
    if job is None:
        return "superseded"
    actor = Actor.of(db.session.get(User, job.owner_id))
    target = db.session.get(ProcessVersion, job.params["version_id"])
    ids: list[int] = list(job.params["instance_ids"])
    job.status, job.started_at, job.done, job.total = RUNNING, utcnow(), 0, len(ids)
    beat(job)
    db.session.commit()
    moved, refused = 0, 0
    try:
        for i, instance_id in enumerate(ids, 1):
            try:
                result = migration.migrate(instance_id, target, actor)
                db.session.commit()
                moved += result.movable
                refused += not result.movable and result.refusal != "same_version"
            except Exception:  # noqa: BLE001 - this case stays as it was; the next one still moves
                log.exception("migrating instance %s failed", instance_id)
                db.session.rollback()
                refused += 1
            job = db.session.get(BackgroundJob, job_id)
            job.done = i
            beat(job)
            db.session.commit()
    except Exception as exc:  # noqa: BLE001 - recorded on the job for the task centre
        db.session.rollback()
        job = db.session.get(BackgroundJob, job_id)
        job.status, job.error, job.finished_at = FAILED, f"迁移失败：{exc}"[:2000], utcnow()
        db.session.commit()
        return FAILED
    job.status, job.finished_at = FINISHED, utcnow()
    job.message = f"已迁移{moved}件" + (f"，{refused}件无法迁移，仍按原版本办理" if refused else "")
    db.session.commit()
    return FINISHED


register_kind(KIND, Kind(run))
