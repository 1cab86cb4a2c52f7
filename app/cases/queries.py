"""The read side of the task inbox and of "my applications": plain indexed selects."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import defer

from app.accounts.actor import Actor
from app.accounts.models import Organisation, User
from app.core.paging import Page
from app.core.sorting import Sort, flipped, order_clauses, parse_sort
from app.extensions import db
from app.workflow import registry
from app.workflow.models import ProcessInstance, ProcessVersion, WorkflowTask


def _actor_condition(actor: Actor):
    """Open tasks the actor may act on: their organisations' review tasks (by permission
    module) plus tasks addressed to them personally (e.g. a returned declaration)."""
    by_perm: dict[str, list[int]] = {}
    admin_orgs: list[int] = []
    for m in actor.memberships:
        if m.role == "admin":
            admin_orgs.append(m.organisation_id)
        elif m.role == "sub_admin":
            for perm in m.permissions or []:
                by_perm.setdefault(perm, []).append(m.organisation_id)
    conds = []
    if admin_orgs:
        conds.append(WorkflowTask.candidate_org_id.in_(admin_orgs))
    for perm, orgs in by_perm.items():
        conds.append(and_(WorkflowTask.candidate_org_id.in_(orgs), WorkflowTask.candidate_permission == perm))
    has_personal = db.session.scalar(select(WorkflowTask.id).where(
        WorkflowTask.candidate_user_id == actor.id, WorkflowTask.completed_at.is_(None)).limit(1))
    if has_personal:
        conds.append(WorkflowTask.candidate_user_id == actor.id)
    return or_(*conds) if conds else false()


def _task_filters(stmt: Select, process: str | None, year: int | None, q: str | None) -> Select:
    if process:
        keys = registry.filtered_process_keys(process)
        stmt = stmt.where(WorkflowTask.process_key == keys[0] if len(keys) == 1 else
                          WorkflowTask.process_key.in_(keys))
    if year:
        stmt = stmt.where(WorkflowTask.year == year)
    if q:
        q = q.strip()
        if q[:1].isdigit():
            stmt = stmt.where(WorkflowTask.applicant_id_number.startswith(q.upper(), autoescape=True))
        else:
            stmt = stmt.where(WorkflowTask.applicant_name.startswith(q, autoescape=True))
    return stmt


#: The inbox's sortable columns (``?sort=``); the default is the oldest first.
INBOX_SORTS = {"applicant": WorkflowTask.applicant_name, "id_number": WorkflowTask.applicant_id_number,
               "year": WorkflowTask.year, "title": WorkflowTask.title, "step": WorkflowTask.name,
               "arrived": WorkflowTask.created_at}
INBOX_DEFAULT_SORT = "arrived"


def inbox(actor: Actor, *, process: str | None = None, year: int | None = None, q: str | None = None,
          page: int = 1, per_page: int = 20, sort: Sort | None = None) -> Page:
    """Open tasks the actor can act on, paged, in the order of ``sort`` (default: oldest first).

    Deep pages are read from whichever end of the order is nearer, so the first and the
    last page cost the same however many tasks are open.
    """
    sort = sort or parse_sort(None, INBOX_SORTS, INBOX_DEFAULT_SORT)
    per_page = max(1, min(per_page, 200))
    page = max(1, page)
    base = _task_filters(
        select(WorkflowTask).where(WorkflowTask.completed_at.is_(None), _actor_condition(actor)),
        process, year, q)
    total = db.session.scalar(select(func.count()).select_from(base.with_only_columns(WorkflowTask.id)
                                                                .subquery()))
    offset = (page - 1) * per_page
    if offset >= total:
        return Page([], total, page, per_page)
    if offset > total // 2:
        # read backwards from the newest end: the last page is offset 0 there
        end = min(offset + per_page, total)
        limit = end - offset
        rev_offset = total - end
        rows = list(db.session.scalars(base.order_by(*order_clauses(flipped(sort), INBOX_SORTS, [WorkflowTask.id]))
                                       .offset(rev_offset).limit(limit)))
        rows.reverse()
    else:
        rows = list(db.session.scalars(base.order_by(*order_clauses(sort, INBOX_SORTS, [WorkflowTask.id]))
                                       .offset(offset).limit(per_page)))
    return Page(rows, total, page, per_page)


def open_count(actor: Actor) -> int:
    """How many open tasks the actor's inbox holds (the count beside 待办任务)."""
    return db.session.scalar(select(func.count(WorkflowTask.id))
                             .where(WorkflowTask.completed_at.is_(None), _actor_condition(actor))) or 0


