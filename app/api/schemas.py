"""The one error shape of every API answer (design §3), described for the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code, e.g. "
                                                                 "validation_failed, not_found, conflict, locked"})
    message = fields.String(required=True, metadata={"description": "a sentence for people (Chinese; ?lang=en)"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                          metadata={"description": "{field name: message}; empty when no one field is at fault"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
