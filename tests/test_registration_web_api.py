"""Registration, passwords, captcha and the 已审核 list through the JSON API and the web pages."""

from __future__ import annotations

import base64
import io
import re

from sqlalchemy import func, select

from app.accounts.models import OrgStatus, User
from app.extensions import db
from app.registration import senders
from tests.conftest import api_token
from tests.registration_helpers import LI, NEW_USCC, PASSWORD, PNG, ZHANG, employer_unit, org, person


def _user(login: str) -> User | None:
    return db.session.scalar(select(User).where(User.login == login))


def _api_register(client, **kw) -> dict:
    data = person(**kw)
    r = client.post("/api/v1/registrations/code", json={"mobile": data["mobile"]})
    assert r.status_code == 202 and r.get_json()["sent"] is True and "code" not in r.get_json()
    data["verification_code"] = senders.last_code(data["mobile"])
    r = client.post("/api/v1/registrations/person", json=data)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# --------------------------------------------------------------------------- API


def test_person_registration_through_the_api(client):
    body = _api_register(client)
    assert body["status"] == "pending"
    r = client.post("/api/v1/auth/token", json={"login": ZHANG, "password": PASSWORD})
    assert r.status_code == 401 and "此帐号还未被审核" in r.get_json()["error"]["message"]

    hospital = api_token(client, "hospital_admin")
    items = client.get("/api/v1/tasks?process=person_registration", headers=hospital).get_json()["items"]
    assert [(i["applicant"], i["applicant_id_number"]) for i in items] == [("张三", ZHANG[:4] + "*" * 10 + ZHANG[-4:])]
    detail = client.get(f"/api/v1/tasks/{items[0]['id']}", headers=hospital).get_json()
    assert detail["data"]["person_id_number"] == ZHANG and "password" not in detail["data"]
    outcomes = [c["const"] for c in detail["form"]["schema"]["properties"]["outcome"]["oneOf"]]
    assert outcomes == ["approve", "reject"]
    tech = api_token(client, "tech_admin")
    assert client.get(f"/api/v1/tasks/{items[0]['id']}", headers=tech).status_code == 404
    assert client.post(f"/api/v1/tasks/{items[0]['id']}/complete", json={"outcome": "approve"},
                       headers=tech).status_code == 404
    r = client.post(f"/api/v1/tasks/{items[0]['id']}/complete", json={"outcome": "approve"}, headers=hospital)
    assert r.status_code == 200 and r.get_json()["status"] == "completed"
    assert client.post("/api/v1/auth/token", json={"login": "zhangsan", "password": PASSWORD}).status_code == 200


def test_registrations_cannot_be_started_as_ordinary_processes(client):
    chen = api_token(client, "chenshihui")
    keys = [p["key"] for p in client.get("/api/v1/processes", headers=chen).get_json()]
    assert "person_registration" not in keys and "organisation_registration" not in keys
    r = client.post("/api/v1/processes/person_registration/instances", headers=chen,
                    json={"login": "x", "name": "x", "person_id_number": ZHANG, "mobile": "13912345678",
                          "unit_id": org("市第一人民医院").id})
    assert r.status_code == 403


def test_api_field_errors_and_unknown_units(client):
    r = client.post("/api/v1/registrations/person",
                    json=person(id_number="440902199203222903", password="short", unit_id=999))
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert fields["id_number"] == "身份证号码校验位不正确"
    assert fields["password"] == "密码长度应为8-16位" and "unit_id" in fields
    r = client.post("/api/v1/registrations/code", json={"mobile": "123"})
    assert r.status_code == 422 and "mobile" in r.get_json()["error"]["fields"]


