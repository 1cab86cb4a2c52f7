"""Background jobs: inline without Redis, through a real rq worker with it."""

from __future__ import annotations

import io
import os
import uuid

import pytest

from app.core import jobs
from tests.conftest import IN_CI

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def double(x: int) -> int:
    return 2 * x


def test_inline_without_redis(app):
    assert app.config["REDIS_URL"] is None
    assert jobs.enqueue(double, 21) == 42


def test_rq_worker_runs_the_job_on_redis(app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import Queue, SimpleWorker

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    app.config["REDIS_URL"] = REDIS_URL
    name = f"test-{uuid.uuid4().hex[:8]}"
    try:
        job = jobs.enqueue(double, 21, queue=name)
        SimpleWorker([Queue(name, connection=conn)], connection=conn).work(burst=True)
        job.refresh()
        assert job.is_finished and job.return_value() == 42
    finally:
        app.config["REDIS_URL"] = None


def test_a_job_file_larger_than_a_piece_is_stored_and_streamed_back_whole(any_app, tmp_path):
    """A job's file goes into the database in pieces and comes back byte for byte, as a download (streamed,
    with its length and name) and as a file on another machine's disk; a name never stored is not found."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.taskcentre import files
    from app.taskcentre.models import JobFileChunk

    data = os.urandom(files.CHUNK * 2 + 12345)
    source = tmp_path / "result.zip"
    source.write_bytes(data)
    assert files.store("7-result.zip", source) == len(data)
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(JobFileChunk.name == "7-result.zip")) == 3
    with any_app.test_request_context():
        response = files.download("7-result.zip", "证书.zip")
        assert response.content_length == len(data)
        assert "filename*=UTF-8''%E8%AF%81%E4%B9%A6.zip" in response.headers["Content-Disposition"]
        assert b"".join(response.response) == data
    copy = tmp_path / "elsewhere.zip"
    files.copy_to("7-result.zip", copy)
    assert copy.read_bytes() == data
    with pytest.raises(FileNotFoundError):
        files.copy_to("8-never.zip", tmp_path / "never.zip")
    assert not files.exists("8-never.zip")


def test_a_download_broken_off_resumes_where_it_stopped(app, client, tmp_path):
    """A large result asked again with a Range header (a browser or download manager resuming) answers 206
    with exactly the rest, across the pieces it is stored in."""
    from app.extensions import db
    from app.taskcentre import files
    from app.taskcentre.models import FINISHED, BackgroundJob
    from tests.conftest import actor, api_token

    data = os.urandom(files.CHUNK + 5000)
    job = BackgroundJob(owner_id=actor("hr_city").id, kind="certificate_batch", title="批量证书", params={},
                        total=1, done=1, status=FINISHED, result_path="9-result.zip", result_name="证书.zip")
    db.session.add(job)
    files.store("9-result.zip", io.BytesIO(data))
    db.session.commit()
    headers = api_token(client, "hr_city")
    whole = client.get(f"/api/v1/jobs/{job.id}/download", headers=headers)
    assert whole.status_code == 200 and whole.data == data and whole.headers["Accept-Ranges"] == "bytes"
    start = files.CHUNK - 10
    rest = client.get(f"/api/v1/jobs/{job.id}/download", headers={**headers, "Range": f"bytes={start}-"})
    assert rest.status_code == 206 and rest.data == data[start:]
    assert rest.headers["Content-Range"] == f"bytes {start}-{len(data) - 1}/{len(data)}"


def test_the_task_centre_pages_through_every_job_of_its_owner_only(app, client, web):
    """任务中心 used to show the 50 newest jobs and nothing older: now 20 a page, newest first, with the total and
    page links; the API pages too (per_page 50 by default, as before). Nobody else's jobs are listed."""
    from app.core.models import utcnow
    from app.extensions import db
    from app.taskcentre import services
    from tests.conftest import actor, api_token

    mine, other = actor("hospital_admin"), actor("hr_city")
    for i in range(25):
        job = services.create_job(mine, "export", f"导出{i:02d}", {}, 1)
        job.status, job.done, job.finished_at = "finished", 1, utcnow()
    services.create_job(other, "export", "别人的导出", {}, 1).status = "failed"
    db.session.commit()

    web.login("hospital_admin")
    first = client.get("/jobs").get_data(as_text=True)
    assert "导出24" in first and "导出05" in first and "导出04" not in first and "别人的导出" not in first
    assert "共 25 条" in first and 'href="/jobs?page=2"' in first
    second = client.get("/jobs?page=2").get_data(as_text=True)
    assert all(f"导出{i:02d}" in second for i in range(5)) and "导出05" not in second

    headers = api_token(client, "hospital_admin")
    body = client.get("/api/v1/jobs", headers=headers).get_json()
    assert (body["total"], body["page"], body["per_page"], len(body["items"])) == (25, 1, 50, 25)
    assert body["items"][0]["title"] == "导出24"
    body = client.get("/api/v1/jobs?page=3&per_page=10", headers=headers).get_json()
    assert [j["title"] for j in body["items"]] == [f"导出{i:02d}" for i in range(4, -1, -1)]
    assert client.get("/api/v1/jobs?per_page=0", headers=headers).status_code == 422


def test_job_titles_and_messages_follow_the_page_language(app, client, web):
    """Titles and closing messages are stored in Chinese (as they were); the task centre shows them in English on
    an English page, the kind's label translated too."""
    from app.certificates.batch import BATCH_TITLE, PRINTED_SKIPPED
    from app.core.models import utcnow
    from app.extensions import db
    from app.imports import exports
    from app.imports import services as imports
    from app.taskcentre import services
    from tests.conftest import actor

    me = actor("hospital_admin")
    for title, message in ((exports.EXPORT_TITLE % {"kind": "培训班人员"}, exports.EXPORTED % {"count": 3}),
                           (imports.IMPORT_TITLE % {"kind": "人员信息", "file": "名单.xlsx"},
                            imports.IMPORTED % {"total": 5, "ok": 4, "failed": 1}),
                           (BATCH_TITLE % {"year": 2026, "n": 2}, PRINTED_SKIPPED % {"n": 1, "skipped": 1})):
        job = services.create_job(me, "export", title, {}, 1)
        job.status, job.done, job.finished_at, job.message = "finished", 1, utcnow(), message
    db.session.commit()
    web.login("hospital_admin")
    zh = client.get("/jobs").get_data(as_text=True)
    assert "培训班人员导出" in zh and "共导出3条" in zh and "人员信息导入：名单.xlsx" in zh
    en = client.get("/jobs?lang=en").get_data(as_text=True)
    assert "Export: Participants" in en and "Rows exported: 3" in en
    assert "Import: Personnel: 名单.xlsx" in en and "Rows: 5, imported: 4, failed: 1" in en
    assert "Continuing-education certificates 2026, batch print (2 people)" in en
    assert "Certificates generated: 1; not generated: 1" in en and "导出" not in en
