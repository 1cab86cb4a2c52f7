"""Dishonesty records and legacy data in Chromium (issue 16 items 2 and 3): a unit records an entry against a
professional, the reviewer sees it on the person's credit-hour case, the supervisory department sees it in its
list, the unit revokes it with a reason; the unit claims its old-system people (a wrong code, then three
people), their legacy records are in the archive and a legacy certificate prints. Screenshots as each role, in
Chinese and English, at 1366 and 375 px. Everything it adds to the shared live server is removed afterwards."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from tests.browser.conftest import ARTIFACTS, serious_violations, shoot
from tests.conftest import DECLARATION

CHEN = "110101199003072711"
THREE = [("陈诗慧", CHEN), ("刘文斌", "321101198110166954"), ("黄丽娟", "35010219850715002X")]


def _actor(login: str):  # noqa: ANN202
    from app.accounts.actor import Actor
    from app.accounts.models import User
    from app.extensions import db

    return Actor.of(db.session.scalar(select(User).where(User.login == login)))


@pytest.fixture
def sandbox(live):
    """The legacy sample and a declaration of 陈诗慧 waiting at the hospital; all gone after the test."""
    from app.archive.models import AnnualVerification, CreditRecord
    from app.extensions import db
    from app.integrity.models import DishonestyEntry
    from app.legacy.cli import DEMO_FILE
    from app.legacy.loader import load
    from app.legacy.models import LegacyCertificate, LegacyPerson, LegacyRecord, LegacyUnit
    from app.people.models import Person
    from app.workflow import services

    with live.app.app_context():
        people_before = set(db.session.scalars(select(Person.id)))
        load(DEMO_FILE)
        instance = services.start_process("credit_hour_approval", dict(DECLARATION), actor=_actor("chenshihui"))
        db.session.commit()
        instance_id = instance.id
        db.session.remove()
    yield instance_id
    with live.app.app_context():
        services.withdraw_instance(instance_id, actor=_actor("chenshihui"))
        legacy = select(CreditRecord.id).where(CreditRecord.source == "legacy")
        years = db.session.execute(
            select(CreditRecord.person_id, CreditRecord.year).where(CreditRecord.source == "legacy").distinct()
        ).all()
        db.session.execute(delete(CreditRecord).where(CreditRecord.id.in_(legacy)))
        for person_id, year in years:
            db.session.execute(
                delete(AnnualVerification).where(
                    AnnualVerification.person_id == person_id, AnnualVerification.year == year
                )
            )
        db.session.execute(delete(DishonestyEntry))
        for model in (LegacyCertificate, LegacyRecord, LegacyPerson, LegacyUnit):
            db.session.execute(delete(model))
        added = set(db.session.scalars(select(Person.id))) - people_before
        db.session.execute(delete(Person).where(Person.id.in_(added)))
        db.session.commit()
        db.session.remove()


def test_dishonesty_records_and_legacy_data_in_the_browser(person, sandbox) -> None:
    instance_id = sandbox
    hospital = person("hospital_admin")
    page = hospital.page

    # 失信信息录入: a person of the unit
    page.goto("/integrity")
    expect(page.locator("h1")).to_contain_text("失信信息录入")
    page.get_by_role("link", name="录入失信信息").click()
    shoot(page, "integrity-new-hospital")
    page.locator("#person_id_number").fill(CHEN)
    page.locator("#content").fill("2025年学时申报提交的培训证明材料系伪造")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".alert-success")).to_contain_text("已录入失信信息")
    entry_url = page.url
    shoot(page, "integrity-view-hospital")
    page.goto("/integrity")
    expect(page.locator("tbody")).to_contain_text("陈诗慧")
    shoot(page, "integrity-list-hospital")

    # the reviewer sees it on 陈诗慧's case
    page.goto("/tasks")
    page.locator("a[href^='/tasks/']", has_text="急诊医学新进展").first.click()
    expect(page.locator("main")).to_contain_text("培训证明材料系伪造")
    shoot(page, "integrity-task-panel-hospital")
    page.goto(f"/applications/{instance_id}")
    expect(page.locator("main")).to_contain_text("培训证明材料系伪造")

    # the supervisory department sees it in its list
    health = person("health_admin")
    health.page.goto("/integrity")
    expect(health.page.locator("tbody")).to_contain_text("陈诗慧")
    shoot(health.page, "integrity-list-health")

    # revoked with a reason: both kept
    page.goto(entry_url)
    page.locator("#reason").fill("经复核，材料为培训机构盖章原件，系误录")
    page.get_by_role("button", name="撤销该失信信息").click()
    expect(page.locator("main")).to_contain_text("系误录")
    expect(page.locator("main")).to_contain_text("培训证明材料系伪造")

    # 历史信息绑定: a wrong code, then three people
    page.goto("/legacy/claim")
    page.locator("#old_unit_name").fill("福州市第一医院")
    page.locator("#old_unit_code").fill("FZ9999")
    page.get_by_role("button", name="验证并绑定", exact=True).click()
    expect(page.locator(".alert-danger")).to_contain_text("未找到与之对应的旧系统单位")
    shoot(page, "legacy-claim-error-hospital")
    for i, (name, id_number) in enumerate(THREE):
        page.locator(f"#people-{i}-name").fill(name)
        page.locator(f"#people-{i}-id_number").fill(id_number)
    page.get_by_role("button", name="验证并绑定历史学员").click()
    expect(page.locator(".alert-success")).to_contain_text("已绑定旧系统单位")
    expect(page.locator("main")).to_contain_text("FZ0001")
    shoot(page, "legacy-claim-hospital")

    # 继续教育记录查询, 历史证书查询/打印 and the archive
    page.get_by_role("link", name="继续教育记录查询").click()
    expect(page.locator("tbody")).to_contain_text("急危重症护理")
    shoot(page, "legacy-records-hospital")
    page.goto("/legacy/certificates?q=陈诗慧")
    expect(page.locator("tbody")).to_contain_text("GD2017000101")
    shoot(page, "legacy-certificates-hospital")
    pdf = page.request.get("/legacy/certificates/GD2017000101/pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    page.goto(f"/archive?person_id_number={CHEN}&year=2017")
    expect(page.locator("main")).to_contain_text("历史数据")
    shoot(page, "legacy-archive-hospital")

    # no serious accessibility problems (axe-core) on the new pages
    problems = {}
    for url in (
        "/integrity",
        "/integrity/new",
        entry_url,
        "/legacy/claim",
        "/legacy/records",
        "/legacy/certificates?q=陈诗慧",
    ):
        page.goto(url)
        if found := serious_violations(page):
            problems[url] = found
    assert not problems, problems

    # the new pages sit in the management menu (English, desktop and phone)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/integrity?lang=en")
        if width < 992:
            page.locator(".navbar-toggler").click()
        page.get_by_role("button", name="Review & admin").or_(page.get_by_role("link", name="Review & admin")).click()
        expect(page.get_by_role("link", name="Legacy certificates")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"integrity-menu-hospital-en-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/integrity?lang=zh_CN")

    # the professional prints her own legacy certificate
    chen = person("chenshihui")
    chen.page.goto("/certificates")
    chen.page.get_by_role("link", name="历史证书查询/打印").click()
    expect(chen.page.locator("tbody")).to_contain_text("GD2016000101")
    shoot(chen.page, "legacy-certificates-chenshihui")
