"""The OpenAPI 3.1 document of /api/v1, built with apispec: the error shape here, every path and schema from the
``add_paths(spec)`` of each domain's API module (the list ``app.API_MODULES``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from app.api.schemas import ErrorSchema

ERRORS = {
    "400": "bad request", "401": "missing or invalid token", "403": "not allowed",
    "404": "not found or outside the actor's scope",
    "409": "conflicts with the current state (e.g. the task is no longer open, the year is not verified)",
    "422": "invalid fields: error.fields maps each field to a message", "423": "account locked",
    "429": "too many requests (e.g. verification codes)",
}


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
    return doc
