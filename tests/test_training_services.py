"""Training I (issue 13) through the service layer: catalogues, annual training plans and annual reports.

市继续教育学院 sits directly under the city bureau, so the bureau reviews its plans; an institution under the
health commission (a supervisory department) is reviewed there instead."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts.models import Membership, Organisation, OrgKind, Role, User
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.training import catalogue, plans, queries, reports
from app.training.models import TrainingPlan
from app.workflow import attachments
from app.workflow import services as workflow
from app.workflow.models import ProcessInstance
from tests.conftest import actor
from tests.webutil import png_bytes

ADMIN = "institute_admin"
TEACHER_ID = "110101198001010010"


def org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def the_task(instance_id: int):
    instance = workflow.visible_instance(instance_id, actor(ADMIN))
    [task] = workflow.open_tasks(instance)
    return task


def review(instance_id: int, login: str, outcome: str, comment: str = "") -> None:
    task = the_task(instance_id)
    workflow.complete_task(task.id, {"outcome": outcome, "comment": comment}, actor=actor(login))
    db.session.commit()


def state(row) -> str:
    db.session.expire_all()
    return queries.state_of(db.session.get(type(row), row.id))


@pytest.fixture
def catalogue_rows(any_app):
    me = actor(ADMIN)
    subject = catalogue.add_subject(me, None, {"name": "卫生管理"})
    course = catalogue.add_course(me, None, {"name": "医院质量管理实务", "subject_type": "professional",
                                             "hours": 12, "content": "质量管理工具"})
    public = catalogue.add_course(me, None, {"name": "职业道德与诚信", "subject_type": "public", "hours": 6})
    teacher = catalogue.add_teacher(me, None, {"name": "周明", "id_number": TEACHER_ID, "gender": "男",
                                               "title": "教授", "course_ids": [course.id]})
    db.session.commit()
    return {"subject": subject, "course": course, "public": public, "teacher": teacher}


def plan_values(rows, **over):
    return {"year": 2026, "name": "2026年度卫生管理培训计划", "subject_type": "professional",
            "subject_id": rows["subject"].id, "notes": "全年两期",
            "courses": [{"course_id": rows["course"].id, "teacher_id": rows["teacher"].id}], **over}


def new_plan(rows, login=ADMIN, **over) -> TrainingPlan:
    plan = plans.create(actor(login), None, plan_values(rows, **over))
    db.session.commit()
    return plan


def submit(plan) -> int:
    instance = plans.submit(actor(ADMIN), plan.id)
    db.session.commit()
    return instance.id


def test_a_plan_goes_to_the_city_bureau_and_is_approved(catalogue_rows):
    plan = new_plan(catalogue_rows)
    assert state(plan) == queries.DRAFT
    instance_id = submit(plan)
    task = the_task(instance_id)
    city = org("市人力资源和社会保障局")
    assert (task.lane, task.candidate_org_id, task.candidate_permission) == ("hr_bureau", city.id, "training")
    assert state(plan) == queries.REVIEWING
    # the reviewer reads the plan with its courses and teacher
    data = workflow.instance_data(workflow.visible_instance(instance_id, actor("hr_city")))
    assert "医院质量管理实务（专业科目，12学时，师资：周明）" in data["courses"]
    assert data["total_hours"] == 12 and data["subject_name"] == "卫生管理"
    # a submitted plan cannot be edited, deleted or submitted again
    with pytest.raises(InvalidState):
        plans.update(actor(ADMIN), plan.id, plan_values(catalogue_rows, name="改名"))
    with pytest.raises(InvalidState):
        plans.delete(actor(ADMIN), plan.id)
    with pytest.raises(InvalidState):
        plans.submit(actor(ADMIN), plan.id)
    review(instance_id, "hr_city", "approve")
    assert state(plan) == queries.APPROVED


def test_return_then_resubmit_carries_the_edited_plan(catalogue_rows):
    plan = new_plan(catalogue_rows)
    instance_id = submit(plan)
    review(instance_id, "hr_city", "return", "请补充课程")
    assert state(plan) == queries.RETURNED
    more = catalogue.add_course(actor(ADMIN), None, {"name": "医疗纠纷预防", "subject_type": "professional",
                                                     "hours": 6})
    values = plan_values(catalogue_rows, name="2026年度卫生管理培训计划（修订）")
    values["courses"].append({"course_id": more.id, "teacher_id": None})
    plans.update(actor(ADMIN), plan.id, values)
    plans.resubmit(actor(ADMIN), plan.id)
    db.session.commit()
    assert state(plan) == queries.REVIEWING
    task = the_task(instance_id)
    assert task.title == "2026年度卫生管理培训计划（修订）" and task.lane == "hr_bureau"
    data = workflow.instance_data(workflow.visible_instance(instance_id, actor("hr_city")))
    assert "医疗纠纷预防" in data["courses"] and data["total_hours"] == 18
    review(instance_id, "hr_city", "approve")
    assert state(plan) == queries.APPROVED


def test_reject_ends_the_plan(catalogue_rows):
    plan = new_plan(catalogue_rows)
    instance_id = submit(plan)
    with pytest.raises(ValidationFailed):  # a rejection needs a comment
        workflow.complete_task(the_task(instance_id).id, {"outcome": "reject"}, actor=actor("hr_city"))
    db.session.rollback()
    review(instance_id, "hr_city", "reject", "与年度重点不符")
    assert state(plan) == queries.REJECTED
    with pytest.raises(InvalidState):
        plans.update(actor(ADMIN), plan.id, plan_values(catalogue_rows))


def test_withdraw_before_review_makes_a_draft_again(catalogue_rows):
    plan = new_plan(catalogue_rows)
    instance_id = submit(plan)
    plans.withdraw(actor(ADMIN), plan.id)
    db.session.commit()
    assert state(plan) == queries.DRAFT
    assert workflow.visible_instance(instance_id, actor(ADMIN)).status == "withdrawn"
    assert workflow.open_tasks(workflow.visible_instance(instance_id, actor(ADMIN))) == []
    # edited and submitted again: a new case; once reviewed (returned) it can no longer be withdrawn
    plans.update(actor(ADMIN), plan.id, plan_values(catalogue_rows, notes="调整后"))
    second = submit(plan)
    assert second != instance_id
    review(second, "hr_city", "return", "补充材料")
    with pytest.raises(InvalidState):
        plans.withdraw(actor(ADMIN), plan.id)
    # after a return the institution may give up instead (结案): a draft again
    plans.give_up(actor(ADMIN), plan.id, "下季度再报")
    db.session.commit()
    assert state(plan) == queries.DRAFT


def test_a_supervisory_department_reviews_an_institution_below_it(catalogue_rows):
    health = org("市卫生健康委员会")
    school = Organisation(name="市卫生职业培训中心", kind=OrgKind.TRAINING_INSTITUTION, parent_id=health.id,
                          region=health.region)
    db.session.add(school)
    db.session.flush()
    school.path = f"{health.path}{school.id}/"
    user = User(login="school_admin", name="培训中心管理员", password_hash="x")
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=school.id, role=Role.ADMIN, permissions=[]))
    db.session.commit()
    me = actor("school_admin")
    course = catalogue.add_course(me, None, {"name": "院感防控", "subject_type": "public", "hours": 6})
    plan = plans.create(me, None, {"year": 2026, "name": "公需课计划", "subject_type": "public",
                                   "courses": [{"course_id": course.id}]})
    db.session.commit()
    instance = plans.submit(me, plan.id)
    db.session.commit()
    [task] = workflow.open_tasks(instance)
    assert (task.lane, task.candidate_org_id) == ("supervisory_department", health.id)
    # another institution's plans are not even visible
    with pytest.raises(NotFound):
        plans.get(actor(ADMIN), plan.id)
    workflow.complete_task(task.id, {"outcome": "approve"}, actor=actor("health_admin"))
    db.session.commit()
    assert queries.state_of(plan) == queries.APPROVED


def test_disabled_subject_and_teacher_cannot_be_chosen(catalogue_rows):
    me = actor(ADMIN)
    plan = new_plan(catalogue_rows)  # chosen while enabled
    catalogue.update_subject(me, catalogue_rows["subject"].id, {"enabled": False})
    catalogue.update_teacher(me, catalogue_rows["teacher"].id, {"enabled": False})
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        plans.create(me, None, plan_values(catalogue_rows))
    assert exc.value.fields["subject_id"] == "该专业科目已停用，不能选择"
    assert "周明已停用" in exc.value.fields["courses"]
    db.session.rollback()
    # the plan that already holds them keeps them
    plans.update(me, plan.id, plan_values(catalogue_rows, notes="只改说明"))
    # and a disabled teacher is not offered for new plans
    assert catalogue_rows["teacher"].id not in {t.id for t in catalogue.teachers(plan.organisation_id,
                                                                                   enabled_only=True)}


def test_subject_type_decides_the_courses_and_the_subject(catalogue_rows):
    with pytest.raises(ValidationFailed) as exc:
        plans.create(actor(ADMIN), None, plan_values(catalogue_rows, subject_type="public"))
    assert exc.value.fields["subject_id"] == "公需科目计划不选择专业科目"
    assert "不是公需科目" in exc.value.fields["courses"]
    db.session.rollback()
    with pytest.raises(ValidationFailed) as exc:
        plans.create(actor(ADMIN), None, plan_values(catalogue_rows, subject_id=None))
    assert exc.value.fields["subject_id"] == "请选择本机构的专业科目"


def test_a_course_or_teacher_in_use_cannot_be_deleted(catalogue_rows):
    me = actor(ADMIN)
    new_plan(catalogue_rows)
    with pytest.raises(InvalidState, match="课程已被培训计划使用"):
        catalogue.delete_course(me, catalogue_rows["course"].id)
    with pytest.raises(InvalidState, match="已被培训计划使用"):
        catalogue.delete_teacher(me, catalogue_rows["teacher"].id)
    catalogue.delete_course(me, catalogue_rows["public"].id)  # unused: deleted
    db.session.commit()
    assert [c.name for c in catalogue.courses(catalogue_rows["course"].organisation_id)] == ["医院质量管理实务"]


def test_a_teacher_change_shows_in_every_plan_using_them(catalogue_rows):
    plan = new_plan(catalogue_rows)
    catalogue.update_teacher(actor(ADMIN), catalogue_rows["teacher"].id, {"title": "主任医师", "name": "周明远"})
    db.session.commit()
    assert "师资：周明远" in plans.snapshot(db.session.get(TrainingPlan, plan.id))["courses"]


def test_annual_report_is_declared_reviewed_and_never_deleted(any_app):
    me = actor(ADMIN)
    file = attachments.save_upload(FileStorage(io.BytesIO(png_bytes()), "总结.png"), actor=me)
    report = reports.create(me, None, {"year": 2025, "name": "2025年度工作总结", "attachment_ids": [file.id]})
    draft = reports.create(me, None, {"year": 2025, "name": "草稿"})
    db.session.commit()
    with pytest.raises(ValidationFailed):  # a report without its file is not declared
        reports.submit(me, draft.id)
    reports.delete(me, draft.id)  # a draft is deleted
    instance = reports.submit(me, report.id)
    db.session.commit()
    assert state(report) == queries.REVIEWING
    assert [a.filename for a in attachments.attachments_for(
        workflow.instance_data(instance)["attachments"], instance)] == ["总结.png"]
    review(instance.id, "hr_city", "return", "请补充培训统计")
    assert state(report) == queries.RETURNED
    reports.update(me, report.id, {"year": 2025, "name": "2025年度工作总结（补充）", "attachment_ids": [file.id]})
    reports.resubmit(me, report.id)
    db.session.commit()
    review(instance.id, "hr_city", "approve")
    assert state(report) == queries.APPROVED
    with pytest.raises(InvalidState, match="已申报的报告不能删除"):
        reports.delete(me, report.id)


def test_annual_report_withdrawn_and_rejected(app):
    me = actor(ADMIN)
    file = attachments.save_upload(FileStorage(io.BytesIO(png_bytes()), "年审.png"), actor=me)
    report = reports.create(me, None, {"year": 2025, "name": "年审报告", "attachment_ids": [file.id]})
    db.session.commit()
    reports.submit(me, report.id)
    db.session.commit()
    reports.withdraw(me, report.id)
    db.session.commit()
    assert state(report) == queries.DRAFT
    with pytest.raises(InvalidState):  # declared once: kept
        reports.delete(me, report.id)
    instance = reports.submit(me, report.id)
    db.session.commit()
    review(instance.id, "hr_city", "reject", "材料不实")
    assert state(report) == queries.REJECTED


def test_a_sub_admin_without_training_sees_nothing(catalogue_rows):
    institute = org("市继续教育学院")
    user = User(login="institute_clerk", name="学院职员", password_hash="x")
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=institute.id, role=Role.SUB_ADMIN,
                              permissions=["people"]))
    db.session.commit()
    clerk = actor("institute_clerk")
    with pytest.raises(NotFound):
        catalogue.add_course(clerk, None, {"name": "x", "subject_type": "public", "hours": 1})
    with pytest.raises(NotFound):
        plans.get(clerk, new_plan(catalogue_rows).id)


def test_the_demo_workspace_has_something_on_every_page_and_seeds_once(app):
    from app.training.models import Teacher, TrainingCourse, TrainingSite, TrainingSubject

    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "demo training workspace" in first.output
    institute = org("市继续教育学院")
    got = {m.__name__: db.session.scalar(select(db.func.count()).select_from(m).where(
        m.organisation_id == institute.id)) for m in (TrainingSubject, TrainingCourse, Teacher, TrainingSite)}
    assert got == {"TrainingSubject": 2, "TrainingCourse": 4, "Teacher": 3, "TrainingSite": 2}
    demo_plans = queries.plans(institute.id)
    assert sorted(queries.states(demo_plans).values()) == ["approved", "reviewing"]
    waiting = next(p for p in demo_plans if queries.state_of(p) == "reviewing")
    [task] = workflow.open_tasks(db.session.get(ProcessInstance, waiting.instance_id))
    assert task.candidate_org_id == org("市人力资源和社会保障局").id
    [report] = queries.reports(institute.id)
    assert queries.state_of(report) == "approved" and report.attachment_ids
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "demo training workspace" not in again.output
    assert len(queries.plans(institute.id)) == 2
