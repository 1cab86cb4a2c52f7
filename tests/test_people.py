"""Personnel management (issue 15 items 1-3): the people API and pages, within scope, and binding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import Membership, Organisation, PasswordChangeRequired, Role, User
from app.accounts.services import hash_password
from app.archive.models import CreditRecord
from app.extensions import db
from app.orgadmin.models import Department
from app.people.models import BindRequest, Person
from tests.conftest import WebClient, api_token

NEW = {"name": "林晓", "id_number": "350102199201010010", "gender": "男", "education": "大学本科",
       "title_series": "卫生系列", "title_level": "中级", "work_start_date": "2015-08-01", "phone": "13912345678"}


def oid(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def person(id_number: str) -> Person:
    return db.session.scalar(select(Person).where(Person.id_number == id_number))


def sub_admin(login: str, org: str, modules: list[str]) -> None:
    """A sub-administrator of ``org`` whose role holds ``modules``."""
    user = User(login=login, name=login, password_hash=hash_password("Demo12345"))
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=oid(org), role=Role.SUB_ADMIN, permissions=modules))
    db.session.commit()


def test_people_list_is_the_contract_and_stays_in_scope(client):
    h = api_token(client, "hospital_admin")
    body = client.get("/api/v1/people?q=&page=1&per_page=20", headers=h).get_json()
    assert body["total"] == 2
    assert {i["name"] for i in body["items"]} == {"陈诗慧", "刘文斌"}
    chen = next(i for i in body["items"] if i["name"] == "陈诗慧")
    assert {k: chen[k] for k in ("id_number", "organisation", "title_level", "education")} == {
        "id_number": "1101**********2711", "organisation": "市第一人民医院", "title_level": "中级", "education": None}
    assert client.get("/api/v1/people?q=刘", headers=h).get_json()["total"] == 1
    assert client.get("/api/v1/people?q=3211", headers=h).get_json()["total"] == 1  # ID number prefix
    # the supervisory department sees the hospital's staff; the district bureau only the tech company's
    names = {i["name"] for i in client.get("/api/v1/people", headers=api_token(client, "health_admin")).json["items"]}
    assert names == {"陈诗慧", "刘文斌"}
    names = {i["name"] for i in client.get("/api/v1/people", headers=api_token(client, "hr_district")).json["items"]}
    assert names == {"王立平"}
    # a professional manages nobody
    assert client.get("/api/v1/people", headers=api_token(client, "chenshihui")).json["total"] == 0


def test_add_checks_the_guangdong_fields_and_derives_the_birth_date(client):
    h = api_token(client, "hospital_admin")
    r = client.post("/api/v1/people", json={**NEW, "unit_id": oid("市第一人民医院"), "birth_date": "1992-02-01",
                                            "id_number": "350102199201010011", "email": "x@", "education": "本科"},
                    headers=h)
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) == {"id_number", "email", "education"}
    r = client.post("/api/v1/people", json={**NEW, "unit_id": oid("市第一人民医院"), "birth_date": "1992-02-01"},
                    headers=h)
    assert r.status_code == 422 and "1992-01-01" in r.json["error"]["fields"]["birth_date"]
    r = client.post("/api/v1/people", json={**NEW, "unit_id": oid("市第一人民医院")}, headers=h)
    assert r.status_code == 201, r.json
    assert r.json["birth_date"] == "1992-01-01" and r.json["organisation"] == "市第一人民医院"
    # the same person twice, and a person of another unit, are refused
    r = client.post("/api/v1/people", json={**NEW, "unit_id": oid("市第一人民医院")}, headers=h)
    assert r.status_code == 422 and r.json["error"]["fields"]["id_number"] == "该人员已在本单位登记"
    r = client.post("/api/v1/people", json={**NEW, "id_number": "440102198001010013", "unit_id": oid("市第一人民医院")},
                    headers=h)
    assert r.status_code == 422 and "申请绑定" in r.json["error"]["fields"]["id_number"]
    # the new person shows in the lists filtered by title level and education
    body = client.get("/api/v1/people?title_level=中级&education=大学本科", headers=h).json
    assert [i["name"] for i in body["items"]] == ["林晓"]


def test_edit_departments_and_filters(client):
    h = api_token(client, "hospital_admin")
    hospital = oid("市第一人民医院")
    icu = Department(organisation_id=hospital, name="重症医学科")
    other = Department(organisation_id=oid("福州智造科技有限公司"), name="研发部")
    db.session.add_all([icu, other])
    db.session.commit()
    chen = person("110101199003072711")
    r = client.patch(f"/api/v1/people/{chen.id}", json={"department_id": other.id}, headers=h)
    assert r.status_code == 422 and "department_id" in r.json["error"]["fields"]
    r = client.patch(f"/api/v1/people/{chen.id}", json={"department_id": icu.id, "education": "硕士研究生",
                                                        "id_number": "350102199201010010"}, headers=h)
    assert r.status_code == 200 and r.json["education"] == "硕士研究生"
    assert r.json["id_number"] == "110101199003072711"  # never changed by an edit
    body = client.get(f"/api/v1/people?department_id={icu.id}", headers=h).json
    assert [(i["name"], i["department"]) for i in body["items"]] == [("陈诗慧", "重症医学科")]
    r = client.patch(f"/api/v1/people/{chen.id}", json={"work_start_date": "2010-09-01"}, headers=h)
    assert client.get("/api/v1/people?work_start_from=2010-01-01&work_start_to=2010-12-31", headers=h).json[
        "total"] == 1


def test_reset_password_must_be_changed_at_next_sign_in(client):
    h = api_token(client, "hospital_admin")
    chen = person("110101199003072711")
    r = client.post(f"/api/v1/people/{chen.id}/reset-password", headers=h)
    assert r.status_code == 200
    temp = r.json["temporary_password"]
    assert db.session.get(PasswordChangeRequired, chen.user_id) is not None
    r = client.post("/api/v1/auth/token", json={"login": "chenshihui", "password": temp})
    assert r.status_code == 403 and r.json["error"]["code"] == "password_change_required"
    # a person added without an account gets one, signed in with the ID number
    new = client.post("/api/v1/people", json={**NEW, "unit_id": oid("市第一人民医院")}, headers=h).json
    assert new["has_account"] is False
    r = client.post(f"/api/v1/people/{new['id']}/reset-password", headers=h)
    assert r.json["login"] == "350102199201010010"
    assert client.post("/api/v1/auth/token", json={"login": r.json["login"], "password": r.json[
        "temporary_password"]}).status_code == 403  # must change it first


def test_unbind_keeps_the_archive(client):
    h = api_token(client, "hospital_admin")
    chen = person("110101199003072711")
    db.session.add(CreditRecord(person_id=chen.id, year=2026, subject_type="professional", course_name="课程",
                                declared_hours=Decimal(10), recognised_hours=Decimal(10), source="class", source_id=1))
    db.session.commit()
    r = client.post(f"/api/v1/people/{chen.id}/unbind", headers=h)
    assert r.status_code == 200 and r.json["unit_id"] is None
    db.session.expire_all()
    assert client.get(f"/api/v1/people/{chen.id}", headers=h).status_code == 404  # no longer the unit's
    assert db.session.scalar(select(Membership).where(Membership.user_id == chen.user_id,
                                                      Membership.organisation_id == oid("市第一人民医院"))) is None
    records = db.session.scalars(select(CreditRecord).where(CreditRecord.person_id == chen.id)).all()
    assert [r.recognised_hours for r in records] == [Decimal(10)]
    # the person still sees their own archive
    own = client.get("/api/v1/archive?year=2026", headers=api_token(client, "chenshihui")).json
    assert own["hours"]["total"] == 10


API_ROUTES = [("get", "/api/v1/people/{id}"), ("patch", "/api/v1/people/{id}"),
              ("post", "/api/v1/people/{id}/reset-password"), ("post", "/api/v1/people/{id}/unbind")]
WEB_ROUTES = [("get", "/people/{id}"), ("get", "/people/{id}/edit"), ("post", "/people/{id}/edit"),
              ("post", "/people/{id}/reset-password"), ("get", "/people/{id}/unbind"), ("post", "/people/{id}/unbind")]


@pytest.mark.parametrize("who", ["tech_admin", "no_people_module"])
def test_other_units_and_sub_admins_without_the_module_get_404(client, web, who):
    sub_admin("no_people_module", "市第一人民医院", ["credit_review", "statistics"])
    chen = person("110101199003072711")
    h = api_token(client, who)
    for method, path in API_ROUTES:
        r = getattr(client, method)(path.format(id=chen.id), headers=h, json={})
        assert r.status_code == 404, (method, path, r.status_code)
    r = client.post("/api/v1/people", json={**NEW, "unit_id": oid("市第一人民医院")}, headers=h)
    assert r.status_code == 404
    assert chen.name not in str(client.get("/api/v1/people", headers=h).json)
    web.login(who)
    for method, path in WEB_ROUTES:
        url = path.format(id=chen.id)
        r = client.get(url) if method == "get" else client.post(url, data={"csrf_token": web.csrf("/jobs"),
                                                                            "confirm": "yes"})
        assert r.status_code == 404, (method, url, r.status_code)
    db.session.expire_all()
    assert person("110101199003072711").unit_id == oid("市第一人民医院")  # nothing happened
    if who == "no_people_module":
        for url in ("/people", "/people/new", "/people/bindings"):
            assert client.get(url).status_code == 404, url


def test_a_sub_admin_with_the_people_module_manages_staff(client):
    sub_admin("hr_clerk", "市第一人民医院", ["people"])
    h = api_token(client, "hr_clerk")
    assert client.get("/api/v1/people", headers=h).json["total"] == 2


def test_pages_list_add_view_edit_unbind(client, web):
    web.login("hospital_admin")
    html = client.get("/people?name=陈").get_data(as_text=True)
    assert "陈诗慧" in html and "刘文斌" not in html and "1101**********2711" in html
    r = web.post_form("/people/new", {**NEW, "unit_id": oid("市第一人民医院"), "birth_date": "1990-01-01"})
    assert r.status_code == 422 and "出生日期与公民身份号码中的出生日期（1992-01-01）不一致" in r.get_data(as_text=True)
    r = web.post_form("/people/new", {**NEW, "unit_id": oid("市第一人民医院")})
    assert r.status_code == 302
    lin = person("350102199201010010")
    assert lin.birth_date.isoformat() == "1992-01-01"
    page = client.get(f"/people/{lin.id}").get_data(as_text=True)
    assert "培训档案" in page and "350102199201010010" in page and "139****5678" in page
    r = web.post_form(f"/people/{lin.id}/edit", {**NEW, "title_level": "副高级"})
    assert r.status_code == 302 and person("350102199201010010").title_level == "副高级"
    r = web.post_form(f"/people/{lin.id}", {}, post_url=f"/people/{lin.id}/reset-password")
    assert "临时密码已生成" in r.get_data(as_text=True)
    assert "确认解除" in client.get(f"/people/{lin.id}/unbind").get_data(as_text=True)
    r = web.post_form(f"/people/{lin.id}/unbind", {})  # no confirmation: nothing happens
    db.session.expire_all()
    assert person("350102199201010010").unit_id is not None
    r = web.post_form(f"/people/{lin.id}/unbind", {"confirm": "yes"})
    db.session.expire_all()
    assert r.status_code == 302 and person("350102199201010010").unit_id is None
    assert "Personnel" in client.get("/people?lang=en").get_data(as_text=True)


def test_binding_request_confirmed_in_batch(app, client, web):
    wang = person("440102198001010013")  # works for the tech company
    web.login("wangliping")
    r = web.post_form("/me/binding", {"unit_id": oid("市第一人民医院")})
    assert r.status_code == 302
    r = web.post_form("/me/binding", {"unit_id": oid("市第一人民医院")})
    assert r.status_code == 422  # one pending request at a time
    req = db.session.scalar(select(BindRequest))
    # another unit cannot answer it
    tech = WebClient(app.test_client())
    tech.login("tech_admin")
    assert "王立平" not in tech.client.get("/people/bindings").get_data(as_text=True)
    r = tech.post_form("/people/bindings", {"ids": req.id, "decision": "yes"})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(BindRequest, req.id).status == "pending"
    hospital = WebClient(app.test_client())
    hospital.login("hospital_admin")
    assert "王立平" in hospital.client.get("/people/bindings").get_data(as_text=True)
    r = hospital.post_form("/people/bindings", {"ids": [req.id], "decision": "yes"})
    db.session.expire_all()
    assert db.session.get(BindRequest, req.id).status == "approved"
    assert person("440102198001010013").unit_id == oid("市第一人民医院")
    assert wang.id in [p["id"] for p in client.get("/api/v1/people", headers=api_token(
        client, "hospital_admin")).json["items"]]
    assert client.get("/api/v1/people", headers=api_token(client, "tech_admin")).json["total"] == 0


def test_self_registration_collects_title_and_education_for_the_archive_filters(app):
    from app.registration import services as reg
    from app.workflow import services as wf
    from tests.test_registration_services import code_for
    from tests.test_registration_services import person as new_person

    data = new_person(title_series="卫生系列", title_level="副高级", education="硕士研究生")
    data["verification_code"] = code_for(data["mobile"])
    instance = reg.register_person(data)
    db.session.commit()
    (task,) = wf.open_tasks(instance)
    from tests.conftest import actor

    wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    p = db.session.scalar(select(Person).where(Person.name == data["name"]))
    assert (p.title_series, p.title_level, p.education) == ("卫生系列", "副高级", "硕士研究生")
    bad = new_person(login="lisi2", title_level="特级")
    with pytest.raises(Exception) as exc:
        reg.register_person(bad)
    assert "title_level" in exc.value.fields


def test_dates_must_be_plausible_wherever_they_come_from():
    """A date in the future, before 1900, or (graduation, work, qualification) before the birth date is refused by
    name, in forms, the API and imports alike (one checker)."""
    from datetime import date, timedelta

    from app.people import fields

    base = {"name": "张三", "id_number": "110101199003072711", "gender": "女"}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    values, errors = fields.check({**base, "graduation_date": tomorrow, "work_start_date": "1899-12-31",
                                   "qualification_date": "1985-01-01"})
    assert errors == {"graduation_date": "毕业时间不能晚于今天", "work_start_date": "参加工作时间不能早于1900年",
                      "qualification_date": "取得资格时间不能早于出生日期"}
    assert not {"graduation_date", "work_start_date", "qualification_date"} & set(values)
    values, errors = fields.check({"graduation_date": "2012-07-01"}, partial=True)
    assert errors == {} and values == {"graduation_date": date(2012, 7, 1)}
