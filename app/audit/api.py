"""GET /api/v1/audit: the audit log of the actor's scope (administrators; 404 for anyone else)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from app.audit import queries, services
from app.audit.models import AuditEntry
from app.core.auth import api_actor
from app.core.models import api_time

bp = Blueprint("audit_api", __name__)


def entry_json(entry: AuditEntry, organisation: str | None) -> dict[str, Any]:
    return {
        "id": entry.id, "at": api_time(entry.at), "action": entry.action,
        "action_label": services.ACTIONS.get(entry.action, entry.action),
        "actor": {"user_id": entry.actor_user_id, "login": entry.actor_login},
        "organisation": {"id": entry.organisation_id, "name": organisation} if entry.organisation_id else None,
        "object": {"type": entry.object_type, "id": entry.object_id} if entry.object_type else None,
        "client_address": entry.client_address, "details": entry.details or {},
    }


@bp.get("/audit")
def audit():
    page = queries.search(api_actor(), queries.parse_filters(request.args))
    return jsonify({"items": [entry_json(e, name) for e, name in page.items], "next_before": page.next_before})


def add_paths(spec: Any) -> None:
    """Called by app.api.openapi: GET /audit and its schema."""
    nullable = {"type": ["string", "null"]}
    spec.components.schema("AuditEntry", {"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        "action": {"type": "string", "enum": list(services.ACTIONS)},
        "action_label": {"type": "string", "description": "in Chinese"},
        "actor": {"type": "object", "properties": {"user_id": {"type": ["integer", "null"]}, "login": nullable},
                  "description": "login is what was typed when a sign-in failed for an unknown name"},
        "organisation": {"type": ["object", "null"], "properties": {"id": {"type": "integer"}, "name": nullable}},
        "object": {"type": ["object", "null"], "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
        "client_address": nullable, "details": {"type": "object"}}})

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
