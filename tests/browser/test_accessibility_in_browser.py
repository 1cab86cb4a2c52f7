"""axe-core finds no serious or critical WCAG 2 A/AA violation on the journeys' pages, as each role sees them,
in Chinese and in English."""

from __future__ import annotations

import pytest

from tests.browser.conftest import serious_violations

PAGES = {
    None: ["/login", "/login?captcha=text", "/register"],
    "chenshihui": ["/tasks", "/declare", "/applications", "/credit-records", "/archive", "/certificates",
                   "/changes", "/profile", "/jobs"],
    "hospital_admin": ["/tasks", "/tasks/reviewed", "/archive/search", "/org/", "/audit"],
    "hr_province": ["/admin/processes/", "/admin/processes/credit_hour_approval", "/admin/processes/forms/",
                    "/admin/processes/forms/review", "/admin/processes/rules/annual_verification",
                    "/admin/processes/credit_hour_approval/edit"],
}


@pytest.mark.parametrize("login", list(PAGES), ids=lambda v: v or "anonymous")
def test_no_serious_accessibility_violation(person, login) -> None:
    page = person(login).page
    found = {}
    for lang in ("zh_CN", "en"):
        for url in PAGES[login]:
            page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
            if violations := serious_violations(page):
                found[f"{url} {lang}"] = violations
    page.goto("/login?lang=zh_CN" if login is None else "/tasks?lang=zh_CN")
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())
