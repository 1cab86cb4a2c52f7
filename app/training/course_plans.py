"""Guangdong professional-course plans (专业课计划申报, 004 §1.3.1) and their review (``course_plan_approval``).

A unit (or an institution) plans one professional course of its catalogue: dates, days and hours (at most
:data:`HOURS_PER_DAY` 学时 a day, a 学时 being 45 minutes), sessions (拟办期数), content and audience, and the
classes it intends to open, each with a head teacher, teachers and subjects chosen among the enabled ones of its
catalogue. 送审 sends it to the industry department (行业主管部门) of the unit (:func:`industry_department`);
it is locked until returned. Approved plans are listed with their classes, attachments and review history
(专业课计划查询, 004 §1.9.1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, OrgStatus
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.i18n import sentence
from app.core.sorting import Sort, order_clauses, parse_sort
from app.extensions import db
from app.training import queries, reviews
from app.training.access import current_org, owned
from app.training.models import (
    HOURS_PER_DAY,
    CoursePlan,
    CoursePlanClass,
    Teacher,
    TrainingCourse,
    TrainingSubject,
)
from app.workflow import attachments
from app.workflow.models import COMPLETED, ProcessInstance

KEY = "course_plan_approval"
_INVALID = "提交的内容有误，请按提示修改"
TOO_MANY_HOURS = sentence("每天最多%(per_day)s学时（1学时为45分钟）：%(days)s天最多%(most)s学时")
TEACHER_DISABLED = sentence("师资%(name)s已停用，不能选择")
SUBJECT_DISABLED = sentence("专业科目%(name)s已停用，不能选择")
TOO_MANY_CLASSES = sentence("培训班数不能超过拟办期数（%(sessions)s期）")
CLASS_DAYS = sentence("培训班天数不能超过计划的培训天数（%(days)s天）")


# --------------------------------------------------------------------------- who reviews


def industry_department(unit: Organisation) -> Organisation | None:
    """The industry department (行业主管部门) a unit's plans go to: the supervisory department above it; where it
    has none, the active supervisory department of the unit's industry in the unit's region, the nearest
    region first (``广东省-广州市-天河区``, then ``广东省-广州市``, then ``广东省``). None when neither exists:
    the HR bureau above the unit reviews instead (the diagram's gateway)."""
    above = db.session.scalars(select(Organisation).where(
        Organisation.id.in_(unit.ancestor_ids()), Organisation.kind == OrgKind.SUPERVISORY_DEPARTMENT)).all()
    if above:
        ids = unit.ancestor_ids()
        return max(above, key=lambda o: ids.index(o.id))  # the nearest one
    if not unit.industry or not unit.region:
        return None
    parts = unit.region.split("-")
    regions = ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]
    candidates = db.session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.SUPERVISORY_DEPARTMENT, Organisation.industry == unit.industry,
        Organisation.region.in_(regions), Organisation.status == OrgStatus.ACTIVE)
        .order_by(Organisation.id)).all()
    for region in regions:
        for org in candidates:
            if org.region == region:
                return org
    return None


# --------------------------------------------------------------------------- checks


