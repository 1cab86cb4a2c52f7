"""The archive API (design §3), the pre-check, the archive search, recounts and the records lists."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.archive import services as archive
from app.archive.models import CreditRecord
from app.extensions import db
from app.people.models import Person
from app.workflow import services as wf
from tests.conftest import actor, api_token, not_passed

CHEN, LIU, WANG = "110101199003072711", "321101198110166954", "440102198001010013"


def person(id_number: str) -> Person:
    return db.session.scalar(select(Person).where(Person.id_number == id_number))


def add(id_number: str, subject: str, hours: str, source_id: int, year: int = 2026) -> None:
    db.session.add(CreditRecord(person_id=person(id_number).id, year=year, subject_type=subject,
                                course_name="课程", declared_hours=Decimal(hours), recognised_hours=Decimal(hours),
                                source="class", source_id=source_id))
    db.session.commit()


def approve_all(inst, *logins):
    for login in logins:
        (task,) = wf.open_tasks(inst)
        wf.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()


def test_archive_answers_as_specified_after_an_approved_declaration(client, declaration):
    inst = wf.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    approve_all(inst, "hospital_admin", "health_admin", "hr_city")

    r = client.get("/api/v1/archive?year=2026", headers=api_token(client, "chenshihui"))
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) >= {"person", "year", "hours", "verified", "missing", "records"}
    assert body["person"]["name"] == "陈诗慧" and body["year"] == 2026
    assert body["hours"] == {"public": 0, "professional": 18, "elective": 0, "total": 18}
    assert body["verified"] is False and body["result"] == not_passed("72")
    assert body["missing"][0] == "总学时还差72学时（已计入18学时，要求不少于90学时）"
    (rec,) = body["records"]
    assert (rec["source"], rec["source_id"], rec["course_name"]) == ("declaration", inst.id, "急诊医学新进展")
    assert rec["credited_hours"] == 18 and rec["days"] == 3


def test_archive_is_scoped_like_everything_else(client):
    for login in ("hospital_admin", "health_admin", "hr_city", "hr_province"):
        r = client.get(f"/api/v1/archive?person_id_number={CHEN}&year=2026", headers=api_token(client, login))
        assert r.status_code == 200, login
        assert r.get_json()["person"]["name"] == "陈诗慧"
    for login in ("tech_admin", "hr_district", "wangliping", "liuwenbin", "institute_admin"):
        r = client.get(f"/api/v1/archive?person_id_number={CHEN}&year=2026", headers=api_token(client, login))
        assert r.status_code == 404, login
        assert r.get_json()["error"]["code"] == "not_found"
    h = api_token(client, "hospital_admin")
    assert client.get("/api/v1/archive?person_id_number=110101199003070011&year=2026", headers=h).status_code == 404
    r = client.get("/api/v1/archive?person_id_number=110101199003070000&year=2026", headers=h)  # bad check digit
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"person_id_number": "身份证号码校验位不正确"}
    r = client.get(f"/api/v1/archive?person_id_number={CHEN}", headers=h)
    assert r.status_code == 422 and "year" in r.get_json()["error"]["fields"]
    assert client.get("/api/v1/archive?year=2026").status_code == 401
    r = client.get("/api/v1/archive?year=2026", headers=h)   # an administrator has no archive of their own
    assert r.status_code == 422 and "person_id_number" in r.get_json()["error"]["fields"]


def test_precheck_shows_credited_hours_and_what_is_still_missing(client):
    add(CHEN, "professional", "60", 1)
    h = api_token(client, "chenshihui")
    r = client.get("/api/v1/archive/precheck?year=2026&subject_type=public&hours=24&days=3", headers=h)
    body = r.get_json()
    assert r.status_code == 200
    assert (body["credited_hours"], body["capped"], body["daily_cap"]) == (18, True, 6)
    assert body["hours_after"]["total"] == 78 and body["verified_after"] is False
    assert body["missing_after"] == ["总学时还差12学时（已计入78学时，要求不少于90学时）"]

    r = client.get("/api/v1/archive/precheck?year=2026&subject_type=public&hours=30"
                   "&start_date=2026-05-01&end_date=2026-05-05", headers=h)
    assert r.get_json()["verified_after"] is True and r.get_json()["missing_after"] == []
    assert archive.stored_verification(person(CHEN), 2026) is None  # a pre-check saves nothing

    r = client.get("/api/v1/archive/precheck?year=20x6&hours=abc&subject_type=x", headers=h)
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == {"year", "hours", "subject_type"}
    r = client.get(f"/api/v1/archive/precheck?year=2026&hours=8&person_id_number={CHEN}",
                   headers=api_token(client, "tech_admin"))
    assert r.status_code == 404


def test_search_filters_and_scope(client):
    add(CHEN, "professional", "60", 1)
    add(CHEN, "public", "30", 2)
    archive.recount(2026)
    db.session.commit()
    h = api_token(client, "hospital_admin")

    def names(query: str, headers=h) -> list[str]:
        r = client.get("/api/v1/archive/search?" + query, headers=headers)
        assert r.status_code == 200, r.get_json()
        return [i["name"] for i in r.get_json()["items"]]

    assert names("year=2026") == ["陈诗慧", "刘文斌"]
    assert names("year=2026&verified=true") == ["陈诗慧"]
    assert names("year=2026&verified=false") == ["刘文斌"]
    assert names("year=2025&verified=false") == ["陈诗慧", "刘文斌"]   # no training that year: not verified
    assert names("year=2026&gender=男") == ["刘文斌"]
    assert names("year=2026&title_level=中级") == ["陈诗慧"]
    assert names("year=2026&name=诗") == ["陈诗慧"]
    assert names(f"year=2026&id_number={LIU[:6]}") == ["刘文斌"]
    assert names("year=2026&region=福建省-福州市") == ["陈诗慧", "刘文斌"]
    assert names("year=2026&region=广东省") == []
    assert names("year=2026", api_token(client, "hr_district")) == ["王立平"]
    assert names("year=2026", api_token(client, "hr_city")) == ["陈诗慧", "刘文斌", "王立平"]
    assert names("year=2026", api_token(client, "health_admin")) == ["陈诗慧", "刘文斌"]  # a department
    assert names("year=2026", api_token(client, "tech_admin")) == ["王立平"]
    r = client.get("/api/v1/archive/search?year=2026", headers=h).get_json()["items"][0]
    assert r["id_number"] == "1101**********2711" and r["result"] == "合格" and r["total_hours"] == 90
    assert client.get("/api/v1/archive/search", headers=h).status_code == 422


def test_recount_reverifies_on_demand(client):
    add(WANG, "professional", "60", 1)
    add(WANG, "public", "30", 2)
    r = client.post("/api/v1/archive/recount", json={"year": 2026}, headers=api_token(client, "hr_district"))
    assert r.status_code == 200 and r.get_json()["verified_persons"] == 1
    assert archive.stored_verification(person(WANG), 2026).verified
    assert archive.stored_verification(person(CHEN), 2026) is None   # outside the district's scope
    r = client.post("/api/v1/archive/recount", json={"year": 2026}, headers=api_token(client, "chenshihui"))
    assert r.status_code == 200 and not archive.stored_verification(person(CHEN), 2026).verified
    r = client.post("/api/v1/archive/recount", json={"year": 2026, "person_id_number": CHEN},
                    headers=api_token(client, "tech_admin"))
    assert r.status_code == 404


def test_records_lists_by_status_form_name_and_unit(client, declaration):
    chen_inst = wf.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    for_liu = wf.start_process("credit_hour_approval", {**declaration, "person_id_number": LIU,
                                                        "learning_form": "online", "platform": "国家专技人员继续教育网",
                                                        "course_name": "网络课程"},
                               actor=actor("hospital_admin"))
    wang_inst = wf.start_process("credit_hour_approval", declaration, actor=actor("wangliping"))
    db.session.commit()
    approve_all(chen_inst, "hospital_admin", "health_admin", "hr_city")
    (task,) = wf.open_tasks(wang_inst)
    wf.complete_task(task.id, {"outcome": "reject", "comment": "材料不全"}, actor=actor("tech_admin"))
    db.session.commit()

    def ids(login: str, query: str = "") -> list[int]:
        r = client.get("/api/v1/credit-declarations?" + query, headers=api_token(client, login))
        assert r.status_code == 200, r.get_json()
        return [i["instance_id"] for i in r.get_json()["items"]]

    assert ids("chenshihui") == [chen_inst.id]
    assert ids("chenshihui", "status=approved") == [chen_inst.id]
    assert ids("chenshihui", "status=pending") == []
    assert ids("liuwenbin") == [for_liu.id]                          # declared for him by the unit
    assert ids("hospital_admin", "scope=unit") == [for_liu.id]         # what the unit declared for its staff
    assert ids("hospital_admin", "scope=org") == [for_liu.id, chen_inst.id]
    assert ids("hospital_admin", "scope=org&status=pending") == [for_liu.id]
    assert ids("hospital_admin", "scope=org&learning_form=online") == [for_liu.id]
    assert ids("hospital_admin", "scope=org&name=诗慧") == [chen_inst.id]
    assert ids("hospital_admin", f"scope=org&id_number={LIU}") == [for_liu.id]
    assert ids("hospital_admin", "scope=org&year=2025") == []
    assert ids("wangliping", "status=rejected") == [wang_inst.id]
    assert ids("hr_district", "scope=org") == [wang_inst.id]
    assert ids("tech_admin", "scope=unit") == []
    item = client.get("/api/v1/credit-declarations?scope=unit", headers=api_token(client, "hospital_admin")) \
        .get_json()["items"][0]
    assert item["declared_by_unit"] is True and item["learning_form"] == "online"
    assert item["applicant_id_number"] == "3211**********6954" and item["status_label"] == "待审核"
    r = client.get("/api/v1/credit-declarations?status=done&learning_form=tv",
                   headers=api_token(client, "chenshihui"))
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"status", "learning_form"}


def test_openapi_documents_the_archive(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"/archive", "/archive/precheck", "/archive/search", "/archive/recount",
            "/credit-declarations"} <= set(doc["paths"])
    assert set(doc["components"]["schemas"]["Archive"]["required"]) == {
        "person", "year", "hours", "verified", "missing", "records"}


def test_search_pages_by_key(client):
    h = api_token(client, "hr_city")
    first = client.get("/api/v1/archive/search?year=2026&per_page=2", headers=h).get_json()
    assert [i["name"] for i in first["items"]] == ["陈诗慧", "刘文斌"] and first["total"] == 3
    rest = client.get(f"/api/v1/archive/search?year=2026&per_page=2&after={first['next_after']}",
                      headers=h).get_json()
    assert [i["name"] for i in rest["items"]] == ["王立平"] and rest["next_after"] is None


def test_records_filter_by_subject_type_and_course_name(client, web, declaration):
    """The records lists also find declarations by 科目类型 and part of the 课程名称 (manual 004 §1.9.2): API,
    page and the export of the page's list."""
    emergency = wf.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    ethics = wf.start_process("credit_hour_approval", {**declaration, "subject_type": "public",
                                                       "course_name": "职业道德与法规"}, actor=actor("chenshihui"))
    db.session.commit()

    def ids(query: str) -> list[int]:
        r = client.get("/api/v1/credit-declarations?scope=org&" + query, headers=api_token(client, "hospital_admin"))
        assert r.status_code == 200, r.get_json()
        return [i["instance_id"] for i in r.get_json()["items"]]

    assert ids("subject_type=public") == [ethics.id]
    assert ids("subject_type=professional") == [emergency.id]
    assert ids("course_name=急诊") == [emergency.id]
    assert ids("course_name=道德&subject_type=professional") == []
    assert ids("course_name=100%25") == []  # a literal %, not a wildcard
    r = client.get("/api/v1/credit-declarations?subject_type=other", headers=api_token(client, "hospital_admin"))
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"subject_type"}

    web.login("hospital_admin")
    page = client.get("/credit-records?scope=org&course_name=道德").get_data(as_text=True)
    assert "职业道德与法规" in page and "急诊医学新进展" not in page
    assert 'name="course_name" value="道德"' in page  # the export button carries the filter
    from tests.test_exports_lists import export

    rows, _data = export(client, api_token(client, "hospital_admin"), "declarations",
                         {"scope": "org", "course_name": "道德"})
    assert [r[5] for r in rows[1:]] == ["职业道德与法规"]
