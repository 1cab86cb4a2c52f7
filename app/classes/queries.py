"""Reads of training classes: the list with its filters (subject type, state, year), each class's state (its
review state until approved, then its lifecycle), members, candidates for enrolment and attendance summaries.
Nothing here deserializes a workflow: review states come from ``process_instance`` rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.accounts.models import Organisation
from app.classes.models import (
    CANCELLED,
    CLOSED,
    OPEN,
    PLANNED,
    STATUS_LABELS,
    AttendanceMark,
    ClassMember,
    ClassSession,
    TrainingClass,
)
from app.core.paging import Page
from app.core.sorting import Sort, order_clauses, parse_sort
from app.extensions import db
from app.people.models import Person
from app.training import queries as review
from app.workflow.models import COMPLETED, REJECTED, RUNNING, WITHDRAWN, ProcessInstance

#: Every state a class can be in, in the order the filter offers them.
STATE_LABELS = {**{k: v for k, v in review.STATE_LABELS.items() if k != review.APPROVED}, **STATUS_LABELS}


def states(rows: Iterable[TrainingClass]) -> dict[int, str]:
    """``{class id: state}``: the review state (草稿 / 审核中 / 已退回 / 未通过) until approved, then the lifecycle."""
    rows = list(rows)
    out = review.states(rows)
    return {r.id: r.status if out[r.id] == review.APPROVED else out[r.id] for r in rows}


def state_of(row: TrainingClass) -> str:
    return states([row])[row.id]


def is_approved(row: TrainingClass) -> bool:
    return review.state_of(row) == review.APPROVED


@dataclass
class ClassPage(Page):
    #: {class id: its state}
    states: dict[int, str] = field(default_factory=dict)


def _state_condition(state: str) -> Any:
    status = ProcessInstance.status
    if state == review.DRAFT:
        return or_(TrainingClass.instance_id.is_(None), status == WITHDRAWN)
    if state in (review.REVIEWING, review.RETURNED):
        return status == RUNNING
    if state == review.REJECTED_STATE:
        return status == REJECTED
    if state in (PLANNED, OPEN, CLOSED, CANCELLED):
        return and_(status == COMPLETED, TrainingClass.status == state)
    return None


#: The list's sortable columns (``?sort=``); the default is the newest year first.
SORTS = {"year": TrainingClass.year, "name": TrainingClass.name, "subject_type": TrainingClass.subject_type}
DEFAULT_SORT = "-year"


def _statement(org_id: int, *, year: int | None = None, subject_type: str | None = None, state: str | None = None,
               q: str | None = None, reported: bool | None = None) -> Any:
    """One organisation's classes, filtered (see :func:`classes`)."""
    stmt = (
        select(TrainingClass)
        .outerjoin(ProcessInstance, ProcessInstance.id == TrainingClass.instance_id)
        .where(TrainingClass.organisation_id == org_id)
    )
    if year:
        stmt = stmt.where(TrainingClass.year == year)
    if subject_type:
        stmt = stmt.where(TrainingClass.subject_type == subject_type)
    if state and (cond := _state_condition(state)) is not None:
        stmt = stmt.where(cond)
    if q:
        stmt = stmt.where(TrainingClass.name.contains(q, autoescape=True))
    if reported is True:
        stmt = stmt.where(TrainingClass.reported_at.is_not(None))
    elif reported is False:
        stmt = stmt.where(TrainingClass.reported_at.is_(None), ProcessInstance.status == COMPLETED,
                          TrainingClass.status != CANCELLED, TrainingClass.report_mode != "declare")
    return stmt


def count(org_id: int, **filters: Any) -> int:
    """How many of the organisation's classes :func:`classes` would list with these filters (all pages)."""
    return db.session.scalar(select(func.count()).select_from(_statement(org_id, **filters).subquery())) or 0


