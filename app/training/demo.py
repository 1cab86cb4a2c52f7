"""Demo training workspace of 市继续教育学院 (``institute_admin``): courses, teachers, two professional subjects,
a training plan approved last year and one of this year waiting at the city bureau, last year's work summary
approved, so every page of 培训管理 has something to show. Idempotent: rows are looked up by their natural keys,
plans and reports by name."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts.actor import Actor
from app.accounts.models import Organisation, User
from app.extensions import db
from app.training import plans, reports
from app.training.models import AnnualReport, Teacher, TrainingCourse, TrainingPlan, TrainingSite, TrainingSubject
from app.workflow import attachments, services

INSTITUTE = "市继续教育学院"
SUBJECTS = ["卫生管理", "工程技术"]
#: (name, subject type, hours, content)
COURSES = [
    ("专业技术人员职业道德与诚信建设", "public", 6, "职业道德规范、诚信体系建设与案例"),
    ("数字经济与创新驱动发展", "public", 12, "数字经济政策与产业数字化转型"),
    ("医院质量与安全管理", "professional", 12, "医疗质量管理工具、不良事件管理"),
    ("智能制造技术前沿", "professional", 18, "工业互联网、智能产线与数字孪生"),
]
#: (name, ID number, gender, title, courses taught)
TEACHERS = [
    ("林晓岚", "350102197805120027", "女", "教授", ["专业技术人员职业道德与诚信建设", "数字经济与创新驱动发展"]),
    ("郑国栋", "350103197011250010", "男", "主任医师", ["医院质量与安全管理"]),
    ("黄志诚", "350104198203160037", "男", "正高级工程师", ["智能制造技术前沿"]),
]
SITES = [("学院本部培训楼", "site", "福州市鼓楼区五四路100号"), ("学院在线学习平台", "platform", "https://learn.example.cn")]


def _institute() -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.name == INSTITUTE))


def seed_catalogue() -> int:
    """The institute's catalogues; returns how many rows were added."""
    org = _institute()
    if org is None:
        return 0
    created = 0
    for name in SUBJECTS:
        if db.session.scalar(select(TrainingSubject.id).where(TrainingSubject.organisation_id == org.id,
                                                              TrainingSubject.name == name)) is None:
            db.session.add(TrainingSubject(organisation_id=org.id, name=name, enabled=True))
            created += 1
    courses: dict[str, TrainingCourse] = {}
    for name, subject_type, hours, content in COURSES:
        course = db.session.scalar(select(TrainingCourse).where(TrainingCourse.organisation_id == org.id,
                                                                TrainingCourse.name == name))
        if course is None:
            course = TrainingCourse(organisation_id=org.id, name=name, subject_type=subject_type, hours=hours,
                                    content=content)
            db.session.add(course)
            db.session.flush()
            created += 1
        courses[name] = course
    for name, id_number, gender, title, taught in TEACHERS:
        if db.session.scalar(select(Teacher.id).where(Teacher.organisation_id == org.id,
                                                      Teacher.id_number == id_number)) is None:
            db.session.add(Teacher(organisation_id=org.id, name=name, id_number=id_number, gender=gender, title=title,
                                   course_ids=[courses[c].id for c in taught], enabled=True))
            created += 1
    for name, kind, address in SITES:
        if db.session.scalar(select(TrainingSite.id).where(TrainingSite.organisation_id == org.id,
                                                           TrainingSite.name == name)) is None:
            db.session.add(TrainingSite(organisation_id=org.id, name=name, kind=kind, address=address))
            created += 1
    db.session.flush()
    return created


def _actor(login: str) -> Actor:
    return Actor.of(db.session.scalar(select(User).where(User.login == login)))


def seed_plans(today: date | None = None) -> int:
    """Last year's plan approved by the city bureau, and this year's waiting there, and last year's work summary;
    returns the plans and reports added."""
    org = _institute()
    if org is None:
        return 0
    year = (today or date.today()).year
    admin = _actor("institute_admin")
    subject = db.session.scalar(select(TrainingSubject).where(TrainingSubject.organisation_id == org.id,
                                                              TrainingSubject.name == "卫生管理"))
    course_ids = {c.name: c.id for c in db.session.scalars(select(TrainingCourse).where(
        TrainingCourse.organisation_id == org.id))}
    teacher_ids = {t.name: t.id for t in db.session.scalars(select(Teacher).where(Teacher.organisation_id == org.id))}
    added = 0
    for plan_year, approve in ((year - 1, True), (year, False)):
        name = f"{plan_year}年度卫生管理专业科目培训计划"
        if db.session.scalar(select(TrainingPlan.id).where(TrainingPlan.organisation_id == org.id,
                                                           TrainingPlan.name == name)) is not None:
            continue
        plan = plans.create(admin, org.id, {
            "year": plan_year, "name": name, "subject_type": "professional", "subject_id": subject.id,
            "notes": "全年举办两期，每期3天，面向全市医疗卫生机构专业技术人员",
            "courses": [{"course_id": course_ids["医院质量与安全管理"], "teacher_id": teacher_ids["郑国栋"]}]})
        instance = plans.submit(admin, plan.id)
        if approve:
            task = services.open_tasks(instance)[0]
            services.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=_actor("hr_city"))
        added += 1
    return added + _seed_report(org, admin, year - 1)


#: A one-page PDF standing in for the scanned summary.
_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _seed_report(org: Organisation, admin: Actor, year: int) -> int:
    """Last year's work summary, declared and approved by the city bureau."""
    name = f"{year}年度继续教育工作总结"
    if db.session.scalar(select(AnnualReport.id).where(AnnualReport.organisation_id == org.id,
                                                       AnnualReport.name == name)) is not None:
        return 0
    file = attachments.save_upload(FileStorage(io.BytesIO(_PDF), f"{name}.pdf"), actor=admin)
    report = reports.create(admin, org.id, {"year": year, "name": name, "notes": "含年度培训统计表",
                                            "attachment_ids": [file.id]})
    instance = reports.submit(admin, report.id)
    task = services.open_tasks(instance)[0]
    services.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=_actor("hr_city"))
    return 1
