"""人员调转 in a real browser: the hospital transfers 刘文斌 out to the tech company from his details page (the
organisation picker chooses the target), the health commission approves the transfer-out, the tech company
confirms it from its inbox, and he is the tech company's afterwards. Screenshots of every page as the role that
uses it, in both languages, at 1366 px and 375 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import serious_violations, shoot

LIU = "刘文斌"


@pytest.fixture
def liu_restored(live):
    """The test moves 刘文斌 on the shared live server: give him back to the hospital afterwards."""
    from app.accounts.models import Membership
    from app.extensions import db
    from app.people.models import Person

    with live.app.app_context():
        person = db.session.scalar(select(Person).where(Person.name == LIU))
        saved = (person.unit_id, person.department_id)
        db.session.remove()
    yield
    with live.app.app_context():
        from app.people import services

        person = db.session.scalar(select(Person).where(Person.name == LIU))
        services.move_person(person, saved[0])
        person.department_id = saved[1]
        assert db.session.scalar(
            select(Membership.id).where(Membership.user_id == person.user_id, Membership.organisation_id == saved[0])
        )
        db.session.commit()
        db.session.remove()


def shoot_and_check(page, name: str) -> None:  # noqa: ANN001
    """Screenshots in both languages at both widths, and no serious axe-core violation."""
    shoot(page, name)
    assert serious_violations(page) == [], name


def open_task(page, name: str) -> None:  # noqa: ANN001
    page.goto("/tasks?lang=zh_CN")
    row = page.locator("tbody tr", has_text=LIU).filter(has_text="人员调转")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()
    expect(page.get_by_text(name).first).to_be_visible()


def test_transfer_through_the_pages(person, liu_restored) -> None:
    hospital = person("hospital_admin")
    page = hospital.page
    page.goto("/people?name=" + LIU)
    page.get_by_role("link", name="查看").first.click()
    page.get_by_role("link", name="人员调出").click()
    expect(page.get_by_text("321101198110166954").first).to_be_visible()  # his details, prefilled
    shoot_and_check(page, "transfer-new")
    page.locator("[data-org-picker-search]").fill("福州智造")
    page.get_by_role("option", name="福州智造科技有限公司").first.click()
    page.locator("#f-transfer_date").fill("2026-12-31")
    page.locator("#f-reason").fill("浏览器测试：工作调动")
    page.get_by_role("button", name="提交调出申请").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.get_by_text("调出审核").first).to_be_visible()
    shoot_and_check(page, "transfer-view-running")
    page.goto("/transfers?box=out")
    expect(page.locator("tbody tr", has_text=LIU)).to_have_count(1)
    shoot_and_check(page, "transfer-list-out")

    health = person("health_admin")
    open_task(health.page, "调出审核")
    shoot(health.page, "transfer-task-out")
    health.page.get_by_label("同意", exact=True).check()
    health.page.get_by_role("button", name="提交").click()
    expect(health.page.locator(".alert-success")).to_be_visible()

    tech = person("tech_admin")
    tech.page.goto("/transfers?box=in")
    expect(tech.page.locator("tbody tr", has_text=LIU)).to_have_count(1)
    shoot_and_check(tech.page, "transfer-list-in")
    open_task(tech.page, "调入审核（确认调转）")
    shoot(tech.page, "transfer-task-in")
    tech.page.get_by_label("同意", exact=True).check()
    tech.page.get_by_role("button", name="提交").click()
    expect(tech.page.locator(".alert-success")).to_be_visible()

    tech.page.goto("/people?name=" + LIU)
    expect(tech.page.locator("tbody tr", has_text=LIU)).to_have_count(1)
    tech.page.goto("/transfers?box=records")
    expect(tech.page.locator("tbody tr", has_text=LIU).filter(has_text="已调转")).to_have_count(1)
    shoot_and_check(tech.page, "transfer-records")
    page.goto("/people?name=" + LIU)
    expect(page.locator("tbody tr", has_text=LIU)).to_have_count(0)
    page.goto("/transfers?box=records")
    page.locator("tbody tr", has_text=LIU).get_by_role("link", name="详情").first.click()
    expect(page.get_by_text("已调转").first).to_be_visible()
    shoot_and_check(page, "transfer-view-done")