def classes(
    org_id: int,
    *,
    year: int | None = None,
    subject_type: str | None = None,
    state: str | None = None,
    q: str | None = None,
    reported: bool | None = None,
    page: int = 1,
    per_page: int = 20,
    sort: Sort | None = None,
) -> ClassPage:
    """One organisation's classes in ``sort`` order (newest first by default). ``reported``: False keeps the
    approved classes, not cancelled, whose results (培训成果) are still to be reported, i.e. whose hours are not
    in the archives yet (a 暂不上报 class before its close; not the classes whose grades are declared person by
    person); True those whose results were reported."""
    stmt = _statement(org_id, year=year, subject_type=subject_type, state=state, q=q, reported=reported)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        db.session.scalars(
            stmt.order_by(*order_clauses(sort or parse_sort(None, SORTS, DEFAULT_SORT), SORTS, [TrainingClass.id]))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    found = states(items)
    if state == review.RETURNED or state == review.REVIEWING:  # both are running cases: tell them apart
        items = [r for r in items if found[r.id] == state]
    return ClassPage(items, total, page, per_page, states=found)


def members(class_id: int) -> list[ClassMember]:
    return list(
        db.session.scalars(
            select(ClassMember)
            .join(Person, Person.id == ClassMember.person_id)
            .where(ClassMember.class_id == class_id)
            .order_by(ClassMember.id)
        )
    )


def member_counts(class_ids: list[int]) -> dict[int, int]:
    if not class_ids:
        return {}
    return dict(
        db.session.execute(
            select(ClassMember.class_id, func.count())
            .where(ClassMember.class_id.in_(class_ids))
            .group_by(ClassMember.class_id)
        ).all()
    )


def plan_classes(planned_ids: list[int]) -> dict[int, TrainingClass]:
    """{class of a course plan (``course_plan_class.id``): the training class that runs it} for those set up."""
    if not planned_ids:
        return {}
    rows = db.session.scalars(select(TrainingClass).where(TrainingClass.course_plan_class_id.in_(planned_ids)))
    return {r.course_plan_class_id: r for r in rows}


def candidates(row: TrainingClass, *, q: str | None = None, limit: int = 50, own_only: bool = False
               ) -> list[Person]:
    """People not enrolled yet: the staff of the organisation (and of the units below it) by name, or anyone
    found by their exact ID number (an institution trains people of every unit; a name alone finds nobody outside
    the organisation); with ``own_only``, the staff only."""
    org = db.session.get(Organisation, row.organisation_id)
    enrolled = select(ClassMember.person_id).where(ClassMember.class_id == row.id)
    subtree = select(Organisation.id).where(Organisation.path.startswith(org.path, autoescape=True))
    stmt = select(Person).where(Person.id.not_in(enrolled))
    if own_only:  # a unit's class of its course plan: its own staff, by name or ID number
        if q:
            stmt = stmt.where(or_(Person.id_number == q.upper(), Person.name.contains(q, autoescape=True)))
        stmt = stmt.where(Person.unit_id.in_(subtree))
    elif q:
        stmt = stmt.where(
            or_(
                Person.id_number == q.upper(),
                and_(Person.unit_id.in_(subtree), Person.name.contains(q, autoescape=True)),
            )
        )
    else:
        stmt = stmt.where(Person.unit_id.in_(subtree))
    return list(db.session.scalars(stmt.order_by(Person.id).limit(limit)))


@dataclass
class SessionSummary:
    session: ClassSession
    expected: int
    counts: dict[str, int]

    @property
    def present(self) -> int:
        return self.counts.get("present", 0) + self.counts.get("late", 0)


def sessions(class_id: int) -> list[SessionSummary]:
    """Each session with the number expected (the class's members) and the count of each status."""
    expected = db.session.scalar(select(func.count()).where(ClassMember.class_id == class_id)) or 0
    rows = list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.class_id == class_id)
            .order_by(ClassSession.held_at, ClassSession.id)
        )
    )
    counts: dict[int, dict[str, int]] = {r.id: {} for r in rows}
    if rows:
        for sid, status, n in db.session.execute(
            select(AttendanceMark.session_id, AttendanceMark.status, func.count())
            .where(AttendanceMark.session_id.in_(list(counts)))
            .group_by(AttendanceMark.session_id, AttendanceMark.status)
        ):
            counts[sid][status] = n
    return [SessionSummary(r, expected, counts[r.id]) for r in rows]


def marks(session_id: int) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(AttendanceMark.member_id, AttendanceMark.status).where(AttendanceMark.session_id == session_id)
        ).all()
    )


#: States of a student's grade declaration, as the declaration page filters them.
DECLARATION_LABELS = {
    "undeclared": "未申报",
    "reviewing": "审核中",
    "returned": "已退回待修改",
    "approved": "审核通过",
    "rejected": "未通过",
}


@dataclass
class GradeRow:
    member: ClassMember
    training_class: TrainingClass
    instance: ProcessInstance | None
    state: str


def declarable(
    org_id: int,
    *,
    class_id: int | None = None,
    year: int | None = None,
    ce_year: int | None = None,
    state: str | None = None,
    limit: int = 500,
) -> list[GradeRow]:
    """The students who passed closed classes whose results go by grade declaration (学员成绩申报), with the
    state of their latest declaration; filtered by class, training year and continuing-education year."""
    stmt = (
        select(ClassMember, TrainingClass, ProcessInstance)
        .join(TrainingClass, TrainingClass.id == ClassMember.class_id)
        .outerjoin(ProcessInstance, ProcessInstance.id == ClassMember.declaration_id)
        .where(
            TrainingClass.organisation_id == org_id,
            TrainingClass.report_mode == "declare",
            TrainingClass.status == CLOSED,
            ClassMember.result == "pass",
        )
    )
    if class_id:
        stmt = stmt.where(TrainingClass.id == class_id)
    if year:
        stmt = stmt.where(TrainingClass.year == year)
    if ce_year:
        stmt = stmt.where(ProcessInstance.year == ce_year)
    if state == "undeclared":
        stmt = stmt.where(or_(ClassMember.declaration_id.is_(None), ProcessInstance.status == WITHDRAWN))
    elif state in ("reviewing", "returned"):
        stmt = stmt.where(ProcessInstance.status == RUNNING)
    elif state == "approved":
        stmt = stmt.where(ProcessInstance.status == COMPLETED)
    elif state == "rejected":
        stmt = stmt.where(ProcessInstance.status == REJECTED)
    found = db.session.execute(stmt.order_by(TrainingClass.id.desc(), ClassMember.id).limit(limit)).all()

    class _Row:
        def __init__(self, m: ClassMember) -> None:
            self.id, self.instance_id = m.id, m.declaration_id

    states_ = review.states([_Row(m) for m, _c, _i in found])
    rows = [GradeRow(m, c, i, "undeclared" if states_[m.id] == review.DRAFT else states_[m.id]) for m, c, i in found]
    return [r for r in rows if not state or r.state == state]


def declare_classes(org_id: int) -> list[TrainingClass]:
    return list(
        db.session.scalars(
            select(TrainingClass)
            .where(
                TrainingClass.organisation_id == org_id,
                TrainingClass.report_mode == "declare",
                TrainingClass.status == CLOSED,
            )
            .order_by(TrainingClass.year.desc(), TrainingClass.id.desc())
        )
    )
