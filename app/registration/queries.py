"""已审核: the tasks the actor's organisations have decided, with the decision."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, false, func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.core.paging import Page
from app.core.sorting import Sort, order_clauses, parse_sort
from app.extensions import db
from app.workflow.models import ApprovalEvent, WorkflowTask


@dataclass
class Reviewed:
    task: WorkflowTask
    outcome: str | None
    comment: str | None
    reviewer: str | None
    organisation: str | None
    at: datetime | None


def _org_condition(actor: Actor):
    """Tasks of organisations where the actor may review them (the inbox's rule, closed tasks)."""
    conds = []
    admin_orgs = [m.organisation_id for m in actor.memberships if m.role == Role.ADMIN]
    if admin_orgs:
        conds.append(WorkflowTask.candidate_org_id.in_(admin_orgs))
    for m in actor.memberships:
        if m.role == Role.SUB_ADMIN and m.permissions:
            conds.append(and_(WorkflowTask.candidate_org_id == m.organisation_id,
                              WorkflowTask.candidate_permission.in_(list(m.permissions))))
    return or_(*conds) if conds else false()


#: The reviewed list's sortable columns (``?sort=``); the default is the latest decision first.
REVIEWED_SORTS = {"applicant": WorkflowTask.applicant_name, "id_number": WorkflowTask.applicant_id_number,
                  "process": WorkflowTask.process_key, "step": WorkflowTask.name, "outcome": ApprovalEvent.outcome,
                  "reviewer": ApprovalEvent.user_name, "decided": WorkflowTask.completed_at}
REVIEWED_DEFAULT_SORT = "-decided"


def reviewed_statement(actor: Actor, *, process: str | None = None, q: str | None = None,
                       sort: Sort | None = None) -> Select:
    """Decided tasks of the actor's organisations with their decision, in the order of ``sort`` (default:
    latest decision first)."""
    sort = sort or parse_sort(None, REVIEWED_SORTS, REVIEWED_DEFAULT_SORT)
    stmt = (select(WorkflowTask, ApprovalEvent)
            .join(ApprovalEvent, and_(ApprovalEvent.task_id == WorkflowTask.id,
                                      ApprovalEvent.instance_id == WorkflowTask.instance_id))
            .where(WorkflowTask.completed_at.is_not(None), WorkflowTask.cancelled.is_(False), _org_condition(actor)))
    if process:
        stmt = stmt.where(WorkflowTask.process_key == process)
    if q:
        if q[:1].isdigit():
            stmt = stmt.where(WorkflowTask.applicant_id_number.startswith(q.upper(), autoescape=True))
        else:
            stmt = stmt.where(WorkflowTask.applicant_name.startswith(q, autoescape=True))
    return stmt.order_by(*order_clauses(sort, REVIEWED_SORTS, [WorkflowTask.id]))


def _reviewed(task: WorkflowTask, e: ApprovalEvent) -> Reviewed:
    return Reviewed(task=task, outcome=e.outcome, comment=e.comment, reviewer=e.user_name,
                    organisation=e.organisation_name, at=e.at)


def reviewed(actor: Actor, *, process: str | None = None, q: str | None = None, page: int = 1,
             per_page: int = 20, sort: Sort | None = None) -> Page:
    """Review tasks the actor's organisations decided, a page in the order of ``sort``."""
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    stmt = reviewed_statement(actor, process=process, q=q, sort=sort)
    total = db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).with_only_columns(WorkflowTask.id).subquery()))
    rows = db.session.execute(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    return Page([_reviewed(t, e) for t, e in rows], total or 0, page, per_page)


def each_reviewed(actor: Actor, *, process: str | None = None, q: str | None = None,
                  sort: Sort | None = None) -> Iterator[Reviewed]:
    """Every decided task of :func:`reviewed_statement`, streamed 1,000 at a time (exports)."""
    rows = db.session.execute(reviewed_statement(actor, process=process, q=q, sort=sort)
                              .execution_options(yield_per=1000))
    yield from (_reviewed(t, e) for t, e in rows)
