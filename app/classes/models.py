"""Training classes (培训班, issue 14): a face-to-face class an institution (or a unit training its own staff)
declares under one of its approved plans, runs (开班 / 结班 / 取消), enrols people into, takes attendance of and
grades; the hours of everyone who passed go into their archives as ``CreditRecord`` rows (``source="class"``,
``source_id`` = the enrolment), once.

The declaration is reviewed through ``training_class_approval`` (``instance_id``: the latest case); its review
state is read from that case, the lifecycle (``status``) is the class's own column."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin
from app.extensions import db
from app.training.models import CoursePlanClass

#: 成果上报: with the declaration (同步上报: approval records the hours), later (暂不上报: closing the class and the
#: results report record them without further approval), or by grade declaration (学员成绩申报, Henan: each
#: student's unit and then the HR bureau approve, ``grade_declaration``).
REPORT_MODES = {"sync": "同步上报", "later": "暂不上报", "declare": "学员成绩申报"}
#: The lifecycle after approval.
PLANNED, OPEN, CLOSED, CANCELLED = "planned", "open", "closed", "cancelled"
STATUS_LABELS = {PLANNED: "未开班", OPEN: "已开班", CLOSED: "已结班", CANCELLED: "已取消"}
RESULTS = {"pass": "合格", "fail": "不合格"}
ATTENDANCE = {"present": "出勤", "leave": "请假", "late": "迟到", "absent": "缺勤"}
#: The source of the archive records a class writes (app.archive.models.CreditRecord.source).
RECORD_SOURCE = "class"
#: The source of the archive records an approved grade declaration writes (``source_id``: the enrolment).
GRADE_RECORD_SOURCE = "grade"


class TrainingClass(TimestampMixin, db.Model):
    """A training class (培训班); editable while a draft or returned, then only its lifecycle moves."""

    __tablename__ = "training_class"
    __table_args__ = (
        Index("ix_training_class_org_year", "organisation_id", "year"),
        UniqueConstraint("course_plan_class_id", name="uq_training_class_course_plan_class_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: The approved plan it belongs to (required of a training institution).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("training_plan.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The professional subject (专业科目) of a professional class.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("training_subject.id"))
    #: The industry a public class is for (公需科目: 面向行业).
    audience: Mapped[str | None] = mapped_column(String(100))
    report_mode: Mapped[str] = mapped_column(String(8), nullable=False, default="later")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("training_site.id"))
    capacity: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PLANNED)
    #: The note of a cancellation (at most 50 characters).
    status_note: Mapped[str | None] = mapped_column(String(50))
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: When the hours were written to the archives (approval of a 同步上报 class, close or results report).
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: The class of an approved Guangdong professional-course plan it runs (专业课计划 → 培训班设置, 004 §1.4):
    #: approved with the plan (``instance_id`` is the plan's case), for the organisation's own staff only.
    course_plan_class_id: Mapped[int | None] = mapped_column(ForeignKey("course_plan_class.id"))
    #: The hours such a class gives (the plan's 继续教育学时, at most ``HOURS_PER_DAY`` a day of the class); None:
    #: the sum of its courses' hours.
    planned_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))

    course_plan_class: Mapped[CoursePlanClass | None] = relationship()

    courses: Mapped[list[ClassCourse]] = relationship(
        back_populates="training_class", cascade="all, delete-orphan", order_by="ClassCourse.id"
    )

    @property
    def hours(self) -> Decimal:
        if self.planned_hours is not None:
            return Decimal(str(self.planned_hours))
        return sum((Decimal(str(c.course.hours)) for c in self.courses), Decimal("0"))


class ClassCourse(db.Model):
    """A course of a class (from the catalogue), with the teacher who gives it."""

    __tablename__ = "training_class_course"
    __table_args__ = (UniqueConstraint("class_id", "course_id", name="uq_training_class_course_class_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), nullable=False, index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_course.id"), nullable=False, index=True)
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("training_teacher.id"))

    training_class: Mapped[TrainingClass] = relationship(back_populates="courses")
    course = relationship("TrainingCourse", lazy="joined")
    teacher = relationship("Teacher", lazy="joined")


class ClassMember(db.Model):
    """A person enrolled in a class (培训班人员), with their grades (成绩 / 考核结果)."""

    __tablename__ = "training_class_member"
    __table_args__ = (UniqueConstraint("class_id", "person_id", name="uq_training_class_member_class_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    enrolled_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    total_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    #: {course id (text): score} for the class's courses.
    subject_scores: Mapped[dict[str, float]] = mapped_column(JSON, nullable=False, default=dict)
    #: pass / fail (None until graded).
    result: Mapped[str | None] = mapped_column(String(8))
    actual_start: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: The latest grade declaration (``grade_declaration``) of this person's grades.
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)

    person = relationship("Person", lazy="joined")


class ClassSession(db.Model):
    """An attendance session (考勤) of a class: a time and a note."""

    __tablename__ = "training_class_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), nullable=False, index=True)
    held_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    note: Mapped[str | None] = mapped_column(String(200))


class AttendanceMark(db.Model):
    """One person's status in one session."""

    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("session_id", "member_id", name="uq_training_attendance_session_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_class_session.id"), nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("training_class_member.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
