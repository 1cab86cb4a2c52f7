"""Recognised credit hours (学时), one row per recognised record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TimestampMixin
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
