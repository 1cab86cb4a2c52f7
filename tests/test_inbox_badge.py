"""The count of open tasks beside 待办任务 in the navigation: on every page, refreshed at once after the user's own
decision, and within INBOX_BADGE_SECONDS for tasks that arrive meanwhile."""

from __future__ import annotations

import re

from app.extensions import db
from app.workflow import services as workflow
from tests.conftest import actor
from tests.webutil import browser


def badge(page: str) -> int | None:
    m = re.search(r'id="nav-inbox-count">(\d+)<', page)
    return int(m.group(1)) if m else None


def badge_text(page: str) -> str | None:
    """What the badge shows, and what a screen reader reads out with it."""
    m = re.search(r'id="nav-inbox-count">([^<]*)<span class="visually-hidden">([^<]*)</span>', page)
    return f"{m.group(1)}|{m.group(2).strip()}" if m else None


def declare(declaration: dict, n: int) -> list:
    out = [workflow.start_process("credit_hour_approval", {**declaration, "course_name": f"课程{i}"},
                                  actor=actor("chenshihui")) for i in range(n)]
    db.session.commit()
    return out


def test_the_navigation_counts_the_open_tasks_of_the_signed_in_user(app, declaration):
    unit = browser(app, "hospital_admin")
    assert badge(unit.client.get("/changes").get_data(as_text=True)) is None  # nothing to do: no badge
    first, *_rest = declare(declaration, 3)
    page = unit.client.get("/changes").get_data(as_text=True)
    assert badge(page) is None  # counted a moment ago: the count may be up to INBOX_BADGE_SECONDS old
    from app.cases.queries import forget_badges

    forget_badges()  # as when the period has passed
    assert badge(unit.client.get("/changes").get_data(as_text=True)) == 3
    [task] = workflow.open_tasks(first)
    r = unit.post_form(f"/tasks/{task.id}", {"outcome": "approve", "comment": ""})
    assert r.status_code == 302
    assert badge(unit.client.get("/tasks").get_data(as_text=True)) == 2  # the user's own decision: at once
    assert badge(browser(app, "chenshihui").client.get("/changes").get_data(as_text=True)) is None
    app.config["INBOX_BADGE_SECONDS"] = 0
    try:
        assert badge(unit.client.get("/changes").get_data(as_text=True)) is None  # turned off
    finally:
        app.config["INBOX_BADGE_SECONDS"] = 30



def test_a_backlog_of_a_hundred_tasks_or_more_shows_99_plus_and_reads_out_the_whole_count(app, declaration):
    """A reviewer with a backlog sees 99+ (the menu keeps to one line), with the whole count for screen readers
    and on hover; 99 open tasks still show as 99."""
    from app.cases.queries import forget_badges

    unit = browser(app, "hospital_admin")
    declare(declaration, 99)
    forget_badges()
    assert badge_text(unit.client.get("/changes").get_data(as_text=True)) == "99|项待办"
    declare(declaration, 1)
    forget_badges()
    page = unit.client.get("/changes").get_data(as_text=True)
    assert badge_text(page) == "99+|(100) 项待办"
    assert 'title="100 项待办"' in page
