"""Training I (issue 13) pages: the catalogues, a plan from its form to the reviewer's inbox, a report, and the
培训管理 gate on every page."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.training.models import TrainingCourse, TrainingPlan
from tests.test_training_api import add_sub_admin, existing_rows
from tests.webutil import browser, field_error, png_bytes, text, upload

TEACHER_ID = "110101198001010010"


def test_catalogues_and_a_plan_through_the_pages(app):
    web = browser(app, "institute_admin")
    r = web.client.get("/training/", follow_redirects=True)
    assert r.status_code == 200 and "年度培训计划" in text(r) and "市继续教育学院" in text(r)
    r = web.post_form("/training/courses", {"name": "医院质量管理实务", "subject_type": "professional", "hours": "12",
                                             "content": ""})
    assert r.status_code == 302
    r = web.post_form("/training/courses", {"name": "", "subject_type": "professional", "hours": "x"})
    assert r.status_code == 422 and field_error(r, "name") == "长度须在1到200之间" and field_error(r, "hours")
    web.post_form("/training/subjects", {"name": "卫生管理"})
    course = db.session.scalar(select(TrainingCourse).where(TrainingCourse.name == "医院质量管理实务"))
    r = web.post_form("/training/teachers", {"name": "周明", "id_number": TEACHER_ID, "gender": "男",
                                              "course_ids": [str(course.id)]})
    assert r.status_code == 302
    page = text(web.client.get("/training/teachers"))
    assert "周明" in page and "医院质量管理实务" in page
    r = web.post_form("/training/sites", {"name": "学院本部", "kind": "site", "address": "福州市鼓楼区"})
    assert r.status_code == 302 and "学院本部" in text(web.client.get("/training/sites"))

    # a plan: subject, course and teacher chosen on the form, an attachment uploaded
    from app.training.models import Teacher, TrainingSubject

    subject = db.session.scalar(select(TrainingSubject).where(TrainingSubject.name == "卫生管理"))
    teacher = db.session.scalar(select(Teacher).where(Teacher.name == "周明"))
    r = web.post_form("/training/plans/new", {
        "year": "2026", "name": "2026年度培训计划", "subject_type": "professional", "subject_id": str(subject.id),
        "course_ids": [str(course.id)], f"teacher_{course.id}": str(teacher.id), "notes": "两期",
        "files": upload(png_bytes(), "计划.png")}, content_type="multipart/form-data")
    assert r.status_code == 302, text(r)[:500]
    plan = db.session.scalar(select(TrainingPlan))
    assert [(pc.course.name, pc.teacher.name) for pc in plan.courses] == [("医院质量管理实务", "周明")]
    assert len(plan.attachment_ids) == 1
    # a course in use shows no delete button and cannot be deleted
    assert "已被计划使用" in text(web.client.get("/training/courses"))
    r = web.post_form("/training/courses", {}, post_url=f"/training/courses/{course.id}/delete",
                      follow_redirects=True)
    assert "课程已被培训计划使用，不能删除" in text(r)
    r = web.post_form(f"/training/plans/{plan.id}", {}, post_url=f"/training/plans/{plan.id}/submit",
                      follow_redirects=True)
    assert "审核中" in text(r)
    case = text(web.client.get(f"/applications/{db.session.scalar(select(TrainingPlan.instance_id))}"))
    assert "2026年度培训计划" in case and "医院质量管理实务" in case and "撤回" in case

    # the city bureau reviews it in the ordinary inbox and reads the courses and the attachment
    city = browser(app, "hr_city")
    inbox = text(city.client.get("/tasks"))
    assert "2026年度培训计划" in inbox
    task_id = db.session.scalar(select(TrainingPlan.instance_id))
    from app.workflow.models import WorkflowTask

    task = db.session.scalar(select(WorkflowTask).where(WorkflowTask.instance_id == task_id))
    page = text(city.client.get(f"/tasks/{task.id}"))
    assert "医院质量管理实务（专业科目，12学时，师资：周明）" in page and "计划.png" in page


def test_a_report_in_english(app):
    web = browser(app, "institute_admin")
    r = web.post_form("/training/reports/new", {"year": "2025", "name": "2025年度工作总结",
                                                 "files": upload(png_bytes(), "summary.png")},
                      content_type="multipart/form-data")
    assert r.status_code == 302
    page = text(web.client.get(r.headers["Location"] + "?lang=en"))
    assert "Draft" in page and "Submit for review" in page and "summary.png" in page
    listing = text(web.client.get("/training/reports?lang=en"))
    assert "Annual reports" in listing and "2025年度工作总结" in listing


def test_every_training_page_is_404_without_the_training_module(app):
    rows = existing_rows(app.test_client())
    add_sub_admin("institute_clerk", ["people"])
    clerk = browser(app, "institute_clerk")
    pages = ["/training/", "/training/plans", "/training/plans/new", f"/training/plans/{rows['plan']}",
             "/training/reports", "/training/reports/new", f"/training/reports/{rows['report']}",
             "/training/courses", f"/training/courses/{rows['course']}", "/training/subjects",
             f"/training/subjects/{rows['subject']}", "/training/teachers", f"/training/teachers/{rows['teacher']}",
             "/training/sites", f"/training/sites/{rows['site']}", "/training/profile"]
    posts = ["/training/courses", f"/training/courses/{rows['course']}", f"/training/courses/{rows['course']}/delete",
             "/training/subjects", f"/training/subjects/{rows['subject']}/disable", "/training/teachers",
             f"/training/teachers/{rows['teacher']}/enable", f"/training/teachers/{rows['teacher']}/delete",
             "/training/sites", f"/training/sites/{rows['site']}/delete", "/training/plans/new",
             f"/training/plans/{rows['plan']}", f"/training/plans/{rows['plan']}/submit",
             f"/training/plans/{rows['plan']}/withdraw", f"/training/plans/{rows['plan']}/resubmit",
             f"/training/plans/{rows['plan']}/delete", "/training/reports/new", f"/training/reports/{rows['report']}",
             f"/training/reports/{rows['report']}/submit", f"/training/reports/{rows['report']}/withdraw",
             f"/training/reports/{rows['report']}/resubmit", f"/training/reports/{rows['report']}/delete",
             "/training/profile"]
    for url in pages:
        assert clerk.client.get(url).status_code == 404, url
    token = clerk.csrf("/applications")
    for url in posts:
        assert clerk.client.post(url, data={"csrf_token": token}).status_code == 404, url
    assert "培训管理" not in text(clerk.client.get("/applications"))
    assert "培训管理" in text(browser(app, "institute_admin").client.get("/applications"))


def test_the_profile_page_saves_facilities_and_staffing(app):
    web = browser(app, "institute_admin")
    r = web.post_form("/training/profile", {"classrooms": "6", "managers": "3", "staffing": "专职3人，兼职教师20人"})
    assert r.status_code == 302
    page = text(web.client.get("/training/profile"))
    assert "市继续教育学院" in page and "专职3人，兼职教师20人" in page
    r = web.post_form("/training/profile", {"classrooms": "很多"})
    assert r.status_code == 422 and field_error(r, "classrooms") == "必须是整数"
    assert "Teaching facilities and staffing" in text(web.client.get("/training/profile?lang=en"))


def test_the_generic_start_page_points_to_the_training_pages(app):
    web = browser(app, "institute_admin")
    page = web.client.get("/start/training_plan_approval")
    assert page.status_code == 200 and 'href="/training/plans"' in page.get_data(as_text=True)
    assert 'href="/training/reports"' in web.client.get("/start/annual_report_approval").get_data(as_text=True)
    # a professional cannot start either
    assert browser(app, "chenshihui").client.get("/start/training_plan_approval").status_code == 403
