"""The public certificate check in the browser (no sign-in): a number the old system printed is recognised as
history data; with the holder's name as printed, the name (masked) and hours; a made-up number is not found."""

from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.legacy.cli import DEMO_FILE
from app.legacy.loader import load
from tests.browser.conftest import shoot


def test_anyone_checks_an_old_systems_certificate_number(person, live) -> None:
    with live.app.app_context():  # the old system's sample, as `flask seed-demo` loads it (once)
        load(DEMO_FILE)
        db.session.commit()
        db.session.remove()
    page = person().page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/certificates/verify")
    page.get_by_label("证书编号").fill("gd2017000101")
    page.get_by_role("button", name="查验").click()
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "legacy")
    expect(result).to_contain_text("请填写证书上的持证人姓名")
    expect(result).not_to_contain_text("陈*慧")  # the old numbers run in sequence: no name without the holder's
    page.get_by_label("持证人姓名").fill("陈诗慧")
    page.get_by_role("button", name="查验").click()
    expect(result).to_contain_text("历史证书")
    expect(result).to_contain_text("陈*慧")
    expect(result).not_to_contain_text("福州市第一医院")  # as for the platform's own: no employer on a public page
    shoot(page, "verify-legacy")
    page.get_by_label("证书编号").fill("GD2017999999")
    page.get_by_role("button", name="查验").click()
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "not_found")


def test_the_check_forms_fields_and_button_stand_in_one_line_and_english_reads_english(person) -> None:
    """At desktop width the number, the name and the button line up (the name's help line sits below the row,
    not under the name alone, which pushed the number field down); the English result has no Chinese colon."""
    page = person().page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/certificates/verify?lang=en")
    page.get_by_label("Certificate number").fill("JX2026-0000-0000")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "not_found")
    number, name = page.locator("#v-number").bounding_box(), page.locator("#v-name").bounding_box()
    button = page.get_by_role("button", name="Verify").bounding_box()
    assert number["y"] == name["y"] and abs((button["y"] + button["height"]) - (name["y"] + name["height"])) < 1
    help_line = page.locator("#v-name-help").bounding_box()
    assert help_line["y"] >= name["y"] + name["height"]
    form, result = page.locator("form[role=search]").bounding_box(), page.locator("#verify-result").bounding_box()
    assert (form["x"], form["width"]) == (result["x"], result["width"])  # the two cards are as wide
    assert "：" not in page.locator("#verify-result").inner_text()
