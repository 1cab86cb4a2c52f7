"""Reads of the training workspace: the review state of plans and reports (from their process instances, two
queries for a whole list), and the approved plans of an organisation's scope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.core.sorting import Sort, order_clauses, parse_sort
from app.extensions import db
from app.training.models import AnnualReport, TrainingPlan
from app.workflow.models import COMPLETED, REJECTED, RUNNING, ProcessInstance, WorkflowTask

DRAFT, REVIEWING, RETURNED, APPROVED, REJECTED_STATE = "draft", "reviewing", "returned", "approved", "rejected"
STATE_LABELS = {DRAFT: "草稿", REVIEWING: "审核中", RETURNED: "已退回待修改", APPROVED: "审核通过",
                REJECTED_STATE: "未通过"}


def states(rows: Iterable[Any]) -> dict[int, str]:
    """``{row id: state}`` for plans or reports: a withdrawn submission is a draft again."""
    rows = list(rows)
    ids = {r.instance_id for r in rows if r.instance_id is not None}
    status: dict[int, str] = {}
    returned: set[int] = set()
    if ids:
        status = {i: s for i, s in db.session.execute(select(ProcessInstance.id, ProcessInstance.status)
                                                       .where(ProcessInstance.id.in_(ids)))}
        returned = set(db.session.scalars(select(WorkflowTask.instance_id).where(
            WorkflowTask.instance_id.in_(ids), WorkflowTask.completed_at.is_(None),
            WorkflowTask.candidate_user_id.is_not(None))))
    out = {}
    for r in rows:
        s = status.get(r.instance_id) if r.instance_id is not None else None
        if s == RUNNING:
            out[r.id] = RETURNED if r.instance_id in returned else REVIEWING
        elif s == COMPLETED:
            out[r.id] = APPROVED
        elif s == REJECTED:
            out[r.id] = REJECTED_STATE
        else:  # never submitted, or withdrawn (s == WITHDRAWN)
            out[r.id] = DRAFT
    return out


def state_of(row: Any) -> str:
    return states([row])[row.id]


#: The plans' and reports' lists: sortable columns (``?sort=``); the default is the newest year first.
SORTS: dict[str, dict[str, Any]] = {
    "plans": {"year": TrainingPlan.year, "name": TrainingPlan.name, "subject_type": TrainingPlan.subject_type,
              "submitted": TrainingPlan.submitted_at},
    "reports": {"year": AnnualReport.year, "name": AnnualReport.name, "submitted": AnnualReport.submitted_at},
}
DEFAULT_SORT = "-year"


def plans(org_id: int, *, year: int | None = None, sort: Sort | None = None) -> list[TrainingPlan]:
    stmt = select(TrainingPlan).where(TrainingPlan.organisation_id == org_id)
    if year:
        stmt = stmt.where(TrainingPlan.year == year)
    columns = SORTS["plans"]
    order = order_clauses(sort or parse_sort(None, columns, DEFAULT_SORT), columns, [TrainingPlan.id])
    return list(db.session.scalars(stmt.order_by(*order)))


def reports(org_id: int, *, sort: Sort | None = None) -> list[AnnualReport]:
    columns = SORTS["reports"]
    order = order_clauses(sort or parse_sort(None, columns, DEFAULT_SORT), columns, [AnnualReport.id])
    return list(db.session.scalars(select(AnnualReport).where(AnnualReport.organisation_id == org_id)
                                   .order_by(*order)))


def can_open(actor: Actor) -> bool:
    from app.training.access import can_use

    return can_use(actor)
