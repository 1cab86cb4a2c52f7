"""What plans, reports and course plans share: their attachments, the rule that only a draft or a returned one
is edited, sending one to its approval process, withdrawing it before review (撤销), and resubmitting it after a
return. The row keeps the id of its latest instance; the workflow decides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.core.errors import InvalidState, ValidationFailed
from app.extensions import db
from app.training import queries
from app.training.access import training_orgs
from app.workflow import attachments
from app.workflow import services as workflow
from app.workflow.models import ProcessInstance, WorkflowTask

_INVALID = "提交的内容有误，请按提示修改"


def check_editable(row: Any, message: str) -> None:
    """Only a draft, or a submission returned for changes, is edited; ``message`` otherwise (409)."""
    if queries.state_of(row) not in (queries.DRAFT, queries.RETURNED):
        raise InvalidState(message)


def kept_attachments(row: Any, asked: list[int], *, actor: Actor) -> list[int]:
    """The attachment ids a save keeps: the actor's own uploads asked for, and those already on the row (of its
    case, once submitted) that are still asked for."""
    instance = db.session.get(ProcessInstance, row.instance_id) if row.instance_id else None
    usable = set(attachments.usable_ids(asked, actor=actor, instance=instance))
    return sorted(usable | (set(row.attachment_ids or []) & set(asked)))


def for_start(model: type, data: dict[str, Any], id_field: str, missing: str, *, actor: Actor) -> Any:
    """The row a start form names (``data[id_field]``), if the actor may submit it now (a ``prepare_start``)."""
    row = db.session.get(model, data.get(id_field) or 0)
    if row is None or row.organisation_id not in {o.id for o in training_orgs(actor)}:
        raise ValidationFailed(_INVALID, {id_field: missing})
    if queries.state_of(row) != queries.DRAFT:
        raise InvalidState("已提交审核，不能重复提交")
    return row


def submit(key: str, row: Any, snapshot: dict[str, Any], *, actor: Actor) -> ProcessInstance:
    """Start ``key`` for a draft; the process's ``on_data`` hook ties the instance to the row."""
    if queries.state_of(row) != queries.DRAFT:
        raise InvalidState("已提交审核，不能重复提交")
    return workflow.start_process(key, snapshot, actor=actor)


def withdraw(row: Any, *, actor: Actor) -> ProcessInstance:
    """撤销 before any review: the row is a draft again."""
    if row.instance_id is None or queries.state_of(row) != queries.REVIEWING:
        raise InvalidState("只有审核中且尚未审核的申报可以撤销")
    return workflow.withdraw_instance(row.instance_id, actor=actor)


def _revise_task(row: Any) -> WorkflowTask:
    task = db.session.scalar(select(WorkflowTask).where(
        WorkflowTask.instance_id == row.instance_id, WorkflowTask.completed_at.is_(None),
        WorkflowTask.candidate_user_id.is_not(None)))
    if task is None:
        raise InvalidState("只有被退回的申报可以重新提交")
    return task


def resubmit(row: Any, snapshot: dict[str, Any], *, actor: Actor) -> ProcessInstance:
    """After a return: the revised row goes back to the reviewer (the revision task of the case), its
    attachments with it."""
    if row.instance_id is None:
        raise InvalidState("只有被退回的申报可以重新提交")
    instance = workflow.complete_task(_revise_task(row).id, {**snapshot, "action": "resubmit"}, actor=actor)
    attachments.link(row.attachment_ids or [], instance, actor=actor)
    return instance


def give_up(row: Any, comment: str, *, actor: Actor) -> ProcessInstance:
    """After a return: withdraw the case (结案) instead of resubmitting; the row is a draft again."""
    if row.instance_id is None:
        raise InvalidState("只有被退回的申报可以撤回")
    return workflow.complete_task(_revise_task(row).id, {"action": "withdraw", "comment": comment}, actor=actor)
