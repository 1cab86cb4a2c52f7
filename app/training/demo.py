"""Demo training workspace of 市继续教育学院 (``institute_admin``): courses, teachers, two professional subjects,
a training plan approved last year and one of this year waiting at the city bureau, last year's work summary
approved, so every page of 培训管理 has something to show; and 市第一人民医院's professional-course plans
(Guangdong 专业课计划申报), one approved by 市卫生健康委员会 and one waiting there. Idempotent: rows are looked up
by their natural keys, plans and reports by name."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.accounts.actor import Actor
from app.accounts.models import Organisation, User
from app.extensions import db
from app.training import course_plans, plans, reports
from app.training.models import (
    AnnualReport,
    CoursePlan,
    Teacher,
    TrainingCourse,
    TrainingPlan,
    TrainingSite,
    TrainingSubject,
)
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


# --------------------------------------------------------------------------- Guangdong professional-course plans

HOSPITAL = "市第一人民医院"
#: The hospital trains its own staff: its catalogue for the professional-course plans (专业课计划申报).
HOSPITAL_SUBJECTS = ["急诊医学", "重症医学"]
HOSPITAL_COURSE = ("急危重症救治新进展", "professional", 12, "急诊急救流程、重症监护与多学科协作")
#: (name, ID number, gender, title)
HOSPITAL_TEACHERS = [("陈建华", "350102197506180015", "男", "主任医师"),
                     ("吴丽萍", "350103198107220026", "女", "副主任医师")]


def seed_course_plans(today: date | None = None) -> int:
    """The hospital's catalogue and two professional-course plans: last year's approved by its industry department
    (市卫生健康委员会), this year's waiting there. Returns the rows added (catalogue rows and plans)."""
    hospital = db.session.scalar(select(Organisation).where(Organisation.name == HOSPITAL))
    if hospital is None:
        return 0
    added = 0
    subjects = []
    for name in HOSPITAL_SUBJECTS:
        subject = db.session.scalar(select(TrainingSubject).where(TrainingSubject.organisation_id == hospital.id,
                                                                  TrainingSubject.name == name))
        if subject is None:
            subject = TrainingSubject(organisation_id=hospital.id, name=name, enabled=True)
            db.session.add(subject)
            added += 1
        subjects.append(subject)
    name, subject_type, hours, content = HOSPITAL_COURSE
    course = db.session.scalar(select(TrainingCourse).where(TrainingCourse.organisation_id == hospital.id,
                                                            TrainingCourse.name == name))
    if course is None:
        course = TrainingCourse(organisation_id=hospital.id, name=name, subject_type=subject_type, hours=hours,
                                content=content)
        db.session.add(course)
        added += 1
    db.session.flush()
    teachers = []
    for name, id_number, gender, title in HOSPITAL_TEACHERS:
        teacher = db.session.scalar(select(Teacher).where(Teacher.organisation_id == hospital.id,
                                                          Teacher.id_number == id_number))
        if teacher is None:
            teacher = Teacher(organisation_id=hospital.id, name=name, id_number=id_number, gender=gender,
                              title=title, course_ids=[course.id], enabled=True)
            db.session.add(teacher)
            added += 1
        teachers.append(teacher)
    db.session.flush()
    admin = _actor("hospital_admin")
    year = (today or date.today()).year
    for plan_year, approve in ((year - 1, True), (year, False)):
        plan_name = f"{plan_year}年急危重症救治专业课计划"
        if db.session.scalar(select(CoursePlan.id).where(CoursePlan.organisation_id == hospital.id,
                                                         CoursePlan.name == plan_name)) is not None:
            continue
        ids = []
        if approve:
            ids = [attachments.save_upload(FileStorage(io.BytesIO(_PDF), f"{plan_name}.pdf"), actor=admin).id]
        plan = course_plans.create(admin, hospital.id, {
            "course_id": course.id, "name": plan_name, "days": 2, "hours": 12, "sessions": 2,
            "start_date": date(plan_year, 3, 1), "end_date": date(plan_year, 11, 30),
            "content": "急诊急救流程、重症监护技术与多学科协作救治", "audience": "本院急诊科、重症医学科医师和护士",
            "attachment_ids": ids})
        for number, month in ((1, 4), (2, 10)):
            course_plans.add_class(admin, plan.id, {
                "name": f"{plan_year}年第{number}期", "head_teacher_id": teachers[0].id,
                "opening_date": date(plan_year, month, 10), "participants": 40, "days": 2,
                "teacher_ids": [t.id for t in teachers], "subject_ids": [s.id for s in subjects]})
        instance = course_plans.submit(admin, plan.id)
        if approve:
            task = services.open_tasks(instance)[0]
            services.complete_task(task.id, {"outcome": "approve", "comment": "同意"}, actor=_actor("health_admin"))
        added += 1
    return added
