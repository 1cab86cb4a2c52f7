"""/api/v1/imports and /api/v1/exports: the import and export centres (contract of issue 15)."""

from __future__ import annotations

import io

from flask import Blueprint, jsonify, request, send_file, url_for
from marshmallow import Schema, fields

from app.api.args import json_body, load_args
from app.api.openapi import json_request, responses
from app.core.auth import api_actor
from app.core.errors import NotFound
from app.extensions import db

from . import exports, registry, services, xlsx

bp = Blueprint("imports_api", __name__)


class ImportSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String(metadata={"description": "queued / running / done / failed"})
    total = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    done = fields.Integer(metadata={"description": "rows handled so far (progress)"})
    file_name = fields.String()
    error = fields.String(allow_none=True)
    failure_file_url = fields.String(allow_none=True)
    success_file_url = fields.String(allow_none=True)


class ExportArgs(Schema):
    kind = fields.String(required=True, metadata={
        "description": "people / archive / declarations (学时申报记录) / reviewed (已审核) / inbox (待办任务) / "
                       "class_members (培训班人员: filters.class_id)"})
    filters = fields.Dict(load_default=dict)


class ExportSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String(metadata={"description": "queued / running / done / failed"})
    file_url = fields.String(allow_none=True)


def _import_json(imp, job) -> dict:  # noqa: ANN001
    done = services.state(job) == "done"
    return ImportSchema().dump({
        "id": imp.id, "kind": imp.kind, "state": services.state(job), "total": imp.total if done else job.total,
        "succeeded": imp.succeeded, "failed": imp.failed, "done": job.done, "file_name": imp.file_name,
        "error": job.error,
        "failure_file_url": url_for("imports_api.file", import_id=imp.id, which="failure")
        if done and imp.failure_path else None,
        "success_file_url": url_for("imports_api.file", import_id=imp.id, which="success")
        if done and imp.success_path else None})


@bp.get("/imports/templates/<kind>")
def template(kind: str):
    actor = api_actor()  # who asks first: signed out is a 401 whatever the kind
    k = registry.get(kind)
    if not k.allowed(actor):
        raise NotFound("没有这种导入类型，或您无权导入")
    buf = io.BytesIO()
    xlsx.template(k, buf)
    buf.seek(0)
    return send_file(buf, as_attachment=True, download_name=f"{k.label}导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/imports")
def start():
    actor = api_actor()
    upload = request.files.get("file")
    unit = request.form.get("unit_id", "")
    try:
        imp = services.start(actor, request.form.get("kind"), upload.stream if upload else None,
                             upload.filename if upload else None, int(unit) if unit.isdigit() else None)
    finally:
        if upload:
            upload.close()  # a large upload spooled to a temporary file
    db.session.commit()
    services.send_import(imp)
    imp, job = services.visible(actor, imp.id)
    return jsonify({"id": imp.id, "state": services.state(job)}), 202


@bp.get("/imports")
def history():
    actor = api_actor()
    return jsonify([_import_json(i, j) for i, j in services.history(actor, request.args.get("kind"))])


@bp.get("/imports/<int:import_id>")
def one(import_id: int):
    return jsonify(_import_json(*services.visible(api_actor(), import_id)))


@bp.get("/imports/<int:import_id>/<any(failure, success):which>-file")
def file(import_id: int, which: str):
    return services.result_download(api_actor(), import_id, which, "失败记录" if which == "failure" else "成功记录")


@bp.post("/exports")
def export():
    actor = api_actor()
    args = load_args(ExportArgs(), json_body())
    job = exports.start(actor, args["kind"], args["filters"])
    db.session.commit()
    exports.send_export(job)
    return jsonify({"id": job.id}), 202


@bp.get("/exports/<int:job_id>")
def export_state(job_id: int):
    job = exports.visible(api_actor(), job_id)
    state = services.state(job)
    return jsonify(ExportSchema().dump({
        "id": job.id, "kind": job.params.get("kind"), "state": state,
        "file_url": url_for("imports_api.export_file", job_id=job.id) if state == "done" else None}))


@bp.get("/exports/<int:job_id>/file")
def export_file(job_id: int):
    return exports.download(api_actor(), job_id)


def add_paths(spec) -> None:  # noqa: ANN001
    spec.components.schema("Import", schema=ImportSchema)
    spec.components.schema("ExportArgs", schema=ExportArgs)
    spec.components.schema("Export", schema=ExportSchema)
    iid = [{"in": "path", "name": "import_id", "required": True, "schema": {"type": "integer"}}]
    eid = [{"in": "path", "name": "job_id", "required": True, "schema": {"type": "integer"}}]
    xlsx_answer = {"200": {"description": "an .xlsx file", "content": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}}
    spec.path(path="/imports/templates/{kind}", operations={"get": {
        "summary": "The .xlsx template of an import kind (personnel, ...)",
        "parameters": [{"in": "path", "name": "kind", "required": True, "schema": {"type": "string"}}],
        "responses": dict(responses("200", None, "401", "404"), **xlsx_answer)}})
    spec.path(path="/imports", operations={
        "get": {"summary": "My past imports (newest first; ?kind=)", "responses": responses("200", None, "401")},
        "post": {"summary": "Start an import (multipart: kind, file, optional unit_id): 202 {id, state}",
                 "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "properties": {"kind": {"type": "string"}, "unit_id": {"type": "integer"},
                                                      "file": {"type": "string", "format": "binary"}}}}}},
                 "responses": responses("202", None, "401", "404", "422")}})
    spec.path(path="/imports/{import_id}", operations={"get": {
        "summary": "An import's state and counts, and its result files when done", "parameters": iid,
        "responses": responses("200", "Import", "401", "404")}})
    for which in ("failure", "success"):
        spec.path(path=f"/imports/{{import_id}}/{which}-file", operations={"get": {
            "summary": f"The {which} file (.xlsx)", "parameters": iid,
            "responses": dict(responses("200", None, "401", "404"), **xlsx_answer)}})
    spec.path(path="/exports", operations={"post": {
        "summary": "Export a list (kind: people, archive, declarations, reviewed, inbox, class_members) with its "
                   "filters (those of its page), as a background job: 202 {id}",
        "requestBody": json_request("ExportArgs"), "responses": responses("202", None, "401", "404", "422")}})
    spec.path(path="/exports/{job_id}", operations={"get": {
        "summary": "An export's state and file_url when done", "parameters": eid,
        "responses": responses("200", "Export", "401", "404")}})
    spec.path(path="/exports/{job_id}/file", operations={"get": {
        "summary": "The exported .xlsx", "parameters": eid,
        "responses": dict(responses("200", None, "401", "404"), **xlsx_answer)}})
