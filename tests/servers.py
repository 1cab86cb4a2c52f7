"""Real OS processes for the reliability tests: the app serving HTTP, an rq worker.

Each is forked from the test process (the app's modules are imported once, so a process is ready in a
fraction of a second) and builds an app object of its own on the database it is given, as a web process
or a worker of a deployment does. The test process's own database connections are left alone in the child
(SQLAlchemy's advice for forking)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from config import Config


def _config(database_url: str, **settings: Any) -> type:
    class ProcessConfig(Config):
        SQLALCHEMY_DATABASE_URI = database_url
        SECRET_KEY = "reliability-tests"
        REDIS_URL = None

    for name, value in settings.items():
        setattr(ProcessConfig, name, value)
    return ProcessConfig


def _fresh_app(database_url: str, **settings: Any) -> Flask:
    """In the child: forget the parent's pooled connections (never close them: they are the parent's), then a
    new app object on ``database_url``."""
    import logging

    from app import create_app
    from app.extensions import db
    from tests.conftest import _APPS

    os.setsid()  # a process group of its own: killing it kills what it forked (an rq work-horse) too
    for parent_app in _APPS:
        with parent_app.app_context():
            db.engine.dispose(close=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return create_app(_config(database_url, **settings))


def _serve(database_url: str, ready: Any) -> None:
    from werkzeug.serving import make_server

    app = _fresh_app(database_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    ready.send(server.server_port)
    server.serve_forever()


def _work(database_url: str, settings: dict[str, Any], queue: str, prepare: Callable[[], None] | None,
          ready: Any) -> None:
    from app.core.jobs import run_worker
    from app.taskcentre.reconcile import reconcile

    app = _fresh_app(database_url, **settings)
    if prepare is not None:
        prepare()
    ready.send(os.getpid())
    run_worker(app, [queue], before_work=reconcile)


class Child:
    """A forked process (its own process group) that reports once it is ready."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=target, args=(*args, send), daemon=True)
        self.process.start()
        if not receive.poll(60):
            self.kill()
            raise RuntimeError("the child process did not start within 60 s")
        self.ready: Any = receive.recv()

    def kill(self) -> None:
        """SIGKILL to the process, its process group and its children in groups of their own (an rq
        work-horse), as when the machine or the container goes; then reap it (no zombie left)."""
        if self.process.pid is not None and self.process.exitcode is None:
            for pid in _children(self.process.pid):
                _kill(os.kill, pid)
            _kill(os.killpg, self.process.pid)
        self.process.join(10)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _kill(kill: Callable[[int, int], None], pid: int) -> None:
    try:
        kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Server(Child):
    """The app serving HTTP on a free loopback port, in a process of its own."""

    def __init__(self, database_url: str) -> None:
        super().__init__(_serve, database_url)
        self.base = f"http://127.0.0.1:{self.ready}"

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """(status, JSON answer); a non-JSON answer comes back as its text."""
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def token(self, login: str, password: str = "Demo12345") -> str:
        status, body = self.call("POST", "/api/v1/auth/token", {"login": login, "password": password})
        assert status == 200, body
        return body["token"]


class Worker(Child):
    """``flask worker --queue <queue>`` in a process of its own (``prepare`` runs in it first, e.g. to make a
    job wait for the test)."""

    def __init__(self, database_url: str, queue: str, settings: dict[str, Any],
                 prepare: Callable[[], None] | None = None) -> None:
        super().__init__(_work, database_url, settings, queue, prepare)
        self.pid: int = self.ready


def seeded_database(purpose: str) -> str:
    """A fresh PostgreSQL database of this test run, migrated and loaded with the demo data (what
    ``flask db upgrade`` and ``flask seed-demo`` do), with its URL."""
    from app.demo import seed
    from app.extensions import db
    from tests.conftest import _make_app, run_database_url

    url = run_database_url(purpose)
    app = _make_app(url)
    with app.app_context():
        seed()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url
