"""The audit log table. Rows are only ever inserted: the application has no path that changes or removes one
(a flush that would is refused below) and on PostgreSQL a trigger refuses UPDATE and DELETE outright."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_organisation_id_id", "organisation_id", "id"),
        Index("ix_audit_entry_action_id", "action", "id"),
        Index("ix_audit_entry_actor_user_id_id", "actor_user_id", "id"),
    )

    #: Newest first is id order: lists page by id (keyset), never by offset.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    #: Plain ids, no foreign keys: an entry outlives what it names, and nothing may update it to NULL.
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    #: The actor's login name then (or what was typed at a failed sign-in).
    actor_login: Mapped[str | None] = mapped_column(String(64))
    #: The organisation the action concerns: who may read the entry (design §1 scope).
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    #: e.g. ``task.complete``, ``auth.sign_in_failed`` (labels: app.audit.services.ACTIONS).
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit_entry is append-only: entries cannot be changed or deleted")
