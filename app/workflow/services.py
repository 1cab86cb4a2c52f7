"""The write API of workflows: start instances, complete, claim and batch-complete tasks.

Every function takes the actor explicitly, flushes and never commits: the view, API handler
or job around it commits once, so the workflow state, the inbox rows, the audit trail and
the domain effect land in one transaction (design §2).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, event, func, insert, literal, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.actor import STAFF_DATA_MODULES, Actor
from app.audit import services as audit
from app.core.batch import WriteBatch
from app.core.errors import (
    DomainError,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    is_retryable,
)
from app.core.models import utcnow
from app.extensions import db
from app.workflow import engine, registry
from app.workflow.forms import coerce, defaults_from, validate
from app.workflow.lanes import flags_for, flags_from, lane_names, names_from, resolve_lanes, reviewing_ids
from app.workflow.models import (
    COMPLETED,
    REJECTED,
    RUNNING,
    WITHDRAWN,
    ApprovalEvent,
    ProcessInstance,
    ProcessVersion,
    WorkflowTask,
)
from app.workflow.versions import current_version, forms_for, parsed_by_hash, parsed_for

#: How an end event's ``outcome`` property maps to the instance status.
_STATUS_BY_OUTCOME = {"approved": COMPLETED, "completed": COMPLETED, "rejected": REJECTED,
                      "return_limit": REJECTED, "withdrawn": WITHDRAWN, "cancelled": WITHDRAWN}

RETURN_LIMIT_MESSAGE = "退案次数已达上限，案件自动结案"


class ProcessFailed(DomainError):
    """The engine could not run the process as defined (a script failed, a loop never waits, a budget of
    :data:`engine.LIMITS` ran out). Nothing is saved; the applicant gets a generic answer and the detail
    (``detail``) goes to the log for administrators."""

    status = 422
    code = "process_definition_error"

    def __init__(self, detail: str) -> None:
        super().__init__(PROCESS_FAILED_MESSAGE)
        self.detail = detail


PROCESS_FAILED_MESSAGE = "流程定义错误，暂时无法办理，请联系管理员"
_log = logging.getLogger(__name__)


def _failed(instance: ProcessInstance, exc: engine.EngineError) -> ProcessFailed:
    """Log what went wrong (the administrator fixes the diagram) and answer the generic error."""
    _log.error("process %s (version %s, instance %s) failed: %s", instance.process_key,
               instance.version_hash[:12], instance.id or "new", exc, exc_info=exc)
    return ProcessFailed(str(exc))


def _hooks(key: str) -> registry.ProcessHooks:
    hooks = registry.hooks_for(key)
    if hooks is None:
        raise NotFound(f"流程 {key} 不存在")
    return hooks


def _service_handler(instance: ProcessInstance, actor: Actor, writes: WriteBatch | None = None
                     ) -> engine.ServiceHandler:
    def handle(name: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
        op = registry.operation(name)
        if op is None:
            raise engine.EngineError(f"unknown operation {name}")
        if instance.id is None:  # a service task before the first wait: the operation may need the id
            db.session.flush()
        return op(params, data, registry.OperationContext(instance=instance, actor=actor, writes=writes))
    return handle


def _lane_org(instance: ProcessInstance, lane: str | None) -> dict | None:
    return (instance.lane_orgs or {}).get(lane or "") or None


def _applicant_org(instance: ProcessInstance) -> dict | None:
    """The organisation an applicant's step (revise, withdraw) is recorded under in the history, as at the
    start: the unit that declared, else the applicant's unit — found among the lane organisations."""
    org_id = instance.started_for_org_id or instance.subject_org_id
    return next((org for org in (instance.lane_orgs or {}).values() if org and org.get("id") == org_id), None)


# --------------------------------------------------------------------------- reads used by services and views


def startable_versions(actor: Actor) -> list[ProcessVersion]:
    out = []
    for key in registry.process_keys():
        if _hooks(key).can_start(actor):
            version = current_version(key)
            if version is not None:
                out.append(version)
    return out


def start_form(key: str) -> tuple[ProcessVersion, dict, dict]:
    version = current_version(key)
    if version is None or registry.hooks_for(key) is None:
        raise NotFound(f"流程 {key} 不存在")
    parsed = parsed_for(version)
    forms = forms_for(version.content_hash)
    return version, forms[parsed.start.form], forms.get(parsed.start.ui_form or "", {})


