"""The import centre: accept a file, run it as a background job in batches, keep a record of every row, and
write the success and failure files.

A row is applied at most once: its ``import_row`` record is written in the same transaction as its effect,
and a retried attempt (a worker killed half-way) skips the rows already recorded. Valid rows are kept when
others fail; each refused row has its reason in the failure file (the original columns plus 失败原因), which,
corrected, imports again."""

from __future__ import annotations

import logging
import secrets
from typing import IO, Any

from flask import Response
from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import User
from app.audit import services as audit
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import sentence
from app.core.models import utcnow
from app.extensions import db
from app.taskcentre import files
from app.taskcentre.files import scratch_dir
from app.taskcentre.models import FAILED, FINISHED, RUNNING, BackgroundJob
from app.taskcentre.services import Kind, beat, create_job, is_current, register_kind, send

from . import registry, xlsx
from .models import ImportJob, ImportRow

log = logging.getLogger(__name__)

JOB_KIND = "import"
#: The job's title and closing message, stored in Chinese; the task centre shows them in the page's language.
IMPORT_TITLE = sentence("%(kind)s导入：%(file)s")
IMPORTED = sentence("共%(total)s行，成功%(ok)s行，失败%(failed)s行")
BATCH = 500
#: What the contract calls the job's states.
STATES = {"queued": "queued", RUNNING: "running", FINISHED: "done", FAILED: "failed"}
MAX_BYTES = 20 * 1024 * 1024


class _Superseded(Exception):
    """This attempt is no longer the job's current one."""


def start(actor: Actor, kind_key: str | None, stream: IO[bytes] | None, filename: str | None,
          organisation_id: int | None = None) -> ImportJob:
    """Check the upload (a readable .xlsx of the kind's template) and create its job; the caller commits,
    then calls :func:`send`. A refusal is a 422 with the reason under ``file``."""
    if not kind_key:
        raise ValidationFailed("请求参数有误", {"kind": "请选择导入类型"})
    try:
        kind = registry.get(kind_key)
    except NotFound:
        raise ValidationFailed("请求参数有误", {"kind": "没有这种导入类型"}) from None
    if not kind.allowed(actor):
        raise NotFound("没有这种导入类型，或您无权导入")
    target = kind.target(actor, organisation_id)
    if stream is None or not filename:
        raise ValidationFailed("请求参数有误", {"file": "请选择要导入的文件"})
    upload = scratch_dir() / files.new_name("upload", ".xlsx")
    size = 0
    with upload.open("wb") as out:
        while chunk := stream.read(1 << 16):
            size += len(chunk)
            if size > MAX_BYTES:
                out.close()
                upload.unlink(missing_ok=True)
                raise ValidationFailed("文件过大", {"file": "文件不能超过20MB，请分批导入"})
            out.write(chunk)
    try:
        xlsx.check_file(upload, filename)
        sheet = xlsx.Sheet(upload, kind)  # the header must be the template's
        estimate = sheet.estimated_rows
        sheet.close()
        files.store(upload.name, upload)  # for whichever worker, on whichever machine, takes the job
    finally:
        upload.unlink(missing_ok=True)
    title = (IMPORT_TITLE % {"kind": kind.label, "file": filename})[:200]
    job = create_job(actor, JOB_KIND, title, {"kind": kind.key}, estimate)
    imp = ImportJob(job_id=job.id, kind=kind.key, owner_id=actor.id, organisation_id=target.id if target else None,
                    file_name=filename[:200], upload_path=upload.name)
    db.session.add(imp)
    db.session.flush()
    job.params = {"kind": kind.key, "import_id": imp.id}
    audit.record("import.start", actor=actor, obj=imp, org_id=imp.organisation_id,
                 details={"kind": kind.key, "file": imp.file_name})
    return imp


def send_import(imp: ImportJob) -> None:
    send(db.session.get(BackgroundJob, imp.job_id))


# --------------------------------------------------------------------------- the job


def run_import(job_id: int, attempt: int | None = None) -> str:
    """One attempt of an import job (rq worker or inline). Returns the status it left the job in."""
    job = is_current(job_id, attempt)
    if job is None:
        return "superseded"
    try:
        return _run(job, attempt)
    except _Superseded:
        db.session.rollback()
        return "superseded"
    except Exception as exc:  # noqa: BLE001 - recorded on the job
        log.exception("import %s failed", job_id)
        db.session.rollback()
        job = is_current(job_id, attempt, lock=True)
        if job is None:
            db.session.rollback()
            return "superseded"
        job.status, job.error, job.finished_at = FAILED, f"导入失败：{exc}"[:2000], utcnow()
        db.session.commit()
        return FAILED


def _checkpoint(job: BackgroundJob, attempt: int | None) -> BackgroundJob:
    beat(job)
    db.session.commit()
    current = is_current(job.id, attempt)
    if current is None:
        raise _Superseded
    return current


