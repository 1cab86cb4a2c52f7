"""marshmallow schema of an audit entry as GET /api/v1/audit answers it (and the OpenAPI document describes)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow.experimental.context import Context

from app.api.schemas import ApiTime
from app.audit import services
from app.audit.models import AuditEntry


def _org_names() -> dict[int, str | None]:
    return Context[dict[str, Any]].get(default={}).get("orgs", {})


class AuditEntrySchema(Schema):
    id = fields.Integer(required=True)
    at = ApiTime(required=True)
    action = fields.String(required=True, validate=validate.OneOf(list(services.ACTIONS)))
    action_label = fields.Function(lambda e: services.ACTIONS.get(e.action, e.action),
                                   metadata={"description": "in Chinese"})
    actor = fields.Function(lambda e: {"user_id": e.actor_user_id, "login": e.actor_login},
                            metadata={"description": "{user_id, login}; login is what was typed when a sign-in "
                                                     "failed for an unknown name"})
    organisation = fields.Function(
        lambda e: {"id": e.organisation_id, "name": _org_names().get(e.id)} if e.organisation_id else None,
        allow_none=True, metadata={"description": "{id, name}"})
    object = fields.Function(lambda e: {"type": e.object_type, "id": e.object_id} if e.object_type else None,
                             allow_none=True, metadata={"description": "{type, id}"})
    client_address = fields.String(allow_none=True)
    details = fields.Function(lambda e: e.details or {})


def dump_entries(rows: list[tuple[AuditEntry, str | None]]) -> list[dict[str, Any]]:
    """``(entry, organisation name)`` pairs, as the search returns them."""
    with Context({"orgs": {e.id: name for e, name in rows}}):
        return AuditEntrySchema(many=True).dump([e for e, _name in rows])