def task_form(task: WorkflowTask, version_hash: str | None = None) -> tuple[dict, dict]:
    version_hash = version_hash or task.instance.version_hash
    info = parsed_by_hash(version_hash).user_tasks[task.task_spec]
    forms = forms_for(version_hash)
    return forms[info.form], forms.get(info.ui_form or "", {})


def can_act(actor: Actor, task: WorkflowTask) -> bool:
    if task.candidate_user_id is not None:
        return task.candidate_user_id == actor.id
    return actor.can_in(task.candidate_org_id, task.candidate_permission or "")


def visible_task(task_id: str, actor: Actor) -> WorkflowTask:
    """The task, if the actor is (or was) one of its candidates; otherwise 404."""
    task = db.session.get(WorkflowTask, task_id)
    if task is None or not can_act(actor, task):
        raise NotFound("任务不存在或您无权处理")
    return task


def can_see_instance(actor: Actor, instance: ProcessInstance) -> bool:
    """The applicant and who started it; administrators of a lane's organisation, or at or above the
    applicant's unit, whose role holds the module this process's reviewers need or staff data (a
    sub-administrator's role decides, as for every other module)."""
    if instance.started_by_id == actor.id:
        return True
    if instance.applicant_id_number and instance.applicant_id_number == actor.user.id_number:
        return True
    return oversees_instance(actor, instance)


def oversees_instance(actor: Actor, instance: ProcessInstance, *, declarer_counts: bool = True) -> bool:
    """Whether the actor sees the case as one of its organisations: an administrator of a lane's organisation,
    or at or above the applicant's unit, whose role holds the process's module or staff data.
    ``declarer_counts=False``: the organisation the case was declared for, when it is not the applicant's
    unit (a training institution declaring for its student), does not count as one of the lanes."""
    hooks = registry.hooks_for(instance.process_key)
    modules = ((hooks.permission,) if hooks else ()) + STAFF_DATA_MODULES
    holding = [m for m in actor.memberships if any(m.can(module) for module in modules)]
    lane_org_ids = {(v or {}).get("id") for v in (instance.lane_orgs or {}).values()}
    if not declarer_counts and instance.started_for_org_id != instance.subject_org_id:
        lane_org_ids.discard(instance.started_for_org_id)
    if any(m.organisation_id in lane_org_ids for m in holding):
        return True
    if instance.subject_org_id is not None and holding:
        from app.accounts.models import Organisation

        org = db.session.get(Organisation, instance.subject_org_id)
        return org is not None and any(org.path.startswith(m.organisation.path) for m in holding)
    return False


def visible_instance(instance_id: int, actor: Actor) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or not can_see_instance(actor, instance):
        raise NotFound("申报不存在或您无权查看")
    return instance


def instance_data(instance: ProcessInstance) -> dict[str, Any]:
    """The instance's data so far (deserializes: for one detail view, never for lists). The data of a state
    read before in this process comes from :data:`_DATA` (a copy), without deserializing again."""
    data = _DATA.get(instance.id, instance.version_hash, instance.state_json)
    if data is None:
        data = engine.Run.load(parsed_by_hash(instance.version_hash), instance.state_json).data()
        _DATA.put(instance.id, instance.version_hash, instance.state_json, copy.deepcopy(data))
        return data
    return copy.deepcopy(data)


class _StateData:
    """The data of recently viewed instances, each with the exact state text (and version) it was read from:
    a page viewed again, or by the next reviewer, needs no deserialization. A state changed since (by any
    process) is another text and misses. Bounded: the least recently used entries go first."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[str, str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, instance_id: int, version_hash: str, state_json: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(instance_id)
            if entry is None or entry[0] != version_hash or entry[1] != state_json:
                return None
            self._entries.move_to_end(instance_id)
            return entry[2]

    def put(self, instance_id: int, version_hash: str, state_json: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._entries[instance_id] = (version_hash, state_json, data)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)


_DATA = _StateData()


def history(instance: ProcessInstance) -> list[ApprovalEvent]:
    return list(db.session.scalars(
        select(ApprovalEvent).where(ApprovalEvent.instance_id == instance.id).order_by(ApprovalEvent.id)))


def open_tasks(instance: ProcessInstance) -> list[WorkflowTask]:
    return list(db.session.scalars(
        select(WorkflowTask).where(WorkflowTask.instance_id == instance.id, WorkflowTask.completed_at.is_(None))
        .order_by(WorkflowTask.created_at)))


def histories(instance_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The history of each instance, read in one statement (a list of instances costs what one does): the
    approval_event rows as mappings (column name → value; no ORM objects to build for an answer)."""
    out: dict[int, list[Any]] = {i: [] for i in instance_ids}
    if out:
        for row in db.session.execute(_history_statement(), {"b_ids": list(out)}).mappings():
            out[row["instance_id"]].append(row)
    return out


