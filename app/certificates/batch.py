"""Batch certificates (批量打印证书): a background job writing one zip of per-person PDFs.

Memory stays flat: each PDF is streamed into the zip as it is rendered and nothing of an
earlier person is kept; progress is committed as it goes so the task centre can show it.
"""

from __future__ import annotations

import csv
import io
import logging
import time
import zipfile
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, User
from app.audit import services as audit
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import sentence
from app.core.models import utcnow
from app.extensions import db
from app.people.models import Person
from app.taskcentre import files
from app.taskcentre.models import FAILED, FINISHED, RUNNING, BackgroundJob
from app.taskcentre.services import Kind, beat, create_job, is_current, register_kind, result_file, send

from . import services
from .render import render_pdf
from .urls import verify_url

log = logging.getLogger(__name__)
KIND = "certificate_batch"
#: The job's title and closing message, stored in Chinese; the task centre shows them in the page's language.
BATCH_TITLE = sentence("%(year)s年度继续教育证书批量打印（%(n)s人）")
PRINTED = sentence("已生成%(n)s份证书")
PRINTED_SKIPPED = sentence("已生成%(n)s份证书，%(skipped)s人未生成（见压缩包中的名单）")
MAX_BATCH = 5000
#: Progress is committed at least this often (seconds) and every PROGRESS_EVERY people.
PROGRESS_SECONDS = 1.0
PROGRESS_EVERY = 25


def _people_query(actor: Actor, unit_id: int | None, q: str | None):  # noqa: ANN202
    roots = [o.path for o in actor.staff_roots]
    if not roots:
        return None
    stmt = select(Person).join(Organisation, Organisation.id == Person.unit_id).where(
        or_(*[Organisation.path.startswith(p, autoescape=True) for p in roots]))
    if unit_id is not None:
        unit = db.session.get(Organisation, unit_id)
        if unit is None or not actor.sees_staff_of(unit):
            raise NotFound("单位不存在，或不在您的管理范围内")
        stmt = stmt.where(Organisation.path.startswith(unit.path, autoescape=True))
    if q:
        stmt = stmt.where(or_(Person.name.startswith(q, autoescape=True),
                              Person.id_number.startswith(q.upper(), autoescape=True)))
    return stmt


def people_in_scope(actor: Actor, unit_id: int | None = None, q: str | None = None,
                    limit: int = MAX_BATCH) -> list[Person]:
    """People whose unit lies in the actor's scope (optionally below one unit, or matching a
    name / ID-number prefix), in unit order."""
    stmt = _people_query(actor, unit_id, q)
    if stmt is None:
        return []
    return list(db.session.scalars(stmt.order_by(Person.unit_id, Person.id).limit(limit)))


def count_in_scope(actor: Actor, unit_id: int | None = None, q: str | None = None) -> int:
    stmt = _people_query(actor, unit_id, q)
    if stmt is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def units_in_scope(actor: Actor, limit: int = 500) -> list[Organisation]:
    """Employer units in the actor's scope (for the unit filter of the batch page)."""
    roots = [o.path for o in actor.staff_roots]
    if not roots:
        return []
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind == OrgKind.EMPLOYER_UNIT,
        or_(*[Organisation.path.startswith(p, autoescape=True) for p in roots])).order_by(Organisation.path)
        .limit(limit)))


def resolve_people(actor: Actor, id_numbers: list[str]) -> list[int]:
    """Person ids for the ID numbers, all of them within the actor's scope (404 otherwise)."""
    ids: list[int] = []
    seen: set[int] = set()
    for number in id_numbers:
        if not number.strip():
            continue
        person = services.person_for(actor, number)  # 404 outside the actor's scope
        if person.id not in seen:
            seen.add(person.id)
            ids.append(person.id)
    return ids


def start_batch(actor: Actor, person_ids: list[int], year: Any, base_url: str) -> BackgroundJob:
    """Create the job (the caller commits) and hand it to the queue with :func:`enqueue_batch`."""
    year = services.check_year(year)
    if not person_ids:
        raise ValidationFailed("请求参数有误", {"people": "请至少选择一名人员"})
    if len(person_ids) > MAX_BATCH:
        raise ValidationFailed("请求参数有误", {"people": f"一次最多打印{MAX_BATCH}人"})
    people = {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(person_ids)))}
    for pid in person_ids:
        person = people.get(pid)
        if person is None or not services.may_print_for(actor, person):
            raise NotFound("未找到该人员，或该人员不在您的管理范围内")
    job = create_job(actor, KIND, BATCH_TITLE % {"year": year, "n": len(person_ids)},
                     {"person_ids": list(person_ids), "year": year, "base_url": base_url}, len(person_ids))
    audit.record("export.certificate_batch", actor=actor, obj=job, details={"year": year, "people": len(person_ids)})
    return job


