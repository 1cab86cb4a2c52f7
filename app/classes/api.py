"""/api/v1/classes/...: training classes (培训班) of a training workspace: the declaration (submitted to
``training_class_approval``), the lifecycle, enrolment, grades, attendance and the results report.

Every call needs 培训管理 (``training``) in the class's organisation; anything else answers 404. Reviews go
through the generic task endpoints (``/tasks``), the cases through ``/instances/{id}``."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Blueprint, jsonify, request
from marshmallow.experimental.context import Context

from app.api.args import json_body, load_args
from app.api.openapi import json_request, responses, sort_parameter
from app.classes import queries, services
from app.classes.models import TrainingClass
from app.classes.schemas import (
    SCHEMAS,
    AttendanceArgs,
    CancelArgs,
    ClassArgs,
    ClassFilterArgs,
    ClassSchema,
    EnrolArgs,
    GradeArgs,
    MemberSchema,
    ReportArgs,
    SessionArgs,
    SessionSchema,
    UnenrolArgs,
)
from app.core.auth import api_actor
from app.core.sorting import parse_sort
from app.core.validators import whole_number
from app.extensions import db
from app.training import access

bp = Blueprint("classes_api", __name__)


def _actor():  # noqa: ANN202
    actor = api_actor()
    access.current_org(actor, None)  # 404 without 培训管理
    return actor


def _class(row: TrainingClass) -> dict[str, Any]:
    with Context({"states": queries.states([row])}):
        return ClassSchema().dump(row)


def _members(class_id: int) -> list[dict[str, Any]]:
    rows = queries.members(class_id)
    recorded = services.recorded_members([m.id for m in rows])
    with Context({"recorded": recorded}):
        return MemberSchema().dump(rows, many=True)


@bp.get("/classes")
def class_list():
    actor = _actor()
    args = load_args(ClassFilterArgs(), request.args.to_dict())
    org = access.current_org(actor, args["org_id"])
    page = queries.classes(
        org.id,
        year=args["year"],
        subject_type=args["subject_type"],
        state=args["state"],
        q=args["q"],
        reported=args["reported"],
        page=args["page"],
        per_page=args["per_page"],
        sort=parse_sort(args["sort"], queries.SORTS, queries.DEFAULT_SORT),
    )
    with Context({"states": page.states}):
        return jsonify({"items": ClassSchema().dump(page.items, many=True), "total": page.total})


@bp.post("/classes")
def class_create():
    actor = _actor()
    row = services.create(actor, whole_number(request.args.get("org_id")), load_args(ClassArgs(), json_body()))
    db.session.commit()
    return jsonify(_class(row)), 201


@bp.post("/training/course-plans/<int:plan_id>/classes/<int:planned_id>/training-class")
def class_from_course_plan(plan_id: int, planned_id: int):
    """设置培训班: the training class that runs a class of an approved course plan (set up on approval; this sets
    up one of a plan approved before). 201 when set up now, 200 when it already was."""
    row, created = services.set_up_from_plan(_actor(), plan_id, planned_id)
    db.session.commit()
    return jsonify(_class(row)), 201 if created else 200


@bp.get("/classes/<int:class_id>")
def class_get(class_id: int):
    return jsonify(_class(services.get(_actor(), class_id)))


@bp.put("/classes/<int:class_id>")
def class_update(class_id: int):
    actor = _actor()
    services.get(actor, class_id)  # 404 before the body is read
    row = services.update(actor, class_id, load_args(ClassArgs(), json_body()))
    db.session.commit()
    return jsonify(_class(row))


@bp.delete("/classes/<int:class_id>")
def class_delete(class_id: int):
    services.delete(_actor(), class_id)
    db.session.commit()
    return "", 204


@bp.post("/classes/<int:class_id>/<any(submit, withdraw, resubmit, open, close, cancel, report):action>")
def class_action(class_id: int, action: str):
    actor = _actor()
    services.get(actor, class_id)
    answer: dict[str, Any] = {}
    if action == "cancel":
        services.cancel(actor, class_id, load_args(CancelArgs(), json_body())["note"])
    elif action == "open":
        services.open_class(actor, class_id)
    elif action == "close":
        answer["recorded"] = services.close(actor, class_id)
    elif action == "report":
        body = json_body() if request.get_data() else {}
        answer["recorded"] = services.report_results(actor, class_id, load_args(ReportArgs(), body)["member_ids"])
    else:
        getattr(services, action)(actor, class_id)
    db.session.commit()
    return jsonify({**_class(db.session.get(TrainingClass, class_id)), **answer})


@bp.get("/classes/<int:class_id>/members")
def member_list(class_id: int):
    row = services.get(_actor(), class_id)
    return jsonify(_members(row.id))


@bp.post("/classes/<int:class_id>/members")
def member_add(class_id: int):
    actor = _actor()
    services.get(actor, class_id)
    args = load_args(EnrolArgs(), json_body())
    added = services.enrol(actor, class_id, args["person_ids"], id_numbers=args["id_numbers"])
    db.session.commit()
    return jsonify({"added": added, "members": _members(class_id)})


@bp.post("/classes/<int:class_id>/members/cancel")
def member_cancel(class_id: int):
    actor = _actor()
    services.get(actor, class_id)
    removed = services.unenrol(actor, class_id, load_args(UnenrolArgs(), json_body())["member_ids"])
    db.session.commit()
    return jsonify({"removed": removed, "members": _members(class_id)})


@bp.put("/classes/<int:class_id>/members/<int:member_id>/grade")
def member_grade(class_id: int, member_id: int):
    actor = _actor()
    services.member(actor, class_id, member_id)
    services.set_grade(actor, class_id, member_id, load_args(GradeArgs(), json_body()))
    db.session.commit()
    return jsonify(next(m for m in _members(class_id) if m["id"] == member_id))


@bp.get("/classes/<int:class_id>/sessions")
def session_list(class_id: int):
    row = services.get(_actor(), class_id)
    return jsonify(SessionSchema().dump(queries.sessions(row.id), many=True))


@bp.post("/classes/<int:class_id>/sessions")
def session_add(class_id: int):
    actor = _actor()
    services.get(actor, class_id)
    args = load_args(SessionArgs(), json_body())
    held_at = args["held_at"]  # RFC 3339; without an offset, UTC
    held_at = held_at.astimezone(UTC).replace(tzinfo=None) if held_at.tzinfo else held_at
    services.add_session(actor, class_id, held_at, args["note"])
    db.session.commit()
    return jsonify(SessionSchema().dump(queries.sessions(class_id), many=True)), 201


@bp.put("/classes/<int:class_id>/sessions/<int:session_id>/attendance")
def session_mark(class_id: int, session_id: int):
    actor = _actor()
    services.session_of(actor, class_id, session_id)
    services.mark(actor, class_id, session_id, load_args(AttendanceArgs(), json_body())["statuses"])
    db.session.commit()
    return jsonify({"marks": {str(k): v for k, v in queries.marks(session_id).items()}})


def add_paths(spec: Any) -> None:
    """Called by app.api.openapi: the /classes paths and their schemas."""

    def _answers(ok: str, schema: str | None) -> dict:
        return responses(ok, schema, "400", "401", "404", "409", "422")

    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    one = {"in": "path", "name": "class_id", "required": True, "schema": {"type": "integer"}}
    member = {"in": "path", "name": "member_id", "required": True, "schema": {"type": "integer"}}
    session = {"in": "path", "name": "session_id", "required": True, "schema": {"type": "integer"}}
    q = [
        {"in": "query", "name": n, "schema": {"type": t}}
        for n, t in (
            ("org_id", "integer"),
            ("year", "integer"),
            ("subject_type", "string"),
            ("state", "string"),
            ("q", "string"),
            ("reported", "boolean"),
            ("page", "integer"),
            ("per_page", "integer"),
        )
    ]
    spec.path(
        path="/classes",
        operations={
            "get": {
                "summary": "Training classes (培训班) of the workspace, filtered",
                "parameters": [*q, sort_parameter(queries.SORTS, queries.DEFAULT_SORT)],
                "responses": _answers("200", None),
            },
            "post": {
                "summary": "Declare a class (a draft)",
                "parameters": q[:1],
                "requestBody": json_request("TrainingClassArgs"),
                "responses": _answers("201", "TrainingClass"),
            },
        },
    )
    spec.path(
        path="/classes/{class_id}",
        operations={
            "get": {"summary": "One class", "parameters": [one], "responses": _answers("200", "TrainingClass")},
            "put": {
                "summary": "Edit a draft or returned declaration",
                "parameters": [one],
                "requestBody": json_request("TrainingClassArgs"),
                "responses": _answers("200", "TrainingClass"),
            },
            "delete": {
                "summary": "Delete a draft",
                "parameters": [one],
                "responses": _answers("204", None),
            },
        },
    )
    spec.path(
        path="/classes/{class_id}/{action}",
        operations={
            "post": {
                "summary": "submit / withdraw / resubmit the declaration; open (开班), close (结班: records the "
                "hours of everyone who passed, once), cancel (取消, body {note}), "
                "report (培训成果上报, body {member_ids})",
                "parameters": [one, {"in": "path", "name": "action", "required": True, "schema": {"type": "string"}}],
                "responses": _answers("200", "TrainingClass"),
            }
        },
    )
    spec.path(
        path="/training/course-plans/{plan_id}/classes/{planned_id}/training-class",
        operations={
            "post": {
                "summary": "设置培训班: the training class running a class of an approved course plan (专业课计划), "
                "approved with the plan, for the unit's own staff; 201 when set up now, 200 when it already was",
                "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "integer"}}
                               for name in ("plan_id", "planned_id")],
                "responses": _answers("201", "TrainingClass"),
            }
        },
    )
    spec.path(
        path="/classes/{class_id}/members",
        operations={
            "get": {
                "summary": "Enrolled people with their grades",
                "parameters": [one],
                "responses": _answers("200", None),
            },
            "post": {
                "summary": "Enrol people: {person_ids} of the organisation's staff, anyone by {id_numbers}",
                "parameters": [one],
                "requestBody": json_request("EnrolArgs"),
                "responses": _answers("200", None),
            },
        },
    )
    spec.path(
        path="/classes/{class_id}/members/cancel",
        operations={
            "post": {
                "summary": "Cancel enrolments {member_ids}",
                "parameters": [one],
                "responses": _answers("200", None),
            }
        },
    )
    spec.path(
        path="/classes/{class_id}/members/{member_id}/grade",
        operations={
            "put": {
                "summary": "Enter one person's grades",
                "parameters": [one, member],
                "requestBody": json_request("GradeArgs"),
                "responses": _answers("200", "ClassMember"),
            }
        },
    )
    spec.path(
        path="/classes/{class_id}/sessions",
        operations={
            "get": {
                "summary": "Attendance sessions with expected vs. present",
                "parameters": [one],
                "responses": _answers("200", None),
            },
            "post": {
                "summary": "Add a session {held_at, note}",
                "parameters": [one],
                "responses": _answers("201", None),
            },
        },
    )
    spec.path(
        path="/classes/{class_id}/sessions/{session_id}/attendance",
        operations={
            "put": {
                "summary": "Set statuses {statuses: {member id: present / leave / late / absent}}",
                "parameters": [one, session],
                "responses": _answers("200", None),
            }
        },
    )
