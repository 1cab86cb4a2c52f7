"""Dishonesty records (失信信息, issue 16 item 2): recording for staff or the unit itself, the lists of a unit and
of a bureau, revoking with a reason (both kept, never edited), scope (another unit's entries answer 404),
and the panel reviewers see on a credit-hour case of that person."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.accounts.models import Organisation
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.integrity import services
from app.integrity.models import DishonestyEntry
from app.workflow import services as workflow
from app.workflow.models import WorkflowTask
from tests.conftest import api_token

CHEN = "110101199003072711"  # 陈诗慧, at the hospital
WANG = "440102198001010013"  # 王立平, at the tech company


def _org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def test_a_unit_records_for_its_staff_and_itself_and_sees_them(app, as_user) -> None:
    hospital = as_user("hospital_admin")
    entry = services.record(
        hospital, {"subject_type": "person", "person_id_number": CHEN, "content": "继续教育学时申报材料造假"}
    )
    own = services.record(
        hospital,
        {
            "subject_type": "organisation",
            "org_id": str(_org("市第一人民医院").id),
            "content": "未按规定组织专业技术人员参加继续教育",
        },
    )
    db.session.commit()
    assert (entry.subject_name, entry.subject_org.name, entry.recorded_by_org.name) == (
        "陈诗慧",
        "市第一人民医院",
        "市第一人民医院",
    )
    assert entry.recorded_by.name == "市一医院管理员" and entry.created_at is not None
    listed = services.search(hospital)
    assert [e.id for e in listed.items] == [own.id, entry.id] and listed.total == 2
    # 单位失信信息查看: only the entries against the unit itself
    assert [e.id for e in services.search(hospital, view="unit").items] == [own.id]
    assert [e.id for e in services.search(hospital, subject_type="person").items] == [entry.id]
    assert [e.id for e in services.search(hospital, name="陈诗").items] == [entry.id]


def test_a_bureau_sees_everything_below_it_and_records_against_a_unit(app, as_user) -> None:
    services.record(as_user("hospital_admin"), {"subject_type": "person", "person_id_number": CHEN, "content": "甲"})
    services.record(as_user("tech_admin"), {"subject_type": "person", "person_id_number": WANG, "content": "乙"})
    by_city = services.record(
        as_user("hr_city"), {"subject_type": "organisation", "org_id": _org("市第一人民医院").id, "content": "丙"}
    )
    db.session.commit()
    assert {e.content for e in services.search(as_user("hr_city")).items} == {"甲", "乙", "丙"}
    assert {e.content for e in services.search(as_user("hr_district")).items} == {"乙"}
    assert {e.content for e in services.search(as_user("health_admin")).items} == {"甲", "丙"}
    # the hospital sees what the city bureau recorded against it, and cannot revoke it
    hospital = as_user("hospital_admin")
    assert [e.id for e in services.search(hospital, view="unit").items] == [by_city.id]
    assert not services.can_revoke(hospital, by_city)
    with pytest.raises(InvalidState):
        services.revoke(hospital, by_city.id, "不认可")


def test_only_staff_and_organisations_in_scope_can_be_recorded(app, as_user) -> None:
    tech = as_user("tech_admin")
    with pytest.raises(ValidationFailed) as exc:
        services.record(tech, {"subject_type": "person", "person_id_number": CHEN, "content": "x"})
    assert "person_id_number" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.record(tech, {"subject_type": "organisation", "org_id": _org("市第一人民医院").id, "content": "x"})
    assert "org_id" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.record(tech, {"subject_type": "person", "person_id_number": WANG, "content": "  "})
    assert "content" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.record(tech, {"subject_type": "other", "content": "x"})
    assert "subject_type" in exc.value.fields
    with pytest.raises(NotFound):  # a professional manages no entries
        services.record(as_user("chenshihui"), {"subject_type": "person", "person_id_number": CHEN, "content": "x"})


def test_revoking_keeps_the_entry_and_the_reason(app, as_user) -> None:
    hospital = as_user("hospital_admin")
    entry = services.record(hospital, {"subject_type": "person", "person_id_number": CHEN, "content": "材料造假"})
    with pytest.raises(ValidationFailed):
        services.revoke(hospital, entry.id, "")
    services.revoke(hospital, entry.id, "经复核系误报")
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(DishonestyEntry, entry.id)
    assert (stored.status, stored.content, stored.revoke_reason) == ("revoked", "材料造假", "经复核系误报")
    assert stored.revoked_by_id == hospital.id and stored.revoked_at is not None
    with pytest.raises(InvalidState):
        services.revoke(hospital, entry.id, "again")
    assert (
        services.search(hospital, status="revoked").total == 1 and services.search(hospital, status="active").total == 0
    )


def test_another_units_entries_answer_404_on_pages_and_api(app, web, client, as_user) -> None:
    entry = services.record(
        as_user("hospital_admin"), {"subject_type": "person", "person_id_number": CHEN, "content": "材料造假"}
    )
    db.session.commit()
    web.login("tech_admin")
    assert web.client.get(f"/integrity/{entry.id}").status_code == 404
    token = web.csrf("/integrity")
    r = web.client.post(f"/integrity/{entry.id}/revoke", data={"reason": "x", "csrf_token": token})
    assert r.status_code == 404
    assert "材料造假" not in web.client.get("/integrity").get_data(as_text=True)
    headers = api_token(client, "tech_admin")
    assert client.get(f"/api/v1/integrity/entries/{entry.id}", headers=headers).status_code == 404
    r = client.post(f"/api/v1/integrity/entries/{entry.id}/revoke", json={"reason": "x"}, headers=headers)
    assert r.status_code == 404
    assert client.get("/api/v1/integrity/entries", headers=headers).get_json() == {"items": [], "total": 0}
    # a professional: no pages at all
    headers = api_token(client, "chenshihui")
    assert client.get(f"/api/v1/integrity/entries/{entry.id}", headers=headers).status_code == 404


def test_the_api_records_lists_and_revokes(app, client) -> None:
    headers = api_token(client, "hospital_admin")
    r = client.post(
        "/api/v1/integrity/entries",
        headers=headers,
        json={"subject_type": "person", "person_id_number": CHEN, "content": "学时造假"},
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["subject_name"] == "陈诗慧" and body["status"] == "active"
    assert body["recorded_by"] == {"organisation": "市第一人民医院", "user": "市一医院管理员"}
    assert body["recorded_at"].endswith("Z")
    r = client.post("/api/v1/integrity/entries", headers=headers, json={"subject_type": "person", "content": ""})
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) >= {"person_id_number", "content"}
    r = client.post(f"/api/v1/integrity/entries/{body['id']}/revoke", headers=headers, json={"reason": "误报"})
    assert r.status_code == 200 and r.get_json()["status"] == "revoked" and r.get_json()["revoke_reason"] == "误报"
    assert r.get_json()["content"] == "学时造假"
    r = client.post(f"/api/v1/integrity/entries/{body['id']}/revoke", headers=headers, json={"reason": "误报"})
    assert r.status_code == 409
    page = client.get("/api/v1/integrity/entries?status=revoked", headers=api_token(client, "hr_city")).get_json()
    assert page["total"] == 1 and page["items"][0]["id"] == body["id"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/integrity/entries", "/integrity/entries/{entry_id}", "/integrity/entries/{entry_id}/revoke"} <= set(
        spec["paths"]
    )


def test_the_pages_record_and_revoke(app, web) -> None:
    web.login("hospital_admin")
    assert web.client.get("/integrity").status_code == 200
    r = web.post_form("/integrity/new", {"subject_type": "person", "person_id_number": CHEN, "content": ""})
    assert r.status_code == 422 and "请填写失信内容" in r.get_data(as_text=True)
    r = web.post_form("/integrity/new", {"subject_type": "person", "person_id_number": CHEN, "content": "伪造证明"})
    assert r.status_code == 302
    entry_id = int(re.search(r"/integrity/(\d+)", r.headers["Location"]).group(1))
    page = web.client.get(f"/integrity/{entry_id}").get_data(as_text=True)
    assert "伪造证明" in page and "撤销原因" in page
    r = web.post_form(f"/integrity/{entry_id}", {"reason": "已核实为误录"}, f"/integrity/{entry_id}/revoke")
    assert r.status_code == 302
    page = web.client.get(f"/integrity/{entry_id}").get_data(as_text=True)
    assert "已核实为误录" in page and "伪造证明" in page and "已撤销" in page


def test_reviewers_see_the_persons_entries_on_the_case(app, web, as_user, declaration) -> None:
    services.record(
        as_user("hospital_admin"),
        {"subject_type": "person", "person_id_number": CHEN, "content": "2025年学时申报材料造假"},
    )
    instance = workflow.start_process("credit_hour_approval", declaration, actor=as_user("chenshihui"))
    db.session.commit()
    task = db.session.scalar(
        select(WorkflowTask).where(WorkflowTask.instance_id == instance.id, WorkflowTask.completed_at.is_(None))
    )
    web.login("hospital_admin")
    page = web.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "失信信息" in page and "2025年学时申报材料造假" in page
    assert "2025年学时申报材料造假" in web.client.get(f"/applications/{instance.id}").get_data(as_text=True)
    # the person themself does not see the panel on their own case
    web.client.post("/logout", data={"csrf_token": web.csrf("/applications")})
    web.login("chenshihui")
    assert "2025年学时申报材料造假" not in web.client.get(f"/applications/{instance.id}").get_data(as_text=True)


def test_a_case_without_entries_has_no_panel(app, web, as_user, declaration) -> None:
    instance = workflow.start_process("credit_hour_approval", declaration, actor=as_user("chenshihui"))
    db.session.commit()
    web.login("hospital_admin")
    assert "该人员有" not in web.client.get(f"/applications/{instance.id}").get_data(as_text=True)


def test_record_list_and_revoke_on_postgresql(pg_app, as_user) -> None:
    hospital = as_user("hospital_admin")
    entry = services.record(hospital, {"subject_type": "person", "person_id_number": CHEN, "content": "造假_100%"})
    db.session.commit()
    assert [e.id for e in services.search(as_user("hr_city"), name="陈诗慧").items] == [entry.id]
    services.revoke(hospital, entry.id, "误录")
    db.session.commit()
    assert services.search(as_user("health_admin"), status="revoked").total == 1
    assert services.search(as_user("hr_district")).total == 0


def test_a_bureau_with_many_organisations_searches_them(app, web, monkeypatch) -> None:
    """Above PICKER_ABOVE organisations in scope the form uses the organisation picker (its no-script lookup
    takes a name); an organisation outside the scope is still refused."""
    from app.integrity import views

    monkeypatch.setattr(views, "PICKER_ABOVE", 1)
    web.login("hr_district")
    page = web.client.get("/integrity/new").get_data(as_text=True)
    assert "data-org-picker" in page and 'name="org_id_lookup"' in page
    r = web.post_form(
        "/integrity/new", {"subject_type": "organisation", "org_id_lookup": "市第一人民医院", "content": "x"}
    )
    assert r.status_code == 422 and "请选择本单位或下级单位" in r.get_data(as_text=True)
    r = web.post_form(
        "/integrity/new",
        {"subject_type": "organisation", "org_id_lookup": "福州智造科技有限公司", "content": "未按规定组织继续教育"},
    )
    assert r.status_code == 302
    entry = db.session.scalar(select(DishonestyEntry))
    assert entry.subject_name == "福州智造科技有限公司" and entry.recorded_by_org.name == "区人力资源和社会保障局"


def test_an_institution_declaring_for_its_student_does_not_see_their_entries(app, web, as_user, declaration) -> None:
    """The institution sees the case it declared, not the student's record of dishonesty; the student's unit,
    which reviews the case, does."""
    from tests.test_credits_declarers import enrol

    services.record(as_user("hospital_admin"),
                    {"subject_type": "person", "person_id_number": CHEN, "content": "培训签到代签"})
    enrol(CHEN)
    instance = workflow.start_process("credit_hour_approval", {**declaration, "person_id_number": CHEN},
                                      actor=as_user("institute_admin"))
    db.session.commit()
    web.login("institute_admin")
    page = web.client.get(f"/applications/{instance.id}")
    assert page.status_code == 200 and "培训签到代签" not in page.get_data(as_text=True)
    web.client.post("/logout", data={"csrf_token": web.csrf("/applications")})
    web.login("hospital_admin")
    assert "培训签到代签" in web.client.get(f"/applications/{instance.id}").get_data(as_text=True)


def test_the_task_api_carries_the_entries_to_the_reviewer(app, client, as_user, declaration) -> None:
    services.record(as_user("hospital_admin"),
                    {"subject_type": "person", "person_id_number": CHEN, "content": "继续教育证明造假"})
    instance = workflow.start_process("credit_hour_approval", declaration, actor=as_user("chenshihui"))
    db.session.commit()
    task = db.session.scalar(
        select(WorkflowTask).where(WorkflowTask.instance_id == instance.id, WorkflowTask.completed_at.is_(None)))
    headers = api_token(client, "hospital_admin")
    answer = client.get(f"/api/v1/tasks/{task.id}", headers=headers).get_json()
    [panel] = answer["panels"]
    assert panel["name"] == "integrity.dishonesty" and panel["title"] == "失信信息"
    assert panel["data"]["active"] == 1 and panel["data"]["entries"][0]["content"] == "继续教育证明造假"
    english = client.get(f"/api/v1/tasks/{task.id}?lang=en", headers=headers).get_json()
    assert english["panels"][0]["title"] != "失信信息"
    other = workflow.start_process("credit_hour_approval", declaration, actor=as_user("liuwenbin"))
    db.session.commit()
    task = db.session.scalar(
        select(WorkflowTask).where(WorkflowTask.instance_id == other.id, WorkflowTask.completed_at.is_(None)))
    assert client.get(f"/api/v1/tasks/{task.id}", headers=headers).get_json()["panels"] == []
