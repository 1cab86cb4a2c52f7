"""Shared set-up for the benchmarks: apps on a fresh database, demo actors, query counting."""

from __future__ import annotations

import logging
import os
import platform
import re
import statistics
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url

from app import create_app
from app.accounts.actor import Actor
from app.accounts.models import User
from app.extensions import db
from config import TestConfig

DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/cepp_bench")

#: A credit-hour declaration as the start form posts it (same as tests/conftest.py).
DECLARATION: dict = {
    "year": 2026,
    "subject_type": "professional",
    "course_name": "急诊医学新进展",
    "learning_form": "face_to_face",
    "start_date": "2026-03-01",
    "end_date": "2026-03-03",
    "days": 3,
    "hours": 18,
    "institution_name": "市继续教育学院",
    "location": "福州",
    "content": "急诊医学培训",
    "assessment_result": "pass",
}


def _one_line(exc: BaseException) -> str:
    return re.sub(r"\s+", " ", str(exc))[:200]


def ensure_pg_database(url: str) -> str | None:
    """Create the database of ``url`` when it is missing. None when it answers, else the reason."""
    target = make_url(url)
    try:
        admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        admin.dispose()
        eng = create_engine(target)
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return _one_line(exc)
    return None


def app_on(url: str) -> Flask:
    """An app on the database at ``url`` as it is (the test settings, but not in testing mode)."""

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        TESTING = False

    return create_app(BenchConfig)


def make_app(url: str) -> Flask:
    """An app on ``url`` with a freshly migrated schema and the demo seed committed.

    On PostgreSQL the public schema is dropped first: only point this at a scratch database.
    """
    app = app_on(url)
    with app.app_context():
        from flask_migrate import upgrade

        from app.demo import seed

        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=app.root_path + "/migrations")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        seed()
        db.session.commit()
        db.session.remove()
    return app


def actor(login: str) -> Actor:
    return Actor.of(db.session.scalar(select(User).where(User.login == login)))


class QueryCounter:
    """Counts statements sent to the database while active (``with counter.counting(): ...``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.statements: list[str] = []

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self.count += 1
        self.statements.append(statement)

    @contextmanager
    def counting(self) -> Iterator[QueryCounter]:
        event.listen(self.engine, "before_cursor_execute", self._before)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._before)


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> float:
    """(max - min) / median, in per cent."""
    med = statistics.median(values)
    return (max(values) - min(values)) / med * 100 if med else 0.0


def machine_line() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"Python {platform.python_version()} | {os.cpu_count()} CPUs | {cpu} | "
            f"load average {os.getloadavg()[0]:.2f}")
