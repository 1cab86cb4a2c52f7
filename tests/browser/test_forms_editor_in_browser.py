"""The form editor in the browser (issue #17, point 6): the JSON Schema edited, the live preview follows as you
type and says what is wrong; a form used by an active process offers no deletion."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import shoot


def test_the_preview_follows_the_schema_as_you_type(person, live) -> None:
    page = person("hr_province").page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/processes/")
    page.get_by_role("link", name="表单", exact=True).click()
    expect(page.locator("table")).to_contain_text("review.schema.json")
    shoot(page, "forms-list")
    page.get_by_role("link", name="审核", exact=True).click()
    preview = page.locator("#form-preview")
    expect(preview).to_contain_text("审核结果")
    expect(page.get_by_role("button", name="删除表单")).to_be_disabled()
    schema = page.locator("#schema")
    text = schema.input_value()
    schema.fill(text.replace('"审核意见"', '"复核意见"', 1))
    expect(preview).to_contain_text("复核意见")
    schema.fill(text[:-10])
    expect(page.locator("#schema-check")).to_contain_text("不是有效的 JSON")
    expect(preview).to_contain_text("复核意见")  # the last good preview stays
    schema.fill(text)
    expect(page.locator("#schema-check")).to_have_text("JSON 有效")
    page.evaluate("() => window.onbeforeunload = null")
    shoot(page, "form-edit")


def test_a_new_form_is_saved_listed_and_deleted(person, live) -> None:
    """The administrator names a new form, saves it as offered, finds it in the list and deletes it again."""
    page = person("hr_province").page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/processes/forms/")
    page.locator("#new-name").fill("zz_browser_form")
    page.locator("#new-form").get_by_role("button").click()
    expect(page.locator("#form-preview")).to_contain_text("意见")
    page.locator("#schema").fill(page.locator("#schema").input_value().replace('"新表单"', '"浏览器表单"', 1))
    page.evaluate("() => window.onbeforeunload = null")
    page.get_by_role("button", name="检查并保存").click()
    expect(page.locator(".alert-success")).to_contain_text("表单已保存")
    shoot(page, "form-saved")
    page.goto("/admin/processes/forms/")
    expect(page.locator("table")).to_contain_text("浏览器表单")
    page.get_by_role("link", name="浏览器表单").click()
    page.evaluate("() => window.onbeforeunload = null")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="删除表单").click()
    expect(page.locator(".alert-success")).to_contain_text("表单已删除")
    expect(page.locator("table")).not_to_contain_text("浏览器表单")
