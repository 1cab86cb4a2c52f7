"""Roles (named sets of permission modules), internal departments and forced password changes."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import TimestampMixin
from app.extensions import db


class AdminRole(TimestampMixin, db.Model):
    """A role of one organisation (e.g. "学时审核员" = {credit_review}), given to its sub-admins."""

    __tablename__ = "admin_role"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Keys of app.accounts.models.PERMISSION_MODULES.
    modules: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)


class Department(TimestampMixin, db.Model):
    """An internal department (内设部门) of an organisation; departments nest."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
