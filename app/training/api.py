"""/api/v1/training/...: the catalogues, plans and annual reports of a training workspace.

Every call needs 培训管理 (``training``) in a training institution or a unit that trains its own staff; anything
else answers 404. Lists work in one workspace: ``?org_id=`` (default: the actor's first). Reviews go through the
generic task endpoints (``/tasks``), the cases through ``/instances/{id}``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from marshmallow import Schema
from marshmallow.experimental.context import Context

from app.api.args import json_body, load_args
from app.api.openapi import json_request, responses
from app.cases.schemas import HistorySchema
from app.core.auth import api_actor
from app.core.errors import ValidationFailed
from app.core.validators import whole_number
from app.core.web import year_argument
from app.extensions import db
from app.training import access, catalogue, course_plans, plans, profile, queries, reports
from app.training.models import (
    AnnualReport,
    CoursePlan,
    Teacher,
    TrainingCourse,
    TrainingPlan,
    TrainingSite,
    TrainingSubject,
)
from app.training.schemas import (
    SCHEMAS,
    CourseArgs,
    CoursePlanArgs,
    CoursePlanClassArgs,
    CoursePlanClassSchema,
    CoursePlanSchema,
    CourseSchema,
    PlanArgs,
    PlanSchema,
    ProfileArgs,
    ProfileSchema,
    ReportArgs,
    ReportSchema,
    SiteArgs,
    SiteSchema,
    SubjectArgs,
    SubjectSchema,
    TeacherArgs,
    TeacherSchema,
)
from app.workflow import attachments

bp = Blueprint("training_api", __name__)


def _org_id() -> int | None:
    return whole_number(request.args.get("org_id"))


def _actor():  # noqa: ANN202
    actor = api_actor()
    access.current_org(actor, _org_id())  # 404 without 培训管理
    return actor


def _dump(schema: Schema, rows: Any, *, many: bool = False) -> Any:
    reviewed = isinstance(schema, PlanSchema | ReportSchema | CoursePlanSchema)
    states = queries.states(rows if many else [rows]) if reviewed else {}
    with Context({"states": states}):
        return schema.dump(rows, many=many)


# --------------------------------------------------------------------------- catalogues

#: path -> (model, input schema, output schema, list, add, update, delete)
_CATALOGUES: dict[str, tuple[Any, ...]] = {
    "subjects": (TrainingSubject, SubjectArgs, SubjectSchema, lambda org_id: catalogue.subjects(org_id),
                 catalogue.add_subject, catalogue.update_subject, None),
    "courses": (TrainingCourse, CourseArgs, CourseSchema,
                lambda org_id: catalogue.courses(org_id, subject_type=request.args.get("subject_type"),
                                                 q=request.args.get("q")),
                catalogue.add_course, catalogue.update_course, catalogue.delete_course),
    "teachers": (Teacher, TeacherArgs, TeacherSchema,
                 lambda org_id: catalogue.teachers(org_id, q=request.args.get("q")),
                 catalogue.add_teacher, catalogue.update_teacher, catalogue.delete_teacher),
    "sites": (TrainingSite, SiteArgs, SiteSchema, lambda org_id: catalogue.sites(org_id),
              catalogue.add_site, catalogue.update_site, catalogue.delete_site),
}


@bp.get("/training/<any(subjects, courses, teachers, sites):kind>")
def catalogue_list(kind: str):
    _model, _args, out, listed, *_rest = _CATALOGUES[kind]
    org = access.current_org(_actor(), _org_id())
    return jsonify(out(many=True).dump(listed(org.id)))


@bp.post("/training/<any(subjects, courses, teachers, sites):kind>")
def catalogue_add(kind: str):
    _model, args, out, _listed, add, *_rest = _CATALOGUES[kind]
    actor = _actor()
    row = add(actor, _org_id(), load_args(args(), json_body()))
    db.session.commit()
    return jsonify(out().dump(row)), 201


@bp.patch("/training/<any(subjects, courses, teachers, sites):kind>/<int:row_id>")
def catalogue_update(kind: str, row_id: int):
    model, args, out, _listed, _add, update, _delete = _CATALOGUES[kind]
    actor = _actor()
    access.owned(actor, model, row_id)  # 404 before the body is read
    row = update(actor, row_id, load_args(args(), json_body(), partial=True))
    db.session.commit()
    return jsonify(out().dump(row))


@bp.delete("/training/<any(courses, teachers, sites):kind>/<int:row_id>")
def catalogue_delete(kind: str, row_id: int):
    delete = _CATALOGUES[kind][-1]
    delete(_actor(), row_id)
    db.session.commit()
    return "", 204


@bp.post("/training/attachments")
def upload():
    """One file (multipart field ``file``) for a plan or a report: its id goes in ``attachment_ids``."""
    actor = _actor()
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed("提交的内容有误，请按提示修改", {"file": "请选择文件"})
    try:
        saved = attachments.save_upload(file, actor=actor)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, {"file": next(iter(exc.fields.values()), "")}) from None
    db.session.commit()
    return jsonify({"id": saved.id, "filename": saved.filename, "size": saved.size}), 201


# --------------------------------------------------------------------------- plans and reports

_DOCS: dict[str, tuple[Any, ...]] = {
    "plans": (plans, PlanArgs, PlanSchema, lambda org_id: queries.plans(org_id, year=year_argument(
        request.args.get("year"), required=False))),
    "reports": (reports, ReportArgs, ReportSchema, lambda org_id: queries.reports(org_id)),
}


@bp.get("/training/<any(plans, reports):kind>")
def doc_list(kind: str):
    _svc, _args, out, listed = _DOCS[kind]
    org = access.current_org(_actor(), _org_id())
    return jsonify(_dump(out(), listed(org.id), many=True))


@bp.post("/training/<any(plans, reports):kind>")
def doc_create(kind: str):
    svc, args, out, _listed = _DOCS[kind]
    actor = _actor()
    row = svc.create(actor, _org_id(), load_args(args(), json_body()))
    db.session.commit()
    return jsonify(_dump(out(), row)), 201


@bp.get("/training/<any(plans, reports):kind>/<int:row_id>")
def doc_get(kind: str, row_id: int):
    svc, _args, out, _listed = _DOCS[kind]
    return jsonify(_dump(out(), svc.get(_actor(), row_id)))


@bp.put("/training/<any(plans, reports):kind>/<int:row_id>")
def doc_update(kind: str, row_id: int):
    svc, args, out, _listed = _DOCS[kind]
    actor = _actor()
    svc.get(actor, row_id)  # 404 before the body is read
    row = svc.update(actor, row_id, load_args(args(), json_body()))
    db.session.commit()
    return jsonify(_dump(out(), row))


@bp.delete("/training/<any(plans, reports):kind>/<int:row_id>")
def doc_delete(kind: str, row_id: int):
    _DOCS[kind][0].delete(_actor(), row_id)
    db.session.commit()
    return "", 204


@bp.post("/training/<any(plans, reports):kind>/<int:row_id>/<any(submit, withdraw, resubmit):action>")
def doc_action(kind: str, row_id: int, action: str):
    svc, _args, out, _listed = _DOCS[kind]
    actor = _actor()
    getattr(svc, action)(actor, row_id)
    db.session.commit()
    row = db.session.get(TrainingPlan if kind == "plans" else AnnualReport, row_id)
    return jsonify(_dump(out(), row))


@bp.get("/training/profile")
def profile_get():
    return jsonify(ProfileSchema().dump(profile.get(_actor(), _org_id())))


@bp.put("/training/profile")
def profile_put():
    actor = _actor()
    result = profile.update(actor, _org_id(), load_args(ProfileArgs(), json_body(), partial=True))
    db.session.commit()
    return jsonify(ProfileSchema().dump(result))


# --------------------------------------------------------------------------- professional-course plans (Guangdong)


@bp.get("/training/course-plans")
def course_plan_list():
    org = access.current_org(_actor(), _org_id())
    year = year_argument(request.args.get("year"), required=False)
    return jsonify(_dump(CoursePlanSchema(), course_plans.plans(org.id, year=year), many=True))


@bp.get("/training/course-plans/approved")
def course_plan_approved():
    """专业课计划查询: approved plans with their classes, attachments and review history."""
    org = access.current_org(_actor(), _org_id())
    rows = course_plans.approved(org.id, year=year_argument(request.args.get("year"), required=False),
                                 course_id=whole_number(request.args.get("course_id")), q=request.args.get("q"))
    details = course_plans.details(rows)
    out = _dump(CoursePlanSchema(), rows, many=True)
    for item, row in zip(out, rows, strict=True):
        files, events = details[row.id]
        item["attachments"] = [{"id": a.id, "filename": a.filename, "size": a.size} for a in files]
        item["history"] = HistorySchema(many=True).dump(events)
    return jsonify(out)


@bp.post("/training/course-plans")
def course_plan_create():
    actor = _actor()
    row = course_plans.create(actor, _org_id(), load_args(CoursePlanArgs(), json_body()))
    db.session.commit()
    return jsonify(_dump(CoursePlanSchema(), row)), 201


@bp.get("/training/course-plans/<int:row_id>")
def course_plan_get(row_id: int):
    return jsonify(_dump(CoursePlanSchema(), course_plans.get(_actor(), row_id)))


@bp.put("/training/course-plans/<int:row_id>")
def course_plan_update(row_id: int):
    actor = _actor()
    course_plans.get(actor, row_id)  # 404 before the body is read
    row = course_plans.update(actor, row_id, load_args(CoursePlanArgs(), json_body()))
    db.session.commit()
    return jsonify(_dump(CoursePlanSchema(), row))


@bp.delete("/training/course-plans/<int:row_id>")
def course_plan_delete(row_id: int):
    course_plans.delete(_actor(), row_id)
    db.session.commit()
    return "", 204


@bp.post("/training/course-plans/<int:row_id>/<any(submit, withdraw, resubmit):action>")
def course_plan_action(row_id: int, action: str):
    actor = _actor()
    getattr(course_plans, action)(actor, row_id)
    db.session.commit()
    return jsonify(_dump(CoursePlanSchema(), db.session.get(CoursePlan, row_id)))


@bp.post("/training/course-plans/<int:row_id>/classes")
def course_plan_class_add(row_id: int):
    actor = _actor()
    course_plans.get(actor, row_id)
    row = course_plans.add_class(actor, row_id, load_args(CoursePlanClassArgs(), json_body()))
    db.session.commit()
    return jsonify(CoursePlanClassSchema().dump(row)), 201


@bp.put("/training/course-plans/<int:row_id>/classes/<int:class_id>")
def course_plan_class_update(row_id: int, class_id: int):
    actor = _actor()
    course_plans.get_class(actor, row_id, class_id)  # 404 before the body is read
    row = course_plans.update_class(actor, row_id, class_id, load_args(CoursePlanClassArgs(), json_body()))
    db.session.commit()
    return jsonify(CoursePlanClassSchema().dump(row))


@bp.delete("/training/course-plans/<int:row_id>/classes/<int:class_id>")
def course_plan_class_delete(row_id: int, class_id: int):
    course_plans.delete_class(_actor(), row_id, class_id)
    db.session.commit()
    return "", 204


# --------------------------------------------------------------------------- OpenAPI


def add_paths(spec: Any) -> None:
    """Called by app.api.openapi: the /training paths and their schemas."""
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)

    def arr(name: str) -> dict:
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}

    org_q = [{"in": "query", "name": "org_id", "schema": {"type": "integer"},
              "description": "the workspace (default: the actor's first with 培训管理)"}]
    rid = [{"in": "path", "name": "row_id", "required": True, "schema": {"type": "integer"}}]
    names = {"subjects": ("TrainingSubject", "professional subjects (专业科目)"),
             "courses": ("TrainingCourse", "courses (培训课程)"), "teachers": ("Teacher", "teachers (师资)"),
             "sites": ("TrainingSite", "training sites and online platforms (培训对接)")}
    for kind, (schema, what) in names.items():
        extra = []
        if kind == "courses":
            extra = [{"in": "query", "name": "subject_type", "schema": {"type": "string",
                                                                       "enum": ["public", "professional"]}},
                     {"in": "query", "name": "q", "schema": {"type": "string"}, "description": "part of the name"}]
        elif kind == "teachers":
            extra = [{"in": "query", "name": "q", "schema": {"type": "string"}, "description": "name or title"}]
        spec.path(path=f"/training/{kind}", operations={
            "get": {"summary": f"The workspace's {what}", "parameters": org_q + extra,
                    "responses": responses("200", arr(schema), "401", "404")},
            "post": {"summary": f"Add to the {what}", "parameters": org_q,
                     "requestBody": json_request(f"{schema}Args"),
                     "responses": responses("201", schema, "401", "404", "422")}})
        ops: dict[str, Any] = {"patch": {
            "summary": f"Change one of the {what} (any subset of the fields; `enabled` false disables it)"
            if kind in ("subjects", "teachers") else f"Change one of the {what} (any subset of the fields)",
            "parameters": rid, "requestBody": json_request(f"{schema}Args"),
            "responses": responses("200", schema, "401", "404", "409", "422")}}
        if kind != "subjects":
            ops["delete"] = {"summary": f"Delete one of the {what}"
                             + (" while no plan uses it (409 otherwise)" if kind in ("courses", "teachers") else ""),
                             "parameters": rid, "responses": responses("204", None, "401", "404", "409")}
        spec.path(path=f"/training/{kind}/{{row_id}}", operations=ops)
    spec.path(path="/training/attachments", operations={"post": {
        "summary": "Upload one file (image or PDF, at most 4 MB, checked by content) for a plan or a report",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
        "responses": responses("201", None, "401", "404", "422")}})
    spec.path(path="/training/profile", operations={
        "get": {"summary": "The institution's profile: registered fields, teaching facilities and staffing",
                "parameters": org_q, "responses": responses("200", "TrainingProfile", "401", "404")},
        "put": {"summary": "Update its teaching facilities and staffing (any subset of the fields)",
                "parameters": org_q, "requestBody": json_request("TrainingProfileArgs"),
                "responses": responses("200", "TrainingProfile", "401", "404", "422")}})
    docs = {"plans": ("TrainingPlan", "annual training plans (年度培训计划)", "training_plan_approval"),
            "reports": ("AnnualReport", "annual reports / work summaries (年审报告 / 年度工作总结)",
                        "annual_report_approval")}
    for kind, (schema, what, process) in docs.items():
        spec.path(path=f"/training/{kind}", operations={
            "get": {"summary": f"The workspace's {what} with their review state", "parameters": org_q + (
                [{"in": "query", "name": "year", "schema": {"type": "integer"}}] if kind == "plans" else []),
                "responses": responses("200", arr(schema), "401", "404")},
            "post": {"summary": f"Create a draft of the {what}", "parameters": org_q,
                     "requestBody": json_request(f"{schema}Args"),
                     "responses": responses("201", schema, "401", "404", "422")}})
        spec.path(path=f"/training/{kind}/{{row_id}}", operations={
            "get": {"summary": "One of them", "parameters": rid,
                    "responses": responses("200", schema, "401", "404")},
            "put": {"summary": "Edit a draft (or a returned one before resubmitting)", "parameters": rid,
                    "requestBody": json_request(f"{schema}Args"),
                    "responses": responses("200", schema, "401", "404", "409", "422")},
            "delete": {"summary": "Delete a draft" + (" never declared" if kind == "reports" else ""),
                       "parameters": rid, "responses": responses("204", None, "401", "404", "409")}})
        for action, summary in (
                ("submit", f"Submit the draft: starts `{process}` (the supervisory department above the "
                           "organisation reviews, or the HR bureau where it has none)"),
                ("withdraw", "撤销: withdraw it before anyone reviewed it; it is a draft again"),
                ("resubmit", "After a return: send the edited version back to the reviewer")):
            spec.path(path=f"/training/{kind}/{{row_id}}/{action}", operations={"post": {
                "summary": summary, "parameters": rid,
                "responses": responses("200", schema, "401", "404", "409", "422")}})
    _course_plan_paths(spec, org_q, rid, arr)


def _course_plan_paths(spec: Any, org_q: list, rid: list, arr: Any) -> None:
    what = "professional-course plans (专业课计划, Guangdong)"
    year_q = [{"in": "query", "name": "year", "schema": {"type": "integer"}}]
    spec.path(path="/training/course-plans", operations={
        "get": {"summary": f"The workspace's {what} with their review state", "parameters": org_q + year_q,
                "responses": responses("200", arr("CoursePlan"), "401", "404")},
        "post": {"summary": f"Create a draft of the {what}: hours at most 6 a day (a 学时 is 45 minutes), "
                            "days within the dates, enabled teachers and subjects only",
                 "parameters": org_q, "requestBody": json_request("CoursePlanArgs"),
                 "responses": responses("201", "CoursePlan", "401", "404", "422")}})
    approved = {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/CoursePlan"}, {
        "type": "object", "properties": {
            "attachments": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "filename": {"type": "string"}, "size": {"type": "integer"}}}},
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/History"}}}}]}}
    spec.path(path="/training/course-plans/approved", operations={"get": {
        "summary": "专业课计划查询: the approved plans with their classes, attachments and review history",
        "parameters": org_q + year_q + [
            {"in": "query", "name": "course_id", "schema": {"type": "integer"}},
            {"in": "query", "name": "q", "schema": {"type": "string"}, "description": "part of the plan's name"}],
        "responses": responses("200", approved, "401", "404")}})
    spec.path(path="/training/course-plans/{row_id}", operations={
        "get": {"summary": "One plan", "parameters": rid, "responses": responses("200", "CoursePlan", "401", "404")},
        "put": {"summary": "Edit a draft (or a returned one before resubmitting); `classes`, when given, replace "
                           "the plan's classes", "parameters": rid, "requestBody": json_request("CoursePlanArgs"),
                "responses": responses("200", "CoursePlan", "401", "404", "409", "422")},
        "delete": {"summary": "Delete a draft never sent", "parameters": rid,
                   "responses": responses("204", None, "401", "404", "409")}})
    for action, summary in (
            ("submit", "送审: starts `course_plan_approval` (the industry department of the unit reviews, or the "
                       "HR bureau where it has none); the plan is locked"),
            ("withdraw", "撤销: withdraw it before anyone reviewed it; it is a draft again"),
            ("resubmit", "After a return: send the edited version back to the reviewer")):
        spec.path(path=f"/training/course-plans/{{row_id}}/{action}", operations={"post": {
            "summary": summary, "parameters": rid,
            "responses": responses("200", "CoursePlan", "401", "404", "409", "422")}})
    spec.path(path="/training/course-plans/{row_id}/classes", operations={"post": {
        "summary": "Add a planned class (at most `sessions` classes)", "parameters": rid,
        "requestBody": json_request("CoursePlanClassArgs"),
        "responses": responses("201", "CoursePlanClass", "401", "404", "409", "422")}})
    cid = rid + [{"in": "path", "name": "class_id", "required": True, "schema": {"type": "integer"}}]
    spec.path(path="/training/course-plans/{row_id}/classes/{class_id}", operations={
        "put": {"summary": "Change a planned class of an editable plan", "parameters": cid,
                "requestBody": json_request("CoursePlanClassArgs"),
                "responses": responses("200", "CoursePlanClass", "401", "404", "409", "422")},
        "delete": {"summary": "Remove a planned class from an editable plan", "parameters": cid,
                   "responses": responses("204", None, "401", "404", "409")}})
