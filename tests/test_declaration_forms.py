"""The declaration asks for what the chosen form of learning needs (Shandong 001 §5.2.1, Henan 003):
a conference its name and organiser, online learning its platform, face-to-face learning its days; the
revision form asks the same only when resubmitting, never when withdrawing."""

from __future__ import annotations

from app.workflow.forms import load_form, validate
from app.workflow.webforms import required_fields

BASE = {"year": 2026, "subject_type": "professional", "course_name": "学术年会", "start_date": "2026-05-10",
        "end_date": "2026-05-11", "hours": 12, "assessment_result": "pass"}


def test_each_form_of_learning_requires_its_own_fields() -> None:
    form = load_form("credit_hour_declaration.schema.json")
    errors = validate(form, {**BASE, "learning_form": "conference"})
    assert {k: errors.get(k) for k in ("conference_name", "organiser", "days")} == dict.fromkeys(
        ("conference_name", "organiser", "days"), "此项为必填项")
    assert "platform" not in errors and "paper_title" not in errors  # the paper is optional
    assert validate(form, {**BASE, "learning_form": "conference", "conference_name": "全国急诊医学年会",
                           "organiser": "中华医学会", "days": 2}) == {}
    assert set(validate(form, {**BASE, "learning_form": "online"})) == {"platform"}
    assert validate(form, {**BASE, "learning_form": "online", "platform": "国家专技人员继续教育网"}) == {}
    assert set(validate(form, {**BASE, "learning_form": "face_to_face"})) == {"days"}
    assert "conference_name" in required_fields(form) and "platform" in required_fields(form)


def test_the_revision_asks_for_them_only_when_resubmitting() -> None:
    form = load_form("credit_hour_revision.schema.json")
    data = {**BASE, "learning_form": "conference"}
    assert set(validate(form, {**data, "action": "resubmit"})) == {"conference_name", "organiser", "days"}
    assert validate(form, {**data, "action": "withdraw"}) == {}
    assert validate(form, {"action": "withdraw"}) == {}


def test_a_unit_finds_its_staff_by_name_or_id_number(app) -> None:
    from tests.webutil import browser

    hospital = browser(app, "hospital_admin")
    found = hospital.client.get("/declare/people?q=刘").get_json()
    assert found == [{"id_number": "321101198110166954", "name": "刘文斌", "unit": "市第一人民医院"}]
    assert [p["name"] for p in hospital.client.get("/declare/people?q=1101").get_json()] == ["陈诗慧"]
    assert hospital.client.get("/declare/people?q=王").get_json() == []  # 王立平 works for another unit
    page = hospital.client.get("/declare").get_data(as_text=True)
    assert 'list="f-person_id_number-options"' in page and 'data-person-search="/declare/people"' in page
    # a professional declares for themself: nobody is offered
    assert browser(app, "chenshihui").client.get("/declare/people?q=刘").get_json() == []
