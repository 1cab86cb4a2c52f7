"""What plans and reports share: sending one to its approval process, withdrawing it before review (撤销),
and resubmitting it after a return. The row keeps the id of its latest instance; the workflow decides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.core.errors import InvalidState
from app.extensions import db
from app.training import queries
from app.workflow import services as workflow
from app.workflow.models import ProcessInstance, WorkflowTask


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
    """After a return: the revised row goes back to the reviewer (the revision task of the case)."""
    if row.instance_id is None:
        raise InvalidState("只有被退回的申报可以重新提交")
    return workflow.complete_task(_revise_task(row).id, {**snapshot, "action": "resubmit"}, actor=actor)


def give_up(row: Any, comment: str, *, actor: Actor) -> ProcessInstance:
    """After a return: withdraw the case (结案) instead of resubmitting; the row is a draft again."""
    if row.instance_id is None:
        raise InvalidState("只有被退回的申报可以撤回")
    return workflow.complete_task(_revise_task(row).id, {"action": "withdraw", "comment": comment}, actor=actor)
