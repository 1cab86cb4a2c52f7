"""GET /api/v1/audit: the audit log of the actor's scope (administrators; 404 for anyone else)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from app.audit import queries
from app.audit.schemas import AuditEntrySchema, dump_entries
from app.core.auth import api_actor

bp = Blueprint("audit_api", __name__)


@bp.get("/audit")
def audit():
    page = queries.search(api_actor(), queries.parse_filters(request.args))
    return jsonify({"items": dump_entries(page.items), "next_before": page.next_before})


def add_paths(spec: Any) -> None:
    """Called by app.api.openapi: GET /audit and its schema."""
    spec.components.schema("AuditEntry", schema=AuditEntrySchema)

    def q(name: str, description: str, **schema: Any) -> dict[str, Any]:
        return {"in": "query", "name": name, "description": description, "schema": {"type": "string", **schema}}

    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    spec.path(path="/audit", operations={"get": {
        "summary": "The audit log (审计日志) of the actor's organisations and those below them, newest first "
                   "(the province bureau reads every entry); administrators only",
        "parameters": [
            q("action", "an action code, or a group such as `auth` or `admin`"),
            q("actor", "the actor's login name or user id"),
            q("date_from", "from this day (Beijing time)", format="date"),
            q("date_to", "up to and including this day", format="date"),
            q("object_type", "e.g. workflow_task, admin_role, membership, organisation, process_version"),
            q("object_id", "the object's id"),
            {"in": "query", "name": "before", "schema": {"type": "integer"},
             "description": "the next_before of the previous page"},
            {"in": "query", "name": "per_page", "schema": {"type": "integer", "default": 50, "maximum": 200}}],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
                "next_before": {"type": ["integer", "null"]}}}}}},
            "401": {"description": "missing or invalid token", **error},
            "404": {"description": "not an administrator", **error},
            "422": {"description": "invalid filters: error.fields names them", **error}}}})
