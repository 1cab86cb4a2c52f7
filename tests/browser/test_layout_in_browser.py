"""The navigation in a real browser: one line without a wrapped label from 1024 px up in Chinese and in
English, a collapsed menu at 375 px, and menus by role (a professional never sees reviewer menus)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.browser.conftest import shoot

#: For every visible navbar entry: its text, whether it wraps (taller than one line) and its box.
NAV_BOXES = """() => [...document.querySelectorAll(
    '.navbar-brand, #mainnav > ul > li > .nav-link, #mainnav > ul > li > a')]
  .filter(e => e.offsetParent !== null)
  .map(e => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.5;
    const inner = r.height - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
    return {text: e.innerText.trim(), wrapped: inner > line * 1.4, middle: r.top + r.height / 2,
            right: Math.round(r.right)};
  })"""

ROLES = ["chenshihui", "hospital_admin", "hr_province", "tech_admin"]


def nav_boxes(page: Page) -> list[dict]:
    return page.evaluate(NAV_BOXES)


@contextmanager
def busy(live, login: str, count: int) -> Iterator[None]:  # noqa: ANN001
    """The user as a busy reviewer: the navigation's open-task count held at ``count`` for a while (the
    server renders the badge from its per-process count, as it does for a real inbox)."""
    from app.cases import queries

    with live.app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.login == login))
    queries._BADGES[user_id] = (time.monotonic(), count)
    try:
        yield
    finally:
        queries.forget_badge(user_id)


@pytest.mark.parametrize("login", ROLES)
def test_the_navigation_fits_on_one_line_at_1024_px_in_both_languages(person, live, login) -> None:
    page = person(login).page
    page.set_viewport_size({"width": 1024, "height": 768})
    for lang in ("zh_CN", "en"):
        with busy(live, login, 12345):  # a backlog: the badge is at most "99+" wide, the whole count is read out
            page.goto(f"/tasks?lang={lang}")
        expect(page.locator("#nav-inbox-count")).to_contain_text("99+")
        expect(page.locator("#nav-inbox-count .visually-hidden")).to_contain_text("12345")
        boxes = nav_boxes(page)
        assert len(boxes) >= 4, boxes
        assert [b["text"] for b in boxes if b["wrapped"]] == [], (lang, boxes)
        middles = [b["middle"] for b in boxes]
        assert max(middles) - min(middles) < 8, (lang, boxes)  # one row: brand, menus and the user menu
        assert max(b["right"] for b in boxes) <= 1024, (lang, boxes)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    with busy(live, login, 12345):
        shoot(page, f"nav-{login}")


def test_at_375_px_the_menu_collapses_and_opens(person) -> None:
    page = person("hospital_admin").page
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/tasks?lang=en")
    menu = page.locator("#mainnav")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(menu).to_have_class(re.compile(r"(^| )show( |$)"))  # the opening animation is over
    expect(menu.get_by_role("link", name="Tasks")).to_be_visible()
    # the account menu holds the profile, the task centre and signing out
    menu.locator("#usermenu").click()
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu.get_by_role("button", name="Sign out")).to_be_hidden()
    menu.get_by_role("button", name="Review & admin").click()
    expect(menu.get_by_role("link", name="Organisation")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto("/tasks?lang=zh_CN")


def test_a_professional_sees_no_reviewer_or_administration_menu(person) -> None:
    page = person("chenshihui").page
    page.goto("/tasks")
    nav = page.locator("nav.navbar")
    expect(nav.get_by_text("已审核")).to_have_count(0)
    expect(nav.get_by_text("审核与管理")).to_have_count(0)
    expect(nav.get_by_text("机构管理")).to_have_count(0)
    nav.get_by_role("button", name="学时与档案").click()
    expect(nav.get_by_role("link", name="培训档案")).to_be_visible()
    # a unit's administrator reviews: 已审核 sits in the 审核与管理 menu
    admin = person("hospital_admin").page
    admin.goto("/tasks")
    admin.locator("nav.navbar").get_by_role("button", name="审核与管理").click()
    admin.locator("nav.navbar").get_by_role("link", name="已审核").click()
    expect(admin).to_have_url(re.compile(r"/reviewed$"))


def test_the_sign_in_captcha_renews_without_losing_the_form(person) -> None:
    page = person().page
    page.goto("/login")
    shoot(page, "login")
    page.locator("#login").fill("chenshihui")
    image = page.locator("#captcha-image")
    first = image.get_attribute("src")
    page.get_by_role("button", name="换一张").click()
    expect(image).not_to_have_attribute("src", first)
    expect(page.locator("#login")).to_have_value("chenshihui")  # no reload
    page.get_by_role("link", name="无法查看图片？改用文字验证问题").click()
    expect(page.locator("#captcha-question")).to_have_text(re.compile(r"^\d 加 \d 等于几？$"))
