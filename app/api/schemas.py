"""The one error shape of every API answer (design §3), described for the OpenAPI document; the paging
arguments every list takes."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.core.validators import MAX_PAGE


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "stable machine-readable code, e.g. validation_failed, not_found, conflict, rate_limited"})
    message = fields.String(required=True, metadata={"description": "a sentence for people (Chinese; ?lang=en)"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                          metadata={"description": "{field name: message}; empty when no one field is at fault"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageArgs(Schema):
    """``page`` and ``per_page`` of every list: a page beyond :data:`MAX_PAGE` is refused (422), as is one below 1."""
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 200))
