"""The export centre (导出任务): lists exported as background jobs to an .xlsx in the jobs folder, read in
batches by key so a province's list is never held in memory. Cells that could run as formulas are
neutralised and ID numbers stay text (:mod:`app.imports.xlsx`)."""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask_babel import gettext
from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Role, User
from app.archive import records
from app.archive import services as archive
from app.archive.models import LEARNING_FORMS, SUBJECT_TYPES
from app.audit import services as audit
from app.cases import queries as cases_queries
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import sentence
from app.core.models import utcnow
from app.core.web import OUTCOME_LABELS
from app.extensions import db
from app.people import fields, queries
from app.people import services as people
from app.registration import queries as reviewed_queries
from app.taskcentre import files
from app.taskcentre.models import FAILED, FINISHED, RUNNING, BackgroundJob
from app.taskcentre.services import (
    Kind,
    beat,
    create_job,
    is_current,
    register_kind,
    result_file,
    send,
    visible_job,
)
from app.taskcentre.services import download as job_download
from app.workflow.models import ProcessVersion

from .registry import Column
from .xlsx import write_rows

log = logging.getLogger(__name__)

JOB_KIND = "export"
#: The job's title and closing message, stored in Chinese; the task centre shows them in the page's language.
EXPORT_TITLE = sentence("%(kind)s导出")
EXPORTED = sentence("共导出%(count)s条")
PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class ExportKind:
    key: str
    label: str
    allowed: Callable[[Actor], bool]
    columns: tuple[Column, ...]
    #: The rows for this actor and these filters, in order.
    rows: Callable[[Actor, dict[str, Any]], Iterator[list[Any]]]
    #: Checks the filters for this actor before the job is created (raises ValidationFailed, or NotFound for
    #: something outside the actor's scope).
    check: Callable[[Actor, dict[str, Any]], None] = lambda actor, filters: None
    audit_action: str = "export.people"


