"""JSON of the declaration page's type-ahead."""

from __future__ import annotations

from marshmallow import Schema, fields


class StaffChoiceSchema(Schema):
    """One person a unit may declare for: the ID number to fill in, and what to recognise them by."""

    id_number = fields.String()
    name = fields.String()
    unit = fields.Function(lambda p: p.unit.name if p.unit is not None else None)
