"""Professionals (专技人员): the professional profile, employed by one unit at a time."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, column, table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.core.models import TimestampMixin
from app.extensions import db


class Person(TimestampMixin, db.Model):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: GB 11643 ID number, upper-case X.
    id_number: Mapped[str] = mapped_column(String(18), unique=True, nullable=False)
    gender: Mapped[str | None] = mapped_column(String(8))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    title_series: Mapped[str | None] = mapped_column(String(100))
    title_level: Mapped[str | None] = mapped_column(String(32))
    education: Mapped[str | None] = mapped_column(String(32))
    major: Mapped[str | None] = mapped_column(String(100))
    work_start_date: Mapped[date | None] = mapped_column(Date)
    #: The Guangdong fields (人员信息): birth date is derived from the ID number and must agree with it.
    birth_date: Mapped[date | None] = mapped_column(Date)
    ethnicity: Mapped[str | None] = mapped_column(String(32))
    native_place: Mapped[str | None] = mapped_column(String(100))
    degree: Mapped[str | None] = mapped_column(String(32))
    school: Mapped[str | None] = mapped_column(String(100))
    graduation_date: Mapped[date | None] = mapped_column(Date)
    qualification_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    #: The internal department (内设部门) of the unit the person works in.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)

    unit: Mapped[Organisation | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(back_populates="person")


#: The internal departments (app.orgadmin.models.Department) read as a table: people does not import orgadmin,
#: which imports people.
department_table = table("department", column("id"), column("organisation_id"), column("name"), column("status"))

BIND_PENDING, BIND_APPROVED, BIND_REJECTED = "pending", "approved", "rejected"


class BindRequest(TimestampMixin, db.Model):
    """专业技术人员信息确认: a person asks to be bound to a unit; the unit answers 是 / 否."""

    __tablename__ = "bind_request"
    __table_args__ = (Index("ix_bind_request_unit_status", "unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=BIND_PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    person: Mapped[Person] = relationship(lazy="joined")
    unit: Mapped[Organisation] = relationship(lazy="joined")
