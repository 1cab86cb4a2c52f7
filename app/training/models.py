"""A training institution's workspace (issue 13): its catalogues (courses, professional subjects, teachers,
training sites), its annual training plans and its annual reports.

Every row belongs to one organisation (a training institution, or a unit that trains its own staff). A plan or
a report is reviewed through a process instance (``instance_id``: the latest one); its state is read from that
instance (:mod:`app.training.queries`), so it never disagrees with the workflow.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin
from app.extensions import db

#: 科目类型: 公需科目 / 专业科目.
SUBJECT_TYPES = {"public": "公需科目", "professional": "专业科目"}
#: 培训对接: a place (培训场地) or an online platform (网络平台).
SITE_KINDS = {"site": "培训场地", "platform": "网络平台"}
GENDERS = ("男", "女")


class TrainingSubject(TimestampMixin, db.Model):
    """A professional subject (专业科目) an institution trains in; a disabled one is not offered for new plans."""

    __tablename__ = "training_subject"
    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_training_subject_org_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class TrainingCourse(TimestampMixin, db.Model):
    """A course of the catalogue (培训课程); deleted only while no plan uses it."""

    __tablename__ = "training_course"
    __table_args__ = (UniqueConstraint("organisation_id", "name", name="uq_training_course_org_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    hours: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False), nullable=False)
    content: Mapped[str | None] = mapped_column(Text)


class Teacher(TimestampMixin, db.Model):
    """A teacher (师资) of the institution; a disabled one is not offered for new plans."""

    __tablename__ = "training_teacher"
    __table_args__ = (UniqueConstraint("organisation_id", "id_number", name="uq_training_teacher_org_id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False)
    gender: Mapped[str | None] = mapped_column(String(4))
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(64))
    #: Ids of the catalogue's courses the teacher can teach.
    course_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    profile: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class TrainingSite(TimestampMixin, db.Model):
    """A training site or an online platform (培训对接)."""

    __tablename__ = "training_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    #: A street address for a site, a URL for a platform.
    address: Mapped[str | None] = mapped_column(String(300))
    contact: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))


class TrainingPlan(TimestampMixin, db.Model):
    """An annual training plan (年度培训计划 / 培训计划申报): a draft until submitted to
    ``training_plan_approval``; editable again when returned or withdrawn."""

    __tablename__ = "training_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("training_subject.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)

    subject: Mapped[TrainingSubject | None] = relationship()
    courses: Mapped[list[TrainingPlanCourse]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="TrainingPlanCourse.id")


class TrainingPlanCourse(db.Model):
    """A course of a plan, with the teacher who gives it."""

    __tablename__ = "training_plan_course"
    __table_args__ = (UniqueConstraint("plan_id", "course_id", name="uq_training_plan_course_plan_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plan.id"), nullable=False, index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"), nullable=False, index=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("training_teacher.id"), index=True)

    plan: Mapped[TrainingPlan] = relationship(back_populates="courses")
    course: Mapped[TrainingCourse] = relationship(lazy="joined")
    teacher: Mapped[Teacher | None] = relationship(lazy="joined")


class AnnualReport(TimestampMixin, db.Model):
    """An annual report / work summary (年审报告 / 年度工作总结); once declared it cannot be deleted."""

    __tablename__ = "training_annual_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)


class TrainingProfile(TimestampMixin, db.Model):
    """What a training institution tells about itself beside its registered fields (基本信息维护): its teaching
    facilities and its staffing; edited by its administrators."""

    __tablename__ = "training_profile"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), primary_key=True)
    #: 教学设施: classrooms, labs, equipment.
    facilities: Mapped[str | None] = mapped_column(Text)
    classrooms: Mapped[int | None] = mapped_column(Integer)
    seats: Mapped[int | None] = mapped_column(Integer)
    #: 人员配备.
    managers: Mapped[int | None] = mapped_column(Integer)
    full_time_teachers: Mapped[int | None] = mapped_column(Integer)
    part_time_teachers: Mapped[int | None] = mapped_column(Integer)
    staffing: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


#: A 学时 is 45 minutes; a training day counts at most 6 of them (Guangdong 004 §1.3.1).
HOURS_PER_DAY = 6

#: The teachers (授课教师) of a planned class.
course_plan_class_teacher = db.Table(
    "course_plan_class_teacher",
    db.Column("class_id", ForeignKey("course_plan_class.id", ondelete="CASCADE"), primary_key=True),
    db.Column("teacher_id", ForeignKey("training_teacher.id"), primary_key=True, index=True),
)
#: The subjects (培训科目) of a planned class.
course_plan_class_subject = db.Table(
    "course_plan_class_subject",
    db.Column("class_id", ForeignKey("course_plan_class.id", ondelete="CASCADE"), primary_key=True),
    db.Column("subject_id", ForeignKey("training_subject.id"), primary_key=True, index=True),
)


class CoursePlan(TimestampMixin, db.Model):
    """A professional-course plan (专业课计划申报, Guangdong 004 §1.3.1) of a unit or an institution: one course of
    its catalogue, planned over dates and sessions, with the classes it intends to open; sent to
    ``course_plan_approval`` (送审) it is locked until returned."""

    __tablename__ = "course_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: 培训天数; ``hours`` (继续教育学时) is at most :data:`HOURS_PER_DAY` per day.
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    hours: Mapped[float] = mapped_column(Numeric(6, 1, asdecimal=False), nullable=False)
    #: 拟办期数: how many times the course is to be given.
    sessions: Mapped[int] = mapped_column(Integer, nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    audience: Mapped[str] = mapped_column(Text, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)

    course: Mapped[TrainingCourse] = relationship(lazy="joined")
    classes: Mapped[list[CoursePlanClass]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="CoursePlanClass.id")


class CoursePlanClass(db.Model):
    """A class the plan intends to open (培训班情况): not a declared training class, only its plan."""

    __tablename__ = "course_plan_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("course_plan.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: 班主任, from the teachers of the catalogue.
    head_teacher_id: Mapped[int] = mapped_column(ForeignKey("training_teacher.id"), nullable=False, index=True)
    opening_date: Mapped[date] = mapped_column(Date, nullable=False)
    participants: Mapped[int] = mapped_column(Integer, nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)

    plan: Mapped[CoursePlan] = relationship(back_populates="classes")
    head_teacher: Mapped[Teacher] = relationship(lazy="joined")
    teachers: Mapped[list[Teacher]] = relationship(secondary=course_plan_class_teacher, order_by="Teacher.id")
    subjects: Mapped[list[TrainingSubject]] = relationship(secondary=course_plan_class_subject,
                                                           order_by="TrainingSubject.id")
