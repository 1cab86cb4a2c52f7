"""Dishonesty records (失信信息): one row per entry, never edited after saving; revoking keeps the entry and
adds who revoked it, when and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Organisation, User
from app.core.models import TimestampMixin
from app.extensions import db

PERSON, ORGANISATION = "person", "organisation"
#: 失信人类型
SUBJECT_TYPES = {PERSON: "个人", ORGANISATION: "单位"}
ACTIVE, REVOKED = "active", "revoked"
STATUS_LABELS = {ACTIVE: "有效", REVOKED: "已撤销"}


class DishonestyEntry(TimestampMixin, db.Model):
    __tablename__ = "dishonesty_entry"
    __table_args__ = (
        Index("ix_dishonesty_entry_subject_org_id_created_at", "subject_org_id", "created_at"),
        Index("ix_dishonesty_entry_person_id_status", "person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: person / organisation (失信人类型)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    #: 失信人名称, as it was when recorded.
    subject_name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The professional, for a person entry.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    #: The organisation the entry is recorded against: the organisation itself, or the person's unit when
    #: recorded. Who sees the entry follows from it (that organisation and those above it).
    subject_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False)
    #: 失信内容
    content: Mapped[str] = mapped_column(Text, nullable=False)
    #: The organisation that recorded it (操作单位) and the user (操作人); ``created_at`` is 操作时间.
    recorded_by_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), nullable=False, index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: active / revoked
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=ACTIVE)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    subject_org: Mapped[Organisation] = relationship(foreign_keys=[subject_org_id], lazy="joined")
    recorded_by_org: Mapped[Organisation] = relationship(foreign_keys=[recorded_by_org_id], lazy="joined")
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id], lazy="joined")
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE
