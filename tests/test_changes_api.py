"""Info changes through the JSON API: the generic process endpoints and the immediate profile fields."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Organisation, User
from app.extensions import db
from app.people.models import Person
from tests.conftest import api_token


def org_id(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def tasks_of(client, headers, process=None):
    r = client.get("/api/v1/tasks", query_string={"process": process} if process else {}, headers=headers)
    assert r.status_code == 200
    return r.get_json()["items"]


def test_person_change_through_the_api(client):
    me = api_token(client, "chenshihui")
    keys = {p["key"] for p in client.get("/api/v1/processes", headers=me).get_json()}
    assert "person_info_change" in keys and "change_of_superior" not in keys
    r = client.post("/api/v1/processes/person_info_change/instances",
                    json={"title_level": "副高级", "reason": "晋升"}, headers=me)
    assert r.status_code == 201, r.get_json()
    instance_id = r.get_json()["id"]
    # a second open change is refused clearly
    r = client.post("/api/v1/processes/person_info_change/instances",
                    json={"major": "内科", "reason": "x"}, headers=me)
    assert r.status_code == 409 and "正在审核中" in r.get_json()["error"]["message"]

    unit = api_token(client, "hospital_admin")
    [task] = tasks_of(client, unit, "person_info_change")
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=unit).get_json()
    assert detail["data"]["changes"] == [
        {"field": "title_level", "label": "专业技术职务等级", "old": "中级", "new": "副高级"}]
    # another unit neither sees nor completes it
    other = api_token(client, "tech_admin")
    assert tasks_of(client, other, "person_info_change") == []
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=other).status_code == 404
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"},
                       headers=other).status_code == 404
    assert client.get(f"/api/v1/instances/{instance_id}", headers=other).status_code == 404

    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"}, headers=unit)
    assert r.status_code == 200 and r.get_json()["status"] == "completed"
    assert client.get("/api/v1/profile", headers=me).get_json()["reviewed"]["title_level"] == "副高级"


def test_organisation_change_needs_a_valid_uscc(client):
    admin = api_token(client, "tech_admin")
    r = client.post("/api/v1/processes/organisation_info_change/instances",
                    json={"uscc": "91350100M000100Y44", "reason": "x"}, headers=admin)
    assert r.status_code == 422 and "校验位" in r.get_json()["error"]["fields"]["uscc"]
    r = client.post("/api/v1/processes/organisation_info_change/instances",
                    json={"name": "福州智造科技股份有限公司", "reason": "改制"}, headers=admin)
    assert r.status_code == 201
    bureau = api_token(client, "hr_district")
    [task] = tasks_of(client, bureau, "organisation_info_change")
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "return"}, headers=bureau)
    assert r.status_code == 422 and "comment" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"}, headers=bureau)
    assert r.get_json()["status"] == "completed"
    assert client.get(f"/api/v1/organisations/{org_id('福州智造科技股份有限公司')}/profile",
                      headers=admin).get_json()["name"] == "福州智造科技股份有限公司"


def test_change_of_superior_through_the_api_needs_both_approvals(client):
    admin = api_token(client, "tech_admin")
    tech = org_id("福州智造科技有限公司")
    candidates = client.get(f"/api/v1/organisations/{tech}/superior-candidates", headers=admin).get_json()
    names = [c["name"] for c in candidates]
    assert "市卫生健康委员会" in names and "区人力资源和社会保障局" not in names  # not the current one
    r = client.post("/api/v1/processes/change_of_superior/instances",
                    json={"new_superior_id": org_id("市卫生健康委员会"), "reason": "归口管理"}, headers=admin)
    assert r.status_code == 201, r.get_json()
    assert {t["lane"] for t in r.get_json()["tasks"]} == {"old_superior", "new_superior"}

    new_sup, old_sup = api_token(client, "health_admin"), api_token(client, "hr_district")
    [t_new] = tasks_of(client, new_sup, "change_of_superior")
    [t_old] = tasks_of(client, old_sup, "change_of_superior")
    assert client.post(f"/api/v1/tasks/{t_new['id']}/complete", json={"outcome": "approve"},
                       headers=new_sup).get_json()["status"] == "running"
    profile = client.get(f"/api/v1/organisations/{tech}/profile", headers=admin).get_json()
    assert profile["parent"]["name"] == "区人力资源和社会保障局"
    body = client.post(f"/api/v1/tasks/{t_old['id']}/complete", json={"outcome": "approve"},
                       headers=old_sup).get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approved")
    profile = client.get(f"/api/v1/organisations/{tech}/profile", headers=admin).get_json()
    assert profile["parent"]["name"] == "市卫生健康委员会"
    # the old superior's scope no longer reaches the unit
    assert client.get(f"/api/v1/organisations/{tech}/profile", headers=old_sup).status_code == 404


def test_change_of_superior_rejected_by_one_removes_the_other_task(client):
    admin = api_token(client, "tech_admin")
    r = client.post("/api/v1/processes/change_of_superior/instances",
                    json={"new_superior_id": org_id("市卫生健康委员会"), "reason": "归口管理"}, headers=admin)
    instance_id = r.get_json()["id"]
    new_sup, old_sup = api_token(client, "health_admin"), api_token(client, "hr_district")
    [t_new] = tasks_of(client, new_sup, "change_of_superior")
    r = client.post(f"/api/v1/tasks/{t_new['id']}/complete",
                    json={"outcome": "reject", "comment": "不接收"}, headers=new_sup)
    assert r.get_json()["status"] == "rejected"
    assert tasks_of(client, old_sup, "change_of_superior") == []
    history = client.get(f"/api/v1/instances/{instance_id}", headers=admin).get_json()["history"]
    assert [(h["outcome"], h["organisation"]) for h in history][-1] == ("reject", "市卫生健康委员会")
    assert client.get(f"/api/v1/organisations/{org_id('福州智造科技有限公司')}/profile",
                      headers=admin).get_json()["parent"]["name"] == "区人力资源和社会保障局"


def test_contact_fields_change_at_once_without_review(client):
    me = api_token(client, "chenshihui")
    r = client.patch("/api/v1/profile", json={"mobile": "13912345678", "email": "chen@example.cn"}, headers=me)
    assert r.status_code == 200 and r.get_json()["mobile"] == "13912345678"
    assert db.session.scalar(select(User.email).where(User.login == "chenshihui")) == "chen@example.cn"
    r = client.patch("/api/v1/profile", json={"mobile": "12345", "title_level": "正高级"}, headers=me)
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert "11位" in fields["mobile"] and "审核" in fields["title_level"]
    db.session.expire_all()
    assert db.session.scalar(select(Person.title_level).where(Person.name == "陈诗慧")) == "中级"
    assert db.session.scalar(select(User.mobile).where(User.login == "chenshihui")) == "13912345678"

    admin = api_token(client, "tech_admin")
    tech = org_id("福州智造科技有限公司")
    r = client.patch(f"/api/v1/organisations/{tech}/profile",
                     json={"contact_person": "李明", "contact_phone": "0591-87654321",
                           "contact_email": "hr@zhizao.cn", "address": "福州市鼓楼区软件大道89号"}, headers=admin)
    assert r.status_code == 200 and r.get_json()["contact_phone"] == "0591-87654321"
    r = client.patch(f"/api/v1/organisations/{tech}/profile", json={"contact_phone": "12"}, headers=admin)
    assert r.status_code == 422 and "contact_phone" in r.get_json()["error"]["fields"]
    r = client.patch(f"/api/v1/organisations/{tech}/profile", json={"name": "新名字"}, headers=admin)
    assert r.status_code == 422 and "审核" in r.get_json()["error"]["fields"]["name"]


def test_organisation_profile_scope(client):
    tech = org_id("福州智造科技有限公司")
    # another branch of the tree: 404, not 403
    assert client.get(f"/api/v1/organisations/{tech}/profile",
                      headers=api_token(client, "hospital_admin")).status_code == 404
    assert client.patch(f"/api/v1/organisations/{tech}/profile", json={"address": "x"},
                        headers=api_token(client, "health_admin")).status_code == 404
    # a superior sees it but does not edit it
    district = api_token(client, "hr_district")
    assert client.get(f"/api/v1/organisations/{tech}/profile", headers=district).status_code == 200
    assert client.patch(f"/api/v1/organisations/{tech}/profile", json={"address": "x"},
                        headers=district).status_code == 403


def test_openapi_documents_the_change_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "patch"} <= set(doc["paths"]["/profile"])
    assert {"get", "patch"} <= set(doc["paths"]["/organisations/{id}/profile"])
    assert "new_superior_id" in doc["components"]["schemas"]["ChangeOfSuperior"]["properties"]


def test_both_superiors_approving_at_the_same_moment_on_postgres(pg_app):
    """The old and the new superior press 同意 together: both decisions count, the move happens once."""
    import threading

    client = pg_app.test_client()
    admin = api_token(client, "tech_admin")
    r = client.post("/api/v1/processes/change_of_superior/instances",
                    json={"new_superior_id": org_id("市卫生健康委员会"), "reason": "归口管理"}, headers=admin)
    instance_id = r.get_json()["id"]
    reviewers = [api_token(client, "health_admin"), api_token(client, "hr_district")]
    task_ids = [tasks_of(client, h, "change_of_superior")[0]["id"] for h in reviewers]
    db.session.remove()
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def press(task_id, headers):
        with pg_app.app_context():
            c = pg_app.test_client()
            barrier.wait()
            codes.append(c.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve"},
                                headers=headers).status_code)
            db.session.remove()

    threads = [threading.Thread(target=press, args=args) for args in zip(task_ids, reviewers, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200]
    body = client.get(f"/api/v1/instances/{instance_id}", headers=admin).get_json()
    assert (body["status"], body["outcome"]) == ("completed", "approved")
    assert sorted(h["outcome"] for h in body["history"]) == ["approve", "approve", "submit"]
    tech = db.session.scalar(select(Organisation).where(Organisation.name == "福州智造科技有限公司"))
    health = db.session.scalar(select(Organisation).where(Organisation.name == "市卫生健康委员会"))
    assert tech.parent_id == health.id and tech.path == f"{health.path}{tech.id}/"


def test_a_professional_completes_their_basic_information_at_once(client):
    """完善个人信息 (manual 004 §1.10.1): a professional keeps their other basic information up themselves, no
    review: accepted fields change at once; a bad date, a degree not in the list or a non-text value is a field
    error and nothing of the call changes; a reviewed field is still refused; an administrator without a
    professional's record cannot send them."""
    me = api_token(client, "chenshihui")
    r = client.patch("/api/v1/profile", json={"school": "福建医科大学", "degree": "学士",
                                              "graduation_date": "2012/7/1", "address": "福州市鼓楼区八一七北路"},
                     headers=me)
    assert r.status_code == 200, r.get_json()
    details = r.get_json()["details"]
    assert (details["school"], details["degree"], details["graduation_date"]) == ("福建医科大学", "学士", "2012-07-01")
    person = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    assert person.address == "福州市鼓楼区八一七北路"
    from app.audit.models import AuditEntry

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.self_update"))
    assert entry is not None and "school" in entry.details["changed"]

    r = client.patch("/api/v1/profile", json={"school": "别的学校", "degree": "博士后", "qualification_date": "昨天",
                                              "ethnicity": ["汉族"], "mobile": "13912345678"}, headers=me)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"degree", "qualification_date", "ethnicity"}
    db.session.expire_all()
    person = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    assert person.school == "福建医科大学"
    assert db.session.scalar(select(User.mobile).where(User.login == "chenshihui")) != "13912345678"
    r = client.patch("/api/v1/profile", json={"school": "", "title_series": "卫生系列"}, headers=me)
    assert r.status_code == 422 and "审核" in r.get_json()["error"]["fields"]["title_series"]

    admin = api_token(client, "hr_city")
    r = client.patch("/api/v1/profile", json={"school": "某大学"}, headers=admin)
    assert r.status_code == 422 and "school" in r.get_json()["error"]["fields"]


