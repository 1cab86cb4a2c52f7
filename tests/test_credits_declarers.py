"""Issue 15 item 6: a supervisory department declares hours for its own staff (Shandong 001 §5.2) and a training
institution submits its students' hours to their units (Henan 003 学时学分审批), both through the credit-hour chain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import Organisation
from app.archive.models import CreditRecord
from app.core.errors import ValidationFailed
from app.extensions import db
from app.people import services as people
from app.people.models import Person
from app.workflow import services
from app.workflow.models import ProcessInstance, WorkflowTask
from tests.conftest import WebClient, actor, api_token
from tests.test_imports import id_number

PROCESS = "credit_hour_approval"
CHEN = "110101199003072711"


def org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def open_task(instance: ProcessInstance) -> WorkflowTask:
    tasks = services.open_tasks(instance)
    assert len(tasks) == 1, tasks
    return tasks[0]


def approve(instance: ProcessInstance, login: str) -> WorkflowTask:
    task = open_task(instance)
    services.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
    db.session.commit()
    return task


def department_staff() -> Person:
    """A professional of the health commission itself (not of a unit below it), added by its administrator."""
    health = org("市卫生健康委员会")
    person = people.add(
        actor("health_admin"),
        health.id,
        {"name": "委机关甲", "id_number": id_number(501), "gender": "女", "title_level": "中级"},
    )
    db.session.commit()
    return person


def test_a_supervisory_department_declares_for_its_own_staff(app, declaration):
    person = department_staff()
    health_admin = actor("health_admin")
    assert org("市卫生健康委员会").id in [u.id for u in people.units(health_admin)]
    assert services.registry.hooks_for(PROCESS).can_start(health_admin)

    inst = services.start_process(PROCESS, {**declaration, "person_id_number": person.id_number}, actor=health_admin)
    db.session.commit()
    assert inst.started_for_org_id == org("市卫生健康委员会").id and inst.subject_person_id == person.id
    # the department declared: its own step is skipped, no department sits above it, the city bureau decides
    task = approve(inst, "hr_city")
    assert (task.task_spec, task.candidate_org_id) == ("hr_review", org("市人力资源和社会保障局").id)
    db.session.refresh(inst)
    assert (inst.status, inst.outcome) == ("completed", "approved")
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.source_id == inst.id))
    assert record.person_id == person.id and record.recognised_hours == Decimal("18")
    assert [e.organisation_name for e in services.history(inst)][:1] == ["市卫生健康委员会"]


def test_a_department_declares_only_for_its_own_staff(app, declaration):
    # a hospital professional is under the department, but the hospital declares for its staff, not the department
    with pytest.raises(ValidationFailed) as refused:
        services.start_process(PROCESS, {**declaration, "person_id_number": CHEN}, actor=actor("health_admin"))
    assert "未找到该人员" in refused.value.fields["person_id_number"]


def test_department_staff_declaring_themself_are_reviewed_by_the_department(app, declaration):
    from app.accounts.models import User
    from app.accounts.services import hash_password

    person = department_staff()
    user = User(
        login="weijiguan", name=person.name, id_number=person.id_number, password_hash=hash_password("Demo12345")
    )
    db.session.add(user)
    db.session.flush()
    person.user_id = user.id
    db.session.commit()
    inst = services.start_process(PROCESS, declaration, actor=actor("weijiguan"))
    db.session.commit()
    task = approve(inst, "health_admin")
    assert (task.task_spec, task.lane, task.candidate_org_id) == ("unit_review", "unit", org("市卫生健康委员会").id)
    assert open_task(inst).task_spec == "hr_review"


def enrol(id_number: str, status: str = "open") -> None:
    """The person in a class of 市继续教育学院 (its student)."""
    from app.accounts.models import User
    from app.classes.models import ClassMember, TrainingClass
    from app.core.models import utcnow

    row = TrainingClass(organisation_id=org("市继续教育学院").id, year=2026, name="急诊医学进修班",
                        subject_type="professional", status=status,
                        created_by_id=db.session.scalar(select(User.id).where(User.login == "institute_admin")))
    db.session.add(row)
    db.session.flush()
    person = db.session.scalar(select(Person.id).where(Person.id_number == id_number))
    db.session.add(ClassMember(class_id=row.id, person_id=person, enrolled_at=utcnow()))
    db.session.commit()


def test_an_institution_submits_a_students_hours_to_their_unit(app, declaration):
    enrol(CHEN)
    institute = actor("institute_admin")
    assert services.registry.hooks_for(PROCESS).can_start(institute)
    inst = services.start_process(PROCESS, {**declaration, "person_id_number": CHEN}, actor=institute)
    db.session.commit()
    assert inst.started_for_org_id == org("市继续教育学院").id
    assert inst.lane_orgs["institution"]["name"] == "市继续教育学院"
    # the student's unit reviews it first, as a professional's own declaration, then up the chain
    for login, spec in (
        ("hospital_admin", "unit_review"),
        ("health_admin", "supervisory_review"),
        ("hr_city", "hr_review"),
    ):
        assert approve(inst, login).task_spec == spec
    db.session.refresh(inst)
    assert inst.outcome == "approved"
    assert services.history(inst)[0].organisation_name == "市继续教育学院"
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.source_id == inst.id))
    assert record.person_id == db.session.scalar(select(Person.id).where(Person.id_number == CHEN))


def test_an_institution_is_refused_an_unknown_person_with_the_same_answer(app, declaration):
    """Unknown, or registered but not enrolled in any of its classes: the same answer, nothing started."""
    institute = actor("institute_admin")
    with pytest.raises(ValidationFailed) as unknown:
        services.start_process(PROCESS, {**declaration, "person_id_number": id_number(777)}, actor=institute)
    assert "未找到该人员" in unknown.value.fields["person_id_number"]
    liu = db.session.scalar(select(Person).where(Person.name == "刘文斌"))  # registered, in no class of it
    enrol(liu.id_number, status="cancelled")  # a cancelled class makes no one a student
    with pytest.raises(ValidationFailed) as stranger:
        services.start_process(PROCESS, {**declaration, "person_id_number": liu.id_number}, actor=institute)
    assert stranger.value.fields == unknown.value.fields
    assert db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.started_for_org_id
                                                               == org("市继续教育学院").id,
                                                               ProcessInstance.process_key == PROCESS)) is None


def test_api_institution_and_department_declare_and_scope_holds(client, declaration):
    department_staff()
    enrol(CHEN)
    h = api_token(client, "institute_admin")
    assert PROCESS in [p["key"] for p in client.get("/api/v1/processes", headers=h).json]
    r = client.post(f"/api/v1/processes/{PROCESS}/instances", json={**declaration, "person_id_number": CHEN}, headers=h)
    assert r.status_code == 201, r.json
    inst_id = r.json["id"]
    assert r.json["tasks"][0]["organisation"] == "市第一人民医院"
    assert client.get(f"/api/v1/instances/{inst_id}", headers=h).status_code == 200
    # the hospital sees it in its inbox; another unit does not see the case at all
    hospital = api_token(client, "hospital_admin")
    assert inst_id in [t["instance_id"] for t in client.get("/api/v1/tasks", headers=hospital).json["items"]]
    assert client.get(f"/api/v1/instances/{inst_id}", headers=api_token(client, "tech_admin")).status_code == 404
    # the department declares for its own staff over the API too
    d = api_token(client, "health_admin")
    r = client.post(
        f"/api/v1/processes/{PROCESS}/instances", json={**declaration, "person_id_number": id_number(501)}, headers=d
    )
    assert r.status_code == 201, r.json
    assert r.json["tasks"][0]["organisation"] == "市人力资源和社会保障局"
    r = client.post(f"/api/v1/processes/{PROCESS}/instances", json={**declaration, "person_id_number": CHEN}, headers=d)
    assert r.status_code == 422 and "person_id_number" in r.json["error"]["fields"]


def test_the_declare_page_tells_an_institution_how_to_declare(client, web):
    web.login("institute_admin")
    page = client.get("/declare").get_data(as_text=True)
    assert "培训机构为学员申报" in page
    other = client.application.test_client()
    WebClient(other).login("hospital_admin")
    assert "培训机构为学员申报" not in other.get("/declare").get_data(as_text=True)
