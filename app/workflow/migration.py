"""Moving running instances of a process to another of its versions (issue #17): a dry-run report of which
can move and which cannot (and why), and the move itself, one instance per transaction, each with a history
event. An instance that cannot move stays exactly as it was."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from app.accounts.actor import Actor
from app.audit import services as audit
from app.core.errors import InvalidState
from app.core.models import utcnow
from app.extensions import db
from app.workflow import engine
from app.workflow.models import RUNNING, ProcessInstance, ProcessVersion, WorkflowTask
from app.workflow.services import _event, _lane_org, _save, _service_handler
from app.workflow.versions import parsed_by_hash, parsed_for

#: What the report says of an instance that cannot move.
REFUSALS = {
    "current_removed": "它当前所在的步骤在新版本中已删除",
    "history_removed": "它已经过的步骤在新版本中已删除，无法对应",
    "same_version": "已在该版本上",
}


@dataclass(frozen=True)
class Candidate:
    instance_id: int
    version: int
    applicant: str | None
    current: tuple[str, ...]
    refusal: str | None

    @property
    def movable(self) -> bool:
        return self.refusal is None


def running_on_older(key: str, target: ProcessVersion, step: str | None = None) -> list[ProcessInstance]:
    """The running instances of ``key`` on another version than ``target`` (standing at ``step``, if given)."""
    stmt = (select(ProcessInstance).where(ProcessInstance.process_key == key, ProcessInstance.status == RUNNING,
                                          ProcessInstance.process_version_id != target.id)
            .order_by(ProcessInstance.id))
    if step:
        open_at = select(WorkflowTask.instance_id).where(WorkflowTask.task_spec == step,
                                                         WorkflowTask.completed_at.is_(None))
        stmt = stmt.where(ProcessInstance.id.in_(open_at))
    return list(db.session.scalars(stmt))


def check(instance: ProcessInstance, target: ProcessVersion) -> Candidate:
    """Whether ``instance`` can move to ``target`` (nothing is written)."""
    old = db.session.get(ProcessVersion, instance.process_version_id)
    if instance.process_version_id == target.id:
        return Candidate(instance.id, old.version, instance.applicant_name, (), "same_version")
    parsed_by_hash(instance.version_hash)  # the old spec, to read the stored state
    result, _run = engine.migrate(instance.state_json, parsed_for(target))
    return Candidate(instance.id, old.version, instance.applicant_name, result.current, result.refusal)


def preview(key: str, target: ProcessVersion, step: str | None = None) -> list[Candidate]:
    return [check(i, target) for i in running_on_older(key, target, step)]


def migrate(instance_id: int, target: ProcessVersion, actor: Actor) -> Candidate:
    """Move one instance to ``target`` (the caller commits): its state, its open task rows (a step that moved
    to another lane goes to that lane's organisation), a history event and an audit entry. Refused
    (nothing written) when it cannot move."""
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                 .with_for_update().execution_options(populate_existing=True))
    if instance is None or instance.status != RUNNING:
        raise InvalidState("申请已不在办理中")
    old = db.session.get(ProcessVersion, instance.process_version_id)
    if old.id == target.id:
        return Candidate(instance.id, old.version, instance.applicant_name, (), "same_version")
    parsed_by_hash(instance.version_hash)
    result, run = engine.migrate(instance.state_json, parsed_for(target), _service_handler(instance, actor))
    candidate = Candidate(instance.id, old.version, instance.applicant_name, result.current, result.refusal)
    if run is None:
        return candidate
    now = utcnow()
    open_before = set(db.session.scalars(select(WorkflowTask.id).where(
        WorkflowTask.instance_id == instance.id, WorkflowTask.completed_at.is_(None))))
    for task in run.ready_tasks():  # a step still open: its row follows the step's new name, lane and form
        if task.id in open_before:
            lane = task.info.lane
            org = None if lane == "applicant" else _lane_org(instance, lane)
            db.session.execute(update(WorkflowTask).where(WorkflowTask.id == task.id).values(
                name=task.info.name, lane=lane, form=task.info.form, task_spec=task.info.spec_id,
                candidate_org_id=org["id"] if org else None))
    events = [_event(instance.id, step="migration", step_name="迁移到新版本", user_id=actor.id, user_name=actor.name,
                     at=now, outcome="migrated",
                     comment=f"第 {old.version} 版 → 第 {target.version} 版")]
    audit.record("process.migrate", actor=actor, obj=instance,
                 details={"process": instance.process_key, "from": old.version, "to": target.version})
    _save(instance, run, actor, now, events, completed_task_id=None, open_before=open_before,
          summary={"process_version_id": target.id, "version_hash": target.content_hash})
    return candidate
