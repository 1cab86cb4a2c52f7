"""Demo training classes of 市继续教育学院 (``institute_admin``) under its approved plan of last year (after its
catalogue and plans, ``app.training.demo``): one class closed with the hours of its participants in their
archives, one open with enrolled people and attendance, and one class declaration waiting in the city bureau's
inbox (``hr_city``). Idempotent: classes are looked up by name."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, User
from app.classes import services
from app.classes.models import TrainingClass
from app.extensions import db
from app.people.models import Person
from app.training import queries as plan_queries
from app.training.models import TrainingCourse, TrainingPlan, TrainingSite
from app.workflow import services as workflow

INSTITUTE = "市继续教育学院"


def _actor(login: str) -> Actor:
    return Actor.of(db.session.scalar(select(User).where(User.login == login)))


def _approve(instance_id: int) -> None:
    from app.workflow.models import ProcessInstance

    [task] = workflow.open_tasks(db.session.get(ProcessInstance, instance_id))
    workflow.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=_actor("hr_city"))


def _people(*names: str) -> list[str]:
    """Their ID numbers: an institution enrols people of other units by their full ID number."""
    return list(db.session.scalars(select(Person.id_number).where(Person.name.in_(names)).order_by(Person.id)))


def seed_classes(today: date | None = None) -> int:
    """The demo classes; returns how many were added."""
    org = db.session.scalar(select(Organisation).where(Organisation.name == INSTITUTE))
    if org is None:
        return 0
    today = today or date.today()
    year = today.year
    admin = _actor("institute_admin")
    last_plan = db.session.scalar(
        select(TrainingPlan).where(TrainingPlan.organisation_id == org.id, TrainingPlan.year == year - 1)
    )
    if last_plan is None or plan_queries.state_of(last_plan) != plan_queries.APPROVED:
        return 0
    courses = {
        c.name: c for c in db.session.scalars(select(TrainingCourse).where(TrainingCourse.organisation_id == org.id))
    }
    site = db.session.scalar(
        select(TrainingSite).where(TrainingSite.organisation_id == org.id, TrainingSite.kind == "site")
    )
    added = 0

    def declare(
        name: str, plan: TrainingPlan, course: str, start: date, *, submit: bool = True
    ) -> TrainingClass | None:
        nonlocal added
        if (
            db.session.scalar(
                select(TrainingClass.id).where(TrainingClass.organisation_id == org.id, TrainingClass.name == name)
            )
            is not None
        ):
            return None
        row = services.create(
            admin,
            org.id,
            {
                "plan_id": plan.id,
                "year": plan.year,
                "name": name,
                "subject_type": plan.subject_type,
                "subject_id": plan.subject_id,
                "audience": "全市专业技术人员" if plan.subject_type == "public" else None,
                "report_mode": "later",
                "start_date": start,
                "end_date": start + timedelta(days=2),
                "site_id": site.id if site else None,
                "capacity": 60,
                "notes": "面授培训，三天",
                "attachment_ids": [],
                "courses": [{"course_id": courses[course].id, "teacher_id": None}],
            },
        )
        added += 1
        if submit:
            services.submit(admin, row.id)
        return row

    # last year's class: approved, opened, graded and closed; the hours are in the participants' archives
    closed = declare(
        f"{year - 1}年医院质量与安全管理培训班（第一期）", last_plan, "医院质量与安全管理", date(year - 1, 9, 15)
    )
    if closed is not None:
        _approve(closed.instance_id)
        services.open_class(admin, closed.id)
        services.enrol(admin, closed.id, [], id_numbers=_people("刘文斌", "王立平"))
        for m in services.queries.members(closed.id):
            services.set_grade(
                admin,
                closed.id,
                m.id,
                {
                    "total_score": 88,
                    "result": "pass",
                    "subject_scores": {str(courses["医院质量与安全管理"].id): 88},
                    "actual_start": closed.start_date,
                    "actual_end": closed.end_date,
                },
            )
        services.close(admin, closed.id)
    # a second class open with people and attendance, a third waiting for the city bureau's review
    running = declare(
        f"{year - 1}年医院质量与安全管理培训班（第二期）", last_plan, "医院质量与安全管理", date(year - 1, 11, 10)
    )
    if running is not None:
        _approve(running.instance_id)
        services.open_class(admin, running.id)
        services.enrol(admin, running.id, [], id_numbers=_people("陈诗慧", "刘文斌", "王立平"))
        members = services.queries.members(running.id)
        session = services.add_session(admin, running.id, datetime.combine(running.start_date, time(9)), "第一天上午")
        services.mark(
            admin,
            running.id,
            session.id,
            {m.id: s for m, s in zip(members, ("present", "late", "leave"), strict=False)},
        )
    declare(f"{year - 1}年医院质量与安全管理培训班（第三期）", last_plan, "医院质量与安全管理", date(year - 1, 12, 8))
    db.session.flush()
    return added
