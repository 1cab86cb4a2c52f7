"""Keyboard only (issue 21 §7): a professional fills and submits the declaration form with Tab, typing and the
arrow keys; a reviewer tabs through the inbox to the task, opens it with Enter, chooses an outcome with the arrow
keys, writes the comment and submits with Enter. axe-core finds no serious violation on those pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import serious_violations

COURSE = "键盘测试：急诊医学新进展"


def focused(page: Page) -> str:
    """The focused element, as ``tag#id`` (or ``tag:text`` for a link without an id)."""
    return page.evaluate("""() => { const e = document.activeElement;
        return e.tagName.toLowerCase() + (e.id ? '#' + e.id : ':' + (e.textContent || '').trim()); }""")


def tab_to(page: Page, want: str, limit: int = 120) -> list[str]:
    """Press Tab until the element ``want`` (a ``focused`` description, or its start) has the focus; the focus
    order on the way. Fails when it never comes (unreachable by keyboard, or a focus trap)."""
    order = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        order.append(now)
        if now == want or now.startswith(want) or now.endswith(want):
            return order
    raise AssertionError(f"{want} never took the focus; the focus went through {order}")


def type_date(page: Page, field: str, year: str, month: str, day: str) -> None:
    """Type a date into the focused date field in the order of the browser's own locale (Chromium's, not the
    page's: mm/dd/yyyy on an English system), trying the other usual orders when the value does not come out."""
    for digits in (month + day + year, year + month + day, day + month + year):
        page.keyboard.type(digits)
        if page.locator(field).input_value() == f"{year}-{month}-{day}":
            return
        page.locator(field).fill("")
        page.locator(field).focus()
    raise AssertionError(f"could not type a date into {field}")


def choose(page: Page, field: str, value: str, limit: int = 12) -> None:
    """Pick ``value`` in the focused select with the arrow keys."""
    for _ in range(limit):
        if page.locator(field).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} not reached in {field}")


def test_declaration_form_and_review_by_keyboard(person) -> None:
    page = person("chenshihui").page
    page.goto("/declare")
    assert serious_violations(page) == []
    tab_to(page, "select#f-subject_type")
    choose(page, "#f-subject_type", "professional")
    tab_to(page, "input#f-course_name")
    page.keyboard.type(COURSE)
    tab_to(page, "select#f-learning_form")
    choose(page, "#f-learning_form", "face_to_face")
    for field, day in (("#f-start_date", "01"), ("#f-end_date", "03")):
        tab_to(page, f"input{field}")
        type_date(page, field, "2026", "03", day)
    for field, value in (("#f-days", "3"), ("#f-hours", "18")):
        tab_to(page, f"input{field}")
        page.keyboard.type(value)
    for field in ("#f-institution_name", "#f-location"):
        if page.locator(field).count():
            tab_to(page, f"input{field}")
            page.keyboard.type("市继续教育学院" if "institution" in field else "福州")
    tab_to(page, "select#f-assessment_result")
    choose(page, "#f-assessment_result", "pass")
    tab_to(page, "button:提交")
    page.keyboard.press("Enter")
    expect(page.get_by_text("申报已提交，等待审核")).to_be_visible()

    # --- the reviewer: Tab through the inbox to the task's 办理 link, Enter, arrow keys to an outcome, Enter
    hp = person("hospital_admin").page
    hp.goto("/tasks?q=陈诗慧")
    assert serious_violations(hp) == []
    row = hp.locator("tbody tr", has_text=COURSE)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="办理").evaluate("e => e.id = 'kbd-target'")
    tab_to(hp, "a#kbd-target")
    hp.keyboard.press("Enter")
    expect(hp.get_by_text(COURSE).first).to_be_visible()
    assert serious_violations(hp) == []
    tab_to(hp, "input#f-outcome-1")  # the first outcome (同意); the arrow keys move within the group
    for _ in range(3):
        if hp.get_by_label("不同意并结案").is_checked():
            break
        hp.keyboard.press("ArrowDown")
    expect(hp.get_by_label("不同意并结案")).to_be_checked()
    tab_to(hp, "#f-comment")
    hp.keyboard.type("键盘测试：不符合申报条件")
    tab_to(hp, "button:提交")
    hp.keyboard.press("Enter")
    expect(hp.locator(".alert-success")).to_be_visible()
    expect(hp.locator("tbody tr", has_text=COURSE)).to_have_count(0)
