"""marshmallow schemas of processes, instances and tasks: `XArgs` validate input; `XSchema` dump the answers
(and describe them in the OpenAPI document), so each shape is written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from marshmallow.experimental.context import Context

from app.api.schemas import ApiTime, PageArgs
from app.cases.queries import APPLICATION_SORTS, INBOX_SORTS
from app.core.sorting import sort_choices
from app.core.validators import mask_id_number

OUTCOMES = ("approve", "reject", "return")


def _names() -> dict[str, Any]:
    return Context[dict[str, Any]].get(default={})


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


class TaskListArgs(PageArgs):
    process = fields.String(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=64))
    year = fields.Integer(load_default=None, validate=validate.Range(2000, 2100))
    sort = fields.String(load_default=None, validate=validate.OneOf(sort_choices(INBOX_SORTS)), metadata={
        "description": "Order of the inbox: a column, descending with a leading '-' (default: arrived, the "
                       "oldest first)"})


class InstanceListArgs(PageArgs):
    sort = fields.String(load_default=None, validate=validate.OneOf(sort_choices(APPLICATION_SORTS)), metadata={
        "description": "Order of the list: a column, descending with a leading '-' (default: -submitted, the "
                       "newest first)"})


class ProcessSchema(Schema):
    """Dumps a ``ProcessVersion``."""

    key = fields.String(attribute="process_key", required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)


class TaskSchema(Schema):
    id = fields.String(required=True)
    instance_id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    name = fields.String(required=True)
    lane = fields.String(allow_none=True)
    organisation = fields.Function(lambda t: _names().get("orgs", {}).get(t.candidate_org_id),
                                   allow_none=True, metadata={"description": "candidate organisation"})
    applicant = fields.String(attribute="applicant_name", allow_none=True,
                              metadata={"description": "applicant's name"})
    applicant_id_number = fields.Function(lambda t: mask_id_number(t.applicant_id_number), allow_none=True,
                                          metadata={"description": "masked"})
    year = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    created_at = ApiTime(required=True)
    due_at = ApiTime(allow_none=True)
    completed_at = ApiTime(allow_none=True)
    assignee = fields.Function(lambda t: _names().get("users", {}).get(t.assignee_id), allow_none=True,
                               metadata={"description": "name of the user who claimed it"})


class HistorySchema(Schema):
    step = fields.String(attribute="step_name", required=True)
    step_id = fields.String(attribute="step")
    organisation = fields.String(attribute="organisation_name", allow_none=True)
    user = fields.String(attribute="user_name", allow_none=True)
    at = ApiTime(required=True)
    outcome = fields.String(required=True)
    comment = fields.String(allow_none=True)
    changes = fields.Dict(allow_none=True)


class InstanceSchema(Schema):
    id = fields.Integer(required=True)
    process_key = fields.String(required=True)
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("running", "completed", "rejected", "withdrawn")))
    outcome = fields.String(allow_none=True)
    applicant = fields.String(attribute="applicant_name", allow_none=True)
    year = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    return_count = fields.Integer()
    created_at = ApiTime()
    completed_at = ApiTime(allow_none=True)
    tasks = fields.List(fields.Nested(TaskSchema), required=True)
    history = fields.List(fields.Nested(HistorySchema), required=True)

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        # the open tasks and the history are read for the dump (dump_instance puts them in the context)
        if attr == "tasks":
            return _names()["tasks"][obj.id]
        if attr == "history":
            return _names()["history"][obj.id]
        if attr == "version":
            return _names()["versions"][(obj.process_version_id, obj.version_hash)]
        return super().get_attribute(obj, attr, default)


class StartedSchema(Schema):
    """What starting an instance answers (201): the new instance's id, status and open tasks."""
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("running", "completed", "rejected", "withdrawn")))
    tasks = fields.List(fields.Nested(TaskSchema), required=True)

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr == "tasks":
            return _names()["tasks"][obj.id]
        return super().get_attribute(obj, attr, default)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(metadata={"description": "{schema, ui_schema} of the task's form"})
    data = fields.Dict(metadata={"description": "the instance's data so far"})
    instance = fields.Nested(InstanceSchema)
    panels = fields.List(fields.Dict(), metadata={
        "description": "what other domains show the reviewer beside the case, each {name, title, data}: "
                       "integrity.dishonesty lists the dishonesty entries recorded against the person"})

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr in ("form", "data", "panels"):
            return _names()[attr]
        return super().get_attribute(obj, attr, default)


class ProcessFormSchema(Schema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    schema = fields.Dict(required=True, metadata={"description": "JSON Schema of the start form"})
    ui_schema = fields.Dict(required=True)


class InstancePageSchema(Schema):
    items = fields.List(fields.Nested(InstanceSchema), required=True)
    total = fields.Integer(required=True)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer()
    per_page = fields.Integer()


class BatchResultSchema(Schema):
    completed = fields.List(fields.String(), required=True)
    failed = fields.List(fields.Dict(), required=True)




# --------------------------------------------------------------------------- dumping


def _context(tasks: Sequence[Any], instances: Sequence[Any] = (), **extra: Any) -> Context:
    """The names the task fields show, and each instance's open tasks, history and version number, read for
    the whole dump at once: a page of instances costs the statements one instance does."""
    from app.cases import queries
    from app.workflow import services

    ids = [i.id for i in instances]
    # the answer of an action: its open tasks and (for a new instance) its history as it wrote them
    written = services.written(ids)
    open_by_instance, orgs = queries.open_tasks_named(
        [i for i in ids if i not in written or written[i].tasks is None])
    history = services.histories([i for i in ids if i not in written or written[i].history is None])
    for i, w in written.items():
        if w.tasks is not None:
            open_by_instance[i] = w.tasks
            orgs.update({t.candidate_org_id: w.org_names[t.candidate_org_id] for t in w.tasks
                         if t.candidate_org_id in w.org_names})
        if w.history is not None:
            history[i] = w.history
    every = [*tasks, *(t for ts in open_by_instance.values() for t in ts)]
    named = {t.candidate_org_id for t in every if t.candidate_org_id} - orgs.keys()
    return Context({
        "orgs": {**orgs, **queries.organisation_names(named | {t.candidate_org_id for t in tasks
                                                                 if t.candidate_org_id})},
        "users": queries.user_names({t.assignee_id for t in every if t.assignee_id}),
        "tasks": open_by_instance,
        "history": history,
        "versions": queries.version_numbers({(i.process_version_id, i.version_hash) for i in instances}),
        **extra,
    })


# The dumping schemas are built once (building one, with its nested schemas, cost more CPU than a dump):
# what a dump needs besides the object comes through the Context of :func:`_context`.
_TASKS = TaskSchema(many=True)
_INSTANCES = InstanceSchema(many=True)
_STARTED = StartedSchema()
_TASK_DETAIL = TaskDetailSchema()


def dump_tasks(tasks: Sequence[Any]) -> list[dict[str, Any]]:
    with _context(tasks):
        return _TASKS.dump(tasks)


def dump_instances(instances: Sequence[Any]) -> list[dict[str, Any]]:
    with _context((), instances):
        return _INSTANCES.dump(instances)


def dump_started(instance: Any) -> dict[str, Any]:
    with _context((), [instance]):
        return _STARTED.dump(instance)


def dump_task_detail(task: Any, form: dict[str, Any], data: dict[str, Any],
                     panels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    with _context([task], [task.instance], form=form, data=data, panels=panels or []):
        return _TASK_DETAIL.dump(task)
