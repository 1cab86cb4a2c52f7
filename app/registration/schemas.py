"""marshmallow schema of a decided task in 已审核 (the reviewed list), as the API answers it."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.api.schemas import ApiTime, sort_field
from app.core.validators import mask_id_number
from app.registration.queries import REVIEWED_DEFAULT_SORT, REVIEWED_SORTS


class ReviewedListArgs(Schema):
    """The ``sort`` of GET /tasks/reviewed (its page, process and q are read as before)."""

    sort = sort_field(REVIEWED_SORTS, REVIEWED_DEFAULT_SORT, "the latest decision first")


class ReviewedSchema(Schema):
    """Dumps a ``queries.Reviewed``: the task and the decision on it."""

    id = fields.String(attribute="task.id", required=True)
    instance_id = fields.Integer(attribute="task.instance_id", required=True)
    process_key = fields.String(attribute="task.process_key", required=True)
    name = fields.String(attribute="task.name", required=True)
    applicant = fields.String(attribute="task.applicant_name", allow_none=True)
    applicant_id_number = fields.Function(lambda r: mask_id_number(r.task.applicant_id_number), allow_none=True,
                                          metadata={"description": "masked"})
    title = fields.String(attribute="task.title", allow_none=True)
    outcome = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    reviewer = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True)
    completed_at = ApiTime(attribute="at", allow_none=True)


class PickerOrganisationSchema(Schema):
    """Dumps a ``picker.Described``: an organisation as the registration picker browses it."""

    id = fields.Integer(attribute="org.id", required=True)
    name = fields.String(attribute="org.name", required=True)
    kind = fields.Function(lambda d: d.org.kind.value, required=True)
    parent_id = fields.Integer(attribute="org.parent_id", allow_none=True)
    region = fields.String(attribute="org.region", allow_none=True)
    path = fields.List(fields.String(), required=True,
                       metadata={"description": "names from the root down to this organisation"})
    has_children = fields.Boolean(required=True, metadata={"description": "whether it has active children to browse"})
