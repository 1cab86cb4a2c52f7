"""The training class declaration (培训班申报, ``training_class_approval``) and the grade declaration (学员成绩申报,
``grade_declaration``) as the workflow sees them.

The applicant's organisation is the institution (the ``unit`` relation of the lanes), so the supervisory
(industry) department above it reviews, or the local HR bureau where it has none, as for training plans.
Reviewers hold 培训管理. On approval a class declared 同步上报 has its results recorded by the service task
``record_class_hours`` (in the same transaction as the decision); a 暂不上报 class reports them later.

A grade declaration is one case per student: the institution declares, the student's employer unit reviews, the
HR bureau approves last, then ``record_grade_hours`` writes the hours (source ``grade``). Its reviewers hold
学时审核 (``credit_review``), so units find these in the inbox beside credit-hour declarations (学时学分审批)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.classes import services
from app.classes.models import CANCELLED, CLOSED, ClassMember, TrainingClass
from app.core.models import utcnow
from app.credits import workflow_hooks as credit_hooks
from app.credits.workflow_hooks import INBOX_GROUP as CREDIT_INBOX_GROUP
from app.credits.workflow_hooks import PERMISSION as CREDIT_REVIEW
from app.extensions import db
from app.people.models import Person
from app.training.access import PERMISSION, can_use
from app.training.models import CoursePlan
from app.workflow import attachments
from app.workflow.registry import OperationContext, ProcessHooks, StartContext, register_operation, register_process


def _start(row: TrainingClass) -> StartContext:
    from app.accounts.models import Organisation

    unit = db.session.get(Organisation, row.organisation_id)
    return StartContext(
        subject_person=None,
        subject_unit=unit,
        started_for_org=unit,
        applicant_name=unit.name,
        year=row.year,
        title=row.name,
    )


def _on_data(instance: Any, data: dict[str, Any], writes: Any) -> None:
    if writes is None:  # a resubmission: the class is already the case's
        return
    row = db.session.get(TrainingClass, data.get("class_id"))
    if row is None:
        return
    row.instance_id, row.submitted_at = instance.id, utcnow()
    attachments.link(data.get("attachments") or [], instance, actor=_starter(instance))


def _starter(instance: Any) -> Actor:
    from app.accounts.models import User

    return Actor.of(db.session.get(User, instance.started_by_id))


def record_class_hours(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Service task ``record_class_hours`` (同步上报): the approved class's participants who passed get its
    hours; the class is closed (the training is over when results go with the declaration)."""
    from sqlalchemy import select

    row = db.session.scalar(
        select(TrainingClass)
        .where(TrainingClass.id == data.get("class_id"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        return {"recorded": 0}
    hr = (ctx.instance.lane_orgs or {}).get("hr_bureau") or {}
    written = services.record_hours(row, recognised_by_org_id=hr.get("id"))
    now = utcnow()
    row.status, row.closed_at, row.reported_at = CLOSED, row.closed_at or now, now
    db.session.flush()
    return {"recorded": written}


def _grade_start(data: dict[str, Any], actor: Actor) -> StartContext:
    from app.accounts.models import Organisation

    row, m = services.grade_for_start(data, actor)
    person = m.person
    return StartContext(
        subject_person=person,
        subject_unit=person.unit,
        started_for_org=db.session.get(Organisation, row.organisation_id),
        applicant_name=person.name,
        applicant_id_number=person.id_number,
        year=int(data["ce_year"]),
        title=row.name,
        data={"applicant_name": person.name, "person_id": person.id},
    )


def _grade_on_data(instance: Any, data: dict[str, Any], writes: Any) -> None:
    if writes is None:
        return
    m = db.session.get(ClassMember, data.get("member_id"))
    if m is not None:
        m.declaration_id = instance.id


def record_grade_hours(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Service task ``record_grade_hours``: the approved student gets the class's hours in the continuing-education
    year declared, once (the enrolment is the record's source id)."""
    from sqlalchemy import select

    m = db.session.get(ClassMember, data.get("member_id"))
    if m is None:
        return {"recorded": 0}
    row = db.session.scalar(
        select(TrainingClass)
        .where(TrainingClass.id == m.class_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    hr = (ctx.instance.lane_orgs or {}).get("hr_bureau") or {}
    written = services.record_hours(
        row,
        recognised_by_org_id=hr.get("id"),
        member_ids=[m.id],
        source=services.GRADE_SOURCE,
        year=int(data["ce_year"]),
    )
    return {"recorded": written}


def set_up_plan_classes(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Service task ``set_up_plan_classes`` of ``course_plan_approval``: on approval every class of the plan
    becomes a training class of the unit, 未开班, in the same transaction as the decision (培训班设置)."""
    plan = db.session.get(CoursePlan, data.get("plan_id"))
    # the plan the start form named (checked then); it is tied to its case (on_data) only after the first run,
    # which approves it when no one reviews
    if plan is None or plan.organisation_id != ctx.instance.subject_org_id:
        return {"set_up": 0}
    return {"set_up": len(services.set_up_plan(plan, ctx.instance.id))}


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    return {"title": data.get("name"), "year": data.get("year")}


HOOKS = ProcessHooks(
    key=services.KEY,
    permission=PERMISSION,
    prepare_start=lambda data, actor: _start(services.for_start(data, actor)),
    can_start=can_use,
    summarise=_summary,
    on_data=_on_data,
    start_template="classes/start.html",
    start_denied="只有培训机构（或自主培训单位）的培训管理员可以申报培训班",
    started_message="培训班申报已提交，等待审核",
)


GRADE_HOOKS = ProcessHooks(
    key=services.GRADE_KEY,
    permission=CREDIT_REVIEW,
    prepare_start=_grade_start,
    can_start=can_use,
    summarise=lambda data: {"title": data.get("class_name"), "year": data.get("ce_year")},
    on_data=_grade_on_data,
    start_template="classes/start.html",
    start_denied="只有培训机构的培训管理员可以申报学员成绩",
    started_message="学员成绩已申报，等待用人单位审核",
    inbox_group=CREDIT_INBOX_GROUP,  # reviewed beside the credit-hour declarations (Henan 学时学分审批)
)


def is_student(institution: Organisation, person: Person) -> bool:
    """Enrolled in a class of the institution that was not cancelled: whom it may declare hours for."""
    return db.session.scalar(
        select(ClassMember.id).join(TrainingClass, TrainingClass.id == ClassMember.class_id)
        .where(ClassMember.person_id == person.id, TrainingClass.organisation_id == institution.id,
               TrainingClass.status != CANCELLED).limit(1)) is not None


def register() -> None:
    credit_hooks.students_checked_by(is_student)
    register_operation("record_class_hours", record_class_hours)
    register_operation("record_grade_hours", record_grade_hours)
    register_operation("set_up_plan_classes", set_up_plan_classes)
    register_process(HOOKS)
    register_process(GRADE_HOOKS)
