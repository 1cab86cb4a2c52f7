"""Certificate and task-centre endpoints of /api/v1 (design §3)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from marshmallow import Schema, fields, validate

from app.api.args import json_body, load_args, page_args
from app.api.openapi import PAGE_PARAMETERS, json_request, responses
from app.core.auth import api_actor
from app.extensions import db
from app.taskcentre import services as jobs
from app.taskcentre.schemas import JobSchema, dump_job

from . import batch, services
from .urls import public_base_url, verify_url
from .views import pdf_response

bp = Blueprint("certificates_api", __name__)


class CertificateArgs(Schema):
    person_id_number = fields.String(load_default=None, validate=validate.Length(max=18),
                                     metadata={"description": "defaults to the actor"})
    year = fields.Integer(required=True, validate=validate.Range(services.MIN_YEAR, services.MAX_YEAR))


class BatchCertificateArgs(Schema):
    person_id_numbers = fields.List(fields.String(validate=validate.Length(max=18)), required=True,
                                    validate=validate.Length(min=1, max=batch.MAX_BATCH))
    year = fields.Integer(required=True, validate=validate.Range(services.MIN_YEAR, services.MAX_YEAR))


class CertificateSchema(Schema):
    number = fields.String(required=True)
    pdf_url = fields.String(required=True)
    verify_url = fields.String(required=True, metadata={"description": "public page the QR code opens"})


class VerificationSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("genuine", "revoked", "legacy", "not_found")),
                           metadata={"description": "legacy: issued by the old system, kept in the history data"})
    number = fields.String()
    name = fields.String(allow_none=True, metadata={"description": "masked, e.g. 陈*慧"})
    year = fields.Integer(allow_none=True)
    total_hours = fields.Float(allow_none=True)
    issuer = fields.String(attribute="issuer_name", allow_none=True)
    issued_on = fields.Date(allow_none=True)
    revoked_on = fields.Date(allow_none=True)
    name_matches = fields.Boolean(allow_none=True, metadata={
        "description": "legacy only: whether ?name= (the holder's full name) matched; name and hours are answered "
                       "only when it did"})


def _job(job):  # noqa: ANN001, ANN202
    return dump_job(job, url_for("certificates_api.job_download", job_id=job.id, _external=True))


@bp.post("/certificates")
def certificate_issue():
    actor = api_actor()
    args = load_args(CertificateArgs(), json_body())
    cert = services.issue_for(actor, args["person_id_number"], args["year"])
    db.session.commit()
    return jsonify({"number": cert.number,
                    "pdf_url": url_for("certificates_api.certificate_pdf", number=cert.number, _external=True),
                    "verify_url": verify_url(cert.number)}), 201


@bp.get("/certificates/<number>/pdf")
def certificate_pdf(number: str):
    cert = services.printable_certificate(api_actor(), number)
    return pdf_response(cert, download=request.args.get("download") == "1")


@bp.get("/certificates/<number>/verify")
def certificate_verify(number: str):
    """No login: anyone holding a certificate may check it (a limited number of times per minute)."""
    body = VerificationSchema().dump(services.verify(number, address=request.remote_addr,
                                                     holder=request.args.get("name")))
    db.session.commit()  # the request was counted
    return jsonify(body)


@bp.post("/certificates/batch")
def certificate_batch():
    actor = api_actor()
    args = load_args(BatchCertificateArgs(), json_body())
    ids = batch.resolve_people(actor, args["person_id_numbers"])
    job = batch.start_batch(actor, ids, args["year"], public_base_url())
    db.session.commit()
    batch.enqueue_batch(job)
    db.session.expire_all()
    return jsonify(_job(jobs.visible_job(actor, job.id))), 202


@bp.get("/jobs")
def job_list():
    page, per_page = page_args(per_page=50)
    found = jobs.my_jobs(api_actor(), page, per_page)
    return jsonify({"items": [_job(j) for j in found.items], "total": found.total, "page": found.page,
                    "per_page": found.per_page})


@bp.get("/jobs/<int:job_id>")
def job_detail(job_id: int):
    return jsonify(_job(jobs.visible_job(api_actor(), job_id)))


@bp.get("/jobs/<int:job_id>/download")
def job_download(job_id: int):
    return jobs.download(api_actor(), job_id)


def add_paths(spec) -> None:  # noqa: ANN001
    """The certificate and job paths of the OpenAPI document (called from app.api.openapi)."""
    for name, schema in (("CertificateArgs", CertificateArgs), ("BatchCertificateArgs", BatchCertificateArgs),
                         ("Certificate", CertificateSchema), ("Verification", VerificationSchema),
                         ("Job", JobSchema)):
        spec.components.schema(name, schema=schema)
    number = [{"in": "path", "name": "number", "required": True, "schema": {"type": "string"}}]
    job_id = [{"in": "path", "name": "id", "required": True, "schema": {"type": "integer"}}]
    spec.path(path="/certificates", operations={"post": {
        "summary": "Issue the certificate of a verified year; a second call reissues and revokes the old number",
        "requestBody": json_request("CertificateArgs"),
        "responses": responses("201", "Certificate", "401", "404", "409", "422")}})
    spec.path(path="/certificates/{number}/pdf", operations={"get": {
        "summary": "The certificate as PDF (A4 landscape); 409 when it was revoked by a reissue",
        "parameters": number, "responses": responses("200", None, "401", "404", "409")}})
    spec.path(path="/certificates/{number}/verify", operations={"get": {
        "summary": "Public check of a certificate number (no login; RATE_LIMIT_VERIFY_ADDRESS per address)",
        "security": [], "parameters": [*number, {
            "in": "query", "name": "name", "schema": {"type": "string"},
            "description": "the holder's full name as printed: an old system's certificate (legacy) answers its "
                           "masked name and hours only when it matches"}],
        "responses": responses("200", "Verification", "429")}})
    spec.path(path="/certificates/batch", operations={"post": {
        "summary": "Batch certificates: a background job building one zip of PDFs (see /jobs/{id})",
        "requestBody": json_request("BatchCertificateArgs"),
        "responses": responses("202", "Job", "401", "404", "422")}})
    spec.path(path="/jobs", operations={"get": {
        "summary": "The actor's background jobs (task centre), newest first, a page of them (per_page "
                   "defaults to 50): items, total, page, per_page",
        "parameters": [PAGE_PARAMETERS[0],
                       {**PAGE_PARAMETERS[1], "schema": {**PAGE_PARAMETERS[1]["schema"], "default": 50}}],
        "responses": responses("200", None, "401", "422")}})
    spec.path(path="/jobs/{id}", operations={"get": {
        "summary": "A job's status and progress", "parameters": job_id,
        "responses": responses("200", "Job", "401", "404")}})
    spec.path(path="/jobs/{id}/download", operations={"get": {
        "summary": "The finished job's result file", "parameters": job_id,
        "responses": responses("200", None, "401", "404", "409")}})
