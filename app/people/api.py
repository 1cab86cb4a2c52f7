"""/api/v1/people: the personnel list (contract), one person, add, edit, reset password, unbind."""

from __future__ import annotations

from flask import Blueprint, jsonify

from app.api.args import json_body, load_args, query_args
from app.api.openapi import json_request, query_parameters, responses
from app.core.auth import api_actor
from app.core.sorting import parse_sort
from app.extensions import db

from . import queries, services
from .schemas import SCHEMAS, PeopleQueryArgs, PersonArgs, PersonPageSchema, PersonSchema, TemporaryPasswordSchema

bp = Blueprint("people_api", __name__)


@bp.get("/people")
def people():
    actor = api_actor()
    args = query_args(PeopleQueryArgs())
    page = queries.search(actor, queries.Filters.of(args), args["page"], args["per_page"],
                          sort=parse_sort(args["sort"], queries.SORTS, queries.DEFAULT_SORT))
    return jsonify(PersonPageSchema().dump(page))


@bp.post("/people")
def add():
    actor = api_actor()
    args = load_args(PersonArgs(), json_body())
    person = services.add(actor, args.pop("unit_id", None), args)
    db.session.commit()
    return jsonify(PersonSchema().dump(person)), 201


@bp.get("/people/<int:person_id>")
def one(person_id: int):
    return jsonify(PersonSchema().dump(services.visible(api_actor(), person_id)))


@bp.patch("/people/<int:person_id>")
def edit(person_id: int):
    actor = api_actor()
    args = load_args(PersonArgs(), json_body(), partial=True)
    args.pop("unit_id", None)
    person = services.update(actor, person_id, args)
    db.session.commit()
    return jsonify(PersonSchema().dump(person))


@bp.post("/people/<int:person_id>/reset-password")
def reset_password(person_id: int):
    user, password = services.reset_password(api_actor(), person_id)
    db.session.commit()
    return jsonify(TemporaryPasswordSchema().dump(
        {"user_id": user.id, "login": user.login, "temporary_password": password}))


@bp.post("/people/<int:person_id>/unbind")
def unbind(person_id: int):
    person = services.unbind(api_actor(), person_id)
    db.session.commit()
    return jsonify(PersonSchema().dump(person))


def add_paths(spec) -> None:  # noqa: ANN001
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    pid = [{"in": "path", "name": "person_id", "required": True, "schema": {"type": "integer"}}]
    spec.path(path="/people", operations={
        "get": {"summary": "People within scope (人员信息), ID numbers masked",
                "parameters": query_parameters(PeopleQueryArgs(), queries.SORTS, queries.DEFAULT_SORT),
                "responses": responses("200", "PersonPage", "401", "422")},
        "post": {"summary": "Add a person to a unit in scope", "requestBody": json_request("PersonArgs"),
                 "responses": responses("201", "Person", "401", "404", "422")}})
    spec.path(path="/people/{person_id}", operations={
        "get": {"summary": "One person", "parameters": pid, "responses": responses("200", "Person", "401", "404")},
        "patch": {"summary": "Edit a person", "parameters": pid, "requestBody": json_request("PersonArgs"),
                  "responses": responses("200", "Person", "401", "404", "422")}})
    spec.path(path="/people/{person_id}/reset-password", operations={"post": {
        "summary": "A temporary password the person must change at the next sign-in", "parameters": pid,
        "responses": responses("200", "PersonTemporaryPassword", "401", "404")}})
    spec.path(path="/people/{person_id}/unbind", operations={"post": {
        "summary": "解除绑定: the person leaves the unit; the archive stays", "parameters": pid,
        "responses": responses("200", "Person", "401", "404")}})
