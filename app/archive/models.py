"""Stored annual verification results, one row per person and year (lists filter on them)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import utcnow
from app.extensions import db


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
