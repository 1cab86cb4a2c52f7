"""The classes of an approved Guangdong professional-course plan run as training classes (专业课计划 → 培训班设置,
004 §1.3.1 → §1.4): set up on approval, opened, staffed with the unit's own people only, graded and closed, their
hours in the archive; no second declaration.

市第一人民医院 (hospital_admin) plans; 市卫生健康委员会 (health_admin) approves. 陈诗慧 and 刘文斌 work at the
hospital, 王立平 at 福州智造科技."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.archive.models import CreditRecord
from app.classes import queries, services
from app.classes.models import CLOSED, OPEN, PLANNED, TrainingClass
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.people.models import Person
from app.training.models import CoursePlan
from tests.conftest import actor, api_token
from tests.test_course_plans import ADMIN, make_catalogue, new_plan, review, submit
from tests.webutil import browser, text


def person(name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == name))


def running(plan: CoursePlan) -> list[TrainingClass]:
    db.session.expire_all()
    ids = [c.id for c in db.session.get(CoursePlan, plan.id).classes]
    return sorted(queries.plan_classes(ids).values(), key=lambda r: r.id)


def forget(*rows: TrainingClass) -> None:
    """Remove set-up classes (with their courses), as for a plan approved before classes were set up."""
    for row in rows:
        db.session.delete(row)
    db.session.commit()


def approved_plan(rows: dict, **over) -> CoursePlan:
    plan = new_plan(rows, classes=2, **over)
    submit(plan)
    review(plan, "health_admin", "approve", "同意")
    return plan


def test_approval_sets_up_every_class_of_the_plan(any_app):
    rows = make_catalogue(ADMIN)
    plan = new_plan(rows, classes=2)
    submit(plan)
    assert running(plan) == []  # nothing runs before the approval
    review(plan, "health_admin", "approve", "同意")
    first, second = running(plan)
    plan = db.session.get(CoursePlan, plan.id)
    assert [r.name for r in (first, second)] == ["第1期", "第2期"]
    assert first.organisation_id == plan.organisation_id and first.year == 2026
    assert first.instance_id == plan.instance_id  # approved with the plan: no second declaration
    assert queries.state_of(first) == PLANNED and queries.is_approved(first)
    assert (first.start_date, first.end_date, first.capacity) == (date(2026, 3, 10), date(2026, 3, 11), 40)
    assert first.report_mode == "later" and first.hours == Decimal("12")
    assert [cc.course_id for cc in first.courses] == [rows["course"]]
    assert first.courses[0].teacher_id == rows["teacher"] and first.subject_id == rows["subject"]
    assert not services.editable(first)  # approved: only its lifecycle moves
    with pytest.raises(InvalidState):
        services.delete(actor(ADMIN), first.id)


def test_a_plan_no_one_reviews_is_approved_at_once_with_its_classes(any_app):
    """Neither its industry department nor the HR bureau above reviews (关闭审核权限): the plan is approved when
    sent, tied to its case, and its classes are set up in the same transaction."""
    from tests.test_course_plans import org, state

    org("市卫生健康委员会").review_enabled = False
    org("市人力资源和社会保障局").review_enabled = False
    db.session.commit()
    rows = make_catalogue(ADMIN)
    plan = new_plan(rows, classes=2)
    instance = submit(plan)
    assert state(plan) == "approved" and db.session.get(CoursePlan, plan.id).instance_id == instance.id
    assert [(r.name, r.instance_id) for r in running(plan)] == [("第1期", instance.id), ("第2期", instance.id)]
    with pytest.raises(InvalidState):  # sent once
        submit(plan)


def test_a_shorter_class_gives_at_most_six_hours_a_day(app):
    rows = make_catalogue(ADMIN)
    plan = new_plan(rows, classes=0, days=3, hours=18)
    from app.training import course_plans
    from tests.test_course_plans import class_values

    course_plans.add_class(actor(ADMIN), plan.id, class_values(rows, days=1))
    db.session.commit()
    submit(plan)
    review(plan, "health_admin", "approve")
    [row] = running(plan)
    assert row.hours == Decimal("6") and row.end_date == row.start_date


def test_a_plan_class_runs_to_the_archive_with_the_units_own_staff_only(any_app):
    rows = make_catalogue(ADMIN)
    plan = approved_plan(rows)
    row, _second = running(plan)
    me = actor(ADMIN)
    with pytest.raises(InvalidState):  # people join an open class
        services.enrol(me, row.id, [person("陈诗慧").id])
    services.open_class(me, row.id)
    db.session.commit()
    assert queries.state_of(row) == OPEN
    assert services.enrol(me, row.id, [person("陈诗慧").id], id_numbers=[person("刘文斌").id_number]) == 2
    db.session.commit()
    outsider = person("王立平")
    with pytest.raises(ValidationFailed) as exc:  # 法人单位培训班只针对内部培训
        services.enrol(me, row.id, [], id_numbers=[outsider.id_number])
    assert exc.value.fields["id_numbers"] == services.OWN_STAFF_ONLY
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.enrol(me, row.id, [outsider.id])
    db.session.rollback()
    assert queries.candidates(row, q=outsider.id_number, own_only=True) == []
    chen, liu = queries.members(row.id)
    services.set_grade(me, row.id, chen.id, {"result": "pass", "total_score": 88})
    services.set_grade(me, row.id, liu.id, {"result": "fail", "total_score": 40})
    db.session.commit()
    assert services.close(me, row.id) == 1
    db.session.commit()
    [record] = db.session.scalars(select(CreditRecord).where(CreditRecord.class_id == row.id))
    assert record.person_id == chen.person_id and record.recognised_hours == 12
    assert record.subject_type == "professional" and record.class_name == "第1期"
    assert queries.state_of(db.session.get(TrainingClass, row.id)) == CLOSED


def test_a_plan_approved_before_gets_its_classes_set_up_on_demand(any_app):
    rows = make_catalogue(ADMIN)
    plan = approved_plan(rows)
    planned = db.session.get(CoursePlan, plan.id).classes[0]
    forget(*running(plan))  # as if approved before its classes were set up on approval
    row, created = services.set_up_from_plan(actor(ADMIN), plan.id, planned.id)
    db.session.commit()
    assert created and row.course_plan_class_id == planned.id and queries.state_of(row) == PLANNED
    assert services.set_up_from_plan(actor(ADMIN), plan.id, planned.id) == (row, False)  # once
    with pytest.raises(NotFound):  # not the unit's plan
        services.set_up_from_plan(actor("tech_admin"), plan.id, planned.id)
    waiting = new_plan(rows, name="待审核的计划")
    submit(waiting)
    with pytest.raises(InvalidState):
        services.set_up_from_plan(actor(ADMIN), waiting.id, db.session.get(CoursePlan, waiting.id).classes[0].id)
    with pytest.raises(NotFound):  # a class of another plan
        services.set_up_from_plan(actor(ADMIN), plan.id, db.session.get(CoursePlan, waiting.id).classes[0].id)


def test_the_api_sets_up_and_describes_a_plan_class(any_app):
    client = any_app.test_client()
    rows = make_catalogue(ADMIN)
    plan = approved_plan(rows)
    planned = db.session.get(CoursePlan, plan.id).classes[1]
    path = f"/api/v1/training/course-plans/{plan.id}/classes/{planned.id}/training-class"
    headers = api_token(client, ADMIN)
    r = client.post(path, headers=headers)
    assert r.status_code == 200  # set up on approval already
    body = r.get_json()
    assert body["course_plan_class_id"] == planned.id and body["course_plan_id"] == plan.id
    assert body["state"] == "planned" and body["hours"] == 12
    forget(db.session.get(TrainingClass, body["id"]))
    r = client.post(path, headers=headers)
    assert r.status_code == 201 and r.get_json()["name"] == "第2期"
    other = api_token(client, "tech_admin")
    assert client.post(path, headers=other).status_code == 404
    cid = r.get_json()["id"]
    assert client.post(f"/api/v1/classes/{cid}/open", headers=headers).get_json()["state"] == "open"
    outsider = person("王立平")
    r = client.post(f"/api/v1/classes/{cid}/members", headers=headers, json={"id_numbers": [outsider.id_number]})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["id_numbers"] == services.OWN_STAFF_ONLY


def test_the_plan_page_links_each_class_and_the_class_page_names_the_plan(app):
    rows = make_catalogue(ADMIN)
    plan = approved_plan(rows)
    first, second = running(plan)
    web = browser(app, ADMIN)
    page = text(web.client.get(f"/training/course-plans/{plan.id}"))
    assert "培训班设置" in page and page.count("查看培训班 未开班") == 2  # the column, a link a class with its state
    listed = text(web.client.get("/training/course-plans/approved"))
    assert listed.count("查看培训班 未开班") == 2
    assert "送审" in listed[listed.index("审核记录"):] and "提交申报" not in listed
    page = text(web.client.get(f"/classes/{first.id}"))
    assert "2026年急危重症专业课计划" in page and "所属专业课计划" in page
    assert "本单位专业课计划的培训班只能录入本单位人员" not in page  # not open yet: no enrolment form
    web.post_form(f"/classes/{first.id}", {}, f"/classes/{first.id}/open")
    page = text(web.client.get(f"/classes/{first.id}"))
    assert "本单位专业课计划的培训班只能录入本单位人员" in page
    forget(second)
    planned = db.session.get(CoursePlan, plan.id).classes[1]
    page = text(web.client.get(f"/training/course-plans/{plan.id}"))
    assert "设置培训班" in page
    r = web.post_form(f"/training/course-plans/{plan.id}", {}, f"/classes/from-course-plan/{plan.id}/{planned.id}")
    assert r.status_code == 302 and "/classes/" in r.headers["Location"]
    assert len(running(plan)) == 2


def test_the_members_import_keeps_to_the_units_staff_and_the_class_size(client):
    """The 培训班人员 import refuses an outsider and, past the class's size (培训班计划人数), everyone else."""
    import io

    from openpyxl import Workbook
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from app.imports import registry
    from app.training import course_plans
    from tests.test_course_plans import class_values

    rows = make_catalogue(ADMIN)
    plan = new_plan(rows, classes=0)
    course_plans.add_class(actor(ADMIN), plan.id, class_values(rows, participants=1))
    db.session.commit()
    submit(plan)
    review(plan, "health_admin", "approve")
    [row] = running(plan)
    services.open_class(actor(ADMIN), row.id)
    db.session.commit()
    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in registry.get("class_members").columns])
    for name in ("王立平", "陈诗慧", "刘文斌"):
        ws.append([str(row.id), name, person(name).id_number])
    buf = io.BytesIO()
    wb.save(buf)
    boundary, body = encode_multipart({"kind": "class_members", "file": FileStorage(io.BytesIO(buf.getvalue()),
                                                                                    "m.xlsx")})
    h = api_token(client, ADMIN)
    r = client.post("/api/v1/imports", headers=h, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    job = client.get(f"/api/v1/imports/{r.get_json()['id']}", headers=h).get_json()
    assert (job["succeeded"], job["failed"]) == (1, 2), job
    assert [m.person.name for m in queries.members(row.id)] == ["陈诗慧"]
