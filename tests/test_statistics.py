"""继教综合统计, 审核时效 and the workbench: every figure against a hand-counted fixture, for a unit, a supervisory
department, a city bureau and the province, with nothing outside the actor's scope counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.accounts.models import Membership, Organisation, OrgKind, Role, User
from app.archive.models import AnnualVerification, CreditDeclaration, CreditRecord
from app.core.errors import NotFound
from app.extensions import db
from app.people.models import Person
from app.statistics import queries
from app.statistics.excel import safe_cell
from app.workflow.models import ApprovalEvent, ProcessInstance, ProcessVersion, WorkflowTask
from tests.conftest import actor, api_token
from tests.webutil import browser, text


def _org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def _person(name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == name))


def _add_org(name: str, kind: OrgKind, parent: Organisation, region: str) -> Organisation:
    org = Organisation(name=name, kind=kind, parent_id=parent.id, region=region)
    db.session.add(org)
    db.session.flush()
    org.path = f"{parent.path}{org.id}/"
    return org


def _verified(person: Person, year: int, ok: bool, public: int = 0, professional: int = 0, elective: int = 0) -> None:
    db.session.add(AnnualVerification(person_id=person.id, year=year, verified=ok, public_hours=Decimal(public),
                                      professional_hours=Decimal(professional), elective_hours=Decimal(elective),
                                      total_hours=Decimal(public + professional + elective), missing=[],
                                      rule_hash="x"))


def _record(person: Person, year: int, subject: str, form: str, hours: int, n: int) -> None:
    db.session.add(CreditRecord(person_id=person.id, year=year, subject_type=subject, course_name="课程",
                                learning_form=form, declared_hours=Decimal(hours), recognised_hours=Decimal(hours),
                                source="class", source_id=9000 + n))


@pytest.fixture
def figures():
    """Hospital: 陈诗慧 (卫生 中级, 2026 达标 30+60, 2025 达标), 刘文斌 (卫生 副高级, 2026 未达标 24), 张三 (卫生 初级,
    nothing). Tech company (under the district): 王立平 (工程 中级, 2026 达标 20+60+10). Outside the city, under
    the province: 外市人社局 → 外市公司 → 赵六 (工程 中级, 2026 达标 30+60)."""
    hospital, province = _org("市第一人民医院"), _org("省人力资源和社会保障厅")
    other_city = _add_org("外市人社局", OrgKind.HR_BUREAU, province, "福建省-厦门市")
    other_unit = _add_org("外市公司", OrgKind.EMPLOYER_UNIT, other_city, "福建省-厦门市")
    zhang = Person(name="张三", id_number="11010119900101001X", unit_id=hospital.id, title_series="卫生系列",
                   title_level="初级")
    zhao = Person(name="赵六", id_number="110101199001010021", unit_id=other_unit.id, title_series="工程系列",
                  title_level="中级")
    db.session.add_all([zhang, zhao])
    db.session.flush()
    chen, liu, wang = _person("陈诗慧"), _person("刘文斌"), _person("王立平")
    _verified(chen, 2026, True, 30, 60)
    _verified(chen, 2025, True, 30, 60)
    _verified(liu, 2026, False, 0, 24)
    _verified(wang, 2026, True, 20, 60, 10)
    _verified(zhao, 2026, True, 30, 60)
    _record(chen, 2026, "public", "online", 30, 1)
    _record(chen, 2026, "professional", "face_to_face", 60, 2)
    _record(liu, 2026, "professional", "conference", 24, 3)
    _record(wang, 2026, "professional", "online", 90, 4)
    _record(zhao, 2026, "professional", "online", 90, 5)
    db.session.commit()
    return {"other_city": other_city, "other_unit": other_unit}


def test_unit_department_bureau_and_province_figures(any_app, figures):
    hospital = _org("市第一人民医院")
    unit = queries.comprehensive(actor("hospital_admin"), 2026)
    assert (unit["people"], unit["completed"], unit["completion_rate"]) == (3, 1, 33.3)
    assert unit["hours"] == {"public": 30.0, "professional": 84.0, "elective": 0.0, "total": 114.0}
    assert [(r["organisation"], r["people"], r["completed"]) for r in unit["by_organisation"]] == [
        ("市第一人民医院", 3, 1)]
    assert [(r["learning_form"], r["records"], r["hours"]) for r in unit["by_learning_form"]] == [
        ("conference", 1, 24.0), ("face_to_face", 1, 60.0), ("online", 1, 30.0)]
    assert [(r["title_series"], r["title_level"], r["people"], r["completed"]) for r in unit["titles"]] == [
        ("卫生系列", "中级", 1, 1), ("卫生系列", "初级", 1, 0), ("卫生系列", "副高级", 1, 0)]
    assert [(r["year"], r["completed"]) for r in unit["by_year"]] == [
        (2022, 0), (2023, 0), (2024, 0), (2025, 1), (2026, 1)]

    dept = queries.comprehensive(actor("health_admin"), 2026)
    assert (dept["people"], dept["completed"], dept["hours"]["total"]) == (3, 1, 114.0)
    assert [(r["organisation_id"], r["people"], r["completed"]) for r in dept["by_organisation"]] == [
        (hospital.id, 3, 1)]

    city = queries.comprehensive(actor("hr_city"), 2026)
    assert (city["people"], city["completed"], city["completion_rate"]) == (4, 2, 50.0)
    assert city["hours"] == {"public": 50.0, "professional": 144.0, "elective": 10.0, "total": 204.0}
    assert [(r["organisation"], r["people"], r["completed"], r["hours"]) for r in city["by_organisation"]] == [
        ("区人力资源和社会保障局", 1, 1, 90.0), ("市卫生健康委员会", 3, 1, 114.0)]
    assert [(r["region"], r["people"], r["completed"]) for r in city["by_region"]] == [
        ("福建省-福州市", 3, 1), ("福建省-福州市-鼓楼区", 1, 1)]
    assert [(r["learning_form"], r["hours"]) for r in city["by_learning_form"]] == [
        ("conference", 24.0), ("face_to_face", 60.0), ("online", 120.0)]  # 赵六's 90 online hours are outside
    assert ("工程系列", "中级", 1, 1) in [(r["title_series"], r["title_level"], r["people"], r["completed"])
                                        for r in city["titles"]]

    province = queries.overview(actor("hr_province"), 2026)
    assert (province["people"], province["completed"], province["hours"]["total"]) == (5, 3, 294.0)
    assert [(r["organisation"], r["people"], r["completed"]) for r in province["by_organisation"]] == [
        ("市人力资源和社会保障局", 4, 2), ("外市人社局", 1, 1)]

    # drill-down: the city narrowed to the health commission; an organisation outside the scope is a 404
    narrowed = queries.overview(actor("hr_city"), 2026, _org("市卫生健康委员会").id)
    assert (narrowed["people"], narrowed["completed"]) == (3, 1)
    with pytest.raises(NotFound):
        queries.overview(actor("hr_city"), 2026, figures["other_unit"].id)
    for no_such in (0, -1, 2**31, 10**30):  # no organisation has such an id (SQLite could not even compare 10**30)
        with pytest.raises(NotFound):
            queries.overview(actor("hr_city"), 2026, no_such)


def _instance(org: Organisation) -> ProcessInstance:
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == "credit_hour_approval"))
    user = db.session.scalar(select(User).where(User.login == "chenshihui"))
    inst = ProcessInstance(process_version_id=version.id, process_key="credit_hour_approval",
                           version_hash=version.content_hash, state_json="{}", serializer_version="1",
                           started_by_id=user.id, subject_org_id=org.id)
    db.session.add(inst)
    db.session.flush()
    return inst


def _task(inst: ProcessInstance, org: Organisation, created: datetime, hours: float | None,
          cancelled: bool = False) -> None:
    n = db.session.query(WorkflowTask).count()
    db.session.add(WorkflowTask(id=f"t-{n:04d}", instance_id=inst.id, process_key=inst.process_key, task_spec="review",
                                name="审核", candidate_org_id=org.id, candidate_permission="credit_review",
                                created_at=created, cancelled=cancelled,
                                completed_at=None if hours is None else created + timedelta(hours=hours)))


def _event(inst: ProcessInstance, org: Organisation, outcome: str, at: datetime) -> None:
    db.session.add(ApprovalEvent(instance_id=inst.id, step="review", step_name="审核", organisation_id=org.id,
                                 at=at, outcome=outcome))


@pytest.fixture
def reviews(figures):
    """Hospital: decided in 2026 after 2, 4, 10 and 20 hours; open since 1 and 5 March; 3 approvals and 1 return.
    Health commission: one decided after 5 hours, one cancelled, one decided in 2025; 1 approval.
    外市公司 (outside the city): one open task and one return."""
    hospital, health, outside = _org("市第一人民医院"), _org("市卫生健康委员会"), figures["other_unit"]
    inst = _instance(hospital)
    day = datetime(2026, 2, 1, 8, 0)
    for h in (2, 4, 10, 20):
        _task(inst, hospital, day, h)
    _task(inst, hospital, datetime(2026, 3, 1, 8, 0), None)
    _task(inst, hospital, datetime(2026, 3, 5, 8, 0), None)
    _task(inst, health, day, 5)
    _task(inst, health, day, 1, cancelled=True)
    _task(inst, health, datetime(2025, 6, 1), 50)
    _task(inst, outside, day, None)
    for outcome in ("approve", "approve", "approve", "return", "submit"):
        _event(inst, hospital, outcome, day)
    _event(inst, health, "approve", day)
    _event(inst, outside, "return", day)
    db.session.commit()


def test_review_times_per_organisation(any_app, reviews):
    hospital, health = _org("市第一人民医院"), _org("市卫生健康委员会")
    rows = queries.review_times(actor("hr_city"), year=2026)
    assert [(r["organisation_id"], r["open"], r["decided"], r["median_hours"], r["p90_hours"], r["returns"],
             r["returns_per_100"]) for r in rows] == [
        (hospital.id, 2, 4, 7.0, 17.0, 1, 25.0), (health.id, 0, 1, 5.0, 5.0, 0, 0.0)]
    assert rows[0]["oldest_open_at"] == datetime(2026, 3, 1, 8, 0)
    assert rows[1]["oldest_open_at"] is None
    # every year: the 2025 decision of the commission (50 h) counts too
    every = {r["organisation_id"]: r for r in queries.review_times(actor("hr_city"))}
    assert (every[health.id]["decided"], every[health.id]["median_hours"]) == (2, 27.5)
    assert [r["organisation_id"] for r in queries.review_times(actor("hospital_admin"), year=2026)] == [hospital.id]
    assert queries.review_times(actor("hr_city"), process="change_of_superior", year=2026) == []


def test_api_contract_and_scope(app, client, reviews):
    r = client.get("/api/v1/statistics/overview?year=2026", headers=api_token(client, "hr_city"))
    assert r.status_code == 200
    body = r.get_json()
    assert {k: body[k] for k in ("year", "people", "completed", "completion_rate")} == {
        "year": 2026, "people": 4, "completed": 2, "completion_rate": 50.0}
    assert body["hours"] == {"public": 50.0, "professional": 144.0, "elective": 10.0, "total": 204.0}
    assert [(o["organisation"], o["people"], o["completed"]) for o in body["by_organisation"]] == [
        ("区人力资源和社会保障局", 1, 1), ("市卫生健康委员会", 3, 1)]
    r = client.get("/api/v1/statistics/review-times?year=2026", headers=api_token(client, "hospital_admin"))
    assert r.get_json() == [{"organisation_id": _org("市第一人民医院").id, "organisation": "市第一人民医院",
                             "open": 2, "decided": 4, "median_hours": 7.0, "p90_hours": 17.0,
                             "oldest_open_at": "2026-03-01T08:00:00Z", "returns": 1, "returns_per_100": 25.0}]
    # a professional, and a sub-administrator whose role lacks 统计查询: 404
    assert client.get("/api/v1/statistics/overview", headers=api_token(client, "chenshihui")).status_code == 404
    city = _org("市人力资源和社会保障局")
    reviewer = db.session.scalar(select(User).where(User.login == "liuwenbin"))
    m = Membership(user_id=reviewer.id, organisation_id=city.id, role=Role.SUB_ADMIN, permissions=["credit_review"])
    db.session.add(m)
    db.session.commit()
    assert client.get("/api/v1/statistics/review-times",
                      headers=api_token(client, "liuwenbin")).status_code == 404
    m.permissions = ["statistics"]
    db.session.commit()
    r = client.get("/api/v1/statistics/overview?year=2026", headers=api_token(client, "liuwenbin"))
    assert r.status_code == 200 and r.get_json()["people"] == 4
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/statistics/overview" in spec["paths"] and "/statistics/review-times" in spec["paths"]


def test_statistics_page_drill_down_and_excel(app, figures):
    web = browser(app, "hr_city")
    page = web.client.get("/statistics?year=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="s-people" href="/archive/search?year=2026">4<' in html
    health = _org("市卫生健康委员会")
    assert f'/archive/search?year=2026&amp;org={health.id}&amp;verified=no">2<' in html
    # the drill-down target lists exactly the people behind the figure
    people = text(web.client.get(f"/archive/search?year=2026&org={health.id}&verified=no"))
    assert "刘文斌" in people and "张三" in people and "陈诗慧" not in people and "王立平" not in people
    xlsx = web.client.get("/statistics?year=2026&export=organisations")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert rows[1:] == [("区人力资源和社会保障局", 1, 1, 100, 90), ("市卫生健康委员会", 3, 1, 33.3, 114)]
    data = web.client.get("/statistics/data.json?year=2026").get_json()
    assert data["people"] == 4 and len(data["by_year"]) == 5
    assert browser(app, "chenshihui").client.get("/statistics").status_code == 404
    assert web.client.get(f"/statistics?org={figures['other_unit'].id}").status_code == 404


def test_excel_cells_cannot_become_formulas():
    assert [safe_cell(v) for v in ("=1+1", "+86", "-3", "@SUM(A1)", "陈", 5)] == [
        "'=1+1", "'+86", "'-3", "'@SUM(A1)", "陈", 5]


def test_workbench_for_a_unit_and_a_professional(app, figures, declaration):
    from app.workflow import services as wf

    inst = wf.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    html = browser(app, "hospital_admin").client.get("/?year=2026").get_data(as_text=True)
    assert 'href="/tasks?process=credit_hour_approval"' in html and f"/applications/{inst.id}" in html
    assert 'id="wb-people" href="/archive/search?year=2026">3<' in html
    assert 'id="wb-short" href="/archive/search?year=2026&amp;verified=no">2<' in html
    assert db.session.scalar(select(CreditDeclaration.person_id).where(CreditDeclaration.instance_id == inst.id))
    assert 'id="wb-declared" href="/credit-records?year=2026&amp;scope=org">1<' in html
    # the count's link lists the declarations it counts (those of the staff, not only the unit's own)
    listed = browser(app, "hospital_admin").client.get("/credit-records?year=2026&scope=org")
    assert f"/applications/{inst.id}" in listed.get_data(as_text=True)
    own = browser(app, "chenshihui").client.get("/?year=2026")
    page = text(own)
    assert own.status_code == 200 and "我的 2026 年度学时" in page and "本单位及下级" not in page
    assert f"/applications/{inst.id}" in own.get_data(as_text=True)
    charts = browser(app, "hospital_admin").client.get("/workbench/data.json?year=2026").get_json()
    assert [r["year"] for r in charts["training"]] == [2022, 2023, 2024, 2025, 2026]
    assert charts["training"][-1]["participants"] == 3  # the fixture's class records of the hospital's staff


def _plan(org: Organisation, year: int, courses: list, outcome: str | None) -> None:  # noqa: ANN001
    from app.training.models import TrainingPlan, TrainingPlanCourse

    inst = _instance(org)
    inst.outcome = outcome
    user = db.session.scalar(select(User).limit(1))
    plan = TrainingPlan(organisation_id=org.id, year=year, name=f"计划{year}", subject_type="professional",
                        created_by_id=user.id, instance_id=inst.id)
    db.session.add(plan)
    db.session.flush()
    for course in courses:
        db.session.add(TrainingPlanCourse(plan_id=plan.id, course_id=course.id))


def _class(org: Organisation, year: int, outcome: str | None, status: str = "open") -> None:
    from app.classes.models import TrainingClass

    inst = _instance(org)
    inst.outcome = outcome
    user = db.session.scalar(select(User).limit(1))
    db.session.add(TrainingClass(organisation_id=org.id, year=year, name=f"班{year}", subject_type="professional",
                                 created_by_id=user.id, instance_id=inst.id, status=status))


def test_training_by_year(any_app, figures):
    """Approved plans and their distinct courses of organisations in scope, approved classes that were not
    cancelled, and class participations (class and grade-declaration records) of people in scope, by year: the
    hospital has two approved 2026 plans sharing a course (3 distinct courses) and a 2025 plan still under
    review; 外市公司 (outside the city) an approved plan. Classes of 2026: the hospital's two approved, one
    cancelled, one under review; the outside unit's one approved. Class records of 2026: the fixture's four in
    the city and one of 赵六 (outside), and here two more of 陈诗慧 (one of them from a grade declaration) and one
    of 赵六."""
    from app.training.models import TrainingCourse

    hospital, outside = _org("市第一人民医院"), figures["other_unit"]
    c1, c2, c3, c4 = (TrainingCourse(organisation_id=hospital.id, name=f"课程{i}", subject_type="professional",
                                     hours=6) for i in range(4))
    db.session.add_all([c1, c2, c3, c4])
    db.session.flush()
    _plan(hospital, 2026, [c1, c2], "approved")
    _plan(hospital, 2026, [c2, c3], "approved")
    _plan(hospital, 2025, [c4], None)
    _plan(outside, 2026, [c4], "approved")
    _class(hospital, 2026, "approved")
    _class(hospital, 2026, "approved", status="closed")
    _class(hospital, 2026, "approved", status="cancelled")
    _class(hospital, 2026, None, status="planned")
    _class(outside, 2026, "approved")
    chen, zhao = _person("陈诗慧"), _person("赵六")
    for n, (person, source) in enumerate(((chen, "class"), (chen, "grade"), (zhao, "class"))):
        db.session.add(CreditRecord(person_id=person.id, year=2026, subject_type="professional", course_name="班",
                                    learning_form="face_to_face", declared_hours=Decimal(6),
                                    recognised_hours=Decimal(6), source=source, source_id=7000 + n))
    db.session.commit()
    rows = queries.training_by_year(queries.scope_of(actor("hr_city")), 2026)
    assert [r["year"] for r in rows] == [2022, 2023, 2024, 2025, 2026]
    assert rows[-1] == {"year": 2026, "classes": 2, "plans": 2, "courses": 3, "participants": 6}
    assert rows[-2] == {"year": 2025, "classes": 0, "plans": 0, "courses": 0, "participants": 0}
    province = queries.training_by_year(queries.scope_of(actor("hr_province")), 2026)[-1]
    assert province == {"year": 2026, "classes": 3, "plans": 3, "courses": 4, "participants": 8}


def test_typical_wait_at_a_step(any_app, reviews):
    """The case page's "this step usually takes about N hours": the median wait of the step's recent decisions,
    nothing with fewer than five of them, nothing for the applicant's own step."""
    from app.cases.queries import typical_wait

    hospital = _org("市第一人民医院")
    open_task = db.session.scalar(select(WorkflowTask).where(WorkflowTask.candidate_org_id == hospital.id,
                                                             WorkflowTask.completed_at.is_(None)).limit(1))
    # decided, not cancelled, "review" tasks: 2, 4, 10, 20, 5, 50 hours -> median 7.5
    assert typical_wait([open_task]) == {"review": 7.5}
    own = WorkflowTask(id="own", instance_id=open_task.instance_id, process_key=open_task.process_key,
                       task_spec="revise", name="修改", candidate_user_id=1, created_at=datetime(2026, 3, 1))
    assert typical_wait([own]) == {}
    for task in db.session.scalars(select(WorkflowTask).where(WorkflowTask.completed_at.is_not(None)).limit(2)):
        task.completed_at = None
    db.session.flush()
    assert typical_wait([open_task]) == {}   # four decisions left: too few to say
