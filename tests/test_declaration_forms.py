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
