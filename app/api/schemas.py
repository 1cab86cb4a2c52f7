"""marshmallow schemas: `XArgs` validate input, `XSchema` describe output (and the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

OUTCOMES = ("approve", "reject", "return")


class TokenArgs(Schema):
    login = fields.String(required=True, validate=validate.Length(min=1, max=64),
                          metadata={"description": "login name or ID number"})
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class BatchCompleteArgs(Schema):
    task_ids = fields.List(fields.String(validate=validate.Length(max=36)), required=True,
                           validate=validate.Length(min=1, max=500))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    comment = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _comment_when_not_approved(self, data: dict, **_kw) -> None:
        # as on a single task: 不同意（结案或退案）needs a comment; refused before any task is touched
        if data.get("outcome") in ("reject", "return") and not (data.get("comment") or "").strip():
            raise ValidationError("不同意时必须填写审核意见", field_name="comment")


class TaskListArgs(Schema):
    process = fields.String(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=64))
    year = fields.Integer(load_default=None, validate=validate.Range(2000, 2100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 200))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(metadata={"description": "seconds"})


class ProcessSchema(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)


class TaskSchema(Schema):
    id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    name = fields.String(required=True)
    lane = fields.String(allow_none=True)
    organisation = fields.String(allow_none=True, metadata={"description": "candidate organisation"})
    applicant = fields.String(allow_none=True, metadata={"description": "applicant's name"})
    applicant_id_number = fields.String(allow_none=True, metadata={"description": "masked"})
    year = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    assignee = fields.String(allow_none=True, metadata={"description": "name of the user who claimed it"})


class HistorySchema(Schema):
    step = fields.String(required=True)
    step_id = fields.String()
    organisation = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    at = fields.DateTime(required=True)
    outcome = fields.String(required=True)
    comment = fields.String(allow_none=True)
    changes = fields.Dict(allow_none=True)


class InstanceSchema(Schema):
    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("running", "completed", "rejected", "withdrawn")))
    outcome = fields.String(allow_none=True)
    applicant = fields.String(allow_none=True)
    year = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    return_count = fields.Integer()
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    history = fields.List(fields.Nested(HistorySchema), required=True)


class StartedSchema(Schema):
    """What starting an instance answers (201): the new instance's id, status and open tasks."""
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("running", "completed", "rejected", "withdrawn")))
    tasks = fields.List(fields.Nested(TaskSchema), required=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(metadata={"description": "{schema, ui_schema} of the task's form"})
    data = fields.Dict(metadata={"description": "the instance's data so far"})
    instance = fields.Nested(InstanceSchema)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer()
    per_page = fields.Integer()


class BatchResultSchema(Schema):
    completed = fields.List(fields.String(), required=True)
    failed = fields.List(fields.Dict(), required=True)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "stable machine-readable code, e.g. validation_failed, not_found, conflict, rate_limited"})
    message = fields.String(required=True, metadata={"description": "a sentence for people (Chinese; ?lang=en)"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), required=True, data_key="fields",
                          metadata={"description": "{field name: message}; empty when no one field is at fault"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
