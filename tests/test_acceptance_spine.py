"""Acceptance checks for issue 2 (the spine) that the other test files do not already pin down."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.routing import FloatConverter, IntegerConverter
from werkzeug.security import check_password_hash

from app.accounts.models import Organisation, User
from app.extensions import db
from app.people.models import Person
from app.workflow.models import ApprovalEvent, ProcessInstance, WorkflowTask
from tests.conftest import api_token
from tests.webutil import browser

ROOT = Path(__file__).resolve().parent.parent


def _written() -> list[int]:
    db.session.expire_all()
    return [db.session.scalar(select(func.count()).select_from(m)) for m in (ProcessInstance, WorkflowTask,
                                                                              ApprovalEvent)]


# --- CSRF on every form post ------------------------------------------------------------------------------------

def _sample_url(rule) -> str:
    values = {}
    for name, conv in rule._converters.items():
        if type(conv).__name__ == "AnyConverter":  # <any(a, b):name>: one of its words
            values[name] = sorted(conv.items)[0]
            continue
        values[name] = 1 if isinstance(conv, IntegerConverter | FloatConverter) else "x"
    return rule.rule if not values else _build(rule, values)


def _build(rule, values) -> str:
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<any\([^)]*\):{name}>", str(value), url)
        url = url.replace(f"<{name}>", str(value))
        for conv in ("int", "string", "path", "uuid", "float"):
            url = url.replace(f"<{conv}:{name}>", str(value))
    return url


def test_every_web_post_route_refuses_a_request_without_csrf_token(app):
    """Walk the url_map: every POST route outside /api/ answers 400 (CSRF) when no token is sent."""
    web = browser(app, "hr_province")
    before = _written()
    checked = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        url = _sample_url(rule)
        r = web.client.post(url, data={"outcome": "approve", "comment": "x"})
        assert r.status_code == 400, (rule.rule, r.status_code)
        assert "CSRF" in r.get_data(as_text=True), rule.rule
        checked.append(rule.rule)
    # the spine's own forms are among those walked
    for path in ("/login", "/declare"):
        assert path in checked
    assert len(checked) >= 10
    assert _written() == before


# --- passwords and lockout ----------------------------------------------------------------------------------------

def test_passwords_are_stored_hashed(app):
    for user in db.session.scalars(select(User)):
        assert "Demo12345" not in user.password_hash
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert check_password_hash(user.password_hash, "Demo12345")
    from app.accounts.services import hash_password

    # salted: hashing the same password twice gives two different hashes, both of which check
    a, b = hash_password("Secret123"), hash_password("Secret123")
    assert a != b and check_password_hash(a, "Secret123") and check_password_hash(b, "Secret123")
    assert not check_password_hash(a, "Secret124")


# --- the demo data exactly as the issue lists it --------------------------------------------------------------

def test_demo_organisations_accounts_and_people_are_as_listed(app):
    orgs = {o.name: o for o in db.session.scalars(select(Organisation))}
    parent = {name: (o.parent.name if o.parent else None) for name, o in orgs.items()}
    kind = {name: str(o.kind) for name, o in orgs.items()}
    assert parent["省人力资源和社会保障厅"] is None
    assert parent["市人力资源和社会保障局"] == "省人力资源和社会保障厅"
    assert parent["区人力资源和社会保障局"] == "市人力资源和社会保障局"
    assert parent["市卫生健康委员会"] == "市人力资源和社会保障局"
    assert parent["市第一人民医院"] == "市卫生健康委员会"
    assert parent["福州智造科技有限公司"] == "区人力资源和社会保障局"
    assert "市继续教育学院" in orgs
    assert kind == {
        "省人力资源和社会保障厅": "hr_bureau", "市人力资源和社会保障局": "hr_bureau",
        "区人力资源和社会保障局": "hr_bureau",
        "市卫生健康委员会": "supervisory_department", "市第一人民医院": "employer_unit",
        "福州智造科技有限公司": "employer_unit", "市继续教育学院": "training_institution",
    }
    assert [orgs[n].level for n in ("省人力资源和社会保障厅", "市人力资源和社会保障局", "区人力资源和社会保障局")] == [
        "province", "city", "district"]

    where = {"hr_province": "省人力资源和社会保障厅", "hr_city": "市人力资源和社会保障局",
             "hr_district": "区人力资源和社会保障局", "health_admin": "市卫生健康委员会",
             "hospital_admin": "市第一人民医院", "tech_admin": "福州智造科技有限公司",
             "institute_admin": "市继续教育学院", "chenshihui": "市第一人民医院", "liuwenbin": "市第一人民医院",
             "wangliping": "福州智造科技有限公司"}
    users = {u.login: u for u in db.session.scalars(select(User))}
    assert set(users) == set(where)
    for login, org in where.items():
        assert [m.organisation.name for m in users[login].memberships] == [org], login
        assert check_password_hash(users[login].password_hash, "Demo12345"), login
    people = {(p.name, p.id_number, p.unit.name, p.user.login) for p in db.session.scalars(select(Person))}
    assert people == {
        ("陈诗慧", "110101199003072711", "市第一人民医院", "chenshihui"),
        ("刘文斌", "321101198110166954", "市第一人民医院", "liuwenbin"),
        ("王立平", "440102198001010013", "福州智造科技有限公司", "wangliping"),
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for login in where:
        assert login in readme
    assert "Demo12345" in readme


def test_cli_db_upgrade_and_seed_demo_on_a_fresh_sqlite_file(tmp_path):
    db_file = tmp_path / "fresh.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_file}"}
    env.pop("REDIS_URL", None)

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=240)

    up = flask("db", "upgrade")
    assert up.returncode == 0, up.stderr
    first = flask("seed-demo")
    assert first.returncode == 0, first.stderr
    second = flask("seed-demo")
    assert second.returncode == 0, second.stderr
    assert "0 new rows" in second.stdout

    import sqlite3

    con = sqlite3.connect(db_file)
    try:
        logins = {r[0] for r in con.execute("select login from user_account")}
        orgs = con.execute("select count(*) from organisation").fetchone()[0]
    finally:
        con.close()
    assert {"hr_province", "hr_city", "hr_district", "health_admin", "hospital_admin", "tech_admin",
            "institute_admin", "chenshihui", "liuwenbin", "wangliping"} <= logins
    assert orgs == 7


# --- the OpenAPI document -------------------------------------------------------------------------------------

def test_openapi_document_lists_every_design_endpoint_with_its_method(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    expected = [
        ("post", "/auth/token"), ("get", "/processes"), ("post", "/processes/{key}/instances"),
        ("get", "/instances/{id}"), ("get", "/tasks"), ("get", "/tasks/{id}"), ("post", "/tasks/{id}/claim"),
        ("post", "/tasks/{id}/unclaim"), ("post", "/tasks/{id}/complete"), ("post", "/tasks/complete"),
        ("get", "/archive"), ("post", "/certificates"), ("get", "/certificates/{number}/verify"),
    ]
    for method, path in expected:
        assert path in doc["paths"], path
        assert method in doc["paths"][path], (method, path)
    # every documented path is a route of the app (parameter names aside)
    import re

    rules = {re.sub(r"<[^>]+>", "{}", r.rule) for r in client.application.url_map.iter_rules()}
    for _method, path in expected:
        assert "/api/v1" + re.sub(r"{[^}]+}", "{}", path) in rules, path


# --- the chain through the API: reject, withdraw, the return cap, bad declarations -------------------------------

def _only_task(client, headers) -> dict:
    body = client.get("/api/v1/tasks", headers=headers).get_json()
    assert body["total"] == 1, body
    return body["items"][0]


def test_api_reject_closes_the_case(client, declaration):
    chen = api_token(client, "chenshihui")
    iid = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                      headers=chen).get_json()["id"]
    hospital = api_token(client, "hospital_admin")
    task = _only_task(client, hospital)
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "reject"}, headers=hospital)
    assert r.status_code == 422 and "comment" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "reject", "comment": "非本年度培训"},
                    headers=hospital)
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    inst = client.get(f"/api/v1/instances/{iid}", headers=chen).get_json()
    assert inst["status"] == "rejected" and inst["tasks"] == []
    last = inst["history"][-1]
    assert (last["step"], last["organisation"], last["outcome"], last["comment"]) == (
        "单位审核", "市第一人民医院", "reject", "非本年度培训")
    assert last["user"] == "市一医院管理员" and last["at"]
    assert client.get("/api/v1/tasks", headers=hospital).get_json()["total"] == 0


def test_api_withdraw_after_return_closes_the_case(client, declaration):
    chen = api_token(client, "chenshihui")
    iid = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                      headers=chen).get_json()["id"]
    hospital = api_token(client, "hospital_admin")
    task = _only_task(client, hospital)
    client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "return", "comment": "材料不全"},
                headers=hospital)
    revise = _only_task(client, chen)
    r = client.post(f"/api/v1/tasks/{revise['id']}/complete", json={"action": "withdraw"}, headers=chen)
    assert r.status_code == 200 and r.get_json()["status"] == "withdrawn"
    inst = client.get(f"/api/v1/instances/{iid}", headers=chen).get_json()
    assert inst["status"] == "withdrawn" and inst["tasks"] == []
    assert [h["outcome"] for h in inst["history"]] == ["submit", "return", "withdraw"]
    assert all(h["user"] and h["at"] and h["step"] for h in inst["history"])
    assert client.get("/api/v1/tasks", headers=chen).get_json()["total"] == 0


def test_api_return_loop_closes_after_ten_returns_with_a_clear_reason(client, declaration):
    chen = api_token(client, "chenshihui")
    iid = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                      headers=chen).get_json()["id"]
    hospital = api_token(client, "hospital_admin")
    for i in range(10):
        task = _only_task(client, hospital)
        r = client.post(f"/api/v1/tasks/{task['id']}/complete",
                        json={"outcome": "return", "comment": f"第{i + 1}次退回"}, headers=hospital)
        assert r.status_code == 200
        if i < 9:
            revise = _only_task(client, chen)
            r = client.post(f"/api/v1/tasks/{revise['id']}/complete", json={**declaration, "action": "resubmit"},
                            headers=chen)
            assert r.status_code == 200
    inst = client.get(f"/api/v1/instances/{iid}", headers=chen).get_json()
    assert inst["status"] == "rejected" and inst["tasks"] == []
    assert "退案次数已达上限" in inst["history"][-1]["comment"]
    assert client.get("/api/v1/tasks", headers=chen).get_json()["total"] == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("course_name", None, "此项为必填项"),
    ("hours", -3, "拟申报学时必须大于0"),
    ("hours", "abc", "请输入数字"),
    ("end_date", "2026-02-01", "学习结束时间不能早于学习开始时间"),
    ("person_id_number", "110101199003072712", "校验"),
])
def test_api_invalid_declaration_refused_and_nothing_written(client, declaration, field, value, message):
    data = {**declaration, field: value}
    if value is None:
        data.pop(field)
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=data,
                    headers=api_token(client, "chenshihui"))
    assert r.status_code == 422
    assert message in r.get_json()["error"]["fields"][field]
    assert _written() == [0, 0, 0]


def test_web_shows_the_return_limit_reason_to_the_applicant(app, declaration):
    from tests.webutil import act, declare, text

    inst = declare("chenshihui")
    for i in range(10):
        act(inst, "hospital_admin", {"outcome": "return", "comment": f"第{i + 1}次退回"})
        if i < 9:
            act(inst, "chenshihui", {**declaration, "action": "resubmit"})
    page = text(browser(app, "chenshihui").client.get(f"/applications/{inst.id}"))
    assert "退案次数已达上限" in page


def test_web_completing_twice_answers_conflict_and_records_one_decision(app):
    from tests.webutil import declare, open_task

    inst = declare("chenshihui")
    task = open_task(inst)
    hospital = browser(app, "hospital_admin")
    assert hospital.post_form(f"/tasks/{task.id}", {"outcome": "approve"}).status_code == 302
    r = hospital.post_form(f"/tasks/{task.id}", {"outcome": "approve"}, post_url=f"/tasks/{task.id}")
    assert r.status_code == 409
    db.session.expire_all()
    n = db.session.scalar(select(func.count(ApprovalEvent.id)).where(ApprovalEvent.step == "unit_review"))
    assert n == 1


def test_api_unit_declares_for_its_staff_only(client, declaration):
    hospital = api_token(client, "hospital_admin")
    r = client.post("/api/v1/processes/credit_hour_approval/instances",
                    json={**declaration, "person_id_number": "321101198110166954"}, headers=hospital)
    assert r.status_code == 201, r.get_json()
    # the unit declared, so its own review is skipped: the health commission reviews first
    assert [t["name"] for t in r.get_json()["tasks"]] == ["主管部门审核"]
    task = _only_task(client, api_token(client, "health_admin"))
    assert task["applicant"] == "刘文斌"
    r = client.post("/api/v1/processes/credit_hour_approval/instances",
                    json={**declaration, "person_id_number": "440102198001010013"}, headers=hospital)
    assert r.status_code == 422 and "person_id_number" in r.get_json()["error"]["fields"]
    # a professional cannot declare for a colleague
    r = client.post("/api/v1/processes/credit_hour_approval/instances",
                    json={**declaration, "person_id_number": "321101198110166954"},
                    headers=api_token(client, "chenshihui"))
    assert r.status_code == 422
    assert _written()[0] == 1


def test_service_history_rows_carry_step_person_time_and_reviewer_organisation(any_app, declaration):
    from app.workflow import services
    from tests.conftest import actor

    inst = services.start_process("credit_hour_approval", declaration, actor=actor("wangliping"))
    db.session.commit()
    for login, data in (("tech_admin", {"outcome": "return", "comment": "请补充"}),
                        ("wangliping", {**declaration, "action": "resubmit", "hours": 12}),
                        ("tech_admin", {"outcome": "approve", "comment": "同意"}),
                        ("hr_district", {"outcome": "approve", "recognised_hours": 10})):
        (task,) = services.open_tasks(inst)
        services.complete_task(task.id, data, actor=actor(login))
        db.session.commit()
    events = services.history(inst)
    assert [(e.step_name, e.organisation_name, e.user_name, e.outcome, e.comment) for e in events] == [
        ("学时申报", "福州智造科技有限公司", "王立平", "submit", None),
        ("单位审核", "福州智造科技有限公司", "智造科技管理员", "return", "请补充"),
        ("修改申报", "福州智造科技有限公司", "王立平", "resubmit", None),
        ("单位审核", "福州智造科技有限公司", "智造科技管理员", "approve", "同意"),
        ("人社部门审核认定", "区人力资源和社会保障局", "区人社局管理员", "approve", None),
    ]
    assert all(e.at is not None for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_api_inbox_filters_by_process_and_unclaim_releases_the_task(client, declaration):
    client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                headers=api_token(client, "chenshihui"))
    hospital = api_token(client, "hospital_admin")
    assert client.get("/api/v1/tasks?process=credit_hour_approval", headers=hospital).get_json()["total"] == 1
    assert client.get("/api/v1/tasks?process=registration_review", headers=hospital).get_json()["total"] == 0
    assert client.get("/api/v1/tasks?q=王立平", headers=hospital).get_json()["total"] == 0
    task = _only_task(client, hospital)
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=hospital).get_json()["assignee"] == "市一医院管理员"
    r = client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=hospital)
    assert r.status_code == 200 and r.get_json()["assignee"] is None
    assert _only_task(client, hospital)["assignee"] is None
    # another organisation can neither claim nor unclaim it
    tech = api_token(client, "tech_admin")
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=tech).status_code == 404
    assert client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=tech).status_code == 404
