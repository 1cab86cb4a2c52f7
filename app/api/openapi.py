"""The OpenAPI 3.1 document of /api/v1, built with apispec from the marshmallow schemas
and the start form's JSON Schema."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.api import schemas
from app.workflow.forms import load_form

ERRORS = {
    "400": "bad request", "401": "missing or invalid token", "403": "not allowed",
    "404": "not found or outside the actor's scope",
    "409": "conflicts with the current state (e.g. the task is no longer open, the year is not verified)",
    "422": "invalid fields: error.fields maps each field to a message", "423": "account locked",
    "429": "too many requests (e.g. verification codes)",
}


def _responses(ok: str, schema: str | None, *codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {ok: {"description": "OK"}}
    if schema:
        out[ok]["content"] = {"application/json": {"schema": schema}}
    for code in codes:
        out[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": "Error"}}}
    return out


def _json_body(schema: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


@cache
def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="继续教育公共服务平台 API", version="1.0.0", openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Continuing-education platform: processes, tasks, instances. "
                             "Authenticate with POST /auth/token, then send `Authorization: Bearer <token>`. "
                             "Error messages are in Chinese; add `?lang=en` to any call for them in English "
                             "(codes and field names do not change)."},
        servers=[{"url": "/api/v1"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name in ("Token", "Process", "Task", "History", "Instance", "Started", "TaskDetail", "TaskPage", "BatchResult",
                 "Error", "TokenArgs", "BatchCompleteArgs"):
        spec.components.schema(name, schema=getattr(schemas, name + ("" if name.endswith("Args") else "Schema")))
    declaration = load_form("credit_hour_declaration.schema.json")
    spec.components.schema("CreditHourDeclaration", declaration)
    review = load_form("hr_review.schema.json")
    spec.components.schema("ReviewForm", review)

    spec.path(path="/auth/token", operations={"post": {
        "summary": "Exchange login and password for a bearer token", "security": [],
        "description": "403 `password_change_required`: an administrator reset the password; change the "
                       "temporary one with POST /password/change (with `login`) first.",
        "requestBody": _json_body("TokenArgs"),
        "responses": _responses("200", "Token", "400", "401", "403", "422", "423")}})
    spec.path(path="/processes", operations={"get": {
        "summary": "Processes the actor may start",
        "responses": _responses("200", {"type": "array", "items": {"$ref": "#/components/schemas/Process"}},
                                "401")}})
    spec.path(path="/processes/{key}/form", operations={"get": {
        "summary": "The start form (JSON Schema and UI schema) of a process",
        "parameters": [{"in": "path", "name": "key", "required": True, "schema": {"type": "string"}}],
        "responses": _responses("200", None, "401", "404")}})
    spec.path(path="/processes/{key}/instances", operations={"post": {
        "summary": "Start an instance with the start form's fields (credit_hour_approval: CreditHourDeclaration; "
                   "person_info_change: PersonInfoChange; organisation_info_change: OrganisationInfoChange; "
                   "change_of_superior: ChangeOfSuperior)",
        "parameters": [{"in": "path", "name": "key", "required": True, "schema": {"type": "string"}}],
        "requestBody": _json_body("CreditHourDeclaration"),
        "responses": _responses("201", "Started", "400", "401", "403", "404", "422")}})
    spec.path(path="/instances", operations={"get": {
        "summary": "The actor's own applications, newest first",
        "responses": _responses("200", None, "401")}})
    spec.path(path="/instances/{id}", operations={"get": {
        "summary": "An instance with its open tasks and its history",
        "parameters": [{"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}],
        "responses": _responses("200", "Instance", "401", "404")}})
    spec.path(path="/tasks", operations={"get": {
        "summary": "Open tasks the actor can act on",
        "parameters": [
            {"in": "query", "name": "process", "schema": {"type": "string"}},
            {"in": "query", "name": "q", "schema": {"type": "string"},
             "description": "applicant name prefix or ID number prefix"},
            {"in": "query", "name": "year", "schema": {"type": "integer"}},
            {"in": "query", "name": "page", "schema": {"type": "integer", "default": 1}},
            {"in": "query", "name": "per_page", "schema": {"type": "integer", "default": 20, "maximum": 200}},
        ],
        "responses": _responses("200", "TaskPage", "401", "422")}})
    task_param = [{"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}]
    spec.path(path="/tasks/{id}", operations={"get": {
        "summary": "A task with its form schema and the instance's data so far", "parameters": task_param,
        "responses": _responses("200", "TaskDetail", "401", "404")}})
    for action in ("claim", "unclaim"):
        spec.path(path=f"/tasks/{{id}}/{action}", operations={"post": {
            "summary": f"{action.capitalize()} a task", "parameters": task_param,
            "responses": _responses("200", "Task", "401", "404", "409")}})
    spec.path(path="/tasks/{id}/complete", operations={"post": {
        "summary": "Complete a task with its form's fields (reviews: ReviewForm)", "parameters": task_param,
        "requestBody": _json_body("ReviewForm"),
        "responses": _responses("200", "Instance", "400", "401", "404", "409", "422")}})
    spec.path(path="/tasks/complete", operations={"post": {
        "summary": "Batch review (批量审核)", "requestBody": _json_body("BatchCompleteArgs"),
        "responses": _responses("200", "BatchResult", "400", "401", "422")}})
    from app.certificates.api import add_to_spec as add_certificates

    add_certificates(spec, _responses, _json_body)
    from app.registration.openapi import add_paths as add_registration_paths

    add_registration_paths(spec, _responses, _json_body)
    from app.orgadmin.api import add_to_spec

    add_to_spec(spec, _responses, _json_body)
    from app.archive.openapi import add_paths as add_archive_paths

    add_archive_paths(spec)
    from app.changes.openapi import add_paths as add_change_paths

    add_change_paths(spec)
    from app.audit.api import add_paths as add_audit_paths

    add_audit_paths(spec)
    doc = spec.to_dict()
    doc["security"] = [{"bearer": []}]
    return doc