def enqueue_batch(job: BackgroundJob) -> None:
    """Run the job: on rq when REDIS_URL is set, else right now (the job row must be committed)."""
    send(job)


class _Superseded(Exception):
    """This attempt is no longer the job's current one: the reconciler gave its worker up for dead."""


def run_batch(job_id: int, attempt: int | None = None) -> str:
    """One attempt of the job (in an rq worker with an app context, or inline). Returns the final status.

    Safe to run again after an attempt died half-way: certificates already issued are reused (committed
    person by person), and the zip is written under a temporary ``.part`` name and renamed when whole.
    An attempt that is no longer the current one (:func:`app.taskcentre.services.is_current`) stops at its
    next progress commit and changes nothing more."""
    job = is_current(job_id, attempt)
    if job is None:
        return "superseded" if db.session.get(BackgroundJob, job_id) is not None else "missing"
    try:
        return _run(job, attempt)
    except _Superseded:
        db.session.rollback()
        return "superseded"
    except Exception as exc:  # noqa: BLE001 - recorded on the job for the task centre
        log.exception("certificate batch %s failed", job_id)
        db.session.rollback()
        job = is_current(job_id, attempt, lock=True)
        if job is None:
            db.session.rollback()
            return "superseded"
        job.status = FAILED
        job.error = f"生成失败：{exc}"[:2000]
        job.finished_at = utcnow()
        db.session.commit()
        return FAILED


def _checkpoint(job: BackgroundJob, attempt: int | None) -> BackgroundJob:
    """Commit the progress with a sign of life; the job as stored afterwards, if still this attempt's."""
    beat(job)
    db.session.commit()
    current = is_current(job.id, attempt)
    if current is None:
        raise _Superseded
    return current


def _run(job: BackgroundJob, attempt: int | None) -> str:
    owner = db.session.get(User, job.owner_id)
    actor = Actor.of(owner)
    year = int(job.params["year"])
    person_ids: list[int] = list(job.params["person_ids"])
    base_url: str = job.params.get("base_url") or "http://localhost/"
    job.status, job.started_at, job.done, job.total = RUNNING, utcnow(), 0, len(person_ids)
    job = _checkpoint(job, attempt)

    target = result_file(job.id, ".zip")
    partial = target.with_suffix(".part")
    skipped: list[tuple[str, str, str]] = []
    printed = 0
    last = time.monotonic()
    try:
        with current_app.test_request_context(base_url=base_url), \
                zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:  # PDFs are compressed
            for i, pid in enumerate(person_ids, 1):
                person = db.session.get(Person, pid)
                if person is None or not services.may_print_for(actor, person):
                    skipped.append(("", str(pid), "人员不存在或不在管理范围内"))
                else:
                    cert, reason = services.ensure_current(actor, person, year)
                    db.session.commit()  # frees the person's lock before the slow part; what the zip holds
                    if cert is None:
                        skipped.append((person.name, person.id_number, reason or ""))
                    else:
                        with zf.open(f"{cert.number}_{person.name}.pdf", "w") as fh:
                            render_pdf(services.certificate_view(cert, verify_url(cert.number)), fh)
                        printed += 1
                job.done = i
                if i % PROGRESS_EVERY == 0 or time.monotonic() - last >= PROGRESS_SECONDS or i == len(person_ids):
                    job = _checkpoint(job, attempt)  # the progress (and a sign of life)
                    last = time.monotonic()
            if skipped:
                buf = io.StringIO()
                writer = csv.writer(buf)
                writer.writerow(["姓名", "公民身份号码", "未生成原因"])
                writer.writerows(skipped)
                zf.writestr("未生成证书名单.csv", "\ufeff" + buf.getvalue())
    except BaseException:
        partial.unlink(missing_ok=True)  # no half-written zip is left behind
        raise
    done = is_current(job.id, attempt, lock=True)
    if done is None:  # given up for dead while finishing: the current attempt writes its own zip
        partial.unlink(missing_ok=True)
        raise _Superseded
    try:
        files.store(target.name, partial)  # with the job finished, in one transaction
        done.status, done.finished_at, done.heartbeat_at = FINISHED, utcnow(), utcnow()
        done.result_path = target.name
        done.result_name = f"{year}年度继续教育证书_{printed}份.zip"
        done.message = (PRINTED_SKIPPED % {"n": printed, "skipped": len(skipped)} if skipped
                        else PRINTED % {"n": printed})
        db.session.commit()
    finally:
        partial.unlink(missing_ok=True)
    return FINISHED


register_kind(KIND, Kind(run_batch, queue_setting="CERTIFICATE_QUEUE", timeout=3600))
