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
