"""Issue 15: a worker killed (SIGKILL) in the middle of a 5,000-row personnel import on PostgreSQL and Redis;
the job is reconciled, retried by another worker, and every row is found exactly once."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.extensions import db
from app.imports.models import ImportJob, ImportRow
from app.people.models import Person
from app.taskcentre.models import BackgroundJob
from tests.conftest import api_token
from tests.servers import Worker
from tests.test_imports import id_number, row, sheet_of, upload, xlsx
from tests.test_reliability_faults import REDIS_URL, redis_connection, wait_for

ROWS = 5000


def test_a_worker_killed_mid_import_is_retried_and_every_row_is_there_once(pg_app, tmp_path):
    from rq import Queue, SimpleWorker

    conn = redis_connection()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings = {"REDIS_URL": REDIS_URL, "IMPORT_QUEUE": queue, "JOBS_DIR": str(tmp_path / "jobs")}
    reached, release = tmp_path / "reached", tmp_path / "release"

    def hold_after_three_batches() -> None:  # runs in the worker process
        from app.imports import registry

        kind = registry.get("personnel")
        real = kind.apply
        batches: list[int] = []

        def apply(batch):  # noqa: ANN001, ANN202
            batches.append(1)
            if len(batches) == 4:  # three batches committed, the fourth being written
                out = real(batch)
                reached.touch()
                wait_for(release.exists, 300)
                return out
            return real(batch)

        object.__setattr__(kind, "apply", apply)

    data = xlsx([row(f"杀{i}", id_number(i % 1000, f"19{70 + i // 1000}0101")) for i in range(ROWS)])
    pg_app.config.update(settings)
    worker = None
    try:
        client = pg_app.test_client()
        h = api_token(client, "hospital_admin")
        r = upload(client, h, data)
        assert r.status_code == 202 and r.json["state"] == "queued", r.json
        import_id = r.json["id"]
        db.session.remove()
        # the worker as on another machine: a disk of its own (the upload and the results go through the database)
        worker = Worker(db.engine.url.render_as_string(hide_password=False), queue,
                        {**settings, "JOBS_DIR": str(tmp_path / "worker-machine")}, prepare=hold_after_three_batches)
        wait_for(reached.exists, 300)
        worker.kill()
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 1500  # three batches of 500
        assert client.get(f"/api/v1/imports/{import_id}", headers=h).json["state"] == "running"

        result = pg_app.test_cli_runner().invoke(args=["cleanup"])
        assert "1 interrupted jobs handed out again" in result.output, result.output
        SimpleWorker([Queue(queue, connection=conn)], connection=conn).work(burst=True)
        body = client.get(f"/api/v1/imports/{import_id}", headers=h).json
        assert (body["state"], body["total"], body["succeeded"], body["failed"]) == ("done", ROWS, ROWS, 0), body
        imp = db.session.get(ImportJob, import_id)
        assert db.session.get(BackgroundJob, imp.job_id).attempts == 2
        per_id = db.session.execute(select(Person.id_number, func.count()).where(Person.name.like("杀%"))
                                    .group_by(Person.id_number)).all()
        assert len(per_id) == ROWS and {n for _i, n in per_id} == {1}
        rows = db.session.execute(select(ImportRow.row_no, func.count()).where(ImportRow.import_id == import_id)
                                  .group_by(ImportRow.row_no)).all()
        assert len(rows) == ROWS and {n for _r, n in rows} == {1}
        # the success file lists every row once: the first attempt's rows from their records, the rest as applied
        ok_rows = sheet_of(client, h, body["success_file_url"])[1:]
        assert len(ok_rows) == ROWS and len({r[1] for r in ok_rows}) == ROWS
    finally:
        release.touch()
        if worker is not None:
            worker.kill()
        pg_app.config.update(REDIS_URL=None, IMPORT_QUEUE=None, JOBS_DIR=None)