def test_wrong_codes_are_counted_over_the_api(client):
    data = person()
    client.post("/api/v1/registrations/code", json={"mobile": data["mobile"]})
    code = senders.last_code(data["mobile"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        r = client.post("/api/v1/registrations/person", json={**data, "verification_code": wrong})
        assert r.get_json()["error"]["fields"]["verification_code"] == "验证码不正确"
    r = client.post("/api/v1/registrations/person", json={**data, "verification_code": code})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["verification_code"] == "验证码已失效，请重新获取"


def test_batch_reject_and_reviewed_list_through_the_api(client):
    _api_register(client)
    _api_register(client, login="lisi", name="李四", id_number=LI, mobile="13712345678")
    hospital = api_token(client, "hospital_admin")
    ids = [t["id"] for t in client.get("/api/v1/tasks?process=person_registration",
                                       headers=hospital).get_json()["items"]]
    r = client.post("/api/v1/tasks/complete", json={"task_ids": ids, "outcome": "reject",
                                                    "comment": "请联系人事科"}, headers=hospital)
    assert sorted(r.get_json()["completed"]) == sorted(ids) and r.get_json()["failed"] == []
    reviewed = client.get("/api/v1/tasks/reviewed", headers=hospital).get_json()
    assert reviewed["total"] == 2
    assert {(i["outcome"], i["comment"], i["reviewer"]) for i in reviewed["items"]} == {
        ("reject", "请联系人事科", "市一医院管理员")}
    assert client.get("/api/v1/tasks/reviewed", headers=api_token(client, "tech_admin")).get_json()["total"] == 0
    r = client.post("/api/v1/auth/token", json={"login": "lisi", "password": PASSWORD})
    assert "未通过审核" in r.get_json()["error"]["message"] and "请联系人事科" in r.get_json()["error"]["message"]
    _api_register(client, login="lisi", name="李四", id_number=LI, mobile="13712345678")  # may register again
    assert _user("lisi").status == "pending"


def test_organisation_registration_through_the_api(client):
    data = employer_unit()
    client.post("/api/v1/registrations/code", json={"mobile": data["admin_mobile"]})
    data["verification_code"] = senders.last_code(data["admin_mobile"])
    data["licence"] = {"filename": "licence.png", "content_base64": base64.b64encode(PNG).decode()}
    r = client.post("/api/v1/registrations/organisation", json=data)
    assert r.status_code == 201, r.get_json()
    health = api_token(client, "health_admin")
    tasks = client.get("/api/v1/tasks?process=organisation_registration", headers=health).get_json()["items"]
    assert len(tasks) == 1 and "福州仁心医疗器械有限公司" in tasks[0]["title"]
    assert client.get("/api/v1/tasks?process=organisation_registration",
                      headers=api_token(client, "hr_district")).get_json()["total"] == 0
    r = client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"outcome": "approve"}, headers=health)
    assert r.status_code == 200
    assert org("福州仁心医疗器械有限公司").status == OrgStatus.ACTIVE
    assert client.post("/api/v1/auth/token", json={"login": "renxin_admin", "password": PASSWORD}).status_code == 200


