"""What the transfers API reads and answers (marshmallow): input ``XArgs``, output ``XSchema``."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import sort_field
from app.core.validators import MAX_PAGE, mask_id_number

from .queries import BOXES, DEFAULT_SORT, SORTS


class TransferQueryArgs(Schema):
    box = fields.String(
        load_default="records",
        validate=validate.OneOf(list(BOXES)),
        metadata={
            "description": "in: transfer-in waiting; out: transfer-out waiting; "
            "records: every transfer in or out of the actor's units"
        },
    )
    q = fields.String(load_default="", metadata={"description": "name (contained) or ID number (prefix)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    sort = sort_field(SORTS, DEFAULT_SORT, "the newest first")


class TransferArgs(Schema):
    """Start a transfer-out (the personnel_transfer start form; the person's details are filled in by the
    platform)."""

    person_id_number = fields.String(required=True, validate=validate.Length(max=18))
    to_unit_id = fields.Integer(required=True)
    transfer_date = fields.String(load_default=None, allow_none=True, metadata={"description": "YYYY-MM-DD"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    remarks = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class OrgRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class WaitingSchema(Schema):
    task_id = fields.String(attribute="id")
    step = fields.String(attribute="name")
    lane = fields.String(allow_none=True)
    organisation_id = fields.Integer(attribute="candidate_org_id", allow_none=True)


class EventSchema(Schema):
    step = fields.String(attribute="step_name")
    organisation = fields.String(attribute="organisation_name", allow_none=True)
    user = fields.String(attribute="user_name", allow_none=True)
    at = fields.DateTime()
    outcome = fields.String()
    comment = fields.String(allow_none=True)


class TransferSchema(Schema):
    """One transfer (a row of the lists, ``queries.Row``): the person's ID number masked."""

    id = fields.Integer(attribute="instance.id")
    status = fields.String(
        attribute="instance.status", metadata={"description": "running / completed (moved) / rejected / withdrawn"}
    )
    outcome = fields.String(attribute="instance.outcome", allow_none=True)
    person_name = fields.String(attribute="instance.applicant_name")
    person_id_number = fields.Function(
        lambda r: mask_id_number(r.instance.applicant_id_number), metadata={"description": "masked"}
    )
    from_unit = fields.Nested(OrgRefSchema, attribute="transfer.from_unit")
    to_unit = fields.Nested(OrgRefSchema, attribute="transfer.to_unit")
    transfer_date = fields.Date(attribute="transfer.transfer_date", allow_none=True)
    reason = fields.String(attribute="transfer.reason")
    remarks = fields.String(attribute="transfer.remarks", allow_none=True)
    created_at = fields.DateTime(attribute="transfer.created_at")
    moved_at = fields.DateTime(attribute="transfer.moved_at", allow_none=True)
    waiting = fields.List(fields.Nested(WaitingSchema), metadata={"description": "the open steps"})


class TransferPageSchema(Schema):
    items = fields.List(fields.Nested(TransferSchema))
    total = fields.Integer()


class TransferDetailSchema(TransferSchema):
    """One transfer with its history (who decided what, with the reason of a rejection)."""

    history = fields.List(fields.Nested(EventSchema))


SCHEMAS = {
    "TransferQueryArgs": TransferQueryArgs,
    "TransferArgs": TransferArgs,
    "Transfer": TransferSchema,
    "TransferPage": TransferPageSchema,
    "TransferDetail": TransferDetailSchema,
}
