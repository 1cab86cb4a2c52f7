"""The declaration form in a real browser: choosing 学习形式 shows the fields that form of learning needs."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import shoot


def test_choosing_the_form_of_learning_shows_its_fields(person) -> None:
    page = person("liuwenbin").page
    page.goto("/declare")
    shoot(page, "declare")
    conference, platform, institution = (page.locator(f"#f-{n}") for n in ("conference_name", "platform",
                                                                          "institution_name"))
    for field in (conference, platform, institution):  # nothing chosen yet: none of them
        expect(field).to_be_hidden()
    page.locator("#f-learning_form").select_option("online")
    expect(platform).to_be_visible()
    expect(conference).to_be_hidden()
    expect(page.locator("#f-days")).to_be_hidden()
    page.locator("#f-learning_form").select_option("conference")
    expect(conference).to_be_visible()
    expect(page.locator("#f-organiser")).to_be_visible()
    expect(platform).to_be_hidden()
    page.locator("#f-subject_type").select_option("professional")
    page.locator("#f-course_name").fill("浏览器测试：全国急诊医学学术年会")
    page.locator("#f-start_date").fill("2026-05-10")
    page.locator("#f-end_date").fill("2026-05-11")
    page.locator("#f-days").fill("2")
    page.locator("#f-hours").fill("12")
    page.locator("#f-assessment_result").select_option("pass")
    page.get_by_role("button", name="提交").click()
    # the server asks for what the conference needs, under its fields, and they stay shown
    expect(page.locator("#f-conference_name-error")).to_have_text("此项为必填项")
    expect(page.locator("#f-organiser-error")).to_have_text("此项为必填项")
    expect(page.locator("#f-paper_title-error")).to_have_count(0)
    page.locator("#f-conference_name").fill("全国急诊医学学术年会")
    page.locator("#f-organiser").fill("中华医学会急诊医学分会")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("申报已提交，等待审核")).to_be_visible()
    expect(page.get_by_text("全国急诊医学学术年会").first).to_be_visible()
    # he changes his mind: withdrawn, it leaves nothing under review (the transfer test moves him later)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="撤回此申报").click()
    expect(page.get_by_text("已撤回，不再审核。")).to_be_visible()


def test_a_unit_picks_the_person_by_name(person) -> None:
    page = person("hospital_admin").page
    page.goto("/declare")
    field = page.locator("#f-person_id_number")
    with page.expect_response(lambda r: "/declare/people?q=" in r.url):
        field.press_sequentially("刘")
    options = page.locator("#f-person_id_number-options option")
    expect(options).to_have_count(1)
    assert (options.get_attribute("value"), options.get_attribute("label")) == ("321101198110166954",
                                                                                "刘文斌 · 市第一人民医院")
    field.fill("321101198110166954")  # what choosing the suggestion puts in the field
    shoot(page, "declare-for-staff", langs=("zh_CN",))
