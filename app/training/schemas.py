"""marshmallow schemas of the training workspace: ``XArgs`` check input (the API's JSON and the pages' forms
alike), ``XSchema`` dump the answers and describe them in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate
from marshmallow.experimental.context import Context

from app.cases.schemas import ApiTime
from app.core.validators import id_number_error, mask_id_number, mask_mobile, mobile_error, normalise_id_number
from app.training.models import GENDERS, SITE_KINDS, SUBJECT_TYPES


class _Blanks(Schema):
    """Empty strings (an untouched form field) count as absent for the optional fields."""

    @pre_load
    def _blanks(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items()
                if not (v == "" and k in self.fields and not self.fields[k].required)}


def _text(length: int, *, required: bool = False) -> fields.String:
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=length))
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=length))


def _check(rule: Any) -> Any:
    def run(value: str) -> None:
        message = rule(value)
        if message:
            raise ValidationError(message)
    return run


class OrgArgs(Schema):
    org_id = fields.Integer(load_default=None, metadata={"description": "the workspace (default: the first one)"})


# --------------------------------------------------------------------------- input


class SubjectArgs(_Blanks):
    name = _text(100, required=True)
    enabled = fields.Boolean(load_default=True)


class CourseArgs(_Blanks):
    name = _text(200, required=True)
    subject_type = fields.String(required=True, validate=validate.OneOf(list(SUBJECT_TYPES)),
                                 metadata={"description": "public 公需科目 / professional 专业科目"})
    hours = fields.Float(required=True, validate=validate.Range(0.5, 500), metadata={"description": "学时"})
    content = _text(2000)


class TeacherArgs(_Blanks):
    name = _text(100, required=True)
    id_number = fields.String(required=True, validate=_check(id_number_error))
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GENDERS))
    mobile = fields.String(load_default=None, allow_none=True, validate=_check(mobile_error))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=120))
    title = _text(64)
    course_ids = fields.List(fields.Integer(), load_default=list,
                             metadata={"description": "catalogue courses the teacher can teach"})
    profile = _text(2000)
    enabled = fields.Boolean(load_default=True)

    @post_load
    def _normalise(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        if data.get("id_number"):
            data["id_number"] = normalise_id_number(data["id_number"])
        return data


class SiteArgs(_Blanks):
    name = _text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(list(SITE_KINDS)),
                         metadata={"description": "site 培训场地 / platform 网络平台"})
    address = _text(300)
    contact = _text(100)
    phone = _text(20)


class PlanCourseArgs(Schema):
    course_id = fields.Integer(required=True)
    teacher_id = fields.Integer(load_default=None, allow_none=True)


class PlanArgs(_Blanks):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    name = _text(200, required=True)
    subject_type = fields.String(required=True, validate=validate.OneOf(list(SUBJECT_TYPES)))
    subject_id = fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "an enabled professional subject (专业科目 plans)"})
    notes = _text(2000)
    courses = fields.List(fields.Nested(PlanCourseArgs), load_default=list)
    attachment_ids = fields.List(fields.Integer(), load_default=list,
                                 metadata={"description": "ids of the actor's uploads (POST /attachments)"})


class CoursePlanClassArgs(_Blanks):
    """A class planned under a professional-course plan (培训班)."""

    id = fields.Integer(load_default=None, allow_none=True,
                        metadata={"description": "an existing class of the plan (kept); omitted: a new class"})
    name = _text(200, required=True)
    head_teacher_id = fields.Integer(required=True, metadata={"description": "班主任: an enabled teacher"})
    opening_date = fields.Date(required=True, metadata={"description": "计划开班日期, within the plan's dates"})
    participants = fields.Integer(required=True, validate=validate.Range(1, 100000),
                                  metadata={"description": "计划人数"})
    days = fields.Integer(required=True, validate=validate.Range(1, 366),
                          metadata={"description": "培训天数, at most the plan's"})
    teacher_ids = fields.List(fields.Integer(), load_default=list,
                              metadata={"description": "授课教师: enabled teachers of the catalogue (at least one)"})
    subject_ids = fields.List(fields.Integer(), load_default=list,
                              metadata={"description": "培训科目: enabled professional subjects"})


class CoursePlanArgs(_Blanks):
    course_id = fields.Integer(required=True, metadata={"description": "a professional course of the catalogue"})
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(2000, 2100),
                          metadata={"description": "default: the year of start_date"})
    name = _text(200, required=True)
    days = fields.Integer(required=True, validate=validate.Range(1, 366), metadata={"description": "培训天数"})
    hours = fields.Float(required=True, validate=validate.Range(0.5, 2196), metadata={
        "description": "继续教育学时: at most 6 a day (a 学时 is 45 minutes)"})
    sessions = fields.Integer(required=True, validate=validate.Range(1, 1000), metadata={"description": "拟办期数"})
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    content = _text(500, required=True)
    audience = _text(500, required=True)
    notes = _text(500)
    attachment_ids = fields.List(fields.Integer(), load_default=list,
                                 metadata={"description": "ids of the actor's uploads (POST /training/attachments)"})
    classes = fields.List(fields.Nested(CoursePlanClassArgs), metadata={
        "description": "the planned classes (at most `sessions`); given, they replace the plan's classes"})


class ReportArgs(_Blanks):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    name = _text(200, required=True)
    notes = _text(2000)
    attachment_ids = fields.List(fields.Integer(), load_default=list)


def _count() -> fields.Integer:
    return fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 100000))


class ProfileArgs(_Blanks):
    facilities = _text(4000)
    classrooms = _count()
    seats = _count()
    managers = _count()
    full_time_teachers = _count()
    part_time_teachers = _count()
    staffing = _text(4000)


# --------------------------------------------------------------------------- output


class SubjectSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    name = fields.String(required=True)
    enabled = fields.Boolean(required=True)


class CourseSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    name = fields.String(required=True)
    subject_type = fields.String(required=True)
    hours = fields.Float(required=True)
    content = fields.String(allow_none=True)


class TeacherSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    name = fields.String(required=True)
    id_number = fields.Function(lambda t: mask_id_number(t.id_number), metadata={"description": "masked"})
    gender = fields.String(allow_none=True)
    mobile = fields.Function(lambda t: mask_mobile(t.mobile) or None, allow_none=True,
                             metadata={"description": "masked"})
    email = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    course_ids = fields.List(fields.Integer())
    profile = fields.String(allow_none=True)
    enabled = fields.Boolean(required=True)


class SiteSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    address = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class PlanCourseSchema(Schema):
    course_id = fields.Integer(required=True)
    course = fields.String(attribute="course.name", required=True)
    subject_type = fields.String(attribute="course.subject_type")
    hours = fields.Float(attribute="course.hours")
    teacher_id = fields.Integer(allow_none=True)
    teacher = fields.Function(lambda pc: pc.teacher.name if pc.teacher else None, allow_none=True)


def _state(row: Any) -> str:
    return Context[dict[str, Any]].get(default={}).get("states", {}).get(row.id, "draft")


_STATE = fields.Function(_state, required=True, metadata={
    "description": "draft 草稿 / reviewing 审核中 / returned 已退回 / approved 审核通过 / rejected 未通过"})


class PlanSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    name = fields.String(required=True)
    subject_type = fields.String(required=True)
    subject_id = fields.Integer(allow_none=True)
    subject = fields.Function(lambda p: p.subject.name if p.subject else None, allow_none=True)
    notes = fields.String(allow_none=True)
    courses = fields.List(fields.Nested(PlanCourseSchema))
    total_hours = fields.Function(lambda p: sum(float(pc.course.hours) for pc in p.courses))
    attachment_ids = fields.List(fields.Integer())
    instance_id = fields.Integer(allow_none=True, metadata={"description": "GET /instances/{id}: its review"})
    submitted_at = ApiTime(allow_none=True)
    state = _STATE


class ReportSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    name = fields.String(required=True)
    notes = fields.String(allow_none=True)
    attachment_ids = fields.List(fields.Integer())
    instance_id = fields.Integer(allow_none=True)
    submitted_at = ApiTime(allow_none=True)
    state = _STATE


class CoursePlanClassSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    head_teacher_id = fields.Integer(required=True)
    head_teacher = fields.String(attribute="head_teacher.name", required=True)
    opening_date = fields.Date(required=True)
    participants = fields.Integer(required=True)
    days = fields.Integer(required=True)
    teachers = fields.Function(lambda c: [{"id": t.id, "name": t.name, "title": t.title} for t in c.teachers],
                               metadata={"description": "[{id, name, title}]"})
    subjects = fields.Function(lambda c: [{"id": s.id, "name": s.name} for s in c.subjects],
                               metadata={"description": "[{id, name}]"})


class CoursePlanSchema(Schema):
    id = fields.Integer(required=True)
    organisation_id = fields.Integer(required=True)
    year = fields.Integer(required=True)
    course_id = fields.Integer(required=True)
    course = fields.String(attribute="course.name", required=True)
    name = fields.String(required=True)
    days = fields.Integer(required=True)
    hours = fields.Float(required=True)
    sessions = fields.Integer(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    content = fields.String(required=True)
    audience = fields.String(required=True)
    notes = fields.String(allow_none=True)
    classes = fields.List(fields.Nested(CoursePlanClassSchema))
    attachment_ids = fields.List(fields.Integer())
    instance_id = fields.Integer(allow_none=True, metadata={"description": "GET /instances/{id}: its review"})
    submitted_at = ApiTime(allow_none=True)
    state = _STATE


class ProfileSchema(Schema):
    organisation_id = fields.Integer(attribute="org.id", required=True)
    name = fields.String(attribute="org.name", required=True)
    uscc = fields.String(attribute="org.uscc", allow_none=True)
    region = fields.String(attribute="org.region", allow_none=True)
    address = fields.Function(lambda p: p.org.address or (p.registered.address if p.registered else None),
                              allow_none=True)
    contact_person = fields.String(attribute="org.contact_person", allow_none=True)
    contact_phone = fields.String(attribute="org.contact_phone", allow_none=True)
    principal = fields.Function(lambda p: p.registered.principal if p.registered else None, allow_none=True)
    facilities = fields.String(attribute="own.facilities", allow_none=True, metadata={"description": "教学设施"})
    classrooms = fields.Integer(attribute="own.classrooms", allow_none=True)
    seats = fields.Integer(attribute="own.seats", allow_none=True)
    managers = fields.Integer(attribute="own.managers", allow_none=True, metadata={"description": "专职管理人员"})
    full_time_teachers = fields.Integer(attribute="own.full_time_teachers", allow_none=True)
    part_time_teachers = fields.Integer(attribute="own.part_time_teachers", allow_none=True)
    staffing = fields.String(attribute="own.staffing", allow_none=True, metadata={"description": "人员配备说明"})


SCHEMAS: dict[str, type[Schema]] = {
    "TrainingSubjectArgs": SubjectArgs, "TrainingCourseArgs": CourseArgs, "TeacherArgs": TeacherArgs,
    "TrainingSiteArgs": SiteArgs, "TrainingPlanArgs": PlanArgs, "AnnualReportArgs": ReportArgs,
    "TrainingSubject": SubjectSchema, "TrainingCourse": CourseSchema, "Teacher": TeacherSchema,
    "TrainingSite": SiteSchema, "TrainingPlan": PlanSchema, "AnnualReport": ReportSchema,
    "TrainingProfileArgs": ProfileArgs, "TrainingProfile": ProfileSchema,
    # the nested schemas first (apispec would register them again under the same names)
    "CoursePlanClassArgs": CoursePlanClassArgs, "CoursePlanArgs": CoursePlanArgs,
    "CoursePlanClass": CoursePlanClassSchema, "CoursePlan": CoursePlanSchema,
}
