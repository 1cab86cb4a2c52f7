"""Continuing-education certificates (继续教育证书): one row per issued number.

A row is a snapshot of what was printed, so the verification page and a re-download show
exactly the issued certificate even when hours change later. At most one certificate per
person and year is current (``status = 'valid'``); reissuing revokes the previous one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import TimestampMixin
from app.extensions import db
from app.people.models import Person

VALID = "valid"
REVOKED = "revoked"


class Certificate(TimestampMixin, db.Model):
    __tablename__ = "certificate"
    __table_args__ = (
        Index("ix_certificate_person_year", "person_id", "year"),
        # One current certificate per person and year (a concurrent second issue fails here).
        Index("uq_certificate_current", "person_id", "year", unique=True,
              sqlite_where=text("status = 'valid'"), postgresql_where=text("status = 'valid'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    #: valid / revoked
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=VALID)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False)
    unit_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    issuer_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    public_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False)
    professional_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False)
    elective_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False)
    total_hours: Mapped[Decimal] = mapped_column(Numeric(7, 1), nullable=False)
    result_label: Mapped[str] = mapped_column(String(16), nullable=False)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: The certificate that replaced this one on reissue.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))

    person: Mapped[Person] = relationship()

    @property
    def is_current(self) -> bool:
        return self.status == VALID
