"""/api/v1/integrity: dishonesty records (失信信息): list, record, one, revoke."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.api.args import json_body, load_args, query_args
from app.api.openapi import json_request, query_parameters, responses
from app.core.auth import api_actor
from app.core.sorting import parse_sort
from app.extensions import db

from . import services
from .schemas import SCHEMAS, EntryArgs, EntryPageSchema, EntryQueryArgs, EntrySchema, RevokeArgs

bp = Blueprint("integrity_api", __name__)


@bp.get("/integrity/entries")
def entries():
    actor = api_actor()
    args = query_args(EntryQueryArgs())
    page = services.search(
        actor,
        view=args["view"],
        subject_type=args["subject_type"],
        name=args["name"],
        status=args["status"],
        page=args["page"],
        per_page=args["per_page"],
        sort=parse_sort(args["sort"], services.SORTS, services.DEFAULT_SORT),
    )
    return jsonify(EntryPageSchema().dump(page))


@bp.post("/integrity/entries")
def record():
    actor = api_actor()
    entry = services.record(actor, load_args(EntryArgs(), json_body()))
    db.session.commit()
    return jsonify(EntrySchema().dump(entry)), 201


@bp.get("/integrity/entries/<int:entry_id>")
def one(entry_id: int):
    return jsonify(EntrySchema().dump(services.visible(api_actor(), entry_id)))


@bp.post("/integrity/entries/<int:entry_id>/revoke")
def revoke(entry_id: int):
    actor = api_actor()
    services.visible(actor, entry_id)  # 404 before reading the body
    entry = services.revoke(actor, entry_id, load_args(RevokeArgs(), json_body())["reason"])
    db.session.commit()
    return jsonify(EntrySchema().dump(entry))


def add_paths(spec) -> None:  # noqa: ANN001
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    eid = [{"in": "path", "name": "entry_id", "required": True, "schema": {"type": "integer"}}]
    spec.path(
        path="/integrity/entries",
        operations={
            "get": {
                "summary": "Dishonesty records (失信信息) recorded against organisations in scope or their staff",
                "parameters": query_parameters(EntryQueryArgs(), services.SORTS, services.DEFAULT_SORT),
                "responses": responses("200", "DishonestyEntryPage", "401", "422"),
            },
            "post": {
                "summary": "Record an entry (失信信息录入) against a professional of a unit in scope, or an "
                "organisation in scope; entries are never edited",
                "requestBody": json_request("DishonestyEntryArgs"),
                "responses": responses("201", "DishonestyEntry", "401", "404", "422"),
            },
        },
    )
    spec.path(
        path="/integrity/entries/{entry_id}",
        operations={
            "get": {
                "summary": "One entry",
                "parameters": eid,
                "responses": responses("200", "DishonestyEntry", "401", "404"),
            }
        },
    )
    spec.path(
        path="/integrity/entries/{entry_id}/revoke",
        operations={
            "post": {
                "summary": "Revoke an entry with a reason (the entry and the reason are both kept); only the recording "
                "organisation or one above it",
                "parameters": eid,
                "requestBody": json_request("DishonestyRevokeArgs"),
                "responses": responses("200", "DishonestyEntry", "401", "404", "409", "422"),
            }
        },
    )
