"""Races on PostgreSQL with real threads and real commits: overlapping batch reviews, concurrent
certificate jobs for one person-year, concurrent diagram uploads."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.workflow import services
from app.workflow.models import ApprovalEvent, WorkflowTask
from tests.conftest import actor, api_token

pytestmark = pytest.mark.postgres


def run_together(n: int, body: Callable[[int], object]) -> list[object]:
    """``body(i)`` in ``n`` threads released at once; what each returned (or raised), in thread order."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = body(i)
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def open_unit_reviews(declaration: dict, n: int) -> list[str]:
    """``n`` declarations of the hospital's staff waiting for the hospital's review; their task ids."""
    for i in range(n):
        services.start_process("credit_hour_approval", {**declaration, "course_name": f"课程{i}"},
                               actor=actor(("chenshihui", "liuwenbin")[i % 2]))
    db.session.commit()
    ids = list(db.session.scalars(select(WorkflowTask.id).where(
        WorkflowTask.task_spec == "unit_review", WorkflowTask.completed_at.is_(None))))
    assert len(ids) == n
    return ids


# --------------------------------------------------------------------------- 1. batch reviews


def test_overlapping_batch_reviews_through_the_api_decide_every_task_once(pg_app, declaration):
    """Six reviewers of the hospital batch-approve overlapping selections, each in its own order: every
    answer is JSON 200 (no 'deadlock detected' 500), every task is decided exactly once, and whatever one
    reviewer could not do is listed in ``failed`` because another already did it."""
    ids = open_unit_reviews(declaration, 20)
    headers = api_token(pg_app.test_client(), "hospital_admin")
    db.session.remove()
    rng = random.Random(20)
    selections = [rng.sample(ids, 14) for _ in range(6)]

    def review(i: int):
        with pg_app.app_context():
            r = pg_app.test_client().post("/api/v1/tasks/complete", headers=headers, json={
                "task_ids": selections[i], "outcome": "approve", "comment": ""})
            db.session.remove()
            return r.status_code, r.get_json()

    answers = run_together(len(selections), review)
    assert [a if isinstance(a, Exception) else a[0] for a in answers] == [200] * len(selections), answers
    completed = Counter(task_id for _code, body in answers for task_id in body["completed"])
    chosen = set().union(*selections)
    assert set(completed) == chosen and set(completed.values()) == {1}
    for (_code, body), selection in zip(answers, selections, strict=True):
        assert sorted(body["completed"] + [f["id"] for f in body["failed"]]) == sorted(selection)
        assert {f["error"] for f in body["failed"]} <= {"该任务已被处理，不能重复提交"}
    decided = db.session.execute(select(ApprovalEvent.task_id, func.count()).where(
        ApprovalEvent.step == "unit_review").group_by(ApprovalEvent.task_id)).all()
    assert dict(decided) == dict.fromkeys(chosen, 1)
    waiting = db.session.scalar(select(func.count()).select_from(WorkflowTask).where(
        WorkflowTask.task_spec == "supervisory_review", WorkflowTask.completed_at.is_(None)))
    assert waiting == len(chosen)


