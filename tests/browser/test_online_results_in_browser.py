"""Issue 15 item 4 in Chromium: a unit administrator (hospital_admin) switches the import centre to 线上培训成果,
downloads its template, fills in a passed and a failed row for a member of staff, imports it, and the professional
(chenshihui) finds the hours in her archive with the online platform named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import delete, select

from tests.browser.conftest import shoot

PLATFORM = "国家专业技术人员继续教育平台"
COURSE = "浏览器线上课程"


def _cleanup(live) -> None:  # noqa: ANN001
    from app.archive.models import ONLINE_SOURCE, CreditRecord, OnlineResult
    from app.extensions import db

    with live.app.app_context():
        ids = list(db.session.scalars(select(OnlineResult.id).where(OnlineResult.course_name == COURSE)))
        db.session.execute(
            delete(CreditRecord).where(CreditRecord.source == ONLINE_SOURCE, CreditRecord.source_id.in_(ids))
        )
        db.session.execute(delete(OnlineResult).where(OnlineResult.id.in_(ids)))
        db.session.commit()
        db.session.remove()


def test_a_unit_imports_online_results_and_the_person_sees_the_platform(person, live, tmp_path: Path) -> None:
    admin = person("hospital_admin")
    page = admin.page
    page.goto("/imports?kind=personnel")
    page.get_by_role("link", name="线上培训成果").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("线上培训成果")
    with page.expect_download() as got:
        page.get_by_role("link", name="下载导入模板").click()
    template = tmp_path / "template.xlsx"
    got.value.save_as(template)
    wb = load_workbook(template)
    ws = wb.active
    day = date.today().replace(month=1, day=2)
    ws.append(["110101199003072711", "陈诗慧", PLATFORM, COURSE, "公需", 6, day.isoformat(), "合格"])
    ws.append(["110101199003072711", "陈诗慧", PLATFORM, COURSE + "二", "专业", 4, day.isoformat(), "不合格"])
    filled = tmp_path / "线上成绩.xlsx"
    wb.save(filled)
    try:
        page.locator("#i-file").set_input_files(str(filled))
        page.get_by_role("button", name="上传并导入").click()
        expect(page.get_by_text("已完成").first).to_be_visible(timeout=20000)
        row = page.locator("tbody tr").first
        expect(row.locator("td").nth(4)).to_have_text("1")
        expect(row.locator("td").nth(5)).to_have_text("1")
        shoot(page, "online-results-import")

        me = person("chenshihui")
        me.page.goto(f"/archive?year={day.year}")
        expect(me.page.get_by_text(f"学习平台：{PLATFORM}")).to_be_visible()
        shoot(me.page, "online-results-archive")
    finally:
        _cleanup(live)
