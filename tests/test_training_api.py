"""Training I (issue 13) through the JSON API: catalogues, both processes end to end, the 培训管理 gate and the
OpenAPI document."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Membership, Organisation, Role, User
from app.accounts.services import hash_password
from app.extensions import db
from tests.conftest import api_token
from tests.webutil import png_bytes, upload

TEACHER_ID = "110101198001010010"


def tasks(client, headers, process):
    r = client.get("/api/v1/tasks", query_string={"process": process}, headers=headers)
    assert r.status_code == 200
    return r.get_json()["items"]


def complete(client, headers, task_id, outcome, comment=""):
    r = client.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": outcome, "comment": comment},
                    headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def catalogue(client, me):
    subject = client.post("/api/v1/training/subjects", json={"name": "卫生管理"}, headers=me)
    assert subject.status_code == 201, subject.get_json()
    course = client.post("/api/v1/training/courses", json={
        "name": "医院质量管理实务", "subject_type": "professional", "hours": 12}, headers=me)
    assert course.status_code == 201, course.get_json()
    teacher = client.post("/api/v1/training/teachers", json={
        "name": "周明", "id_number": TEACHER_ID, "gender": "男", "mobile": "13912345678",
        "course_ids": [course.get_json()["id"]]}, headers=me)
    assert teacher.status_code == 201, teacher.get_json()
    assert teacher.get_json()["id_number"] == "1101**********0010"  # masked in answers
    return subject.get_json()["id"], course.get_json()["id"], teacher.get_json()["id"]


def plan_body(subject_id, course_id, teacher_id, **over):
    return {"year": 2026, "name": "2026年度培训计划", "subject_type": "professional", "subject_id": subject_id,
            "courses": [{"course_id": course_id, "teacher_id": teacher_id}], **over}


def test_catalogue_rules_through_the_api(client):
    me = api_token(client, "institute_admin")
    subject_id, course_id, teacher_id = catalogue(client, me)
    r = client.post("/api/v1/training/teachers", json={"name": "错号", "id_number": "110101198001010018"},
                    headers=me)
    assert r.status_code == 422 and "校验位" in r.get_json()["error"]["fields"]["id_number"]
    r = client.post("/api/v1/training/courses", json={"name": "医院质量管理实务", "subject_type": "public",
                                                      "hours": 3}, headers=me)
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["name"] == "已有同名课程"
    site = client.post("/api/v1/training/sites", json={"name": "学院线上平台", "kind": "platform",
                                                       "address": "https://learn.example.cn"}, headers=me)
    assert site.status_code == 201
    assert client.delete(f"/api/v1/training/sites/{site.get_json()['id']}", headers=me).status_code == 204

    # disabled subject and teacher cannot be chosen
    assert client.patch(f"/api/v1/training/subjects/{subject_id}", json={"enabled": False},
                        headers=me).get_json()["enabled"] is False
    client.patch(f"/api/v1/training/teachers/{teacher_id}", json={"enabled": False}, headers=me)
    r = client.post("/api/v1/training/plans", json=plan_body(subject_id, course_id, teacher_id), headers=me)
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["subject_id"] == "该专业科目已停用，不能选择"
    assert "已停用" in r.get_json()["error"]["fields"]["courses"]
    client.patch(f"/api/v1/training/subjects/{subject_id}", json={"enabled": True}, headers=me)
    client.patch(f"/api/v1/training/teachers/{teacher_id}", json={"enabled": True}, headers=me)
    r = client.post("/api/v1/training/plans", json=plan_body(subject_id, course_id, teacher_id), headers=me)
    assert r.status_code == 201
    # a course in use cannot be deleted
    r = client.delete(f"/api/v1/training/courses/{course_id}", headers=me)
    assert r.status_code == 409 and "已被培训计划使用" in r.get_json()["error"]["message"]


def test_training_plan_approval_through_the_api(client):
    me = api_token(client, "institute_admin")
    city = api_token(client, "hr_city")
    ids = catalogue(client, me)
    plan = client.post("/api/v1/training/plans", json=plan_body(*ids), headers=me).get_json()
    assert plan["state"] == "draft" and plan["total_hours"] == 12
    assert plan["courses"] == [{"course_id": ids[1], "course": "医院质量管理实务", "subject_type": "professional",
                                "hours": 12.0, "teacher_id": ids[2], "teacher": "周明"}]

    # submit -> the city bureau returns it -> edited and resubmitted -> approved
    r = client.post(f"/api/v1/training/plans/{plan['id']}/submit", headers=me)
    assert r.status_code == 200 and r.get_json()["state"] == "reviewing"
    instance_id = r.get_json()["instance_id"]
    [task] = tasks(client, city, "training_plan_approval")
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=city).get_json()
    assert "医院质量管理实务" in detail["data"]["courses"]
    complete(client, city, task["id"], "return", "请补充第二期")
    assert client.get(f"/api/v1/training/plans/{plan['id']}", headers=me).get_json()["state"] == "returned"
    r = client.put(f"/api/v1/training/plans/{plan['id']}", json=plan_body(*ids, name="2026年度培训计划（修订）"),
                   headers=me)
    assert r.status_code == 200
    r = client.post(f"/api/v1/training/plans/{plan['id']}/resubmit", headers=me)
    assert r.status_code == 200 and r.get_json()["state"] == "reviewing"
    [task] = tasks(client, city, "training_plan_approval")
    assert task["title"] == "2026年度培训计划（修订）"
    complete(client, city, task["id"], "approve")
    assert client.get(f"/api/v1/training/plans/{plan['id']}", headers=me).get_json()["state"] == "approved"
    case = client.get(f"/api/v1/instances/{instance_id}", headers=me).get_json()
    assert [h["outcome"] for h in case["history"]] == ["submit", "return", "resubmit", "approve"]
    assert client.delete(f"/api/v1/training/plans/{plan['id']}", headers=me).status_code == 409

    # a second plan: withdrawn before review, then rejected
    second = client.post("/api/v1/training/plans", json=plan_body(*ids, name="第二份计划"), headers=me).get_json()
    client.post(f"/api/v1/training/plans/{second['id']}/submit", headers=me)
    r = client.post(f"/api/v1/training/plans/{second['id']}/withdraw", headers=me)
    assert r.status_code == 200 and r.get_json()["state"] == "draft"
    assert tasks(client, city, "training_plan_approval") == []
    client.post(f"/api/v1/training/plans/{second['id']}/submit", headers=me)
    [task] = tasks(client, city, "training_plan_approval")
    complete(client, city, task["id"], "reject", "不符合要求")
    r = client.post(f"/api/v1/training/plans/{second['id']}/withdraw", headers=me)
    assert r.status_code == 409
    assert client.get(f"/api/v1/training/plans/{second['id']}", headers=me).get_json()["state"] == "rejected"


def test_annual_report_approval_through_the_api(client):
    me = api_token(client, "institute_admin")
    city = api_token(client, "hr_city")
    r = client.post("/api/v1/training/attachments", data={"file": upload(png_bytes(), "总结.png")}, headers=me,
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    file_id = r.get_json()["id"]
    report = client.post("/api/v1/training/reports", json={"year": 2025, "name": "2025年度工作总结",
                                                           "attachment_ids": [file_id]}, headers=me).get_json()
    assert report["state"] == "draft" and report["attachment_ids"] == [file_id]
    r = client.post(f"/api/v1/training/reports/{report['id']}/submit", headers=me)
    assert r.status_code == 200 and r.get_json()["state"] == "reviewing"
    [task] = tasks(client, city, "annual_report_approval")
    complete(client, city, task["id"], "return", "补充统计表")
    assert client.post(f"/api/v1/training/reports/{report['id']}/resubmit", headers=me).status_code == 200
    [task] = tasks(client, city, "annual_report_approval")
    complete(client, city, task["id"], "approve")
    listed = client.get("/api/v1/training/reports", headers=me).get_json()
    assert [(x["name"], x["state"]) for x in listed] == [("2025年度工作总结", "approved")]
    r = client.delete(f"/api/v1/training/reports/{report['id']}", headers=me)
    assert r.status_code == 409 and r.get_json()["error"]["message"] == "已申报的报告不能删除"
    # another report: the first one's file belongs to its case, so a file of its own; withdrawn, then rejected
    r = client.post("/api/v1/training/reports", json={"year": 2025, "name": "年审报告", "attachment_ids": [file_id]},
                    headers=me)
    assert r.get_json()["attachment_ids"] == []
    second_file = client.post("/api/v1/training/attachments", data={"file": upload(png_bytes(), "年审.png")},
                              headers=me, content_type="multipart/form-data").get_json()["id"]
    other = client.put(f"/api/v1/training/reports/{r.get_json()['id']}", json={
        "year": 2025, "name": "年审报告", "attachment_ids": [second_file]}, headers=me).get_json()
    assert client.post(f"/api/v1/training/reports/{other['id']}/submit", headers=me).status_code == 200
    assert client.post(f"/api/v1/training/reports/{other['id']}/withdraw", headers=me).get_json()["state"] == "draft"
    client.post(f"/api/v1/training/reports/{other['id']}/submit", headers=me)
    [task] = tasks(client, city, "annual_report_approval")
    complete(client, city, task["id"], "reject", "材料不实")
    assert client.get(f"/api/v1/training/reports/{other['id']}", headers=me).get_json()["state"] == "rejected"


#: Every API route of the training workspace (method, path); {id} is an existing row.
API_ROUTES = [
    ("GET", "/api/v1/training/subjects"), ("POST", "/api/v1/training/subjects"),
    ("PATCH", "/api/v1/training/subjects/{subject}"),
    ("GET", "/api/v1/training/courses"), ("POST", "/api/v1/training/courses"),
    ("PATCH", "/api/v1/training/courses/{course}"), ("DELETE", "/api/v1/training/courses/{course}"),
    ("GET", "/api/v1/training/teachers"), ("POST", "/api/v1/training/teachers"),
    ("PATCH", "/api/v1/training/teachers/{teacher}"), ("DELETE", "/api/v1/training/teachers/{teacher}"),
    ("GET", "/api/v1/training/sites"), ("POST", "/api/v1/training/sites"),
    ("PATCH", "/api/v1/training/sites/{site}"), ("DELETE", "/api/v1/training/sites/{site}"),
    ("POST", "/api/v1/training/attachments"),
    ("GET", "/api/v1/training/plans"), ("POST", "/api/v1/training/plans"),
    ("GET", "/api/v1/training/plans/{plan}"), ("PUT", "/api/v1/training/plans/{plan}"),
    ("DELETE", "/api/v1/training/plans/{plan}"), ("POST", "/api/v1/training/plans/{plan}/submit"),
    ("POST", "/api/v1/training/plans/{plan}/withdraw"), ("POST", "/api/v1/training/plans/{plan}/resubmit"),
    ("GET", "/api/v1/training/reports"), ("POST", "/api/v1/training/reports"),
    ("GET", "/api/v1/training/reports/{report}"), ("PUT", "/api/v1/training/reports/{report}"),
    ("DELETE", "/api/v1/training/reports/{report}"), ("POST", "/api/v1/training/reports/{report}/submit"),
    ("POST", "/api/v1/training/reports/{report}/withdraw"), ("POST", "/api/v1/training/reports/{report}/resubmit"),
    ("GET", "/api/v1/training/profile"), ("PUT", "/api/v1/training/profile"),
]


def add_sub_admin(login: str, modules: list[str]) -> None:
    institute = db.session.scalar(select(Organisation).where(Organisation.name == "市继续教育学院"))
    user = User(login=login, name=login, password_hash=hash_password("Demo12345"))
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=institute.id, role=Role.SUB_ADMIN,
                              permissions=modules))
    db.session.commit()


def existing_rows(client) -> dict[str, int]:
    me = api_token(client, "institute_admin")
    subject_id, course_id, teacher_id = catalogue(client, me)
    site = client.post("/api/v1/training/sites", json={"name": "本部", "kind": "site"}, headers=me).get_json()
    plan = client.post("/api/v1/training/plans", json=plan_body(subject_id, course_id, teacher_id),
                       headers=me).get_json()
    report = client.post("/api/v1/training/reports", json={"year": 2025, "name": "总结"}, headers=me).get_json()
    return {"subject": subject_id, "course": course_id, "teacher": teacher_id, "site": site["id"],
            "plan": plan["id"], "report": report["id"]}


def test_every_training_api_route_is_404_without_the_training_module(client):
    rows = existing_rows(client)
    add_sub_admin("institute_clerk", ["people", "statistics"])
    add_sub_admin("institute_trainer", ["training"])
    clerk, trainer = api_token(client, "institute_clerk"), api_token(client, "institute_trainer")
    for method, path in API_ROUTES:
        url = path.format(**rows)
        r = client.open(url, method=method, json={}, headers=clerk)
        assert r.status_code == 404, (method, url, r.status_code)
        # outside any workspace too: a person of a hospital
        assert client.open(url, method=method, json={}, headers=api_token(client, "chenshihui")).status_code == 404
    # a sub-admin holding 培训管理 works there
    assert [s["name"] for s in client.get("/api/v1/training/subjects", headers=trainer).get_json()] == ["卫生管理"]
    assert client.get(f"/api/v1/training/plans/{rows['plan']}", headers=trainer).status_code == 200


def test_openapi_describes_every_training_route(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for method, path in API_ROUTES:
        spec_path = path.removeprefix("/api/v1")
        for name in ("subject", "course", "teacher", "site", "plan", "report"):
            spec_path = spec_path.replace("{" + name + "}", "{row_id}")
        assert method.lower() in doc["paths"][spec_path], (method, spec_path)
    assert "TrainingPlan" in doc["components"]["schemas"]


def test_the_institution_keeps_its_facilities_and_staffing(client):
    me = api_token(client, "institute_admin")
    r = client.put("/api/v1/training/profile", json={"classrooms": 8, "seats": 400, "full_time_teachers": 12,
                                                     "facilities": "多媒体教室8间，实训室2间"}, headers=me)
    assert r.status_code == 200, r.get_json()
    got = client.get("/api/v1/training/profile", headers=me).get_json()
    assert (got["name"], got["classrooms"], got["seats"], got["full_time_teachers"], got["facilities"]) == (
        "市继续教育学院", 8, 400, 12, "多媒体教室8间，实训室2间")
    r = client.put("/api/v1/training/profile", json={"seats": -1}, headers=me)
    assert r.status_code == 422 and "seats" in r.get_json()["error"]["fields"]
    assert client.get("/api/v1/training/profile", headers=me).get_json()["seats"] == 400
    # a hospital has no training workspace unless its admin holds one: it has (a unit training its own staff)
    assert client.get("/api/v1/training/profile", headers=api_token(client, "hospital_admin")).status_code == 200
    assert client.get("/api/v1/training/profile", headers=api_token(client, "health_admin")).status_code == 404


def test_a_year_filter_that_is_not_a_year_is_a_422_naming_it(client):
    """The plan lists filter by year; a year the API cannot mean (not a number, beyond any column) is refused with
    the field named, as the archive's year is, instead of being ignored or failing in the database."""
    me = api_token(client, "institute_admin")
    plan = client.post("/api/v1/training/plans", json=plan_body(*catalogue(client, me)), headers=me).get_json()
    listed = client.get("/api/v1/training/plans?year=2026", headers=me).get_json()
    assert plan["id"] in [p["id"] for p in listed]
    assert client.get("/api/v1/training/plans?year=2025", headers=me).get_json() == []
    for url in ("/api/v1/training/plans", "/api/v1/training/course-plans", "/api/v1/training/course-plans/approved"):
        for year in ("abc", "1" + "0" * 24, "20"):
            r = client.get(f"{url}?year={year}", headers=me)
            assert r.status_code == 422 and "year" in r.get_json()["error"]["fields"], (url, year, r.get_json())
