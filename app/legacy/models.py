"""The old system's data as loaded (``flask legacy-import``): units, their people, yearly records and
certificate numbers. A unit claims an old unit (历史数据绑定); its people then become the unit's
professionals and their records enter the archive (``credit_record.source = 'legacy'``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation
from app.core.models import TimestampMixin
from app.extensions import db

#: How an old unit was claimed: the current unit's own name and code matched, 方案一 (old name and code),
#: 方案二 (three known people).
CLAIM_METHODS = {
    "direct": "单位名称与代码一致",
    "unit_code": "方案一：旧系统单位名称与代码",
    "people": "方案二：三名旧系统学员",
}


class LegacyUnit(TimestampMixin, db.Model):
    __tablename__ = "legacy_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The old system's unit code (组织机构代码 or 统一社会信用代码).
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    claimed_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: direct / unit_code / people (:data:`CLAIM_METHODS`)
    claim_method: Mapped[str | None] = mapped_column(String(16))

    claimed_by_org: Mapped[Organisation | None] = relationship()


class LegacyPerson(TimestampMixin, db.Model):
    __tablename__ = "legacy_person"
    __table_args__ = (UniqueConstraint("legacy_unit_id", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    legacy_unit_id: Mapped[int] = mapped_column(ForeignKey("legacy_unit.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    #: The professional the record became when claimed.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)

    legacy_unit: Mapped[LegacyUnit] = relationship(lazy="joined")


class LegacyRecord(db.Model):
    """One yearly record of the old system (2017 and earlier)."""

    __tablename__ = "legacy_record"
    __table_args__ = (UniqueConstraint("legacy_person_id", "year", "subject_type", "course_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    legacy_person_id: Mapped[int] = mapped_column(ForeignKey("legacy_person.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    #: public / professional / elective
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    course_name: Mapped[str] = mapped_column(String(200), nullable=False)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), nullable=False)


class LegacyCertificate(db.Model):
    """A certificate number the old system issued for a person's year; printed with its hours from that
    year's legacy records."""

    __tablename__ = "legacy_certificate"
    __table_args__ = (UniqueConstraint("legacy_person_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    legacy_person_id: Mapped[int] = mapped_column(ForeignKey("legacy_person.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)

    legacy_person: Mapped[LegacyPerson] = relationship(lazy="joined")