def test_organisation_registration_with_a_token_and_a_multipart_scan(client):
    wang = api_token(client, "wangliping")
    data = {k: v for k, v in employer_unit().items() if not k.startswith("admin")}
    r = client.post("/api/v1/registrations/organisation", headers=wang,
                    data={**{k: str(v) for k, v in data.items()}, "licence": (io.BytesIO(PNG), "scan.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    r = client.post("/api/v1/registrations/organisation",
                    json={**employer_unit(uscc="91410104MA9G8NFR0H"), "licence": {"filename": "a.png",
                                                                                "content_base64": "%%%"}})
    assert r.status_code == 422


def test_organisation_tree_for_the_picker(client):
    roots = client.get("/api/v1/registrations/organisations").get_json()
    assert [o["name"] for o in roots] == ["省人力资源和社会保障厅"]
    city = org("市人力资源和社会保障局")
    children = client.get(f"/api/v1/registrations/organisations?parent_id={city.id}").get_json()
    assert {o["name"] for o in children} >= {"区人力资源和社会保障局", "市卫生健康委员会"}
    units = client.get("/api/v1/registrations/organisations?kind=employer_unit&q=医院").get_json()
    assert [o["name"] for o in units] == ["市第一人民医院"]


def test_password_reset_and_change_through_the_api(client):
    r = client.post("/api/v1/password/reset/code", json={"id_number": "110101199003072711", "channel": "sms",
                                                         "contact": "13999999999"})
    assert r.status_code == 202  # same answer when the mobile does not match
    assert senders.last_code("13999999999") is None
    r = client.post("/api/v1/password/reset/code", json={"id_number": "110101199003072711", "channel": "sms",
                                                         "contact": "13800000000"})
    assert r.status_code == 202
    code = senders.last_code("13800000000")
    r = client.post("/api/v1/password/reset", json={"id_number": "110101199003072711", "channel": "sms",
                                                    "contact": "13800000000", "verification_code": code,
                                                    "password": "Reset1234"})
    assert r.status_code == 200
    headers = api_token(client, "chenshihui", "Reset1234")
    r = client.post("/api/v1/password/change", json={"old_password": "Wrong1234", "password": "Again1234"},
                    headers=headers)
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {
        "old_password": "原密码不正确，再错4次帐号将被锁定"}  # a wrong old password counts like a failed login
    r = client.post("/api/v1/password/change", json={"old_password": "Reset1234", "password": "Again1234"},
                    headers=headers)
    assert r.status_code == 200
    # the token used to change it stops working; the answer carries the one to go on with
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401
    fresh = {"Authorization": f"Bearer {r.get_json()['token']}"}
    assert client.get("/api/v1/tasks", headers=fresh).status_code == 200
    assert client.post("/api/v1/password/change", json={}).status_code == 401


def test_openapi_documents_registration(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/registrations/person", "/registrations/organisation", "/registrations/code",
                 "/password/reset", "/password/reset/code", "/password/change", "/tasks/reviewed"):
        assert path in doc["paths"], path
    assert doc["paths"]["/registrations/person"]["post"]["security"] == []
    assert "PersonRegistration" in doc["components"]["schemas"]


# --------------------------------------------------------------------------- web


def test_login_needs_the_captcha_and_a_wrong_one_does_not_count(web):
    token = web.csrf("/login")
    r = web.client.post("/login", data={"login": "chenshihui", "password": "Wrong1234", "captcha": "XXXX",
                                        "csrf_token": token})
    assert r.status_code == 422 and "验证码错误" in r.get_data(as_text=True)
    assert _user("chenshihui").failed_logins == 0
    assert web.client.get("/captcha.png").mimetype == "image/png"
    r = web.login("chenshihui")
    assert r.status_code == 302


def test_the_session_cookie_does_not_reveal_the_captcha_and_an_answer_works_once(app, web):
    token = web.csrf("/login")
    answer = web.captcha()
    with web.client.session_transaction() as sess:
        held = sess["captcha"]
    assert len(answer) == 4 and answer not in held and answer.lower() not in held
    form = {"login": "chenshihui", "password": "Demo12345", "captcha": answer.lower(), "csrf_token": token}
    with web.client.session_transaction() as sess:
        before = dict(sess)
    assert web.client.post("/login", data=form).status_code == 302  # case does not matter
    with web.client.session_transaction() as sess:  # replay the signed-out cookie that held that captcha
        sess.clear()
        sess.update(before)
    r = web.client.post("/login", data=form)
    assert r.status_code == 422 and "验证码错误" in r.get_data(as_text=True)


def test_an_expired_captcha_is_refused(app, web, monkeypatch):
    token = web.csrf("/login")
    answer = web.captcha()
    monkeypatch.setitem(app.config, "CAPTCHA_SECONDS", -1)
    r = web.client.post("/login", data={"login": "chenshihui", "password": "Demo12345", "captcha": answer,
                                        "csrf_token": token})
    assert r.status_code == 422 and "验证码错误" in r.get_data(as_text=True)


def test_login_page_says_the_lockout_rule_to_everybody(app, web):
    for _ in range(5):
        r = web.login("chenshihui", "Wrong1234")
    assert r.status_code == 401 and "帐号将被锁定60分钟" in r.get_data(as_text=True)
    r = web.login("chenshihui")
    assert r.status_code == 423 and "忘记密码" in r.get_data(as_text=True)  # the way to unlock it


def test_pending_user_is_told_whom_to_contact_on_the_login_page(client, web):
    _api_register(client)
    r = web.login("zhangsan", PASSWORD)
    html = r.get_data(as_text=True)
    assert r.status_code == 401 and "此帐号还未被审核" in html and "市第一人民医院" in html


def test_person_registers_on_the_web(web):
    page = web.client.get("/register").get_data(as_text=True)
    # the organisation picker (tree and search over the API) lets only employer units be chosen
    assert re.search(r'data-org-picker[^>]*data-kinds="employer_unit"', page)
    assert re.search(r'<input type="hidden" name="unit_id"', page)
    data = person()
    r = web.post_form("/register", {**data, "action": "send_code"})
    assert r.status_code == 200 and "验证码已发送" in r.get_data(as_text=True)
    assert "Abc12345" not in r.get_data(as_text=True)  # secrets are not echoed back
    code = senders.last_code(data["mobile"])
    r = web.post_form("/register", {**data, "verification_code": "000000" if code != "000000" else "111111"})
    assert r.status_code == 422 and "验证码不正确" in r.get_data(as_text=True)
    r = web.post_form("/register", {**data, "verification_code": code})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert _user("zhangsan").status == "pending"


def test_registration_without_csrf_token_is_refused(web):
    data = person()
    web.client.post("/api/v1/registrations/code", json={"mobile": data["mobile"]})
    data["verification_code"] = senders.last_code(data["mobile"])
    before = db.session.scalar(select(func.count(User.id)))
    r = web.client.post("/register", data=data)
    assert r.status_code in (302, 303, 400)
    r = web.client.post("/register/organisation", data=employer_unit())
    assert r.status_code in (302, 303, 400)
    assert db.session.scalar(select(func.count(User.id))) == before


def test_organisation_registers_on_the_web_in_steps(web):
    for kind in ("employer_unit", "training_institution", "supervisory_department"):
        html = web.client.get(f"/register/organisation?kind={kind}").get_data(as_text=True)
        assert "第一步" in html and "第三步" in html
    data = employer_unit()
    web.client.post("/api/v1/registrations/code", json={"mobile": data["admin_mobile"]})
    data["verification_code"] = senders.last_code(data["admin_mobile"])
    r = web.post_form("/register/organisation", {**data, "uscc": "91410104MA9G8NFR0J",
                                                 "licence": (io.BytesIO(PNG), "scan.png")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and "统一社会信用代码校验位不正确" in r.get_data(as_text=True)
    r = web.post_form("/register/organisation", {**data, "licence": (io.BytesIO(PNG), "scan.png")},
                      content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    unit = org("福州仁心医疗器械有限公司")
    assert unit.status == OrgStatus.PENDING and unit.uscc == NEW_USCC


def test_batch_reject_in_the_inbox_and_the_reviewed_page(client, web):
    _api_register(client)
    _api_register(client, login="lisi", name="李四", id_number=LI, mobile="13712345678")
    web.login("hospital_admin")
    html = web.client.get("/tasks?process=person_registration").get_data(as_text=True)
    assert "张三" in html and "批量不同意" in html
    hospital = api_token(client, "hospital_admin")
    ids = [t["id"] for t in client.get("/api/v1/tasks", headers=hospital).get_json()["items"]]
    r = web.post_form("/tasks", {"task_ids": ids, "outcome": "reject"}, post_url="/tasks/batch")
    assert r.status_code == 302
    assert client.get("/api/v1/tasks", headers=hospital).get_json()["total"] == 2  # a comment is required
    r = web.post_form("/tasks", {"task_ids": ids, "outcome": "reject", "comment": "信息不全"},
                      post_url="/tasks/batch", follow_redirects=True)
    assert "已审核为不同意" in r.get_data(as_text=True)
    assert client.get("/api/v1/tasks", headers=hospital).get_json()["total"] == 0
    html = web.client.get("/tasks/reviewed").get_data(as_text=True)
    assert "张三" in html and "李四" in html and "信息不全" in html and "不同意并结案" in html
    detail = web.client.get(f"/tasks/{ids[0]}").get_data(as_text=True)
    assert "该任务已办理完毕" in detail


def test_reviewed_page_is_scoped(client, web):
    _api_register(client)
    hospital = api_token(client, "hospital_admin")
    task_id = client.get("/api/v1/tasks", headers=hospital).get_json()["items"][0]["id"]
    client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve"}, headers=hospital)
    web.login("tech_admin")
    assert "张三" not in web.client.get("/tasks/reviewed").get_data(as_text=True)
    assert web.client.get(f"/tasks/{task_id}").status_code == 404


def test_forgotten_password_on_the_web(web):
    base = {"id_number": "110101199003072711", "channel": "sms", "contact": "13800000000"}
    r = web.post_form("/password/forgot", {**base, "action": "send_code", "captcha": "XXXX"})
    assert r.status_code == 422 and "验证码错误" in r.get_data(as_text=True)
    token = web.csrf("/password/forgot")  # the page shows a new captcha
    r = web.client.post("/password/forgot", data={**base, "action": "send_code", "captcha": web.captcha(),
                                                  "csrf_token": token})
    assert r.status_code == 200 and "验证码已发送" in r.get_data(as_text=True)
    code = senders.last_code("13800000000")
    r = web.post_form("/password/forgot", {**base, "action": "reset", "verification_code": code,
                                           "password": "Forgot123", "password_confirm": "Forgot123"})
    assert r.status_code == 302
    assert web.login("chenshihui", "Forgot123").status_code == 302


def test_change_password_on_the_web(web):
    web.login("chenshihui")
    r = web.post_form("/password/change", {"old_password": "Wrong1234", "password": "Change123",
                                           "password_confirm": "Change123"})
    assert r.status_code == 422 and "原密码不正确" in r.get_data(as_text=True)
    r = web.post_form("/password/change", {"old_password": "Demo12345", "password": "Change123",
                                           "password_confirm": "Change123"})
    assert r.status_code == 302
    web.client.post("/logout", data={"csrf_token": web.csrf("/password/change")})
    assert web.login("chenshihui", "Change123").status_code == 302


def test_the_registration_page_sends_a_code_without_leaving_the_form(app, web):
    token = web.csrf("/register/organisation")
    assert web.client.post("/register/code", data={"mobile": "13712340002"}).status_code == 400  # no CSRF token
    r = web.client.post("/register/code", data={"mobile": "1371234", "csrf_token": token})
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"mobile"}
    assert senders.last_code("1371234") is None
    r = web.client.post("/register/code", data={"mobile": "13712340002", "csrf_token": token})
    assert r.status_code == 200
    assert r.get_json()["message"] == "如信息无误，验证码已发送至 13712340002，请注意查收"
    assert senders.last_code("13712340002")
    r = web.client.post("/register/code?lang=en", data={"mobile": "1371234", "csrf_token": token})
    assert r.get_json()["error"]["fields"]["mobile"].isascii()  # in the page's language