def _people_rows(actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    for row in queries.each(actor, queries.Filters.of(filters)):
        p = row.person
        yield [row.unit_name, row.department_name] + [getattr(p, f.name) for f in fields.FIELDS]


def _year(filters: dict[str, Any]) -> int:
    year = str(filters.get("year") or "")
    if not year.isdigit() or not 1990 <= int(year) <= 2100:
        raise ValidationFailed("请求参数有误", {"filters": "档案查询导出须给出年度（filters.year）"})
    return int(year)


def _archive_rows(actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    year, after = _year(filters), None
    verified = {"true": True, "false": False}.get(str(filters.get("verified", "")).lower())
    while True:
        page = archive.search(actor, year=year, name=filters.get("name"), id_number=filters.get("id_number"),
                              region=filters.get("region"), title_level=filters.get("title_level"),
                              gender=filters.get("gender"), verified=verified, per_page=1000, after=after)
        for r in page.items:
            yield [r.person.name, r.person.id_number, r.unit_name, r.region, r.year, float(r.total_hours),
                   r.result_label, "；".join(r.missing)]
        if page.next_after is None:
            return
        after = page.next_after


def _text(filters: dict[str, Any], key: str, limit: int = 50) -> str | None:
    return str(filters.get(key) or "").strip()[:limit] or None


def _number(filters: dict[str, Any], key: str) -> int | None:
    value = str(filters.get(key) or "").strip()
    return int(value) if value.isdigit() and len(value) <= 4 else None


def _declaration_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters of the records page (学时申报记录 / 单位申报记录), as it reads them."""
    return {"scope": filters.get("scope") if filters.get("scope") in records.SCOPES else "mine",
            "status": filters.get("status") if filters.get("status") in records.STATUS_TABS else "all",
            "year": _number(filters, "year"),
            "learning_form": filters.get("learning_form") if filters.get("learning_form") in LEARNING_FORMS else None,
            "subject_type": filters.get("subject_type") if filters.get("subject_type") in SUBJECT_TYPES else None,
            "course_name": _text(filters, "course_name", 200),
            "name": _text(filters, "name"), "id_number": _text(filters, "id_number", 18)}


def _declaration_rows(actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    for instance, d in records.each_declaration(actor, **_declaration_filters(filters)):
        unit = (instance.lane_orgs or {}).get("unit") or {}
        yield [instance.applicant_name, instance.applicant_id_number, unit.get("name"), instance.year,
               SUBJECT_TYPES.get(d.subject_type, d.subject_type) if d else None,
               d.course_name if d else instance.title,
               LEARNING_FORMS.get(d.learning_form, d.learning_form) if d else None,
               float(d.hours) if d and d.hours is not None else None,
               "单位申报" if d and d.declared_by_unit else "本人申报",
               records.STATUS_LABELS.get(instance.status, instance.status), instance.created_at]


def _reviewer(actor: Actor) -> bool:
    return any(m.role != Role.MEMBER for m in actor.memberships)


def _process_names() -> dict[str, str]:
    return dict(db.session.execute(select(ProcessVersion.process_key, ProcessVersion.name)
                                   .order_by(ProcessVersion.version)).all())


def _reviewed_rows(actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    names = _process_names()
    for r in reviewed_queries.each_reviewed(actor, process=_text(filters, "process"), q=_text(filters, "q")):
        t = r.task
        yield [t.applicant_name, t.applicant_id_number, t.title or names.get(t.process_key, t.process_key), t.name,
               OUTCOME_LABELS.get(r.outcome or "", r.outcome), r.comment, r.reviewer, r.organisation, r.at]


def _inbox_rows(actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    names, orgs = _process_names(), {}
    for t in cases_queries.each_open(actor, process=_text(filters, "process"), year=_number(filters, "year"),
                                     q=_text(filters, "q")):
        if t.candidate_org_id not in orgs:
            orgs.update(cases_queries.organisation_names({t.candidate_org_id} - {None}))
        yield [t.applicant_name, t.applicant_id_number, t.title or names.get(t.process_key, t.process_key), t.name,
               orgs.get(t.candidate_org_id), t.year, t.created_at, t.due_at]


_TASK_COLUMNS = (Column("申请人", "applicant"), Column("公民身份号码", "id_number"), Column("业务", "process"),
                 Column("环节", "step"))

_KINDS = {k.key: k for k in (
    ExportKind("people", "人员名单", people.may_manage,
               (Column("单位", "unit"), Column("部门", "department"))
               + tuple(Column(f.label, f.name, text=f.kind != "date") for f in fields.FIELDS),
               _people_rows, audit_action="export.people"),
    ExportKind("archive", "档案查询结果", lambda a: bool(a.staff_roots),
               (Column("姓名", "name"), Column("公民身份号码", "id_number"), Column("单位", "unit"),
                Column("地区", "region"), Column("年度", "year", text=False),
                Column("总学时", "total_hours", text=False), Column("验证结果", "result"),
                Column("未达标原因", "missing")),
               _archive_rows, check=lambda a, f: _year(f) and None, audit_action="export.archive"),
    ExportKind("declarations", "学时申报记录", lambda a: True,
               (Column("姓名", "name"), Column("公民身份号码", "id_number"), Column("单位", "unit"),
                Column("年度", "year", text=False), Column("科目类型", "subject_type"),
                Column("课程名称", "course_name"), Column("学习形式", "learning_form"),
                Column("申报学时", "hours", text=False), Column("申报方式", "declared_by"),
                Column("状态", "status"), Column("申报时间", "created_at", text=False)),
               _declaration_rows, audit_action="export.declarations"),
    ExportKind("reviewed", "已审核", _reviewer,
               _TASK_COLUMNS + (Column("审核结果", "outcome"), Column("审核意见", "comment"),
                                Column("审核人", "reviewer"), Column("审核机构", "organisation"),
                                Column("审核时间", "at", text=False)),
               _reviewed_rows, audit_action="export.reviewed"),
    ExportKind("inbox", "待办任务", _reviewer,
               _TASK_COLUMNS + (Column("审核机构", "organisation"), Column("年度", "year", text=False),
                                Column("到达时间", "created_at", text=False),
                                Column("办理期限", "due_at", text=False)),
               _inbox_rows, audit_action="export.inbox"),
)}

#: Modules whose import registers more kinds (:func:`register_export`): loaded on first use, so this module
#: imports no domain that exports through it.
EXPORT_MODULES = ("app.classes.exports",)


def register_export(kind: ExportKind) -> None:
    _KINDS[kind.key] = kind


@functools.cache
def _load_export_modules() -> None:
    for name in EXPORT_MODULES:
        importlib.import_module(name)


def _kinds() -> dict[str, ExportKind]:
    _load_export_modules()
    return _KINDS


def start(actor: Actor, kind_key: str, filters: dict[str, Any]) -> BackgroundJob:
    kinds = _kinds()
    kind = kinds.get(kind_key)
    if kind is None:
        choices = gettext("、").join(kinds)
        raise ValidationFailed("请求参数有误", {"kind": gettext("导出类型应为以下之一：%(kinds)s", kinds=choices)})
    if not kind.allowed(actor):
        raise NotFound("没有这种导出类型，或您无权导出")
    kind.check(actor, filters)
    job = create_job(actor, JOB_KIND, EXPORT_TITLE % {"kind": kind.label}, {"kind": kind.key, "filters": filters}, 0)
    audit.record(kind.audit_action, actor=actor, obj=job, details={"kind": kind.key, "filters": filters})
    return job


def send_export(job: BackgroundJob) -> None:
    send(job)


def visible(actor: Actor, job_id: int) -> BackgroundJob:
    job = visible_job(actor, job_id)
    if job.kind != JOB_KIND:
        raise NotFound("导出任务不存在")
    return job


def download(actor: Actor, job_id: int) -> Response:
    """The export's spreadsheet (streamed from the database)."""
    visible(actor, job_id)
    return job_download(actor, job_id)


def run_export(job_id: int, attempt: int | None = None) -> str:
    job = is_current(job_id, attempt)
    if job is None:
        return "superseded"
    target = result_file(job.id, ".xlsx")
    partial = target.with_suffix(".part")
    try:
        kind = _kinds()[job.params["kind"]]
        actor = Actor.of(db.session.get(User, job.owner_id))
        job.status, job.started_at = RUNNING, utcnow()
        beat(job)
        db.session.commit()
        count = write_rows(partial, kind.columns, _progress(job.id, kind.rows(actor, job.params.get("filters") or {})),
                           sheet=kind.label)
        done = is_current(job_id, attempt, lock=True)
        if done is None:
            partial.unlink(missing_ok=True)
            return "superseded"
        files.store(target.name, partial)  # with the job finished, in one transaction
        done.status, done.finished_at, done.heartbeat_at = FINISHED, utcnow(), utcnow()
        done.done = done.total = count
        done.result_path, done.result_name = target.name, f"{kind.label}_{count}条.xlsx"
        done.message = EXPORTED % {"count": count}
        db.session.commit()
        partial.unlink(missing_ok=True)
        return FINISHED
    except Exception as exc:  # noqa: BLE001 - recorded on the job
        log.exception("export %s failed", job_id)
        partial.unlink(missing_ok=True)
        db.session.rollback()
        job = is_current(job_id, attempt, lock=True)
        if job is None:
            return "superseded"
        job.status, job.error, job.finished_at = FAILED, f"导出失败：{exc}"[:2000], utcnow()
        db.session.commit()
        return FAILED


def _progress(job_id: int, rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """The rows, with the count committed on the job now and then (a sign of life for the reconciler), on a
    connection of its own: the session's transaction holds the rows' cursor open."""
    for i, row in enumerate(rows, 1):
        yield row
        if i % PROGRESS_EVERY == 0:
            with db.engine.begin() as conn:
                conn.execute(BackgroundJob.__table__.update().where(BackgroundJob.id == job_id)
                             .values(done=i, heartbeat_at=utcnow()))


register_kind(JOB_KIND, Kind(run_export, queue_setting="EXPORT_QUEUE", timeout=3600))

