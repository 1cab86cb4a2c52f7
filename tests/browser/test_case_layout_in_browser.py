"""A reviewer reads a declaration with long fields (a professional-course plan: content, audience, classes) at
desktop width: every value stands beside its own label, in both languages; the diagram's steps are in the
page's language."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.training.demo import seed_catalogue, seed_course_plans
from app.workflow.models import ProcessInstance
from tests.browser.conftest import shoot

#: [label, top of the label, top of its value] of each field of the declaration
ROWS = """() => [...document.querySelectorAll('dl.declaration dt')].map(dt => {
  let dd = dt.nextElementSibling;
  while (dd && dd.getAttribute('aria-hidden') === 'true') { dd = dd.nextElementSibling; }
  const top = el => Math.round(el.getBoundingClientRect().top);
  return [dt.textContent.trim(), top(dt), top(dd)];
})"""


def test_long_fields_keep_their_labels_and_the_diagram_speaks_the_pages_language(person, live) -> None:
    with live.app.app_context():  # the demo's professional-course plans, as `flask seed-demo` makes them (once)
        seed_catalogue()
        seed_course_plans()
        db.session.commit()
        case = db.session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.process_key == "course_plan_approval", ProcessInstance.status == "running"))
        db.session.remove()
    page = person("health_admin").page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/applications/{case}")
    expect(page.locator("dl.declaration")).to_be_visible()
    expect(page.locator("nav[aria-label=breadcrumb]")).to_contain_text("待办任务")  # not the reviewer's own
    rows = page.evaluate(ROWS)
    assert any(label == "培训内容" for label, _t, _v in rows), rows
    assert all(abs(top - value) <= 2 for _label, top, value in rows), rows
    page.goto(page.url.split("?")[0] + "?lang=en")
    rows = page.evaluate(ROWS)
    assert any(label == "Content" for label, _t, _v in rows), rows
    assert all(abs(top - value) <= 2 for _label, top, value in rows), rows
    expect(page.locator("[data-element-id] text", has_text="Industry department review").first).to_be_visible()
    shoot(page, "case-long-fields")
