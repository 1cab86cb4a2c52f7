"""Training II (issue 14) through the service layer and the API: the class declaration in both branches
(同步上报 / 暂不上报), the lifecycle, enrolment, attendance, grades, closing into the archive exactly once (also
concurrently on PostgreSQL) and the results report."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.accounts.models import Organisation
from app.archive.models import CreditRecord
from app.classes import queries, services
from app.classes.models import ClassMember, TrainingClass
from app.core.errors import InvalidState, ValidationFailed
from app.extensions import db
from app.people.models import Person
from app.training.models import TrainingCourse, TrainingPlan
from app.workflow import services as workflow
from app.workflow.models import ProcessInstance
from tests.conftest import actor, api_token

ADMIN = "institute_admin"
INSTITUTE = "市继续教育学院"


@pytest.fixture(autouse=True)
def _training_demo(request):
    """The demo institute's catalogue and last year's approved plan (``seed-demo`` adds them)."""
    from app.training.demo import seed_catalogue, seed_plans

    request.getfixturevalue(
        "pg_app"
        if "pg_app" in request.fixturenames
        else "client"
        if "client" in request.fixturenames
        else "any_app"
        if "any_app" in request.fixturenames
        else "app"
    )
    seed_catalogue()
    seed_plans()
    db.session.commit()


def org(name: str = INSTITUTE) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def approved_plan() -> TrainingPlan:
    """The demo institute's approved plan of last year (its year is the classes' year)."""
    return db.session.scalar(
        select(TrainingPlan).where(TrainingPlan.organisation_id == org().id, TrainingPlan.year == date.today().year - 1)
    )


def values(**kw) -> dict:
    plan = approved_plan()
    course = db.session.scalar(
        select(TrainingCourse).where(
            TrainingCourse.organisation_id == org().id, TrainingCourse.name == "医院质量与安全管理"
        )
    )
    return {
        "plan_id": plan.id,
        "year": plan.year,
        "name": "医院质量管理第一期",
        "subject_type": "professional",
        "subject_id": plan.subject_id,
        "audience": None,
        "report_mode": "later",
        "start_date": None,
        "end_date": None,
        "site_id": None,
        "capacity": None,
        "notes": None,
        "attachment_ids": [],
        "courses": [{"course_id": course.id, "teacher_id": None}],
        **kw,
    }


def people(n: int, start: int = 0) -> list[int]:
    from tests.test_imports import id_number

    rows = [
        Person(name=f"学员{i}", id_number=id_number(i % 1000, f"19{80 + i // 1000:02d}0101"))
        for i in range(start, start + n)
    ]
    db.session.add_all(rows)
    db.session.flush()
    return [p.id for p in rows]


def enrol_named(me, class_id: int, person_ids: list[int]) -> int:  # noqa: ANN001
    """Enrol people of any unit as an institution does: by their full ID numbers."""
    numbers = list(db.session.scalars(select(Person.id_number).where(Person.id.in_(person_ids))))
    return services.enrol(me, class_id, [], id_numbers=numbers)


def approve(instance_id: int, login: str = "hr_city") -> None:
    instance = db.session.get(ProcessInstance, instance_id)
    [task] = workflow.open_tasks(instance)
    workflow.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=actor(login))
    db.session.commit()


def records(class_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(CreditRecord).where(CreditRecord.class_id == class_id))


def open_class_with(n: int, passed: int) -> TrainingClass:
    me = actor(ADMIN)
    row = services.create(me, None, values())
    instance = services.submit(me, row.id)
    db.session.commit()
    approve(instance.id)
    services.open_class(me, row.id)
    enrol_named(me, row.id, people(n))
    for i, m in enumerate(queries.members(row.id)):
        services.set_grade(
            me,
            row.id,
            m.id,
            {
                "total_score": 90 if i < passed else 40,
                "result": "pass" if i < passed else "fail",
                "actual_start": None,
                "actual_end": None,
            },
        )
    db.session.commit()
    return row


def test_later_branch_open_enrol_grade_close_records_passed_once(any_app):
    """暂不上报: approval records nothing; the class opens, 30 people are graded (25 pass), close writes 25
    archive records; a second close is refused and writes nothing."""
    row = open_class_with(30, 25)
    assert queries.state_of(row) == "open"
    written = services.close(actor(ADMIN), row.id)
    db.session.commit()
    assert written == 25 and records(row.id) == 25
    with pytest.raises(InvalidState):
        services.close(actor(ADMIN), row.id)
    db.session.rollback()
    assert records(row.id) == 25
    rec = db.session.scalar(select(CreditRecord).where(CreditRecord.class_id == row.id))
    assert rec.source == "class" and rec.class_name == "医院质量管理第一期" and rec.institution_name == INSTITUTE
    assert rec.learning_form == "face_to_face"
    # the results report adds nobody twice
    assert services.report_results(actor(ADMIN), row.id) == 0


def test_sync_branch_approval_records_the_hours(any_app):
    """同步上报: people and grades go with the declaration; the approval's service task records the hours of
    those who passed and closes the class."""
    me = actor(ADMIN)
    row = services.create(me, None, values(report_mode="sync", name="同步上报班"))
    with pytest.raises(ValidationFailed):
        services.submit(me, row.id)  # no results yet
    enrol_named(me, row.id, people(3, 100))
    for m, result in zip(queries.members(row.id), ("pass", "pass", "fail"), strict=True):
        services.set_grade(me, row.id, m.id, {"total_score": 80, "result": result, "subject_scores": {}})
    instance = services.submit(me, row.id)
    db.session.commit()
    assert "学员100" in instance.data["results"] if hasattr(instance, "data") else True
    assert records(row.id) == 0
    approve(instance.id)
    db.session.expire_all()
    row = db.session.get(TrainingClass, row.id)
    assert records(row.id) == 2 and row.status == "closed" and row.reported_at is not None
    assert queries.state_of(row) == "closed"
    with pytest.raises(InvalidState):
        services.update(me, row.id, values(report_mode="sync"))  # an approved class cannot be edited


def test_return_resubmit_reject_and_lifecycle_rules(app):
    me = actor(ADMIN)
    row = services.create(me, None, values())
    instance = services.submit(me, row.id)
    db.session.commit()
    [task] = workflow.open_tasks(instance)
    workflow.complete_task(task.id, {"outcome": "return", "comment": "请补充课程"}, actor=actor("hr_city"))
    db.session.commit()
    assert queries.state_of(row) == "returned"
    services.update(me, row.id, values(name="改名后的班"))
    services.resubmit(me, row.id)
    db.session.commit()
    assert queries.state_of(row) == "reviewing"
    with pytest.raises(InvalidState):
        services.open_class(me, row.id)
    approve(instance.id)
    assert queries.state_of(row) == "planned"
    with pytest.raises(InvalidState):
        enrol_named(me, row.id, people(1, 200))  # not open
    with pytest.raises(ValidationFailed):
        services.cancel(me, row.id, "很" * 51)
    services.cancel(me, row.id, "报名人数不足")
    db.session.commit()
    assert queries.state_of(row) == "cancelled"
    assert [r.id for r in queries.classes(org().id, state="cancelled").items] == [row.id]
    assert queries.classes(org().id, state="open").items == []
    assert [r.id for r in queries.classes(org().id, year=row.year, subject_type="professional").items] == [row.id]


def test_an_institution_class_needs_an_approved_plan_of_its_year(app):
    me = actor(ADMIN)
    with pytest.raises(ValidationFailed) as exc:
        services.create(me, None, values(plan_id=None))
    assert "plan_id" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.create(me, None, values(year=date.today().year))
    assert "plan_id" in exc.value.fields


def test_enrolment_attendance_and_scope(app):
    row = open_class_with(4, 4)
    me = actor(ADMIN)
    members = queries.members(row.id)
    assert enrol_named(me, row.id, [members[0].person_id]) == 0  # already enrolled
    session = services.add_session(me, row.id, datetime(2026, 3, 1, 9), "第一天上午")
    services.mark(
        me,
        row.id,
        session.id,
        {members[0].id: "present", members[1].id: "late", members[2].id: "leave", members[3].id: "absent"},
    )
    [summary] = queries.sessions(row.id)
    assert (summary.expected, summary.present, summary.counts["absent"]) == (4, 2, 1)
    assert services.unenrol(me, row.id, [members[3].id]) == 1
    assert queries.sessions(row.id)[0].expected == 3
    chen = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    assert [p.id for p in queries.candidates(row, q=chen.id_number)] == [chen.id]
    assert queries.candidates(row, q="陈诗慧") == []  # a name finds nobody outside the organisation
    from app.core.errors import NotFound

    with pytest.raises(NotFound):
        services.get(actor("hospital_admin"), row.id)


def test_api_walks_a_class(client):
    headers = api_token(client, ADMIN)
    body = {**values(), "start_date": None, "end_date": None}
    r = client.post("/api/v1/classes", headers=headers, json={k: v for k, v in body.items() if v is not None})
    assert r.status_code == 201, r.get_json()
    cid = r.get_json()["id"]
    assert r.get_json()["state"] == "draft"
    r = client.post(f"/api/v1/classes/{cid}/submit", headers=headers)
    assert r.status_code == 200 and r.get_json()["state"] == "reviewing"
    approve(r.get_json()["instance_id"])
    assert client.post(f"/api/v1/classes/{cid}/open", headers=headers).get_json()["state"] == "open"
    pid = people(1, 300)[0]
    db.session.commit()
    number = db.session.get(Person, pid).id_number
    r = client.post(f"/api/v1/classes/{cid}/members", headers=headers, json={"id_numbers": [number]})
    assert r.status_code == 200 and r.get_json()["added"] == 1
    mid = r.get_json()["members"][0]["id"]
    r = client.put(
        f"/api/v1/classes/{cid}/members/{mid}/grade", headers=headers, json={"total_score": 88, "result": "pass"}
    )
    assert r.status_code == 200 and r.get_json()["result"] == "pass"
    r = client.post(f"/api/v1/classes/{cid}/close", headers=headers)
    assert r.status_code == 200 and r.get_json()["recorded"] == 1
    assert client.post(f"/api/v1/classes/{cid}/close", headers=headers).status_code == 409
    other = api_token(client, "hospital_admin")
    assert client.get(f"/api/v1/classes/{cid}", headers=other).status_code == 404
    r = client.get("/api/v1/classes?state=closed", headers=headers)
    assert [c["id"] for c in r.get_json()["items"]] == [cid]


@pytest.mark.postgres
def test_concurrent_close_on_postgres_records_each_person_once(pg_app):
    """Two admins close a class of 30 (25 pass) at the same moment: one closes it, the other is told it is
    closed; exactly 25 archive records."""
    row = open_class_with(30, 25)
    class_id = row.id
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def close(i: int) -> None:
        with pg_app.app_context():
            barrier.wait()
            try:
                outcomes[i] = services.close(actor(ADMIN), class_id)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=close, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(type(o).__name__ for o in outcomes) == ["InvalidState", "int"], outcomes
    assert 25 in outcomes
    assert records(class_id) == 25
    assert (
        db.session.scalar(
            select(func.count(func.distinct(CreditRecord.person_id))).where(CreditRecord.class_id == class_id)
        )
        == 25
    )
    assert (
        db.session.scalar(select(func.count()).select_from(ClassMember).where(ClassMember.class_id == class_id)) == 30
    )


def test_every_class_route_is_a_404_outside_the_organisation(client):
    """Another unit's administrator (who has a training workspace of their own) and a person without one get 404
    on every class page and API route of the institute's class."""
    row = open_class_with(1, 1)
    member = queries.members(row.id)[0]
    session = services.add_session(actor(ADMIN), row.id, datetime(2026, 3, 1, 9), None)
    db.session.commit()
    ids = {"class_id": row.id, "member_id": member.id, "session_id": session.id}
    rules = [
        r for r in client.application.url_map.iter_rules() if r.rule.startswith(("/classes/<", "/api/v1/classes/<"))
    ]
    assert len(rules) >= 10
    for login in ("hospital_admin", "chenshihui"):
        headers = api_token(client, login)
        from tests.conftest import WebClient

        browser = client.application.test_client()
        web = WebClient(browser)
        web.login(login)
        token = web.csrf("/password/change")
        for rule in rules:
            url = rule.rule
            for name, value in ids.items():
                url = url.replace(f"<int:{name}>", str(value))
            if "<any(" in url:
                url = url[: url.index("<any(")] + "close"
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if url.startswith("/api/"):
                    r = client.open(url, method=method, headers=headers, json={})
                else:
                    data = {"csrf_token": token} if method == "POST" else None
                    r = browser.open(url, method=method, data=data)
                assert r.status_code == 404, (login, method, url, r.status_code)
    assert records(row.id) == 0


