"""Counters that must hold across web processes and outlive the request that counts them: rate limits (the
``rate_limit`` table, fixed windows) and :func:`run_counter`, which also changes the lockout count of an
account and the tries of a verification code.

A counter changes by one atomic statement (a conditional ``UPDATE … RETURNING`` or an upsert), never by
reading and writing it back, so racing requests each get a different value. On PostgreSQL the statement
runs in a short transaction of its own, committed at once: the count survives the rollback of the action
it was counted for (a wrong password fails the action it was typed for), and the row lock is not held while
the request goes on (checking a password takes a while). SQLite has one writer at a time; there the
statement joins the request's transaction, and the caller commits after a failure too (the views do).
"""

from __future__ import annotations

import hashlib
import math
import threading
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, Engine, Integer, String, case, create_engine, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import utcnow
from app.extensions import db


class RateLimit(db.Model):
    """The current window of one rule and subject (a client address, an account, a mobile number)."""

    __tablename__ = "rate_limit"

    #: ``<rule>:<SHA-256 of the subject>``: no address, mobile number or login name is kept in clear.
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    #: Requests counted in the window.
    hits: Mapped[int] = mapped_column(Integer, nullable=False)
    #: When the window ends; the next request after it starts a new one. ``flask cleanup`` drops old rows.
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)


def counters_apart() -> bool:
    """True where counters change in a transaction of their own (PostgreSQL; see the module's docstring)."""
    return db.engine.dialect.name == "postgresql"


_ENGINE_LOCK = threading.Lock()


def _counter_engine() -> Engine:
    """The connections counters use on PostgreSQL: a small pool of their own, so a request that holds a
    connection of the main pool never waits for another one of that pool to count (with more threads than
    the pool has connections, every one of them would wait). A counter waits only for another short counter
    transaction, so a lock wait longer than a few seconds is a mistake: it fails instead of hanging."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    engine = app.extensions.get("counter_engine")
    if engine is None:
        with _ENGINE_LOCK:
            engine = app.extensions.get("counter_engine")
            if engine is None:
                engine = app.extensions["counter_engine"] = create_engine(
                    db.engine.url, pool_size=2, max_overflow=10, pool_pre_ping=True,
                    connect_args={"options": "-c lock_timeout=5s"})
    return engine


def run_counter(statement: Any) -> Row | None:
    """Run one counter statement as the module's docstring says; its first row, if it returns rows."""
    if counters_apart():
        with _counter_engine().begin() as conn:
            result = conn.execute(statement)
            return result.first() if result.returns_rows else None
    result = db.session.execute(statement)
    return result.first() if result.returns_rows else None


def limit(setting: str) -> tuple[int, int]:
    """A ``"count/seconds"`` setting (config.py): ``"20/300"`` → (20, 300), at most 20 in 5 minutes."""
    count, _, seconds = str(current_app.config[setting]).partition("/")
    return int(count), int(seconds)


def _key(rule: str, subject: str) -> str:
    return f"{rule}:{hashlib.sha256(subject.encode()).hexdigest()[:40]}"


def hit(rule: str, subject: str, most: int, seconds: int) -> int | None:
    """Count one request of ``subject`` under ``rule``: at most ``most`` in a window of ``seconds`` that
    starts with the first request. None while within the limit; else the seconds until the window ends
    (the caller refuses the request with :class:`app.core.errors.RateLimited`)."""
    now = utcnow()
    table = RateLimit.__table__
    insert = (pg_insert if counters_apart() else sqlite_insert)(table).values(
        key=_key(rule, subject), hits=1, expires_at=now + timedelta(seconds=seconds))
    ended = table.c.expires_at <= now
    statement = insert.on_conflict_do_update(index_elements=[table.c.key], set_={
        "hits": case((ended, 1), else_=table.c.hits + 1),
        "expires_at": case((ended, insert.excluded.expires_at), else_=table.c.expires_at),
    }).returning(table.c.hits, table.c.expires_at)
    row = run_counter(statement)
    assert row is not None  # an upsert always returns its row
    hits, ends = row
    if hits <= most:
        return None
    return max(1, math.ceil((ends - now).total_seconds()))


def give_back(rule: str, subject: str) -> None:
    """Take back one request counted by :func:`hit` (a limit that counts only failures: this one succeeded)."""
    table = RateLimit.__table__
    run_counter(update(table).where(table.c.key == _key(rule, subject), table.c.hits > 0)
                .values(hits=table.c.hits - 1))


def minutes(seconds: int) -> int:
    """Whole minutes to wait, rounded up (for messages)."""
    return max(1, math.ceil(seconds / 60))


def purge_expired(now: datetime) -> int:
    """Drop the windows that have ended (``flask cleanup``); the caller commits."""
    return db.session.execute(delete(RateLimit).where(RateLimit.expires_at <= now)).rowcount or 0
