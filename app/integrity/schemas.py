"""What the dishonesty records API reads and answers (marshmallow): input ``XArgs``, output ``XSchema``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import sort_field
from app.core.models import api_time
from app.core.validators import MAX_PAGE

from .models import SUBJECT_TYPES
from .services import DEFAULT_SORT, SORTS, VIEWS


class EntryQueryArgs(Schema):
    view = fields.String(
        load_default="all",
        validate=validate.OneOf(VIEWS),
        metadata={"description": "all: every entry in scope; unit: those against the actor's own organisations"},
    )
    subject_type = fields.String(load_default="", validate=validate.OneOf(["", *SUBJECT_TYPES]))
    name = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "name of the person or organisation (contained)"},
    )
    status = fields.String(load_default="", validate=validate.OneOf(["", "active", "revoked"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    sort = sort_field(SORTS, DEFAULT_SORT, "the newest entry first")


class EntryArgs(Schema):
    """失信信息录入: a person by ID number, or an organisation by id (the actor's own or one below)."""

    subject_type = fields.String(required=True, validate=validate.OneOf(list(SUBJECT_TYPES)))
    person_id_number = fields.String(
        load_default=None, allow_none=True, metadata={"description": "for subject_type person"}
    )
    org_id = fields.Integer(
        load_default=None, allow_none=True, metadata={"description": "for subject_type organisation"}
    )
    content = fields.String(required=True, metadata={"description": "失信内容"})


class RevokeArgs(Schema):
    reason = fields.String(required=True, metadata={"description": "撤销原因"})


class EntrySchema(Schema):
    id = fields.Integer()
    subject_type = fields.String()
    subject_name = fields.String()
    person_id = fields.Integer(allow_none=True)
    organisation = fields.Function(
        lambda e: {"id": e.subject_org.id, "name": e.subject_org.name},
        metadata={"description": "the organisation it is recorded against"},
    )
    content = fields.String()
    recorded_by = fields.Function(
        lambda e: {"organisation": e.recorded_by_org.name, "user": e.recorded_by.name},
        metadata={"description": "操作人"},
    )
    recorded_at = fields.Function(lambda e: api_time(e.created_at), metadata={"description": "操作时间"})
    status = fields.String(metadata={"description": "active / revoked"})
    revoked_at = fields.Function(lambda e: api_time(e.revoked_at))
    revoked_by = fields.Function(lambda e: e.revoked_by.name if e.revoked_by else None)
    revoke_reason = fields.String(allow_none=True)


class EntryPageSchema(Schema):
    items = fields.List(fields.Nested(EntrySchema))
    total = fields.Integer()


SCHEMAS = {
    "DishonestyEntry": EntrySchema,
    "DishonestyEntryPage": EntryPageSchema,
    "DishonestyEntryArgs": EntryArgs,
    "DishonestyRevokeArgs": RevokeArgs,
}
