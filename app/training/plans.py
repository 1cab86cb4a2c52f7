"""Annual training plans (年度培训计划 / 培训计划申报) and their review (``training_plan_approval``).

A plan is edited as a draft (and again after a return), then submitted; the subject type decides which
subjects and courses it may hold, and only enabled subjects and teachers can be chosen (one already on the
plan may stay). The reviewer reads the plan's snapshot in the case's data: its courses, hours and attachments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.core.errors import InvalidState, ValidationFailed
from app.core.i18n import sentence
from app.extensions import db
from app.training import queries, reviews
from app.training.access import current_org, owned
from app.training.models import (
    SUBJECT_TYPES,
    Teacher,
    TrainingCourse,
    TrainingPlan,
    TrainingPlanCourse,
    TrainingSubject,
)
from app.workflow.models import ProcessInstance

KEY = "training_plan_approval"
_INVALID = "提交的内容有误，请按提示修改"
NOT_OF_TYPE = sentence("课程《%(course)s》不是%(type)s")
TEACHER_DISABLED = sentence("师资%(name)s已停用，不能选择")


def _check(plan: TrainingPlan, values: dict[str, Any], *, actor: Actor) -> None:
    """Apply ``values`` (checked by PlanArgs) to ``plan`` after the rules that need the database."""
    org_id = plan.organisation_id
    errors: dict[str, str] = {}
    subject_id = values.get("subject_id")
    if values["subject_type"] == "professional":
        subject = db.session.get(TrainingSubject, subject_id) if subject_id else None
        if subject is None or subject.organisation_id != org_id:
            errors["subject_id"] = "请选择本机构的专业科目"
        elif not subject.enabled and subject.id != plan.subject_id:
            errors["subject_id"] = "该专业科目已停用，不能选择"
    elif subject_id:
        errors["subject_id"] = "公需科目计划不选择专业科目"
    chosen = values.get("courses") or []
    course_ids = [c["course_id"] for c in chosen]
    if len(set(course_ids)) != len(course_ids):
        errors["courses"] = "同一课程只能列入一次"
    found = {c.id: c for c in db.session.scalars(select(TrainingCourse).where(
        TrainingCourse.id.in_(course_ids), TrainingCourse.organisation_id == org_id))} if course_ids else {}
    teacher_ids = {c["teacher_id"] for c in chosen if c.get("teacher_id")}
    teachers = {t.id: t for t in db.session.scalars(select(Teacher).where(
        Teacher.id.in_(teacher_ids), Teacher.organisation_id == org_id))} if teacher_ids else {}
    before = {(pc.course_id, pc.teacher_id) for pc in plan.courses}
    for c in chosen:
        course = found.get(c["course_id"])
        if course is None:
            errors["courses"] = "所选课程不在本机构的课程库中"
        elif course.subject_type != values["subject_type"]:
            errors["courses"] = NOT_OF_TYPE % {"course": course.name, "type": SUBJECT_TYPES[values["subject_type"]]}
        tid = c.get("teacher_id")
        if tid:
            teacher = teachers.get(tid)
            if teacher is None:
                errors["courses"] = "所选师资不在本机构的师资库中"
            elif not teacher.enabled and (c["course_id"], tid) not in before:
                errors["courses"] = TEACHER_DISABLED % {"name": teacher.name}
    if errors:
        raise ValidationFailed(_INVALID, errors)
    plan.attachment_ids = reviews.kept_attachments(plan, values.get("attachment_ids") or [], actor=actor)
    plan.year, plan.name, plan.subject_type = values["year"], values["name"], values["subject_type"]
    plan.subject_id = subject_id if values["subject_type"] == "professional" else None
    plan.notes = values.get("notes")
    # reconciled row by row: a course kept on the plan keeps its row (the unique pair is never doubled)
    existing = {pc.course_id: pc for pc in plan.courses}
    rows = []
    for c in chosen:
        row = existing.get(c["course_id"]) or TrainingPlanCourse(course_id=c["course_id"])
        row.teacher_id = c.get("teacher_id")
        rows.append(row)
    plan.courses = rows


def create(actor: Actor, org_id: int | None, values: dict[str, Any]) -> TrainingPlan:
    org = current_org(actor, org_id)
    plan = TrainingPlan(organisation_id=org.id, created_by_id=actor.id, attachment_ids=[], courses=[])
    _check(plan, values, actor=actor)
    db.session.add(plan)
    db.session.flush()
    return plan


def get(actor: Actor, plan_id: int) -> TrainingPlan:
    return owned(actor, TrainingPlan, plan_id)


def update(actor: Actor, plan_id: int, values: dict[str, Any]) -> TrainingPlan:
    plan = get(actor, plan_id)
    reviews.check_editable(plan, "计划已提交审核，不能修改")
    _check(plan, values, actor=actor)
    db.session.flush()
    return plan


def delete(actor: Actor, plan_id: int) -> None:
    plan = get(actor, plan_id)
    if queries.state_of(plan) != queries.DRAFT:
        raise InvalidState("只有草稿可以删除")
    db.session.delete(plan)
    db.session.flush()


def snapshot(plan: TrainingPlan) -> dict[str, Any]:
    """The plan as its case holds it (the start form's fields)."""
    lines = [f"{pc.course.name}（{SUBJECT_TYPES[pc.course.subject_type]}，{pc.course.hours:g}学时"
             + (f"，师资：{pc.teacher.name}" if pc.teacher else "") + "）" for pc in plan.courses]
    return {"plan_id": plan.id, "year": plan.year, "name": plan.name, "subject_type": plan.subject_type,
            "subject_name": plan.subject.name if plan.subject else "", "courses": "\n".join(lines),
            "total_hours": sum(float(pc.course.hours) for pc in plan.courses), "notes": plan.notes or "",
            "attachments": list(plan.attachment_ids or [])}


def submit(actor: Actor, plan_id: int) -> ProcessInstance:
    plan = get(actor, plan_id)
    if not plan.courses:
        raise ValidationFailed(_INVALID, {"courses": "请至少列入一门课程"})
    return reviews.submit(KEY, plan, snapshot(plan), actor=actor)


def withdraw(actor: Actor, plan_id: int) -> ProcessInstance:
    return reviews.withdraw(get(actor, plan_id), actor=actor)


def resubmit(actor: Actor, plan_id: int) -> ProcessInstance:
    plan = get(actor, plan_id)
    return reviews.resubmit(plan, snapshot(plan), actor=actor)


def give_up(actor: Actor, plan_id: int, comment: str = "") -> ProcessInstance:
    return reviews.give_up(get(actor, plan_id), comment, actor=actor)


def for_start(data: dict[str, Any], actor: Actor) -> TrainingPlan:
    """The plan a start form names, if the actor may submit it now (the process's ``prepare_start``)."""
    return reviews.for_start(TrainingPlan, data, "plan_id", "培训计划不存在或您无权提交", actor=actor)

