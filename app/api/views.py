"""API handlers: parse → authorise → call a service → commit → dump."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from app.accounts.services import authenticate, issue_token
from app.api import bp
from app.api.args import json_body, load_args, query_args
from app.api.openapi import openapi_document
from app.api.schemas import BatchCompleteArgs, TaskListArgs, TokenArgs
from app.core.auth import api_actor
from app.core.errors import DomainError, PasswordChangeNeeded
from app.core.models import api_time
from app.core.validators import mask_id_number
from app.extensions import db
from app.inbox import queries
from app.orgadmin.services import must_change_password
from app.workflow import services
from app.workflow.models import ProcessInstance, WorkflowTask


def task_json(task: WorkflowTask, orgs: dict[int, str], users: dict[int, str]) -> dict[str, Any]:
    return {
        "id": task.id,
        "instance_id": task.instance_id,
        "process_key": task.process_key,
        "name": task.name,
        "lane": task.lane,
        "organisation": orgs.get(task.candidate_org_id) if task.candidate_org_id else None,
        "applicant": task.applicant_name,
        "applicant_id_number": mask_id_number(task.applicant_id_number),
        "year": task.year,
        "title": task.title,
        "created_at": api_time(task.created_at),
        "due_at": api_time(task.due_at),
        "completed_at": api_time(task.completed_at),
        "assignee": users.get(task.assignee_id) if task.assignee_id else None,
    }


def tasks_json(tasks: list[WorkflowTask]) -> list[dict[str, Any]]:
    orgs = queries.organisation_names({t.candidate_org_id for t in tasks if t.candidate_org_id})
    users = queries.user_names({t.assignee_id for t in tasks if t.assignee_id})
    return [task_json(t, orgs, users) for t in tasks]


def instance_json(instance: ProcessInstance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "process_key": instance.process_key,
        "version": instance.version.version,
        "status": instance.status,
        "outcome": instance.outcome,
        "applicant": instance.applicant_name,
        "year": instance.year,
        "title": instance.title,
        "return_count": instance.return_count,
        "created_at": api_time(instance.created_at),
        "completed_at": api_time(instance.completed_at),
        "tasks": tasks_json(services.open_tasks(instance)),
        "history": [
            {"step": e.step_name, "step_id": e.step, "organisation": e.organisation_name, "user": e.user_name,
             "at": api_time(e.at), "outcome": e.outcome, "comment": e.comment, "changes": e.changes}
            for e in services.history(instance)
        ],
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.post("/auth/token")
def token():
    args = load_args(TokenArgs(), json_body())
    try:
        user = authenticate(args["login"], args["password"], address=request.remote_addr)
    except DomainError:
        db.session.commit()  # keep the failure count
        raise
    if must_change_password(user.id):
        db.session.commit()  # the successful sign-in reset the failure count
        raise PasswordChangeNeeded("管理员已为您重置密码，请先通过 POST /password/change 修改临时密码")
    value = issue_token(user)
    db.session.commit()
    return jsonify({"token": value, "expires_in": current_app.config["API_TOKEN_HOURS"] * 3600})


@bp.get("/processes")
def processes():
    actor = api_actor()
    versions = services.startable_versions(actor)
    db.session.commit()  # a changed BPMN file becomes a new version on first use
    return jsonify([{"key": v.process_key, "name": v.name, "version": v.version} for v in versions])


@bp.get("/processes/<key>/form")
def process_form(key: str):
    api_actor()
    version, schema, ui = services.start_form(key)
    db.session.commit()
    return jsonify({"key": key, "version": version.version, "schema": schema, "ui_schema": ui})


@bp.post("/processes/<key>/instances")
def start(key: str):
    actor = api_actor()
    instance = services.start_process(key, json_body(), actor=actor)
    db.session.commit()
    body = instance_json(instance)
    return jsonify({"id": body["id"], "status": body["status"], "tasks": body["tasks"]}), 201


@bp.get("/instances")
def my_instances():
    actor = api_actor()
    page = query_args(TaskListArgs())
    result = queries.my_applications(actor, page=page["page"], per_page=page["per_page"])
    return jsonify({"items": [instance_json(i) for i in result.items], "total": result.total})


@bp.get("/instances/<int:instance_id>")
def instance(instance_id: int):
    actor = api_actor()
    return jsonify(instance_json(services.visible_instance(instance_id, actor)))


@bp.get("/tasks")
def tasks():
    actor = api_actor()
    args = query_args(TaskListArgs())
    result = queries.inbox(actor, process=args["process"], year=args["year"], q=args["q"],
                           page=args["page"], per_page=args["per_page"])
    return jsonify({"items": tasks_json(result.items), "total": result.total, "page": result.page,
                    "per_page": result.per_page})


@bp.get("/tasks/<task_id>")
def task(task_id: str):
    actor = api_actor()
    t = services.visible_task(task_id, actor)
    body = tasks_json([t])[0]
    schema, ui = services.task_form(t)
    body["form"] = {"schema": schema, "ui_schema": ui}
    body["data"] = services.instance_data(t.instance)
    body["instance"] = instance_json(t.instance)
    return jsonify(body)


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    t = services.claim_task(task_id, actor=api_actor())
    db.session.commit()
    return jsonify(tasks_json([t])[0])


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):
    t = services.unclaim_task(task_id, actor=api_actor())
    db.session.commit()
    return jsonify(tasks_json([t])[0])


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    instance = services.complete_task(task_id, json_body(), actor=api_actor())
    db.session.commit()
    return jsonify(instance_json(instance))


@bp.post("/tasks/complete")
def complete_many():
    actor = api_actor()
    args = load_args(BatchCompleteArgs(), json_body())
    done, failed = services.complete_tasks(args["task_ids"], {"outcome": args["outcome"],
                                                              "comment": args["comment"]}, actor=actor)
    db.session.commit()
    return jsonify({"completed": done, "failed": failed})
