"""JSON API of any process (design §3): the processes an actor may start, their instances and the tasks of the
inbox. Handlers: parse → authorise → call a service → commit → dump through app.cases.schemas."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.api.args import json_body, load_args, query_args
from app.api.openapi import PAGE_PARAMETERS, json_request, responses, sort_parameter
from app.cases import queries, schemas
from app.cases.panels import panel_answers
from app.cases.schemas import (
    BatchCompleteArgs,
    InstanceListArgs,
    ProcessSchema,
    TaskListArgs,
    dump_instances,
    dump_started,
    dump_task_detail,
    dump_tasks,
)
from app.core.auth import api_actor
from app.core.sorting import parse_sort
from app.extensions import db
from app.workflow import services
from app.workflow.forms import load_form

bp = Blueprint("cases_api", __name__)


@bp.get("/processes")
def processes():
    actor = api_actor()
    versions = services.startable_versions(actor)
    db.session.commit()  # a changed BPMN file becomes a new version on first use
    return jsonify(ProcessSchema(many=True).dump(versions))


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
    answer = dump_started(instance)  # from the rows this transaction wrote: nothing is reloaded after the commit
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/instances")
def my_instances():
    actor = api_actor()
    page = query_args(InstanceListArgs())
    result = queries.my_applications(actor, page=page["page"], per_page=page["per_page"],
                                     sort=parse_sort(page["sort"], queries.APPLICATION_SORTS,
                                                     queries.APPLICATION_DEFAULT_SORT))
    return jsonify({"items": dump_instances(result.items), "total": result.total})


@bp.get("/instances/<int:instance_id>")
def instance(instance_id: int):
    actor = api_actor()
    return jsonify(dump_instances([services.visible_instance(instance_id, actor)])[0])


@bp.post("/instances/<int:instance_id>/withdraw")
def withdraw(instance_id: int):
    """撤回 before the first review (the applicant who submitted it)."""
    instance = services.withdraw_instance(instance_id, actor=api_actor())
    answer = dump_instances([instance])[0]
    db.session.commit()
    return jsonify(answer)


@bp.get("/tasks")
def tasks():
    actor = api_actor()
    args = query_args(TaskListArgs())
    result = queries.inbox(actor, process=args["process"], year=args["year"], q=args["q"],
                           page=args["page"], per_page=args["per_page"],
                           sort=parse_sort(args["sort"], queries.INBOX_SORTS, queries.INBOX_DEFAULT_SORT))
    return jsonify({"items": dump_tasks(result.items), "total": result.total, "page": result.page,
                    "per_page": result.per_page})


@bp.get("/tasks/<task_id>")
def task(task_id: str):
    actor = api_actor()
    t = services.visible_task(task_id, actor)
    schema, ui = services.task_form(t)
    return jsonify(dump_task_detail(t, {"schema": schema, "ui_schema": ui}, services.instance_data(t.instance),
                                    panel_answers(t.instance, actor)))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    t = services.claim_task(task_id, actor=api_actor())
    db.session.commit()
    return jsonify(dump_tasks([t])[0])


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):
    t = services.unclaim_task(task_id, actor=api_actor())
    db.session.commit()
    return jsonify(dump_tasks([t])[0])


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    instance = services.complete_task(task_id, json_body(), actor=api_actor())
    answer = dump_instances([instance])[0]  # before the commit, which would expire what the action holds
    db.session.commit()
    return jsonify(answer)


@bp.post("/tasks/complete")
def complete_many():
    actor = api_actor()
    args = load_args(BatchCompleteArgs(), json_body())
    done, failed = services.complete_tasks(args["task_ids"], {"outcome": args["outcome"],
                                                              "comment": args["comment"]}, actor=actor)
    db.session.commit()
    return jsonify({"completed": done, "failed": failed})


def add_paths(spec) -> None:  # noqa: ANN001
    """The process, instance and task paths of the OpenAPI document."""
    for name in ("Process", "ProcessForm", "Task", "History", "Instance", "InstancePage", "Started", "TaskDetail",
                 "TaskPage", "BatchResult", "BatchCompleteArgs"):
        spec.components.schema(name, schema=getattr(schemas, name + ("" if name.endswith("Args") else "Schema")))
    spec.components.schema("CreditHourDeclaration", load_form("credit_hour_declaration.schema.json"))
    spec.components.schema("ReviewForm", load_form("hr_review.schema.json"))
    spec.path(path="/processes", operations={"get": {
        "summary": "Processes the actor may start",
        "responses": responses("200", {"type": "array", "items": {"$ref": "#/components/schemas/Process"}},
                                "401")}})
    spec.path(path="/processes/{key}/form", operations={"get": {
        "summary": "The start form (JSON Schema and UI schema) of a process",
        "parameters": [{"in": "path", "name": "key", "required": True, "schema": {"type": "string"}}],
        "responses": responses("200", "ProcessForm", "401", "404")}})
    spec.path(path="/processes/{key}/instances", operations={"post": {
        "summary": "Start an instance with the start form's fields (credit_hour_approval: CreditHourDeclaration; "
                   "person_info_change: PersonInfoChange; organisation_info_change: OrganisationInfoChange; "
                   "change_of_superior: ChangeOfSuperior)",
        "parameters": [{"in": "path", "name": "key", "required": True, "schema": {"type": "string"}}],
        "requestBody": json_request("CreditHourDeclaration"),
        "responses": responses("201", "Started", "400", "401", "403", "404", "422")}})
    spec.path(path="/instances", operations={"get": {
        "summary": "The actor's own applications, newest first",
        "parameters": [sort_parameter(queries.APPLICATION_SORTS, queries.APPLICATION_DEFAULT_SORT), *PAGE_PARAMETERS],
        "responses": responses("200", "InstancePage", "401", "422")}})
    spec.path(path="/instances/{id}/withdraw", operations={"post": {
        "summary": "Withdraw (撤回) an application before its first review (only who submitted it)",
        "parameters": [{"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}],
        "responses": responses("200", "Instance", "401", "403", "404", "409")}})
    spec.path(path="/instances/{id}", operations={"get": {
        "summary": "An instance with its open tasks and its history",
        "parameters": [{"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}],
        "responses": responses("200", "Instance", "401", "404")}})
    spec.path(path="/tasks", operations={"get": {
        "summary": "Open tasks the actor can act on",
        "parameters": [
            {"in": "query", "name": "process", "schema": {"type": "string"},
             "description": "a process key, or a group of processes: group:credit_hours (学时学分审批, the "
                            "credit-hour and the grade declarations)"},
            {"in": "query", "name": "q", "schema": {"type": "string"},
             "description": "applicant name prefix or ID number prefix"},
            {"in": "query", "name": "year", "schema": {"type": "integer"}},
            sort_parameter(queries.INBOX_SORTS, queries.INBOX_DEFAULT_SORT),
            *PAGE_PARAMETERS,
        ],
        "responses": responses("200", "TaskPage", "401", "422")}})
    task_param = [{"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}]
    spec.path(path="/tasks/{id}", operations={"get": {
        "summary": "A task with its form schema and the instance's data so far", "parameters": task_param,
        "responses": responses("200", "TaskDetail", "401", "404")}})
    for action in ("claim", "unclaim"):
        spec.path(path=f"/tasks/{{id}}/{action}", operations={"post": {
            "summary": f"{action.capitalize()} a task", "parameters": task_param,
            "responses": responses("200", "Task", "401", "404", "409")}})
    spec.path(path="/tasks/{id}/complete", operations={"post": {
        "summary": "Complete a task with its form's fields (reviews: ReviewForm)", "parameters": task_param,
        "requestBody": json_request("ReviewForm"),
        "responses": responses("200", "Instance", "400", "401", "404", "409", "422")}})
    spec.path(path="/tasks/complete", operations={"post": {
        "summary": "Batch review (批量审核)", "requestBody": json_request("BatchCompleteArgs"),
        "responses": responses("200", "BatchResult", "400", "401", "422")}})
