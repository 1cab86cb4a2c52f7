"""Archive pages: own archive, org search, recount button, pre-check page, records lists, CLI."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.archive import services as archive
from app.archive.models import CreditRecord
from app.extensions import db
from app.people.models import Person
from tests.conftest import not_passed

CHEN = "110101199003072711"


def chen() -> Person:
    return db.session.scalar(select(Person).where(Person.id_number == CHEN))


def add(subject: str, hours: str, source_id: int, days: str | None = None) -> None:
    db.session.add(CreditRecord(person_id=chen().id, year=2026, subject_type=subject, course_name=f"课程{source_id}",
                                declared_hours=Decimal(hours), recognised_hours=Decimal(hours),
                                days=Decimal(days) if days else None, source="class", source_id=source_id))
    db.session.commit()


def test_person_sees_own_archive_and_recounts(web):
    add("professional", "24", 1, days="3")
    web.login("chenshihui")
    html = web.client.get("/archive?year=2026").get_data(as_text=True)
    assert "培训档案" in html and not_passed("72") in html
    assert "总学时还差72学时" in html and "按日上限" in html and "培训班结业" in html
    assert "本年度尚未统计" in html
    r = web.post_form("/archive?year=2026", {"year": "2026"}, post_url="/archive/recount", follow_redirects=True)
    assert r.status_code == 200 and f"已重新统计 2026 年度学时：{not_passed('72')}" in r.get_data(as_text=True)
    assert archive.stored_verification(chen(), 2026).total_hours == 18
    html = web.client.get("/archive?year=2025").get_data(as_text=True)
    # a year before chenshihui registered, without records: not judged, nothing said to be missing
    assert "不作验证（注册前年度）" in html and "不合格" not in html and "总学时还差" not in html
    assert web.client.get("/archive/search").status_code == 403


def test_org_search_page_filters_and_links_to_archives(web):
    add("professional", "60", 1)
    add("public", "30", 2)
    web.login("hospital_admin")
    r = web.post_form("/archive/search?year=2026", {"year": "2026", "all": "1"}, post_url="/archive/recount",
                      follow_redirects=True)
    assert "已重新统计 2026 年度 2 人的学时" in r.get_data(as_text=True)
    html = web.client.get("/archive/search?year=2026&verified=yes").get_data(as_text=True)
    assert "陈诗慧" in html and "刘文斌" not in html and "1101**********2711" in html
    html = web.client.get("/archive/search?year=2026&verified=no&gender=男").get_data(as_text=True)
    assert "刘文斌" in html and "陈诗慧" not in html
    html = web.client.get(f"/archive?person_id_number={CHEN}&year=2026").get_data(as_text=True)
    assert "陈诗慧" in html and "合格" in html
    r = web.client.get("/archive?year=2026")
    assert r.status_code == 302 and "/archive/search?year=2026" in r.headers["Location"]


def test_archive_of_a_person_outside_scope_is_404(web):
    web.login("tech_admin")
    assert web.client.get(f"/archive?person_id_number={CHEN}&year=2026").status_code == 404


def test_precheck_page(web):
    add("professional", "60", 1)
    web.login("chenshihui")
    r = web.post_form("/archive/precheck", {"year": "2026", "subject_type": "public", "hours": "40", "days": "5"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "可计入" in html and "<strong>30</strong>" in html and "申报通过后，本年度学时将达到要求" in html
    r = web.post_form("/archive/precheck", {"year": "2026", "subject_type": "public", "hours": ""})
    assert r.status_code == 422 and "请填写" in r.get_data(as_text=True)


def test_records_page_shows_unit_declarations(web, declaration):
    web.login("hospital_admin")
    from app.workflow import services as wf
    from tests.conftest import actor

    wf.start_process("credit_hour_approval", {**declaration, "person_id_number": "321101198110166954",
                                              "course_name": "单位代报课程"}, actor=actor("hospital_admin"))
    db.session.commit()
    html = web.client.get("/credit-records").get_data(as_text=True)
    assert "单位申报记录" in html and "单位代报课程" in html and "单位代报" in html
    html = web.client.get("/credit-records?scope=unit&status=approved").get_data(as_text=True)
    assert "单位代报课程" not in html


def test_cli_recount(app):
    add("professional", "60", 1)
    add("public", "30", 2)
    result = app.test_cli_runner().invoke(args=["archive", "recount", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "verified 3 person(s) for 2026" in result.output
    db.session.expire_all()
    assert archive.stored_verification(chen(), 2026).verified
    result = app.test_cli_runner().invoke(args=["archive", "recount", "--year", "2026", "--id-number", "1"])
    assert result.exit_code != 0


def test_declaration_page_offers_the_precheck_inline(web):
    add("professional", "80", 1)
    web.login("chenshihui")
    html = web.client.get("/declare").get_data(as_text=True)
    assert 'id="precheck-btn"' in html and "学时预检" in html
    r = web.client.get("/archive/precheck?format=json&year=2026&subject_type=public&hours=10&days=1")
    body = r.get_json()
    assert r.status_code == 200 and body["credited_hours"] == 6 and body["capped"] is True
    assert body["verified_after"] is False and body["hours_after"]["total"] == 86
    assert body["missing_after"] == ["总学时还差4学时（已计入86学时，要求不少于90学时）"]
    r = web.client.get("/archive/precheck?format=json&year=2026&hours=-1")
    assert r.status_code == 422 and "hours" in r.get_json()["error"]["fields"]


def test_recount_job_works_in_batches_within_scope(app, as_user):
    from app.archive.jobs import recount_job

    add("professional", "60", 1)
    add("public", "30", 2)
    assert recount_job(2026, as_user("hospital_admin").id, batch=1) == 2
    assert recount_job(2026, as_user("hr_district").id, batch=1) == 1
    db.session.expire_all()
    assert archive.stored_verification(chen(), 2026).verified


def test_cli_check_rule(app, tmp_path):
    from app.workflow.decisions import decisions_dir

    result = app.test_cli_runner().invoke(args=["archive", "check-rule", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "min_total: 90" in result.output and "professional_ratio: 2/3" in result.output
    bad = tmp_path / "bad.dmn"
    text = (decisions_dir() / "annual_verification.dmn").read_text(encoding="utf-8")
    bad.write_text(text.replace("<text>90</text>", "<text>open('x')</text>"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["archive", "check-rule", str(bad)])
    assert result.exit_code == 1 and "rule_default_total" in result.output


def test_every_org_that_sees_a_declaration_in_the_archive_can_open_it(web, declaration):
    """The archive's and the records list's links to a declaration open for the unit and every bureau above it."""
    from app.workflow import services as wf
    from tests.conftest import actor

    inst = wf.start_process("credit_hour_approval", {**declaration, "course_name": "链接课程"},
                            actor=actor("chenshihui"))
    db.session.commit()
    for login in ("hospital_admin", "health_admin", "hr_city"):
        (task,) = wf.open_tasks(inst)
        wf.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()
    link = f'href="/applications/{inst.id}"'
    for login in ("chenshihui", "hospital_admin", "health_admin", "hr_city", "hr_province"):
        with web.client.session_transaction() as sess:
            sess.clear()
        web.login(login)
        page = "/archive?year=2026" if login == "chenshihui" else f"/archive?person_id_number={CHEN}&year=2026"
        html = web.client.get(page).get_data(as_text=True)
        assert "链接课程" in html and link in html, login
        if login != "chenshihui":
            html = web.client.get("/credit-records?scope=org").get_data(as_text=True)
            assert link in html, login
        r = web.client.get(f"/applications/{inst.id}")
        assert r.status_code == 200 and "链接课程" in r.get_data(as_text=True), login
    with web.client.session_transaction() as sess:
        sess.clear()
    web.login("hr_district")  # a bureau beside the chain: neither the archive nor the declaration
    assert web.client.get(f"/archive?person_id_number={CHEN}&year=2026").status_code == 404
    assert web.client.get(f"/applications/{inst.id}").status_code == 404
