"""/api/v1/process-definitions: validate, dry-run and deploy a diagram; the versions of a process (province
bureau administrators, who may keep their processes in git)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from marshmallow import Schema, fields

from app.api.openapi import ERRORS
from app.cases.schemas import ApiTime
from app.core.auth import api_actor
from app.core.errors import NotFound
from app.core.validators import whole_number
from app.extensions import db
from app.processes_admin import migration_job, services  # noqa: F401 - registers the job kind
from app.taskcentre.services import send
from app.workflow.lanes import known_lanes

bp = Blueprint("process_definitions_api", __name__)


class ProblemSchema(Schema):
    element_id = fields.String(allow_none=True, metadata={"description": "the element to select in a modeler"})
    element_name = fields.String(allow_none=True)
    message = fields.String(required=True, metadata={"description": "what is wrong and how to mend it, in the "
                                                                    "request's language"})


class ValidationSchema(Schema):
    valid = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)


class VersionSchema(Schema):
    version = fields.Function(lambda row: row.version.version, metadata={"type": "integer"})
    hash = fields.Function(lambda row: row.version.content_hash,
                           metadata={"type": "string", "description": "sha256 of the diagram, its forms and tables"})
    deployed_by = fields.String(allow_none=True, metadata={"description": "login; null: loaded from processes/"})
    deployed_at = ApiTime(allow_none=True)
    running = fields.Integer(required=True, metadata={"description": "running instances on this version"})
    active = fields.Function(lambda row: row.version.active,
                             metadata={"type": "boolean", "description": "new instances start on it"})


class VersionDetailSchema(VersionSchema):
    bpmn_xml = fields.Method("_xml")

    def _xml(self, row: services.VersionRow) -> str:
        return row.version.bpmn_xml


class StepSchema(Schema):
    element_id = fields.String(required=True)
    name = fields.String(required=True)
    lane = fields.String(allow_none=True)
    lane_label = fields.Method("_lane_label")
    outcome = fields.String(allow_none=True, metadata={"description": "approve / return / reject, resubmit"})

    def _lane_label(self, step: Any) -> str | None:
        from app.core.i18n import translate

        label = known_lanes().get(step.lane or "")
        return translate(label) if label else None


class PathSchema(Schema):
    scenario = fields.String(required=True, metadata={
        "description": "`approve`, or `return:<task id>` / `reject:<task id>` (once, at that review)"})
    applicant = fields.String(required=True, metadata={"description": "with_supervisory / without_supervisory"})
    steps = fields.List(fields.Nested(StepSchema))
    end_id = fields.String(allow_none=True)
    end_outcome = fields.String(allow_none=True)
    stranded = fields.String(allow_none=True, metadata={
        "description": "null when the case ends; `no_organisation` (a step in a lane the applicant has no "
                       "organisation for), `waiting`, `too_many_steps` or `error: …`"})
    stranded_at = fields.String(allow_none=True)


class DraftSchema(Schema):
    process_key = fields.String(required=True)
    base_version = fields.Integer(allow_none=True, metadata={"description": "the version it was started from"})
    saved_by = fields.Function(lambda d: d.saved_by.login if d.saved_by else None,
                               metadata={"type": "string", "description": "login"})
    saved_at = ApiTime(required=True)
    bpmn_xml = fields.String(required=True)


class DraftSavedSchema(Schema):
    draft = fields.Nested(DraftSchema, only=("process_key", "base_version", "saved_by", "saved_at"))
    valid = fields.Boolean(required=True, metadata={"description": "whether it could be deployed as it is"})
    problems = fields.List(fields.Nested(ProblemSchema), required=True)


class DryRunSchema(Schema):
    valid = fields.Boolean(required=True)
    deployable = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemSchema))
    paths = fields.List(fields.Nested(PathSchema))


class CandidateSchema(Schema):
    instance_id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "the version it runs on now"})
    applicant = fields.String(allow_none=True)
    current = fields.List(fields.String(), metadata={"description": "the ids of the steps it stands at"})
    movable = fields.Boolean(required=True)
    reason = fields.Method("_reason", allow_none=True)

    def _reason(self, candidate: Any) -> str | None:
        from app.core.i18n import translate
        from app.workflow.migration import REFUSALS

        if candidate.refusal is None:
            return None
        return translate(REFUSALS.get(candidate.refusal, candidate.refusal))


class MigrationArgs(Schema):
    step = fields.String(load_default=None, metadata={"description": "only the cases standing at this step"})
    instance_ids = fields.List(fields.Integer(), load_default=None,
                               metadata={"description": "the cases to move (default: every movable one)"})


def _args() -> dict[str, Any]:
    from app.api.args import load_args

    return load_args(MigrationArgs(), request.get_json(silent=True) or {})


@bp.post("/process-definitions/<key>/versions/<int:number>/migration-preview")
def migration_preview(key: str, number: int):
    args = _args()
    return jsonify(CandidateSchema(many=True).dump(
        services.migration_preview(api_actor(), key, number, args["step"])))


@bp.post("/process-definitions/<key>/versions/<int:number>/migrate")
def migrate(key: str, number: int):
    args = _args()
    job = services.migration_start(api_actor(), key, number, args["instance_ids"], args["step"])
    db.session.commit()
    send(job)
    db.session.refresh(job)
    return jsonify({"job_id": job.id, "status": job.status, "done": job.done, "total": job.total,
                    "message": job.message}), 202


def _body() -> bytes:
    return request.get_data(cache=False)[: services.MAX_BPMN_BYTES + 1]


@bp.post("/process-definitions/validate")
def validate():
    problems = services.validate(api_actor(), _body())
    return jsonify(ValidationSchema().dump({"valid": not problems, "problems": problems}))


@bp.get("/process-definitions/<key>/versions")
def versions(key: str):
    return jsonify(VersionSchema(many=True).dump(services.history(api_actor(), key)))


@bp.get("/process-definitions/<key>/versions/<int:number>")
def version(key: str, number: int):
    row = next((r for r in services.history(api_actor(), key) if r.version.version == number), None)
    if row is None:
        services.version(api_actor(), key, number)  # 404
    return jsonify(VersionDetailSchema().dump(row))


@bp.post("/process-definitions/<key>/dry-run")
def dry_run(key: str):
    report = services.dry_run(api_actor(), key, _body())
    return jsonify(DryRunSchema().dump({"valid": not report.problems, "deployable": report.deployable,
                                        "problems": report.problems, "paths": report.paths}))


@bp.get("/process-definitions/<key>/draft")
def draft(key: str):
    row = services.draft(api_actor(), key)
    if row is None:
        raise NotFound("这个流程没有草稿")
    return jsonify(DraftSchema().dump(row))


@bp.put("/process-definitions/<key>/draft")
def save_draft(key: str):
    actor = api_actor()
    row = services.save_draft(actor, key, _body(), whole_number(request.args.get("base_version")))
    problems = services.validate(actor, row.bpmn_xml.encode())
    db.session.commit()
    return jsonify(DraftSavedSchema().dump({"draft": row, "valid": not problems, "problems": problems}))


@bp.delete("/process-definitions/<key>/draft")
def discard_draft(key: str):
    services.discard_draft(api_actor(), key)
    db.session.commit()
    return "", 204


@bp.post("/process-definitions/<key>/versions/<int:number>/restore")
def restore(key: str, number: int):
    created = services.restore(api_actor(), key, number)
    db.session.commit()
    row = next(r for r in services.history(api_actor(), key) if r.version.id == created.id)
    return jsonify(VersionSchema().dump(row)), 201


@bp.post("/process-definitions/<key>/deploy")
def deploy(key: str):
    created = services.upload(api_actor(), key, f"{key}.bpmn", _body())
    db.session.commit()
    row = next(r for r in services.history(api_actor(), key) if r.version.id == created.id)
    return jsonify(VersionSchema().dump(row)), 201


def add_paths(spec: Any) -> None:
    """Called by app.api.openapi: the process-definition paths and their schemas."""
    for name, schema in (("DefinitionProblem", ProblemSchema), ("DefinitionValidation", ValidationSchema),
                         ("ProcessVersion", VersionSchema), ("ProcessVersionDetail", VersionDetailSchema),
                         ("DryRun", DryRunSchema), ("ProcessDraft", DraftSchema),
                         ("ProcessDraftSaved", DraftSavedSchema)):
        spec.components.schema(name, schema=schema)

    def answer(ok: str, ref: str, *codes: str, many: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = {"$ref": f"#/components/schemas/{ref}"}
        out: dict[str, Any] = {ok: {"description": "OK", "content": {"application/json": {
            "schema": {"type": "array", "items": schema} if many else schema}}}}
        for code in codes:
            out[code] = {"description": ERRORS[code], "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
        return out

    xml_body = {"required": True, "content": {"application/xml": {"schema": {"type": "string"}}},
                "description": "the BPMN 2.0 (or DMN) XML"}
    key = {"in": "path", "name": "key", "required": True, "schema": {"type": "string"}}
    spec.path(path="/process-definitions/validate", operations={"post": {
        "summary": "Every problem of a BPMN or DMN text at once, each naming its element (province bureau "
                   "administrators); never a 500",
        "requestBody": xml_body, "responses": answer("200", "DefinitionValidation", "401", "403")}})
    spec.path(path="/process-definitions/{key}/versions", operations={"get": {
        "summary": "Every version of a process, newest first, who deployed it and when, and how many "
                   "instances still run on it", "parameters": [key],
        "responses": answer("200", "ProcessVersion", "401", "403", "404", many=True)}})
    spec.path(path="/process-definitions/{key}/versions/{number}", operations={"get": {
        "summary": "One version with its BPMN XML",
        "parameters": [key, {"in": "path", "name": "number", "required": True, "schema": {"type": "integer"}}],
        "responses": answer("200", "ProcessVersionDetail", "401", "403", "404")}})
    spec.path(path="/process-definitions/{key}/dry-run", operations={"post": {
        "summary": "Validate a draft and play sample cases through it in memory (approve everywhere; return "
                   "once at each review, then resubmit; reject at each review; an applicant with and without "
                   "a supervisory department). Nothing is stored.",
        "parameters": [key], "requestBody": xml_body, "responses": answer("200", "DryRun", "401", "403", "404")}})
    number = {"in": "path", "name": "number", "required": True, "schema": {"type": "integer"}}
    spec.components.schema("MigrationCandidate", schema=CandidateSchema)
    spec.components.schema("MigrationArgs", schema=MigrationArgs)
    json_args = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/MigrationArgs"}}}}
    spec.path(path="/process-definitions/{key}/versions/{number}/migration-preview", operations={"post": {
        "summary": "Dry-run report of moving running cases on other versions to this one: which can move, "
                   "which cannot and why (their current step was removed...). Nothing is written.",
        "parameters": [key, number], "requestBody": json_args,
        "responses": answer("200", "MigrationCandidate", "401", "403", "404", "422", many=True)}})
    spec.path(path="/process-definitions/{key}/versions/{number}/migrate", operations={"post": {
        "summary": "Move the chosen movable cases (default: all) to this version as one background job "
                   "(progress in GET /jobs/{id}); each moved case gets a history event, a case that cannot "
                   "move stays as it was",
        "parameters": [key, number], "requestBody": json_args,
        "responses": {"202": {"description": "the job: job_id, status, done, total, message"},
                      **{k: v for k, v in answer("200", "MigrationCandidate", "401", "403", "404", "422").items()
                         if k != "200"}}}})
    spec.path(path="/process-definitions/{key}/draft", operations={
        "get": {"summary": "The draft of a process kept on the server (one per process), with its XML",
                "parameters": [key], "responses": answer("200", "ProcessDraft", "401", "403", "404")},
        "put": {"summary": "Upload a draft: kept as it is (it may be unfinished) until deployed or deleted, "
                           "replacing the previous draft; the answer lists its problems",
                "parameters": [key, {"in": "query", "name": "base_version", "required": False,
                                     "schema": {"type": "integer"}, "description": "the version it started from"}],
                "requestBody": xml_body, "responses": answer("200", "ProcessDraftSaved", "401", "403", "404", "422")},
        "delete": {"summary": "Delete the draft", "parameters": [key],
                   "responses": {"204": {"description": "deleted"},
                                 **{k: v for k, v in answer("200", "ProcessDraft", "401", "403", "404").items()
                                    if k != "200"}}}})
    spec.path(path="/process-definitions/{key}/versions/{number}/restore", operations={"post": {
        "summary": "Deploy an earlier version's diagram again as a new version (numbered after the newest); "
                   "the earlier version stays as it was. Refused (422) like a deploy when it no longer passes "
                   "the checks.",
        "parameters": [key, number], "responses": answer("201", "ProcessVersion", "401", "403", "404", "409", "422")}})
    spec.path(path="/process-definitions/{key}/deploy", operations={"post": {
        "summary": "Deploy a draft as the new active version: refused (422, the problems in error.fields.file) "
                   "when it has problems or a sample case would not reach an end. Running instances keep "
                   "their version.",
        "parameters": [key], "requestBody": xml_body,
        "responses": answer("201", "ProcessVersion", "401", "403", "404", "409", "422")}})
