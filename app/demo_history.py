"""Demo history: last year's credit hours of the demo professionals, declared and approved through the real
credit-hour chain (so the archive, the annual verification and certificates have something to show).

Idempotent: a person who already has records for the year is left alone.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import User
from app.archive.models import CreditRecord
from app.credits.workflow_hooks import PROCESS_KEY
from app.extensions import db
from app.people.models import Person
from app.workflow import services

#: login → [(subject type, course, hours, days)]; chenshihui passes the default rule (90 h, 2/3 professional),
#: liuwenbin falls short, wangliping has no training at all.
COURSES = {
    "chenshihui": [
        ("public", "专业技术人员职业道德与诚信建设", 30, 5),
        ("professional", "急危重症救治新进展", 36, 6),
        ("professional", "医院感染防控实务", 24, 4),
    ],
    "liuwenbin": [
        ("professional", "临床检验质量管理", 24, 4),
    ],
}

#: the reviewers of each step, in chain order, for the hospital's staff
REVIEWERS = ("hospital_admin", "health_admin", "hr_city")


def _actor(login: str) -> Actor:
    return Actor.of(db.session.scalar(select(User).where(User.login == login)))


def seed_history(year: int | None = None) -> int:
    """Run the demo declarations of ``year`` (default: last year) through the chain; returns chains run."""
    year = year or date.today().year - 1
    chains = 0
    for login, courses in COURSES.items():
        applicant = _actor(login)
        person = db.session.scalar(select(Person).where(Person.user_id == applicant.id))
        if person is None or db.session.scalar(select(CreditRecord.id).where(
                CreditRecord.person_id == person.id, CreditRecord.year == year).limit(1)) is not None:
            continue
        start = date(year, 3, 2)
        for subject, course, hours, days in courses:
            end = start + timedelta(days=days - 1)
            instance = services.start_process(PROCESS_KEY, {
                "year": year, "subject_type": subject, "course_name": course, "learning_form": "face_to_face",
                "start_date": start.isoformat(), "end_date": end.isoformat(), "days": days, "hours": hours,
                "institution_name": "市继续教育学院", "location": "福州", "content": course,
                "assessment_result": "pass",
            }, actor=applicant)
            for reviewer in REVIEWERS:
                task = services.open_tasks(instance)[0]
                services.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=_actor(reviewer))
            chains += 1
            start = end + timedelta(days=30)
    return chains
