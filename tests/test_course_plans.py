"""Guangdong professional-course plans (专业课计划申报, 004 §1.3.1 / §1.9.1) through the services and the API.

市第一人民医院 sits under 市卫生健康委员会 (its industry department), which reviews its plans; 福州智造科技 has no
supervisory department above it: the one of its industry in its region reviews, else the district bureau."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.accounts.models import Membership, Organisation, OrgKind, Role, User
from app.accounts.services import hash_password
from app.core.errors import InvalidState, ValidationFailed
from app.extensions import db
from app.training import catalogue, course_plans, queries
from app.training.models import CoursePlan
from app.workflow import services as workflow
from app.workflow.models import ProcessInstance
from tests.conftest import actor, api_token

ADMIN = "hospital_admin"


def org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


@pytest.fixture
def rows(app):
    return make_catalogue(ADMIN)


@pytest.fixture
def rows_any(any_app):
    """The catalogue, on SQLite and on PostgreSQL."""
    return make_catalogue(ADMIN)


def make_catalogue(login: str) -> dict:
    me = actor(login)
    subject = catalogue.add_subject(me, None, {"name": "临床医学"})
    course = catalogue.add_course(me, None, {"name": "急危重症救治新进展", "subject_type": "professional",
                                             "hours": 12, "content": "急诊与重症"})
    public = catalogue.add_course(me, None, {"name": "职业道德", "subject_type": "public", "hours": 6})
    head = catalogue.add_teacher(me, None, {"name": "李主任", "id_number": "110101198001010010",
                                            "course_ids": [course.id]})
    teacher = catalogue.add_teacher(me, None, {"name": "王教授", "id_number": "110101197001010016",
                                               "course_ids": [course.id]})
    db.session.commit()
    return {"subject": subject.id, "course": course.id, "public": public.id, "head": head.id,
            "teacher": teacher.id}


def plan_values(rows: dict, **over) -> dict:
    return {"course_id": rows["course"], "name": "2026年急危重症专业课计划", "days": 2, "hours": 12, "sessions": 2,
            "start_date": date(2026, 3, 1), "end_date": date(2026, 6, 30), "content": "急诊与重症救治",
            "audience": "本院急诊科、重症医学科医师", **over}


def class_values(rows: dict, **over) -> dict:
    return {"name": "第一期", "head_teacher_id": rows["head"], "opening_date": date(2026, 3, 10),
            "participants": 40, "days": 2, "teacher_ids": [rows["teacher"]], "subject_ids": [rows["subject"]],
            **over}


def new_plan(rows: dict, login: str = ADMIN, classes: int = 1, **over) -> CoursePlan:
    me = actor(login)
    plan = course_plans.create(me, None, plan_values(rows, **over))
    for n in range(classes):
        course_plans.add_class(me, plan.id, class_values(rows, name=f"第{n + 1}期"))
    db.session.commit()
    return plan


def state(plan: CoursePlan) -> str:
    db.session.expire_all()
    return queries.state_of(db.session.get(CoursePlan, plan.id))


def review(plan: CoursePlan, login: str, outcome: str, comment: str = "") -> None:
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, db.session.get(CoursePlan, plan.id).instance_id)
    [task] = workflow.open_tasks(instance)
    workflow.complete_task(task.id, {"outcome": outcome, "comment": comment}, actor=actor(login))
    db.session.commit()


def submit(plan: CoursePlan, login: str = ADMIN) -> ProcessInstance:
    instance = course_plans.submit(actor(login), plan.id)
    db.session.commit()
    return instance


# --------------------------------------------------------------------------- the rules


def test_at_most_six_hours_a_day_and_days_within_the_dates(rows):
    me = actor(ADMIN)
    with pytest.raises(ValidationFailed) as exc:
        course_plans.create(me, None, plan_values(rows, days=2, hours=12.5))
    assert "每天最多6学时" in exc.value.fields["hours"] and "2天最多12学时" in exc.value.fields["hours"]
    db.session.rollback()
    plan = course_plans.create(me, None, plan_values(rows, days=2, hours=12))  # exactly 6 a day
    assert plan.year == 2026  # from the start date
    with pytest.raises(ValidationFailed) as exc:
        course_plans.create(me, None, plan_values(rows, days=5, hours=12, start_date=date(2026, 3, 1),
                                                  end_date=date(2026, 3, 3)))
    assert exc.value.fields["days"] == "培训天数超过计划开始至完成的天数"
    db.session.rollback()
    with pytest.raises(ValidationFailed) as exc:
        course_plans.create(me, None, plan_values(rows, end_date=date(2026, 2, 1)))
    assert "end_date" in exc.value.fields
    db.session.rollback()
    with pytest.raises(ValidationFailed) as exc:  # a 公需 course is no professional-course plan
        course_plans.create(me, None, plan_values(rows, course_id=rows["public"]))
    assert exc.value.fields["course_id"] == "专业课计划只能选择专业科目的课程"


def test_disabled_teachers_and_subjects_cannot_be_chosen(rows):
    me = actor(ADMIN)
    plan = new_plan(rows, classes=0)
    catalogue.update_teacher(me, rows["teacher"], {"enabled": False})
    catalogue.update_subject(me, rows["subject"], {"enabled": False})
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        course_plans.add_class(me, plan.id, class_values(rows))
    assert exc.value.fields["teacher_ids"] == "师资王教授已停用，不能选择"
    assert exc.value.fields["subject_ids"] == "专业科目临床医学已停用，不能选择"
    db.session.rollback()
    with pytest.raises(ValidationFailed) as exc:
        course_plans.add_class(me, plan.id, class_values(rows, head_teacher_id=rows["teacher"],
                                                         teacher_ids=[rows["head"]], subject_ids=[]))
    assert exc.value.fields == {"head_teacher_id": "师资王教授已停用，不能选择"}
    db.session.rollback()
    # a class already holding them keeps them when the plan is saved again
    catalogue.update_teacher(me, rows["teacher"], {"enabled": True})
    catalogue.update_subject(me, rows["subject"], {"enabled": True})
    added = course_plans.add_class(me, plan.id, class_values(rows))
    catalogue.update_teacher(me, rows["teacher"], {"enabled": False})
    db.session.commit()
    changed = course_plans.update_class(me, plan.id, added.id, class_values(rows, participants=50))
    assert changed.participants == 50 and [t.name for t in changed.teachers] == ["王教授"]
    kept = {**class_values(rows), "id": added.id}
    course_plans.update(me, plan.id, {**plan_values(rows), "classes": [kept]})
    with pytest.raises(ValidationFailed):  # but not in a new class
        course_plans.update(me, plan.id, {**plan_values(rows), "classes": [kept, class_values(rows, name="新")]})


def test_classes_follow_the_plan(rows):
    me = actor(ADMIN)
    plan = new_plan(rows, classes=2)  # sessions=2
    with pytest.raises(ValidationFailed) as exc:
        course_plans.add_class(me, plan.id, class_values(rows, name="第三期"))
    assert "拟办期数" in exc.value.fields["name"]
    db.session.rollback()
    with pytest.raises(ValidationFailed) as exc:
        course_plans.update(me, plan.id, plan_values(rows, sessions=1))
    assert "拟办期数" in exc.value.fields["sessions"]
    db.session.rollback()
    for change, field in (({"days": 1, "hours": 6}, "days"), ({"start_date": date(2026, 3, 20)}, "start_date")):
        with pytest.raises(ValidationFailed) as exc:  # the classes it has no longer fit
            course_plans.update(me, plan.id, plan_values(rows, **change))
        assert "请先修改或删除该培训班" in exc.value.fields[field]
        db.session.rollback()
    course_plans.delete_class(me, plan.id, plan.classes[1].id)
    with pytest.raises(ValidationFailed) as exc:
        course_plans.add_class(me, plan.id, class_values(rows, days=3, opening_date=date(2026, 7, 1)))
    assert set(exc.value.fields) == {"days", "opening_date"}


def test_a_plan_without_classes_cannot_be_sent(rows):
    plan = new_plan(rows, classes=0)
    with pytest.raises(ValidationFailed) as exc:
        course_plans.submit(actor(ADMIN), plan.id)
    assert exc.value.fields == {"classes": "请至少新增一个培训班"}


# --------------------------------------------------------------------------- the process


def test_approved_by_the_industry_department_and_locked_once_sent(rows_any):
    rows = rows_any
    plan = new_plan(rows)
    instance = submit(plan)
    assert state(plan) == queries.REVIEWING
    [task] = workflow.open_tasks(instance)
    assert task.lane == "industry_department" and task.candidate_org_id == org("市卫生健康委员会").id
    with pytest.raises(InvalidState):  # 送审后不能再修改
        course_plans.update(actor(ADMIN), plan.id, plan_values(rows, name="改名"))
    with pytest.raises(InvalidState):
        course_plans.add_class(actor(ADMIN), plan.id, class_values(rows))
    with pytest.raises(InvalidState):
        course_plans.delete(actor(ADMIN), plan.id)
    db.session.rollback()
    review(plan, "health_admin", "approve", "同意")
    assert state(plan) == queries.APPROVED
    [found] = course_plans.approved(org("市第一人民医院").id)
    files, events = course_plans.details([found])[found.id]
    assert [(e.step, e.outcome) for e in events][-1] == ("industry_review", "approve")
    assert workflow.instance_data(db.session.get(ProcessInstance, found.instance_id))["classes"].startswith(
        "第1期（班主任：李主任")


def test_returned_edited_resubmitted_then_rejected(rows_any):
    rows = rows_any
    plan = new_plan(rows)
    submit(plan)
    review(plan, "health_admin", "return", "学时偏少")
    assert state(plan) == queries.RETURNED
    me = actor(ADMIN)
    course_plans.update(me, plan.id, plan_values(rows, days=3, hours=18))
    db.session.commit()
    course_plans.resubmit(me, plan.id)
    db.session.commit()
    assert state(plan) == queries.REVIEWING
    review(plan, "health_admin", "reject", "不符合要求")
    assert state(plan) == queries.REJECTED_STATE
    assert course_plans.approved(org("市第一人民医院").id) == []
    with pytest.raises(InvalidState):
        course_plans.update(me, plan.id, plan_values(rows))


def test_withdrawn_before_review_is_a_draft_again(rows):
    plan = new_plan(rows)
    submit(plan)
    course_plans.withdraw(actor(ADMIN), plan.id)
    db.session.commit()
    assert state(plan) == queries.DRAFT
    submit(plan)
    assert state(plan) == queries.REVIEWING


def test_who_reviews_without_a_supervisory_department(app):
    tech = org("福州智造科技有限公司")
    assert course_plans.industry_department(tech) is None  # no industry: the district bureau reviews
    rows = make_catalogue("tech_admin")
    plan = new_plan(rows, login="tech_admin")
    [task] = workflow.open_tasks(submit(plan, "tech_admin"))
    assert task.lane == "hr_bureau" and task.candidate_org_id == org("区人力资源和社会保障局").id
    # the industry department of its industry in its region (the city's, for a unit of a district)
    tech.industry = "制造"
    industry = Organisation(name="市工业和信息化局", kind=OrgKind.SUPERVISORY_DEPARTMENT, industry="制造",
                            region="福建省-福州市", parent_id=org("市人力资源和社会保障局").id)
    db.session.add(industry)
    db.session.flush()
    industry.path = org("市人力资源和社会保障局").path + f"{industry.id}/"
    db.session.commit()
    assert course_plans.industry_department(tech) == industry
    assert course_plans.industry_department(org("市第一人民医院")) == org("市卫生健康委员会")


# --------------------------------------------------------------------------- the API


def api_catalogue(client, me) -> dict:
    subject = client.post("/api/v1/training/subjects", json={"name": "临床医学"}, headers=me).get_json()
    course = client.post("/api/v1/training/courses", json={"name": "急危重症救治新进展",
                                                            "subject_type": "professional", "hours": 12},
                         headers=me).get_json()
    head = client.post("/api/v1/training/teachers", json={"name": "李主任", "id_number": "110101198001010010"},
                       headers=me).get_json()
    return {"subject": subject["id"], "course": course["id"], "head": head["id"], "teacher": head["id"]}


def api_body(rows: dict, **over) -> dict:
    return {"course_id": rows["course"], "name": "急危重症专业课计划", "days": 2, "hours": 12, "sessions": 1,
            "start_date": "2026-03-01", "end_date": "2026-06-30", "content": "急诊与重症救治",
            "audience": "急诊科医师", "classes": [{
                "name": "第一期", "head_teacher_id": rows["head"], "opening_date": "2026-03-10", "participants": 40,
                "days": 2, "teacher_ids": [rows["teacher"]], "subject_ids": [rows["subject"]]}], **over}


def test_course_plan_approval_through_the_api(client):
    me = api_token(client, ADMIN)
    rows = api_catalogue(client, me)
    r = client.post("/api/v1/training/course-plans", json=api_body(rows, hours=13), headers=me)
    assert r.status_code == 422 and "每天最多6学时" in r.get_json()["error"]["fields"]["hours"]
    r = client.post("/api/v1/training/course-plans", json=api_body(rows), headers=me)
    assert r.status_code == 201, r.get_json()
    plan = r.get_json()
    assert (plan["state"], plan["course"], plan["classes"][0]["head_teacher"]) == ("draft", "急危重症救治新进展",
                                                                                    "李主任")
    pid = plan["id"]
    r = client.post(f"/api/v1/training/course-plans/{pid}/submit", headers=me)
    assert r.status_code == 200 and r.get_json()["state"] == "reviewing"
    assert client.put(f"/api/v1/training/course-plans/{pid}", json=api_body(rows), headers=me).status_code == 409
    reviewer = api_token(client, "health_admin")
    [task] = client.get("/api/v1/tasks", query_string={"process": "course_plan_approval"},
                        headers=reviewer).get_json()["items"]
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "return", "comment": "补充"},
                    headers=reviewer)
    assert r.status_code == 200
    assert client.get(f"/api/v1/training/course-plans/{pid}", headers=me).get_json()["state"] == "returned"
    r = client.put(f"/api/v1/training/course-plans/{pid}", json=api_body(rows, audience="急诊科、重症医学科医师"),
                   headers=me)
    assert r.status_code == 200, r.get_json()
    assert client.post(f"/api/v1/training/course-plans/{pid}/resubmit", headers=me).status_code == 200
    [task] = client.get("/api/v1/tasks", query_string={"process": "course_plan_approval"},
                        headers=reviewer).get_json()["items"]
    client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"}, headers=reviewer)
    [found] = client.get("/api/v1/training/course-plans/approved", headers=me).get_json()
    assert found["id"] == pid and found["audience"] == "急诊科、重症医学科医师"
    assert [(h["step_id"], h["outcome"]) for h in found["history"]] == [
        ("start", "submit"), ("industry_review", "return"), ("revise", "resubmit"), ("industry_review", "approve")]
    assert client.get("/api/v1/training/course-plans/approved", query_string={"year": 2025},
                      headers=me).get_json() == []


def test_course_plan_routes_are_404_without_the_training_module(client):
    me = api_token(client, ADMIN)
    rows = api_catalogue(client, me)
    pid = client.post("/api/v1/training/course-plans", json=api_body(rows), headers=me).get_json()["id"]
    cid = client.get(f"/api/v1/training/course-plans/{pid}", headers=me).get_json()["classes"][0]["id"]
    hospital = org("市第一人民医院")
    for login, modules in (("hospital_clerk", ["people"]), ("hospital_trainer", ["training"])):
        user = User(login=login, name=login, password_hash=hash_password("Demo12345"))
        db.session.add(user)
        db.session.flush()
        db.session.add(Membership(user_id=user.id, organisation_id=hospital.id, role=Role.SUB_ADMIN,
                                  permissions=modules))
    db.session.commit()
    routes = [("GET", "/api/v1/training/course-plans"), ("POST", "/api/v1/training/course-plans"),
              ("GET", "/api/v1/training/course-plans/approved"), ("GET", f"/api/v1/training/course-plans/{pid}"),
              ("PUT", f"/api/v1/training/course-plans/{pid}"), ("DELETE", f"/api/v1/training/course-plans/{pid}"),
              ("POST", f"/api/v1/training/course-plans/{pid}/submit"),
              ("POST", f"/api/v1/training/course-plans/{pid}/withdraw"),
              ("POST", f"/api/v1/training/course-plans/{pid}/resubmit"),
              ("POST", f"/api/v1/training/course-plans/{pid}/classes"),
              ("PUT", f"/api/v1/training/course-plans/{pid}/classes/{cid}"),
              ("DELETE", f"/api/v1/training/course-plans/{pid}/classes/{cid}")]
    clerk, other = api_token(client, "hospital_clerk"), api_token(client, "institute_admin")
    for method, url in routes:
        assert client.open(url, method=method, json={}, headers=clerk).status_code == 404, (method, url)
    for method, url in routes[3:]:  # another workspace's plan
        assert client.open(url, method=method, json={}, headers=other).status_code == 404, (method, url)
    trainer = api_token(client, "hospital_trainer")
    assert client.get(f"/api/v1/training/course-plans/{pid}", headers=trainer).status_code == 200
    klass = {**api_body(rows)["classes"][0], "name": "第二期"}
    r = client.put(f"/api/v1/training/course-plans/{pid}/classes/{cid}", json={**klass, "name": "第一期（改）"},
                   headers=trainer)
    assert r.status_code == 200 and r.get_json()["name"] == "第一期（改）"
    r = client.post(f"/api/v1/training/course-plans/{pid}/classes", json=klass, headers=trainer)
    assert r.status_code == 422 and "拟办期数" in r.get_json()["error"]["fields"]["name"]  # one session planned
    assert client.delete(f"/api/v1/training/course-plans/{pid}/classes/{cid}", headers=trainer).status_code == 204
    r = client.post(f"/api/v1/training/course-plans/{pid}/classes", json=klass, headers=trainer)
    assert r.status_code == 201 and r.get_json()["teachers"] == [{"id": rows["teacher"], "name": "李主任",
                                                                 "title": None}]
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/training/course-plans", "/training/course-plans/approved", "/training/course-plans/{row_id}",
                 "/training/course-plans/{row_id}/submit", "/training/course-plans/{row_id}/classes",
                 "/training/course-plans/{row_id}/classes/{class_id}"):
        assert path in doc["paths"], path


# --------------------------------------------------------------------------- the pages


def test_a_course_plan_through_the_pages(app):
    from tests.webutil import browser, field_error, png_bytes, text, upload

    rows = make_catalogue(ADMIN)
    web = browser(app, ADMIN)
    assert "专业课计划申报" in text(web.client.get("/training/course-plans"))
    form = {"course_id": str(rows["course"]), "name": "急危重症专业课计划", "days": "2", "hours": "13",
            "sessions": "1", "start_date": "2026-03-01", "end_date": "2026-06-30", "content": "急诊与重症救治",
            "audience": "急诊科医师", "notes": ""}
    r = web.post_form("/training/course-plans/new", form, content_type="multipart/form-data")
    assert r.status_code == 422 and "每天最多6学时" in field_error(r, "hours")
    r = web.post_form("/training/course-plans/new", {**form, "hours": "12", "files": upload(png_bytes(), "通知.png")},
                      content_type="multipart/form-data")
    assert r.status_code == 302, text(r)[:800]
    plan = db.session.scalar(select(CoursePlan))
    assert plan.year == 2026 and len(plan.attachment_ids) == 1
    url = f"/training/course-plans/{plan.id}"
    klass = {"name": "第一期", "head_teacher_id": str(rows["head"]), "opening_date": "2026-03-10",
             "participants": "40", "days": "2", "teacher_ids": [str(rows["teacher"])],
             "subject_ids": [str(rows["subject"])]}
    r = web.post_form(url, {**klass, "days": "5"}, post_url=f"{url}/classes")
    assert r.status_code == 422 and "培训班天数不能超过" in field_error(r, "days")
    r = web.post_form(url, klass, post_url=f"{url}/classes")
    assert r.status_code == 302
    page = text(web.client.get(url))
    assert "第一期" in page and "李主任" in page and "王教授" in page and "培训班数已达到拟办期数" in page
    cid = db.session.scalar(select(CoursePlan)).classes[0].id
    assert "培训班修改：第一期" in text(web.client.get(f"{url}/classes/{cid}"))
    r = web.post_form(url, {**klass, "participants": "0"}, post_url=f"{url}/classes/{cid}")
    assert r.status_code == 422 and field_error(r, "participants")
    r = web.post_form(url, {**klass, "participants": "45"}, post_url=f"{url}/classes/{cid}")
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(CoursePlan)).classes[0].participants == 45
    r = web.post_form(url, {}, post_url=f"{url}/submit", follow_redirects=True)
    assert "已送审" in text(r) and "审核中" in text(r)
    db.session.expire_all()
    case = text(web.client.get(f"/applications/{plan.instance_id}"))  # the case page's history says how it went
    assert "送审" in case[case.index("审批记录"):] and "提交申报" not in case
    case = text(web.client.get(f"/applications/{plan.instance_id}?lang=en"))
    assert "Send for review" in case[case.index("Approval history"):]
    web.client.get(f"/applications/{plan.instance_id}?lang=zh_CN")  # the language sticks: back to Chinese
    review(plan, "health_admin", "approve", "同意")
    page = text(web.client.get("/training/course-plans/approved"))
    assert "急危重症专业课计划" in page and "第一期" in page and "通知.png" in page and "同意" in page
    assert "没有审核通过" in text(web.client.get("/training/course-plans/approved?year=2025"))
    assert "没有审核通过" in text(web.client.get(f"/training/course-plans/approved?course_id={rows['public']}"))
    assert "第一期" in text(web.client.get(f"/training/course-plans/approved?course_id={rows['course']}&year=2026"))
    english = text(web.client.get("/training/course-plans/approved?lang=en"))
    assert "Approved" in english


def test_course_plan_pages_are_404_without_the_training_module(app):
    from tests.webutil import browser

    rows = make_catalogue(ADMIN)
    plan = new_plan(rows)
    cid = plan.classes[0].id
    hospital = org("市第一人民医院")
    user = User(login="hospital_clerk", name="clerk", password_hash=hash_password("Demo12345"))
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=hospital.id, role=Role.SUB_ADMIN,
                              permissions=["people"]))
    db.session.commit()
    for login in ("hospital_clerk", "institute_admin"):
        web = browser(app, login)
        own = ["/training/course-plans", "/training/course-plans/approved", "/training/course-plans/new"]
        pages = [f"/training/course-plans/{plan.id}", f"/training/course-plans/{plan.id}/classes/{cid}"] + (
            own if login == "hospital_clerk" else [])
        for url in pages:
            assert web.client.get(url).status_code == 404, (login, url)
        token = web.csrf("/applications")
        posts = [f"/training/course-plans/{plan.id}", f"/training/course-plans/{plan.id}/classes",
                 f"/training/course-plans/{plan.id}/classes/{cid}",
                 f"/training/course-plans/{plan.id}/classes/{cid}/delete"] + [
            f"/training/course-plans/{plan.id}/{a}" for a in ("submit", "withdraw", "resubmit", "delete")]
        if login == "hospital_clerk":
            posts.append("/training/course-plans/new")
        for url in posts:
            assert web.client.post(url, data={"csrf_token": token}).status_code == 404, (login, url)


def test_the_demo_has_an_approved_and_a_waiting_course_plan_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "demo professional-course plans" in first.output
    hospital = org("市第一人民医院")
    demo = course_plans.plans(hospital.id)
    assert sorted(queries.states(demo).values()) == ["approved", "reviewing"]
    [approved] = course_plans.approved(hospital.id)
    files, events = course_plans.details([approved])[approved.id]
    assert len(approved.classes) == 2 and files and events[-1].outcome == "approve"
    waiting = next(p for p in demo if p is not approved)
    [task] = workflow.open_tasks(db.session.get(ProcessInstance, waiting.instance_id))
    assert task.candidate_org_id == org("市卫生健康委员会").id
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "demo professional-course plans" not in again.output
    assert len(course_plans.plans(hospital.id)) == 2


def test_a_course_or_teacher_of_a_course_plan_cannot_be_deleted(rows):
    me = actor(ADMIN)
    new_plan(rows)
    hospital = org("市第一人民医院").id
    assert rows["course"] in catalogue.courses_in_use(hospital)
    assert {rows["head"], rows["teacher"]} <= catalogue.teachers_in_use(hospital)
    with pytest.raises(InvalidState):
        catalogue.delete_course(me, rows["course"])
    with pytest.raises(InvalidState):
        catalogue.update_course(me, rows["course"], {"subject_type": "public"})
    for teacher in (rows["head"], rows["teacher"]):
        with pytest.raises(InvalidState) as exc:
            catalogue.delete_teacher(me, teacher)
        assert exc.value.message == "该师资已被专业课计划的培训班使用，不能删除，可以停用"
    catalogue.delete_course(me, rows["public"])  # unused: deleted


def test_the_generic_start_page_points_to_the_course_plans(app):
    from tests.webutil import browser

    page = browser(app, ADMIN).client.get("/start/course_plan_approval").get_data(as_text=True)
    assert 'href="/training/course-plans"' in page


def test_an_industry_department_without_review_authority_is_skipped(rows):
    org("市卫生健康委员会").review_enabled = False  # 关闭审核权限
    db.session.commit()
    plan = new_plan(rows)
    [task] = workflow.open_tasks(submit(plan))
    assert task.lane == "hr_bureau" and task.candidate_org_id == org("市人力资源和社会保障局").id
    review(plan, "hr_city", "approve")
    assert state(plan) == queries.APPROVED


def test_a_class_ends_within_the_plan(rows):
    """A class opening on the plan's last days may not run past its 计划完成时间 (opening date + days)."""
    me = actor(ADMIN)
    plan = new_plan(rows, classes=0, start_date=date(2026, 3, 1), end_date=date(2026, 3, 3), days=3, hours=12)
    with pytest.raises(ValidationFailed) as exc:
        course_plans.add_class(me, plan.id, class_values(rows, opening_date=date(2026, 3, 3), days=3))
    assert "不能晚于计划完成时间" in exc.value.fields["days"]
    db.session.rollback()
    course_plans.add_class(me, plan.id, class_values(rows, opening_date=date(2026, 3, 1), days=3))  # 1st to 3rd
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:  # the plan may not end before a class it holds
        course_plans.update(me, plan.id, plan_values(rows, start_date=date(2026, 3, 1), end_date=date(2026, 3, 2),
                                                     days=2, hours=12))
    assert exc.value.fields["end_date"] == "已有培训班的结束日期晚于计划完成时间，请先修改或删除该培训班"
