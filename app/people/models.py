"""Professionals (专技人员): the professional profile, employed by one unit at a time."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
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

    unit: Mapped[Organisation | None] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(back_populates="person")
