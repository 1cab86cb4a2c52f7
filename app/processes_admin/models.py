"""Drafts of approval chains (流程草稿): an administrator's unfinished edit, kept on the server until it is
deployed or discarded. One draft per process (the province bureau owns each chain)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.models import utcnow
from app.extensions import db


class ProcessDraft(db.Model):
    __tablename__ = "process_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    #: The diagram as the editor (or the API) sent it: not checked, it may be half-done.
    bpmn_xml: Mapped[str] = mapped_column(Text, nullable=False)
    #: The version the draft was started from (None: unknown, e.g. uploaded through the API).
    base_version: Mapped[int | None] = mapped_column(Integer)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    saved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    saved_by: Mapped[User | None] = relationship()