@pytest.mark.parametrize("attempts", [services.BATCH_ATTEMPTS, 1], ids=["starts_over", "gives_up"])
def test_a_batch_the_database_picks_to_break_a_deadlock_starts_over_or_reports_the_task(
        pg_app, declaration, monkeypatch, attempts):
    """Two bureau reviewers give the last approval to disjoint batches whose recorded hours lock the same two
    people in opposite orders (陈 then 刘, 刘 then 陈): PostgreSQL breaks the deadlock by failing one batch's
    step. That batch starts over, and both complete every task; with no run left, that one task is reported
    as failed with a message saying why, and everything else is done."""
    from app.archive import services as archive

    monkeypatch.setattr(services, "BATCH_ATTEMPTS", attempts)

    people = ["chenshihui", "liuwenbin", "liuwenbin", "chenshihui"]
    # 刘's hours are for 2025: both work at the hospital, and the statistics summary row of a unit and year
    # (stats2_0001) would otherwise make the second batch wait for the first instead of deadlocking
    years = {"chenshihui": {}, "liuwenbin": {"year": 2025, "start_date": "2025-03-01", "end_date": "2025-03-03"}}
    instances = [services.start_process("credit_hour_approval",
                                        {**declaration, "course_name": f"课程{i}", **years[login]},
                                        actor=actor(login)) for i, login in enumerate(people)]
    db.session.commit()
    for reviewer in ("hospital_admin", "health_admin"):
        ids = [services.open_tasks(i)[0].id for i in instances]
        assert services.complete_tasks(ids, {"outcome": "approve"}, actor=actor(reviewer))[0] == ids
        db.session.commit()
    final = [services.open_tasks(i)[0].id for i in instances]
    batches = [final[:2], final[2:]]
    db.session.remove()

    real_add_record = archive.add_record
    both_hold_their_first_person = threading.Barrier(2, timeout=10)
    waited: set[int] = set()
    calls: list[int] = []

    def add_record(record, writes=None):  # noqa: ANN001, ANN202
        result = real_add_record(record, writes)
        calls.append(record.source_id)
        if threading.get_ident() not in waited:  # the first pass only: a batch that starts over runs freely
            waited.add(threading.get_ident())
            both_hold_their_first_person.wait()
        return result

    monkeypatch.setattr(archive, "add_record", add_record)

    def review(i: int):
        with pg_app.app_context():
            result = services.complete_tasks(batches[i], {"outcome": "approve"}, actor=actor("hr_city"))
            db.session.commit()
            db.session.remove()
            return result

    answers = run_together(2, review)
    if attempts == 1:  # which batch PostgreSQL picks varies
        (victim, its_batch), (winner, other_batch) = sorted(zip(answers, batches, strict=True),
                                                            key=lambda pair: len(pair[0][0]))
        assert victim == ([its_batch[0]], [{"id": its_batch[1], "error": services.BUSY_MESSAGE}])
        assert winner == (other_batch, [])
        assert db.session.scalar(select(func.count()).select_from(WorkflowTask).where(
            WorkflowTask.completed_at.is_(None))) == 1
        return
    assert answers == [(batches[0], []), (batches[1], [])]
    assert len(calls) > 4  # the deadlock was real: one batch ran (part of) its steps again
    assert {services.visible_instance(i.id, actor("chenshihui") if p == "chenshihui" else actor("liuwenbin")
                                      ).status for i, p in zip(instances, people, strict=True)} == {"completed"}
    from app.archive.models import CreditRecord

    assert db.session.scalar(select(func.count()).select_from(CreditRecord)) == 4


# --------------------------------------------------------------------------- 2. certificate jobs


def test_concurrent_certificate_jobs_for_one_person_year_hand_out_the_same_current_certificate(
        pg_app, tmp_path):
    """Three batch jobs (a bureau, the unit, the unit again; each in its own order) print the same people's
    certificates at the same moment, while the unit reissues 陈诗慧's through the API. No job reissues what
    another issued: every zip holds, per person, the certificate that was current when the job committed it,
    and at the end each person has exactly one current certificate, the one the last of them named."""
    import io
    import zipfile

    from app.certificates import batch
    from app.certificates.models import Certificate
    from app.taskcentre import files
    from tests.test_certificates import CHEN, LIU, WANG, give_hours

    pg_app.config["JOBS_DIR"] = str(tmp_path)
    people = {give_hours(n).id: n for n in (CHEN, LIU, WANG)}
    hospital_staff = [pid for pid, n in people.items() if n != WANG]
    orders = [("hr_city", list(people)), ("hospital_admin", hospital_staff[::-1]),
              ("hospital_admin", hospital_staff)]
    with pg_app.test_request_context():
        jobs = [batch.start_batch(actor(login), ids, 2025, "http://cepp.example/").id for login, ids in orders]
    db.session.commit()
    headers = api_token(pg_app.test_client(), "hospital_admin")
    db.session.remove()

    def work(i: int):
        with pg_app.app_context():
            if i == len(jobs):
                r = pg_app.test_client().post("/api/v1/certificates", headers=headers,
                                              json={"year": 2025, "person_id_number": CHEN})
                result: object = (r.status_code, r.get_json()["number"])
            else:
                result = batch.run_batch(jobs[i])
            db.session.remove()
            return result

    try:
        answers = run_together(len(jobs) + 1, work)
    finally:
        pg_app.config["JOBS_DIR"] = None
    assert answers[:-1] == ["finished"] * len(jobs), answers
    assert answers[-1][0] == 201, answers
    current = {people[c.person_id]: c.number for c in db.session.scalars(
        select(Certificate).where(Certificate.status == "valid"))}
    assert sorted(current) == sorted(people.values())  # exactly one current certificate each
    assert current[CHEN] == answers[-1][1]  # the API's answer names the certificate current after it
    issued = Counter(people[pid] for pid in db.session.scalars(select(Certificate.person_id)))
    # jobs issue once and then reuse; only the API reissue may replace one (if it came after a job's issue)
    assert issued[LIU] == issued[WANG] == 1 and issued[CHEN] in (1, 2), issued
    for job_id, (_login, ids) in zip(jobs, orders, strict=True):
        job = db.session.get(batch.BackgroundJob, job_id)
        stored = tmp_path / "stored.zip"
        files.copy_to(job.result_path, stored)
        with zipfile.ZipFile(io.BytesIO(stored.read_bytes())) as zf:
            numbers = {people[db.session.scalar(select(Certificate.person_id).where(Certificate.number == n))]: n
                       for n in (name.split("_")[0] for name in zf.namelist())}
        assert sorted(numbers) == sorted(people[i] for i in ids)
        assert {n: numbers[n] for n in numbers if n != CHEN} == {n: current[n] for n in numbers if n != CHEN}


