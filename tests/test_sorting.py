"""Every list sorts (issue 21 §6): ``?sort=column`` / ``?sort=-column`` over whitelisted columns only, through one
helper (app.core.sorting) and one header macro; unknown columns fall back to the list's default order."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.cases import queries as cases
from app.classes import queries as classes_queries
from app.classes import services as classes
from app.core.sorting import Sort, flipped, order_clauses, parse_sort, sort_args
from app.extensions import db
from app.integrity import services as integrity
from app.legacy import services as legacy
from app.legacy.cli import DEMO_FILE
from app.legacy.loader import load
from app.training import catalogue as training_catalogue
from app.training import course_plans
from app.training import plans as training_plans
from app.training import reports as training_reports
from app.training.demo import seed_catalogue, seed_plans
from app.workflow import services
from app.workflow.models import WorkflowTask
from tests.conftest import actor, api_token
from tests.test_classes import org, values
from tests.test_course_plans import make_catalogue as make_course_catalogue
from tests.test_course_plans import plan_values as course_plan_values
from tests.test_legacy import THREE
from tests.test_services_credit_chain import act
from tests.test_transfers import TECH, oid
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


def _order(html: str, *names: str) -> list[str]:
    """``names`` in the order the page shows them (each must be on it)."""
    return sorted(names, key=html.index)


def _sorts(web, url: str, column: str, first: str, last: str, default: tuple[str, str] | None = None,
           form: bool = True) -> None:
    """``url?sort=column`` shows ``first`` before ``last``, ``-column`` the other way round; an unknown column
    answers the default order (``default``, when given), never an error. ``form``: the page has a filter form
    (which must keep the order)."""
    sep = "&" if "?" in url else "?"
    up = web.client.get(f"{url}{sep}sort={column}")
    down = web.client.get(f"{url}{sep}sort=-{column}")
    assert up.status_code == down.status_code == 200, url
    up, down = up.get_data(as_text=True), down.get_data(as_text=True)
    assert _order(up, first, last) == [first, last], (url, column)
    assert _order(down, first, last) == [last, first], (url, column)
    assert 'aria-sort="ascending"' in up and 'aria-sort="descending"' in down, url
    if form:  # filtering keeps the order
        assert '<input type="hidden" name="sort" value="-' + column + '">' in down, url
    for hostile in ("password_hash", "-id", "name;drop", "--" + column):
        r = web.client.get(f"{url}{sep}sort={hostile}")
        assert r.status_code == 200, (url, hostile)
        if default:
            assert _order(r.get_data(as_text=True), *default) == list(default), (url, hostile)


def test_transfers_sort(client):
    web = browser(client.application, "hospital_admin")
    headers = api_token(client, "hospital_admin")
    for id_number in ("110101199003072711", "321101198110166954"):  # 陈诗慧, then 刘文斌
        r = client.post(
            "/api/v1/transfers",
            headers=headers,
            json={"person_id_number": id_number, "to_unit_id": oid(TECH), "reason": "工作调动"},
        )
        assert r.status_code == 201, r.get_json()
    for box in ("out", "records"):
        url = f"/transfers?box={box}"
        # the default: the newest first
        assert _order(web.client.get(url).get_data(as_text=True), "陈诗慧", "刘文斌") == ["刘文斌", "陈诗慧"]
        _sorts(web, url, "name", "刘文斌", "陈诗慧", default=("刘文斌", "陈诗慧"))
        _sorts(web, url, "started", "陈诗慧", "刘文斌")
        for column in ("id_number", "from_unit", "to_unit", "status"):
            assert web.client.get(f"{url}&sort=-{column}").status_code == 200
    target = browser(client.application, "tech_admin")
    _sorts(target, "/transfers?box=in", "name", "刘文斌", "陈诗慧")


def test_integrity_entries_sort(app):
    hospital = actor("hospital_admin")
    integrity.record(hospital, {"subject_type": "person", "person_id_number": "110101199003072711", "content": "甲"})
    integrity.record(hospital, {"subject_type": "person", "person_id_number": "321101198110166954", "content": "乙"})
    db.session.commit()
    names = [e.subject_name for e in integrity.search(hospital, sort=Sort("name")).items]
    assert names == ["刘文斌", "陈诗慧"]
    assert [e.subject_name for e in integrity.search(hospital).items] == ["刘文斌", "陈诗慧"]  # newest first
    web = browser(app, "hospital_admin")
    _sorts(web, "/integrity", "recorded", "陈诗慧", "刘文斌", default=("刘文斌", "陈诗慧"))
    _sorts(web, "/integrity?status=active", "name", "刘文斌", "陈诗慧")
    for column in ("type", "status"):
        assert web.client.get(f"/integrity?sort={column}").status_code == 200


def test_training_classes_sort(app):
    seed_catalogue()
    seed_plans()
    db.session.commit()
    me = actor("institute_admin")
    for name in ("B 培训班", "A 培训班", "C 培训班"):
        classes.create(me, None, values(name=name))
    db.session.commit()
    by_name = [r.name for r in classes_queries.classes(org().id, sort=Sort("name", True)).items]
    assert by_name == ["C 培训班", "B 培训班", "A 培训班"]
    web = browser(app, "institute_admin")
    page = web.client.get("/classes/").get_data(as_text=True)
    assert _order(page, "A 培训班", "B 培训班", "C 培训班") == ["C 培训班", "A 培训班", "B 培训班"]  # newest first
    _sorts(web, "/classes/", "name", "A 培训班", "C 培训班", default=("C 培训班", "B 培训班"))
    _sorts(web, "/classes/?q=培训班", "name", "B 培训班", "C 培训班")
    for column in ("year", "subject_type", "hours"):  # hours is a sum over courses: not sortable, the default
        assert web.client.get(f"/classes/?sort=-{column}").status_code == 200
    # paging keeps the order: one class a page, sorted by name
    second = web.client.get("/classes/?sort=name&per_page=1&page=2").get_data(as_text=True)
    assert "B 培训班" in second and "A 培训班" not in second and "C 培训班" not in second


def test_legacy_records_and_certificates_sort(app):
    load(DEMO_FILE)
    legacy.claim(actor("hospital_admin"), None, "people", {"people": THREE})
    db.session.commit()
    web = browser(app, "hospital_admin")
    _sorts(web, "/legacy/records", "name", "刘文斌", "陈诗慧")
    _sorts(web, "/legacy/records?year=2017", "name", "刘文斌", "陈诗慧")
    for column in ("id_number", "year", "subject_type", "course", "hours"):
        assert web.client.get(f"/legacy/records?sort={column}").status_code == 200
    rows, _total = legacy.records(actor("hospital_admin"), sort=Sort("year"))
    assert [r.record.year for r in rows] == sorted(r.record.year for r in rows)
    default, _total = legacy.records(actor("hospital_admin"))
    assert [r.record.year for r in default] == sorted((r.record.year for r in default), reverse=True)

    _sorts(web, "/legacy/certificates", "name", "刘文斌", "陈诗慧", default=("刘文斌", "陈诗慧"))
    for column in ("number", "id_number", "year", "unit"):
        assert web.client.get(f"/legacy/certificates?sort=-{column}").status_code == 200
    certs, _total = legacy.certificates(actor("hospital_admin"), sort=Sort("number", True))
    assert [c.number for c in certs] == sorted((c.number for c in certs), reverse=True) and len(certs) > 1


def test_training_plans_reports_and_course_plans_sort(app):
    me = actor("institute_admin")
    course = training_catalogue.add_course(me, None, {"name": "质量管理", "subject_type": "public", "hours": 6})
    for year, name in ((2026, "B 计划"), (2025, "A 计划")):
        training_plans.create(me, None, {"year": year, "name": name, "subject_type": "public",
                                         "courses": [{"course_id": course.id, "teacher_id": None}]})
    for year, name in ((2025, "Z 报告"), (2024, "Y 报告")):
        training_reports.create(me, None, {"year": year, "name": name})
    db.session.commit()
    web = browser(app, "institute_admin")
    assert _order(web.client.get("/training/plans").get_data(as_text=True), "A 计划", "B 计划") == ["B 计划", "A 计划"]
    _sorts(web, "/training/plans", "name", "A 计划", "B 计划", default=("B 计划", "A 计划"), form=False)
    _sorts(web, "/training/reports", "name", "Y 报告", "Z 报告", default=("Z 报告", "Y 报告"), form=False)
    _sorts(web, "/training/reports", "year", "Y 报告", "Z 报告", form=False)
    for kind, column in (("plans", "subject_type"), ("plans", "submitted"), ("reports", "submitted")):
        assert web.client.get(f"/training/{kind}?sort=-{column}").status_code == 200

    rows = make_course_catalogue("hospital_admin")
    hospital = actor("hospital_admin")
    for name, start in (("A 专业课计划", date(2026, 3, 1)), ("B 专业课计划", date(2026, 4, 1))):
        course_plans.create(hospital, None, course_plan_values(rows, name=name, start_date=start))
    db.session.commit()
    web = browser(app, "hospital_admin")
    page = web.client.get("/training/course-plans").get_data(as_text=True)
    assert _order(page, "A 专业课计划", "B 专业课计划") == ["B 专业课计划", "A 专业课计划"]  # the latest start first
    _sorts(web, "/training/course-plans", "name", "A 专业课计划", "B 专业课计划",
           default=("B 专业课计划", "A 专业课计划"), form=False)
    _sorts(web, "/training/course-plans?year=2026", "start", "A 专业课计划", "B 专业课计划", form=False)
    for column in ("course", "end", "sessions"):
        assert web.client.get(f"/training/course-plans?sort=-{column}").status_code == 200