#: {user id: (monotonic time it was counted, count)}: the navigation's to-do counts of this process.
_BADGES: dict[int, tuple[float, int]] = {}
_BADGES_MAX = 10_000


def badge(actor: Actor, max_age: float) -> int:
    """The actor's open-task count, counted again when older than ``max_age`` seconds (one statement a user and
    period, not one a page)."""
    now = time.monotonic()
    held = _BADGES.get(actor.id)
    if held is not None and now - held[0] < max_age:
        return held[1]
    if len(_BADGES) >= _BADGES_MAX:
        _BADGES.clear()
    count = open_count(actor)
    _BADGES[actor.id] = (now, count)
    return count


def forget_badge(user_id: int) -> None:
    """After the user's own decision: the next page counts again."""
    _BADGES.pop(user_id, None)


def forget_badges() -> None:
    """Every count of this process (a database emptied or restored under the same user ids)."""
    _BADGES.clear()


def each_open(actor: Actor, *, process: str | None = None, year: int | None = None,
              q: str | None = None) -> Iterator[WorkflowTask]:
    """Every open task of the actor's inbox, oldest first, streamed 1,000 at a time (exports)."""
    stmt = _task_filters(
        select(WorkflowTask).where(WorkflowTask.completed_at.is_(None), _actor_condition(actor)), process, year, q)
    yield from db.session.scalars(stmt.order_by(WorkflowTask.created_at, WorkflowTask.id)
                                  .execution_options(yield_per=1000))


def organisation_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


#: (process version id, content hash) → the version's number. A version row never changes, so every process may
#: keep them; the content hash in the key keeps a database restored or recreated under the same ids apart.
_VERSION_NUMBERS: dict[tuple[int, str], int] = {}


def version_numbers(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """(process version id, content hash) → its number, read once per process and version."""
    missing = {vid for vid, _hash in keys - _VERSION_NUMBERS.keys()}
    if missing:
        for vid, content_hash, number in db.session.execute(
                select(ProcessVersion.id, ProcessVersion.content_hash, ProcessVersion.version)
                .where(ProcessVersion.id.in_(missing))):
            _VERSION_NUMBERS[(vid, content_hash)] = number
    return {k: _VERSION_NUMBERS[k] for k in keys if k in _VERSION_NUMBERS}


def open_tasks_named(instance_ids: list[int]) -> tuple[dict[int, list[WorkflowTask]], dict[int, str]]:
    """The open tasks of each instance and the names of their candidate organisations, in one statement."""
    tasks: dict[int, list[WorkflowTask]] = {i: [] for i in instance_ids}
    names: dict[int, str] = {}
    if tasks:
        for t, name in db.session.execute(
                select(WorkflowTask, Organisation.name)
                .outerjoin(Organisation, Organisation.id == WorkflowTask.candidate_org_id)
                .where(WorkflowTask.instance_id.in_(tasks), WorkflowTask.completed_at.is_(None))
                .order_by(WorkflowTask.created_at, WorkflowTask.id)):
            tasks[t.instance_id].append(t)
            if name is not None:
                names[t.candidate_org_id] = name
    return tasks, names


def user_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


#: The sortable columns of "my applications" (``?sort=``); the default is the newest first.
APPLICATION_SORTS = {"title": ProcessInstance.title, "applicant": ProcessInstance.applicant_name,
                     "year": ProcessInstance.year, "status": ProcessInstance.status,
                     "submitted": ProcessInstance.created_at}
APPLICATION_DEFAULT_SORT = "-submitted"


def my_applications(actor: Actor, *, status: str | None = None, page: int = 1, per_page: int = 20,
                    sort: Sort | None = None) -> Page:
    """Instances the actor started or that are about them, in the order of ``sort`` (default: newest first)."""
    sort = sort or parse_sort(None, APPLICATION_SORTS, APPLICATION_DEFAULT_SORT)
    cond = ProcessInstance.started_by_id == actor.id
    if actor.user.id_number:
        cond = or_(cond, ProcessInstance.applicant_id_number == actor.user.id_number)
    stmt = select(ProcessInstance).where(cond).options(defer(ProcessInstance.state_json))  # a list needs no state
    if status:
        stmt = stmt.where(ProcessInstance.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(ProcessInstance.id)
                                                                .subquery()))
    rows = list(db.session.scalars(stmt.order_by(*order_clauses(sort, APPLICATION_SORTS, [ProcessInstance.id]))
                                   .offset((max(1, page) - 1) * per_page).limit(per_page)))
    return Page(rows, total, page, per_page)