# --------------------------------------------------------------------------- 4. diagram uploads


def test_concurrent_diagram_uploads_number_versions_without_gaps_and_keep_one_active(pg_app, declaration):
    """Five administrators save edited diagrams of one process at the same moment (two of them the same
    edit), while declarations start on it: every save succeeds, versions are numbered 1..n without gap or
    duplicate, and exactly one is active: one that a save made current."""
    from app.core.errors import DomainError
    from app.processes_admin import services as admin
    from app.workflow.models import ProcessVersion
    from app.workflow.versions import PROCESSES_DIR

    key = "credit_hour_approval"
    source = (PROCESSES_DIR / f"{key}.bpmn").read_text(encoding="utf-8")
    edits = [f"{source}\n<!-- edit {i % 4} -->\n".encode() for i in range(5)]
    db.session.remove()

    def work(i: int):
        with pg_app.app_context():
            try:
                if i < len(edits):
                    row = admin.upload(actor("hr_province"), key, f"edit{i}.bpmn", edits[i])
                    result: object = (row.version, row.content_hash)
                else:
                    result = services.start_process(key, declaration, actor=actor("chenshihui")).id
                db.session.commit()
                return result
            except DomainError as exc:
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    answers = run_together(len(edits) + 2, work)
    assert not [a for a in answers if isinstance(a, Exception) and not isinstance(a, DomainError)], answers
    rows = db.session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == key)
                              .order_by(ProcessVersion.version)).all()
    assert [r.version for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == 1 + 4  # the shipped file and the four different edits (one saved twice)
    active = [r for r in rows if r.active]
    assert len(active) == 1
    saved = [a for a in answers[:len(edits)] if isinstance(a, tuple)]
    assert len(saved) == len(edits), answers  # no save lost to the race
    assert {(r.version, r.content_hash) for r in rows[1:]} == set(saved)  # the same edit twice: one version
    assert (active[0].version, active[0].content_hash) in saved


# --------------------------------------------------------------------------- several server processes


def test_overlapping_batch_reviews_across_three_server_processes_decide_every_task_once(declaration):
    """The app in three OS processes on one PostgreSQL database, as deployed: declarations come in through
    all three, then six reviewers batch-approve overlapping selections through the JSON API, each on another
    process. No answer is a 5xx, and every task is decided exactly once."""
    from sqlalchemy import create_engine, text

    from tests.servers import Server, seeded_database

    url = seeded_database("mp")
    servers = [Server(url) for _ in range(3)]
    try:
        tokens = [s.token(login) for s, login in zip(servers, ("chenshihui", "liuwenbin", "chenshihui"),
                                                     strict=True)]

        def declare(i: int):
            status, body = servers[i % 3].call("POST", "/api/v1/processes/credit_hour_approval/instances",
                                               {**declaration, "course_name": f"课程{i}"}, tokens[i % 3])
            return status, body["tasks"][0]["id"] if status == 201 else body

        started = run_together(18, declare)
        assert [s for s, _task in started] == [201] * 18, started
        ids = [task for _s, task in started]
        reviewer = servers[0].token("hospital_admin")
        rng = random.Random(3)
        selections = [rng.sample(ids, 12) for _ in range(6)]

        def review(i: int):
            return servers[i % 3].call("POST", "/api/v1/tasks/complete",
                                       {"task_ids": selections[i], "outcome": "approve", "comment": ""}, reviewer)

        answers = run_together(len(selections), review)
        assert [status for status, _body in answers] == [200] * len(selections), answers
        completed = Counter(t for _status, body in answers for t in body["completed"])
        assert completed == Counter(dict.fromkeys(set().union(*selections), 1))
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                decided = conn.execute(text("SELECT task_id, count(*) FROM approval_event "
                                            "WHERE step = 'unit_review' GROUP BY task_id")).all()
        finally:
            engine.dispose()
        assert dict(decided) == dict.fromkeys(set().union(*selections), 1)
    finally:
        for server in servers:
            server.kill()
