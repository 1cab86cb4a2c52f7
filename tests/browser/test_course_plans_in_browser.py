"""A Guangdong professional-course plan in Chromium: the unit writes it, adds a class, sends it (送审, a confirm
dialog), its industry department approves it in the inbox, the unit finds it in 专业课计划查询 and opens its class
(培训班设置) for its own staff. Screenshots
of every page (both languages, 1366 and 375 px) go to the browser artefacts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import serious_violations, shoot

PLAN = "浏览器测试：急危重症专业课计划"


@pytest.fixture
def hospital_catalogue(live):
    """A professional course, two teachers and a subject of 市第一人民医院 (what its catalogue pages would add)."""
    from app.accounts.actor import Actor
    from app.accounts.models import User
    from app.extensions import db
    from app.training import catalogue
    from app.training.models import TrainingCourse

    with live.app.app_context():
        me = Actor.of(db.session.scalar(select(User).where(User.login == "hospital_admin")))
        if db.session.scalar(select(TrainingCourse).where(TrainingCourse.name == "急危重症救治新进展")) is None:
            course = catalogue.add_course(me, None, {"name": "急危重症救治新进展", "subject_type": "professional",
                                                     "hours": 12})
            catalogue.add_subject(me, None, {"name": "急诊医学"})
            catalogue.add_teacher(me, None, {"name": "陈建华", "id_number": "350102197506180015", "title": "主任医师",
                                             "course_ids": [course.id]})
            catalogue.add_teacher(me, None, {"name": "吴丽萍", "id_number": "350103198107220026",
                                             "title": "副主任医师", "course_ids": [course.id]})
            db.session.commit()
        db.session.remove()


def test_course_plan_from_the_form_to_the_query_page(person, hospital_catalogue) -> None:
    unit = person("hospital_admin")
    page = unit.page
    page.goto("/training/course-plans")
    page.get_by_role("link", name="新申请").click()
    shoot(page, "course-plan-1-new")
    page.get_by_label("专业课程名称").select_option(label="急危重症救治新进展（12学时）")
    page.get_by_label("培训计划名称").fill(PLAN)
    page.get_by_label("培训天数").fill("2")
    page.get_by_label("继续教育学时").fill("13")
    page.get_by_label("拟办期数").fill("1")
    page.get_by_label("计划开始时间").fill("2026-03-01")
    page.get_by_label("计划完成时间").fill("2026-06-30")
    page.get_by_label("培训内容").fill("急诊急救流程与重症监护")
    page.get_by_label("培训对象").fill("急诊科、重症医学科医师")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#f-hours-error")).to_contain_text("每天最多6学时")  # 2 days: at most 12
    page.get_by_label("继续教育学时").fill("12")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("已保存草稿")

    page.get_by_label("培训班名称").fill("第一期")
    page.get_by_label("班主任").select_option(label="陈建华（主任医师）")
    page.get_by_label("计划开班日期").fill("2026-04-10")
    page.get_by_label("培训班计划人数").fill("40")
    page.locator("#classes").get_by_label("培训天数").fill("2")
    page.get_by_label("吴丽萍（副主任医师）").check()
    page.get_by_label("急诊医学").check()
    page.get_by_role("button", name="新增培训班").click()
    expect(page.locator("#classes tbody tr", has_text="第一期")).to_have_count(1)
    page.locator("#classes tbody tr", has_text="第一期").get_by_role("link", name="编辑").click()
    expect(page.get_by_label("培训班计划人数")).to_have_value("40")
    shoot(page, "course-plan-2-edit-class")
    page.get_by_label("培训班计划人数").fill("45")
    page.get_by_role("button", name="保存").last.click()
    expect(page.locator("#classes tbody tr", has_text="第一期")).to_contain_text("45")
    assert serious_violations(page) == []
    shoot(page, "course-plan-2-with-class")
    page.get_by_role("button", name="送审").click()  # confirm(): accepted
    expect(page.locator(".alert-success")).to_contain_text("已送审")
    shoot(page, "course-plan-3-sent")
    page.goto("/training/course-plans")
    expect(page.locator("tbody tr", has_text=PLAN)).to_contain_text("审核中")
    shoot(page, "course-plan-3-list")
    page.goto("/applications")  # the case page's history names the step as the unit took it: 送审
    page.locator("tbody tr", has_text=PLAN).get_by_role("link", name=PLAN).click()
    expect(page.locator("section", has_text="审批记录").locator("tbody")).to_contain_text("送审")
    shoot(page, "course-plan-3-case")

    health = person("health_admin")
    hp = health.page
    hp.goto("/tasks")
    row = hp.locator("tbody tr", has_text=PLAN)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()
    expect(hp.get_by_text("第一期（班主任：陈建华")).to_be_visible()
    expect(hp.locator("section", has_text="审批流程").locator("tbody")).to_contain_text("送审")
    shoot(hp, "course-plan-4-review")
    hp.get_by_label("同意", exact=True).check()
    hp.get_by_role("button", name="提交").click()
    expect(hp.locator(".alert-success")).to_be_visible()

    page.goto("/training/course-plans/approved")
    section = page.locator("section", has_text=PLAN)
    expect(section).to_contain_text("第一期")
    expect(section).to_contain_text("市卫生健康委员会")
    assert serious_violations(page) == []
    shoot(page, "course-plan-5-query")

    # 培训班设置: the approved plan's class runs as a training class of the unit, for its own staff
    section.locator("tr", has_text="第一期").get_by_role("link", name="查看培训班").click()
    expect(page.get_by_label("所属专业课计划")).to_have_value(PLAN)
    shoot(page, "course-plan-7-class")
    page.get_by_role("button", name="开班").click()
    expect(page.locator(".alert-success")).to_contain_text("已开班")
    expect(page.locator("#enrol")).to_contain_text("本单位专业课计划的培训班只能录入本单位人员")
    page.locator("#enrol").get_by_label("陈诗慧").check()
    page.get_by_role("button", name="录入所选人员").click()
    expect(page.locator("#members tbody tr", has_text="陈诗慧")).to_have_count(1)
    assert serious_violations(page) == []
    shoot(page, "course-plan-8-class-open")

    # the teachers' batch import, reached from the catalogue page
    page.goto("/training/teachers")
    page.get_by_role("link", name="批量导入").click()
    expect(page.get_by_role("heading", name="导入任务：师资")).to_be_visible()
    shoot(page, "course-plan-6-teacher-import")
