"""Training classes in Chromium, on a server of their own (the whole ``seed-demo``, demo classes included, so no
other browser test meets them): the institute declares a class on the pages, the city bureau approves it in the
inbox, the institute opens it, enrols a person, takes attendance, enters grades and closes it; the person's hours
are in the archive, and the class's people export to a spreadsheet from the task centre. Then a grade
declaration: the institute declares two students, their unit batch-approves them
in the inbox, the city bureau approves. Screenshots of every page in both languages at 1366 and 375 px
(``classes-*``)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import LiveServer, serious_violations, shoot

#: A person of no unit's staff (so no other browser test meets them), found by ID number.
STUDENT = ("培训学员甲", "350102199201010016")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """This module's own server: the demo data with the training workspace and the demo classes."""
    import logging

    from app import create_app
    from app.extensions import db
    from config import TestConfig

    path = tmp_path_factory.mktemp("classes") / "live.sqlite3"

    class LiveConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    app = create_app(LiveConfig)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.root_path + "/migrations")
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = LiveServer(app)
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def training_workspace(live):
    """The institute's catalogue and last year's plan, approved (as seed-demo makes them, without this year's
    plan waiting in the city bureau's inbox), and the student."""
    from app.accounts.actor import Actor
    from app.accounts.models import User
    from app.extensions import db
    from app.people.models import Person
    from app.training import plans
    from app.training.demo import seed_catalogue
    from app.training.models import TrainingCourse, TrainingPlan, TrainingSubject
    from app.workflow import services as workflow

    with live.app.app_context():
        seed_catalogue()
        admin = Actor.of(db.session.scalar(select(User).where(User.login == "institute_admin")))
        year = date.today().year - 1
        if db.session.scalar(select(TrainingPlan.id).where(TrainingPlan.year == year)) is None:
            subject = db.session.scalar(select(TrainingSubject).where(TrainingSubject.name == "卫生管理"))
            course = db.session.scalar(select(TrainingCourse).where(TrainingCourse.name == "医院质量与安全管理"))
            plan = plans.create(
                admin,
                None,
                {
                    "year": year,
                    "name": f"{year}年度卫生管理专业科目培训计划",
                    "subject_type": "professional",
                    "subject_id": subject.id,
                    "courses": [{"course_id": course.id}],
                },
            )
            [task] = workflow.open_tasks(plans.submit(admin, plan.id))
            city = Actor.of(db.session.scalar(select(User).where(User.login == "hr_city")))
            workflow.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=city)
        if db.session.scalar(select(Person.id).where(Person.id_number == STUDENT[1])) is None:
            db.session.add(Person(name=STUDENT[0], id_number=STUDENT[1]))
        db.session.commit()
        db.session.remove()
    yield year


def test_a_class_from_declaration_to_the_archive(person, training_workspace) -> None:
    year = training_workspace
    name = f"{year}年医院质量与安全管理浏览器班"
    admin = person("institute_admin")
    page = admin.page
    page.goto("/classes/")
    shoot(page, "classes-1-list")
    page.get_by_role("link", name="培训班申报").click()
    page.locator("#c-name").fill(name)
    page.locator("#c-year").fill(str(year))
    page.locator("#c-plan").select_option(label=f"{year} · {year}年度卫生管理专业科目培训计划")
    page.locator("#c-subject").select_option(label="卫生管理")
    page.get_by_label("医院质量与安全管理").check()
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator(".alert-success")).to_be_visible()
    shoot(page, "classes-2-draft")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".alert-success")).to_be_visible()
    class_url = page.url

    city = person("hr_city")
    city.page.goto("/tasks")
    row = city.page.locator("tbody tr", has_text=name)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()
    shoot(city.page, "classes-3-review-task")
    city.page.get_by_label("同意", exact=True).check()
    city.page.get_by_role("button", name="提交").click()
    expect(city.page.locator(".alert-success")).to_be_visible()

    page.goto(class_url)
    page.get_by_role("button", name="开班").click()
    expect(page.locator(".alert-success")).to_be_visible()
    page.locator("#e-id").fill(STUDENT[1])
    page.get_by_role("button", name="录入", exact=True).click()
    expect(page.locator("#members tbody tr", has_text=STUDENT[0])).to_have_count(1)
    page.locator("#s-at").fill(f"{year}-09-15T09:00")
    page.locator("#s-note").fill("第一天上午")
    page.get_by_role("button", name="添加考勤").click()
    expect(page.locator("#attendance tbody tr", has_text="第一天上午")).to_have_count(1)
    shoot(page, "classes-4-open")
    page.locator("#attendance tbody tr", has_text="第一天上午").get_by_role("link", name="考勤").click()
    shoot(page, "classes-5-attendance")
    page.get_by_label(re.compile(f"考勤状态 {STUDENT[0]}")).select_option("present")
    page.get_by_role("button", name="保存考勤").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.get_by_text("实到 1")).to_be_visible()
    page.goto(class_url)
    page.locator("#members tbody tr", has_text=STUDENT[0]).get_by_role("link", name="录入成绩").click()
    shoot(page, "classes-6-grade")
    page.locator("#g-total").fill("92")
    page.locator("#g-result").select_option("pass")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_be_visible()
    page.get_by_role("button", name="结班").click()  # confirm() accepted by the fixture
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("#members tbody tr", has_text=STUDENT[0]).get_by_text("已记入")).to_be_visible()
    shoot(page, "classes-7-closed")
    page.get_by_role("button", name="导出列表").click()  # 培训班人员导出: a job in the task centre
    expect(page).to_have_url(re.compile(r"/jobs$"))
    download = page.locator("tbody tr", has_text="培训班人员导出").get_by_role("link", name="下载")
    expect(download).to_be_visible()
    sheet = load_workbook(io.BytesIO(page.request.get(download.get_attribute("href")).body())).active
    assert [(r[2], r[3]) for r in sheet.iter_rows(min_row=2, values_only=True)] == [STUDENT]
    page.goto("/classes/grades")
    shoot(page, "classes-8-grade-declarations")
    found = {}
    for url in ("/classes/", class_url, "/classes/grades", "/classes/new"):
        page.goto(url)
        if violations := serious_violations(page):
            found[url] = violations
    assert not found, found

    with admin.live.app.app_context():
        from app.archive.models import CreditRecord
        from app.extensions import db
        from app.people.models import Person

        person_id = db.session.scalar(select(Person.id).where(Person.id_number == STUDENT[1]))
        [record] = db.session.scalars(select(CreditRecord).where(CreditRecord.person_id == person_id)).all()
        assert record.class_name == name and record.source == "class"
        db.session.remove()


