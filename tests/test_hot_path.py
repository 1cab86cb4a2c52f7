"""The whole-request hot path: answers built from what the action holds, lists without per-item queries, the
archive's records paged on request."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.archive.models import CreditRecord
from app.extensions import db
from app.workflow import services as wf
from tests.conftest import actor, api_token, statements
from tests.test_archive_api import CHEN, person


def _declare(declaration: dict, n: int) -> None:
    for i in range(n):
        wf.start_process("credit_hour_approval", {**declaration, "course_name": f"课程{i}"},
                         actor=actor("chenshihui"))
    db.session.commit()


def test_my_applications_cost_the_same_statements_for_one_item_or_many(client, declaration):
    h = api_token(client, "chenshihui")
    _declare(declaration, 1)
    client.get("/api/v1/instances", headers=h)  # version numbers are read once per process
    with statements() as one:
        first = client.get("/api/v1/instances", headers=h).get_json()
    _declare(declaration, 5)
    with statements() as six:
        page = client.get("/api/v1/instances", headers=h).get_json()
    assert (first["total"], page["total"], len(page["items"])) == (1, 6, 6)
    assert all(item["tasks"][0]["organisation"] == "市第一人民医院" and item["version"] == 1
               and item["history"][0]["outcome"] == "submit" for item in page["items"])
    assert len(six) == len(one)
    # a list reads no workflow state
    assert not any("state_json" in s for s in six)


def test_an_approval_answers_without_reading_the_instance_again(client, declaration):
    _declare(declaration, 1)
    h = api_token(client, "hospital_admin")
    task = client.get("/api/v1/tasks", headers=h).get_json()["items"][0]
    with statements() as sent:
        r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve", "comment": ""}, headers=h)
    body = r.get_json()
    assert r.status_code == 200 and body["tasks"][0]["organisation"] == "市卫生健康委员会"
    assert [e["outcome"] for e in body["history"]] == ["submit", "approve"]
    # the state is read once, under the lock; the answer comes from the rows the action wrote
    assert sum("state_json" in s and s.lstrip().upper().startswith("SELECT") for s in sent) == 1


def test_archive_records_are_paged_on_request_with_the_hours_of_all(client):
    pid = person(CHEN).id
    start = date(2026, 1, 5)
    for i in range(25):
        # two training days each, 14 hours: the daily cap (6) credits 12
        db.session.add(CreditRecord(person_id=pid, year=2026, subject_type="professional" if i % 3 else "public",
                                    course_name=f"课程{i:02d}", declared_hours=Decimal(14),
                                    recognised_hours=Decimal(14), days=Decimal(2),
                                    start_date=start + timedelta(days=i), end_date=start + timedelta(days=i + 1),
                                    source="class", source_id=1000 + i))
    db.session.commit()
    h = api_token(client, "chenshihui")
    whole = client.get("/api/v1/archive?year=2026", headers=h).get_json()
    paged = client.get("/api/v1/archive?year=2026&page=3&per_page=10", headers=h).get_json()
    assert len(whole["records"]) == whole["records_total"] == 25 and "page" not in whole
    assert [r["course_name"] for r in paged["records"]] == [f"课程{i:02d}" for i in range(20, 25)]
    assert (paged["records_total"], paged["page"], paged["per_page"]) == (25, 3, 10)
    assert paged["hours"] == whole["hours"] == {"public": 108.0, "professional": 192.0, "elective": 0.0,
                                                "total": 300.0}
    assert (paged["verified"], paged["missing"]) == (whole["verified"], whole["missing"])
    bad = client.get("/api/v1/archive?year=2026&per_page=500", headers=h)
    assert bad.status_code == 422 and "per_page" in bad.get_json()["error"]["fields"]


def test_the_case_page_viewed_again_does_not_deserialize_the_workflow_again(web, declaration, monkeypatch):
    from app.workflow import engine
    from app.workflow.models import ProcessInstance

    _declare(declaration, 1)
    instance_id = db.session.scalar(select(ProcessInstance.id))
    loads = []
    real = engine.Run.load.__func__

    def counting(cls, *args, **kwargs):  # noqa: ANN001, ANN202
        loads.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(engine.Run, "load", classmethod(counting))
    web.login("chenshihui")
    first = web.client.get(f"/applications/{instance_id}")
    again = web.client.get(f"/applications/{instance_id}")
    assert first.status_code == again.status_code == 200
    assert first.get_data(as_text=True).count("急诊医学新进展") == again.get_data(as_text=True).count("急诊医学新进展")
    assert len(loads) == 1
    # once the state changes, the page reads the new one
    db.session.remove()
    hospital = api_token(web.client, "hospital_admin")
    task = web.client.get("/api/v1/tasks", headers=hospital).get_json()["items"][0]
    assert web.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve", "comment": ""},
                           headers=hospital).status_code == 200
    loads.clear()
    assert web.client.get(f"/applications/{instance_id}").status_code == 200
    assert len(loads) == 1


def test_start_and_approval_answer_from_what_they_wrote_as_a_fresh_read_would(any_app, declaration):
    client = any_app.test_client()
    applicant, unit = api_token(client, "chenshihui"), api_token(client, "hospital_admin")
    with statements() as sent:
        started = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                              headers=applicant).get_json()
    # nothing of the new instance is read back: its open tasks and history are what the start wrote
    assert not any(s.lstrip().upper().startswith("SELECT") and ("workflow_task" in s or "approval_event" in s)
                   for s in sent), sent
    fresh = client.get(f"/api/v1/instances/{started['id']}", headers=applicant).get_json()
    assert started["tasks"] == fresh["tasks"] and fresh["tasks"][0]["organisation"] == "市第一人民医院"
    with statements() as sent:
        approved = client.post(f"/api/v1/tasks/{started['tasks'][0]['id']}/complete",
                               json={"outcome": "approve", "comment": "好"}, headers=unit).get_json()
    # an approval reads the instance (locked, with its lanes' names and its history so far), nothing more
    assert not any(s.lstrip().upper().startswith(("SELECT WORKFLOW_TASK", "SELECT APPROVAL_EVENT")) for s in sent), sent
    fresh = client.get(f"/api/v1/instances/{started['id']}", headers=applicant).get_json()
    assert approved == fresh
    assert approved["tasks"][0]["organisation"] == "市卫生健康委员会"
    assert [e["outcome"] for e in approved["history"]] == ["submit", "approve"]
    # the last approval, which records the hours (a change on the history row), answers as a fresh read too
    for login in ("health_admin", "hr_city"):
        approved = client.post(f"/api/v1/tasks/{approved['tasks'][0]['id']}/complete",
                               json={"outcome": "approve", "comment": ""}, headers=api_token(client, login)).get_json()
    assert approved == client.get(f"/api/v1/instances/{started['id']}", headers=applicant).get_json()
    assert approved["status"] == "completed"
    assert approved["history"][-1]["changes"] == {"recognised_hours": [None, 18.0]}
