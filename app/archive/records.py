"""Credit-hour records lists (学时申报记录 / 单位申报记录): declarations with their state.

Reads ``process_instance`` joined with the ``credit_declaration`` summary row the credit-hour
process writes at start and on every resubmission; nothing here deserializes a workflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.archive.models import CreditDeclaration
from app.core.batch import WriteBatch
from app.core.paging import Page
from app.extensions import db
from app.workflow.models import COMPLETED, REJECTED, RUNNING, WITHDRAWN, ProcessInstance

PROCESS_KEY = "credit_hour_approval"

#: Tabs of the records lists: key -> (label, instance statuses).
STATUS_TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "all": ("全部", ()),
    "pending": ("待审核", (RUNNING,)),
    "approved": ("审核通过", (COMPLETED,)),
    "rejected": ("审核不通过", (REJECTED,)),
}
#: Who the list is for: the actor's own declarations, what their unit declared for its staff,
#: or every declaration of the persons in their scope.
SCOPES = ("mine", "unit", "org")

STATUS_LABELS = {RUNNING: "待审核", COMPLETED: "审核通过", REJECTED: "审核不通过", WITHDRAWN: "已撤回"}


_INSERT_DECLARATION = insert(CreditDeclaration.__table__)


def record_declaration(instance: ProcessInstance, data: dict[str, Any], writes: WriteBatch | None = None) -> None:
    """ProcessHooks.on_data of the credit-hour process: keep the summary row current. A just-started
    instance has none yet: its INSERT goes with the instance's first writes (``writes``), no look-up."""

    def num(key: str) -> Decimal | None:
        value = data.get(key)
        return Decimal(str(value)) if value not in (None, "") else None

    values = {
        "person_id": instance.subject_person_id, "unit_id": instance.subject_org_id,
        "declared_by_unit": bool(data.get("declared_by_unit")),
        "year": int(data.get("year") or instance.year or 0),
        "subject_type": data.get("subject_type"), "learning_form": data.get("learning_form"),
        "course_name": (data.get("course_name") or "")[:200] or None,
        "hours": num("hours"), "days": num("days"),
    }
    if writes is not None:
        writes.add(_INSERT_DECLARATION, {"instance_id": instance.id, **values})
        return
    row = db.session.get(CreditDeclaration, instance.id)
    if row is None:
        row = CreditDeclaration(instance_id=instance.id)
        db.session.add(row)
    for attr, value in values.items():
        setattr(row, attr, value)
    db.session.flush()




def _subtree(actor: Actor):
    roots = actor.staff_roots
    if not roots:
        return None
    return select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path) for o in roots]))


def declarations_statement(actor: Actor, *, scope: str = "mine", status: str = "all", year: int | None = None,
                           learning_form: str | None = None, name: str | None = None,
                           id_number: str | None = None, subject_type: str | None = None,
                           course_name: str | None = None) -> Select | None:
    """Credit-hour declarations visible to the actor, newest first.

    ``scope``: ``mine`` (declared by or about the actor), ``unit`` (declared by the actor's
    units for their staff), ``org`` (about any person in the actor's organisations' subtree).
    """
    decl = CreditDeclaration
    stmt = (select(ProcessInstance, decl).join(decl, decl.instance_id == ProcessInstance.id, isouter=True)
            .where(ProcessInstance.process_key == PROCESS_KEY))
    subtree = _subtree(actor)
    if scope == "unit":
        if subtree is None:
            return None
        # declared by a unit for its staff: the summary row's (unit_id, year) index serves this
        stmt = stmt.where(decl.declared_by_unit.is_(True), decl.unit_id.in_(subtree),
                          ProcessInstance.started_for_org_id.isnot(None))
    elif scope == "org":
        if subtree is None:
            return None
        stmt = stmt.where(ProcessInstance.subject_org_id.in_(subtree))
    else:
        cond = ProcessInstance.started_by_id == actor.id
        if actor.user.id_number:
            cond = or_(cond, ProcessInstance.applicant_id_number == actor.user.id_number)
        stmt = stmt.where(cond)
    statuses = STATUS_TABS.get(status, STATUS_TABS["all"])[1]
    if statuses:
        stmt = stmt.where(ProcessInstance.status.in_(statuses))
    if year:
        stmt = stmt.where(ProcessInstance.year == year)
    if learning_form:
        stmt = stmt.where(decl.learning_form == learning_form)
    if subject_type:
        stmt = stmt.where(decl.subject_type == subject_type)
    if course_name:  # the case's title is the course name (also of a resubmission that renamed it)
        stmt = stmt.where(ProcessInstance.title.contains(course_name.strip(), autoescape=True))
    if name:
        stmt = stmt.where(ProcessInstance.applicant_name.contains(name.strip(), autoescape=True))
    if id_number:
        stmt = stmt.where(ProcessInstance.applicant_id_number.startswith(id_number.strip().upper(),
                                                                         autoescape=True))
    return stmt.order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())


def declarations(actor: Actor, *, scope: str = "mine", status: str = "all", year: int | None = None,
                 learning_form: str | None = None, name: str | None = None, id_number: str | None = None,
                 subject_type: str | None = None, course_name: str | None = None,
                 page: int = 1, per_page: int = 20) -> Page:
    """One page of :func:`declarations_statement`, newest first."""
    stmt = declarations_statement(actor, scope=scope, status=status, year=year, learning_form=learning_form,
                                  name=name, id_number=id_number, subject_type=subject_type,
                                  course_name=course_name)
    if stmt is None:
        return Page([], 0, page, per_page)
    total = _count(stmt)
    page = max(1, page)
    rows = db.session.execute(stmt.offset((page - 1) * per_page).limit(per_page)).all()
    return Page([(i, d) for i, d in rows], total or 0, page, per_page)


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).with_only_columns(ProcessInstance.id).subquery())) or 0


def count_declarations(actor: Actor, **filters: Any) -> int:
    """How many declarations :func:`declarations` would list with these filters (all pages)."""
    stmt = declarations_statement(actor, **filters)
    return 0 if stmt is None else _count(stmt)


def each_declaration(actor: Actor, **filters: Any) -> Iterator[tuple[ProcessInstance, CreditDeclaration | None]]:
    """Every declaration of :func:`declarations_statement`, streamed 1,000 at a time (exports)."""
    stmt = declarations_statement(actor, **filters)
    if stmt is None:
        return
    rows = db.session.execute(stmt.execution_options(yield_per=1000))
    yield from ((instance, declaration) for instance, declaration in rows)