def test_an_organisation_keeps_its_person_in_charge_and_telephone_up_itself(client, web):
    """单位资料: the registration's 负责人 and 单位电话 are kept up by the organisation's administrator without review
    (a bad telephone is a field error), answered with the registered 单位性质, industry and region, and shown on
    the 信息变更 page."""
    admin = api_token(client, "tech_admin")
    tech = org_id("福州智造科技有限公司")
    r = client.patch(f"/api/v1/organisations/{tech}/profile", json={"principal": "王总", "phone": "0591-8765"},
                     headers=admin)
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"phone"}
    r = client.patch(f"/api/v1/organisations/{tech}/profile", json={"principal": "王总", "phone": "0591-87654321"},
                     headers=admin)
    assert r.status_code == 200, r.get_json()
    body = client.get(f"/api/v1/organisations/{tech}/profile", headers=admin).get_json()
    assert (body["principal"], body["phone"]) == ("王总", "0591-87654321")
    assert {"nature", "industry", "region"} <= set(body)
    from app.registration.models import OrganisationProfile

    assert db.session.get(OrganisationProfile, tech).principal == "王总"
    from app.audit.models import AuditEntry

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "org.profile_update"))
    assert entry is not None and entry.details["changed"] == ["phone", "principal"] and entry.organisation_id == tech
    web.login("tech_admin")
    page = web.client.get("/changes").get_data(as_text=True)
    assert "王总" in page and "0591-87654321" in page and "单位性质" in page
    form = web.client.get(f"/organisations/{tech}/profile").get_data(as_text=True)
    assert 'name="principal"' in form and 'value="王总"' in form
    assert '<textarea' in form and 'name="functions"' in form


