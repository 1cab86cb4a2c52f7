"""The OpenAPI 3.1 document of /api/v1, built with apispec: the error shape here, every path and schema from the
``add_paths(spec)`` of each domain's API module (the list ``app.API_MODULES``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from app.api.schemas import ErrorSchema
from app.core.sorting import sort_choices
from app.core.validators import MAX_PAGE

ERRORS = {
    "400": "bad request: a malformed body or query string (not JSON, nested too deeply, control characters)",
    "401": "missing or invalid token", "403": "not allowed",
    "404": "not found or outside the actor's scope",
    "409": "conflicts with the current state (e.g. the task is no longer open, the year is not verified)",
    "422": "invalid fields: error.fields maps each field to a message", "423": "account locked",
    "429": "`rate_limited`: too many requests from this address (or for this account or mobile number); "
           "the Retry-After header gives the seconds to wait",
}


#: ``page`` and ``per_page`` of every list (app.api.schemas.PageArgs: outside these bounds, 422).
PAGE_PARAMETERS = [
    {"in": "query", "name": "page", "schema": {"type": "integer", "default": 1, "minimum": 1, "maximum": MAX_PAGE}},
    {"in": "query", "name": "per_page", "schema": {"type": "integer", "default": 20, "minimum": 1, "maximum": 200}},
]


def sort_parameter(columns: Mapping[str, Any], default: str) -> dict[str, Any]:
    """The ``sort`` query parameter of a list whose sortable columns are ``columns``."""
    return {"in": "query", "name": "sort", "schema": {"type": "string", "enum": sort_choices(columns)},
            "description": f"a column, descending with a leading '-' (default: {default}); another value is a 422"}


def query_parameters(args: Schema, columns: Mapping[str, Any], default: str) -> list[dict[str, Any]]:
    """The query parameters of a list read with the schema ``args`` (as strings), its ``sort`` with the values."""
    return [*({"in": "query", "name": n, "schema": {"type": "string"}} for n in args.fields if n != "sort"),
            sort_parameter(columns, default)]


def responses(ok: str, schema: str | None, *codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {ok: {"description": "OK"}}
    if schema:
        out[ok]["content"] = {"application/json": {"schema": schema}}
    for code in codes:
        out[code] = {"description": ERRORS[code], "content": {"application/json": {"schema": "Error"}}}
    return out


def json_request(schema: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def build_document(add_paths: Iterable[Callable[[APISpec], None]]) -> dict[str, Any]:
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
    spec.components.schema("Error", schema=ErrorSchema)
    for add in add_paths:
        add(spec)
    doc = spec.to_dict()
    doc["security"] = [{"bearer": []}]
    # any call may be refused for its input before its handler runs: a query string or body with control
    # characters, a body that is not JSON or nests too deeply (app.core.web.refuse_unsafe_input)
    for operations in doc["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("400", {
                    "description": ERRORS["400"], "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}}})
    return doc