def test_grade_declaration_through_the_inbox(person, training_workspace) -> None:
    """学员成绩申报: the institute declares its students' grades on /classes/grades; the hospital batch-approves them
    in its inbox beside credit-hour declarations; the city bureau approves; the hours are in 陈诗慧's archive."""
    from app.accounts.actor import Actor
    from app.accounts.models import User
    from app.classes import queries, services
    from app.extensions import db
    from app.people.models import Person
    from app.training.models import TrainingCourse, TrainingPlan
    from app.workflow import services as workflow
    from app.workflow.models import ProcessInstance

    year = training_workspace
    name = f"{year}年成绩申报浏览器班"
    live = person().live
    with live.app.app_context():
        me = Actor.of(db.session.scalar(select(User).where(User.login == "institute_admin")))
        plan = db.session.scalar(select(TrainingPlan).where(TrainingPlan.year == year))
        course = db.session.scalar(select(TrainingCourse).where(TrainingCourse.name == "医院质量与安全管理"))
        row = services.create(
            me,
            None,
            {
                "plan_id": plan.id,
                "year": year,
                "name": name,
                "subject_type": "professional",
                "subject_id": plan.subject_id,
                "report_mode": "declare",
                "courses": [{"course_id": course.id}],
            },
        )
        [task] = workflow.open_tasks(services.submit(me, row.id))
        city = Actor.of(db.session.scalar(select(User).where(User.login == "hr_city")))
        workflow.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=city)
        services.open_class(me, row.id)
        services.enrol(
            me,
            row.id,
            [],
            id_numbers=list(db.session.scalars(select(Person.id_number).where(Person.name.in_(("陈诗慧", "刘文斌"))))),
        )
        for m in queries.members(row.id):
            services.set_grade(me, row.id, m.id, {"total_score": 90, "result": "pass", "subject_scores": {}})
        services.close(me, row.id)
        db.session.commit()
        class_id = row.id
        db.session.remove()

    admin = person("institute_admin")
    page = admin.page
    page.goto(f"/classes/grades?class_id={class_id}")
    expect(page.locator("tbody tr", has_text=name)).to_have_count(2)
    shoot(page, "classes-9-declare-grades")
    for box in page.locator("tbody input[type=checkbox]").all():
        box.check()
    page.locator("#g-declare").fill(str(year))
    page.get_by_role("button", name="申报所选学员成绩").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("tbody tr", has_text="审核中")).to_have_count(2)

    unit = person("hospital_admin")
    hp = unit.page
    hp.goto("/tasks")
    expect(hp.locator("tbody tr", has_text=name)).to_have_count(2)
    shoot(hp, "classes-10-unit-inbox")
    hp.locator("tbody tr", has_text="陈诗慧").filter(has_text=name).get_by_role("link", name="办理").click()
    shoot(hp, "classes-11-unit-task")
    hp.goto("/tasks?process=grade_declaration")
    hp.locator("#select-all").check()
    hp.locator("#batch-submit").click()
    expect(hp.locator(".alert-success")).to_be_visible()
    expect(hp.locator("tbody tr", has_text=name)).to_have_count(0)

    city = person("hr_city")
    cp = city.page
    for student in ("陈诗慧", "刘文斌"):
        cp.goto("/tasks")
        cp.locator("tbody tr", has_text=student).filter(has_text=name).get_by_role("link", name="办理").click()
        cp.get_by_label("同意", exact=True).check()
        cp.get_by_role("button", name="提交").click()
        expect(cp.locator(".alert-success")).to_be_visible()
    page.goto(f"/classes/grades?class_id={class_id}")
    expect(page.locator("tbody tr", has_text="审核通过")).to_have_count(2)
    chen = person("chenshihui")
    chen.page.goto(f"/archive?year={year}")
    expect(chen.page.get_by_text(f"培训班：{name}")).to_be_visible()
    shoot(chen.page, "classes-12-archive")
    with live.app.app_context():
        assert (
            db.session.scalar(
                select(ProcessInstance.id).where(
                    ProcessInstance.process_key == "grade_declaration", ProcessInstance.status != "completed"
                )
            )
            is None
        )
        db.session.remove()
