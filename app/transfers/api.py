"""/api/v1/transfers: the transfer lists of both sides, one transfer with its history, and starting a
transfer-out. The reviews (调出审核, 调入审核) are tasks: ``POST /api/v1/tasks/<id>/complete``."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.api.args import json_body, load_args, query_args
from app.api.openapi import json_request, query_parameters, responses
from app.core.auth import api_actor
from app.core.sorting import parse_sort
from app.extensions import db
from app.workflow import services as workflow

from . import queries, services
from .schemas import SCHEMAS, TransferArgs, TransferDetailSchema, TransferPageSchema, TransferQueryArgs

bp = Blueprint("transfers_api", __name__)


def _detail(actor, instance_id: int):  # noqa: ANN001, ANN202
    row = queries.visible(actor, instance_id)
    row.history = workflow.history(row.instance)
    return TransferDetailSchema().dump(row)


@bp.get("/transfers")
def index():
    args = query_args(TransferQueryArgs())
    page = queries.transfers(api_actor(), box=args["box"], q=args["q"], page=args["page"], per_page=args["per_page"],
                             sort=parse_sort(args["sort"], queries.SORTS, queries.DEFAULT_SORT))
    return jsonify(TransferPageSchema().dump(page))


@bp.post("/transfers")
def start():
    actor = api_actor()
    args = load_args(TransferArgs(), json_body())
    person = services.person_to_transfer(actor, id_number=args["person_id_number"])
    instance = services.start_transfer(actor, person, args)
    db.session.commit()
    return jsonify(_detail(actor, instance.id)), 201


@bp.get("/transfers/<int:transfer_id>")
def one(transfer_id: int):
    return jsonify(_detail(api_actor(), transfer_id))


def add_paths(spec) -> None:  # noqa: ANN001
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    spec.path(
        path="/transfers",
        operations={
            "get": {
                "summary": "Transfers (人员调转) of the actor's units: transfer-in waiting (box=in), transfer-out "
                "waiting (box=out), all records (box=records); ID numbers masked",
                "parameters": query_parameters(TransferQueryArgs(), queries.SORTS, queries.DEFAULT_SORT),
                "responses": responses("200", "TransferPage", "401", "422"),
            },
            "post": {
                "summary": "Start a transfer-out of a person of the actor's units to a target unit "
                "(process personnel_transfer); 409 while the person has a case under review or "
                "another transfer under way",
                "requestBody": json_request("TransferArgs"),
                "responses": responses("201", "TransferDetail", "401", "404", "409", "422"),
            },
        },
    )
    spec.path(
        path="/transfers/{transfer_id}",
        operations={
            "get": {
                "summary": "One transfer with its history (the old or the new unit's side); 404 for anyone else",
                "parameters": [{"in": "path", "name": "transfer_id", "required": True, "schema": {"type": "integer"}}],
                "responses": responses("200", "TransferDetail", "401", "404"),
            }
        },
    )