def _check_plan(plan: CoursePlan, values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    course = db.session.get(TrainingCourse, values["course_id"])
    if course is None or course.organisation_id != plan.organisation_id:
        errors["course_id"] = "请选择本单位课程库中的课程"
    elif course.subject_type != "professional":
        errors["course_id"] = "专业课计划只能选择专业科目的课程"
    days, hours = values["days"], values["hours"]
    if hours > days * HOURS_PER_DAY:
        errors["hours"] = TOO_MANY_HOURS % {"per_day": HOURS_PER_DAY, "days": days, "most": days * HOURS_PER_DAY}
    start, end = values["start_date"], values["end_date"]
    if end < start:
        errors["end_date"] = "计划完成时间不能早于计划开始时间"
    elif days > (end - start).days + 1:
        errors["days"] = "培训天数超过计划开始至完成的天数"
    return errors


def _check_class(plan: CoursePlan, values: dict[str, Any], before: CoursePlanClass | None
                 ) -> tuple[dict[str, str], dict[str, Any]]:
    """The rules of one planned class against the plan and the catalogue: the errors, else its teachers and
    subjects (rows). A disabled teacher or subject already on the class (``before``) may stay, none may be
    newly chosen."""
    errors: dict[str, str] = {}
    org_id = plan.organisation_id
    head_id = values["head_teacher_id"]
    teacher_ids = list(dict.fromkeys(values.get("teacher_ids") or []))
    subject_ids = list(dict.fromkeys(values.get("subject_ids") or []))
    teachers = {t.id: t for t in db.session.scalars(select(Teacher).where(
        Teacher.id.in_({head_id, *teacher_ids}), Teacher.organisation_id == org_id))}
    had_teachers = {t.id for t in before.teachers} | {before.head_teacher_id} if before is not None else set()
    head = teachers.get(head_id)
    if head is None:
        errors["head_teacher_id"] = "请从本单位师资库中选择班主任"
    elif not head.enabled and head.id not in had_teachers:
        errors["head_teacher_id"] = TEACHER_DISABLED % {"name": head.name}
    if not teacher_ids:
        errors["teacher_ids"] = "请选入授课教师"
    for tid in teacher_ids:
        teacher = teachers.get(tid)
        if teacher is None:
            errors["teacher_ids"] = "所选教师不在本单位师资库中"
        elif not teacher.enabled and tid not in had_teachers:
            errors["teacher_ids"] = TEACHER_DISABLED % {"name": teacher.name}
    subjects = {s.id: s for s in db.session.scalars(select(TrainingSubject).where(
        TrainingSubject.id.in_(subject_ids), TrainingSubject.organisation_id == org_id))} if subject_ids else {}
    had_subjects = {s.id for s in before.subjects} if before is not None else set()
    for sid in subject_ids:
        subject = subjects.get(sid)
        if subject is None:
            errors["subject_ids"] = "所选科目不在本单位的专业科目中"
        elif not subject.enabled and sid not in had_subjects:
            errors["subject_ids"] = SUBJECT_DISABLED % {"name": subject.name}
    if values["days"] > plan.days:
        errors["days"] = CLASS_DAYS % {"days": plan.days}
    if not plan.start_date <= values["opening_date"] <= plan.end_date:
        errors["opening_date"] = "计划开班日期应在计划开始与完成时间之内"
    elif values["opening_date"] + timedelta(days=values["days"] - 1) > plan.end_date:
        errors["days"] = "培训班结束日期（开班日期加培训天数）不能晚于计划完成时间"
    if errors:
        return errors, {}
    return {}, {"teachers": [teachers[t] for t in teacher_ids], "subjects": [subjects[s] for s in subject_ids]}


def _fill_class(row: CoursePlanClass, values: dict[str, Any], chosen: dict[str, Any]) -> None:
    row.name, row.head_teacher_id = values["name"], values["head_teacher_id"]
    row.opening_date, row.participants, row.days = values["opening_date"], values["participants"], values["days"]
    row.teachers, row.subjects = chosen["teachers"], chosen["subjects"]


def _check_kept_classes(plan: CoursePlan) -> dict[str, str]:
    """The plan's own classes against its (changed) sessions, days and dates."""
    errors: dict[str, str] = {}
    if len(plan.classes) > plan.sessions:
        errors["sessions"] = TOO_MANY_CLASSES % {"sessions": plan.sessions}
    if any(c.days > plan.days for c in plan.classes):
        errors["days"] = "已有培训班的天数超过计划的培训天数，请先修改或删除该培训班"
    if any(not plan.start_date <= c.opening_date <= plan.end_date for c in plan.classes):
        errors["start_date"] = "已有培训班的开班日期不在计划时间之内，请先修改或删除该培训班"
    elif any(c.opening_date + timedelta(days=c.days - 1) > plan.end_date for c in plan.classes):
        errors["end_date"] = "已有培训班的结束日期晚于计划完成时间，请先修改或删除该培训班"
    return errors


def _apply(plan: CoursePlan, values: dict[str, Any], *, actor: Actor) -> None:
    """Apply ``values`` (checked by CoursePlanArgs) after the rules that need the database; ``classes``, when
    given, replace the plan's classes (a class named by its ``id`` keeps its row)."""
    values = {**values, "year": values.get("year") or values["start_date"].year}
    errors = _check_plan(plan, values)
    if errors:
        raise ValidationFailed(_INVALID, errors)
    plan.attachment_ids = reviews.kept_attachments(plan, values.get("attachment_ids") or [], actor=actor)
    for name in ("year", "course_id", "name", "days", "hours", "sessions", "start_date", "end_date", "content",
                 "audience", "notes"):
        setattr(plan, name, values.get(name))
    if "classes" not in values:
        errors = _check_kept_classes(plan)
        if errors:
            raise ValidationFailed(_INVALID, errors)
        return
    if len(values["classes"]) > plan.sessions:
        raise ValidationFailed(_INVALID, {"classes": TOO_MANY_CLASSES % {"sessions": plan.sessions}})
    existing = {c.id: c for c in plan.classes}
    rows: list[CoursePlanClass] = []
    for number, class_values in enumerate(values["classes"], start=1):
        before = existing.get(class_values.get("id") or 0)
        class_errors, chosen = _check_class(plan, class_values, before)
        if class_errors:
            raise ValidationFailed(_INVALID, {"classes": f"第{number}个培训班：" + "；".join(class_errors.values())})
        row = before or CoursePlanClass()
        _fill_class(row, class_values, chosen)
        rows.append(row)
    plan.classes = rows


def _editable(plan: CoursePlan) -> None:
    reviews.check_editable(plan, "送审后不能再修改")


# --------------------------------------------------------------------------- the write API


def create(actor: Actor, org_id: int | None, values: dict[str, Any]) -> CoursePlan:
    org = current_org(actor, org_id)
    plan = CoursePlan(organisation_id=org.id, created_by_id=actor.id, attachment_ids=[], classes=[])
    _apply(plan, values, actor=actor)
    db.session.add(plan)
    db.session.flush()
    return plan


def get(actor: Actor, plan_id: int) -> CoursePlan:
    return owned(actor, CoursePlan, plan_id)


def update(actor: Actor, plan_id: int, values: dict[str, Any]) -> CoursePlan:
    plan = get(actor, plan_id)
    _editable(plan)
    _apply(plan, values, actor=actor)
    db.session.flush()
    return plan


def delete(actor: Actor, plan_id: int) -> None:
    plan = get(actor, plan_id)
    if queries.state_of(plan) != queries.DRAFT or plan.submitted_at is not None:
        raise InvalidState("只有未送审的草稿可以删除")
    db.session.delete(plan)
    db.session.flush()


def add_class(actor: Actor, plan_id: int, values: dict[str, Any]) -> CoursePlanClass:
    """新增培训班 (checked by CoursePlanClassArgs)."""
    plan = get(actor, plan_id)
    _editable(plan)
    if len(plan.classes) >= plan.sessions:
        raise ValidationFailed(_INVALID, {"name": TOO_MANY_CLASSES % {"sessions": plan.sessions}})
    errors, chosen = _check_class(plan, values, None)
    if errors:
        raise ValidationFailed(_INVALID, errors)
    row = CoursePlanClass()
    _fill_class(row, values, chosen)
    plan.classes.append(row)
    db.session.flush()
    return row


def get_class(actor: Actor, plan_id: int, class_id: int) -> CoursePlanClass:
    row = next((c for c in get(actor, plan_id).classes if c.id == class_id), None)
    if row is None:
        raise NotFound("记录不存在或您无权查看")
    return row


def update_class(actor: Actor, plan_id: int, class_id: int, values: dict[str, Any]) -> CoursePlanClass:
    """Change a planned class (checked by CoursePlanClassArgs); its disabled teachers and subjects may stay."""
    row = get_class(actor, plan_id, class_id)
    _editable(row.plan)
    errors, chosen = _check_class(row.plan, values, row)
    if errors:
        raise ValidationFailed(_INVALID, errors)
    _fill_class(row, values, chosen)
    db.session.flush()
    return row


def delete_class(actor: Actor, plan_id: int, class_id: int) -> None:
    row = get_class(actor, plan_id, class_id)
    _editable(row.plan)
    row.plan.classes.remove(row)
    db.session.flush()


def snapshot(plan: CoursePlan) -> dict[str, Any]:
    """The plan as its case holds it (the start form's fields)."""
    lines = [f"{c.name}（班主任：{c.head_teacher.name}，{c.opening_date.isoformat()}开班，{c.participants}人，"
             f"{c.days}天；授课教师：{'、'.join(t.name for t in c.teachers)}"
             + (f"；科目：{'、'.join(s.name for s in c.subjects)}" if c.subjects else "") + "）"
             for c in plan.classes]
    return {"plan_id": plan.id, "year": plan.year, "name": plan.name, "course_name": plan.course.name,
            "days": plan.days, "hours": float(plan.hours), "sessions": plan.sessions,
            "start_date": plan.start_date.isoformat(), "end_date": plan.end_date.isoformat(),
            "content": plan.content, "audience": plan.audience, "notes": plan.notes or "",
            "classes": "\n".join(lines), "attachments": list(plan.attachment_ids or [])}


def submit(actor: Actor, plan_id: int) -> ProcessInstance:
    """送审: starts ``course_plan_approval``; the plan is locked from then on (until returned)."""
    plan = get(actor, plan_id)
    if not plan.classes:
        raise ValidationFailed(_INVALID, {"classes": "请至少新增一个培训班"})
    return reviews.submit(KEY, plan, snapshot(plan), actor=actor)


def withdraw(actor: Actor, plan_id: int) -> ProcessInstance:
    return reviews.withdraw(get(actor, plan_id), actor=actor)


def resubmit(actor: Actor, plan_id: int) -> ProcessInstance:
    plan = get(actor, plan_id)
    if not plan.classes:
        raise ValidationFailed(_INVALID, {"classes": "请至少新增一个培训班"})
    return reviews.resubmit(plan, snapshot(plan), actor=actor)


def give_up(actor: Actor, plan_id: int, comment: str = "") -> ProcessInstance:
    return reviews.give_up(get(actor, plan_id), comment, actor=actor)


def for_start(data: dict[str, Any], actor: Actor) -> CoursePlan:
    """The plan a start form names, if the actor may send it now (the process's ``prepare_start``)."""
    return reviews.for_start(CoursePlan, data, "plan_id", "专业课计划不存在或您无权送审", actor=actor)


# --------------------------------------------------------------------------- reads


#: 专业课计划申报 list: sortable columns (``?sort=``); the default is the latest start first.
SORTS = {"name": CoursePlan.name, "course": TrainingCourse.name, "start": CoursePlan.start_date,
         "end": CoursePlan.end_date, "sessions": CoursePlan.sessions}
DEFAULT_SORT = "-start"


def plans(org_id: int, *, year: int | None = None, sort: Sort | None = None) -> list[CoursePlan]:
    sort = sort or parse_sort(None, SORTS, DEFAULT_SORT)
    stmt = select(CoursePlan).where(CoursePlan.organisation_id == org_id)
    if sort.column == "course":
        stmt = stmt.join(TrainingCourse, TrainingCourse.id == CoursePlan.course_id)
    if year:
        stmt = stmt.where(CoursePlan.year == year)
    return list(db.session.scalars(stmt.order_by(*order_clauses(sort, SORTS, [CoursePlan.id]))))


def approved(org_id: int, *, year: int | None = None, course_id: int | None = None,
             q: str | None = None) -> list[CoursePlan]:
    """专业课计划查询: the organisation's approved plans, newest first."""
    stmt = (select(CoursePlan).join(ProcessInstance, ProcessInstance.id == CoursePlan.instance_id)
            .where(CoursePlan.organisation_id == org_id, ProcessInstance.status == COMPLETED))
    if year:
        stmt = stmt.where(CoursePlan.year == year)
    if course_id:
        stmt = stmt.where(CoursePlan.course_id == course_id)
    if q:
        stmt = stmt.where(CoursePlan.name.contains(q, autoescape=True))
    return list(db.session.scalars(stmt.order_by(CoursePlan.start_date.desc(), CoursePlan.id.desc())))


def details(rows: list[CoursePlan]) -> dict[int, tuple[list[Any], list[Any]]]:
    """For each plan of a list: its attachments (as its case holds them) and its review history; three
    statements for the whole list."""
    from app.workflow import services as workflow

    ids = [r.instance_id for r in rows if r.instance_id is not None]
    events = workflow.histories(ids)
    instances = {i.id: i for i in db.session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(ids)))
                 } if ids else {}
    return {r.id: (attachments.attachments_for(r.attachment_ids, instances[r.instance_id])
                   if r.instance_id in instances else [], events.get(r.instance_id, [])) for r in rows}