def test_an_organisation_keeps_its_postcode_and_functions_up_itself(client, web):
    """法人单位信息维护 (004 §1.2.2): 邮政编码 (six digits) and 单位职能简介 (at most 500 characters) need no review;
    a bad one is a field error and nothing of the call is kept."""
    admin = api_token(client, "tech_admin")
    tech = org_id("福州智造科技有限公司")
    path = f"/api/v1/organisations/{tech}/profile"
    r = client.patch(path, json={"postcode": "35000", "functions": "智能制造", "principal": "王总"}, headers=admin)
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"postcode": "邮政编码应为6位数字"}
    assert client.get(path, headers=admin).get_json()["principal"] != "王总"  # nothing of the call kept
    r = client.patch(path, json={"functions": "很" * 501}, headers=admin)
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["functions"] == "单位职能简介最多500个字符"
    r = client.patch(f"{path}?lang=en", json={"functions": "很" * 501, "postcode": "3500011"}, headers=admin)
    assert r.get_json()["error"]["fields"] == {"functions": "Functions of the organisation: at most 500 characters",
                                               "postcode": "The postcode must be six digits"}
    # 601 characters as a text area sends them (CR LF), 401 as typed: a line break counts once
    r = client.patch(path, json={"functions": "很\r\n" * 200 + "很"}, headers=admin)
    assert r.status_code == 200 and len(r.get_json()["functions"]) == 401
    r = client.patch(path, json={"postcode": "350001", "functions": "智能制造装备研发与生产"}, headers=admin)
    assert r.status_code == 200 and (r.get_json()["postcode"], r.get_json()["functions"]) == (
        "350001", "智能制造装备研发与生产")
    assert client.patch(path, json={"postcode": "350001"}, headers=api_token(client, "hr_district")).status_code == 403
    web.login("tech_admin")
    page = web.client.get("/changes").get_data(as_text=True)
    assert "350001" in page and "智能制造装备研发与生产" in page
    r = web.post_form(f"/organisations/{tech}/profile", {"postcode": "abc", "functions": ""})
    assert r.status_code == 422 and "邮政编码应为6位数字" in r.get_data(as_text=True)
