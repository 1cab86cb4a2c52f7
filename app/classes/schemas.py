"""marshmallow schemas of training classes: ``XArgs`` check input (the API's JSON and the pages' forms alike),
``XSchema`` dump the answers and describe them in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema
from marshmallow.experimental.context import Context

from app.api.schemas import ApiTime, sort_field
from app.classes.models import ATTENDANCE, REPORT_MODES, RESULTS
from app.classes.queries import DEFAULT_SORT, SORTS
from app.core.models import api_time
from app.core.validators import mask_id_number
from app.training.models import SUBJECT_TYPES


class _Blanks(Schema):
    """Empty strings (an untouched form field) count as absent for the optional fields."""

    @pre_load
    def _blanks(self, data: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not (v == "" and k in self.fields and not self.fields[k].required)}


def _text(length: int, *, required: bool = False) -> fields.String:
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=length))
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=length))


def _id() -> fields.Integer:
    return fields.Integer(load_default=None, allow_none=True)


class ClassCourseArgs(Schema):
    course_id = fields.Integer(required=True)
    teacher_id = _id()


class ClassArgs(_Blanks):
    plan_id = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "an approved plan of the organisation (required of an institution)"},
    )
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    name = _text(200, required=True)
    subject_type = fields.String(
        required=True,
        validate=validate.OneOf(list(SUBJECT_TYPES)),
        metadata={"description": "public 公需科目 / professional 专业科目"},
    )
    subject_id = fields.Integer(
        load_default=None, allow_none=True, metadata={"description": "the professional subject (专业科目 classes)"}
    )
    audience = _text(100)
    report_mode = fields.String(
        load_default="later",
        validate=validate.OneOf(list(REPORT_MODES)),
        metadata={"description": "sync 同步上报 / later 暂不上报"},
    )
    start_date = fields.Date(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    site_id = _id()
    capacity = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 100000))
    notes = _text(2000)
    courses = fields.List(fields.Nested(ClassCourseArgs), load_default=list)
    attachment_ids = fields.List(
        fields.Integer(), load_default=list, metadata={"description": "ids of the actor's uploads (POST /attachments)"}
    )


class ClassFilterArgs(_Blanks):
    org_id = _id()
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(2000, 2100))
    subject_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(SUBJECT_TYPES)))
    state = fields.String(load_default=None, allow_none=True)
    q = _text(100)
    #: 培训成果: false, the approved classes whose results are still to be reported; true, those reported.
    reported = fields.Boolean(load_default=None, allow_none=True)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 200))
    sort = sort_field(SORTS, DEFAULT_SORT, "the newest year first")


class CancelArgs(Schema):
    note = fields.String(
        required=True, validate=validate.Length(min=1, max=50), metadata={"description": "why (at most 50 characters)"}
    )


class EnrolArgs(Schema):
    person_ids = fields.List(
        fields.Integer(),
        load_default=list,
        validate=validate.Length(max=5000),
        metadata={"description": "staff of the class's organisation (or of a unit below it)"},
    )
    id_numbers = fields.List(
        fields.String(validate=validate.Length(min=15, max=18)),
        load_default=list,
        validate=validate.Length(max=5000),
        metadata={"description": "full ID numbers: how anyone outside the organisation is enrolled"},
    )

    @validates_schema
    def _some(self, data: dict, **_kw: object) -> None:
        if not data.get("person_ids") and not data.get("id_numbers"):
            raise ValidationError("请选择要录入的人员", "person_ids")


class UnenrolArgs(Schema):
    member_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=5000))


class ReportArgs(Schema):
    member_ids = fields.List(
        fields.Integer(),
        load_default=None,
        allow_none=True,
        metadata={"description": "the participants to report (default: all who passed)"},
    )


class GradeArgs(_Blanks):
    total_score = fields.Float(load_default=None, allow_none=True, validate=validate.Range(0, 1000))
    subject_scores = fields.Dict(
        keys=fields.String(),
        values=fields.Float(validate=validate.Range(0, 1000)),
        load_default=dict,
        metadata={"description": "{course id: score}"},
    )
    result = fields.String(
        required=True, validate=validate.OneOf(list(RESULTS)), metadata={"description": "pass 合格 / fail 不合格"}
    )
    actual_start = fields.Date(load_default=None, allow_none=True)
    actual_end = fields.Date(load_default=None, allow_none=True)


class SessionArgs(_Blanks):
    held_at = fields.DateTime(required=True, format="iso")
    note = _text(200)


class AttendanceArgs(Schema):
    statuses = fields.Dict(
        keys=fields.Integer(),
        values=fields.String(validate=validate.OneOf(list(ATTENDANCE))),
        required=True,
        metadata={"description": "{member id: present / leave / late / absent}"},
    )


# --------------------------------------------------------------------------- output


class ClassCourseSchema(Schema):
    course_id = fields.Integer()
    course_name = fields.Function(lambda cc: cc.course.name)
    hours = fields.Function(lambda cc: float(cc.course.hours))
    teacher_id = fields.Integer(allow_none=True)
    teacher_name = fields.Function(lambda cc: cc.teacher.name if cc.teacher else None)


class ClassSchema(Schema):
    id = fields.Integer()
    organisation_id = fields.Integer()
    plan_id = fields.Integer(allow_none=True)
    year = fields.Integer()
    name = fields.String()
    subject_type = fields.String()
    subject_id = fields.Integer(allow_none=True)
    audience = fields.String(allow_none=True)
    report_mode = fields.String()
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    site_id = fields.Integer(allow_none=True)
    capacity = fields.Integer(allow_none=True)
    notes = fields.String(allow_none=True)
    hours = fields.Function(lambda r: float(r.hours))
    course_plan_class_id = fields.Integer(
        allow_none=True, metadata={"description": "the class of an approved course plan (专业课计划) it runs"})
    course_plan_id = fields.Function(lambda r: r.course_plan_class.plan_id if r.course_plan_class else None,
                                     metadata={"description": "that course plan"})
    state = fields.Function(
        lambda r: Context.get()["states"].get(r.id),
        metadata={"description": "draft / reviewing / returned / rejected / planned / open / closed / cancelled"},
    )
    status_note = fields.String(allow_none=True)
    instance_id = fields.Integer(allow_none=True)
    submitted_at = ApiTime(allow_none=True)
    opened_at = ApiTime(allow_none=True)
    closed_at = ApiTime(allow_none=True)
    reported_at = ApiTime(allow_none=True)
    courses = fields.List(fields.Nested(ClassCourseSchema))
    attachment_ids = fields.List(fields.Integer())


class MemberSchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    name = fields.Function(lambda m: m.person.name)
    id_number = fields.Function(lambda m: mask_id_number(m.person.id_number))
    enrolled_at = ApiTime()
    total_score = fields.Float(allow_none=True)
    subject_scores = fields.Dict(keys=fields.String(), values=fields.Float())
    result = fields.String(allow_none=True)
    actual_start = fields.Date(allow_none=True)
    actual_end = fields.Date(allow_none=True)
    recorded = fields.Function(
        lambda m: m.id in Context.get().get("recorded", set()),
        metadata={"description": "the hours are in the person's archive"},
    )


class SessionSchema(Schema):
    id = fields.Function(lambda s: s.session.id)
    held_at = fields.Function(lambda s: api_time(s.session.held_at))
    note = fields.Function(lambda s: s.session.note)
    expected = fields.Integer()
    present = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


SCHEMAS = {
    "TrainingClass": ClassSchema,
    "TrainingClassArgs": ClassArgs,
    "ClassMember": MemberSchema,
    "GradeArgs": GradeArgs,
    "ClassSession": SessionSchema,
    "CancelArgs": CancelArgs,
    "EnrolArgs": EnrolArgs,
}