def _grade_file(rows: list[list]) -> bytes:
    import io

    from openpyxl import Workbook

    from app.imports import registry

    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in registry.get("class_grades").columns])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_grade_import_reports_each_bad_row_and_the_corrected_failure_file_imports(client):
    """A wrong ID number, an unknown person, a person not enrolled and a duplicate row each come back with their
    row number and reason; the valid rows are imported; the corrected failure file imports cleanly."""
    import io

    from openpyxl import load_workbook
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from tests.test_imports import id_number

    row = open_class_with(0, 0)
    me = actor(ADMIN)
    enrolled = [Person(name=f"导入{i}", id_number=id_number(500 + i)) for i in range(3)]
    outsider = Person(name="未报名", id_number=id_number(600))
    db.session.add_all([*enrolled, outsider])
    db.session.flush()
    enrol_named(me, row.id, [p.id for p in enrolled])
    db.session.commit()
    unknown = id_number(700)
    bad = enrolled[1].id_number[:17] + ("0" if enrolled[1].id_number[17] != "0" else "1")  # wrong check character
    rows = [
        [row.id, "导入0", enrolled[0].id_number, 90, "合格", "2025-03-01", "2025-03-03", "医院质量与安全管理：91"],
        [row.id, "导入1", bad, 80, "合格", None, None],
        [row.id, "无此人", unknown, 70, "合格", None, None],
        [row.id, "未报名", outsider.id_number, 75, "合格", None, None],
        [row.id, "导入0", enrolled[0].id_number, 95, "合格", None, None],  # duplicate of row 2
        [row.id, "导入2", enrolled[2].id_number, 50, "不合格", None, None],
    ]
    h = api_token(client, ADMIN)

    def upload(data: bytes) -> dict:
        boundary, body = encode_multipart({"kind": "class_grades", "file": FileStorage(io.BytesIO(data), "g.xlsx")})
        r = client.post(
            "/api/v1/imports", headers=h, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        assert r.status_code == 202, r.get_json()
        return client.get(f"/api/v1/imports/{r.get_json()['id']}", headers=h).get_json()

    body = upload(_grade_file(rows))
    assert (body["total"], body["succeeded"], body["failed"]) == (6, 2, 4), body
    r = client.get(body["failure_file_url"], headers=h, buffered=True)
    failed = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    reasons = {f[1]: f[-1] for f in failed[1:]}
    assert "校验" in reasons["导入1"] and "没有该人员" in reasons["无此人"]
    assert "未报名" in reasons["未报名"] and "第2行重复" in reasons["导入0"]
    db.session.expire_all()
    results = {m.person.name: m.result for m in queries.members(row.id)}
    assert results == {"导入0": "pass", "导入1": None, "导入2": "fail"}
    first = next(m for m in queries.members(row.id) if m.person.name == "导入0")
    assert list(first.subject_scores.values()) == [91.0] and str(first.actual_start) == "2025-03-01"
    # corrected: the right ID number, the outsider enrolled, the unknown and the duplicate rows deleted
    enrol_named(me, row.id, [outsider.id])
    db.session.commit()
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.active
    for i in range(ws.max_row, 1, -1):
        name = ws.cell(row=i, column=2).value
        if name == "导入1":
            ws.cell(row=i, column=3).value = enrolled[1].id_number
        elif name in ("无此人", "导入0"):
            ws.delete_rows(i)
    buf = io.BytesIO()
    wb.save(buf)
    again = upload(buf.getvalue())
    assert (again["succeeded"], again["failed"], again["failure_file_url"]) == (2, 0, None), again
    services.close(me, row.id)
    db.session.commit()
    assert records(row.id) == 3


def test_class_hours_show_in_the_archive_and_count_in_the_verification(client):
    from app.archive.models import AnnualVerification
    from app.archive.services import year_summary

    row = open_class_with(2, 1)
    services.close(actor(ADMIN), row.id)
    db.session.commit()
    passed = next(m for m in queries.members(row.id) if m.result == "pass")
    summary = year_summary(passed.person, row.year)
    [line] = summary.records
    assert (line.source, line.class_name, line.institution_name) == ("class", row.name, INSTITUTE)
    assert line.course_name == "医院质量与安全管理" and summary.hours["total"] == row.hours
    stored = db.session.scalar(
        select(AnnualVerification).where(
            AnnualVerification.person_id == passed.person_id, AnnualVerification.year == row.year
        )
    )
    assert stored is not None and stored.total_hours == row.hours
    # the archive page shows the class to the person's city bureau
    from tests.conftest import WebClient

    passed.person.unit_id = org("市第一人民医院").id
    db.session.commit()
    WebClient(client).login("hr_city")
    page = client.get(f"/archive?person_id_number={passed.person.id_number}&year={row.year}")
    assert page.status_code == 200 and f"培训班：{row.name}" in page.get_data(as_text=True)


def test_grade_declaration_unit_batch_review_hr_return_and_final_approval(client):
    """学员成绩申报: the institution declares two students of a closed class; their unit batch-approves them in
    the inbox (beside credit-hour declarations); the HR bureau returns one, the institution resubmits, and after
    both reviews again the hours count, once, in the continuing-education year declared."""

    me = actor(ADMIN)
    row = services.create(me, None, values(report_mode="declare", name="成绩申报班"))
    instance = services.submit(me, row.id)
    db.session.commit()
    approve(instance.id)
    services.open_class(me, row.id)
    students = [db.session.scalar(select(Person.id).where(Person.name == n)) for n in ("陈诗慧", "刘文斌")]
    enrol_named(me, row.id, students)
    for m in queries.members(row.id):
        services.set_grade(me, row.id, m.id, {"total_score": 85, "result": "pass", "subject_scores": {}})
    assert services.close(me, row.id) == 0  # hours count only after the declaration's review
    with pytest.raises(InvalidState):
        services.report_results(me, row.id)  # nor by a results report
    db.session.commit()
    ce_year = row.year + 1
    started, failed = services.declare_grades(me, row.id, [m.id for m in queries.members(row.id)] + [999999], ce_year)
    db.session.commit()
    assert len(started) == 2 and list(failed) == [999999]
    again, failed = services.declare_grades(me, row.id, [m.id for m in queries.members(row.id)], ce_year)
    assert again == [] and all("已申报" in r for r in failed.values())
    db.session.rollback()
    # the unit sees them in its inbox next to credit-hour declarations and batch-approves them through the API
    h = api_token(client, "hospital_admin")
    tasks = client.get("/api/v1/tasks?process=grade_declaration", headers=h).get_json()["items"]
    assert {t["applicant"] for t in tasks} == {"陈诗慧", "刘文斌"}
    r = client.post(
        "/api/v1/tasks/complete",
        headers=h,
        json={"task_ids": [t["id"] for t in tasks], "outcome": "approve", "comment": ""},
    )
    assert len(r.get_json()["completed"]) == 2, r.get_json()
    assert records(row.id) == 0
    hr = api_token(client, "hr_city")
    tasks = client.get("/api/v1/tasks?process=grade_declaration", headers=hr).get_json()["items"]
    assert len(tasks) == 2
    returned = next(t for t in tasks if t["applicant"] == "刘文斌")
    r = client.post(
        f"/api/v1/tasks/{returned['id']}/complete", headers=hr, json={"outcome": "return", "comment": "请核对成绩"}
    )
    assert r.status_code == 200, r.get_json()
    other = next(t for t in tasks if t["applicant"] == "陈诗慧")
    assert (
        client.post(
            f"/api/v1/tasks/{other['id']}/complete", headers=hr, json={"outcome": "approve", "comment": ""}
        ).status_code
        == 200
    )
    assert records(row.id) == 1
    # the institution resubmits the returned one from its inbox
    mine = api_token(client, ADMIN)
    [revise] = client.get("/api/v1/tasks?process=grade_declaration", headers=mine).get_json()["items"]
    task = client.get(f"/api/v1/tasks/{revise['id']}", headers=mine).get_json()
    data = (
        {k: v for k, v in task["data"].items() if k in task["form"]["schema"]["properties"]} if "form" in task else {}
    )
    r = client.post(f"/api/v1/tasks/{revise['id']}/complete", headers=mine, json={**data, "action": "resubmit"})
    assert r.status_code == 200, r.get_json()
    for login in ("hospital_admin", "hr_city"):
        h = api_token(client, login)
        [t] = client.get("/api/v1/tasks?process=grade_declaration", headers=h).get_json()["items"]
        assert (
            client.post(
                f"/api/v1/tasks/{t['id']}/complete", headers=h, json={"outcome": "approve", "comment": ""}
            ).status_code
            == 200
        )
    db.session.expire_all()
    recs = list(db.session.scalars(select(CreditRecord).where(CreditRecord.class_id == row.id)))
    assert len(recs) == 2 and {r.source for r in recs} == {"grade"} and {r.year for r in recs} == {ce_year}
    # the class's people list (page and export) says their hours are in the archive
    from tests.test_exports_lists import export

    sheet, _data = export(client, api_token(client, ADMIN), "class_members", {"class_id": row.id})
    header, *lines = sheet
    recorded = [line[header.index("培训档案")] for line in lines]
    assert recorded.count("已记入") == 2, recorded


def test_pages_walk_a_class_in_both_languages(client):
    """The institute's administrator declares a class on the pages, and after approval opens it, enrols one by ID
    number and one by selection, takes attendance, grades, closes it; every page answers in Chinese and English."""
    from tests.conftest import WebClient

    web = WebClient(client)
    web.login(ADMIN)
    v = values()
    form = {
        "year": v["year"],
        "name": "网页班",
        "plan_id": v["plan_id"],
        "subject_type": "professional",
        "subject_id": v["subject_id"],
        "report_mode": "later",
        "course_ids": [v["courses"][0]["course_id"]],
    }
    r = web.post_form("/classes/new", form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    cid = int(r.headers["Location"].rstrip("/").split("/")[-1])
    assert web.post_form(f"/classes/{cid}", {}, f"/classes/{cid}/submit").status_code == 302
    approve(db.session.get(TrainingClass, cid).instance_id)
    assert web.post_form(f"/classes/{cid}", {}, f"/classes/{cid}/open").status_code == 302
    chen = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    liu = db.session.scalar(select(Person).where(Person.name == "刘文斌"))
    web.post_form(f"/classes/{cid}", {"id_number": chen.id_number}, f"/classes/{cid}/enrol")
    web.post_form(f"/classes/{cid}", {"q": liu.id_number, "person_ids": [liu.id]}, f"/classes/{cid}/enrol")
    members = queries.members(cid)
    assert {m.person.name for m in members} == {"陈诗慧", "刘文斌"}
    r = web.post_form(f"/classes/{cid}", {"held_at": "2025-03-01T09:00", "note": "上午"}, f"/classes/{cid}/sessions")
    assert r.status_code == 302
    [summary] = queries.sessions(cid)
    sid = summary.session.id
    web.post_form(f"/classes/{cid}/sessions/{sid}", {f"status_{m.id}": "present" for m in members})
    assert queries.sessions(cid)[0].present == 2
    for m in members:
        r = web.post_form(f"/classes/{cid}/members/{m.id}", {"total_score": "91", "result": "pass"})
        assert r.status_code == 302
    for lang in ("zh", "en"):
        client.get(f"/?lang={lang}")
        for url in (
            "/classes/",
            f"/classes/{cid}",
            f"/classes/{cid}/members/{members[0].id}",
            f"/classes/{cid}/sessions/{sid}",
            "/classes/grades",
            "/classes/new",
            "/classes/?state=open&subject_type=professional&year=2025",
        ):
            page = client.get(url)
            assert page.status_code == 200, (lang, url)
            if lang == "en":
                assert "Training classes" in page.get_data(as_text=True), url
    r = web.post_form(f"/classes/{cid}", {}, f"/classes/{cid}/close")
    assert r.status_code == 302 and records(cid) == 2
    assert "Closed" in client.get(f"/classes/{cid}").get_data(as_text=True)


def test_demo_classes_seed_once(app):
    """seed-demo: a closed class with recorded hours, an open one with people and attendance, one declaration
    waiting in the city bureau's inbox; a second run adds nothing."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "demo training classes: 3" in first.output, first.output
    rows = queries.classes(org().id).items
    by_state = {queries.state_of(r): r for r in rows}
    assert set(by_state) == {"closed", "open", "reviewing"}
    assert records(by_state["closed"].id) == 2
    assert len(queries.members(by_state["open"].id)) == 3 and queries.sessions(by_state["open"].id)[0].present == 2
    [task] = workflow.open_tasks(db.session.get(ProcessInstance, by_state["reviewing"].instance_id))
    assert task.candidate_org_id == org("市人力资源和社会保障局").id
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "demo training classes" not in again.output
    assert len(queries.classes(org().id).items) == 3


def test_results_report_records_people_graded_after_close(app):
    """培训成果上报: a person whose grade changes to pass after the class closed is reported later, once, without
    review; those already recorded are skipped."""
    row = open_class_with(3, 2)
    me = actor(ADMIN)
    assert services.close(me, row.id) == 2
    failed = next(m for m in queries.members(row.id) if m.result == "fail")
    recorded = next(m for m in queries.members(row.id) if m.result == "pass")
    with pytest.raises(InvalidState):
        services.set_grade(me, row.id, recorded.id, {"result": "fail", "subject_scores": {}})
    services.set_grade(me, row.id, failed.id, {"total_score": 70, "result": "pass", "subject_scores": {}})
    assert services.report_results(me, row.id, [failed.id]) == 1
    assert services.report_results(me, row.id) == 0
    db.session.commit()
    assert records(row.id) == 3


def test_api_attendance_cancel_and_members_import(client):
    """Sessions and statuses through the API; enrolment by the class_members import; cancelling with a note."""
    import io

    from openpyxl import Workbook
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from app.imports import registry

    row = open_class_with(0, 0)
    h = api_token(client, ADMIN)
    chen = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in registry.get("class_members").columns])
    ws.append([str(row.id), "陈诗慧", chen.id_number])
    ws.append([str(row.id), "陈诗慧", chen.id_number])  # duplicate
    ws.append(["999999", "陈诗慧", chen.id_number])  # not the institute's class
    buf = io.BytesIO()
    wb.save(buf)
    boundary, body = encode_multipart(
        {"kind": "class_members", "file": FileStorage(io.BytesIO(buf.getvalue()), "m.xlsx")}
    )
    r = client.post("/api/v1/imports", headers=h, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    job = client.get(f"/api/v1/imports/{r.get_json()['id']}", headers=h).get_json()
    assert (job["succeeded"], job["failed"]) == (1, 2), job
    [member] = client.get(f"/api/v1/classes/{row.id}/members", headers=h).get_json()
    assert member["name"] == "陈诗慧" and member["id_number"].count("*") > 0
    r = client.post(
        f"/api/v1/classes/{row.id}/sessions", headers=h, json={"held_at": "2025-03-01T01:00:00Z", "note": "上午"}
    )
    assert r.status_code == 201
    [session] = r.get_json()
    assert session["held_at"] == "2025-03-01T01:00:00Z" and session["expected"] == 1
    r = client.put(
        f"/api/v1/classes/{row.id}/sessions/{session['id']}/attendance",
        headers=h,
        json={"statuses": {str(member["id"]): "late"}},
    )
    assert r.status_code == 200 and r.get_json()["marks"] == {str(member["id"]): "late"}
    r = client.put(
        f"/api/v1/classes/{row.id}/sessions/{session['id']}/attendance",
        headers=h,
        json={"statuses": {str(member["id"]): "asleep"}},
    )
    assert r.status_code == 422
    assert client.get(f"/api/v1/classes/{row.id}/sessions", headers=h).get_json()[0]["present"] == 1
    r = client.post(f"/api/v1/classes/{row.id}/cancel", headers=h, json={"note": "很" * 51})
    assert r.status_code == 422
    r = client.post(f"/api/v1/classes/{row.id}/cancel", headers=h, json={"note": "师资临时调整"})
    assert (
        r.status_code == 200 and r.get_json()["state"] == "cancelled" and r.get_json()["status_note"] == "师资临时调整"
    )
    assert client.post(f"/api/v1/classes/{row.id}/close", headers=h).status_code == 409


def test_subject_scores_in_the_grade_import_name_the_class_courses(app):
    from app.classes.imports import _scores

    row = open_class_with(0, 0)
    [cc] = row.courses
    assert _scores("医院质量与安全管理:88", row) == {str(cc.course_id): 88.0}
    assert _scores("", row) == {}
    assert "不是本培训班的课程" in _scores("外科学:80", row)
    assert "不是数字" in _scores("医院质量与安全管理：优", row)
    assert "0到1000" in _scores("医院质量与安全管理:5000", row)


def test_declaration_results_import_enrols_and_grades_a_sync_class_before_it_is_submitted(client):
    """申请培训班的培训成果导入 (Fujian 000 §5.1): the participants and results of a class declared 同步上报 come
    from one file, before submitting; a row with a bad score enrols no one; a class already submitted or
    declared 暂不上报 takes none; then the declaration's approval records the hours of those who passed."""
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    from tests.test_imports import id_number

    me = actor(ADMIN)
    row = services.create(me, None, values(report_mode="sync", name="同步上报导入班"))
    later = services.create(me, None, values(report_mode="later", name="暂不上报班"))
    students = [Person(name=f"申报{i}", id_number=id_number(800 + i)) for i in range(3)]
    db.session.add_all(students)
    db.session.commit()
    h = api_token(client, ADMIN)

    def upload(rows: list[list]) -> dict:
        boundary, body = encode_multipart({"kind": "class_declaration_results",
                                           "file": FileStorage(io.BytesIO(_grade_file(rows)), "r.xlsx")})
        r = client.post("/api/v1/imports", headers=h, data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")
        assert r.status_code == 202, r.get_json()
        return client.get(f"/api/v1/imports/{r.get_json()['id']}", headers=h).get_json()

    body = upload([
        [row.id, "申报0", students[0].id_number, 90, "合格", None, None],
        [row.id, "申报1", students[1].id_number, 60, "不合格", None, None],
        [row.id, "申报2", students[2].id_number, 5000, "合格", None, None],  # bad score: not enrolled either
        [later.id, "申报0", students[0].id_number, 90, "合格", None, None],
    ])
    assert (body["succeeded"], body["failed"]) == (2, 2), body
    db.session.expire_all()
    assert {m.person.name: m.result for m in queries.members(row.id)} == {"申报0": "pass", "申报1": "fail"}
    assert queries.members(later.id) == []
    instance = services.submit(me, row.id)
    db.session.commit()
    after = upload([[row.id, "申报2", students[2].id_number, 80, "合格", None, None]])
    assert (after["succeeded"], after["failed"]) == (0, 1), after  # submitted: locked
    approve(instance.id)
    assert records(row.id) == 1


def test_enrolment_names_outsiders_by_their_full_id_number_only(client, web):
    """An institution trains people of every unit, but finds someone outside its own organisation only by their
    exact ID number (queries.candidates). Enrolling by a guessed person id (API body or web form) would list the
    name and unit of anyone in the province on the class page: such ids are refused as unknown."""
    headers = api_token(client, ADMIN)
    body = {**values(), "start_date": None, "end_date": None}
    cid = client.post("/api/v1/classes", headers=headers, json={k: v for k, v in body.items() if v is not None})
    cid = cid.get_json()["id"]
    approve(client.post(f"/api/v1/classes/{cid}/submit", headers=headers).get_json()["instance_id"])
    client.post(f"/api/v1/classes/{cid}/open", headers=headers)
    chen = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    liu = db.session.scalar(select(Person).where(Person.name == "刘文斌"))
    wang = db.session.scalar(select(Person).where(Person.name == "王立平"))
    r = client.post(f"/api/v1/classes/{cid}/members", headers=headers, json={"person_ids": [chen.id]})
    assert r.status_code == 422 and "王立平" not in r.get_data(as_text=True)
    assert queries.members(cid) == []
    r = client.post(f"/api/v1/classes/{cid}/members", headers=headers, json={"id_numbers": [chen.id_number]})
    assert r.status_code == 200 and r.get_json()["added"] == 1
    r = client.post(f"/api/v1/classes/{cid}/members", headers=headers, json={"id_numbers": ["110101199003079999"]})
    assert r.status_code == 422
    web.login(ADMIN)
    web.post_form(f"/classes/{cid}", {"person_ids": [liu.id]}, f"/classes/{cid}/enrol")  # a guessed id
    assert {m.person.name for m in queries.members(cid)} == {"陈诗慧"}
    # the list of a search by ID number offers that person: ticking them enrols them
    page = web.client.get(f"/classes/{cid}?q={wang.id_number}").get_data(as_text=True)
    assert f'name="q" value="{wang.id_number}"' in page and f'value="{wang.id}"' in page
    web.post_form(f"/classes/{cid}", {"q": wang.id_number, "person_ids": [wang.id]}, f"/classes/{cid}/enrol")
    assert {m.person.name for m in queries.members(cid)} == {"陈诗慧", "王立平"}


def test_odd_digits_in_id_fields_of_the_forms_are_refused_not_a_crash(web):
    """"²" and "１２" are digits to str.isdigit but not to int, and 20 digits name no row (PostgreSQL refuses
    them as out of range): the forms' id lists skip such values instead of answering 500."""
    web.login(ADMIN)
    for odd in ("²", "１２", "9" * 20):
        r = web.post_form(
            "/classes/new",
            {"year": "2025", "name": "班", "subject_type": "public", "course_ids": [odd], f"teacher_{odd}": odd,
             "attachment_ids": [odd]},
        )
        assert r.status_code == 422
        r = web.post_form("/training/course-plans/new", {"name": "计划", "attachment_ids": [odd]})
        assert r.status_code == 422


def test_the_limit_of_people_is_never_below_those_enrolled(app):
    me = actor(ADMIN)
    row = services.create(me, org().id, values(report_mode="sync"))
    enrol_named(me, row.id, people(3))
    with pytest.raises(ValidationFailed) as refused:
        services.update(me, row.id, values(report_mode="sync", capacity=2))
    assert refused.value.fields == {"capacity": "人数上限不能少于已报名的人数（3人）"}
    services.update(me, row.id, values(report_mode="sync", capacity=3))
    assert db.session.get(TrainingClass, row.id).capacity == 3
    with pytest.raises(ValidationFailed) as full:
        enrol_named(me, row.id, people(1, start=10))
    assert full.value.fields == {"person_ids": "超过培训班人数上限（3人）"}


def test_the_inbox_filter_credit_hours_lists_grade_and_credit_hour_declarations_together(client, web):
    """Henan's 学时学分审批: one filter over the credit-hour declarations and the grade declarations a unit reviews
    (the inbox page and the API), beside the filters of each process alone."""
    from bench._common import DECLARATION

    me = actor(ADMIN)
    row = services.create(me, None, values(report_mode="declare", name="成绩申报班"))
    instance = services.submit(me, row.id)
    db.session.commit()
    approve(instance.id)
    services.open_class(me, row.id)
    enrol_named(me, row.id, [db.session.scalar(select(Person.id).where(Person.name == "刘文斌"))])
    [member] = queries.members(row.id)
    services.set_grade(me, row.id, member.id, {"total_score": 85, "result": "pass", "subject_scores": {}})
    services.close(me, row.id)
    db.session.commit()
    services.declare_grades(me, row.id, [member.id], row.year + 1)
    db.session.commit()
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=DECLARATION,
                    headers=api_token(client, "chenshihui"))
    assert r.status_code == 201
    h = api_token(client, "hospital_admin")

    def applicants(process: str) -> set[str]:
        return {t["applicant"] for t in client.get(f"/api/v1/tasks?process={process}", headers=h).get_json()["items"]}

    assert applicants("group:credit_hours") == {"陈诗慧", "刘文斌"}
    assert applicants("credit_hour_approval") == {"陈诗慧"}
    assert applicants("grade_declaration") == {"刘文斌"}
    assert applicants("group:nothing") == set()
    web.login("hospital_admin")
    page = web.client.get("/tasks?process=group:credit_hours").get_data(as_text=True)
    assert '<option value="group:credit_hours" selected>学时学分审批</option>' in page
    assert "陈诗慧" in page and "刘文斌" in page
    page = web.client.get("/tasks?process=group:credit_hours&lang=en").get_data(as_text=True)
    assert "Credit hours and grades" in page


def test_class_members_export_lists_the_class_people_with_grades_for_its_workspace_only(client, web):
    """培训班人员导出 (manual 000 §5.2): the class's people with their grades and whether the hours are in the archive,
    ID numbers whole and as text, a button on the class page; another organisation's administrator gets a 404 and
    a missing class number is a field error."""
    from tests.test_exports_lists import export

    row = open_class_with(3, 2)
    headers = api_token(client, ADMIN)
    sheet, _data = export(client, headers, "class_members", {"class_id": row.id})
    header, *lines = sheet
    assert header[:4] == ("培训班编号", "培训班名称", "姓名", "公民身份号码") and "考核结果" in header
    assert len(lines) == 3 and {line[1] for line in lines} == {"医院质量管理第一期"}
    numbers = set(db.session.scalars(select(Person.id_number).join(ClassMember, ClassMember.person_id == Person.id)
                                     .where(ClassMember.class_id == row.id)))
    assert {line[3] for line in lines} == numbers  # whole, as text
    result = header.index("考核结果")
    assert sorted(line[result] for line in lines) == ["不合格", "合格", "合格"]
    assert {line[header.index("培训档案")] for line in lines} == {"未记入"}

    other = api_token(client, "hospital_admin")
    r = client.post("/api/v1/exports", json={"kind": "class_members", "filters": {"class_id": row.id}}, headers=other)
    assert r.status_code == 404
    r = client.post("/api/v1/exports", json={"kind": "class_members", "filters": {}}, headers=headers)
    assert r.status_code == 422 and "filters" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/exports", json={"kind": "nonsense"}, headers=headers)
    assert r.status_code == 422 and "class_members" in r.get_json()["error"]["fields"]["kind"]

    web.login(ADMIN)
    page = client.get(f"/classes/{row.id}").get_data(as_text=True)
    assert 'action="/exports/class_members"' in page and f'name="class_id" value="{row.id}"' in page


def test_the_list_finds_the_classes_whose_results_are_still_to_be_reported(client, web):
    """筛选未上报培训成果的培训班 (manual 000 §2.1.2): an approved 暂不上报 class is unreported until its close writes
    the hours; a draft, a cancelled class and one whose grades are declared person by person are not listed as
    unreported; after the close the class is listed as reported. Page and API."""
    me = actor(ADMIN)
    draft = services.create(me, None, values(name="草稿班"))
    running = open_class_with(2, 1)
    cancelled = services.create(me, None, values(name="取消班"))
    approve(services.submit(me, cancelled.id).id)
    services.cancel(me, cancelled.id, "场地变更")
    declared = services.create(me, None, values(name="成绩申报班", report_mode="declare"))
    approve(services.submit(me, declared.id).id)
    db.session.commit()
    headers = api_token(client, ADMIN)

    def names(reported: str) -> set[str]:
        r = client.get(f"/api/v1/classes?reported={reported}&per_page=200", headers=headers)
        assert r.status_code == 200, r.get_json()
        return {c["name"] for c in r.get_json()["items"]}

    assert running.name in names("false")
    assert not {draft.name, cancelled.name, declared.name} & names("false")
    assert running.name not in names("true")
    services.close(me, running.id)
    db.session.commit()
    assert running.name not in names("false") and running.name in names("true")
    assert client.get("/api/v1/classes?reported=maybe", headers=headers).status_code == 422

    web.login(ADMIN)
    for query in ("reported=true", "reported=true&lang=en"):  # the language switch keeps the filters
        page = client.get(f"/classes/?{query}").get_data(as_text=True)
        assert running.name in page and "成绩申报班" not in page
        assert '<option value="true" selected>' in page


def test_the_workbench_counts_what_to_follow_up(client, web, declaration):
    """待跟踪 (manual 000 §四.1): a training workspace's workbench counts the classes whose results are still to be
    reported, linked to that list; a unit's counts its staff's credit-hour declarations under review."""
    import re as regex

    row = open_class_with(2, 1)
    web.login(ADMIN)

    def classes_count() -> int:
        html = client.get("/").get_data(as_text=True)
        found = regex.search(r'class="btn btn-outline-primary btn-sm wb-follow-classes" href="([^"]+)">(\d+)<', html)
        assert found, "no follow-up count of classes"
        assert "reported=false" in found[1]
        return int(found[2])

    assert classes_count() == 1
    services.close(actor(ADMIN), row.id)
    db.session.commit()
    assert classes_count() == 0

    workflow.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    hospital = client.application.test_client()
    from tests.conftest import WebClient

    WebClient(hospital).login("hospital_admin")
    html = hospital.get("/").get_data(as_text=True)
    assert regex.search(r'id="wb-follow-declarations" href="/credit-records\?scope=org&amp;status=pending">1<', html)
