"""What every API module's schemas share: the one error shape of every answer (design §3), times, and the
paging arguments every list takes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, validate

from app.core.models import api_time
from app.core.sorting import sort_choices
from app.core.validators import MAX_PAGE


class ApiTime(fields.DateTime):
    """A stored time (naive, UTC) as the API writes it: RFC 3339 with its offset (``…Z``)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return api_time(value)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "stable machine-readable code, e.g. validation_failed, not_found, conflict, rate_limited"})
    message = fields.String(required=True, metadata={"description": "a sentence for people (Chinese; ?lang=en)"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                          metadata={"description": "{field name: message}; empty when no one field is at fault"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


def sort_field(columns: Mapping[str, Any], default: str, default_meaning: str) -> fields.String:
    """The ``sort`` argument of a list: one of its page's sortable ``columns``, descending with a leading '-'
    (``default`` when absent; another value is a 422 on ``sort``)."""
    return fields.String(load_default=None, validate=validate.OneOf(sort_choices(columns)), metadata={
        "description": f"Order of the list: a column, descending with a leading '-' (default: {default}, "
                       f"{default_meaning})"})


class PageArgs(Schema):
    """``page`` and ``per_page`` of every list: a page beyond :data:`MAX_PAGE` is refused (422), as is one below 1."""
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 200))
