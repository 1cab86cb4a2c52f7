"""Faults: a worker killed mid-job, the database's connections terminated under load, the app restarted
with cases in flight. Real processes, real Redis and PostgreSQL."""

from __future__ import annotations

import io
import os
import random
import threading
import time
import uuid
import zipfile
from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, func, select, text

from app.certificates.models import Certificate
from app.extensions import db
from app.taskcentre.models import BackgroundJob
from app.workflow.models import ApprovalEvent, ProcessInstance, WorkflowTask
from tests.conftest import IN_CI, api_token
from tests.servers import Server, Worker, seeded_database
from tests.test_certificates import CHEN, LIU, WANG, give_hours

pytestmark = pytest.mark.postgres

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def wait_for(condition: Callable[[], object], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def redis_connection():  # noqa: ANN201
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return conn


# --------------------------------------------------------------------------- a worker killed mid-job


def test_a_job_whose_worker_is_killed_mid_job_is_retried_and_finishes_with_nothing_left_behind(pg_app, tmp_path):
    """kill -9 of the worker (and its work-horse) while it writes the second of three certificates: the job
    stays "running" until `flask cleanup` reconciles it — the half-written .part file goes, the job is queued
    again as attempt 2 — and a worker then finishes it, reusing the certificate the first attempt issued."""
    from rq import Queue, SimpleWorker

    conn = redis_connection()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    jobs_dir = tmp_path / "jobs"
    settings = {"REDIS_URL": REDIS_URL, "CERTIFICATE_QUEUE": queue, "JOBS_DIR": str(jobs_dir)}
    reached, release = tmp_path / "reached", tmp_path / "release"

    def hold_the_second_certificate() -> None:  # runs in the worker process
        from app.certificates import batch

        real = batch.render_pdf
        rendered: list[int] = []

        def render(view, fh):  # noqa: ANN001, ANN202
            rendered.append(1)
            if len(rendered) == 2:
                reached.touch()
                wait_for(release.exists, 120)
            return real(view, fh)

        batch.render_pdf = render

    pg_app.config.update(settings)
    worker = None
    try:
        for id_number in (CHEN, LIU, WANG):
            give_hours(id_number)
        client = pg_app.test_client()
        headers = api_token(client, "hr_city")
        r = client.post("/api/v1/certificates/batch", headers=headers,
                        json={"year": 2025, "person_id_numbers": [CHEN, LIU, WANG]})
        assert r.status_code == 202 and r.get_json()["status"] == "queued", r.get_json()
        job_id = r.get_json()["id"]
        db.session.remove()

        worker = Worker(db.engine.url.render_as_string(hide_password=False), queue, settings,
                        prepare=hold_the_second_certificate)
        wait_for(reached.exists)
        worker.kill()
        job = db.session.get(BackgroundJob, job_id)
        assert (job.status, job.done, job.attempts) == ("running", 1, 1)
        assert len(list(jobs_dir.glob("*.part"))) == 1
        first = db.session.scalar(select(Certificate.number).where(Certificate.status == "valid"))

        result = pg_app.test_cli_runner().invoke(args=["cleanup"])
        assert "1 interrupted jobs handed out again" in result.output, result.output
        db.session.expire_all()
        job = db.session.get(BackgroundJob, job_id)
        assert (job.status, job.attempts) == ("queued", 2)
        assert list(jobs_dir.glob("*.part")) == []
        r = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert r.get_json()["message"] == "处理进程意外中断，任务已自动重新排队"

        SimpleWorker([Queue(queue, connection=conn)], connection=conn).work(burst=True)
        body = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        assert (body["status"], body["done"], body["total"]) == ("finished", 3, 3), body
        with client.get(body["download_url"].replace("http://localhost", ""), headers=headers) as download:
            names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
        assert len(names) == 3 and first in {n.split("_")[0] for n in names}
        assert list(jobs_dir.iterdir()) == []  # the zip is stored in the database, nothing is left on the disk
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 3  # none reissued
    finally:
        release.touch()
        if worker is not None:
            worker.kill()
        pg_app.config.update(REDIS_URL=None, CERTIFICATE_QUEUE=None, JOBS_DIR=None)


def test_the_task_centre_fails_an_inline_job_whose_process_died(app, web):
    """Without Redis a job runs inside a web process; when that process died with it, opening the task
    centre marks the job failed and says so, instead of "running" for ever."""
    from datetime import timedelta

    from app.core.models import utcnow
    from app.taskcentre import services
    from tests.conftest import actor

    job = services.create_job(actor("hospital_admin"), "certificate_batch", "证书批量打印", {}, 3)
    job.status, job.heartbeat_at = "running", utcnow() - timedelta(hours=1)
    db.session.commit()
    web.login("hospital_admin")
    page = web.client.get("/jobs").get_data(as_text=True)
    assert "任务意外中断（处理进程已退出），请重新提交" in page
    assert db.session.get(BackgroundJob, job.id).status == "failed"


# --------------------------------------------------------------------------- connections terminated


def test_requests_after_the_database_terminated_every_connection_succeed_and_nothing_is_half_written(
        pg_app, declaration):
    """While four clients keep declaring, the database terminates every connection of the app three times
    (pg_terminate_backend, as a failover or an administrator does). A request caught in the middle answers
    503 in the API's JSON error shape (nothing saved, try again); every later one succeeds on a fresh
    connection; and every declaration in the database is whole: its submission and its first task."""
    client = pg_app.test_client()
    tokens = [api_token(client, login) for login in ("chenshihui", "liuwenbin")]
    url = db.engine.url.render_as_string(hide_password=False)
    db.session.remove()
    answers: list[tuple[int, object]] = []
    after: list[int] = []
    storm_over = threading.Event()

    def declare(i: int) -> None:
        c = pg_app.test_client()  # each request in an app context of its own, as on a server
        for n in range(200):
            last = storm_over.is_set()
            try:
                r = c.post("/api/v1/processes/credit_hour_approval/instances", headers=tokens[i % 2],
                           json={**declaration, "course_name": f"课程{i}-{n}"})
            except Exception as exc:  # noqa: BLE001 - what a server would turn into a bare 500
                answers.append((500, repr(exc)))
                continue
            answers.append((r.status_code, r.get_json()))
            if last:  # sent after the last termination
                after.append(r.status_code)
                break

    killer = create_engine(url, isolation_level="AUTOCOMMIT")
    terminated = 0
    clients = [threading.Thread(target=declare, args=(i,)) for i in range(4)]
    try:
        for t in clients:
            t.start()
        with killer.connect() as conn:
            for _round in range(3):
                time.sleep(0.3)
                terminated += conn.scalar(text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        storm_over.set()
        for t in clients:
            t.join(60)
        killer.dispose()
    assert terminated > 0
    statuses = [code for code, _body in answers]
    assert set(statuses) <= {201, 503}, [a for a in answers if a[0] == 500]
    assert all(body["error"]["code"] == "unavailable" for code, body in answers if code == 503)
    assert after == [201] * len(clients)  # after the storm every client gets through again, on new connections
    created = statuses.count(201)
    instances = db.session.scalar(select(func.count()).select_from(ProcessInstance))
    assert created <= instances <= len(statuses)  # a commit cut off on the wire may have gone through
    submits = dict(db.session.execute(select(ApprovalEvent.instance_id, func.count()).group_by(
        ApprovalEvent.instance_id)).all())
    open_tasks = dict(db.session.execute(select(WorkflowTask.instance_id, func.count()).where(
        WorkflowTask.completed_at.is_(None)).group_by(WorkflowTask.instance_id)).all())
    ids = db.session.scalars(select(ProcessInstance.id)).all()
    assert {i: (submits.get(i), open_tasks.get(i)) for i in ids} == dict.fromkeys(ids, (1, 1))


def test_a_connection_lost_after_the_answer_was_made_does_not_turn_it_into_an_error(pg_app):
    """The database drops a request's connection after its work was done (the session still holds it): the end
    of the request forgets the dead connection instead of failing (a server would answer 500 for a committed
    action), and the next request gets a fresh one."""
    killer = create_engine(db.engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with pg_app.app_context():  # what a request's context does with the session
            pid = db.session.scalar(text("SELECT pg_backend_pid()"))
            with killer.connect() as conn:
                assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()
    with pg_app.app_context():
        assert db.session.scalar(text("SELECT pg_backend_pid()")) != pid


def test_an_unexpected_api_error_answers_json(app, monkeypatch):
    """A bug in a handler is still a 500 in the API's one error shape, not an HTML page."""
    from app.workflow import services

    def broken(*_args, **_kwargs):  # noqa: ANN202
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "startable_versions", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        client = app.test_client()
        r = client.get("/api/v1/processes", headers=api_token(client, "chenshihui"))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert r.status_code == 500 and r.get_json()["error"]["code"] == "internal_error"


# --------------------------------------------------------------------------- restart with cases in flight


def test_a_new_app_process_continues_the_cases_a_killed_one_left_in_flight(declaration):
    """A web process is killed (SIGKILL) with cases half-way through their chain, one of them while its
    approval is being sent. A new process on the same database carries every case on to the end: the one
    caught in the middle is either approved or still waiting, never half-done."""
    url = seeded_database("restart")
    first = Server(url)
    second = None
    try:
        chen, hospital = first.token("chenshihui"), first.token("hospital_admin")
        ids = []
        for i in range(3):
            status, body = first.call("POST", "/api/v1/processes/credit_hour_approval/instances",
                                      {**declaration, "course_name": f"课程{i}"}, chen)
            assert status == 201, body
            ids.append(body["id"])
        tasks = [first.call("GET", f"/api/v1/instances/{i}", token=chen)[1]["tasks"][0]["id"] for i in ids]
        for task_id in tasks[:2]:
            assert first.call("POST", f"/api/v1/tasks/{task_id}/complete", {"outcome": "approve"}, hospital)[0] == 200

        def approve_while_killed() -> None:
            try:
                first.call("POST", f"/api/v1/tasks/{tasks[2]}/complete", {"outcome": "approve"}, hospital)
            except OSError:  # the connection died with the server: whether it was saved is unknown
                pass

        caught = threading.Thread(target=approve_while_killed, daemon=True)
        caught.start()
        time.sleep(random.uniform(0, 0.05))
        first.kill()
        caught.join(10)

        second = Server(url)
        reviewers = {lane: second.token(login) for lane, login in (
            ("unit", "hospital_admin"), ("supervisory_department", "health_admin"), ("hr_bureau", "hr_city"))}
        chen = second.token("chenshihui")
        for _step in range(3):
            for instance_id in ids:
                body = second.call("GET", f"/api/v1/instances/{instance_id}", token=chen)[1]
                if body["status"] != "running":
                    continue
                (task,) = body["tasks"]  # one step open: the case was left whole
                status, answer = second.call("POST", f"/api/v1/tasks/{task['id']}/complete",
                                             {"outcome": "approve"}, reviewers[task["lane"]])
                assert status == 200, answer
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM process_instance WHERE status = 'completed'")) == 3
                # each case decided once per step: the submission and three approvals, one credit record
                assert conn.execute(text("SELECT count(*) FROM approval_event GROUP BY instance_id")).scalars(
                    ).all() == [4, 4, 4]
                assert conn.scalar(text("SELECT count(*) FROM credit_record")) == 3
        finally:
            engine.dispose()
    finally:
        first.kill()
        if second is not None:
            second.kill()