def _run(job: BackgroundJob, attempt: int | None) -> str:
    """One pass over the file: rows go to the kind in batches, each batch committed with its ``import_row``
    records; every row is written to the success or the failure file as it is settled (rows a killed attempt
    already applied are not applied again: their stored outcome is written instead)."""
    imp = db.session.scalar(select(ImportJob).where(ImportJob.job_id == job.id))
    kind = registry.get(imp.kind)
    actor = Actor.of(db.session.get(User, imp.owner_id))
    organisation = kind.target(actor, imp.organisation_id)
    import_id = imp.id
    folder = scratch_dir()
    path = folder / files.new_name(f"import-{import_id}-upload", ".xlsx")
    job.status, job.started_at = RUNNING, job.started_at or utcnow()
    job = _checkpoint(job, attempt)
    done_rows: dict[int, str | None] = dict(db.session.execute(
        select(ImportRow.row_no, ImportRow.reason).where(ImportRow.import_id == import_id)).all())
    files.copy_to(imp.upload_path, path)
    ok_name = f"import-{import_id}-ok-{secrets.token_hex(6)}.xlsx"
    bad_name = f"import-{import_id}-failed-{secrets.token_hex(6)}.xlsx"
    ok = xlsx.Writer(folder / ok_name, kind.columns)
    bad = xlsx.Writer(folder / bad_name, kind.columns, extra=[xlsx.REASON])
    try:
        sheet = xlsx.Sheet(path, kind)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    example = kind.example
    names = [c.name for c in kind.columns]
    pending: list[tuple[int, list[Any]]] = []
    seen = len(done_rows)

    def apply() -> None:
        nonlocal seen
        refused = _apply(kind, registry.Batch([(n, dict(zip(names, v, strict=True))) for n, v in pending],
                                              organisation, actor), import_id)
        for row_no, values in pending:
            if row_no in refused:
                bad.append([*values, refused[row_no]])
            else:
                ok.append(values)
        seen += len(pending)
        pending.clear()

    try:
        for row_no, values in sheet.rows():
            if row_no in done_rows:
                reason = done_rows[row_no]
                if reason is None:
                    ok.append(values)
                else:
                    bad.append([*values, reason])
                continue
            if [("" if v is None else str(v)) for v in values] == example:
                continue  # the template's example row
            pending.append((row_no, values))
            if len(pending) >= BATCH:
                apply()
                job = db.session.get(BackgroundJob, job.id)
                job.done = seen
                job.total = max(job.total, seen)
                job = _checkpoint(job, attempt)
        if pending:
            apply()
        ok.save()
        if bad.count:
            bad.save()
        else:
            bad.discard()
            bad_name = None
    except BaseException:
        ok.discard()
        bad.discard()
        raise
    finally:
        sheet.close()
        path.unlink(missing_ok=True)
    try:
        return _finish(job.id, attempt, import_id, kind, ok_name, bad_name)
    finally:
        for name in (ok_name, bad_name):
            if name:
                (folder / name).unlink(missing_ok=True)


def _apply(kind: registry.ImportKind, batch: registry.Batch, import_id: int) -> dict[int, str]:
    """The batch's effects and its import_row records, flushed together (committed by the checkpoint).
    Returns the refused rows' reasons."""
    refused = kind.apply(batch)
    db.session.execute(ImportRow.__table__.insert(), [
        {"import_id": import_id, "row_no": row_no, "ok": row_no not in refused, "reason": refused.get(row_no)}
        for row_no, _values in batch.rows])
    return refused


def _finish(job_id: int, attempt: int | None, import_id: int, kind: registry.ImportKind, ok_name: str,
            bad_name: str | None) -> str:
    total, failed = db.session.execute(
        select(db.func.count(), db.func.count().filter(ImportRow.ok.is_(False)))
        .where(ImportRow.import_id == import_id)).one()
    job = is_current(job_id, attempt, lock=True)
    if job is None:
        raise _Superseded
    for name in (ok_name, bad_name):  # stored with the job finished, in one transaction
        if name:
            files.store(name, scratch_dir() / name)
    imp = db.session.get(ImportJob, import_id)
    imp.total, imp.failed = total or 0, failed or 0
    imp.succeeded = imp.total - imp.failed
    imp.success_path, imp.failure_path = ok_name, bad_name
    job.status, job.finished_at, job.heartbeat_at = FINISHED, utcnow(), utcnow()
    job.done = job.total = imp.total
    job.result_path, job.result_name = bad_name or ok_name, f"{kind.label}导入{'失败' if bad_name else '成功'}记录.xlsx"
    job.message = IMPORTED % {"total": imp.total, "ok": imp.succeeded, "failed": imp.failed}
    db.session.commit()
    return FINISHED


register_kind(JOB_KIND, Kind(run_import, queue_setting="IMPORT_QUEUE", timeout=3600))


# --------------------------------------------------------------------------- reading


def visible(actor: Actor, import_id: int) -> tuple[ImportJob, BackgroundJob]:
    """An import is seen by the user who started it."""
    imp = db.session.get(ImportJob, import_id)
    if imp is None or imp.owner_id != actor.id:
        raise NotFound("导入任务不存在")
    return imp, db.session.get(BackgroundJob, imp.job_id)


def history(actor: Actor, kind: str | None = None, limit: int = 50) -> list[tuple[ImportJob, BackgroundJob]]:
    stmt = (select(ImportJob, BackgroundJob).join(BackgroundJob, BackgroundJob.id == ImportJob.job_id)
            .where(ImportJob.owner_id == actor.id).order_by(ImportJob.id.desc()).limit(limit))
    if kind:
        stmt = stmt.where(ImportJob.kind == kind)
    return [(i, j) for i, j in db.session.execute(stmt).all()]


def result_download(actor: Actor, import_id: int, which: str, label: str) -> Response:
    """The import's failure or success records as a spreadsheet named after the upload and ``label``."""
    imp, _job = visible(actor, import_id)
    name = imp.failure_path if which == "failure" else imp.success_path
    if not files.exists(name):
        raise NotFound("该文件不存在")
    return files.download(name, f"{imp.file_name.rsplit('.', 1)[0]}_{label}.xlsx")


def state(job: BackgroundJob) -> str:
    return STATES.get(job.status, job.status)
