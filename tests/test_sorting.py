"""Every list sorts (issue 21 §6): ``?sort=column`` / ``?sort=-column`` over whitelisted columns only, through one
helper (app.core.sorting) and one header macro; unknown columns fall back to the list's default order."""

from __future__ import annotations

import re

import pytest

from app.cases import queries as cases
from app.core.sorting import Sort, flipped, order_clauses, parse_sort, sort_args
from app.extensions import db
from app.workflow import services
from app.workflow.models import WorkflowTask
from tests.conftest import actor
from tests.test_services_credit_chain import act
from tests.webutil import browser


def test_parse_sort_takes_only_whitelisted_columns():
    columns = {"name": WorkflowTask.applicant_name, "arrived": WorkflowTask.created_at}
    assert parse_sort("name", columns, "arrived") == Sort("name", False)
    assert parse_sort("-name", columns, "arrived") == Sort("name", True)
    for hostile in ("id", "-password_hash", "name;drop table person", "--name", "", None, "applicant_name"):
        assert parse_sort(hostile, columns, "-arrived") == Sort("arrived", True, default=True)
    assert sort_args(parse_sort(None, columns, "arrived")) == {}
    assert sort_args(Sort("name", True)) == {"sort": "-name"}
    assert Sort("name").next_param("name") == "-name" and Sort("name", True).next_param("name") == "name"
    assert Sort("name").next_param("arrived") == "arrived"
    assert (Sort("name").aria("name"), Sort("name", True).aria("name"), Sort("name").aria("arrived")) == (
        "ascending", "descending", "none")
    assert flipped(Sort("name")) == Sort("name", True)
    clauses = order_clauses(Sort("name", True), columns, [WorkflowTask.id])
    assert [str(c) for c in clauses] == ["workflow_task.applicant_name DESC", "workflow_task.id DESC"]


@pytest.fixture
def three_waiting(declaration):
    """Declarations of 陈诗慧 (twice: 2026 and 2025) and 刘文斌 waiting at the hospital."""
    for login, year in (("chenshihui", 2026), ("liuwenbin", 2026), ("chenshihui", 2025)):
        dates = {"start_date": f"{year}-03-01", "end_date": f"{year}-03-03"}
        services.start_process("credit_hour_approval", {**declaration, "year": year, **dates}, actor=actor(login))
        db.session.commit()


def _names(html: str) -> list[str]:
    return [n for n in re.findall(r"<td class=\"nowrap\">([^<]+)</td>", html) if n in ("陈诗慧", "刘文斌")]


def test_inbox_sorts_by_applicant_year_and_arrival(app, three_waiting):
    admin = actor("hospital_admin")
    by_name = [t.applicant_name for t in cases.inbox(admin, sort=Sort("applicant")).items]
    assert by_name == sorted(by_name) and set(by_name) >= {"陈诗慧", "刘文斌"}
    back = [t.applicant_name for t in cases.inbox(admin, sort=Sort("applicant", True)).items]
    assert back == sorted(back, reverse=True)
    years = [t.year for t in cases.inbox(admin, sort=Sort("year")).items]
    assert years == sorted(years)
    # deep pages read from the far end keep the same order as reading forwards
    forwards = [t.id for p in (1, 2, 3) for t in cases.inbox(admin, sort=Sort("applicant"), page=p, per_page=1).items]
    assert forwards == [t.id for t in cases.inbox(admin, sort=Sort("applicant")).items][:3]

    web = browser(app, "hospital_admin")
    html = web.client.get("/tasks?sort=-applicant").get_data(as_text=True)
    assert _names(html) == sorted(_names(html), reverse=True) and len(_names(html)) == 3
    assert 'aria-sort="descending"' in html and "sort=applicant" in html  # the header sorts back ascending
    assert '<input type="hidden" name="sort" value="-applicant">' in html  # filtering keeps the order
    html = web.client.get("/tasks?sort=password_hash").get_data(as_text=True)
    assert web.client.get("/tasks?sort=password_hash").status_code == 200 and "sort=-arrived" in html


def test_my_applications_and_reviewed_sort(app, three_waiting):
    chen = actor("chenshihui")
    years = [i.year for i in cases.my_applications(chen, sort=Sort("year")).items]
    assert years == sorted(years) and 2025 in years
    html = browser(app, "chenshihui").client.get("/applications?sort=-year").get_data(as_text=True)
    assert 'aria-sort="descending"' in html and html.index("2026") < html.index("2025")

    for task in list(cases.inbox(actor("hospital_admin")).items):
        inst = task.instance
        act(inst, "hospital_admin", {"outcome": "approve" if inst.applicant_name == "刘文斌" else "return",
                                     "comment": "意见"})
    web = browser(app, "hospital_admin")
    html = web.client.get("/tasks/reviewed?sort=applicant").get_data(as_text=True)
    assert web.client.get("/tasks/reviewed?sort=applicant").status_code == 200
    assert html.index("刘文斌") < html.index("陈诗慧")  # 刘 (liu) before 陈 (chen) in code point order
    html = web.client.get("/tasks/reviewed?sort=-applicant").get_data(as_text=True)
    assert html.index("陈诗慧") < html.index("刘文斌")


def test_people_archive_and_catalogues_sort(app):
    web = browser(app, "hospital_admin")
    for url in ("/people", "/archive/search?year=2026"):
        up = web.client.get(f"{url}{'&' if '?' in url else '?'}sort=name").get_data(as_text=True)
        down = web.client.get(f"{url}{'&' if '?' in url else '?'}sort=-name").get_data(as_text=True)
        assert up.index("刘文斌") < up.index("陈诗慧"), url
        assert down.index("陈诗慧") < down.index("刘文斌"), url
        assert 'aria-sort="ascending"' in up and 'aria-sort="descending"' in down
    inst = browser(app, "institute_admin")
    for name in ("B 课程", "A 课程"):
        inst.post_form("/training/courses", {"name": name, "subject_type": "professional", "hours": "6"})
    page = inst.client.get("/training/courses?sort=name").get_data(as_text=True)
    assert page.index("A 课程") < page.index("B 课程")
    page = inst.client.get("/training/courses?sort=-name").get_data(as_text=True)
    assert page.index("B 课程") < page.index("A 课程")
    page = inst.client.get("/training/courses").get_data(as_text=True)  # default: the order they were added
    assert page.index("B 课程") < page.index("A 课程")
