"""Registrations need 注册审核 and info changes 信息变更审核, in the web UI and the API, not only in the services."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from app.accounts.models import Membership, Organisation, Role, User
from app.extensions import db
from app.registration import services as reg
from app.workflow import services as wf
from tests.conftest import actor, api_token
from tests.registration_helpers import code_for, person

PASSWORD = "Demo12345"


def _sub_admin(login: str, modules: list[str]) -> None:
    hospital = db.session.scalar(db.select(Organisation).where(Organisation.name == "市第一人民医院"))
    u = User(login=login, name=login, password_hash=generate_password_hash(PASSWORD))
    db.session.add(u)
    db.session.flush()
    db.session.add(Membership(user_id=u.id, organisation_id=hospital.id, role=Role.SUB_ADMIN, permissions=modules))
    db.session.commit()


def _registration_task() -> int:
    data = person()
    data.setdefault("verification_code", code_for(data["mobile"]))
    inst = reg.register_person(data)
    db.session.commit()
    return wf.open_tasks(inst)[0].id


def _change_task() -> int:
    inst = wf.start_process("person_info_change", {"major": "急诊医学", "reason": "更正"}, actor=actor("chenshihui"))
    db.session.commit()
    return wf.open_tasks(inst)[0].id


CASES = [("registration_review", _registration_task, "person_registration"),
         ("change_review", _change_task, "person_info_change")]


@pytest.mark.parametrize(("module", "make_task", "process"), CASES)
def test_api_review_needs_the_module(client, module, make_task, process):
    _sub_admin("without_module", ["credit_review", "people"])
    _sub_admin("with_module", [module])
    task_id = make_task()
    without = api_token(client, "without_module")
    assert client.get(f"/api/v1/tasks?process={process}", headers=without).get_json()["total"] == 0
    assert client.get(f"/api/v1/tasks/{task_id}", headers=without).status_code == 404
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=without).status_code == 404
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve"}, headers=without)
    assert r.status_code == 404
    r = client.post("/api/v1/tasks/complete", json={"task_ids": [task_id], "outcome": "approve"}, headers=without)
    assert r.get_json()["completed"] == [] and r.get_json()["failed"][0]["id"] == task_id

    holder = api_token(client, "with_module")
    assert client.get(f"/api/v1/tasks?process={process}", headers=holder).get_json()["total"] == 1
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve"}, headers=holder)
    assert r.status_code == 200, r.get_json()
    assert client.get("/api/v1/tasks/reviewed", headers=holder).get_json()["total"] == 1
    assert client.get("/api/v1/tasks/reviewed", headers=without).get_json()["total"] == 0


@pytest.mark.parametrize(("module", "make_task", "process"), CASES)
def test_web_review_needs_the_module(web, module, make_task, process):
    _sub_admin("without_module", ["credit_review", "people"])
    _sub_admin("with_module", [module])
    task_id = make_task()
    web.login("without_module")
    assert web.client.get(f"/tasks/{task_id}").status_code == 404
    r = web.post_form("/tasks", {"outcome": "approve", "comment": ""}, post_url=f"/tasks/{task_id}")
    assert r.status_code == 404
    web.post_form("/tasks", {"task_ids": [task_id], "outcome": "approve"}, post_url="/tasks/batch")
    assert wf.visible_task(task_id, actor("with_module")).completed_at is None  # still open
    web.client.post("/logout", data={"csrf_token": web.csrf("/tasks")})

    web.login("with_module")
    assert web.client.get(f"/tasks/{task_id}").status_code == 200
    r = web.post_form(f"/tasks/{task_id}", {"outcome": "approve", "comment": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert web.client.get("/tasks/reviewed").status_code == 200
    assert "该任务已办理完毕" in web.client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_login_and_id_number_cannot_be_changed_and_both_still_sign_in(client):
    chen = api_token(client, "chenshihui")
    before = client.get("/api/v1/profile", headers=chen).get_json()
    r = client.patch("/api/v1/profile", json={"login": "chen2", "id_number": "440902199203222903"}, headers=chen)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"login", "id_number"}
    assert client.get("/api/v1/profile", headers=chen).get_json() == before
    u = db.session.scalar(db.select(User).where(User.login == "chenshihui"))
    assert u.id_number == "110101199003072711"
    for login in ("chenshihui", "110101199003072711"):
        assert client.post("/api/v1/auth/token", json={"login": login, "password": PASSWORD}).status_code == 200


def test_role_page_offers_the_review_modules_and_the_role_grants_them(web, client):
    web.login("hospital_admin")
    html = web.client.get("/org/roles").get_data(as_text=True)
    for value, label in (("registration_review", "注册审核"), ("change_review", "信息变更审核"),
                         ("credit_review", "学时审核")):
        assert f'value="{value}"' in html and label in html
    r = web.post_form("/org/roles", {"name": "注册审核员", "modules": ["registration_review"]})
    assert r.status_code == 302
    h = api_token(client, "hospital_admin")
    roles = client.get("/api/v1/org/roles", headers=h).get_json()
    roles = roles["items"] if isinstance(roles, dict) else roles
    assert any(x["name"] == "注册审核员" and x["modules"] == ["registration_review"] for x in roles)


def test_training_institution_on_the_web_with_an_existing_user_as_its_administrator(web, client):
    import io

    from app.accounts.models import OrgStatus
    from tests.registration_helpers import PNG, employer_unit, org

    data = employer_unit(kind="training_institution", name="福州卫生职业培训中心", admin_mode="existing",
                         admin_login="110101199003072711", admin_password="Wrong1234",
                         hr_bureau_id=org("市人力资源和社会保障局").id,
                         supervisory_department_id=org("市卫生健康委员会").id)
    for key in ("parent_id", "admin_name", "admin_id_number", "admin_mobile", "admin_password_confirm"):
        data.pop(key)
    html = web.client.get("/register/organisation?kind=training_institution").get_data(as_text=True)
    assert "第一步" in html and "第三步" in html
    r = web.post_form("/register/organisation?kind=training_institution",
                      {**data, "licence": (io.BytesIO(PNG), "scan.png")}, post_url="/register/organisation",
                      content_type="multipart/form-data")
    assert r.status_code == 422  # wrong password of the existing account: nothing written
    assert org("福州卫生职业培训中心") is None
    r = web.post_form("/register/organisation?kind=training_institution",
                      {**data, "admin_password": PASSWORD, "licence": (io.BytesIO(PNG), "scan.png")},
                      post_url="/register/organisation", content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    centre = org("福州卫生职业培训中心")
    assert centre.status == OrgStatus.PENDING

    health = api_token(client, "health_admin")
    tasks = client.get("/api/v1/tasks?process=organisation_registration", headers=health).get_json()["items"]
    assert len(tasks) == 1
    r = client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"outcome": "approve"}, headers=health)
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    assert centre.status == OrgStatus.ACTIVE and actor("chenshihui").is_admin_of(centre.id)


def test_organisation_name_change_on_the_web_shows_old_and_new_and_waits_for_the_parent(web):
    import re

    from tests.registration_helpers import org

    tech_id = org("福州智造科技有限公司").id
    web.login("tech_admin")
    r = web.post_form(f"/changes/organisations/{tech_id}",
                      {"name": "福州智造科技股份有限公司", "uscc": "91410104MA9G8NFR0H", "reason": "改制"})
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    assert org("福州智造科技有限公司") is not None  # nothing changes before the review
    web.client.post("/logout", data={"csrf_token": web.csrf("/changes")})

    web.login("hr_district")
    from app.workflow.models import ProcessInstance
    inst = db.session.scalar(db.select(ProcessInstance)
                             .where(ProcessInstance.process_key == "organisation_info_change"))
    task = wf.open_tasks(inst)[0]
    html = web.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    table = html[html.index("变更内容"):]
    assert re.search(r"单位名称</th>\s*<td[^>]*>福州智造科技有限公司</td>\s*<td[^>]*>→</td>\s*"
                     r"<td[^>]*>福州智造科技股份有限公司</td>", table)
    assert web.post_form(f"/tasks/{task.id}", {"outcome": "approve"}).status_code == 302
    db.session.expire_all()
    assert org("福州智造科技股份有限公司").id == tech_id


def test_batch_approve_registrations_in_the_inbox_then_both_sign_in_by_login_or_id_number(web, client):
    from tests.registration_helpers import LI, ZHANG

    for kw in ({}, {"login": "lisi", "name": "李四", "id_number": LI, "mobile": "13712345678"}):
        data = person(**kw)
        data["verification_code"] = code_for(data["mobile"])
        reg.register_person(data)
    db.session.commit()
    hospital = api_token(client, "hospital_admin")
    ids = [t["id"] for t in client.get("/api/v1/tasks?process=person_registration",
                                       headers=hospital).get_json()["items"]]
    assert len(ids) == 2
    web.login("hospital_admin")
    r = web.post_form("/tasks", {"task_ids": ids, "outcome": "approve"}, post_url="/tasks/batch",
                      follow_redirects=True)
    assert r.status_code == 200
    assert client.get("/api/v1/tasks?process=person_registration", headers=hospital).get_json()["total"] == 0
    html = web.client.get("/tasks/reviewed").get_data(as_text=True)
    assert "张三" in html and "李四" in html and f"/tasks/{ids[0]}" in html  # each row opens its details
    for login in ("zhangsan", ZHANG, "lisi", LI):
        r = client.post("/api/v1/auth/token", json={"login": login, "password": "Abc12345"})
        assert r.status_code == 200, (login, r.get_json())


SENT: list[tuple[str, str, str]] = []


class RecordingSender:
    """A pluggable sender named in VERIFICATION_SENDER as "module:Class"."""

    def send(self, channel: str, target: str, code: str, purpose: str) -> None:
        SENT.append((channel, target, code))


def test_code_sender_is_pluggable_logs_by_default_and_the_page_shows_it_only_in_development(client, caplog):
    cfg = client.application.config
    saved = {k: cfg.get(k) for k in ("VERIFICATION_SENDER", "SHOW_VERIFICATION_CODE")}
    try:
        _sender_checks(client, cfg, caplog)
    finally:
        cfg.update(saved)


def _sender_checks(client, cfg, caplog) -> None:
    cfg.update(VERIFICATION_SENDER="log", SHOW_VERIFICATION_CODE=True)
    r = client.post("/api/v1/registrations/code", json={"mobile": "13900000001"})
    assert r.status_code == 202
    code = r.get_json()["code"]
    assert code and code in caplog.text and "13900000001" in caplog.text

    cfg.update(SHOW_VERIFICATION_CODE=False)
    r = client.post("/api/v1/registrations/code", json={"mobile": "13900000002"})
    assert r.status_code == 202 and "code" not in r.get_json()

    cfg.update(VERIFICATION_SENDER=f"{__name__}:RecordingSender")
    SENT.clear()
    r = client.post("/api/v1/registrations/code", json={"mobile": "13900000003"})
    assert r.status_code == 202 and "code" not in r.get_json()
    assert len(SENT) == 1 and SENT[0][1] == "13900000003" and len(SENT[0][2]) >= 4


def test_another_organisation_cannot_open_or_decide_a_registration_in_web_or_api(web, client):
    task_id = _registration_task()
    other = api_token(client, "tech_admin")
    assert client.get(f"/api/v1/tasks/{task_id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "reject", "comment": "x"},
                       headers=other).status_code == 404
    web.login("tech_admin")
    assert web.client.get(f"/tasks/{task_id}").status_code == 404
    assert web.post_form("/tasks", {"outcome": "approve"}, post_url=f"/tasks/{task_id}").status_code == 404
    assert "张三" not in web.client.get("/tasks/reviewed").get_data(as_text=True)
    assert wf.visible_task(task_id, actor("hospital_admin")).completed_at is None


def test_another_organisations_administrators_are_out_of_reach_on_the_web(web):
    from tests.registration_helpers import org

    hospital = org("市第一人民医院")
    admin_mid = db.session.scalar(db.select(Membership.id).join(User).where(
        User.login == "hospital_admin", Membership.organisation_id == hospital.id))
    web.login("tech_admin")
    assert web.client.get(f"/org/admins?org={hospital.id}").status_code == 404
    for action in ("disable", "reset-password", "transfer", "delete"):
        r = web.post_form("/org/admins", {}, post_url=f"/org/admins/{admin_mid}/{action}")
        assert r.status_code == 404, action
    db.session.expire_all()
    assert db.session.get(Membership, admin_mid).role == Role.ADMIN
    assert db.session.scalar(db.select(User.status).where(User.login == "hospital_admin")) == "active"


def test_staff_archives_and_certificates_need_people_or_statistics(app, client):
    """人员管理 / 统计查询 open staff data to a sub-admin; 学时审核 alone does not."""
    from sqlalchemy import select

    from app.accounts.services import hash_password

    hospital = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    for login, perms in (("reviewer_only", ["credit_review"]), ("stats_clerk", ["statistics"])):
        u = User(login=login, name=login, password_hash=hash_password("Demo12345"))
        db.session.add(u)
        db.session.flush()
        db.session.add(Membership(user_id=u.id, organisation_id=hospital.id, role=Role.SUB_ADMIN, permissions=perms))
    db.session.commit()
    chen = "110101199003072711"
    reviewer, clerk = api_token(client, "reviewer_only"), api_token(client, "stats_clerk")
    assert client.get(f"/api/v1/archive?person_id_number={chen}&year=2026", headers=reviewer).status_code == 404
    assert client.get(f"/api/v1/archive?person_id_number={chen}&year=2026", headers=clerk).status_code == 200
    r = client.post("/api/v1/certificates", json={"person_id_number": chen, "year": 2026}, headers=reviewer)
    assert r.status_code == 404
    r = client.post("/api/v1/certificates", json={"person_id_number": chen, "year": 2026}, headers=clerk)
    assert r.status_code == 409  # in scope now; the year simply is not verified
