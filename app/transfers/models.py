"""Transfers of professionals between units (人员调转): one row per transfer case, next to its process instance.

The lists (transfer-in waiting, transfer-out waiting, transfer records) read this table joined with
``process_instance`` (its status is the transfer's state); nothing here deserializes a workflow."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation
from app.extensions import db
from app.people.models import Person


class PersonnelTransfer(db.Model):
    __tablename__ = "personnel_transfer"
    __table_args__ = (
        Index("ix_personnel_transfer_from_unit", "from_unit_id", "instance_id"),
        Index("ix_personnel_transfer_to_unit", "to_unit_id", "instance_id"),
    )

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), nullable=False, index=True)
    #: The unit the person leaves (调出单位), as at the start.
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: The unit the person joins (调入单位).
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: The date the transfer takes effect, as the old unit states it.
    transfer_date: Mapped[date | None] = mapped_column(Date)
    remarks: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    #: When the person was moved to the new unit (the target unit confirmed); null until then.
    moved_at: Mapped[datetime | None] = mapped_column(DateTime)

    person: Mapped[Person] = relationship()
    from_unit: Mapped[Organisation] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Organisation] = relationship(foreign_keys=[to_unit_id])
