"""The catalogues of a training workspace: courses, professional subjects, teachers, training sites.

Input arrives checked by the schemas of :mod:`app.training.schemas`; these functions apply the rules that need
the database (unique names, a course or a teacher in use) and never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from app.accounts.actor import Actor
from app.core.errors import InvalidState, ValidationFailed
from app.extensions import db
from app.training.access import current_org, owned
from app.training.models import (
    CoursePlan,
    CoursePlanClass,
    Teacher,
    TrainingCourse,
    TrainingPlanCourse,
    TrainingSite,
    TrainingSubject,
    course_plan_class_teacher,
)

_INVALID = "提交的内容有误，请按提示修改"


#: What a duplicate is told, per catalogue.
_DUPLICATE = {"subject": "已有同名专业科目", "course": "已有同名课程", "teacher": "该身份证号码的师资已登记"}


def _unique(model: type, org_id: int, column: str, value: Any, label: str, *, except_id: int | None = None
            ) -> None:
    stmt = select(model.id).where(model.organisation_id == org_id, getattr(model, column) == value)
    if except_id is not None:
        stmt = stmt.where(model.id != except_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ValidationFailed(_INVALID, {column: _DUPLICATE[label]})


def _apply(row: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


# --------------------------------------------------------------------------- lists


def subjects(org_id: int, *, enabled_only: bool = False) -> list[TrainingSubject]:
    stmt = select(TrainingSubject).where(TrainingSubject.organisation_id == org_id)
    if enabled_only:
        stmt = stmt.where(TrainingSubject.enabled.is_(True))
    return list(db.session.scalars(stmt.order_by(TrainingSubject.id)))


def courses(org_id: int, *, subject_type: str | None = None, q: str | None = None) -> list[TrainingCourse]:
    stmt = select(TrainingCourse).where(TrainingCourse.organisation_id == org_id)
    if subject_type:
        stmt = stmt.where(TrainingCourse.subject_type == subject_type)
    if q:
        stmt = stmt.where(TrainingCourse.name.contains(q, autoescape=True))
    return list(db.session.scalars(stmt.order_by(TrainingCourse.id)))


def teachers(org_id: int, *, enabled_only: bool = False, q: str | None = None) -> list[Teacher]:
    stmt = select(Teacher).where(Teacher.organisation_id == org_id)
    if enabled_only:
        stmt = stmt.where(Teacher.enabled.is_(True))
    if q:
        stmt = stmt.where(or_(Teacher.name.contains(q, autoescape=True), Teacher.title.contains(q, autoescape=True)))
    return list(db.session.scalars(stmt.order_by(Teacher.id)))


def sites(org_id: int) -> list[TrainingSite]:
    return list(db.session.scalars(select(TrainingSite).where(TrainingSite.organisation_id == org_id)
                                   .order_by(TrainingSite.id)))


def courses_in_use(org_id: int) -> set[int]:
    """Courses on a training plan or a professional-course plan."""
    return set(db.session.scalars(select(TrainingPlanCourse.course_id).join(TrainingCourse)
                                  .where(TrainingCourse.organisation_id == org_id).distinct())) | set(
        db.session.scalars(select(CoursePlan.course_id).where(CoursePlan.organisation_id == org_id).distinct()))


def teachers_in_use(org_id: int) -> set[int]:
    """Teachers on a training plan, or head teacher or teacher of a class of a professional-course plan."""
    org_teachers = select(Teacher.id).where(Teacher.organisation_id == org_id)
    return set(db.session.scalars(select(TrainingPlanCourse.teacher_id).join(Teacher)
                                  .where(Teacher.organisation_id == org_id).distinct())) | set(
        db.session.scalars(select(CoursePlanClass.head_teacher_id).where(
            CoursePlanClass.head_teacher_id.in_(org_teachers)).distinct())) | set(
        db.session.scalars(select(course_plan_class_teacher.c.teacher_id).where(
            course_plan_class_teacher.c.teacher_id.in_(org_teachers)).distinct()))


# --------------------------------------------------------------------------- subjects (专业科目)


def add_subject(actor: Actor, org_id: int | None, values: dict[str, Any]) -> TrainingSubject:
    org = current_org(actor, org_id)
    _unique(TrainingSubject, org.id, "name", values["name"], "subject")
    subject = TrainingSubject(organisation_id=org.id, name=values["name"], enabled=values.get("enabled", True))
    db.session.add(subject)
    db.session.flush()
    return subject


def update_subject(actor: Actor, subject_id: int, values: dict[str, Any]) -> TrainingSubject:
    subject = owned(actor, TrainingSubject, subject_id)
    if "name" in values:
        _unique(TrainingSubject, subject.organisation_id, "name", values["name"], "subject", except_id=subject.id)
    _apply(subject, values)
    db.session.flush()
    return subject


# --------------------------------------------------------------------------- courses (培训课程)


def add_course(actor: Actor, org_id: int | None, values: dict[str, Any]) -> TrainingCourse:
    org = current_org(actor, org_id)
    _unique(TrainingCourse, org.id, "name", values["name"], "course")
    course = TrainingCourse(organisation_id=org.id, **values)
    db.session.add(course)
    db.session.flush()
    return course


def update_course(actor: Actor, course_id: int, values: dict[str, Any]) -> TrainingCourse:
    course = owned(actor, TrainingCourse, course_id)
    if "name" in values:
        _unique(TrainingCourse, course.organisation_id, "name", values["name"], "course", except_id=course.id)
    if "subject_type" in values and values["subject_type"] != course.subject_type and _course_used(course.id):
        raise InvalidState("课程已被培训计划使用，不能修改科目类型")
    _apply(course, values)
    db.session.flush()
    return course


def _course_used(course_id: int) -> bool:
    return db.session.scalar(select(func.count()).select_from(TrainingPlanCourse)
                             .where(TrainingPlanCourse.course_id == course_id)) > 0 or db.session.scalar(
        select(func.count()).select_from(CoursePlan).where(CoursePlan.course_id == course_id)) > 0


def delete_course(actor: Actor, course_id: int) -> None:
    course = owned(actor, TrainingCourse, course_id)
    if _course_used(course.id):
        raise InvalidState("课程已被培训计划使用，不能删除")
    for teacher in db.session.scalars(select(Teacher).where(Teacher.organisation_id == course.organisation_id)):
        if course.id in (teacher.course_ids or []):
            teacher.course_ids = [i for i in teacher.course_ids if i != course.id]
    db.session.delete(course)
    db.session.flush()


# --------------------------------------------------------------------------- teachers (师资)


def _check_courses(org_id: int, course_ids: list[int]) -> list[int]:
    if not course_ids:
        return []
    known = set(db.session.scalars(select(TrainingCourse.id).where(
        TrainingCourse.organisation_id == org_id, TrainingCourse.id.in_(course_ids))))
    if set(course_ids) - known:
        raise ValidationFailed(_INVALID, {"course_ids": "所选课程不在本机构的课程库中"})
    return list(dict.fromkeys(course_ids))


def add_teacher(actor: Actor, org_id: int | None, values: dict[str, Any]) -> Teacher:
    org = current_org(actor, org_id)
    _unique(Teacher, org.id, "id_number", values["id_number"], "teacher")
    values = {**values, "course_ids": _check_courses(org.id, values.get("course_ids") or [])}
    teacher = Teacher(organisation_id=org.id, **values)
    db.session.add(teacher)
    db.session.flush()
    return teacher


def update_teacher(actor: Actor, teacher_id: int, values: dict[str, Any]) -> Teacher:
    teacher = owned(actor, Teacher, teacher_id)
    if "id_number" in values:
        _unique(Teacher, teacher.organisation_id, "id_number", values["id_number"], "teacher", except_id=teacher.id)
    if "course_ids" in values:
        values = {**values, "course_ids": _check_courses(teacher.organisation_id, values["course_ids"] or [])}
    _apply(teacher, values)
    db.session.flush()
    return teacher


def delete_teacher(actor: Actor, teacher_id: int) -> None:
    teacher = owned(actor, Teacher, teacher_id)
    if db.session.scalar(select(func.count()).select_from(TrainingPlanCourse)
                         .where(TrainingPlanCourse.teacher_id == teacher.id)):
        raise InvalidState("该师资已被培训计划使用，不能删除，可以停用")
    if teacher.id in teachers_in_use(teacher.organisation_id):
        raise InvalidState("该师资已被专业课计划的培训班使用，不能删除，可以停用")
    db.session.delete(teacher)
    db.session.flush()


# --------------------------------------------------------------------------- sites and platforms (培训对接)


def add_site(actor: Actor, org_id: int | None, values: dict[str, Any]) -> TrainingSite:
    org = current_org(actor, org_id)
    site = TrainingSite(organisation_id=org.id, **values)
    db.session.add(site)
    db.session.flush()
    return site


def update_site(actor: Actor, site_id: int, values: dict[str, Any]) -> TrainingSite:
    site = owned(actor, TrainingSite, site_id)
    _apply(site, values)
    db.session.flush()
    return site


def delete_site(actor: Actor, site_id: int) -> None:
    db.session.delete(owned(actor, TrainingSite, site_id))
    db.session.flush()
