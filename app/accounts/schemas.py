"""marshmallow schemas of signing in through the API: `XArgs` validate input, `XSchema` describe output."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class TokenArgs(Schema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64),
                          metadata={"description": "login name or ID number"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(metadata={"description": "seconds"})
