"""The read side of transfers: the lists of both sides (transfer-in waiting, transfer-out waiting, transfer
records), one transfer within scope, and what stands in the way of a transfer. Lists read the
``personnel_transfer`` summary joined with ``process_instance``; nothing deserializes a workflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.core.errors import NotFound
from app.core.paging import Page
from app.core.sorting import Sort, order_clauses, parse_sort
from app.extensions import db
from app.people import services as people
from app.workflow.models import COMPLETED, REJECTED, RUNNING, WITHDRAWN, ProcessInstance, ProcessVersion, WorkflowTask

from .models import PersonnelTransfer

PROCESS_KEY = "personnel_transfer"
NOT_FOUND = "调转记录不存在或不在您的管理范围内"

#: The lists: key -> label. ``in`` / ``out``: transfers under way into / out of the actor's units;
#: ``records``: every transfer in or out of them (调转记录).
BOXES: dict[str, str] = {"in": "调入待审核", "out": "调出待审核", "records": "调转记录"}
STATUS_LABELS = {RUNNING: "审核中", COMPLETED: "已调转", REJECTED: "不同意调转", WITHDRAWN: "已撤回"}


@dataclass
class Row:
    transfer: PersonnelTransfer
    instance: ProcessInstance
    #: The open steps (who the transfer waits for now).
    waiting: list[WorkflowTask]
    #: The decisions so far (the detail page and API only).
    history: list[Any] | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.instance.status, self.instance.status)




@dataclass
class PendingCase:
    id: int
    process_key: str
    process_name: str
    title: str | None


def _subtree(actor: Actor) -> Select | None:
    roots = people.roots(actor)
    if not roots:
        return None
    return select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path) for o in roots]))


def _waiting(instance_ids: list[int]) -> dict[int, list[WorkflowTask]]:
    out: dict[int, list[WorkflowTask]] = {}
    if instance_ids:
        for t in db.session.scalars(
            select(WorkflowTask).where(WorkflowTask.instance_id.in_(instance_ids), WorkflowTask.completed_at.is_(None))
        ):
            out.setdefault(t.instance_id, []).append(t)
    return out


_FromUnit = aliased(Organisation, name="transfer_from_unit")
_ToUnit = aliased(Organisation, name="transfer_to_unit")

#: The lists' sortable columns (``?sort=``); the default is newest first.
SORTS = {
    "name": ProcessInstance.applicant_name,
    "id_number": ProcessInstance.applicant_id_number,
    "from_unit": _FromUnit.name,
    "to_unit": _ToUnit.name,
    "started": PersonnelTransfer.instance_id,
    "status": ProcessInstance.status,
}
DEFAULT_SORT = "-started"


def transfers(
    actor: Actor, *, box: str = "records", q: str = "", page: int = 1, per_page: int = 20, sort: Sort | None = None
) -> Page:
    """The transfers of the list ``box`` (:data:`BOXES`) within the actor's units, in ``sort`` order (newest
    first by default). ``q``: the person's name (contained) or ID number (prefix)."""
    subtree = _subtree(actor)
    if subtree is None:
        return Page([], 0, page, per_page)
    sort = sort or parse_sort(None, SORTS, DEFAULT_SORT)
    t = PersonnelTransfer
    stmt = select(t, ProcessInstance).join(ProcessInstance, ProcessInstance.id == t.instance_id)
    if sort.column in ("from_unit", "to_unit"):
        stmt = stmt.join(_FromUnit, _FromUnit.id == t.from_unit_id).join(_ToUnit, _ToUnit.id == t.to_unit_id)
    if box == "in":
        stmt = stmt.where(t.to_unit_id.in_(subtree), ProcessInstance.status == RUNNING)
    elif box == "out":
        stmt = stmt.where(t.from_unit_id.in_(subtree), ProcessInstance.status == RUNNING)
    else:
        stmt = stmt.where(or_(t.from_unit_id.in_(subtree), t.to_unit_id.in_(subtree)))
    q = (q or "").strip()
    if q:
        stmt = stmt.where(
            or_(
                ProcessInstance.applicant_name.contains(q, autoescape=True),
                ProcessInstance.applicant_id_number.startswith(q.upper(), autoescape=True),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(t.instance_id).subquery()))
    page = max(1, page)
    rows = db.session.execute(
        stmt.options(selectinload(t.from_unit), selectinload(t.to_unit))
        .order_by(*order_clauses(sort, SORTS, [t.instance_id]))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    waiting = _waiting([i.id for _t, i in rows])
    return Page([Row(tr, i, waiting.get(i.id, [])) for tr, i in rows], total or 0, page, per_page)


def counts(actor: Actor) -> dict[str, int]:
    """How many transfers wait in each of the two waiting lists."""
    subtree = _subtree(actor)
    if subtree is None:
        return {"in": 0, "out": 0}
    t = PersonnelTransfer
    base = (
        select(func.count())
        .select_from(t)
        .join(ProcessInstance, ProcessInstance.id == t.instance_id)
        .where(ProcessInstance.status == RUNNING)
    )
    return {
        "in": db.session.scalar(base.where(t.to_unit_id.in_(subtree))) or 0,
        "out": db.session.scalar(base.where(t.from_unit_id.in_(subtree))) or 0,
    }


def visible(actor: Actor, instance_id: int) -> Row:
    """One transfer: for those who manage staff of the old or the new unit; anyone else gets 404."""
    row = db.session.get(PersonnelTransfer, instance_id)
    if row is None or not (people.in_scope(actor, row.from_unit) or people.in_scope(actor, row.to_unit)):
        raise NotFound(NOT_FOUND)
    instance = db.session.get(ProcessInstance, instance_id)
    return Row(row, instance, _waiting([instance_id]).get(instance_id, []))


def open_transfer_of(person_id: int) -> int | None:
    """The id of the person's transfer under way, if any."""
    return db.session.scalar(
        select(ProcessInstance.id)
        .where(
            ProcessInstance.process_key == PROCESS_KEY,
            ProcessInstance.status == RUNNING,
            ProcessInstance.subject_person_id == person_id,
        )
        .limit(1)
    )


def pending_cases_of(person_id: int) -> list[PendingCase]:
    """The person's other cases under review (a credit-hour declaration, an info change), oldest first."""
    rows = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.process_key, ProcessVersion.name, ProcessInstance.title)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(
            ProcessInstance.subject_person_id == person_id,
            ProcessInstance.status == RUNNING,
            ProcessInstance.process_key != PROCESS_KEY,
        )
        .order_by(ProcessInstance.id)
    ).all()
    return [PendingCase(*r) for r in rows]


def unit_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())
