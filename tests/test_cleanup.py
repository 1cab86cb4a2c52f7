"""`flask --app wsgi cleanup`: old uploads, job result files, captcha records and ended rate-limit windows go,
nothing else does."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.accounts.models import CaptchaUse
from app.core.errors import NotFound
from app.core.models import utcnow
from app.core.ratelimit import RateLimit
from app.extensions import db
from app.taskcentre import files
from app.taskcentre import services as jobs
from app.taskcentre.models import FINISHED, BackgroundJob, JobFileChunk
from app.workflow import services
from app.workflow.models import Attachment
from tests.conftest import actor


def upload(owner_id: int, age_days: float, instance_id: int | None = None) -> int:
    att = Attachment(instance_id=instance_id, uploaded_by_id=owner_id, filename="证书.pdf",
                     content_type="application/pdf", size=4, sha256="0" * 64, data=b"%PDF",
                     created_at=utcnow() - timedelta(days=age_days))
    db.session.add(att)
    db.session.flush()
    return att.id


def stored(name: str, age_days: float) -> str:
    """A job file stored ``age_days`` ago."""
    files.store(name, io.BytesIO(b"PK"))
    db.session.execute(update(JobFileChunk).where(JobFileChunk.name == name)
                       .values(created_at=utcnow() - timedelta(days=age_days)))
    return name


def finished_job(owner_id: int, age_days: float) -> BackgroundJob:
    job = BackgroundJob(owner_id=owner_id, kind="certificate_batch", title="批量证书", params={}, total=1, done=1,
                        status=FINISHED, finished_at=utcnow() - timedelta(days=age_days))
    db.session.add(job)
    db.session.flush()
    job.result_path = stored(jobs.result_file(job.id, ".zip").name, age_days)
    return job


def test_cleanup_deletes_only_what_has_expired(app, tmp_path, declaration):
    app.config["JOBS_DIR"] = str(tmp_path)
    chen = actor("chenshihui")
    instance = services.start_process("credit_hour_approval", declaration, actor=chen)
    abandoned, fresh, attached = upload(chen.id, 3), upload(chen.id, 0.5), upload(chen.id, 30, instance.id)
    old_job, new_job = finished_job(chen.id, 10), finished_job(chen.id, 1)
    # a file a job left on this machine's disk, and one stored that no job refers to
    stray_old, stray_new = tmp_path / "1-stray.zip.part", tmp_path / "2-stray.zip.part"
    for stray in (stray_old, stray_new):
        stray.write_bytes(b"PK")
    stored_old, stored_new = stored("upload-old.xlsx", 10), stored("upload-new.xlsx", 0.5)
    ten_days_ago = time.time() - 10 * 86400
    os.utime(stray_old, (ten_days_ago, ten_days_ago))
    db.session.add_all([CaptchaUse(nonce="old", used_at=utcnow() - timedelta(hours=1)),
                        CaptchaUse(nonce="recent", used_at=utcnow() - timedelta(minutes=5)),
                        RateLimit(key="signin:ended", hits=3, expires_at=utcnow() - timedelta(seconds=1)),
                        RateLimit(key="signin:current", hits=3, expires_at=utcnow() + timedelta(minutes=4))])
    db.session.commit()
    old_file = old_job.result_path

    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert ("deleted 1 abandoned uploads, 3 job result files, 1 records of answered captchas "
            "and 1 ended rate-limit windows" in result.output)
    assert set(db.session.scalars(select(RateLimit.key))) == {"signin:current"}
    assert set(db.session.scalars(select(CaptchaUse.nonce))) == {"recent"}  # still within CAPTCHA_SECONDS
    assert set(db.session.scalars(select(Attachment.id))) == {fresh, attached}  # not `abandoned`
    assert db.session.get(Attachment, abandoned) is None
    assert not files.exists(old_file) and not files.exists(stored_old) and not stray_old.exists()
    assert files.exists(new_job.result_path) and files.exists(stored_new) and stray_new.exists()

    db.session.expire_all()
    with pytest.raises(NotFound) as exc:
        jobs.result_of(chen, old_job.id)
    assert exc.value.message == jobs.EXPIRED
    with app.test_request_context():
        response = jobs.download(chen, new_job.id)
        assert b"".join(response.response) == b"PK" and response.content_length == 2
    assert "deleted 0 abandoned uploads, 0 job result files, 0 records" in app.test_cli_runner().invoke(
        args=["cleanup"]).output
    app.config["JOBS_DIR"] = None


def test_a_starting_worker_sweeps_what_dead_workers_left_on_its_machine(app):
    """`flask worker` first reconciles, then deletes its machine's scratch files not written to for
    JOB_SCRATCH_HOURS (a worker killed mid-job leaves its file there); a file written lately stays."""
    from app.taskcentre.reconcile import reconcile_and_sweep

    scratch = files.scratch_dir()
    left, in_use = scratch / "7-deadbeef.xlsx.part", scratch / "8-cafebabe.zip.part"
    for path in (left, in_use):
        path.write_bytes(b"PK")
    two_days_ago = time.time() - 2 * 86400
    os.utime(left, (two_days_ago, two_days_ago))
    app.config["JOB_SCRATCH_HOURS"] = 24
    reconcile_and_sweep()
    assert not left.exists() and in_use.exists()
    app.config["JOB_SCRATCH_HOURS"] = 0.001
    os.utime(in_use, (time.time() - 60, time.time() - 60))
    reconcile_and_sweep()
    assert not in_use.exists()
