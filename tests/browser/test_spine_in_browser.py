"""The credit-hour chain in a real browser: declare, return, resubmit, batch-approve, approve, archive."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import shoot


def history(page: Page) -> list[list[str]]:
    """The history table (审批记录): [step, organisation, person, time, outcome, comment] per row."""
    heading = page.get_by_role("heading", name=re.compile("^(审批记录|审批流程)$"))
    rows = page.locator("section", has=heading).locator("tbody tr")
    return [[c.strip() for c in row.locator("td").all_inner_texts()] for row in rows.all()]


def open_task_of(page: Page, applicant: str, course: str) -> None:
    page.goto("/tasks")
    row = page.locator("tbody tr", has_text=applicant).filter(has_text=course)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").click()


def test_credit_hour_chain_through_the_pages(person) -> None:
    course = "浏览器测试：急诊医学新进展"
    chen = person("chenshihui")
    page = chen.page

    # --- declare: the server's field errors show under the fields, nothing is submitted
    page.goto("/declare")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#f-course_name-error")).to_have_text("此项为必填项")
    page.locator("#f-subject_type").select_option("professional")
    page.locator("#f-course_name").fill(course)
    page.locator("#f-learning_form").select_option("face_to_face")
    page.locator("#f-start_date").fill("2026-03-01")
    page.locator("#f-end_date").fill("2026-02-27")
    page.locator("#f-days").fill("3")
    page.locator("#f-hours").fill("12.25")
    page.locator("#f-assessment_result").select_option("pass")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#f-end_date-error")).to_have_text("学习结束时间不能早于学习开始时间")
    expect(page.locator("#f-hours-error")).to_have_text("拟申报学时最多保留1位小数")
    expect(page.locator("#f-course_name")).to_have_value(course)  # what was typed is kept
    page.locator("#f-end_date").fill("2026-03-03")
    page.locator("#f-hours").fill("18")
    page.get_by_role("button", name="预检学时").click()  # asks the archive what this would count for
    expect(page.locator("#precheck-out")).to_contain_text("可计入 18 学时")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("申报已提交，等待审核")).to_be_visible()
    expect(page.locator("#case-waiting")).to_contain_text("单位审核：市第一人民医院")
    # the live diagram is drawn, the start passed (green) and the unit's review waiting (amber)
    expect(page.locator("#case-diagram[data-drawn]")).to_be_attached()
    expect(page.locator("#case-diagram .case-done")).not_to_have_count(0)
    expect(page.locator("#case-diagram .case-now")).to_have_count(1)
    application_url = page.url
    shoot(page, "journey-1-application-submitted")

    # --- the unit returns it with a comment
    hospital = person("hospital_admin")
    open_task_of(hospital.page, "陈诗慧", course)
    expect(hospital.page.get_by_text(course).first).to_be_visible()
    shoot(hospital.page, "journey-2-unit-review-task")
    hospital.page.get_by_label("不同意并退案").check()
    hospital.page.locator("#f-comment").fill("请补充培训证明，学时按16学时申报")
    hospital.page.get_by_role("button", name="提交").click()
    expect(hospital.page.locator(".alert-success")).to_be_visible()

    # --- the applicant sees why, changes the hours and resubmits
    page.goto(application_url)
    expect(page.get_by_text("请补充培训证明，学时按16学时申报").first).to_be_visible()
    page.get_by_role("link", name="修改后重新提交或撤回").click()
    expect(page.locator("#f-hours")).to_have_value("18")
    page.locator("#f-hours").fill("16")
    page.get_by_label("修改后重新提交").check()
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".alert-success")).to_be_visible()

    # --- the unit approves it by batch review: select all (script), confirm dialog (accepted)
    hp = hospital.page
    hp.goto("/tasks")
    expect(hp.locator("tbody tr", has_text=course)).to_have_count(1)
    shoot(hp, "journey-3-inbox")
    hp.locator("#select-all").check()
    expect(hp.locator(".task-check").first).to_be_checked()
    assert hp.locator(".task-check:checked").count() == hp.locator(".task-check").count() >= 1
    hp.locator("#batch-submit").click()
    expect(hp.locator(".alert-success")).to_be_visible()
    expect(hp.locator("tbody tr", has_text=course)).to_have_count(0)

    # --- the supervisory department approves; the city bureau recognises the hours
    health = person("health_admin")
    open_task_of(health.page, "陈诗慧", course)
    health.page.get_by_label("同意", exact=True).check()
    health.page.get_by_role("button", name="提交").click()
    expect(health.page.locator(".alert-success")).to_be_visible()

    city = person("hr_city")
    open_task_of(city.page, "陈诗慧", course)
    expect(city.page.locator("#f-recognised_hours")).to_have_value("16")
    city.page.get_by_label("同意", exact=True).check()
    city.page.get_by_role("button", name="提交").click()
    expect(city.page.locator(".alert-success")).to_be_visible()

    # --- the applicant: approved, the whole history, the hours in the archive
    page.goto(application_url)
    expect(page.get_by_text("审核通过，学时已记入继续教育档案。")).to_be_visible()
    rows = history(page)
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("学时申报", "市第一人民医院", "提交申报"),
        ("单位审核", "市第一人民医院", "不同意并退案"),
        ("修改申报", "市第一人民医院", "修改后重新提交"),
        ("单位审核", "市第一人民医院", "同意"),
        ("主管部门审核", "市卫生健康委员会", "同意"),
        ("人社部门审核认定", "市人力资源和社会保障局", "同意"),
    ], "\n".join(map(repr, rows))
    assert rows[1][5] == "请补充培训证明，学时按16学时申报"
    shoot(page, "journey-4-approved-history-and-diagram")
    assert rows[2][5] == "拟申报学时：18 → 16"
    assert rows[5][5] == "认定学时：（空） → 16"
    assert [r[2] for r in rows] == ["陈诗慧", "市一医院管理员", "陈诗慧", "市一医院管理员", "市卫健委管理员",
                                    "市人社局管理员"]
    page.goto("/archive")
    expect(page.locator("tr", has_text=course)).to_contain_text(re.compile(r"16"))
    shoot(page, "journey-5-archive")
    page.goto("/certificates")
    expect(page.locator("#year-2026")).to_contain_text("未达标")  # this year is not over: not 不合格
    shoot(page, "journey-6-certificates")
