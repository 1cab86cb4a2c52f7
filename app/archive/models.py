"""The training archive: recognised credit hours (学时), one row per record, whatever produced it (a
declaration, a class, legacy data), and the stored annual verification results, one row per person and
year (lists filter on them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TimestampMixin, utcnow
from app.extensions import db

SUBJECT_TYPES = {"public": "公需科目", "professional": "专业科目", "elective": "选修"}
LEARNING_FORMS = {"face_to_face": "面授", "online": "网络", "conference": "学术会议", "other": "其他"}


class CreditRecord(TimestampMixin, db.Model):
    __tablename__ = "credit_record"
    __table_args__ = (
        UniqueConstraint("source", "source_id"),
        Index("ix_credit_record_person_year", "person_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    course_name: Mapped[str] = mapped_column(String(200), nullable=False)
    learning_form: Mapped[str | None] = mapped_column(String(32))
    declared_hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), nullable=False)
    recognised_hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), nullable=False)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    #: Training days when known (the daily cap of the annual rule applies to them).
    days: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    institution_name: Mapped[str | None] = mapped_column(String(200))
    #: declaration / class / grade / results_report
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    #: id of the source object (the process instance for a declaration).
    source_id: Mapped[int] = mapped_column(Integer, nullable=False)
    recognised_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    #: The training class the hours come from (source ``class`` / ``results_report`` / ``grade``).
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_class.id"), index=True)
    class_name: Mapped[str | None] = mapped_column(String(200))
    #: The online learning platform the hours were earned on (source ``online``).
    platform: Mapped[str | None] = mapped_column(String(100))


#: Source of archive records imported from an online learning platform's results (线上培训成果导入).
ONLINE_SOURCE = "online"


class OnlineResult(db.Model):
    """One passed online course of one person (网络学习成绩), imported once: the unique key person × platform ×
    course × year refuses the same result imported again (same file, a later file, a retried job). Its archive
    record is the ``CreditRecord`` with source ``online`` and ``source_id`` = this id."""

    __tablename__ = "online_result"
    __table_args__ = (
        UniqueConstraint(
            "person_id", "platform", "course_name", "year", name="uq_online_result_person_platform_course_year"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    platform: Mapped[str] = mapped_column(String(100), nullable=False)
    course_name: Mapped[str] = mapped_column(String(200), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), nullable=False)
    completed_on: Mapped[date] = mapped_column(Date, nullable=False)
    #: The institution or unit that imported it.
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class AnnualVerification(db.Model):
    __tablename__ = "annual_verification"
    __table_args__ = (
        UniqueConstraint("person_id", "year", name="uq_annual_verification_person_id_year"),
        Index("ix_annual_verification_year_verified", "year", "verified"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False)
    public_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False, default=Decimal("0"))
    professional_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False, default=Decimal("0"))
    elective_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False, default=Decimal("0"))
    total_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False, default=Decimal("0"))
    #: Chinese sentences saying what is still missing (empty when verified).
    missing: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    rule_name: Mapped[str | None] = mapped_column(String(200))
    #: sha256 of the DMN table the result came from.
    rule_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    verified_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class CreditDeclaration(db.Model):
    """Summary of one credit-hour declaration (学时申报) for the records lists: the fields they
    filter on, kept next to the process instance so no list deserializes a workflow."""

    __tablename__ = "credit_declaration"
    __table_args__ = (
        Index("ix_credit_declaration_person_year", "person_id", "year"),
        Index("ix_credit_declaration_unit_year", "unit_id", "year"),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    #: The person's employer unit when declared.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    declared_by_unit: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    subject_type: Mapped[str | None] = mapped_column(String(16))
    learning_form: Mapped[str | None] = mapped_column(String(32))
    course_name: Mapped[str | None] = mapped_column(String(200))
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    days: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
