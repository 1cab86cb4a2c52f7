"""/api/v1/org/...: administrators, roles, departments, subordinates, driven like another system would."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Organisation
from app.extensions import db
from tests.conftest import api_token


def oid(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def test_roles_and_sub_admins_through_the_api(client):
    h = api_token(client, "hospital_admin")
    r = client.post("/api/v1/org/roles", json={"name": "学时审核", "modules": ["credit_review"]}, headers=h)
    assert r.status_code == 201, r.get_json()
    role_id = r.get_json()["id"]
    r = client.post("/api/v1/org/roles", json={"name": "坏角色", "modules": ["root"]}, headers=h)
    assert r.status_code == 422 and "modules" in r.get_json()["error"]["fields"]

    # a) a member of the unit
    members = client.get("/api/v1/org/admins", headers=h).get_json()
    assert [a["login"] for a in members] == ["hospital_admin"]
    liu_id = db.session.scalar(select(db.text("id")).select_from(db.text("user_account"))
                               .where(db.text("login = 'liuwenbin'")))
    r = client.post("/api/v1/org/admins", json={"way": "member", "user_id": liu_id, "role_id": role_id}, headers=h)
    assert r.status_code == 201, r.get_json()
    liu = r.get_json()
    assert (liu["type"], liu["role"]["name"], liu["permissions"]) == ("sub_admin", "学时审核", ["credit_review"])
    assert liu["id_number"] == "3211**********6954"

    # b) a new user, with field errors first
    r = client.post("/api/v1/org/admins", json={"way": "register", "login": "zhangke", "name": "张科",
                                                "id_number": "350102199201010011", "password": "abc"}, headers=h)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"id_number", "password"}
    r = client.post("/api/v1/org/admins", json={"way": "register", "login": "zhangke", "name": "张科",
                                                "id_number": "350102199201010010", "password": "Kejiao2026"},
                    headers=h)
    assert r.status_code == 201 and r.get_json()["role"] is None
    zhang = r.get_json()

    # c) a user of another organisation, after their password
    r = client.post("/api/v1/org/admins", json={"way": "existing", "login": "wangliping", "password": "nope1234"},
                    headers=h)
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {
        "password": "密码与该用户的注册密码不一致，再错4次帐号将被锁定"}  # counted like a failed login

    r = client.put(f"/api/v1/org/admins/{zhang['membership_id']}/role", json={"role_id": role_id}, headers=h)
    assert r.status_code == 200 and r.get_json()["permissions"] == ["credit_review"]
    r = client.patch(f"/api/v1/org/roles/{role_id}", json={"modules": ["credit_review", "statistics"]}, headers=h)
    assert r.json["holders"] == 2
    assert {a["login"]: a["permissions"] for a in client.get("/api/v1/org/admins", headers=h).get_json()} == {
        "hospital_admin": ["credit_review", "people", "training", "statistics", "registration_review",
                           "change_review", "organisation", "integrity"],
        "liuwenbin": ["credit_review", "statistics"], "zhangke": ["credit_review", "statistics"]}

    r = client.post(f"/api/v1/org/admins/{zhang['membership_id']}/reset-password", headers=h)
    temp = r.get_json()["temporary_password"]
    r = client.post("/api/v1/auth/token", json={"login": "zhangke", "password": temp})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "password_change_required"
    assert client.delete(f"/api/v1/org/admins/{zhang['membership_id']}", headers=h).status_code == 204
    assert client.delete(f"/api/v1/org/roles/{role_id}", headers=h).status_code == 409  # liuwenbin holds it

    r = client.post(f"/api/v1/org/admins/{liu['membership_id']}/disable", headers=h)
    assert r.get_json()["status"] == "disabled"
    assert client.post("/api/v1/auth/token", json={"login": "liuwenbin", "password": "Demo12345"}).status_code == 401
    client.post(f"/api/v1/org/admins/{liu['membership_id']}/enable", headers=h)

    r = client.post(f"/api/v1/org/admins/{liu['membership_id']}/transfer", headers=h)
    assert r.status_code == 200
    assert client.get("/api/v1/org/admins", headers=h).status_code == 404  # no longer an administrator
    assert client.get("/api/v1/org/admins", headers=api_token(client, "liuwenbin")).status_code == 200


def test_api_scope_other_organisations_answer_404(client):
    h = api_token(client, "hospital_admin")
    hosp_admins = client.get("/api/v1/org/admins", headers=h).get_json()
    mid = hosp_admins[0]["membership_id"]
    tech = api_token(client, "tech_admin")
    assert client.get(f"/api/v1/org/admins?org_id={oid('市第一人民医院')}", headers=tech).status_code == 404
    for path in (f"/org/admins/{mid}/disable", f"/org/admins/{mid}/reset-password", f"/org/admins/{mid}/transfer"):
        r = client.post("/api/v1" + path, headers=tech)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", path
    assert client.get(f"/api/v1/org/subordinates/{oid('市第一人民医院')}/admins", headers=tech).status_code == 404
    assert client.get("/api/v1/org/subordinates", headers=tech).status_code == 404
    chen = api_token(client, "chenshihui")  # a professional administers nothing
    assert client.get("/api/v1/org/roles", headers=chen).status_code == 404


def test_departments_through_the_api(client):
    h = api_token(client, "hospital_admin")
    r = client.post("/api/v1/org/departments", json={"name": "护理部"}, headers=h)
    assert r.status_code == 201
    top = r.get_json()["id"]
    r = client.post("/api/v1/org/departments", json={"name": "内科护理组", "parent_id": top}, headers=h)
    child = r.get_json()["id"]
    r = client.patch(f"/api/v1/org/departments/{top}", json={"parent_id": child}, headers=h)
    assert r.status_code == 422 and "parent_id" in r.get_json()["error"]["fields"]
    r = client.patch(f"/api/v1/org/departments/{child}", json={"status": "disabled", "name": "内科护理"}, headers=h)
    assert r.get_json()["status"] == "disabled" and r.get_json()["parent_id"] == top
    tree = client.get("/api/v1/org/departments", headers=h).get_json()
    assert ("内科护理", 1, "disabled") in [(d["name"], d["depth"], d["status"]) for d in tree]
    tech = api_token(client, "tech_admin")
    assert client.patch(f"/api/v1/org/departments/{top}", json={"name": "x"}, headers=tech).status_code == 404
    assert all(d["organisation_id"] == oid("福州智造科技有限公司")
               for d in client.get("/api/v1/org/departments", headers=tech).get_json())


def test_subordinates_review_switch_through_the_api(client, declaration):
    city = api_token(client, "hr_city")
    r = client.get("/api/v1/org/subordinates?q=卫生", headers=city).get_json()
    assert [i["name"] for i in r["items"]] == ["市卫生健康委员会"] and r["items"][0]["review_enabled"] is True
    assert r["items"][0]["parent"] == "市人力资源和社会保障局"
    health_id = r["items"][0]["id"]
    admins = client.get(f"/api/v1/org/subordinates/{health_id}/admins", headers=city).get_json()
    assert [a["login"] for a in admins] == ["health_admin"]
    r = client.post(f"/api/v1/org/subordinates/{health_id}/review", json={"enabled": False}, headers=city)
    assert r.status_code == 200 and r.get_json()["review_enabled"] is False
    assert client.post(f"/api/v1/org/subordinates/{health_id}/review", json={}, headers=city).status_code == 422

    chen = api_token(client, "chenshihui")
    iid = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration, headers=chen).json["id"]
    for login in ("hospital_admin", "hr_city"):
        hh = api_token(client, login)
        task = client.get("/api/v1/tasks", headers=hh).get_json()["items"][0]
        assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"},
                           headers=hh).status_code == 200
    inst = client.get(f"/api/v1/instances/{iid}", headers=chen).get_json()
    assert [h["organisation"] for h in inst["history"]] == [
        "市第一人民医院", "市第一人民医院", "市人力资源和社会保障局"]
    assert inst["status"] == "completed"

    # health disables the hospital: its admin's tasks and pages answer 404
    health = api_token(client, "health_admin")
    assert client.post(f"/api/v1/org/subordinates/{health_id}/status", json={"enabled": False},
                       headers=health).status_code == 404  # not its own organisation
    hosp = oid("市第一人民医院")
    r = client.post(f"/api/v1/org/subordinates/{hosp}/status", json={"enabled": False}, headers=health)
    assert r.get_json()["status"] == "disabled"
    assert client.get("/api/v1/org/admins", headers=api_token(client, "hospital_admin")).status_code == 404


def test_credit_review_module_enforced_in_the_api(client, declaration):
    h = api_token(client, "hospital_admin")
    role = client.post("/api/v1/org/roles", json={"name": "人事", "modules": ["people"]}, headers=h).get_json()
    liu_id = db.session.scalar(select(db.text("id")).select_from(db.text("user_account"))
                               .where(db.text("login = 'liuwenbin'")))
    client.post("/api/v1/org/admins", json={"way": "member", "user_id": liu_id, "role_id": role["id"]}, headers=h)
    chen = api_token(client, "chenshihui")
    client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration, headers=chen)
    task_id = client.get("/api/v1/tasks", headers=h).get_json()["items"][0]["id"]

    liu = api_token(client, "liuwenbin")
    assert client.get("/api/v1/tasks", headers=liu).get_json()["total"] == 0
    assert client.get(f"/api/v1/tasks/{task_id}", headers=liu).status_code == 404
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve"}, headers=liu)
    assert r.status_code == 404
    r = client.post("/api/v1/tasks/complete", json={"task_ids": [task_id], "outcome": "approve"}, headers=liu)
    assert r.get_json()["completed"] == [] and r.get_json()["failed"][0]["id"] == task_id
    assert client.get(f"/api/v1/tasks/{task_id}", headers=h).status_code == 200  # still open for the admin


def test_openapi_documents_the_org_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/org/admins", "/org/admins/{mid}/transfer", "/org/admins/{mid}/reset-password", "/org/roles",
                 "/org/roles/{role_id}", "/org/departments", "/org/departments/{dept_id}", "/org/subordinates",
                 "/org/subordinates/{org_id}/review", "/org/subordinates/{org_id}/status"):
        assert path in doc["paths"], path
    assert "AddAdminArgs" in doc["components"]["schemas"]
    assert doc["paths"]["/org/admins"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AddAdminArgs"}


def test_a_reset_password_must_be_changed_before_the_api_answers(client):
    """After 重置密码 the old tokens stop working, a new token needs the temporary password replaced first."""
    h = api_token(client, "hospital_admin")
    liu_id = db.session.scalar(select(db.text("id")).select_from(db.text("user_account"))
                               .where(db.text("login = 'liuwenbin'")))
    mid = client.post("/api/v1/org/admins", json={"way": "member", "user_id": liu_id},
                      headers=h).get_json()["membership_id"]
    old = api_token(client, "liuwenbin")
    assert client.get("/api/v1/instances", headers=old).status_code == 200
    temp = client.post(f"/api/v1/org/admins/{mid}/reset-password", headers=h).get_json()["temporary_password"]

    assert client.get("/api/v1/instances", headers=old).status_code == 401  # issued with the old password
    r = client.post("/api/v1/auth/token", json={"login": "liuwenbin", "password": temp})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "password_change_required"

    change = {"login": "liuwenbin", "old_password": temp, "password": "abcdefgh", "password_confirm": "x"}
    r = client.post("/api/v1/password/change", json=change)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"password", "password_confirm"}
    r = client.post("/api/v1/password/change", json={**change, "old_password": "wrong1234"})
    assert r.status_code == 401
    r = client.post("/api/v1/password/change", json={**change, "password": "Newpass2026",
                                                     "password_confirm": "Newpass2026"})
    assert r.status_code == 200, r.get_json()
    fresh = {"Authorization": f"Bearer {r.get_json()['token']}"}
    assert client.get("/api/v1/instances", headers=fresh).status_code == 200
    assert api_token(client, "liuwenbin", "Newpass2026")  # and a token the ordinary way again
    r = client.post("/api/v1/auth/token", json={"login": "liuwenbin", "password": temp})
    assert r.status_code == 401
    doc = client.get("/api/v1/openapi.json").get_json()["paths"]["/password/change"]["post"]
    assert "temporary password" in doc["summary"]
