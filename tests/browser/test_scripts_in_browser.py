"""The pages' own scripts in a real browser: organisation picker, BPMN editor, language switch."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import IN_CI


def test_the_organisation_picker_finds_and_chooses_a_unit(person) -> None:
    page = person().page  # not signed in: the registration page
    page.goto("/register")
    search = page.locator("#f-unit_id-search")
    search.fill("市第一")
    option = page.locator("#f-unit_id-results [role=option]", has_text="市第一人民医院")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("市卫生健康委员会")  # the path shows where it sits in the tree
    option.click()
    expect(page.locator("#f-unit_id-chosen")).to_contain_text("市第一人民医院")
    assert page.locator("#f-unit_id").input_value().isdigit()  # the form posts the chosen id


def test_the_bpmn_editor_shows_the_diagram_and_saves_it_as_a_new_version(person, live) -> None:
    bundle = Path(live.app.static_folder) / "node_modules/bpmn-js/dist/bpmn-modeler.production.min.js"
    if not bundle.is_file():
        reason = "bpmn-js is not installed (scripts/install.sh installs it with npm)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    page = person("hr_province").page
    page.goto("/admin/processes/credit_hour_approval/edit")
    expect(page.locator("#canvas .djs-element", has_text="单位审核").first).to_be_visible()
    expect(page.locator("#canvas .djs-element", has_text="主管部门审核").first).to_be_visible()
    page.get_by_role("button", name="检查并启用").click()
    page.wait_for_url("**/admin/processes/credit_hour_approval")
    expect(page.locator(".alert-success")).to_contain_text("已启用第")


def test_the_pages_switch_to_english_and_back(person) -> None:
    page = person("wangliping").page
    page.goto("/declare")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#f-hours").fill("6")
    page.get_by_role("button", name="Pre-check credit hours").click()
    expect(page.locator("#precheck-out")).to_contain_text("Counts for 6 credit hours")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#f-course_name-error")).to_have_text("This field is required")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="提交")).to_be_visible()
