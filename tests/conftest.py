"""Fixtures: an app on in-memory SQLite (or PostgreSQL for `pg_app`), demo data per test.

Each test starts from the demo data: tables are emptied and re-seeded, which works the same
on SQLite and PostgreSQL and lets tests commit for real (concurrency tests need that).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

from app import create_app
from app.accounts.actor import Actor
from app.accounts.models import User
from app.extensions import db
from config import TestConfig

#: The server (and the database used only to create and drop others) that PostgreSQL tests run on.
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: Every run, and every xdist worker of a run, gets databases of its own on that server, named after the
#: process (``cepp_t<pid>_<purpose>``), so two runs on one machine (two checkouts, ``pytest -n``) never meet.
#: Databases left by a run that was killed are dropped by the next one (their process is gone).
RUN_DB_PREFIX = "cepp_t"


def run_database_url(purpose: str) -> str:
    """A fresh, empty PostgreSQL database for this process and ``purpose``, dropped when the run ends."""
    from sqlalchemy.engine import make_url

    name = f"{RUN_DB_PREFIX}{os.getpid()}_{purpose}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            _drop_orphans(conn)
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    _RUN_DATABASES.append(name)
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


_RUN_DATABASES: list[str] = []


def _drop_orphans(conn) -> None:  # noqa: ANN001
    rows = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": RUN_DB_PREFIX + "%"})
    for (name,) in rows.all():
        m = re.fullmatch(rf"{RUN_DB_PREFIX}(\d+)_\w+", name)
        if m and not _alive(int(m.group(1))):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _RUN_DATABASES:
        return
    try:
        from app.extensions import db as _db

        for app_ in _APPS:
            with app_.app_context():
                _db.session.remove()
                _db.engine.dispose()
    except Exception:  # noqa: BLE001  (best effort: the next run drops what is left)
        pass
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in _RUN_DATABASES:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception:  # noqa: BLE001
        pass
    finally:
        admin.dispose()


_APPS: list[Flask] = []


def _reset(app: Flask) -> None:
    from app.demo import seed
    from app.workflow import versions

    app.extensions.pop("form_edits", None)  # forms edited by the last test are gone with its rows
    from app.cases.queries import forget_badges

    forget_badges()  # the navigation's to-do counts were of the last test's rows
    versions.forget_file_bundles()
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            with db.engine.begin() as conn:
                for t in tables:
                    conn.execute(t.delete())
        seed()
        db.session.commit()
        db.session.remove()


def _make_app(url: str) -> Flask:
    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Cfg)
    _APPS.append(app)
    app.test_client_class = FreshClient
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.root_path + "/migrations")
    return app


@pytest.fixture(scope="session")
def _sqlite_app() -> Flask:
    return _make_app("sqlite://")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        eng = create_engine(PG_URL)
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return re.sub(r"\s+", " ", str(exc))[:200]


@pytest.fixture(scope="session")
def _pg_app() -> Flask:
    reason = postgres_available()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_URL} is not reachable: {reason}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {reason}")
    return _make_app(run_database_url("app"))


@pytest.fixture
def app(_sqlite_app: Flask) -> Flask:
    _reset(_sqlite_app)
    with _sqlite_app.app_context():
        yield _sqlite_app
        db.session.remove()


@pytest.fixture
def pg_app(_pg_app: Flask) -> Flask:
    _reset(_pg_app)
    with _pg_app.app_context():
        yield _pg_app
        db.session.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    """Runs a test on SQLite and on PostgreSQL."""
    yield request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def actor(login: str) -> Actor:
    from sqlalchemy import select

    return Actor.of(db.session.scalar(select(User).where(User.login == login)))


@pytest.fixture
def as_user():
    """as_user('hospital_admin') -> Actor."""
    return actor


DECLARATION = {
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


@pytest.fixture
def declaration() -> dict:
    return dict(DECLARATION)


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


class RuleTable:
    """Another annual-rule table (annual_verification.dmn: a provincial variant, a broken file) for one test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._app: Flask | None = None

    def use(self, text: str) -> None:
        """From now on the app reads the annual rule from ``text``."""
        (self.directory / "annual_verification.dmn").write_text(text, encoding="utf-8")
        self._app = current_app._get_current_object()  # type: ignore[attr-defined]
        self._app.config["DECISIONS_DIR"] = str(self.directory)

    def restore(self) -> None:
        """Back to the table in processes/ (also done after the test)."""
        if self._app is not None:
            self._app.config.pop("DECISIONS_DIR", None)
            self._app = None


@pytest.fixture
def rule_table(tmp_path: Path):
    table = RuleTable(tmp_path)
    yield table
    table.restore()


class WebClient:
    """Logs in through the login form and posts forms with their CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, url: str) -> str:
        html = self.client.get(url).get_data(as_text=True)
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', html)
        assert m, f"no CSRF token on {url}"
        return m.group(1)

    def captcha(self) -> str:
        """The answer of the captcha the last page showed (kept in the session)."""
        from app.accounts import captcha

        with self.client.session_transaction() as sess:
            return captcha.answer_for(sess.get(captcha.KEY))

    def login(self, login: str, password: str = "Demo12345"):
        token = self.csrf("/login")
        return self.client.post("/login", data={"login": login, "password": password, "csrf_token": token,
                                                "captcha": self.captcha()})

    def post_form(self, page_url: str, data: dict, post_url: str | None = None, **kw):
        token = self.csrf(page_url)
        return self.client.post(post_url or page_url, data={**data, "csrf_token": token}, **kw)


@pytest.fixture
def web(client: FlaskClient) -> WebClient:
    return WebClient(client)


def api_token(client: FlaskClient, login: str, password: str = "Demo12345") -> dict:
    r = client.post("/api/v1/auth/token", json={"login": login, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


class FreshClient(FlaskClient):
    """The fixtures keep one app context open for the whole test, so ``g`` (where Flask-Login
    keeps the signed-in user and Flask-Babel the locale) would leak from one request into the
    next, e.g. between two users' clients. A real server starts every request with an empty ``g``."""

    def open(self, *args, **kwargs):  # type: ignore[override]
        from flask import g, has_app_context

        if has_app_context():
            for key in list(g):
                g.pop(key, None)
        return super().open(*args, **kwargs)


#: (what was fuzzed, cases tried, failures) of the property-based and fuzz tests, printed after the run.
_FUZZ_COUNTS: list[tuple[str, int, int]] = []


def record_fuzz(what: str, tried: int, failures: int) -> None:
    """Note how many generated cases a property-based or fuzz test tried and how many failed."""
    _FUZZ_COUNTS.append((what, tried, failures))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    if not _FUZZ_COUNTS:
        return
    terminalreporter.section("generated inputs (hypothesis, schemathesis)")
    for what, tried, failures in _FUZZ_COUNTS:
        terminalreporter.write_line(f"{what}: {tried} cases tried, failures: {failures}")
    tried = sum(t for _w, t, _f in _FUZZ_COUNTS)
    failures = sum(f for _w, _t, f in _FUZZ_COUNTS)
    terminalreporter.write_line(f"total: {tried} cases tried, failures: {failures}")
def not_passed(need: str, year: int = 2026) -> str:
    """What an unpassed year with records reads: 未达标（还差 N 学时） while it is the current year (the tests'
    2026), 不合格 once it is over."""
    from datetime import date

    return f"未达标（还差{need}学时）" if year >= date.today().year else "不合格"