def waiting_at(instance_ids: list[int]) -> dict[int, list[WorkflowTask]]:
    """Open tasks per instance: the step each application waits at, and who holds it."""
    out: dict[int, list[WorkflowTask]] = {}
    if not instance_ids:
        return out
    for t in db.session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id.in_(instance_ids),
                                                           WorkflowTask.completed_at.is_(None))):
        out.setdefault(t.instance_id, []).append(t)
    return out


def attachment_names(instance_id: int) -> dict[int, str]:
    """The file names of a case's attachments by id (the history names a file, not its number)."""
    from app.workflow.models import Attachment

    return dict(db.session.execute(
        select(Attachment.id, Attachment.filename).where(Attachment.instance_id == instance_id)).all())


#: How many recent decisions of a step :func:`typical_wait` looks at, and how many it needs to say anything.
TYPICAL_WAIT_SAMPLE = 200
TYPICAL_WAIT_MINIMUM = 5


def typical_wait(tasks: list[WorkflowTask]) -> dict[str, float]:
    """For each open task's step, the median hours the last decided tasks of that step waited (what an
    applicant may expect), from at most :data:`TYPICAL_WAIT_SAMPLE` recent decisions; steps with fewer than
    :data:`TYPICAL_WAIT_MINIMUM` decisions are left out (too few to say)."""
    out: dict[str, float] = {}
    for task in tasks:
        key = task.task_spec
        if key in out or task.candidate_user_id is not None:
            continue
        rows = db.session.execute(
            select(WorkflowTask.created_at, WorkflowTask.completed_at)
            .where(WorkflowTask.process_key == task.process_key, WorkflowTask.task_spec == key,
                   WorkflowTask.completed_at.is_not(None), WorkflowTask.cancelled.is_(False))
            .order_by(WorkflowTask.completed_at.desc()).limit(TYPICAL_WAIT_SAMPLE)).all()
        waits = sorted((done - made).total_seconds() / 3600 for made, done in rows)
        if len(waits) >= TYPICAL_WAIT_MINIMUM:
            mid = len(waits) // 2
            out[key] = waits[mid] if len(waits) % 2 else (waits[mid - 1] + waits[mid]) / 2
    return out


@dataclass
class Waiting:
    """The open tasks of one process the actor can act on: how many, and the oldest."""

    process_key: str
    count: int
    oldest_at: object
    oldest_instance_id: int | None


def waiting_by_process(actor: Actor) -> list[Waiting]:
    """The workbench's to-do counts: the actor's open tasks grouped by process, each with its oldest case."""
    cond = and_(WorkflowTask.completed_at.is_(None), _actor_condition(actor))
    rows = db.session.execute(select(WorkflowTask.process_key, func.count(WorkflowTask.id))
                              .where(cond).group_by(WorkflowTask.process_key)).all()
    out = []
    for key, count in sorted(rows):
        oldest = db.session.execute(select(WorkflowTask.created_at, WorkflowTask.instance_id)
                                    .where(cond, WorkflowTask.process_key == key)
                                    .order_by(WorkflowTask.created_at, WorkflowTask.id).limit(1)).first()
        out.append(Waiting(key, int(count), oldest[0] if oldest else None, oldest[1] if oldest else None))
    return out