@functools.cache
def _history_statement() -> Any:
    return (select(*ApprovalEvent.__table__.c).where(ApprovalEvent.instance_id.in_(bindparam("b_ids", expanding=True)))
            .order_by(ApprovalEvent.id))


# --------------------------------------------------------------------------- writes


def _validated(schema: dict, raw: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    data = defaults_from(schema, coerce(schema, raw), context)
    errors = validate(schema, data, context)
    if errors:
        raise ValidationFailed("提交的内容有误，请按提示修改", errors)
    if schema.get("x-clear-absent"):
        for name in schema.get("properties", {}):
            data.setdefault(name, None)
    return data


def start_process(key: str, raw: dict[str, Any], *, actor: Actor) -> ProcessInstance:
    """Validate the start form, create the instance and run it to its first wait."""
    hooks = _hooks(key)
    if not hooks.can_start(actor):
        raise PermissionDenied("您无权发起此流程")
    version, schema, _ui = start_form(key)
    data = _validated(schema, raw, {})
    ctx = hooks.prepare_start(data, actor)
    lanes = resolve_lanes(ctx.subject_unit, ctx.extra_lanes)
    lane_orgs = {lane: ({"id": org.id, "name": org.name} if org is not None else None)
                 for lane, org in lanes.items()}
    now = utcnow()
    instance = ProcessInstance(
        process_version_id=version.id, process_key=key, version_hash=version.content_hash,
        status=RUNNING, state_json="",
        serializer_version=engine.SERIALIZER_VERSION, started_by_id=actor.id,
        started_for_org_id=ctx.started_for_org.id if ctx.started_for_org else None,
        subject_person_id=ctx.subject_person.id if ctx.subject_person else None,
        subject_org_id=ctx.subject_unit.id if ctx.subject_unit else None,
        lane_orgs=lane_orgs, applicant_name=ctx.applicant_name, applicant_id_number=ctx.applicant_id_number,
        year=ctx.year, title=ctx.title, created_at=now, updated_at=now,
    )
    parsed = parsed_for(version)
    # the lane organisations were just loaded in this transaction: their flags need no second query
    start_data = {**data, **ctx.data, "lanes": flags_for(lanes)}
    # not flushed yet: _save INSERTs the instance together with its first state (no second UPDATE)
    db.session.add(instance)
    try:
        run = engine.Run.start(parsed, start_data, _service_handler(instance, actor))
    except engine.EngineError as exc:
        raise _failed(instance, exc) from exc
    org = ctx.started_for_org or ctx.subject_unit
    submitted = _event(instance.id, step=parsed.start.spec_id, step_name=parsed.start.name,
                       organisation_id=org.id if org else None, organisation_name=org.name if org else None,
                       user_id=actor.id, user_name=actor.name, at=now, outcome="submit")
    on_data = hooks.on_data
    _save(instance, run, actor, now, [submitted], completed_task_id=None, open_before=set(),
          with_first_writes=(lambda writes: on_data(instance, start_data, writes)) if on_data else None,
          org_names={o.id: o.name for o in lanes.values() if o is not None}, started=True)
    return instance


def complete_task(task_id: str, raw: dict[str, Any], *, actor: Actor) -> ProcessInstance:
    """Complete one open task the actor may act on. 404 when not theirs, 409 when no
    longer open, 422 with field errors when the form is invalid."""
    # one statement: the task and its instance, the instance locked (PostgreSQL) and read fresh; who may act
    # is checked on that row, with the same 404 as visible_task
    found = db.session.execute(_task_and_instance(db.session.get_bind().dialect.name),
                               {"b_task": task_id}).one_or_none()
    if found is None or not can_act(actor, found[1]):
        raise NotFound("任务不存在或您无权处理")
    instance, task, reviewing, names, history = found
    if task.completed_at is not None or instance.status != RUNNING:
        raise InvalidState("该任务已被处理，不能重复提交")
    if task.assignee_id is not None and task.assignee_id != actor.id:
        raise InvalidState("该任务已被其他人认领")
    parsed = parsed_by_hash(instance.version_hash)
    writes = WriteBatch(db.session)   # a service task's writes go out with this action's own
    run = engine.Run.load(parsed, instance.state_json, _service_handler(instance, actor, writes),
                          parked_as=instance.id)
    # the task state under the lock is the truth (on PostgreSQL the joined task row may predate a
    # completion committed while this request waited for the lock)
    if not run.is_ready(task_id):
        raise InvalidState("该任务已被处理，不能重复提交")
    open_before = run.ready_ids()
    before = run.task_data(task_id)
    schema, _ui = task_form(task, instance.version_hash)
    data = _validated(schema, raw, before)
    outcome = str(data.get("outcome") or data.get("action") or "submit")
    if outcome == "withdraw":  # withdrawing keeps the application as it was: edits typed on the form go
        data = {k: v for k, v in data.items() if k in ("action", "comment")}
    data["lanes"] = flags_from(instance.lane_orgs or {}, reviewing)  # read fresh: review may be switched mid-chain
    now = utcnow()
    try:
        run.complete(task_id, data)
    except engine.EngineError as exc:
        raise _failed(instance, exc) from exc

    # what the step changed; a rejection or a return changes nothing (e.g. hours prefilled on the form)
    changes = {} if outcome in ("reject", "return") else {
        k: [before.get(k), v] for k, v in data.items()
        if k in schema.get("properties", {}) and k not in ("outcome", "action", "comment")
        and before.get(k) != v and not (before.get(k) is None and v in (None, "", []))}
    org = _lane_org(instance, task.lane) if task.candidate_user_id is None else _applicant_org(instance)
    events = [_event(instance.id, task_id=task.id, step=task.task_spec, step_name=task.name,
                     organisation_id=org["id"] if org else None, organisation_name=org["name"] if org else None,
                     user_id=actor.id, user_name=actor.name, at=now, outcome=outcome,
                     comment=data.get("comment") or None, changes=changes or None)]
    audit.record("task.complete", actor=actor, obj=task, org_id=org["id"] if org else instance.subject_org_id,
                 details={"process": instance.process_key, "instance_id": instance.id, "step": task.task_spec,
                          "outcome": outcome}, writes=writes)
    summary: dict[str, Any] = {}
    if outcome == "resubmit":
        hooks = _hooks(instance.process_key)
        if hooks.summarise:
            summary = hooks.summarise(run.data())
        if hooks.on_data:
            hooks.on_data(instance, run.data(), None)
    _save(instance, run, actor, now, events, completed_task_id=task_id, open_before=open_before, summary=summary,
          writes=writes, org_names=names_from(names), history_before=_history_from(history))
    # the loaded task row shows what the Core UPDATE wrote (later reads in this transaction)
    set_committed_value(task, "completed_at", now)
    set_committed_value(task, "completed_by_id", actor.id)
    return instance


_INSTANCE = ProcessInstance.__table__
_TASK = WorkflowTask.__table__
_EVENT = ApprovalEvent.__table__
_EVENT_COLUMNS = tuple(c.name for c in _EVENT.columns if c.name != "id")

# The statements every action runs, built once (building and compiling them per call cost more CPU
# than the database spends on them): parameters only.
_INSERT_TASKS = insert(_TASK)
_INSERT_EVENTS = insert(_EVENT)
#: Close the row of a task that is no longer ready: completed by the actor, or cancelled.
_CLOSE_TASK = (
    update(_TASK).where(_TASK.c.id == bindparam("b_id"), _TASK.c.completed_at.is_(None))
    .values(completed_at=bindparam("b_now"), completed_by_id=bindparam("b_by"), cancelled=bindparam("b_cancelled")))


@functools.cache
def _task_and_instance(dialect: str) -> Any:
    """A task with its instance, read fresh (and the instance row locked where the database can), which of the
    instance's lane organisations review now, their current names, and the instance's history so far (for the
    answer: :func:`_history_from`)."""
    query = (select(ProcessInstance, WorkflowTask, reviewing_ids(ProcessInstance.lane_orgs, dialect),
                    lane_names(ProcessInstance.lane_orgs, dialect), _history_json(dialect))
             .join(WorkflowTask, WorkflowTask.instance_id == ProcessInstance.id)
             .where(WorkflowTask.id == bindparam("b_task")).execution_options(populate_existing=True))
    return query.with_for_update(of=ProcessInstance) if dialect == "postgresql" else query


#: The history columns an answer shows (HistorySchema), with the id that orders them.
_HISTORY_COLUMNS = ("id", "step", "step_name", "organisation_name", "user_name", "at", "outcome", "comment",
                    "changes")


def _history_json(dialect: str) -> Any:
    """SQL: the instance's approval_event rows as a JSON array of objects (a scalar subquery of the locked read)."""
    c = _EVENT.c
    if dialect == "postgresql":
        row = func.json_build_object(*(x for name in _HISTORY_COLUMNS for x in (literal(name), c[name])))
        rows = func.json_agg(row)
    else:
        row = func.json_object(*(x for name in _HISTORY_COLUMNS
                                 for x in (literal(name), func.json(c[name]) if name == "changes" else c[name])))
        rows = func.json_group_array(row)
    return select(rows).where(c.instance_id == ProcessInstance.id).scalar_subquery()


def _history_from(answer: Any) -> list[SimpleNamespace]:
    """The rows of :func:`_history_json` (a list on PostgreSQL, JSON text on SQLite) in their order."""
    if isinstance(answer, str):
        answer = json.loads(answer)
    rows = [SimpleNamespace(**{**row, "at": datetime.fromisoformat(row["at"])}) for row in answer or ()]
    rows.sort(key=lambda row: row.id)
    return rows


@functools.cache
def _instance_update(columns: tuple[str, ...]) -> Any:
    """UPDATE of these instance columns, guarded by the lock version the action read."""
    return (update(_INSTANCE)
            .where(_INSTANCE.c.id == bindparam("b_id"), _INSTANCE.c.lock_version == bindparam("b_old_version"))
            .values({name: bindparam(f"v_{name}") for name in columns}))


def _event(instance_id: int, **values: Any) -> dict[str, Any]:
    """An approval_event row as the Core INSERT takes it: every column, as the write batch wants (no defaults)."""
    row = dict.fromkeys(_EVENT_COLUMNS)
    row.update(values, instance_id=instance_id)
    return row


def _save(instance: ProcessInstance, run: engine.Run, actor: Actor, now, events: list[dict[str, Any]],
          completed_task_id: str | None, open_before: set[str], summary: dict[str, Any] | None = None,
          with_first_writes: Callable[[WriteBatch], None] | None = None, writes: WriteBatch | None = None,
          org_names: dict[int, str] | None = None, history_before: list[Any] | None = None,
          started: bool = False) -> None:
    """Persist the engine state and bring the inbox rows, the status and the audit trail in line with it.

    The hot path of every action, so it writes with Core statements (no unit-of-work bookkeeping) sent
    together (:class:`WriteBatch`: one round trip on PostgreSQL): the task rows that closed, the new ones,
    the history rows and last the instance row, guarded by its lock version. A new instance is INSERTed
    first through the ORM (it needs its id); ``with_first_writes`` may add its domain rows to the batch.
    ``writes``: the batch to add to (a service task of this action may have put its writes in it first).
    ``open_before``: the ids of the user tasks that were ready (and so had open rows) before this action.
    ``org_names``: current names of the lane organisations, read by the action: with the rows written they make
    the answer (:func:`written`) without reading the instance's tasks back; ``history_before``, the history
    the action read (with the lock), makes the answer's history with the events written. ``started``: the
    action started the instance (a service task before its first wait may have flushed it already).
    """
    data = run.data()
    values: dict[str, Any] = {
        "state_json": run.dump(), "serializer_version": engine.SERIALIZER_VERSION, "updated_at": now,
        "return_count": int(data.get("return_count") or 0), **(summary or {}),
    }
    outcome = None
    if run.is_completed():
        outcome = run.end_outcome() or "completed"
        values.update(outcome=outcome, status=_STATUS_BY_OUTCOME.get(outcome, COMPLETED), completed_at=now)
    if outcome == "return_limit":
        events.append(_event(instance.id, step="return_limit", step_name="自动结案", user_name="系统", at=now,
                             outcome="closed", comment=f"{RETURN_LIMIT_MESSAGE}（{values['return_count']}次）"))
    if writes is None:
        writes = WriteBatch(db.session)
    is_new = started or instance in db.session.new
    if is_new:
        # a new instance: the ORM INSERTs it with its first state (and gives it its id)
        for attr, value in values.items():
            setattr(instance, attr, value)
        db.session.flush()
        for row in events:
            row["instance_id"] = instance.id
        if with_first_writes is not None:
            with_first_writes(writes)
    else:
        # flush whatever a hook changed first: the guarded UPDATE must see the current lock version
        db.session.flush()
    ready = {t.id: t for t in run.ready_tasks()}
    for task_id in sorted(open_before - ready.keys()):
        done = task_id == completed_task_id
        writes.add(_CLOSE_TASK, {"b_id": task_id, "b_now": now, "b_by": actor.id if done else None,
                                 "b_cancelled": not done})
    hooks = _hooks(instance.process_key)
    opened: list[dict[str, Any]] = []
    for task_id, t in ready.items():
        if task_id in open_before:
            continue
        lane = t.info.lane
        org = None if lane == "applicant" else _lane_org(instance, lane)
        opened.append({
            "id": task_id, "instance_id": instance.id, "process_key": instance.process_key,
            "task_spec": t.info.spec_id, "name": t.info.name, "lane": lane, "form": t.info.form,
            "candidate_org_id": org["id"] if org else None,
            "candidate_permission": None if lane == "applicant" else hooks.permission,
            "candidate_user_id": instance.started_by_id if lane == "applicant" else None,
            "assignee_id": None, "due_at": None, "completed_at": None, "completed_by_id": None, "cancelled": False,
            "created_at": now, "applicant_name": instance.applicant_name,
            # a resubmission's summary (e.g. a renamed course) is what the next reviewer's inbox shows
            "applicant_id_number": instance.applicant_id_number, "year": values.get("year", instance.year),
            "title": values.get("title", instance.title),
        })
        writes.add(_INSERT_TASKS, opened[-1])
    writes.add_rows(_INSERT_EVENTS, events)
    if is_new:
        writes.send()
    else:
        # the instance row last, so the batch's row count is the guard's
        old_version = instance.lock_version
        values["lock_version"] = old_version + 1
        writes.add(_instance_update(tuple(values)), {**{f"v_{k}": v for k, v in values.items()},
                                                     "b_id": instance.id, "b_old_version": old_version})
        if writes.send() != 1:
            raise InvalidState("该申报已被他人同时处理，请刷新后重试")
        for attr, value in values.items():  # the loaded object shows the new state without a reload
            set_committed_value(instance, attr, value)
    # once this transaction commits, the next action on the instance finds the workflow in memory
    db.session.info.setdefault(_PARKING, []).append((run, instance.id))
    # what the answer needs, as written: the open tasks when all of them are new (none stayed open), the
    # history when the instance is new (this action's events are all of it) or the action read the earlier one
    carried = open_before & ready.keys()
    db.session.info.setdefault(_WRITTEN, {})[instance.id] = Written(
        tasks=None if carried or org_names is None else
        [SimpleNamespace(**row) for row in sorted(opened, key=lambda row: row["id"])],
        org_names=org_names or {},
        history=[*(history_before or ()), *(SimpleNamespace(**row) for row in events)]
        if is_new or history_before is not None else None)


_WRITTEN = "workflow.written"


class Written(SimpleNamespace):
    """What an action of this transaction wrote for an instance: ``tasks`` (its open task rows, or None when
    some were open before and are not held), ``org_names`` of their organisations and ``history`` (or None)."""

    tasks: list[SimpleNamespace] | None
    org_names: dict[int, str]
    history: list[SimpleNamespace] | None


def written(instance_ids: Sequence[int]) -> dict[int, Written]:
    """For the answer of the action under way: what it wrote for these instances (see :func:`_save`)."""
    held = db.session.info.get(_WRITTEN)
    if not held:
        return {}
    return {i: held[i] for i in instance_ids if i in held}


_PARKING = "workflow.parking"


@event.listens_for(Session, "after_commit")
def _park_committed_runs(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_WRITTEN, None)
    for run, key in session.info.pop(_PARKING, ()):
        run.park(key)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_runs(session: Session, _transaction) -> None:
    session.info.pop(_PARKING, None)
    session.info.pop(_WRITTEN, None)


#: How often a batch review runs when the database keeps breaking deadlocks by rolling it back; on the
#: last run such a task is reported as failed instead.
BATCH_ATTEMPTS = 3
BUSY_MESSAGE = "系统繁忙，该任务未能审核，请稍后重试"


class _StartOver(Exception):
    """The database rolled a step of the batch back to break a deadlock: run the whole batch again."""


def complete_tasks(task_ids: list[str], raw: dict[str, Any], *, actor: Actor
                   ) -> tuple[list[str], list[dict[str, str]]]:
    """Batch review (批量审核): each task in its own savepoint; failures do not stop the rest.

    Returns the completed ids and ``{"id", "error"}`` of the others, both in the order asked.

    Races: the instances are locked up front in one global order (by id) before any step runs, so
    overlapping batches queue behind each other instead of deadlocking. Rows a step locks elsewhere (a
    person's annual verification, when the last approval records hours) can still close a cycle with
    another batch; PostgreSQL then breaks it by failing one statement (deadlock_detected, or a
    serialization failure). Only rolling back the whole transaction frees the locks the earlier tasks
    took, so when the batch is the first thing its transaction writes (as in the views), it rolls the
    transaction back and starts over, at most :data:`BATCH_ATTEMPTS` times. Otherwise, and on the last
    run, that task alone is reported as failed with :data:`BUSY_MESSAGE`. A race is never a 500.
    """
    asked = list(dict.fromkeys(str(t) for t in task_ids))
    restartable = _nothing_written()
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            done, failed = _complete_in_lock_order(asked, raw, actor,
                                                   start_over=restartable and attempt < BATCH_ATTEMPTS)
        except _StartOver:
            db.session.rollback()
            continue
        position = {task_id: i for i, task_id in enumerate(asked)}
        return (sorted(done, key=position.__getitem__),
                [{"id": t, "error": failed[t]} for t in sorted(failed, key=position.__getitem__)])
    raise AssertionError("unreachable: the last attempt never starts over")


def _nothing_written() -> bool:
    """True when this transaction holds no write or row lock yet (rolling it back loses nothing)."""
    if db.session.new or db.session.dirty or db.session.deleted:
        return False
    if db.session.get_bind().dialect.name != "postgresql":
        return False  # no deadlock is ever reported there: nothing to start over for
    return bool(db.session.scalar(text("SELECT txid_current_if_assigned() IS NULL")))


def _complete_in_lock_order(asked: list[str], raw: dict[str, Any], actor: Actor, *, start_over: bool
                            ) -> tuple[list[str], dict[str, str]]:
    tasks = db.session.scalars(select(WorkflowTask).where(WorkflowTask.id.in_(asked))).all()
    instance_of = {t.id: t.instance_id for t in tasks if can_act(actor, t)}
    # by instance, the order the locks are taken in; unknown or foreign tasks last (404, nothing locked)
    order = sorted(asked, key=lambda t: (t not in instance_of, instance_of.get(t, 0)))
    done: list[str] = []
    failed: dict[str, str] = {}
    if instance_of and db.session.get_bind().dialect.name == "postgresql":
        locking = db.session.begin_nested()
        try:
            db.session.execute(select(_INSTANCE.c.id).where(_INSTANCE.c.id.in_(set(instance_of.values())))
                               .order_by(_INSTANCE.c.id).with_for_update())
        except DBAPIError as exc:
            if not is_retryable(exc):
                raise
            if start_over:
                raise _StartOver from exc
            locking.rollback()
            return [], dict.fromkeys(asked, BUSY_MESSAGE)
        locking.commit()
    for task_id in order:
        item = db.session.begin_nested()
        try:
            complete_task(task_id, dict(raw), actor=actor)
        except DomainError as exc:
            item.rollback()
            detail = exc.message
            if exc.fields:
                detail += "：" + "；".join(f"{k} {v}" for k, v in exc.fields.items())
            failed[task_id] = detail
            continue
        except DBAPIError as exc:
            if not is_retryable(exc):
                raise
            if start_over:
                raise _StartOver from exc
            item.rollback()
            failed[task_id] = BUSY_MESSAGE
            continue
        item.commit()
        done.append(task_id)
    return done, failed


def claim_task(task_id: str, *, actor: Actor) -> WorkflowTask:
    task = visible_task(task_id, actor)
    if task.completed_at is not None:
        raise InvalidState("该任务已被处理")
    result = db.session.execute(
        update(WorkflowTask).where(WorkflowTask.id == task_id, WorkflowTask.completed_at.is_(None),
                                   (WorkflowTask.assignee_id.is_(None)) | (WorkflowTask.assignee_id == actor.id))
        .values(assignee_id=actor.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise InvalidState("该任务已被其他人认领")
    db.session.refresh(task)
    return task


def unclaim_task(task_id: str, *, actor: Actor) -> WorkflowTask:
    task = visible_task(task_id, actor)
    if task.completed_at is not None:
        raise InvalidState("该任务已被处理")
    if task.assignee_id not in (None, actor.id) and not actor.is_admin_of(task.candidate_org_id or -1):
        raise InvalidState("只有认领人或单位管理员可以取消认领")
    task.assignee_id = None
    db.session.flush()
    return task


# --------------------------------------------------------------------------- withdrawing, the case's diagram


def can_withdraw(instance: ProcessInstance, actor: Actor, events: list[ApprovalEvent] | None = None) -> bool:
    """May ``actor`` withdraw (撤回) the case now? Only who submitted it, while it runs and before anyone
    decided on it (after a return the revision form offers 撤回 instead)."""
    if instance.status != RUNNING or instance.started_by_id != actor.id:
        return False
    events = history(instance) if events is None else events
    return all(e.outcome == "submit" for e in events)


def withdraw_instance(instance_id: int, *, actor: Actor) -> ProcessInstance:
    """撤回 a case before its first review: the workflow is cancelled, its open tasks leave the reviewers'
    inboxes, the history says who withdrew it, and the case reads 已撤回. 409 once someone has decided."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id).execution_options(
        populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    instance = db.session.scalar(query)
    if instance is None or not can_see_instance(actor, instance):
        raise NotFound("申报不存在或您无权查看")
    if instance.started_by_id != actor.id:
        raise PermissionDenied("只有提交人可以撤回")
    if not can_withdraw(instance, actor):
        raise InvalidState("已有审核记录或已办结，不能撤回")
    run = engine.Run.load(parsed_by_hash(instance.version_hash), instance.state_json)
    run.cancel()
    now = utcnow()
    for task in open_tasks(instance):
        task.completed_at, task.cancelled = now, True
    org = _applicant_org(instance)
    db.session.add(ApprovalEvent(**_event(
        instance.id, step="withdraw", step_name="申请人撤回", organisation_id=org["id"] if org else None,
        organisation_name=org["name"] if org else None, user_id=actor.id, user_name=actor.name, at=now,
        outcome="withdraw")))
    instance.state_json = run.dump()
    instance.status, instance.outcome, instance.completed_at, instance.updated_at = WITHDRAWN, "withdrawn", now, now
    audit.record("case.withdraw", actor=actor, obj=instance, org_id=org["id"] if org else instance.subject_org_id,
                 details={"process": instance.process_key})
    db.session.flush()  # the ORM bumps the lock version: an action racing on the old state fails
    return instance


def diagram_state(instance: ProcessInstance) -> dict[str, Any]:
    """The BPMN of the version the case runs on, the elements it has passed and those it waits at, and who
    holds each waiting step since when (for the case page's viewer)."""
    version = db.session.get(ProcessVersion, instance.process_version_id)
    passed = [e.step for e in history(instance) if e.step]
    waiting = open_tasks(instance)
    return {
        "xml": version.bpmn_xml if version is not None else "",
        "completed": list(dict.fromkeys(passed)),
        "current": [t.task_spec for t in waiting],
        "status": instance.status,
    }
