"""Browser tests: the platform served on a real port, driven by headless Chromium through Playwright.

They prove what the test client cannot: the pages work in a browser, with their JavaScript
(select-all and the confirmation dialogs of batch review, the organisation picker, the BPMN
editor), the CSRF tokens and the captcha of the real pages. Chromium comes from Debian's package
(``scripts/install.sh`` installs it when it may) or from ``$CHROMIUM``; without one these tests
skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.accounts import captcha
from app.extensions import db
from config import TestConfig
from tests.conftest import IN_CI

PASSWORD = "Demo12345"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


#: The development server in its thread may leave a static file open when the browser drops a request
#: it no longer needs (a favicon fetch cut short by the next navigation); the garbage collector then
#: reports it while some later test runs. Harness noise, not a page error: the pages' own failures show
#: up as HTTP errors and script errors, which these tests check.
_DROPPED_STATIC_FILE = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <_io.FileIO name=.*/app/static/:pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(_DROPPED_STATIC_FILE)


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a SQLite file with the demo data, CSRF and captcha on, served on a free port."""
    path = Path(tmp_path_factory.mktemp("browser")) / "live.sqlite3"

    class LiveConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    app = create_app(LiveConfig)
    with app.app_context():
        from flask_migrate import upgrade

        from app.demo import seed

        upgrade(directory=app.root_path + "/migrations")
        seed()
        db.session.commit()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would drown a failure
    server = LiveServer(app)
    yield server
    server.stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    exe = chromium_path()
    if exe is None:
        reason = "no Chromium (install Debian's chromium package, or set CHROMIUM to a Chrome/Chromium binary)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class Person:
    """One user's browser: own cookies, Chinese locale, every page's script errors collected."""

    def __init__(self, chromium, live: LiveServer) -> None:
        self.live = live
        self.context = chromium.new_context(locale="zh-CN", base_url=live.url)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: {exc}"))
        self.page.on("console", self._console)
        self.page.on("response", lambda r: r.status == 404 and self.errors.append(f"404: {r.url}"))
        self.page.on("dialog", lambda dialog: dialog.accept())  # confirm() of batch review: OK

    def _console(self, msg) -> None:  # noqa: ANN001
        # a form answered with 422 (field errors) is logged as a failed load; that is the page working
        # dmn-js's production bundle carries Inferno's development build, which says so on every load
        if msg.type == "error" and "status of 422" not in msg.text and "development build of Inferno" not in msg.text:
            self.errors.append(f"{self.page.url}: {msg.text}")

    def captcha_answer(self) -> str:
        """What the captcha image shows: its nonce is in the session cookie, its answer in captcha.ISSUED."""
        cookie = next(c["value"] for c in self.context.cookies() if c["name"] == "session")
        session = self.live.app.session_interface.get_signing_serializer(self.live.app).loads(cookie)
        return captcha.answer_for(session.get(captcha.KEY))

    def login(self, login: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/login")  # returns after the load event: the captcha image has been fetched
        page.locator("#login").fill(login)
        page.locator("#password").fill(password)
        page.locator("#captcha").fill(self.captcha_answer())
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        if "/login" in page.url:
            raise AssertionError(f"{login} could not sign in: {page.locator('.alert').all_inner_texts()}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(chromium, live: LiveServer):
    """person('chenshihui') -> a signed-in browser; every one must end without script errors."""
    opened: list[Person] = []

    def open_as(login: str | None = None, password: str = PASSWORD) -> Person:
        p = Person(chromium, live)
        opened.append(p)
        if login:
            p.login(login, password)
        return p

    yield open_as
    errors = [e for p in opened for e in p.errors]
    for p in opened:
        p.close()
    assert not errors, errors


#: Screenshots of the pages the browser tests visit (1366 px and 375 px wide, Chinese and English), kept by
#: CI as artefacts: ``tests/browser/artifacts/`` (git-ignored) unless ``BROWSER_ARTIFACTS`` names a folder.
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or Path(__file__).parent / "artifacts")
WIDTHS = (1366, 375)


def shoot(page, name: str, *, langs: tuple[str, ...] = ("zh_CN", "en")) -> None:  # noqa: ANN001
    """Screenshots of the page at each width and in each language, as ``<name>-<lang>-<width>.png``;
    the page is left in Chinese at 1366 px."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = page.url.split("#")[0]
    base = re.sub(r"([?&])lang=[^&]*&?", r"\1", url).rstrip("?&")
    for lang in langs:
        page.goto(f"{base}{'&' if '?' in base else '?'}lang={lang}")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    if langs[-1] != "zh_CN":
        page.goto(f"{base}{'&' if '?' in base else '?'}lang=zh_CN")


AXE = Path(__file__).resolve().parents[2] / "app" / "static" / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:  # noqa: ANN001
    """axe-core (npm, served from app/static/node_modules) on the page as it is: WCAG 2 A/AA violations of
    serious or critical impact, one line each (rule, nodes)."""
    if not AXE.exists():
        reason = "axe-core is not installed (npm ci --prefix app/static, which scripts/install.sh runs)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    page.add_script_tag(url="/static/node_modules/axe-core/axe.min.js")
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})""")
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:4])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
