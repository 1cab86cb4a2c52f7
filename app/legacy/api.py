"""/api/v1/legacy: claims of old units (历史信息绑定) and legacy certificates (历史证书查询/打印)."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, jsonify, send_file

from app.api.args import json_body, load_args, query_args
from app.api.openapi import json_request, query_parameters, responses
from app.certificates.render import render_pdf
from app.core.auth import api_actor
from app.core.sorting import parse_sort
from app.extensions import db

from . import services
from .schemas import (
    SCHEMAS,
    CertificateQueryArgs,
    ClaimArgs,
    ClaimResultSchema,
    ClaimSchema,
    LegacyCertificatePageSchema,
    LegacyRecordPageSchema,
    RecordQueryArgs,
)

bp = Blueprint("legacy_api", __name__)


@bp.get("/legacy/claims")
def claims():
    return jsonify(ClaimSchema(many=True).dump(services.claims_of(api_actor())))


@bp.post("/legacy/claims")
def claim():
    actor = api_actor()
    args = load_args(ClaimArgs(), json_body())
    result = services.claim(actor, args.pop("unit_id"), args.pop("method"), args)
    db.session.commit()
    return jsonify(ClaimResultSchema().dump(result)), 201


@bp.get("/legacy/records")
def records():
    args = query_args(RecordQueryArgs())
    rows, total = services.records(api_actor(), args["q"], args["year"], args["page"],
                                   sort=parse_sort(args["sort"], services.RECORD_SORTS, services.RECORD_DEFAULT_SORT))
    return jsonify(LegacyRecordPageSchema().dump({"items": rows, "total": total}))


@bp.get("/legacy/certificates")
def certificates():
    args = query_args(CertificateQueryArgs())
    rows, total = services.certificates(api_actor(), args["q"], args["page"], sort=parse_sort(
        args["sort"], services.CERTIFICATE_SORTS, services.CERTIFICATE_DEFAULT_SORT))
    return jsonify(LegacyCertificatePageSchema().dump({"items": rows, "total": total}))


@bp.get("/legacy/certificates/<number>/pdf")
def certificate_pdf(number: str):
    row = services.certificate(api_actor(), number)
    buf = BytesIO()
    render_pdf(services.certificate_view(row), buf)
    buf.seek(0)
    return send_file(buf, mimetype="application/pdf", download_name=f"legacy_{row.year}_{row.number}.pdf")


def add_paths(spec) -> None:  # noqa: ANN001
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    spec.path(
        path="/legacy/claims",
        operations={
            "get": {
                "summary": "Old units claimed by the actor's units or units below them",
                "responses": responses(
                    "200", {"type": "array", "items": {"$ref": "#/components/schemas/LegacyClaim"}}, "401"
                ),
            },
            "post": {
                "summary": "Claim an old unit's legacy data (历史信息绑定): direct, 方案一 (old unit name and code) "
                "or 方案二 (three people's names and ID numbers); 409 when already claimed",
                "requestBody": json_request("LegacyClaimArgs"),
                "responses": responses("201", "LegacyClaimResult", "401", "404", "409", "422"),
            },
        },
    )
    spec.path(
        path="/legacy/records",
        operations={
            "get": {
                "summary": "Legacy records (继续教育记录查询) of claimed people in scope",
                "parameters": query_parameters(RecordQueryArgs(), services.RECORD_SORTS, services.RECORD_DEFAULT_SORT),
                "responses": responses("200", "LegacyRecordPage", "401", "422"),
            }
        },
    )
    spec.path(
        path="/legacy/certificates",
        operations={
            "get": {
                "summary": "Legacy certificates of claimed people in scope (历史证书查询)",
                "parameters": query_parameters(
                    CertificateQueryArgs(), services.CERTIFICATE_SORTS, services.CERTIFICATE_DEFAULT_SORT
                ),
                "responses": responses("200", "LegacyCertificatePage", "401", "422"),
            }
        },
    )
    spec.path(
        path="/legacy/certificates/{number}/pdf",
        operations={
            "get": {
                "summary": "The legacy certificate as PDF, printed with its legacy number (历史证书打印)",
                "parameters": [{"in": "path", "name": "number", "required": True, "schema": {"type": "string"}}],
                "responses": responses("200", None, "401", "404"),
            }
        },
    )
